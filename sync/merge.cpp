#include "sync/merge.h"

#include "mapping/canonical.h"

namespace crmsync::sync {

namespace {

using mapping::CanonicalEqual;
using mapping::FieldMapping;

const Value& Get(const Record& r, const std::string& name) {
  static const Value* const kNull = new Value();
  const auto it = r.find(name);
  return it == r.end() ? *kNull : it->second;
}

}  // namespace

bool MergeDecision::parked() const {
  for (const auto& c : conflicts) {
    if (!c.winner) return true;
  }
  return false;
}

bool LocalChanged(const FieldMapping& f, const Record& local, const Record& base_local) {
  if (f.local.empty() || f.constant) return false;
  const auto it = local.find(f.local);
  if (it == local.end()) return false;  // not read: nothing known
  return !CanonicalEqual(it->second, Get(base_local, f.local));
}

bool RemoteChanged(const FieldMapping& f, const Record& remote, const Record& base_remote) {
  if (f.constant) return false;
  for (const auto& attribute : f.RemoteReadAttributes()) {
    const auto it = remote.find(attribute);
    if (it == remote.end()) continue;
    if (!CanonicalEqual(it->second, Get(base_remote, attribute))) return true;
  }
  return false;
}

MergeDecision Merge(const MergeInput& in) {
  MergeDecision out;
  const mapping::Mapping& m = *in.mapping;
  static const Record* const kEmpty = new Record();
  const Record& local = in.local != nullptr ? *in.local : *kEmpty;
  const Record& remote = in.remote != nullptr ? *in.remote : *kEmpty;
  const Record& base_local = in.base_local != nullptr ? *in.base_local : *kEmpty;
  const Record& base_remote = in.base_remote != nullptr ? *in.base_remote : *kEmpty;
  for (const FieldMapping& f : m.fields) {
    if (f.constant) continue;
    const bool lc = LocalChanged(f, local, base_local);
    const bool rc = RemoteChanged(f, remote, base_remote);
    if (!lc && !rc) continue;
    if (lc && !rc) {
      if (f.ToRemote()) out.to_remote.push_back(&f);
      continue;
    }
    if (!lc && rc) {
      if (f.FromRemote()) out.to_local.push_back(&f);
      continue;
    }
    // Both sides changed it: compare in the local form.
    const Value& local_value = Get(local, f.local);
    const Value* remote_as_local = nullptr;
    if (in.remote_mapped != nullptr) {
      const auto it = in.remote_mapped->fields.find(f.local);
      if (it != in.remote_mapped->fields.end()) remote_as_local = &it->second;
    }
    if (remote_as_local != nullptr && CanonicalEqual(local_value, *remote_as_local)) {
      out.converged.push_back(&f);
      continue;
    }
    // One-way fields have a source of truth: no policy to apply.
    if (!f.ToRemote()) {
      out.to_local.push_back(&f);
      continue;
    }
    if (!f.FromRemote()) {
      out.to_remote.push_back(&f);
      continue;
    }
    FieldConflict conflict;
    conflict.field = &f;
    conflict.base = mapping::Canonical(Get(base_local, f.local));
    conflict.local = mapping::Canonical(local_value);
    conflict.remote = remote_as_local != nullptr ? mapping::Canonical(*remote_as_local) : Value();
    using W = FieldConflict::Winner;
    switch (m.conflict) {
      case mapping::ConflictPolicy::kLocalWins: conflict.winner = W::kLocal; break;
      case mapping::ConflictPolicy::kRemoteWins: conflict.winner = W::kRemote; break;
      case mapping::ConflictPolicy::kNewestWins:
        // Times only break this tie (R5); unknown or equal: the remote side.
        conflict.winner = in.local_modified && in.remote_modified && *in.local_modified > *in.remote_modified
                              ? W::kLocal
                              : W::kRemote;
        break;
      case mapping::ConflictPolicy::kManual: break;
    }
    if (conflict.winner == W::kLocal) out.to_remote.push_back(&f);
    if (conflict.winner == W::kRemote) out.to_local.push_back(&f);
    out.conflicts.push_back(std::move(conflict));
  }
  return out;
}

}  // namespace crmsync::sync
