// Backoff: capped exponential delays with full jitter, the one formula every
// retry loop in crmsync uses (AWS "full jitter": uniform in [0, min(cap, base*2^n)]).
// A server's Retry-After, when given, wins over the formula.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

namespace crmsync {

struct BackoffPolicy {
  std::chrono::milliseconds base{250};
  std::chrono::milliseconds cap{30000};
};

// Delay before retry number `attempt` (0 = first retry). `random01` is a
// uniform draw in [0, 1) supplied by the caller (tests pass fixed values).
std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int attempt, double random01,
                                       std::optional<std::chrono::milliseconds> retry_after = std::nullopt);

}  // namespace crmsync
