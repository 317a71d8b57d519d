// Bad input never crashes or hangs the emulator: garbage bytes, malformed
// HTTP, random URLs, bodies and keys all get an HTTP error (or a closed
// connection) and the server keeps serving.
#include <gtest/gtest.h>

#include <random>

#include "tests/emulator/emulator_fixture.h"

namespace crmsync::emulator::testing {
namespace {

class RobustnessTest : public EmulatorTest {};

TEST_F(RobustnessTest, GarbageBytesGet400AndServerSurvives) {
  TestClient raw(base());
  for (const std::string& bytes :
       {std::string("GARBAGE\r\n\r\n"), std::string("\x00\x01\x02\xff\r\n\r\n", 8),
        std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string("GET /api/data/v9.2/accounts HTTP/1.1\r\nContent-Length: -5\r\n\r\n"),
        std::string("POST /api/data/v9.2/accounts HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
        std::string("GET /api/data/v9.2/accounts HTTP/1.1\r\nX: ") + std::string(300000, 'a') + "\r\n\r\n"}) {
    const std::string reply = raw.SendRaw(bytes, std::chrono::seconds(5));
    if (!reply.empty()) {
      EXPECT_TRUE(reply.starts_with("HTTP/1.1 4")) << reply.substr(0, 80);
    }
  }
  // A client that connects and sends half a request then leaves.
  raw.SendRaw("GET /api/data/v9.2/acc", std::chrono::milliseconds(100));
  EXPECT_EQ(client().Api("GET", "WhoAmI").status, 200);
}

TEST_F(RobustnessTest, RandomUrlsAndBodiesNeverGive5xx) {
  const std::string id = Create("accounts", {{"name", "Target"}});
  const std::vector<std::string> paths = {"accounts",
                                          "accounts(" + id + ")",
                                          "accounts(",
                                          "accounts()",
                                          "accounts(abc)",
                                          "accounts('x')",
                                          "accounts(accountnumber=)",
                                          "accounts(accountnumber='a'",
                                          "accounts(" + id + ")/nope",
                                          "accounts(" + id + ")/name/$ref",
                                          "accounts/$count/x",
                                          "$metadata/x",
                                          "%ZZ",
                                          "accounts?$select=",
                                          "accounts?$select=,",
                                          "accounts?$filter=",
                                          "accounts?$orderby=name%20sideways",
                                          "accounts?$expand=nope",
                                          "accounts?$expand=primarycontactid($filter=x)",
                                          "accounts?$top=99999999999",
                                          "accounts?$skiptoken=%3Ccookie",
                                          "accounts?$deltatoken=1!",
                                          "accounts?&&&=&",
                                          "accounts(" + id + ")?$select=nope",
                                          "WhoAmI(",
                                          "WinOpportunity",
                                          "contacts(" + id + ")/parentcustomerid_account/$ref"};
  const std::vector<std::string> bodies = {"",
                                           "{",
                                           "[]",
                                           "null",
                                           "1",
                                           "\"x\"",
                                           "{\"name\":{}}",
                                           "{\"name\":[1]}",
                                           "{\"revenue\":1e400}",
                                           "{\"statecode\":\"0\"}",
                                           "{\"@odata.bind\":1}",
                                           "{\"primarycontactid@odata.bind\":\"garbage\"}",
                                           "{\"name\":\"\\ud800\"}",
                                           "{\"OpportunityClose\":1,\"Status\":3}"};
  const std::vector<std::string> methods = {"GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"};
  std::mt19937 rng(7);
  for (int i = 0; i < 400; ++i) {
    const std::string& method = methods[rng() % methods.size()];
    const std::string& path = paths[rng() % paths.size()];
    const std::string& body = bodies[rng() % bodies.size()];
    Response r = client().Api(method, path, body);
    ASSERT_TRUE(r.error.empty()) << method << " " << path << " " << body << ": " << r.error;
    EXPECT_LT(r.status, 500) << method << " " << path << " " << body << ": " << r.body;
  }
  EXPECT_EQ(client().Api("GET", "WhoAmI").status, 200);
}

TEST_F(RobustnessTest, ConcurrentWritersKeepVersionsMonotonic) {
  const std::string id = Create("accounts", {{"name", "Hot"}});
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      TestClient c(base());
      c.set_token(client().token());
      for (int i = 0; i < 25; ++i) {
        if (c.Api("PATCH", "accounts(" + id + ")", "{\"telephone1\":\"" + std::to_string(t * 100 + i) + "\"}").status ==
            204)
          ++ok;
        c.Api("POST", "contacts", R"({"lastname":"T"})");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 100);
  EXPECT_EQ(AdminGet("/_admin/dump/contacts")["count"], 100);
}

TEST_F(RobustnessTest, ConfigErrorsAreListedWithLines) {
  EmulatorOptions o;
  Status s =
      LoadConfigText("{\n  \"port\": \"x\",\n  // comment\n  \"bogus\": 1,\n  \"limits\": {\"requests\": 0}\n}", o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("2: port: must be an integer"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("4: bogus: unknown key"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("limits.requests"), std::string::npos) << s.message();
  EmulatorOptions good;
  ASSERT_TRUE(LoadConfigText(R"({
    // a config with comments
    "tenant": "contoso.onmicrosoft.com",
    "clients": [{"client_id": "abc", "client_secret": "s"}],
    "limits": {"requests": 100, "request_window_s": 2},
    "entities": [{"logical_name": "account", "attributes": [{"name": "new_tier", "type": "choice",
                  "options": [{"value": 1, "label": "Gold"}]}]}],
    "records": {"accounts": [{"name": "Seeded", "new_tier": 1}]}
  })",
                             good)
                  .ok());
  auto emu = Emulator::Start(good);
  ASSERT_TRUE(emu.ok()) << emu.status().ToString();
  TestClient c((*emu)->base_url());
  c.set_token(TestClient::FetchToken((*emu)->base_url(), "contoso.onmicrosoft.com", "abc", "s"));
  Response r = c.Api("GET", "accounts?$select=name,new_tier&$filter=new_tier eq 1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["value"][0]["name"], "Seeded");
  bool help = false;
  EmulatorOptions args;
  EXPECT_TRUE(
      ApplyArgs({"--port", "0", "--limit-requests", "10", "--client-id", "x", "--client-secret", "y"}, args, &help)
          .ok());
  EXPECT_EQ(args.limits.requests, 10);
  EXPECT_FALSE(ApplyArgs({"--port"}, args, &help).ok());
  EXPECT_FALSE(ApplyArgs({"--port", "-1"}, args, &help).ok());
  EXPECT_FALSE(ApplyArgs({"--nope", "1"}, args, &help).ok());
  EXPECT_FALSE(ApplyArgs({"--client-secret", "y"}, args, &help).ok());
}

}  // namespace
}  // namespace crmsync::emulator::testing
