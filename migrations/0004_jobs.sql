-- 0004: jobs at customers' sites, their technicians, notes and scheduled visits; and the
-- idempotency keys that make retried creates safe.

CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    -- The short number people use ("job 42"), assigned in the inserting statement.
    number       INTEGER NOT NULL UNIQUE,
    customer_id  TEXT NOT NULL REFERENCES customers (id),
    site_id      TEXT NOT NULL REFERENCES sites (id),
    title        TEXT NOT NULL CHECK (length(trim(title)) BETWEEN 1 AND 200),
    description  TEXT CHECK (description IS NULL OR length(description) <= 10000),
    priority     TEXT NOT NULL DEFAULT 'normal'
                 CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status       TEXT NOT NULL DEFAULT 'requested'
                 CHECK (status IN ('requested', 'scheduled', 'in_progress', 'completed',
                                   'on_hold', 'cancelled')),
    -- Work and parts used: a JSON array of {kind, description, quantity_milli, unit}.
    items        TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(items)),
    version      INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX jobs_by_created ON jobs (created_at, id);
CREATE INDEX jobs_by_status ON jobs (status, created_at, id);
CREATE INDEX jobs_by_customer ON jobs (customer_id, created_at, id);

CREATE TABLE job_technicians (
    job_id  TEXT NOT NULL REFERENCES jobs (id),
    user_id TEXT NOT NULL REFERENCES users (id),
    PRIMARY KEY (job_id, user_id)
);
CREATE INDEX job_technicians_by_user ON job_technicians (user_id, job_id);

CREATE TABLE job_notes (
    id         TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    author_id  TEXT NOT NULL,
    text       TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 5000),
    created_at TEXT NOT NULL
);
CREATE INDEX job_notes_by_job ON job_notes (job_id, created_at);

CREATE TABLE visits (
    id         TEXT PRIMARY KEY,
    job_id     TEXT NOT NULL REFERENCES jobs (id),
    start_ms   INTEGER NOT NULL,
    end_ms     INTEGER NOT NULL CHECK (end_ms > start_ms),
    version    INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX visits_by_start ON visits (start_ms, id);
CREATE INDEX visits_by_job ON visits (job_id, start_ms);

-- Who works a visit, with the visit's times repeated so finding a technician's overlapping
-- visits is one indexed range query.
CREATE TABLE visit_technicians (
    visit_id       TEXT NOT NULL REFERENCES visits (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    start_ms       INTEGER NOT NULL,
    end_ms         INTEGER NOT NULL,
    -- Set when the scheduler chose to double-book on purpose.
    allow_conflict INTEGER NOT NULL DEFAULT 0 CHECK (allow_conflict IN (0, 1)),
    PRIMARY KEY (visit_id, user_id)
);
CREATE INDEX visit_technicians_by_user ON visit_technicians (user_id, start_ms);

-- A technician cannot be booked on two overlapping visits unless the booking says so: the
-- whole batch that tries it fails, so a race of two schedulers cannot double-book either.
CREATE TRIGGER visit_technicians_no_overlap BEFORE INSERT ON visit_technicians
WHEN NEW.allow_conflict = 0 AND EXISTS (
    SELECT 1 FROM visit_technicians o
    WHERE o.user_id = NEW.user_id AND o.visit_id <> NEW.visit_id
      AND o.start_ms < NEW.end_ms AND NEW.start_ms < o.end_ms)
BEGIN
    SELECT RAISE(ABORT, 'visit_conflict');
END;

-- A POST with an Idempotency-Key records its answer here; a retry with the same key gets the
-- same answer and changes nothing.
CREATE TABLE idempotency_keys (
    user_id     TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (user_id, key)
);

INSERT INTO schema_history (version, name) VALUES (4, 'jobs');
