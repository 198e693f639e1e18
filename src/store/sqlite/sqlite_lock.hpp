// One process at a time per embedded database. `parley serve`, `migrate` and
// `restore` hold an exclusive flock(2) on "<database>.lock" for as long as
// they run; a second one is refused with the holder's pid instead of two
// servers handing out seqs from one file, or a restore pulling the file out
// from under a running server. The kernel drops the lock when the process
// ends however it ends (kill -9 included), so no stale lock needs cleaning.
#pragma once

#include <string>

namespace parley::store {

class SqliteLock {
 public:
  // Creates the database's directory if needed and takes the lock; throws
  // Error (conflict) naming the holder's pid when another process has it.
  explicit SqliteLock(const std::string& database_path);
  ~SqliteLock();
  SqliteLock(const SqliteLock&) = delete;
  SqliteLock& operator=(const SqliteLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace parley::store
