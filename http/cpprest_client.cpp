// The only file that includes cpprestsdk's client headers.
#include "http/cpprest_client.h"

#include "common/url.h"

#include <cpprest/http_client.h>
#include <pplx/threadpool.h>

#include <condition_variable>
#include <map>
#include <mutex>

namespace crmsync::http {

namespace {

namespace cpp_http = web::http;
namespace cpp_client = web::http::client;

Status TransportError(const std::string& what, const std::string& url) {
  std::string lower = what;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("ssl") != std::string::npos || lower.find("certificate") != std::string::npos ||
      lower.find("handshake") != std::string::npos) {
    return Status(StatusCode::kPermissionDenied,
                  "TLS connection to " + url + " failed (" + what +
                      "): the server certificate was not trusted or the handshake failed; check dataverse.ca_file");
  }
  return Status(StatusCode::kUnavailable, "request to " + url + " failed: " + what);
}

// Waits for `task` until `deadline`; on expiry cancels through `cts` and
// still waits for the task to finish, so its exception is always observed
// here on our own thread (an unobserved pplx exception kills the process).
template <typename T>
Result<T> Await(pplx::task<T> task, pplx::cancellation_token_source& cts, Deadline deadline, const std::string& url) {
  struct Signal {
    std::mutex mutex;
    std::condition_variable cv;
    bool done = false;
  };
  auto signal = std::make_shared<Signal>();
  // A task-based continuation runs on success and failure alike; it only signals.
  task.then([signal](pplx::task<T>) {
    std::lock_guard lock(signal->mutex);
    signal->done = true;
    signal->cv.notify_all();
  });
  bool timed_out = false;
  {
    std::unique_lock lock(signal->mutex);
    if (deadline.is_never()) {
      signal->cv.wait(lock, [&] { return signal->done; });
    } else if (!signal->cv.wait_until(lock, deadline.when(), [&] { return signal->done; })) {
      timed_out = true;
      cts.cancel();
      signal->cv.wait(lock, [&] { return signal->done; });
    }
  }
  try {
    T value = task.get();
    if (timed_out) return Status(StatusCode::kTimeout, "request to " + url + " passed its deadline");
    return value;
  } catch (const pplx::task_canceled&) {
    return Status(StatusCode::kTimeout, "request to " + url + " passed its deadline");
  } catch (const cpp_http::http_exception& e) {
    if (timed_out) return Status(StatusCode::kTimeout, "request to " + url + " passed its deadline");
    return TransportError(e.what(), url);
  } catch (const std::exception& e) {
    if (timed_out) return Status(StatusCode::kTimeout, "request to " + url + " passed its deadline");
    return TransportError(e.what(), url);
  }
}

class CpprestHttpClient final : public HttpClient {
 public:
  explicit CpprestHttpClient(CpprestClientOptions options) : options_(std::move(options)) {}

  ~CpprestHttpClient() override {
    std::lock_guard lock(mutex_);
    clients_.clear();
  }

  Result<HttpResponse> Send(const HttpRequest& request, Deadline deadline) override {
    CRMSYNC_ASSIGN_OR_RETURN(UrlParts endpoint, ParseHttpUrl(request.url));
    if (endpoint.scheme == "http" && !IsLoopbackHost(endpoint.host) && !options_.allow_plain_http_to_any_host) {
      return InvalidArgument("refusing plain http to non-loopback host '" + endpoint.host + "': use https");
    }
    if (deadline.Expired()) return Status(StatusCode::kTimeout, "deadline passed before sending to " + request.url);
    try {
      std::shared_ptr<cpp_client::http_client> client = ClientFor(endpoint.origin);
      // A fresh request object per attempt: cpprest requests are single-use.
      cpp_http::http_request req(cpp_http::method(request.method));
      req.set_request_uri(web::uri(endpoint.path_and_query));
      if (!request.body.empty() || request.method == "POST" || request.method == "PATCH" || request.method == "PUT") {
        req.set_body(std::vector<unsigned char>(request.body.begin(), request.body.end()));
      }
      for (const auto& [name, value] : request.headers) {
        if (HeaderNameEquals(name, "Content-Type")) {
          req.headers().set_content_type(value);
        } else {
          req.headers().add(name, value);
        }
      }
      pplx::cancellation_token_source cts;
      CRMSYNC_ASSIGN_OR_RETURN(cpp_http::http_response response,
                               Await(client->request(req, cts.get_token()), cts, deadline, request.url));
      HttpResponse out;
      out.status = response.status_code();
      for (const auto& [name, value] : response.headers()) out.headers.emplace_back(name, value);
      CRMSYNC_ASSIGN_OR_RETURN(std::vector<unsigned char> body,
                               Await(response.extract_vector(), cts, deadline, request.url));
      out.body.assign(body.begin(), body.end());
      return out;
    } catch (const std::exception& e) {
      // web::uri and header parsing throw on malformed input.
      return InvalidArgument("cannot send request to '" + request.url + "': " + e.what());
    }
  }

 private:
  std::shared_ptr<cpp_client::http_client> ClientFor(const std::string& base) {
    std::lock_guard lock(mutex_);
    auto it = clients_.find(base);
    if (it != clients_.end()) return it->second;
    cpp_client::http_client_config config;
    config.set_validate_certificates(true);
    // The total deadline is enforced by cancellation; this per-chunk timeout
    // only bounds a silent connection when the caller passed no deadline.
    config.set_timeout(std::chrono::seconds(600));
    if (!options_.ca_file.empty()) {
      const std::string ca = options_.ca_file;
      config.set_ssl_context_callback([ca](boost::asio::ssl::context& ctx) { ctx.load_verify_file(ca); });
    }
    auto client = std::make_shared<cpp_client::http_client>(web::uri(base), config);
    clients_.emplace(base, client);
    return client;
  }

  CpprestClientOptions options_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<cpp_client::http_client>> clients_;
};

}  // namespace

std::unique_ptr<HttpClient> MakeCpprestHttpClient(const CpprestClientOptions& options) {
  return std::make_unique<CpprestHttpClient>(options);
}

void InitializeCpprestThreadPool(int threads) {
  try {
    crossplat::threadpool::initialize_with_threads(static_cast<size_t>(threads < 2 ? 2 : threads));
  } catch (const std::exception&) {
    // Already initialised: the first call wins.
  }
}

}  // namespace crmsync::http
