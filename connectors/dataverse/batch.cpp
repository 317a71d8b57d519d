#include "connectors/dataverse/batch.h"

#include <cctype>

namespace crmsync::dataverse {

namespace {

constexpr std::string_view kCrlf = "\r\n";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\r' || s[b] == '\n')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r' || s[e - 1] == '\n')) --e;
  return std::string(s.substr(b, e - b));
}

// The boundary parameter of a multipart Content-Type, unquoted.
std::string BoundaryOf(std::string_view content_type) {
  const std::string lower = Lower(content_type);
  const auto pos = lower.find("boundary=");
  if (pos == std::string::npos) return {};
  std::string value(content_type.substr(pos + 9));
  value = value.substr(0, value.find(';'));
  value = Trim(value);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
  return value;
}

// Splits a multipart body into the raw parts between delimiters. Accepts
// CRLF or LF, with or without a blank line before a delimiter.
Result<std::vector<std::string>> SplitParts(std::string_view body, const std::string& boundary) {
  const std::string delimiter = "--" + boundary;
  std::vector<std::string> parts;
  std::size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return InvalidArgument("multipart body without its boundary '" + boundary + "'");
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return parts;  // close delimiter
    // Skip the rest of the delimiter line.
    const auto line_end = body.find('\n', pos);
    if (line_end == std::string_view::npos) return InvalidArgument("multipart body ends inside a delimiter line");
    const std::size_t start = line_end + 1;
    const auto next = body.find(delimiter, start);
    if (next == std::string_view::npos) return InvalidArgument("multipart body is missing its closing delimiter");
    std::size_t end = next;
    // The line break before a delimiter belongs to the delimiter.
    if (end > start && body[end - 1] == '\n') --end;
    if (end > start && body[end - 1] == '\r') --end;
    parts.emplace_back(body.substr(start, end - start));
    pos = next;
  }
}

// Splits "headers CRLF CRLF rest".
void SplitHeaders(std::string_view text, http::Headers& headers, std::string& rest) {
  std::size_t pos = 0;
  for (;;) {
    const auto eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      rest = eol == std::string_view::npos ? std::string() : std::string(text.substr(eol + 1));
      return;
    }
    const auto colon = line.find(':');
    if (colon != std::string_view::npos)
      headers.emplace_back(Trim(line.substr(0, colon)), Trim(line.substr(colon + 1)));
    if (eol == std::string_view::npos) {
      rest.clear();
      return;
    }
    pos = eol + 1;
  }
}

std::string HeaderValue(const http::Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (http::HeaderNameEquals(k, name)) return v;
  }
  return {};
}

// Parses an application/http part: its MIME headers are already split off.
Result<BatchPartResponse> ParseHttpPart(const http::Headers& mime_headers, std::string_view payload) {
  BatchPartResponse part;
  part.content_id = HeaderValue(mime_headers, "Content-ID");
  const auto eol = payload.find('\n');
  std::string status_line = Trim(payload.substr(0, eol));
  // "HTTP/1.1 204 No Content"
  const auto sp = status_line.find(' ');
  if (status_line.rfind("HTTP/", 0) != 0 || sp == std::string::npos) {
    return InvalidArgument("batch part without an HTTP status line: '" + status_line.substr(0, 60) + "'");
  }
  try {
    part.status = std::stoi(status_line.substr(sp + 1, 3));
  } catch (const std::exception&) {
    return InvalidArgument("batch part with a malformed status line: '" + status_line.substr(0, 60) + "'");
  }
  std::string rest;
  SplitHeaders(eol == std::string_view::npos ? std::string_view() : payload.substr(eol + 1), part.headers, rest);
  part.body = Trim(rest);
  return part;
}

}  // namespace

std::string BatchPartResponse::Header(std::string_view name) const {
  return HeaderValue(headers, name);
}

BatchBody BuildBatch(const std::vector<BatchItem>& items, std::string_view boundary_seed) {
  const std::string batch = "batch_" + std::string(boundary_seed);
  std::string body;
  int content_id = 0;
  int changeset_no = 0;
  const auto write_operation = [&](const BatchOperation& op, bool in_changeset) {
    body += "Content-Type: application/http";
    body += kCrlf;
    body += "Content-Transfer-Encoding: binary";
    body += kCrlf;
    if (in_changeset) {
      body += "Content-ID: " + std::to_string(++content_id);
      body += kCrlf;
    }
    body += kCrlf;
    body += op.method + " " + op.url + " HTTP/1.1";
    body += kCrlf;
    for (const auto& [k, v] : op.headers) {
      body += k;
      body += ": ";
      body += v;
      body += kCrlf;
    }
    if (!op.body.empty()) {
      body += "Content-Type: application/json; type=entry";
      body += kCrlf;
    }
    body += kCrlf;
    body += op.body;
    body += kCrlf;
  };
  for (const auto& item : items) {
    body += "--" + batch;
    body += kCrlf;
    if (item.changeset) {
      const std::string cs = "changeset_" + std::string(boundary_seed) + "_" + std::to_string(++changeset_no);
      body += "Content-Type: multipart/mixed; boundary=" + cs;
      body += kCrlf;
      body += kCrlf;
      for (const auto& op : item.operations) {
        body += "--" + cs;
        body += kCrlf;
        write_operation(op, true);
      }
      body += "--" + cs + "--";
      body += kCrlf;
    } else {
      write_operation(item.operations.front(), false);
    }
  }
  body += "--" + batch + "--";
  body += kCrlf;
  return {"multipart/mixed; boundary=" + batch, std::move(body)};
}

Result<std::vector<BatchResponseItem>> ParseBatchResponse(std::string_view content_type, std::string_view body) {
  const std::string boundary = BoundaryOf(content_type);
  if (boundary.empty()) return InvalidArgument("batch response without a multipart boundary");
  CRMSYNC_ASSIGN_OR_RETURN(std::vector<std::string> raw_parts, SplitParts(body, boundary));
  std::vector<BatchResponseItem> items;
  for (const auto& raw : raw_parts) {
    http::Headers mime;
    std::string payload;
    SplitHeaders(raw, mime, payload);
    const std::string type = Lower(HeaderValue(mime, "Content-Type"));
    BatchResponseItem item;
    if (type.rfind("multipart/mixed", 0) == 0) {
      item.changeset = true;
      const std::string inner = BoundaryOf(HeaderValue(mime, "Content-Type"));
      CRMSYNC_ASSIGN_OR_RETURN(std::vector<std::string> inner_parts, SplitParts(payload, inner));
      for (const auto& inner_raw : inner_parts) {
        http::Headers inner_mime;
        std::string inner_payload;
        SplitHeaders(inner_raw, inner_mime, inner_payload);
        CRMSYNC_ASSIGN_OR_RETURN(BatchPartResponse part, ParseHttpPart(inner_mime, inner_payload));
        item.parts.push_back(std::move(part));
      }
    } else {
      CRMSYNC_ASSIGN_OR_RETURN(BatchPartResponse part, ParseHttpPart(mime, payload));
      item.parts.push_back(std::move(part));
    }
    items.push_back(std::move(item));
  }
  return items;
}

}  // namespace crmsync::dataverse
