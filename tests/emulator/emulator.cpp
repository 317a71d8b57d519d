#include "tests/emulator/emulator.h"

#include "common/file_io.h"

#include <mutex>

#include "common/json_text.h"
#include "tests/emulator/admin.h"
#include "tests/emulator/api_error.h"
#include "tests/emulator/batch.h"
#include "tests/emulator/faults.h"
#include "tests/emulator/server.h"
#include "tests/emulator/web_api.h"

namespace crmsync::emulator {

// ---------------------------------------------------------------------------
// Configuration

namespace {

Result<std::string> ReadFile(const std::string& path) {
  auto text = crmsync::ReadFile(path);
  if (!text.ok()) return text.status().WithContext("cannot read '" + path + "'");
  return text;
}

// A PEM given inline ("-----BEGIN ...") or as a file name.
Result<std::string> PemOrFile(const std::string& value) {
  if (value.find("-----BEGIN") != std::string::npos) return value;
  return ReadFile(value);
}

}  // namespace

Status LoadConfigText(std::string_view text, EmulatorOptions& o) {
  nlohmann::json doc;
  CRMSYNC_RETURN_IF_ERROR(ParseJsonText(text, doc));
  if (!doc.is_object()) return InvalidArgument("1: the config must be a JSON object");
  const JsonLineIndex lines = JsonLineIndex::Build(text);
  std::vector<std::string> problems;
  auto problem = [&](const std::string& pointer, const std::string& what) {
    problems.push_back(std::to_string(lines.LineOf(pointer)) + ": " + PointerToPath(pointer) + ": " + what);
  };
  auto get_int = [&](const nlohmann::json& obj, const std::string& pointer, const char* key, auto& out, long long min) {
    if (!obj.contains(key)) return;
    const auto& v = obj[key];
    if (!v.is_number_integer() || v.get<long long>() < min) {
      problem(AppendPointer(pointer, key), "must be an integer >= " + std::to_string(min));
      return;
    }
    out = static_cast<std::remove_reference_t<decltype(out)>>(v.get<long long>());
  };
  auto get_string = [&](const nlohmann::json& obj, const std::string& pointer, const char* key, std::string& out) {
    if (!obj.contains(key)) return;
    if (!obj[key].is_string()) {
      problem(AppendPointer(pointer, key), "must be a string");
      return;
    }
    out = obj[key].get<std::string>();
  };
  static const std::vector<std::string> kKeys = {"host",
                                                 "port",
                                                 "tls",
                                                 "tenant",
                                                 "clients",
                                                 "resources",
                                                 "token_lifetime_s",
                                                 "limits",
                                                 "latency_ms",
                                                 "exec_ms",
                                                 "change_tracking_retention_s",
                                                 "enforce_application_required",
                                                 "base_currency",
                                                 "seed",
                                                 "entities",
                                                 "records"};
  for (const auto& [key, value] : doc.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) problem(AppendPointer("", key), "unknown key");
  }
  get_string(doc, "", "host", o.host);
  get_int(doc, "", "port", o.port, 0);
  if (doc.contains("tls")) {
    const auto& tls = doc["tls"];
    std::string cert, key;
    get_string(tls, "/tls", "cert_file", cert);
    get_string(tls, "/tls", "key_file", key);
    if (!cert.empty()) {
      auto pem = ReadFile(cert);
      pem.ok() ? void(o.tls_cert_pem = *pem) : problem("/tls/cert_file", pem.status().message());
    }
    if (!key.empty()) {
      auto pem = ReadFile(key);
      pem.ok() ? void(o.tls_key_pem = *pem) : problem("/tls/key_file", pem.status().message());
    }
  }
  get_string(doc, "", "tenant", o.tenant);
  if (doc.contains("clients")) {
    if (!doc["clients"].is_array()) {
      problem("/clients", "must be an array");
    } else {
      for (std::size_t i = 0; i < doc["clients"].size(); ++i) {
        const auto& c = doc["clients"][i];
        const std::string ptr = AppendPointer("/clients", i);
        ClientRegistration reg;
        get_string(c, ptr, "client_id", reg.client_id);
        get_string(c, ptr, "client_secret", reg.client_secret);
        std::string cert_file;
        get_string(c, ptr, "certificate_pem", reg.certificate_pem);
        get_string(c, ptr, "certificate_file", cert_file);
        if (!cert_file.empty()) {
          auto pem = ReadFile(cert_file);
          pem.ok() ? void(reg.certificate_pem = *pem)
                   : problem(AppendPointer(ptr, "certificate_file"), pem.status().message());
        }
        reg.secret_expired = c.value("secret_expired", false);
        if (reg.client_id.empty()) problem(ptr, "needs a \"client_id\"");
        o.clients.push_back(std::move(reg));
      }
    }
  }
  if (doc.contains("resources") && doc["resources"].is_array()) {
    for (const auto& r : doc["resources"]) {
      if (r.is_string()) o.resources.push_back(r.get<std::string>());
    }
  }
  get_int(doc, "", "token_lifetime_s", o.token_lifetime_s, 1);
  if (doc.contains("limits")) {
    const auto& l = doc["limits"];
    get_int(l, "/limits", "requests", o.limits.requests, 1);
    get_int(l, "/limits", "request_window_s", o.limits.request_window_s, 1);
    get_int(l, "/limits", "execution_ms", o.limits.execution_ms, 1);
    get_int(l, "/limits", "execution_window_s", o.limits.execution_window_s, 1);
    get_int(l, "/limits", "concurrency", o.limits.concurrency, 1);
    get_int(l, "/limits", "dop_hint", o.limits.dop_hint, 1);
  }
  get_int(doc, "", "latency_ms", o.latency_ms, 0);
  get_int(doc, "", "exec_ms", o.exec_ms, 0);
  get_int(doc, "", "change_tracking_retention_s", o.change_tracking_retention_s, 0);
  if (doc.contains("enforce_application_required")) {
    if (!doc["enforce_application_required"].is_boolean()) {
      problem("/enforce_application_required", "must be true or false");
    } else {
      o.enforce_application_required = doc["enforce_application_required"].get<bool>();
    }
  }
  get_string(doc, "", "base_currency", o.base_currency);
  if (o.base_currency != "USD" && o.base_currency != "EUR") problem("/base_currency", "must be \"USD\" or \"EUR\"");
  get_int(doc, "", "seed", o.seed, 0);
  if (doc.contains("entities")) {
    if (!doc["entities"].is_array()) {
      problem("/entities", "must be an array");
    } else {
      for (const auto& e : doc["entities"]) o.entities.push_back(e);
    }
  }
  if (doc.contains("records")) {
    if (!doc["records"].is_object()) {
      problem("/records", "must be an object of entity set -> array of records");
    } else {
      for (const auto& [set, list] : doc["records"].items()) {
        if (!list.is_array()) {
          problem(AppendPointer("/records", set), "must be an array");
          continue;
        }
        for (const auto& r : list) o.records[set].push_back(r);
      }
    }
  }
  if (!problems.empty()) {
    std::string all;
    for (const auto& p : problems) all += (all.empty() ? "" : "\n") + p;
    return InvalidArgument(all);
  }
  return Status::Ok();
}

Status LoadConfigFile(const std::string& path, EmulatorOptions& options) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  Status s = LoadConfigText(*text, options);
  return s.ok() ? s : s.WithContext(path);
}

std::string UsageText() {
  return "usage: dataverse-emulator [options]\n"
         "  --host H                  address to bind (default 127.0.0.1)\n"
         "  --port N                  port; 0 picks a free one (default 0)\n"
         "  --tls-cert F --tls-key F  serve HTTPS with this PEM certificate chain and key\n"
         "  --config F                JSON (with comments) configuration file\n"
         "  --seed N                  seed of the record id generator (reproducible ids)\n"
         "  --tenant T                tenant id or domain of the token endpoint\n"
         "  --client-id ID            register an application user for this client id\n"
         "  --client-secret S         ... accepting this client secret\n"
         "  --client-cert PEM         ... accepting assertions signed for this certificate (file or PEM text)\n"
         "  --token-lifetime S        access token lifetime in seconds (default 3599)\n"
         "  --latency-ms N            network latency added to every request\n"
         "  --exec-ms N               server execution time per data operation\n"
         "  --limit-requests N        service protection: requests per window (default 6000)\n"
         "  --limit-window-s N        ... request window in seconds (default 300)\n"
         "  --limit-exec-ms N         ... execution time per window in ms (default 1200000)\n"
         "  --limit-exec-window-s N   ... execution-time window in seconds (default 300)\n"
         "  --limit-concurrency N     ... concurrent requests (default 52)\n"
         "  --dop-hint N              x-ms-dop-hint value (default 4)\n"
         "  --ct-retention-s N        change-tracking retention in seconds (default 7 days)\n"
         "Prints its base URL on stdout when ready; stops on SIGTERM or SIGINT.\n";
}

Status ApplyArgs(const std::vector<std::string>& args, EmulatorOptions& o, bool* help) {
  for (std::size_t i = 0; i + 1 < args.size(); ++i) {
    if (args[i] == "--config") CRMSYNC_RETURN_IF_ERROR(LoadConfigFile(args[i + 1], o));
  }
  std::string client_id, client_secret, client_cert, tls_cert, tls_key;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      if (help != nullptr) *help = true;
      continue;
    }
    if (i + 1 >= args.size()) return InvalidArgument("option " + a + " needs a value (see --help)");
    const std::string& v = args[++i];
    auto num = [&](auto& out, long long min) -> Status {
      try {
        std::size_t used = 0;
        const long long n = std::stoll(v, &used);
        if (used != v.size() || n < min) throw std::invalid_argument(v);
        out = static_cast<std::remove_reference_t<decltype(out)>>(n);
        return Status::Ok();
      } catch (...) {
        return InvalidArgument("option " + a + ": '" + v + "' is not an integer >= " + std::to_string(min));
      }
    };
    if (a == "--config") continue;
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      CRMSYNC_RETURN_IF_ERROR(num(o.port, 0));
    else if (a == "--tls-cert")
      tls_cert = v;
    else if (a == "--tls-key")
      tls_key = v;
    else if (a == "--seed")
      CRMSYNC_RETURN_IF_ERROR(num(o.seed, 0));
    else if (a == "--tenant")
      o.tenant = v;
    else if (a == "--client-id")
      client_id = v;
    else if (a == "--client-secret")
      client_secret = v;
    else if (a == "--client-cert")
      client_cert = v;
    else if (a == "--token-lifetime")
      CRMSYNC_RETURN_IF_ERROR(num(o.token_lifetime_s, 1));
    else if (a == "--latency-ms")
      CRMSYNC_RETURN_IF_ERROR(num(o.latency_ms, 0));
    else if (a == "--exec-ms")
      CRMSYNC_RETURN_IF_ERROR(num(o.exec_ms, 0));
    else if (a == "--limit-requests")
      CRMSYNC_RETURN_IF_ERROR(num(o.limits.requests, 1));
    else if (a == "--limit-window-s")
      CRMSYNC_RETURN_IF_ERROR(num(o.limits.request_window_s, 1));
    else if (a == "--limit-exec-ms")
      CRMSYNC_RETURN_IF_ERROR(num(o.limits.execution_ms, 1));
    else if (a == "--limit-exec-window-s")
      CRMSYNC_RETURN_IF_ERROR(num(o.limits.execution_window_s, 1));
    else if (a == "--limit-concurrency")
      CRMSYNC_RETURN_IF_ERROR(num(o.limits.concurrency, 1));
    else if (a == "--dop-hint")
      CRMSYNC_RETURN_IF_ERROR(num(o.limits.dop_hint, 1));
    else if (a == "--ct-retention-s")
      CRMSYNC_RETURN_IF_ERROR(num(o.change_tracking_retention_s, 0));
    else
      return InvalidArgument("unknown option " + a + " (see --help)");
  }
  if (tls_cert.empty() != tls_key.empty()) return InvalidArgument("--tls-cert and --tls-key go together");
  if (!tls_cert.empty()) {
    auto cert = ReadFile(tls_cert);
    if (!cert.ok()) return cert.status();
    auto key = ReadFile(tls_key);
    if (!key.ok()) return key.status();
    o.tls_cert_pem = *cert;
    o.tls_key_pem = *key;
  }
  if (client_id.empty() && (!client_secret.empty() || !client_cert.empty())) {
    return InvalidArgument("--client-secret and --client-cert need --client-id");
  }
  if (!client_id.empty()) {
    ClientRegistration reg;
    reg.client_id = client_id;
    reg.client_secret = client_secret;
    if (!client_cert.empty()) {
      auto pem = PemOrFile(client_cert);
      if (!pem.ok()) return pem.status();
      reg.certificate_pem = *pem;
    }
    if (reg.client_secret.empty() && reg.certificate_pem.empty()) {
      return InvalidArgument("--client-id needs --client-secret or --client-cert");
    }
    std::erase_if(o.clients, [&](const ClientRegistration& c) { return c.client_id == client_id; });
    o.clients.push_back(std::move(reg));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// The running emulator

struct Emulator::Impl {
  EmulatorOptions options;
  std::shared_ptr<Metadata> metadata;
  std::unique_ptr<GuidSource> ids;
  std::unique_ptr<Auth> auth;
  std::unique_ptr<WebApi> api;
  std::unique_ptr<BatchProcessor> batch;
  std::unique_ptr<Throttle> throttle;
  FaultInjector faults;
  Counters counters;
  RuntimeSettings settings;
  std::unique_ptr<Admin> admin;
  std::unique_ptr<HttpServer> server;
  std::string base_url;

  void Handle(const HttpRequest& request, HttpResponse& response);
  void HandleApi(const HttpRequest& request, HttpResponse& response);
};

namespace {

std::string EntitySetOf(std::string_view path, std::string_view tenant_token_path) {
  static constexpr std::string_view kPrefix = "/api/data/v9.2/";
  if (path == tenant_token_path || path.ends_with("/oauth2/v2.0/token")) return "token";
  if (!path.starts_with(kPrefix)) return "";
  std::string_view rest = path.substr(kPrefix.size());
  const auto end = rest.find_first_of("(/");
  return PercentDecode(rest.substr(0, end));
}

HttpResponse FaultResponse(const FaultRule& f, bool token_endpoint) {
  HttpResponse r;
  r.status = f.status;
  if (f.retry_after_s >= 0) r.Set("Retry-After", std::to_string(f.retry_after_s));
  if (token_endpoint) {
    const int code = f.status == 429 ? 90055 : 50001;
    nlohmann::ordered_json body;
    body["error"] = f.status >= 500 || f.status == 429 ? "temporarily_unavailable" : "invalid_request";
    body["error_description"] =
        "AADSTS" + std::to_string(code) + ": " +
        (f.message.empty() ? std::string("The service is temporarily unavailable.") : f.message);
    body["error_codes"] = nlohmann::json::array({code});
    r.Set("Content-Type", "application/json; charset=utf-8");
    r.body = body.dump();
    return r;
  }
  std::string code = f.code;
  std::string message = f.message;
  if (code.empty()) code = f.status == 429 ? "0x80072322" : f.status == 500 ? "0x80044150" : "0x80040216";
  if (message.empty()) {
    message = f.status == 429   ? "Number of requests exceeded the limit of 6000 over time window of 300 seconds."
              : f.status == 500 ? "Generic SQL error."
                                : "The service is temporarily unavailable. Please retry.";
  }
  HttpResponse e = WebApi::ErrorResponse(ApiError(f.status, code, message));
  for (auto& h : e.headers) r.Set(h.first, h.second);
  r.body = std::move(e.body);
  return r;
}

}  // namespace

void Emulator::Impl::Handle(const HttpRequest& request, HttpResponse& response) {
  const std::string path(request.Path());
  if (path == "/_admin" || path.starts_with("/_admin/")) {
    response = admin->Handle(request);
    return;
  }
  const std::string token_path = "/" + options.tenant + "/oauth2/v2.0/token";
  const std::string entity_set = EntitySetOf(path, token_path);
  if (const int latency = settings.latency_ms.load(); latency > 0) {
    if (!server->SleepFor(latency)) {
      response.delivery = Delivery::kDrop;
      return;
    }
  }
  std::optional<FaultRule> fault = faults.Take(request.method, path, entity_set);
  if (fault && fault->action == FaultRule::Action::kStatus) {
    response = FaultResponse(*fault, entity_set == "token");
  } else if (fault && fault->action == FaultRule::Action::kDrop) {
    response.delivery = Delivery::kDrop;
    counters.Record(request.method, entity_set, 0);
    return;
  } else if (path.ends_with("/oauth2/v2.0/token") && std::count(path.begin(), path.end(), '/') == 4) {
    const std::string tenant = path.substr(1, path.find('/', 1) - 1);
    if (request.method != "POST") {
      response.status = 405;
      response.Set("Allow", "POST");
    } else {
      response = auth->HandleTokenRequest(tenant, request, base_url);
    }
  } else if (path == "/api/data/v9.2" || path.starts_with("/api/data/v9.2/")) {
    HandleApi(request, response);
  } else {
    response = WebApi::ErrorResponse(
        ApiError(404, "", "No HTTP resource was found that matches the request URI '" + base_url + path + "'."));
  }
  if (fault && fault->action == FaultRule::Action::kDropAfter) {
    // Applied, but the answer is lost: the connection closes without it.
    response.delivery = Delivery::kDrop;
    counters.Record(request.method, entity_set, 0);
    return;
  }
  if (fault && fault->action == FaultRule::Action::kTruncate) response.delivery = Delivery::kTruncate;
  if (fault && fault->action == FaultRule::Action::kStall) response.stall_ms = fault->stall_ms;
  counters.Record(request.method, entity_set, response.status);
}

void Emulator::Impl::HandleApi(const HttpRequest& request, HttpResponse& response) {
  if (request.method == "GET" && request.target.size() > 32768) {
    response = WebApi::ErrorResponse(
        ApiError(414, "0x0",
                 "The request URL is " + std::to_string(request.target.size()) +
                     " characters long; the maximum for a GET is 32,768. Use $batch for long queries."));
    return;
  }
  const std::optional<Principal> principal = auth->Authenticate(request);
  if (!principal) {
    response = auth->Challenge(base_url);
    return;
  }
  const ThrottleLimits limits = throttle->limits();
  const Throttle::Decision decision = throttle->Admit(principal->client_id);
  if (!decision.allowed) {
    response = WebApi::ErrorResponse(ApiError(429, decision.code, decision.message));
    response.Set("Retry-After", std::to_string(decision.retry_after_s));
    response.Set("x-ms-dop-hint", std::to_string(limits.dop_hint));
    return;
  }
  const auto start = std::chrono::steady_clock::now();
  RequestContext ctx;
  ctx.base_url = base_url;
  ctx.user_id = api->UserFor(principal->client_id);
  if (request.Path() == "/api/data/v9.2/$batch") {
    response = batch->Handle(request, ctx);
  } else {
    response = api->Handle(request, ctx);
  }
  const int exec_ms = settings.exec_ms.load();
  if (exec_ms > 0 && ctx.operations > 0) server->SleepFor(exec_ms * ctx.operations);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  throttle->Finish(principal->client_id, elapsed);
  response.Set("x-ms-dop-hint", std::to_string(limits.dop_hint));
  response.Set("x-ms-ratelimit-burst-remaining-xrm-requests", std::to_string(decision.remaining_requests));
  response.Set("x-ms-ratelimit-time-remaining-xrm-requests",
               std::to_string(std::max<std::int64_t>(0, decision.remaining_ms - elapsed.count())));
}

Emulator::Emulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Emulator::~Emulator() {
  Stop();
}

const std::string& Emulator::base_url() const {
  return impl_->base_url;
}
std::string Emulator::api_url() const {
  return impl_->base_url + "/api/data/v9.2/";
}
std::string Emulator::token_url() const {
  return impl_->base_url + "/" + impl_->options.tenant + "/oauth2/v2.0/token";
}
const EmulatorOptions& Emulator::options() const {
  return impl_->options;
}

void Emulator::Stop() {
  if (impl_ && impl_->server) impl_->server->Stop();
}

Result<std::unique_ptr<Emulator>> Emulator::Start(EmulatorOptions options) {
  auto impl = std::make_unique<Impl>();
  if (options.clients.empty()) {
    options.clients.push_back({std::string(kDefaultClientId), std::string(kDefaultClientSecret), "", false});
  }
  impl->options = options;
  auto metadata = Metadata::LoadDefaults();
  if (!metadata.ok()) return metadata.status().WithContext("entities.json");
  impl->metadata = *metadata;
  if (!options.entities.empty()) {
    CRMSYNC_RETURN_IF_ERROR(impl->metadata->Merge({{"entities", options.entities}}));
  }
  CRMSYNC_RETURN_IF_ERROR(impl->metadata->Finish());
  impl->ids = std::make_unique<GuidSource>(options.seed);
  AuthOptions auth_options;
  auth_options.tenant = options.tenant;
  auth_options.clients = options.clients;
  auth_options.token_lifetime_s = options.token_lifetime_s;
  auth_options.resources = options.resources;
  auto auth = Auth::Create(auth_options);
  if (!auth.ok()) return auth.status();
  impl->auth = std::move(auth).value();
  ApiSettings api_settings;
  api_settings.enforce_application_required = options.enforce_application_required;
  api_settings.change_tracking_retention = std::chrono::seconds(options.change_tracking_retention_s);
  api_settings.base_currency = options.base_currency;
  impl->api = std::make_unique<WebApi>(impl->metadata, *impl->ids, api_settings);
  for (const auto& c : options.clients) impl->api->UserFor(c.client_id);
  impl->batch = std::make_unique<BatchProcessor>(*impl->api, *impl->ids);
  impl->throttle = std::make_unique<Throttle>(options.limits);
  impl->settings.latency_ms = options.latency_ms;
  impl->settings.exec_ms = options.exec_ms;
  impl->admin = std::make_unique<Admin>(AdminDeps{*impl->api, *impl->auth, *impl->throttle, impl->faults,
                                                  impl->counters, impl->settings, options.clients});
  // Records from the config file.
  for (const auto& [set, list] : options.records.items()) {
    auto seeded = impl->admin->Seed(set, list);
    if (!seeded.ok()) return seeded.status().WithContext("records." + set);
  }
  ServerOptions server_options;
  server_options.host = options.host;
  server_options.port = options.port;
  server_options.tls_cert_pem = options.tls_cert_pem;
  server_options.tls_key_pem = options.tls_key_pem;
  Impl* raw = impl.get();
  auto server =
      HttpServer::Start(server_options, [raw](const HttpRequest& rq, HttpResponse& rs) { raw->Handle(rq, rs); });
  if (!server.ok()) return server.status();
  impl->server = std::move(server).value();
  impl->base_url = impl->server->base_url();
  impl->admin->SetBaseUrl(impl->base_url);
  return std::unique_ptr<Emulator>(new Emulator(std::move(impl)));
}

}  // namespace crmsync::emulator
