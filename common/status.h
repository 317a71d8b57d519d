// Status: the outcome of an operation at a module boundary.
//
// A Status is a small value: a code from a closed set, a human message, and
// optional facts a caller may act on (a server's Retry-After, the remote
// system's own error code, the HTTP status). Codes are part of the product:
// they appear in logs, the error queue and the audit log under the stable
// names returned by StatusCodeName(), so never renumber or rename them.
//
// Exceptions stop where they are thrown (cpprestsdk, nlohmann/json, std::sto*):
// the single call site catches and converts to a Status. Broken invariants
// are bugs and abort; they are not Statuses.
//
// A Status is [[nodiscard]], like Result: a caller handles it or returns it;
// where ignoring one is truly right, it says so with `(void)` and a comment.
//
// Thread-safety: a Status is a value; copies are independent.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace crmsync {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad input from a user, a file or the remote side; permanent
  kNotFound,          // the named thing does not exist; permanent
  kAlreadyExists,     // a create met an existing key; permanent
  kConflict,          // a precondition failed (ETag or journal position moved)
  kUnauthenticated,   // credentials missing, wrong or expired
  kPermissionDenied,  // authenticated but not allowed; permanent
  kThrottled,         // the remote side asked us to slow down (429); transient
  kUnavailable,       // the remote side or the network failed (5xx, reset, refused); transient
  kTimeout,           // the deadline passed before an answer; transient
  kCancelled,         // the stop token fired; not an error of the data
  kCursorExpired,     // a change cursor (delta token) is no longer accepted
  kCorrupt,           // stored data failed an integrity check
  kIo,                // local file or database I/O failed
  kBusy,              // a local resource is held by another process
  kInternal,          // a bug or an unexpected library failure
  kAborted,           // not applied because another operation of its atomic group failed
};

// Stable snake_case name of a code ("invalid_argument", "throttled", ...).
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // How long the remote side asked us to wait before retrying, if it said.
  std::optional<std::chrono::milliseconds> retry_after() const { return retry_after_; }
  Status& set_retry_after(std::chrono::milliseconds d) {
    retry_after_ = d;
    return *this;
  }

  // The remote system's own error code (for Dataverse the hex string such as
  // "0x80040217"), kept verbatim so nobody has to parse messages.
  const std::string& remote_code() const { return remote_code_; }
  Status& set_remote_code(std::string c) {
    remote_code_ = std::move(c);
    return *this;
  }

  // The HTTP status that produced this Status, 0 when none.
  int http_status() const { return http_status_; }
  Status& set_http_status(int s) {
    http_status_ = s;
    return *this;
  }

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

  // "code_name: message" (plus remote code and HTTP status when present).
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::optional<std::chrono::milliseconds> retry_after_;
  std::string remote_code_;
  int http_status_ = 0;
};

// The one place that decides whether an operation that failed with `status`
// may succeed if simply tried again later (throttling, outages, timeouts).
bool IsRetryable(const Status& status);

// Shorthands for the common cases.
inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status Internal(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}
inline Status IoError(std::string m) {
  return {StatusCode::kIo, std::move(m)};
}

}  // namespace crmsync

// Returns early from the enclosing function when `expr` yields a non-ok Status.
#define CRMSYNC_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::crmsync::Status crmsync_status_ = (expr);        \
    if (!crmsync_status_.ok()) return crmsync_status_; \
  } while (false)
