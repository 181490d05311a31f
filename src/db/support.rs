//! Support sessions (`support_sessions`): each step is a guarded update that names the status
//! it leaves, so two owners deciding at once, a link used twice or a session ended while it
//! starts each change the row once.

use serde::Deserialize;

use crate::domain::personal::pending;
use crate::domain::support::{person_key, Request};
use crate::domain::time::Millis;
use crate::sql;
use crate::write::Sql;

macro_rules! support_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, person_name, person_email, reason, ticket, scope, duration_minutes, \
             status, requested_at, decided_by, decided_at, link_expires_at, started_at, \
             ends_at, ended_at, ended_by, version FROM support_sessions ",
            $rest
        )
    };
}

pub const SELECT_BY_ID: &str = support_select!("WHERE id = ?1");
/// The newest requests first (the owners' card shows them all, decided or not).
pub const SELECT_RECENT: &str = support_select!("ORDER BY requested_at DESC, id DESC LIMIT 50");
/// Sessions past their deadline whose row still says active (the sweep ends them).
pub const SELECT_OVERDUE: &str =
    support_select!("WHERE status = 'active' AND ends_at <= ?1 ORDER BY ends_at LIMIT 20");
/// ?1 id, ?2 name, ?3 email, ?4 reason, ?5 ticket, ?6 scope, ?7 minutes, ?8 status,
/// ?9 now, ?10 decided by (pre-approval), ?11 link expiry.
pub const INSERT: &str = "INSERT INTO support_sessions (id, person_name, person_email, reason, \
    ticket, scope, duration_minutes, status, requested_at, decided_by, decided_at, \
    link_expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
    CASE WHEN ?10 IS NULL THEN NULL ELSE ?9 END, ?11)";
/// An owner's decision on a request still waiting. ?1 id, ?2 version, ?3 status (approved or
/// refused), ?4 owner, ?5 now, ?6 link expiry (approved only).
pub const DECIDE: &str = "UPDATE support_sessions SET status = ?3, decided_by = ?4, \
    decided_at = ?5, link_expires_at = ?6, version = version + 1 \
    WHERE id = ?1 AND version = ?2 AND status = 'requested'";
/// The link starts the session, once, before the link expires. ?1 id, ?2 now.
pub const START: &str = "UPDATE support_sessions SET status = 'active', started_at = ?2, \
    ends_at = ?2 + duration_minutes * 60000, version = version + 1 \
    WHERE id = ?1 AND status = 'approved' AND link_expires_at > ?2";
/// Ends a request, an unused approval or a running session (never a later deadline).
/// ?1 id, ?2 version, ?3 by, ?4 now.
pub const END: &str = "UPDATE support_sessions SET status = 'ended', ended_at = ?4, \
    ended_by = ?3, ends_at = CASE WHEN ends_at IS NULL THEN NULL ELSE MIN(ends_at, ?4) END, \
    version = version + 1 \
    WHERE id = ?1 AND version = ?2 AND status IN ('requested', 'approved', 'active')";
/// Writes down that a session reached its deadline. ?1 id, ?2 now.
pub const END_AT_DEADLINE: &str = "UPDATE support_sessions SET status = 'ended', \
    ended_at = ends_at, ended_by = 'deadline', version = version + 1 \
    WHERE id = ?1 AND status = 'active' AND ends_at <= ?2";
/// The owners' setting that approves read-only requests without asking.
pub const SELECT_PREAPPROVE: &str =
    "SELECT support_preapprove_read_only AS preapprove FROM company_settings WHERE id = 1";
/// The sign-in link's email, queued in the batch that approves (the link is made when it is
/// sent, from the key: nothing secret is stored). ?1 id, ?2 session, ?3 recipient, ?4 now.
pub const QUEUE_LINK: &str = "INSERT INTO outbox (id, occasion, channel, recipient, kind, \
    data, entity, entity_id, next_at, created_at, updated_at) \
    VALUES (?1, 'support_link:' || ?2 || ':' || ?4, 'email', ?3, 'support_link', \
    json_object('session_id', ?2), 'support_session', ?2, ?4, ?4, ?4)";

#[derive(Debug, Clone, Deserialize)]
pub struct SupportRow {
    pub id: String,
    pub person_name: String,
    pub person_email: String,
    pub reason: String,
    pub ticket: String,
    pub scope: String,
    pub duration_minutes: i64,
    pub status: String,
    pub requested_at: i64,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub link_expires_at: Option<i64>,
    pub started_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub ended_by: Option<String>,
    pub version: i64,
}

#[derive(Debug, Deserialize)]
pub struct Preapprove {
    pub preapprove: i64,
}

pub fn by_id(id: &str) -> Sql {
    sql!(SELECT_BY_ID, id)
}

/// A new request; `approved` carries the link's expiry when the company pre-approves it.
/// The support person's name, email and reason are sealed under the session's own data key.
pub fn insert(id: &str, r: &Request, now: Millis, approved: Option<i64>) -> Sql {
    let key = person_key(id);
    sql!(
        INSERT,
        id,
        pending(&key, &r.person_name),
        pending(&key, &r.person_email),
        pending(&key, &r.reason),
        r.ticket.as_str(),
        r.scope_json(),
        r.duration_minutes,
        if approved.is_some() {
            "approved"
        } else {
            "requested"
        },
        now.0 as i64,
        approved.map(|_| "preapproved"),
        approved
    )
}

pub fn decide(id: &str, version: i64, approve: bool, owner: &str, now: Millis, link: i64) -> Sql {
    sql!(
        DECIDE,
        id,
        version,
        if approve { "approved" } else { "refused" },
        owner,
        now.0 as i64,
        approve.then_some(link)
    )
}

pub fn start(id: &str, now: Millis) -> Sql {
    sql!(START, id, now.0 as i64)
}

pub fn end(id: &str, version: i64, by: &str, now: Millis) -> Sql {
    sql!(END, id, version, by, now.0 as i64)
}

pub fn end_at_deadline(id: &str, now: Millis) -> Sql {
    sql!(END_AT_DEADLINE, id, now.0 as i64)
}

pub fn queue_link(outbox_id: &str, session_id: &str, recipient: &str, now: Millis) -> Sql {
    let recipient = pending(&person_key(session_id), recipient);
    sql!(QUEUE_LINK, outbox_id, session_id, recipient, now.0 as i64)
}
