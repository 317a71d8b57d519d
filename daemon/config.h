// Config: crmsync.json, the daemon's configuration (interface.md "Config file").
//
// Every key is declared once in config.cpp with its type, default and one
// line of help (`crmsync init` writes that help into the commented config).
// LoadConfig validates the whole file and reports every problem as a
// Diagnostic naming file, line and key; it also checks that secret and key
// files exist and are not readable by group or others.
//
// Relative paths: secret and key files are looked up in
// $CREDENTIALS_DIRECTORY (systemd LoadCredential=) first, then beside the
// config file; database and mapping paths are relative to the config file.
#pragma once

#include <optional>
#include <string>

#include "common/diagnostic.h"
#include "common/result.h"

namespace crmsync::daemon {

struct DataverseConfig {
  std::string url;  // organisation URL without trailing slash
  std::string api_version = "v9.2";
  std::string authority = "https://login.microsoftonline.com";
  std::string tenant_id;
  std::string client_id;
  std::string client_secret_file;             // resolved path; empty when certificate auth is used
  std::string certificate_file;               // resolved path
  std::string private_key_file;               // resolved path
  std::string assertion_algorithm = "PS256";  // or RS256
  std::string ca_file;                        // resolved path; empty = system store only
  int max_parallelism = 8;
  int page_size = 5000;
  int timeout_s = 120;
  bool suppress_duplicate_detection = true;
  bool bypass_custom_plugins = false;
};

struct Config {
  std::string file;  // the file this came from (absolute)
  DataverseConfig dataverse;
  std::string local_database;
  std::string state_database;
  std::string mappings_dir;
  int interval_s = 30;
  std::string status_listen = "127.0.0.1:9464";  // empty = no status endpoint
  std::string log_level = "info";
  std::string log_format = "text";
  double mass_delete_max_share = 0.2;
  int mass_delete_max_count = 100;
};

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
