// Query options of a Web API GET ($select, $filter, $orderby, $top, $count,
// $expand, $skiptoken, $deltatoken and parameter aliases), validated against
// one table, plus the opaque paging cookies and delta tokens the emulator
// issues (dataverse-web-api.md sections 4 and 5).
//
// Pure functions over values; thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tests/emulator/http_message.h"
#include "tests/emulator/metadata.h"
#include "tests/emulator/odata_filter.h"

namespace crmsync::emulator {

struct OrderItem {
  const AttributeDef* attr = nullptr;
  bool descending = false;
};

struct ExpandItem {
  std::string nav;
  const AttributeDef* lookup = nullptr;       // single-valued: the lookup on the base table
  const CollectionNav* collection = nullptr;  // collection-valued
  const EntityDef* target = nullptr;
  bool has_select = false;
  std::vector<const AttributeDef*> select;
  std::shared_ptr<FilterNode> filter;
  std::vector<OrderItem> orderby;
  std::optional<int> top;
};

struct QueryOptions {
  bool has_select = false;
  std::vector<const AttributeDef*> select;
  std::string select_text;  // "name,accountnumber" as written, for @odata.context
  std::shared_ptr<FilterNode> filter;
  std::vector<OrderItem> orderby;
  std::optional<int> top;
  bool count = false;
  std::vector<ExpandItem> expand;
  std::optional<std::string> skiptoken;   // decoded
  std::optional<std::string> deltatoken;  // decoded
  // The query text minus $skiptoken and $deltatoken, raw, for next/delta links.
  std::string link_query;
};

// `single` is true for a request addressing one record (no $filter/$orderby/$top).
Result<QueryOptions> ParseQueryOptions(std::string_view query, const EntityDef& entity, const Metadata& metadata,
                                       bool single);

// Parses "nav($select=a;$filter=...),nav2" for `entity`.
Result<std::vector<ExpandItem>> ParseExpand(std::string_view text, const EntityDef& entity, const Metadata& metadata);

// Paging cookie for ordinary queries: resume after `offset` rows (last key for stability).
struct PageCookie {
  int page_number = 2;
  std::int64_t offset = 0;
  std::string last_id;
  // Change-tracking pages: the token's version, the snapshot version, phase
  // (0 = changed rows, 1 = deletions) and the last version returned.
  bool tracking = false;
  std::int64_t from_version = 0;
  std::int64_t upto_version = 0;
  int phase = 0;
  std::int64_t last_version = 0;
};
std::string EncodePageCookie(const PageCookie& c);
std::optional<PageCookie> DecodePageCookie(std::string_view text);

// Delta token "<version>!<MM/dd/yyyy HH:mm:ss>" (UTC).
std::string EncodeDeltaToken(std::int64_t version, std::chrono::system_clock::time_point when);
struct DeltaToken {
  std::int64_t version = 0;
  std::chrono::system_clock::time_point when;
};
std::optional<DeltaToken> DecodeDeltaToken(std::string_view text);

}  // namespace crmsync::emulator
