// StateCouplingResolver: the mapper's CouplingResolver over the state
// store's couplings, with an overlay for couplings the engine knows of but
// has not committed yet (a parent created in the same change set as its
// children; a dry run's planned creates).
//
// Thread-safety: one thread at a time, like the store.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "mapping/coupling_resolver.h"
#include "state/state_store.h"

namespace crmsync::sync {

class StateCouplingResolver final : public mapping::CouplingResolver {
 public:
  explicit StateCouplingResolver(state::StateStore& store) : store_(store) {}

  Result<std::optional<std::string>> RemoteIdFor(const std::string& mapping, const std::string& local_key) override;
  Result<std::optional<std::string>> LocalKeyFor(const std::string& mapping, const std::string& remote_id) override;

  // Answers as if (mapping, local_key) were coupled to remote_id.
  void Overlay(const std::string& mapping, const std::string& local_key, const std::string& remote_id);
  void ClearOverlay();

 private:
  state::StateStore& store_;
  std::map<std::pair<std::string, std::string>, std::string> to_remote_;
  std::map<std::pair<std::string, std::string>, std::string> to_local_;
};

}  // namespace crmsync::sync
