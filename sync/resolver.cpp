#include "sync/resolver.h"

namespace crmsync::sync {

Result<std::optional<std::string>> StateCouplingResolver::RemoteIdFor(const std::string& mapping,
                                                                      const std::string& local_key) {
  if (auto it = to_remote_.find({mapping, local_key}); it != to_remote_.end()) {
    return std::optional<std::string>(it->second);
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto coupling, store_.CouplingByLocal(mapping, local_key));
  if (!coupling || coupling->status != state::Coupling::Status::kActive) return std::optional<std::string>();
  return std::optional<std::string>(coupling->remote_id);
}

Result<std::optional<std::string>> StateCouplingResolver::LocalKeyFor(const std::string& mapping,
                                                                      const std::string& remote_id) {
  if (auto it = to_local_.find({mapping, remote_id}); it != to_local_.end()) {
    return std::optional<std::string>(it->second);
  }
  CRMSYNC_ASSIGN_OR_RETURN(auto coupling, store_.CouplingByRemote(mapping, remote_id));
  if (!coupling || coupling->status != state::Coupling::Status::kActive) return std::optional<std::string>();
  return std::optional<std::string>(coupling->local_key);
}

void StateCouplingResolver::Overlay(const std::string& mapping, const std::string& local_key,
                                    const std::string& remote_id) {
  to_remote_[{mapping, local_key}] = remote_id;
  to_local_[{mapping, remote_id}] = local_key;
}

void StateCouplingResolver::ClearOverlay() {
  to_remote_.clear();
  to_local_.clear();
}

}  // namespace crmsync::sync
