#include "daemon/dataverse_stack.h"

#include "common/file_io.h"
#include "http/cpprest_client.h"

namespace crmsync::daemon {

DataverseStack::~DataverseStack() {
  connector.reset();
  transport.reset();
  budget.reset();
  tokens.reset();
  http.reset();
}

Result<std::string> ReadSecretFile(const std::string& path, bool trim) {
  auto read = ReadFile(path);
  if (!read.ok()) return read.status().WithContext("cannot read '" + path + "'");
  std::string text = std::move(read).value();
  if (trim) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  }
  if (text.empty()) return InvalidArgument("'" + path + "' is empty");
  return text;
}

Result<DataverseStack> MakeDataverseStack(const Config& config, Clock& clock, std::stop_token stop) {
  const DataverseConfig& d = config.dataverse;
  dataverse::OAuthCredentials credentials;
  credentials.token_url = d.authority + "/" + d.tenant_id + "/oauth2/v2.0/token";
  credentials.client_id = d.client_id;
  credentials.scope = d.url + "/.default";
  credentials.algorithm = d.assertion_algorithm;
  if (!d.client_secret_file.empty()) {
    CRMSYNC_ASSIGN_OR_RETURN(credentials.client_secret, ReadSecretFile(d.client_secret_file, true));
  } else {
    CRMSYNC_ASSIGN_OR_RETURN(credentials.certificate_pem, ReadSecretFile(d.certificate_file, false));
    CRMSYNC_ASSIGN_OR_RETURN(credentials.private_key_pem, ReadSecretFile(d.private_key_file, false));
  }
  DataverseStack stack;
  stack.http = http::MakeCpprestHttpClient({.ca_file = d.ca_file, .allow_plain_http_to_any_host = false});
  stack.tokens = std::make_unique<dataverse::OAuthTokenProvider>(*stack.http, clock, std::move(credentials));
  stack.budget = std::make_unique<dataverse::RequestBudget>(
      dataverse::RequestBudget::Options{.max_parallelism = d.max_parallelism,
                                        .initial_parallelism = std::min(2, d.max_parallelism),
                                        // 50 creates run for a second or two in Dataverse, far
                                        // from its execution-time limit; a 429 halves it anyway.
                                        .initial_batch_size = 50,
                                        // Half of Dataverse's 1,000 per $batch. A write splits a
                                        // page into one run per request in flight: at 200, a page
                                        // of 1,000 on 4 took two rounds of 125 and paid the
                                        // latency twice; at 500 it takes one round of 250.
                                        .max_batch_size = 500,
                                        .request_limited_max_batch_size = 500},
      clock);
  // dataverse.timeout_s: the deadline of one request including its retries.
  stack.transport =
      std::make_unique<dataverse::Transport>(*stack.http, *stack.tokens, *stack.budget, clock, BackoffPolicy{},
                                             std::move(stop), std::chrono::seconds(d.timeout_s));
  dataverse::DataverseConnectorOptions options;
  options.api = {d.url, d.api_version};
  options.page_size = d.page_size;
  options.suppress_duplicate_detection = d.suppress_duplicate_detection;
  options.bypass_custom_plugins = d.bypass_custom_plugins;
  stack.connector = std::make_unique<dataverse::DataverseConnector>(*stack.transport, std::move(options));
  return stack;
}

}  // namespace crmsync::daemon
