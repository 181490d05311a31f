//! Single-use, expiring invitations to join the team.

use serde::Deserialize;
use worker::D1Database;

use crate::db::{first, text};
use crate::domain::auth::account::invite_key;
use crate::domain::personal::pending;
use crate::error::AppResult;
use crate::sql;
use crate::write::Sql;

/// ?3 the address, sealed under the invite's own data key.
pub const INSERT: &str = "INSERT INTO invites (id, token_hash, email, role, invited_by, \
    expires_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
pub const SELECT_BY_HASH: &str = "SELECT id, email, role, invited_by, expires_at, used_at \
    FROM invites WHERE token_hash = ?1";
/// Consumes the invite: only once, and only before it expires.
pub const CONSUME: &str = "UPDATE invites SET used_at = ?1 \
    WHERE id = ?2 AND used_at IS NULL AND expires_at > ?1";

/// How long after an invitation expired unused its address is kept (in the invite and in the
/// audit trail's picture of the invitation): long enough to answer "did we invite them?".
pub const LAPSED_KEPT_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Invitations that expired unused before ?1 (a hundred per run).
pub const SELECT_LAPSED: &str = "SELECT id FROM invites WHERE used_at IS NULL AND expires_at < ?1 \
    ORDER BY expires_at LIMIT 100";
/// Deletes one of them, if it is still lapsed (the guard of its erasure).
pub const DELETE_LAPSED: &str =
    "DELETE FROM invites WHERE id = ?1 AND used_at IS NULL AND expires_at < ?2";

#[derive(Debug, Clone, Deserialize)]
pub struct Invite {
    pub id: String,
    pub email: String,
    pub role: String,
    pub invited_by: String,
    pub expires_at: i64,
    pub used_at: Option<i64>,
}

#[derive(Deserialize)]
pub struct Lapsed {
    pub id: String,
}

pub async fn by_hash(db: &D1Database, hash: &str) -> AppResult<Option<Invite>> {
    first(db, SELECT_BY_HASH, &[text(hash)]).await
}

pub fn insert(
    id: &str,
    token_hash: &str,
    email: &str,
    role: &str,
    invited_by: &str,
    expires_at: i64,
    now_ms: i64,
) -> Sql {
    let email = pending(&invite_key(id), email);
    sql!(INSERT, id, token_hash, email, role, invited_by, expires_at, now_ms)
}
