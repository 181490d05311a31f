-- Messages going out (DESIGN.md §10): every email and SMS passes through this table, written
-- in the batch of the change that causes it, then sent after the response and by cron.
-- `occasion` is the message's unique key (what it is about and why), so nothing is queued
-- twice; a row is claimed (`sending`) by one sender at a time, and one left `sending` past
-- its lease was cut off mid-call: its outcome is unknown, and it is never resent by itself.
--
-- Rollout: new tables and a trigger on the new `notifications`; the running code never
-- reads them.

CREATE TABLE outbox (
    id            TEXT PRIMARY KEY,
    occasion      TEXT NOT NULL UNIQUE,
    channel       TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    recipient     TEXT NOT NULL,
    -- What the message says is rendered when it is sent, from its kind and data.
    kind          TEXT NOT NULL,
    data          TEXT NOT NULL DEFAULT '{}',
    -- What it is about, for that record's timeline.
    entity        TEXT NOT NULL,
    entity_id     TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_at       INTEGER NOT NULL,
    claimed_at    INTEGER,
    provider_id   TEXT,
    error         TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_at) WHERE status = 'queued';
CREATE INDEX outbox_sending ON outbox (claimed_at) WHERE status = 'sending';
CREATE INDEX outbox_by_entity ON outbox (entity, entity_id, created_at);

-- Every in-app notice also goes to its user by email, in the notice's own transaction: one
-- rule, whoever writes the notice.
CREATE TRIGGER notifications_by_email AFTER INSERT ON notifications
BEGIN
    INSERT INTO outbox (id, occasion, channel, recipient, kind, data, entity, entity_id,
                        next_at, created_at, updated_at)
    SELECT lower(hex(randomblob(16))), 'notice:' || NEW.id, 'email', u.email,
           'notice', json_object('notification_id', NEW.id), 'user', u.id,
           NEW.created_at, NEW.created_at, NEW.created_at
    FROM users u WHERE u.id = NEW.user_id AND u.active = 1;
END;

INSERT INTO schema_history (version, name) VALUES (10, 'outbox');
