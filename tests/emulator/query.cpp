#include "tests/emulator/query.h"

#include <charconv>
#include <cstdio>
#include <ctime>

#include "tests/emulator/api_error.h"

namespace crmsync::emulator {
namespace {

std::vector<std::string_view> SplitTopLevel(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  int depth = 0;
  bool quoted = false;
  std::size_t start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\'') quoted = !quoted;
    if (quoted) continue;
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == sep && depth == 0) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

Result<std::vector<const AttributeDef*>> ParseSelect(std::string_view text, const EntityDef& entity) {
  std::vector<const AttributeDef*> out;
  for (std::string_view item : SplitTopLevel(text, ',')) {
    item = Trim(item);
    if (item.empty()) return ApiError(400, "0x0", "Syntax error in $select: an empty item.");
    if (item == "*") {
      out.clear();
      return out;
    }
    const AttributeDef* a = entity.FindByReadName(item);
    if (a == nullptr) return UnknownProperty(std::string(item), entity.TypeName());
    out.push_back(a);
  }
  return out;
}

Result<std::vector<OrderItem>> ParseOrderBy(std::string_view text, const EntityDef& entity) {
  std::vector<OrderItem> out;
  for (std::string_view item : SplitTopLevel(text, ',')) {
    item = Trim(item);
    OrderItem o;
    const auto sp = item.find(' ');
    std::string_view name = item.substr(0, sp);
    if (sp != std::string_view::npos) {
      const std::string_view dir = Trim(item.substr(sp + 1));
      if (dir == "desc") {
        o.descending = true;
      } else if (dir != "asc") {
        return ApiError(400, "0x0",
                        "Syntax error at position " + std::to_string(sp + 1) + " in '" + std::string(text) + "'.");
      }
    }
    if (name.empty()) return ApiError(400, "0x0", "Syntax error in $orderby: an empty item.");
    o.attr = entity.FindByReadName(name);
    if (o.attr == nullptr) return UnknownProperty(std::string(name), entity.TypeName());
    out.push_back(o);
  }
  return out;
}

Result<std::optional<int>> ParseTop(std::string_view text) {
  int v = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0) {
    return ApiError(400, "0x0",
                    "Invalid value '" + std::string(text) +
                        "' for $top query option found. The $top query option requires a non-negative integer value.");
  }
  return std::optional<int>(v);
}

}  // namespace

Result<std::vector<ExpandItem>> ParseExpand(std::string_view text, const EntityDef& entity, const Metadata& metadata) {
  std::vector<ExpandItem> out;
  for (std::string_view item : SplitTopLevel(text, ',')) {
    item = Trim(item);
    ExpandItem e;
    std::string_view options;
    const auto paren = item.find('(');
    if (paren != std::string_view::npos) {
      if (item.back() != ')') return ApiError(400, "0x0", "Syntax error in $expand: '" + std::string(item) + "'.");
      options = item.substr(paren + 1, item.size() - paren - 2);
      item = item.substr(0, paren);
    }
    e.nav = std::string(item);
    if (auto nav = entity.FindNav(item)) {
      e.lookup = nav->attribute;
      e.target = metadata.ByLogical(nav->target);
    } else if (const CollectionNav* c = entity.FindCollection(item)) {
      e.collection = c;
      e.target = metadata.ByLogical(c->entity);
    }
    if (e.target == nullptr) return UnknownProperty(std::string(item), entity.TypeName());
    if (!options.empty()) {
      for (std::string_view opt : SplitTopLevel(options, ';')) {
        opt = Trim(opt);
        const auto eq = opt.find('=');
        if (eq == std::string_view::npos)
          return ApiError(400, "0x0", "Syntax error in $expand options: '" + std::string(opt) + "'.");
        const std::string_view name = opt.substr(0, eq);
        const std::string_view value = opt.substr(eq + 1);
        if (name == "$select") {
          auto sel = ParseSelect(value, *e.target);
          if (!sel.ok()) return sel.status();
          e.has_select = !sel->empty();
          e.select = std::move(sel).value();
        } else if (e.collection != nullptr && name == "$filter") {
          auto f = ParseFilter(value, *e.target, metadata);
          if (!f.ok()) return f.status();
          e.filter = std::shared_ptr<FilterNode>(std::move(f).value().release());
        } else if (e.collection != nullptr && name == "$orderby") {
          auto o = ParseOrderBy(value, *e.target);
          if (!o.ok()) return o.status();
          e.orderby = std::move(o).value();
        } else if (e.collection != nullptr && name == "$top") {
          auto t = ParseTop(value);
          if (!t.ok()) return t.status();
          e.top = *t.value();
        } else {
          return ApiError(
              400, "0x0",
              "The query option '" + std::string(name) + "' is not supported in $expand of '" + e.nav + "'.");
        }
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<QueryOptions> ParseQueryOptions(std::string_view query, const EntityDef& entity, const Metadata& metadata,
                                       bool single) {
  QueryOptions q;
  const std::vector<QueryParam> params = ParseQuery(query);
  AliasLookup aliases = [&params](std::string_view name) -> std::optional<std::string> {
    for (const auto& p : params) {
      if (p.name == name) return p.value;
    }
    return std::nullopt;
  };
  const QueryParam* filter = nullptr;
  for (const auto& p : params) {
    if (p.name != "$skiptoken" && p.name != "$deltatoken") {
      if (!q.link_query.empty()) q.link_query += '&';
      q.link_query += p.raw;
    }
    if (p.name.empty() || p.name[0] != '$') continue;
    if (p.name == "$select") {
      auto sel = ParseSelect(p.value, entity);
      if (!sel.ok()) return sel.status();
      q.has_select = !sel->empty();
      q.select = std::move(sel).value();
      if (q.has_select) q.select_text = p.value;
    } else if (p.name == "$filter" && !single) {
      filter = &p;
    } else if (p.name == "$orderby" && !single) {
      auto o = ParseOrderBy(p.value, entity);
      if (!o.ok()) return o.status();
      q.orderby = std::move(o).value();
    } else if (p.name == "$top" && !single) {
      auto t = ParseTop(p.value);
      if (!t.ok()) return t.status();
      q.top = *t.value();
    } else if (p.name == "$count" && !single) {
      if (p.value != "true" && p.value != "false") {
        return ApiError(400, "0x0", "'" + p.value + "' is not a valid count option.");
      }
      q.count = p.value == "true";
    } else if (p.name == "$expand") {
      auto e = ParseExpand(p.value, entity, metadata);
      if (!e.ok()) return e.status();
      q.expand = std::move(e).value();
    } else if (p.name == "$skiptoken" && !single) {
      q.skiptoken = p.value;
    } else if (p.name == "$deltatoken" && !single) {
      q.deltatoken = p.value;
    } else if (p.name == "$skip" || p.name == "$search" || p.name == "$format") {
      return ApiError(400, "0x0", "The query parameter " + p.name + " is not supported");
    } else if (p.name == "$apply") {
      return ApiError(400, "0x0", "The query parameter $apply is not supported by the emulator");
    } else {
      return ApiError(400, "0x0", "The query parameter '" + p.name + "' is not supported.");
    }
  }
  if (filter != nullptr) {
    auto f = ParseFilter(filter->value, entity, metadata, aliases);
    if (!f.ok()) return f.status();
    q.filter = std::shared_ptr<FilterNode>(std::move(f).value().release());
  }
  return q;
}

std::string EncodePageCookie(const PageCookie& c) {
  std::string inner;
  if (c.tracking) {
    inner = "d:" + std::to_string(c.from_version) + ":" + std::to_string(c.upto_version) + ":" +
            std::to_string(c.phase) + ":" + std::to_string(c.last_version);
  } else {
    inner = "p:" + std::to_string(c.offset) + ":" + c.last_id;
  }
  return "<cookie pagenumber=\"" + std::to_string(c.page_number) + "\" pagingcookie=\"" + PercentEncode(inner) +
         "\" istracking=\"" + (c.tracking ? "True" : "False") + "\" />";
}

namespace {
std::optional<std::string> Attribute(std::string_view text, std::string_view name) {
  const std::string key = std::string(name) + "=\"";
  const auto at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const auto start = at + key.size();
  const auto end = text.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(text.substr(start, end - start));
}

bool ParseInt64(std::string_view s, std::int64_t& out) {
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}
}  // namespace

std::optional<PageCookie> DecodePageCookie(std::string_view text) {
  auto page = Attribute(text, "pagenumber");
  auto cookie = Attribute(text, "pagingcookie");
  if (!page || !cookie) return std::nullopt;
  PageCookie c;
  std::int64_t pn = 0;
  if (!ParseInt64(*page, pn) || pn < 1 || pn > 1000000000) return std::nullopt;
  c.page_number = static_cast<int>(pn);
  const std::string inner = PercentDecode(*cookie);
  std::vector<std::string_view> parts;
  std::string_view rest = inner;
  while (true) {
    const auto colon = rest.find(':');
    parts.push_back(rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
  if (parts.size() == 3 && parts[0] == "p") {
    if (!ParseInt64(parts[1], c.offset) || c.offset < 0) return std::nullopt;
    c.last_id = std::string(parts[2]);
    return c;
  }
  if (parts.size() == 5 && parts[0] == "d") {
    std::int64_t phase = 0;
    c.tracking = true;
    if (!ParseInt64(parts[1], c.from_version) || !ParseInt64(parts[2], c.upto_version) ||
        !ParseInt64(parts[3], phase) || !ParseInt64(parts[4], c.last_version) || (phase != 0 && phase != 1)) {
      return std::nullopt;
    }
    c.phase = static_cast<int>(phase);
    return c;
  }
  return std::nullopt;
}

std::string EncodeDeltaToken(std::int64_t version, std::chrono::system_clock::time_point when) {
  const std::time_t tt = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%m/%d/%Y %H:%M:%S", &tm);
  return std::to_string(version) + "!" + buf;
}

std::optional<DeltaToken> DecodeDeltaToken(std::string_view text) {
  const auto bang = text.find('!');
  if (bang == std::string_view::npos) return std::nullopt;
  DeltaToken t;
  if (!ParseInt64(text.substr(0, bang), t.version) || t.version < 0) return std::nullopt;
  std::tm tm{};
  const std::string date(text.substr(bang + 1));
  int mo = 0, d = 0, y = 0, h = 0, mi = 0, s = 0;
  if (std::sscanf(date.c_str(), "%d/%d/%d %d:%d:%d", &mo, &d, &y, &h, &mi, &s) != 6) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || y < 1970 || y > 9999 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  t.when = std::chrono::system_clock::from_time_t(timegm(&tm));
  return t;
}

}  // namespace crmsync::emulator
