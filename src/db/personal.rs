//! Data keys and blind indexes (migration 0017; the rules in `domain::personal`, the sealing
//! in `src/personal.mjs`, which recognises the markers below in these statements).

use crate::domain::personal::{IndexKey, Kind};
use crate::sql;
use crate::write::Sql;

/// A new subject's data key: ?1 its id, ?4 now; ?2 and ?3 (the tenant key and the wrapped
/// key) are filled in by the sealing layer, which makes the key.
pub const INSERT_DATA_KEY: &str = "INSERT INTO data_keys (id, kek, wrapped, created_at) \
    VALUES (?1, ?2, ?3, ?4) /*new data key*/";
/// Erases a subject: its data key (?1) is deleted, so everything sealed under it is
/// unreadable. The layer forgets the key at once.
pub const ERASE_DATA_KEY: &str = "DELETE FROM data_keys WHERE id = ?1 /*erase data key*/";
/// A subject's terms are replaced whole on every write of its personal fields.
pub const DELETE_TERMS: &str = "DELETE FROM personal_terms WHERE kind = ?1 AND id = ?2";
/// ?3: a JSON array of blinded terms.
pub const INSERT_TERMS: &str = "INSERT OR IGNORE INTO personal_terms (kind, term, id) \
    SELECT ?1, value, ?2 FROM json_each(?3)";

/// The statement that makes the data key `key` (a subject's first write).
pub fn new_key(key: &str, now: i64) -> Sql {
    sql!(INSERT_DATA_KEY, key, "", "", now)
}

/// The statement that erases the data key `key`.
pub fn erase_key(key: &str) -> Sql {
    sql!(ERASE_DATA_KEY, key)
}

/// The statements that make `terms` the blind index of subject `id`.
pub fn index(index: &IndexKey, kind: Kind, id: &str, terms: &[String]) -> [Sql; 2] {
    [
        sql!(DELETE_TERMS, kind.as_str(), id),
        sql!(INSERT_TERMS, kind.as_str(), id, index.blind_all(terms)),
    ]
}

/// The statement that drops subject `id` from the blind index (an erasure).
pub fn unindex(kind: Kind, id: &str) -> Sql {
    sql!(DELETE_TERMS, kind.as_str(), id)
}

/// Data keys not yet wrapped under tenant key ?1, as stored; at most ?2.
pub const SELECT_TO_REWRAP: &str = "/*stored*/ SELECT id, kek, wrapped FROM data_keys \
    WHERE kek <> ?1 ORDER BY id LIMIT ?2";
/// How many data keys each tenant key wraps.
pub const COUNT_BY_KEK: &str = "SELECT kek, COUNT(*) AS keys FROM data_keys GROUP BY kek \
    ORDER BY kek";
/// Re-wraps data key ?1 (read as wrapped ?3 under tenant key ?4) under the current tenant key;
/// the sealing layer computes ?2 and ?3. Only if no one changed it since it was read.
pub const REWRAP: &str = "UPDATE data_keys SET kek = ?2, wrapped = ?3, rewrapped_at = ?5 \
    WHERE id = ?1 AND kek = ?4 /*rewrap data key*/";

/// A data key as stored.
#[derive(Debug, serde::Deserialize)]
pub struct WrappedKey {
    pub id: String,
    pub kek: String,
    pub wrapped: String,
}

/// The statement that re-wraps `key` under the current tenant key.
pub fn rewrap(key: &WrappedKey, now: i64) -> Sql {
    sql!(
        REWRAP,
        key.id.as_str(),
        "",
        key.wrapped.as_str(),
        key.kek.as_str(),
        now
    )
}
