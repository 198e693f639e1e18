// Store tests run on every engine: a fresh SQLite file, and a fresh schema in
// the PostgreSQL server named by PARLEY_TEST_POSTGRES_URL (scripts/services.sh
// starts one; scripts/test.sh exports it). Without that variable the
// PostgreSQL cases are skipped, unless PARLEY_REQUIRE_POSTGRES is set, when
// they fail: the project's test command sets it so they cannot silently vanish.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "../test_util.hpp"
#include "store/database.hpp"
#include "store/postgres/pg_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace parley::store::testing {

inline std::string postgres_test_url() {
  const char* url = std::getenv("PARLEY_TEST_POSTGRES_URL");
  return url ? url : "";
}

inline const auto kEngines = ::testing::Values(std::string("sqlite"), std::string("postgres"));

inline std::string engine_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

// One test database. On PostgreSQL a schema of its own, dropped at the end,
// so tests may run in parallel against one server.
class TestEngine {
 public:
  explicit TestEngine(std::string engine) : engine_(std::move(engine)) {
    if (engine_ != "postgres") return;
    static std::atomic<int> counter{0};
    std::random_device rd;
    schema_ = "t" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
              std::to_string(rd() % 1000000);
    if (available()) admin().exec_script("CREATE SCHEMA " + schema_);
  }
  ~TestEngine() {
    if (postgres() && available()) {
      try {
        admin().exec_script("DROP SCHEMA " + schema_ + " CASCADE");
      } catch (...) {
      }
    }
  }
  TestEngine(const TestEngine&) = delete;
  TestEngine& operator=(const TestEngine&) = delete;

  bool postgres() const { return engine_ == "postgres"; }
  bool available() const { return !postgres() || !postgres_test_url().empty(); }
  // For SetUp: true when the test should stop here (skipped or failed).
  bool unavailable_stop() const {
    if (available()) return false;
    if (std::getenv("PARLEY_REQUIRE_POSTGRES")) {
      ADD_FAILURE() << "PARLEY_REQUIRE_POSTGRES is set but PARLEY_TEST_POSTGRES_URL is not";
    }
    return true;
  }

  DatabaseOptions options() const {
    DatabaseOptions o;
    if (postgres()) {
      o.postgres_url = postgres_test_url();
      o.postgres_schema = schema_;
    } else {
      o.sqlite_path = dir_.file("db/parley.db");
    }
    return o;
  }

  std::unique_ptr<Store> open() const {
    if (postgres()) {
      PostgresOptions o;
      o.url = postgres_test_url();
      o.schema = schema_;
      return std::make_unique<PgStore>(o);
    }
    return std::make_unique<SqliteStore>(SqliteOptions{dir_.file("db/parley.db")});
  }

  const std::vector<Migration>& migrations() const {
    return postgres() ? postgres_migrations() : sqlite_migrations();
  }

 private:
  PgStore& admin() {
    if (!admin_) {
      PostgresOptions o;
      o.url = postgres_test_url();
      admin_ = std::make_unique<PgStore>(o);
    }
    return *admin_;
  }

  std::string engine_;
  std::string schema_;
  parley::testing::TempDir dir_;
  std::unique_ptr<PgStore> admin_;
};

}  // namespace parley::store::testing
