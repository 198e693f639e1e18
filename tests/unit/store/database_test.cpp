#include "store/database.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/metrics.hpp"
#include "engines.hpp"

namespace parley::store {
namespace {

class DatabaseTest : public ::testing::TestWithParam<std::string> {
 protected:
  DatabaseTest() : engine_(GetParam()) {}

  void SetUp() override {
    if (engine_.unavailable_stop()) GTEST_SKIP() << "no PostgreSQL (PARLEY_TEST_POSTGRES_URL)";
    DatabaseOptions o = engine_.options();
    o.max_queue = 100000;
    db_ = std::make_unique<Database>(o, metrics_);
    db_->migrate();
    db_->start();
    db_->write([](Store& s) {
      User u;
      u.id = 1;
      u.username = "alice";
      u.display_name = "Alice";
      u.role = "user";
      u.password_hash = "h";
      s.insert_user(u);
      Conversation c;
      c.id = 10;
      c.kind = "group";
      c.title = "t";
      c.created_by = 1;
      s.insert_conversation(c);
    });
  }

  void TearDown() override {
    if (db_) db_->stop();
  }

  static Message message(Id id, const std::string& client_id) {
    Message m;
    m.id = id;
    m.conversation_id = 10;
    m.sender_id = 1;
    m.client_id = client_id;
    m.body = "b";
    return m;
  }

  // Appends a message with the next seq to conversation 10, as a send does.
  static void append(Store& s, Id id, const std::string& client_id) {
    Message m = message(id, client_id);
    m.seq = s.next_seq(10, 1);
    s.insert_message(m);
  }

  // Queues the jobs while the writer is held busy, so they share one batch,
  // and returns what each completion reported.
  std::vector<std::exception_ptr> run_as_one_batch(const std::vector<Database::Job>& jobs) {
    std::promise<void> release;
    auto hold = release.get_future().share();
    std::promise<void> holding;
    db_->submit(
        [&](Store&) {
          holding.set_value();
          hold.wait();
        },
        [](std::exception_ptr) {});
    holding.get_future().wait();
    std::vector<std::exception_ptr> results(jobs.size());
    std::atomic<std::size_t> done{0};
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      db_->submit(jobs[i], [&, i](std::exception_ptr e) {
        results[i] = e;
        ++done;
      });
    }
    release.set_value();
    while (done < jobs.size()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return results;
  }

  testing::TestEngine engine_;
  metrics::Registry metrics_;
  std::unique_ptr<Database> db_;
};

TEST_P(DatabaseTest, ConcurrentWritesAreGroupCommittedWithGaplessSeqs) {
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  std::atomic<int> next_id{100};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        db_->write(
            [&](Store& s) { append(s, next_id++, std::to_string(t) + "-" + std::to_string(i)); });
      }
    });
  }
  for (auto& th : threads) th.join();
  auto all = db_->read([](Store& s) { return s.messages_after(10, 0, 100000); });
  ASSERT_EQ(all.size(), static_cast<std::size_t>(kThreads * kPerThread));
  for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i].seq, static_cast<int>(i) + 1);
  // Fewer transactions than writes: batches formed.
  auto commits = metrics_.counter("parley_store_commits_total", "").value();
  EXPECT_LT(commits, static_cast<std::uint64_t>(kThreads * kPerThread + 2));
}

TEST_P(DatabaseTest, AFailingJobDoesNotUndoItsBatchNeighbours) {
  std::vector<Database::Job> jobs;
  for (int i = 0; i < 3; ++i) {
    jobs.emplace_back([i](Store& s) {
      append(s, 200 + i, "job" + std::to_string(i));
      if (i == 1) throw std::runtime_error("job 1 fails after writing");
    });
  }
  auto results = run_as_one_batch(jobs);
  EXPECT_FALSE(results[0]);
  EXPECT_TRUE(results[1]);
  EXPECT_FALSE(results[2]);
  auto all = db_->read([](Store& s) { return s.messages_after(10, 0, 100); });
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[0].client_id, "job0");
  EXPECT_EQ(all[1].client_id, "job2");
  EXPECT_EQ(all[1].seq, 2);  // the failed job's seq was rolled back too: no gap
  // It had written before it threw: the batch ran again with savepoints.
  EXPECT_EQ(metrics_.counter("parley_store_batch_retries_total", "").value(), 1U);
}

TEST_P(DatabaseTest, AJobWhoseStatementFailsDoesNotUndoItsBatchNeighbours) {
  // A unique violation as the job's first statement: SQLite undoes that one
  // statement, PostgreSQL fails the whole transaction; either way the
  // neighbours must commit.
  db_->write([](Store& s) { append(s, 500, "first"); });
  std::vector<Database::Job> jobs;
  for (int i = 0; i < 3; ++i) {
    jobs.emplace_back([i](Store& s) {
      if (i == 1) {
        User u;
        u.id = 2;
        u.username = "alice";  // taken
        u.display_name = u.role = "user";
        u.password_hash = "h";
        s.insert_user(u);
        return;
      }
      append(s, 510 + i, "dup" + std::to_string(i));
    });
  }
  auto results = run_as_one_batch(jobs);
  EXPECT_FALSE(results[0]);
  ASSERT_TRUE(results[1]);
  try {
    std::rethrow_exception(results[1]);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::conflict);
  }
  EXPECT_FALSE(results[2]);
  auto all = db_->read([](Store& s) { return s.messages_after(10, 0, 100); });
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[1].client_id, "dup0");
  EXPECT_EQ(all[2].client_id, "dup2");
  EXPECT_EQ(all[2].seq, 3);  // no gap where the failed job took a seq
}

TEST_P(DatabaseTest, AJobFailingBeforeItWritesNeedsNoRetry) {
  std::atomic<int> runs{0};
  std::vector<Database::Job> jobs;
  for (int i = 0; i < 3; ++i) {
    jobs.emplace_back([i, &runs](Store& s) {
      ++runs;
      if (i == 1) throw Error(Errc::forbidden, "validation fails before any write");
      append(s, 300 + i, "early" + std::to_string(i));
    });
  }
  auto results = run_as_one_batch(jobs);
  EXPECT_FALSE(results[0]);
  EXPECT_TRUE(results[1]);
  EXPECT_FALSE(results[2]);
  EXPECT_EQ(runs.load(), 3);  // each job ran once
  EXPECT_EQ(metrics_.counter("parley_store_batch_retries_total", "").value(), 0U);
  auto all = db_->read([](Store& s) { return s.messages_after(10, 0, 100); });
  ASSERT_EQ(all.size(), 2U);
  EXPECT_EQ(all[1].seq, 2);
}

TEST_P(DatabaseTest, ALoneJobFailingAfterWritingLeavesNothing) {
  EXPECT_THROW(db_->write([](Store& s) {
    append(s, 400, "lone");
    throw Error(Errc::conflict, "fails after writing");
  }),
               Error);
  auto all = db_->read([](Store& s) { return s.messages_after(10, 0, 100); });
  EXPECT_TRUE(all.empty());
  EXPECT_EQ(db_->read([](Store& s) { return s.conversation(10)->last_seq; }), 0);
}

TEST_P(DatabaseTest, WriteRethrowsTheJobsError) {
  EXPECT_THROW(db_->write([](Store&) -> int { throw Error(Errc::conflict, "x"); }), Error);
  EXPECT_EQ(db_->write([](Store& s) { return s.count_users(); }), 1);
}

TEST_P(DatabaseTest, StopDrainsQueuedWritesThenRefusesNewOnes) {
  std::atomic<int> completed{0};
  for (int i = 0; i < 50; ++i) {
    db_->submit([i](Store& s) { append(s, 300 + i, "s" + std::to_string(i)); },
                [&](std::exception_ptr e) {
                  if (!e) ++completed;
                });
  }
  db_->stop();
  EXPECT_EQ(completed.load(), 50);
  EXPECT_THROW(db_->submit([](Store&) {}, [](std::exception_ptr) {}), Error);
  auto check = engine_.open();
  EXPECT_EQ(check->messages_after(10, 0, 100).size(), 50U);
}

INSTANTIATE_TEST_SUITE_P(Engines, DatabaseTest, testing::kEngines, testing::engine_name);

TEST(DatabaseQueue, RefusesWhenTheQueueIsFull) {
  parley::testing::TempDir dir;
  metrics::Registry m;
  DatabaseOptions o;
  o.sqlite_path = dir.file("q.db");
  o.max_queue = 2;
  Database db(o, m);
  db.migrate();
  // Not started: nothing drains, so the queue fills... but a stopped store
  // refuses outright; start it and block the writer instead.
  db.start();
  std::promise<void> release;
  auto hold = release.get_future().share();
  std::promise<void> holding;
  db.submit(
      [&](Store&) {
        holding.set_value();
        hold.wait();
      },
      [](std::exception_ptr) {});
  holding.get_future().wait();
  db.submit([](Store&) {}, [](std::exception_ptr) {});
  db.submit([](Store&) {}, [](std::exception_ptr) {});
  try {
    db.submit([](Store&) {}, [](std::exception_ptr) {});
    ADD_FAILURE() << "third queued write accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::unavailable);
  }
  release.set_value();
  db.stop();
  EXPECT_EQ(m.counter("parley_store_rejected_total", "").value(), 1U);
}

}  // namespace
}  // namespace parley::store
