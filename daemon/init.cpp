#include "daemon/init.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/sqlite.h"
#include "crm/migrations.h"
#include "crm/sample_data.h"
#include "crm/store.h"
#include "daemon/config.h"
#include "daemon/default_mappings.h"

namespace crmsync::daemon {

namespace {

namespace fs = std::filesystem;

Status CannotWrite(const std::string& path, const char* reason) {
  return IoError("cannot write '" + path + "': " + reason);
}

// Creates `path` with `content` only if it does not exist (O_EXCL: no race
// with another writer, never truncates).
Result<bool> WriteNewFile(const std::string& path, const std::string& content, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    return IoError("cannot create '" + path + "': " + std::strerror(errno));
  }
  std::size_t written = 0;
  while (written < content.size()) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string err = std::strerror(errno);
      ::close(fd);
      return CannotWrite(path, err.c_str());
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return CannotWrite(path, std::strerror(errno));
  return true;
}

// Opens (creating if needed) an SQLite store; reports whether it existed.
Result<bool> EnsureDatabase(const std::string& path) {
  std::error_code ec;
  const bool existed = fs::exists(path, ec);
  auto db = SqliteDb::Open(path);
  if (!db.ok()) return db.status();
  return !existed;
}

}  // namespace

Result<std::vector<std::string>> RunInit(const InitOptions& options) {
  std::vector<std::string> report;
  std::error_code ec;
  const fs::path dir = fs::absolute(options.dir).lexically_normal();
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create folder '" + dir.string() + "': " + ec.message());
  fs::create_directories(dir / "mappings.d", ec);
  if (ec) return IoError("cannot create folder '" + (dir / "mappings.d").string() + "': " + ec.message());

  const auto note = [&](const fs::path& p, bool created) {
    report.push_back((created ? "created " : "kept ") + p.string() + (created ? "" : " (exists)"));
  };

  const fs::path config = dir / "crmsync.json";
  CRMSYNC_ASSIGN_OR_RETURN(
      bool wrote_config,
      WriteNewFile(config.string(),
                   CommentedConfigTemplate(dir.string(), options.url, options.tenant_id, options.client_id), 0640));
  note(config, wrote_config);

  for (const auto& [name, content] : DefaultMappingFiles()) {
    const fs::path file = dir / "mappings.d" / std::string(name);
    CRMSYNC_ASSIGN_OR_RETURN(bool wrote, WriteNewFile(file.string(), std::string(content), 0644));
    note(file, wrote);
  }

  const fs::path secret = dir / "client-secret";
  const std::string secret_text = options.secret.empty() ? "replace-with-the-client-secret\n" : options.secret + "\n";
  CRMSYNC_ASSIGN_OR_RETURN(bool wrote_secret, WriteNewFile(secret.string(), secret_text, 0600));
  note(secret, wrote_secret);

  // The local CRM store: created or migrated to the latest schema; data kept.
  const fs::path crm_db = dir / "crm.db";
  CRMSYNC_ASSIGN_OR_RETURN(crm::MigrationReport migration, crm::CreateOrMigrate(crm_db.string()));
  if (migration.created) {
    report.push_back("created " + crm_db.string() + " (local CRM store, schema v" +
                     std::to_string(migration.to_version) + ")");
  } else if (migration.migrated()) {
    report.push_back("migrated " + crm_db.string() + " from v" + std::to_string(migration.from_version) + " to v" +
                     std::to_string(migration.to_version));
  } else {
    note(crm_db, false);
  }
  if (options.sample_data) {
    CRMSYNC_ASSIGN_OR_RETURN(crm::Store store, crm::Store::Open(crm_db.string()));
    CRMSYNC_ASSIGN_OR_RETURN(bool added, crm::AddSampleData(store));
    report.push_back(added ? "added sample data to " + crm_db.string()
                           : "kept " + crm_db.string() + " data (not empty): no sample data added");
  }

  const fs::path state_db = dir / "state.db";
  CRMSYNC_ASSIGN_OR_RETURN(bool created, EnsureDatabase(state_db.string()));
  note(state_db, created);
  return report;
}

}  // namespace crmsync::daemon
