#include "http/http_client.h"

#include <gtest/gtest.h>

namespace crmsync::http {
namespace {

TEST(HttpResponseTest, HeaderLookupIsCaseInsensitive) {
  HttpResponse r;
  r.headers = {{"OData-EntityId", "x"}, {"retry-after", "5"}};
  EXPECT_EQ(r.Header("odata-entityid"), "x");
  EXPECT_EQ(r.Header("Retry-After"), "5");
  EXPECT_EQ(r.Header("ETag"), "");
  EXPECT_TRUE(r.HasHeader("RETRY-AFTER"));
  EXPECT_FALSE(r.HasHeader("etag"));
}

}  // namespace
}  // namespace crmsync::http
