// Online backups of the embedded SQLite database: a consistent copy taken
// while the server runs, verified before it counts, and kept for a number of
// rotations. (PostgreSQL is backed up with its own tools: pg_dump, or base
// backups with WAL archiving; see README "Backups".)
#pragma once

#include <cstdint>
#include <string>

namespace parley::store {

struct BackupReport {
  std::string path;
  std::uint64_t bytes = 0;
  std::int64_t schema_version = 0;
  std::int64_t messages = 0;
  double seconds = 0;  // to copy and verify
};

// Copies the database at `from` to `to` (which must not exist yet) with
// VACUUM INTO: one read transaction, so the copy is the database as of one
// commit while readers and the writer carry on. The copy is then verified;
// on any failure it is removed and Error is thrown.
BackupReport backup_sqlite(const std::string& from, const std::string& to);

// Opens a backup read-only and checks it: PRAGMA integrity_check must answer
// ok and the schema must be Parley's. Throws Error otherwise.
BackupReport verify_sqlite_backup(const std::string& path);

// Scheduled backups: writes `dir`/parley-<UTC time>.db and then removes the
// oldest of that pattern beyond `keep`. Returns the new backup's report.
BackupReport rotate_sqlite_backup(const std::string& from, const std::string& dir, int keep);

struct RestoreReport {
  BackupReport backup;   // the copy that was put in place
  std::string database;  // where it now is
  std::string previous;  // where the database it replaced was moved ("" if none)
};

// Puts a verified backup in place of the database at `db_path`; the caller
// holds the database's SqliteLock, so no server has it open. Refuses, touching
// nothing, a copy that fails verification or whose schema is newer than
// `latest_schema_version`. The replaced database (with its -wal and -shm) is
// moved aside to "<db_path>.before-restore-<UTC time>", never deleted; the
// copy is written under a temporary name, fsynced and renamed into place.
RestoreReport restore_sqlite(const std::string& from, const std::string& db_path,
                             std::int64_t latest_schema_version);

}  // namespace parley::store
