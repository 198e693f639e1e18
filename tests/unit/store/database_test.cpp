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
  std::vector<std::exception_ptr> run_as_one_batch(
      const std::vector<Database::Job>& jobs,
      const std::vector<std::shared_ptr<Database::Append>>& appends = {}) {
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
      auto append = i < appends.size() ? appends[i] : nullptr;
      db_->submit_append(append, jobs[i], [&, i](std::exception_ptr e) {
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

// An append as ChatService queues one: `job` is its step-by-step path, which
// counts its runs and appends unless the client_id was used.
struct Send {
  std::shared_ptr<Database::Append> append = std::make_shared<Database::Append>();
  std::shared_ptr<std::atomic<int>> job_runs = std::make_shared<std::atomic<int>>(0);
  Database::Job job;

  Send(Id id, const std::string& client_id, bool throw_after_writing = false) {
    append->message.id = id;
    append->message.conversation_id = 10;
    append->message.sender_id = 1;
    append->message.client_id = client_id;
    append->message.body = "b";
    job = [a = append, runs = job_runs, throw_after_writing](Store& s) {
      ++*runs;
      Message m = a->message;
      if (throw_after_writing) {
        // Writes under another client_id, then fails: its writes must go.
        m.client_id += "-partial";
        m.seq = s.next_seq(10, 1);
        s.insert_message(m);
        throw std::runtime_error("fails after writing");
      }
      if (s.message_by_client_id(1, m.client_id)) return;  // a retry
      m.seq = s.next_seq(10, 1);
      s.insert_message(m);
    };
  }
};

void join_conversation(Database& db) {
  db.write([](Store& s) {
    Member m;
    m.conversation_id = 10;
    m.user_id = 1;
    m.role = "owner";
    s.insert_member(m);
  });
}

TEST_P(DatabaseTest, AppendsQueuedTogetherGoInOneRunAndOnlyTheRefusedRunTheirJob) {
  join_conversation(*db_);
  db_->write([](Store& s) { append(s, 300, "used"); });  // seq 1
  std::vector<Send> sends = {{301, "a"}, {302, "used"}, {303, "b"}, {304, "a"}, {305, "c"}};
  std::vector<Database::Job> jobs;
  std::vector<std::shared_ptr<Database::Append>> appends;
  for (auto& x : sends) {
    jobs.push_back(x.job);
    appends.push_back(x.append);
  }
  auto results = run_as_one_batch(jobs, appends);
  for (auto& r : results) EXPECT_FALSE(r);
  std::vector<std::int64_t> seqs, runs;
  for (auto& x : sends) {
    seqs.push_back(x.append->seq);
    runs.push_back(*x.job_runs);
  }
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{2, 0, 3, 0, 4}));  // 0: refused, the job ran
  EXPECT_EQ(runs, (std::vector<std::int64_t>{0, 1, 0, 1, 0}));
  auto all = db_->read([](Store& s) { return s.messages_after(10, 0, 100); });
  ASSERT_EQ(all.size(), 4U);
  EXPECT_EQ(all[3].id, 305);
  EXPECT_EQ(db_->read([](Store& s) { return s.member(10, 1)->last_read_seq; }), 4);
  EXPECT_EQ(metrics_.counter("parley_store_batch_retries_total", "").value(), 0U);
}

TEST_P(DatabaseTest, AppendsAndOtherJobsKeepTheirQueueOrder) {
  join_conversation(*db_);
  Send first(401, "first"), last(403, "last");
  auto results = run_as_one_batch(
      {first.job, [](Store& s) { append(s, 402, "between"); }, last.job},
      {first.append, nullptr, last.append});
  for (auto& r : results) EXPECT_FALSE(r);
  auto all = db_->read([](Store& s) { return s.messages_after(10, 0, 100); });
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].client_id, "first");
  EXPECT_EQ(all[1].client_id, "between");
  EXPECT_EQ(all[2].client_id, "last");
}

TEST_P(DatabaseTest, ARefusedAppendFailingAfterWritingRerunsTheBatchJobByJob) {
  join_conversation(*db_);
  // 503's client_id is refused because 502 uses it first in the run; 503's
  // job then writes (its own step-by-step path) and throws.
  Send a(501, "x"), b(502, "dup"), c(503, "dup", true), d(504, "y");
  auto results = run_as_one_batch({a.job, b.job, c.job, d.job},
                                  {a.append, b.append, c.append, d.append});
  EXPECT_FALSE(results[0]);
  EXPECT_FALSE(results[1]);
  EXPECT_TRUE(results[2]);
  EXPECT_FALSE(results[3]);
  EXPECT_EQ(metrics_.counter("parley_store_batch_retries_total", "").value(), 1U);
  // In the second run every append took its job, in queue order.
  EXPECT_EQ(a.append->seq, 0);
  EXPECT_EQ(*a.job_runs, 1);
  auto all = db_->read([](Store& s) { return s.messages_after(10, 0, 100); });
  ASSERT_EQ(all.size(), 3U);
  EXPECT_EQ(all[0].id, 501);
  EXPECT_EQ(all[1].id, 502);
  EXPECT_EQ(all[2].id, 504);
  EXPECT_EQ(all[2].seq, 3);
}

TEST_P(DatabaseTest, ALoneAppendFailingAfterWritingReportsItsError) {
  join_conversation(*db_);
  Send first(601, "first");
  ASSERT_FALSE(run_as_one_batch({first.job}, {first.append})[0]);
  // Same id, new client_id: the seq is bumped, then the insert fails.
  Send again(601, "again");
  auto results = run_as_one_batch({again.job}, {again.append});
  EXPECT_TRUE(results[0]);
  EXPECT_EQ(again.append->seq, 0);
  Send next(602, "next");
  ASSERT_FALSE(run_as_one_batch({next.job}, {next.append})[0]);
  EXPECT_EQ(next.append->seq, 2);  // the failed one's seq was undone: no gap
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
