// Raw loopback HTTP for the status endpoint's tests: send exactly the bytes
// a test wants (malformed or oversized on purpose) and read the answer,
// each step bounded by a timeout so that a hang fails the test instead of
// stalling it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace crmsync::status::testing {

struct RawResponse {
  int status = 0;                              // 0 when no status line came back
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string raw;
};

// A TCP connection to 127.0.0.1:port. Every receive waits at most `timeout`.
class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  void SetTimeout(std::chrono::milliseconds timeout);
  bool Send(const std::string& bytes);
  // Reads until the server closes the connection (or the timeout passes) and parses what came.
  RawResponse ReadToClose();
  // True when the server closed the connection within the timeout without answering.
  bool ClosedWithoutAnswer();

 private:
  int fd_ = -1;
};

// One request with Connection: close, answered in full.
RawResponse Request(std::uint16_t port, const std::string& method, const std::string& path);
RawResponse SendRaw(std::uint16_t port, const std::string& bytes);
RawResponse ParseResponse(const std::string& raw);

}  // namespace crmsync::status::testing
