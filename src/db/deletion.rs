//! The company's deletion (`company_deletion`): a request, its cancellation by an owner, and
//! its completion — one guarded update that only one run can win, written with the statement
//! that destroys every data key.

use serde::Deserialize;

use crate::domain::time::Millis;
use crate::sql;
use crate::write::Sql;

macro_rules! deletion_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, status, requested_by, \
             (SELECT name FROM users WHERE users.id = requested_by) AS requested_by_name, \
             requested_at, effective_at, cancelled_by, cancelled_at, completed_at, purged_at, \
             version FROM company_deletion ",
            $rest
        )
    };
}

pub const SELECT_BY_ID: &str = deletion_select!("WHERE id = ?1");
/// The request that is pending or was carried out, if any (at most one: a unique index).
pub const SELECT_OPEN: &str =
    deletion_select!("WHERE status IN ('pending', 'completed') ORDER BY requested_at DESC LIMIT 1");
/// A new request, unless one is open already. ?1 id, ?2 owner, ?3 now, ?4 effective at.
pub const INSERT: &str = "INSERT INTO company_deletion (id, status, requested_by, requested_at, \
    effective_at) SELECT ?1, 'pending', ?2, ?3, ?4 WHERE NOT EXISTS \
    (SELECT 1 FROM company_deletion WHERE status IN ('pending', 'completed'))";
/// An owner cancels a pending request. ?1 id, ?2 version, ?3 owner, ?4 now.
pub const CANCEL: &str = "UPDATE company_deletion SET status = 'cancelled', cancelled_by = ?3, \
    cancelled_at = ?4, version = version + 1 \
    WHERE id = ?1 AND version = ?2 AND status = 'pending'";
/// The grace period is over: the one run that changes this row carries the deletion out.
/// ?1 id, ?2 now.
pub const COMPLETE: &str = "UPDATE company_deletion SET status = 'completed', completed_at = ?2, \
    version = version + 1 WHERE id = ?1 AND status = 'pending' AND effective_at <= ?2";
/// Every data key of the company: everything sealed under them becomes unreadable at once
/// (the marker comment makes `personal.mjs` forget the keys it holds in memory too).
pub const DESTROY_KEYS: &str = "DELETE FROM data_keys /*erase every data key*/";
/// R2 and KV are empty. ?1 id, ?2 now.
pub const MARK_PURGED: &str = "UPDATE company_deletion SET purged_at = ?2, version = version + 1 \
    WHERE id = ?1 AND status = 'completed' AND purged_at IS NULL";

#[derive(Debug, Clone, Deserialize)]
pub struct DeletionRow {
    pub id: String,
    pub status: String,
    pub requested_by: String,
    pub requested_by_name: Option<String>,
    pub requested_at: i64,
    pub effective_at: i64,
    pub cancelled_by: Option<String>,
    pub cancelled_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub purged_at: Option<i64>,
    pub version: i64,
}

pub fn by_id(id: &str) -> Sql {
    sql!(SELECT_BY_ID, id)
}

pub fn open() -> Sql {
    sql!(SELECT_OPEN)
}

pub fn insert(id: &str, owner: &str, now: Millis, effective_at: i64) -> Sql {
    sql!(INSERT, id, owner, now.0 as i64, effective_at)
}

pub fn cancel(id: &str, version: i64, owner: &str, now: Millis) -> Sql {
    sql!(CANCEL, id, version, owner, now.0 as i64)
}

pub fn complete(id: &str, now: Millis) -> Sql {
    sql!(COMPLETE, id, now.0 as i64)
}

pub fn destroy_keys() -> Sql {
    sql!(DESTROY_KEYS)
}

pub fn mark_purged(id: &str, now: Millis) -> Sql {
    sql!(MARK_PURGED, id, now.0 as i64)
}
