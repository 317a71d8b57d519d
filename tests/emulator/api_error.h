// ApiError: builds the Status values the emulator's handlers return for
// Dataverse errors. The Status carries the HTTP status and the Dataverse
// error code (remote_code), and its message is the OData error message, so
// one Status becomes {"error":{"code":...,"message":...}} at the edge.
#pragma once

#include <string>

#include "common/status.h"

namespace crmsync::emulator {

inline Status ApiError(int http_status, std::string code, std::string message) {
  StatusCode sc = StatusCode::kInvalidArgument;
  if (http_status == 404) sc = StatusCode::kNotFound;
  if (http_status == 412) sc = StatusCode::kConflict;
  if (http_status == 401) sc = StatusCode::kUnauthenticated;
  if (http_status == 429) sc = StatusCode::kThrottled;
  if (http_status >= 500) sc = StatusCode::kUnavailable;
  Status s(sc, std::move(message));
  s.set_http_status(http_status).set_remote_code(std::move(code));
  return s;
}

// 400 0x0 "Could not find a property named 'X' on type 'Microsoft.Dynamics.CRM.t'."
inline Status UnknownProperty(const std::string& name, const std::string& type_name) {
  return ApiError(400, "0x0", "Could not find a property named '" + name + "' on type '" + type_name + "'.");
}

}  // namespace crmsync::emulator
