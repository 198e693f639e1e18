// The Yjs update format, version 1 (what Y.encodeStateAsUpdate writes and
// y-protocols' sync messages carry), decoded and encoded natively.
//
// An update is, per client, a run of structs with consecutive clocks (an
// Item with content, a GC'd range, or a Skip standing for a range this
// update does not hold), then a delete set: per client, ranges of clocks
// that are deleted. Lengths and offsets count what Yjs counts: UTF-16 code
// units for strings, entries for JSON and "any" arrays, one for the rest.
//
// Decoded structs keep their content as the encoded bytes (string_views into
// the update, which must outlive them); only a write from an offset inside a
// struct re-encodes its content. Hostile input gets Error(bad_request).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace parley::collab {

struct YId {
  std::uint64_t client = 0;
  std::uint64_t clock = 0;
  friend bool operator==(const YId&, const YId&) = default;
};

// Content kinds, as the low five bits of an Item's info byte.
enum class ContentRef : std::uint8_t {
  deleted = 1,
  json = 2,
  binary = 3,
  string = 4,
  embed = 5,
  format = 6,
  type = 7,
  any = 8,
  doc = 9,
};

struct YStruct {
  enum class Kind : std::uint8_t { gc, skip, item };
  Kind kind = Kind::gc;
  std::uint64_t clock = 0;
  std::uint64_t length = 0;
  // Items only.
  ContentRef content_ref = ContentRef::deleted;
  std::optional<YId> origin;
  std::optional<YId> right_origin;
  // Written only when the item has neither origin: a root type's name, or
  // the item of the type it belongs to; and the map key, if any.
  bool parent_is_key = false;
  std::string_view parent_key;
  YId parent_id;
  std::optional<std::string_view> parent_sub;
  std::string_view content;  // the encoded content, as it was read
  // A struct cut from the front of another (a merge's overlap): its content
  // is `content` from `cut` units on.
  std::uint64_t cut = 0;
};

struct ClientStructs {
  std::uint64_t client = 0;
  std::vector<YStruct> structs;  // in clock order, each after the last
};

struct DeleteRange {
  std::uint64_t clock = 0;
  std::uint64_t length = 0;
  friend bool operator==(const DeleteRange&, const DeleteRange&) = default;
};

// Sorted by clock, touching and overlapping ranges joined (Yjs's
// sortAndMergeDeleteSet for one client).
std::vector<DeleteRange> join_ranges(std::vector<DeleteRange> ranges);
// Whether [clock, clock + length) lies inside one of the sorted, joined ranges.
bool ranges_cover(const std::vector<DeleteRange>& ranges, std::uint64_t clock,
                  std::uint64_t length);

struct ClientDeletes {
  std::uint64_t client = 0;
  std::vector<DeleteRange> ranges;
};

struct YUpdate {
  std::vector<ClientStructs> clients;  // as they were in the update
  std::vector<ClientDeletes> deletes;
};

// Reads a whole update; trailing bytes are an error.
YUpdate decode_update(std::string_view bytes);
YUpdate decode_update(std::string&&) = delete;  // the structs would view a dead string

// Writes `u` as Yjs's merge writes it: clients with higher ids first, Skip
// structs in the input dropped and gaps between a client's structs written
// as Skips, each item's info byte recomputed from what it has, the delete
// set's ranges sorted and joined. For one update made by Yjs this is what
// Y.mergeUpdates gives for it (tests/vectors/yjs_v1.json).
std::string encode_update(const YUpdate& u);

// One struct, from `offset` clocks into it (a diff starts there): the
// origin becomes the clock before the offset and the content is cut.
void write_struct(std::string& out, std::uint64_t client, const YStruct& s, std::uint64_t offset);
// An item's encoded content from `offset` units on (its cut counted).
std::string encode_content(const YStruct& s, std::uint64_t offset = 0);

// Y.mergeUpdates: one update holding everything the given ones hold, byte
// for byte what Yjs makes of them (it keeps every item as it came: it joins
// no items and drops no deleted content). One update is returned as it is.
std::string merge_updates(std::span<const std::string_view> updates);

// Y.diffUpdate: what `update` holds that a peer with `state_vector` lacks
// (structs only from the peer's clock on; the whole delete set).
std::string diff_update(std::string_view update, std::string_view state_vector);

// A state vector as y-protocols sends it: per client, the next clock it
// lacks. A client named twice keeps its last clock, as Yjs reads it.
std::vector<std::pair<std::uint64_t, std::uint64_t>> decode_state_vector(std::string_view bytes);

// Y.encodeStateVectorFromUpdate: per client, the clock after the structs
// this update holds from clock 0 without a gap; encoded as y-protocols
// sends state vectors.
std::string state_vector_of_update(std::string_view update);

}  // namespace parley::collab
