#include "crm/statement_cache.h"

#include <utility>

namespace crmsync::crm {

Result<CachedStatement> StatementCache::Get(std::string_view sql) {
  auto it = entries_.find(sql);
  if (it != entries_.end() && it->second.lent) {
    // Already in use further up the stack: a separate statement for this use.
    CRMSYNC_ASSIGN_OR_RETURN(SqliteStatement own, db_->Prepare(sql));
    return CachedStatement(std::move(own));
  }
  if (it == entries_.end()) {
    CRMSYNC_ASSIGN_OR_RETURN(SqliteStatement statement, db_->Prepare(sql));
    it = entries_.emplace(std::string(sql), Entry{std::move(statement)}).first;
  }
  it->second.lent = true;
  return CachedStatement(&it->second);
}

CachedStatement::CachedStatement(CachedStatement&& other) noexcept
    : entry_(std::exchange(other.entry_, nullptr)), own_(std::move(other.own_)), statement_(other.statement_) {
  if (own_) statement_ = &*own_;
  other.statement_ = nullptr;
  other.own_.reset();
}

CachedStatement::~CachedStatement() {
  if (statement_ == nullptr) return;  // moved from
  statement_->Reset();
  if (entry_ != nullptr) entry_->lent = false;
}

}  // namespace crmsync::crm
