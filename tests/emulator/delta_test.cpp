// Change tracking: deltaLinks, changed and deleted records, paging of delta
// results, disallowed options and expired tokens (dataverse-web-api.md section 5).
#include <gtest/gtest.h>

#include <set>

#include "tests/emulator/emulator_fixture.h"

namespace crmsync::emulator::testing {
namespace {

class DeltaTest : public EmulatorTest {
 protected:
  Response Track(const std::string& url, const std::string& extra_prefer = "") {
    std::string prefer = "odata.track-changes";
    if (!extra_prefer.empty()) prefer += "," + extra_prefer;
    return client().Api("GET", url, "", {{"Prefer", prefer}});
  }
};

TEST_F(DeltaTest, InitialLoadThenChangesAndDeletions) {
  const std::string a = Create("accounts", {{"name", "Monte Orton"}, {"telephone1", "555000"}});
  const std::string b = Create("accounts", {{"name", "Second"}});
  Response first = Track("accounts?$select=name,accountnumber,telephone1");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.Header("preference-applied"), "odata.track-changes");
  auto j = first.Json();
  EXPECT_EQ(j["@odata.context"], api() + "$metadata#accounts(name,accountnumber,telephone1)");
  EXPECT_EQ(j["value"].size(), 2u);
  const std::string link = j["@odata.deltaLink"];
  EXPECT_TRUE(link.starts_with(api() + "accounts?$select=name,accountnumber,telephone1&$deltatoken=")) << link;
  EXPECT_NE(link.find("%21"), std::string::npos) << "the token is URL-encoded <version>!<date>: " << link;
  // Deltalink keys are in the first page's order (deltaLink before value, as the reference shows).
  EXPECT_LT(first.body.find("@odata.deltaLink"), first.body.find("\"value\""));

  // No changes yet.
  Response none = client().Api("GET", link);
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(none.Json()["value"].empty());
  EXPECT_EQ(none.Json()["@odata.context"], api() + "$metadata#accounts(name,accountnumber,telephone1)/$delta");

  ASSERT_EQ(client().Api("PATCH", "accounts(" + a + ")", R"({"telephone1":"555001"})").status, 204);
  ASSERT_EQ(client().Api("DELETE", "accounts(" + b + ")").status, 204);
  const std::string c = Create("accounts", {{"name", "Third"}});
  Response delta = client().Api("GET", none.Json()["@odata.deltaLink"]);
  ASSERT_EQ(delta.status, 200) << delta.body;
  auto d = delta.Json();
  ASSERT_EQ(d["value"].size(), 3u) << delta.body;
  // Changed rows first (in version order), then deletions.
  EXPECT_EQ(d["value"][0]["accountid"], a);
  EXPECT_EQ(d["value"][0]["telephone1"], "555001");
  EXPECT_EQ(d["value"][1]["accountid"], c);
  EXPECT_EQ(d["value"][2]["@odata.context"], api() + "$metadata#accounts/$deletedEntity");
  EXPECT_EQ(d["value"][2]["id"], b);
  EXPECT_EQ(d["value"][2]["reason"], "deleted");
  EXPECT_NE(d["@odata.deltaLink"], none.Json()["@odata.deltaLink"]);
  // Pending-change count.
  const std::string token_part = link.substr(link.find("$deltatoken="));
  Response count = client().Api("GET", "accounts/$count?" + token_part);
  EXPECT_EQ(count.body, "3");
}

TEST_F(DeltaTest, CreatedAndDeletedBetweenSyncsYieldsDeletion) {
  const std::string link = Track("contacts?$select=lastname").Json()["@odata.deltaLink"];
  const std::string id = Create("contacts", {{"lastname", "Brief"}});
  ASSERT_EQ(client().Api("DELETE", "contacts(" + id + ")").status, 204);
  auto d = client().Api("GET", link).Json();
  ASSERT_EQ(d["value"].size(), 1u);
  EXPECT_EQ(d["value"][0]["id"], id);
}

TEST_F(DeltaTest, AdminEditAppearsAsAUserChange) {
  const std::string id = Create("contacts", {{"lastname", "Before"}});
  auto first = Track("contacts?$select=lastname").Json();
  const std::int64_t v0 = client().Api("GET", "contacts(" + id + ")").Json()["versionnumber"];
  Response edit = client().Send("PATCH", "/_admin/records/contacts(" + id + ")", {{"Content-Type", "application/json"}},
                                R"({"lastname":"After"})");
  ASSERT_EQ(edit.status, 200) << edit.body;
  EXPECT_GT(edit.Json()["versionnumber"].get<std::int64_t>(), v0);
  auto d = client().Api("GET", first["@odata.deltaLink"]).Json();
  ASSERT_EQ(d["value"].size(), 1u);
  EXPECT_EQ(d["value"][0]["lastname"], "After");
  // Admin delete shows as a tombstone.
  ASSERT_EQ(client().Send("DELETE", "/_admin/records/contacts(" + id + ")").status, 204);
  auto e = client().Api("GET", d["@odata.deltaLink"]).Json();
  ASSERT_EQ(e["value"].size(), 1u);
  EXPECT_EQ(e["value"][0]["reason"], "deleted");
}

TEST_F(DeltaTest, PagedDeltaEndsWithDeltaLink) {
  const std::string link = Track("accounts?$select=name").Json()["@odata.deltaLink"];
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) ids.push_back(Create("accounts", {{"name", "N" + std::to_string(i)}}));
  ASSERT_EQ(client().Api("DELETE", "accounts(" + ids[0] + ")").status, 204);
  ASSERT_EQ(client().Api("DELETE", "accounts(" + ids[1] + ")").status, 204);
  // 2 changed rows + 2 deletions, 3 per page: page 1 has a nextLink, page 2 the deltaLink.
  std::string next = link;
  int pages = 0, changed = 0, deleted = 0;
  std::string delta_link;
  while (!next.empty()) {
    Response r = client().Api("GET", next, "", {{"Prefer", "odata.track-changes,odata.maxpagesize=3"}});
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.Json();
    for (const auto& v : j["value"]) {
      if (v.contains("reason")) {
        ++deleted;
      } else {
        ++changed;
      }
    }
    ++pages;
    next = j.value("@odata.nextLink", "");
    if (next.empty()) {
      delta_link = j.value("@odata.deltaLink", "");
    } else {
      EXPECT_FALSE(j.contains("@odata.deltaLink"));
    }
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 2);
  EXPECT_EQ(changed, 2);
  EXPECT_EQ(deleted, 2);
  EXPECT_TRUE(client().Api("GET", delta_link).Json()["value"].empty());
}

TEST_F(DeltaTest, InitialLoadPagesToo) {
  nlohmann::json records = nlohmann::json::array();
  for (int i = 0; i < 5; ++i) records.push_back({{"lastname", "L" + std::to_string(i)}});
  Seed("contacts", records);
  std::set<std::string> ids;
  Response r = Track("contacts?$select=lastname", "odata.maxpagesize=2");
  int pages = 1;
  while (true) {
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = r.Json();
    for (const auto& v : j["value"]) ids.insert(v["contactid"].get<std::string>());
    if (!j.contains("@odata.nextLink")) {
      EXPECT_TRUE(j.contains("@odata.deltaLink"));
      break;
    }
    r = Track(j["@odata.nextLink"], "odata.maxpagesize=2");
    ASSERT_LT(++pages, 10);
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(ids.size(), 5u);
}

TEST_F(DeltaTest, OptionsRejectedWithTracking) {
  for (const char* opt : {"$filter=name eq 'x'", "$orderby=name", "$top=1", "$expand=primarycontactid"}) {
    Response r = Track(std::string("accounts?$select=name&") + opt);
    EXPECT_EQ(r.status, 400) << opt;
    const std::string name = std::string(opt).substr(0, std::string(opt).find('='));
    EXPECT_EQ(ErrorMessage(r), "The \"" + name + "\" query parameter isn't supported when Change Tracking is enabled.");
  }
}

TEST_F(DeltaTest, ExpiredTokenNeedsFullSync) {
  const std::string link = Track("accounts?$select=name").Json()["@odata.deltaLink"];
  AdminPost("/_admin/change-tracking/expire");
  Response r = client().Api("GET", link);
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "0x80044352");
  EXPECT_EQ(ErrorMessage(r), "Version stamp associated with the client has expired. Please perform a full sync.");
  // A fresh initial load works again.
  Response again = Track("accounts?$select=name");
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(client().Api("GET", again.Json()["@odata.deltaLink"]).status, 200);
  EXPECT_EQ(client().Api("GET", "accounts?$select=name&$deltatoken=garbage").status, 400);
}

class DeltaRetentionTest : public DeltaTest {
 protected:
  EmulatorOptions Options() override {
    EmulatorOptions o;
    o.change_tracking_retention_s = 1;
    return o;
  }
};

TEST_F(DeltaRetentionTest, TokensOlderThanRetentionExpire) {
  const std::string link = Track("accounts?$select=name").Json()["@odata.deltaLink"];
  EXPECT_TRUE(WaitFor([&] { return ErrorCode(client().Api("GET", link)) == "0x80044352"; }, std::chrono::seconds(5)));
}

// An entity's change tracking is switched off in the config file's "entities".
class UntrackedAccountsTest : public DeltaTest {
 protected:
  EmulatorOptions Options() override {
    EmulatorOptions o;
    const Status loaded = LoadConfigText(R"({"entities": [{"logical_name": "account", "change_tracking": false}]})", o);
    EXPECT_TRUE(loaded.ok()) << loaded.ToString();
    return o;
  }
};

TEST_F(UntrackedAccountsTest, ATrackedReadIsRefusedAsDataverseDoes) {
  Create("accounts", {{"name", "Untracked"}});
  Response r = Track("accounts?$select=name");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "0x80072491");
  EXPECT_EQ(ErrorMessage(r), "Entity account isn't enabled for change tracking.");
  // Plain reads, and other tables, are unaffected.
  EXPECT_EQ(client().Api("GET", "accounts?$select=name").status, 200);
  EXPECT_EQ(Track("contacts?$select=fullname").status, 200);
  // $metadata no longer announces change tracking for the set.
  Response metadata = client().Api("GET", "$metadata?annotations=true");
  ASSERT_EQ(metadata.status, 200);
  const auto line = [&](const std::string& set) {
    const auto at = metadata.body.find("<EntitySet Name=\"" + set + "\"");
    return at == std::string::npos ? std::string() : metadata.body.substr(at, metadata.body.find('\n', at) - at);
  };
  EXPECT_EQ(line("accounts").find("ChangeTracking"), std::string::npos) << line("accounts");
  EXPECT_NE(line("contacts").find("ChangeTracking"), std::string::npos) << line("contacts");
}

}  // namespace
}  // namespace crmsync::emulator::testing
