// A strict reader of the Prometheus text exposition format (0.0.4) for the
// tests: it fails where Prometheus would refuse a scrape or where the format's
// conventions are broken, so the renderer's tests can fail without promtool.
//
// Checked: every line is a HELP, a TYPE, a comment or a sample; names and
// label names are valid; label values use only the three escapes; a value
// is a float (NaN, +Inf, -Inf too); a family has at most one HELP and one
// TYPE, both before its samples, and its samples are contiguous; a counter's
// name ends in _total; no sample (name and labels) appears twice.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace crmsync::status::testing {

struct ParsedSample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped
  double value = 0;
};

struct ParsedExposition {
  std::vector<std::string> errors;           // "line N: what"; empty when the text is valid
  std::map<std::string, std::string> types;  // family -> counter, gauge, ...
  std::map<std::string, std::string> help;   // family -> unescaped text
  std::vector<ParsedSample> samples;

  // The value of the sample with exactly these labels, if there is one.
  const ParsedSample* Find(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
};

ParsedExposition ParseExposition(const std::string& text);

}  // namespace crmsync::status::testing
