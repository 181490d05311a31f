//! Idempotency keys: what a keyed POST created, so a retry answers the same.

use serde::Deserialize;
use worker::{D1Database, D1PreparedStatement};

use crate::db::{first, int, statement, text};
use crate::error::AppResult;

pub const SELECT: &str = "SELECT fingerprint, status, body FROM idempotency_keys \
    WHERE user_id = ?1 AND key = ?2";
/// Written in the create's own batch: if two retries race, the second batch fails on the
/// primary key and creates nothing.
pub const INSERT: &str = "INSERT INTO idempotency_keys (user_id, key, fingerprint, status, body, \
    created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

#[derive(Debug, Deserialize)]
pub struct Recorded {
    pub fingerprint: String,
    pub status: i64,
    /// The path of the resource the first request created; for a visit booking (possibly a
    /// series), the JSON array of the visit ids.
    pub body: String,
}

pub async fn find(db: &D1Database, user_id: &str, key: &str) -> AppResult<Option<Recorded>> {
    first(db, SELECT, &[text(user_id), text(key)]).await
}

pub fn insert(
    db: &D1Database,
    user_id: &str,
    key: &str,
    fingerprint: &str,
    status: u16,
    location: &str,
    now_ms: u64,
) -> AppResult<D1PreparedStatement> {
    statement(
        db,
        INSERT,
        &[
            text(user_id),
            text(key),
            text(fingerprint),
            int(i64::from(status)),
            text(location),
            int(now_ms as i64),
        ],
    )
}
