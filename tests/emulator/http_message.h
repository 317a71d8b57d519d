// HttpRequest / HttpResponse: the transport-neutral messages the emulator's
// handlers read and write (the server converts from and to Boost.Beast), plus
// URL helpers (percent coding, query strings).
//
// Plain values; not shared between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace crmsync::emulator {

struct HttpRequest {
  std::string method;                                        // upper case as received
  std::string target;                                        // raw request target: path?query
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;

  std::string_view Path() const;   // target up to '?', still percent-encoded
  std::string_view Query() const;  // after '?', empty when none
  // First value of a header (name in lower case), empty when absent.
  std::string Header(std::string_view lower_name) const;
  bool HasHeader(std::string_view lower_name) const;
  // All values of a header, comma lists split and trimmed (for Prefer).
  std::vector<std::string> HeaderList(std::string_view lower_name) const;
};

// How the transport delivers a response; the fault injector picks the unusual ones.
enum class Delivery { kNormal, kDrop, kTruncate };

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  Delivery delivery = Delivery::kNormal;
  int stall_ms = 0;  // hold the response this long before sending it

  void Set(std::string name, std::string value);
  std::string Get(std::string_view name) const;  // case-insensitive
};

std::string ReasonPhrase(int status);

// Percent-decoding; '+' becomes a space when `plus_is_space`. Invalid escapes stay as they are.
std::string PercentDecode(std::string_view s, bool plus_is_space = false);
// Percent-encodes everything except RFC 3986 unreserved characters.
std::string PercentEncode(std::string_view s);

struct QueryParam {
  std::string name;   // decoded
  std::string value;  // decoded
  std::string raw;    // the name=value text as received
};
std::vector<QueryParam> ParseQuery(std::string_view query);

std::string ToLower(std::string_view s);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string_view Trim(std::string_view s);

}  // namespace crmsync::emulator
