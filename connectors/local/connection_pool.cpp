#include "connectors/local/connection_pool.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <optional>

namespace crmsync::local {

namespace {

constexpr std::chrono::milliseconds kDefaultBusyTimeout = SqliteOpenOptions{}.busy_timeout;

}  // namespace

ConnectionPool::ConnectionPool(std::string path, std::function<Status(SqliteDb&)> setup)
    : path_(std::move(path)), setup_(std::move(setup)) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), db_(std::move(other.db_)), file_(other.file_) {}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr) pool_->Release(std::move(db_), file_);
}

Result<ConnectionPool::Lease> ConnectionPool::Acquire(Deadline deadline) {
  if (deadline.Expired()) return Status(StatusCode::kTimeout, "deadline passed before opening the local store");
  const auto busy_timeout = std::min<std::chrono::milliseconds>(kDefaultBusyTimeout, deadline.Remaining());
  struct stat st {};
  const bool exists = ::stat(path_.c_str(), &st) == 0;
  const FileId file{exists ? st.st_dev : 0, exists ? st.st_ino : 0};
  std::optional<SqliteDb> reused;
  std::vector<Idle> stale;  // connections to a file no longer at `path`: closed below, outside the lock
  {
    std::lock_guard lock(mu_);
    for (auto& i : idle_) {
      if (!exists || !(i.file == file)) stale.push_back(std::move(i));
    }
    std::erase_if(idle_, [](const Idle& i) { return i.db.handle() == nullptr; });
    if (!idle_.empty()) {
      reused.emplace(std::move(idle_.back().db));
      idle_.pop_back();
    }
  }
  stale.clear();
  if (reused) {
    sqlite3_busy_timeout(reused->handle(), static_cast<int>(busy_timeout.count()));
    return Lease(this, std::move(*reused), file);
  }
  SqliteOpenOptions options;
  options.create = false;
  options.busy_timeout = busy_timeout;
  CRMSYNC_ASSIGN_OR_RETURN(SqliteDb db, SqliteDb::Open(path_, options));
  if (setup_) CRMSYNC_RETURN_IF_ERROR(setup_(db));
  // The file as opened: stat it again, in case it was replaced between the stat above and the open.
  struct stat opened {};
  const FileId opened_file = ::stat(path_.c_str(), &opened) == 0 ? FileId{opened.st_dev, opened.st_ino} : FileId{};
  return Lease(this, std::move(db), opened_file);
}

void ConnectionPool::Release(SqliteDb db, FileId file) {
  if (db.handle() == nullptr) return;
  // A connection inside a transaction (a guard that could not roll back) is not handed out again.
  if (sqlite3_get_autocommit(db.handle()) == 0) return;
  sqlite3_busy_timeout(db.handle(), static_cast<int>(kDefaultBusyTimeout.count()));
  std::lock_guard lock(mu_);
  if (idle_.size() >= kMaxIdle) return;
  idle_.push_back(Idle{std::move(db), file});
}

}  // namespace crmsync::local
