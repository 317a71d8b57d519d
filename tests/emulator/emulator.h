// Emulator: a running Dataverse emulator - the HTTP(S) server wired to the
// token endpoint, the Web API, $batch, service protection, fault injection,
// counters and the /_admin/ API. Tests start one in-process on port 0
// (Emulator::Start) or run the dataverse-emulator binary (EmulatorProcess).
//
// EmulatorOptions come from defaults, an optional JSON-with-comments config
// file (LoadConfigFile) and command-line flags (ApplyArgs), in that order.
//
// Thread-safety: Start/Stop from the owner; everything else is internally
// synchronised. Stop() (also run by the destructor) returns promptly.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tests/emulator/auth.h"
#include "tests/emulator/throttle.h"

namespace crmsync::emulator {

inline constexpr char kDefaultTenant[] = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
inline constexpr char kDefaultClientId[] = "11111111-2222-3333-4444-555555555555";
inline constexpr char kDefaultClientSecret[] = "emulator-secret";

struct EmulatorOptions {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string tls_cert_pem;  // HTTPS when both are set
  std::string tls_key_pem;
  std::string tenant = std::string(kDefaultTenant);
  std::vector<ClientRegistration> clients;  // empty: one default client (kDefaultClientId / kDefaultClientSecret)
  std::vector<std::string> resources;       // accepted token resources; empty accepts any
  int token_lifetime_s = 3599;
  ThrottleLimits limits;
  int latency_ms = 0;  // added to every request
  int exec_ms = 0;     // per data operation; counts toward the execution-time limit
  std::int64_t change_tracking_retention_s = 7 * 24 * 3600;
  bool enforce_application_required = true;
  std::string base_currency = "USD";
  std::uint64_t seed = 0;                             // GUID generator seed; 0 = random
  nlohmann::json entities = nlohmann::json::array();  // extra entity definitions (entities.json shape)
  nlohmann::json records = nlohmann::json::object();  // {"accounts":[{...}], ...} created at start
};

// Reads a config file (JSON with comments) into `options`; every problem is
// listed with its line.
Status LoadConfigText(std::string_view text, EmulatorOptions& options);
Status LoadConfigFile(const std::string& path, EmulatorOptions& options);
// Applies command-line flags (argv without the program name); --config is read first.
// Sets *help when --help was given.
Status ApplyArgs(const std::vector<std::string>& args, EmulatorOptions& options, bool* help);
std::string UsageText();

class Emulator {
 public:
  static Result<std::unique_ptr<Emulator>> Start(EmulatorOptions options);
  ~Emulator();
  Emulator(const Emulator&) = delete;
  Emulator& operator=(const Emulator&) = delete;

  // "http://127.0.0.1:43211" (https with TLS), no trailing slash.
  const std::string& base_url() const;
  // base_url() + "/api/data/v9.2/"
  std::string api_url() const;
  // base_url() + "/" + tenant + "/oauth2/v2.0/token"
  std::string token_url() const;
  const EmulatorOptions& options() const;
  void Stop();

 private:
  struct Impl;
  explicit Emulator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace crmsync::emulator
