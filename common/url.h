// The few URL facts crmsync needs, in one place: splitting an absolute
// http(s) URL, telling loopback hosts (where plain http is allowed) from
// others, and percent-encoding.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace crmsync {

struct UrlParts {
  std::string scheme;          // "http" or "https"
  std::string host;            // without brackets for IPv6
  std::string origin;          // scheme://authority
  std::string path_and_query;  // "/" at least
};

// Splits an absolute http(s) URL; kInvalidArgument (naming the URL) otherwise.
Result<UrlParts> ParseHttpUrl(std::string_view url);

// True for 127.0.0.0/8 written as a dotted quad, ::1 and localhost.
bool IsLoopbackHost(std::string_view host);

// Percent-encodes every byte except ASCII letters, digits and `keep`.
std::string PercentEncode(std::string_view value, std::string_view keep);

}  // namespace crmsync
