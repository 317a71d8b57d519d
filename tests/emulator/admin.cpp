#include "tests/emulator/admin.h"

#include "tests/emulator/api_error.h"

namespace crmsync::emulator {

namespace {

HttpResponse Json(int status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.Set("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse NoContent() {
  HttpResponse r;
  r.status = 204;
  return r;
}

HttpResponse AdminError(int status, const std::string& message) {
  return WebApi::ErrorResponse(ApiError(status, "", message));
}

}  // namespace

RequestContext Admin::Context() {
  RequestContext ctx;
  ctx.base_url = base_url_;
  ctx.user_id = d_.api.UserFor(d_.clients.empty() ? std::string("admin") : d_.clients.front().client_id);
  return ctx;
}

Result<nlohmann::json> Admin::Seed(const std::string& entity_set, const nlohmann::json& records) {
  const EntityDef* e = d_.api.metadata().BySet(entity_set);
  if (e == nullptr) return ApiError(404, "0x8006088a", "Resource not found for the segment '" + entity_set + "'.");
  if (!records.is_array()) return ApiError(400, "", "\"records\" must be an array");
  RequestContext ctx = Context();
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& r : records) {
    auto id = d_.api.AdminCreate(*e, r, ctx);
    if (!id.ok()) return id.status().WithContext("record " + std::to_string(ids.size()));
    ids.push_back(*id);
  }
  return nlohmann::json{{"entity_set", entity_set}, {"ids", ids}};
}

nlohmann::json Admin::Settings() const {
  const ThrottleLimits l = d_.throttle.limits();
  return {{"latency_ms", d_.settings.latency_ms.load()},
          {"exec_ms", d_.settings.exec_ms.load()},
          {"token_lifetime_s", d_.auth.token_lifetime_s()},
          {"limits",
           {{"requests", l.requests},
            {"request_window_s", l.request_window_s},
            {"execution_ms", l.execution_ms},
            {"execution_window_s", l.execution_window_s},
            {"concurrency", l.concurrency},
            {"dop_hint", l.dop_hint}}}};
}

HttpResponse Admin::Handle(const HttpRequest& request) {
  try {
    const std::string path = PercentDecode(request.Path());
    const std::string& m = request.method;
    auto body = [&]() { return nlohmann::json::parse(request.body.empty() ? "{}" : request.body, nullptr, false); };

    if (path == "/_admin/health" && m == "GET") {
      return Json(200, {{"status", "ok"}, {"base_url", base_url_}, {"tenant", d_.auth.tenant()}});
    }
    if (path == "/_admin/seed" && m == "POST") {
      const nlohmann::json b = body();
      if (!b.is_object() || !b.contains("entity_set") || !b["entity_set"].is_string() || !b.contains("records")) {
        return AdminError(400, "expected {\"entity_set\":\"accounts\",\"records\":[{...}]}");
      }
      auto seeded = Seed(b["entity_set"].get<std::string>(), b["records"]);
      if (!seeded.ok()) return WebApi::ErrorResponse(seeded.status());
      return Json(200, *seeded);
    }
    if (path.starts_with("/_admin/dump/") && m == "GET") {
      const EntityDef* e = d_.api.metadata().BySet(path.substr(13));
      if (e == nullptr) return AdminError(404, "unknown entity set '" + path.substr(13) + "'");
      HttpResponse r;
      r.Set("Content-Type", "application/json");
      r.body = d_.api.Dump(*e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      return r;
    }
    if (path.starts_with("/_admin/records/") && (m == "PATCH" || m == "DELETE")) {
      const std::string ref = path.substr(16);
      const auto paren = ref.find('(');
      if (paren == std::string::npos || ref.back() != ')')
        return AdminError(400, "expected /_admin/records/{set}({id})");
      const EntityDef* e = d_.api.metadata().BySet(ref.substr(0, paren));
      if (e == nullptr) return AdminError(404, "unknown entity set '" + ref.substr(0, paren) + "'");
      const std::string id = NormaliseGuid(ref.substr(paren + 1, ref.size() - paren - 2));
      if (id.empty()) return AdminError(400, "the key must be a GUID");
      RequestContext ctx = Context();
      if (m == "DELETE") {
        Status s = d_.api.AdminDelete(*e, id, ctx);
        return s.ok() ? NoContent() : WebApi::ErrorResponse(s);
      }
      const nlohmann::json b = body();
      if (!b.is_object()) return AdminError(400, "the body must be a JSON object");
      Status s = d_.api.AdminUpdate(*e, id, b, ctx);
      if (!s.ok()) return WebApi::ErrorResponse(s);
      std::shared_lock lock(d_.api.store().mutex());
      const StoredRecord* r = d_.api.store().Find(e->logical_name, id);
      return Json(200, {{"id", id}, {"versionnumber", r != nullptr ? r->version : 0}});
    }
    if (path == "/_admin/reset" && m == "POST") {
      d_.api.Reset();
      d_.faults.Clear();
      d_.throttle.Reset();
      d_.counters.Reset();
      return NoContent();
    }
    if (path == "/_admin/faults") {
      if (m == "GET") return Json(200, d_.faults.List());
      if (m == "DELETE") {
        d_.faults.Clear();
        return NoContent();
      }
      if (m == "POST") {
        auto rule = ParseFaultRule(body());
        if (!rule.ok()) return AdminError(400, rule.status().message());
        return Json(200, {{"id", d_.faults.Add(*rule)}});
      }
    }
    if (path == "/_admin/tokens/expire" && m == "POST") {
      d_.auth.ExpireAllTokens();
      return NoContent();
    }
    if (path == "/_admin/change-tracking/expire" && m == "POST") {
      d_.api.ExpireChangeTracking();
      return NoContent();
    }
    if (path == "/_admin/throttle" && m == "GET") return Json(200, d_.throttle.Snapshot());
    if (path == "/_admin/counters" && m == "GET") return Json(200, d_.counters.Snapshot());
    if (path == "/_admin/counters/reset" && m == "POST") {
      d_.counters.Reset();
      return NoContent();
    }
    if (path == "/_admin/settings") {
      if (m == "GET") return Json(200, Settings());
      if (m == "PATCH") {
        const nlohmann::json b = body();
        if (!b.is_object()) return AdminError(400, "the body must be a JSON object");
        auto non_negative = [&](const nlohmann::json& obj, const char* key) {
          return !obj.contains(key) || (obj[key].is_number_integer() && obj[key].get<long long>() >= 0);
        };
        for (const char* k : {"latency_ms", "exec_ms", "token_lifetime_s"}) {
          if (!non_negative(b, k)) return AdminError(400, std::string(k) + " must be a non-negative integer");
        }
        ThrottleLimits l = d_.throttle.limits();
        if (b.contains("limits")) {
          const auto& j = b["limits"];
          if (!j.is_object()) return AdminError(400, "limits must be an object");
          for (const char* k :
               {"requests", "request_window_s", "execution_ms", "execution_window_s", "concurrency", "dop_hint"}) {
            if (!non_negative(j, k))
              return AdminError(400, std::string("limits.") + k + " must be a non-negative integer");
          }
          l.requests = j.value("requests", l.requests);
          l.request_window_s = std::max(1, j.value("request_window_s", l.request_window_s));
          l.execution_ms = j.value("execution_ms", l.execution_ms);
          l.execution_window_s = std::max(1, j.value("execution_window_s", l.execution_window_s));
          l.concurrency = j.value("concurrency", l.concurrency);
          l.dop_hint = j.value("dop_hint", l.dop_hint);
          d_.throttle.SetLimits(l);
        }
        if (b.contains("latency_ms")) d_.settings.latency_ms = b["latency_ms"].get<int>();
        if (b.contains("exec_ms")) d_.settings.exec_ms = b["exec_ms"].get<int>();
        if (b.contains("token_lifetime_s")) d_.auth.SetTokenLifetime(std::max(1, b["token_lifetime_s"].get<int>()));
        return Json(200, Settings());
      }
    }
    return AdminError(404, "no admin resource " + m + " " + path);
  } catch (const std::exception& e) {
    return AdminError(500, std::string("admin request failed: ") + e.what());
  }
}

}  // namespace crmsync::emulator
