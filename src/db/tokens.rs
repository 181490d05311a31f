//! Personal access tokens: stored as SHA-256 hashes, acting as their user.

use serde::Deserialize;
use worker::D1Database;

use crate::db::{all, first, text};
use crate::error::AppResult;
use crate::sql;
use crate::write::Sql;

pub const INSERT: &str = "INSERT INTO access_tokens (id, user_id, name, token_hash, created_at, \
    expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const SELECT_BY_HASH: &str = "SELECT id, user_id, name, created_at, expires_at, last_used_at, \
    revoked_at, version FROM access_tokens WHERE token_hash = ?1";
pub const SELECT_BY_ID: &str = "SELECT id, user_id, name, created_at, expires_at, last_used_at, \
    revoked_at, version FROM access_tokens WHERE id = ?1";
pub const SELECT_FOR_USER: &str =
    "SELECT id, user_id, name, created_at, expires_at, last_used_at, \
    revoked_at, version FROM access_tokens WHERE user_id = ?1 ORDER BY created_at DESC";
/// Every user's tokens, newest first, for owners.
pub const SELECT_ALL: &str = "SELECT id, user_id, name, created_at, expires_at, last_used_at, \
    revoked_at, version FROM access_tokens ORDER BY created_at DESC";
pub const REVOKE: &str = "UPDATE access_tokens SET revoked_at = ?1, version = version + 1 \
    WHERE id = ?2 AND user_id = ?3 AND version = ?4 AND revoked_at IS NULL";
/// Every token of user ?2 still working is revoked (the account was deleted). ?1 now (ms).
pub const REVOKE_ALL_OF_USER: &str = "UPDATE access_tokens SET revoked_at = ?1, \
    version = version + 1 WHERE user_id = ?2 AND revoked_at IS NULL";
/// Last use is recorded at most once a minute per token.
/// Last use, written at most once a minute, in the batch that looks the token up (?1 now,
/// ?2 the token's hash): bookkeeping that costs no round trip of its own.
pub const TOUCH: &str = "UPDATE access_tokens SET last_used_at = ?1 \
    WHERE token_hash = ?2 AND revoked_at IS NULL \
      AND (last_used_at IS NULL OR last_used_at < ?1 - 60000)";

#[derive(Debug, Clone, Deserialize)]
pub struct AccessToken {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub version: i64,
}

pub async fn by_id(db: &D1Database, id: &str) -> AppResult<Option<AccessToken>> {
    first(db, SELECT_BY_ID, &[text(id)]).await
}

pub async fn for_user(db: &D1Database, user_id: &str) -> AppResult<Vec<AccessToken>> {
    all(db, SELECT_FOR_USER, &[text(user_id)]).await
}

pub async fn every(db: &D1Database) -> AppResult<Vec<AccessToken>> {
    all(db, SELECT_ALL, &[]).await
}

pub fn load(id: &str) -> Sql {
    sql!(SELECT_BY_ID, id)
}

pub fn insert(
    id: &str,
    user_id: &str,
    name: &str,
    token_hash: &str,
    now_ms: i64,
    expires_at: Option<i64>,
) -> Sql {
    sql!(INSERT, id, user_id, name, token_hash, now_ms, expires_at)
}

pub fn revoke_all_of_user(user_id: &str, now_ms: i64) -> Sql {
    sql!(REVOKE_ALL_OF_USER, now_ms, user_id)
}

pub fn revoke(id: &str, user_id: &str, version: i64, now_ms: i64) -> Sql {
    sql!(REVOKE, now_ms, id, user_id, version)
}
