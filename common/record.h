// Record: a row of the local store or a Dataverse record as the engine, the
// mapper and both connectors see it: column/attribute name -> Value, ordered
// by name so that output is deterministic.
//
// A sorted vector with the part of std::map's interface crmsync uses, not a
// std::map: a record has tens of fields and is built, copied, compared and
// destroyed several times per record per pass. A node per field made the
// allocator and pointer chasing the largest part of the engine's own CPU
// (engine_cpu_bench, perf); one contiguous block does the same work with one
// allocation.
//
// Unlike std::map, inserting or erasing a field invalidates every iterator
// and reference into the record: do not hold one across an insertion.
//
// Thread-safety: a value type.
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/value.h"

namespace crmsync {

class Record {
 public:
  using key_type = std::string;
  using mapped_type = Value;
  using value_type = std::pair<std::string, Value>;
  using size_type = std::size_t;
  using iterator = std::vector<value_type>::iterator;
  using const_iterator = std::vector<value_type>::const_iterator;

  Record() = default;
  // As std::map: of fields given twice, the first is kept.
  Record(std::initializer_list<value_type> fields) { insert(fields.begin(), fields.end()); }
  template <class InputIt>
  Record(InputIt first, InputIt last) {
    insert(first, last);
  }

  iterator begin() { return fields_.begin(); }
  iterator end() { return fields_.end(); }
  const_iterator begin() const { return fields_.begin(); }
  const_iterator end() const { return fields_.end(); }
  const_iterator cbegin() const { return fields_.cbegin(); }
  const_iterator cend() const { return fields_.cend(); }

  bool empty() const { return fields_.empty(); }
  size_type size() const { return fields_.size(); }
  void clear() { fields_.clear(); }
  void reserve(size_type n) { fields_.reserve(n); }

  iterator find(std::string_view name) {
    auto it = LowerBound(name);
    return it != fields_.end() && std::string_view(it->first) == name ? it : fields_.end();
  }
  const_iterator find(std::string_view name) const {
    auto it = LowerBound(name);
    return it != fields_.end() && std::string_view(it->first) == name ? it : fields_.end();
  }
  size_type count(std::string_view name) const { return find(name) != end() ? 1 : 0; }
  bool contains(std::string_view name) const { return find(name) != end(); }

  Value& at(std::string_view name) {
    auto it = find(name);
    if (it == end()) throw std::out_of_range("Record::at: no field " + std::string(name));
    return it->second;
  }
  const Value& at(std::string_view name) const {
    auto it = find(name);
    if (it == end()) throw std::out_of_range("Record::at: no field " + std::string(name));
    return it->second;
  }

  Value& operator[](std::string_view name) { return try_emplace(name).first->second; }

  // `name` is anything a std::string can be made from and viewed as.
  template <class K, class... Args>
  std::pair<iterator, bool> try_emplace(K&& name, Args&&... args) {
    const std::string_view key(name);
    auto it = LowerBound(key);
    if (it != fields_.end() && std::string_view(it->first) == key) return {it, false};
    return {fields_.emplace(it, std::piecewise_construct, std::forward_as_tuple(std::forward<K>(name)),
                            std::forward_as_tuple(std::forward<Args>(args)...)),
            true};
  }
  template <class K, class V>
  std::pair<iterator, bool> insert_or_assign(K&& name, V&& value) {
    const std::string_view key(name);
    auto it = LowerBound(key);
    if (it != fields_.end() && std::string_view(it->first) == key) {
      it->second = std::forward<V>(value);
      return {it, false};
    }
    return {fields_.emplace(it, std::forward<K>(name), std::forward<V>(value)), true};
  }
  template <class K, class V>
  std::pair<iterator, bool> emplace(K&& name, V&& value) {
    return try_emplace(std::forward<K>(name), std::forward<V>(value));
  }
  std::pair<iterator, bool> insert(const value_type& field) { return try_emplace(field.first, field.second); }

  template <class InputIt>
  void insert(InputIt first, InputIt last) {
    for (; first != last; ++first) try_emplace(first->first, first->second);
  }
  // Appends without a search when `hint` is where the name belongs (names
  // given in order: the usual case when a record is built field by field).
  template <class K, class V>
  iterator emplace_hint(const_iterator hint, K&& name, V&& value) {
    const std::string_view key(name);
    const bool after_previous = hint == cbegin() || std::string_view(std::prev(hint)->first) < key;
    const bool before_next = hint == cend() || key < std::string_view(hint->first);
    if (after_previous && before_next) {
      return fields_.emplace(hint, std::piecewise_construct, std::forward_as_tuple(std::forward<K>(name)),
                             std::forward_as_tuple(std::forward<V>(value)));
    }
    return try_emplace(std::forward<K>(name), std::forward<V>(value)).first;
  }

  size_type erase(std::string_view name) {
    auto it = find(name);
    if (it == end()) return 0;
    fields_.erase(it);
    return 1;
  }
  iterator erase(const_iterator pos) { return fields_.erase(pos); }
  iterator erase(const_iterator first, const_iterator last) { return fields_.erase(first, last); }

  // Sets each field of `fields` (of a name given twice, the later), as one
  // sort and one merge: setting fields one by one in an order other than the
  // names' shifts the fields after each one.
  void Assign(std::vector<value_type> fields);

  void swap(Record& other) noexcept { fields_.swap(other.fields_); }

  friend bool operator==(const Record& a, const Record& b) { return a.fields_ == b.fields_; }
  friend bool operator!=(const Record& a, const Record& b) { return !(a == b); }

 private:
  iterator LowerBound(std::string_view name) {
    return std::lower_bound(fields_.begin(), fields_.end(), name,
                            [](const value_type& f, std::string_view n) { return std::string_view(f.first) < n; });
  }
  const_iterator LowerBound(std::string_view name) const {
    return std::lower_bound(fields_.begin(), fields_.end(), name,
                            [](const value_type& f, std::string_view n) { return std::string_view(f.first) < n; });
  }

  std::vector<value_type> fields_;
};

}  // namespace crmsync
