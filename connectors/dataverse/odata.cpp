#include "connectors/dataverse/odata.h"

#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>

#include <nlohmann/json.hpp>

#include "common/guid.h"
#include "common/time_format.h"
#include "common/url.h"
#include "common/value_json.h"

namespace crmsync::dataverse {

namespace {

using nlohmann::json;

bool IsHex(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

http::Headers StandardHeaders(bool has_body) {
  http::Headers h = {{"Accept", "application/json"}, {"OData-MaxVersion", "4.0"}, {"OData-Version", "4.0"}};
  if (has_body) h.emplace_back("Content-Type", "application/json; charset=utf-8");
  return h;
}

std::string EncodeQueryValue(std::string_view value) {
  return PercentEncode(value, "-._~()'*");
}

bool IsODataIdentifier(std::string_view name) {
  if (name.empty()) return false;
  const auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; };
  if (!alpha(name.front())) return false;
  for (char c : name) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

Status CheckIdentifier(std::string_view name, std::string_view what) {
  if (IsODataIdentifier(name)) return Status::Ok();
  return InvalidArgument(std::string(what) + " '" + std::string(name.substr(0, 80)) +
                         "' is not an OData identifier ([A-Za-z_][A-Za-z0-9_]*)");
}

std::string ODataLiteral(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kNull: return "null";
    case Value::Kind::kBool: return value.as_bool() ? "true" : "false";
    case Value::Kind::kInteger:
    case Value::Kind::kDecimal: return value.NumberText();
    case Value::Kind::kText: {
      std::string out = "'";
      for (char c : value.as_text()) {
        out += c;
        if (c == '\'') out += '\'';  // SQUOTE-in-string = SQUOTE SQUOTE
      }
      out += '\'';
      return out;
    }
  }
  return "null";
}

std::optional<std::string> ODataGuidLiteral(std::string_view text) {
  return CanonicalGuid(text);
}

std::string CollectionUrl(const ApiEndpoint& api, std::string_view entity_set, const std::vector<std::string>& select,
                          const std::vector<std::pair<std::string, std::string>>& options) {
  std::string url = api.ApiBase() + std::string(entity_set);
  char sep = '?';
  if (!select.empty()) {
    url += "?$select=";
    for (std::size_t i = 0; i < select.size(); ++i) url += (i ? "," : "") + EncodeQueryValue(select[i]);
    sep = '&';
  }
  for (const auto& [name, value] : options) {
    url += sep + name + "=" + EncodeQueryValue(value);
    sep = '&';
  }
  return url;
}

std::string EntityUrl(const ApiEndpoint& api, std::string_view entity_set, std::string_view id,
                      const std::vector<std::string>& select) {
  std::string url = api.ApiBase() + std::string(entity_set) + "(" + std::string(id) + ")";
  if (!select.empty()) {
    url += "?$select=";
    for (std::size_t i = 0; i < select.size(); ++i) url += (i ? "," : "") + EncodeQueryValue(select[i]);
  }
  return url;
}

std::string ReadPreferValue(bool track_changes, int max_page_size) {
  std::string v;
  if (track_changes) v = "odata.track-changes,";
  v += "odata.maxpagesize=" + std::to_string(max_page_size);
  v += ",odata.include-annotations=\"Microsoft.Dynamics.CRM.lookuplogicalname\"";
  return v;
}

std::optional<std::string> CanonicalGuid(std::string_view text) {
  if (text.size() == 38 && text.front() == '{' && text.back() == '}') text = text.substr(1, 36);
  if (text.size() != 36) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < 36; ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return std::nullopt;
      out += '-';
    } else {
      if (!IsHex(c)) return std::nullopt;
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  return out;
}

std::optional<std::string> IdFromEntityUri(std::string_view uri) {
  const auto open = uri.rfind('(');
  const auto close = uri.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;
  return CanonicalGuid(uri.substr(open + 1, close - open - 1));
}

namespace {

// Builds a Change from one record object of a response.
Result<connectors::Change> ChangeFromObject(const json& object, std::string_view primary_key) {
  connectors::Change change;
  if (!object.is_object()) return InvalidArgument("expected a record object");
  // Tombstone: {"@odata.context": ".../$deletedEntity", "id": "...", "reason": "deleted"}
  const auto context = object.find("@odata.context");
  const bool deleted =
      (context != object.end() && context->is_string() && EndsWith(context->get<std::string>(), "$deletedEntity")) ||
      (object.contains("reason") && object.contains("id") && !object.contains(primary_key));
  if (deleted) {
    const auto id = object.find("id");
    if (id == object.end() || !id->is_string()) return InvalidArgument("deleted entity without an id");
    auto guid = CanonicalGuid(id->get<std::string>());
    if (!guid) return InvalidArgument("deleted entity with a malformed id '" + id->get<std::string>() + "'");
    change.kind = connectors::Change::Kind::kDelete;
    change.key = *guid;
    return change;
  }
  const auto key = object.find(std::string(primary_key));
  if (key == object.end() || !key->is_string()) {
    return InvalidArgument("record without its key '" + std::string(primary_key) + "'");
  }
  auto guid = CanonicalGuid(key->get<std::string>());
  if (!guid) return InvalidArgument("record with a malformed key '" + key->get<std::string>() + "'");
  change.key = *guid;
  for (const auto& [name, member] : object.items()) {
    if (name == "@odata.etag") {
      if (member.is_string()) change.version = member.get<std::string>();
      continue;
    }
    if (name.rfind("@odata.", 0) == 0) continue;
    if (name.find("@OData.Community.Display.V1.FormattedValue") != std::string::npos) continue;
    if (member.is_object() || member.is_array()) continue;  // expanded navigation: not a field
    auto value = ValueFromJson(member);
    if (!value.ok()) continue;
    change.record.emplace(name, std::move(value).value());
  }
  return change;
}

}  // namespace

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD in UTF-8

// The length of the UTF-8 sequence at `s[i]`, 0 when it is not a valid one
// (overlong forms, surrogates and values past U+10FFFF are not).
std::size_t Utf8Length(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) >= 0xA0)) return 0;  // overlong; a surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) >= 0x90)) return 0;  // overlong; past U+10FFFF
    return 4;
  }
  return 0;
}

std::optional<unsigned> Hex4(std::string_view s, std::size_t at) {
  if (at + 4 > s.size()) return std::nullopt;
  unsigned v = 0;
  for (std::size_t k = at; k < at + 4; ++k) {
    const char c = s[k];
    v <<= 4;
    if (c >= '0' && c <= '9') {
      v |= static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      v |= static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      v |= static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
  }
  return v;
}

bool ContainsReplacement(const connectors::Change& change) {
  return std::any_of(change.record.begin(), change.record.end(), [](const auto& kv) {
    return kv.second.kind() == Value::Kind::kText && kv.second.as_text().find(kReplacement) != std::string::npos;
  });
}

}  // namespace

std::size_t RepairUnicode(std::string& text) {
  std::string out;
  std::size_t repaired = 0;
  std::size_t copied = 0;  // text[copied, i) is still to be copied to out
  bool in_string = false;
  const auto replace = [&](std::size_t from, std::size_t length, std::string_view with) {
    out.append(text, copied, from - copied);
    out += with;
    copied = from + length;
    ++repaired;
  };
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (static_cast<unsigned char>(c) >= 0x80) {
      const std::size_t n = Utf8Length(text, i);
      if (n == 0) {
        replace(i, 1, kReplacement);
        ++i;
      } else {
        i += n;
      }
      continue;
    }
    if (c == '"') {
      in_string = !in_string;
    } else if (c == '\\' && in_string && i + 1 < text.size()) {
      if (text[i + 1] != 'u') {
        i += 2;  // a two-character escape (\" among them)
        continue;
      }
      const auto unit = Hex4(text, i + 2);
      if (unit && *unit >= 0xD800 && *unit <= 0xDBFF) {
        const bool paired = i + 7 < text.size() && text[i + 6] == '\\' && text[i + 7] == 'u' &&
                            Hex4(text, i + 8).value_or(0) >= 0xDC00 && Hex4(text, i + 8).value_or(0) <= 0xDFFF;
        if (!paired) replace(i, 6, "\\uFFFD");
        i += paired ? 12 : 6;
        continue;
      }
      if (unit && *unit >= 0xDC00 && *unit <= 0xDFFF) {
        replace(i, 6, "\\uFFFD");  // a low surrogate with no high one before it
      }
      i += 6;
      continue;
    }
    ++i;
  }
  if (repaired == 0) return 0;
  out.append(text, copied, std::string::npos);
  text = std::move(out);
  return repaired;
}

namespace {

// Parses a response body; one that is not JSON only for text that is not
// valid Unicode is repaired (RepairUnicode) and parsed again. `repairs`
// counts the repaired places.
Result<json> ParseBody(std::string_view body, std::size_t& repairs) {
  repairs = 0;
  try {
    return json::parse(body);
  } catch (const json::exception& e) {
    std::string repaired(body);
    repairs = RepairUnicode(repaired);
    if (repairs == 0) return InvalidArgument(std::string("response is not JSON: ") + e.what());
    try {
      return json::parse(repaired);
    } catch (const json::exception& again) {
      return InvalidArgument(std::string("response is not JSON: ") + again.what());
    }
  }
}

}  // namespace

Result<Page> ParsePage(std::string_view body, std::string_view primary_key) {
  std::size_t repairs = 0;
  CRMSYNC_ASSIGN_OR_RETURN(json doc, ParseBody(body, repairs));
  if (!doc.is_object() || !doc.contains("value") || !doc["value"].is_array()) {
    return InvalidArgument("response has no 'value' array");
  }
  Page page;
  std::size_t index = 0;
  for (const auto& item : doc["value"]) {
    auto change = ChangeFromObject(item, primary_key);
    if (!change.ok()) return change.status().WithContext("value[" + std::to_string(index) + "]");
    if (repairs > 0 && ContainsReplacement(*change)) page.repaired.push_back(change->key);
    page.changes.push_back(std::move(change).value());
    ++index;
  }
  if (auto it = doc.find("@odata.nextLink"); it != doc.end() && it->is_string())
    page.next_link = it->get<std::string>();
  if (auto it = doc.find("@odata.deltaLink"); it != doc.end() && it->is_string()) {
    page.delta_link = it->get<std::string>();
  }
  return page;
}

Result<connectors::Change> ParseRecord(std::string_view body, std::string_view primary_key) {
  std::size_t repairs = 0;
  CRMSYNC_ASSIGN_OR_RETURN(json doc, ParseBody(body, repairs));
  return ChangeFromObject(doc, primary_key);
}

void FillModifiedAt(connectors::Change& change) {
  const auto it = change.record.find("modifiedon");
  if (it == change.record.end() || it->second.kind() != Value::Kind::kText) return;
  change.modified_at = ParseUtc(it->second.as_text());
}

std::optional<long long> VersionFromEtag(std::string_view etag) {
  std::string digits;
  for (char c : etag) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.empty() || digits.size() > 18) return std::nullopt;
  return std::stoll(digits);  // at most 18 digits: cannot throw
}

std::string RecordBody(const Record& fields) {
  return RecordToJson(fields).dump();
}

std::optional<std::chrono::milliseconds> RetryAfter(const http::HttpResponse& response) {
  const std::string v = response.Header("Retry-After");
  if (v.empty()) return std::nullopt;
  try {
    std::size_t used = 0;
    const double seconds = std::stod(v, &used);
    if (used != v.size() || seconds < 0 || seconds > 3600) return std::nullopt;
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  } catch (const std::exception&) {
    return std::nullopt;  // an HTTP-date: fall back to our own backoff
  }
}

std::optional<int> DopHint(const http::HttpResponse& response) {
  const std::string v = response.Header("x-ms-dop-hint");
  if (v.empty()) return std::nullopt;
  try {
    const int n = std::stoi(v);
    if (n > 0) return n;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

Status StatusFromResponse(const http::HttpResponse& response, std::string_view what) {
  std::string remote_code;
  std::string message;
  try {
    const json doc = json::parse(response.body);
    if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
      const json& e = doc["error"];
      if (e.contains("code") && e["code"].is_string()) remote_code = e["code"].get<std::string>();
      if (e.contains("message") && e["message"].is_string()) message = e["message"].get<std::string>();
    }
  } catch (const json::exception&) {
    // Not OData JSON (a 401's body may be plain text): keep a short excerpt.
  }
  if (message.empty()) {
    message = response.body.substr(0, 200);
    if (message.empty()) message = "no error details";
  }
  const int s = response.status;
  StatusCode code = StatusCode::kInternal;
  if (remote_code == kExpiredVersionStamp) {
    code = StatusCode::kCursorExpired;
  } else if (s == 401) {
    code = StatusCode::kUnauthenticated;
  } else if (s == 403) {
    code = StatusCode::kPermissionDenied;
  } else if (s == 404) {
    code = StatusCode::kNotFound;
  } else if (s == 412) {
    code = (remote_code == kDuplicateRecord || remote_code == kDuplicateRecordEntityKey) ? StatusCode::kAlreadyExists
                                                                                         : StatusCode::kConflict;
  } else if (s == 429) {
    code = StatusCode::kThrottled;
  } else if (s == 500) {
    // Duplicate detection is a verdict on the data; SQL deadlocks and other
    // server faults are worth another try.
    code = remote_code == kDuplicateDetected ? StatusCode::kAlreadyExists : StatusCode::kUnavailable;
  } else if (s == 408 || s >= 500) {  // a request timeout, a gateway or any other server fault
    code = StatusCode::kUnavailable;
  } else if (s >= 400 && s < 500) {
    code = StatusCode::kInvalidArgument;
  }
  Status status(code, std::string(what) + ": " + message);
  status.set_http_status(s);
  if (!remote_code.empty()) status.set_remote_code(remote_code);
  if (auto ra = RetryAfter(response)) status.set_retry_after(*ra);
  return status;
}

}  // namespace crmsync::dataverse
