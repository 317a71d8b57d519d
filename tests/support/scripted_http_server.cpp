#include "tests/support/scripted_http_server.h"

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <cctype>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

namespace crmsync::testing_support {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

std::string ReceivedRequest::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

struct ScriptedHttpServer::Impl {
  Handler handler;
  std::optional<net::ssl::context> ssl;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  int port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int> requests{0};
  std::thread accept_thread;
  std::mutex mutex;
  std::condition_variable stop_cv;
  std::vector<std::thread> connections;
  std::set<int> open_fds;

  void Start() {
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor.open(ep.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    accept_thread = std::thread([this] { AcceptLoop(); });
  }

  void Stop() {
    stopping = true;
    {
      // Wake the blocked accept() with a connection of our own.
      net::io_context wake_ioc;
      tcp::socket wake(wake_ioc);
      boost::system::error_code ec;
      wake.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)), ec);
    }
    accept_thread.join();
    {
      std::lock_guard lock(mutex);
      for (int fd : open_fds) ::shutdown(fd, SHUT_RDWR);
      stop_cv.notify_all();
    }
    for (auto& t : connections) t.join();
  }

  void AcceptLoop() {
    for (;;) {
      tcp::socket socket(ioc);
      boost::system::error_code ec;
      acceptor.accept(socket, ec);
      if (stopping) return;
      if (ec) continue;
      std::lock_guard lock(mutex);
      open_fds.insert(socket.native_handle());
      connections.emplace_back([this, s = std::move(socket)]() mutable { Connection(std::move(s)); });
    }
  }

  void Connection(tcp::socket socket) {
    const int fd = socket.native_handle();
    if (ssl) {
      net::ssl::stream<tcp::socket&> stream(socket, *ssl);
      boost::system::error_code ec;
      stream.handshake(net::ssl::stream_base::server, ec);
      if (!ec) Serve(stream);
    } else {
      Serve(socket);
    }
    std::lock_guard lock(mutex);
    open_fds.erase(fd);
    boost::system::error_code ec;
    socket.close(ec);
  }

  template <typename Stream>
  void Serve(Stream& stream) {
    beast::flat_buffer buffer;
    for (;;) {
      bhttp::request<bhttp::string_body> req;
      boost::system::error_code ec;
      bhttp::read(stream, buffer, req, ec);
      if (ec || stopping) return;
      ++requests;
      ReceivedRequest received;
      received.method = std::string(req.method_string());
      received.target = std::string(req.target());
      for (const auto& field : req)
        received.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
      received.body = req.body();
      const ScriptedReply reply = handler(received);
      if (reply.action == ScriptedReply::Action::kDrop) return;
      if (reply.action == ScriptedReply::Action::kStall) {
        std::unique_lock lock(mutex);
        if (stop_cv.wait_for(lock, reply.stall, [this] { return stopping.load(); })) return;
      }
      std::string raw = "HTTP/1.1 " + std::to_string(reply.status) + " " +
                        std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(reply.status))) + "\r\n";
      for (const auto& [k, v] : reply.headers) raw += k + ": " + v + "\r\n";
      raw += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n";
      if (reply.action == ScriptedReply::Action::kTruncate) {
        raw += reply.body.substr(0, reply.body.size() / 2);
        net::write(stream, net::buffer(raw), ec);
        return;  // close with the body half sent
      }
      raw += reply.body;
      net::write(stream, net::buffer(raw), ec);
      if (ec || !req.keep_alive()) return;
    }
  }
};

ScriptedHttpServer::ScriptedHttpServer(Handler handler) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->Start();
}

ScriptedHttpServer::ScriptedHttpServer(Handler handler, const Tls& tls) : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  impl_->ssl.emplace(net::ssl::context::tls_server);
  impl_->ssl->use_certificate_chain(net::buffer(tls.cert_pem));
  impl_->ssl->use_private_key(net::buffer(tls.key_pem), net::ssl::context::pem);
  impl_->Start();
}

ScriptedHttpServer::~ScriptedHttpServer() {
  impl_->Stop();
}

int ScriptedHttpServer::port() const {
  return impl_->port;
}

std::string ScriptedHttpServer::base_url() const {
  return std::string(impl_->ssl ? "https" : "http") + "://127.0.0.1:" + std::to_string(impl_->port);
}

int ScriptedHttpServer::requests_seen() const {
  return impl_->requests;
}

}  // namespace crmsync::testing_support
