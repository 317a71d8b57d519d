// FakeHttpClient: an HttpClient for unit tests of one class. It answers each
// Send with the next scripted reply (a response or a transport Status) and
// records every request it was given.
#pragma once

#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "http/http_client.h"

namespace crmsync::testing_support {

class FakeHttpClient final : public http::HttpClient {
 public:
  Result<http::HttpResponse> Send(const http::HttpRequest& request, Deadline) override {
    std::lock_guard lock(mutex_);
    requests.push_back(request);
    if (replies.empty()) return Status(StatusCode::kInternal, "no reply scripted");
    auto reply = replies.front();
    replies.pop_front();
    return reply;
  }

  // The URL of every request, in order.
  std::vector<std::string> Urls() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& r : requests) out.push_back(r.url);
    return out;
  }

  // The value of header `name` in every request that had it, in order.
  std::vector<std::string> HeaderValues(const std::string& name) const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& r : requests) {
      for (const auto& [k, v] : r.headers) {
        if (http::HeaderNameEquals(k, name)) out.push_back(v);
      }
    }
    return out;
  }

  std::deque<Result<http::HttpResponse>> replies;
  std::vector<http::HttpRequest> requests;

 private:
  mutable std::mutex mutex_;
};

}  // namespace crmsync::testing_support
