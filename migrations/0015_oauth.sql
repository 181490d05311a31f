-- OAuth 2.1 for MCP clients (used when Cloudflare Access is not configured): the clients that
-- registered themselves, the grants users consented to (the "connected apps"), the one-time
-- authorization codes and the tokens. Every secret is stored as its SHA-256 only.

-- A client that registered itself (RFC 7591, public: no secret). `expires_at` is set until a
-- grant completes, so clients that never finish a flow are swept away; registrations from
-- one address are counted through `registered_ip`.
CREATE TABLE oauth_clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    redirect_uris TEXT NOT NULL,
    registered_ip TEXT,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER
);
CREATE INDEX oauth_clients_pending ON oauth_clients (expires_at) WHERE expires_at IS NOT NULL;

-- What a user let a client do: a connected app. Versioned (revoking goes through the write
-- engine); a token works only while its grant is not revoked and its user is active.
CREATE TABLE oauth_grants (
    id             TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL REFERENCES oauth_clients (id),
    user_id        TEXT NOT NULL REFERENCES users (id),
    scope          TEXT NOT NULL CHECK (scope IN ('read', 'read write')),
    resource       TEXT,
    created_at     INTEGER NOT NULL,
    last_used_at   INTEGER,
    revoked_at     INTEGER,
    revoked_reason TEXT,
    version        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX oauth_grants_by_user ON oauth_grants (user_id);

-- An authorization code: single use (taken by a DELETE … RETURNING), minutes long, bound to
-- its client, redirect URI, PKCE challenge (S256), user and scope.
CREATE TABLE oauth_codes (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    scope          TEXT NOT NULL,
    resource       TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);

-- Access tokens (an hour) and refresh tokens (rotated on every use: `used_at` marks one
-- exchanged, and presenting it again revokes its grant).
CREATE TABLE oauth_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL REFERENCES oauth_grants (id),
    kind       TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX oauth_tokens_by_grant ON oauth_tokens (grant_id);

INSERT INTO schema_history (version, name) VALUES (15, 'oauth');
