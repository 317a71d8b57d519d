-- State schema v4: Dataverse creates in flight recorded a page to a row.
-- An initial push records and removes one intent per record; as a row each
-- (with two index entries) they cost about as much SQLite work as the
-- couplings themselves. Now the intents a write sends together are one row:
-- a JSON array of {"local_key", "remote_id", "created_at", "base_local",
-- "base_remote"}. An intent removed while others of its page stay is taken
-- out of the array; the last one removes the row. Which page holds a key is
-- known from the rows (SqliteStateStore keeps that index in memory).
CREATE TABLE intent_page (
  id INTEGER PRIMARY KEY,
  mapping TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  intents TEXT NOT NULL
);
CREATE INDEX intent_page_mapping ON intent_page (mapping);

-- Intents of an older store: a page each, in the order they were made.
INSERT INTO intent_page (mapping, created_at, intents)
  SELECT mapping, created_at,
         json_array(json_object('local_key', local_key, 'remote_id', remote_id, 'created_at', created_at,
                                'base_local', json(base_local), 'base_remote', json(base_remote)))
  FROM intent ORDER BY created_at, local_key;
DROP TABLE intent;
