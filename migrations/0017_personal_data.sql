-- 0017: personal data encrypted per field (DESIGN.md §9). Each subject (a customer, a user)
-- has a data key of its own, wrapped by one of the tenant's keys (the Worker secret PII_KEYS);
-- personal values are stored as `fwe1.<data key id>.<AES-GCM ciphertext>` (src/personal.mjs).
-- Erasing a subject deletes its data key: its values become unreadable everywhere at once while
-- the audit chain, sealed over what is stored, still verifies.

CREATE TABLE data_keys (
    id          TEXT PRIMARY KEY,
    -- The tenant key (its id in PII_KEYS) the data key is wrapped under; rotation re-wraps.
    kek         TEXT NOT NULL,
    -- base64url(nonce || AES-256-GCM(tenant key, data key)), the data key id as associated data.
    wrapped     TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    rewrapped_at INTEGER
);
CREATE INDEX data_keys_by_kek ON data_keys (kek);

-- Keyed blind indexes (HMAC-SHA256 under the Worker secret PII_INDEX_KEY, 16 bytes): what
-- lets a personal value be found without being stored readable. One row per term of a
-- subject: words of a name and their prefixes, an email address, a phone number and its last
-- digits (src/domain/personal.rs says which).
CREATE TABLE personal_terms (
    kind     TEXT NOT NULL CHECK (kind IN ('customer', 'user')),
    term     TEXT NOT NULL,
    id       TEXT NOT NULL,
    PRIMARY KEY (kind, term, id)
) WITHOUT ROWID;
CREATE INDEX personal_terms_by_subject ON personal_terms (kind, id);

-- Customers and sites are rebuilt without the CHECKs on the length of personal fields: those
-- columns now hold ciphertext, and the rules live in the domain (domain::customers). Every
-- other column, index and constraint is as before, so code deployed before this migration
-- keeps reading and writing them until the new code replaces it; values it writes in
-- plaintext are sealed by `POST /ops/personal-data/seal` after the deploy.
--
-- Each table is rebuilt in place: its rows copied aside, the table dropped and made anew
-- under its own name, the rows put back. (A table made under another name and renamed would
-- leave unpaid the foreign-key violations that dropping the old one counted against the rows
-- referencing it — jobs, quotes, invoices, messages — and the migration would fail at commit
-- on any tenant with data; putting the rows back under the referenced name settles them.)
PRAGMA defer_foreign_keys = on;

CREATE TABLE customers_0017 AS SELECT * FROM customers;
DROP TABLE customers;
CREATE TABLE customers (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL,
    company           TEXT,
    emails            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(emails)),
    phones            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(phones)),
    tags              TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(tags)),
    notes             TEXT,
    preferred_contact TEXT NOT NULL DEFAULT 'phone'
                      CHECK (preferred_contact IN ('phone', 'sms', 'email')),
    -- No longer written (it held the lower-cased plaintext); personal_terms replaces it.
    search            TEXT NOT NULL DEFAULT '',
    archived          INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    version           INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    sms_opted_out_at  INTEGER,
    email_opted_out_at INTEGER,
    -- When the customer was erased (their data key deleted).
    erased_at         INTEGER
);
INSERT INTO customers (id, name, company, emails, phones, tags, notes, preferred_contact,
    search, archived, version, created_at, updated_at, sms_opted_out_at, email_opted_out_at)
SELECT id, name, company, emails, phones, tags, notes, preferred_contact, '', archived, version,
    created_at, updated_at, sms_opted_out_at, email_opted_out_at FROM customers_0017;
DROP TABLE customers_0017;
-- Lists are ordered by when the customer was added (names, being sealed, sort within a page).
CREATE INDEX customers_by_added ON customers (archived, created_at, id);

CREATE TABLE sites_0017 AS SELECT * FROM sites;
DROP TABLE sites;
CREATE TABLE sites (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    label        TEXT,
    line1        TEXT NOT NULL,
    line2        TEXT,
    city         TEXT,
    region       TEXT,
    postal_code  TEXT,
    country      TEXT CHECK (country IS NULL OR (length(country) = 2 AND country = upper(country))),
    access_notes TEXT,
    is_primary   INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
INSERT INTO sites (id, customer_id, label, line1, line2, city, region, postal_code, country,
    access_notes, is_primary, version, created_at, updated_at)
SELECT id, customer_id, label, line1, line2, city, region, postal_code, country, access_notes,
    is_primary, version, created_at, updated_at FROM sites_0017;
DROP TABLE sites_0017;
CREATE INDEX sites_by_customer ON sites (customer_id);
CREATE UNIQUE INDEX sites_one_primary ON sites (customer_id) WHERE is_primary = 1;

-- How long the law makes the company keep issued invoices (years after the last one): what an
-- erasure keeps until then (domain::personal::erasure_plan).
ALTER TABLE company_settings ADD COLUMN record_retention_years INTEGER NOT NULL DEFAULT 7
    CHECK (record_retention_years BETWEEN 0 AND 30);

INSERT INTO schema_history (version, name) VALUES (17, 'personal_data');
