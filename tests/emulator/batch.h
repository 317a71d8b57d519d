// Batch: the OData $batch endpoint (dataverse-web-api.md section 7) -
// multipart/mixed parsing (CRLF mandatory), change sets executed atomically
// under the store's unique lock with an undo log, $n Content-ID references,
// odata.continue-on-error, and responses framed exactly like the reference's
// example with fresh batchresponse_/changesetresponse_ boundaries.
//
// Stateless apart from the WebApi it drives; safe to call from many threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "tests/emulator/guid_source.h"
#include "tests/emulator/http_message.h"
#include "tests/emulator/web_api.h"

namespace crmsync::emulator {

inline constexpr int kMaxBatchOperations = 1000;

struct MimePart {
  std::vector<std::pair<std::string, std::string>> headers;  // names lower case
  std::string body;
  std::string Header(std::string_view lower_name) const;
};

// Splits a multipart body on `boundary`. LF-only framing is an error.
Result<std::vector<MimePart>> SplitMultipart(std::string_view body, std::string_view boundary);
// The boundary parameter of a multipart Content-Type (quoted or not), empty if none.
std::string BoundaryOf(std::string_view content_type);

class BatchProcessor {
 public:
  BatchProcessor(WebApi& api, GuidSource& ids) : api_(api), ids_(ids) {}
  HttpResponse Handle(const HttpRequest& request, RequestContext& ctx);

 private:
  WebApi& api_;
  GuidSource& ids_;
};

}  // namespace crmsync::emulator
