//! Each user's in-app notices (`notifications`): written once per occasion, read newest first,
//! marked read all at once. What a notice says of people is sealed (`Notice::sealed_data`)
//! under the key of the person it is about, else of the user told (or, told to several, the
//! notice's own).

use serde::Deserialize;

use crate::domain::auth::permissions::Role;
use crate::domain::notices::Notice;
use crate::domain::personal::user_key;
use crate::domain::time::Millis;
use crate::sql;
use crate::write::Sql;

/// How many notices a listing shows.
pub const LIST_LIMIT: i64 = 50;

/// The notice that strangers locked the account: written with the failure that locked it,
/// once per lock (the lock's end is the occasion). ?1 id, ?2 user, ?3 now (ms), ?4 the
/// account's attempts subject, ?5 the failures that lock it (the lock resets the count).
pub const ACCOUNT_LOCKED: &str = "INSERT INTO notifications \
    (id, user_id, kind, occasion, data, created_at) \
    SELECT ?1, ?2, 'account_locked', 'account_locked:' || locked_until, \
    json_object('until', locked_until, 'failures', CAST(?5 AS INTEGER)), ?3 \
    FROM login_attempts WHERE subject = ?4 AND locked_until > ?3 \
    ON CONFLICT (user_id, occasion) DO NOTHING";
/// A notice to one user. ?1 id, ?2 user, ?3 kind, ?4 occasion, ?5 data, ?6 now (ms).
pub const NOTIFY: &str = "INSERT INTO notifications \
    (id, user_id, kind, occasion, data, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
    ON CONFLICT (user_id, occasion) DO NOTHING";
/// A notice to a user who has signed in before (their first sign-in is from a new browser by
/// necessity, and tells them nothing). Runs before the batch's own sign-in row.
/// ?1 id, ?2 user, ?3 kind, ?4 occasion, ?5 data, ?6 now (ms).
pub const NOTIFY_IF_SIGNED_IN_BEFORE: &str = "INSERT INTO notifications \
    (id, user_id, kind, occasion, data, created_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
    WHERE EXISTS (SELECT 1 FROM audit_log WHERE entity_id = ?2 AND action = 'auth.login') \
    ON CONFLICT (user_id, occasion) DO NOTHING";
/// The same notice to every active owner but ?5 (the one it is about, told otherwise).
/// ?1 kind, ?2 occasion, ?3 data, ?4 now (ms).
pub const NOTIFY_OWNERS: &str = "INSERT INTO notifications \
    (id, user_id, kind, occasion, data, created_at) \
    SELECT lower(hex(randomblob(16))), id, ?1, ?2, ?3, ?4 FROM users \
    WHERE role = 'owner' AND active = 1 AND id IS NOT ?5 \
    ON CONFLICT (user_id, occasion) DO NOTHING";
/// The same notice to every active user whose role is in ?5 (a JSON array of role names).
/// ?1 kind, ?2 occasion, ?3 data, ?4 now (ms).
pub const NOTIFY_ROLES: &str = "INSERT INTO notifications \
    (id, user_id, kind, occasion, data, created_at) \
    SELECT lower(hex(randomblob(16))), id, ?1, ?2, ?3, ?4 FROM users \
    WHERE active = 1 AND role IN (SELECT value FROM json_each(?5)) \
    ON CONFLICT (user_id, occasion) DO NOTHING";
/// ?1 user, ?2 how many.
pub const SELECT_FOR_USER: &str = "SELECT id, kind, data, created_at, read_at \
    FROM notifications WHERE user_id = ?1 ORDER BY created_at DESC, id DESC LIMIT ?2";
/// ?1 user, ?2 now (ms).
pub const MARK_ALL_READ: &str =
    "UPDATE notifications SET read_at = ?2 WHERE user_id = ?1 AND read_at IS NULL";

/// A row of `notifications`.
#[derive(Debug, Clone, Deserialize)]
pub struct Notification {
    pub id: String,
    pub kind: String,
    /// JSON object: what the notice's text is made from.
    pub data: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

pub fn account_locked(id: &str, user_id: &str, subject: &str, failures: i64, now: Millis) -> Sql {
    sql!(ACCOUNT_LOCKED, id, user_id, now.0 as i64, subject, failures)
}

pub fn for_user(user_id: &str) -> Sql {
    sql!(SELECT_FOR_USER, user_id, LIST_LIMIT)
}

pub fn mark_all_read(user_id: &str, now: Millis) -> Sql {
    sql!(MARK_ALL_READ, user_id, now.0 as i64)
}

/// What a notice to `user_id` stores as its data.
fn data_for(notice: &Notice, user_id: &str) -> String {
    let key = notice.subject_key().unwrap_or_else(|| user_key(user_id));
    notice.sealed_data(&key).to_string()
}

/// What a notice to several users stores as its data (`about`: the user it is about, if any).
fn data_for_many(notice: &Notice, about: Option<&str>, request_id: &str) -> String {
    let key = notice
        .subject_key()
        .or_else(|| about.map(user_key))
        .unwrap_or_else(|| notice.own_key(request_id));
    notice.sealed_data(&key).to_string()
}

/// `notice` to user `user_id`, once per `request_id`.
pub fn notify(id: &str, user_id: &str, notice: &Notice, request_id: &str, now: Millis) -> Sql {
    sql!(
        NOTIFY,
        id,
        user_id,
        notice.kind(),
        notice.occasion(request_id),
        data_for(notice, user_id),
        now.0 as i64
    )
}

/// `notice` to a user who has signed in before.
pub fn notify_if_signed_in_before(
    id: &str,
    user_id: &str,
    notice: &Notice,
    request_id: &str,
    now: Millis,
) -> Sql {
    sql!(
        NOTIFY_IF_SIGNED_IN_BEFORE,
        id,
        user_id,
        notice.kind(),
        notice.occasion(request_id),
        data_for(notice, user_id),
        now.0 as i64
    )
}

/// `notice` to every active user with one of `roles`, once per `request_id`.
pub fn notify_roles(notice: &Notice, roles: &[Role], request_id: &str, now: Millis) -> Sql {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    sql!(
        NOTIFY_ROLES,
        notice.kind(),
        notice.occasion(request_id),
        data_for_many(notice, None, request_id),
        now.0 as i64,
        serde_json::Value::from(names).to_string()
    )
}

/// `notice` to every active owner but `except`, once per `request_id`.
pub fn notify_owners(notice: &Notice, except: Option<&str>, request_id: &str, now: Millis) -> Sql {
    sql!(
        NOTIFY_OWNERS,
        notice.kind(),
        notice.occasion(request_id),
        data_for_many(notice, except, request_id),
        now.0 as i64,
        except
    )
}
