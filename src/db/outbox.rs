//! The outbox (`outbox`): messages queued with the change that caused them, claimed one at a
//! time by a sender, finished once (`domain::outbox` decides how).

use serde::Deserialize;

use crate::domain::outbox::{After, LEASE_MS};
use crate::domain::time::Millis;
use crate::sql;
use crate::write::Sql;

/// Claims the most overdue queued message, if any: one sender per message, whoever else
/// drains at the same time. ?1 now (ms).
pub const CLAIM: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, \
    claimed_at = ?1, updated_at = ?1 \
    WHERE id = (SELECT id FROM outbox WHERE status = 'queued' AND next_at <= ?1 \
                ORDER BY next_at, id LIMIT 1) \
      AND status = 'queued' \
    RETURNING id, occasion, channel, recipient, kind, data, entity, entity_id, attempts";
/// ?1 id, ?2 provider's id, ?3 now.
pub const FINISH_SENT: &str = "UPDATE outbox SET status = 'sent', provider_id = ?2, \
    error = NULL, claimed_at = NULL, updated_at = ?3 WHERE id = ?1 AND status = 'sending'";
/// ?1 id, ?2 when to try again, ?3 why it did not go, ?4 now.
pub const FINISH_RETRY: &str = "UPDATE outbox SET status = 'queued', next_at = ?2, error = ?3, \
    claimed_at = NULL, updated_at = ?4 WHERE id = ?1 AND status = 'sending'";
/// ?1 id, ?2 why, ?3 now.
pub const FINISH_FAILED: &str = "UPDATE outbox SET status = 'failed', error = ?2, \
    claimed_at = NULL, updated_at = ?3 WHERE id = ?1 AND status = 'sending'";
/// Messages claimed longer ago than the lease: cut off mid-send. ?1 claimed before.
pub const SELECT_ORPHANS: &str = "SELECT id, occasion, channel, recipient, kind, data, entity, \
    entity_id, attempts FROM outbox WHERE status = 'sending' AND claimed_at < ?1 LIMIT 20";
/// A message whose send broke off, or an orphan: its outcome is unknown, and it is never
/// resent by itself. ?1 id, ?2 why, ?3 now.
pub const FINISH_UNKNOWN: &str = "UPDATE outbox SET status = 'unknown', error = ?2, \
    claimed_at = NULL, updated_at = ?3 WHERE id = ?1 AND status = 'sending'";
/// After a restore: the messages the restored database still holds as not yet sent, to be
/// checked against the claim markers in R2 (`outbox/claimed/<id>`, written before each send).
pub const SELECT_PENDING: &str = "SELECT id FROM outbox WHERE status IN ('queued', 'sending')";
/// After a restore: a message claimed for sending before it (its marker is in R2) is never
/// sent again: its outcome is unknown, as for a send cut off. ?1 id, ?2 why, ?3 now.
pub const HOLD_CLAIMED: &str = "UPDATE outbox SET status = 'unknown', error = ?2, \
    claimed_at = NULL, updated_at = ?3 WHERE id = ?1 AND status IN ('queued', 'sending')";
/// Where a message's claim is marked in R2 before it is sent: outside D1, so a restore of D1
/// to a point before the send does not forget it.
pub const CLAIM_MARKER_PREFIX: &str = "outbox/claimed/";
/// Whether anything is due: the cheap check before a drain. ?1 now.
pub const COUNT_DUE: &str =
    "SELECT COUNT(*) AS due FROM outbox WHERE status = 'queued' AND next_at <= ?1";
/// A notice with what its email needs: its user and the company. ?1 notification id.
pub const SELECT_NOTICE_MAIL: &str = "SELECT n.id, n.kind, n.data, n.created_at, n.read_at, \
    u.name AS user_name, s.name AS company, s.email AS company_email, s.time_zone \
    FROM notifications n JOIN users u ON u.id = n.user_id \
    JOIN company_settings s ON s.id = 1 WHERE n.id = ?1";
/// A record's messages, oldest first. ?1 entity, ?2 id.
pub const SELECT_FOR_ENTITY: &str = "SELECT id, channel, recipient, kind, status, attempts, \
    provider_id, error, created_at, updated_at FROM outbox \
    WHERE entity = ?1 AND entity_id = ?2 ORDER BY created_at, id";

/// A message claimed for sending.
#[derive(Debug, Clone, Deserialize)]
pub struct Claimed {
    pub id: String,
    pub occasion: String,
    pub channel: String,
    pub recipient: String,
    pub kind: String,
    pub data: String,
    pub entity: String,
    pub entity_id: String,
    pub attempts: i64,
}

/// A notice with its user's name and the company's, for its email.
#[derive(Debug, Clone, Deserialize)]
pub struct NoticeMail {
    pub id: String,
    pub kind: String,
    pub data: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
    pub user_name: String,
    pub company: String,
    pub company_email: Option<String>,
    pub time_zone: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Pending {
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Due {
    pub due: i64,
}

pub fn claim(now: Millis) -> Sql {
    sql!(CLAIM, now.0 as i64)
}

fn lease_start(now: Millis) -> i64 {
    now.0.saturating_sub(LEASE_MS) as i64
}

pub fn orphans(now: Millis) -> Sql {
    sql!(SELECT_ORPHANS, lease_start(now))
}

pub fn count_due(now: Millis) -> Sql {
    sql!(COUNT_DUE, now.0 as i64)
}

pub fn hold_claimed(id: &str, now: Millis) -> Sql {
    sql!(
        HOLD_CLAIMED,
        id,
        "claimed for sending before the database was restored: not sent again",
        now.0 as i64
    )
}

pub fn notice_mail(notification_id: &str) -> Sql {
    sql!(SELECT_NOTICE_MAIL, notification_id)
}

/// The statement that records `after` for message `id`.
pub fn finish(id: &str, after: &After, now: Millis) -> Sql {
    let now = now.0 as i64;
    match after {
        After::Sent { provider_id } => sql!(FINISH_SENT, id, provider_id.as_str(), now),
        After::Retry { at, reason } => sql!(FINISH_RETRY, id, *at as i64, reason.as_str(), now),
        After::Failed { reason } => sql!(FINISH_FAILED, id, reason.as_str(), now),
        After::Unknown { reason } => sql!(FINISH_UNKNOWN, id, reason.as_str(), now),
    }
}
