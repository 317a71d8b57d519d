// Fault injection and request counters through the admin API: 5xx/429 with
// OData codes, connections dropped before or after the request ran, truncated bodies, stalls; admin seed/dump/reset.
#include <gtest/gtest.h>

#include "tests/emulator/emulator_fixture.h"

namespace crmsync::emulator::testing {
namespace {

class FaultsTest : public EmulatorTest {};

TEST_F(FaultsTest, StatusFaultsForTheNextNMatchingRequests) {
  AdminPost("/_admin/faults", {{"match", {{"method", "GET"}, {"entity_set", "accounts"}}},
                               {"action", "status"},
                               {"status", 503},
                               {"retry_after", 2},
                               {"count", 2}});
  EXPECT_EQ(client().Api("GET", "contacts").status, 200);  // does not match
  for (int i = 0; i < 2; ++i) {
    Response r = client().Api("GET", "accounts");
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.Header("retry-after"), "2");
    EXPECT_EQ(r.Header("odata-version"), "4.0");
    EXPECT_TRUE(r.Json().contains("error"));
  }
  EXPECT_EQ(client().Api("GET", "accounts").status, 200);
  AdminPost("/_admin/faults",
            {{"match", {{"method", "POST"}}}, {"action", "status"}, {"status", 500}, {"code", "0x80044150"}});
  Response deadlock = client().Api("POST", "accounts", R"({"name":"x"})");
  EXPECT_EQ(deadlock.status, 500);
  EXPECT_EQ(ErrorCode(deadlock), "0x80044150");
  EXPECT_EQ(AdminGet("/_admin/dump/accounts")["count"], 0);  // the faulted request did not run
  AdminPost("/_admin/faults", {{"match", {{"path_prefix", "/api/data/v9.2/WhoAmI"}}},
                               {"action", "status"},
                               {"status", 429},
                               {"retry_after", 1}});
  Response throttled = client().Api("GET", "WhoAmI");
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(ErrorCode(throttled), "0x80072322");
  EXPECT_EQ(throttled.Header("retry-after"), "1");
}

TEST_F(FaultsTest, TokenEndpointFault) {
  AdminPost("/_admin/faults", {{"match", {{"entity_set", "token"}}}, {"action", "status"}, {"status", 503}});
  EXPECT_TRUE(NewToken().empty());
  EXPECT_FALSE(NewToken().empty());
}

TEST_F(FaultsTest, DropClosesWithoutResponse) {
  AdminPost("/_admin/faults", {{"match", {{"entity_set", "accounts"}}}, {"action", "drop"}});
  Response r = client().Api("GET", "accounts");
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(client().Api("GET", "accounts").status, 200);
}

// drop_after runs the request, then closes without an answer: the write is
// there, the client only saw the connection go.
TEST_F(FaultsTest, DropAfterAppliesTheWriteAndLosesTheAnswer) {
  AdminPost("/_admin/faults", {{"match", {{"method", "POST"}, {"entity_set", "accounts"}}}, {"action", "drop_after"}});
  Response lost = client().Api("POST", "accounts", R"({"name":"Applied"})");
  EXPECT_EQ(lost.status, 0);
  EXPECT_FALSE(lost.error.empty());
  const auto dump = AdminGet("/_admin/dump/accounts");
  ASSERT_EQ(dump["count"], 1) << dump.dump();
  EXPECT_EQ(dump["value"][0]["name"], "Applied");
  EXPECT_EQ(AdminGet("/_admin/counters")["by_status"]["0"], 1) << "counted as a dropped connection";
  EXPECT_EQ(client().Api("POST", "accounts", R"({"name":"Answered"})").status, 204);
  EXPECT_EQ(AdminGet("/_admin/dump/accounts")["count"], 2);
}

TEST_F(FaultsTest, TruncateSendsHalfTheBody) {
  Seed("accounts", {{{"name", std::string(100, 'x')}}});
  AdminPost("/_admin/faults", {{"match", {{"entity_set", "accounts"}}}, {"action", "truncate"}});
  TestClient raw(base());
  const std::string reply = raw.SendRaw("GET /api/data/v9.2/accounts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                        client().token() + "\r\n\r\n");
  const auto header_end = reply.find("\r\n\r\n");
  ASSERT_NE(header_end, std::string::npos) << reply;
  const auto cl = reply.find("Content-Length: ");
  ASSERT_NE(cl, std::string::npos);
  const std::size_t declared = std::stoul(reply.substr(cl + 16));
  const std::size_t got = reply.size() - header_end - 4;
  EXPECT_EQ(got, declared / 2);
  // A client sees a transport error, and the next request is fine.
  AdminPost("/_admin/faults", {{"match", {{"entity_set", "accounts"}}}, {"action", "truncate"}});
  EXPECT_FALSE(client().Api("GET", "accounts").error.empty());
  EXPECT_EQ(client().Api("GET", "accounts").status, 200);
}

TEST_F(FaultsTest, StallHoldsTheResponse) {
  AdminPost("/_admin/faults", {{"match", {{"entity_set", "accounts"}}}, {"action", "stall"}, {"stall_ms", 400}});
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client().Api("GET", "accounts").status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(400));
  // A client timeout shorter than the stall fails.
  AdminPost("/_admin/faults", {{"match", {{"entity_set", "accounts"}}}, {"action", "stall"}, {"stall_ms", 2000}});
  client().set_timeout(std::chrono::milliseconds(200));
  EXPECT_FALSE(client().Api("GET", "accounts").error.empty());
}

TEST_F(FaultsTest, BadFaultRulesAre400) {
  for (const char* body : {R"({"action":"explode"})", R"({"action":"status","status":99})", R"({"action":"stall"})",
                           R"({"count":0})", R"([1])"}) {
    EXPECT_EQ(client().Send("POST", "/_admin/faults", {{"Content-Type", "application/json"}}, body).status, 400)
        << body;
  }
  AdminPost("/_admin/faults", {{"action", "drop"}, {"count", 3}});
  EXPECT_EQ(AdminGet("/_admin/faults").size(), 1u);
  EXPECT_EQ(client().Send("DELETE", "/_admin/faults").status, 204);
  EXPECT_TRUE(AdminGet("/_admin/faults").empty());
}

TEST_F(FaultsTest, CountersByMethodEntitySetAndStatus) {
  AdminPost("/_admin/counters/reset");
  client().Api("GET", "accounts");
  client().Api("GET", "accounts(00000000-0000-0000-0000-000000000001)");
  client().Api("POST", "contacts", R"({"lastname":"C"})");
  auto c = AdminGet("/_admin/counters");
  EXPECT_EQ(c["total"], 3);
  EXPECT_EQ(c["by_method"]["GET"], 2);
  EXPECT_EQ(c["by_method"]["POST"], 1);
  EXPECT_EQ(c["by_entity_set"]["accounts"], 2);
  EXPECT_EQ(c["by_entity_set"]["contacts"], 1);
  EXPECT_EQ(c["by_status"]["200"], 1);
  EXPECT_EQ(c["by_status"]["404"], 1);
  EXPECT_EQ(c["by_status"]["204"], 1);
  AdminPost("/_admin/counters/reset");
  EXPECT_EQ(AdminGet("/_admin/counters")["total"], 0);
}

TEST_F(FaultsTest, SeedDumpEditDeleteReset) {
  auto ids = Seed("contacts", {{{"firstname", "A"}, {"lastname", "One"}},
                               {{"lastname", "Two"}, {"statecode", 1}, {"statuscode", 2}}});
  ASSERT_EQ(ids.size(), 2u);
  auto dump = AdminGet("/_admin/dump/contacts");
  EXPECT_EQ(dump["count"], 2);
  EXPECT_EQ(dump["value"][0]["@odata.etag"].get<std::string>().substr(0, 3), "W/\"");
  EXPECT_EQ(client().Api("GET", "contacts(" + ids[1] + ")").Json()["statecode"], 1);
  Response bad =
      client().Send("POST", "/_admin/seed", {{"Content-Type", "application/json"}},
                    R"({"entity_set":"contacts","records":[{"firstname":")" + std::string(60, 'x') + R"("}]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(client().Send("POST", "/_admin/seed", {}, R"({"entity_set":"nope","records":[]})").status, 404);
  Response edit = client().Send("PATCH", "/_admin/records/contacts(" + ids[0] + ")", {}, R"({"lastname":"Edited"})");
  ASSERT_EQ(edit.status, 200) << edit.body;
  EXPECT_EQ(client().Api("GET", "contacts(" + ids[0] + ")").Json()["fullname"], "A Edited");
  EXPECT_EQ(client().Send("DELETE", "/_admin/records/contacts(" + ids[0] + ")").status, 204);
  EXPECT_EQ(client().Send("DELETE", "/_admin/records/contacts(" + ids[0] + ")").status, 404);
  EXPECT_EQ(client().Send("POST", "/_admin/reset").status, 204);
  EXPECT_EQ(AdminGet("/_admin/dump/contacts")["count"], 0);
  EXPECT_EQ(AdminGet("/_admin/dump/transactioncurrencies")["count"], 1);
  EXPECT_EQ(client().Api("GET", "WhoAmI").status, 200);  // tokens survive a reset
  EXPECT_EQ(client().Send("GET", "/_admin/nothing").status, 404);
}

}  // namespace
}  // namespace crmsync::emulator::testing
