#include "connectors/dataverse/token_provider.h"

#include <gtest/gtest.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

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
  EXPECT_EQ(*tokens.AccessToken(Deadline::Never()), "t1");
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

}  // namespace
}  // namespace crmsync::dataverse
