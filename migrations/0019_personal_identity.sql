-- 0019: users' personal data sealed (DESIGN.md §9), and accounts their users can delete.
--
-- users.name, users.email and the TOTP secrets, and invites.email, now hold sealed values
-- (`fwe1.…`, src/personal.mjs) under the user's data key (`u-<id>`; an invite's `i-<id>`).
-- Ciphertexts differ on every write, so an address is found and kept unique through its keyed
-- blind index instead (users.email_index, domain::auth::account::email_index); the CHECKs on
-- the shape of email and name move to the domain (domain::auth::account).
--
-- Rows written before this migration keep their plaintext (the layer passes values that are
-- not sealed through) and have no email_index, which needs the Worker's index key and cannot
-- be computed here: sign-in finds them by `email_index IS NULL AND email = ?` until their next
-- sign-in, which seals the row and writes its index (users::SEAL_LEGACY).
--
-- Deleting an account (POST /api/v1/me/delete) erases the user's data key, deactivates the row
-- for good (deleted_at) and numbers it (deleted_number): past actions read "Deleted user #n".
--
-- Rollout: code deployed before this migration keeps working on the rebuilt tables (every
-- column is kept, with its defaults); only the uniqueness of plaintext addresses it writes is
-- no longer the schema's (it checks before inserting).
PRAGMA defer_foreign_keys = on;

-- invites.email's CHECK (lower case) would refuse a sealed value: rebuilt without it. Nothing
-- references invites.
CREATE TABLE invites_0019 AS SELECT * FROM invites;
DROP TABLE invites;
CREATE TABLE invites (
    id          TEXT PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    -- Sealed under the invite's own data key (`i-<id>`), erased with the user it became.
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('owner', 'dispatcher', 'technician', 'viewer')),
    invited_by  TEXT NOT NULL REFERENCES users (id),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER,
    created_at  INTEGER NOT NULL
);
INSERT INTO invites (id, token_hash, email, role, invited_by, expires_at, used_at, created_at)
SELECT id, token_hash, email, role, invited_by, expires_at, used_at, created_at FROM invites_0019;
DROP TABLE invites_0019;

-- users is rebuilt in place (no RENAME, which would fail on the trigger that names users and
-- leave the deferred foreign-key count of the dropped table's children unpaid): copies of
-- users and of notifications (whose ON DELETE CASCADE the DROP's implicit delete would fire)
-- are taken, the table is made anew under its own name and the rows go back, which settles
-- every reference to users(id) before the commit checks them.
DROP TRIGGER notifications_by_email;
CREATE TABLE users_0019 AS SELECT * FROM users;
CREATE TABLE notifications_0019 AS SELECT * FROM notifications;
DROP TABLE users;
CREATE TABLE users (
    id              TEXT PRIMARY KEY,
    -- Sealed (or, in a row not sealed yet, the lower-cased address).
    email           TEXT NOT NULL,
    -- The address's keyed blind index: what sign-in looks it up by, unique among accounts.
    -- NULL in a row not sealed yet, and in a deleted account (its address is free again).
    email_index     TEXT,
    -- Sealed; a deleted account's is "Deleted user #<deleted_number>", in plain text.
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'dispatcher', 'technician', 'viewer')),
    -- PHC string ($pbkdf2-sha256$i=…$salt$hash); NULL for users who sign in only through Access.
    password_hash   TEXT,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    -- TOTP: the confirmed secret (base32, sealed), a secret awaiting its first code (sealed),
    -- and the last accepted time step (a code can't be used twice).
    totp_secret     TEXT,
    totp_pending    TEXT,
    totp_last_step  INTEGER,
    -- Bumped to end every session of the user at once (password change, deactivation, role
    -- change, deletion): a session remembers the epoch it was made in.
    session_epoch   INTEGER NOT NULL DEFAULT 0,
    version         INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    password_change_required INTEGER NOT NULL DEFAULT 0
        CHECK (password_change_required IN (0, 1)),
    -- The invite the account was made from: its sealed address is erased with the account.
    invite_id       TEXT,
    -- When the user deleted their account (unix ms), and its number among deleted accounts.
    deleted_at      INTEGER,
    deleted_number  INTEGER,
    CHECK ((deleted_at IS NULL) = (deleted_number IS NULL)),
    CHECK (deleted_at IS NULL OR (active = 0 AND email_index IS NULL))
);
INSERT INTO users (id, email, name, role, password_hash, active, totp_secret, totp_pending,
    totp_last_step, session_epoch, version, created_at, updated_at, password_change_required)
SELECT id, email, name, role, password_hash, active, totp_secret, totp_pending, totp_last_step,
    session_epoch, version, created_at, updated_at, password_change_required FROM users_0019;
-- (Where foreign keys are not enforced, the notifications were never deleted: kept as they are.)
INSERT OR IGNORE INTO notifications (id, user_id, kind, occasion, data, created_at, read_at)
SELECT id, user_id, kind, occasion, data, created_at, read_at FROM notifications_0019;
DROP TABLE users_0019;
DROP TABLE notifications_0019;
CREATE UNIQUE INDEX users_by_email_index ON users (email_index) WHERE email_index IS NOT NULL;
-- Only rows not sealed yet are found by their plaintext address.
CREATE INDEX users_unsealed_email ON users (email) WHERE email_index IS NULL;
CREATE UNIQUE INDEX users_deleted_number ON users (deleted_number)
    WHERE deleted_number IS NOT NULL;

-- As in 0012 (it names users, so it went with the old table).
CREATE TRIGGER notifications_by_email AFTER INSERT ON notifications
WHEN NEW.kind <> 'customer_message'
BEGIN
    INSERT INTO outbox (id, occasion, channel, recipient, kind, data, entity, entity_id,
                        next_at, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), 'notice:' || NEW.id, 'email', u.email,
           'notice', json_object('notification_id', NEW.id), 'user', u.id,
           NEW.created_at, NEW.created_at, NEW.created_at
    FROM users u WHERE u.id = NEW.user_id AND u.active = 1;
END;

-- Sign-in attempts now count against `email:<blind index>` (and `device:<id>:<blind index>`)
-- rather than the plain address: the old counters, which name addresses, are dropped (a lock
-- running now is lifted; the next failures count afresh).
DELETE FROM login_attempts WHERE subject LIKE 'email:%' OR subject LIKE 'device:%';

INSERT INTO schema_history (version, name) VALUES (19, 'personal_identity');
