// Result<T>: either a value or a non-ok Status.
//
// The return type of every fallible function at a module boundary. Accessing
// the value of a failed Result is a bug and aborts.
#pragma once

#include <cstdlib>
#include <optional>
#include <utility>

#include "common/status.h"

namespace crmsync {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) std::abort();                     // a Result without a value must carry an error
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { return Checked(), *value_; }
  const T& value() const& { return Checked(), *value_; }
  T&& value() && { return Checked(), std::move(*value_); }

  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void Checked() const {
    if (!value_) std::abort();
  }
  std::optional<T> value_;
  Status status_;
};

}  // namespace crmsync

// NOLINTBEGIN(bugprone-macro-parentheses): `tmp` and `lhs` name or declare
// variables ("auto x"); parentheses around them would not compile.
#define CRMSYNC_CONCAT_INNER_(a, b) a##b
#define CRMSYNC_CONCAT_(a, b) CRMSYNC_CONCAT_INNER_(a, b)
#define CRMSYNC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  lhs = std::move(tmp).value()

// `CRMSYNC_ASSIGN_OR_RETURN(auto x, Compute());` returns the Status on failure.
#define CRMSYNC_ASSIGN_OR_RETURN(lhs, expr) \
  CRMSYNC_ASSIGN_OR_RETURN_IMPL_(CRMSYNC_CONCAT_(crmsync_result_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)
