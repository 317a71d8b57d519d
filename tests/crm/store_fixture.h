// StoreFixture: a fresh local CRM store in a temporary folder for each test,
// the base of the store's fixtures; and T, a text Value.
#pragma once

#include <optional>
#include <utility>

#include <gtest/gtest.h>

#include "crm/store.h"
#include "tests/support/temp_dir.h"

namespace crmsync::crm::testing {

inline Value T(const char* s) {
  return Value::Text(s);
}

class StoreFixture : public ::testing::Test {
 protected:
  // A derived SetUp calls this first and returns when it failed (HasFatalFailure()).
  void SetUp() override {
    auto store = Store::Open(dir_.path() + "/crm.db", /*create_if_missing=*/true);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_.emplace(std::move(store).value());
  }

  testing_support::TempDir dir_;
  std::optional<Store> store_;
};

}  // namespace crmsync::crm::testing
