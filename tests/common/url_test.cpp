#include "common/url.h"

#include <gtest/gtest.h>

namespace crmsync {
namespace {

TEST(UrlTest, SplitsAbsoluteHttpUrls) {
  auto u = ParseHttpUrl("https://contoso.crm4.dynamics.com:443/api/data/v9.2/contacts?$top=1");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "contoso.crm4.dynamics.com");
  EXPECT_EQ(u->origin, "https://contoso.crm4.dynamics.com:443");
  EXPECT_EQ(u->path_and_query, "/api/data/v9.2/contacts?$top=1");
  auto v6 = ParseHttpUrl("http://[::1]:8080");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->path_and_query, "/");
  for (const char* bad : {"", "contoso", "ftp://h/", "http://", "http://user@h/", "http://[::1/x", "://h"}) {
    EXPECT_FALSE(ParseHttpUrl(bad).ok()) << bad;
  }
}

TEST(UrlTest, LoopbackHostsMayUsePlainHttp) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.8.9.10"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("127.0.0.1.evil.example"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("localhost.example"));
}

TEST(UrlTest, PercentEncodeKeepsOnlyWhatItIsTold) {
  EXPECT_EQ(PercentEncode("a b&c=d/é", "-_.~"), "a%20b%26c%3Dd%2F%C3%A9");
  EXPECT_EQ(PercentEncode("name eq 'x'", "'"), "name%20eq%20'x'");
}

}  // namespace
}  // namespace crmsync
