#include "auth/password.hpp"

#include <gtest/gtest.h>

namespace parley::auth {
namespace {

TEST(Password, HashesWithArgon2idAtLeast19MiBAndTwoPasses) {
  PasswordHasher h(19456, 2);
  std::string stored = h.hash("correct horse battery");
  EXPECT_EQ(stored.rfind("$argon2id$v=19$m=19456,t=2,", 0), 0U) << stored;
  EXPECT_TRUE(h.verify(stored, "correct horse battery"));
  EXPECT_FALSE(h.verify(stored, "correct horse batterY"));
  EXPECT_FALSE(h.verify("not a hash", "x"));
}

TEST(Password, SaltsEachHash) {
  PasswordHasher h(19456, 2);
  EXPECT_NE(h.hash("same"), h.hash("same"));
}

TEST(Password, RefusesWeakParameters) {
  EXPECT_THROW(PasswordHasher(1024, 2), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(19456, 1), std::invalid_argument);
}

TEST(Password, FlagsHashesBelowCurrentParametersForRehash) {
  PasswordHasher old_params(19456, 2);
  PasswordHasher new_params(19456, 3);
  auto stored = old_params.hash("pw");
  EXPECT_FALSE(old_params.needs_rehash(stored));
  EXPECT_TRUE(new_params.needs_rehash(stored));
}

}  // namespace
}  // namespace parley::auth
