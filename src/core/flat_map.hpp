// A map on a sorted vector: one allocation for all entries, O(log n) lookup,
// O(n) insert and erase. For small per-connection tables where a node-based
// map costs more memory than the entries themselves.
#pragma once

#include <algorithm>
#include <utility>
#include <vector>

namespace parley {

template <class K, class V>
class FlatMap {
 public:
  using value_type = std::pair<K, V>;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }

  iterator find(const K& key) {
    auto it = lower(key);
    return it != items_.end() && it->first == key ? it : items_.end();
  }
  // Inserts a default V unless key is present; true when inserted.
  std::pair<iterator, bool> try_emplace(const K& key) {
    auto it = lower(key);
    if (it != items_.end() && it->first == key) return {it, false};
    return {items_.insert(it, value_type(key, V{})), true};
  }
  iterator erase(iterator it) { return items_.erase(it); }
  std::size_t erase(const K& key) {
    auto it = find(key);
    if (it == items_.end()) return 0;
    items_.erase(it);
    if (items_.empty()) std::vector<value_type>().swap(items_);
    return 1;
  }

 private:
  iterator lower(const K& key) {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const value_type& a, const K& k) { return a.first < k; });
  }
  std::vector<value_type> items_;
};

}  // namespace parley
