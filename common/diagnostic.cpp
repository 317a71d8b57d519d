#include "common/diagnostic.h"

#include <algorithm>
#include <cctype>

namespace crmsync {

namespace {

std::size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                                                       std::tolower(static_cast<unsigned char>(b[j - 1]))
                                                   ? 0
                                                   : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::string Diagnostic::ToString() const {
  std::string out = file;
  if (line > 0) {
    out.push_back(':');
    out.append(std::to_string(line));
  }
  out.append(": ");
  if (!path.empty()) {
    out.append(path);
    out.append(": ");
  }
  out.append(message);
  return out;
}

std::string ClosestMatch(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = 3;
  for (const auto& c : candidates) {
    const std::size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  return best;
}

}  // namespace crmsync
