// emulator_bench: how many small GETs and single-record creates per second the
// emulator serves on loopback with N client threads (keep-alive connections).
//
//   emulator_bench [--threads 8] [--seconds 5] [--url http://127.0.0.1:PORT --tenant T --client-id ID --client-secret
//   S]
//
// Without --url it starts the emulator in-process on port 0 (default client).
#include <atomic>
#include <chrono>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "tests/emulator/emulator.h"
#include "tests/emulator/test_client.h"

using crmsync::emulator::Emulator;
using crmsync::emulator::EmulatorOptions;
using crmsync::emulator::testing::Response;
using crmsync::emulator::testing::TestClient;

namespace {

struct Result {
  long ok = 0;
  long failed = 0;
  double seconds = 0;
};

template <class Op>
Result Run(int threads, double seconds, const std::string& url, const std::string& token, Op op) {
  std::atomic<long> ok{0}, failed{0};
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      TestClient c(url);
      c.set_token(token);
      long local_ok = 0, local_failed = 0;
      while (!go.load()) std::this_thread::yield();
      for (long i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const int status = op(c, t, i);
        (status >= 200 && status < 300 ? local_ok : local_failed)++;
      }
      ok += local_ok;
      failed += local_failed;
    });
  }
  const auto start = std::chrono::steady_clock::now();
  go = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : pool) th.join();
  Result r;
  r.ok = ok;
  r.failed = failed;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 8;
  double seconds = 5;
  std::string url, tenant = std::string(crmsync::emulator::kDefaultTenant),
                   client_id = std::string(crmsync::emulator::kDefaultClientId),
                   secret = std::string(crmsync::emulator::kDefaultClientSecret);
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--threads")
      threads = std::stoi(v);
    else if (a == "--seconds")
      seconds = std::stod(v);
    else if (a == "--url")
      url = v;
    else if (a == "--tenant")
      tenant = v;
    else if (a == "--client-id")
      client_id = v;
    else if (a == "--client-secret")
      secret = v;
  }
  std::unique_ptr<Emulator> emulator;
  if (url.empty()) {
    EmulatorOptions o;
    o.limits.requests = 1 << 30;  // the benchmark measures the server, not the service protection limits
    o.limits.concurrency = 1 << 20;
    o.limits.execution_ms = 1LL << 40;
    auto started = Emulator::Start(o);
    if (!started.ok()) {
      std::cerr << started.status().ToString() << "\n";
      return 1;
    }
    emulator = std::move(started).value();
    url = emulator->base_url();
  }
  const std::string token = TestClient::FetchToken(url, tenant, client_id, secret);
  if (token.empty()) {
    std::cerr << "no token from " << url << "\n";
    return 1;
  }
  TestClient setup(url);
  setup.set_token(token);
  Response created =
      setup.Api("POST", "contacts", R"({"firstname":"Bench","lastname":"Mark","emailaddress1":"b@example.com"})");
  const std::string entity = created.Header("odata-entityid");
  const std::string id = entity.substr(entity.rfind('(') + 1, 36);
  const std::string get_path = "contacts(" + id + ")?$select=firstname,lastname,emailaddress1";

  std::cout << "emulator_bench: " << url << ", " << threads << " client threads, " << seconds << " s per phase, "
            << std::thread::hardware_concurrency() << " cores\n";
  Result gets =
      Run(threads, seconds, url, token, [&](TestClient& c, int, long) { return c.Api("GET", get_path).status; });
  std::cout << "small GETs:            " << static_cast<long>(gets.ok / gets.seconds) << " requests/s (" << gets.ok
            << " ok, " << gets.failed << " failed)\n";
  Result creates = Run(threads, seconds, url, token, [&](TestClient& c, int t, long i) {
    return c
        .Api("POST", "contacts",
             "{\"firstname\":\"T" + std::to_string(t) + "\",\"lastname\":\"N" + std::to_string(i) + "\"}")
        .status;
  });
  std::cout << "single-record creates: " << static_cast<long>(creates.ok / creates.seconds) << " requests/s ("
            << creates.ok << " ok, " << creates.failed << " failed)\n";
  return gets.failed == 0 && creates.failed == 0 ? 0 : 1;
}
