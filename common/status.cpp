#include "common/status.h"

#include <cstdlib>

namespace crmsync {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kConflict: return "conflict";
    case StatusCode::kUnauthenticated: return "unauthenticated";
    case StatusCode::kPermissionDenied: return "permission_denied";
    case StatusCode::kThrottled: return "throttled";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kTimeout: return "timeout";
    case StatusCode::kCancelled: return "cancelled";
    case StatusCode::kCursorExpired: return "cursor_expired";
    case StatusCode::kCorrupt: return "corrupt";
    case StatusCode::kIo: return "io";
    case StatusCode::kBusy: return "busy";
    case StatusCode::kInternal: return "internal";
    case StatusCode::kAborted: return "aborted";
  }
  std::abort();  // a value outside the enumeration is a bug
}

Status Status::WithContext(std::string_view context) const {
  Status copy = *this;
  copy.message_ = std::string(context) + ": " + message_;
  return copy;
}

std::string Status::ToString() const {
  std::string out(StatusCodeName(code_));
  if (!message_.empty()) out += ": " + message_;
  if (!remote_code_.empty()) out += " [" + remote_code_ + "]";
  if (http_status_ != 0) out += " (HTTP " + std::to_string(http_status_) + ")";
  return out;
}

bool IsRetryable(const Status& status) {
  switch (status.code()) {
    case StatusCode::kThrottled:
    case StatusCode::kUnavailable:
    case StatusCode::kTimeout:
    case StatusCode::kBusy: return true;
    default: return false;
  }
}

}  // namespace crmsync
