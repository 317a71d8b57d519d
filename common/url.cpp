#include "common/url.h"

#include <cctype>
#include <cstdio>

namespace crmsync {

Result<UrlParts> ParseHttpUrl(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos || scheme_end == 0) {
    return InvalidArgument("not an absolute URL: '" + std::string(url) + "'");
  }
  UrlParts parts;
  parts.scheme = std::string(url.substr(0, scheme_end));
  if (parts.scheme != "http" && parts.scheme != "https") {
    return InvalidArgument("not an http(s) URL: '" + std::string(url) + "'");
  }
  const auto path_start = url.find_first_of("/?#", scheme_end + 3);
  const std::string_view authority = url.substr(
      scheme_end + 3, path_start == std::string_view::npos ? std::string_view::npos : path_start - scheme_end - 3);
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    return InvalidArgument("URL without a host (or with user info): '" + std::string(url) + "'");
  }
  if (authority[0] == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgument("malformed IPv6 host in '" + std::string(url) + "'");
    parts.host = std::string(authority.substr(1, close - 1));
  } else {
    parts.host = std::string(authority.substr(0, authority.find(':')));
  }
  if (parts.host.empty()) return InvalidArgument("URL without a host: '" + std::string(url) + "'");
  parts.origin = parts.scheme + "://" + std::string(authority);
  parts.path_and_query = path_start == std::string_view::npos ? "/" : std::string(url.substr(path_start));
  if (parts.path_and_query[0] != '/') parts.path_and_query = "/" + parts.path_and_query;
  return parts;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  if (host.substr(0, 4) != "127.") return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

std::string PercentEncode(std::string_view value, std::string_view keep) {
  std::string out;
  out.reserve(value.size());
  for (unsigned char c : value) {
    if (std::isalnum(c) != 0 || keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

}  // namespace crmsync
