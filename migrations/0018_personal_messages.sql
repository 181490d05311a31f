-- 0019: personal data in messages sealed (DESIGN.md §9, §10): linked chat addresses, inbound
-- messages, conversation turns, the outbox, customers' conversations, notices and job notes
-- and support requests hold `fwe1.` ciphertext under the data key of the person they are
-- about (src/personal.mjs).
--
-- Rollout: the tables whose CHECKs measured plaintext are rebuilt without them (the rules
-- live in the domain: domain::jobs::parse_note, domain::customer_messages::kept_body), every
-- column, index and other constraint as before, so code deployed before this migration keeps
-- working; new columns are nullable and the running code never reads them. Rows written in
-- plaintext before the new code runs are still found (lookups fall back to the plain address
-- while a row has no blind index).
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

INSERT INTO schema_history (version, name) VALUES (18, 'personal_messages');
