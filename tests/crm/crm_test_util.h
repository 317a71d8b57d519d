// Helpers for tests of the local CRM store: running the sqlite3 program (a
// writer that is not crmsync), running a binary and capturing its output,
// and one-value SQL queries.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "common/sqlite.h"

namespace crmsync::crm::testing {

struct ProcessResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr, interleaved
};

// Runs `argv` (argv[0] is a path) with `input` on stdin; stdout+stderr captured.
inline ProcessResult RunProcess(const std::vector<std::string>& argv, const std::string& input = "") {
  std::string command;
  for (const auto& a : argv) {
    std::string quoted = "'";
    for (char c : a) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    command += quoted + "' ";
  }
  // The input goes through a here-document-free path: a temporary file.
  char path[] = "/tmp/crmsync-test-input-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd >= 0) {
    (void)!::write(fd, input.data(), input.size());
    ::close(fd);
  }
  command += "< '" + std::string(path) + "' 2>&1";
  ProcessResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  ::unlink(path);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs SQL through the sqlite3 command-line program: a writer that is not crmsync.
inline ProcessResult RunSqlite3(const std::string& db_path, const std::string& sql) {
  return RunProcess({"sqlite3", "-bail", db_path}, "PRAGMA foreign_keys = ON;\n" + sql + "\n");
}

// The first column of the first row of `sql` as text ("" when no row or NULL).
inline std::string QueryText(SqliteDb& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return "ERROR: " + st.status().ToString();
  auto row = st->Step();
  if (!row.ok()) return "ERROR: " + row.status().ToString();
  if (!*row) return "";
  return st->ColumnText(0);
}

// Every row of a statement, columns joined by '|', rows by '\n'.
inline std::string QueryRows(SqliteDb& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return "ERROR: " + st.status().ToString();
  std::string out;
  for (;;) {
    auto row = st->Step();
    if (!row.ok()) return "ERROR: " + row.status().ToString();
    if (!*row) break;
    for (int i = 0; i < st->ColumnCount(); ++i) out += (i ? "|" : "") + st->ColumnText(i);
    out += "\n";
  }
  return out;
}

}  // namespace crmsync::crm::testing
