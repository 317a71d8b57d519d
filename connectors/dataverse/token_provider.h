// Access tokens for the Dataverse Web API: OAuth 2.0 client credentials
// against Microsoft Entra ID (dataverse-web-api.md section 1), with a client
// secret or a certificate (a signed JWT client assertion, RS256 or PS256).
//
// The token is cached until shortly before it expires and shared by every
// worker. Only one refresh runs at a time: the first caller that needs a new
// token requests it (without holding the provider's lock across HTTP); the
// others wait for that refresh within their own deadline (kTimeout when it
// passes first) and then take its token, or its error. A 401 from the API
// invalidates the token it was sent with.
//
// Every answer of the token endpoint becomes a Status, never an exception:
// malformed JSON, JSON that is not an object, members of odd types.
// kUnauthenticated for 4xx and for a 200 without a usable token,
// kUnavailable for 5xx (and Entra's temporarily_unavailable), kThrottled for 429.
//
// Secrets: the client secret, the private key and the assertion never reach
// a log line or a Status message; token errors carry only Entra's error code
// and the first line of its description.
//
// Thread-safety: AccessToken and Invalidate are safe from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/deadline.h"
#include "common/result.h"
#include "http/http_client.h"

namespace crmsync::dataverse {

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A valid access token (kUnauthenticated for rejected credentials,
  // kUnavailable/kTimeout when the authority cannot be reached).
  virtual Result<std::string> AccessToken(Deadline deadline) = 0;
  // Forget `token` if it is the cached one (after the API answered 401).
  virtual void Invalidate(const std::string& token) = 0;
};

struct OAuthCredentials {
  std::string token_url;  // {authority}/{tenant}/oauth2/v2.0/token
  std::string client_id;
  std::string scope;  // {organisation url}/.default
  // Exactly one of: a client secret, or a certificate and its private key.
  std::string client_secret;
  std::string certificate_pem;
  std::string private_key_pem;
  std::string algorithm = "PS256";  // or RS256
};

class OAuthTokenProvider final : public TokenSource {
 public:
  OAuthTokenProvider(http::HttpClient& http, const Clock& clock, OAuthCredentials credentials);

  Result<std::string> AccessToken(Deadline deadline) override;
  void Invalidate(const std::string& token) override;

  int tokens_fetched() const;
  // When the cached token expires (wall time, for the status endpoint's
  // crmsync_token_expiry_timestamp_seconds), or nothing before the first
  // token and after an Invalidate of the cached one. Safe from any thread.
  std::optional<std::chrono::system_clock::time_point> token_expires_at() const;

 private:
  struct Token {
    std::string value;
    std::chrono::seconds lifetime;
  };
  // One HTTP token request and its answer; runs without mutex_.
  Result<Token> Request(Deadline deadline);

  http::HttpClient& http_;
  const Clock& clock_;
  const OAuthCredentials credentials_;
  mutable std::mutex mutex_;  // guards the members below; never held across HTTP
  std::condition_variable_any refreshed_;
  bool refreshing_ = false;               // a caller is requesting a token now
  std::uint64_t refresh_generation_ = 0;  // bumped when a refresh ends
  Status last_refresh_;                   // how the latest refresh ended
  std::string token_;
  std::chrono::steady_clock::time_point refresh_at_{};
  std::chrono::system_clock::time_point expires_at_{};  // of token_, on the wall clock
  int fetched_ = 0;
};

// The token endpoint's answer as a token and its lifetime in seconds, or the
// Status it means (exposed for tests). `token_url` names the endpoint in messages.
struct TokenAnswer {
  std::string access_token;
  long long expires_in = 0;
};
Result<TokenAnswer> ParseTokenResponse(const http::HttpResponse& response, std::string_view token_url);

// base64url without padding (RFC 7515).
std::string Base64Url(std::string_view bytes);

// The signed JWT client assertion (exposed for tests): header with alg, typ,
// x5t and x5t#S256 of the certificate; claims aud, iss, sub, jti, nbf, iat, exp.
Result<std::string> BuildClientAssertion(const OAuthCredentials& credentials, std::chrono::system_clock::time_point now,
                                         const std::string& jti);

// Form-encodes (application/x-www-form-urlencoded) one value.
std::string FormEncode(std::string_view value);

}  // namespace crmsync::dataverse
