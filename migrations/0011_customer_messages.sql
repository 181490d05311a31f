-- Messages to customers (DESIGN.md §10): their consent, the automatic messages a company
-- sends and how, the conversation with a customer over SMS, and what the provider later says
-- of a message's delivery.
--
-- Rollout: new tables and nullable or defaulted columns; the running code never reads them.

-- When the customer opted out of automatic messages, by channel: STOP over SMS, the
-- unsubscribe link in an email. NULL: they have not. Staff may still write to them by hand.
ALTER TABLE customers ADD COLUMN sms_opted_out_at INTEGER;
ALTER TABLE customers ADD COLUMN email_opted_out_at INTEGER;

-- One row per automatic message: whether the company sends it and its wording. A NULL
-- subject or body is the product's default wording (domain::templates), so improving the
-- default reaches every company that never edited it.
CREATE TABLE message_templates (
    kind       TEXT PRIMARY KEY CHECK (kind IN ('booking', 'reminder', 'on_my_way',
                                                'job_completed', 'invoice_overdue',
                                                'quote_follow_up')),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    subject    TEXT CHECK (subject IS NULL OR length(subject) BETWEEN 1 AND 200),
    body       TEXT CHECK (body IS NULL OR length(body) BETWEEN 1 AND 2000),
    version    INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO message_templates (kind) VALUES ('booking'), ('reminder'), ('on_my_way'),
    ('job_completed'), ('invoice_overdue'), ('quote_follow_up');

-- When automatic messages go out (minutes after local midnight, in the company's time zone):
-- nothing automatic during quiet hours (from quiet_start to quiet_end, across midnight when
-- start > end); the day-before reminder at reminder_at; overdue reminders the given days
-- after the due date; a quote follow-up the given days after sending without an answer.
CREATE TABLE message_settings (
    id                   INTEGER PRIMARY KEY CHECK (id = 1),
    quiet_start          INTEGER NOT NULL DEFAULT 1200 CHECK (quiet_start BETWEEN 0 AND 1439),
    quiet_end            INTEGER NOT NULL DEFAULT 480 CHECK (quiet_end BETWEEN 0 AND 1439),
    reminder_at          INTEGER NOT NULL DEFAULT 1020 CHECK (reminder_at BETWEEN 0 AND 1439),
    overdue_days         TEXT NOT NULL DEFAULT '[3,7,14]' CHECK (json_valid(overdue_days)),
    quote_follow_up_days INTEGER NOT NULL DEFAULT 3 CHECK (quote_follow_up_days BETWEEN 1 AND 60),
    version              INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
INSERT INTO message_settings (id) VALUES (1);

-- The conversation with a customer: what they texted in, and what staff (or the automatic
-- messages) sent them. An outgoing row names its outbox message, whose status is the delivery.
CREATE TABLE customer_messages (
    id          TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers (id),
    direction   TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    body        TEXT NOT NULL CHECK (length(body) <= 2000),
    outbox_id   TEXT,
    author_id   TEXT,
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
);
CREATE INDEX customer_messages_by_customer ON customer_messages (customer_id, created_at);
CREATE INDEX customer_messages_unread ON customer_messages (customer_id) WHERE read_at IS NULL;

-- The provider's later word on a message it took (Twilio's status callbacks): delivered,
-- undelivered or failed, with its error code.
ALTER TABLE outbox ADD COLUMN delivery TEXT;
ALTER TABLE outbox ADD COLUMN delivery_error TEXT;
ALTER TABLE outbox ADD COLUMN delivered_at INTEGER;
CREATE INDEX outbox_by_provider ON outbox (provider_id) WHERE provider_id IS NOT NULL;

-- A record's history (timelines) and "has this user signed in before" (the new-device notice)
-- read the audit trail by record.
CREATE INDEX audit_log_by_entity ON audit_log (entity_id, action);

INSERT INTO schema_history (version, name) VALUES (11, 'customer_messages');
