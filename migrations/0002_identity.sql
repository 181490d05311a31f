-- 0002: identity and access — users, sign-in attempts, MFA recovery codes, invites, personal
-- access tokens — and the audit trail every change is written to.

ALTER TABLE company_settings ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0
    CHECK (mfa_required IN (0, 1));

-- Every tenant has its settings row from here on; provisioning names the company.
INSERT OR IGNORE INTO company_settings (id, name) VALUES (1, 'Unnamed company');

CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    email           TEXT NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name            TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    role            TEXT NOT NULL CHECK (role IN ('owner', 'dispatcher', 'technician', 'viewer')),
    -- PHC string ($pbkdf2-sha256$i=…$salt$hash); NULL for users who sign in only through Access.
    password_hash   TEXT,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- TOTP: the confirmed secret (base32), a secret awaiting its first code, and the last
    -- accepted time step (a code can't be used twice).
    totp_secret     TEXT,
    totp_pending    TEXT,
    totp_last_step  INTEGER,
    -- Bumped to end every session of the user at once (password change, deactivation, role
    -- change): a session remembers the epoch it was made in.
    session_epoch   INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);

-- Failed sign-ins, per email address whether or not a user has it (so an unknown address and a
-- wrong password behave the same), and per source IP. Kept in D1, not KV: counters must be
-- consistent.
CREATE TABLE login_attempts (
    subject      TEXT PRIMARY KEY,          -- 'email:<address>' or 'ip:<address>'
    failures     INTEGER NOT NULL DEFAULT 0,
    window_start INTEGER NOT NULL,          -- unix ms of the first failure counted
    locked_until INTEGER,                   -- unix ms
    lockouts     INTEGER NOT NULL DEFAULT 0 -- how often it was locked: the next lock is longer
);

CREATE TABLE recovery_codes (
    user_id   TEXT NOT NULL REFERENCES users (id),
    code_hash TEXT NOT NULL,
    used_at   INTEGER,
    PRIMARY KEY (user_id, code_hash)
);

CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL CHECK (email = lower(email)),
    role        TEXT NOT NULL CHECK (role IN ('owner', 'dispatcher', 'technician', 'viewer')),
    invited_by  TEXT NOT NULL REFERENCES users (id),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);

CREATE TABLE access_tokens (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 100),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    version      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX access_tokens_by_user ON access_tokens (user_id);

-- The audit trail: append-only (the triggers refuse UPDATE and DELETE) and hash-chained: each
-- row stores SHA-256 over its content and the previous row's hash. `prev_seq` is unique, so two
-- writers that read the same tip cannot both append after it: the second batch fails whole
-- and is retried, and the chain never forks.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    prev_seq    INTEGER NOT NULL UNIQUE,
    at          TEXT NOT NULL,
    actor_kind  TEXT NOT NULL,
    actor_id    TEXT,
    action      TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT,
    before      TEXT,
    after       TEXT,
    ip          TEXT,
    request_id  TEXT,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

INSERT INTO schema_history (version, name) VALUES (2, 'identity');
