#include "tests/emulator/faults.h"

#include <nlohmann/json.hpp>

namespace crmsync::emulator {

Result<FaultRule> ParseFaultRule(const nlohmann::json& j) {
  if (!j.is_object()) return InvalidArgument("a fault must be a JSON object");
  FaultRule r;
  if (j.contains("match")) {
    const auto& m = j["match"];
    if (!m.is_object()) return InvalidArgument("\"match\" must be an object");
    r.method = m.value("method", "");
    r.entity_set = m.value("entity_set", "");
    r.path_prefix = m.value("path_prefix", "");
  }
  const std::string action = j.value("action", "status");
  if (action == "status") {
    r.action = FaultRule::Action::kStatus;
  } else if (action == "drop") {
    r.action = FaultRule::Action::kDrop;
  } else if (action == "drop_after") {
    r.action = FaultRule::Action::kDropAfter;
  } else if (action == "truncate") {
    r.action = FaultRule::Action::kTruncate;
  } else if (action == "stall") {
    r.action = FaultRule::Action::kStall;
  } else {
    return InvalidArgument("unknown fault action '" + action + "' (status, drop, drop_after, truncate, stall)");
  }
  if (j.contains("status") && !j["status"].is_number_integer()) return InvalidArgument("\"status\" must be an integer");
  r.status = j.value("status", 503);
  if (r.status < 100 || r.status > 599) return InvalidArgument("\"status\" must be an HTTP status");
  r.retry_after_s = j.value("retry_after", -1);
  r.code = j.value("code", "");
  r.message = j.value("message", "");
  r.stall_ms = j.value("stall_ms", 0);
  r.remaining = j.value("count", 1);
  if (r.remaining < 1) return InvalidArgument("\"count\" must be at least 1");
  if (r.action == FaultRule::Action::kStall && r.stall_ms <= 0) return InvalidArgument("a stall needs \"stall_ms\"");
  return r;
}

int FaultInjector::Add(FaultRule rule) {
  std::lock_guard lock(mu_);
  rule.id = next_id_++;
  rules_.push_back(rule);
  return rule.id;
}

void FaultInjector::Clear() {
  std::lock_guard lock(mu_);
  rules_.clear();
}

std::optional<FaultRule> FaultInjector::Take(const std::string& method, const std::string& path,
                                             const std::string& entity_set) {
  std::lock_guard lock(mu_);
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (!it->method.empty() && it->method != method) continue;
    if (!it->entity_set.empty() && it->entity_set != entity_set) continue;
    if (!it->path_prefix.empty() && path.rfind(it->path_prefix, 0) != 0) continue;
    FaultRule taken = *it;
    if (--it->remaining <= 0) rules_.erase(it);
    return taken;
  }
  return std::nullopt;
}

nlohmann::json FaultInjector::List() const {
  std::lock_guard lock(mu_);
  nlohmann::json out = nlohmann::json::array();
  static const char* const kActions[] = {"status", "drop", "drop_after", "truncate", "stall"};
  for (const auto& r : rules_) {
    out.push_back({{"id", r.id},
                   {"match", {{"method", r.method}, {"entity_set", r.entity_set}, {"path_prefix", r.path_prefix}}},
                   {"action", kActions[static_cast<int>(r.action)]},
                   {"status", r.status},
                   {"remaining", r.remaining}});
  }
  return out;
}

void Counters::Record(const std::string& method, const std::string& entity_set, int status) {
  std::lock_guard lock(mu_);
  ++total_;
  ++by_method_[method];
  if (!entity_set.empty()) ++by_entity_set_[entity_set];
  ++by_status_[std::to_string(status)];
}

nlohmann::json Counters::Snapshot() const {
  std::lock_guard lock(mu_);
  return {{"total", total_}, {"by_method", by_method_}, {"by_entity_set", by_entity_set_}, {"by_status", by_status_}};
}

void Counters::Reset() {
  std::lock_guard lock(mu_);
  total_ = 0;
  by_method_.clear();
  by_entity_set_.clear();
  by_status_.clear();
}

}  // namespace crmsync::emulator
