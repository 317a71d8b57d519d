#include "status/status_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include <cerrno>
#include <charconv>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <exception>

#include <spdlog/spdlog.h>

namespace crmsync::status {

namespace {

constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// libmicrohttpd reports its own errors (a failed accept, a client that
// broke the protocol) through this callback: they are the client's
// business, not the sync's, so they go to the debug log.
__attribute__((format(printf, 2, 0))) void LogFromMhd(void* /*cls*/, const char* format, va_list args) {
  char line[512];
  std::vsnprintf(line, sizeof line, format, args);
  std::size_t n = std::strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  spdlog::debug("status endpoint: {}", line);
}

struct Reply {
  unsigned code = MHD_HTTP_OK;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  bool allow_header = false;  // 405: say what is allowed
};

Reply Text(unsigned code, std::string body) {
  return {.code = code, .content_type = "text/plain; charset=utf-8", .body = std::move(body), .allow_header = false};
}

enum MHD_Result Send(MHD_Connection* connection, const Reply& reply) {
  // MUST_COPY: the reply is a local; libmicrohttpd keeps its own copy until sent.
  MHD_Response* response =
      MHD_create_response_from_buffer(reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;  // out of memory: libmicrohttpd closes the connection
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
  // Every answer is a snapshot of the moment: no cache may keep it.
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if (reply.allow_header) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  const enum MHD_Result queued = MHD_queue_response(connection, reply.code, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

// --- ListenAddress ------------------------------------------------------------

std::string ListenAddress::ToString() const {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Status(StatusCode::kInvalidArgument,
                  "status endpoint address \"" + std::string(text) + "\" is not host:port: " + std::string(why));
  };
  ListenAddress address;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("no ] after an IPv6 address");
    address.host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("no :port after ]");
    port_text = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no :port");
    address.host = std::string(text.substr(0, colon));
    if (address.host.find(':') != std::string::npos) return bad("an IPv6 address goes in brackets: [::1]:9464");
    port_text = text.substr(colon + 1);
  }
  if (address.host.empty()) return bad("no host");
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return bad("the port is not a number from 0 to 65535");
  }
  address.port = static_cast<std::uint16_t>(port);
  return address;
}

// --- StatusServer ------------------------------------------------------------

struct StatusServer::Impl {
  StatusSource& source;
  StatusServerOptions options;
  MHD_Daemon* daemon = nullptr;
  std::uint16_t port = 0;

  // Marks the first call of the access handler for a request (its head is
  // in; libmicrohttpd calls again for each piece of a body, then once more).
  static inline int kHeadSeen = 0;

  static enum MHD_Result Handle(void* cls, MHD_Connection* connection, const char* url, const char* method,
                                const char* /*version*/, const char* /*upload_data*/, size_t* upload_data_size,
                                void** request_state) {
    auto* self = static_cast<Impl*>(cls);
    const bool head = std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (*request_state == nullptr) {
      *request_state = &kHeadSeen;
      // Decided on the head alone, before any body is read: these resources
      // take no body, so one is refused unread (the connection then closes).
      const char* length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      const char* chunked = MHD_lookup_connection_value(connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
      const bool has_body = chunked != nullptr || (length != nullptr && std::strcmp(length, "0") != 0);
      if (has_body) {
        return Send(connection, Text(MHD_HTTP_CONTENT_TOO_LARGE, "request body not accepted\n"));
      }
      if (std::strcmp(method, MHD_HTTP_METHOD_GET) != 0 && !head) {
        Reply r = Text(MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
        r.allow_header = true;
        return Send(connection, r);
      }
      return MHD_YES;
    }
    if (*upload_data_size != 0) {
      *upload_data_size = 0;  // unreachable (a body is refused above); discard, never buffer
      return MHD_YES;
    }
    return Send(connection, self->Route(url));
  }

  Reply Route(const char* url) {
    const std::string_view path(url);
    try {
      if (path == "/healthz") {
        const Probe p = source.Health();
        return p.ok ? Text(MHD_HTTP_OK, "ok\n") : Text(MHD_HTTP_SERVICE_UNAVAILABLE, "not healthy: " + p.reason + "\n");
      }
      if (path == "/readyz") {
        const Probe p = source.Readiness();
        return p.ok ? Text(MHD_HTTP_OK, "ready\n")
                    : Text(MHD_HTTP_SERVICE_UNAVAILABLE, "not ready: " + p.reason + "\n");
      }
      if (path == "/status") {
        return {.code = MHD_HTTP_OK,
                .content_type = "application/json",
                .body = source.StatusJson(),
                .allow_header = false};
      }
      if (path == "/metrics") {
        return {.code = MHD_HTTP_OK,
                .content_type = kMetricsContentType,
                .body = RenderPrometheus(source.Metrics()),
                .allow_header = false};
      }
    } catch (const std::exception& e) {
      // A source that throws is a bug of the source; the endpoint stays up.
      spdlog::error("status endpoint: {} failed: {}", path, e.what());
      return Text(MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
    } catch (...) {
      spdlog::error("status endpoint: {} failed", path);
      return Text(MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error\n");
    }
    return Text(MHD_HTTP_NOT_FOUND, "not found; try /healthz, /readyz, /status or /metrics\n");
  }
};

StatusServer::StatusServer(StatusSource& source, StatusServerOptions options)
    : impl_(std::make_unique<Impl>(Impl{.source = source, .options = options})) {}

StatusServer::~StatusServer() {
  Stop();
}

bool StatusServer::running() const {
  return impl_->daemon != nullptr;
}

std::uint16_t StatusServer::port() const {
  return impl_->port;
}

Status StatusServer::Start(std::string_view address_text) {
  if (impl_->daemon != nullptr) {
    return Status(StatusCode::kAlreadyExists,
                  "the status endpoint is already listening on port " + std::to_string(impl_->port));
  }
  CRMSYNC_ASSIGN_OR_RETURN(const ListenAddress address, ParseListenAddress(address_text));
  const std::string named = address.ToString();

  // The socket is bound here rather than by libmicrohttpd so that a busy or
  // forbidden port comes back as its own error, naming the address.
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(address.port);
  if (const int rc = getaddrinfo(address.host.c_str(), port_text.c_str(), &hints, &found); rc != 0) {
    return Status(StatusCode::kInvalidArgument,
                  "status endpoint: cannot resolve " + named + ": " + std::string(gai_strerror(rc)));
  }
  int fd = -1;
  int error = 0;
  for (addrinfo* ai = found; ai != nullptr && fd < 0; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      error = errno;
      continue;
    }
    const int on = 1;
    // A restarted daemon binds again at once, despite connections in TIME_WAIT.
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    if (ai->ai_family == AF_INET6) (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 64) != 0) {
      error = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    const StatusCode code = error == EADDRINUSE      ? StatusCode::kBusy
                            : error == EACCES        ? StatusCode::kPermissionDenied
                            : error == EADDRNOTAVAIL ? StatusCode::kInvalidArgument
                                                     : StatusCode::kIo;
    return Status(code, "status endpoint: cannot listen on " + named + ": " + std::strerror(error));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  std::uint16_t port = address.port;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0) {
    port = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                       : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }

  const StatusServerOptions& o = impl_->options;
  // The request head lives in libmicrohttpd's per-connection memory pool,
  // which also holds the read and write buffers: twice the head limit leaves
  // room for those, so a head just under max_header_bytes still fits.
  const std::size_t pool_bytes = 2 * o.max_header_bytes;
  MHD_Daemon* daemon = MHD_start_daemon(
      MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, nullptr, nullptr, &Impl::Handle, impl_.get(),
      MHD_OPTION_EXTERNAL_LOGGER, &LogFromMhd, nullptr, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE,
      o.threads, MHD_OPTION_CONNECTION_LIMIT, o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned>(o.idle_timeout.count()), MHD_OPTION_CONNECTION_MEMORY_LIMIT, pool_bytes,
      // Strict: an HTTP/1.1 request without Host, or with a folded header, is 400.
      MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
  if (daemon == nullptr) {
    close(fd);  // libmicrohttpd leaves a socket it did not take; once started, it owns and closes it
    return Status(StatusCode::kInternal, "status endpoint: cannot start the HTTP server on " + named);
  }
  impl_->daemon = daemon;
  impl_->port = port;
  return Status::Ok();
}

void StatusServer::Stop() {
  if (impl_->daemon == nullptr) return;
  // Closes the listening socket and every connection, and joins the server's threads.
  MHD_stop_daemon(impl_->daemon);
  impl_->daemon = nullptr;
  impl_->port = 0;
}

}  // namespace crmsync::status
