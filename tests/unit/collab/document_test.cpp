// y-protocols messages and the server's document: what it keeps of each
// update, against the npm yjs vectors (tests/vectors/yjs_v1.json).
#include "collab/document.hpp"

#include <gtest/gtest.h>

#include "collab/gc.hpp"
#include "collab/lib0.hpp"
#include "collab/sync.hpp"
#include "core/error.hpp"
#include "yjs_vectors.hpp"

namespace bj = boost::json;
using namespace parley::collab;

namespace {

const bj::value& vectors() { return yjs_test::yjs_vectors(); }
using yjs_test::unhex;

const std::string kEmptyVector("\0", 1);

}  // namespace

TEST(YDocument, HoldsWhatYjssMergeHoldsAndKeepsNothingTwice) {
  for (const auto& m : vectors().at("merges").as_array()) {
    YDocument doc;
    std::size_t kept = 0;
    for (const auto& u : m.at("updates").as_array()) kept += doc.apply(unhex(u.as_string())).size();
    std::string merged = unhex(m.at("merged").as_string());
    EXPECT_EQ(doc.state_vector(), state_vector_of_update(merged));
    EXPECT_GT(kept, 0u);
    // The kept parts merged lazily into the state hold the same.
    EXPECT_EQ(state_vector_of_update(doc.state()), doc.state_vector());
    EXPECT_LE(doc.state().size(), doc.bytes());
    // The same updates again (a client reconnecting and sending its whole
    // state in step 2) add nothing.
    for (const auto& u : m.at("updates").as_array()) EXPECT_EQ(doc.apply(unhex(u.as_string())), "");
    // A new peer's step 1 gets everything.
    EXPECT_EQ(state_vector_of_update(doc.missing_for(kEmptyVector)), doc.state_vector());
  }
}

TEST(YDocument, APeerUpToDateIsSentNoStructs) {
  const auto& c = vectors().at("cases").as_array().at(0);
  YDocument doc;
  doc.apply(unhex(c.at("update").as_string()));
  std::string missing = doc.missing_for(doc.state_vector());
  YUpdate rest = decode_update(missing);
  for (const auto& cs : rest.clients) EXPECT_TRUE(cs.structs.empty());
}

TEST(YDocument, AMalformedUpdateChangesNothing) {
  YDocument doc;
  const auto& c = vectors().at("cases").as_array().at(0);
  doc.apply(unhex(c.at("update").as_string()));
  std::string before = doc.state();
  EXPECT_THROW(doc.apply(std::string("\x01\x01", 2)), parley::Error);
  EXPECT_EQ(doc.state(), before);
}

TEST(YDocument, SubtractRanges) {
  std::vector<DeleteRange> have = {{2, 3}, {10, 5}};
  EXPECT_EQ(subtract_ranges({{0, 20}}, have), (std::vector<DeleteRange>{{0, 2}, {5, 5}, {15, 5}}));
  EXPECT_EQ(subtract_ranges({{3, 1}, {11, 2}}, have), (std::vector<DeleteRange>{}));
  EXPECT_EQ(subtract_ranges({{4, 8}}, have), (std::vector<DeleteRange>{{5, 5}}));
}

TEST(YProtocols, MessagesAreWhatYWebsocketSends) {
  // Sync step 1 with an empty state vector, as a fresh y-websocket client sends it.
  EXPECT_EQ(sync_step1(kEmptyVector), std::string("\x00\x00\x01\x00", 4));
  EXPECT_EQ(sync_step2(std::string("\0\0", 2)), std::string("\x00\x01\x02\x00\x00", 5));
  EXPECT_EQ(sync_update("ab"), std::string("\x00\x02\x02"
                                           "ab",
                                           5));
  EXPECT_EQ(auth_denied("no"), std::string("\x02\x00\x02no", 5));
  // Two messages in one frame: a step 1 and a query for awareness.
  auto ms = read_messages(std::string_view("\x00\x00\x01\x00\x03", 5));
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[0].type, MessageType::sync);
  EXPECT_EQ(ms[0].step, SyncStep::step1);
  EXPECT_EQ(ms[0].body, kEmptyVector);
  EXPECT_EQ(ms[1].type, MessageType::query_awareness);
  EXPECT_THROW(read_messages(std::string_view("\x07", 1)), parley::Error);
  EXPECT_THROW(read_messages(std::string_view("\x00\x05\x00", 3)), parley::Error);
  EXPECT_THROW(read_messages(std::string_view("")), parley::Error);
}

TEST(YProtocols, AwarenessRemovalBumpsTheClockAndSetsNull) {
  std::string removal = awareness_removal({{12, 4}});
  auto entries = read_awareness(removal);
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0].client, 12u);
  EXPECT_EQ(entries[0].clock, 5u);
  EXPECT_EQ(entries[0].state, "null");
  std::string frame = awareness_message(removal);
  auto framed = read_messages(frame);
  ASSERT_EQ(framed.size(), 1u);
  EXPECT_EQ(framed[0].type, MessageType::awareness);
  EXPECT_EQ(framed[0].body, removal);
}

TEST(CollectGarbage, KeepsWhatTheDocumentHoldsAndIsStable) {
  std::size_t shrunk = 0, before = 0, after = 0;
  for (const auto& m : vectors().at("merges").as_array()) {
    std::string merged = unhex(m.at("merged").as_string());
    std::string g = collect_garbage(merged);
    EXPECT_EQ(state_vector_of_update(g), state_vector_of_update(merged));
    EXPECT_LE(g.size(), merged.size());
    EXPECT_EQ(collect_garbage(g), g) << "a second pass changes nothing";
    // The delete set is untouched; every clock is still there.
    YUpdate a = decode_update(merged), b = decode_update(g);
    ASSERT_EQ(a.deletes.size(), b.deletes.size());
    for (std::size_t i = 0; i < a.deletes.size(); ++i) {
      EXPECT_EQ(join_ranges(a.deletes[i].ranges), join_ranges(b.deletes[i].ranges));
    }
    // A document holding it answers a new peer with the same clocks.
    YDocument doc;
    doc.apply(merged);
    doc.collect_garbage();
    EXPECT_EQ(doc.state(), g);
    EXPECT_EQ(doc.state_vector(), state_vector_of_update(merged));
    shrunk += g.size() < merged.size();
    before += merged.size();
    after += g.size();
  }
  EXPECT_GT(shrunk, 0u) << "no vector had deleted content to collect";
  std::printf("collect_garbage: %zu of the merges shrank, %zu -> %zu bytes\n", shrunk, before,
              after);
}

namespace {

// An item of client 7 with string content, typed after `origin`.
YStruct typed(std::uint64_t clock, const std::string& content, std::optional<YId> origin,
              std::optional<YId> right_origin = std::nullopt) {
  YStruct s;
  s.kind = YStruct::Kind::item;
  s.content_ref = ContentRef::string;
  s.clock = clock;
  s.origin = origin;
  s.right_origin = right_origin;
  if (!origin && !right_origin) {
    s.parent_is_key = true;
    s.parent_key = "t";
  }
  s.content = content;  // an encoded varString, kept alive by the caller
  s.length = utf16_length(Lib0Reader(content).var_string());
  return s;
}

std::string var_string(std::string_view text) {
  Lib0Writer w;
  w.var_string(text);
  return w.take();
}

}  // namespace

TEST(CollectGarbage, JoinsVisibleTextTypedInARowAsAYDocDoes) {
  // "a😀" then "b" typed after its last unit (the emoji's second half), then
  // "c" typed after "b" but before another client's item: only the first
  // two join, as Item.mergeWith would (the right origins differ).
  std::string s1 = var_string("a😀"), s2 = var_string("b"), s3 = var_string("c");
  YUpdate u;
  u.clients.push_back(
      {7,
       {typed(0, s1, std::nullopt), typed(3, s2, YId{7, 2}), typed(4, s3, YId{7, 3}, YId{9, 0})}});
  u.clients.push_back({9, {typed(0, s3, std::nullopt)}});
  std::string before = encode_update(u);
  std::string after = collect_garbage(before);
  YUpdate g = decode_update(after);
  ASSERT_EQ(g.clients.size(), 2u);
  const auto& seven = g.clients[0].client == 7 ? g.clients[0] : g.clients[1];
  ASSERT_EQ(seven.structs.size(), 2u);
  EXPECT_EQ(seven.structs[0].length, 4u);
  EXPECT_EQ(Lib0Reader(seven.structs[0].content).var_string(), "a😀b");
  EXPECT_FALSE(seven.structs[0].origin);
  EXPECT_EQ(seven.structs[1].clock, 4u);
  EXPECT_EQ(state_vector_of_update(after), state_vector_of_update(before));
  EXPECT_EQ(collect_garbage(after), after);

  // Deleted in part: kept apart (a Y.Doc would not merge a deleted unit
  // with a visible one either).
  u.deletes.push_back({7, {{3, 1}}});
  std::string partly = collect_garbage(encode_update(u));
  YUpdate d = decode_update(partly);
  const auto& seven_d = d.clients[0].client == 7 ? d.clients[0] : d.clients[1];
  EXPECT_EQ(seven_d.structs.size(), 3u);
}
