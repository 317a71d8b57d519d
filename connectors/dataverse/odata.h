// Pure OData request building and response parsing for the Dataverse Web
// API (dataverse-web-api.md). No I/O here: everything is string in, string
// out, so it is table-tested without a server.
//
// Thread-safety: free functions on values.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/guid.h"  // NewGuid, for the connector and its tests
#include "common/result.h"
#include "common/value.h"
#include "connectors/connector.h"
#include "http/http_client.h"

namespace crmsync::dataverse {

// Where requests go: "{url}/api/data/{version}/".
struct ApiEndpoint {
  std::string org_url;  // https://contoso.crm4.dynamics.com (no trailing slash)
  std::string api_version = "v9.2";
  std::string ApiBase() const { return org_url + "/api/data/" + api_version + "/"; }
};

// Headers every Web API request carries.
http::Headers StandardHeaders(bool has_body);

// Percent-encodes a query option value: unreserved characters stay, as do
// '(', ')', '\'' and '*' (the OData expression syntax); everything else is
// encoded, including the characters Dataverse asks to encode inside literals
// (+ & $ , / : ; = ? @ # % and every non-ASCII byte, as UTF-8).
std::string EncodeQueryValue(std::string_view value);

// True when `name` is an OData identifier as crmsync uses them for entity
// sets and attributes: [A-Za-z_][A-Za-z0-9_]* (so "_parentcustomerid_value").
bool IsODataIdentifier(std::string_view name);
// kInvalidArgument naming `what` ("entity set", "column") unless `name` is
// an identifier. Names that fail never reach a URL.
Status CheckIdentifier(std::string_view name, std::string_view what);

// The one builder of OData literals (OData ABNF, dataverse-web-api.md 4.1)
// for every literal crmsync puts in a URL: null; true/false; integers and
// decimals bare in canonical form; text in single quotes with every
// embedded quote doubled ("O'Bryan" -> 'O''Bryan'). The result is URL text
// before encoding: CollectionUrl encodes the whole option value once.
std::string ODataLiteral(const Value& value);
// A GUID literal (bare, lower case); nullopt when `text` is not a GUID.
std::optional<std::string> ODataGuidLiteral(std::string_view text);

// "{base}contacts?$select=a,b" (columns joined in the given order); extra
// query options ("$filter", "...") are appended encoded. Callers check
// names with CheckIdentifier first.
std::string CollectionUrl(const ApiEndpoint& api, std::string_view entity_set, const std::vector<std::string>& select,
                          const std::vector<std::pair<std::string, std::string>>& options = {});

// "{base}contacts(guid)" with an optional $select.
std::string EntityUrl(const ApiEndpoint& api, std::string_view entity_set, std::string_view id,
                      const std::vector<std::string>& select = {});

// Prefer header value for reads: track-changes and/or page size, plus the
// lookup annotation the mapper needs for polymorphic lookups.
std::string ReadPreferValue(bool track_changes, int max_page_size);

// A lower-case canonical GUID, or nullopt when `text` is not one (braces allowed).
std::optional<std::string> CanonicalGuid(std::string_view text);

// The GUID inside an OData-EntityId such as ".../contacts(72bf...)".
std::optional<std::string> IdFromEntityUri(std::string_view uri);

// One page of a collection or delta response.
struct Page {
  std::vector<connectors::Change> changes;  // upserts with record values, and tombstones
  std::string next_link;                    // more pages of this read
  std::string delta_link;                   // the final page of a tracked read
  // Keys of the records whose text was not valid Unicode and was repaired
  // (RepairUnicode), for the caller to name in a warning.
  std::vector<std::string> repaired;
};

// Text that is not valid Unicode, as a server may send it: bytes that are
// not UTF-8, and escapes of U+D800-U+DFFF that are not a surrogate pair (a
// .NET string may hold a lone surrogate). A JSON parser refuses either, and
// one such value would stop every read of its table. Each is replaced by
// U+FFFD (the replacement character) in place; returns how many were.
std::size_t RepairUnicode(std::string& json_text);

// Parses a collection body. `primary_key` names the id attribute. Records
// keep scalar members and lookup annotations; OData control members and
// formatted values are dropped. A record without a valid key is an error
// naming its position (nothing could say which record it was). Text that is
// not valid Unicode is repaired first (RepairUnicode), and the records it was
// in are listed in Page::repaired.
Result<Page> ParsePage(std::string_view body, std::string_view primary_key);

// Parses a single-record body (GET by key, or return=representation).
Result<connectors::Change> ParseRecord(std::string_view body, std::string_view primary_key);

// Sets change.modified_at from its "modifiedon" value (UTC text), when the
// record has one that parses; leaves it unset otherwise.
void FillModifiedAt(connectors::Change& change);

// The versionnumber in an ETag (W/"12345" -> 12345); nullopt when there is none.
std::optional<long long> VersionFromEtag(std::string_view etag);

// Builds the JSON body of a create or update from mapped fields.
std::string RecordBody(const Record& fields);

// Maps an HTTP error response to a Status, keeping Dataverse's error code
// (remote_code), the HTTP status, and Retry-After. `what` names the request
// for the message ("PATCH contacts(...)").
Status StatusFromResponse(const http::HttpResponse& response, std::string_view what);

// Retry-After in seconds (integer form), if present and sane.
std::optional<std::chrono::milliseconds> RetryAfter(const http::HttpResponse& response);

// x-ms-dop-hint, if present and positive.
std::optional<int> DopHint(const http::HttpResponse& response);

// Dataverse error codes the client branches on (dataverse-web-api.md 8.1).
inline constexpr std::string_view kObjectDoesNotExist = "0x80040217";
inline constexpr std::string_view kDuplicateRecord = "0x80040237";
inline constexpr std::string_view kDuplicateRecordEntityKey = "0x80060892";
inline constexpr std::string_view kConcurrencyVersionMismatch = "0x80060882";
inline constexpr std::string_view kExpiredVersionStamp = "0x80044352";
inline constexpr std::string_view kChangeTrackingNotEnabled = "0x80072491";  // ChangeTrackingNotEnabledForEntity
inline constexpr std::string_view kSqlDeadlock = "0x80044150";
inline constexpr std::string_view kSqlTimeout = "0x80044151";
inline constexpr std::string_view kDuplicateDetected = "0x80040333";
inline constexpr std::string_view kThrottledRequests = "0x80072322";
inline constexpr std::string_view kThrottledExecutionTime = "0x80072321";
inline constexpr std::string_view kThrottledConcurrency = "0x80072326";

}  // namespace crmsync::dataverse
