// StatusServer: the daemon's HTTP status endpoint (interface.md, "Status
// endpoint") on config `status_listen`:
//
//   GET /healthz  200 "ok" while the process serves (StatusSource::Health)
//   GET /readyz   200 "ready", or 503 with the reason (StatusSource::Readiness)
//   GET /status   200 application/json: the document of `crmsync status --json`
//   GET /metrics  200 text/plain; version=0.0.4: RenderPrometheus(Metrics())
//
// HEAD is answered like GET without a body. Anything else: 404 for an unknown
// path, 405 (with Allow) for another method, 413 for any request body (these
// are GET-only resources, so a body is refused before it is read), 431 when
// the request line and headers outgrow max_header_bytes (libmicrohttpd's
// answer; 414 when the URI alone does), 400 for a request line or header
// that is not HTTP (libmicrohttpd's: no or an unknown HTTP version, extra
// words, a header without a colon, HTTP/1.1 without Host), 505 for an HTTP
// version other than 1.x, 500 when the source throws. A request line of a
// single word ("GET") is not even answered: libmicrohttpd 0.9.75 closes
// the connection at once.
//
// Limits (StatusServerOptions), so that no client can hurt the sync: at most
// max_connections at once, max_header_bytes of request head per connection,
// and a connection idle for idle_timeout is closed. libmicrohttpd measures
// idleness, not a connection's total age: a client trickling a byte every
// few seconds keeps its connection, but only one of max_connections, and it
// costs a socket, not a thread. The server is libmicrohttpd's event loop on
// threads of its own (`threads` of them): a slow or stalled client delays
// neither other requests nor the source. Handlers only call the
// StatusSource, whose methods must return promptly from a snapshot (never
// wait for a pass); one that blocks holds one of the threads, and the
// others keep answering.
//
// Ownership: the server borrows the StatusSource, which must outlive Stop().
// Thread-safety: Start and Stop from one thread (the run loop's); the
// StatusSource is called from the server's threads, concurrently when two
// requests arrive at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "status/metrics.h"

namespace crmsync::status {

// The answer of a health or readiness probe.
struct Probe {
  bool ok = true;
  std::string reason{};  // why not, for the 503's body and the logs
};

// What the endpoints show, read by the server's threads.
class StatusSource {
 public:
  virtual ~StatusSource() = default;
  // /healthz: the process is alive and its run loop is not wedged; default ok.
  virtual Probe Health() { return {}; }
  // /readyz: authenticated against Dataverse and both stores open.
  virtual Probe Readiness() = 0;
  // /status: the JSON text of `crmsync status --json` (daemon::StatusJson).
  virtual std::string StatusJson() = 0;
  // /metrics.
  virtual MetricsSnapshot Metrics() = 0;
};

// host:port as status_listen writes it: "127.0.0.1:9464", "localhost:9464",
// "[::1]:9464"; port 0 asks the kernel for a free one.
struct ListenAddress {
  std::string host{};
  std::uint16_t port = 0;
  std::string ToString() const;  // brackets an IPv6 host again
};
// kInvalidArgument naming the text when it is not host:port.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// The limits of StatusServer; the defaults are the product's, tests shrink them.
struct StatusServerOptions {
  unsigned max_connections = 32;          // more wait in the listen backlog for a free one
  std::size_t max_header_bytes = 8192;    // request line and headers; beyond: 431
  std::chrono::seconds idle_timeout{10};  // a connection silent this long is closed
  unsigned threads = 2;                   // libmicrohttpd's event loops
};

class StatusServer {
 public:
  explicit StatusServer(StatusSource& source, StatusServerOptions options = {});
  ~StatusServer();  // stops
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Binds `address` and starts serving. kInvalidArgument for an address that
  // does not parse or resolve, kBusy when it is in use, kPermissionDenied
  // when the port is privileged, kIo for other socket errors, kInternal when
  // libmicrohttpd does not start; every message names the address.
  // kAlreadyExists when already started.
  Status Start(std::string_view address);
  // Stops accepting, closes every connection and joins the server's threads;
  // the port is free again when it returns. Idempotent.
  void Stop();

  bool running() const;
  // The port bound (the kernel's choice for port 0); 0 before Start.
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace crmsync::status
