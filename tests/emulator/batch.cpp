#include "tests/emulator/batch.h"

#include "tests/emulator/api_error.h"

namespace crmsync::emulator {

namespace {

Status NotReadable() {
  return ApiError(400, "0x80048d19",
                  "Error identified in Payload provided by the user for Entity :'', For more information on this error "
                  "please follow this help link https://go.microsoft.com/fwlink/?linkid=2195293  ----> "
                  "InnerException : System.ArgumentException: Stream was not readable.");
}

Status BadBatch(const std::string& why) {
  return ApiError(400, "0x80048d19", "The batch request is not valid: " + why);
}

std::vector<std::pair<std::string, std::string>> ParseHeaderLines(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    const auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      out.emplace_back(ToLower(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1))));
    }
    pos = end + 2;
  }
  return out;
}

struct Operation {
  HttpRequest request;
  std::string content_id;
  Status error;  // a malformed part
};

Operation ParseOperation(const MimePart& part) {
  Operation op;
  op.content_id = part.Header("content-id");
  const std::string_view text = part.body;
  const auto line_end = text.find("\r\n");
  const std::string_view line = text.substr(0, line_end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos) {
    op.error = BadBatch("a part does not start with an HTTP request line.");
    return op;
  }
  op.request.method = std::string(line.substr(0, sp1));
  op.request.target =
      std::string(line.substr(sp1 + 1, sp2 == std::string_view::npos ? std::string_view::npos : sp2 - sp1 - 1));
  if (line_end == std::string_view::npos) return op;
  const std::string_view rest = text.substr(line_end + 2);
  const auto blank = rest.find("\r\n\r\n");
  if (rest.starts_with("\r\n")) {
    op.request.body = std::string(rest.substr(2));
  } else if (blank == std::string_view::npos) {
    op.request.headers = ParseHeaderLines(rest);
  } else {
    op.request.headers = ParseHeaderLines(rest.substr(0, blank));
    op.request.body = std::string(rest.substr(blank + 4));
  }
  while (op.request.body.ends_with("\r\n")) op.request.body.resize(op.request.body.size() - 2);
  return op;
}

std::string SerializePart(const HttpResponse& r, const std::string& content_id) {
  std::string out = "Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n";
  if (!content_id.empty()) out += "Content-ID: " + content_id + "\r\n";
  out += "\r\nHTTP/1.1 " + std::to_string(r.status) + " " + ReasonPhrase(r.status) + "\r\n";
  for (const auto& [n, v] : r.headers) {
    std::string value = v;
    if (n == "Content-Type" && r.status < 300 && value == "application/json; odata.metadata=minimal") {
      value += "; odata.streaming=true";
    }
    out += n + ": " + value + "\r\n";
  }
  out += "\r\n" + r.body + "\r\n";
  return out;
}

}  // namespace

std::string MimePart::Header(std::string_view lower_name) const {
  for (const auto& [n, v] : headers) {
    if (n == lower_name) return v;
  }
  return {};
}

std::string BoundaryOf(std::string_view content_type) {
  const std::string lower = ToLower(content_type);
  const auto at = lower.find("boundary=");
  if (at == std::string::npos) return "";
  std::string_view b = content_type.substr(at + 9);
  if (!b.empty() && b.front() == '"') {
    const auto close = b.find('"', 1);
    return close == std::string_view::npos ? "" : std::string(b.substr(1, close - 1));
  }
  const auto end = b.find_first_of("; \t");
  return std::string(b.substr(0, end));
}

Result<std::vector<MimePart>> SplitMultipart(std::string_view body, std::string_view boundary) {
  const std::string delim = "--" + std::string(boundary);
  std::size_t pos = 0;
  if (!body.starts_with(delim)) {
    pos = body.find("\r\n" + delim);
    if (pos == std::string_view::npos) {
      if (body.find("\n" + delim) != std::string_view::npos) return NotReadable();
      return BadBatch("the body does not contain the boundary '" + std::string(boundary) + "'.");
    }
    pos += 2;
  }
  std::vector<MimePart> parts;
  while (true) {
    pos += delim.size();
    if (body.substr(pos, 2) == "--") return parts;  // close delimiter
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (body.substr(pos, 2) != "\r\n") {
      if (pos < body.size() && body[pos] == '\n') return NotReadable();
      return BadBatch("a boundary line is not followed by CRLF.");
    }
    pos += 2;
    const std::size_t next = body.find("\r\n" + delim, pos);
    if (next == std::string_view::npos) {
      if (body.find("\n" + delim, pos) != std::string_view::npos) return NotReadable();
      return BadBatch("the closing boundary '--" + std::string(boundary) + "--' is missing.");
    }
    const std::string_view content = body.substr(pos, next - pos);
    MimePart part;
    if (content.starts_with("\r\n")) {
      part.body = std::string(content.substr(2));
    } else {
      const auto blank = content.find("\r\n\r\n");
      if (blank == std::string_view::npos) {
        if (content.find("\n\n") != std::string_view::npos) return NotReadable();
        part.headers = ParseHeaderLines(content);
      } else {
        part.headers = ParseHeaderLines(content.substr(0, blank));
        part.body = std::string(content.substr(blank + 4));
      }
    }
    parts.push_back(std::move(part));
    pos = next + 2;
    if (parts.size() > static_cast<std::size_t>(kMaxBatchOperations) + 10) {
      return ApiError(
          400, "0x0",
          "The batch contains more than the maximum of " + std::to_string(kMaxBatchOperations) + " operations.");
    }
  }
}

HttpResponse BatchProcessor::Handle(const HttpRequest& request, RequestContext& ctx) {
  if (request.method != "POST") {
    return WebApi::ErrorResponse(ApiError(405, "0x80060888", "The $batch resource only supports POST."));
  }
  const std::string content_type = request.Header("content-type");
  if (!ToLower(content_type).starts_with("multipart/mixed")) {
    return WebApi::ErrorResponse(BadBatch("the Content-Type must be multipart/mixed with a boundary."));
  }
  const std::string boundary = BoundaryOf(content_type);
  if (boundary.empty()) return WebApi::ErrorResponse(BadBatch("the Content-Type has no boundary."));
  if (request.body.find('\n') != std::string::npos && request.body.find("\r\n") == std::string::npos) {
    return WebApi::ErrorResponse(NotReadable());
  }
  auto top = SplitMultipart(request.body, boundary);
  if (!top.ok()) return WebApi::ErrorResponse(top.status());

  // Parse everything first: a malformed batch runs nothing.
  struct Item {
    bool changeset = false;
    std::vector<Operation> ops;
  };
  std::vector<Item> items;
  std::size_t total = 0;
  for (const auto& part : *top) {
    const std::string ct = part.Header("content-type");
    Item item;
    if (ToLower(ct).starts_with("multipart/mixed")) {
      const std::string cs_boundary = BoundaryOf(ct);
      if (cs_boundary.empty()) return WebApi::ErrorResponse(BadBatch("a change set has no boundary."));
      auto inner = SplitMultipart(part.body, cs_boundary);
      if (!inner.ok()) return WebApi::ErrorResponse(inner.status());
      item.changeset = true;
      for (const auto& p : *inner) {
        if (ToLower(p.Header("content-type")).starts_with("multipart/mixed")) {
          return WebApi::ErrorResponse(BadBatch("change sets cannot be nested."));
        }
        item.ops.push_back(ParseOperation(p));
      }
    } else {
      item.ops.push_back(ParseOperation(part));
    }
    total += item.ops.size();
    items.push_back(std::move(item));
  }
  if (total > static_cast<std::size_t>(kMaxBatchOperations)) {
    return WebApi::ErrorResponse(ApiError(400, "0x0",
                                          "The batch contains " + std::to_string(total) +
                                              " operations; the maximum is " + std::to_string(kMaxBatchOperations) +
                                              "."));
  }
  const std::vector<std::string> prefer = request.HeaderList("prefer");
  bool continue_on_error = false;
  for (const auto& p : prefer) continue_on_error = continue_on_error || p == "odata.continue-on-error";

  ctx.in_batch = true;
  const std::string batch_boundary = "batchresponse_" + ids_.Next();
  std::string out;
  bool failed = false;

  // Runs one operation: resolves $n URLs, enforces limits, calls the API.
  auto run = [&](Operation& op, bool in_changeset) -> HttpResponse {
    if (!op.error.ok()) return WebApi::ErrorResponse(op.error);
    std::string target = op.request.target;
    if (!target.empty() && target[0] == '$') {
      const auto end = target.find_first_of("/?");
      const std::string ref = target.substr(0, end);
      auto it = ctx.content_ids.find(ref);
      if (it == ctx.content_ids.end()) {
        return WebApi::ErrorResponse(
            ApiError(400, "0x0", "Content-ID Reference: '" + ref + "' does not exist in the batch context."));
      }
      target = "/api/data/v9.2/" + it->second + (end == std::string::npos ? "" : target.substr(end));
    }
    if (const auto scheme = target.find("://"); scheme != std::string::npos) {
      const auto path = target.find('/', scheme + 3);
      target = path == std::string::npos ? "/" : target.substr(path);
    }
    if (target.empty() || target[0] != '/') target = "/api/data/v9.2/" + target;
    if (!target.starts_with("/api/data/v9.2")) {
      return WebApi::ErrorResponse(
          ApiError(404, "", "No HTTP resource was found that matches the request URI '" + target + "'."));
    }
    if (target.starts_with("/api/data/v9.2/$batch")) {
      return WebApi::ErrorResponse(BadBatch("batches cannot be nested."));
    }
    if (op.request.method == "GET" && target.size() > 65536) {
      return WebApi::ErrorResponse(ApiError(414, "0x0", "The request URL is too long."));
    }
    if (in_changeset && op.request.method == "GET") {
      return WebApi::ErrorResponse(ApiError(400, "0x0", "GET requests are not allowed inside a change set."));
    }
    op.request.target = target;
    HttpResponse r = api_.Handle(op.request, ctx);
    if (r.status < 300 && !op.content_id.empty()) {
      std::string location = r.Get("Location");
      if (location.empty()) location = r.Get("OData-EntityId");
      const auto api = location.find("/api/data/v9.2/");
      if (api != std::string::npos) ctx.content_ids["$" + op.content_id] = location.substr(api + 15);
    }
    return r;
  };

  for (auto& item : items) {
    if (!item.changeset) {
      HttpResponse r = run(item.ops.front(), false);
      out += "--" + batch_boundary + "\r\n" + SerializePart(r, item.ops.front().content_id);
      if (r.status >= 400 && !continue_on_error) {
        failed = true;
        break;
      }
      continue;
    }
    const std::string cs_boundary = "changesetresponse_" + ids_.Next();
    std::string cs;
    auto changeset_lock = api_.BeginChangeSet();
    ctx.holds_write_lock = true;
    std::vector<std::string> new_ids;
    bool cs_failed = false;
    for (auto& op : item.ops) {
      HttpResponse r = run(op, true);
      if (r.status >= 400) {
        cs = "--" + cs_boundary + "\r\n" + SerializePart(r, op.content_id);
        cs_failed = true;
        break;
      }
      if (!op.content_id.empty()) new_ids.push_back("$" + op.content_id);
      cs += "--" + cs_boundary + "\r\n" + SerializePart(r, op.content_id);
    }
    ctx.holds_write_lock = false;
    api_.EndChangeSet(!cs_failed, std::move(changeset_lock));
    if (cs_failed) {
      for (const auto& id : new_ids) ctx.content_ids.erase(id);
    }
    out += "--" + batch_boundary + "\r\nContent-Type: multipart/mixed; boundary=" + cs_boundary + "\r\n\r\n" + cs +
           "--" + cs_boundary + "--\r\n";
    if (cs_failed && !continue_on_error) {
      failed = true;
      break;
    }
  }
  out += "--" + batch_boundary + "--\r\n";
  HttpResponse r;
  r.status = failed ? 400 : 200;
  r.Set("OData-Version", "4.0");
  r.Set("Content-Type", "multipart/mixed; boundary=" + batch_boundary);
  if (continue_on_error) r.Set("Preference-Applied", "odata.continue-on-error");
  r.body = std::move(out);
  return r;
}

}  // namespace crmsync::emulator
