// Auth: the Microsoft identity platform's token endpoint as the emulator
// serves it (POST /{tenant}/oauth2/v2.0/token, client credentials with a
// client secret or a certificate client assertion, dataverse-web-api.md
// section 1) and bearer-token checks for the Web API (401 challenge).
//
// Thread-safe: issued tokens and seen assertion ids live behind a mutex.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tests/emulator/http_message.h"

namespace crmsync::emulator {

struct ClientRegistration {
  std::string client_id;
  std::string client_secret;    // empty: no secret accepted
  std::string certificate_pem;  // empty: no assertion accepted
  bool secret_expired = false;  // answer AADSTS7000222 for the secret
};

struct AuthOptions {
  std::string tenant;
  std::vector<ClientRegistration> clients;
  int token_lifetime_s = 3599;
  // Resources (scope without "/.default") accepted; empty accepts any single resource.
  std::vector<std::string> resources;
  int clock_skew_s = 300;  // tolerance for assertion exp/nbf
};

struct Principal {
  std::string client_id;
};

class Auth {
 public:
  // Parses the registered certificates; fails on an unreadable PEM.
  static Result<std::unique_ptr<Auth>> Create(AuthOptions options);
  ~Auth();
  Auth(const Auth&) = delete;
  Auth& operator=(const Auth&) = delete;

  // POST /{tenant}/oauth2/v2.0/token. `base_url` is the emulator's own URL
  // (an assertion may name the emulator's token URL as its audience).
  HttpResponse HandleTokenRequest(std::string_view tenant, const HttpRequest& request, std::string_view base_url);

  // The caller of an API request, or nullopt for a missing, unknown or expired token.
  std::optional<Principal> Authenticate(const HttpRequest& request);

  // 401 with WWW-Authenticate naming the tenant authority and resource.
  HttpResponse Challenge(std::string_view base_url) const;

  void ExpireAllTokens();
  void SetTokenLifetime(int seconds);
  int token_lifetime_s() const;
  const std::string& tenant() const { return options_.tenant; }

 private:
  struct Cert;
  struct Issued {
    std::string client_id;
    std::chrono::steady_clock::time_point expires;
  };
  explicit Auth(AuthOptions options);
  HttpResponse Error(int status, std::string_view error, int code, const std::string& description);
  std::optional<HttpResponse> CheckAssertion(const ClientRegistration& client, std::string_view assertion,
                                             std::string_view base_url);
  std::string RandomToken(std::size_t bytes);

  AuthOptions options_;
  std::vector<std::unique_ptr<Cert>> certs_;  // parallel to options_.clients (null when none)
  mutable std::mutex mu_;
  std::map<std::string, Issued, std::less<>> tokens_;
  std::map<std::string, std::chrono::system_clock::time_point> seen_jti_;
  std::mt19937_64 rng_;
};

// base64url without padding, and its inverse (nullopt on bad input).
std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace crmsync::emulator
