// TestClient: a small synchronous HTTP(S) client for the emulator's tests and
// benchmark, written with Boost.Beast (deliberately not crmsync's own client
// code). One keep-alive connection, reopened when the server closes it.
// Transport failures (dropped connection, truncated body, timeout) come back
// as a Response with `error` set - they never throw.
//
// Not thread-safe: one client per thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace crmsync::emulator::testing {

struct Response {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;
  std::string error;  // non-empty: the transport failed

  std::string Header(const std::string& lower_name) const;
  bool HasHeader(const std::string& lower_name) const;
  nlohmann::json Json() const;  // discarded value when the body is not JSON
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class TestClient {
 public:
  // `base_url` like "http://127.0.0.1:43211" or "https://..."; `ca_pem` trusts
  // that CA for HTTPS (hostname / IP SAN verification stays on).
  explicit TestClient(std::string base_url, std::string ca_pem = "");
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  // `target` is a path ("/api/data/v9.2/accounts") or an absolute URL on the same server.
  Response Send(const std::string& method, const std::string& target, const Headers& headers = {},
                const std::string& body = "");

  // Convenience for the Web API: adds Authorization (when a token is set), OData headers and JSON content type.
  Response Api(const std::string& method, const std::string& target, const std::string& body = "", Headers extra = {});
  void set_token(std::string token) { token_ = std::move(token); }
  const std::string& token() const { return token_; }
  void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

  // Sends raw bytes on a fresh connection and returns what the server sent
  // back until it closed the connection or `timeout` passed.
  std::string SendRaw(const std::string& bytes, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // Requests a token with the client secret; empty on failure.
  static std::string FetchToken(const std::string& base_url, const std::string& tenant, const std::string& client_id,
                                const std::string& secret, const std::string& ca_pem = "");

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string token_;
  std::chrono::milliseconds timeout_{std::chrono::seconds(30)};
};

// application/x-www-form-urlencoded encoding of one value.
std::string FormEncode(const std::string& s);

}  // namespace crmsync::emulator::testing
