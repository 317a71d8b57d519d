// Admin: the emulator's own JSON API under /_admin/ (not part of Dataverse;
// no token needed). Seed and dump records, edit or delete one as a Dataverse
// user would, reset, inject faults, expire tokens or change tracking, read
// and reset request counters, and change latency / execution time / limits /
// token lifetime at run time.
//
//   POST   /_admin/seed                     {"entity_set":"accounts","records":[{...}]} -> {"entity_set":..,"ids":[..]}
//   GET    /_admin/dump/{entity_set}        -> {"entity_set":..,"count":N,"value":[records as the Web API shows them]}
//   PATCH  /_admin/records/{set}({id})      {columns} -> {"id":..,"versionnumber":N}
//   DELETE /_admin/records/{set}({id})      -> 204
//   POST   /_admin/reset                    -> 204 (data, faults, throttle windows, counters)
//   POST   /_admin/faults {"match":{"method","entity_set","path_prefix"},
//                          "action":"status|drop|drop_after|truncate|stall","status":503,"retry_after":2,
//                          "code":"0x80044150","message":"..","stall_ms":N,"count":N} -> {"id":N}
//                          (drop: closed before the request runs; drop_after: closed once it ran, so a
//                          write is applied and its answer lost; stall: the request runs, its answer is
//                          held stall_ms). Rules match the HTTP request: the parts of a $batch are not
//                          matched on their own (match "$batch", or a path_prefix)
//   GET    /_admin/faults                   -> [rules];   DELETE /_admin/faults -> 204
//   POST   /_admin/tokens/expire            -> 204
//   POST   /_admin/change-tracking/expire   -> 204
//   GET    /_admin/counters                 -> {"total":N,"by_method":{},"by_entity_set":{},"by_status":{}}
//   POST   /_admin/counters/reset           -> 204
//   GET    /_admin/throttle                 -> {"<client id>":{"in_flight":N,"requests_in_window":N,
//                                               "execution_ms_in_window":N}}
//   GET    /_admin/settings                 -> {"latency_ms","exec_ms","token_lifetime_s","limits":{...}}
//   PATCH  /_admin/settings                 same shape, any subset -> the new settings
//   GET    /_admin/health                   -> {"status":"ok","base_url":..,"tenant":..}
//
// Thread-safe (delegates to synchronised components).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "tests/emulator/auth.h"
#include "tests/emulator/faults.h"
#include "tests/emulator/http_message.h"
#include "tests/emulator/throttle.h"
#include "tests/emulator/web_api.h"

namespace crmsync::emulator {

// Settings the admin API may change while the emulator runs.
struct RuntimeSettings {
  std::atomic<int> latency_ms{0};
  std::atomic<int> exec_ms{0};
};

struct AdminDeps {
  WebApi& api;
  Auth& auth;
  Throttle& throttle;
  FaultInjector& faults;
  Counters& counters;
  RuntimeSettings& settings;
  std::vector<ClientRegistration> clients;
};

class Admin {
 public:
  explicit Admin(AdminDeps deps) : d_(std::move(deps)) {}
  HttpResponse Handle(const HttpRequest& request);
  // Creates records as the system would; returns {"entity_set":..,"ids":[..]}.
  Result<nlohmann::json> Seed(const std::string& entity_set, const nlohmann::json& records);
  void SetBaseUrl(std::string base_url) { base_url_ = std::move(base_url); }

 private:
  RequestContext Context();
  nlohmann::json Settings() const;

  AdminDeps d_;
  std::string base_url_;
};

}  // namespace crmsync::emulator
