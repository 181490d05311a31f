-- Support access (DESIGN.md: who may act in a company): an operator asks, an owner approves
-- (or a company setting pre-approves read-only requests), the support person signs in through
-- a single-use link and acts as a principal of their own kind for at most the approved time.
-- Every step is a versioned, audited change of this row; the rules that make the promise
-- hold whatever the code does are here: a bounded duration, a deadline that can only move
-- earlier, and no way back to active once ended.
--
-- Rollout: a new table and a defaulted settings column; the running code never reads them.

CREATE TABLE support_sessions (
    id               TEXT PRIMARY KEY,
    person_name      TEXT NOT NULL CHECK (length(person_name) BETWEEN 1 AND 200),
    person_email     TEXT NOT NULL CHECK (length(person_email) BETWEEN 3 AND 254),
    reason           TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
    ticket           TEXT NOT NULL CHECK (length(ticket) BETWEEN 1 AND 200),
    -- The record types support may change, as a JSON array; [] is read-only.
    scope            TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(scope) AND json_type(scope) = 'array'),
    duration_minutes INTEGER NOT NULL CHECK (duration_minutes BETWEEN 5 AND 240),
    status           TEXT NOT NULL DEFAULT 'requested'
                     CHECK (status IN ('requested', 'approved', 'refused', 'active', 'ended')),
    requested_at     INTEGER NOT NULL,
    -- The owner who approved or refused ('preapproved' when the company setting did).
    decided_by       TEXT,
    decided_at       INTEGER,
    -- Until when the emailed sign-in link may start the session (single use: starting it
    -- moves the status on).
    link_expires_at  INTEGER,
    started_at       INTEGER,
    ends_at          INTEGER,
    ended_at         INTEGER,
    -- The owner who ended it, or 'deadline' / 'operator' / 'support'.
    ended_by         TEXT,
    version          INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    CHECK (status <> 'active' OR (started_at IS NOT NULL AND ends_at IS NOT NULL)),
    CHECK (ends_at IS NULL OR (started_at IS NOT NULL
                               AND ends_at <= started_at + duration_minutes * 60000))
);
CREATE INDEX support_sessions_by_status ON support_sessions (status, requested_at);

-- No extension without a new approval; an ended session stays ended.
CREATE TRIGGER support_sessions_no_extension BEFORE UPDATE ON support_sessions
WHEN (OLD.ends_at IS NOT NULL AND (NEW.ends_at IS NULL OR NEW.ends_at > OLD.ends_at))
  OR (OLD.status IN ('ended', 'refused') AND NEW.status <> OLD.status)
  OR (OLD.started_at IS NOT NULL AND NEW.started_at IS NOT OLD.started_at)
BEGIN
    SELECT RAISE(ABORT, 'RULE: A support session cannot be extended or reopened; ask for a new one.');
END;

-- Read-only requests approved without asking (each still told to every owner).
ALTER TABLE company_settings ADD COLUMN support_preapprove_read_only INTEGER NOT NULL DEFAULT 0
    CHECK (support_preapprove_read_only IN (0, 1));

INSERT INTO schema_history (version, name) VALUES (14, 'support');
