// Fuzzes the OData response parsers (connectors/dataverse/odata.h): a
// collection or delta page, a single record, and the small parsers of what
// Dataverse sends back in headers (ETag, OData-EntityId).
//
// Input: the first line names the primary key attribute ("contactid"), the
// rest is the response body, as Dataverse would send it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connectors/dataverse/odata.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view primary_key = newline == std::string_view::npos ? "contactid" : input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? input : input.substr(newline + 1);

  using namespace crmsync::dataverse;
  if (auto page = ParsePage(body, primary_key); page.ok()) {
    for (auto& change : page->changes) FillModifiedAt(change);
  }
  if (auto record = ParseRecord(body, primary_key); record.ok()) FillModifiedAt(*record);
  (void)VersionFromEtag(body);
  (void)IdFromEntityUri(body);
  (void)CanonicalGuid(body);
  return 0;
}
