#include "collab/gc.hpp"

#include <algorithm>
#include <deque>
#include <map>

#include "collab/lib0.hpp"
#include "collab/yupdate.hpp"

namespace parley::collab {

namespace {

bool collectable(ContentRef ref) { return ref != ContentRef::type && ref != ContentRef::doc; }

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
  for (auto& cs : u.clients) {
    auto d = deleted.find(cs.client);
    if (d == deleted.end()) continue;
    std::vector<YStruct> out;
    out.reserve(cs.structs.size());
    for (auto& s : cs.structs) {
      bool gone = s.kind == YStruct::Kind::item && collectable(s.content_ref) &&
                  ranges_cover(d->second, s.clock, s.length);
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
                     ranges_cover(d->second, prev.clock, prev.length);
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
          ranges_cover(d->second, s.clock, s.length)) {
        Lib0Writer w;
        w.var_uint(s.length);
        contents.push_back(w.take());
        s.content = contents.back();
        s.cut = 0;
      }
    }
    cs.structs = std::move(out);
  }
  if (!changed) return std::string(update);
  return encode_update(u);
}

}  // namespace parley::collab
