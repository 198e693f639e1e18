#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <stdexcept>

#include "cluster/broker.hpp"
#include "cluster/redis_url.hpp"
#include "core/metrics.hpp"
#include "realtime/gateway.hpp"
#include "realtime/sequencer.hpp"

namespace parley {
namespace {

using cluster::parse_redis_url;

TEST(RedisUrl, ParsesPasswordOnlyUserAndDatabase) {
  auto a = parse_redis_url("redis://:s3cr%40t@127.0.0.1:6380/2");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.user, "");
  EXPECT_EQ(a.password, "s3cr@t");
  EXPECT_EQ(a.db, 2);
  auto b = parse_redis_url("redis://app:pw@cache");
  EXPECT_EQ(b.user, "app");
  EXPECT_EQ(b.password, "pw");
  EXPECT_EQ(b.port, 6379);
  EXPECT_EQ(b.db, 0);
  auto c = parse_redis_url("redis://[::1]:7000");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 7000);
}

TEST(RedisUrl, RefusesWhatItCannotUse) {
  for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x",
                          "redis://h/abc", "redis://:%zz@h", "redis://[::1"}) {
    EXPECT_THROW(parse_redis_url(bad), std::invalid_argument) << bad;
  }
}

TEST(ClusterWire, RoundTripsEveryField) {
  cluster::ClusterEvent e;
  e.origin = 7;
  e.conv = 123456789012345;
  e.seq = 42;
  e.left_user = 5;
  e.json = R"({"type":"message.new","body":"a|b\nc"})";
  auto d = cluster::decode(cluster::encode(e));
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->kind, cluster::ClusterEvent::Kind::event);
  EXPECT_EQ(d->origin, 7U);
  EXPECT_EQ(d->conv, e.conv);
  EXPECT_EQ(d->seq, 42);
  EXPECT_EQ(d->left_user, 5);
  EXPECT_EQ(d->json, e.json);
  e.kind = cluster::ClusterEvent::Kind::revoke;
  e.user = 9;
  e.family = 10;
  auto r = cluster::decode(cluster::encode(e));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->kind, cluster::ClusterEvent::Kind::revoke);
  EXPECT_EQ(r->family, 10);
  e.kind = cluster::ClusterEvent::Kind::user;
  auto u = cluster::decode(cluster::encode(e));
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->kind, cluster::ClusterEvent::Kind::user);
  EXPECT_EQ(u->user, 9);
  EXPECT_EQ(u->json, e.json);
  // A Yjs update is any bytes: NUL, '|' and newlines included.
  e.kind = cluster::ClusterEvent::Kind::collab;
  e.conv = 77;
  e.seq = 12;
  e.json = std::string("notes\n\0\x01|\n\xff", 11);
  auto c = cluster::decode(cluster::encode(e));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->kind, cluster::ClusterEvent::Kind::collab);
  EXPECT_EQ(c->seq, 12);
  EXPECT_EQ(c->json, e.json);
}

TEST(ClusterWire, RejectsMalformedMessages) {
  for (const char* bad :
       {"", "E", "X|1|2|3|4|5|6\n{}", "E|1|2|3|4|5\n{}", "E|a|2|3|4|5|6\n{}", "E|1|2|3|4|5|6{}"}) {
    EXPECT_FALSE(cluster::decode(bad).has_value()) << bad;
  }
}

// Records the seqs delivered to one conversation.
class Recorder final : public realtime::Subscriber {
 public:
  void deliver(Id, std::int64_t seq, const realtime::SharedFrame&, Id) override {
    seqs.push_back(seq);
  }
  void deliver_to_user(const realtime::SharedFrame& frame) override { to_user.push_back(*frame); }
  Id user() const override { return 1; }
  Id login_family() const override { return 0; }
  void disconnect(std::uint16_t, const char*) override {}
  std::vector<std::int64_t> seqs;
  std::vector<std::string> to_user;
};

TEST(HubTest, ToUserReachesEverySessionOfThatUserOnly) {
  metrics::Registry m;
  realtime::Hub hub(m);
  boost::asio::io_context io;
  hub.attach({&io});
  Recorder mine;  // user 1
  hub.add_session(0, &mine);
  hub.to_user(1, realtime::text_frame(R"({"type":"conversation.added"})"));
  hub.to_user(2, realtime::text_frame(R"({"type":"for someone else"})"));
  io.poll();
  ASSERT_EQ(mine.to_user.size(), 1u);
  EXPECT_NE(mine.to_user[0].find("conversation.added"), std::string::npos);
  EXPECT_TRUE(mine.seqs.empty());
}

class SequencerTest : public ::testing::Test {
 protected:
  SequencerTest() : hub_(metrics_), seq_(hub_, 100, metrics_) {
    hub_.attach({&io_});
    hub_.subscribe(0, kConv, &rec_);
  }
  void offer(std::int64_t seq, std::int64_t now = 0) {
    seq_.offer(kConv, seq, realtime::text_frame("{}"), now);
    io_.poll();
    io_.restart();
  }
  store::Message stored(std::int64_t seq) {
    store::Message m;
    m.id = 1000 + seq;
    m.conversation_id = kConv;
    m.seq = seq;
    m.sender_id = 1;
    m.client_id = "c" + std::to_string(seq);
    m.body = "b";
    return m;
  }
  void settle() {
    io_.poll();
    io_.restart();
  }

  static constexpr Id kConv = 77;
  metrics::Registry metrics_;
  boost::asio::io_context io_;
  realtime::Hub hub_;
  realtime::Sequencer seq_;
  Recorder rec_;
};

TEST_F(SequencerTest, PassesInOrderEventsAndDropsDuplicates) {
  offer(5);  // the first one seen sets the starting point
  offer(6);
  offer(6);
  offer(4);
  offer(7);
  EXPECT_EQ(rec_.seqs, (std::vector<std::int64_t>{5, 6, 7}));
}

TEST_F(SequencerTest, HoldsAnEventUntilTheMissingOneArrives) {
  offer(1);
  offer(3);
  offer(4);
  EXPECT_EQ(rec_.seqs, (std::vector<std::int64_t>{1}));
  offer(2);
  EXPECT_EQ(rec_.seqs, (std::vector<std::int64_t>{1, 2, 3, 4}));
}

TEST_F(SequencerTest, FillsAGapFromTheStoreAfterTheWait) {
  std::vector<std::pair<std::int64_t, int>> fetched;
  seq_.set_fill([](std::function<void()> fn) { fn(); },
                [&](Id conv, std::int64_t after, int limit) {
                  EXPECT_EQ(conv, kConv);
                  fetched.emplace_back(after, limit);
                  return std::vector<store::Message>{stored(2), stored(3), stored(4), stored(5)};
                });
  offer(1, 1000);
  offer(4, 1000);
  seq_.tick(1050);  // within the wait: nothing yet
  settle();
  EXPECT_TRUE(fetched.empty());
  seq_.tick(1100);
  settle();
  ASSERT_EQ(fetched.size(), 1U);
  EXPECT_EQ(fetched[0].first, 1);
  EXPECT_EQ(rec_.seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
  offer(5, 1200);  // its event arriving late is a duplicate now
  offer(6, 1200);
  EXPECT_EQ(rec_.seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6}));
}

TEST_F(SequencerTest, AFailedFillIsRetriedAndResyncCatchesUp) {
  bool store_up = false;
  seq_.set_fill([](std::function<void()> fn) { fn(); },
                [&](Id, std::int64_t after, int) {
                  if (!store_up) throw std::runtime_error("store down");
                  std::vector<store::Message> out;
                  for (std::int64_t s = after + 1; s <= 8; ++s) out.push_back(stored(s));
                  return out;
                });
  offer(1, 0);
  offer(3, 0);
  seq_.tick(200);
  settle();
  EXPECT_EQ(rec_.seqs, (std::vector<std::int64_t>{1}));
  store_up = true;
  seq_.tick(250);  // 50 ms after the failure: still waiting
  settle();
  EXPECT_EQ(rec_.seqs, (std::vector<std::int64_t>{1}));
  seq_.tick(400);
  settle();
  EXPECT_EQ(rec_.seqs, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
  // Events lost while the broker was away: resync reads past the last one.
  seq_.resync(500);
  settle();
  EXPECT_EQ(rec_.seqs.back(), 8);
}

}  // namespace
}  // namespace parley
