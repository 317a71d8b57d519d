#include "tests/status/prometheus_text_check.h"

#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

namespace crmsync::status::testing {

namespace {

bool IsNameStart(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0 || c == '_' || c == ':';
}
bool IsNameChar(char c) {
  return IsNameStart(c) || std::isdigit(static_cast<unsigned char>(c)) != 0;
}
bool ValidMetricName(const std::string& s) {
  if (s.empty() || !IsNameStart(s[0])) return false;
  for (char c : s) {
    if (!IsNameChar(c)) return false;
  }
  return true;
}
bool ValidLabelName(const std::string& s) {
  if (s.empty() || s[0] == ':' || !IsNameStart(s[0]) || s.rfind("__", 0) == 0) return false;
  for (char c : s) {
    if (!IsNameChar(c) || c == ':') return false;
  }
  return true;
}
bool ParseValue(const std::string& s, double& out) {
  if (s == "NaN") return out = 0, true;
  if (s == "+Inf" || s == "-Inf") return out = 0, true;
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

}  // namespace

const ParsedSample* ParsedExposition::Find(const std::string& name,
                                           const std::map<std::string, std::string>& labels) const {
  for (const auto& s : samples) {
    if (s.name == name && s.labels == labels) return &s;
  }
  return nullptr;
}

ParsedExposition ParseExposition(const std::string& text) {
  ParsedExposition out;
  if (!text.empty() && text.back() != '\n') out.errors.push_back("the text does not end with a newline");
  std::istringstream in(text);
  std::string line;
  int n = 0;
  std::string current;             // the family whose samples are being read
  std::set<std::string> finished;  // families whose samples ended
  std::set<std::string> seen_samples;
  auto error = [&](const std::string& what) { out.errors.push_back("line " + std::to_string(n) + ": " + what); };
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string keyword, name;
      words >> keyword >> name;
      if (keyword != "HELP" && keyword != "TYPE") continue;  // a plain comment
      if (!ValidMetricName(name)) {
        error("bad metric name in " + keyword + ": " + name);
        continue;
      }
      if (finished.count(name) != 0 || (current == name && out.samples.size() > 0 && out.samples.back().name == name)) {
        error(keyword + " of " + name + " after its samples");
      }
      std::string rest;
      std::getline(words, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      if (keyword == "HELP") {
        if (out.help.count(name) != 0) error("second HELP for " + name);
        std::string unescaped;
        for (std::size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] == '\\' && i + 1 < rest.size()) {
            const char e = rest[++i];
            if (e == 'n') {
              unescaped += '\n';
            } else if (e == '\\') {
              unescaped += '\\';
            } else {
              error("bad escape in HELP of " + name);
            }
          } else {
            unescaped += rest[i];
          }
        }
        out.help[name] = unescaped;
      } else {
        if (out.types.count(name) != 0) error("second TYPE for " + name);
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
        if (kTypes.count(rest) == 0) error("unknown type " + rest + " for " + name);
        if (rest == "counter" && (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)) {
          error("counter " + name + " does not end in _total");
        }
        out.types[name] = rest;
      }
      continue;
    }
    // A sample: name{label="value",...} value [timestamp]
    ParsedSample s;
    std::size_t i = 0;
    while (i < line.size() && IsNameChar(line[i])) ++i;
    s.name = line.substr(0, i);
    if (!ValidMetricName(s.name)) {
      error("bad sample name: " + line);
      continue;
    }
    if (i < line.size() && line[i] == '{') {
      ++i;
      bool ok = true;
      while (ok && i < line.size() && line[i] != '}') {
        std::size_t start = i;
        while (i < line.size() && IsNameChar(line[i])) ++i;
        const std::string label = line.substr(start, i - start);
        if (!ValidLabelName(label)) ok = false;
        if (i + 1 >= line.size() || line[i] != '=' || line[i + 1] != '"') {
          ok = false;
          break;
        }
        i += 2;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (i >= line.size()) break;
            const char e = line[i++];
            if (e == 'n') {
              value += '\n';
            } else if (e == '\\' || e == '"') {
              value += e;
            } else {
              ok = false;
            }
          } else {
            value += c;
          }
        }
        if (!closed) ok = false;
        if (s.labels.count(label) != 0) ok = false;
        s.labels[label] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (!ok || i >= line.size() || line[i] != '}') {
        error("bad labels: " + line);
        continue;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      error("no value: " + line);
      continue;
    }
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!ParseValue(value, s.value)) error("bad value: " + line);
    if (!extra.empty()) error("trailing text: " + line);
    // The family of a sample: its name (summaries and histograms aside, which the renderer does not use).
    const std::string family = s.name;
    if (out.types.count(family) == 0) error("sample of " + family + " without a TYPE before it");
    if (family != current) {
      if (!current.empty()) finished.insert(current);
      if (finished.count(family) != 0) error("samples of " + family + " are not together");
      current = family;
    }
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
    if (!seen_samples.insert(key).second) error("duplicate sample: " + line);
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace crmsync::status::testing
