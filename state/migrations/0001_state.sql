-- State store schema v1 (design.md section 6). Applied once, in one
-- transaction, by SqliteStateStore::Open. Never edit a released step: add a
-- new one. Times are UTC ISO 8601 text; bases and field lists are JSON.

-- A local record and a Dataverse record that are the same thing.
CREATE TABLE coupling (
  mapping TEXT NOT NULL,
  local_key TEXT NOT NULL,
  remote_id TEXT NOT NULL,
  base_local TEXT NOT NULL DEFAULT '{}',
  base_remote TEXT NOT NULL DEFAULT '{}',
  local_version TEXT NOT NULL DEFAULT '',
  remote_version TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'local_deleted', 'remote_deleted')),
  local_seen INTEGER NOT NULL DEFAULT 0,
  remote_seen INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (mapping, local_key)
);
CREATE UNIQUE INDEX coupling_remote ON coupling (mapping, remote_id);
-- No index on the seen epochs: every coupling write would pay for it, and the
-- one query that needs them walks a mapping's couplings once per full read.

-- Where each side's change stream stands, per mapping.
CREATE TABLE cursor (
  mapping TEXT NOT NULL,
  side TEXT NOT NULL CHECK (side IN ('local', 'remote')),
  cursor TEXT NOT NULL DEFAULT '',
  full_epoch INTEGER NOT NULL DEFAULT 0,
  mapping_version TEXT NOT NULL DEFAULT '',
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (mapping, side)
);

-- Epochs of full reads: one row, the last epoch handed out.
CREATE TABLE epoch (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  last INTEGER NOT NULL DEFAULT 0
);
INSERT INTO epoch (id, last) VALUES (1, 0);

-- Dataverse creates in flight (R2): written before the request, removed when coupled.
CREATE TABLE intent (
  mapping TEXT NOT NULL,
  local_key TEXT NOT NULL,
  remote_id TEXT NOT NULL,
  base_local TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (mapping, local_key)
);
CREATE UNIQUE INDEX intent_remote ON intent (mapping, remote_id);

CREATE TABLE conflict (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mapping TEXT NOT NULL,
  local_key TEXT NOT NULL,
  remote_id TEXT NOT NULL DEFAULT '',
  fields TEXT NOT NULL DEFAULT '[]',
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  resolution TEXT NOT NULL DEFAULT '' CHECK (resolution IN ('', 'local', 'remote')),
  resolve_requested INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  resolved_at TEXT
);
CREATE UNIQUE INDEX conflict_open ON conflict (mapping, local_key) WHERE status = 'open';

CREATE TABLE failure (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  mapping TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('local', 'remote')),
  record_key TEXT NOT NULL,
  local_key TEXT NOT NULL DEFAULT '',
  remote_id TEXT NOT NULL DEFAULT '',
  code TEXT NOT NULL,
  remote_code TEXT NOT NULL DEFAULT '',
  http_status INTEGER NOT NULL DEFAULT 0,
  message TEXT NOT NULL,
  transient INTEGER NOT NULL DEFAULT 0,
  retry_requested INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 1,
  first_seen TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  last_seen TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE UNIQUE INDEX failure_record ON failure (mapping, source, record_key);

CREATE TABLE waiting (
  mapping TEXT NOT NULL,
  source TEXT NOT NULL CHECK (source IN ('local', 'remote')),
  record_key TEXT NOT NULL,
  reason TEXT NOT NULL,
  since TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (mapping, source, record_key)
);

CREATE TABLE pending_delete (
  mapping TEXT NOT NULL,
  local_key TEXT NOT NULL,
  remote_id TEXT NOT NULL,
  target TEXT NOT NULL CHECK (target IN ('local', 'remote')),
  expected_version TEXT NOT NULL DEFAULT '',
  since TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (mapping, local_key)
);

CREATE TABLE job_run (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL,
  mapping TEXT NOT NULL,
  command TEXT NOT NULL,
  started_at TEXT NOT NULL,
  finished_at TEXT NOT NULL DEFAULT '',
  outcome TEXT NOT NULL DEFAULT 'interrupted',
  message TEXT NOT NULL DEFAULT '',
  inserted INTEGER NOT NULL DEFAULT 0,
  modified INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  unchanged INTEGER NOT NULL DEFAULT 0,
  skipped INTEGER NOT NULL DEFAULT 0,
  failed INTEGER NOT NULL DEFAULT 0,
  coupled INTEGER NOT NULL DEFAULT 0,
  uncoupled INTEGER NOT NULL DEFAULT 0,
  conflicts INTEGER NOT NULL DEFAULT 0,
  waiting INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX job_run_started ON job_run (started_at);
CREATE INDEX job_run_mapping ON job_run (mapping, finished_at);

-- The hash-chained audit log (R9, state/audit_chain.h); append only.
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  at TEXT NOT NULL,
  run_id TEXT NOT NULL,
  mapping TEXT NOT NULL,
  mapping_version TEXT NOT NULL,
  action TEXT NOT NULL,
  side TEXT NOT NULL,
  local_key TEXT NOT NULL,
  remote_id TEXT NOT NULL,
  fields TEXT NOT NULL,
  outcome TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);

-- The chain's head, moved in the same transaction as every append: a row
-- removed from the end of the log no longer matches it.
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
