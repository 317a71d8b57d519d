#include "tests/emulator/test_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "tests/emulator/http_message.h"

namespace crmsync::emulator::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

std::string Response::Header(const std::string& lower_name) const {
  for (const auto& [n, v] : headers) {
    if (n == lower_name) return v;
  }
  return {};
}

bool Response::HasHeader(const std::string& lower_name) const {
  for (const auto& [n, v] : headers) {
    if (n == lower_name) return true;
  }
  return false;
}

nlohmann::json Response::Json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

std::string FormEncode(const std::string& s) {
  return PercentEncode(s);
}

struct TestClient::Impl {
  std::string scheme, host, port;
  std::string ca_pem;
  asio::io_context io;
  std::unique_ptr<asio::ssl::context> ssl;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() { return plain ? *plain : beast::get_lowest_layer(*secure); }
  bool connected() const { return plain != nullptr || secure != nullptr; }
  void Close() {
    boost::system::error_code ec;
    if (plain) plain->socket().close(ec);
    if (secure) beast::get_lowest_layer(*secure).socket().close(ec);
    plain.reset();
    secure.reset();
    buffer.clear();
  }
  // Runs one asynchronous operation to completion: Beast's timeouts only apply to async operations.
  template <class Start>
  boost::system::error_code Run(Start start) {
    boost::system::error_code result = asio::error::would_block;
    start([&result](boost::system::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }
  std::string Connect(std::chrono::milliseconds timeout) {
    Close();
    boost::system::error_code ec;
    tcp::resolver resolver(io);
    auto results = resolver.resolve(host, port, ec);
    if (ec) return "resolve: " + ec.message();
    if (scheme == "https") {
      if (!ssl) {
        ssl = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
        ssl->set_verify_mode(asio::ssl::verify_peer);
        if (!ca_pem.empty()) ssl->add_certificate_authority(asio::buffer(ca_pem), ec);
        if (ec) return "CA: " + ec.message();
      }
      secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io, *ssl);
      secure->set_verify_callback(asio::ssl::host_name_verification(host));
    } else {
      plain = std::make_unique<beast::tcp_stream>(io);
    }
    lowest().expires_after(timeout);
    ec = Run([&](auto handler) { lowest().async_connect(results, handler); });
    if (ec) return "connect: " + ec.message();
    if (secure) {
      ec = Run([&](auto handler) { secure->async_handshake(asio::ssl::stream_base::client, handler); });
      if (ec) return "TLS handshake: " + ec.message();
    }
    return "";
  }
};

TestClient::TestClient(std::string base_url, std::string ca_pem) : impl_(std::make_unique<Impl>()) {
  const auto scheme_end = base_url.find("://");
  impl_->scheme = base_url.substr(0, scheme_end);
  std::string hostport = base_url.substr(scheme_end + 3);
  if (const auto slash = hostport.find('/'); slash != std::string::npos) hostport.resize(slash);
  const auto colon = hostport.rfind(':');
  impl_->host = hostport.substr(0, colon);
  impl_->port = colon == std::string::npos ? (impl_->scheme == "https" ? "443" : "80") : hostport.substr(colon + 1);
  impl_->ca_pem = std::move(ca_pem);
}

TestClient::~TestClient() {
  impl_->Close();
}

Response TestClient::Send(const std::string& method, const std::string& target_in, const Headers& headers,
                          const std::string& body) {
  std::string target;
  for (char c : target_in) {
    if (c == ' ')
      target += "%20";  // spaces are not valid in a request line
    else
      target += c;
  }
  if (const auto scheme = target.find("://"); scheme != std::string::npos) {
    const auto path = target.find('/', scheme + 3);
    target = path == std::string::npos ? "/" : target.substr(path);
  }
  Response out;
  if (!impl_->connected()) {
    out.error = impl_->Connect(timeout_);
    if (!out.error.empty()) return out;
  }
  http::request<http::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(http::field::host, impl_->host + ":" + impl_->port);
  for (const auto& [n, v] : headers) req.insert(n, v);
  req.body() = body;
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") req.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.header_limit(1024 * 1024);
  parser.body_limit(512ULL * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  impl_->lowest().expires_after(timeout_);
  boost::system::error_code ec;
  if (impl_->secure) {
    ec = impl_->Run([&](auto handler) { http::async_write(*impl_->secure, req, handler); });
    if (!ec) ec = impl_->Run([&](auto handler) { http::async_read(*impl_->secure, impl_->buffer, parser, handler); });
  } else {
    ec = impl_->Run([&](auto handler) { http::async_write(*impl_->plain, req, handler); });
    if (!ec) ec = impl_->Run([&](auto handler) { http::async_read(*impl_->plain, impl_->buffer, parser, handler); });
  }
  if (ec) {
    // No retry: a dropped or truncated response must be visible to the test.
    impl_->Close();
    out.error = ec.message();
    return out;
  }
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  for (const auto& f : res) out.headers.emplace_back(ToLower(std::string(f.name_string())), std::string(f.value()));
  out.body = std::move(res.body());
  if (!res.keep_alive()) impl_->Close();
  return out;
}

Response TestClient::Api(const std::string& method, const std::string& target, const std::string& body, Headers extra) {
  Headers h;
  if (!token_.empty()) h.emplace_back("Authorization", "Bearer " + token_);
  h.emplace_back("Accept", "application/json");
  h.emplace_back("OData-MaxVersion", "4.0");
  h.emplace_back("OData-Version", "4.0");
  if (!body.empty()) h.emplace_back("Content-Type", "application/json; charset=utf-8");
  for (auto& e : extra) {
    std::erase_if(h, [&](const auto& existing) { return EqualsIgnoreCase(existing.first, e.first); });
    h.push_back(std::move(e));
  }
  std::string full = target;
  if (full.find("://") == std::string::npos && (full.empty() || full[0] != '/')) full = "/api/data/v9.2/" + full;
  return Send(method, full, h, body);
}

std::string TestClient::SendRaw(const std::string& bytes, std::chrono::milliseconds timeout) {
  asio::io_context io;
  beast::tcp_stream stream(io);
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  auto results = resolver.resolve(impl_->host, impl_->port, ec);
  if (ec) return "";
  auto run = [&io](auto start) {
    boost::system::error_code result = asio::error::would_block;
    start([&result](boost::system::error_code e, auto&&...) { result = e; });
    io.restart();
    io.run();
    return result;
  };
  stream.expires_after(timeout);
  if (run([&](auto h) { stream.async_connect(results, h); })) return "";
  stream.expires_after(timeout);
  run([&](auto h) { asio::async_write(stream, asio::buffer(bytes), h); });
  std::string out;
  char buf[4096];
  while (true) {
    std::size_t n = 0;
    stream.expires_after(timeout);
    ec = run([&](auto h) {
      stream.async_read_some(asio::buffer(buf), [&n, h](boost::system::error_code e, std::size_t got) mutable {
        n = got;
        h(e);
      });
    });
    out.append(buf, n);
    if (ec) break;
  }
  return out;
}

std::string TestClient::FetchToken(const std::string& base_url, const std::string& tenant, const std::string& client_id,
                                   const std::string& secret, const std::string& ca_pem) {
  TestClient c(base_url, ca_pem);
  const std::string body = "client_id=" + FormEncode(client_id) + "&scope=" + FormEncode(base_url + "/.default") +
                           "&client_secret=" + FormEncode(secret) + "&grant_type=client_credentials";
  Response r = c.Send("POST", "/" + tenant + "/oauth2/v2.0/token",
                      {{"Content-Type", "application/x-www-form-urlencoded"}}, body);
  if (r.status != 200) return "";
  auto j = r.Json();
  return j.is_object() && j.contains("access_token") ? j["access_token"].get<std::string>() : "";
}

}  // namespace crmsync::emulator::testing
