#include "http/cpprest_client.h"
#include "tests/support/real_clock.h"

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "tests/support/scripted_http_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_pki.h"

namespace crmsync::http {
namespace {

using testing_support::ReceivedRequest;
using testing_support::ScriptedHttpServer;
using testing_support::ScriptedReply;

ScriptedReply Echo(const ReceivedRequest& r) {
  ScriptedReply reply;
  reply.status = 200;
  reply.headers = {{"Content-Type", "text/plain"},
                   {"X-Method", r.method},
                   {"X-Target", r.target},
                   {"X-Prefer", r.Header("Prefer")},
                   {"X-Content-Type", r.Header("Content-Type")}};
  reply.body = r.body;
  return reply;
}

TEST(CpprestClientTest, SendsMethodTargetHeadersAndBinaryBody) {
  ScriptedHttpServer server(Echo);
  auto client = MakeCpprestHttpClient({});
  HttpRequest req;
  req.method = "PATCH";
  // Sent verbatim: an OData nextLink must not be re-encoded.
  req.url = server.base_url() + "/api/data/v9.2/contacts?$select=fullname&$skiptoken=%3Ccookie%20page=%222%22%3E";
  req.headers = {{"Prefer", "odata.maxpagesize=2"}, {"Content-Type", "application/json; charset=utf-8"}};
  req.body = std::string("{\"a\":1}\0tail", 12);
  auto resp = client->Send(req, Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200);
  EXPECT_EQ(resp->Header("x-method"), "PATCH");
  EXPECT_EQ(resp->Header("X-Target"),
            "/api/data/v9.2/contacts?$select=fullname&$skiptoken=%3Ccookie%20page=%222%22%3E");
  EXPECT_EQ(resp->Header("X-Prefer"), "odata.maxpagesize=2");
  EXPECT_EQ(resp->Header("X-Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(resp->body, req.body);
}

TEST(CpprestClientTest, ErrorStatusesAreResponsesNotErrors) {
  ScriptedHttpServer server([](const ReceivedRequest&) {
    ScriptedReply r;
    r.status = 404;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"error":{"code":"0x80040217","message":"missing"}})";
    return r;
  });
  auto client = MakeCpprestHttpClient({});
  auto resp = client->Send({.method = "GET", .url = server.base_url() + "/x", .headers = {}, .body = ""},
                           Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 404);
  EXPECT_NE(resp->body.find("0x80040217"), std::string::npos);
}

TEST(CpprestClientTest, DeadlineCutsAStalledResponse) {
  ScriptedHttpServer server([](const ReceivedRequest&) {
    ScriptedReply r;
    r.action = ScriptedReply::Action::kStall;
    r.stall = std::chrono::seconds(30);
    return r;
  });
  auto client = MakeCpprestHttpClient({});
  const auto start = std::chrono::steady_clock::now();
  auto resp = client->Send({.method = "GET", .url = server.base_url() + "/slow", .headers = {}, .body = ""},
                           Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::milliseconds(300)));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kTimeout);
  EXPECT_TRUE(IsRetryable(resp.status()));
  // The stall is 30 s: returning well before it proves the deadline, not the server, ended the call.
  EXPECT_LT(elapsed, std::chrono::seconds(20));
}

TEST(CpprestClientTest, RefusedConnectionIsUnavailable) {
  int port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed again: nothing listens there now
  auto client = MakeCpprestHttpClient({});
  auto resp = client->Send(
      {.method = "GET", .url = "http://127.0.0.1:" + std::to_string(port) + "/", .headers = {}, .body = ""},
      Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable) << resp.status().ToString();
  EXPECT_TRUE(IsRetryable(resp.status()));
}

TEST(CpprestClientTest, ConnectionDroppedMidResponseIsUnavailable) {
  ScriptedHttpServer server([](const ReceivedRequest&) {
    ScriptedReply r;
    r.action = ScriptedReply::Action::kTruncate;
    r.body = std::string(64 * 1024, 'x');
    return r;
  });
  auto client = MakeCpprestHttpClient({});
  auto resp = client->Send({.method = "GET", .url = server.base_url() + "/big", .headers = {}, .body = ""},
                           Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  ASSERT_FALSE(resp.ok()) << "got a response of " << resp->body.size() << " bytes";
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable) << resp.status().ToString();
}

TEST(CpprestClientTest, ConnectionClosedWithoutAnswerIsUnavailable) {
  ScriptedHttpServer server([](const ReceivedRequest&) {
    ScriptedReply r;
    r.action = ScriptedReply::Action::kDrop;
    return r;
  });
  auto client = MakeCpprestHttpClient({});
  auto resp = client->Send({.method = "POST", .url = server.base_url() + "/x", .headers = {}, .body = "{}"},
                           Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable) << resp.status().ToString();
}

TEST(CpprestClientTest, HttpsWithTheTestsOwnCa) {
  const auto pki = testing_support::MakeTestPki();
  testing_support::TempDir dir;
  const std::string ca_file = dir.WriteFile("ca.pem", pki.ca.cert_pem);
  ScriptedHttpServer server(Echo, {.cert_pem = pki.server.cert_pem, .key_pem = pki.server.key_pem});
  ASSERT_EQ(server.base_url().rfind("https://", 0), 0u);

  auto trusting = MakeCpprestHttpClient({.ca_file = ca_file});
  auto ok = trusting->Send({.method = "GET", .url = server.base_url() + "/tls", .headers = {}, .body = ""},
                           Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->Header("X-Target"), "/tls");

  // Without the CA the certificate is not trusted: verification is always on.
  auto strict = MakeCpprestHttpClient({});
  auto refused = strict->Send({.method = "GET", .url = server.base_url() + "/tls", .headers = {}, .body = ""},
                              Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("ca_file"), std::string::npos);
}

TEST(CpprestClientTest, PlainHttpToANonLoopbackHostIsRefusedBeforeSending) {
  auto client = MakeCpprestHttpClient({});
  auto resp = client->Send(
      {.method = "GET", .url = "http://contoso.crm4.dynamics.com/api/data/v9.2/WhoAmI", .headers = {}, .body = ""},
      Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(5)));
  ASSERT_FALSE(resp.ok());
  EXPECT_EQ(resp.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(resp.status().message().find("https"), std::string::npos);
}

TEST(CpprestClientTest, MalformedUrlsAreInvalidArguments) {
  auto client = MakeCpprestHttpClient({});
  for (const char* url : {"", "not a url", "ftp://127.0.0.1/", "http:///nohost", "http://[::1/x"}) {
    auto resp = client->Send({.method = "GET", .url = url, .headers = {}, .body = ""},
                             Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(5)));
    ASSERT_FALSE(resp.ok()) << url;
    EXPECT_EQ(resp.status().code(), StatusCode::kInvalidArgument) << url << ": " << resp.status().ToString();
  }
}

TEST(CpprestClientTest, ManyThreadsShareOneClient) {
  ScriptedHttpServer server(Echo);
  auto client = MakeCpprestHttpClient({});
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        const std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto resp = client->Send({.method = "POST", .url = server.base_url() + "/c", .headers = {}, .body = body},
                                 Deadline::After(::crmsync::testing_support::RealClock(), std::chrono::seconds(10)));
        if (resp.ok() && resp->body == body) ++ok;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), 160);
  EXPECT_EQ(server.requests_seen(), 160);
}

}  // namespace
}  // namespace crmsync::http
