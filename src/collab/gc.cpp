#include "collab/gc.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "collab/lib0.hpp"
#include "collab/yupdate.hpp"

namespace parley::collab {

namespace {

bool collectable(ContentRef ref) { return ref != ContentRef::type && ref != ContentRef::doc; }

// Whether any clock of [clock, clock + length) is in the sorted, joined ranges.
bool touches(const std::vector<DeleteRange>& ranges, std::uint64_t clock, std::uint64_t length) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), clock,
                             [](std::uint64_t c, const DeleteRange& r) { return c < r.clock; });
  if (it != ranges.begin() && std::prev(it)->clock + std::prev(it)->length > clock) return true;
  return it != ranges.end() && it->clock < clock + length;
}

// Yjs's Item.mergeWith for two visible items of one client, as far as an
// update shows them: b starts where a ends, was typed right after a's last
// unit, before the same right origin, and both contents join (strings,
// JSON and "any" lists; not embeds, formats, binaries, types or docs).
// Whatever lands between them later names a unit inside the joined item as
// its origin or right origin, and Yjs splits the item there into exactly
// a and b again (a split's right part takes the left's last id as origin
// and keeps the right origin), so the document integrates as before.
bool joins_visible(std::uint64_t client, const YStruct& a, const YStruct& b,
                   const std::vector<DeleteRange>& deleted) {
  bool mergeable = a.content_ref == ContentRef::string || a.content_ref == ContentRef::json ||
                   a.content_ref == ContentRef::any;
  return a.kind == YStruct::Kind::item && b.kind == YStruct::Kind::item && mergeable &&
         b.content_ref == a.content_ref && b.clock == a.clock + a.length && b.origin &&
         *b.origin == YId{client, b.clock - 1} && b.right_origin == a.right_origin &&
         !touches(deleted, a.clock, a.length) && !touches(deleted, b.clock, b.length);
}

// The contents of a run of structs as one item's.
std::string joined_content(std::span<const YStruct> run) {
  Lib0Writer w;
  if (run.front().content_ref == ContentRef::string) {
    std::string text;
    for (const auto& s : run) {
      std::string c = encode_content(s);
      Lib0Reader r(c);
      text += r.var_string();
    }
    w.var_string(text);
    return w.take();
  }
  std::uint64_t n = 0;
  std::string items;
  for (const auto& s : run) {
    std::string c = encode_content(s);
    Lib0Reader r(c);
    n += r.var_uint();
    items += std::string_view(c).substr(r.pos());
  }
  w.var_uint(n);
  w.raw(items);
  return w.take();
}

}  // namespace

std::string collect_garbage(std::string_view update) {
  YUpdate u = decode_update(update);
  std::map<std::uint64_t, std::vector<DeleteRange>> deleted;
  for (const auto& cd : u.deletes) {
    auto& r = deleted[cd.client];
    r.insert(r.end(), cd.ranges.begin(), cd.ranges.end());
  }
  for (auto& [client, r] : deleted) r = join_ranges(std::move(r));

  std::deque<std::string> contents;  // the new ContentDeleted bodies, alive until encoded
  bool changed = false;
  static const std::vector<DeleteRange> kNone;
  for (auto& cs : u.clients) {
    auto d = deleted.find(cs.client);
    const auto& gone_ranges = d == deleted.end() ? kNone : d->second;
    std::vector<YStruct> out;
    out.reserve(cs.structs.size());
    for (auto& s : cs.structs) {
      bool gone = s.kind == YStruct::Kind::item && collectable(s.content_ref) &&
                  ranges_cover(gone_ranges, s.clock, s.length);
      if (gone && s.content_ref != ContentRef::deleted) {
        s.content_ref = ContentRef::deleted;
        s.cut = 0;
        changed = true;
      }
      // A deleted item right after the one before it, typed there (its
      // origin is that item's last character) and with the same right
      // origin, joins it, as Yjs's mergeWith joins them.
      if (gone && !out.empty()) {
        auto& prev = out.back();
        bool joins = prev.kind == YStruct::Kind::item && prev.content_ref == ContentRef::deleted &&
                     prev.clock + prev.length == s.clock && s.origin &&
                     *s.origin == YId{cs.client, s.clock - 1} &&
                     prev.right_origin == s.right_origin && !s.parent_sub &&
                     ranges_cover(gone_ranges, prev.clock, prev.length);
        if (joins) {
          prev.length += s.length;
          changed = true;
          continue;
        }
      }
      out.push_back(s);
    }
    for (auto& s : out) {
      if (s.kind == YStruct::Kind::item && s.content_ref == ContentRef::deleted &&
          ranges_cover(gone_ranges, s.clock, s.length)) {
        Lib0Writer w;
        w.var_uint(s.length);
        contents.push_back(w.take());
        s.content = contents.back();
        s.cut = 0;
      }
    }
    // Runs of visible items that Yjs would have merged, joined.
    std::vector<YStruct> joined;
    joined.reserve(out.size());
    for (std::size_t i = 0; i < out.size();) {
      std::size_t j = i + 1;
      while (j < out.size() && joins_visible(cs.client, out[j - 1], out[j], gone_ranges)) ++j;
      joined.push_back(out[i]);
      if (j - i > 1) {
        auto& s = joined.back();
        contents.push_back(joined_content(std::span(out).subspan(i, j - i)));
        s.content = contents.back();
        s.cut = 0;
        s.length = out[j - 1].clock + out[j - 1].length - s.clock;
        changed = true;
      }
      i = j;
    }
    cs.structs = std::move(joined);
  }
  if (!changed) return std::string(update);
  return encode_update(u);
}

}  // namespace parley::collab
