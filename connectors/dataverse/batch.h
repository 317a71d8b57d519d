// $batch: building the multipart/mixed request body and parsing the
// response (dataverse-web-api.md section 7). Pure functions; CRLF line
// endings throughout, as Dataverse requires.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "http/http_client.h"

namespace crmsync::dataverse {

struct BatchOperation {
  std::string method;  // POST, PATCH, DELETE, GET
  std::string url;     // absolute
  http::Headers headers;
  std::string body;  // JSON, may be empty
};

// One top-level part: a single operation, or a change set (atomic) of several.
struct BatchItem {
  bool changeset = false;
  std::vector<BatchOperation> operations;  // exactly one when !changeset
};

struct BatchBody {
  std::string content_type;  // multipart/mixed; boundary=...
  std::string body;
};

// Builds the body; operations inside change sets get Content-IDs 1..n
// numbered across the whole batch.
BatchBody BuildBatch(const std::vector<BatchItem>& items, std::string_view boundary_seed);

struct BatchPartResponse {
  std::string content_id;
  int status = 0;
  http::Headers headers;
  std::string body;
  std::string Header(std::string_view name) const;
};

// One response per top-level part, in order. A failed change set holds a
// single part (the failing operation); a successful one a part per operation.
struct BatchResponseItem {
  bool changeset = false;
  std::vector<BatchPartResponse> parts;
};

// Parses a $batch response given its Content-Type header and body.
Result<std::vector<BatchResponseItem>> ParseBatchResponse(std::string_view content_type, std::string_view body);

}  // namespace crmsync::dataverse
