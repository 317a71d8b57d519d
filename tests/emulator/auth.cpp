#include "tests/emulator/auth.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include <nlohmann/json.hpp>

#include "common/time_format.h"

namespace crmsync::emulator {

namespace {
constexpr std::string_view kAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
constexpr std::string_view kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
}  // namespace

std::string Base64UrlEncode(std::string_view bytes) {
  std::string out;
  std::size_t i = 0;
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned v = b[i] << 16;
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    const unsigned v = (b[i] << 16) | (b[i + 1] << 8);
    out += kB64[(v >> 18) & 63];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  unsigned acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '-' || c == '+')
      v = 62;
    else if (c == '_' || c == '/')
      v = 63;
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  if (bits >= 6) return std::nullopt;
  return out;
}

struct Auth::Cert {
  X509* x509 = nullptr;
  EVP_PKEY* key = nullptr;  // public key
  std::string sha1;         // raw digests
  std::string sha256;
  ~Cert() {
    EVP_PKEY_free(key);
    X509_free(x509);
  }
};

Auth::Auth(AuthOptions options) : options_(std::move(options)), rng_(std::random_device{}()) {}

Auth::~Auth() = default;

Result<std::unique_ptr<Auth>> Auth::Create(AuthOptions options) {
  std::unique_ptr<Auth> auth(new Auth(std::move(options)));
  for (const auto& c : auth->options_.clients) {
    if (c.certificate_pem.empty()) {
      auth->certs_.push_back(nullptr);
      continue;
    }
    auto cert = std::make_unique<Cert>();
    BIO* bio = BIO_new_mem_buf(c.certificate_pem.data(), static_cast<int>(c.certificate_pem.size()));
    cert->x509 = bio == nullptr ? nullptr : PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    if (cert->x509 == nullptr) return InvalidArgument("client '" + c.client_id + "': unreadable certificate PEM");
    cert->key = X509_get_pubkey(cert->x509);
    if (cert->key == nullptr) return InvalidArgument("client '" + c.client_id + "': certificate has no public key");
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    X509_digest(cert->x509, EVP_sha1(), md, &len);
    cert->sha1.assign(reinterpret_cast<char*>(md), len);
    X509_digest(cert->x509, EVP_sha256(), md, &len);
    cert->sha256.assign(reinterpret_cast<char*>(md), len);
    auth->certs_.push_back(std::move(cert));
  }
  return auth;
}

std::string Auth::RandomToken(std::size_t bytes) {
  std::string raw;
  for (std::size_t i = 0; i < bytes; ++i) raw += static_cast<char>(rng_() & 0xFF);
  return Base64UrlEncode(raw);
}

namespace {
std::string RandomGuid(std::mt19937_64& rng) {
  static const char kHex[] = "0123456789abcdef";
  std::string g;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) g += '-';
    g += kHex[rng() & 15];
  }
  return g;
}

std::string AadTimestamp() {
  const std::time_t tt = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}
}  // namespace

HttpResponse Auth::Error(int status, std::string_view error, int code, const std::string& description) {
  std::string trace, correlation;
  {
    std::lock_guard lock(mu_);
    trace = RandomGuid(rng_);
    correlation = RandomGuid(rng_);
  }
  const std::string ts = AadTimestamp();
  nlohmann::ordered_json body;
  body["error"] = error;
  body["error_description"] = "AADSTS" + std::to_string(code) + ": " + description + "\r\nTrace ID: " + trace +
                              "\r\nCorrelation ID: " + correlation + "\r\nTimestamp: " + ts;
  body["error_codes"] = nlohmann::json::array({code});
  body["timestamp"] = ts;
  body["trace_id"] = trace;
  body["correlation_id"] = correlation;
  body["error_uri"] = "https://login.microsoftonline.com/error?code=" + std::to_string(code);
  HttpResponse r;
  r.status = status;
  r.Set("Content-Type", "application/json; charset=utf-8");
  r.Set("Cache-Control", "no-store, no-cache");
  r.body = body.dump();
  return r;
}

namespace {

bool VerifySignature(EVP_PKEY* key, bool pss, std::string_view data, std::string_view sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) return false;
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", nullptr, nullptr, key, nullptr) == 1;
  if (ok && pss) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1;
  }
  if (ok) {
    ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string Hex(std::string_view raw) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  return EqualsIgnoreCase(a, b);
}

std::optional<std::int64_t> NumericClaim(const nlohmann::json& payload, const char* name) {
  auto it = payload.find(name);
  if (it == payload.end()) return std::nullopt;
  if (it->is_number()) return it->get<std::int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<HttpResponse> Auth::CheckAssertion(const ClientRegistration& client, std::string_view assertion,
                                                 std::string_view base_url) {
  const std::size_t index = static_cast<std::size_t>(&client - options_.clients.data());
  const Cert* cert = index < certs_.size() ? certs_[index].get() : nullptr;
  auto invalid = [&](const std::string& why) {
    return Error(401, "invalid_client", 50013, "Assertion failed signature validation. [Reason - " + why + "]");
  };
  if (cert == nullptr) {
    return Error(401, "invalid_client", 700027,
                 "The certificate with identifier used to sign the client assertion is not registered on application "
                 "'" +
                     client.client_id + "'.");
  }
  const auto dot1 = assertion.find('.');
  const auto dot2 = dot1 == std::string_view::npos ? dot1 : assertion.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || assertion.find('.', dot2 + 1) != std::string_view::npos) {
    return invalid("The client assertion is not a JWT (header.payload.signature).");
  }
  auto header_text = Base64UrlDecode(assertion.substr(0, dot1));
  auto payload_text = Base64UrlDecode(assertion.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = Base64UrlDecode(assertion.substr(dot2 + 1));
  if (!header_text || !payload_text || !sig) return invalid("The client assertion is not valid base64url.");
  const nlohmann::json header = nlohmann::json::parse(*header_text, nullptr, false);
  const nlohmann::json payload = nlohmann::json::parse(*payload_text, nullptr, false);
  if (!header.is_object() || !payload.is_object()) return invalid("The client assertion is not valid JSON.");
  const std::string alg = header.value("alg", "");
  if (alg != "RS256" && alg != "PS256") {
    return invalid("'" + alg + "' is not a supported signature algorithm; use RS256 or PS256.");
  }
  // Certificate thumbprint: x5t (SHA-1), x5t#S256 (SHA-256) or kid (either, base64url or hex).
  bool thumb_seen = false, thumb_ok = false;
  auto check = [&](const char* name, const std::string& digest) {
    auto it = header.find(name);
    if (it == header.end() || !it->is_string()) return;
    thumb_seen = true;
    const std::string v = it->get<std::string>();
    auto raw = Base64UrlDecode(v);
    if ((raw && *raw == digest) || EqualsIgnoreCaseAscii(v, Hex(digest))) thumb_ok = true;
  };
  check("x5t", cert->sha1);
  check("x5t#S256", cert->sha256);
  check("kid", cert->sha1);
  check("kid", cert->sha256);
  if (!thumb_seen) return invalid("The client assertion header has no x5t, x5t#S256 or kid thumbprint.");
  if (!thumb_ok) {
    return Error(401, "invalid_client", 700027,
                 "Client assertion failed signature validation. The key was not found: the thumbprint does not match "
                 "any certificate registered on application '" +
                     client.client_id + "'.");
  }
  if (!VerifySignature(cert->key, alg == "PS256", assertion.substr(0, dot2), *sig)) {
    return invalid("The signature of the client assertion is not valid.");
  }
  const std::string tenant = options_.tenant;
  const std::string aud = payload.value("aud", "");
  const std::vector<std::string> audiences = {
      "https://login.microsoftonline.com/" + tenant + "/oauth2/v2.0/token",
      "https://login.microsoftonline.com/" + tenant + "/v2.0",
      std::string(base_url) + "/" + tenant + "/oauth2/v2.0/token",
      std::string(base_url) + "/" + tenant + "/v2.0",
  };
  if (std::find(audiences.begin(), audiences.end(), aud) == audiences.end()) {
    return invalid("The audience '" + aud + "' is not valid; expected '" + audiences[0] + "'.");
  }
  if (payload.value("iss", "") != client.client_id || payload.value("sub", "") != client.client_id) {
    return invalid("The iss and sub claims must both be the client id '" + client.client_id + "'.");
  }
  const auto exp = NumericClaim(payload, "exp");
  const auto nbf = NumericClaim(payload, "nbf");
  const std::int64_t now = std::time(nullptr);
  if (!exp) return invalid("The client assertion has no exp claim.");
  if (*exp + options_.clock_skew_s < now) {
    return Error(401, "invalid_client", 500133,
                 "Assertion is not within its valid time range. Ensure that the access token is not expired before "
                 "using it for user assertion, or request a new token. Current time: " +
                     std::to_string(now) + ", expiry time of assertion " + std::to_string(*exp) + ".");
  }
  if (nbf && *nbf - options_.clock_skew_s > now) {
    return Error(401, "invalid_client", 500133,
                 "Assertion is not within its valid time range. Current time: " + std::to_string(now) +
                     ", assertion valid from " + std::to_string(*nbf) + ".");
  }
  const std::string jti = payload.value("jti", "");
  if (jti.empty()) return invalid("The client assertion has no jti claim.");
  bool replayed = false;
  {
    std::lock_guard lock(mu_);
    const auto sys_now = std::chrono::system_clock::now();
    for (auto it = seen_jti_.begin(); it != seen_jti_.end();) {
      it = it->second < sys_now ? seen_jti_.erase(it) : std::next(it);
    }
    replayed = seen_jti_.count(jti) != 0;
    if (!replayed) {
      seen_jti_[jti] = std::chrono::system_clock::from_time_t(static_cast<std::time_t>(*exp + options_.clock_skew_s));
    }
  }
  if (replayed) return invalid("The jti '" + jti + "' of the client assertion was already used (replay).");
  return std::nullopt;
}

HttpResponse Auth::HandleTokenRequest(std::string_view tenant, const HttpRequest& request, std::string_view base_url) {
  if (tenant == "common" || tenant == "consumers" || tenant == "organizations") {
    return Error(400, "invalid_request", 9001023,
                 "The grant type isn't supported over the /common or /consumers endpoints. Please use the "
                 "/organizations or tenant-specific endpoint.");
  }
  if (tenant != options_.tenant) {
    return Error(400, "invalid_request", 90002,
                 "Tenant '" + std::string(tenant) +
                     "' not found. Check to make sure you have the correct tenant ID and are signing into the correct "
                     "cloud.");
  }
  std::map<std::string, std::string> form;
  const std::string content_type = ToLower(request.Header("content-type"));
  if (content_type.starts_with("application/x-www-form-urlencoded")) {
    for (auto& p : ParseQuery(request.body)) form[p.name] = p.value;
  }
  // HTTP Basic client authentication.
  const std::string authz = request.Header("authorization");
  if (authz.size() > 6 && EqualsIgnoreCase(authz.substr(0, 6), "Basic ")) {
    std::string b64 = authz.substr(6);
    for (char& c : b64) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    if (auto decoded = Base64UrlDecode(b64)) {
      const auto colon = decoded->find(':');
      if (colon != std::string::npos) {
        form.emplace("client_id", PercentDecode(decoded->substr(0, colon), true));
        form.emplace("client_secret", PercentDecode(decoded->substr(colon + 1), true));
      }
    }
  }
  auto missing = [&](const char* name) {
    return Error(400, "invalid_request", 900144,
                 std::string("The request body must contain the following parameter: '") + name + "'.");
  };
  const auto grant = form.find("grant_type");
  if (grant == form.end()) return missing("grant_type");
  if (grant->second != "client_credentials") {
    return Error(400, "unsupported_grant_type", 70003,
                 "The app requested an unsupported grant type '" + grant->second + "'.");
  }
  const auto cid = form.find("client_id");
  if (cid == form.end() || cid->second.empty()) return missing("client_id");
  const ClientRegistration* client = nullptr;
  for (const auto& c : options_.clients) {
    if (c.client_id == cid->second) client = &c;
  }
  if (client == nullptr) {
    return Error(400, "unauthorized_client", 700016,
                 "Application with identifier '" + cid->second + "' was not found in the directory '" +
                     options_.tenant +
                     "'. This can happen if the application has not been installed by the administrator of the "
                     "tenant or consented to by any user in the tenant. You may have sent your authentication "
                     "request to the wrong tenant.");
  }
  const auto scope_it = form.find("scope");
  if (scope_it == form.end() || Trim(scope_it->second).empty()) return missing("scope");
  std::set<std::string> resources;
  std::string_view scopes = scope_it->second;
  while (!scopes.empty()) {
    const auto sp = scopes.find(' ');
    const std::string_view s = scopes.substr(0, sp);
    scopes = sp == std::string_view::npos ? std::string_view() : scopes.substr(sp + 1);
    if (s.empty()) continue;
    if (!s.ends_with("/.default")) {
      return Error(400, "invalid_scope", 70011,
                   "The provided value for the input parameter 'scope' is not valid. The scope " + std::string(s) +
                       " is not valid. The scope format is invalid. Scope must be in a valid URI form "
                       "<https://example/scope> or a valid Guid <guid/scope>.");
    }
    resources.insert(std::string(s.substr(0, s.size() - 9)));
  }
  if (resources.size() > 1) {
    return Error(400, "invalid_scope", 700022,
                 "The provided value for the input parameter scope is not valid because it contains more than one "
                 "resource. Scope " +
                     scope_it->second + " is not valid.");
  }
  if (!options_.resources.empty() && !resources.empty()) {
    const std::string& res = *resources.begin();
    std::string trimmed = res;
    while (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
    bool known = false;
    for (std::string r : options_.resources) {
      while (!r.empty() && r.back() == '/') r.pop_back();
      if (r == trimmed) known = true;
    }
    if (!known) {
      return Error(400, "invalid_resource", 500011,
                   "The resource principal named " + res + " was not found in the tenant named " + options_.tenant +
                       ". This can happen if the application has not been installed by the administrator of the "
                       "tenant or consented to by any user in the tenant. You might have sent your authentication "
                       "request to the wrong tenant.");
    }
  }
  const auto secret = form.find("client_secret");
  const auto assertion = form.find("client_assertion");
  if (secret == form.end() && assertion == form.end()) {
    return Error(401, "invalid_client", 7000218,
                 "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  if (assertion != form.end()) {
    const auto type = form.find("client_assertion_type");
    if (type == form.end()) return missing("client_assertion_type");
    if (type->second != kAssertionType) {
      return Error(400, "invalid_request", 50013,
                   "Assertion failed signature validation. [Reason - client_assertion_type must be '" +
                       std::string(kAssertionType) + "'.]");
    }
    if (auto err = CheckAssertion(*client, assertion->second, base_url)) return *err;
  } else {
    if (client->client_secret.empty() || secret->second != client->client_secret) {
      return Error(401, "invalid_client", 7000215,
                   "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                   "value, not the client secret ID, for a secret added to app '" +
                       client->client_id + "'.");
    }
    if (client->secret_expired) {
      return Error(401, "invalid_client", 7000222,
                   "The provided client secret keys for app '" + client->client_id +
                       "' are expired. Visit the Azure portal to create new keys for your app.");
    }
  }
  std::string token;
  int lifetime = 0;
  {
    std::lock_guard lock(mu_);
    lifetime = options_.token_lifetime_s;
    const auto now = std::chrono::steady_clock::now();
    if (tokens_.size() > 10000) {
      for (auto it = tokens_.begin(); it != tokens_.end();)
        it = it->second.expires <= now ? tokens_.erase(it) : std::next(it);
    }
    nlohmann::ordered_json header = {{"typ", "JWT"}, {"alg", "none"}};
    const std::int64_t unix_now = std::time(nullptr);
    nlohmann::ordered_json claims = {{"aud", resources.empty() ? std::string(base_url) : *resources.begin()},
                                     {"iss", "https://sts.windows.net/" + options_.tenant + "/"},
                                     {"iat", unix_now},
                                     {"nbf", unix_now},
                                     {"exp", unix_now + lifetime},
                                     {"appid", client->client_id},
                                     {"tid", options_.tenant},
                                     {"uti", RandomToken(12)}};
    token = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(claims.dump()) + "." + RandomToken(32);
    tokens_[token] = {client->client_id, now + std::chrono::seconds(lifetime)};
  }
  nlohmann::ordered_json body;
  body["token_type"] = "Bearer";
  body["expires_in"] = lifetime;
  body["ext_expires_in"] = lifetime;
  body["access_token"] = token;
  HttpResponse r;
  r.Set("Content-Type", "application/json; charset=utf-8");
  r.Set("Cache-Control", "no-store, no-cache");
  r.body = body.dump();
  return r;
}

std::optional<Principal> Auth::Authenticate(const HttpRequest& request) {
  const std::string authz = request.Header("authorization");
  if (authz.size() <= 7 || !EqualsIgnoreCase(std::string_view(authz).substr(0, 7), "Bearer ")) return std::nullopt;
  const std::string_view token = Trim(std::string_view(authz).substr(7));
  std::lock_guard lock(mu_);
  auto it = tokens_.find(token);
  if (it == tokens_.end() || it->second.expires <= std::chrono::steady_clock::now()) return std::nullopt;
  return Principal{it->second.client_id};
}

HttpResponse Auth::Challenge(std::string_view base_url) const {
  HttpResponse r;
  r.status = 401;
  r.Set("WWW-Authenticate", "Bearer authorization_uri=https://login.microsoftonline.com/" + options_.tenant +
                                "/oauth2/authorize, resource_id=" + std::string(base_url) + "/");
  r.Set("OData-Version", "4.0");
  return r;
}

void Auth::ExpireAllTokens() {
  std::lock_guard lock(mu_);
  tokens_.clear();
}

void Auth::SetTokenLifetime(int seconds) {
  std::lock_guard lock(mu_);
  options_.token_lifetime_s = seconds;
}

int Auth::token_lifetime_s() const {
  std::lock_guard lock(mu_);
  return options_.token_lifetime_s;
}

}  // namespace crmsync::emulator
