-- 0020: personal data in messages sealed (DESIGN.md §9, §10): linked chat addresses, inbound
-- messages, conversation turns, the outbox, customers' conversations, notices, job notes,
-- support requests and quote signers hold `fwe1.` ciphertext under the data key of the
-- person they are about (src/personal.mjs).
--
-- Rollout: the tables whose CHECKs measured plaintext are rebuilt without them (the rules
-- live in the domain: domain::jobs::parse_note, domain::customer_messages::kept_body,
-- domain::support::request, domain::quotes), every column, index, trigger and other
-- constraint as before, so code deployed before this migration keeps working; new columns
-- are nullable and the running code never reads them. Rows written in plaintext before the
-- new code runs are still found (lookups fall back to the plain value while a row has no
-- blind index or data key).
PRAGMA defer_foreign_keys = on;

-- A linked chat or number: `address` sealed under the user's data key, found by
-- `address_index`, the keyed blind index of `<channel>:<address>` (domain::messaging).
CREATE TABLE channel_links_sealed (
    id            TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users (id),
    channel       TEXT NOT NULL CHECK (channel IN ('telegram', 'sms')),
    address       TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    address_index TEXT,
    UNIQUE (channel, address)
);
INSERT INTO channel_links_sealed (id, user_id, channel, address, created_at)
SELECT id, user_id, channel, address, created_at FROM channel_links;
DROP TABLE channel_links;
ALTER TABLE channel_links_sealed RENAME TO channel_links;
CREATE INDEX channel_links_by_user ON channel_links (user_id);
-- One address belongs to one user at most, as the plain UNIQUE said before.
CREATE UNIQUE INDEX channel_links_by_address ON channel_links (address_index)
    WHERE address_index IS NOT NULL;

-- The data key an inbound message's sender, text and reply are sealed under: the linked
-- user's, or the sender's own (`s-…`) when nobody is linked, so the reply written later (or by
-- the sweep) goes under the same key.
ALTER TABLE inbound_messages ADD COLUMN dk TEXT;

CREATE TABLE customer_messages_sealed (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    body        TEXT NOT NULL,
    outbox_id   TEXT,
    author_id   TEXT,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER,
    address     TEXT
);
INSERT INTO customer_messages_sealed (id, customer_id, direction, channel, body, outbox_id,
    author_id, created_at, read_at, address)
SELECT id, customer_id, direction, channel, body, outbox_id, author_id, created_at, read_at,
    address FROM customer_messages;
DROP TABLE customer_messages;
ALTER TABLE customer_messages_sealed RENAME TO customer_messages;
CREATE INDEX customer_messages_by_customer ON customer_messages (customer_id, created_at);
CREATE INDEX customer_messages_unread ON customer_messages (customer_id) WHERE read_at IS NULL;

CREATE TABLE job_notes_sealed (
    id         TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    author_id  TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
INSERT INTO job_notes_sealed (id, job_id, author_id, text, created_at)
SELECT id, job_id, author_id, text, created_at FROM job_notes;
DROP TABLE job_notes;
ALTER TABLE job_notes_sealed RENAME TO job_notes;
CREATE INDEX job_notes_by_job ON job_notes (job_id, created_at);

-- A support request's person (name, email) and reason, sealed under the session's own data
-- key (`p-<id>`, domain::support::person_key); their lengths are checked by
-- domain::support::request. The ticket stays plain, and so do the rules on the rest.
CREATE TABLE support_sessions_sealed (
    id               TEXT PRIMARY KEY,
    person_name      TEXT NOT NULL,
    person_email     TEXT NOT NULL,
    reason           TEXT NOT NULL,
    ticket           TEXT NOT NULL CHECK (length(ticket) BETWEEN 1 AND 200),
    scope            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scope) AND json_type(scope) = 'array'),
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 240),
    status           TEXT NOT NULL DEFAULT 'requested'
                     CHECK (status IN ('requested', 'approved', 'refused', 'active', 'ended')),
    requested_at     INTEGER NOT NULL,
    decided_by       TEXT,
    decided_at       INTEGER,
    link_expires_at  INTEGER,
    started_at       INTEGER,
    ends_at          INTEGER,
    ended_at         INTEGER,
    ended_by         TEXT,
    version          INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    CHECK (status <> 'active' OR (started_at IS NOT NULL AND ends_at IS NOT NULL)),
    CHECK (ends_at IS NULL OR (started_at IS NOT NULL
                               AND ends_at <= started_at + duration_minutes * 60000))
);
INSERT INTO support_sessions_sealed (id, person_name, person_email, reason, ticket, scope,
    duration_minutes, status, requested_at, decided_by, decided_at, link_expires_at,
    started_at, ends_at, ended_at, ended_by, version)
SELECT id, person_name, person_email, reason, ticket, scope, duration_minutes, status,
    requested_at, decided_by, decided_at, link_expires_at, started_at, ends_at, ended_at,
    ended_by, version FROM support_sessions;
DROP TABLE support_sessions;
ALTER TABLE support_sessions_sealed RENAME TO support_sessions;
CREATE INDEX support_sessions_by_status ON support_sessions (status, requested_at);
CREATE TRIGGER support_sessions_no_extension BEFORE UPDATE ON support_sessions
WHEN (OLD.ends_at IS NOT NULL AND (NEW.ends_at IS NULL OR NEW.ends_at > OLD.ends_at))
  OR (OLD.status IN ('ended', 'refused') AND NEW.status <> OLD.status)
  OR (OLD.started_at IS NOT NULL AND NEW.started_at IS NOT OLD.started_at)
BEGIN
    SELECT RAISE(ABORT, 'RULE: A support session cannot be extended or reopened; ask for a new one.');
END;

-- Quotes are rebuilt without the CHECK on the signer's name's length: an accepted quote's
-- signer is the customer's personal data, sealed under their data key (domain::quotes checks
-- the length). Every other column, constraint, index and trigger is as before.
-- In place (rows copied aside, the table made anew under its own name, the rows put back):
-- invoices reference quotes, and a renamed table would leave the foreign-key violations the
-- drop counted unpaid (the migration would fail at commit on a tenant with invoiced quotes).
CREATE TABLE quotes_0020 AS SELECT * FROM quotes;
DROP TABLE quotes;
CREATE TABLE quotes (
    id               TEXT PRIMARY KEY,
    -- The short number people use ("quote 12"), from the 'quote' counter.
    number           INTEGER NOT NULL UNIQUE,
    customer_id      TEXT NOT NULL REFERENCES customers (id),
    site_id          TEXT NOT NULL REFERENCES sites (id),
    -- The job the quote is for, or the one it became.
    job_id           TEXT REFERENCES jobs (id),
    title            TEXT NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    -- Stored: draft, sent, viewed, accepted, declined. 'expired' is also shown for a sent or
    -- viewed quote past valid_until, whether or not it is stored.
    status           TEXT NOT NULL DEFAULT 'draft'
                     CHECK (status IN ('draft', 'sent', 'viewed', 'accepted', 'declined',
                                       'expired')),
    -- Copied from the company settings at creation.
    currency         TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    rounding         TEXT NOT NULL CHECK (rounding IN ('per_line', 'per_document')),
    -- [{description, quantity_milli, unit_price, tax_rate_ppm, discount, optional, option}]
    lines            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(lines) AND json_type(lines) = 'array'),
    -- The domain's totals of each option without extras: [{option, subtotal, …, total}].
    totals           TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(totals)),
    notes            TEXT CHECK (notes IS NULL OR length(notes) <= 10000),
    terms            TEXT CHECK (terms IS NULL OR length(terms) <= 10000),
    valid_until      TEXT NOT NULL,
    -- {"percent_ppm": n} or {"amount": n}, or NULL for none.
    deposit          TEXT CHECK (deposit IS NULL OR json_valid(deposit)),
    sent_at          TEXT,
    -- The acceptance: what was chosen, who signed, when, from where, and by whom it was
    -- recorded (a staff member taking it by phone; NULL when the customer used a share link).
    chosen_option    TEXT,
    chosen_extras    TEXT CHECK (chosen_extras IS NULL OR json_valid(chosen_extras)),
    -- Sealed under the customer's data key; its length is checked by domain::quotes.
    signer_name      TEXT,
    accepted_at      TEXT,
    accepted_ip      TEXT,
    accepted_by      TEXT REFERENCES users (id),
    accepted_total   INTEGER CHECK (accepted_total IS NULL OR accepted_total >= 0),
    accepted_deposit INTEGER CHECK (accepted_deposit IS NULL OR accepted_deposit >= 0),
    declined_at      TEXT,
    -- Set once, when the accepted quote becomes a draft invoice (and a job if it had none).
    invoice_id       TEXT,
    converted_at     TEXT,
    version          INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    CHECK ((status = 'accepted') = (accepted_at IS NOT NULL)),
    CHECK (accepted_at IS NULL OR (signer_name IS NOT NULL AND accepted_total IS NOT NULL
                                   AND accepted_deposit IS NOT NULL)),
    CHECK (invoice_id IS NULL OR status = 'accepted')
);
INSERT INTO quotes (id, number, customer_id, site_id, job_id, title, status, currency,
    rounding, lines, totals, notes, terms, valid_until, deposit, sent_at, chosen_option,
    chosen_extras, signer_name, accepted_at, accepted_ip, accepted_by, accepted_total,
    accepted_deposit, declined_at, invoice_id, converted_at, version, created_at, updated_at)
SELECT id, number, customer_id, site_id, job_id, title, status, currency, rounding, lines,
    totals, notes, terms, valid_until, deposit, sent_at, chosen_option, chosen_extras,
    signer_name, accepted_at, accepted_ip, accepted_by, accepted_total, accepted_deposit,
    declined_at, invoice_id, converted_at, version, created_at, updated_at
FROM quotes_0020;
DROP TABLE quotes_0020;
CREATE INDEX quotes_by_created ON quotes (created_at, id);
CREATE INDEX quotes_by_customer ON quotes (customer_id, created_at, id);
CREATE TRIGGER quotes_accepted_final BEFORE UPDATE ON quotes
WHEN OLD.status = 'accepted' AND (
    NEW.status IS NOT OLD.status OR NEW.lines IS NOT OLD.lines
    OR NEW.chosen_option IS NOT OLD.chosen_option OR NEW.chosen_extras IS NOT OLD.chosen_extras
    OR NEW.signer_name IS NOT OLD.signer_name OR NEW.accepted_at IS NOT OLD.accepted_at
    OR NEW.accepted_total IS NOT OLD.accepted_total
    OR NEW.accepted_deposit IS NOT OLD.accepted_deposit OR NEW.deposit IS NOT OLD.deposit
    OR NEW.customer_id IS NOT OLD.customer_id OR NEW.currency IS NOT OLD.currency)
BEGIN
    SELECT RAISE(ABORT, 'an accepted quote is final');
END;
CREATE TRIGGER quotes_accepted_no_delete BEFORE DELETE ON quotes
WHEN OLD.status = 'accepted'
BEGIN
    SELECT RAISE(ABORT, 'an accepted quote is never deleted');
END;

INSERT INTO schema_history (version, name) VALUES (20, 'personal_messages');
