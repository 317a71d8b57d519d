-- Schema v6: the rest of Relationship Management. Sales cycles and their
-- stages, close-opportunity codes, campaigns, segments (contacts chosen by
-- saved criteria) and the links between them; an opportunity's sales cycle,
-- stage, completion, close reason and campaign. Every table is
-- change-captured like the other data tables (0002), so membership changes
-- reach the sync engine one row at a time.

CREATE TABLE sales_cycle (
  code TEXT NOT NULL PRIMARY KEY CHECK (length(code) > 0),
  description TEXT NOT NULL CHECK (length(description) > 0),
  -- how an opportunity's probability follows from its stage (crm/sales_cycle.h)
  probability_calculation TEXT NOT NULL DEFAULT 'multiply'
    CHECK (probability_calculation IN ('multiply', 'add', 'chances_of_success', 'completed')),
  blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE sales_cycle_stage (
  sales_cycle_code TEXT NOT NULL REFERENCES sales_cycle (code) ON UPDATE CASCADE ON DELETE CASCADE,
  stage INTEGER NOT NULL CHECK (typeof(stage) = 'integer' AND stage >= 1),
  description TEXT NOT NULL CHECK (length(description) > 0),
  completed_pct INTEGER NOT NULL DEFAULT 0
    CHECK (typeof(completed_pct) = 'integer' AND completed_pct BETWEEN 0 AND 100),
  chances_of_success_pct INTEGER NOT NULL DEFAULT 0
    CHECK (typeof(chances_of_success_pct) = 'integer' AND chances_of_success_pct BETWEEN 0 AND 100),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  PRIMARY KEY (sales_cycle_code, stage)
);

CREATE TABLE close_opportunity_code (
  code TEXT NOT NULL PRIMARY KEY CHECK (length(code) > 0),
  description TEXT NOT NULL CHECK (length(description) > 0),
  type TEXT NOT NULL CHECK (type IN ('won', 'lost')),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE campaign (
  no TEXT NOT NULL PRIMARY KEY CHECK (length(no) > 0),
  description TEXT NOT NULL CHECK (length(description) > 0),
  salesperson_code TEXT REFERENCES salesperson (code) ON UPDATE CASCADE ON DELETE SET NULL,
  starting_date TEXT CHECK (starting_date IS NULL OR (starting_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(starting_date, '+0 days') IS starting_date)),
  ending_date TEXT CHECK (ending_date IS NULL OR (ending_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(ending_date, '+0 days') IS ending_date)),
  status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'active', 'completed', 'cancelled')),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  CHECK (starting_date IS NULL OR ending_date IS NULL OR ending_date >= starting_date)
);

CREATE TABLE segment (
  no TEXT NOT NULL PRIMARY KEY CHECK (length(no) > 0),
  description TEXT NOT NULL CHECK (length(description) > 0),
  salesperson_code TEXT REFERENCES salesperson (code) ON UPDATE CASCADE ON DELETE SET NULL,
  date TEXT NOT NULL DEFAULT (date('now')) CHECK (date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(date, '+0 days') IS date),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- A segment's saved criteria, in line order. Rows with the same step were
-- given together and combine with AND; each step adds the matching contacts,
-- removes them, or keeps only them (refine). `reapply` runs the steps again.
CREATE TABLE segment_criterion (
  segment_no TEXT NOT NULL REFERENCES segment (no) ON UPDATE CASCADE ON DELETE CASCADE,
  line_no INTEGER NOT NULL CHECK (typeof(line_no) = 'integer' AND line_no >= 1),
  step INTEGER NOT NULL CHECK (typeof(step) = 'integer' AND step >= 1),
  action TEXT NOT NULL CHECK (action IN ('add', 'remove', 'refine')),
  column_name TEXT NOT NULL CHECK (length(column_name) > 0),
  operator TEXT NOT NULL CHECK (operator IN ('=', '!=', 'like', 'in')),
  -- 'in': the values separated by commas
  value TEXT NOT NULL,
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  PRIMARY KEY (segment_no, line_no)
);

CREATE TABLE segment_member (
  segment_no TEXT NOT NULL REFERENCES segment (no) ON UPDATE CASCADE ON DELETE CASCADE,
  contact_no TEXT NOT NULL REFERENCES contact (no) ON UPDATE CASCADE ON DELETE CASCADE,
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  PRIMARY KEY (segment_no, contact_no)
);
CREATE INDEX segment_member_contact_no ON segment_member (contact_no);

CREATE TABLE campaign_segment (
  campaign_no TEXT NOT NULL REFERENCES campaign (no) ON UPDATE CASCADE ON DELETE CASCADE,
  segment_no TEXT NOT NULL REFERENCES segment (no) ON UPDATE CASCADE ON DELETE CASCADE,
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  PRIMARY KEY (campaign_no, segment_no)
);
CREATE INDEX campaign_segment_segment_no ON campaign_segment (segment_no);

-- The opportunity's place in its sales cycle, and how it closed.
ALTER TABLE opportunity ADD COLUMN sales_cycle_code TEXT
  REFERENCES sales_cycle (code) ON UPDATE CASCADE ON DELETE SET NULL;
ALTER TABLE opportunity ADD COLUMN current_stage INTEGER
  CHECK (current_stage IS NULL OR (typeof(current_stage) = 'integer' AND current_stage >= 1));
ALTER TABLE opportunity ADD COLUMN completed_pct INTEGER
  CHECK (completed_pct IS NULL OR (typeof(completed_pct) = 'integer' AND completed_pct BETWEEN 0 AND 100));
ALTER TABLE opportunity ADD COLUMN close_opportunity_code TEXT
  REFERENCES close_opportunity_code (code) ON UPDATE CASCADE ON DELETE SET NULL;
ALTER TABLE opportunity ADD COLUMN date_closed TEXT
  CHECK (date_closed IS NULL OR (date_closed GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(date_closed, '+0 days') IS date_closed));
ALTER TABLE opportunity ADD COLUMN campaign_no TEXT
  REFERENCES campaign (no) ON UPDATE CASCADE ON DELETE SET NULL;

INSERT INTO setup (key, value) VALUES ('default_sales_cycle_code', NULL);

-- sales_cycle ---------------------------------------------------------------
CREATE TRIGGER sales_cycle_crmsync_insert AFTER INSERT ON sales_cycle
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('sales_cycle', NEW.code, 'insert');
END;

CREATE TRIGGER sales_cycle_crmsync_update AFTER UPDATE ON sales_cycle
BEGIN
  UPDATE sales_cycle SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'sales_cycle', OLD.code, 'delete' WHERE OLD.code IS NOT NEW.code;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('sales_cycle', NEW.code, CASE WHEN OLD.code IS NOT NEW.code THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.code
  WHERE table_name = 'sales_cycle' AND key = OLD.code AND (OLD.code IS NOT NEW.code);
END;

CREATE TRIGGER sales_cycle_crmsync_delete AFTER DELETE ON sales_cycle
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('sales_cycle', OLD.code, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'sales_cycle' AND key = OLD.code;
END;

-- sales_cycle_stage ---------------------------------------------------------
CREATE TRIGGER sales_cycle_stage_crmsync_insert AFTER INSERT ON sales_cycle_stage
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('sales_cycle_stage', json_array(NEW.sales_cycle_code, NEW.stage), 'insert');
END;

CREATE TRIGGER sales_cycle_stage_crmsync_update AFTER UPDATE ON sales_cycle_stage
BEGIN
  UPDATE sales_cycle_stage SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'sales_cycle_stage', json_array(OLD.sales_cycle_code, OLD.stage), 'delete' WHERE OLD.sales_cycle_code IS NOT NEW.sales_cycle_code OR OLD.stage IS NOT NEW.stage;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('sales_cycle_stage', json_array(NEW.sales_cycle_code, NEW.stage), CASE WHEN OLD.sales_cycle_code IS NOT NEW.sales_cycle_code OR OLD.stage IS NOT NEW.stage THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = json_array(NEW.sales_cycle_code, NEW.stage)
  WHERE table_name = 'sales_cycle_stage' AND key = json_array(OLD.sales_cycle_code, OLD.stage) AND (OLD.sales_cycle_code IS NOT NEW.sales_cycle_code OR OLD.stage IS NOT NEW.stage);
END;

CREATE TRIGGER sales_cycle_stage_crmsync_delete AFTER DELETE ON sales_cycle_stage
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('sales_cycle_stage', json_array(OLD.sales_cycle_code, OLD.stage), 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'sales_cycle_stage' AND key = json_array(OLD.sales_cycle_code, OLD.stage);
END;

-- close_opportunity_code ----------------------------------------------------
CREATE TRIGGER close_opportunity_code_crmsync_insert AFTER INSERT ON close_opportunity_code
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('close_opportunity_code', NEW.code, 'insert');
END;

CREATE TRIGGER close_opportunity_code_crmsync_update AFTER UPDATE ON close_opportunity_code
BEGIN
  UPDATE close_opportunity_code SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'close_opportunity_code', OLD.code, 'delete' WHERE OLD.code IS NOT NEW.code;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('close_opportunity_code', NEW.code, CASE WHEN OLD.code IS NOT NEW.code THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.code
  WHERE table_name = 'close_opportunity_code' AND key = OLD.code AND (OLD.code IS NOT NEW.code);
END;

CREATE TRIGGER close_opportunity_code_crmsync_delete AFTER DELETE ON close_opportunity_code
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('close_opportunity_code', OLD.code, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'close_opportunity_code' AND key = OLD.code;
END;

-- campaign ------------------------------------------------------------------
CREATE TRIGGER campaign_crmsync_insert AFTER INSERT ON campaign
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('campaign', NEW.no, 'insert');
END;

CREATE TRIGGER campaign_crmsync_update AFTER UPDATE ON campaign
BEGIN
  UPDATE campaign SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'campaign', OLD.no, 'delete' WHERE OLD.no IS NOT NEW.no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('campaign', NEW.no, CASE WHEN OLD.no IS NOT NEW.no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.no
  WHERE table_name = 'campaign' AND key = OLD.no AND (OLD.no IS NOT NEW.no);
END;

CREATE TRIGGER campaign_crmsync_delete AFTER DELETE ON campaign
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('campaign', OLD.no, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'campaign' AND key = OLD.no;
END;

-- segment -------------------------------------------------------------------
CREATE TRIGGER segment_crmsync_insert AFTER INSERT ON segment
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('segment', NEW.no, 'insert');
END;

CREATE TRIGGER segment_crmsync_update AFTER UPDATE ON segment
BEGIN
  UPDATE segment SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'segment', OLD.no, 'delete' WHERE OLD.no IS NOT NEW.no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('segment', NEW.no, CASE WHEN OLD.no IS NOT NEW.no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.no
  WHERE table_name = 'segment' AND key = OLD.no AND (OLD.no IS NOT NEW.no);
END;

CREATE TRIGGER segment_crmsync_delete AFTER DELETE ON segment
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('segment', OLD.no, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'segment' AND key = OLD.no;
END;

-- segment_criterion ---------------------------------------------------------
CREATE TRIGGER segment_criterion_crmsync_insert AFTER INSERT ON segment_criterion
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('segment_criterion', json_array(NEW.segment_no, NEW.line_no), 'insert');
END;

CREATE TRIGGER segment_criterion_crmsync_update AFTER UPDATE ON segment_criterion
BEGIN
  UPDATE segment_criterion SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'segment_criterion', json_array(OLD.segment_no, OLD.line_no), 'delete' WHERE OLD.segment_no IS NOT NEW.segment_no OR OLD.line_no IS NOT NEW.line_no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('segment_criterion', json_array(NEW.segment_no, NEW.line_no), CASE WHEN OLD.segment_no IS NOT NEW.segment_no OR OLD.line_no IS NOT NEW.line_no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = json_array(NEW.segment_no, NEW.line_no)
  WHERE table_name = 'segment_criterion' AND key = json_array(OLD.segment_no, OLD.line_no) AND (OLD.segment_no IS NOT NEW.segment_no OR OLD.line_no IS NOT NEW.line_no);
END;

CREATE TRIGGER segment_criterion_crmsync_delete AFTER DELETE ON segment_criterion
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('segment_criterion', json_array(OLD.segment_no, OLD.line_no), 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'segment_criterion' AND key = json_array(OLD.segment_no, OLD.line_no);
END;

-- segment_member ------------------------------------------------------------
CREATE TRIGGER segment_member_crmsync_insert AFTER INSERT ON segment_member
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('segment_member', json_array(NEW.segment_no, NEW.contact_no), 'insert');
END;

CREATE TRIGGER segment_member_crmsync_update AFTER UPDATE ON segment_member
BEGIN
  UPDATE segment_member SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'segment_member', json_array(OLD.segment_no, OLD.contact_no), 'delete' WHERE OLD.segment_no IS NOT NEW.segment_no OR OLD.contact_no IS NOT NEW.contact_no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('segment_member', json_array(NEW.segment_no, NEW.contact_no), CASE WHEN OLD.segment_no IS NOT NEW.segment_no OR OLD.contact_no IS NOT NEW.contact_no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = json_array(NEW.segment_no, NEW.contact_no)
  WHERE table_name = 'segment_member' AND key = json_array(OLD.segment_no, OLD.contact_no) AND (OLD.segment_no IS NOT NEW.segment_no OR OLD.contact_no IS NOT NEW.contact_no);
END;

CREATE TRIGGER segment_member_crmsync_delete AFTER DELETE ON segment_member
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('segment_member', json_array(OLD.segment_no, OLD.contact_no), 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'segment_member' AND key = json_array(OLD.segment_no, OLD.contact_no);
END;

-- campaign_segment ----------------------------------------------------------
CREATE TRIGGER campaign_segment_crmsync_insert AFTER INSERT ON campaign_segment
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('campaign_segment', json_array(NEW.campaign_no, NEW.segment_no), 'insert');
END;

CREATE TRIGGER campaign_segment_crmsync_update AFTER UPDATE ON campaign_segment
BEGIN
  UPDATE campaign_segment SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'campaign_segment', json_array(OLD.campaign_no, OLD.segment_no), 'delete' WHERE OLD.campaign_no IS NOT NEW.campaign_no OR OLD.segment_no IS NOT NEW.segment_no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('campaign_segment', json_array(NEW.campaign_no, NEW.segment_no), CASE WHEN OLD.campaign_no IS NOT NEW.campaign_no OR OLD.segment_no IS NOT NEW.segment_no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = json_array(NEW.campaign_no, NEW.segment_no)
  WHERE table_name = 'campaign_segment' AND key = json_array(OLD.campaign_no, OLD.segment_no) AND (OLD.campaign_no IS NOT NEW.campaign_no OR OLD.segment_no IS NOT NEW.segment_no);
END;

CREATE TRIGGER campaign_segment_crmsync_delete AFTER DELETE ON campaign_segment
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('campaign_segment', json_array(OLD.campaign_no, OLD.segment_no), 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'campaign_segment' AND key = json_array(OLD.campaign_no, OLD.segment_no);
END;

