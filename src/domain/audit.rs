//! Audit events and the hash chain that makes tampering with them detectable.
//!
//! Each row's hash is SHA-256 over the previous row's hash and the row's own content in a fixed
//! canonical form; the first row follows [`GENESIS_HASH`]. Rows are numbered `seq = prev_seq + 1`
//! and `prev_seq` is unique in the table, so a writer that appended after a stale tip fails its
//! whole batch instead of forking the chain.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::time::Millis;

/// The `prev_hash` of the first row.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who caused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in person (cookie session).
    User,
    /// A personal access token acting as its user.
    Token,
    /// Cloudflare Access, acting as the mapped user.
    Access,
    /// Someone not signed in (a failed sign-in, accepting an invite).
    Anonymous,
    /// An operator script (e.g. creating the first owner).
    System,
    /// An MCP client, acting as its token's user.
    Mcp,
    /// The messaging agent, acting as the linked user who wrote to it.
    Agent,
    /// A customer through a share link (the actor id is the link's).
    Customer,
    /// A provider's signed webhook (e.g. Stripe confirming a payment).
    Webhook,
}

impl ActorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Token => "token",
            Self::Access => "access",
            Self::Anonymous => "anonymous",
            Self::System => "system",
            Self::Mcp => "mcp",
            Self::Agent => "agent",
            Self::Customer => "customer",
            Self::Webhook => "webhook",
        }
    }
}

/// One change, before it is chained.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub at: Millis,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub action: &'static str,
    pub entity: &'static str,
    pub entity_id: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
    pub request_id: String,
}

/// An event with its place in the chain: exactly what is stored (and read back).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct AuditRow {
    pub seq: i64,
    pub prev_seq: i64,
    pub at: String,
    pub actor_kind: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub entity: String,
    pub entity_id: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    /// The chain's tip once this row is appended.
    pub fn tip(&self) -> ChainTip {
        ChainTip {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

/// The last row of the chain as read before a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainTip {
    pub seq: i64,
    pub hash: String,
}

impl ChainTip {
    pub fn genesis() -> Self {
        Self {
            seq: 0,
            hash: GENESIS_HASH.to_owned(),
        }
    }
}

/// The fields a hash covers, in a fixed order.
#[derive(Serialize)]
struct Canonical<'a> {
    seq: i64,
    prev_seq: i64,
    at: &'a str,
    actor_kind: &'a str,
    actor_id: Option<&'a str>,
    action: &'a str,
    entity: &'a str,
    entity_id: Option<&'a str>,
    before: Option<&'a str>,
    after: Option<&'a str>,
    ip: Option<&'a str>,
    request_id: Option<&'a str>,
}

impl AuditRow {
    /// The hash this row must have, given its content and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        let canonical = Canonical {
            seq: self.seq,
            prev_seq: self.prev_seq,
            at: &self.at,
            actor_kind: &self.actor_kind,
            actor_id: self.actor_id.as_deref(),
            action: &self.action,
            entity: &self.entity,
            entity_id: self.entity_id.as_deref(),
            before: self.before.as_deref(),
            after: self.after.as_deref(),
            ip: self.ip.as_deref(),
            request_id: self.request_id.as_deref(),
        };
        // A struct of strings and integers always serializes.
        let content = serde_json::to_string(&canonical).unwrap_or_default();
        let mut hasher = Sha256::new();
        hasher.update(self.prev_hash.as_bytes());
        hasher.update(b"\n");
        hasher.update(content.as_bytes());
        hex(&hasher.finalize())
    }
}

/// Chains `events` after `tip`, in order.
pub fn chain(tip: &ChainTip, events: Vec<AuditEvent>) -> Vec<AuditRow> {
    let mut prev = tip.clone();
    events
        .into_iter()
        .map(|event| {
            let mut row = AuditRow {
                seq: prev.seq + 1,
                prev_seq: prev.seq,
                at: event.at.to_rfc3339(),
                actor_kind: event.actor_kind.as_str().to_owned(),
                actor_id: event.actor_id,
                action: event.action.to_owned(),
                entity: event.entity.to_owned(),
                entity_id: event.entity_id,
                before: event.before.map(|v| v.to_string()),
                after: event.after.map(|v| v.to_string()),
                ip: event.ip,
                request_id: Some(event.request_id),
                prev_hash: prev.hash.clone(),
                hash: String::new(),
            };
            row.hash = row.expected_hash();
            prev = row.tip();
            row
        })
        .collect()
}

/// Where a chain first breaks, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenLink {
    pub seq: i64,
    pub reason: &'static str,
}

/// Checks rows given in `seq` order, starting after `from` (the genesis for a full check).
pub fn verify<'a>(
    from: &ChainTip,
    rows: impl IntoIterator<Item = &'a AuditRow>,
) -> Result<ChainTip, BrokenLink> {
    let mut prev = from.clone();
    for row in rows {
        let broken = |reason| BrokenLink {
            seq: row.seq,
            reason,
        };
        if row.prev_seq != prev.seq || row.seq != prev.seq + 1 {
            return Err(broken("a row is missing before this one"));
        }
        if row.prev_hash != prev.hash {
            return Err(broken("prev_hash does not match the previous row"));
        }
        if row.hash != row.expected_hash() {
            return Err(broken("the row's content does not match its hash"));
        }
        prev = row.tip();
    }
    Ok(prev)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(action: &'static str) -> AuditEvent {
        AuditEvent {
            at: Millis(1_700_000_000_000),
            actor_kind: ActorKind::User,
            actor_id: Some("u1".into()),
            action,
            entity: "user",
            entity_id: Some("u2".into()),
            before: Some(json!({"role": "viewer"})),
            after: Some(json!({"role": "dispatcher"})),
            ip: Some("203.0.113.9".into()),
            request_id: "r1".into(),
        }
    }

    #[test]
    fn chained_rows_follow_each_other_from_the_genesis() {
        let rows = chain(&ChainTip::genesis(), vec![event("a"), event("b")]);
        assert_eq!((rows[0].seq, rows[0].prev_seq), (1, 0));
        assert_eq!(rows[0].prev_hash, GENESIS_HASH);
        assert_eq!((rows[1].seq, rows[1].prev_seq), (2, 1));
        assert_eq!(rows[1].prev_hash, rows[0].hash);
        assert_eq!(rows[0].hash.len(), 64);
        assert_ne!(rows[0].hash, rows[1].hash);
        assert_eq!(
            verify(&ChainTip::genesis(), &rows).unwrap().hash,
            rows[1].hash
        );
    }

    #[test]
    fn a_chain_continues_from_a_tip() {
        let first = chain(&ChainTip::genesis(), vec![event("a")]);
        let tip = first[0].tip();
        let second = chain(&tip, vec![event("b")]);
        let all: Vec<_> = first.iter().chain(second.iter()).collect();
        assert!(verify(&ChainTip::genesis(), all).is_ok());
    }

    #[test]
    fn any_edit_missing_row_or_relinking_is_detected_at_its_row() {
        let rows = chain(
            &ChainTip::genesis(),
            vec![event("a"), event("b"), event("c")],
        );

        let mut edited = rows.clone();
        edited[1].after = Some("{\"role\":\"owner\"}".into());
        assert_eq!(verify(&ChainTip::genesis(), &edited).unwrap_err().seq, 2);

        let missing = [rows[0].clone(), rows[2].clone()];
        assert_eq!(verify(&ChainTip::genesis(), &missing).unwrap_err().seq, 3);

        let mut rehashed = rows.clone();
        rehashed[1].after = None;
        rehashed[1].hash = rehashed[1].expected_hash();
        // Re-hashing the edited row is not enough: the next row still names the old hash.
        assert_eq!(verify(&ChainTip::genesis(), &rehashed).unwrap_err().seq, 3);
    }
}
