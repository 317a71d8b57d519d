#include "daemon/sync_stack.h"

#include <filesystem>

#include "daemon/cli.h"

namespace crmsync::daemon {

SyncStack::~SyncStack() {
  // The engine is made per verb and gone by now; connectors before the stores.
  dataverse = DataverseStack();
  local.reset();
  store.reset();
  lock.reset();
}

std::unique_ptr<sync::Engine> SyncStack::MakeEngine(sync::EngineOptions options) const {
  return std::make_unique<sync::Engine>(mappings.set, *store, *local, *local, *dataverse.connector, clock,
                                        std::move(options));
}

sync::EngineOptions EngineOptionsFrom(const Config& config) {
  sync::EngineOptions o;
  o.mass_delete_max_share = config.mass_delete_max_share;
  o.mass_delete_max_count = config.mass_delete_max_count;
  o.mass_delete_min_count = config.mass_delete_min_count;
  // A page of the engine is a page of Dataverse (dataverse.page_size): fewer
  // pauses between the write calls of a pass, memory still bounded by a page.
  // About two pages are held at once (one deciding, one in flight): at the
  // default 1,000 a 100,000-record push peaks near 70 MB, at 5,000 near
  // 175 MB (tests/bench/sync_bench).
  o.page_size = config.dataverse.page_size;
  o.unanswered_call_timeout = std::chrono::seconds(config.dataverse.unanswered_timeout_s);
  return o;
}

std::unique_ptr<SyncStack> OpenSyncStack(const Config& config, const SyncStackNeeds& needs, SyncStackError& error,
                                         std::stop_token stop) {
  auto stack = std::make_unique<SyncStack>();
  stack->config = config;
  const auto fail = [&](Status status, int exit_code) -> std::unique_ptr<SyncStack> {
    error.status = std::move(status);
    error.exit_code = exit_code;
    return nullptr;
  };
  std::error_code ec;
  if (!std::filesystem::exists(config.state_database, ec)) {
    return fail(NotFound("state store '" + config.state_database + "' does not exist; create it with `crmsync init`"),
                kExitUsage);
  }
  if (needs.lock) {
    auto lock = state::InstanceLock::Acquire(config.state_database);
    if (!lock.ok()) return fail(lock.status(), lock.status().code() == StatusCode::kBusy ? kExitLocked : kExitUsage);
    stack->lock.emplace(std::move(lock).value());
  }
  auto store = state::SqliteStateStore::Open(config.state_database, stack->clock, false);
  if (!store.ok()) return fail(store.status().WithContext("opening the state store"), kExitUsage);
  stack->store = std::move(store).value();
  if (needs.mappings) {
    stack->mappings = needs.local_schema ? mapping::LoadMappingsForRun(config.mappings_dir, config.local_database)
                                         : mapping::LoadMappingDirectory(config.mappings_dir);
    if (!stack->mappings.ok()) {
      error.diagnostics = stack->mappings.diagnostics;
      return fail(InvalidArgument("the mappings have problems; nothing was synced"), kExitUsage);
    }
  }
  if (needs.local) {
    auto local = local::LocalConnector::Open(config.local_database);
    if (!local.ok()) return fail(local.status().WithContext("opening the local CRM store"), kExitUsage);
    stack->local = std::move(local).value();
  }
  if (needs.dataverse) {
    auto dataverse = MakeDataverseStack(config, stack->clock, std::move(stop));
    if (!dataverse.ok()) return fail(dataverse.status(), kExitUsage);
    stack->dataverse = std::move(dataverse).value();
  }
  return stack;
}

}  // namespace crmsync::daemon
