#include "tests/emulator/throttle.h"

#include "tests/emulator/representation.h"

namespace crmsync::emulator {

void Throttle::Expire(UserState& s, std::chrono::steady_clock::time_point now) const {
  const auto req_cut = now - std::chrono::seconds(limits_.request_window_s);
  while (!s.requests.empty() && s.requests.front() <= req_cut) s.requests.pop_front();
  const auto exec_cut = now - std::chrono::seconds(limits_.execution_window_s);
  while (!s.executions.empty() && s.executions.front().first <= exec_cut) {
    s.execution_sum -= s.executions.front().second;
    s.executions.pop_front();
  }
}

namespace {
int CeilSeconds(std::chrono::steady_clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  const auto s = (ms + 999) / 1000;
  return static_cast<int>(s < 1 ? 1 : s);
}
}  // namespace

Throttle::Decision Throttle::Admit(const std::string& user) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  UserState& s = users_[user];
  Expire(s, now);
  Decision d;
  if (s.in_flight >= limits_.concurrency) {
    d.allowed = false;
    d.code = "0x80072326";
    d.message = "Number of concurrent requests exceeded the limit of " + std::to_string(limits_.concurrency) + ".";
    d.retry_after_s = 1;
    return d;
  }
  if (static_cast<int>(s.requests.size()) >= limits_.requests) {
    d.allowed = false;
    d.code = "0x80072322";
    d.message = "Number of requests exceeded the limit of " + std::to_string(limits_.requests) +
                " over time window of " + std::to_string(limits_.request_window_s) + " seconds.";
    d.retry_after_s = CeilSeconds(s.requests.front() + std::chrono::seconds(limits_.request_window_s) - now);
    return d;
  }
  if (s.execution_sum > limits_.execution_ms) {
    d.allowed = false;
    d.code = "0x80072321";
    d.message = "Combined execution time of incoming requests exceeded limit of " +
                FormatNumber(static_cast<double>(limits_.execution_ms), 0) + " milliseconds over time window of " +
                std::to_string(limits_.execution_window_s) +
                " seconds. Decrease number of concurrent requests or reduce the duration of requests and try again "
                "later.";
    // Wait until enough old executions leave the window.
    std::int64_t sum = s.execution_sum;
    auto until = now;
    for (const auto& [when, ms] : s.executions) {
      sum -= ms;
      until = when + std::chrono::seconds(limits_.execution_window_s);
      if (sum <= limits_.execution_ms) break;
    }
    d.retry_after_s = CeilSeconds(until - now);
    return d;
  }
  s.requests.push_back(now);
  ++s.in_flight;
  d.remaining_requests = limits_.requests - static_cast<int>(s.requests.size());
  d.remaining_ms = limits_.execution_ms - s.execution_sum;
  return d;
}

void Throttle::Finish(const std::string& user, std::chrono::milliseconds execution) {
  std::lock_guard lock(mu_);
  UserState& s = users_[user];
  if (s.in_flight > 0) --s.in_flight;
  s.executions.emplace_back(std::chrono::steady_clock::now(), execution.count());
  s.execution_sum += execution.count();
}

void Throttle::SetLimits(const ThrottleLimits& limits) {
  std::lock_guard lock(mu_);
  limits_ = limits;
}

ThrottleLimits Throttle::limits() const {
  std::lock_guard lock(mu_);
  return limits_;
}

nlohmann::json Throttle::Snapshot() {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  nlohmann::json out = nlohmann::json::object();
  for (auto& [user, s] : users_) {
    Expire(s, now);
    out[user] = {{"in_flight", s.in_flight},
                 {"requests_in_window", s.requests.size()},
                 {"execution_ms_in_window", s.execution_sum}};
  }
  return out;
}

void Throttle::Reset() {
  std::lock_guard lock(mu_);
  for (auto& [user, s] : users_) {
    s.requests.clear();
    s.executions.clear();
    s.execution_sum = 0;
  }
}

}  // namespace crmsync::emulator
