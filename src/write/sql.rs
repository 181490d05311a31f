//! Statements as plain data (SQL and its parameters), so the engine's batches run on any
//! store; and the engine's own statements: the guard's check, audit rows, idempotency keys.

use std::borrow::Cow;

use crate::domain::audit::AuditEvent;
use crate::write::Keyed;

/// A parameter: SQL NULL, an integer or text.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Param {
    fn from(value: i64) -> Self {
        Param::Int(value)
    }
}

impl From<&str> for Param {
    fn from(value: &str) -> Self {
        Param::Text(value.to_owned())
    }
}

impl From<String> for Param {
    fn from(value: String) -> Self {
        Param::Text(value)
    }
}

impl From<&String> for Param {
    fn from(value: &String) -> Self {
        Param::Text(value.clone())
    }
}

impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(value: Option<T>) -> Self {
        value.map_or(Param::Null, Into::into)
    }
}

/// One statement with its parameters bound in order (`?1`, `?2`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub sql: Cow<'static, str>,
    pub params: Vec<Param>,
}

impl Sql {
    pub fn new(sql: &'static str, params: Vec<Param>) -> Self {
        Self {
            sql: Cow::Borrowed(sql),
            params,
        }
    }
}

/// `Sql::new` with parameters converted: `sql!(QUERY, id, version)`.
#[macro_export]
macro_rules! sql {
    ($query:expr $(, $param:expr)* $(,)?) => {
        $crate::write::Sql::new($query, vec![$($crate::write::Param::from($param)),*])
    };
}

/// Right after a guard: fails the whole batch (D1 runs a batch as one transaction) when the
/// guard changed no row, so nothing after it, nor any audit row, is half-written.
pub const GUARD: &str = "INSERT INTO write_guard (stale_version) SELECT NULL WHERE changes() = 0";
/// What the store reports when [`GUARD`] fails.
pub const GUARD_FAILED: &str = "write_guard.stale_version";
/// How a trigger's `RAISE(ABORT, 'RULE: …')` marks a refusal meant for the client.
pub const RULE: &str = "RULE: ";

/// The audit row insert, followed by `$tail` (a condition, or nothing).
macro_rules! append_audit {
    ($tail:literal) => {
        concat!(
            "INSERT INTO audit_log (seq, prev_seq, at, actor_kind, actor_id, action, entity, ",
            "entity_id, before, after, ip, request_id, prev_hash, hash) ",
            "SELECT (SELECT COALESCE(MAX(seq), 0) + 1 FROM audit_log), ",
            "(SELECT COALESCE(MAX(seq), 0) FROM audit_log), ",
            "?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, '', ''",
            $tail
        )
    };
}

/// Appends one row after whatever is last, in the writer's own batch: no writer reads the
/// chain's tip, so writers of different records never conflict. `prev_hash` and `hash` belong
/// to the rows before the keyed chain; these rows get a seal from the sealer instead.
pub const APPEND_AUDIT: &str = append_audit!("");

/// [`APPEND_AUDIT`], only if the statement just before it changed a row.
pub const APPEND_AUDIT_IF_CHANGED: &str = append_audit!(" WHERE changes() > 0");

/// The parameters of [`APPEND_AUDIT`] (and its conditional twin) for `event`.
pub fn audit_params(event: &AuditEvent) -> Vec<Param> {
    vec![
        event.at.to_rfc3339().into(),
        event.actor_kind.as_str().into(),
        event.actor_id.as_deref().into(),
        event.action.as_str().into(),
        event.entity.into(),
        event.entity_id.as_deref().into(),
        event.before.as_ref().map(ToString::to_string).into(),
        event.after.as_ref().map(ToString::to_string).into(),
        event.ip.as_deref().into(),
        event.request_id.as_str().into(),
    ]
}

pub fn append_audit(event: &AuditEvent) -> Sql {
    Sql::new(APPEND_AUDIT, audit_params(event))
}

/// [`append_audit`], written only if the statement just before it changed a row.
pub fn append_audit_if_changed(event: &AuditEvent) -> Sql {
    Sql::new(APPEND_AUDIT_IF_CHANGED, audit_params(event))
}

/// Records what a keyed create made; a second batch with the same key fails on the key.
pub const REMEMBER_KEY: &str = "INSERT INTO idempotency_keys (user_id, key, fingerprint, \
    status, body, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
pub const RECALL_KEY: &str = "SELECT fingerprint, status, body FROM idempotency_keys \
    WHERE user_id = ?1 AND key = ?2";

pub fn remember_key(k: &Keyed, status: u16, location: &str, now_ms: i64) -> Sql {
    crate::sql!(
        REMEMBER_KEY,
        k.user_id.as_str(),
        k.key.as_str(),
        k.fingerprint.as_str(),
        i64::from(status),
        location,
        now_ms
    )
}

pub fn recall_key(k: &Keyed) -> Sql {
    crate::sql!(RECALL_KEY, k.user_id.as_str(), k.key.as_str())
}
