#include "common/record.h"

#include <algorithm>
#include <cstdint>

namespace crmsync {

void Record::Assign(std::vector<value_type> fields) {
  // Sorts positions, not fields: moving a field (a string and a value) costs
  // more than comparing two names, and each field then moves once.
  std::vector<std::uint32_t> order(fields.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return fields[a].first < fields[b].first; });
  std::vector<value_type> merged;
  merged.reserve(fields_.size() + fields.size());
  auto old = fields_.begin();
  for (std::size_t i = 0; i < order.size(); ++i) {
    value_type& set = fields[order[i]];
    // Of a run of one name, the last is the one set.
    if (i + 1 < order.size() && fields[order[i + 1]].first == set.first) continue;
    while (old != fields_.end() && old->first < set.first) merged.push_back(std::move(*old++));
    if (old != fields_.end() && old->first == set.first) ++old;  // replaced
    merged.push_back(std::move(set));
  }
  while (old != fields_.end()) merged.push_back(std::move(*old++));
  fields_ = std::move(merged);
}

}  // namespace crmsync
