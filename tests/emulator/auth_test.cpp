// Token endpoint (dataverse-web-api.md 1.1-1.4), bearer checks and the 401
// challenge (1.6), WhoAmI (2), HTTPS.
#include <gtest/gtest.h>

#include "tests/emulator/emulator_fixture.h"
#include "tests/emulator/test_crypto.h"

namespace crmsync::emulator::testing {
namespace {

constexpr char kTenant[] = "aaaabbbb-0000-cccc-1111-dddd2222eeee";
constexpr char kCertClient[] = "22222222-3333-4444-5555-666666666666";

// One credential for the whole file: RSA key generation is slow-ish.
const KeyAndCert& Credential() {
  static const KeyAndCert* const kCred = new KeyAndCert(MakeSelfSigned("crmsync test client"));
  return *kCred;
}

class AuthTest : public EmulatorTest {
 protected:
  EmulatorOptions Options() override {
    EmulatorOptions o;
    o.tenant = kTenant;
    o.clients.push_back({std::string(kDefaultClientId), std::string(kDefaultClientSecret), "", false});
    o.clients.push_back({kCertClient, "", Credential().cert_pem, false});
    o.clients.push_back({"33333333-0000-0000-0000-000000000000", "old", "", true});
    return o;
  }

  Response Token(const std::string& form, Headers extra = {}) {
    extra.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return client().Send("POST", std::string("/") + kTenant + "/oauth2/v2.0/token", extra, form);
  }
  std::string Scope() { return "&scope=" + FormEncode(base() + "/.default"); }
  std::string SecretForm(const std::string& secret) {
    return "client_id=" + std::string(kDefaultClientId) + Scope() + "&client_secret=" + FormEncode(secret) +
           "&grant_type=client_credentials";
  }
  std::string AssertionForm(const std::string& assertion, const std::string& client_id = kCertClient) {
    return "client_id=" + client_id + Scope() +
           "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
           "&client_assertion=" +
           assertion + "&grant_type=client_credentials";
  }
  AssertionSpec Spec() {
    AssertionSpec s;
    s.client_id = kCertClient;
    s.audience = std::string("https://login.microsoftonline.com/") + kTenant + "/oauth2/v2.0/token";
    return s;
  }
  static void ExpectAadError(const Response& r, int status, const std::string& error, int code) {
    EXPECT_EQ(r.status, status) << r.body;
    auto j = r.Json();
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j.value("error", ""), error);
    const std::string description = j.value("error_description", "");
    EXPECT_TRUE(description.starts_with("AADSTS" + std::to_string(code) + ": ")) << description;
    EXPECT_NE(description.find("\r\nTrace ID: "), std::string::npos);
    EXPECT_NE(description.find("\r\nCorrelation ID: "), std::string::npos);
    EXPECT_NE(description.find("\r\nTimestamp: "), std::string::npos);
    ASSERT_TRUE(j["error_codes"].is_array());
    EXPECT_EQ(j["error_codes"][0], code);
    EXPECT_TRUE(j["timestamp"].is_string());
    EXPECT_TRUE(j["trace_id"].is_string());
    EXPECT_TRUE(j["correlation_id"].is_string());
    EXPECT_EQ(j.value("error_uri", ""), "https://login.microsoftonline.com/error?code=" + std::to_string(code));
  }
};

TEST_F(AuthTest, ClientSecretGivesBearerToken) {
  Response r = Token(SecretForm(kDefaultClientSecret));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.Header("content-type").starts_with("application/json"));
  auto j = r.Json();
  EXPECT_EQ(j["token_type"], "Bearer");
  EXPECT_EQ(j["expires_in"], 3599);
  EXPECT_TRUE(j["expires_in"].is_number_integer());
  EXPECT_TRUE(j.contains("ext_expires_in"));
  EXPECT_FALSE(j["access_token"].get<std::string>().empty());
  EXPECT_FALSE(j.contains("refresh_token"));
}

TEST_F(AuthTest, HttpBasicClientAuthentication) {
  const std::string basic = Base64UrlEncode(std::string(kDefaultClientId) + ":" + kDefaultClientSecret);
  std::string std_b64 = basic;
  for (char& c : std_b64) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (std_b64.size() % 4 != 0) std_b64 += '=';
  Response r = Token(std::string("grant_type=client_credentials") + Scope(), {{"Authorization", "Basic " + std_b64}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(AuthTest, TokenErrorsCarryAadstsCodes) {
  ExpectAadError(Token(SecretForm("wrong")), 401, "invalid_client", 7000215);
  ExpectAadError(Token("client_id=" + std::string(kDefaultClientId) + Scope() + "&grant_type=client_credentials"), 401,
                 "invalid_client", 7000218);
  ExpectAadError(Token("client_id=99999999-0000-0000-0000-000000000000" + Scope() +
                       "&client_secret=x&grant_type=client_credentials"),
                 400, "unauthorized_client", 700016);
  ExpectAadError(Token("client_id=" + std::string(kDefaultClientId) + Scope() + "&client_secret=x"), 400,
                 "invalid_request", 900144);
  ExpectAadError(Token("client_id=" + std::string(kDefaultClientId) + "&client_secret=x&grant_type=client_credentials"),
                 400, "invalid_request", 900144);
  ExpectAadError(Token("client_id=" + std::string(kDefaultClientId) + "&scope=" + FormEncode(base()) +
                       "&client_secret=x&grant_type=client_credentials"),
                 400, "invalid_scope", 70011);
  ExpectAadError(Token("client_id=" + std::string(kDefaultClientId) +
                       "&scope=" + FormEncode("https://a.example/.default https://b.example/.default") +
                       "&client_secret=x&grant_type=client_credentials"),
                 400, "invalid_scope", 700022);
  ExpectAadError(Token("client_id=33333333-0000-0000-0000-000000000000" + Scope() +
                       "&client_secret=old&grant_type=client_credentials"),
                 401, "invalid_client", 7000222);
  Response bad_grant = Token("client_id=" + std::string(kDefaultClientId) + Scope() + "&grant_type=password");
  EXPECT_EQ(bad_grant.Json().value("error", ""), "unsupported_grant_type");
}

TEST_F(AuthTest, WrongTenantAndCommonEndpointAreRefused) {
  Response r = client().Send("POST", "/other-tenant/oauth2/v2.0/token",
                             {{"Content-Type", "application/x-www-form-urlencoded"}}, SecretForm(kDefaultClientSecret));
  ExpectAadError(r, 400, "invalid_request", 90002);
  r = client().Send("POST", "/common/oauth2/v2.0/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
                    SecretForm(kDefaultClientSecret));
  ExpectAadError(r, 400, "invalid_request", 9001023);
}

TEST_F(AuthTest, CertificateAssertionRs256WithX5t) {
  Response r = Token(AssertionForm(MakeAssertion(Credential(), Spec())));
  ASSERT_EQ(r.status, 200) << r.body;
  TestClient c(base());
  c.set_token(r.Json()["access_token"]);
  EXPECT_EQ(c.Api("GET", "WhoAmI").status, 200);
}

TEST_F(AuthTest, CertificateAssertionPs256WithX5tS256) {
  AssertionSpec s = Spec();
  s.pss = true;
  s.thumbprint = Thumbprint::kX5tS256;
  EXPECT_EQ(Token(AssertionForm(MakeAssertion(Credential(), s))).status, 200);
}

TEST_F(AuthTest, AssertionThumbprintInKidAndOtherAudienceForm) {
  AssertionSpec s = Spec();
  s.thumbprint = Thumbprint::kKid;
  s.audience = std::string("https://login.microsoftonline.com/") + kTenant + "/v2.0";
  EXPECT_EQ(Token(AssertionForm(MakeAssertion(Credential(), s))).status, 200);
}

TEST_F(AuthTest, InvalidAssertionsAreRejected) {
  // Signed by another key that claims the registered certificate's thumbprint.
  KeyAndCert other = MakeSelfSigned("intruder");
  KeyAndCert forged = other;
  forged.sha1 = Credential().sha1;
  forged.sha256 = Credential().sha256;
  ExpectAadError(Token(AssertionForm(MakeAssertion(forged, Spec()))), 401, "invalid_client", 50013);
  // Thumbprint of an unregistered certificate.
  ExpectAadError(Token(AssertionForm(MakeAssertion(other, Spec()))), 401, "invalid_client", 700027);
  AssertionSpec expired = Spec();
  expired.nbf_offset_s = -3600;
  expired.exp_offset_s = -1800;
  ExpectAadError(Token(AssertionForm(MakeAssertion(Credential(), expired))), 401, "invalid_client", 500133);
  AssertionSpec future = Spec();
  future.nbf_offset_s = 3600;
  future.exp_offset_s = 4000;
  ExpectAadError(Token(AssertionForm(MakeAssertion(Credential(), future))), 401, "invalid_client", 500133);
  AssertionSpec wrong_aud = Spec();
  wrong_aud.audience = "https://login.microsoftonline.com/someone-else/oauth2/v2.0/token";
  ExpectAadError(Token(AssertionForm(MakeAssertion(Credential(), wrong_aud))), 401, "invalid_client", 50013);
  AssertionSpec wrong_iss = Spec();
  wrong_iss.client_id = kDefaultClientId;
  ExpectAadError(Token(AssertionForm(MakeAssertion(Credential(), wrong_iss))), 401, "invalid_client", 50013);
  ExpectAadError(Token(AssertionForm("not.a.jwt")), 401, "invalid_client", 50013);
}

TEST_F(AuthTest, ReplayedAssertionIsRejected) {
  AssertionSpec s = Spec();
  s.jti = "6f0c1d9e-6a7b-4c5d-8e9f-0a1b2c3d4e5f";
  const std::string assertion = MakeAssertion(Credential(), s);
  EXPECT_EQ(Token(AssertionForm(assertion)).status, 200);
  ExpectAadError(Token(AssertionForm(assertion)), 401, "invalid_client", 50013);
}

TEST_F(AuthTest, MissingOrBadTokenGets401Challenge) {
  TestClient anonymous(base());
  for (const std::string& token : {std::string(), std::string("garbage"), client().token() + "x"}) {
    anonymous.set_token(token);
    Response r = anonymous.Api("GET", "accounts");
    EXPECT_EQ(r.status, 401);
    EXPECT_EQ(r.Header("www-authenticate"), std::string("Bearer authorization_uri=https://login.microsoftonline.com/") +
                                                kTenant + "/oauth2/authorize, resource_id=" + base() + "/");
  }
  anonymous.set_token("");
  EXPECT_EQ(anonymous.Api("GET", "").status, 401);  // tenant discovery on the service root
}

TEST_F(AuthTest, AdminExpiresAllTokens) {
  ASSERT_EQ(client().Api("GET", "WhoAmI").status, 200);
  AdminPost("/_admin/tokens/expire");
  EXPECT_EQ(client().Api("GET", "WhoAmI").status, 401);
  client().set_token(NewToken());
  EXPECT_EQ(client().Api("GET", "WhoAmI").status, 200);
}

TEST_F(AuthTest, ShortTokenLifetimeExpires) {
  Response s =
      client().Send("PATCH", "/_admin/settings", {{"Content-Type", "application/json"}}, R"({"token_lifetime_s":1})");
  ASSERT_EQ(s.status, 200) << s.body;
  Response t = Token(SecretForm(kDefaultClientSecret));
  ASSERT_EQ(t.Json()["expires_in"], 1);
  TestClient c(base());
  c.set_token(t.Json()["access_token"]);
  EXPECT_EQ(c.Api("GET", "WhoAmI").status, 200);
  EXPECT_TRUE(WaitFor([&] { return c.Api("GET", "WhoAmI").status == 401; }, std::chrono::seconds(5)));
}

TEST_F(AuthTest, WhoAmIShapeAndDopHint) {
  for (const char* path : {"WhoAmI", "WhoAmI()"}) {
    Response r = client().Api("GET", path);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.Json();
    EXPECT_EQ(j["@odata.context"], api() + "$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse");
    EXPECT_EQ(j["UserId"].get<std::string>().size(), 36u);
    EXPECT_TRUE(j.contains("BusinessUnitId"));
    EXPECT_TRUE(j.contains("OrganizationId"));
    EXPECT_EQ(r.Header("x-ms-dop-hint"), "4");
    EXPECT_EQ(r.Header("odata-version"), "4.0");
  }
  Response post = client().Api("POST", "WhoAmI", "{}");
  EXPECT_EQ(post.status, 404);
  EXPECT_EQ(ErrorCode(post), "");
  EXPECT_TRUE(ErrorMessage(post).starts_with("No HTTP resource was found that matches the request URI"));
}

// HTTPS with a test CA and a server certificate for 127.0.0.1.
const TlsMaterial& Tls() {
  static const TlsMaterial* const kTls = new TlsMaterial(MakeTlsMaterial());
  return *kTls;
}

class HttpsTest : public EmulatorTest {
 protected:
  EmulatorOptions Options() override {
    EmulatorOptions o;
    o.tls_cert_pem = Tls().server_cert_pem;
    o.tls_key_pem = Tls().server_key_pem;
    return o;
  }
  std::string CaPem() override { return Tls().ca_pem; }
};

TEST_F(HttpsTest, TokenAndApiOverTls) {
  ASSERT_TRUE(base().starts_with("https://127.0.0.1:")) << base();
  Response r = client().Api("GET", "WhoAmI");
  EXPECT_EQ(r.status, 200) << r.error;
  // A client that does not trust the test CA fails the handshake.
  TestClient untrusted(base());
  EXPECT_FALSE(untrusted.Api("GET", "WhoAmI").error.empty());
}

}  // namespace
}  // namespace crmsync::emulator::testing
