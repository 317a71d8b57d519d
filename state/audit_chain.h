// The audit log's hash chain (design.md R9): each row's SHA-256 covers the
// row's own content and the previous row's hash, so editing, deleting or
// reordering a row breaks the chain at that row. Pure functions; the store
// computes hashes on append and checks them on verify, and an exported file
// carries prev_hash and hash on every row so it can be checked on its own.
//
// What is hashed: the hex of SHA-256 over the row's fields in this order -
// seq (decimal), at, run_id, mapping, mapping_version, action, side,
// local_key, remote_id, fields, outcome, prev_hash - each written as its
// length in bytes, a colon, the bytes and a comma (a netstring: no field can
// run into the next). The first row's prev_hash is 64 zeros. An auditor can
// recompute it with any SHA-256 tool from an export.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "state/records.h"

namespace crmsync::state {

inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Lower-case hex SHA-256.
std::string Sha256Hex(std::string_view data);

// The hash `entry` must carry, given its prev_hash and content.
std::string AuditRowHash(const AuditEntry& entry);

// A value the audit log may show of a field marked sensitive: "sha256:<hex>"
// of its display text (so an auditor can tell whether it changed, not what it is).
std::string SensitiveDigest(std::string_view display_text);

}  // namespace crmsync::state
