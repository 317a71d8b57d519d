// DataverseStack: the objects that talk to one Dataverse organisation, built
// from the config in the one order that works and torn down in reverse:
// HTTP client -> token provider -> request budget -> transport -> connector.
//
// Secrets are read from their files here and live only inside the token
// provider; nothing logs them. Every piece reads time from the one Clock
// given, and dataverse.timeout_s caps each request (retries included) in the
// transport.
#pragma once

#include <memory>
#include <stop_token>

#include "common/clock.h"
#include "connectors/dataverse/dataverse_connector.h"
#include "daemon/config.h"
#include "http/http_client.h"

namespace crmsync::daemon {

struct DataverseStack {
  std::unique_ptr<http::HttpClient> http;
  std::unique_ptr<dataverse::OAuthTokenProvider> tokens;
  std::unique_ptr<dataverse::RequestBudget> budget;
  std::unique_ptr<dataverse::Transport> transport;
  std::unique_ptr<dataverse::DataverseConnector> connector;

  DataverseStack() = default;
  DataverseStack(DataverseStack&&) = default;
  DataverseStack& operator=(DataverseStack&&) = default;
  ~DataverseStack();  // connector first, HTTP client last
};

Result<DataverseStack> MakeDataverseStack(const Config& config, Clock& clock, std::stop_token stop = {});

// Reads a secret or key file whole (trailing newlines trimmed for secrets).
Result<std::string> ReadSecretFile(const std::string& path, bool trim);

}  // namespace crmsync::daemon
