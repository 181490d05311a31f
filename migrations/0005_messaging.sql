-- 0005: messaging. Telegram chats and phone numbers linked to users, the one-time codes that
-- link them, every inbound message (deduplicated on the provider's id, and kept so none is
-- lost), the agent's conversation history per chat, and destructive actions awaiting the
-- user's confirmation.

-- A chat or phone number that acts as a user. One address belongs to one user at most.
CREATE TABLE channel_links (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    channel    TEXT NOT NULL CHECK (channel IN ('telegram', 'sms')),
    -- The Telegram chat id, or the E.164 phone number.
    address    TEXT NOT NULL CHECK (length(address) BETWEEN 1 AND 64),
    created_at TEXT NOT NULL,
    UNIQUE (channel, address)
);
CREATE INDEX channel_links_by_user ON channel_links (user_id);

-- One-time link codes, stored hashed; a code links once, before it expires.
CREATE TABLE link_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    created_at TEXT NOT NULL
);
CREATE INDEX link_codes_by_user ON link_codes (user_id);

-- Every inbound message, inserted before anything is done with it: the primary key makes a
-- redelivered webhook a no-op, and a message whose processing failed stays here, unlost.
CREATE TABLE inbound_messages (
    channel     TEXT NOT NULL CHECK (channel IN ('telegram', 'sms')),
    provider_id TEXT NOT NULL,
    sender      TEXT NOT NULL,
    text        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    -- received → done (answered) or failed (the error says why); ignored: nothing to do.
    state       TEXT NOT NULL DEFAULT 'received'
                CHECK (state IN ('received', 'done', 'failed', 'ignored')),
    user_id     TEXT,
    reply       TEXT,
    error       TEXT,
    finished_at INTEGER,
    PRIMARY KEY (channel, provider_id)
);
CREATE INDEX inbound_messages_by_state ON inbound_messages (state, received_at);

-- The agent's memory of a chat: user texts and its final answers, trimmed by age and size.
CREATE TABLE conversation_turns (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    role    TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX conversation_turns_by_chat ON conversation_turns (channel, address, id);

-- A destructive tool the agent proposed: it runs only when called again, confirmed, in answer
-- to a later message of the same chat.
CREATE TABLE agent_confirmations (
    channel        TEXT NOT NULL,
    address        TEXT NOT NULL,
    tool           TEXT NOT NULL,
    arguments_hash TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (channel, address, tool, arguments_hash)
);

INSERT INTO schema_history (version, name) VALUES (5, 'messaging');
