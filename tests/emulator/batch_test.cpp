// $batch: framing with CRLF, change sets (atomic), $n references,
// continue-on-error, stop-with-400, LF-only rejection, limits
// (dataverse-web-api.md section 7).
#include <gtest/gtest.h>

#include <regex>
#include <thread>

#include "tests/emulator/batch.h"
#include "tests/emulator/emulator_fixture.h"

namespace crmsync::emulator::testing {
namespace {

std::string Crlf(std::string text) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += "\r\n";
    else
      out += c;
  }
  return out;
}

struct Part {
  std::string content_id;
  int status = 0;
  std::string body;
  bool changeset = false;
  std::vector<Part> inner;
};

// Parses a batch response with the same MIME splitter the emulator uses.
std::vector<Part> ParseBatchResponse(const Response& r) {
  std::vector<Part> out;
  auto parts = SplitMultipart(r.body, BoundaryOf(r.Header("content-type")));
  EXPECT_TRUE(parts.ok()) << parts.status().ToString();
  if (!parts.ok()) return out;
  for (const auto& p : *parts) {
    Part part;
    const std::string ct = p.Header("content-type");
    if (ct.starts_with("multipart/mixed")) {
      part.changeset = true;
      auto inner = SplitMultipart(p.body, BoundaryOf(ct));
      EXPECT_TRUE(inner.ok());
      if (!inner.ok()) continue;
      for (const auto& ip : *inner) {
        Part x;
        x.content_id = ip.Header("content-id");
        x.status = std::stoi(ip.body.substr(9, 3));
        x.body = ip.body;
        part.inner.push_back(x);
      }
    } else {
      part.content_id = p.Header("content-id");
      part.status = std::stoi(p.body.substr(9, 3));
      part.body = p.body;
    }
    out.push_back(part);
  }
  return out;
}

class BatchTest : public EmulatorTest {
 protected:
  Response Batch(const std::string& body, const std::string& boundary = "\"batch_7d1c\"", Headers extra = {}) {
    extra.emplace_back("Content-Type", "multipart/mixed; boundary=" + boundary);
    return client().Api("POST", "$batch", body, extra);
  }
  int Count(const std::string& set) { return AdminGet("/_admin/dump/" + set)["count"]; }
};

// Two connections running change sets at once: each change set holds the
// store's write lock for itself only (it used to share one lock member, so
// one batch's end could release another's lock and wedge the emulator).
TEST_F(BatchTest, ConcurrentChangeSetsOnTwoConnectionsAllCommit) {
  const auto run = [&](int thread) {
    TestClient c(base());
    c.set_token(client().token());
    for (int i = 0; i < 40; ++i) {
      const std::string name = "T" + std::to_string(thread) + "-" + std::to_string(i);
      const std::string body = Crlf(
          "--batch_x\n"
          "Content-Type: multipart/mixed; boundary=changeset_y\n"
          "\n"
          "--changeset_y\n"
          "Content-Type: application/http\n"
          "Content-Transfer-Encoding: binary\n"
          "Content-ID: 1\n"
          "\n"
          "POST /api/data/v9.2/accounts HTTP/1.1\n"
          "Content-Type: application/json; type=entry\n"
          "\n"
          "{\"name\":\"" +
          name +
          "\"}\n"
          "--changeset_y\n"
          "Content-Type: application/http\n"
          "Content-Transfer-Encoding: binary\n"
          "Content-ID: 2\n"
          "\n"
          "PATCH $1 HTTP/1.1\n"
          "Content-Type: application/json; type=entry\n"
          "\n"
          "{\"telephone1\":\"1\"}\n"
          "--changeset_y--\n"
          "--batch_x--\n");
      Response r = c.Api("POST", "$batch", body, {{"Content-Type", "multipart/mixed; boundary=batch_x"}});
      EXPECT_EQ(r.status, 200) << r.error << r.body;
    }
  };
  std::thread a(run, 1);
  std::thread b(run, 2);
  a.join();
  b.join();
  EXPECT_EQ(Count("accounts"), 80);
  // The emulator still answers: no lock was left behind.
  EXPECT_EQ(Create("accounts", {{"name", "After"}}).size(), 36u);
}

TEST_F(BatchTest, ReferenceExampleRoundTrip) {
  const std::string account = Create("accounts", {{"name", "Buyer"}});
  Create("contacts", {{"firstname", "Nancy"}, {"lastname", "Anderson"}});
  const std::string pricelevel = client().Api("GET", "pricelevels?$select=name").Json()["value"][0]["pricelevelid"];
  const std::string body = Crlf(
      "--batch_7d1c\n"
      "Content-Type: multipart/mixed; boundary=\"changeset_a1b2\"\n"
      "\n"
      "--changeset_a1b2\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "Content-ID: 1\n"
      "\n"
      "POST /api/data/v9.2/salesorders HTTP/1.1\n"
      "Content-Type: application/json; type=entry\n"
      "\n"
      "{\"name\":\"Web order 1001\",\"customerid_account@odata.bind\":\"/accounts(" +
      account + ")\",\"pricelevelid@odata.bind\":\"/pricelevels(" + pricelevel +
      ")\"}\n"
      "--changeset_a1b2\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "Content-ID: 2\n"
      "\n"
      "POST /api/data/v9.2/salesorderdetails HTTP/1.1\n"
      "Content-Type: application/json; type=entry\n"
      "\n"
      "{\"salesorderid@odata.bind\":\"$1\",\"isproductoverridden\":true,\"productdescription\":\"Consulting "
      "day\",\"quantity\":2,\"ispriceoverridden\":true,\"priceperunit\":950.00}\n"
      "--changeset_a1b2--\n"
      "\n"
      "--batch_7d1c\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "\n"
      "GET /api/data/v9.2/contacts?$select=fullname&$top=1 HTTP/1.1\n"
      "Accept: application/json\n"
      "\n"
      "\n"
      "--batch_7d1c--\n");
  Response r = Batch(body, "\"batch_7d1c\"", {{"Prefer", "odata.continue-on-error"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("odata-version"), "4.0");
  const std::string ct = r.Header("content-type");
  EXPECT_TRUE(std::regex_match(ct, std::regex("multipart/mixed; boundary=batchresponse_[0-9a-f-]{36}"))) << ct;
  // Every line break is CRLF.
  for (std::size_t i = 0; i < r.body.size(); ++i) {
    if (r.body[i] == '\n') {
      ASSERT_TRUE(i > 0 && r.body[i - 1] == '\r') << "bare LF at " << i;
    }
  }
  auto parts = ParseBatchResponse(r);
  ASSERT_EQ(parts.size(), 2u) << r.body;
  ASSERT_TRUE(parts[0].changeset);
  ASSERT_EQ(parts[0].inner.size(), 2u);
  EXPECT_EQ(parts[0].inner[0].content_id, "1");
  EXPECT_EQ(parts[0].inner[0].status, 204);
  EXPECT_TRUE(std::regex_search(parts[0].inner[0].body,
                                std::regex("HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nLocation: " + api() +
                                           R"(salesorders\([0-9a-f-]{36}\)\r\nOData-EntityId: )" + api() +
                                           R"(salesorders\([0-9a-f-]{36}\)\r\n\r\n$)")))
      << parts[0].inner[0].body;
  EXPECT_EQ(parts[0].inner[1].content_id, "2");
  EXPECT_EQ(parts[0].inner[1].status, 204);
  EXPECT_EQ(parts[1].status, 200);
  EXPECT_NE(parts[1].body.find("Content-Type: application/json; odata.metadata=minimal; "
                               "odata.streaming=true\r\nOData-Version: 4.0\r\n\r\n{"),
            std::string::npos)
      << parts[1].body;
  EXPECT_NE(parts[1].body.find("\"fullname\":\"Nancy Anderson\""), std::string::npos);
  // The line points at the order created in the same change set.
  auto orders = client().Api("GET", "salesorders?$select=name,totallineitemamount").Json();
  ASSERT_EQ(orders["value"].size(), 1u);
  EXPECT_EQ(orders["value"][0]["totallineitemamount"], 1900);
  // The response framing matches the reference: change set part, then "--changesetresponse_...--", then the next part.
  EXPECT_TRUE(std::regex_search(r.body, std::regex("--changesetresponse_[0-9a-f-]{36}--\r\n--batchresponse_")));
  EXPECT_TRUE(r.body.ends_with("--\r\n"));
}

TEST_F(BatchTest, FailedChangeSetRollsBackAndStops) {
  const std::string body = Crlf(
      "--b\n"
      "Content-Type: multipart/mixed; boundary=cs\n"
      "\n"
      "--cs\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "Content-ID: 1\n"
      "\n"
      "POST /api/data/v9.2/accounts HTTP/1.1\n"
      "Content-Type: application/json; type=entry\n"
      "\n"
      "{\"name\":\"Rolled back\"}\n"
      "--cs\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "Content-ID: 2\n"
      "\n"
      "PATCH $1 HTTP/1.1\n"
      "Content-Type: application/json; type=entry\n"
      "\n"
      "{\"telephone1\":\"555\"}\n"
      "--cs\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "Content-ID: 3\n"
      "\n"
      "POST /api/data/v9.2/contacts HTTP/1.1\n"
      "Content-Type: application/json; type=entry\n"
      "\n"
      "{\"firstname\":\"" +
      std::string(51, 'x') +
      "\",\"lastname\":\"L\"}\n"
      "--cs--\n"
      "--b\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "\n"
      "POST /api/data/v9.2/accounts HTTP/1.1\n"
      "Content-Type: application/json\n"
      "\n"
      "{\"name\":\"Never\"}\n"
      "--b--\n");
  const int accounts_before = Count("accounts");
  Response r = Batch(body, "b");
  EXPECT_EQ(r.status, 400) << r.body;
  auto parts = ParseBatchResponse(r);
  ASSERT_EQ(parts.size(), 1u) << r.body;
  ASSERT_TRUE(parts[0].changeset);
  ASSERT_EQ(parts[0].inner.size(), 1u);
  EXPECT_EQ(parts[0].inner[0].content_id, "3");
  EXPECT_EQ(parts[0].inner[0].status, 400);
  EXPECT_NE(parts[0].inner[0].body.find("HTTP/1.1 400 Bad Request\r\nREQ_ID: "), std::string::npos);
  EXPECT_NE(parts[0].inner[0].body.find("\"code\":\"0x80044331\""), std::string::npos);
  EXPECT_EQ(Count("accounts"), accounts_before);  // rolled back, and the last part never ran
}

TEST_F(BatchTest, ContinueOnErrorRunsTheRest) {
  const std::string body = Crlf(
      "--b\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "\n"
      "POST /api/data/v9.2/accounts HTTP/1.1\n"
      "Content-Type: application/json\n"
      "\n"
      "{\"Name\":\"wrong column\"}\n"
      "--b\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "\n"
      "POST accounts HTTP/1.1\n"
      "Content-Type: application/json\n"
      "\n"
      "{\"name\":\"Runs\"}\n"
      "--b--\n");
  Response without = Batch(body, "b");
  EXPECT_EQ(without.status, 400);
  EXPECT_EQ(ParseBatchResponse(without).size(), 1u);
  EXPECT_EQ(Count("accounts"), 0);
  Response with = Batch(body, "b", {{"Prefer", "odata.continue-on-error"}});
  EXPECT_EQ(with.status, 200);
  EXPECT_EQ(with.Header("preference-applied"), "odata.continue-on-error");
  auto parts = ParseBatchResponse(with);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].status, 400);
  EXPECT_EQ(parts[1].status, 204);
  EXPECT_EQ(Count("accounts"), 1);
}

TEST_F(BatchTest, LfOnlyIsRejected) {
  const std::string body =
      "--b\nContent-Type: application/http\nContent-Transfer-Encoding: binary\n\nGET /api/data/v9.2/accounts "
      "HTTP/1.1\n\n\n--b--\n";
  Response r = Batch(body, "b");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(ErrorCode(r), "0x80048d19");
  EXPECT_NE(ErrorMessage(r).find("Stream was not readable."), std::string::npos);
}

TEST_F(BatchTest, ForwardReferenceAndGetInChangeSet) {
  const std::string body = Crlf(
      "--b\n"
      "Content-Type: multipart/mixed; boundary=cs\n"
      "\n"
      "--cs\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "Content-ID: 1\n"
      "\n"
      "POST /api/data/v9.2/contacts HTTP/1.1\n"
      "Content-Type: application/json\n"
      "\n"
      "{\"lastname\":\"L\",\"parentcustomerid_account@odata.bind\":\"$2\"}\n"
      "--cs--\n"
      "--b\n"
      "Content-Type: multipart/mixed; boundary=cs2\n"
      "\n"
      "--cs2\n"
      "Content-Type: application/http\n"
      "Content-Transfer-Encoding: binary\n"
      "Content-ID: 5\n"
      "\n"
      "GET /api/data/v9.2/contacts HTTP/1.1\n"
      "\n"
      "\n"
      "--cs2--\n"
      "--b--\n");
  Response r = Batch(body, "b", {{"Prefer", "odata.continue-on-error"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto parts = ParseBatchResponse(r);
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].inner[0].status, 400);
  EXPECT_NE(parts[0].inner[0].body.find("Content-ID Reference: '$2' does not exist in the batch context."),
            std::string::npos);
  EXPECT_EQ(parts[1].inner[0].status, 400);
}

TEST_F(BatchTest, TooManyOperations) {
  std::string body;
  for (int i = 0; i < 1001; ++i) {
    body +=
        "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\nGET /api/data/v9.2/WhoAmI "
        "HTTP/1.1\r\n\r\n\r\n";
  }
  body += "--b--\r\n";
  EXPECT_EQ(Batch(body, "b").status, 400);
}

TEST_F(BatchTest, MalformedBatchesAre400) {
  EXPECT_EQ(client().Api("POST", "$batch", "x", {{"Content-Type", "application/json"}}).status, 400);
  EXPECT_EQ(Batch("no boundary here", "b").status, 400);
  EXPECT_EQ(
      Batch("--b\r\nContent-Type: application/http\r\n\r\nGET /api/data/v9.2/WhoAmI HTTP/1.1\r\n\r\n", "b").status,
      400);
  EXPECT_EQ(client().Api("POST", "$batch", "--b--\r\n", {{"Content-Type", "multipart/mixed"}}).status, 400);
  Response empty = Batch("--b--\r\n", "b");
  EXPECT_EQ(empty.status, 200);
}

}  // namespace
}  // namespace crmsync::emulator::testing
