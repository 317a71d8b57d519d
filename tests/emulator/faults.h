// Faults: the emulator's fault injector. Admin rules make the next N
// matching requests answer with a status (500/503/429 with an OData error
// code and optional Retry-After), drop the connection before the request is
// applied (drop) or after it was (drop_after: the write happened, the client
// never hears of it), truncate the body or stall. Counters: requests served by method, entity set and status.
//
// Thread-safe (one mutex each).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/result.h"

namespace crmsync::emulator {

struct FaultRule {
  enum class Action { kStatus, kDrop, kDropAfter, kTruncate, kStall };
  int id = 0;
  // Match (empty = any).
  std::string method;
  std::string entity_set;  // "accounts", "$batch", "token" for the token endpoint
  std::string path_prefix;
  Action action = Action::kStatus;
  int status = 503;
  int retry_after_s = -1;  // -1: no Retry-After header
  std::string code;        // OData error code, e.g. 0x80044150
  std::string message;
  int stall_ms = 0;
  int remaining = 1;
};

// Parses the admin JSON {match:{method?,entity_set?,path_prefix?}, action, status?, retry_after?, code?,
// message?, stall_ms?, count?}.
Result<FaultRule> ParseFaultRule(const nlohmann::json& j);

class FaultInjector {
 public:
  int Add(FaultRule rule);
  void Clear();
  // Consumes one use of the first rule matching the request, if any.
  std::optional<FaultRule> Take(const std::string& method, const std::string& path, const std::string& entity_set);
  nlohmann::json List() const;

 private:
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  int next_id_ = 1;
};

class Counters {
 public:
  void Record(const std::string& method, const std::string& entity_set, int status);
  nlohmann::json Snapshot() const;  // {"total":N,"by_method":{},"by_entity_set":{},"by_status":{}}
  void Reset();

 private:
  mutable std::mutex mu_;
  std::int64_t total_ = 0;
  std::map<std::string, std::int64_t> by_method_, by_entity_set_, by_status_;
};

}  // namespace crmsync::emulator
