#include "sync/merge.h"

#include <gtest/gtest.h>

#include "mapping/mapping_loader.h"
#include "tests/mapping/mapping_test_util.h"

namespace crmsync::sync {
namespace {

Value T(const char* s) {
  return Value::Text(s);
}

class MergeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto load = mapping::ParseMappingSet({{"m.json", R"({"name": "m", "local": {"table": "t", "key": "id"},
      "remote": {"entity_set": "things", "key": "thingid"}, "conflict": "manual",
      "fields": [{"local": "a", "remote": "x"}, {"local": "b", "remote": "y"},
                 {"local": "c", "remote": "z", "direction": "from_remote"},
                 {"local": "d", "remote": "w", "direction": "to_remote"}]})"}});
    ASSERT_TRUE(load.ok()) << load.diagnostics.front().ToString();
    set_ = std::move(load.set);
  }
  MergeDecision Run(const Record& local, const Record& remote, const Record& base_local, const Record& base_remote) {
    const mapping::Mapping& m = *set_.Find("m");
    local_mapped_ = mapping::MapToRemote(m, local, resolver_);
    remote_mapped_ = mapping::MapToLocal(m, remote, resolver_, &local);
    MergeInput in;
    in.mapping = &m;
    in.local = &local;
    in.remote = &remote;
    in.base_local = &base_local;
    in.base_remote = &base_remote;
    in.local_mapped = &local_mapped_;
    in.remote_mapped = &remote_mapped_;
    return Merge(in);
  }
  static std::vector<std::string> Names(const std::vector<const mapping::FieldMapping*>& fields) {
    std::vector<std::string> out;
    for (const auto* f : fields) out.push_back(f->Name());
    return out;
  }
  mapping::MappingSet set_;
  mapping::testing::FakeResolver resolver_;
  mapping::MappedRecord local_mapped_;
  mapping::MappedRecord remote_mapped_;
};

TEST_F(MergeTest, EachFieldFlowsFromTheSideThatChangedIt) {
  const Record base_l{{"a", T("1")}, {"b", T("1")}, {"c", T("1")}, {"d", T("1")}};
  const Record base_r{{"x", T("1")}, {"y", T("1")}, {"z", T("1")}, {"w", T("1")}};
  const auto d = Run({{"a", T("2")}, {"b", T("1")}, {"c", T("1")}, {"d", T("1")}},
                     {{"x", T("1")}, {"y", T("3")}, {"z", T("1")}, {"w", T("1")}}, base_l, base_r);
  EXPECT_EQ(Names(d.to_remote), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Names(d.to_local), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(d.conflicts.empty());
}

TEST_F(MergeTest, DirectionsDecideWhereAOneSidedChangeMayGo) {
  const Record base_l{{"c", T("1")}, {"d", T("1")}};
  const Record base_r{{"z", T("1")}};
  // A local edit of a from_remote field stays local; a local edit of a to_remote field flows.
  const auto d = Run({{"c", T("9")}, {"d", T("9")}}, {{"z", T("1")}}, base_l, base_r);
  EXPECT_EQ(Names(d.to_remote), (std::vector<std::string>{"d"}));
  EXPECT_TRUE(d.to_local.empty());
}

TEST_F(MergeTest, ManualParksDifferentValuesAndSameValuesConverge) {
  const Record base_l{{"a", T("1")}, {"b", T("1")}};
  const Record base_r{{"x", T("1")}, {"y", T("1")}};
  const auto d = Run({{"a", T("2")}, {"b", T("5")}}, {{"x", T("3")}, {"y", T("5")}}, base_l, base_r);
  ASSERT_EQ(d.conflicts.size(), 1u);
  EXPECT_EQ(d.conflicts[0].field->Name(), "a");
  EXPECT_FALSE(d.conflicts[0].winner.has_value());
  EXPECT_TRUE(d.parked());
  EXPECT_EQ(Names(d.converged), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(d.to_remote.empty());
  EXPECT_TRUE(d.to_local.empty());
}

TEST_F(MergeTest, WithoutABaseAValueFillsANullAndEqualValuesAreNoChange) {
  const auto d = Run({{"a", T("1")}, {"b", Value()}}, {{"x", T("1")}, {"y", T("7")}}, {}, {});
  EXPECT_TRUE(d.to_remote.empty());
  EXPECT_EQ(Names(d.to_local), (std::vector<std::string>{"b"}));
  EXPECT_EQ(Names(d.converged), (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace crmsync::sync
