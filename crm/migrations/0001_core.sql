-- Schema v1: the Relationship Management tables, number series and setup.
-- Applied once, in one transaction, by crm::CreateOrMigrate. Never edit a
-- released step: add a new one (docs/local-store.md describes the result).

CREATE TABLE number_series (
  code TEXT NOT NULL PRIMARY KEY CHECK (length(code) > 0),
  description TEXT,
  starting_no TEXT NOT NULL CHECK (starting_no GLOB '*[0-9]'),
  ending_no TEXT CHECK (ending_no IS NULL OR ending_no GLOB '*[0-9]'),
  last_no_used TEXT,
  increment_by INTEGER NOT NULL DEFAULT 1 CHECK (typeof(increment_by) = 'integer' AND increment_by >= 1),
  allow_manual INTEGER NOT NULL DEFAULT 1 CHECK (allow_manual IN (0, 1))
);

CREATE TABLE setup (
  key TEXT NOT NULL PRIMARY KEY,
  value TEXT
);

INSERT INTO number_series (code, description, starting_no) VALUES
  ('CONTACT', 'Contacts', 'CT000001'),
  ('OPPORTUNITY', 'Opportunities', 'OP000001'),
  ('SALESORDER', 'Sales orders', 'SO000001');

INSERT INTO setup (key, value) VALUES
  ('contact_nos', 'CONTACT'),
  ('opportunity_nos', 'OPPORTUNITY'),
  ('sales_order_nos', 'SALESORDER'),
  ('default_salesperson_code', NULL);

CREATE TABLE salesperson (
  code TEXT NOT NULL PRIMARY KEY CHECK (length(code) > 0),
  name TEXT NOT NULL CHECK (length(name) > 0),
  email TEXT,
  phone TEXT,
  job_title TEXT,
  blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE contact (
  no TEXT NOT NULL PRIMARY KEY CHECK (length(no) > 0),
  type TEXT NOT NULL CHECK (type IN ('person', 'company')),
  -- '' (the default) is replaced by first_name + surname on insert.
  name TEXT NOT NULL DEFAULT '',
  first_name TEXT,
  surname TEXT,
  job_title TEXT,
  email TEXT,
  phone TEXT,
  mobile TEXT,
  address TEXT,
  address_2 TEXT,
  city TEXT,
  post_code TEXT,
  county TEXT,
  country_code TEXT,
  company_no TEXT REFERENCES contact (no) ON UPDATE CASCADE ON DELETE SET NULL,
  salesperson_code TEXT REFERENCES salesperson (code) ON UPDATE CASCADE ON DELETE SET NULL,
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  CHECK (company_no IS NULL OR type = 'person'),
  CHECK (company_no IS NULL OR company_no <> no)
);
CREATE INDEX contact_company_no ON contact (company_no);
CREATE INDEX contact_salesperson_code ON contact (salesperson_code);

CREATE TABLE opportunity (
  no TEXT NOT NULL PRIMARY KEY CHECK (length(no) > 0),
  description TEXT NOT NULL CHECK (length(description) > 0),
  contact_no TEXT NOT NULL REFERENCES contact (no) ON UPDATE CASCADE,
  salesperson_code TEXT REFERENCES salesperson (code) ON UPDATE CASCADE ON DELETE SET NULL,
  status TEXT NOT NULL DEFAULT 'not_started' CHECK (status IN ('not_started', 'in_progress', 'won', 'lost')),
  estimated_value NUMERIC CHECK (estimated_value IS NULL OR (typeof(estimated_value) IN ('integer', 'real') AND estimated_value >= 0)),
  probability INTEGER CHECK (probability IS NULL OR (typeof(probability) = 'integer' AND probability BETWEEN 0 AND 100)),
  estimated_close_date TEXT CHECK (estimated_close_date IS NULL OR (estimated_close_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(estimated_close_date, '+0 days') IS estimated_close_date)),
  sales_cycle_stage TEXT CHECK (sales_cycle_stage IS NULL OR sales_cycle_stage IN ('qualify', 'develop', 'propose', 'close')),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX opportunity_contact_no ON opportunity (contact_no);
CREATE INDEX opportunity_salesperson_code ON opportunity (salesperson_code);

CREATE TABLE sales_order (
  no TEXT NOT NULL PRIMARY KEY CHECK (length(no) > 0),
  sell_to_contact_no TEXT NOT NULL REFERENCES contact (no) ON UPDATE CASCADE,
  order_date TEXT DEFAULT (date('now')) CHECK (order_date IS NULL OR (order_date GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]' AND date(order_date, '+0 days') IS order_date)),
  currency_code TEXT,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'released', 'pending_approval', 'pending_prepayment')),
  external_document_no TEXT,
  opportunity_no TEXT REFERENCES opportunity (no) ON UPDATE CASCADE ON DELETE SET NULL,
  salesperson_code TEXT REFERENCES salesperson (code) ON UPDATE CASCADE ON DELETE SET NULL,
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX sales_order_sell_to_contact_no ON sales_order (sell_to_contact_no);
CREATE INDEX sales_order_opportunity_no ON sales_order (opportunity_no);
CREATE INDEX sales_order_salesperson_code ON sales_order (salesperson_code);

CREATE TABLE sales_order_line (
  order_no TEXT NOT NULL REFERENCES sales_order (no) ON UPDATE CASCADE ON DELETE CASCADE,
  line_no INTEGER NOT NULL CHECK (typeof(line_no) = 'integer' AND line_no > 0),
  description TEXT NOT NULL,
  quantity NUMERIC NOT NULL DEFAULT 0 CHECK (typeof(quantity) IN ('integer', 'real')),
  unit_price NUMERIC NOT NULL DEFAULT 0 CHECK (typeof(unit_price) IN ('integer', 'real')),
  line_discount_pct NUMERIC NOT NULL DEFAULT 0 CHECK (typeof(line_discount_pct) IN ('integer', 'real') AND line_discount_pct BETWEEN 0 AND 100),
  -- NULL on insert = computed: round(quantity * unit_price * (1 - line_discount_pct / 100), 2).
  line_amount NUMERIC CHECK (line_amount IS NULL OR typeof(line_amount) IN ('integer', 'real')),
  created_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  modified_at TEXT DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
  PRIMARY KEY (order_no, line_no)
);

-- A person's company must be a company contact; a company with persons stays a company.
CREATE TRIGGER contact_company_insert BEFORE INSERT ON contact
WHEN NEW.company_no IS NOT NULL AND (SELECT type FROM contact WHERE no = NEW.company_no) IS NOT 'company'
BEGIN
  SELECT RAISE(ABORT, 'contact.company_no must name an existing company contact');
END;

CREATE TRIGGER contact_company_update BEFORE UPDATE OF company_no ON contact
WHEN NEW.company_no IS NOT NULL AND NEW.company_no IS NOT OLD.company_no
  AND (SELECT type FROM contact WHERE no = NEW.company_no) IS NOT 'company'
BEGIN
  SELECT RAISE(ABORT, 'contact.company_no must name an existing company contact');
END;

CREATE TRIGGER contact_type_update BEFORE UPDATE OF type ON contact
WHEN NEW.type <> 'company' AND EXISTS (SELECT 1 FROM contact WHERE company_no = OLD.no)
BEGIN
  SELECT RAISE(ABORT, 'contact.type: a company with persons must stay a company');
END;

CREATE TRIGGER contact_name_update BEFORE UPDATE OF name ON contact
WHEN NEW.name = ''
BEGIN
  SELECT RAISE(ABORT, 'contact.name must not be empty');
END;

-- Maintenance: derived name, computed line amount, modified_at.
CREATE TRIGGER contact_fill_insert AFTER INSERT ON contact
WHEN NEW.name = ''
BEGIN
  SELECT RAISE(ABORT, 'contact.name is required (for a person: first_name and/or surname)')
  WHERE trim(coalesce(NEW.first_name, '') || ' ' || coalesce(NEW.surname, '')) = '';
  UPDATE contact SET name = trim(coalesce(NEW.first_name, '') || ' ' || coalesce(NEW.surname, ''))
  WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER contact_touch_update AFTER UPDATE ON contact
BEGIN
  UPDATE contact SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER salesperson_touch_update AFTER UPDATE ON salesperson
BEGIN
  UPDATE salesperson SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER opportunity_touch_update AFTER UPDATE ON opportunity
BEGIN
  UPDATE opportunity SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER sales_order_touch_update AFTER UPDATE ON sales_order
BEGIN
  UPDATE sales_order SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER sales_order_line_fill_insert AFTER INSERT ON sales_order_line
WHEN NEW.line_amount IS NULL
BEGIN
  UPDATE sales_order_line
  SET line_amount = round(NEW.quantity * NEW.unit_price * (1 - NEW.line_discount_pct / 100.0), 2)
  WHERE rowid = NEW.rowid;
END;

CREATE TRIGGER sales_order_line_touch_update AFTER UPDATE ON sales_order_line
BEGIN
  UPDATE sales_order_line
  SET modified_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
      line_amount = CASE
        WHEN NEW.line_amount IS OLD.line_amount AND (NEW.quantity IS NOT OLD.quantity
             OR NEW.unit_price IS NOT OLD.unit_price OR NEW.line_discount_pct IS NOT OLD.line_discount_pct)
        THEN round(NEW.quantity * NEW.unit_price * (1 - NEW.line_discount_pct / 100.0), 2)
        ELSE line_amount END
  WHERE rowid = NEW.rowid;
END;
