// The collaboration tables through both engines: the update log with its
// per-document numbering, compaction, access rows and versions.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "engines.hpp"
#include "store/migrations.hpp"

namespace parley::store {
namespace {

class CollabStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  CollabStoreTest() : engine_(GetParam()) {}

  void SetUp() override {
    if (engine_.unavailable_stop()) GTEST_SKIP() << "no PostgreSQL (PARLEY_TEST_POSTGRES_URL)";
    store_ = engine_.open();
    apply_migrations(*store_, engine_.migrations());
    for (Id id : {1, 2, 3}) {
      User u;
      u.id = id;
      u.username = "u" + std::to_string(id);
      u.display_name = u.username;
      u.role = "user";
      u.password_hash = "h";
      store_->insert_user(u);
    }
    Conversation c;
    c.id = 10;
    c.kind = "group";
    c.created_by = 1;
    store_->insert_conversation(c);
    Member m;
    m.conversation_id = 10;
    m.user_id = 2;
    m.role = "member";
    store_->insert_member(m);
  }

  CollabDocument document(Id id, const std::string& name, Id conversation = 0, Id owner = 1) {
    CollabDocument d;
    d.id = id;
    d.name = name;
    d.conversation_id = conversation;
    d.owner_id = owner;
    d.created_at = d.updated_at = 5;
    store_->insert_collab_document(d);
    return d;
  }

  testing::TestEngine engine_;
  std::unique_ptr<Store> store_;
};

// Every byte value, NUL included: updates are binary.
std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

TEST_P(CollabStoreTest, UpdatesAreNumberedPerDocumentAndKeepEveryByte) {
  document(100, "notes");
  document(101, "other");
  EXPECT_EQ(store_->append_collab_update(100, all_bytes(), 1, 7), 1);
  EXPECT_EQ(store_->append_collab_update(100, std::string("\0\0", 2), 0, 8), 2);
  EXPECT_EQ(store_->append_collab_update(101, "x", 2, 9), 1);
  auto rows = store_->collab_updates_after(100, 0, 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seq, 1);
  EXPECT_EQ(rows[0].data, all_bytes());
  EXPECT_EQ(rows[0].author_id, 1);
  EXPECT_EQ(rows[1].data, std::string("\0\0", 2));
  EXPECT_EQ(rows[1].author_id, 0);
  EXPECT_EQ(store_->collab_updates_after(100, 1, 10).size(), 1u);
  auto d = store_->collab_document_by_name("notes");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->last_seq, 2);
  EXPECT_EQ(d->log_bytes, 258);
  EXPECT_EQ(d->log_rows, 2);
  EXPECT_EQ(d->updated_at, 8);
  EXPECT_THROW(store_->append_collab_update(999, "x", 1, 1), Error);
}

TEST_P(CollabStoreTest, ARunOfUpdatesIsNumberedPerDocumentInItsOrder) {
  document(100, "notes");
  document(101, "other");
  EXPECT_EQ(store_->append_collab_update(100, "first", 1, 1), 1);
  std::string binary = all_bytes();
  std::vector<CollabAppend> in = {
      {101, "b1", 2}, {100, binary, 1}, {999, "lost", 1}, {100, "a3", 0}, {101, "b2", 3}};
  std::vector<std::int64_t> out(in.size(), -1);
  store_->append_collab_updates(in, 50, out);
  EXPECT_EQ(out, (std::vector<std::int64_t>{1, 2, 0, 3, 2}));
  auto rows = store_->collab_updates_after(100, 1, 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].data, binary);
  EXPECT_EQ(rows[0].author_id, 1);
  EXPECT_EQ(rows[1].data, "a3");
  EXPECT_EQ(rows[1].author_id, 0);
  EXPECT_EQ(rows[1].at, 50);
  auto other = store_->collab_updates_after(101, 0, 10);
  ASSERT_EQ(other.size(), 2u);
  EXPECT_EQ(other[0].data, "b1");
  EXPECT_EQ(other[1].data, "b2");
  EXPECT_EQ(other[1].author_id, 3);
  auto d = store_->collab_document(100);
  EXPECT_EQ(d->last_seq, 3);
  EXPECT_EQ(d->log_rows, 3);
  EXPECT_EQ(d->log_bytes, 5 + 256 + 2);
  EXPECT_EQ(d->updated_at, 50);
  EXPECT_EQ(store_->collab_document(101)->log_bytes, 4);
  // More than one chunk of rows for one document.
  std::vector<CollabAppend> many(70, CollabAppend{101, "x", 2});
  std::vector<std::int64_t> seqs(many.size());
  store_->append_collab_updates(many, 60, seqs);
  EXPECT_EQ(seqs.front(), 3);
  EXPECT_EQ(seqs.back(), 72);
  EXPECT_EQ(store_->collab_updates_after(101, 0, 100).size(), 72u);
  EXPECT_EQ(store_->collab_document(101)->log_rows, 72);
}

TEST_P(CollabStoreTest, ATakenNameIsAConflict) {
  document(100, "notes");
  try {
    document(102, "notes");
    FAIL() << "a second document took the name";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::conflict);
  }
}

TEST_P(CollabStoreTest, CompactionReplacesTheRowsUpToASeqAndRecountsTheLog) {
  document(100, "notes");
  for (int i = 0; i < 5; ++i) store_->append_collab_update(100, std::string(10, 'a'), 1, i);
  store_->compact_collab_updates(100, 4, "merged", 20);
  auto rows = store_->collab_updates_after(100, 0, 10);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seq, 4);
  EXPECT_EQ(rows[0].data, "merged");
  EXPECT_EQ(rows[1].seq, 5);
  auto d = store_->collab_document(100);
  EXPECT_EQ(d->log_rows, 2);
  EXPECT_EQ(d->log_bytes, 16);
  EXPECT_EQ(d->last_seq, 5);
  // Numbering goes on after the newest, not after the compacted row.
  EXPECT_EQ(store_->append_collab_update(100, "y", 1, 21), 6);
}

TEST_P(CollabStoreTest, AccessRowsAndTheDocumentsAUserCanOpen) {
  document(100, "mine", 0, 1);
  document(101, "shared", 0, 3);
  document(102, "conversation.10", 10, 2);
  document(103, "private", 0, 3);
  store_->set_collab_role(101, 1, "viewer");
  EXPECT_EQ(store_->collab_role(101, 1), "viewer");
  store_->set_collab_role(101, 1, "editor");
  EXPECT_EQ(store_->collab_role(101, 1), "editor");
  EXPECT_EQ(store_->collab_role(103, 1), "");
  std::vector<Id> ids;
  for (const auto& d : store_->collab_documents_for_user(1, 0, 10)) ids.push_back(d.id);
  EXPECT_EQ(ids, (std::vector<Id>{100, 101}));
  ids.clear();
  for (const auto& d : store_->collab_documents_for_user(2, 0, 10)) ids.push_back(d.id);
  EXPECT_EQ(ids, (std::vector<Id>{102}));
  EXPECT_EQ(store_->collab_document(102)->conversation_id, 10);
  EXPECT_EQ(store_->collab_roles(101).size(), 1u);
  store_->set_collab_role(101, 1, "");
  EXPECT_EQ(store_->collab_role(101, 1), "");
}

TEST_P(CollabStoreTest, VersionsKeepTheirStateAndDeletingADocumentTakesEverything) {
  document(100, "notes");
  store_->append_collab_update(100, "u1", 1, 1);
  CollabVersion v;
  v.id = 500;
  v.document_id = 100;
  v.name = "draft";
  v.seq = 1;
  v.state = all_bytes();
  v.created_by = 1;
  v.created_at = 3;
  store_->insert_collab_version(v);
  auto list = store_->collab_versions(100, 10);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "draft");
  EXPECT_EQ(list[0].state_bytes, 256);
  EXPECT_TRUE(list[0].state.empty());
  auto got = store_->collab_version(100, 500);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->state, all_bytes());
  store_->set_collab_role(100, 2, "viewer");
  store_->delete_collab_document(100);
  EXPECT_FALSE(store_->collab_document(100));
  EXPECT_TRUE(store_->collab_updates_after(100, 0, 10).empty());
  EXPECT_FALSE(store_->collab_version(100, 500));
}

INSTANTIATE_TEST_SUITE_P(Engines, CollabStoreTest, testing::kEngines, testing::engine_name);

}  // namespace
}  // namespace parley::store
