-- State schema v2: what a write in flight wrote, so that a pass whose commit
-- was lost does not mistake crmsync's own write for an edit on the other
-- side, and an edit made after that write is not lost (R1, R3).

-- Updates in flight: the bases the written fields will have on each side.
CREATE TABLE write_intent (
  mapping TEXT NOT NULL,
  local_key TEXT NOT NULL,
  target TEXT NOT NULL CHECK (target IN ('local', 'remote')),
  local TEXT NOT NULL DEFAULT '{}',
  remote TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (mapping, local_key, target)
);

-- Creates in flight: the Dataverse values the create writes (canonical; null
-- for a mapped attribute it leaves unset). A create found again after a crash
-- is coupled with these as its Dataverse base, so an edit made in Dataverse
-- after the create shows as a change instead of becoming the base.
ALTER TABLE intent ADD COLUMN base_remote TEXT NOT NULL DEFAULT '{}';
