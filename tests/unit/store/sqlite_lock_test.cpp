#include "store/sqlite/sqlite_lock.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "../test_util.hpp"
#include "core/error.hpp"

namespace parley::store {
namespace {

TEST(SqliteLock, ASecondHolderIsRefusedWithTheFirstOnesPid) {
  parley::testing::TempDir dir;
  std::string db = dir.file("nested/parley.db");
  std::optional<SqliteLock> first;
  first.emplace(db);  // creates the directory
  EXPECT_EQ(first->path(), db + ".lock");
  try {
    SqliteLock second(db);  // another open file description: flock conflicts
    FAIL() << "a second lock was granted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), Errc::conflict);
    EXPECT_NE(std::string(e.what()).find("pid " + std::to_string(getpid())), std::string::npos)
        << e.what();
  }
  first.reset();
  EXPECT_NO_THROW(SqliteLock again(db));  // released with the descriptor
}

TEST(SqliteLock, LocksOnDifferentDatabasesAreIndependent) {
  parley::testing::TempDir dir;
  SqliteLock a(dir.file("a.db"));
  EXPECT_NO_THROW(SqliteLock b(dir.file("b.db")));
}

}  // namespace
}  // namespace parley::store
