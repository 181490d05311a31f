-- 0003: customers and their service sites.

CREATE TABLE customers (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    company           TEXT CHECK (company IS NULL OR length(company) <= 200),
    -- JSON arrays: lower-cased email addresses, E.164 phone numbers, free tags.
    emails            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(emails)),
    phones            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(phones)),
    tags              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    notes             TEXT CHECK (notes IS NULL OR length(notes) <= 10000),
    preferred_contact TEXT NOT NULL DEFAULT 'phone'
                      CHECK (preferred_contact IN ('phone', 'sms', 'email')),
    -- Lower-cased name, company, emails and phone digits, for search; kept by the Worker.
    search            TEXT NOT NULL DEFAULT '',
    archived          INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    version           INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);
-- The listing order (name, then id) and its cursor.
CREATE INDEX customers_by_name ON customers (archived, name COLLATE NOCASE, id);

CREATE TABLE sites (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    label        TEXT CHECK (label IS NULL OR length(label) <= 100),
    line1        TEXT NOT NULL CHECK (length(trim(line1)) BETWEEN 1 AND 200),
    line2        TEXT CHECK (line2 IS NULL OR length(line2) <= 200),
    city         TEXT CHECK (city IS NULL OR length(city) <= 100),
    region       TEXT CHECK (region IS NULL OR length(region) <= 100),
    postal_code  TEXT CHECK (postal_code IS NULL OR length(postal_code) <= 20),
    country      TEXT CHECK (country IS NULL OR (length(country) = 2 AND country = upper(country))),
    access_notes TEXT CHECK (access_notes IS NULL OR length(access_notes) <= 2000),
    is_primary   INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX sites_by_customer ON sites (customer_id);
-- At most one primary site per customer.
CREATE UNIQUE INDEX sites_one_primary ON sites (customer_id) WHERE is_primary = 1;

INSERT INTO schema_history (version, name) VALUES (3, 'customers');
