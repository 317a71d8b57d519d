#include "common/backoff.h"

#include <algorithm>

namespace crmsync {

std::chrono::milliseconds BackoffDelay(const BackoffPolicy& policy, int attempt, double random01,
                                       std::optional<std::chrono::milliseconds> retry_after) {
  if (retry_after) return std::max(*retry_after, std::chrono::milliseconds(0));
  const int shift = std::clamp(attempt, 0, 30);
  const std::int64_t ceiling =
      std::min<std::int64_t>(policy.cap.count(), policy.base.count() * (std::int64_t{1} << shift));
  const double r = std::clamp(random01, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(ceiling) * r));
}

}  // namespace crmsync
