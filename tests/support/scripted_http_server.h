// ScriptedHttpServer: a loopback HTTP(S) server for tests of HTTP clients.
//
// Each request is answered by the test's handler, which can also make the
// server misbehave the ways networks do: close the connection without an
// answer, send half a body and close, or hold the answer back. Listens on
// 127.0.0.1 on a free port chosen by the kernel; stops (and joins every
// thread) in its destructor, interrupting stalls.
//
// Thread-safety: the handler runs on connection threads, possibly at once.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace crmsync::testing_support {

struct ReceivedRequest {
  std::string method;
  std::string target;  // path and query as sent
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string Header(const std::string& name) const;  // case-insensitive; "" when absent
};

struct ScriptedReply {
  enum class Action { kRespond, kDrop, kTruncate, kStall };
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Action action = Action::kRespond;
  std::chrono::milliseconds stall{0};  // kStall: wait this long (or until stop), then respond
};

class ScriptedHttpServer {
 public:
  using Handler = std::function<ScriptedReply(const ReceivedRequest&)>;
  struct Tls {
    std::string cert_pem;
    std::string key_pem;
  };

  explicit ScriptedHttpServer(Handler handler);         // plain http
  ScriptedHttpServer(Handler handler, const Tls& tls);  // https
  ~ScriptedHttpServer();
  ScriptedHttpServer(const ScriptedHttpServer&) = delete;
  ScriptedHttpServer& operator=(const ScriptedHttpServer&) = delete;

  int port() const;
  std::string base_url() const;  // "http://127.0.0.1:PORT" or "https://..."
  int requests_seen() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crmsync::testing_support
