// ConnectionPool: SQLite connections to one database file, kept open
// between calls so that a call does not pay for opening the file and
// reading its schema again (with the local store's tables and triggers,
// that was several milliseconds, once per read page, lookup, write batch
// and journal acknowledgement).
//
// Acquire() hands out an idle connection, or opens a new one; the Lease
// gives it back when destroyed. A connection comes back to the pool only
// outside a transaction (a lease dropped with a transaction open, which a
// guard should already have rolled back, is closed instead). When the file
// at `path` is no longer the one the idle connections were opened on (it
// was replaced, or removed), they are closed and a new one is opened, so a
// replaced store is seen as such, as with a connection per call.
//
// Thread-safety: thread-safe; a leased connection belongs to the lease's
// thread until the lease ends. Ownership: the pool owns its idle
// connections; a lease must not outlive its pool.
#pragma once

#include <sys/types.h>

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "common/deadline.h"
#include "common/result.h"
#include "common/sqlite.h"

namespace crmsync::local {

class ConnectionPool {
 public:
  // `setup` runs once on every connection the pool opens.
  ConnectionPool(std::string path, std::function<Status(SqliteDb&)> setup);

  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    SqliteDb& db() { return db_; }

   private:
    friend class ConnectionPool;
    struct FileId {
      dev_t device = 0;
      ino_t inode = 0;
      bool operator==(const FileId&) const = default;
    };
    Lease(ConnectionPool* pool, SqliteDb db, FileId file) : pool_(pool), db_(std::move(db)), file_(file) {}
    ConnectionPool* pool_;
    SqliteDb db_;
    FileId file_;
  };

  // A connection whose busy timeout is what remains of `deadline` (at most
  // the default). kTimeout when the deadline has passed; the open's error
  // when the file cannot be opened.
  Result<Lease> Acquire(Deadline deadline);

 private:
  using FileId = Lease::FileId;
  struct Idle {
    SqliteDb db;
    FileId file;
  };
  void Release(SqliteDb db, FileId file);

  static constexpr std::size_t kMaxIdle = 4;  // the engine's thread and a few of the daemon's
  const std::string path_;
  const std::function<Status(SqliteDb&)> setup_;
  std::mutex mu_;
  std::vector<Idle> idle_;  // guarded by mu_
};

}  // namespace crmsync::local
