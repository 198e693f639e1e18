#include "store/database.hpp"

#include <chrono>

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "store/migrations.hpp"
#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace parley::store {

Database::Database(DatabaseOptions options, metrics::Registry& m)
    : options_(std::move(options)),
      queue_gauge_(m.gauge("parley_store_queue_depth", "Writes waiting for the store writer")),
      commit_seconds_(m.histogram("parley_store_commit_seconds",
                                  "Time to run and commit one group-commit batch")),
      batch_size_(m.histogram("parley_store_batch_size", "Writes per committed batch", {},
                              {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024})),
      commits_(m.counter("parley_store_commits_total", "Group-commit transactions committed")),
      batch_retries_(m.counter("parley_store_batch_retries_total",
                               "Batches run again with a savepoint per job because a job "
                               "failed after writing")),
      commit_errors_(m.counter("parley_store_commit_errors_total",
                               "Group-commit transactions that failed as a whole")),
      rejected_(m.counter("parley_store_rejected_total",
                          "Writes refused because the queue was full or the store stopping")) {
  writer_ = open(false);
}

Database::~Database() { stop(); }

std::unique_ptr<Store> Database::open(bool read_only) const {
  if (postgres()) {
    PostgresOptions o;
    o.url = options_.postgres_url;
    o.schema = options_.postgres_schema;
    o.synchronous_commit = options_.synchronous != "normal";
    o.connect_timeout_ms = options_.connect_timeout_ms;
    o.statement_timeout_ms = options_.statement_timeout_ms;
    o.read_only = read_only;
    return std::make_unique<PgStore>(o);
  }
  SqliteOptions o;
  o.path = options_.sqlite_path;
  o.synchronous = options_.synchronous;
  o.busy_timeout_ms = options_.busy_timeout_ms;
  o.read_only = read_only;
  o.background_checkpoint = !read_only;  // only the writer's connection writes
  return std::make_unique<SqliteStore>(o);
}

const std::vector<Migration>& Database::migrations() const {
  return postgres() ? postgres_migrations() : sqlite_migrations();
}

int Database::migrate() { return apply_migrations(*writer_, migrations()); }

std::int64_t Database::schema_version() {
  return read([](Store& s) { return s.schema_version(); });
}

std::int64_t Database::latest_schema_version() const { return latest_version(migrations()); }

void Database::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  accepting_ = true;
  stopping_ = false;
  thread_ = std::thread([this] { writer_loop(); });
}

void Database::stop() {
  {
    std::lock_guard lock(mu_);
    accepting_ = false;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::size_t Database::queue_depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void Database::submit(Job job, Done done) { submit_append(nullptr, std::move(job), std::move(done)); }

void Database::submit_append(std::shared_ptr<Append> append, Job job, Done done) {
  {
    std::lock_guard lock(mu_);
    if (!accepting_) {
      rejected_.inc();
      fail(Errc::unavailable, "the store is shutting down");
    }
    if (queue_.size() >= options_.max_queue) {
      rejected_.inc();
      fail(Errc::unavailable, "the store is overloaded; try again");
    }
    queue_.push_back({std::move(job), std::move(done), std::move(append)});
    queue_gauge_.set(static_cast<double>(queue_.size()));
  }
  cv_.notify_one();
}

void Database::writer_loop() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queue_gauge_.set(static_cast<double>(queue_.size()));
    }
    run_batch(batch);
    batch.clear();
  }
}

void Database::run_batch(std::vector<Pending>& batch) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::exception_ptr> errors(batch.size());
  Store& s = *writer_;
  try {
    s.begin(true);
    // Fast path: the jobs run back to back with no savepoints (a savepoint
    // per job costs about a fifth of the writer's time: SQLite copies each
    // page a job first touches into a sub-journal). A job that throws before
    // it wrote anything leaves nothing to undo and the batch goes on.
    std::size_t partial = run_jobs(s, batch, errors, false);
    if (partial < batch.size()) {
      // Job `partial` threw after writing: undo the whole transaction and run
      // the batch again with a savepoint per job, so only that job's writes
      // go. Jobs are re-runnable (they depend only on their captures and the
      // store), so the second run reproduces the first.
      s.rollback();
      batch_retries_.inc();
      if (batch.size() > 1) {
        std::fill(errors.begin(), errors.end(), nullptr);
        s.begin(true);
        run_jobs(s, batch, errors, true);
      }
    }
    if (batch.size() == 1 && errors[0]) {
      s.rollback();  // a lone failed job: nothing to commit (no-op if already rolled back)
    } else {
      s.commit();
      commits_.inc();
    }
  } catch (...) {
    // BEGIN, a savepoint or COMMIT failed: nothing of this batch is durable.
    auto e = std::current_exception();
    try {
      s.rollback();
    } catch (...) {
    }
    commit_errors_.inc();
    for (auto& err : errors) {
      if (!err) err = e;
    }
  }
  finish_batch(batch, errors, t0);
}

std::size_t Database::run_jobs(Store& s, std::vector<Pending>& batch,
                               std::vector<std::exception_ptr>& errors, bool savepoints) {
  for (std::size_t i = 0; i < batch.size();) {
    if (!savepoints && batch[i].append) {
      std::size_t end = i + 1;
      while (end < batch.size() && batch[end].append) ++end;
      std::size_t partial = run_appends(s, batch, i, end, errors);
      if (partial < end) return partial;
      i = end;
      continue;
    }
    if (batch[i].append) batch[i].append->seq = 0;
    if (!run_job(s, batch[i], errors[i], savepoints)) return i;
    ++i;
  }
  return batch.size();
}

bool Database::run_job(Store& s, Pending& p, std::exception_ptr& error, bool savepoints) {
  if (savepoints) s.savepoint();
  auto changes = savepoints ? 0 : s.total_changes();
  try {
    p.job(s);
    if (savepoints) s.release();
  } catch (...) {
    error = std::current_exception();
    // The engine ended the transaction itself: the whole batch is gone.
    if (!s.in_transaction()) throw;
    if (savepoints) {
      s.rollback_to();
      s.release();
    } else if (s.total_changes() != changes) {
      return false;
    }
  }
  return true;
}

std::size_t Database::run_appends(Store& s, std::vector<Pending>& batch, std::size_t begin,
                                  std::size_t end, std::vector<std::exception_ptr>& errors) {
  append_in_.clear();
  for (std::size_t i = begin; i < end; ++i) {
    batch[i].append->seq = 0;
    append_in_.push_back(&batch[i].append->message);
  }
  append_out_.assign(append_in_.size(), 0);
  auto changes = s.total_changes();
  try {
    s.append_messages(append_in_, append_out_);
    for (std::size_t i = begin; i < end; ++i) batch[i].append->seq = append_out_[i - begin];
  } catch (...) {
    if (!s.in_transaction()) throw;
    if (s.total_changes() != changes) {
      // Undo, then job by job. The error stands for a lone send, whose job
      // would do just what failed (a batch of one is not run again).
      errors[begin] = std::current_exception();
      return begin;
    }
    // Nothing written: each append takes its own path below.
  }
  for (std::size_t i = begin; i < end; ++i) {
    if (batch[i].append->seq) continue;
    if (!run_job(s, batch[i], errors[i], false)) return i;
  }
  return end;
}

void Database::finish_batch(std::vector<Pending>& batch, std::vector<std::exception_ptr>& errors,
                            std::chrono::steady_clock::time_point t0) {
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  commit_seconds_.observe(seconds);
  batch_size_.observe(static_cast<double>(batch.size()));
  for (std::size_t i = 0; i < batch.size(); ++i) {
    try {
      batch[i].done(errors[i]);
    } catch (const std::exception& e) {
      log::error("store_completion_failed", {{"error", e.what()}});
    }
  }
}

std::unique_ptr<Store> Database::acquire_reader() {
  std::unique_lock lock(readers_mu_);
  for (;;) {
    if (!readers_.empty()) {
      auto s = std::move(readers_.back());
      readers_.pop_back();
      return s;
    }
    if (readers_open_ < options_.read_connections) {
      ++readers_open_;
      lock.unlock();
      try {
        return open(true);
      } catch (...) {
        lock.lock();
        --readers_open_;
        throw;
      }
    }
    readers_cv_.wait(lock);
  }
}

void Database::release_reader(std::unique_ptr<Store> s) {
  {
    std::lock_guard lock(readers_mu_);
    readers_.push_back(std::move(s));
  }
  readers_cv_.notify_one();
}

}  // namespace parley::store
