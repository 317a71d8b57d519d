#include "daemon/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "common/json_text.h"
#include "common/url.h"

namespace crmsync::daemon {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

enum class KeyType { kObject, kString, kNullableString, kInteger, kNumber, kBoolean };

struct KeySpec {
  const char* pointer;
  KeyType type;
  const char* default_json;  // as written in the template; nullptr = required
  const char* help;
};

// The one declaration of every config key: type, default and help.
constexpr KeySpec kKeys[] = {
    {"/dataverse", KeyType::kObject, nullptr, "the Dynamics 365 Sales (Dataverse) organisation"},
    {"/dataverse/url", KeyType::kString, nullptr, "organisation URL, e.g. https://contoso.crm4.dynamics.com"},
    {"/dataverse/api_version", KeyType::kString, "\"v9.2\"", "Web API version"},
    {"/dataverse/authority", KeyType::kString, "\"https://login.microsoftonline.com\"",
     "token URL = {authority}/{tenant_id}/oauth2/v2.0/token"},
    {"/dataverse/tenant_id", KeyType::kString, nullptr, "Microsoft Entra tenant id or domain"},
    {"/dataverse/client_id", KeyType::kString, nullptr, "application (client) id of the app registration"},
    {"/dataverse/client_secret_file", KeyType::kNullableString, "null",
     "file holding the client secret (mode 0600); or use certificate_file + private_key_file"},
    {"/dataverse/certificate_file", KeyType::kNullableString, "null", "PEM certificate registered with the app"},
    {"/dataverse/private_key_file", KeyType::kNullableString, "null", "PEM private key of that certificate (0600)"},
    {"/dataverse/assertion_algorithm", KeyType::kString, "\"PS256\"",
     "signature of the certificate client assertion: PS256 or RS256"},
    {"/dataverse/ca_file", KeyType::kNullableString, "null", "extra CA bundle to trust (tests, proxies)"},
    {"/dataverse/max_parallelism", KeyType::kInteger, "8",
     "most requests in flight; also capped by the server's x-ms-dop-hint"},
    {"/dataverse/page_size", KeyType::kInteger, "5000", "records per page when reading (1-5000)"},
    {"/dataverse/timeout_s", KeyType::kInteger, "120", "deadline for one request including retries, seconds"},
    {"/dataverse/suppress_duplicate_detection", KeyType::kBoolean, "true",
     "false sends MSCRM.SuppressDuplicateDetection: false (duplicate rules apply)"},
    {"/dataverse/bypass_custom_plugins", KeyType::kBoolean, "false",
     "send MSCRM.BypassCustomPluginExecution (needs prvBypassCustomPlugins)"},
    {"/local", KeyType::kObject, nullptr, "the local CRM store"},
    {"/local/database", KeyType::kString, nullptr, "SQLite file of the local CRM store"},
    {"/state", KeyType::kObject, nullptr, "the sync state store"},
    {"/state/database", KeyType::kString, nullptr, "SQLite file of the state store"},
    {"/mappings", KeyType::kString, nullptr, "folder of mapping files (*.json)"},
    {"/interval_s", KeyType::kInteger, "30", "seconds between passes of the daemon"},
    {"/status_listen", KeyType::kNullableString, "\"127.0.0.1:9464\"",
     "host:port of the status endpoint (/healthz, /readyz, /status, /metrics); null = off"},
    {"/log", KeyType::kObject, "{}", "logging"},
    {"/log/level", KeyType::kString, "\"info\"", "trace, debug, info, warn, error or off"},
    {"/log/format", KeyType::kString, "\"text\"", "text or json (one object per line)"},
    {"/sync", KeyType::kObject, "{}", "guard rails of a pass"},
    {"/sync/mass_delete_max_share", KeyType::kNumber, "0.2",
     "a pass deleting more than this share of a mapping's coupled records stops"},
    {"/sync/mass_delete_max_count", KeyType::kInteger, "100",
     "a pass deleting more than this many coupled records stops"},
};

const KeySpec* FindSpec(const std::string& pointer) {
  for (const auto& k : kKeys) {
    if (pointer == k.pointer) return &k;
  }
  return nullptr;
}

std::vector<std::string> ChildNames(const std::string& parent) {
  std::vector<std::string> names;
  for (const auto& k : kKeys) {
    const std::string p = k.pointer;
    if (p.size() > parent.size() + 1 && p.compare(0, parent.size(), parent) == 0 && p[parent.size()] == '/' &&
        p.find('/', parent.size() + 1) == std::string::npos) {
      names.push_back(p.substr(parent.size() + 1));
    }
  }
  return names;
}

const char* TypeName(KeyType t) {
  switch (t) {
    case KeyType::kObject: return "an object";
    case KeyType::kString: return "a string";
    case KeyType::kNullableString: return "a string or null";
    case KeyType::kInteger: return "an integer";
    case KeyType::kNumber: return "a number";
    case KeyType::kBoolean: return "true or false";
  }
  return "?";
}

bool TypeMatches(KeyType t, const json& v) {
  switch (t) {
    case KeyType::kObject: return v.is_object();
    case KeyType::kString: return v.is_string();
    case KeyType::kNullableString: return v.is_string() || v.is_null();
    case KeyType::kInteger: return v.is_number_integer();
    case KeyType::kNumber: return v.is_number();
    case KeyType::kBoolean: return v.is_boolean();
  }
  return false;
}

class Validator {
 public:
  Validator(std::string file, const std::string& text, std::optional<std::string> credentials_dir)
      : file_(std::move(file)), index_(JsonLineIndex::Build(text)), credentials_dir_(std::move(credentials_dir)) {
    if (!credentials_dir_) {
      if (const char* env = std::getenv("CREDENTIALS_DIRECTORY"); env != nullptr && *env != '\0') {
        credentials_dir_ = env;
      }
    }
    base_dir_ = fs::path(file_).parent_path();
    if (base_dir_.empty()) base_dir_ = ".";
  }

  void Problem(const std::string& pointer, const std::string& message) {
    out_.push_back({file_, index_.LineOf(pointer), PointerToPath(pointer), message});
  }

  // Checks every present key against the declaration, recursing into objects.
  void CheckShape(const json& object, const std::string& pointer) {
    for (const auto& [name, value] : object.items()) {
      const std::string child = AppendPointer(pointer, name);
      const KeySpec* spec = FindSpec(child);
      if (spec == nullptr) {
        std::string msg = "unknown key '" + name + "'";
        const std::string guess = ClosestMatch(name, ChildNames(pointer));
        if (!guess.empty()) msg += "; did you mean '" + guess + "'?";
        Problem(child, msg);
        continue;
      }
      if (!TypeMatches(spec->type, value)) {
        Problem(child, std::string("must be ") + TypeName(spec->type) + ", not " + JsonTypeName(value));
        continue;
      }
      if (spec->type == KeyType::kObject) CheckShape(value, child);
    }
    for (const auto& k : kKeys) {
      const std::string p = k.pointer;
      const auto slash = p.rfind('/');
      if (p.substr(0, slash) != pointer || k.default_json != nullptr) continue;
      if (!object.contains(p.substr(slash + 1))) Problem(pointer, "missing required key '" + p.substr(slash + 1) + "'");
    }
  }

  // Resolves a data path relative to the config file.
  std::string DataPath(const std::string& value) const {
    fs::path p(value);
    if (p.is_absolute()) return p.lexically_normal().string();
    return fs::absolute(base_dir_ / p).lexically_normal().string();
  }

  // Resolves a secret file: $CREDENTIALS_DIRECTORY first, then beside the config.
  std::string SecretPath(const std::string& value) const {
    fs::path p(value);
    if (p.is_absolute()) return p.string();
    if (credentials_dir_) {
      fs::path candidate = fs::path(*credentials_dir_) / p;
      std::error_code ec;
      if (fs::exists(candidate, ec)) return candidate.string();
    }
    return fs::absolute(base_dir_ / p).lexically_normal().string();
  }

  // A secret must exist, be a regular file, and not be readable by group or others.
  void CheckSecretFile(const std::string& pointer, const std::string& path, bool secret) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      Problem(pointer, "file '" + path + "' does not exist or cannot be read");
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      Problem(pointer, "'" + path + "' is not a regular file");
      return;
    }
    if (secret && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
      Problem(pointer, "secret file '" + path + "' has mode " + mode +
                           " and is readable by group or others; make it 0600 (chmod 600)");
      return;
    }
    std::ifstream in(path);
    if (!in) Problem(pointer, "file '" + path + "' cannot be opened for reading");
  }

  Diagnostics Take() { return std::move(out_); }
  const std::string& file() const { return file_; }

 private:
  std::string file_;
  JsonLineIndex index_;
  std::optional<std::string> credentials_dir_;
  fs::path base_dir_;
  Diagnostics out_;
};

std::string Trimmed(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::string DefaultConfigPath() {
  if (const char* env = std::getenv("CRMSYNC_CONFIG"); env != nullptr && *env != '\0') return env;
  return "/etc/crmsync/crmsync.json";
}

ConfigLoad ParseConfig(const std::string& path, const std::string& text, std::optional<std::string> credentials_dir) {
  ConfigLoad load;
  json root;
  if (auto syntax = ParseJsonFile(path, text, root)) {
    load.diagnostics.push_back(std::move(*syntax));
    return load;
  }
  Validator v(path, text, std::move(credentials_dir));
  if (!root.is_object()) {
    v.Problem("", "the config must be a JSON object");
    load.diagnostics = v.Take();
    return load;
  }
  v.CheckShape(root, "");

  Config c;
  c.file = path;
  const auto str = [&](const char* pointer, std::string& out) {
    const json::json_pointer p(pointer);
    if (root.contains(p) && root.at(p).is_string()) out = root.at(p).get<std::string>();
  };
  const auto integer = [&](const char* pointer, int& out, int min, int max) {
    const json::json_pointer p(pointer);
    if (!root.contains(p) || !root.at(p).is_number_integer()) return;
    const auto n = root.at(p).get<long long>();
    if (n < min || n > max) {
      v.Problem(pointer, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " +
                             std::to_string(n));
      return;
    }
    out = static_cast<int>(n);
  };
  const auto boolean = [&](const char* pointer, bool& out) {
    const json::json_pointer p(pointer);
    if (root.contains(p) && root.at(p).is_boolean()) out = root.at(p).get<bool>();
  };

  DataverseConfig& d = c.dataverse;
  str("/dataverse/url", d.url);
  d.url = Trimmed(d.url);
  str("/dataverse/api_version", d.api_version);
  str("/dataverse/authority", d.authority);
  d.authority = Trimmed(d.authority);
  str("/dataverse/tenant_id", d.tenant_id);
  str("/dataverse/client_id", d.client_id);
  str("/dataverse/assertion_algorithm", d.assertion_algorithm);
  integer("/dataverse/max_parallelism", d.max_parallelism, 1, 52);
  integer("/dataverse/page_size", d.page_size, 1, 5000);
  integer("/dataverse/timeout_s", d.timeout_s, 1, 3600);
  boolean("/dataverse/suppress_duplicate_detection", d.suppress_duplicate_detection);
  boolean("/dataverse/bypass_custom_plugins", d.bypass_custom_plugins);
  integer("/interval_s", c.interval_s, 1, 86400);
  integer("/sync/mass_delete_max_count", c.mass_delete_max_count, 0, 100000000);
  str("/log/level", c.log_level);
  str("/log/format", c.log_format);

  const auto check_url = [&](const char* pointer, const std::string& value) {
    const auto parts = ParseHttpUrl(value);
    if (!parts.ok()) {
      v.Problem(pointer, "'" + value + "' is not an http(s) URL");
    } else if (parts->scheme == "http" && !IsLoopbackHost(parts->host)) {
      v.Problem(pointer, "must use https ('" + value + "'); plain http is allowed only for loopback hosts");
    }
  };
  if (root.contains(json::json_pointer("/dataverse/url")) &&
      root.at(json::json_pointer("/dataverse/url")).is_string()) {
    check_url("/dataverse/url", d.url);
  }
  check_url("/dataverse/authority", d.authority);
  if (d.assertion_algorithm != "PS256" && d.assertion_algorithm != "RS256") {
    v.Problem("/dataverse/assertion_algorithm", "must be PS256 or RS256, not '" + d.assertion_algorithm + "'");
  }
  for (const char* id : {"/dataverse/tenant_id", "/dataverse/client_id"}) {
    const json::json_pointer p(id);
    if (root.contains(p) && root.at(p).is_string() && root.at(p).get<std::string>().empty()) {
      v.Problem(id, "must not be empty");
    }
  }

  // Credentials: a secret, or a certificate with its key; never both.
  std::string secret, cert, key, ca;
  str("/dataverse/client_secret_file", secret);
  str("/dataverse/certificate_file", cert);
  str("/dataverse/private_key_file", key);
  str("/dataverse/ca_file", ca);
  if (root.contains("dataverse") && root["dataverse"].is_object()) {
    if (secret.empty() && cert.empty() && key.empty()) {
      v.Problem("/dataverse", "no credentials: set client_secret_file, or certificate_file and private_key_file");
    } else if (!secret.empty() && (!cert.empty() || !key.empty())) {
      v.Problem("/dataverse/client_secret_file",
                "set either client_secret_file or certificate_file + private_key_file, not both");
    } else if (secret.empty() && (cert.empty() || key.empty())) {
      v.Problem(cert.empty() ? "/dataverse/private_key_file" : "/dataverse/certificate_file",
                "certificate_file and private_key_file go together");
    }
  }
  if (!secret.empty()) {
    d.client_secret_file = v.SecretPath(secret);
    v.CheckSecretFile("/dataverse/client_secret_file", d.client_secret_file, true);
  }
  if (!cert.empty()) {
    d.certificate_file = v.SecretPath(cert);
    v.CheckSecretFile("/dataverse/certificate_file", d.certificate_file, false);
  }
  if (!key.empty()) {
    d.private_key_file = v.SecretPath(key);
    v.CheckSecretFile("/dataverse/private_key_file", d.private_key_file, true);
  }
  if (!ca.empty()) {
    d.ca_file = v.DataPath(ca);
    v.CheckSecretFile("/dataverse/ca_file", d.ca_file, false);
  }

  std::string local, state, mappings;
  str("/local/database", local);
  str("/state/database", state);
  str("/mappings", mappings);
  if (!local.empty()) c.local_database = v.DataPath(local);
  if (!state.empty()) c.state_database = v.DataPath(state);
  if (!mappings.empty()) c.mappings_dir = v.DataPath(mappings);
  if (!c.local_database.empty() && c.local_database == c.state_database) {
    v.Problem("/state/database", "the state store must be a different file from the local store");
  }

  if (root.contains("status_listen")) {
    if (root["status_listen"].is_null()) {
      c.status_listen.clear();
    } else if (root["status_listen"].is_string()) {
      c.status_listen = root["status_listen"].get<std::string>();
      const auto colon = c.status_listen.rfind(':');
      bool ok = colon != std::string::npos && colon > 0 && colon + 1 < c.status_listen.size();
      int port = 0;
      if (ok) {
        try {
          std::size_t used = 0;
          port = std::stoi(c.status_listen.substr(colon + 1), &used);
          ok = used == c.status_listen.size() - colon - 1 && port > 0 && port < 65536;
        } catch (const std::exception&) {
          ok = false;
        }
      }
      if (!ok) v.Problem("/status_listen", "must be HOST:PORT such as 127.0.0.1:9464, not '" + c.status_listen + "'");
    }
  }
  const json::json_pointer share("/sync/mass_delete_max_share");
  if (root.contains(share) && root.at(share).is_number()) {
    c.mass_delete_max_share = root.at(share).get<double>();
    if (c.mass_delete_max_share < 0 || c.mass_delete_max_share > 1) {
      v.Problem("/sync/mass_delete_max_share", "must be between 0 and 1");
    }
  }
  static const std::vector<std::string> kLevels = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find(kLevels.begin(), kLevels.end(), c.log_level) == kLevels.end()) {
    v.Problem("/log/level", "must be one of trace, debug, info, warn, error, off; not '" + c.log_level + "'");
  }
  if (c.log_format != "text" && c.log_format != "json") {
    v.Problem("/log/format", "must be text or json, not '" + c.log_format + "'");
  }

  load.diagnostics = v.Take();
  // Report in file order, so the list reads top to bottom like the file.
  std::stable_sort(load.diagnostics.begin(), load.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return a.line < b.line; });
  if (load.diagnostics.empty()) load.config = std::move(c);
  return load;
}

ConfigLoad LoadConfig(const std::string& path, std::optional<std::string> credentials_dir) {
  const std::string absolute = fs::absolute(path).lexically_normal().string();
  auto text = ReadFile(absolute);
  if (!text.ok()) {
    ConfigLoad load;
    load.diagnostics.push_back(
        {absolute, 0, "",
         "cannot read the config file (" + text.status().message() + "); run 'crmsync init' or pass --config"});
    return load;
  }
  return ParseConfig(absolute, *text, std::move(credentials_dir));
}

std::string CommentedConfigTemplate(const std::string& dir, const std::string& url, const std::string& tenant_id,
                                    const std::string& client_id) {
  const auto help = [](const char* pointer) -> std::string {
    const KeySpec* s = FindSpec(pointer);
    return s != nullptr ? s->help : "";
  };
  const auto q = [](const std::string& s) { return json(s).dump(); };
  std::ostringstream o;
  o << "// crmsync configuration. JSON with // comments; every key is listed with its default.\n"
    << "// Check it with: crmsync --config THIS_FILE mapping validate\n"
    << "{\n"
    << "  // " << help("/dataverse") << "\n"
    << "  \"dataverse\": {\n"
    << "    \"url\": " << q(url) << ",  // " << help("/dataverse/url") << "\n"
    << "    \"api_version\": \"v9.2\",  // " << help("/dataverse/api_version") << "\n"
    << "    \"authority\": " << q(url.rfind("http://127.", 0) == 0 ? url : "https://login.microsoftonline.com")
    << ",  // " << help("/dataverse/authority") << "\n"
    << "    \"tenant_id\": " << q(tenant_id) << ",  // " << help("/dataverse/tenant_id") << "\n"
    << "    \"client_id\": " << q(client_id) << ",  // " << help("/dataverse/client_id") << "\n"
    << "    \"client_secret_file\": \"client-secret\",  // " << help("/dataverse/client_secret_file") << "\n"
    << "    \"certificate_file\": null,  // " << help("/dataverse/certificate_file") << "\n"
    << "    \"private_key_file\": null,  // " << help("/dataverse/private_key_file") << "\n"
    << "    \"assertion_algorithm\": \"PS256\",  // " << help("/dataverse/assertion_algorithm") << "\n"
    << "    \"ca_file\": null,  // " << help("/dataverse/ca_file") << "\n"
    << "    \"max_parallelism\": 8,  // " << help("/dataverse/max_parallelism") << "\n"
    << "    \"page_size\": 5000,  // " << help("/dataverse/page_size") << "\n"
    << "    \"timeout_s\": 120,  // " << help("/dataverse/timeout_s") << "\n"
    << "    \"suppress_duplicate_detection\": true,  // " << help("/dataverse/suppress_duplicate_detection") << "\n"
    << "    \"bypass_custom_plugins\": false  // " << help("/dataverse/bypass_custom_plugins") << "\n"
    << "  },\n"
    << "  \"local\": { \"database\": " << q(dir + "/crm.db") << " },  // " << help("/local/database") << "\n"
    << "  \"state\": { \"database\": " << q(dir + "/state.db") << " },  // " << help("/state/database") << "\n"
    << "  \"mappings\": " << q(dir + "/mappings.d") << ",  // " << help("/mappings") << "\n"
    << "  \"interval_s\": 30,  // " << help("/interval_s") << "\n"
    << "  \"status_listen\": \"127.0.0.1:9464\",  // " << help("/status_listen") << "\n"
    << "  \"log\": {\n"
    << "    \"level\": \"info\",  // " << help("/log/level") << "\n"
    << "    \"format\": \"text\"  // " << help("/log/format") << "\n"
    << "  },\n"
    << "  \"sync\": {\n"
    << "    \"mass_delete_max_share\": 0.2,  // " << help("/sync/mass_delete_max_share") << "\n"
    << "    \"mass_delete_max_count\": 100  // " << help("/sync/mass_delete_max_count") << "\n"
    << "  }\n"
    << "}\n";
  return o.str();
}

}  // namespace crmsync::daemon
