//! OAuth 2.1 storage: clients, grants (the connected apps), one-time codes and tokens, every
//! secret as its SHA-256.

use serde::Deserialize;

use crate::sql;
use crate::write::Sql;

// ---- clients --------------------------------------------------------------------------------

/// A registration, refused (no row) past the per-address hourly count (?7) or the cap on
/// clients still waiting for a first grant (?8).
pub const REGISTER: &str = "INSERT INTO oauth_clients (id, name, redirect_uris, registered_ip, \
    created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
    WHERE (SELECT COUNT(*) FROM oauth_clients WHERE expires_at IS NOT NULL \
           AND registered_ip IS ?4 AND created_at > ?5 - 3600000) < ?7 \
      AND (SELECT COUNT(*) FROM oauth_clients WHERE expires_at IS NOT NULL) < ?8";
/// Clients that never completed a grant, past their time (?1 now); run with each registration
/// and on cron, so the table stays bounded without a scheduler.
pub const SWEEP_CLIENTS: &str = "DELETE FROM oauth_clients WHERE expires_at IS NOT NULL \
    AND expires_at < ?1 AND NOT EXISTS (SELECT 1 FROM oauth_grants g WHERE g.client_id = oauth_clients.id)";
pub const SWEEP_CODES: &str = "DELETE FROM oauth_codes WHERE expires_at < ?1";
pub const SWEEP_TOKENS: &str = "DELETE FROM oauth_tokens WHERE expires_at < ?1";
pub const SELECT_CLIENT: &str = "SELECT id, name, redirect_uris FROM oauth_clients WHERE id = ?1";
/// A client that completed a grant no longer expires.
pub const KEEP_CLIENT: &str = "UPDATE oauth_clients SET expires_at = NULL WHERE id = ?1";

#[derive(Debug, Clone, Deserialize)]
pub struct ClientRow {
    pub id: String,
    pub name: String,
    /// A JSON array of strings.
    pub redirect_uris: String,
}

impl ClientRow {
    pub fn redirect_uris(&self) -> Vec<String> {
        serde_json::from_str(&self.redirect_uris).unwrap_or_default()
    }
}

/// `(now_ms, expires_at)` and the limits `(per address an hour, pending at most)`.
pub fn register(
    id: &str,
    name: &str,
    redirect_uris: &str,
    ip: Option<&str>,
    (now_ms, expires_at): (i64, i64),
    (per_ip_hour, pending_max): (i64, i64),
) -> Sql {
    sql!(
        REGISTER,
        id,
        name,
        redirect_uris,
        ip,
        now_ms,
        expires_at,
        per_ip_hour,
        pending_max
    )
}

pub fn sweep(now_ms: i64) -> Vec<Sql> {
    vec![
        sql!(SWEEP_CODES, now_ms),
        sql!(SWEEP_TOKENS, now_ms),
        sql!(SWEEP_CLIENTS, now_ms),
    ]
}

// ---- codes ----------------------------------------------------------------------------------

/// A code for a client that still exists (the guard of the consent's batch).
pub const INSERT_CODE: &str = "INSERT INTO oauth_codes (code_hash, client_id, user_id, \
    redirect_uri, code_challenge, scope, resource, created_at, expires_at) \
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE EXISTS (SELECT 1 FROM oauth_clients WHERE id = ?2)";
/// Takes a code: whoever deletes it holds it, so it is exchanged at most once.
pub const TAKE_CODE: &str = "DELETE FROM oauth_codes WHERE code_hash = ?1 RETURNING client_id, \
    user_id, redirect_uri, code_challenge, scope, resource, expires_at";

#[derive(Debug, Clone, Deserialize)]
pub struct CodeRow {
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub scope: String,
    pub resource: Option<String>,
    pub expires_at: i64,
}

/// What a code is bound to.
pub struct NewCode<'a> {
    pub hash: &'a str,
    pub client_id: &'a str,
    pub user_id: &'a str,
    pub redirect_uri: &'a str,
    pub challenge: &'a str,
    pub scope: &'a str,
    pub resource: Option<&'a str>,
}

pub fn insert_code(code: &NewCode<'_>, now_ms: i64, expires_at: i64) -> Sql {
    sql!(
        INSERT_CODE,
        code.hash,
        code.client_id,
        code.user_id,
        code.redirect_uri,
        code.challenge,
        code.scope,
        code.resource,
        now_ms,
        expires_at
    )
}

// ---- grants ---------------------------------------------------------------------------------

macro_rules! grants {
    ($tail:literal) => {
        concat!(
            "SELECT g.id, g.client_id, c.name AS client_name, g.user_id, u.name AS user_name, \
             u.email AS user_email, g.scope, g.created_at, g.last_used_at, g.revoked_at, g.version \
             FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id \
             JOIN users u ON u.id = g.user_id ",
            $tail
        )
    };
}
pub const SELECT_GRANT: &str = grants!("WHERE g.id = ?1");
pub const SELECT_GRANTS_OF_USER: &str =
    grants!("WHERE g.user_id = ?1 AND g.revoked_at IS NULL ORDER BY g.created_at DESC");
pub const SELECT_GRANTS_ALL: &str =
    grants!("WHERE g.revoked_at IS NULL ORDER BY g.created_at DESC");
/// A grant for an active user and an existing client (the guard of the code's exchange).
pub const INSERT_GRANT: &str = "INSERT INTO oauth_grants (id, client_id, user_id, scope, \
    resource, created_at, last_used_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6 \
    WHERE EXISTS (SELECT 1 FROM users WHERE id = ?3 AND active = 1) \
      AND EXISTS (SELECT 1 FROM oauth_clients WHERE id = ?2)";
/// Revokes a grant at the version read (the dashboard).
pub const REVOKE_GRANT: &str = "UPDATE oauth_grants SET revoked_at = ?1, revoked_reason = ?2, \
    version = version + 1 WHERE id = ?3 AND version = ?4 AND revoked_at IS NULL";
/// Revokes a grant whatever its version (the client's revocation, a reused refresh token).
pub const REVOKE_GRANT_NOW: &str = "UPDATE oauth_grants SET revoked_at = ?1, revoked_reason = ?2, \
    version = version + 1 WHERE id = ?3 AND revoked_at IS NULL";
pub const DELETE_GRANT_TOKENS: &str = "DELETE FROM oauth_tokens WHERE grant_id = ?1";
/// Every token of user ?1's grants (the account was deleted): run before the grants' revocation.
pub const DELETE_TOKENS_OF_USER: &str = "DELETE FROM oauth_tokens \
    WHERE grant_id IN (SELECT id FROM oauth_grants WHERE user_id = ?1)";
/// Every grant of user ?3 still in force is revoked. ?1 now (ms), ?2 why.
pub const REVOKE_GRANTS_OF_USER: &str = "UPDATE oauth_grants SET revoked_at = ?1, \
    revoked_reason = ?2, version = version + 1 WHERE user_id = ?3 AND revoked_at IS NULL";

#[derive(Debug, Clone, Deserialize)]
pub struct GrantRow {
    pub id: String,
    pub client_id: String,
    pub client_name: String,
    pub user_id: String,
    pub user_name: String,
    pub user_email: String,
    pub scope: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub version: i64,
}

pub fn load_grant(id: &str) -> Sql {
    sql!(SELECT_GRANT, id)
}

pub fn grants_all() -> Sql {
    sql!(SELECT_GRANTS_ALL)
}

pub fn insert_grant(
    id: &str,
    client_id: &str,
    user_id: &str,
    scope: &str,
    resource: Option<&str>,
    now_ms: i64,
) -> Sql {
    sql!(
        INSERT_GRANT,
        id,
        client_id,
        user_id,
        scope,
        resource,
        now_ms
    )
}

pub fn revoke_grant(id: &str, version: i64, reason: &str, now_ms: i64) -> Sql {
    sql!(REVOKE_GRANT, now_ms, reason, id, version)
}

pub fn revoke_grant_now(id: &str, reason: &str, now_ms: i64) -> Sql {
    sql!(REVOKE_GRANT_NOW, now_ms, reason, id)
}

/// Every app connected as user `user_id` stops at once: its tokens deleted, its grant revoked.
pub fn revoke_grants_of_user(user_id: &str, reason: &str, now_ms: i64) -> [Sql; 2] {
    [
        sql!(DELETE_TOKENS_OF_USER, user_id),
        sql!(REVOKE_GRANTS_OF_USER, now_ms, reason, user_id),
    ]
}

pub fn delete_grant_tokens(id: &str) -> Sql {
    sql!(DELETE_GRANT_TOKENS, id)
}

// ---- tokens ---------------------------------------------------------------------------------

/// A token of a grant not revoked: the guard of a rotation (a grant revoked meanwhile gets no
/// new tokens).
pub const INSERT_TOKEN: &str = "INSERT INTO oauth_tokens (token_hash, grant_id, kind, \
    created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5 \
    WHERE EXISTS (SELECT 1 FROM oauth_grants WHERE id = ?2 AND revoked_at IS NULL)";
/// A refresh token with its grant and user, as it was before this request used it.
pub const SELECT_REFRESH: &str = "SELECT t.grant_id, t.expires_at, t.used_at, g.client_id, \
    g.user_id, g.scope, g.resource, g.revoked_at, u.active \
    FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id JOIN users u ON u.id = g.user_id \
    WHERE t.token_hash = ?1 AND t.kind = 'refresh'";
/// Uses a refresh token: changes a row only for its first use.
pub const USE_REFRESH: &str = "UPDATE oauth_tokens SET used_at = ?1 \
    WHERE token_hash = ?2 AND kind = 'refresh' AND used_at IS NULL AND expires_at > ?1";
/// An access token and its grant (its user is read beside it, `users::SELECT_BY_OAUTH_HASH`).
pub const SELECT_ACCESS: &str = "SELECT t.grant_id, t.expires_at, g.scope, g.revoked_at \
    FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id \
    WHERE t.token_hash = ?1 AND t.kind = 'access'";
/// The grant's last use, at most once a minute, in the batch that reads the token.
pub const TOUCH_GRANT: &str = "UPDATE oauth_grants SET last_used_at = ?1 \
    WHERE id = (SELECT grant_id FROM oauth_tokens WHERE token_hash = ?2 AND kind = 'access') \
      AND revoked_at IS NULL AND (last_used_at IS NULL OR last_used_at < ?1 - 60000)";
/// The grant a token (of either kind) belongs to, with its client.
pub const SELECT_TOKEN_GRANT: &str = "SELECT t.grant_id, g.client_id, g.user_id, g.revoked_at \
    FROM oauth_tokens t JOIN oauth_grants g ON g.id = t.grant_id WHERE t.token_hash = ?1";

#[derive(Debug, Clone, Deserialize)]
pub struct RefreshRow {
    pub grant_id: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
    pub client_id: String,
    pub user_id: String,
    pub scope: String,
    pub resource: Option<String>,
    pub revoked_at: Option<i64>,
    pub active: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AccessRow {
    pub grant_id: String,
    pub expires_at: i64,
    pub scope: String,
    pub revoked_at: Option<i64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TokenGrantRow {
    pub grant_id: String,
    pub client_id: String,
    pub user_id: String,
    pub revoked_at: Option<i64>,
}

pub fn insert_token(hash: &str, grant_id: &str, kind: &str, now_ms: i64, expires_at: i64) -> Sql {
    sql!(INSERT_TOKEN, hash, grant_id, kind, now_ms, expires_at)
}
