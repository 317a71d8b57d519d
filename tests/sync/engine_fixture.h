// EngineFixture: the engine against two in-memory sides (fake_side.h) and a
// real SQLite state store in a temporary folder, for the engine's unit tests.
// A test loads its mappings (UseMappings), edits the sides as users would,
// runs passes (Sync) and reads the outcome (Of, RemoteIdOf, LocalKeyOf).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mapping/mapping_loader.h"
#include "state/sqlite_state_store.h"
#include "sync/engine.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"
#include "tests/sync/fake_side.h"

namespace crmsync::sync::testing {

class EngineFixture : public ::testing::Test {
 protected:
  // Replaces the mapping set; the state store is opened once and kept.
  void UseMappings(const std::vector<mapping::MappingSource>& sources) {
    auto load = mapping::ParseMappingSet(sources);
    ASSERT_TRUE(load.ok()) << load.diagnostics.front().ToString();
    set_ = std::move(load.set);
    if (!store_) {
      auto store = state::SqliteStateStore::Open(dir_.path() + "/state.db", clock_);
      ASSERT_TRUE(store.ok()) << store.status().ToString();
      store_ = std::move(store).value();
    }
  }

  // One pass of every mapping.
  RunReport Sync(EngineOptions options = {}) {
    Engine engine(set_, *store_, local_, local_, remote_, clock_, options);
    auto report = engine.Run({});
    EXPECT_TRUE(report.ok()) << report.status().ToString();
    return report.ok() ? std::move(report).value() : RunReport{};
  }
  static const MappingReport& Of(const RunReport& r, const std::string& name) {
    for (const auto& m : r.mappings) {
      if (m.mapping == name) return m;
    }
    static const MappingReport* const kNone = new MappingReport();
    return *kNone;
  }
  // The Dataverse id coupled to a local key, "" when none.
  std::string RemoteIdOf(const std::string& mapping, const std::string& local_key) {
    auto c = store_->CouplingByLocal(mapping, local_key);
    return c.ok() && c->has_value() ? (*c)->remote_id : "";
  }
  std::string LocalKeyOf(const std::string& mapping, const std::string& remote_id) {
    auto c = store_->CouplingByRemote(mapping, remote_id);
    return c.ok() && c->has_value() ? (*c)->local_key : "";
  }

  testing_support::TempDir dir_;
  testing_support::FakeClock clock_;
  mapping::MappingSet set_;
  std::unique_ptr<state::SqliteStateStore> store_;
  FakeSide local_{FakeSide::Style::kLocal};
  FakeSide remote_{FakeSide::Style::kRemote};
};

}  // namespace crmsync::sync::testing
