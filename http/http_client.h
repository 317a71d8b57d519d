// HttpClient: the seam between crmsync and any HTTP transport.
//
// One call sends one request and returns the response, or a transport
// Status when no complete response arrived. Every HTTP status, 4xx and 5xx
// included, is a response, not an error: interpreting statuses is the
// caller's business (the Dataverse connector maps them to Status codes).
// An implementation never throws, never retries, and never logs secrets
// (it does not log request headers or bodies at all).
//
// Transport error codes: kTimeout (deadline passed), kUnavailable (refused,
// reset, closed mid-response, DNS), kCancelled (stop requested),
// kInvalidArgument (malformed URL, plain http to a non-loopback host),
// kPermissionDenied (TLS verification failed).
//
// Thread-safety: Send may be called concurrently from any number of threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/deadline.h"
#include "common/result.h"

namespace crmsync::http {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  std::string url;  // absolute
  Headers headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  Headers headers;
  std::string body;  // raw bytes

  // Case-insensitive header lookup; the first value, or "" when absent.
  std::string Header(std::string_view name) const;
  bool HasHeader(std::string_view name) const;
};

class HttpClient {
 public:
  virtual ~HttpClient() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request, Deadline deadline) = 0;
};

// Case-insensitive ASCII comparison, for header names.
bool HeaderNameEquals(std::string_view a, std::string_view b);

}  // namespace crmsync::http
