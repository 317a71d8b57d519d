// EmulatorTest: a GoogleTest fixture that starts the emulator in-process on
// port 0 for each test and gives it an authenticated TestClient. Tests talk
// HTTP only; helpers wrap the admin API. Override Options() to change limits,
// latency, TLS, clients or change-tracking retention.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "tests/emulator/emulator.h"
#include "tests/emulator/http_message.h"
#include "tests/emulator/test_client.h"

namespace crmsync::emulator::testing {

class EmulatorTest : public ::testing::Test {
 protected:
  virtual EmulatorOptions Options() { return EmulatorOptions{}; }
  virtual std::string CaPem() { return ""; }

  void SetUp() override {
    auto started = Emulator::Start(Options());
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    emulator_ = std::move(started).value();
    client_ = std::make_unique<TestClient>(emulator_->base_url(), CaPem());
    client_->set_token(NewToken());
    ASSERT_FALSE(client_->token().empty());
  }
  void TearDown() override {
    client_.reset();
    if (emulator_) emulator_->Stop();
  }

  std::string NewToken() {
    return TestClient::FetchToken(emulator_->base_url(), emulator_->options().tenant,
                                  emulator_->options().clients.front().client_id,
                                  emulator_->options().clients.front().client_secret, CaPem());
  }
  TestClient& client() { return *client_; }
  const std::string& base() const { return emulator_->base_url(); }
  std::string api() const { return emulator_->api_url(); }

  // POST /_admin/... with a JSON body; returns the parsed response (asserts 2xx).
  nlohmann::json AdminPost(const std::string& path, const nlohmann::json& body = nlohmann::json::object()) {
    Response r = client().Send("POST", path, {{"Content-Type", "application/json"}}, body.dump());
    EXPECT_GE(r.status, 200) << r.body;
    EXPECT_LT(r.status, 300) << r.body;
    return r.body.empty() ? nlohmann::json() : r.Json();
  }
  nlohmann::json AdminGet(const std::string& path) {
    Response r = client().Send("GET", path);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }
  std::vector<std::string> Seed(const std::string& set, const nlohmann::json& records) {
    auto j = AdminPost("/_admin/seed", {{"entity_set", set}, {"records", records}});
    std::vector<std::string> ids;
    if (j.is_object() && j.contains("ids")) {
      for (const auto& id : j["ids"]) ids.push_back(id.get<std::string>());
    }
    return ids;
  }
  // POST to the Web API; returns the new id from OData-EntityId ("" on failure).
  std::string Create(const std::string& set, const nlohmann::json& body) {
    Response r = client().Api("POST", set, body.dump());
    EXPECT_EQ(r.status, 204) << r.body;
    const std::string id = r.Header("odata-entityid");
    const auto open = id.rfind('(');
    return open == std::string::npos ? "" : id.substr(open + 1, id.size() - open - 2);
  }

  // Waits for a real condition, polling; false when the deadline passes.
  static bool WaitFor(const std::function<bool()>& condition,
                      std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return condition();
  }

  std::unique_ptr<Emulator> emulator_;
  std::unique_ptr<TestClient> client_;
};

// The OData error code of a response body ("" when absent).
inline std::string ErrorCode(const Response& r) {
  auto j = r.Json();
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "<no error body>";
  return j["error"].value("code", "<no code>");
}
inline std::string ErrorMessage(const Response& r) {
  auto j = r.Json();
  if (!j.is_object() || !j.contains("error") || !j["error"].is_object()) return "<no error body>";
  return j["error"].value("message", "<no message>");
}

}  // namespace crmsync::emulator::testing
