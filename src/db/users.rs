//! Users, their failed sign-in counters and their MFA recovery codes.

use serde::Deserialize;
use worker::D1Database;

use crate::db::{all, first, text};
use crate::domain::auth::account::{self, email_index, SealedAccount};
use crate::domain::auth::permissions::Role;
use crate::domain::auth::session::lockout::{self, Attempts};
use crate::domain::personal::{pending, pending_opt, user_key, IndexKey};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::sql;
use crate::write::Sql;

/// Each user read also brings the company's MFA policy, which every authenticated request
/// needs: one round trip instead of two.
///
/// By the address's blind index (?1), or, for a row written before addresses were sealed
/// (migration 0019: no index yet), by the plain address (?2). A deleted account is never found.
pub const SELECT_BY_EMAIL: &str = "SELECT id, email, name, role, password_hash, active, \
    totp_secret, totp_pending, totp_last_step, session_epoch, version, created_at, updated_at, \
    password_change_required, email_index, invite_id, deleted_at, deleted_number, \
    (SELECT mfa_required FROM company_settings WHERE id = 1) AS company_mfa_required \
    FROM users WHERE deleted_at IS NULL \
      AND (email_index = ?1 OR (email_index IS NULL AND email = ?2))";
pub const SELECT_BY_ID: &str = "SELECT id, email, name, role, password_hash, active, \
    totp_secret, totp_pending, totp_last_step, session_epoch, version, created_at, updated_at, \
    password_change_required, email_index, invite_id, deleted_at, deleted_number, \
    (SELECT mfa_required FROM company_settings WHERE id = 1) AS company_mfa_required, \
    (SELECT COUNT(*) FROM notifications n WHERE n.user_id = users.id AND n.read_at IS NULL) \
    AS unread_notifications \
    FROM users WHERE id = ?1";
/// The user a personal access token belongs to, by the token's hash.
/// The user of an OAuth access token (its grant's user), read beside the token.
pub const SELECT_BY_OAUTH_HASH: &str = "SELECT id, email, name, role, password_hash, active, \
    totp_secret, totp_pending, totp_last_step, session_epoch, version, created_at, updated_at, \
    password_change_required, email_index, invite_id, deleted_at, deleted_number, \
    (SELECT mfa_required FROM company_settings WHERE id = 1) AS company_mfa_required, \
    (SELECT COUNT(*) FROM notifications n WHERE n.user_id = users.id AND n.read_at IS NULL) \
    AS unread_notifications \
    FROM users WHERE id = (SELECT g.user_id FROM oauth_tokens t JOIN oauth_grants g \
    ON g.id = t.grant_id WHERE t.token_hash = ?1 AND t.kind = 'access')";
pub const SELECT_BY_TOKEN_HASH: &str = "SELECT id, email, name, role, password_hash, active, \
    totp_secret, totp_pending, totp_last_step, session_epoch, version, created_at, updated_at, \
    password_change_required, email_index, invite_id, deleted_at, deleted_number, \
    (SELECT mfa_required FROM company_settings WHERE id = 1) AS company_mfa_required, \
    (SELECT COUNT(*) FROM notifications n WHERE n.user_id = users.id AND n.read_at IS NULL) \
    AS unread_notifications \
    FROM users WHERE id = (SELECT user_id FROM access_tokens WHERE token_hash = ?1)";
/// Every user with the lock on their address, if any (sorted by [`list`]: names are sealed).
/// A row not sealed yet has no index, so its lock shows once its next sign-in sealed it.
pub const SELECT_ALL: &str = "SELECT u.id, u.email, u.name, u.role, u.password_hash, u.active, \
    u.totp_secret, u.totp_pending, u.totp_last_step, u.session_epoch, u.version, u.created_at, \
    u.updated_at, u.deleted_at, u.deleted_number, a.locked_until \
    FROM users u LEFT JOIN login_attempts a ON a.subject = 'email:' || u.email_index";
/// ?2 email and ?3 name sealed, ?7 the address's blind index.
pub const INSERT: &str = "INSERT INTO users (id, email, name, role, password_hash, created_at, \
    updated_at, email_index) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)";
/// The first owner, made by an operator (`POST /ops/owners`); ?5 is 1 when the password was
/// generated for them and must be changed at the first sign-in. Only the first: once the
/// company has an owner, owners are invited (and a lost owner account is recovered, never
/// replaced by a silent new one).
/// ?2 email and ?3 name sealed, ?7 the address's blind index.
pub const INSERT_OWNER: &str = "INSERT INTO users (id, email, name, role, password_hash, \
    password_change_required, created_at, updated_at, email_index) \
    SELECT ?1, ?2, ?3, 'owner', ?4, ?5, ?6, ?6, ?7 \
    WHERE NOT EXISTS (SELECT 1 FROM users WHERE role = 'owner')";
/// Creates the invited user only if the same batch consumed the invite (`used_at` = now).
/// ?2 email and ?3 name sealed, ?9 the address's blind index; the invite is remembered, its
/// sealed address being the user's to erase.
pub const INSERT_FROM_INVITE: &str = "INSERT INTO users (id, email, name, role, password_hash, \
    created_at, updated_at, email_index, invite_id) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?6, ?9, ?7 \
    WHERE EXISTS (SELECT 1 FROM invites WHERE id = ?7 AND used_at = ?8)";
/// Role and active flag, with the version check and the last-owner rule in one statement: it
/// changes nothing if the change would leave no active owner.
pub const UPDATE_ROLE_ACTIVE: &str = "UPDATE users SET role = ?1, active = ?2, \
    session_epoch = session_epoch + 1, version = version + 1, updated_at = ?3 \
    WHERE id = ?4 AND version = ?5 AND deleted_at IS NULL AND NOT ( \
        role = 'owner' AND active = 1 AND (?1 <> 'owner' OR ?2 = 0) \
        AND (SELECT COUNT(*) FROM users WHERE role = 'owner' AND active = 1) <= 1)";
/// After a restore of D1: every session (in KV, which a restore of D1 does not touch) ends,
/// those made after the point restored to included. Their epochs may be ahead of the restored
/// ones, so the new epoch is the restore's time in ms, above any epoch ever counted up to.
/// ?1 now (ms), ?2 now (RFC 3339).
pub const END_SESSIONS_AFTER_RESTORE: &str = "UPDATE users \
    SET session_epoch = MAX(session_epoch + 1, ?1), version = version + 1, updated_at = ?2";
/// A new password is the user's own: any change the operator required is done.
pub const UPDATE_PASSWORD: &str = "UPDATE users SET password_hash = ?1, \
    password_change_required = 0, session_epoch = session_epoch + 1, version = version + 1, updated_at = ?2 \
    WHERE id = ?3 AND version = ?4";
/// A recovered owner's new password: two-factor sign-in is off until set up again, every
/// session ends. ?1 hash, ?2 now, ?3 id, ?4 version.
pub const RECOVER: &str = "UPDATE users SET password_hash = ?1, password_change_required = 0, \
    totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, \
    session_epoch = session_epoch + 1, version = version + 1, updated_at = ?2 \
    WHERE id = ?3 AND version = ?4 AND role = 'owner' AND active = 1";
/// The recovery link's email, made when sent (from the key and the account as it is then),
/// queued only while the owner is the company's sole active one.
/// ?1 id, ?2 user, ?3 address, ?4 expiry, ?5 now.
pub const QUEUE_RECOVERY_IF_SOLE: &str = "INSERT INTO outbox (id, occasion, channel, recipient, \
    kind, data, entity, entity_id, next_at, created_at, updated_at) \
    SELECT ?1, 'owner_recovery:' || ?2 || ':' || ?5, 'email', ?3, 'owner_recovery', \
    json_object('user_id', ?2, 'expires_at', ?4), 'user', ?2, ?5, ?5, ?5 \
    WHERE (SELECT COUNT(*) FROM users WHERE role = 'owner' AND active = 1 AND id <> ?2) = 0";
/// ?1 the secret, sealed ([`set_totp_pending`]).
pub const SET_TOTP_PENDING: &str = "UPDATE users SET totp_pending = ?1, version = version + 1, \
    updated_at = ?2 WHERE id = ?3";
/// The pending secret (sealed: copied as stored) becomes the secret, if the row is still at
/// the version the code was checked against (?4): sealed values cannot be compared.
pub const CONFIRM_TOTP: &str = "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, \
    totp_last_step = ?1, version = version + 1, updated_at = ?2 \
    WHERE id = ?3 AND version = ?4 AND totp_pending IS NOT NULL";
pub const DISABLE_TOTP: &str = "UPDATE users SET totp_secret = NULL, totp_pending = NULL, \
    totp_last_step = NULL, version = version + 1, updated_at = ?1 WHERE id = ?2";
/// Accepts a TOTP time step only if it is later than the last one used: one code, one use,
/// even under concurrent requests.
pub const CONSUME_TOTP_STEP: &str = "UPDATE users SET totp_last_step = ?1 \
    WHERE id = ?2 AND totp_secret IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < ?1)";

/// Seals a row written before personal data was sealed (migration 0019), at its user's sign-in:
/// the same values, sealed, and the address's index. Not a change of the account (no version
/// bump), and only while the row is as read and no other account holds the address's index.
/// ?1 email, ?3 name, ?4 TOTP secret and ?5 pending secret sealed, ?2 the index, ?6 id,
/// ?7 version.
pub const SEAL_LEGACY: &str = "UPDATE users SET email = ?1, email_index = ?2, name = ?3, \
    totp_secret = ?4, totp_pending = ?5 \
    WHERE id = ?6 AND version = ?7 AND email_index IS NULL AND deleted_at IS NULL \
      AND NOT EXISTS (SELECT 1 FROM users WHERE email_index = ?2)";
/// Deletes an account at the user's request: deactivated for good, its password, second factor
/// and address index gone, every session ended, named by its number from now on (?3, plain
/// text), its address sealed once more under the data key the same batch erases (?7: a row
/// not sealed yet keeps no plaintext). Never the company's last active owner.
/// ?1 now (ms), ?2 the account's number, ?4 now (RFC 3339), ?5 id, ?6 version.
pub const DELETE_ACCOUNT: &str = "UPDATE users SET active = 0, deleted_at = ?1, \
    deleted_number = ?2, name = ?3, email = ?7, email_index = NULL, password_hash = NULL, \
    totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL, \
    password_change_required = 0, session_epoch = session_epoch + 1, version = version + 1, \
    updated_at = ?4 \
    WHERE id = ?5 AND version = ?6 AND deleted_at IS NULL AND NOT ( \
        role = 'owner' AND active = 1 \
        AND (SELECT COUNT(*) FROM users WHERE role = 'owner' AND active = 1) <= 1)";
/// An account deletion replayed from the erasure ledger after a restore (no version: the user's
/// decision was taken before the restore point): the same end state as [`DELETE_ACCOUNT`],
/// numbered after the last deleted account. ?1 id, ?2 when it was deleted (ms), ?3 the same
/// as RFC 3339.
pub const DELETE_REPLAYED: &str = "UPDATE users SET active = 0, deleted_at = ?2, \
    deleted_number = (SELECT COALESCE(MAX(deleted_number), 0) + 1 FROM users), \
    name = 'Deleted user #' || (SELECT COALESCE(MAX(deleted_number), 0) + 1 FROM users), \
    email_index = NULL, password_hash = NULL, totp_secret = NULL, totp_pending = NULL, \
    totp_last_step = NULL, password_change_required = 0, session_epoch = session_epoch + 1, \
    version = version + 1, updated_at = ?3 WHERE id = ?1 AND deleted_at IS NULL";
/// The highest number a deleted account has (0 before the first).
pub const SELECT_LAST_DELETED_NUMBER: &str =
    "SELECT COALESCE(MAX(deleted_number), 0) AS last FROM users";
/// A deleted user's in-app notices go with the account.
pub const DELETE_NOTIFICATIONS: &str = "DELETE FROM notifications WHERE user_id = ?1";
/// Mail still queued to a deleted user is not sent (its address is erased). ?1 user, ?2 now.
pub const CANCEL_QUEUED_MAIL: &str = "UPDATE outbox SET status = 'failed', \
    error = 'the account was deleted', updated_at = ?2 \
    WHERE entity = 'user' AND entity_id = ?1 AND status = 'queued'";

pub const SELECT_ATTEMPTS: &str = "SELECT failures, window_start, locked_until, lockouts \
    FROM login_attempts WHERE subject = ?1";
/// Reserves one sign-in attempt for the subject *before* it is checked, in one statement:
/// refused (no row changed) while the subject is locked or already has ?4 attempts in the
/// window, so a burst of parallel attempts gets at most ?4 evaluated. The attempt counts as a
/// failure until a success takes it back. ?1 subject, ?2 now (ms), ?3 window (ms), ?4 max.
pub const RESERVE_ATTEMPT: &str = "INSERT INTO login_attempts \
    (subject, failures, window_start, locked_until, lockouts) VALUES (?1, 1, ?2, NULL, 0) \
    ON CONFLICT (subject) DO UPDATE SET \
    failures = CASE WHEN login_attempts.window_start + ?3 <= ?2 THEN 1 \
                    ELSE login_attempts.failures + 1 END, \
    window_start = CASE WHEN login_attempts.window_start + ?3 <= ?2 THEN ?2 \
                        ELSE login_attempts.window_start END \
    WHERE (login_attempts.locked_until IS NULL OR login_attempts.locked_until <= ?2) \
      AND (login_attempts.window_start + ?3 <= ?2 OR login_attempts.failures < ?4)";
/// A successful attempt gives its reservation back (the IP's count is of failures).
pub const RELEASE_ATTEMPT: &str = "UPDATE login_attempts SET failures = MAX(failures - 1, 0) \
    WHERE subject = ?1";
/// Locks the subject once it reached ?3 failures: for ?4 ms doubled per earlier lock, at most
/// ?5 ms. Run after a failed attempt (its reservation counted it). ?1 subject, ?2 now.
pub const LOCK_IF_OVER: &str = "UPDATE login_attempts SET \
    locked_until = ?2 + MIN(?4 << MIN(lockouts, 16), ?5), lockouts = lockouts + 1, \
    failures = 0, window_start = ?2 \
    WHERE subject = ?1 AND failures >= ?3";
/// After a successful sign-in: the count starts over, but the number of past locks is kept,
/// so an address that keeps getting locked gets longer locks.
pub const RESET_ATTEMPTS: &str = "UPDATE login_attempts SET failures = 0, locked_until = NULL \
    WHERE subject = ?1";
/// An owner's unlock forgets the address's history entirely.
pub const CLEAR_ATTEMPTS: &str = "DELETE FROM login_attempts WHERE subject = ?1";

pub const INSERT_RECOVERY_CODE: &str =
    "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?1, ?2)";
pub const DELETE_RECOVERY_CODES: &str = "DELETE FROM recovery_codes WHERE user_id = ?1";
pub const CONSUME_RECOVERY_CODE: &str = "UPDATE recovery_codes SET used_at = ?1 \
    WHERE user_id = ?2 AND code_hash = ?3 AND used_at IS NULL";
pub const COUNT_RECOVERY_CODES: &str =
    "SELECT COUNT(*) AS remaining FROM recovery_codes WHERE user_id = ?1 AND used_at IS NULL";

/// A row of `users`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub active: i64,
    pub totp_secret: Option<String>,
    pub totp_pending: Option<String>,
    pub totp_last_step: Option<i64>,
    pub session_epoch: i64,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// Only filled by [`list`].
    #[serde(default)]
    pub locked_until: Option<i64>,
    /// 1 while a password someone else chose (a generated one) awaits the user's own; filled
    /// by the single-user queries.
    #[serde(default, deserialize_with = "crate::db::row::zero_if_absent")]
    pub password_change_required: i64,
    /// Whether the company requires MFA (1); filled by the single-user queries.
    #[serde(default)]
    pub company_mfa_required: Option<i64>,
    /// Unread in-app notices; filled with the principal (by id or token), for the bell.
    #[serde(default)]
    pub unread_notifications: Option<i64>,
    /// The address's blind index (none in a row not sealed yet, or deleted); filled by the
    /// single-user queries.
    #[serde(default)]
    pub email_index: Option<String>,
    /// The invite the account was made from (its sealed address is erased with the account);
    /// filled by the single-user queries.
    #[serde(default)]
    pub invite_id: Option<String>,
    /// When the user deleted the account (ms), and its number among deleted accounts.
    #[serde(default)]
    pub deleted_at: Option<i64>,
    #[serde(default)]
    pub deleted_number: Option<i64>,
}

impl User {
    /// The role, refusing a row that holds an unknown one (the CHECK constraint prevents it).
    pub fn role(&self) -> AppResult<Role> {
        Role::parse(&self.role).ok_or_else(|| {
            AppError::internal(format!("user {} has unknown role {}", self.id, self.role))
        })
    }

    pub fn is_active(&self) -> bool {
        self.active == 1
    }

    pub fn mfa_enabled(&self) -> bool {
        self.totp_secret.is_some()
    }

    pub fn must_change_password(&self) -> bool {
        self.password_change_required == 1
    }

    pub fn is_deleted(&self) -> bool {
        self.deleted_at.is_some()
    }

    /// Whether the row was written before personal data was sealed (migration 0019): its
    /// address has no index yet, and the sealing layer passed its plaintext through.
    pub fn is_unsealed(&self) -> bool {
        self.email_index.is_none() && !self.is_deleted()
    }
}

/// The user whose address is `email` (normalized), by its blind index; a row not sealed yet,
/// by the plain address.
pub fn select_by_email(key: &IndexKey, email: &str) -> Sql {
    sql!(SELECT_BY_EMAIL, email_index(key, email), email)
}

pub async fn by_email(db: &D1Database, key: &IndexKey, email: &str) -> AppResult<Option<User>> {
    first(
        db,
        SELECT_BY_EMAIL,
        &[text(&email_index(key, email)), text(email)],
    )
    .await
}

pub async fn by_id(db: &D1Database, id: &str) -> AppResult<Option<User>> {
    first(db, SELECT_BY_ID, &[text(id)]).await
}

/// Every user, by name (then address): names are sealed, so the order is made here.
pub async fn list(db: &D1Database) -> AppResult<Vec<User>> {
    let mut users: Vec<User> = all(db, SELECT_ALL, &[]).await?;
    sort_by_name(&mut users);
    Ok(users)
}

/// Users by name, case-insensitively, then address; deleted accounts last, by number.
pub fn sort_by_name(users: &mut [User]) {
    crate::domain::order::by_key(users, |u| {
        (
            u.deleted_number.unwrap_or(0) as u64,
            u.name.to_lowercase(),
            u.email.clone(),
        )
    });
}

#[derive(Deserialize)]
pub struct AttemptsRow {
    failures: i64,
    window_start: i64,
    locked_until: Option<i64>,
    lockouts: i64,
}

/// The sign-in attempts subject of an address: its blind index, never the address.
pub fn email_subject(key: &IndexKey, email: &str) -> String {
    format!("email:{}", email_index(key, email))
}

pub fn ip_subject(ip: &str) -> String {
    format!("ip:{ip}")
}

impl AttemptsRow {
    pub fn to_domain(&self) -> Attempts {
        Attempts {
            failures: self.failures,
            window_start: u64::try_from(self.window_start).unwrap_or(0),
            locked_until: self.locked_until.and_then(|v| u64::try_from(v).ok()),
            lockouts: self.lockouts,
        }
    }
}

pub fn select_attempts(subject: &str) -> Sql {
    sql!(SELECT_ATTEMPTS, subject)
}

/// Reserves an attempt against `subject`, at most `max` in the window (see [`RESERVE_ATTEMPT`]).
pub fn reserve_attempt(subject: &str, now: Millis, max: i64) -> Sql {
    sql!(
        RESERVE_ATTEMPT,
        subject,
        now.0 as i64,
        lockout::WINDOW_MS as i64,
        max
    )
}

pub fn release_attempt(subject: &str) -> Sql {
    sql!(RELEASE_ATTEMPT, subject)
}

pub fn reset_attempts(subject: &str) -> Sql {
    sql!(RESET_ATTEMPTS, subject)
}

/// Locks `subject` if its failures reached `max` (see [`LOCK_IF_OVER`]).
pub fn lock_if_over(subject: &str, now: Millis, max: i64) -> Sql {
    sql!(
        LOCK_IF_OVER,
        subject,
        now.0 as i64,
        max,
        lockout::BASE_LOCK_MS as i64,
        lockout::MAX_LOCK_MS as i64
    )
}

#[derive(Deserialize)]
struct Remaining {
    remaining: i64,
}

pub async fn recovery_codes_left(db: &D1Database, user_id: &str) -> AppResult<i64> {
    Ok(
        first::<Remaining>(db, COUNT_RECOVERY_CODES, &[text(user_id)])
            .await?
            .map_or(0, |r| r.remaining),
    )
}

/// The user, as the write engine reads them.
pub fn load(id: &str) -> Sql {
    sql!(SELECT_BY_ID, id)
}

/// How many active owners the company has (the last one cannot step down).
pub const COUNT_ACTIVE_OWNERS: &str =
    "SELECT COUNT(*) AS owners FROM users WHERE role = 'owner' AND active = 1";

pub fn count_active_owners() -> Sql {
    sql!(COUNT_ACTIVE_OWNERS)
}

pub fn update_role_active(id: &str, version: i64, role: Role, active: bool, now: &str) -> Sql {
    sql!(
        UPDATE_ROLE_ACTIVE,
        role.as_str(),
        i64::from(active),
        now,
        id,
        version
    )
}

pub fn update_password(id: &str, version: i64, hash: &str, now: &str) -> Sql {
    sql!(UPDATE_PASSWORD, hash, now, id, version)
}

/// Stores `secret` (base32, plain) sealed as the user's pending TOTP secret.
pub fn set_totp_pending(id: &str, secret: &str, now: &str) -> Sql {
    sql!(
        SET_TOTP_PENDING,
        account::sealed_secret(id, secret),
        now,
        id
    )
}

/// Confirms the pending secret of user `id`, if the row is still at `version`.
pub fn confirm_totp(id: &str, version: i64, step: i64, now: &str) -> Sql {
    sql!(CONFIRM_TOTP, step, now, id, version)
}

/// The first owner (`POST /ops/owners`), sealed.
pub fn insert_owner(
    key: &IndexKey,
    id: &str,
    email: &str,
    name: &str,
    hash: &str,
    change_required: bool,
    now: &str,
) -> Sql {
    let sealed = SealedAccount::new(key, id, email, name);
    sql!(
        INSERT_OWNER,
        id,
        sealed.email,
        sealed.name,
        hash,
        i64::from(change_required),
        now,
        sealed.email_index
    )
}

/// What an invited person becomes, sealed; only if the same batch consumed invite
/// `invite_id` at `used_at` (see [`INSERT_FROM_INVITE`]).
pub struct FromInvite<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: Role,
    pub hash: &'a str,
    pub now: &'a str,
    pub invite_id: &'a str,
    pub used_at: i64,
}

pub fn insert_from_invite(key: &IndexKey, user: &FromInvite<'_>) -> Sql {
    let sealed = SealedAccount::new(key, user.id, user.email, user.name);
    sql!(
        INSERT_FROM_INVITE,
        user.id,
        sealed.email,
        sealed.name,
        user.role.as_str(),
        user.hash,
        user.now,
        user.invite_id,
        user.used_at,
        sealed.email_index
    )
}

/// Seals `user`, read from a row written before personal data was sealed (see
/// [`SEAL_LEGACY`]).
pub fn seal_legacy(key: &IndexKey, user: &User) -> Sql {
    let sealed = SealedAccount::new(key, &user.id, &user.email, &user.name);
    let data_key = user_key(&user.id);
    sql!(
        SEAL_LEGACY,
        sealed.email,
        sealed.email_index,
        sealed.name,
        pending_opt(&data_key, user.totp_secret.as_deref()),
        pending_opt(&data_key, user.totp_pending.as_deref()),
        user.id.as_str(),
        user.version
    )
}

/// The account's deletion (see [`DELETE_ACCOUNT`]): `user` as read, `number` its number among
/// deleted accounts.
pub fn delete_account(user: &User, number: i64, now: Millis) -> Sql {
    sql!(
        DELETE_ACCOUNT,
        now.0 as i64,
        number,
        account::deleted_name(number),
        now.to_rfc3339(),
        user.id.as_str(),
        user.version,
        pending(&user_key(&user.id), &user.email)
    )
}

pub fn last_deleted_number() -> Sql {
    sql!(SELECT_LAST_DELETED_NUMBER)
}

pub fn delete_notifications(user_id: &str) -> Sql {
    sql!(DELETE_NOTIFICATIONS, user_id)
}

pub fn cancel_queued_mail(user_id: &str, now: Millis) -> Sql {
    sql!(CANCEL_QUEUED_MAIL, user_id, now.0 as i64)
}

pub fn disable_totp(id: &str, now: &str) -> Sql {
    sql!(DISABLE_TOTP, now, id)
}

pub fn delete_recovery_codes(user_id: &str) -> Sql {
    sql!(DELETE_RECOVERY_CODES, user_id)
}

pub fn insert_recovery_code(user_id: &str, code_hash: &str) -> Sql {
    sql!(INSERT_RECOVERY_CODE, user_id, code_hash)
}

pub fn clear_attempts(subject: &str) -> Sql {
    sql!(CLEAR_ATTEMPTS, subject)
}
