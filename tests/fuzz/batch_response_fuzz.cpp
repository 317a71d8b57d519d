// Fuzzes the $batch response parser (connectors/dataverse/batch.h).
//
// Input: the first line is the response's Content-Type header
// ("multipart/mixed; boundary=batchresponse_..."), the rest is its body,
// CRLF line endings as Dataverse sends them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connectors/dataverse/batch.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::string_view content_type = input.substr(0, newline);
  if (!content_type.empty() && content_type.back() == '\r') content_type.remove_suffix(1);
  const std::string_view body = input.substr(newline + 1);

  auto items = crmsync::dataverse::ParseBatchResponse(content_type, body);
  if (items.ok()) {
    // What the connector reads of every part.
    for (const auto& item : *items) {
      for (const auto& part : item.parts) (void)part.Header("OData-EntityId");
    }
  }
  return 0;
}
