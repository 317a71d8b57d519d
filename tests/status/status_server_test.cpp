#include "status/status_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "tests/status/prometheus_text_check.h"
#include "tests/status/raw_http.h"

namespace crmsync::status {
namespace {

using testing::RawConnection;
using testing::Request;
using testing::SendRaw;

// A StatusSource the tests steer: a fixed snapshot, a readiness to flip,
// and a gate that can hold StatusJson() until the test opens it.
class FakeSource final : public StatusSource {
 public:
  Probe Readiness() override {
    ++readiness_calls;
    std::lock_guard lock(mutex_);
    return ready_;
  }
  std::string StatusJson() override {
    ++status_calls;
    std::unique_lock lock(mutex_);
    entered_status_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !hold_status_; });
    if (throw_) throw std::runtime_error("snapshot broken");
    return R"({"daemon":{"running":true,"pid":42},"mappings":[]})";
  }
  MetricsSnapshot Metrics() override {
    ++metrics_calls;
    MetricsSnapshot s;
    s.ready = true;
    s.requests = 99;
    MappingMetrics m;
    m.mapping = "accounts";
    m.passes = {{"ok", 3}};
    s.mappings = {m};
    return s;
  }

  void SetReady(Probe p) {
    std::lock_guard lock(mutex_);
    ready_ = std::move(p);
  }
  void HoldStatus(bool hold) {
    std::lock_guard lock(mutex_);
    hold_status_ = hold;
    changed_.notify_all();
  }
  void ThrowFromStatus() {
    std::lock_guard lock(mutex_);
    throw_ = true;
  }
  bool WaitUntilStatusEntered(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return entered_status_; });
  }

  std::atomic<int> readiness_calls{0}, status_calls{0}, metrics_calls{0};

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Probe ready_{};
  bool hold_status_ = false;
  bool entered_status_ = false;
  bool throw_ = false;
};

class StatusServerTest : public ::testing::Test {
 protected:
  void StartServer(StatusServerOptions options = {}) {
    server_ = std::make_unique<StatusServer>(source_, options);
    const Status s = server_->Start("127.0.0.1:0");
    ASSERT_TRUE(s.ok()) << s.message();
    ASSERT_NE(server_->port(), 0);
    port_ = server_->port();
  }
  void SetUp() override { StartServer(); }
  void TearDown() override {
    source_.HoldStatus(false);
    if (server_) server_->Stop();
  }

  FakeSource source_;
  std::unique_ptr<StatusServer> server_;
  std::uint16_t port_ = 0;
};

TEST_F(StatusServerTest, HealthzAnswersOk) {
  const auto r = Request(port_, "GET", "/healthz");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.headers.at("content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(r.headers.at("cache-control"), "no-store");
}

TEST_F(StatusServerTest, ReadyzFollowsTheSourceAndSaysWhyNot) {
  auto r = Request(port_, "GET", "/readyz");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, "ready\n");
  source_.SetReady({.ok = false, .reason = "Dataverse refused the credentials (unauthenticated)"});
  r = Request(port_, "GET", "/readyz");
  EXPECT_EQ(r.status, 503) << r.raw;
  EXPECT_EQ(r.body, "not ready: Dataverse refused the credentials (unauthenticated)\n");
  EXPECT_EQ(source_.readiness_calls.load(), 2);
}

TEST_F(StatusServerTest, StatusIsTheSourcesJson) {
  const auto r = Request(port_, "GET", "/status");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.headers.at("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"daemon":{"running":true,"pid":42},"mappings":[]})");
}

TEST_F(StatusServerTest, MetricsAreThePrometheusTextOfTheSnapshot) {
  const auto r = Request(port_, "GET", "/metrics");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto parsed = testing::ParseExposition(r.body);
  EXPECT_TRUE(parsed.errors.empty()) << ::testing::PrintToString(parsed.errors);
  ASSERT_NE(parsed.Find("crmsync_dataverse_requests_total"), nullptr);
  EXPECT_EQ(parsed.Find("crmsync_dataverse_requests_total")->value, 99);
  ASSERT_NE(parsed.Find("crmsync_passes_total", {{"mapping", "accounts"}, {"outcome", "ok"}}), nullptr);
  ASSERT_NE(parsed.Find("process_open_fds"), nullptr);  // this process, from /proc/self
  EXPECT_EQ(r.headers.at("content-length"), std::to_string(r.body.size()));
}

TEST_F(StatusServerTest, QueryStringsAreIgnored) {
  EXPECT_EQ(Request(port_, "GET", "/metrics?x=1").status, 200);
}

TEST_F(StatusServerTest, HeadAnswersLikeGetWithoutABody) {
  const auto r = Request(port_, "HEAD", "/healthz");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body, "");
}

TEST_F(StatusServerTest, UnknownPathIs404) {
  const auto r = Request(port_, "GET", "/nope");
  EXPECT_EQ(r.status, 404) << r.raw;
  EXPECT_EQ(Request(port_, "GET", "/").status, 404);
  EXPECT_EQ(Request(port_, "GET", "/metrics/").status, 404);
}

TEST_F(StatusServerTest, OtherMethodsAre405WithAllow) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    auto r = Request(port_, method, "/status");
    EXPECT_EQ(r.status, 405) << method << "\n" << r.raw;
    EXPECT_EQ(r.headers["allow"], "GET, HEAD") << method;
  }
  EXPECT_EQ(source_.status_calls.load(), 0);  // refused before the source is asked
}

TEST_F(StatusServerTest, ARequestBodyIs413AndIsNotRead) {
  // A megabyte announced but never sent: the answer comes before any of it.
  const auto r = SendRaw(port_,
                         "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1048576\r\n"
                         "Connection: close\r\n\r\n");
  EXPECT_EQ(r.status, 413) << r.raw;
  const auto chunked = SendRaw(port_,
                               "POST /status HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                               "Connection: close\r\n\r\n");
  EXPECT_EQ(chunked.status, 413) << chunked.raw;
  EXPECT_EQ(source_.metrics_calls.load(), 0);
}

TEST_F(StatusServerTest, AnOversizedHeadIs431) {
  const std::string big(64 * 1024, 'a');
  const auto r = SendRaw(port_, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + big + "\r\n\r\n");
  EXPECT_EQ(r.status, 431) << r.raw.substr(0, 300);
  EXPECT_EQ(source_.metrics_calls.load(), 0);
  // A head well inside the limit is fine.
  const std::string fair(2 * 1024, 'a');
  const auto ok =
      SendRaw(port_, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Fair: " + fair + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(ok.status, 200) << ok.raw;
}

TEST_F(StatusServerTest, AnOversizedUriIsRefused) {
  const std::string path = "/" + std::string(64 * 1024, 'x');
  const auto r = Request(port_, "GET", path);
  EXPECT_EQ(r.status, 414) << r.raw.substr(0, 300);
}

TEST_F(StatusServerTest, AMalformedRequestLineIs400) {
  for (const std::string& head : {
           std::string("GET /healthz\r\n\r\n"),                                  // no HTTP version
           std::string("GET /healthz HTTP/1.1 extra\r\nHost: a\r\n\r\n"),        // a word too many
           std::string("GET /healthz FOO/1.1\r\nHost: a\r\n\r\n"),               // not HTTP
           std::string("GET /healthz HTTP/1.1\r\nHost: a\r\nno colon\r\n\r\n"),  // a header without a colon
           std::string("GET /healthz HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n"),   // obsolete line folding
           std::string("GET /healthz HTTP/1.1\r\n\r\n"),                         // HTTP/1.1 without Host
       }) {
    const auto r = SendRaw(port_, head);
    EXPECT_EQ(r.status, 400) << ::testing::PrintToString(head) << "\n" << r.raw;
  }
  EXPECT_EQ(SendRaw(port_, "GET /healthz HTTP/9.9\r\nHost: a\r\n\r\n").status, 505);
  // A single word is not answered at all (libmicrohttpd closes at once), and
  // at once means well before the idle timeout.
  RawConnection word(port_, std::chrono::seconds(3));
  ASSERT_TRUE(word.Send("GARBAGE\r\n\r\n"));
  EXPECT_TRUE(word.ClosedWithoutAnswer());
  EXPECT_EQ(source_.readiness_calls.load() + source_.metrics_calls.load() + source_.status_calls.load(), 0);
  EXPECT_EQ(Request(port_, "GET", "/healthz").status, 200);  // and the server is fine
}

TEST_F(StatusServerTest, SlowClientsBlockNeitherOtherRequestsNorTheSource) {
  // More stalled clients than the server has threads, each midway through its head.
  std::vector<std::unique_ptr<RawConnection>> slow;
  for (int i = 0; i < 6; ++i) {
    slow.push_back(std::make_unique<RawConnection>(port_));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "));
  }
  // Answered at once: RawConnection gives up after 3 s, far below the 10 s
  // idle timeout that would free a server stuck on the slow clients.
  for (int i = 0; i < 3; ++i) {
    RawConnection c(port_, std::chrono::seconds(3));
    ASSERT_TRUE(c.Send("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(c.ReadToClose().status, 200);
  }
  EXPECT_EQ(source_.metrics_calls.load(), 3);  // only complete requests reach the source
  // The slow ones finish their requests and are answered too.
  for (auto& c : slow) {
    ASSERT_TRUE(c->Send("1\r\nConnection: close\r\n\r\n"));
    EXPECT_EQ(c->ReadToClose().status, 200);
  }
  EXPECT_EQ(source_.metrics_calls.load(), 9);
}

TEST_F(StatusServerTest, ASourceThatBlocksHoldsOneThreadAndTheOthersAnswer) {
  source_.HoldStatus(true);
  auto blocked = std::async(std::launch::async, [&] { return Request(port_, "GET", "/status"); });
  ASSERT_TRUE(source_.WaitUntilStatusEntered(std::chrono::seconds(10)));
  RawConnection c(port_, std::chrono::seconds(3));
  ASSERT_TRUE(c.Send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(c.ReadToClose().status, 200);
  source_.HoldStatus(false);
  EXPECT_EQ(blocked.get().status, 200);
}

TEST_F(StatusServerTest, ASourceThatThrowsIs500AndTheServerStaysUp) {
  source_.ThrowFromStatus();
  EXPECT_EQ(Request(port_, "GET", "/status").status, 500);
  EXPECT_EQ(Request(port_, "GET", "/healthz").status, 200);
}

TEST_F(StatusServerTest, AnIdleConnectionIsClosed) {
  server_->Stop();
  StartServer(
      {.max_connections = 32, .max_header_bytes = 8 * 1024, .idle_timeout = std::chrono::seconds(1), .threads = 2});
  RawConnection idle(port_, std::chrono::seconds(10));
  ASSERT_TRUE(idle.connected());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.ClosedWithoutAnswer());  // by the server, long before our own 10 s give up
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
}

TEST_F(StatusServerTest, ConnectionsBeyondTheLimitWaitForAFreeOne) {
  server_->Stop();
  StartServer(
      {.max_connections = 2, .max_header_bytes = 8 * 1024, .idle_timeout = std::chrono::seconds(30), .threads = 1});
  RawConnection a(port_), b(port_);
  ASSERT_TRUE(a.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  ASSERT_TRUE(b.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n"));
  // A third is left in the kernel's backlog: not answered while both are open.
  // (An absence can only be shown by waiting; a broken limit fails here, a
  // slow machine cannot make this pass wrongly.)
  RawConnection third(port_, std::chrono::seconds(1));
  ASSERT_TRUE(third.Send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  EXPECT_EQ(third.ReadToClose().status, 0);
  EXPECT_EQ(source_.readiness_calls.load(), 0);
  // One finishes, and the third is served.
  ASSERT_TRUE(a.Send("Connection: close\r\n\r\n"));
  EXPECT_EQ(a.ReadToClose().status, 200);
  third.SetTimeout(std::chrono::seconds(10));
  EXPECT_EQ(third.ReadToClose().status, 200);
}

TEST_F(StatusServerTest, ABusyPortIsAnErrorNamingTheAddress) {
  StatusServer second(source_);
  const Status s = second.Start("127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(s.code(), StatusCode::kBusy) << s.message();
  EXPECT_NE(s.message().find("127.0.0.1:" + std::to_string(port_)), std::string::npos) << s.message();
  EXPECT_FALSE(second.running());
}

TEST_F(StatusServerTest, StopFreesThePortAndIsIdempotent) {
  const std::uint16_t port = port_;
  server_->Stop();
  server_->Stop();
  EXPECT_FALSE(server_->running());
  EXPECT_EQ(Request(port, "GET", "/healthz").status, 0);  // nobody listens
  StatusServer again(source_);
  const Status s = again.Start("127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(Request(port, "GET", "/healthz").status, 200);
}

TEST_F(StatusServerTest, StartingTwiceIsRefused) {
  EXPECT_EQ(server_->Start("127.0.0.1:0").code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Request(port_, "GET", "/healthz").status, 200);
}

TEST(StatusServerStartTest, BadAddressesAreInvalidArguments) {
  FakeSource source;
  for (const char* address : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:x", ":9464", "::1:9464",
                              "[::1", "[::1]9464", "no-such-host.invalid:9464", "192.0.2.1:9464"}) {
    StatusServer server(source);
    const Status s = server.Start(address);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << address << ": " << s.message();
    EXPECT_FALSE(server.running());
  }
}

TEST(StatusServerStartTest, ListensOnIpv6Loopback) {
  FakeSource source;
  StatusServer server(source);
  const Status s = server.Start("[::1]:0");
  if (s.code() == StatusCode::kInvalidArgument) GTEST_SKIP() << "no IPv6 loopback here: " << s.message();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_NE(server.port(), 0);
}

TEST(ListenAddressTest, ParsesHostAndPort) {
  auto a = ParseListenAddress("127.0.0.1:9464");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 9464);
  EXPECT_EQ(a->ToString(), "127.0.0.1:9464");
  a = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 0);
  EXPECT_EQ(a->ToString(), "[::1]:0");
  a = ParseListenAddress("localhost:65535");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 65535);
  EXPECT_FALSE(ParseListenAddress("localhost:65536").ok());
  EXPECT_FALSE(ParseListenAddress("localhost:-1").ok());
  EXPECT_FALSE(ParseListenAddress("localhost:1 ").ok());
}

}  // namespace
}  // namespace crmsync::status
