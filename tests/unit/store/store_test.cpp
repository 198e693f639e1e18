#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "core/error.hpp"
#include "engines.hpp"
#include "store/migrations.hpp"

namespace parley::store {
namespace {

class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  StoreTest() : engine_(GetParam()) {}

  void SetUp() override {
    if (engine_.unavailable_stop()) GTEST_SKIP() << "no PostgreSQL (PARLEY_TEST_POSTGRES_URL)";
    store_ = engine_.open();
    apply_migrations(*store_, engine_.migrations());
  }

  User user(Id id, const std::string& name, const std::string& display_name = "") {
    User u;
    u.id = id;
    u.username = name;
    u.display_name = display_name.empty() ? name : display_name;
    u.role = "user";
    u.password_hash = "h";
    u.created_at = 1;
    store_->insert_user(u);
    return u;
  }

  Conversation conversation(Id id, Id creator, std::int64_t at) {
    Conversation c;
    c.id = id;
    c.kind = "group";
    c.title = "t";
    c.created_by = creator;
    c.created_at = c.updated_at = c.activity_at = at;
    store_->insert_conversation(c);
    return c;
  }

  void join(Id conv, Id user, const std::string& role = "member") {
    Member m;
    m.conversation_id = conv;
    m.user_id = user;
    m.role = role;
    m.joined_at = 1;
    store_->insert_member(m);
  }

  Message post(Id conv, Id sender, const std::string& client_id, std::int64_t at = 10) {
    Message m;
    m.id = next_id_++;
    m.conversation_id = conv;
    m.sender_id = sender;
    m.client_id = client_id;
    m.body = "body " + client_id;
    m.created_at = at;
    m.seq = store_->next_seq(conv, at);
    store_->insert_message(m);
    return m;
  }

  testing::TestEngine engine_;
  std::unique_ptr<Store> store_;
  Id next_id_ = 1000;
};

TEST_P(StoreTest, MigrationsAreRecordedAndIdempotent) {
  EXPECT_EQ(store_->schema_version(), latest_version(engine_.migrations()));
  EXPECT_EQ(apply_migrations(*store_, engine_.migrations()), 0);
}

TEST_P(StoreTest, RefusesADatabaseNewerThanTheBinary) {
  store_->record_migration(999, "future", 1);
  EXPECT_THROW(apply_migrations(*store_, engine_.migrations()), Error);
}

TEST_P(StoreTest, UsernamesAreUnique) {
  user(1, "alice");
  try {
    user(2, "alice");
    FAIL() << "duplicate accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::conflict);
  }
  EXPECT_EQ(store_->user_by_username("alice")->id, 1);
  EXPECT_FALSE(store_->user_by_username("bob").has_value());
}

TEST_P(StoreTest, UserSearchMatchesNamePrefixesAndWordsButNotDisabledOrWildcards) {
  user(1, "alice");
  user(2, "bsmith", "Bob Smith");
  user(3, "alina");
  user(4, "a_b");
  user(5, "mallory");
  store_->set_user_disabled(5, true);
  auto names = [&](std::string_view q) {
    std::vector<std::string> out;
    for (const auto& u : store_->search_users(q, 10)) out.push_back(u.username);
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(names("ali"), (V{"alice", "alina"}));
  EXPECT_EQ(names("a"), (V{"a_b", "alice", "alina"}));
  EXPECT_EQ(names("a_"), (V{"a_b"}));  // '_' is not a wildcard
  EXPECT_EQ(names("%"), V{});
  EXPECT_EQ(names("bob"), (V{"bsmith"}));    // the display name's start, lower-cased
  EXPECT_EQ(names("smith"), (V{"bsmith"}));  // a word of the display name
  EXPECT_EQ(names("mall"), V{});             // disabled
  EXPECT_EQ(store_->search_users("a", 1).size(), 1u);
}

TEST_P(StoreTest, SqlLookingStringsAreStoredVerbatim) {
  user(1, "alice");
  conversation(10, 1, 5);
  join(10, 1);
  Message m;
  m.id = 77;
  m.conversation_id = 10;
  m.sender_id = 1;
  m.client_id = "x'); DROP TABLE messages;--";
  m.body = "'; DELETE FROM users; --";
  m.created_at = 1;
  m.seq = store_->next_seq(10, 1);
  store_->insert_message(m);
  auto got = store_->message(10, m.seq);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->body, m.body);
  EXPECT_EQ(store_->message_by_client_id(1, m.client_id)->id, 77);
  EXPECT_EQ(store_->count_users(), 1);
}

TEST_P(StoreTest, SeqIsPerConversationAndGapless) {
  user(1, "alice");
  conversation(10, 1, 5);
  conversation(11, 1, 5);
  EXPECT_EQ(post(10, 1, "a").seq, 1);
  EXPECT_EQ(post(10, 1, "b").seq, 2);
  EXPECT_EQ(post(11, 1, "c").seq, 1);
  EXPECT_EQ(post(10, 1, "d").seq, 3);
  EXPECT_EQ(store_->conversation(10)->last_seq, 3);
  EXPECT_THROW(store_->next_seq(999, 1), Error);
}

TEST_P(StoreTest, ClientIdIsUniquePerSender) {
  user(1, "alice");
  conversation(10, 1, 5);
  post(10, 1, "same");
  EXPECT_THROW(post(10, 1, "same"), Error);
}

TEST_P(StoreTest, PagesMessagesBothWays) {
  user(1, "alice");
  conversation(10, 1, 5);
  for (int i = 0; i < 10; ++i) post(10, 1, "m" + std::to_string(i));
  auto asc = store_->messages_after(10, 3, 4);
  ASSERT_EQ(asc.size(), 4U);
  EXPECT_EQ(asc.front().seq, 4);
  EXPECT_EQ(asc.back().seq, 7);
  auto desc = store_->messages_before(10, 3, 10);
  ASSERT_EQ(desc.size(), 2U);
  EXPECT_EQ(desc[0].seq, 2);
  EXPECT_EQ(desc[1].seq, 1);
}

TEST_P(StoreTest, TombstoneEmptiesBodyAndKeepsSeq) {
  user(1, "alice");
  conversation(10, 1, 5);
  auto m = post(10, 1, "a");
  store_->tombstone_message(10, m.seq, 99);
  auto got = store_->message(10, m.seq);
  EXPECT_EQ(got->body, "");
  EXPECT_EQ(got->deleted_at, 99);
}

TEST_P(StoreTest, ConversationListHasUnreadLastMessageAndKeysetCursor) {
  user(1, "alice");
  user(2, "bob");
  conversation(10, 1, 100);
  conversation(11, 1, 200);
  conversation(12, 1, 300);
  for (Id c : {10, 11, 12}) {
    join(c, 1, "owner");
    join(c, 2);
  }
  post(10, 1, "x", 400);  // conversation 10 becomes the most active
  post(10, 1, "y", 401);
  post(10, 2, "z", 402);
  auto page = store_->conversations_for_user(2, std::nullopt, 2);
  ASSERT_EQ(page.size(), 2U);
  EXPECT_EQ(page[0].conversation.id, 10);
  EXPECT_EQ(page[0].unread, 2);  // bob's own message is not unread for bob
  EXPECT_EQ(page[0].member_count, 2);
  ASSERT_TRUE(page[0].last_message.has_value());
  EXPECT_EQ(page[0].last_message->client_id, "z");
  EXPECT_EQ(page[1].conversation.id, 12);
  EXPECT_FALSE(page[1].last_message.has_value());
  ConversationCursor cur{page[1].conversation.activity_at, page[1].conversation.id};
  auto rest = store_->conversations_for_user(2, cur, 2);
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].conversation.id, 11);
  store_->set_last_read(10, 2, 2);
  EXPECT_EQ(store_->unread_count(10, 2, store_->member(10, 2)->last_read_seq), 0);
  store_->set_last_read(10, 2, 1);  // never moves backwards
  EXPECT_EQ(store_->member(10, 2)->last_read_seq, 2);
}

TEST_P(StoreTest, RefreshTokensRotateAndFamiliesRevoke) {
  user(1, "alice");
  RefreshToken t;
  t.id = 5;
  t.user_id = 1;
  t.family_id = 50;
  t.created_at = 1;
  t.expires_at = 100;
  store_->insert_refresh_token(t, "hash-a");
  t.id = 6;
  store_->insert_refresh_token(t, "hash-b");
  store_->mark_refresh_token_used(5, 10);
  EXPECT_EQ(store_->refresh_token_by_hash("hash-a")->used_at, 10);
  store_->revoke_refresh_family(50, 20);
  EXPECT_EQ(store_->refresh_token_by_hash("hash-b")->revoked_at, 20);
  EXPECT_FALSE(store_->refresh_token_by_hash("nope").has_value());
}

TEST_P(StoreTest, ExpiredRefreshTokensArePurgedInBatches) {
  user(1, "alice");
  RefreshToken t;
  t.user_id = 1;
  t.family_id = 50;
  t.created_at = 1;
  for (int i = 0; i < 5; ++i) {
    t.id = 10 + i;
    t.expires_at = i < 3 ? 100 : 1000;  // three expired before 500, two not
    store_->insert_refresh_token(t, "h" + std::to_string(i));
  }
  EXPECT_EQ(store_->delete_refresh_tokens_expired_before(500, 2), 2);
  EXPECT_EQ(store_->delete_refresh_tokens_expired_before(500, 2), 1);
  EXPECT_EQ(store_->delete_refresh_tokens_expired_before(500, 2), 0);
  EXPECT_TRUE(store_->refresh_token_by_hash("h3").has_value());
  EXPECT_FALSE(store_->refresh_token_by_hash("h0").has_value());
}

TEST_P(StoreTest, AuditEventsFilterPageNewestFirstAndPurge) {
  // Ids past 2^31 check the filters bind 64-bit values on PostgreSQL.
  const Id big = Id{1} << 40;
  auto add = [&](Id id, std::int64_t at, Id actor, const char* action, Id target) {
    AuditEvent e;
    e.id = id;
    e.at = at;
    e.actor_id = actor;
    e.action = action;
    e.target_id = target;
    e.ip = "127.0.0.1";
    e.detail = R"({"k":"v"})";
    store_->insert_audit_event(e);
  };
  add(1, 100, big, "login.succeeded", 0);
  add(2, 200, 0, "login.failed", 0);
  add(3, 300, 7, "admin.user_updated", big);
  add(4, 400, big, "logout", 0);
  auto all = store_->audit_events(INT64_MAX, "", 0, 10);
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all.front().id, 4);
  EXPECT_EQ(all[2].actor_id, 0);  // NULL reads back as 0
  EXPECT_EQ(all[1].target_id, big);
  EXPECT_EQ(all[1].detail, R"({"k":"v"})");
  auto page = store_->audit_events(4, "", 0, 2);
  ASSERT_EQ(page.size(), 2U);
  EXPECT_EQ(page[0].id, 3);
  EXPECT_EQ(page[1].id, 2);
  auto mine = store_->audit_events(INT64_MAX, "", big, 10);  // as actor or as target
  ASSERT_EQ(mine.size(), 3U);
  EXPECT_EQ(mine[1].action, "admin.user_updated");
  auto failed = store_->audit_events(INT64_MAX, "login.failed", 0, 10);
  ASSERT_EQ(failed.size(), 1U);
  EXPECT_EQ(failed[0].id, 2);
  EXPECT_TRUE(store_->audit_events(INT64_MAX, "login.failed", big, 10).empty());
  EXPECT_EQ(store_->delete_audit_events_before(300, 1), 1);
  EXPECT_EQ(store_->delete_audit_events_before(300, 10), 1);
  EXPECT_EQ(store_->audit_events(INT64_MAX, "", 0, 10).size(), 2U);
}

TEST_P(StoreTest, ASendersMessagesExportAndEraseAsTombstonesInBatches) {
  user(1, "alice");
  user(2, "bob");
  auto c = conversation(10, 1, 1);
  join(10, 1);
  join(10, 2);
  for (int i = 0; i < 3; ++i) post(c.id, 1, "a" + std::to_string(i));
  post(c.id, 2, "b0");
  auto mine = store_->messages_by_sender(1, 0, 2);
  ASSERT_EQ(mine.size(), 2U);
  EXPECT_EQ(mine[0].client_id, "a0");
  auto rest = store_->messages_by_sender(1, mine.back().id, 10);
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].client_id, "a2");

  auto erased = store_->tombstone_sender_messages(1, 99, 2);
  ASSERT_EQ(erased.size(), 2U);
  // Returned as they are now, for the live events (in no particular order).
  std::set<std::string> ids;
  for (const auto& e : erased) {
    ids.insert(e.client_id);
    EXPECT_EQ(e.body, "");
    EXPECT_EQ(e.deleted_at, 99);
  }
  EXPECT_EQ(ids, (std::set<std::string>{"a0", "a1"}));
  EXPECT_EQ(store_->tombstone_sender_messages(1, 99, 2).size(), 1U);
  EXPECT_TRUE(store_->tombstone_sender_messages(1, 99, 2).empty());  // deleted ones are skipped
  auto all = store_->messages_after(c.id, 0, 10);
  ASSERT_EQ(all.size(), 4U);  // every seq is still there
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(all[i].body, "");
    EXPECT_EQ(all[i].deleted_at, 99);
  }
  EXPECT_EQ(all[3].body, "body b0");

  EXPECT_EQ(store_->tombstone_messages_before(all[3].id, 100, 10), 0);  // older ones already erased
  EXPECT_EQ(store_->tombstone_messages_before(all[3].id + 1, 100, 10), 1);
  EXPECT_EQ(store_->messages_after(c.id, 3, 10)[0].body, "");

  store_->anonymize_user(1, "~deleted-1", "Deleted user");
  auto u = store_->user_by_id(1);
  EXPECT_EQ(u->username, "~deleted-1");
  EXPECT_TRUE(u->disabled);
  EXPECT_EQ(u->password_hash, "!");
  EXPECT_FALSE(store_->user_by_username("alice").has_value());
}

// Store::append_messages for a run of messages; returns the seqs (0: refused).
std::vector<std::int64_t> append_run(Store& s, std::vector<Message> run) {
  std::vector<Message*> in;
  for (auto& m : run) in.push_back(&m);
  std::vector<std::int64_t> out(run.size(), -1);
  s.append_messages(in, out);
  return out;
}

Message draft(Id id, Id conv, Id sender, std::string client_id, std::int64_t at = 50) {
  Message m;
  m.id = id;
  m.conversation_id = conv;
  m.sender_id = sender;
  m.client_id = std::move(client_id);
  m.body = "hi " + m.client_id;
  m.created_at = at;
  return m;
}

TEST_P(StoreTest, AppendWritesOnlyForAMemberWithANewClientId) {
  user(1, "alice");
  user(2, "bob");
  conversation(10, 1, 1);
  join(10, 1);
  auto before = store_->total_changes();
  EXPECT_EQ(append_run(*store_, {draft(5000, 10, 1, "x")}), std::vector<std::int64_t>{1});
  EXPECT_GT(store_->total_changes(), before);  // the group-commit writer relies on it
  EXPECT_EQ(store_->conversation(10)->last_seq, 1);
  EXPECT_EQ(store_->conversation(10)->activity_at, 50);
  EXPECT_EQ(store_->member(10, 1)->last_read_seq, 1);
  EXPECT_EQ(store_->message(10, 1)->body, "hi x");
  EXPECT_EQ(store_->message(10, 1)->id, 5000);

  before = store_->total_changes();
  // The same client_id again (a retry), a non-member, no such conversation:
  // nothing written for any of them.
  EXPECT_EQ(append_run(*store_, {draft(5001, 10, 1, "x"), draft(5002, 10, 2, "y"),
                                 draft(5003, 999, 1, "z")}),
            (std::vector<std::int64_t>{0, 0, 0}));
  EXPECT_EQ(store_->total_changes(), before);
  EXPECT_EQ(store_->conversation(10)->last_seq, 1);
  EXPECT_FALSE(store_->message_by_client_id(2, "y").has_value());
  EXPECT_FALSE(store_->message_by_client_id(1, "z").has_value());

  // Older than the activity time: the activity time stays.
  EXPECT_EQ(append_run(*store_, {draft(5004, 10, 1, "w", 40)}), std::vector<std::int64_t>{2});
  EXPECT_EQ(store_->conversation(10)->activity_at, 50);
  EXPECT_EQ(store_->member(10, 1)->last_read_seq, 2);
}

TEST_P(StoreTest, AppendRunTakesSeqsInOrderPerConversationAndRefusesOnlyTheBadOnes) {
  user(1, "alice");
  user(2, "bob");
  user(3, "carol");
  conversation(10, 1, 1);
  conversation(20, 1, 1);
  join(10, 1);
  join(10, 2);
  join(20, 1);
  post(10, 1, "old");  // seq 1 of conversation 10, client_id "old" used
  std::vector<Message> run = {
      draft(6000, 20, 1, "a", 70),  // 20: seq 1
      draft(6001, 10, 2, "b", 60),  // 10: seq 2
      draft(6002, 10, 1, "c", 65),  // 10: seq 3
      draft(6003, 10, 1, "old"),    // a retry of an earlier message
      draft(6004, 10, 3, "d"),      // carol is not a member
      draft(6005, 10, 2, "b"),      // a repeat of 6001 within the run
      draft(6006, 20, 1, "e", 55),  // 20: seq 2
      draft(6007, 10, 2, "f", 61),  // 10: seq 4
  };
  EXPECT_EQ(append_run(*store_, run), (std::vector<std::int64_t>{1, 2, 3, 0, 0, 0, 2, 4}));
  EXPECT_EQ(store_->conversation(10)->last_seq, 4);
  EXPECT_EQ(store_->conversation(20)->last_seq, 2);
  EXPECT_EQ(store_->conversation(10)->activity_at, 65);
  EXPECT_EQ(store_->conversation(20)->activity_at, 70);
  EXPECT_EQ(store_->member(10, 1)->last_read_seq, 3);
  EXPECT_EQ(store_->member(10, 2)->last_read_seq, 4);
  EXPECT_EQ(store_->member(20, 1)->last_read_seq, 2);
  auto ten = store_->messages_after(10, 0, 10);
  ASSERT_EQ(ten.size(), 4u);
  EXPECT_EQ(ten[1].id, 6001);
  EXPECT_EQ(ten[2].id, 6002);
  EXPECT_EQ(ten[3].id, 6007);
  EXPECT_EQ(ten[3].created_at, 61);
  EXPECT_EQ(store_->message_by_client_id(2, "b")->id, 6001);
  EXPECT_FALSE(store_->message_by_client_id(3, "d").has_value());
}

TEST_P(StoreTest, AppendRunOfManyIsGaplessAndKeepsAnyText) {
  user(1, "alice");
  conversation(10, 1, 1);
  join(10, 1);
  // Text that PostgreSQL's array literals and SQL quoting must carry through.
  const std::vector<std::string> bodies = {"a,b",
                                           "{x}",
                                           "\"quoted\"",
                                           "back\\slash",
                                           "it's",
                                           "NULL",
                                           "",
                                           " spaced ",
                                           "\xC3\xA9t\xC3\xA9",
                                           "\xE4\xB8\xAD\xE6\x96\x87",
                                           "line\nbreak",
                                           "\\\"",
                                           "'); DROP TABLE messages; --"};
  std::vector<Message> run;
  for (int k = 0; k < 101; ++k) {  // chunks of 32, 32, 32, 4 and 1 on SQLite
    auto m = draft(7000 + k, 10, 1, "c" + std::to_string(k) + (k % 3 ? "\"{,}\\" : ""));
    m.body = bodies[static_cast<std::size_t>(k) % bodies.size()];
    run.push_back(m);
  }
  auto seqs = append_run(*store_, run);
  for (int k = 0; k < 101; ++k) EXPECT_EQ(seqs[static_cast<std::size_t>(k)], k + 1);
  auto all = store_->messages_after(10, 0, 200);
  ASSERT_EQ(all.size(), 101u);
  for (std::size_t k = 0; k < all.size(); ++k) {
    EXPECT_EQ(all[k].id, run[k].id);
    EXPECT_EQ(all[k].body, run[k].body) << k;
    EXPECT_EQ(all[k].client_id, run[k].client_id) << k;
  }
  EXPECT_EQ(store_->member(10, 1)->last_read_seq, 101);
}

TEST_P(StoreTest, TwoConnectionsNeverHandOutTheSameSeq) {
  // Two writers (two nodes on PostgreSQL) append to one conversation at once:
  // next_seq's row lock makes the second wait for the first's COMMIT.
  user(1, "alice");
  conversation(10, 1, 5);
  constexpr int kEach = 100;
  std::atomic<int> next_id{5000};
  auto writer = [&](int w) {
    auto s = engine_.open();
    for (int i = 0; i < kEach; ++i) {
      s->begin(true);
      Message m;
      m.id = next_id++;
      m.conversation_id = 10;
      m.sender_id = 1;
      m.client_id = std::to_string(w) + "-" + std::to_string(i);
      m.body = "b";
      m.created_at = 1;
      m.seq = s->next_seq(10, 1);
      s->insert_message(m);
      s->commit();
    }
  };
  std::thread a(writer, 0), b(writer, 1);
  a.join();
  b.join();
  auto all = store_->messages_after(10, 0, 1000);
  ASSERT_EQ(all.size(), 2U * kEach);
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].seq, static_cast<int>(i) + 1);
}

TEST_P(StoreTest, ASavepointUndoesAFailedStatementAndTheTransactionGoesOn) {
  user(1, "alice");
  store_->begin(true);
  store_->savepoint();
  auto before = store_->total_changes();
  EXPECT_THROW(user(2, "alice"), Error);
  // SQLite undid the statement alone; PostgreSQL marked the transaction
  // failed. Either way the writer sees something to undo or nothing written.
  EXPECT_TRUE(store_->in_transaction());
  store_->rollback_to();
  store_->release();
  user(3, "carol");
  store_->commit();
  EXPECT_GE(store_->total_changes(), before);
  EXPECT_EQ(store_->count_users(), 2);
  EXPECT_TRUE(store_->user_by_username("carol").has_value());
}

TEST_P(StoreTest, CommitOfAFailedTransactionIsAnError) {
  user(1, "alice");
  store_->begin(true);
  user(2, "bob");
  try {
    user(3, "alice");
  } catch (const Error&) {
  }
  if (store_->in_transaction()) {
    // PostgreSQL: the transaction is failed; COMMIT must not look like success.
    // SQLite: only the failed statement was undone; COMMIT keeps bob.
    bool committed = true;
    try {
      store_->commit();
    } catch (const Error&) {
      committed = false;
      store_->rollback();
    }
    EXPECT_EQ(committed, store_->user_by_username("bob").has_value());
  }
  EXPECT_FALSE(store_->in_transaction());
}

TEST_P(StoreTest, ABeginAfterTheServerDroppedTheConnectionReconnects) {
  if (!engine_.postgres()) GTEST_SKIP() << "PostgreSQL only: a server that restarts";
  user(1, "alice");
  // Mark this connection, then have the server end it (as a restart would).
  std::string marker = "SELECT 1 AS marker_" + std::to_string(getpid()) + "_" +
                       std::to_string(reinterpret_cast<std::uintptr_t>(this) % 1000000);
  store_->exec_script(marker);
  auto admin = engine_.open();
  admin->exec_script("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = '" +
                     marker + "'");
  // The first transaction after it still works: begin() reconnects once.
  store_->begin(false);
  EXPECT_EQ(store_->count_users(), 1);
  store_->commit();
}

TEST_P(StoreTest, AStatementPastTheTimeoutFailsAsUnavailable) {
  if (!engine_.postgres()) GTEST_SKIP() << "PostgreSQL only: statement_timeout";
  PostgresOptions o;
  o.url = testing::postgres_test_url();
  o.statement_timeout_ms = 200;
  PgStore s(o);
  auto t0 = std::chrono::steady_clock::now();
  try {
    s.exec_script("SELECT pg_sleep(5)");
    FAIL() << "a 5 s statement finished under a 200 ms timeout";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unavailable);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3));
  s.ping();  // the connection is still usable
}

TEST_P(StoreTest, ReactionsAreCountedPerMessageAndGoWithTombstonesAndErasure) {
  user(1, "ann");
  user(2, "bob");
  conversation(10, 1, 5);
  join(10, 1);
  join(10, 2);
  auto m1 = post(10, 1, "r1");
  auto m2 = post(10, 2, "r2");
  auto m3 = post(10, 2, "r3");
  EXPECT_TRUE(store_->add_reaction(10, m1.seq, 1, "👍", 100));
  EXPECT_FALSE(store_->add_reaction(10, m1.seq, 1, "👍", 101)) << "idempotent";
  EXPECT_TRUE(store_->add_reaction(10, m1.seq, 2, "👍", 102));
  EXPECT_TRUE(store_->add_reaction(10, m1.seq, 2, ":tada:", 90));
  EXPECT_TRUE(store_->add_reaction(10, m3.seq, 1, "中", 103));
  EXPECT_EQ(store_->reactions_by_user(10, m1.seq, 2), 2);
  EXPECT_EQ(store_->reactions_by_user(10, m2.seq, 2), 0);

  std::vector<std::int64_t> seqs{m1.seq, m3.seq};
  auto counts = store_->reaction_counts(10, seqs, 1);
  ASSERT_EQ(counts.size(), 3u);
  // By seq, then by when each reaction first came.
  EXPECT_EQ(counts[0].reaction, ":tada:");
  EXPECT_EQ(counts[0].count, 1);
  EXPECT_FALSE(counts[0].me);
  EXPECT_EQ(counts[1].reaction, "👍");
  EXPECT_EQ(counts[1].count, 2);
  EXPECT_TRUE(counts[1].me);
  EXPECT_EQ(counts[2].seq, m3.seq);
  // Seqs between those asked for are not reported.
  std::vector<std::int64_t> only_m2{m2.seq};
  EXPECT_TRUE(store_->reaction_counts(10, only_m2, 1).empty());
  EXPECT_EQ(store_->reaction_users(10, m1.seq, "👍", 0, 10), (std::vector<Id>{1, 2}));
  EXPECT_EQ(store_->reaction_users(10, m1.seq, "👍", 1, 10), (std::vector<Id>{2}));

  // A user's own, paged by (conversation, seq, reaction).
  auto mine = store_->reactions_of_user(2, UserReaction{}, 1);
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].reaction, ":tada:");
  auto rest = store_->reactions_of_user(2, mine[0], 10);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].reaction, "👍");
  EXPECT_EQ(rest[0].created_at, 102);
  EXPECT_TRUE(store_->reactions_of_user(2, rest[0], 10).empty());

  EXPECT_TRUE(store_->remove_reaction(10, m1.seq, 1, "👍"));
  EXPECT_FALSE(store_->remove_reaction(10, m1.seq, 1, "👍"));
  store_->tombstone_message(10, m1.seq, 200);
  EXPECT_TRUE(store_->reaction_counts(10, seqs, 1).size() == 1u) << "only m3's is left";
  store_->anonymize_user(1, "deleted-1", "Deleted");
  EXPECT_TRUE(store_->reaction_counts(10, seqs, 1).empty());
}

TEST_P(StoreTest, RepliesJoinTheRootsThreadAndThreadsAreSummarizedWithoutTombstones) {
  user(1, "ann");
  user(2, "bob");
  user(3, "cy");
  conversation(10, 1, 1);
  join(10, 1);
  join(10, 2);
  join(10, 3);
  ASSERT_EQ(append_run(*store_, {draft(6000, 10, 1, "root", 100)}), std::vector<std::int64_t>{1});
  auto reply = [](Message m, std::int64_t to, bool broadcast = false) {
    m.reply_to = to;
    m.broadcast = broadcast;
    return m;
  };
  // A reply to the root, a reply to that reply (joins the root's thread),
  // a reply to a seq that does not exist (refused, nothing written), and a
  // reply in the same run to a message of that run (not stored yet: refused
  // for the step-by-step path).
  std::vector<Message> run{reply(draft(6001, 10, 2, "a", 110), 1),
                           reply(draft(6002, 10, 3, "b", 120), 2, true),
                           reply(draft(6003, 10, 2, "c", 130), 99), draft(6004, 10, 1, "d", 140)};
  std::vector<Message*> in;
  for (auto& m : run) in.push_back(&m);
  std::vector<std::int64_t> out(run.size(), -1);
  store_->append_messages(in, out);
  EXPECT_EQ(out, (std::vector<std::int64_t>{2, 0, 0, 3}))
      << "a reply to a reply of the same run waits for the run's rows";
  out.assign(1, 0);
  store_->append_messages({&in[1], 1}, {out.data(), 1});
  EXPECT_EQ(out[0], 4);
  EXPECT_EQ(run[1].reply_to, 1) << "the caller learns the root";
  EXPECT_EQ(store_->message(10, 4)->reply_to, 1);
  EXPECT_TRUE(store_->message(10, 4)->broadcast);
  EXPECT_EQ(store_->message(10, 2)->reply_to, 1);
  EXPECT_FALSE(store_->message(10, 2)->broadcast);
  EXPECT_EQ(store_->message(10, 3)->reply_to, 0);
  ASSERT_EQ(append_run(*store_, {reply(draft(6005, 10, 2, "e", 150), 3)}),
            std::vector<std::int64_t>{5});

  std::vector<std::int64_t> page{1, 2, 3, 4, 5};
  auto sums = store_->thread_summaries(10, page, 5);
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0].root_seq, 1);
  EXPECT_EQ(sums[0].reply_count, 2);
  EXPECT_EQ(sums[0].last_reply_seq, 4);
  EXPECT_EQ(sums[0].last_reply_at, 120);
  EXPECT_EQ(sums[0].participants, (std::vector<Id>{2, 3})) << "earliest first";
  EXPECT_EQ(sums[1].root_seq, 3);
  EXPECT_EQ(sums[1].reply_count, 1);
  std::vector<std::int64_t> just_three{3};
  EXPECT_EQ(store_->thread_summaries(10, just_three, 5).size(), 1u)
      << "roots not asked for left out";
  EXPECT_EQ(store_->thread_summaries(10, page, 1)[0].participants, std::vector<Id>{2});

  auto replies = store_->thread_replies(10, 1, 0, 10);
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].seq, 2);
  EXPECT_EQ(replies[1].seq, 4);
  EXPECT_EQ(store_->thread_replies(10, 1, 2, 10).size(), 1u);
  EXPECT_EQ(store_->thread_replies(10, 1, 0, 1).size(), 1u);

  store_->tombstone_message(10, 2, 300);
  sums = store_->thread_summaries(10, page, 5);
  ASSERT_EQ(sums.size(), 2u);
  EXPECT_EQ(sums[0].reply_count, 1);
  EXPECT_EQ(sums[0].participants, std::vector<Id>{3});
  EXPECT_EQ(store_->thread_replies(10, 1, 0, 10).size(), 2u) << "the tombstone keeps its seq";
}

TEST_P(StoreTest, MentionsAreKeptOnTheMessageAndCountedUnreadPerMember) {
  user(1, "ann");
  user(2, "bob");
  user(3, "cy");
  conversation(10, 1, 1);
  join(10, 1);
  join(10, 2);
  join(10, 3);
  Message m;
  m.id = 7000;
  m.conversation_id = 10;
  m.sender_id = 1;
  m.client_id = "mention-1";
  m.body = "@bob look";
  m.created_at = 10;
  m.mentions.user_ids = {2};
  // The batch leaves a message with mentions to the caller.
  EXPECT_EQ(append_run(*store_, {m}), std::vector<std::int64_t>{0});
  m.seq = store_->next_seq(10, 10);
  store_->insert_message(m);
  Message all = m;
  all.id = 7001;
  all.client_id = "mention-2";
  all.mentions = Mentions{{}, false, true};
  all.seq = store_->next_seq(10, 11);
  store_->insert_message(all);
  post(10, 2, "plain");

  EXPECT_EQ(store_->message(10, 1)->mentions, m.mentions);
  EXPECT_EQ(store_->message(10, 2)->mentions, all.mentions);
  EXPECT_TRUE(store_->message(10, 3)->mentions.empty());
  EXPECT_EQ(store_->unread_mention_count(10, 2, 0), 2) << "by id and by all";
  EXPECT_EQ(store_->unread_mention_count(10, 3, 0), 1);
  EXPECT_EQ(store_->unread_mention_count(10, 2, 1), 1) << "only after the read marker";
  auto list = store_->conversations_for_user(2, std::nullopt, 10);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].unread_mentions, 2);
  EXPECT_EQ(list[0].me.notify, "all");
  store_->set_member_notify(10, 2, "mentions");
  EXPECT_EQ(store_->member(10, 2)->notify, "mentions");

  store_->tombstone_message(10, 1, 50);
  EXPECT_EQ(store_->unread_mention_count(10, 2, 0), 1) << "a deleted message mentions nobody";
  store_->delete_member(10, 3);
  EXPECT_EQ(store_->unread_mention_count(10, 3, 0), 1) << "all stays for whoever is a member";
}

TEST_P(StoreTest, PinsAreIdempotentListedNewestFirstAndGoWithTombstones) {
  user(1, "ann");
  conversation(10, 1, 1);
  join(10, 1);
  for (int i = 1; i <= 3; ++i) post(10, 1, "pin-" + std::to_string(i));
  EXPECT_EQ(store_->conversation(10)->pin_role, "member");
  EXPECT_TRUE(store_->set_pin(10, 1, 1, 100, true));
  EXPECT_FALSE(store_->set_pin(10, 1, 1, 101, true)) << "already pinned";
  EXPECT_TRUE(store_->set_pin(10, 3, 1, 102, true));
  auto all = store_->pins(10, 1, INT64_MAX, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].seq, 3);
  EXPECT_EQ(all[1].pinned_at, 100);
  EXPECT_EQ(store_->pins(10, 2, 3, 10).size(), 1u) << "a seq range";
  EXPECT_EQ(store_->pins(10, 1, INT64_MAX, 1).size(), 1u);
  EXPECT_TRUE(store_->set_pin(10, 1, 1, 0, false));
  EXPECT_FALSE(store_->set_pin(10, 1, 1, 0, false));
  store_->tombstone_message(10, 3, 200);
  EXPECT_TRUE(store_->pins(10, 1, INT64_MAX, 10).empty());
  store_->set_conversation_pin_role(10, "admin", 300);
  EXPECT_EQ(store_->conversation(10)->pin_role, "admin");
  EXPECT_EQ(store_->conversation(10)->updated_at, 300);
}

TEST_P(StoreTest, MutedSendersAndSlowModeTakeTheStepByStepPathAndBansAndReportsAreKept) {
  user(1, "ann");
  user(2, "bob");
  conversation(10, 1, 1);
  join(10, 1);
  join(10, 2);
  store_->set_muted_until(10, 2, 1000);
  EXPECT_EQ(store_->member(10, 2)->muted_until, 1000);
  EXPECT_EQ(append_run(*store_, {draft(8000, 10, 2, "m1", 500)}), std::vector<std::int64_t>{0})
      << "muted at the message's time";
  EXPECT_EQ(append_run(*store_, {draft(8001, 10, 2, "m2", 1500)}), std::vector<std::int64_t>{1})
      << "the mute has ended";
  store_->set_slow_mode(10, 30, 2000);
  EXPECT_EQ(store_->conversation(10)->slow_mode_s, 30);
  EXPECT_EQ(append_run(*store_, {draft(8002, 10, 1, "m3", 2500)}), std::vector<std::int64_t>{0});
  store_->set_last_sent(10, 2, 2600);
  EXPECT_EQ(store_->member(10, 2)->last_sent_at, 2600);

  store_->insert_ban({10, 2, 1, 3000, "spam"});
  store_->insert_ban({10, 2, 1, 3100, "again"});  // a second ban replaces the first
  ASSERT_TRUE(store_->ban(10, 2));
  EXPECT_EQ(store_->ban(10, 2)->reason, "again");
  EXPECT_EQ(store_->bans(10, 0, 10).size(), 1u);
  EXPECT_TRUE(store_->delete_ban(10, 2));
  EXPECT_FALSE(store_->delete_ban(10, 2));

  EXPECT_TRUE(store_->insert_report({9000, 10, 1, 2, "rude", 4000, 0, 0, ""}));
  EXPECT_FALSE(store_->insert_report({9001, 10, 1, 2, "rude again", 4001, 0, 0, ""}))
      << "one open report per reporter and message";
  EXPECT_EQ(store_->reports(true, INT64_MAX, 10).size(), 1u);
  store_->resolve_report(9000, 1, 5000, "dismissed");
  EXPECT_EQ(store_->report(9000)->resolution, "dismissed");
  EXPECT_TRUE(store_->reports(true, INT64_MAX, 10).empty());
  EXPECT_EQ(store_->reports(false, INT64_MAX, 10).size(), 1u);
  EXPECT_TRUE(store_->insert_report({9002, 10, 1, 2, "still rude", 6000, 0, 0, ""}))
      << "after the first was resolved";
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreTest, testing::kEngines, testing::engine_name);

TEST(SqliteStore, IntegrityCheckPasses) {
  parley::testing::TempDir dir;
  SqliteStore s(SqliteOptions{dir.file("parley.db")});
  apply_migrations(s, sqlite_migrations());
  EXPECT_TRUE(s.integrity_ok());
}

TEST(SqliteStore, TheWriterConnectionsWalIsCheckpointedInTheBackground) {
  parley::testing::TempDir dir;
  SqliteOptions o{dir.file("parley.db")};
  o.background_checkpoint = true;
  SqliteStore s(o);
  s.exec_script("CREATE TABLE t (x TEXT)");
  auto db_bytes = [&] { return std::filesystem::file_size(o.path); };
  auto before = db_bytes();
  // Past kCheckpointPages of WAL, below the 4x at which the writer would do it.
  std::string row(3000, 'x');
  for (int tx = 0; tx < 30; ++tx) {
    s.begin(true);
    for (int i = 0; i < 50; ++i) s.exec_script("INSERT INTO t VALUES ('" + row + "')");
    s.commit();
  }
  // Only a checkpoint moves pages from the WAL into the database file.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (db_bytes() < before + 2'000'000 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GE(db_bytes(), before + 2'000'000);
  EXPECT_TRUE(s.integrity_ok());
}

}  // namespace
}  // namespace parley::store

namespace parley::store {
namespace {

TEST(PgStoreDialect, RewritesParametersOutsideLiterals) {
  int params = 0;
  EXPECT_EQ(PgStore::dialect_sql("SELECT ?1, '?2', ?10 WHERE a = ''?3''", &params),
            "SELECT $1, '?2', $10 WHERE a = ''$3''");
  EXPECT_EQ(params, 10);
  EXPECT_EQ(PgStore::dialect_sql("SELECT 1", &params), "SELECT 1");
  EXPECT_EQ(params, 0);
}

}  // namespace
}  // namespace parley::store
