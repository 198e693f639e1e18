#include "chat/chat_service.hpp"

#include <gtest/gtest.h>

#include "../test_util.hpp"
#include "app/config.hpp"
#include "core/error.hpp"
#include "core/ids.hpp"
#include "core/metrics.hpp"
#include "store/database.hpp"

namespace parley::chat {
namespace {

class ChatServiceTest : public ::testing::Test {
 protected:
  ChatServiceTest() : ids_(1) {
    store::DatabaseOptions o;
    o.sqlite_path = dir_.file("chat.db");
    db_ = std::make_unique<store::Database>(o, metrics_);
    db_->migrate();
    db_->start();
    cfg_.limits.max_members = 4;
    cfg_.limits.max_message_bytes = 100;
    chat_ = std::make_unique<ChatService>(cfg_, *db_, ids_, metrics_);
    alice_ = add_user("alice");
    bob_ = add_user("bob");
    carol_ = add_user("carol");
  }

  Id add_user(const std::string& name) {
    store::User u;
    u.id = ids_.next();
    u.username = name;
    u.display_name = name;
    u.role = "user";
    u.password_hash = "h";
    db_->write([&](store::Store& s) { s.insert_user(u); });
    return u.id;
  }

  static Errc code_of(const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return e.code();
    }
    ADD_FAILURE() << "expected an error";
    return Errc::internal;
  }

  testing::TempDir dir_;
  metrics::Registry metrics_;
  Config cfg_;
  IdGenerator ids_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<ChatService> chat_;
  Id alice_ = 0, bob_ = 0, carol_ = 0;
};

TEST_F(ChatServiceTest, DirectConversationIsUniquePerPair) {
  auto first = chat_->create_conversation(alice_, "direct", "", {bob_});
  EXPECT_TRUE(first.created);
  auto again = chat_->create_conversation(bob_, "direct", "", {alice_});
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.conversation.id, first.conversation.id);
  EXPECT_EQ(code_of([&] { chat_->create_conversation(alice_, "direct", "", {}); }),
            Errc::bad_request);
  EXPECT_EQ(code_of([&] {
              chat_->create_conversation(alice_, "direct", "", {bob_, carol_});
            }),
            Errc::bad_request);
  EXPECT_EQ(code_of([&] { chat_->create_conversation(alice_, "direct", "", {999}); }),
            Errc::bad_request);
}

TEST_F(ChatServiceTest, OnlyMembersReadOrWrite) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_}).conversation;
  chat_->send(alice_, c.id, "c1", "hello");
  EXPECT_EQ(chat_->list_messages(bob_, c.id, std::nullopt, std::nullopt, 10).size(), 1U);
  EXPECT_EQ(code_of([&] { chat_->list_messages(carol_, c.id, std::nullopt, std::nullopt, 10); }),
            Errc::not_found);
  EXPECT_EQ(code_of([&] { chat_->send(carol_, c.id, "c2", "intrude"); }), Errc::not_found);
  EXPECT_EQ(code_of([&] { chat_->get_conversation(carol_, c.id); }), Errc::not_found);
  EXPECT_EQ(code_of([&] { chat_->members(carol_, c.id); }), Errc::not_found);
}

TEST_F(ChatServiceTest, RetriedClientIdReturnsTheFirstMessage) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_}).conversation;
  auto first = chat_->send(alice_, c.id, "retry-1", "once");
  auto second = chat_->send(alice_, c.id, "retry-1", "once");
  EXPECT_TRUE(first.created);
  EXPECT_FALSE(second.created);
  EXPECT_EQ(second.message.id, first.message.id);
  EXPECT_EQ(second.message.seq, first.message.seq);
  EXPECT_EQ(chat_->list_messages(bob_, c.id, std::nullopt, std::nullopt, 10).size(), 1U);
  // The same client_id from another sender is a different message.
  EXPECT_TRUE(chat_->send(bob_, c.id, "retry-1", "mine").created);
  auto other = chat_->create_conversation(alice_, "group", "Other", {}).conversation;
  EXPECT_EQ(code_of([&] { chat_->send(alice_, other.id, "retry-1", "x"); }), Errc::conflict);
}

TEST_F(ChatServiceTest, ReplayPastTheLimitIsTheNewestPageTruncated) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_}).conversation;
  for (int i = 1; i <= 10; ++i) chat_->send(alice_, c.id, "r" + std::to_string(i), "m");
  auto all = chat_->replay(bob_, c.id, 0, 20);
  EXPECT_FALSE(all.truncated);
  ASSERT_EQ(all.messages.size(), 10U);
  EXPECT_EQ(all.messages.front().seq, 1);
  auto some = chat_->replay(bob_, c.id, 2, 5);
  EXPECT_TRUE(some.truncated);
  ASSERT_EQ(some.messages.size(), 5U);
  EXPECT_EQ(some.messages.front().seq, 6);
  EXPECT_EQ(some.messages.back().seq, 10);
  EXPECT_TRUE(chat_->replay(bob_, c.id, std::nullopt, 5).messages.empty());  // live from now
}

// Regression: a replay larger than the connection's outbound queue made the
// subscribe that asked for it close with 4009, and the client's resubscribe
// did the same again. The byte budget keeps the newest that fit.
TEST_F(ChatServiceTest, ReplayLargerThanTheByteBudgetKeepsTheNewestThatFit) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_}).conversation;
  for (int i = 1; i <= 10; ++i) {
    chat_->send(alice_, c.id, "b" + std::to_string(i), std::string(100, 'x'));
  }
  // 356 bytes a message with the event allowance: 3 fit in 1,100.
  auto r = chat_->replay(bob_, c.id, 0, 20, 1100);
  EXPECT_TRUE(r.truncated);
  ASSERT_EQ(r.messages.size(), 3U);
  EXPECT_EQ(r.messages.front().seq, 8);
  EXPECT_EQ(r.messages.back().seq, 10);
  auto fits = chat_->replay(bob_, c.id, 7, 20, 1100);
  EXPECT_FALSE(fits.truncated);
  EXPECT_EQ(fits.messages.size(), 3U);
}

// After a restore from a backup the store is behind what clients saw: a
// `since` past the newest seq says so instead of looking like "up to date".
TEST_F(ChatServiceTest, ReplayFromPastTheNewestSeqSaysRewound) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_}).conversation;
  for (int i = 1; i <= 3; ++i) chat_->send(alice_, c.id, "w" + std::to_string(i), "m");
  auto ahead = chat_->replay(bob_, c.id, 7, 20);
  EXPECT_TRUE(ahead.rewound);
  EXPECT_EQ(ahead.last_seq, 3);
  EXPECT_TRUE(ahead.messages.empty());
  EXPECT_FALSE(chat_->replay(bob_, c.id, 3, 20).rewound);
  EXPECT_FALSE(chat_->replay(bob_, c.id, 1, 20).rewound);
  EXPECT_FALSE(chat_->replay(bob_, c.id, std::nullopt, 20).rewound);
}

TEST_F(ChatServiceTest, MessageLimitsAndShape) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {}).conversation;
  EXPECT_EQ(code_of([&] { chat_->send(alice_, c.id, "a", ""); }), Errc::bad_request);
  EXPECT_EQ(code_of([&] { chat_->send(alice_, c.id, "b", std::string(101, 'x')); }),
            Errc::payload_too_large);
  EXPECT_EQ(code_of([&] { chat_->send(alice_, c.id, "", "x"); }), Errc::bad_request);
  EXPECT_EQ(code_of([&] { chat_->send(alice_, c.id, "has space", "x"); }), Errc::bad_request);
  EXPECT_EQ(code_of([&] { chat_->send(alice_, c.id, "c", "bad \xff utf8"); }), Errc::bad_request);
}

TEST_F(ChatServiceTest, EditOwnDeleteOwnOrAsAdmin) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_, carol_}).conversation;
  auto m = chat_->send(bob_, c.id, "b1", "typo").message;
  EXPECT_EQ(code_of([&] { chat_->edit_message(carol_, c.id, m.seq, "hijack"); }), Errc::forbidden);
  auto edited = chat_->edit_message(bob_, c.id, m.seq, "fixed");
  EXPECT_EQ(edited.body, "fixed");
  EXPECT_GT(edited.edited_at, 0);
  EXPECT_EQ(code_of([&] { chat_->delete_message(carol_, c.id, m.seq); }), Errc::forbidden);
  auto deleted = chat_->delete_message(alice_, c.id, m.seq);  // alice owns the group
  EXPECT_EQ(deleted.body, "");
  EXPECT_GT(deleted.deleted_at, 0);
  EXPECT_EQ(code_of([&] { chat_->edit_message(bob_, c.id, m.seq, "again"); }), Errc::conflict);
  EXPECT_EQ(code_of([&] { chat_->get_message(bob_, c.id, 99); }), Errc::not_found);
}

TEST_F(ChatServiceTest, ReadMarkersDriveUnreadCounts) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_}).conversation;
  for (int i = 0; i < 5; ++i) chat_->send(alice_, c.id, "m" + std::to_string(i), "hi");
  EXPECT_EQ(chat_->get_conversation(bob_, c.id).unread, 5);
  EXPECT_EQ(chat_->get_conversation(alice_, c.id).unread, 0);
  EXPECT_EQ(chat_->mark_read(bob_, c.id, 3).unread, 2);
  auto v = chat_->mark_read(bob_, c.id, 1000);  // clamped to the newest seq
  EXPECT_EQ(v.me->last_read_seq, 5);
  EXPECT_EQ(v.unread, 0);
}

TEST_F(ChatServiceTest, MembershipRules) {
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_}).conversation;
  EXPECT_EQ(code_of([&] { chat_->add_member(bob_, c.id, carol_, "member"); }), Errc::forbidden);
  chat_->set_member_role(alice_, c.id, bob_, "admin");
  EXPECT_EQ(chat_->add_member(bob_, c.id, carol_, "member").role, "member");
  EXPECT_EQ(code_of([&] { chat_->add_member(bob_, c.id, carol_, "admin"); }), Errc::forbidden);
  EXPECT_EQ(code_of([&] { chat_->rename(carol_, c.id, "Mine"); }), Errc::forbidden);
  EXPECT_EQ(chat_->rename(bob_, c.id, "Renamed").title, "Renamed");
  // The owner leaves: the longest-standing admin inherits.
  chat_->remove_member(alice_, c.id, alice_);
  auto members = chat_->members(bob_, c.id);
  ASSERT_EQ(members.size(), 2U);
  EXPECT_EQ(members[0].member.user_id, bob_);
  EXPECT_EQ(members[0].member.role, "owner");
}

TEST_F(ChatServiceTest, MemberLimitIsEnforced) {
  Id dave = add_user("dave");
  Id erin = add_user("erin");
  auto c = chat_->create_conversation(alice_, "group", "Team", {bob_, carol_, dave}).conversation;
  EXPECT_EQ(code_of([&] { chat_->add_member(alice_, c.id, erin, "member"); }), Errc::conflict);
  EXPECT_EQ(code_of([&] {
              chat_->create_conversation(alice_, "group", "Big", {bob_, carol_, dave, erin});
            }),
            Errc::bad_request);
}

TEST_F(ChatServiceTest, AnyoneMayJoinAChannelButMustJoinToRead) {
  auto c = chat_->create_conversation(alice_, "channel", "News", {}).conversation;
  EXPECT_FALSE(chat_->get_conversation(carol_, c.id).me.has_value());
  EXPECT_EQ(code_of([&] { chat_->list_messages(carol_, c.id, std::nullopt, std::nullopt, 5); }),
            Errc::forbidden);
  chat_->add_member(carol_, c.id, carol_, "member");
  EXPECT_TRUE(chat_->list_messages(carol_, c.id, std::nullopt, std::nullopt, 5).empty());
  // A group is not joinable by outsiders.
  auto g = chat_->create_conversation(alice_, "group", "Private", {}).conversation;
  EXPECT_EQ(code_of([&] { chat_->add_member(carol_, g.id, carol_, "member"); }), Errc::not_found);
}

}  // namespace
}  // namespace parley::chat
