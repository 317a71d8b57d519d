-- The local store's default schema as the lead fixed it for the mapping tests
-- (the crm/ room owns the real one; these tests must not depend on it).
CREATE TABLE contact (
  no TEXT PRIMARY KEY,
  type TEXT NOT NULL CHECK (type IN ('person', 'company')),
  name TEXT NOT NULL,
  first_name TEXT, surname TEXT, job_title TEXT, email TEXT, phone TEXT, mobile TEXT,
  address TEXT, address_2 TEXT, city TEXT, post_code TEXT, county TEXT, country_code TEXT,
  company_no TEXT REFERENCES contact(no),
  salesperson_code TEXT REFERENCES salesperson(code),
  created_at TEXT, modified_at TEXT
);
CREATE TABLE salesperson (
  code TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT, phone TEXT, job_title TEXT,
  blocked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE opportunity (
  no TEXT PRIMARY KEY, description TEXT NOT NULL, contact_no TEXT NOT NULL, salesperson_code TEXT,
  status TEXT CHECK (status IN ('not_started', 'in_progress', 'won', 'lost')),
  estimated_value NUMERIC, probability INTEGER, estimated_close_date TEXT, sales_cycle_stage TEXT
);
CREATE TABLE sales_order (
  no TEXT PRIMARY KEY, sell_to_contact_no TEXT NOT NULL, order_date TEXT, currency_code TEXT,
  status TEXT, external_document_no TEXT, opportunity_no TEXT, salesperson_code TEXT
);
CREATE TABLE sales_order_line (
  order_no TEXT NOT NULL, line_no INTEGER NOT NULL, description TEXT NOT NULL,
  quantity NUMERIC, unit_price NUMERIC, line_discount_pct NUMERIC, line_amount NUMERIC,
  PRIMARY KEY (order_no, line_no)
);
CREATE TABLE interaction (
  no TEXT PRIMARY KEY, contact_no TEXT NOT NULL REFERENCES contact(no), salesperson_code TEXT,
  template_code TEXT, type TEXT NOT NULL CHECK (type IN ('email', 'letter', 'phone_call', 'meeting')),
  date TEXT NOT NULL, time TEXT, duration_min INTEGER, subject TEXT NOT NULL, description TEXT,
  direction TEXT NOT NULL DEFAULT 'out', evaluation TEXT, attempt_failed INTEGER NOT NULL DEFAULT 0,
  cost NUMERIC, campaign_no TEXT, completed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE campaign (
  no TEXT PRIMARY KEY, description TEXT NOT NULL, salesperson_code TEXT, starting_date TEXT, ending_date TEXT,
  status TEXT NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'active', 'completed', 'cancelled'))
);
CREATE TABLE segment (
  no TEXT PRIMARY KEY, description TEXT NOT NULL, salesperson_code TEXT, date TEXT NOT NULL
);
CREATE TABLE segment_member (
  segment_no TEXT NOT NULL, contact_no TEXT NOT NULL, PRIMARY KEY (segment_no, contact_no)
);
CREATE TABLE campaign_segment (
  campaign_no TEXT NOT NULL, segment_no TEXT NOT NULL, PRIMARY KEY (campaign_no, segment_no)
);
