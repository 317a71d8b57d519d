// Activities (phone calls, appointments, e-mails, letters), marketing lists
// and campaigns: the regarding lookup, state/status pairs per activity type,
// list members through AddMemberList / RemoveMemberList and the
// listcontact_association relationship, and lists linked to campaigns
// (AddItemCampaign, campaignlist_association). tests/emulator/README.md
// says which of these Microsoft documents and which are guesses.
#include <gtest/gtest.h>

#include <set>

#include "tests/emulator/emulator_fixture.h"

namespace crmsync::emulator::testing {
namespace {

class MarketingTest : public EmulatorTest {
 protected:
  std::set<std::string> Ids(const Response& r, const std::string& key) {
    const nlohmann::json body = r.Json();  // held by name: a range-for over a temporary's member dangles
    EXPECT_TRUE(body.contains("value")) << r.body;
    std::set<std::string> out;
    for (const auto& row : body["value"]) out.insert(row[key].get<std::string>());
    return out;
  }
  Response Post(const std::string& target, const nlohmann::json& body) {
    return client().Api("POST", target, body.dump());
  }
};

TEST_F(MarketingTest, ActivitiesAreRegardingAContactOrAnAccount) {
  const std::string contact = Create("contacts", {{"lastname", "Anderson"}});
  const std::string account = Create("accounts", {{"name", "Litware, Inc."}});
  const std::string call =
      Create("phonecalls", {{"subject", "First call"},
                            {"description", "Fleet renewal"},
                            {"directioncode", true},
                            {"scheduledstart", "2026-03-03T10:15:00Z"},
                            {"actualdurationminutes", 15},
                            {"regardingobjectid_contact_phonecall@odata.bind", "/contacts(" + contact + ")"}});
  ASSERT_FALSE(call.empty());
  Response g = client().Api("GET", "phonecalls(" + call + ")?$select=subject,_regardingobjectid_value,statecode", "",
                            {{"Prefer", "odata.include-annotations=\"*\""}});
  ASSERT_EQ(g.status, 200) << g.body;
  auto j = g.Json();
  EXPECT_EQ(j["activityid"], call);
  EXPECT_EQ(j["_regardingobjectid_value"], contact);
  EXPECT_EQ(j["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "contact");
  EXPECT_EQ(j["_regardingobjectid_value@Microsoft.Dynamics.CRM.associatednavigationproperty"],
            "regardingobjectid_contact_phonecall");
  EXPECT_EQ(j["statecode"], 0);
  EXPECT_FALSE(g.Json().contains("_ownerid_value")) << "not selected";
  EXPECT_EQ(client().Api("GET", "phonecalls(" + call + ")").Json()["_ownerid_value"],
            client().Api("GET", "WhoAmI").Json()["UserId"]);

  // The same for the other activity types, bound to an account.
  for (const std::string type : {"appointment", "email", "letter"}) {
    const std::string id = Create(
        type + "s",
        {{"subject", type}, {"regardingobjectid_account_" + type + "@odata.bind", "/accounts(" + account + ")"}});
    ASSERT_FALSE(id.empty()) << type;
    auto row = client().Api("GET", type + "s(" + id + ")", "", {{"Prefer", "odata.include-annotations=\"*\""}}).Json();
    EXPECT_EQ(row["_regardingobjectid_value"], account) << type;
    EXPECT_EQ(row["_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname"], "account") << type;
  }
  // The navigation property names the activity type: a bare regardingobjectid_contact is not one.
  Response bare = client().Api(
      "POST", "phonecalls",
      nlohmann::json{{"subject", "x"}, {"regardingobjectid_contact@odata.bind", "/contacts(" + contact + ")"}}.dump());
  EXPECT_EQ(bare.status, 400);
  EXPECT_EQ(ErrorCode(bare), "0x80048d19");
  EXPECT_NE(ErrorMessage(bare).find("undeclared property 'regardingobjectid_contact'"), std::string::npos)
      << ErrorMessage(bare);
  // Filtering by the regarding record.
  Response by_contact = client().Api("GET", "phonecalls?$filter=_regardingobjectid_value eq " + contact);
  ASSERT_EQ(by_contact.status, 200) << by_contact.body;
  EXPECT_EQ(Ids(by_contact, "activityid"), std::set<std::string>{call});
}

TEST_F(MarketingTest, EachActivityTypeHasItsOwnStatusReasonsPerState) {
  struct Case {
    const char* set;
    int open_default;  // statuscode of a new record
    int state;         // a state to move to
    int good_status;   // a status reason of that state
    int bad_status;    // a status reason of another state
  };
  const Case cases[] = {
      {"phonecalls", 1, 1, 2, 3},    // Completed: Made (2) or Received (4); 3 is Canceled
      {"phonecalls", 1, 2, 3, 4},    // Canceled: 3
      {"emails", 1, 1, 3, 8},        // Completed: Sent (3); 8 Failed is an Open reason
      {"emails", 1, 2, 5, 2},        // Canceled: 5
      {"letters", 1, 1, 4, 2},       // Completed: Sent (4); 2 Draft is Open
      {"letters", 1, 2, 5, 3},       // Canceled: 5; 3 Received is Completed
      {"appointments", 5, 1, 3, 5},  // new appointments are Scheduled/Busy; Completed: 3
      {"appointments", 5, 0, 2, 6},  // Open: Free (1) or Tentative (2); 6 Out of Office is Scheduled
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.set) + " state " + std::to_string(c.state));
    const std::string id = Create(c.set, {{"subject", "s"}});
    EXPECT_EQ(client().Api("GET", std::string(c.set) + "(" + id + ")").Json()["statuscode"], c.open_default);
    Response bad = client().Api("PATCH", std::string(c.set) + "(" + id + ")",
                                nlohmann::json{{"statecode", c.state}, {"statuscode", c.bad_status}}.dump());
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_EQ(ErrorCode(bad), "0x80040203");
    EXPECT_NE(ErrorMessage(bad).find(std::to_string(c.bad_status) + " is not a valid status code for state code"),
              std::string::npos)
        << ErrorMessage(bad);
    Response good = client().Api("PATCH", std::string(c.set) + "(" + id + ")",
                                 nlohmann::json{{"statecode", c.state}, {"statuscode", c.good_status}}.dump());
    ASSERT_EQ(good.status, 204) << good.body;
    auto row = client().Api("GET", std::string(c.set) + "(" + id + ")").Json();
    EXPECT_EQ(row["statecode"], c.state);
    EXPECT_EQ(row["statuscode"], c.good_status);
  }
  // The state alone takes that state's first status reason.
  const std::string call = Create("phonecalls", {{"subject", "s"}});
  ASSERT_EQ(client().Api("PATCH", "phonecalls(" + call + ")", R"({"statecode":1})").status, 204);
  EXPECT_EQ(client().Api("GET", "phonecalls(" + call + ")").Json()["statuscode"], 2);
  // statuscode 9 exists for no state.
  EXPECT_EQ(client().Api("PATCH", "phonecalls(" + call + ")", R"({"statecode":1,"statuscode":9})").status, 400);
}

TEST_F(MarketingTest, ListMembersAreAddedAndRemovedByActionsAndReadThroughTheRelationship) {
  const std::string ann = Create("contacts", {{"lastname", "Lee"}});
  const std::string ben = Create("contacts", {{"lastname", "Okafor"}});
  const std::string account = Create("accounts", {{"name", "Contoso"}});
  const std::string list = Create("lists", {{"listname", "UK buyers"}, {"createdfromcode", 2}, {"type", false}});
  ASSERT_FALSE(list.empty());
  auto created = client().Api("GET", "lists(" + list + ")").Json();
  EXPECT_EQ(created["listname"], "UK buyers");
  EXPECT_EQ(created["type"], false);
  EXPECT_EQ(created["statecode"], 0);

  Response added = Post("lists(" + list + ")/Microsoft.Dynamics.CRM.AddMemberList", {{"EntityId", ann}});
  ASSERT_EQ(added.status, 200) << added.body;
  EXPECT_EQ(added.Json()["@odata.context"], api() + "$metadata#Microsoft.Dynamics.CRM.AddMemberListResponse");
  const std::string member = added.Json()["Id"].get<std::string>();
  EXPECT_EQ(client().Api("GET", "listmembers(" + member + ")").Json()["_entityid_value"], ann);
  ASSERT_EQ(Post("lists(" + list + ")/Microsoft.Dynamics.CRM.AddMemberList", {{"EntityId", ben}}).status, 200);
  Response again = Post("lists(" + list + ")/Microsoft.Dynamics.CRM.AddMemberList", {{"EntityId", ann}});
  ASSERT_EQ(again.status, 200);
  EXPECT_EQ(again.Json()["Id"], member) << "a contact is a member once";

  Response members = client().Api("GET", "lists(" + list + ")/listcontact_association?$select=contactid,lastname");
  ASSERT_EQ(members.status, 200) << members.body;
  EXPECT_EQ(Ids(members, "contactid"), (std::set<std::string>{ann, ben}));
  EXPECT_EQ(members.Json()["@odata.context"], api() + "$metadata#contacts(contactid,lastname)");
  EXPECT_EQ(client().Api("GET", "lists(" + list + ")").Json()["membercount"], 2);
  // From the contact's side, the same relationship lists its lists.
  EXPECT_EQ(Ids(client().Api("GET", "contacts(" + ann + ")/listcontact_association?$select=listid"), "listid"),
            std::set<std::string>{list});

  // Refused: a member of the wrong type, one that does not exist, no EntityId, the action unbound.
  Response wrong = Post("lists(" + list + ")/Microsoft.Dynamics.CRM.AddMemberList", {{"EntityId", account}});
  EXPECT_EQ(wrong.status, 404) << wrong.body;
  EXPECT_EQ(ErrorCode(wrong), "0x80040217");
  Response missing = Post("lists(" + list + ")/Microsoft.Dynamics.CRM.AddMemberList", nlohmann::json::object());
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(ErrorMessage(missing).find("'EntityId'"), std::string::npos);
  Response unbound = Post("AddMemberList", {{"ListId", list}, {"EntityId", ann}});
  EXPECT_EQ(unbound.status, 404);
  EXPECT_EQ(ErrorCode(unbound), "0x8006088a");

  Response removed = Post("lists(" + list + ")/Microsoft.Dynamics.CRM.RemoveMemberList", {{"EntityId", ann}});
  ASSERT_EQ(removed.status, 204) << removed.body;
  EXPECT_EQ(Ids(client().Api("GET", "lists(" + list + ")/listcontact_association"), "contactid"),
            std::set<std::string>{ben});
  EXPECT_EQ(client().Api("GET", "listmembers(" + member + ")").status, 404);

  // The relationship itself: associate and disassociate with $ref.
  Response ref =
      Post("lists(" + list + ")/listcontact_association/$ref", {{"@odata.id", api() + "contacts(" + ann + ")"}});
  ASSERT_EQ(ref.status, 204) << ref.body;
  Response unref = client().Api("DELETE", "lists(" + list + ")/listcontact_association(" + ben + ")/$ref");
  ASSERT_EQ(unref.status, 204) << unref.body;
  EXPECT_EQ(Ids(client().Api("GET", "lists(" + list + ")/listcontact_association"), "contactid"),
            std::set<std::string>{ann});
  EXPECT_EQ(client().Api("DELETE", "lists(" + list + ")/listcontact_association(" + ben + ")/$ref").status, 404);

  // $metadata declares the relationship on both tables.
  const std::string md = client().Api("GET", "$metadata").body;
  EXPECT_NE(md.find("<NavigationProperty Name=\"listcontact_association\" Type=\"Collection(mscrm.contact)\" />"),
            std::string::npos);
  EXPECT_NE(md.find("<NavigationProperty Name=\"listcontact_association\" Type=\"Collection(mscrm.list)\" />"),
            std::string::npos);
  EXPECT_NE(md.find("<NavigationProperty Name=\"regardingobjectid_contact_phonecall\" Type=\"mscrm.contact\" />"),
            std::string::npos);

  // A deleted contact leaves the list.
  ASSERT_EQ(client().Api("DELETE", "contacts(" + ann + ")").status, 204);
  EXPECT_TRUE(client().Api("GET", "lists(" + list + ")/listcontact_association").Json()["value"].empty());
}

TEST_F(MarketingTest, ListMembershipShowsInChangeTracking) {
  const std::string ann = Create("contacts", {{"lastname", "Lee"}});
  const std::string list = Create("lists", {{"listname", "L"}, {"createdfromcode", 2}});
  Response first =
      client().Api("GET", "listmembers?$select=_listid_value,_entityid_value", "", {{"Prefer", "odata.track-changes"}});
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string delta = first.Json()["@odata.deltaLink"].get<std::string>();
  const std::string member =
      Post("lists(" + list + ")/Microsoft.Dynamics.CRM.AddMemberList", {{"EntityId", ann}}).Json()["Id"];
  auto added = client().Api("GET", delta).Json();
  ASSERT_EQ(added["value"].size(), 1u) << added.dump();
  EXPECT_EQ(added["value"][0]["_entityid_value"], ann);
  ASSERT_EQ(Post("lists(" + list + ")/Microsoft.Dynamics.CRM.RemoveMemberList", {{"EntityId", ann}}).status, 204);
  auto removed = client().Api("GET", added["@odata.deltaLink"].get<std::string>()).Json();
  ASSERT_EQ(removed["value"].size(), 1u) << removed.dump();
  EXPECT_EQ(removed["value"][0]["id"], member);
  EXPECT_EQ(removed["value"][0]["reason"], "deleted");
}

TEST_F(MarketingTest, CampaignsTargetListsThroughAddItemCampaignAndTheRelationship) {
  const std::string campaign = Create("campaigns", {{"name", "Spring fleet offer"},
                                                    {"codename", "CP000001"},
                                                    {"proposedstart", "2026-04-01"},
                                                    {"proposedend", "2026-05-31"}});
  ASSERT_FALSE(campaign.empty());
  auto row = client().Api("GET", "campaigns(" + campaign + ")").Json();
  EXPECT_EQ(row["codename"], "CP000001");
  EXPECT_EQ(row["proposedstart"], "2026-04-01");
  EXPECT_EQ(row["statecode"], 0);
  EXPECT_EQ(row["statuscode"], 0) << "Proposed";
  EXPECT_TRUE(row["_ownerid_value"].is_string());
  ASSERT_EQ(client().Api("PATCH", "campaigns(" + campaign + ")", R"({"statuscode":2})").status, 204);
  EXPECT_EQ(client().Api("PATCH", "campaigns(" + campaign + ")", R"({"statecode":0,"statuscode":6})").status, 400);
  EXPECT_EQ(client().Api("PATCH", "campaigns(" + campaign + ")", R"({"proposedend":"2026-02-30"})").status, 400);

  const std::string list = Create("lists", {{"listname", "UK buyers"}, {"createdfromcode", 2}});
  const std::string other = Create("lists", {{"listname", "DE buyers"}, {"createdfromcode", 2}});
  Response item = Post("lists(" + list + ")/Microsoft.Dynamics.CRM.AddItemCampaign",
                       {{"Campaign", {{"@odata.type", "Microsoft.Dynamics.CRM.campaign"}, {"campaignid", campaign}}}});
  ASSERT_EQ(item.status, 200) << item.body;
  EXPECT_EQ(item.Json()["_campaignid_value"], campaign);
  EXPECT_EQ(item.Json()["_entityid_value"], list);
  EXPECT_EQ(item.Json()["entitytype"], "list");
  Response ref = Post("campaigns(" + campaign + ")/campaignlist_association/$ref",
                      {{"@odata.id", api() + "lists(" + other + ")"}});
  ASSERT_EQ(ref.status, 204) << ref.body;
  EXPECT_EQ(Ids(client().Api("GET", "campaigns(" + campaign + ")/campaignlist_association?$select=listname"), "listid"),
            (std::set<std::string>{list, other}));
  EXPECT_EQ(Ids(client().Api("GET", "lists(" + list + ")/campaignlist_association"), "campaignid"),
            std::set<std::string>{campaign});

  Response wrong = Post("campaigns(" + campaign + ")/campaignlist_association/$ref",
                        {{"@odata.id", api() + "contacts(" + Create("contacts", {{"lastname", "X"}}) + ")"}});
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  Response no_campaign = Post("lists(" + list + ")/Microsoft.Dynamics.CRM.AddItemCampaign",
                              {{"Campaign", {{"campaignid", "00000000-0000-0000-0000-000000000099"}}}});
  EXPECT_EQ(no_campaign.status, 404);
  ASSERT_EQ(client()
                .Api("DELETE",
                     "campaigns(" + campaign + ")/campaignlist_association/$ref?$id=" + api() + "lists(" + other + ")")
                .status,
            204);
  EXPECT_EQ(Ids(client().Api("GET", "campaigns(" + campaign + ")/campaignlist_association"), "listid"),
            std::set<std::string>{list});
}

}  // namespace
}  // namespace crmsync::emulator::testing
