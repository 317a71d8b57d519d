#include "daemon/config.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/file_io.h"
#include "common/json_text.h"
#include "common/log.h"
#include "common/url.h"

namespace crmsync::daemon {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string_view TrimSlashes(std::string_view s) {
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

// StringChecks of the table.

std::string CheckHttpUrl(std::string_view raw) {
  const std::string value(TrimSlashes(raw));
  const auto parts = ParseHttpUrl(value);
  if (!parts.ok()) return "'" + value + "' is not an http(s) URL";
  if (parts->scheme == "http" && !IsLoopbackHost(parts->host)) {
    return "must use https ('" + value + "'); plain http is allowed only for loopback hosts";
  }
  return "";
}

std::string CheckHostPort(std::string_view value) {
  const auto colon = value.rfind(':');
  bool ok = colon != std::string_view::npos && colon > 0 && colon + 1 < value.size() && colon + 6 >= value.size();
  int port = 0;
  for (std::size_t i = colon + 1; ok && i < value.size(); ++i) {
    ok = value[i] >= '0' && value[i] <= '9';
    port = port * 10 + (value[i] - '0');
  }
  if (ok && port > 0 && port < 65536) return "";
  return "must be HOST:PORT such as 127.0.0.1:9464, not '" + std::string(value) + "'";
}

// The host of a HOST:PORT that CheckHostPort accepted, without the brackets
// of an IPv6 address ("[::1]:9464" -> "::1"), as the status server reads it.
std::string_view ListenHost(std::string_view value) {
  std::string_view host = value.substr(0, value.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return host;
}

constexpr std::array<std::string_view, 2> kAssertionAlgorithms = {"PS256", "RS256"};

// Where a key's value goes in Config, and what happens to it on the way.
using Slot = std::variant<std::monostate, std::string Config::*, int Config::*, double Config::*, bool Config::*,
                          std::string DataverseConfig::*, int DataverseConfig::*, bool DataverseConfig::*>;

enum class Resolve {
  kNone,
  kUrl,             // trailing slashes trimmed
  kSecretFile,      // $CREDENTIALS_DIRECTORY first, then beside the config; must exist, mode 0600 or stricter
  kCredentialFile,  // looked up like a secret; must exist (a certificate: readable by anyone is fine)
  kFile,            // relative to the config; must exist
  kPath,            // relative to the config
};

struct ConfigKey {
  KeySpec spec;
  Slot slot;  // std::monostate for objects
  Resolve resolve = Resolve::kNone;
};

// The one declaration of every config key, in the order of the commented
// config. A key without a default is required.
constexpr ConfigKey kConfigKeys[] = {
    {{.pointer = "/dataverse",
      .type = KeyType::kObject,
      .required = true,
      .help = "the Dynamics 365 Sales (Dataverse) organisation"},
     {}},
    {{.pointer = "/dataverse/url",
      .type = KeyType::kString,
      .required = true,
      .help = "organisation URL, e.g. https://contoso.crm4.dynamics.com",
      .check = CheckHttpUrl},
     &DataverseConfig::url,
     Resolve::kUrl},
    {{.pointer = "/dataverse/api_version",
      .type = KeyType::kString,
      .default_json = R"("v9.2")",
      .help = "Web API version",
      .non_empty = true},
     &DataverseConfig::api_version},
    {{.pointer = "/dataverse/authority",
      .type = KeyType::kString,
      .default_json = R"("https://login.microsoftonline.com")",
      .help = "token URL = {authority}/{tenant_id}/oauth2/v2.0/token",
      .check = CheckHttpUrl},
     &DataverseConfig::authority,
     Resolve::kUrl},
    {{.pointer = "/dataverse/tenant_id",
      .type = KeyType::kString,
      .required = true,
      .help = "Microsoft Entra tenant id or domain",
      .non_empty = true},
     &DataverseConfig::tenant_id},
    {{.pointer = "/dataverse/client_id",
      .type = KeyType::kString,
      .required = true,
      .help = "application (client) id of the app registration",
      .non_empty = true},
     &DataverseConfig::client_id},
    {{.pointer = "/dataverse/client_secret_file",
      .type = KeyType::kNullableString,
      .default_json = "null",
      .help = "file holding the client secret (mode 0600); or use certificate_file + private_key_file"},
     &DataverseConfig::client_secret_file,
     Resolve::kSecretFile},
    {{.pointer = "/dataverse/certificate_file",
      .type = KeyType::kNullableString,
      .default_json = "null",
      .help = "PEM certificate registered with the app"},
     &DataverseConfig::certificate_file,
     Resolve::kCredentialFile},
    {{.pointer = "/dataverse/private_key_file",
      .type = KeyType::kNullableString,
      .default_json = "null",
      .help = "PEM private key of that certificate (0600)"},
     &DataverseConfig::private_key_file,
     Resolve::kSecretFile},
    {{.pointer = "/dataverse/assertion_algorithm",
      .type = KeyType::kString,
      .default_json = R"("PS256")",
      .help = "signature of the certificate client assertion",
      .allowed = kAssertionAlgorithms},
     &DataverseConfig::assertion_algorithm},
    {{.pointer = "/dataverse/ca_file",
      .type = KeyType::kNullableString,
      .default_json = "null",
      .help = "extra CA bundle to trust (tests, proxies)"},
     &DataverseConfig::ca_file,
     Resolve::kFile},
    {{.pointer = "/dataverse/max_parallelism",
      .type = KeyType::kInteger,
      .default_json = "8",
      .help = "most requests in flight; also capped by the server's x-ms-dop-hint",
      .min = 1,
      .max = 52},
     &DataverseConfig::max_parallelism},
    {{.pointer = "/dataverse/page_size",
      .type = KeyType::kInteger,
      .default_json = "1000",
      .help = "records per page when reading",
      .min = 1,
      .max = 5000},
     &DataverseConfig::page_size},
    {{.pointer = "/dataverse/timeout_s",
      .type = KeyType::kInteger,
      .default_json = "120",
      .help = "deadline for one request including retries, seconds",
      .min = 1,
      .max = 3600},
     &DataverseConfig::timeout_s},
    {{.pointer = "/dataverse/unanswered_timeout_s",
      .type = KeyType::kInteger,
      .default_json = "15",
      .help = "deadline for one request, retries included, while Dataverse gives no answer at all (down, "
              "unreachable), so a pass over many mappings ends in minutes; seconds",
      .min = 1,
      .max = 3600},
     &DataverseConfig::unanswered_timeout_s},
    {{.pointer = "/dataverse/suppress_duplicate_detection",
      .type = KeyType::kBoolean,
      .default_json = "true",
      .help = "false sends MSCRM.SuppressDuplicateDetection: false (duplicate rules apply)"},
     &DataverseConfig::suppress_duplicate_detection},
    {{.pointer = "/dataverse/bypass_custom_plugins",
      .type = KeyType::kBoolean,
      .default_json = "false",
      .help = "send MSCRM.BypassCustomPluginExecution (needs prvBypassCustomPlugins)"},
     &DataverseConfig::bypass_custom_plugins},
    {{.pointer = "/local", .type = KeyType::kObject, .required = true, .help = "the local CRM store"}, {}},
    {{.pointer = "/local/database",
      .type = KeyType::kString,
      .required = true,
      .help = "SQLite file of the local CRM store",
      .non_empty = true},
     &Config::local_database,
     Resolve::kPath},
    {{.pointer = "/state", .type = KeyType::kObject, .required = true, .help = "the sync state store"}, {}},
    {{.pointer = "/state/database",
      .type = KeyType::kString,
      .required = true,
      .help = "SQLite file of the state store",
      .non_empty = true},
     &Config::state_database,
     Resolve::kPath},
    {{.pointer = "/mappings",
      .type = KeyType::kString,
      .required = true,
      .help = "folder of mapping files (*.json)",
      .non_empty = true},
     &Config::mappings_dir,
     Resolve::kPath},
    {{.pointer = "/interval_s",
      .type = KeyType::kInteger,
      .default_json = "30",
      .help = "seconds between a mapping's passes under crmsync run (a mapping file's interval_s wins)",
      .min = 1,
      .max = 86400},
     &Config::interval_s},
    {{.pointer = "/status_listen",
      .type = KeyType::kNullableString,
      .default_json = R"("127.0.0.1:9464")",
      .help = "host:port of the status endpoint (/healthz, /readyz, /status, /metrics); null = off",
      .check = CheckHostPort},
     &Config::status_listen},
    {{.pointer = "/status_allow_remote",
      .type = KeyType::kBoolean,
      .default_json = "false",
      .help = "true lets status_listen be a non-loopback address; the endpoint has no authentication of its own"},
     &Config::status_allow_remote},
    {{.pointer = "/log", .type = KeyType::kObject, .default_json = "{}", .help = "logging"}, {}},
    {{.pointer = "/log/level",
      .type = KeyType::kString,
      .default_json = R"("info")",
      .help = "the least severe level logged",
      .allowed = kLogLevels},
     &Config::log_level},
    {{.pointer = "/log/format",
      .type = KeyType::kString,
      .default_json = R"("text")",
      .help = "how log lines on stderr look; json writes one object per line",
      .allowed = kLogFormats},
     &Config::log_format},
    {{.pointer = "/sync", .type = KeyType::kObject, .default_json = "{}", .help = "guard rails of a pass"}, {}},
    {{.pointer = "/sync/mass_delete_max_share",
      .type = KeyType::kNumber,
      .default_json = "0.2",
      .help = "a pass deleting more than this share of a mapping's coupled records stops",
      .min = 0,
      .max = 1},
     &Config::mass_delete_max_share},
    {{.pointer = "/sync/mass_delete_min_count",
      .type = KeyType::kInteger,
      .default_json = "10",
      .help = "the share rule applies only when more than this many records would be deleted",
      .min = 0,
      .max = 100000000},
     &Config::mass_delete_min_count},
    {{.pointer = "/sync/mass_delete_max_count",
      .type = KeyType::kInteger,
      .default_json = "100",
      .help = "a pass deleting more than this many coupled records stops",
      .min = 0,
      .max = 100000000},
     &Config::mass_delete_max_count},
};

template <std::size_t N>
constexpr std::array<KeySpec, N> SpecsOf(const ConfigKey (&keys)[N]) {
  std::array<KeySpec, N> specs{};
  for (std::size_t i = 0; i < N; ++i) specs[i] = keys[i].spec;
  return specs;
}
constexpr auto kSpecs = SpecsOf(kConfigKeys);

template <typename M>
struct MemberOf;
template <typename C, typename T>
struct MemberOf<T C::*> {
  using Owner = C;
  using Type = T;
};

// A member of the right C++ type for the key's JSON type.
template <typename M>
constexpr bool SlotFits(KeyType type) {
  if constexpr (std::is_same_v<M, std::monostate>) {
    return type == KeyType::kObject;
  } else {
    using T = typename MemberOf<M>::Type;
    if constexpr (std::is_same_v<T, std::string>) return type == KeyType::kString || type == KeyType::kNullableString;
    if constexpr (std::is_same_v<T, int>) return type == KeyType::kInteger;
    if constexpr (std::is_same_v<T, double>) return type == KeyType::kNumber;
    if constexpr (std::is_same_v<T, bool>) return type == KeyType::kBoolean;
    return false;
  }
}

constexpr bool TableIsConsistent() {
  for (const ConfigKey& k : kConfigKeys) {
    if (!std::visit([&](auto member) { return SlotFits<decltype(member)>(k.spec.type); }, k.slot)) return false;
    // Integers go into an int: each needs a range that fits one.
    if (k.spec.type == KeyType::kInteger &&
        (!k.spec.min || !k.spec.max || *k.spec.min < -2147483647.0 || *k.spec.max > 2147483647.0)) {
      return false;
    }
    // A key has a default or is required, never both.
    if (k.spec.required == !k.spec.default_json.empty()) return false;
  }
  return true;
}
static_assert(TableIsConsistent(), "a config key's member, range or default does not fit its declaration");

// The struct a member belongs to, within `c` (a Config or a const Config).
template <typename Owner, typename C>
decltype(auto) OwnerIn(C& c) {
  if constexpr (std::is_same_v<Owner, DataverseConfig>) {
    return (c.dataverse);
  } else {
    return (c);
  }
}

// Stores a value of the key's type (checked already) in its member; null is "".
void Store(Config& c, const ConfigKey& key, const json& value) {
  std::visit(
      [&](auto member) {
        using M = decltype(member);
        if constexpr (!std::is_same_v<M, std::monostate>) {
          using T = typename MemberOf<M>::Type;
          T& field = OwnerIn<typename MemberOf<M>::Owner>(c).*member;
          if constexpr (std::is_same_v<T, std::string>) {
            field = value.is_string() ? value.get<std::string>() : std::string();
          } else if constexpr (std::is_same_v<T, int>) {
            field = static_cast<int>(value.get<long long>());
          } else {
            field = value.get<T>();
          }
        }
      },
      key.slot);
}

// The string member a key fills, or nullptr when it fills none.
const std::string* TextIn(const Config& c, const ConfigKey& key) {
  return std::visit(
      [&](auto member) -> const std::string* {
        using M = decltype(member);
        if constexpr (!std::is_same_v<M, std::monostate>) {
          if constexpr (std::is_same_v<typename MemberOf<M>::Type, std::string>) {
            return &(OwnerIn<typename MemberOf<M>::Owner>(c).*member);
          }
        }
        return nullptr;
      },
      key.slot);
}

// One ParseConfig run: where the file is, its lines, and the problems found.
class Context {
 public:
  Context(std::string file, const std::string& text, std::optional<std::string> credentials_dir)
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

  // The value as the Config holds it: paths resolved, URLs trimmed.
  std::string Resolved(Resolve how, const std::string& value) const {
    if (value.empty()) return value;  // "" means "not set", like null
    switch (how) {
      case Resolve::kNone: return value;
      case Resolve::kUrl: return std::string(TrimSlashes(value));
      case Resolve::kSecretFile:
      case Resolve::kCredentialFile: return SecretPath(value);
      case Resolve::kFile:
      case Resolve::kPath: return DataPath(value);
    }
    return value;
  }

  // A secret must exist, be a regular file, and not be readable by group or
  // others. In $CREDENTIALS_DIRECTORY only "others" counts: systemd gives the
  // service's user read access there, through an ACL where the file system
  // has them (tmpfs on newer systemd), and stat reports an ACL's mask as the
  // group bits of an otherwise 0400 file.
  void CheckFile(const std::string& pointer, const std::string& path, bool secret) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      Problem(pointer, "file '" + path + "' does not exist or cannot be read");
      return;
    }
    if (!S_ISREG(st.st_mode)) {
      Problem(pointer, "'" + path + "' is not a regular file");
      return;
    }
    const mode_t refused = InCredentialsDirectory(path) ? S_IROTH : (S_IRGRP | S_IROTH);
    if (secret && (st.st_mode & refused) != 0) {
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

 private:
  // Relative to the config file.
  std::string DataPath(const std::string& value) const {
    fs::path p(value);
    if (p.is_absolute()) return p.lexically_normal().string();
    return fs::absolute(base_dir_ / p).lexically_normal().string();
  }

  bool InCredentialsDirectory(const std::string& path) const {
    if (!credentials_dir_) return false;
    const fs::path relative = fs::path(path).lexically_normal().lexically_relative(*credentials_dir_);
    return !relative.empty() && *relative.begin() != "..";
  }

  // $CREDENTIALS_DIRECTORY first, then beside the config.
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

  std::string file_;
  JsonLineIndex index_;
  std::optional<std::string> credentials_dir_;
  fs::path base_dir_;
  Diagnostics out_;
};

// Credentials: a secret, or a certificate with its key; never both.
void CheckCredentials(const DataverseConfig& d, Context& context) {
  const bool secret = !d.client_secret_file.empty();
  const bool cert = !d.certificate_file.empty();
  const bool key = !d.private_key_file.empty();
  if (!secret && !cert && !key) {
    context.Problem("/dataverse", "no credentials: set client_secret_file, or certificate_file and private_key_file");
  } else if (secret && (cert || key)) {
    context.Problem("/dataverse/client_secret_file",
                    "set either client_secret_file or certificate_file + private_key_file, not both");
  } else if (!secret && (!cert || !key)) {
    context.Problem(cert ? "/dataverse/certificate_file" : "/dataverse/private_key_file",
                    "certificate_file and private_key_file go together");
  }
}

std::string HelpLine(const KeySpec& k) {
  const std::string constraints = DescribeConstraints(k);
  return std::string(k.help) + (constraints.empty() ? "" : " (" + constraints + ")");
}

// Writes the members of the object at `parent`, in table order, each with its
// value (an override, else its default) and its help.
void WriteMembers(std::ostringstream& o, std::string_view parent, int depth,
                  const std::map<std::string_view, std::string>& values) {
  std::vector<const ConfigKey*> members;
  for (const ConfigKey& k : kConfigKeys) {
    if (ParentPointer(k.spec.pointer) == parent) members.push_back(&k);
  }
  const std::string indent(static_cast<std::size_t>(2 * depth), ' ');
  for (std::size_t i = 0; i < members.size(); ++i) {
    const KeySpec& k = members[i]->spec;
    const std::string name = json(std::string(KeyName(k.pointer))).dump();
    const char* comma = i + 1 < members.size() ? "," : "";
    if (k.type == KeyType::kObject && HasDeclaredMembers(kSpecs, k.pointer)) {
      o << indent << "// " << HelpLine(k) << "\n" << indent << name << ": {\n";
      WriteMembers(o, k.pointer, depth + 1, values);
      o << indent << "}" << comma << "\n";
      continue;
    }
    const auto given = values.find(k.pointer);
    // A required key without a value would make the template invalid; the tests parse it.
    const std::string value =
        given != values.end() ? given->second : (k.default_json.empty() ? "null" : std::string(k.default_json));
    o << indent << name << ": " << value << comma << "  // " << HelpLine(k) << "\n";
  }
}

}  // namespace

Config::Config() {
  for (const ConfigKey& key : kConfigKeys) {
    if (!key.spec.default_json.empty()) Store(*this, key, json::parse(key.spec.default_json));
  }
}

std::span<const KeySpec> ConfigKeys() {
  return kSpecs;
}

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
  Context context(path, text, std::move(credentials_dir));
  if (!root.is_object()) {
    context.Problem("", "the config must be a JSON object");
    load.diagnostics = context.Take();
    return load;
  }
  const json good = CheckKeys(root, "", kSpecs, [&](const std::string& pointer, const std::string& message) {
    context.Problem(pointer, message);
  });

  // Every key the file gives (with the right type and an allowed value)
  // replaces its default.
  Config c;
  c.file = path;
  for (const ConfigKey& key : kConfigKeys) {
    const json::json_pointer at{std::string(key.spec.pointer)};
    if (std::holds_alternative<std::monostate>(key.slot) || !good.contains(at)) continue;
    const json& value = good.at(at);
    Store(c, key, value.is_string() ? json(context.Resolved(key.resolve, value.get<std::string>())) : value);
  }

  if (good.contains("dataverse")) CheckCredentials(c.dataverse, context);
  for (const ConfigKey& key : kConfigKeys) {
    const bool secret = key.resolve == Resolve::kSecretFile;
    if (!secret && key.resolve != Resolve::kCredentialFile && key.resolve != Resolve::kFile) continue;
    const std::string* file = TextIn(c, key);
    if (file != nullptr && !file->empty()) context.CheckFile(std::string(key.spec.pointer), *file, secret);
  }
  // The endpoint answers anyone who reaches it (/status names mappings and
  // paths), so leaving loopback takes an explicit opt-in.
  // (A value that is not HOST:PORT at all has its own problem already.)
  if (!c.status_listen.empty() && !c.status_allow_remote && CheckHostPort(c.status_listen).empty() &&
      !IsLoopbackHost(ListenHost(c.status_listen))) {
    context.Problem("/status_listen", "'" + c.status_listen +
                                          "' is not a loopback address (127.0.0.0/8, ::1, localhost) and the status "
                                          "endpoint has no authentication; bind it to loopback, or set "
                                          "\"status_allow_remote\": true to serve it there anyway");
  }
  if (!c.local_database.empty() && c.local_database == c.state_database) {
    context.Problem("/state/database", "the state store must be a different file from the local store");
  }

  load.diagnostics = context.Take();
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
  const auto q = [](const std::string& s) { return json(s).dump(); };
  std::map<std::string_view, std::string> values = {
      {"/dataverse/url", q(url)},
      {"/dataverse/tenant_id", q(tenant_id)},
      {"/dataverse/client_id", q(client_id)},
      {"/dataverse/client_secret_file", q("client-secret")},  // `crmsync init` writes it
      {"/local/database", q(dir + "/crm.db")},
      {"/state/database", q(dir + "/state.db")},
      {"/mappings", q(dir + "/mappings.d")},
  };
  // A loopback organisation is the bundled emulator, which also issues the tokens.
  if (const auto parts = ParseHttpUrl(url); parts.ok() && IsLoopbackHost(parts->host)) {
    values["/dataverse/authority"] = q(std::string(TrimSlashes(url)));
  }
  std::ostringstream o;
  o << "// crmsync configuration. JSON with // comments; every key is listed with its default.\n"
    << "// Check it with: crmsync --config THIS_FILE config check\n"
    << "{\n";
  WriteMembers(o, "", 1, values);
  o << "}\n";
  return o.str();
}

}  // namespace crmsync::daemon
