#include "sync/remote_reachability.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace crmsync::sync {

bool RemoteReachability::IsUnanswered(const Status& status) {
  return (status.code() == StatusCode::kUnavailable || status.code() == StatusCode::kTimeout) &&
         status.http_status() == 0;
}

Deadline RemoteReachability::For(Deadline deadline) const {
  if (!unanswered_.load()) return deadline;
  return Deadline::Earliest(deadline, Deadline::After(clock_, probe_timeout_));
}

void RemoteReachability::Ended(const Status& status) {
  if (status.code() == StatusCode::kCancelled) return;  // stopping: says nothing about Dataverse
  const bool unanswered = IsUnanswered(status);
  const bool was = unanswered_.exchange(unanswered);
  if (unanswered && !was) {
    spdlog::warn("Dataverse gave no answer ({}); until it answers again, each call waits at most {} s",
                 status.message(), probe_timeout_.count());
  } else if (!unanswered && was) {
    spdlog::info("Dataverse answers again");
  }
}

Status RemoteReachability::Explained(Status status, bool probing) const {
  if (!probing || !IsUnanswered(status)) return status;
  return status.WithContext("Dataverse had given no answer before this call, so it waited at most " +
                            std::to_string(probe_timeout_.count()) + " s");
}

template <typename Call>
auto RemoteReachability::Watched(Deadline deadline, Call call) -> decltype(call(deadline)) {
  const bool probing = unanswered_.load();
  auto out = call(For(deadline));
  Ended(out.ok() ? Status::Ok() : out.status());
  if (!out.ok()) return Explained(out.status(), probing);
  return out;
}

Result<connectors::ChangeBatch> RemoteReachability::ReadChanges(const connectors::ReadRequest& request,
                                                                Deadline deadline) {
  return Watched(deadline, [&](Deadline d) { return remote_.ReadChanges(request, d); });
}

Result<std::optional<connectors::Change>> RemoteReachability::Fetch(const std::string& entity,
                                                                    const std::string& key_attribute,
                                                                    const std::string& key,
                                                                    const std::vector<std::string>& columns,
                                                                    Deadline deadline) {
  return Watched(deadline, [&](Deadline d) { return remote_.Fetch(entity, key_attribute, key, columns, d); });
}

Result<connectors::ChangeBatch> RemoteReachability::Lookup(const connectors::LookupRequest& request,
                                                           Deadline deadline) {
  return Watched(deadline, [&](Deadline d) { return remote_.Lookup(request, d); });
}

Result<std::vector<connectors::WriteResult>> RemoteReachability::Write(const std::string& entity,
                                                                       std::span<const connectors::WriteOp> ops,
                                                                       Deadline deadline) {
  const bool probing = unanswered_.load();
  auto out = remote_.Write(entity, ops, For(deadline));
  if (!out.ok()) {
    Ended(out.status());
    return Explained(out.status(), probing);
  }
  // Answered when any op was: one op that got an answer is enough.
  const auto answered =
      std::find_if(out->begin(), out->end(), [](const connectors::WriteResult& r) { return !IsUnanswered(r.status); });
  if (answered != out->end() || out->empty()) {
    Ended(Status::Ok());
    return out;
  }
  Ended(out->front().status);
  for (auto& r : *out) r.status = Explained(std::move(r.status), probing);
  return out;
}

}  // namespace crmsync::sync
