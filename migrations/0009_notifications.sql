-- Each user's in-app notices (the bell in the dashboard): what happened to their account
-- that they should know of, e.g. strangers locking it with wrong passwords. `occasion` is the
-- notice's unique key (kind and what it is about), so a notice is written at most once
-- whatever retries or races happen; the text is rendered from `kind` and `data`.
--
-- Rollout: a new table; the running code never reads it.

CREATE TABLE notifications (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    occasion   TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    read_at    INTEGER,
    UNIQUE (user_id, occasion)
);
CREATE INDEX notifications_by_user ON notifications (user_id, created_at DESC);
CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL;

INSERT INTO schema_history (version, name) VALUES (9, 'notifications');
