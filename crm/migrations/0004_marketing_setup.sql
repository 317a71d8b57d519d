-- Schema v4: marketing setup. Number series for the records still to come
-- (campaigns, segments, interactions), the defaults a new contact takes, and
-- inheritance: which company fields a person contact takes from its company.
-- Setup values are text; flags are 'true' or 'false' (crm/setup.h lists
-- every key and checks values written through crmsync).

ALTER TABLE contact ADD COLUMN language_code TEXT;
ALTER TABLE contact ADD COLUMN correspondence_type TEXT
  CHECK (correspondence_type IS NULL OR correspondence_type IN ('email', 'hard_copy'));

INSERT INTO number_series (code, description, starting_no) VALUES
  ('CAMPAIGN', 'Campaigns', 'CP000001'),
  ('SEGMENT', 'Segments', 'SG000001'),
  ('INTERACTION', 'Interactions', 'IN000001');

INSERT INTO setup (key, value) VALUES
  ('campaign_nos', 'CAMPAIGN'),
  ('segment_nos', 'SEGMENT'),
  ('interaction_nos', 'INTERACTION'),
  ('default_country_code', NULL),
  ('default_language_code', NULL),
  ('default_correspondence_type', 'email'),
  ('inherit_salesperson', 'true'),
  ('inherit_address', 'true'),
  ('inherit_phone', 'true'),
  ('inherit_country', 'true'),
  ('inherit_language', 'true');

-- Linking a person to a company (any writer): the person takes the
-- company's inherited fields it leaves empty; a value of its own is kept.
-- (A person inserted already linked gets the same through crmsync, which
-- fills the fields the insert does not give: crm/rows.h.)
CREATE TRIGGER contact_inherit_on_link AFTER UPDATE OF company_no ON contact
WHEN NEW.type = 'person' AND NEW.company_no IS NOT NULL AND NEW.company_no IS NOT OLD.company_no
  -- not the company's own key change cascading (its old key is gone by then)
  AND (OLD.company_no IS NULL OR EXISTS (SELECT 1 FROM contact WHERE no = OLD.company_no))
BEGIN
  UPDATE contact SET
    salesperson_code = CASE WHEN salesperson_code IS NULL
        AND (SELECT value FROM setup WHERE key = 'inherit_salesperson') = 'true'
      THEN (SELECT c.salesperson_code FROM contact c WHERE c.no = NEW.company_no) ELSE salesperson_code END,
    address = CASE WHEN address IS NULL AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN (SELECT c.address FROM contact c WHERE c.no = NEW.company_no) ELSE address END,
    address_2 = CASE WHEN address_2 IS NULL AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN (SELECT c.address_2 FROM contact c WHERE c.no = NEW.company_no) ELSE address_2 END,
    city = CASE WHEN city IS NULL AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN (SELECT c.city FROM contact c WHERE c.no = NEW.company_no) ELSE city END,
    post_code = CASE WHEN post_code IS NULL AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN (SELECT c.post_code FROM contact c WHERE c.no = NEW.company_no) ELSE post_code END,
    county = CASE WHEN county IS NULL AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN (SELECT c.county FROM contact c WHERE c.no = NEW.company_no) ELSE county END,
    phone = CASE WHEN phone IS NULL AND (SELECT value FROM setup WHERE key = 'inherit_phone') = 'true'
      THEN (SELECT c.phone FROM contact c WHERE c.no = NEW.company_no) ELSE phone END,
    country_code = CASE WHEN country_code IS NULL AND (SELECT value FROM setup WHERE key = 'inherit_country') = 'true'
      THEN (SELECT c.country_code FROM contact c WHERE c.no = NEW.company_no) ELSE country_code END,
    language_code = CASE WHEN language_code IS NULL
        AND (SELECT value FROM setup WHERE key = 'inherit_language') = 'true'
      THEN (SELECT c.language_code FROM contact c WHERE c.no = NEW.company_no) ELSE language_code END
  WHERE rowid = NEW.rowid;
END;

-- A company's inherited field changes (any writer): its persons whose value
-- was the company's old one follow; a person that set its own value (it
-- differs from the company's) overrode it and keeps it. Each person changes
-- in one UPDATE, journalled and synced like any other change.
CREATE TRIGGER contact_inherit_from_company
AFTER UPDATE OF salesperson_code, address, address_2, city, post_code, county, phone, country_code, language_code
ON contact
WHEN NEW.type = 'company'
BEGIN
  UPDATE contact SET
    salesperson_code = CASE WHEN salesperson_code IS OLD.salesperson_code
        AND (SELECT value FROM setup WHERE key = 'inherit_salesperson') = 'true'
      THEN NEW.salesperson_code ELSE salesperson_code END,
    address = CASE WHEN address IS OLD.address AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN NEW.address ELSE address END,
    address_2 = CASE WHEN address_2 IS OLD.address_2 AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN NEW.address_2 ELSE address_2 END,
    city = CASE WHEN city IS OLD.city AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN NEW.city ELSE city END,
    post_code = CASE WHEN post_code IS OLD.post_code AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN NEW.post_code ELSE post_code END,
    county = CASE WHEN county IS OLD.county AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true'
      THEN NEW.county ELSE county END,
    phone = CASE WHEN phone IS OLD.phone AND (SELECT value FROM setup WHERE key = 'inherit_phone') = 'true'
      THEN NEW.phone ELSE phone END,
    country_code = CASE WHEN country_code IS OLD.country_code
        AND (SELECT value FROM setup WHERE key = 'inherit_country') = 'true'
      THEN NEW.country_code ELSE country_code END,
    language_code = CASE WHEN language_code IS OLD.language_code
        AND (SELECT value FROM setup WHERE key = 'inherit_language') = 'true'
      THEN NEW.language_code ELSE language_code END
  WHERE type = 'person' AND company_no IN (OLD.no, NEW.no) AND (
       (OLD.salesperson_code IS NOT NEW.salesperson_code AND salesperson_code IS OLD.salesperson_code AND (SELECT value FROM setup WHERE key = 'inherit_salesperson') = 'true')
    OR (OLD.address IS NOT NEW.address AND address IS OLD.address AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true')
    OR (OLD.address_2 IS NOT NEW.address_2 AND address_2 IS OLD.address_2 AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true')
    OR (OLD.city IS NOT NEW.city AND city IS OLD.city AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true')
    OR (OLD.post_code IS NOT NEW.post_code AND post_code IS OLD.post_code AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true')
    OR (OLD.county IS NOT NEW.county AND county IS OLD.county AND (SELECT value FROM setup WHERE key = 'inherit_address') = 'true')
    OR (OLD.phone IS NOT NEW.phone AND phone IS OLD.phone AND (SELECT value FROM setup WHERE key = 'inherit_phone') = 'true')
    OR (OLD.country_code IS NOT NEW.country_code AND country_code IS OLD.country_code AND (SELECT value FROM setup WHERE key = 'inherit_country') = 'true')
    OR (OLD.language_code IS NOT NEW.language_code AND language_code IS OLD.language_code AND (SELECT value FROM setup WHERE key = 'inherit_language') = 'true'));
END;
