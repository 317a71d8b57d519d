-- State schema v3: local creates in flight (R2 on the local side). A create
-- in the local store is recorded before it is made, with the bases it will
-- have, keyed by the Dataverse id it carries as its origin: the local key is
-- not known until the number series gives it. After a crash the row is found
-- again by its origin and coupled with these bases, so an edit made on either
-- side between the create and the next pass shows as a change instead of
-- becoming the base.
CREATE TABLE local_create_intent (
  mapping TEXT NOT NULL,
  remote_id TEXT NOT NULL,
  base_local TEXT NOT NULL DEFAULT '{}',   -- the local values the create writes (canonical)
  base_remote TEXT NOT NULL DEFAULT '{}',  -- the Dataverse record it was made from (canonical)
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  PRIMARY KEY (mapping, remote_id)
);
