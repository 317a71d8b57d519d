// The Dataverse connector against the emulator, over real HTTP on loopback.
#include "connectors/dataverse/dataverse_connector.h"
#include "tests/support/real_clock.h"

#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "http/cpprest_client.h"
#include "tests/emulator/emulator.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"
#include "tests/support/test_secret.h"

namespace crmsync::dataverse {
namespace {

using connectors::Change;
using connectors::ReadRequest;
using connectors::WriteOp;
using emulator::Emulator;
using emulator::EmulatorOptions;
using nlohmann::json;

constexpr auto kTimeout = std::chrono::seconds(60);

// Everything a test needs: an emulator and a connector pointed at it.
class ConnectorFixture {
 public:
  explicit ConnectorFixture(EmulatorOptions options = {}, OAuthCredentials credentials = {}, std::string ca_file = "",
                            int max_parallelism = 4) {
    // The default client with the suite's one test secret, which the secret scan looks for.
    if (options.clients.empty()) {
      options.clients.push_back({.client_id = std::string(emulator::kDefaultClientId),
                                 .client_secret = testing_support::kTestClientSecret,
                                 .certificate_pem = "",
                                 .secret_expired = false});
    }
    auto started = Emulator::Start(std::move(options));
    if (!started.ok()) throw std::runtime_error(started.status().ToString());
    emulator_ = std::move(started).value();
    http_ = http::MakeCpprestHttpClient({.ca_file = ca_file, .allow_plain_http_to_any_host = false});
    admin_http_ = http::MakeCpprestHttpClient({.ca_file = ca_file, .allow_plain_http_to_any_host = false});
    if (credentials.client_id.empty()) {
      credentials.client_id = std::string(emulator::kDefaultClientId);
      credentials.client_secret = testing_support::kTestClientSecret;
    }
    credentials.token_url = emulator_->token_url();
    credentials.scope = emulator_->base_url() + "/.default";
    tokens_ = std::make_unique<OAuthTokenProvider>(*http_, clock_, credentials);
    budget_ = std::make_unique<RequestBudget>(RequestBudget::Options{.max_parallelism = max_parallelism,
                                                                     .initial_parallelism = 2,
                                                                     .initial_batch_size = 10,
                                                                     .max_batch_size = 100},
                                              clock_);
    transport_ = std::make_unique<Transport>(*http_, *tokens_, *budget_, clock_,
                                             BackoffPolicy{std::chrono::milliseconds(20), std::chrono::seconds(1)});
    DataverseConnectorOptions o;
    o.api = {emulator_->base_url(), "v9.2"};
    o.page_size = 5000;
    connector_ = std::make_unique<DataverseConnector>(*transport_, o);
  }
  ~ConnectorFixture() {
    connector_.reset();
    transport_.reset();
    http_.reset();
    admin_http_.reset();
    emulator_->Stop();
  }

  DataverseConnector& connector() { return *connector_; }
  Transport& transport() { return *transport_; }
  OAuthTokenProvider& tokens() { return *tokens_; }
  Emulator& emulator() { return *emulator_; }

  json Admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    http::HttpRequest r{.method = method,
                        .url = emulator_->base_url() + "/_admin/" + path,
                        .headers = {{"Content-Type", "application/json"}},
                        .body = body.is_null() ? "" : body.dump()};
    auto resp = admin_http_->Send(r, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
    if (!resp.ok()) throw std::runtime_error(resp.status().ToString());
    if (resp->status >= 300)
      throw std::runtime_error(path + ": HTTP " + std::to_string(resp->status) + " " + resp->body);
    return resp->body.empty() ? json() : json::parse(resp->body);
  }
  json Dump(const std::string& set) { return Admin("GET", "dump/" + set)["value"]; }
  void Fault(const json& rule) { Admin("POST", "faults", rule); }

 private:
  std::unique_ptr<Emulator> emulator_;
  SystemClock clock_;
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<http::HttpClient> admin_http_;
  std::unique_ptr<OAuthTokenProvider> tokens_;
  std::unique_ptr<RequestBudget> budget_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<DataverseConnector> connector_;
};

// A create as the engine sends it: with the GUID it chose (R2).
WriteOp Create(std::string name, std::string key = NewGuid()) {
  WriteOp op;
  op.kind = WriteOp::Kind::kCreate;
  op.key = std::move(key);
  op.fields["name"] = Value::Text(std::move(name));
  return op;
}

// Reads an entity set to the end from `cursor`; returns the changes and the final cursor.
std::pair<std::vector<Change>, std::string> ReadAll(DataverseConnector& c, const std::string& set, std::string cursor,
                                                    int page = 5000) {
  std::vector<Change> all;
  for (int guard = 0; guard < 1000; ++guard) {
    auto batch = c.ReadChanges({.entity = set,
                                .key = "",
                                .columns = {"name"},
                                .filter = "",
                                .cursor = cursor,
                                .max_changes = page,
                                .local_filter = {}},
                               Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
    if (!batch.ok()) throw std::runtime_error(batch.status().ToString());
    for (auto& ch : batch->changes) all.push_back(std::move(ch));
    cursor = batch->next_cursor;
    if (!batch->more) break;
  }
  return {all, cursor};
}

TEST(DataverseConnectorTest, SecretAuthenticationAndWhoAmI) {
  ConnectorFixture f;
  auto who = f.connector().WhoAmI(Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(who.ok()) << who.status().ToString();
  EXPECT_TRUE(CanonicalGuid(who->user_id).has_value());
  EXPECT_GT(who->dop_hint, 0);
}

TEST(DataverseConnectorTest, AWrongSecretIsUnauthenticatedWithoutLeakingIt) {
  OAuthCredentials bad;
  bad.client_id = std::string(emulator::kDefaultClientId);
  bad.client_secret = "wrong-secret-value";
  ConnectorFixture f({}, bad);
  auto who = f.connector().WhoAmI(Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_FALSE(who.ok());
  EXPECT_EQ(who.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(who.status().message().find("AADSTS7000215"), std::string::npos) << who.status().message();
  EXPECT_EQ(who.status().ToString().find("wrong-secret-value"), std::string::npos);
}

class CertificateAuthTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CertificateAuthTest, SignedAssertionIsAccepted) {
  const auto cert = testing_support::MakeSelfSignedCert("crmsync app");
  EmulatorOptions options;
  options.clients = {
      {.client_id = "cert-client", .client_secret = "", .certificate_pem = cert.cert_pem, .secret_expired = false}};
  OAuthCredentials credentials;
  credentials.client_id = "cert-client";
  credentials.certificate_pem = cert.cert_pem;
  credentials.private_key_pem = cert.key_pem;
  credentials.algorithm = GetParam();
  ConnectorFixture f(options, credentials);
  auto who = f.connector().WhoAmI(Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(who.ok()) << who.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CertificateAuthTest, ::testing::Values("PS256", "RS256"));

TEST(DataverseConnectorTest, TokenExpiryMidRunIsRefreshedOnce) {
  ConnectorFixture f;
  ASSERT_TRUE(f.connector().WhoAmI(Deadline::After(::crmsync::testing_support::RealClock(), kTimeout)).ok());
  EXPECT_EQ(f.tokens().tokens_fetched(), 1);
  f.Admin("POST", "tokens/expire");
  auto again = f.connector().WhoAmI(Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(f.tokens().tokens_fetched(), 2);
  EXPECT_EQ(f.transport().counters().reauthenticated, 1);
}

TEST(DataverseConnectorTest, PagesThroughTenThousandRecordsThenFollowsTheDeltaLink) {
  ConnectorFixture f;
  std::set<std::string> seeded;
  for (int chunk = 0; chunk < 10; ++chunk) {
    json records = json::array();
    for (int i = 0; i < 1000; ++i) records.push_back({{"name", "Company " + std::to_string(chunk * 1000 + i)}});
    const json ids = f.Admin("POST", "seed", {{"entity_set", "accounts"}, {"records", records}})["ids"];
    for (const auto& id : ids) seeded.insert(id.get<std::string>());
  }
  ASSERT_EQ(seeded.size(), 10000u);
  int pages = 0;
  std::set<std::string> seen;
  std::string cursor;
  for (;;) {
    auto batch = f.connector().ReadChanges({.entity = "accounts",
                                            .key = "accountid",
                                            .columns = {"name"},
                                            .filter = "",
                                            .cursor = cursor,
                                            .max_changes = 1500,
                                            .local_filter = {}},
                                           Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    ASSERT_LE(batch->changes.size(), 1500u) << "memory bounded by one page";
    ++pages;
    for (const auto& c : batch->changes) {
      EXPECT_TRUE(seen.insert(c.key).second) << "duplicate " << c.key;
      EXPECT_EQ(c.record.at("name").as_text().rfind("Company ", 0), 0u);
      EXPECT_FALSE(c.version.empty());
    }
    cursor = batch->next_cursor;
    if (!batch->more) break;
  }
  EXPECT_EQ(seen, seeded);
  EXPECT_EQ(pages, 7);
  EXPECT_NE(cursor.find("deltatoken"), std::string::npos) << cursor;
  auto [after, next] = ReadAll(f.connector(), "accounts", cursor);
  EXPECT_TRUE(after.empty());
}

TEST(DataverseConnectorTest, DeltaLinkReportsCreatesUpdatesAndDeletes) {
  ConnectorFixture f;
  const json ids = f.Admin(
      "POST", "seed",
      {{"entity_set", "accounts"}, {"records", {{{"name", "Keep"}}, {{"name", "Edit"}}, {{"name", "Drop"}}}}})["ids"];
  auto [initial, cursor] = ReadAll(f.connector(), "accounts", "");
  ASSERT_EQ(initial.size(), 3u);

  std::vector<WriteOp> ops = {Create("New one")};
  auto written =
      f.connector().Write("accounts", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(written.ok());
  ASSERT_TRUE((*written)[0].status.ok()) << (*written)[0].status.ToString();
  const std::string created = (*written)[0].key;
  f.Admin("PATCH", "records/accounts(" + ids[1].get<std::string>() + ")", {{"name", "Edited by a user"}});
  f.Admin("DELETE", "records/accounts(" + ids[2].get<std::string>() + ")");

  auto [delta, next] = ReadAll(f.connector(), "accounts", cursor);
  std::map<std::string, Change> by_key;
  for (auto& c : delta) by_key[c.key] = c;
  ASSERT_EQ(by_key.size(), 3u);
  EXPECT_EQ(by_key.at(created).record.at("name"), Value::Text("New one"));
  EXPECT_EQ(by_key.at(ids[1].get<std::string>()).record.at("name"), Value::Text("Edited by a user"));
  EXPECT_EQ(by_key.at(ids[2].get<std::string>()).kind, Change::Kind::kDelete);
  EXPECT_EQ(by_key.count(ids[0].get<std::string>()), 0u);
  EXPECT_NE(next, cursor) << "a new delta link per call";
}

TEST(DataverseConnectorTest, AnExpiredDeltaTokenIsReportedForReconciliation) {
  ConnectorFixture f;
  f.Admin("POST", "seed", {{"entity_set", "accounts"}, {"records", {{{"name", "A"}}}}});
  auto [initial, cursor] = ReadAll(f.connector(), "accounts", "");
  f.Admin("POST", "change-tracking/expire");
  auto batch = f.connector().ReadChanges({.entity = "accounts",
                                          .key = "accountid",
                                          .columns = {"name"},
                                          .filter = "",
                                          .cursor = cursor,
                                          .max_changes = 100,
                                          .local_filter = {}},
                                         Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().code(), StatusCode::kCursorExpired) << batch.status().ToString();
  EXPECT_EQ(batch.status().remote_code(), "0x80044352");
}

TEST(DataverseConnectorTest, ACursorPointingElsewhereIsRefused) {
  ConnectorFixture f;
  auto batch = f.connector().ReadChanges({.entity = "accounts",
                                          .key = "accountid",
                                          .columns = {"name"},
                                          .filter = "",
                                          .cursor = "https://evil.example/api/data/v9.2/accounts",
                                          .max_changes = 10,
                                          .local_filter = {}},
                                         Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.status().code(), StatusCode::kInvalidArgument);
}

TEST(DataverseConnectorTest, ACreateRepeatedAfterALostResponseLeavesExactlyOneRecord) {
  ConnectorFixture f;
  // The emulator applies the create, then cuts the response in half.
  f.Fault({{"match", {{"method", "POST"}, {"entity_set", "accounts"}}}, {"action", "truncate"}, {"count", 1}});
  const std::string id = NewGuid();
  std::vector<WriteOp> ops = {Create("Exactly once", id)};
  auto written =
      f.connector().Write("accounts", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(written.ok());
  EXPECT_TRUE((*written)[0].status.ok()) << (*written)[0].status.ToString();
  EXPECT_EQ((*written)[0].key, id);
  const json dump = f.Dump("accounts");
  int matches = 0;
  for (const auto& r : dump) matches += r["name"] == "Exactly once" ? 1 : 0;
  EXPECT_EQ(matches, 1);
  EXPECT_GE(f.transport().counters().retried, 1);
  // And the engine's recovery repeating the same create later is also a success.
  auto again = f.connector().Write("accounts", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].status.ok()) << (*again)[0].status.ToString();
  EXPECT_EQ(f.Dump("accounts").size(), 1u);
}

TEST(DataverseConnectorTest, AConcurrentEditIsAConflictNotAnError) {
  ConnectorFixture f;
  std::vector<WriteOp> ops = {Create("Original")};
  auto created =
      f.connector().Write("accounts", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(created.ok() && (*created)[0].status.ok());
  const std::string id = (*created)[0].key;
  const std::string version = (*created)[0].version;
  ASSERT_FALSE(version.empty());
  f.Admin("PATCH", "records/accounts(" + id + ")", {{"name", "Changed in Dynamics"}});

  WriteOp update;
  update.kind = WriteOp::Kind::kUpdate;
  update.key = id;
  update.expected_version = version;
  update.fields["name"] = Value::Text("Changed locally");
  std::vector<WriteOp> updates = {update};
  auto result =
      f.connector().Write("accounts", updates, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(result.ok());
  EXPECT_EQ((*result)[0].status.code(), StatusCode::kConflict) << (*result)[0].status.ToString();
  EXPECT_EQ(f.Dump("accounts")[0]["name"], "Changed in Dynamics");

  // With the current version the update applies.
  auto fresh = f.connector().Fetch("accounts", "accountid", id, {"name"},
                                   Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(fresh.ok() && fresh->has_value());
  updates[0].expected_version = (*fresh)->version;
  result = f.connector().Write("accounts", updates, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE((*result)[0].status.ok()) << (*result)[0].status.ToString();
  EXPECT_NE((*result)[0].version, (*fresh)->version);
}

TEST(DataverseConnectorTest, UpsertCreatesWithTheGivenIdThenUpdates) {
  ConnectorFixture f;
  const std::string id = NewGuid();
  WriteOp upsert;
  upsert.kind = WriteOp::Kind::kUpsert;
  upsert.key = id;
  upsert.fields["name"] = Value::Text("First");
  std::vector<WriteOp> ops = {upsert};
  auto first = f.connector().Write("accounts", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE((*first)[0].status.ok()) << (*first)[0].status.ToString();
  ops[0].fields["name"] = Value::Text("Second");
  auto second =
      f.connector().Write("accounts", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE((*second)[0].status.ok()) << (*second)[0].status.ToString();
  const json dump = f.Dump("accounts");
  ASSERT_EQ(dump.size(), 1u);
  EXPECT_EQ(dump[0]["accountid"], id);
  EXPECT_EQ(dump[0]["name"], "Second");
}

TEST(DataverseConnectorTest, AFailingChangeSetRollsBackTheWholeOrder) {
  ConnectorFixture f;
  const json account = f.Admin("POST", "seed", {{"entity_set", "accounts"}, {"records", {{{"name", "Buyer"}}}}})["ids"];
  const std::string order_id = NewGuid();
  WriteOp header;
  header.kind = WriteOp::Kind::kCreate;
  header.key = order_id;
  header.group = "order-1";
  header.fields["name"] = Value::Text("Web order 1001");
  header.fields["customerid_account@odata.bind"] = Value::Text("/accounts(" + account[0].get<std::string>() + ")");
  WriteOp good_line;
  good_line.kind = WriteOp::Kind::kCreate;
  good_line.entity = "salesorderdetails";
  good_line.group = "order-1";
  good_line.fields["salesorderid@odata.bind"] = Value::Text("/salesorders(" + order_id + ")");
  good_line.fields["isproductoverridden"] = Value::Bool(true);
  good_line.fields["productdescription"] = Value::Text("Consulting day");
  good_line.fields["quantity"] = Value::Integer(2);
  good_line.key = NewGuid();
  WriteOp bad_line = good_line;
  bad_line.key = NewGuid();
  bad_line.fields["productdescription"] = Value::Text(std::string(600, 'x'));  // longer than 500

  std::vector<WriteOp> ops = {header, good_line, bad_line};
  auto result =
      f.connector().Write("salesorders", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(result.ok());
  ASSERT_EQ(result->size(), 3u);
  EXPECT_EQ((*result)[2].status.code(), StatusCode::kInvalidArgument) << (*result)[2].status.ToString();
  EXPECT_EQ((*result)[0].status.code(), StatusCode::kAborted) << (*result)[0].status.ToString();
  EXPECT_EQ((*result)[1].status.code(), StatusCode::kAborted);
  EXPECT_TRUE(f.Dump("salesorders").empty());
  EXPECT_TRUE(f.Dump("salesorderdetails").empty());

  // Without the bad line the order and its line land together.
  std::vector<WriteOp> fixed = {header, good_line};
  result =
      f.connector().Write("salesorders", fixed, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(result.ok());
  for (const auto& r : *result) EXPECT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(f.Dump("salesorders").size(), 1u);
  EXPECT_EQ(f.Dump("salesorderdetails").size(), 1u);
}

TEST(DataverseConnectorTest, ThrottlingStormsAndOutagesEndInSuccess) {
  EmulatorOptions options;
  options.limits.requests = 8;
  options.limits.request_window_s = 1;
  ConnectorFixture f(options);
  f.Fault({{"match", {{"method", "POST"}}}, {"action", "status"}, {"status", 503}, {"count", 3}});
  std::vector<WriteOp> ops;
  for (int i = 0; i < 300; ++i) ops.push_back(Create("Throttled " + std::to_string(i)));
  auto result = f.connector().Write(
      "accounts", ops, Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(120)));
  ASSERT_TRUE(result.ok());
  int ok = 0;
  for (const auto& r : *result) ok += r.status.ok() ? 1 : 0;
  EXPECT_EQ(ok, 300);
  EXPECT_EQ(f.Dump("accounts").size(), 300u);
  EXPECT_GT(f.transport().counters().throttled, 0);
  EXPECT_GE(f.transport().counters().retried, 3);
}

// --- Tables without change tracking -----------------------------------------

TEST(DataverseConnectorTest, AnUntrackedTableFallsBackToTheWatermarkAndDeliversEachChangeOnce) {
  EmulatorOptions options;
  options.entities = json::array({{{"logical_name", "account"}, {"change_tracking", false}}});
  ConnectorFixture f(options);
  const json ids =
      f.Admin("POST", "seed", {{"entity_set", "accounts"}, {"records", {{{"name", "A"}}, {{"name", "B"}}}}})["ids"];
  const std::string a = ids[0];

  // The tracked first read is refused (0x80072491); the connector reads by version instead.
  auto [initial, cursor] = ReadAll(f.connector(), "accounts", "");
  ASSERT_EQ(initial.size(), 2u);
  ASSERT_EQ(cursor.rfind("watermark:", 0), 0u) << cursor;
  for (const auto& c : initial) EXPECT_TRUE(c.modified_at.has_value()) << "modifiedon is always selected";

  // Reading again at the same watermark re-reads its last version and drops it.
  auto [none, same] = ReadAll(f.connector(), "accounts", cursor);
  EXPECT_TRUE(none.empty());
  EXPECT_EQ(same, cursor);

  // A record changed twice is delivered once, at its latest version; then never again.
  f.Admin("PATCH", "records/accounts(" + a + ")", {{"name", "A once"}});
  f.Admin("PATCH", "records/accounts(" + a + ")", {{"name", "A twice"}});
  auto [changed, after] = ReadAll(f.connector(), "accounts", same);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].key, a);
  EXPECT_EQ(changed[0].record.at("name"), Value::Text("A twice"));
  auto [nothing, last] = ReadAll(f.connector(), "accounts", after);
  EXPECT_TRUE(nothing.empty());
  EXPECT_EQ(last, after);
}

TEST(DataverseConnectorTest, AFilteredReadReachesTheServer) {
  ConnectorFixture f;
  f.Admin("POST", "seed",
          {{"entity_set", "accounts"}, {"records", {{{"name", "Keep 1"}}, {{"name", "Skip"}}, {{"name", "Keep 2"}}}}});
  std::vector<Change> all;
  std::string cursor;
  for (int guard = 0; guard < 10; ++guard) {
    auto batch = f.connector().ReadChanges({.entity = "accounts",
                                            .key = "accountid",
                                            .columns = {"name"},
                                            .filter = "startswith(name,'Keep')",
                                            .cursor = cursor,
                                            .max_changes = 1,
                                            .local_filter = {}},
                                           Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    for (auto& c : batch->changes) all.push_back(std::move(c));
    cursor = batch->next_cursor;
    if (!batch->more) break;
  }
  ASSERT_EQ(all.size(), 2u);
  for (const auto& c : all) EXPECT_EQ(c.record.at("name").as_text().rfind("Keep", 0), 0u);
}

// --- Lookups -----------------------------------------------------------------

TEST(DataverseConnectorTest, LookupFindsRecordsCaseInsensitivelyAcrossPagesAndChunks) {
  ConnectorFixture f;
  json records = json::array();
  for (int i = 0; i < 200; ++i) records.push_back({{"name", "Company " + std::to_string(i)}});
  records.push_back({{"name", "O'Bryan & Sons #1 100%"}});
  records.push_back({{"name", "Zo\u00eb Caf\u00e9"}});
  f.Admin("POST", "seed", {{"entity_set", "accounts"}, {"records", records}});

  connectors::LookupRequest request;
  request.entity = "accounts";
  request.key = "accountid";
  request.columns = {"name"};
  request.attribute = "name";
  for (int i = 0; i < 150; ++i) request.values.push_back(Value::Text("COMPANY " + std::to_string(i)));
  request.values.push_back(Value::Text("o'bryan & SONS #1 100%"));
  request.values.push_back(Value::Text("Zo\u00eb Caf\u00e9"));
  request.values.push_back(Value::Text("Nobody"));
  request.filter = "statecode eq 0";
  request.max_records = 40;
  std::set<std::string> names;
  int calls = 0;
  for (;;) {
    auto batch = f.connector().Lookup(request, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
    ASSERT_TRUE(batch.ok()) << batch.status().ToString();
    ++calls;
    ASSERT_LE(batch->changes.size(), 40u) << "memory bounded by a page";
    for (const auto& c : batch->changes) {
      EXPECT_TRUE(names.insert(c.record.at("name").as_text()).second) << "duplicate " << c.key;
      EXPECT_TRUE(c.modified_at.has_value());
    }
    request.cursor = batch->next_cursor;
    if (!batch->more) break;
  }
  EXPECT_EQ(names.size(), 152u);
  EXPECT_EQ(names.count("Company 149"), 1u);
  EXPECT_EQ(names.count("Company 150"), 0u);
  EXPECT_EQ(names.count("O'Bryan & Sons #1 100%"), 1u);
  EXPECT_EQ(names.count("Zo\u00eb Caf\u00e9"), 1u);
  // 153 values in chunks of 100 and 53; 100 matches in pages of 40, 40, 20, then 52 in 40, 12.
  EXPECT_EQ(calls, 5);

  // By key: the empty attribute.
  const json some = f.Dump("accounts");
  connectors::LookupRequest by_key;
  by_key.entity = "accounts";
  by_key.columns = {"name"};
  by_key.values = {Value::Text(some[0]["accountid"].get<std::string>()),
                   Value::Text(some[1]["accountid"].get<std::string>()), Value::Text(NewGuid())};
  auto found = f.connector().Lookup(by_key, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->changes.size(), 2u);
  EXPECT_FALSE(found->more);
}

// --- Writes ------------------------------------------------------------------

TEST(DataverseConnectorTest, WriteResultsCarryTheRecordAsDataverseStoredIt) {
  ConnectorFixture f;
  const json contact =
      f.Admin("POST", "seed", {{"entity_set", "contacts"}, {"records", {{{"lastname", "Anderson"}}}}})["ids"];
  WriteOp create = Create("With a contact");
  create.fields["primarycontactid@odata.bind"] = Value::Text("/contacts(" + contact[0].get<std::string>() + ")");
  create.read_back = {"name", "_primarycontactid_value"};
  WriteOp grouped = Create("In a group");
  grouped.group = "g";
  grouped.read_back = {"name"};
  std::vector<WriteOp> ops = {create, grouped};
  auto written =
      f.connector().Write("accounts", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(written.ok());
  ASSERT_TRUE((*written)[0].status.ok()) << (*written)[0].status.ToString();
  ASSERT_TRUE((*written)[1].status.ok()) << (*written)[1].status.ToString();
  EXPECT_EQ((*written)[0].record.at("_primarycontactid_value"), Value::Text(contact[0].get<std::string>()));
  EXPECT_EQ((*written)[0].record.at("name"), Value::Text("With a contact"));
  EXPECT_EQ((*written)[1].record, (Record{{"name", Value::Text("In a group")}}));
  EXPECT_FALSE((*written)[0].version.empty());
  EXPECT_FALSE((*written)[1].version.empty());
}

TEST(DataverseConnectorTest, AGroupRepeatedAfterItCommittedIsOkWithoutDuplicates) {
  ConnectorFixture f;
  const json account = f.Admin("POST", "seed", {{"entity_set", "accounts"}, {"records", {{{"name", "Buyer"}}}}})["ids"];
  const std::string order_id = NewGuid();
  WriteOp header;
  header.kind = WriteOp::Kind::kCreate;
  header.key = order_id;
  header.group = "order-1";
  header.fields["name"] = Value::Text("Web order 1002");
  header.fields["customerid_account@odata.bind"] = Value::Text("/accounts(" + account[0].get<std::string>() + ")");
  WriteOp line;
  line.kind = WriteOp::Kind::kCreate;
  line.entity = "salesorderdetails";
  line.key = NewGuid();
  line.group = "order-1";
  line.fields["salesorderid@odata.bind"] = Value::Text("/salesorders(" + order_id + ")");
  line.fields["isproductoverridden"] = Value::Bool(true);
  line.fields["productdescription"] = Value::Text("Consulting day");
  line.fields["quantity"] = Value::Integer(2);
  std::vector<WriteOp> ops = {header, line};
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto result =
        f.connector().Write("salesorders", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
    ASSERT_TRUE(result.ok());
    for (const auto& r : *result) EXPECT_TRUE(r.status.ok()) << "attempt " << attempt << ": " << r.status.ToString();
    EXPECT_FALSE((*result)[0].version.empty()) << "read back by key";
  }
  EXPECT_EQ(f.Dump("salesorders").size(), 1u);
  EXPECT_EQ(f.Dump("salesorderdetails").size(), 1u);
}

// --- Opportunities -------------------------------------------------------------

TEST(DataverseConnectorTest, OpportunitiesAreClosedAndReopenedTheWayDataverseWants) {
  ConnectorFixture f;
  const json account = f.Admin("POST", "seed", {{"entity_set", "accounts"}, {"records", {{{"name", "Buyer"}}}}})["ids"];
  const auto write = [&](const WriteOp& op) {
    std::vector<WriteOp> ops = {op};
    auto result =
        f.connector().Write("opportunities", ops, Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
    EXPECT_TRUE(result.ok());
    return result.ok() ? (*result)[0] : connectors::WriteResult{};
  };
  const auto stored = [&](const std::string& id) {
    for (const auto& r : f.Dump("opportunities")) {
      if (r["opportunityid"] == id) return r;
    }
    return json();
  };

  // Created won: POST without the state columns, then WinOpportunity, in one change set.
  WriteOp create = Create("Big deal");
  create.fields["customerid_account@odata.bind"] = Value::Text("/accounts(" + account[0].get<std::string>() + ")");
  create.fields["statecode"] = Value::Integer(1);
  create.read_back = {"name", "statecode", "statuscode"};
  const std::string id = create.key;
  auto created = write(create);
  ASSERT_TRUE(created.status.ok()) << created.status.ToString();
  EXPECT_EQ(stored(id)["statecode"], 1);
  EXPECT_EQ(stored(id)["statuscode"], 3);
  EXPECT_EQ(created.record.at("statuscode"), Value::Integer(3)) << "read back after the action";
  EXPECT_FALSE(created.version.empty());

  // Reopened with a new name: the reopen PATCH first, then the fields.
  WriteOp reopen;
  reopen.kind = WriteOp::Kind::kUpdate;
  reopen.key = id;
  reopen.expected_version = created.version;
  reopen.fields["statecode"] = Value::Integer(0);
  reopen.fields["name"] = Value::Text("Big deal, again");
  auto reopened = write(reopen);
  ASSERT_TRUE(reopened.status.ok()) << reopened.status.ToString();
  EXPECT_EQ(stored(id)["statecode"], 0);
  EXPECT_EQ(stored(id)["statuscode"], 1);
  EXPECT_EQ(stored(id)["name"], "Big deal, again");

  // Lost (out-sold) with a last edit: the fields, then LoseOpportunity with Status 5.
  WriteOp lose;
  lose.kind = WriteOp::Kind::kUpdate;
  lose.key = id;
  lose.expected_version = reopened.version;
  lose.fields["statuscode"] = Value::Integer(5);
  lose.fields["description"] = Value::Text("Out-sold by a competitor");
  auto lost = write(lose);
  ASSERT_TRUE(lost.status.ok()) << lost.status.ToString();
  EXPECT_EQ(stored(id)["statecode"], 2);
  EXPECT_EQ(stored(id)["statuscode"], 5);
  EXPECT_EQ(stored(id)["description"], "Out-sold by a competitor");

  // A close whose field edit Dataverse refuses leaves everything as it was (one change set).
  WriteOp reopen_on_hold;
  reopen_on_hold.kind = WriteOp::Kind::kUpdate;
  reopen_on_hold.key = id;
  reopen_on_hold.fields["statuscode"] = Value::Integer(2);
  ASSERT_TRUE(write(reopen_on_hold).status.ok());
  EXPECT_EQ(stored(id)["statecode"], 0);
  EXPECT_EQ(stored(id)["statuscode"], 2);
  WriteOp bad_win;
  bad_win.kind = WriteOp::Kind::kUpdate;
  bad_win.key = id;
  bad_win.fields["statecode"] = Value::Integer(1);
  bad_win.fields["name"] = Value::Text(std::string(400, 'x'));  // longer than 300
  auto refused = write(bad_win);
  EXPECT_EQ(refused.status.code(), StatusCode::kInvalidArgument) << refused.status.ToString();
  EXPECT_EQ(stored(id)["statecode"], 0) << "the action was rolled back with the PATCH";

  // A stale version stops the close before the action (R3).
  WriteOp stale;
  stale.kind = WriteOp::Kind::kUpdate;
  stale.key = id;
  stale.expected_version = created.version;
  stale.fields["statecode"] = Value::Integer(1);
  EXPECT_EQ(write(stale).status.code(), StatusCode::kConflict);
  EXPECT_EQ(stored(id)["statecode"], 0);

  // A state Dataverse does not have is refused before anything is sent.
  WriteOp impossible;
  impossible.kind = WriteOp::Kind::kUpdate;
  impossible.key = id;
  impossible.fields["statecode"] = Value::Integer(1);
  impossible.fields["statuscode"] = Value::Integer(4);
  EXPECT_EQ(write(impossible).status.code(), StatusCode::kInvalidArgument);
}

TEST(DataverseConnectorTest, HttpsWithATestCa) {
  const auto pki = testing_support::MakeTestPki();
  testing_support::TempDir dir;
  const std::string ca = dir.WriteFile("ca.pem", pki.ca.cert_pem);
  EmulatorOptions options;
  options.tls_cert_pem = pki.server.cert_pem;
  options.tls_key_pem = pki.server.key_pem;
  ConnectorFixture f(options, {}, ca);
  ASSERT_EQ(f.emulator().base_url().rfind("https://", 0), 0u);
  auto who = f.connector().WhoAmI(Deadline::After(::crmsync::testing_support::RealClock(), kTimeout));
  ASSERT_TRUE(who.ok()) << who.status().ToString();
}

}  // namespace
}  // namespace crmsync::dataverse
