// Config: crmsync.json, the daemon's configuration (interface.md "Config file").
//
// Every key is declared once, in config.cpp's key table (ConfigKeys()): its
// JSON pointer, type, default, range or allowed values, one line of help, and
// the Config member it fills. That table is the one source of the defaults:
// Config() applies them, ParseConfig fills the members from it, and
// CommentedConfigTemplate (what `crmsync init` writes) lists every key with
// its default and help. LoadConfig validates the whole file and reports every
// problem as a Diagnostic naming file, line and key; it also checks that
// secret and key files exist and are not readable by group or others (by
// others, in $CREDENTIALS_DIRECTORY: systemd may grant the service an ACL),
// and that status_listen is a loopback address unless status_allow_remote.
//
// Relative paths: secret and key files are looked up in
// $CREDENTIALS_DIRECTORY (systemd LoadCredential=) first, then beside the
// config file; database and mapping paths are relative to the config file.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "common/diagnostic.h"
#include "common/key_table.h"
#include "common/result.h"

namespace crmsync::daemon {

// The "/dataverse" keys. Standing alone it is empty; a Config() holds it with
// every default filled in.
struct DataverseConfig {
  std::string url;  // organisation URL without trailing slash
  std::string api_version;
  std::string authority;  // without trailing slash
  std::string tenant_id;
  std::string client_id;
  std::string client_secret_file;   // resolved path; empty when certificate auth is used
  std::string certificate_file;     // resolved path
  std::string private_key_file;     // resolved path
  std::string assertion_algorithm;  // PS256 or RS256
  std::string ca_file;              // resolved path; empty = system store only
  int max_parallelism = 0;
  int page_size = 0;
  int timeout_s = 0;
  int unanswered_timeout_s = 0;  // each request's deadline while Dataverse gives no answer at all
  bool suppress_duplicate_detection = false;
  bool bypass_custom_plugins = false;

  bool operator==(const DataverseConfig&) const = default;
};

struct Config {
  // Every key at its declared default; required keys (the organisation, the
  // stores, the mappings folder) empty.
  Config();

  std::string file;  // the file this came from (absolute); empty for Config()
  DataverseConfig dataverse;
  std::string local_database;  // resolved path
  std::string state_database;  // resolved path
  std::string mappings_dir;    // resolved path
  int interval_s = 0;
  std::string status_listen;  // host:port; empty = no status endpoint
  // Lets status_listen name a host other than loopback (127.0.0.0/8, ::1,
  // localhost); without it such a config is refused: the endpoint has no
  // authentication of its own.
  bool status_allow_remote = false;
  std::string log_level;   // one of kLogLevels
  std::string log_format;  // one of kLogFormats
  // Guard rails (design.md R8): a pass that would delete more than
  // mass_delete_max_count coupled records of a mapping stops, and so does one
  // deleting more than mass_delete_max_share of them once more than
  // mass_delete_min_count records would go.
  double mass_delete_max_share = 0;
  int mass_delete_max_count = 0;
  int mass_delete_min_count = 0;

  bool operator==(const Config&) const = default;
};

// The declared keys, in the order the commented config lists them.
std::span<const KeySpec> ConfigKeys();

// The result of loading: a Config when `diagnostics` is empty.
struct ConfigLoad {
  std::optional<Config> config;
  Diagnostics diagnostics;
};

// Reads and validates `path`. `credentials_dir` overrides $CREDENTIALS_DIRECTORY (tests).
ConfigLoad LoadConfig(const std::string& path, std::optional<std::string> credentials_dir = std::nullopt);

// Validates config text already in memory (`path` is used for messages and relative paths).
ConfigLoad ParseConfig(const std::string& path, const std::string& text,
                       std::optional<std::string> credentials_dir = std::nullopt);

// The default config path: $CRMSYNC_CONFIG, else /etc/crmsync/crmsync.json.
std::string DefaultConfigPath();

// A commented config for `crmsync init`, with every key, its default and its help.
// `dir` is the folder the stores and mappings live in.
std::string CommentedConfigTemplate(const std::string& dir, const std::string& url, const std::string& tenant_id,
                                    const std::string& client_id);

}  // namespace crmsync::daemon
