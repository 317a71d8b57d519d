// SyncStack: what the sync verbs (sync, plan, conflicts resolve, couple, ...)
// need, opened from the config in the one order that works, and the exit
// code each failure to open means (interface.md): 2 for a bad config,
// mapping or missing store, 4 when Dataverse cannot be set up, 5 when another
// process holds the state store.
//
// Ownership: owns every part; the engine borrows them. Torn down in reverse
// order of construction (the Dataverse stack's own order inside).
#pragma once

#include <memory>
#include <optional>
#include <stop_token>
#include <string>

#include "common/clock.h"
#include "connectors/local/local_connector.h"
#include "daemon/config.h"
#include "daemon/dataverse_stack.h"
#include "mapping/mapping_loader.h"
#include "state/instance_lock.h"
#include "state/sqlite_state_store.h"
#include "sync/engine.h"

namespace crmsync::daemon {

struct SyncStackNeeds {
  bool lock = true;       // the verb writes state: one process at a time
  bool local = true;      // open the local CRM store
  bool dataverse = true;  // set up the Dataverse connector
  bool mappings = true;   // load and validate the mappings
  // Also check the mappings against the local store's tables and columns.
  // Verbs that sync need it; reading verbs (status) leave it out, so they
  // still answer while a mapped column is missing - when an admin needs them.
  bool local_schema = true;
};

struct SyncStack {
  Config config;
  SystemClock clock;
  std::optional<state::InstanceLock> lock;
  std::unique_ptr<state::SqliteStateStore> store;
  std::unique_ptr<local::LocalConnector> local;
  DataverseStack dataverse;
  mapping::MappingSetLoad mappings;

  // An engine over the stack; requires local, dataverse and mappings.
  std::unique_ptr<sync::Engine> MakeEngine(sync::EngineOptions options) const;
  ~SyncStack();
};

struct SyncStackError {
  Status status;
  int exit_code = 2;
  Diagnostics diagnostics;  // bad mappings, printed one per line
};

// Opens the parts `needs` names; on failure says why and with which exit code.
std::unique_ptr<SyncStack> OpenSyncStack(const Config& config, const SyncStackNeeds& needs, SyncStackError& error,
                                         std::stop_token stop = {});

// Engine options from the config's sync section.
sync::EngineOptions EngineOptionsFrom(const Config& config);

}  // namespace crmsync::daemon
