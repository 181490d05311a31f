//! Audit rows as the API shows them: in full to owners, and as a record's timeline (without
//! IP and hashes) to whoever may see the record.

use crate::json;
use serde_json::Value;

use crate::domain::audit::AuditRow;

/// `before`/`after` are stored as JSON text; they go out as JSON.
fn stored_json(value: &Option<String>) -> Value {
    value
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or(Value::Null)
}

pub fn audit_event_view(r: &AuditRow) -> Value {
    json!({
        "seq": r.seq,
        "at": r.at,
        "actor_kind": r.actor_kind,
        "actor_id": r.actor_id,
        "action": r.action,
        "entity": r.entity,
        "entity_id": r.entity_id,
        "before": stored_json(&r.before),
        "after": stored_json(&r.after),
        "ip": r.ip,
        "request_id": r.request_id,
        // Rows of the chain before keyed sealing carry their hash; later rows their seal,
        // once the sealer reached them (null until then).
        "hash": r.hash,
        "seal": r.seal,
    })
}

pub fn timeline_entry(r: &AuditRow) -> Value {
    json!({
        "at": r.at,
        "action": r.action,
        "actor_kind": r.actor_kind,
        "actor_id": r.actor_id,
        "before": stored_json(&r.before),
        "after": stored_json(&r.after),
    })
}
