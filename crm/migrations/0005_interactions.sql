-- Schema v5: interactions. The interaction log (`interaction`: who was
-- contacted, by whom, how, when and with what result) and the templates
-- that give an interaction its defaults per kind (`interaction_template`).
-- Both are change-captured like the other data tables (0002).

CREATE TABLE interaction_template (
  code TEXT NOT NULL PRIMARY KEY CHECK (length(code) > 0),
  description TEXT NOT NULL CHECK (length(description) > 0),
  type TEXT NOT NULL CHECK (type IN ('email', 'letter', 'phone_call', 'meeting')),
  direction TEXT NOT NULL DEFAULT 'out' CHECK (direction IN ('in', 'out')),
  duration_min INTEGER CHECK (duration_min IS NULL OR (typeof(duration_min) = 'integer' AND duration_min >= 0)),
  cost NUMERIC CHECK (cost IS NULL OR (typeof(cost) IN ('integer', 'real') AND cost >= 0)),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE interaction (
  no TEXT NOT NULL PRIMARY KEY CHECK (length(no) > 0),
  contact_no TEXT NOT NULL REFERENCES contact (no) ON UPDATE CASCADE ON DELETE CASCADE,
  salesperson_code TEXT REFERENCES salesperson (code) ON UPDATE CASCADE ON DELETE SET NULL,
  template_code TEXT REFERENCES interaction_template (code) ON UPDATE CASCADE ON DELETE SET NULL,
  type TEXT NOT NULL CHECK (type IN ('email', 'letter', 'phone_call', 'meeting')),
  date TEXT NOT NULL DEFAULT (date('now')) CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(date, '+0 days') IS date),
  time TEXT CHECK (time IS NULL OR (time GLOB '[0-2][0-9]:[0-5][0-9]' AND time < '24:00')),
  duration_min INTEGER CHECK (duration_min IS NULL OR (typeof(duration_min) = 'integer' AND duration_min >= 0)),
  subject TEXT NOT NULL CHECK (length(subject) > 0),
  description TEXT,
  direction TEXT NOT NULL DEFAULT 'out' CHECK (direction IN ('in', 'out')),
  evaluation TEXT CHECK (evaluation IS NULL OR evaluation IN ('very_positive', 'positive', 'neutral', 'negative', 'very_negative')),
  attempt_failed INTEGER NOT NULL DEFAULT 0 CHECK (attempt_failed IN (0, 1)),
  cost NUMERIC CHECK (cost IS NULL OR (typeof(cost) IN ('integer', 'real') AND cost >= 0)),
  -- campaigns arrive in a later schema step; the number is kept as text until then
  campaign_no TEXT,
  completed INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX interaction_contact_no ON interaction (contact_no);
CREATE INDEX interaction_salesperson_code ON interaction (salesperson_code);

INSERT INTO interaction_template (code, description, type, direction, duration_min) VALUES
  ('EMAIL', 'E-mail', 'email', 'out', NULL),
  ('LETTER', 'Letter', 'letter', 'out', NULL),
  ('PHONE', 'Phone call', 'phone_call', 'out', 15),
  ('MEETING', 'Meeting', 'meeting', 'out', 60);

-- interaction_template -----------------------------------------------------
CREATE TRIGGER interaction_template_crmsync_insert AFTER INSERT ON interaction_template
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('interaction_template', NEW.code, 'insert');
END;

CREATE TRIGGER interaction_template_crmsync_update AFTER UPDATE ON interaction_template
BEGIN
  UPDATE interaction_template SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'interaction_template', OLD.code, 'delete' WHERE OLD.code IS NOT NEW.code;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('interaction_template', NEW.code, CASE WHEN OLD.code IS NOT NEW.code THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.code
  WHERE table_name = 'interaction_template' AND key = OLD.code AND OLD.code IS NOT NEW.code;
END;

CREATE TRIGGER interaction_template_crmsync_delete AFTER DELETE ON interaction_template
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('interaction_template', OLD.code, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'interaction_template' AND key = OLD.code;
END;

-- interaction ----------------------------------------------------------------
CREATE TRIGGER interaction_crmsync_insert AFTER INSERT ON interaction
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('interaction', NEW.no, 'insert');
END;

CREATE TRIGGER interaction_crmsync_update AFTER UPDATE ON interaction
BEGIN
  UPDATE interaction SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'interaction', OLD.no, 'delete' WHERE OLD.no IS NOT NEW.no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('interaction', NEW.no, CASE WHEN OLD.no IS NOT NEW.no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.no WHERE table_name = 'interaction' AND key = OLD.no AND OLD.no IS NOT NEW.no;
END;

CREATE TRIGGER interaction_crmsync_delete AFTER DELETE ON interaction
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('interaction', OLD.no, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'interaction' AND key = OLD.no;
END;
