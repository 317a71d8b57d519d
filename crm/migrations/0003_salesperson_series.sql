-- Schema v3: salespeople get a number series too, so a Dataverse user that
-- becomes a salesperson (the salespeople mapping) gets a code
-- (SP0001, SP0002, ...) like every other record that arrives from Dataverse.
INSERT INTO number_series (code, description, starting_no) VALUES ('SALESPERSON', 'Salespeople', 'SP0001');
INSERT INTO setup (key, value) VALUES ('salesperson_nos', 'SALESPERSON');
