-- Schema v2: change capture. Every insert, update and delete of the five
-- data tables, by any program, appends (seq, table_name, key, op) to
-- crmsync_journal in the same transaction as the change. A key change is
-- journalled as 'delete' of the old key and 'insert' of the new one.
--
-- The v1 maintenance triggers are replaced by one AFTER trigger per table and
-- operation that maintains the row (derived name, line amount, modified_at)
-- and journals it: two separate triggers would journal the maintenance
-- UPDATE a second time. Triggers rely on PRAGMA recursive_triggers being off
-- (SQLite's default).
--
-- Keys: the key column as text; for sales_order_line json_array(order_no,
-- line_no), for example ["SO000001",10000] (connectors/connector.h).

CREATE TABLE crmsync_journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name TEXT NOT NULL,
  key TEXT NOT NULL,
  op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
  changed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX crmsync_journal_table_seq ON crmsync_journal (table_name, seq);
CREATE INDEX crmsync_journal_table_key ON crmsync_journal (table_name, key, seq);

-- One row per consumer of the journal (a sync mapping); the journal is
-- pruned at and below the smallest position.
CREATE TABLE crmsync_journal_reader (
  name TEXT NOT NULL PRIMARY KEY,
  position INTEGER NOT NULL DEFAULT 0 CHECK (typeof(position) = 'integer' AND position >= 0),
  updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- The highest seq removed by pruning: a cursor below it has missed changes.
CREATE TABLE crmsync_journal_pruned (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  through INTEGER NOT NULL DEFAULT 0
);
INSERT INTO crmsync_journal_pruned (id, through) VALUES (1, 0);

-- The Dataverse id a row was created from by crmsync (design.md R2): written
-- in the same transaction as the insert, so recovery can find the row a lost
-- pass created. Kept up to date on key change and delete by the triggers.
CREATE TABLE crmsync_origin (
  table_name TEXT NOT NULL,
  key TEXT NOT NULL,
  origin_id TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  PRIMARY KEY (table_name, origin_id)
);
CREATE INDEX crmsync_origin_table_key ON crmsync_origin (table_name, key);

DROP TRIGGER contact_fill_insert;
DROP TRIGGER contact_touch_update;
DROP TRIGGER salesperson_touch_update;
DROP TRIGGER opportunity_touch_update;
DROP TRIGGER sales_order_touch_update;
DROP TRIGGER sales_order_line_fill_insert;
DROP TRIGGER sales_order_line_touch_update;

-- contact ---------------------------------------------------------------
CREATE TRIGGER contact_crmsync_insert AFTER INSERT ON contact
BEGIN
  SELECT RAISE(ABORT, 'contact.name is required (for a person: first_name and/or surname)')
  WHERE NEW.name = '' AND trim(coalesce(NEW.first_name, '') || ' ' || coalesce(NEW.surname, '')) = '';
  UPDATE contact SET name = trim(coalesce(NEW.first_name, '') || ' ' || coalesce(NEW.surname, ''))
  WHERE rowid = NEW.rowid AND NEW.name = '';
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('contact', NEW.no, 'insert');
END;

-- OLD.name = '' only inside contact_crmsync_insert's fill-in: not a change of its own.
CREATE TRIGGER contact_crmsync_update AFTER UPDATE ON contact
WHEN OLD.name <> ''
BEGIN
  UPDATE contact SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op) SELECT 'contact', OLD.no, 'delete' WHERE OLD.no IS NOT NEW.no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('contact', NEW.no, CASE WHEN OLD.no IS NOT NEW.no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.no WHERE table_name = 'contact' AND key = OLD.no AND OLD.no IS NOT NEW.no;
END;

CREATE TRIGGER contact_crmsync_delete AFTER DELETE ON contact
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('contact', OLD.no, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'contact' AND key = OLD.no;
END;

-- salesperson -----------------------------------------------------------
CREATE TRIGGER salesperson_crmsync_insert AFTER INSERT ON salesperson
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('salesperson', NEW.code, 'insert');
END;

CREATE TRIGGER salesperson_crmsync_update AFTER UPDATE ON salesperson
BEGIN
  UPDATE salesperson SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'salesperson', OLD.code, 'delete' WHERE OLD.code IS NOT NEW.code;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('salesperson', NEW.code, CASE WHEN OLD.code IS NOT NEW.code THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.code
  WHERE table_name = 'salesperson' AND key = OLD.code AND OLD.code IS NOT NEW.code;
END;

CREATE TRIGGER salesperson_crmsync_delete AFTER DELETE ON salesperson
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('salesperson', OLD.code, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'salesperson' AND key = OLD.code;
END;

-- opportunity -----------------------------------------------------------
CREATE TRIGGER opportunity_crmsync_insert AFTER INSERT ON opportunity
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('opportunity', NEW.no, 'insert');
END;

CREATE TRIGGER opportunity_crmsync_update AFTER UPDATE ON opportunity
BEGIN
  UPDATE opportunity SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'opportunity', OLD.no, 'delete' WHERE OLD.no IS NOT NEW.no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('opportunity', NEW.no, CASE WHEN OLD.no IS NOT NEW.no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.no WHERE table_name = 'opportunity' AND key = OLD.no AND OLD.no IS NOT NEW.no;
END;

CREATE TRIGGER opportunity_crmsync_delete AFTER DELETE ON opportunity
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('opportunity', OLD.no, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'opportunity' AND key = OLD.no;
END;

-- sales_order -----------------------------------------------------------
CREATE TRIGGER sales_order_crmsync_insert AFTER INSERT ON sales_order
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('sales_order', NEW.no, 'insert');
END;

CREATE TRIGGER sales_order_crmsync_update AFTER UPDATE ON sales_order
BEGIN
  UPDATE sales_order SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'sales_order', OLD.no, 'delete' WHERE OLD.no IS NOT NEW.no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('sales_order', NEW.no, CASE WHEN OLD.no IS NOT NEW.no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = NEW.no WHERE table_name = 'sales_order' AND key = OLD.no AND OLD.no IS NOT NEW.no;
END;

CREATE TRIGGER sales_order_crmsync_delete AFTER DELETE ON sales_order
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op) VALUES ('sales_order', OLD.no, 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'sales_order' AND key = OLD.no;
END;

-- sales_order_line ------------------------------------------------------
CREATE TRIGGER sales_order_line_crmsync_insert AFTER INSERT ON sales_order_line
BEGIN
  UPDATE sales_order_line
  SET line_amount = round(NEW.quantity * NEW.unit_price * (1 - NEW.line_discount_pct / 100.0), 2)
  WHERE rowid = NEW.rowid AND NEW.line_amount IS NULL;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('sales_order_line', json_array(NEW.order_no, NEW.line_no), 'insert');
END;

-- OLD.line_amount IS NULL only inside sales_order_line_crmsync_insert's fill-in.
CREATE TRIGGER sales_order_line_crmsync_update AFTER UPDATE ON sales_order_line
WHEN OLD.line_amount IS NOT NULL
BEGIN
  UPDATE sales_order_line
  SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
      line_amount = CASE
        WHEN NEW.line_amount IS OLD.line_amount AND (NEW.quantity IS NOT OLD.quantity
             OR NEW.unit_price IS NOT OLD.unit_price OR NEW.line_discount_pct IS NOT OLD.line_discount_pct)
        THEN round(NEW.quantity * NEW.unit_price * (1 - NEW.line_discount_pct / 100.0), 2)
        ELSE line_amount END
  WHERE rowid = NEW.rowid;
  INSERT INTO crmsync_journal (table_name, key, op)
  SELECT 'sales_order_line', json_array(OLD.order_no, OLD.line_no), 'delete'
  WHERE OLD.order_no IS NOT NEW.order_no OR OLD.line_no IS NOT NEW.line_no;
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('sales_order_line', json_array(NEW.order_no, NEW.line_no),
          CASE WHEN OLD.order_no IS NOT NEW.order_no OR OLD.line_no IS NOT NEW.line_no THEN 'insert' ELSE 'update' END);
  UPDATE crmsync_origin SET key = json_array(NEW.order_no, NEW.line_no)
  WHERE table_name = 'sales_order_line' AND key = json_array(OLD.order_no, OLD.line_no)
    AND (OLD.order_no IS NOT NEW.order_no OR OLD.line_no IS NOT NEW.line_no);
END;

CREATE TRIGGER sales_order_line_crmsync_delete AFTER DELETE ON sales_order_line
BEGIN
  INSERT INTO crmsync_journal (table_name, key, op)
  VALUES ('sales_order_line', json_array(OLD.order_no, OLD.line_no), 'delete');
  DELETE FROM crmsync_origin WHERE table_name = 'sales_order_line' AND key = json_array(OLD.order_no, OLD.line_no);
END;
