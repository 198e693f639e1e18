// Database: owns the store connections and the store writer thread.
//
// Writes go through one writer thread that takes every pending job at once
// and runs them in a single transaction (group commit): each job inside its
// own savepoint, so one failing job does not undo the others, and one fsync
// covers the batch. A job's completion runs only after COMMIT returned, so an
// acknowledgement always means "durable".
//
// Reads run on the calling thread with a pooled read-only connection inside
// a read transaction (a consistent snapshot).
//
// Threading: any thread except I/O workers (write() and read() block).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "core/error.hpp"
#include "store/migrations.hpp"
#include "store/store.hpp"

namespace parley::metrics {
class Registry;
class Gauge;
class Histogram;
class Counter;
}  // namespace parley::metrics

namespace parley::store {

struct DatabaseOptions {
  std::string postgres_url;     // set: PostgreSQL; empty: SQLite at sqlite_path
  std::string postgres_schema;  // search_path on PostgreSQL (tests); empty: the server's
  int connect_timeout_ms = 5000;
  int statement_timeout_ms = 30000;  // PostgreSQL
  std::string sqlite_path;
  std::string synchronous = "full";
  int busy_timeout_ms = 5000;
  int read_connections = 4;
  std::size_t max_batch = 512;
  std::size_t max_queue = 10000;
};

class Database {
 public:
  using Job = std::function<void(Store&)>;
  using Done = std::function<void(std::exception_ptr)>;

  Database(DatabaseOptions options, metrics::Registry& metrics);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Applies pending migrations on the writer connection (before start()).
  int migrate();
  std::int64_t schema_version();
  std::int64_t latest_schema_version() const;

  void start();
  // Refuses new writes, runs every queued one, joins the writer.
  void stop();

  // Queues job; done(nullptr) runs on the writer thread after the batch
  // commits, done(error) if the job threw or the commit failed. Throws
  // Error(unavailable) when stopped or when max_queue jobs are waiting.
  void submit(Job job, Done done);

  // A message to append, and where the writer puts its seq.
  struct Append {
    Message message;       // seq ignored
    std::int64_t seq = 0;  // set when the writer appended it with its neighbours
  };
  // Queues an append that the writer runs together with the appends queued
  // next to it, in one Store::append_messages call. When that sets
  // append->seq, `job` does not run; when it refuses the message (a retry,
  // not a member) or the batch is run again job by job, append->seq is 0 and
  // `job` runs in its place, as submit()'s job would. Same errors as submit.
  void submit_append(std::shared_ptr<Append> append, Job job, Done done);

  // Runs fn(Store&) as a group-committed write and returns its result once
  // durable; rethrows what fn threw or the commit error.
  template <class F>
  auto write(F fn) -> std::invoke_result_t<F&, Store&>;
  // Like write(fn), and runs after(result) on the writer thread once the
  // batch has committed, before the caller wakes: hooks see commit order.
  template <class F, class A>
  auto write(F fn, A after) -> std::invoke_result_t<F&, Store&>;

  // Runs fn(Store&) on a read connection inside a read transaction.
  template <class F>
  auto read(F fn) -> std::invoke_result_t<F&, Store&>;

  std::size_t queue_depth() const;
  bool postgres() const { return !options_.postgres_url.empty(); }

 private:
  struct Pending {
    Job job;
    Done done;
    std::shared_ptr<Append> append;  // set: may run in a run of appends
  };
  class ReadLease;

  void writer_loop();
  void run_batch(std::vector<Pending>& batch);
  // Runs the jobs in order, recording what each threw. With savepoints a
  // failed job's writes are rolled back; without, returns the index of the
  // first job that threw after writing (batch.size() when none did).
  std::size_t run_jobs(Store& s, std::vector<Pending>& batch,
                       std::vector<std::exception_ptr>& errors, bool savepoints);
  // Runs batch[i] on its own; false when it threw after writing (without
  // savepoints: the batch must be undone and run again).
  bool run_job(Store& s, Pending& p, std::exception_ptr& error, bool savepoints);
  // Appends batch[begin, end) with one Store::append_messages, then runs the
  // job of each append it refused; returns the index of a job that threw
  // after writing, or end.
  std::size_t run_appends(Store& s, std::vector<Pending>& batch, std::size_t begin, std::size_t end,
                          std::vector<std::exception_ptr>& errors);
  void finish_batch(std::vector<Pending>& batch, std::vector<std::exception_ptr>& errors,
                    std::chrono::steady_clock::time_point t0);
  std::unique_ptr<Store> open(bool read_only) const;
  const std::vector<Migration>& migrations() const;
  std::unique_ptr<Store> acquire_reader();
  void release_reader(std::unique_ptr<Store> s);

  DatabaseOptions options_;
  std::unique_ptr<Store> writer_;
  std::vector<Message*> append_in_;  // the writer's scratch for run_appends
  std::vector<std::int64_t> append_out_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  bool accepting_ = false;
  bool stopping_ = false;
  std::thread thread_;

  std::mutex readers_mu_;
  std::condition_variable readers_cv_;
  std::vector<std::unique_ptr<Store>> readers_;
  int readers_open_ = 0;

  metrics::Gauge& queue_gauge_;
  metrics::Histogram& commit_seconds_;
  metrics::Histogram& batch_size_;
  metrics::Counter& commits_;
  metrics::Counter& batch_retries_;
  metrics::Counter& commit_errors_;
  metrics::Counter& rejected_;
};

template <class F, class A>
auto Database::write(F fn, A after) -> std::invoke_result_t<F&, Store&> {
  using R = std::invoke_result_t<F&, Store&>;
  std::promise<void> promise;
  auto future = promise.get_future();
  std::optional<R> result;
  submit([&](Store& s) { result.emplace(fn(s)); },
         [&](std::exception_ptr e) {
           if (!e) {
             try {
               after(*result);
             } catch (...) {
               // A hook failing must not turn a committed write into an error.
             }
           }
           e ? promise.set_exception(e) : promise.set_value();
         });
  future.get();
  return std::move(*result);
}

template <class F>
auto Database::write(F fn) -> std::invoke_result_t<F&, Store&> {
  using R = std::invoke_result_t<F&, Store&>;
  std::promise<void> promise;
  auto future = promise.get_future();
  if constexpr (std::is_void_v<R>) {
    submit([&](Store& s) { fn(s); },
           [&](std::exception_ptr e) { e ? promise.set_exception(e) : promise.set_value(); });
    future.get();
  } else {
    std::optional<R> result;
    submit([&](Store& s) { result.emplace(fn(s)); },
           [&](std::exception_ptr e) { e ? promise.set_exception(e) : promise.set_value(); });
    future.get();
    return std::move(*result);
  }
}

class Database::ReadLease {
 public:
  explicit ReadLease(Database& db) : db_(db), store_(db.acquire_reader()) {}
  ~ReadLease() { db_.release_reader(std::move(store_)); }
  Store& operator*() { return *store_; }
  Store* operator->() { return store_.get(); }

 private:
  Database& db_;
  std::unique_ptr<Store> store_;
};

template <class F>
auto Database::read(F fn) -> std::invoke_result_t<F&, Store&> {
  ReadLease lease(*this);
  lease->begin(false);
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, Store&>>) {
      fn(*lease);
      lease->commit();
    } else {
      auto r = fn(*lease);
      lease->commit();
      return r;
    }
  } catch (...) {
    try {
      lease->rollback();
    } catch (...) {
    }
    throw;
  }
}

}  // namespace parley::store
