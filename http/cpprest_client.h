// The cpprestsdk implementation of HttpClient: the only code that includes
// cpprest (see toolchain.md for the traps it avoids).
//
// - a fresh http_request per Send (cpprest requests are single-use);
// - a total deadline enforced with a cancellation token (cpprest's own
//   timeout restarts on every chunk);
// - TLS verification always on; `ca_file` adds trusted CAs to the system store;
// - plain http only to loopback hosts (127.0.0.0/8, ::1, localhost);
// - bodies read as bytes; every pplx exception observed on our thread.
//
// Ownership: the client owns one cpprest http_client per scheme://host:port,
// created on first use and destroyed with this object; destroy it before
// main returns (never keep one in a global).
// Thread-safety: Send is safe from any thread.
#pragma once

#include <memory>
#include <string>

#include "http/http_client.h"

namespace crmsync::http {

struct CpprestClientOptions {
  std::string ca_file;                        // extra CA bundle (PEM); empty = system store only
  bool allow_plain_http_to_any_host = false;  // tests only; product code never sets it
};

std::unique_ptr<HttpClient> MakeCpprestHttpClient(const CpprestClientOptions& options);

// Sizes cpprestsdk's thread pool; call first thing in main (later calls are ignored).
void InitializeCpprestThreadPool(int threads);

}  // namespace crmsync::http
