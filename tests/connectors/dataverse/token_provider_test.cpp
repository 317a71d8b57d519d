#include "connectors/dataverse/token_provider.h"

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_http_client.h"
#include "tests/support/test_pki.h"

namespace crmsync::dataverse {
namespace {

std::string Base64UrlDecode(std::string_view in) {
  std::string s(in);
  for (auto& c : s) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (s.size() % 4 != 0) s += '=';
  std::string out(s.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!in.empty() && in.size() % 4 != 0 && !out.empty() && out.back() == '\0') {
    out.pop_back();
    in.remove_suffix(1);
  }
  return out;
}

bool VerifySignature(const std::string& jwt, const std::string& cert_pem, bool pss) {
  const auto last_dot = jwt.rfind('.');
  const std::string input = jwt.substr(0, last_dot);
  const std::string sig = Base64UrlDecode(jwt.substr(last_dot + 1));
  BIO* bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  EVP_PKEY* pub = X509_get_pubkey(cert);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestVerifyInit_ex(ctx, &pctx, "SHA256", nullptr, nullptr, pub, nullptr);
  if (pss) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  const int ok = EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                                  reinterpret_cast<const unsigned char*>(input.data()), input.size());
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pub);
  X509_free(cert);
  BIO_free(bio);
  return ok == 1;
}

TEST(TokenProviderTest, Base64UrlHasNoPadding) {
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg");
  EXPECT_EQ(Base64Url("fo"), "Zm8");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url("\xfb\xff"), "-_8");
  EXPECT_EQ(FormEncode("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
}

class AssertionTest : public ::testing::TestWithParam<const char*> {};

TEST_P(AssertionTest, SignsWithTheChosenAlgorithmAndCarriesTheClaims) {
  const auto pair = testing_support::MakeSelfSignedCert("crmsync client");
  OAuthCredentials c;
  c.token_url = "https://login.microsoftonline.com/tenant-1/oauth2/v2.0/token";
  c.client_id = "11111111-2222-3333-4444-555555555555";
  c.certificate_pem = pair.cert_pem;
  c.private_key_pem = pair.key_pem;
  c.algorithm = GetParam();
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1735689600));
  auto jwt = BuildClientAssertion(c, now, "jti-1");
  ASSERT_TRUE(jwt.ok()) << jwt.status().ToString();
  const auto first = jwt->find('.');
  const auto second = jwt->find('.', first + 1);
  const auto header = nlohmann::json::parse(Base64UrlDecode(jwt->substr(0, first)));
  const auto claims = nlohmann::json::parse(Base64UrlDecode(jwt->substr(first + 1, second - first - 1)));
  EXPECT_EQ(header["alg"], GetParam());
  EXPECT_EQ(header["typ"], "JWT");
  EXPECT_EQ(header["x5t"].get<std::string>().size(), 27u);       // 20 bytes, base64url
  EXPECT_EQ(header["x5t#S256"].get<std::string>().size(), 43u);  // 32 bytes
  EXPECT_EQ(claims["aud"], c.token_url);
  EXPECT_EQ(claims["iss"], c.client_id);
  EXPECT_EQ(claims["sub"], c.client_id);
  EXPECT_EQ(claims["jti"], "jti-1");
  EXPECT_EQ(claims["nbf"], 1735689600);
  EXPECT_EQ(claims["exp"], 1735689600 + 600);
  const bool pss = std::string(GetParam()) == "PS256";
  EXPECT_TRUE(VerifySignature(*jwt, pair.cert_pem, pss));
  EXPECT_FALSE(VerifySignature(*jwt, pair.cert_pem, !pss)) << "the padding must be the algorithm's own";
}

INSTANTIATE_TEST_SUITE_P(Algorithms, AssertionTest, ::testing::Values("RS256", "PS256"));

TEST(TokenProviderTest, AMismatchedKeyIsRefused) {
  const auto a = testing_support::MakeSelfSignedCert("a");
  const auto b = testing_support::MakeSelfSignedCert("b");
  OAuthCredentials c;
  c.certificate_pem = a.cert_pem;
  c.private_key_pem = b.key_pem;
  auto jwt = BuildClientAssertion(c, std::chrono::system_clock::now(), "j");
  ASSERT_FALSE(jwt.ok());
  EXPECT_NE(jwt.status().message().find("does not belong"), std::string::npos);
}

http::HttpResponse Json(int status, std::string body) {
  return {status, {{"Content-Type", "application/json"}}, body};
}

TEST(TokenProviderTest, CachesUntilShortlyBeforeExpiryAndRefreshesOnInvalidate) {
  testing_support::FakeHttpClient http;
  testing_support::FakeClock clock;
  http.replies = {Json(200, R"({"token_type":"Bearer","expires_in":3599,"access_token":"t1"})"),
                  Json(200, R"({"token_type":"Bearer","expires_in":"3599","access_token":"t2"})"),
                  Json(200, R"({"token_type":"Bearer","expires_in":3599,"access_token":"t3"})")};
  OAuthCredentials c{.token_url = "https://login.example/t/oauth2/v2.0/token",
                     .client_id = "cid",
                     .scope = "https://org.example/.default",
                     .client_secret = "p@ss word&=",
                     .certificate_pem = "",
                     .private_key_pem = "",
                     .algorithm = "PS256"};
  OAuthTokenProvider tokens(http, clock, c);
  EXPECT_EQ(tokens.token_expires_at(), std::nullopt);
  const auto first_at = clock.Now();
  EXPECT_EQ(*tokens.AccessToken(Deadline::Never()), "t1");
  EXPECT_EQ(tokens.token_expires_at(), first_at + std::chrono::seconds(3599));
  EXPECT_EQ(*tokens.AccessToken(Deadline::Never()), "t1");
  EXPECT_EQ(http.requests.size(), 1u);
  EXPECT_EQ(http.requests[0].body,
            "grant_type=client_credentials&client_id=cid&scope=https%3A%2F%2Forg.example%2F.default&client_secret=p%"
            "40ss%20word%26%3D");
  clock.Advance(std::chrono::seconds(3599 - 301));
  EXPECT_EQ(*tokens.AccessToken(Deadline::Never()), "t1");
  clock.Advance(std::chrono::seconds(2));  // now less than five minutes left
  EXPECT_EQ(*tokens.AccessToken(Deadline::Never()), "t2");
  tokens.Invalidate("not-the-current-token");
  EXPECT_EQ(*tokens.AccessToken(Deadline::Never()), "t2");
  tokens.Invalidate("t2");
  EXPECT_EQ(tokens.token_expires_at(), std::nullopt);
  EXPECT_EQ(*tokens.AccessToken(Deadline::Never()), "t3");
  EXPECT_EQ(tokens.tokens_fetched(), 3);
}

TEST(TokenProviderTest, ErrorsNameEntraCodeButNeverTheSecret) {
  testing_support::FakeHttpClient http;
  testing_support::FakeClock clock;
  http.replies = {
      Json(
          401,
          R"({"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is correct.\r\nTrace ID: x\r\nCorrelation ID: y","error_codes":[7000215]})"),
      Json(503, R"({"error":"temporarily_unavailable","error_description":"busy"})")};
  OAuthCredentials c{.token_url = "https://login.example/t/oauth2/v2.0/token",
                     .client_id = "cid",
                     .scope = "s",
                     .client_secret = "TOP-SECRET-VALUE",
                     .certificate_pem = "",
                     .private_key_pem = "",
                     .algorithm = "PS256"};
  OAuthTokenProvider tokens(http, clock, c);
  auto bad = tokens.AccessToken(Deadline::Never());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(bad.status().remote_code(), "invalid_client");
  EXPECT_EQ(bad.status().message(),
            "token request rejected: invalid_client: AADSTS7000215: Invalid client secret provided. Ensure the secret "
            "being sent is correct.");
  EXPECT_EQ(bad.status().ToString().find("TOP-SECRET"), std::string::npos);
  auto busy = tokens.AccessToken(Deadline::Never());
  ASSERT_FALSE(busy.ok());
  EXPECT_TRUE(IsRetryable(busy.status()));
}

OAuthCredentials SecretCredentials() {
  return OAuthCredentials{.token_url = "https://login.example/t/oauth2/v2.0/token",
                          .client_id = "cid",
                          .scope = "s",
                          .client_secret = "TOP-SECRET-VALUE",
                          .certificate_pem = "",
                          .private_key_pem = "",
                          .algorithm = "PS256"};
}

// Answers that are valid JSON but not what OAuth promises used to throw from
// nlohmann::json::value() and end the process.
TEST(TokenProviderTest, MalformedAnswersBecomeStatusesNotCrashes) {
  struct Case {
    int status;
    std::string body;
    StatusCode code;
  };
  const std::vector<Case> cases = {
      {200, "[]", StatusCode::kUnauthenticated},
      {200, R"("x")", StatusCode::kUnauthenticated},
      {200, R"({"error": 5})", StatusCode::kUnauthenticated},
      {200, "42", StatusCode::kUnauthenticated},
      {200, "null", StatusCode::kUnauthenticated},
      {200, R"({"access_token": 5})", StatusCode::kUnauthenticated},
      {200, R"({"access_token": ""})", StatusCode::kUnauthenticated},
      {200, R"({"token_type": "Bearer"})", StatusCode::kUnauthenticated},
      {400, R"({"error": ["invalid_client"], "error_description": 7})", StatusCode::kUnauthenticated},
      {400, R"({"error": "invalid_client", "error_description": {"x": 1}})", StatusCode::kUnauthenticated},
      {401, "[1,2]", StatusCode::kUnauthenticated},
      {503, "[]", StatusCode::kUnavailable},
      {500, R"({"error": null})", StatusCode::kUnavailable},
      {502, "<html>bad gateway</html>", StatusCode::kUnavailable},
      {429, R"({"error": 5})", StatusCode::kThrottled},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::to_string(c.status) + " " + c.body);
    testing_support::FakeHttpClient http;
    testing_support::FakeClock clock;
    http.replies = {Json(c.status, c.body)};
    OAuthTokenProvider tokens(http, clock, SecretCredentials());
    auto token = tokens.AccessToken(Deadline::Never());
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.status().code(), c.code) << token.status().ToString();
    EXPECT_EQ(token.status().http_status(), c.status);
    EXPECT_EQ(token.status().message().find('\n'), std::string::npos) << "one line";
    if (token.status().remote_code().empty()) {
      // Without an OAuth error code, the message names who answered so oddly.
      EXPECT_NE(token.status().message().find("login.example"), std::string::npos) << token.status().message();
    }
  }
}

TEST(TokenProviderTest, OddlyTypedOptionalMembersKeepTheToken) {
  for (const std::string body :
       {R"({"access_token":"t","expires_in":{}})", R"({"access_token":"t","expires_in":"soon"})",
        R"({"access_token":"t","expires_in":3599.5,"token_type":7})", R"({"access_token":"t","expires_in":-5})"}) {
    SCOPED_TRACE(body);
    testing_support::FakeHttpClient http;
    testing_support::FakeClock clock;
    http.replies = {Json(200, body)};
    OAuthTokenProvider tokens(http, clock, SecretCredentials());
    auto token = tokens.AccessToken(Deadline::Never());
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    EXPECT_EQ(*token, "t");
  }
}

// An HttpClient whose first Send blocks until the test lets it answer.
class GateHttpClient final : public http::HttpClient {
 public:
  Result<http::HttpResponse> Send(const http::HttpRequest&, Deadline) override {
    std::unique_lock lock(mutex_);
    ++sends_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
    return Json(200, R"({"access_token":"shared","expires_in":3599})");
  }
  void WaitForSend() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return sends_ > 0; });
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  int sends() {
    std::lock_guard lock(mutex_);
    return sends_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int sends_ = 0;
  bool open_ = false;
};

TEST(TokenProviderTest, AWaiterHonoursItsOwnDeadlineWhileAnotherRefreshes) {
  GateHttpClient http;
  testing_support::FakeClock clock;
  OAuthTokenProvider tokens(http, clock, SecretCredentials());
  auto refresher = std::async(std::launch::async, [&] { return tokens.AccessToken(Deadline::Never()); });
  http.WaitForSend();  // the refresh is on the wire and will stay there
  const auto deadline = Deadline::After(clock, std::chrono::seconds(5));
  auto waiter = std::async(std::launch::async, [&] { return tokens.AccessToken(deadline); });
  clock.Advance(std::chrono::seconds(10));
  // The waiter answers although the refresh is still blocked in HTTP (a
  // provider that held its lock across HTTP would keep it waiting).
  const bool answered = waiter.wait_for(std::chrono::seconds(30)) == std::future_status::ready;
  http.Open();
  ASSERT_TRUE(answered);
  auto waited = waiter.get();
  ASSERT_FALSE(waited.ok());
  EXPECT_EQ(waited.status().code(), StatusCode::kTimeout) << waited.status().ToString();
  auto refreshed = refresher.get();
  ASSERT_TRUE(refreshed.ok()) << refreshed.status().ToString();
  EXPECT_EQ(*refreshed, "shared");
}

TEST(TokenProviderTest, WaitersTakeTheTokenOfTheOneRefresh) {
  GateHttpClient http;
  testing_support::FakeClock clock;
  OAuthTokenProvider tokens(http, clock, SecretCredentials());
  auto refresher = std::async(std::launch::async, [&] { return tokens.AccessToken(Deadline::Never()); });
  http.WaitForSend();
  std::vector<std::future<Result<std::string>>> waiters;
  for (int i = 0; i < 4; ++i) {
    waiters.push_back(std::async(std::launch::async, [&] { return tokens.AccessToken(Deadline::Never()); }));
  }
  http.Open();
  EXPECT_EQ(*refresher.get(), "shared");
  for (auto& w : waiters) {
    auto token = w.get();
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    EXPECT_EQ(*token, "shared");
  }
  EXPECT_EQ(http.sends(), 1) << "one refresh at a time, shared by every waiter";
  EXPECT_EQ(tokens.tokens_fetched(), 1);
}

TEST(TokenProviderTest, AFailedRefreshIsNotCached) {
  testing_support::FakeHttpClient http;
  testing_support::FakeClock clock;
  http.replies = {Json(401, R"({"error":"invalid_client","error_description":"AADSTS7000215: bad secret"})")};
  OAuthTokenProvider tokens(http, clock, SecretCredentials());
  auto first = tokens.AccessToken(Deadline::Never());
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().remote_code(), "invalid_client");
  // A later call tries again (a refresh that failed is not cached).
  http.replies = {Json(200, R"({"access_token":"t","expires_in":3599})")};
  auto second = tokens.AccessToken(Deadline::Never());
  ASSERT_TRUE(second.ok()) << second.status().ToString();
}

}  // namespace
}  // namespace crmsync::dataverse
