#include "sync/remote_reachability.h"

#include <chrono>
#include <deque>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"

namespace crmsync::sync {
namespace {

using connectors::ChangeBatch;
using connectors::WriteOp;
using connectors::WriteResult;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing_support::FakeClock;

// A Dataverse side that answers with the statuses it is given, in order,
// and notes how long each call was allowed to take.
class ScriptedRemote final : public connectors::Connector {
 public:
  std::deque<Status> answers;
  std::vector<milliseconds> allowed;

  Result<ChangeBatch> ReadChanges(const connectors::ReadRequest&, Deadline deadline) override {
    Status s = Next(deadline);
    if (!s.ok()) return s;
    return ChangeBatch{};
  }
  Result<std::optional<connectors::Change>> Fetch(const std::string&, const std::string&, const std::string&,
                                                  const std::vector<std::string>&, Deadline deadline) override {
    Status s = Next(deadline);
    if (!s.ok()) return s;
    return std::optional<connectors::Change>();
  }
  Result<ChangeBatch> Lookup(const connectors::LookupRequest&, Deadline deadline) override {
    Status s = Next(deadline);
    if (!s.ok()) return s;
    return ChangeBatch{};
  }
  // Every op gets the call's status (as a batch whose connection failed).
  Result<std::vector<WriteResult>> Write(const std::string&, std::span<const WriteOp> ops, Deadline deadline) override {
    const Status s = Next(deadline);
    std::vector<WriteResult> out(ops.size());
    for (auto& r : out) r.status = s;
    return out;
  }

 private:
  Status Next(Deadline deadline) {
    allowed.push_back(deadline.Remaining());
    if (answers.empty()) return Status::Ok();
    Status s = answers.front();
    answers.pop_front();
    return s;
  }
};

Status Refused() {
  return Status(StatusCode::kUnavailable, "request to https://org/api failed: Connection refused");
}
Status Answered503() {
  Status s(StatusCode::kUnavailable, "The service is temporarily unavailable");
  s.set_http_status(503);
  return s;
}

class RemoteReachabilityTest : public ::testing::Test {
 protected:
  Deadline Full() { return Deadline::After(clock_, seconds(120)); }
  FakeClock clock_;
  ScriptedRemote remote_;
  RemoteReachability watch_{remote_, clock_, seconds(15)};
};

TEST_F(RemoteReachabilityTest, AfterACallWithNoAnswerTheNextCallsWaitAtMostTheProbeTimeout) {
  remote_.answers = {Refused(), Refused()};
  EXPECT_FALSE(watch_.ReadChanges({}, Full()).ok());
  EXPECT_TRUE(watch_.unanswered());
  auto second = watch_.Fetch("contacts", "contactid", "id", {}, Full());
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("had given no answer before this call, so it waited at most 15 s"),
            std::string::npos)
      << second.status().message();
  EXPECT_NE(second.status().message().find("Connection refused"), std::string::npos) << "the cause is kept";
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << "still transient: the cursor stays";
  ASSERT_EQ(remote_.allowed.size(), 2u);
  EXPECT_EQ(remote_.allowed[0], seconds(120)) << "the first call has its whole deadline";
  EXPECT_EQ(remote_.allowed[1], seconds(15));
}

TEST_F(RemoteReachabilityTest, AnyAnswerGivesTheCallsTheirWholeDeadlineAgain) {
  // A 503 is an answer: Dataverse is there, one entity set is not well.
  remote_.answers = {Refused(), Answered503()};
  (void)watch_.ReadChanges({}, Full());
  EXPECT_FALSE(watch_.Lookup({}, Full()).ok());
  EXPECT_FALSE(watch_.unanswered());
  EXPECT_TRUE(watch_.ReadChanges({}, Full()).ok());
  ASSERT_EQ(remote_.allowed.size(), 3u);
  EXPECT_EQ(remote_.allowed[1], seconds(15));
  EXPECT_EQ(remote_.allowed[2], seconds(120));
}

TEST_F(RemoteReachabilityTest, ADeadlineShorterThanTheProbeTimeoutIsKept) {
  remote_.answers = {Refused()};
  (void)watch_.ReadChanges({}, Full());
  (void)watch_.ReadChanges({}, Deadline::After(clock_, seconds(3)));
  ASSERT_EQ(remote_.allowed.size(), 2u);
  EXPECT_EQ(remote_.allowed[1], seconds(3));
}

TEST_F(RemoteReachabilityTest, AWriteIsAnsweredWhenAnyOfItsOpsWas) {
  const std::vector<WriteOp> ops(3);
  remote_.answers = {Refused(), Status::Ok()};
  auto first = watch_.Write("contacts", ops, Full());
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(watch_.unanswered()) << "every op of the write got no answer";
  auto second = watch_.Write("contacts", ops, Full());
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(watch_.unanswered());
  ASSERT_EQ(remote_.allowed.size(), 2u);
  EXPECT_EQ(remote_.allowed[1], seconds(15));
}

TEST_F(RemoteReachabilityTest, AThrottledCallIsAnAnswer) {
  Status throttled(StatusCode::kThrottled, "Number of requests exceeded the limit");
  throttled.set_http_status(429);
  remote_.answers = {throttled};
  (void)watch_.ReadChanges({}, Full());
  EXPECT_FALSE(watch_.unanswered());
  (void)watch_.ReadChanges({}, Full());
  EXPECT_EQ(remote_.allowed.back(), seconds(120));
}

}  // namespace
}  // namespace crmsync::sync
