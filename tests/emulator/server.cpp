#include "tests/emulator/server.h"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace crmsync::emulator {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct HttpServer::Impl {
  ServerOptions options;
  Handler handler;
  asio::io_context io;
  std::unique_ptr<asio::ssl::context> ssl;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::thread accept_thread;
  std::atomic<bool> stopping{false};
  std::mutex mu;
  std::condition_variable cv;  // wakes sleepers on stop
  struct Conn {
    std::thread thread;
    int fd = -1;
    std::atomic<bool> done{false};
  };
  std::list<std::unique_ptr<Conn>> conns;

  void AcceptLoop();
  template <class Stream>
  void Serve(Stream& stream, Conn& conn);
  void RunConnection(tcp::socket socket, Conn* conn);
  bool Sleep(int ms) {
    std::unique_lock lock(mu);
    return !cv.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping.load(); });
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Stop();
}

bool HttpServer::tls() const {
  return impl_->ssl != nullptr;
}

std::string HttpServer::base_url() const {
  std::string host = impl_->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(tls() ? "https://" : "http://") + host + ":" + std::to_string(port_);
}

bool HttpServer::SleepFor(int ms) {
  return ms <= 0 || impl_->Sleep(ms);
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(ServerOptions options, Handler handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = std::move(handler);
  boost::system::error_code ec;
  if (!options.tls_cert_pem.empty() || !options.tls_key_pem.empty()) {
    impl->ssl = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    impl->ssl->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1);
    impl->ssl->use_certificate_chain(asio::buffer(options.tls_cert_pem), ec);
    if (ec) return InvalidArgument("TLS certificate: " + ec.message());
    impl->ssl->use_private_key(asio::buffer(options.tls_key_pem), asio::ssl::context::pem, ec);
    if (ec) return InvalidArgument("TLS private key: " + ec.message());
  }
  const auto address = asio::ip::make_address(options.host, ec);
  if (ec) return InvalidArgument("bad host '" + options.host + "': " + ec.message());
  impl->acceptor = std::make_unique<tcp::acceptor>(impl->io);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  impl->acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(endpoint, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(StatusCode::kUnavailable,
                  "cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " + ec.message());
  }
  const int port = impl->acceptor->local_endpoint().port();
  Impl* raw = impl.get();
  std::unique_ptr<HttpServer> server(new HttpServer(std::move(impl)));
  server->port_ = port;
  raw->accept_thread = std::thread([raw] { raw->AcceptLoop(); });
  return server;
}

void HttpServer::Impl::AcceptLoop() {
  while (!stopping.load()) {
    tcp::socket socket(io);
    boost::system::error_code ec;
    acceptor->accept(socket, ec);
    if (stopping.load()) break;
    if (ec) {
      if (ec == asio::error::bad_descriptor || ec == asio::error::invalid_argument) break;
      continue;
    }
    std::lock_guard lock(mu);
    // Reap finished connections.
    for (auto it = conns.begin(); it != conns.end();) {
      if ((*it)->done.load()) {
        (*it)->thread.join();
        it = conns.erase(it);
      } else {
        ++it;
      }
    }
    if (static_cast<int>(conns.size()) >= options.max_connections) {
      socket.close(ec);
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    auto conn = std::make_unique<Conn>();
    conn->fd = socket.native_handle();
    Conn* c = conn.get();
    conns.push_back(std::move(conn));
    c->thread = std::thread([this, s = std::move(socket), c]() mutable { RunConnection(std::move(s), c); });
  }
}

void HttpServer::Impl::RunConnection(tcp::socket socket, Conn* conn) {
  if (ssl) {
    asio::ssl::stream<tcp::socket> stream(std::move(socket), *ssl);
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (!ec) Serve(stream, *conn);
    stream.lowest_layer().close(ec);
  } else {
    Serve(socket, *conn);
    boost::system::error_code ec;
    socket.close(ec);
  }
  conn->done.store(true);
}

namespace {

std::string StatusLine(int status) {
  return "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) + "\r\n";
}

std::string PlainError(int status, const std::string& text) {
  return StatusLine(status) + "Content-Type: text/plain\r\nContent-Length: " + std::to_string(text.size()) +
         "\r\nConnection: close\r\n\r\n" + text;
}

}  // namespace

template <class Stream>
void HttpServer::Impl::Serve(Stream& stream, Conn& conn) {
  beast::flat_buffer buffer;
  while (!stopping.load()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(256 * 1024);
    parser.body_limit(256ULL * 1024 * 1024);
    boost::system::error_code ec;
    http::read(stream, buffer, parser, ec);
    if (ec) {
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
          ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor || stopping.load()) {
        return;
      }
      // Garbage or oversized input: answer once, then close.
      std::string reply;
      if (ec == http::error::header_limit) {
        reply = PlainError(431, "Request header fields too large");
      } else if (ec == http::error::body_limit) {
        reply = PlainError(413, "Request entity too large");
      } else if (ec == http::error::partial_message) {
        return;
      } else {
        reply = PlainError(400, "Bad Request - " + ec.message());
      }
      boost::system::error_code wec;
      asio::write(stream, asio::buffer(reply), wec);
      return;
    }
    const auto& req = parser.get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      request.headers.emplace_back(std::move(name), std::string(field.value()));
    }
    request.body = req.body();
    const bool keep_alive = req.keep_alive();
    HttpResponse response;
    handler(request, response);
    if (response.stall_ms > 0 && !Sleep(response.stall_ms)) return;
    if (response.delivery == Delivery::kDrop) {
      ::shutdown(conn.fd, SHUT_RDWR);
      return;
    }
    std::string out = StatusLine(response.status);
    bool has_length = false;
    for (const auto& [n, v] : response.headers) {
      out += n + ": " + v + "\r\n";
      has_length = has_length || EqualsIgnoreCase(n, "Content-Length");
    }
    const bool no_body = response.status == 204 || response.status == 304 || request.method == "HEAD";
    if (!has_length && !no_body) out += "Content-Length: " + std::to_string(response.body.size()) + "\r\n";
    const bool close = !keep_alive || response.delivery == Delivery::kTruncate;
    if (close) out += "Connection: close\r\n";
    out += "\r\n";
    if (!no_body) {
      if (response.delivery == Delivery::kTruncate) {
        out.append(response.body, 0, response.body.size() / 2);
      } else {
        out += response.body;
      }
    }
    asio::write(stream, asio::buffer(out), ec);
    if (ec || close) {
      if (response.delivery == Delivery::kTruncate) ::shutdown(conn.fd, SHUT_RDWR);
      return;
    }
  }
}

void HttpServer::Stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->cv.notify_all();
  }
  boost::system::error_code ec;
  ::shutdown(impl_->acceptor->native_handle(), SHUT_RDWR);
  if (impl_->accept_thread.joinable()) impl_->accept_thread.join();
  impl_->acceptor->close(ec);
  std::list<std::unique_ptr<Impl::Conn>> conns;
  {
    std::lock_guard lock(impl_->mu);
    for (auto& c : impl_->conns) {
      if (!c->done.load()) ::shutdown(c->fd, SHUT_RDWR);
    }
    conns.swap(impl_->conns);
  }
  for (auto& c : conns) {
    if (c->thread.joinable()) c->thread.join();
  }
}

}  // namespace crmsync::emulator
