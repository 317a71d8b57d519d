#include "connectors/dataverse/token_provider.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "common/url.h"
#include "connectors/dataverse/deadline_wait.h"
#include "connectors/dataverse/odata.h"

namespace crmsync::dataverse {

namespace {

using nlohmann::json;

// Renew when less than this is left (MSAL's five minutes), or half the
// lifetime for short-lived tokens.
constexpr std::chrono::seconds kRefreshMargin{300};

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PKeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

Result<std::string> Thumbprint(X509* cert, const EVP_MD* md) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, md, buf, &len) != 1) return Internal("cannot compute the certificate thumbprint");
  return Base64Url(std::string_view(reinterpret_cast<const char*>(buf), len));
}

}  // namespace

std::string Base64Url(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned n = (byte(i) << 16) | (byte(i + 1) << 8) | byte(i + 2);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const unsigned n = byte(i) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
  } else if (i + 2 == bytes.size()) {
    const unsigned n = (byte(i) << 16) | (byte(i + 1) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
  }
  return out;
}

std::string FormEncode(std::string_view value) {
  return PercentEncode(value, "-_.~");
}

Result<std::string> BuildClientAssertion(const OAuthCredentials& credentials, std::chrono::system_clock::time_point now,
                                         const std::string& jti) {
  if (credentials.algorithm != "PS256" && credentials.algorithm != "RS256") {
    return InvalidArgument("assertion algorithm must be PS256 or RS256");
  }
  std::unique_ptr<BIO, BioFree> cert_bio(
      BIO_new_mem_buf(credentials.certificate_pem.data(), static_cast<int>(credentials.certificate_pem.size())));
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return InvalidArgument("the certificate file does not hold a PEM certificate");
  std::unique_ptr<BIO, BioFree> key_bio(
      BIO_new_mem_buf(credentials.private_key_pem.data(), static_cast<int>(credentials.private_key_pem.size())));
  std::unique_ptr<EVP_PKEY, PKeyFree> key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (!key)
    return InvalidArgument("the private key file does not hold a PEM private key (encrypted keys are not supported)");
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA) return InvalidArgument("the private key must be an RSA key");
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    return InvalidArgument("the private key does not belong to the certificate");
  }

  CRMSYNC_ASSIGN_OR_RETURN(std::string x5t, Thumbprint(cert.get(), EVP_sha1()));
  CRMSYNC_ASSIGN_OR_RETURN(std::string x5t_s256, Thumbprint(cert.get(), EVP_sha256()));
  const json header = {{"alg", credentials.algorithm}, {"typ", "JWT"}, {"x5t", x5t}, {"x5t#S256", x5t_s256}};
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const json claims = {{"aud", credentials.token_url},
                       {"iss", credentials.client_id},
                       {"sub", credentials.client_id},
                       {"jti", jti},
                       {"nbf", seconds},
                       {"iat", seconds},
                       {"exp", seconds + 600}};
  const std::string signing_input = Base64Url(header.dump()) + "." + Base64Url(claims.dump());

  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit_ex(ctx.get(), &pctx, "SHA256", nullptr, nullptr, key.get(), nullptr) != 1) {
    return Internal("cannot initialise the assertion signature");
  }
  if (credentials.algorithm == "PS256") {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1) {
      return Internal("cannot select PSS padding");
    }
  }
  std::size_t sig_len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &sig_len, in, signing_input.size()) != 1) {
    return Internal("cannot sign the assertion");
  }
  std::string signature(sig_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &sig_len, in,
                     signing_input.size()) != 1) {
    return Internal("cannot sign the assertion");
  }
  signature.resize(sig_len);
  return signing_input + "." + Base64Url(signature);
}

Result<TokenAnswer> ParseTokenResponse(const http::HttpResponse& response, std::string_view token_url) {
  const int http_status = response.status;
  const StatusCode failure_code = http_status == 429   ? StatusCode::kThrottled
                                  : http_status >= 500 ? StatusCode::kUnavailable
                                                       : StatusCode::kUnauthenticated;
  const auto fail = [&](StatusCode code, const std::string& message) {
    Status s(code, message);
    s.set_http_status(http_status);
    if (auto ra = RetryAfter(response)) s.set_retry_after(*ra);
    return s;
  };
  const std::string answered =
      "token endpoint " + std::string(token_url) + " answered HTTP " + std::to_string(http_status);
  json doc = json::parse(response.body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return fail(failure_code, answered + " without JSON");
  if (!doc.is_object())
    return fail(failure_code, answered + " with " + JsonTypeName(doc) + " instead of a JSON object");

  const auto string_member = [&](const char* name) -> std::optional<std::string> {
    const auto it = doc.find(name);
    if (it == doc.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  };
  const auto error = doc.find("error");
  const std::optional<std::string> token = string_member("access_token");
  if (http_status == 200 && error == doc.end() && token && !token->empty()) {
    // expires_in is an integer, or a string in older endpoints; anything else
    // keeps the documented default lifetime.
    long long expires_in = 3599;
    if (const auto e = doc.find("expires_in"); e != doc.end()) {
      if (e->is_number_integer()) {
        expires_in = e->get<long long>();
      } else if (e->is_number_float()) {
        expires_in = static_cast<long long>(e->get<double>());
      } else if (e->is_string()) {
        try {
          expires_in = std::stoll(e->get<std::string>());
        } catch (const std::exception&) {
        }
      }
    }
    // At least a second, at most a day: a token is never cached for longer.
    return TokenAnswer{*token, std::clamp<long long>(expires_in, 1, 24LL * 3600)};
  }
  if (error == doc.end()) {
    if (http_status == 200) {
      const auto t = doc.find("access_token");
      return fail(StatusCode::kUnauthenticated,
                  answered + (t == doc.end() ? " without an access_token"
                                             : " with an access_token that is " + JsonTypeName(*t) +
                                                   (t->is_string() ? " (empty)" : ", not a string")));
    }
    return fail(failure_code, answered + " without an OAuth error");
  }
  if (!error->is_string()) {
    return fail(failure_code, answered + " with an OAuth \"error\" that is " + JsonTypeName(*error) + ", not a string");
  }
  const std::string code_text = error->get<std::string>();
  std::string description = string_member("error_description").value_or("");
  description = description.substr(0, description.find_first_of("\r\n"));
  StatusCode code = failure_code;
  if (code_text == "temporarily_unavailable") code = StatusCode::kUnavailable;
  Status s = fail(code, "token request rejected: " + code_text + (description.empty() ? "" : ": " + description));
  s.set_remote_code(code_text);
  return s;
}

OAuthTokenProvider::OAuthTokenProvider(http::HttpClient& http, const Clock& clock, OAuthCredentials credentials)
    : http_(http), clock_(clock), credentials_(std::move(credentials)) {}

Result<std::string> OAuthTokenProvider::AccessToken(Deadline deadline) {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!token_.empty() && clock_.SteadyNow() < refresh_at_) return token_;
    if (!refreshing_) break;
    // Another caller is refreshing: wait for it within our own deadline.
    const std::uint64_t seen = refresh_generation_;
    if (!WaitUntil(refreshed_, lock, std::stop_token(), deadline, [&] { return refresh_generation_ != seen; })) {
      return Status(StatusCode::kTimeout, "deadline passed waiting for a token refresh by another worker");
    }
    if (!last_refresh_.ok()) return last_refresh_;  // that refresh failed: its answer is ours too
  }
  refreshing_ = true;
  lock.unlock();
  auto fetched = Request(deadline);
  lock.lock();
  refreshing_ = false;
  ++refresh_generation_;
  refreshed_.notify_all();
  if (!fetched.ok()) {
    last_refresh_ = fetched.status();
    return fetched.status();
  }
  last_refresh_ = Status::Ok();
  token_ = std::move(fetched->value);
  const auto margin = std::min<std::chrono::seconds>(kRefreshMargin, fetched->lifetime / 2);
  refresh_at_ = clock_.SteadyNow() + fetched->lifetime - margin;
  expires_at_ = clock_.Now() + fetched->lifetime;
  ++fetched_;
  return token_;
}

void OAuthTokenProvider::Invalidate(const std::string& token) {
  std::lock_guard lock(mutex_);
  if (token == token_) token_.clear();
}

std::optional<std::chrono::system_clock::time_point> OAuthTokenProvider::token_expires_at() const {
  std::lock_guard lock(mutex_);
  if (token_.empty()) return std::nullopt;
  return expires_at_;
}

int OAuthTokenProvider::tokens_fetched() const {
  std::lock_guard lock(mutex_);
  return fetched_;
}

Result<OAuthTokenProvider::Token> OAuthTokenProvider::Request(Deadline deadline) {
  std::string form = "grant_type=client_credentials&client_id=" + FormEncode(credentials_.client_id) +
                     "&scope=" + FormEncode(credentials_.scope);
  if (!credentials_.client_secret.empty()) {
    form += "&client_secret=" + FormEncode(credentials_.client_secret);
  } else {
    CRMSYNC_ASSIGN_OR_RETURN(std::string assertion, BuildClientAssertion(credentials_, clock_.Now(), NewGuid()));
    form += "&client_assertion_type=" + FormEncode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") +
            "&client_assertion=" + FormEncode(assertion);
  }
  http::HttpRequest request{
      .method = "POST",
      .url = credentials_.token_url,
      .headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}},
      .body = std::move(form)};
  auto response = http_.Send(request, deadline);
  if (!response.ok()) return response.status().WithContext("token request to " + credentials_.token_url);
  CRMSYNC_ASSIGN_OR_RETURN(TokenAnswer answer, ParseTokenResponse(*response, credentials_.token_url));
  return Token{std::move(answer.access_token), std::chrono::seconds(answer.expires_in)};
}

}  // namespace crmsync::dataverse
