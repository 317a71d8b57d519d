// RemoteReachability: the engine's view of Dataverse, between the engine and
// the Dataverse connector, that notices when Dataverse gives no answer at all
// and stops every later call from waiting out the whole deadline for nothing.
//
// Without it, a pass while Dataverse is down (the network, DNS, a firewall)
// waits the full deadline of one call (dataverse.timeout_s, 120 s by
// default) in each of its mappings in turn: fourteen default mappings, half
// an hour before the pass ends and says so. With it, after a call that got
// no answer (no HTTP status: refused, reset, timed out), each later call is
// given at most `probe_timeout`, and the first call that gets any answer (a
// success, a 404, a 503, a 429) gives the calls their whole deadline again.
// Mappings are not skipped: an outage of one entity set (a 503 on contacts)
// gets HTTP answers and slows nothing else, and a Dataverse that comes back
// mid-pass is used at once.
//
// A call cut short this way fails as it would have at its own deadline
// (transient: the cursor stays, the next pass tries again, R7), with the
// reason added to its message.
//
// Thread-safety: as the connector it wraps (a page's write runs on a thread
// of its own, reads ahead on others); its own state is atomic.
// Ownership: borrows the connector and the clock, which must outlive it.
#pragma once

#include <atomic>
#include <chrono>

#include "common/clock.h"
#include "connectors/connector.h"

namespace crmsync::sync {

class RemoteReachability final : public connectors::Connector {
 public:
  RemoteReachability(connectors::Connector& remote, const Clock& clock, std::chrono::seconds probe_timeout)
      : remote_(remote), clock_(clock), probe_timeout_(probe_timeout) {}

  Result<connectors::ChangeBatch> ReadChanges(const connectors::ReadRequest& request, Deadline deadline) override;
  Result<std::optional<connectors::Change>> Fetch(const std::string& entity, const std::string& key_attribute,
                                                  const std::string& key, const std::vector<std::string>& columns,
                                                  Deadline deadline) override;
  Result<connectors::ChangeBatch> Lookup(const connectors::LookupRequest& request, Deadline deadline) override;
  Result<std::vector<connectors::WriteResult>> Write(const std::string& entity,
                                                     std::span<const connectors::WriteOp> ops,
                                                     Deadline deadline) override;

  // Whether the last call that ended got no answer from Dataverse.
  bool unanswered() const { return unanswered_.load(); }

  // A status that means Dataverse gave no answer (no HTTP status at all).
  static bool IsUnanswered(const Status& status);

 private:
  // The call's deadline: the earlier of its own and, while Dataverse gives
  // no answer, probe_timeout_ from now.
  Deadline For(Deadline deadline) const;
  // Notes how a call ended; `status` is its failure, or ok when answered.
  void Ended(const Status& status);
  // `status` with the reason it came early, when it did.
  Status Explained(Status status, bool probing) const;
  // One read through the connector: its deadline shortened while Dataverse
  // gives no answer, its outcome noted, its failure explained.
  template <typename Call>
  auto Watched(Deadline deadline, Call call) -> decltype(call(deadline));

  connectors::Connector& remote_;
  const Clock& clock_;
  const std::chrono::seconds probe_timeout_;
  std::atomic<bool> unanswered_{false};
};

}  // namespace crmsync::sync
