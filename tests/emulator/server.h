// HttpServer: the emulator's transport - a synchronous Boost.Beast HTTP/1.1
// server, plain or TLS (asio::ssl), one thread per connection with keep-alive,
// bound to loopback by default. It turns Beast requests into HttpRequest, calls
// the handler, and delivers the HttpResponse - or, for injected faults, drops
// the connection, truncates the body or stalls.
//
// Thread-safe: Start/Stop from one owner thread; the handler is called
// concurrently from connection threads. Stop() closes the listener and every
// open connection and joins all threads; it never waits for a client.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/result.h"
#include "tests/emulator/http_message.h"

namespace crmsync::emulator {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;              // 0: any free port
  std::string tls_cert_pem;  // both set: HTTPS
  std::string tls_key_pem;
  int max_connections = 512;
};

using Handler = std::function<void(const HttpRequest&, HttpResponse&)>;

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> Start(ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  bool tls() const;
  // "http://127.0.0.1:43211" (no trailing slash).
  std::string base_url() const;
  void Stop();
  // Sleeps up to `ms`; returns false early when the server stops.
  bool SleepFor(int ms);

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace crmsync::emulator
