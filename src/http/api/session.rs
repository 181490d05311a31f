//! Signing in and out: password, then (when enrolled) a TOTP or recovery code bound to a
//! short-lived challenge; accepting an invitation.

use crate::json;
use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::db::store::{D1Results, D1Store};
use crate::db::{self, invites, notifications, users, users::User};
use crate::domain::audit::{Action, ActorKind, AuditEvent};
use crate::domain::auth::account::{self, email_index};
use crate::domain::auth::device::{Device, DEVICE_COOKIE};
use crate::domain::auth::password::{
    check_new_password, PasswordHash, PBKDF2_ITERATIONS, SALT_LEN,
};
use crate::domain::auth::permissions::Role;
use crate::domain::auth::session::{
    challenge_kv_key, clear_session_cookie, cookie_value, lockout, session_cookie, session_kv_key,
    sha256_hex, MfaChallenge, SessionRecord, MFA_CHALLENGE_TTL_MS,
};
use crate::domain::auth::totp::{self, TotpSecret};
use crate::domain::notices::Notice;
use crate::domain::personal::{pending, user_key, IndexKey};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::notifications::tell_owners;
use crate::http::api::{event, new_id, now, secure_cookies};
use crate::http::auth::{store_session, Principal, Via};
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::personal::index_key;
use crate::http::{crypto, respond, seal, RequestCtx};
use crate::sql;
use crate::views::users::UserView;
use crate::write::{self, Change, Refusal, Results, Sql, Store};

/// What every failed sign-in answers, whatever failed: no hint whether the address exists.
fn sign_in_failed() -> AppError {
    AppError::unauthorized("The email address or password is not right.")
}

pub(crate) fn locked(for_ms: u64) -> AppError {
    let minutes = for_ms.div_ceil(60_000);
    AppError::new(ErrorKind::TooManyRequests)
        .with_detail(format!(
            "Too many failed sign-ins. Try again in {minutes} minute(s), or ask an owner to unlock the account."
        ))
        .with_header("Retry-After", (for_ms.div_ceil(1_000)).to_string())
}

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Derives the PBKDF2 key of `password` with the parameters of `hash`.
pub async fn derive(password: &str, hash: &PasswordHash) -> AppResult<Vec<u8>> {
    crypto::pbkdf2(password.as_bytes(), hash.salt(), hash.iterations()).await
}

/// A new hash of `password` with a fresh salt at today's parameters.
pub async fn hash_new_password(password: &str) -> AppResult<PasswordHash> {
    let salt = crypto::random_bytes::<SALT_LEN>()?.to_vec();
    let derived = crypto::pbkdf2(password.as_bytes(), &salt, PBKDF2_ITERATIONS).await?;
    PasswordHash::new(PBKDF2_ITERATIONS, salt, derived)
        .map_err(|e| AppError::internal(format!("building password hash: {e}")))
}

/// Checks `password` against `user` (or a dummy, so an unknown address costs the same time).
pub async fn password_matches(user: Option<&User>, password: &str) -> AppResult<bool> {
    let stored = user
        .and_then(|u| u.password_hash.as_deref())
        .and_then(|h| PasswordHash::parse(h).ok());
    let hash = stored.clone().unwrap_or_else(PasswordHash::dummy);
    let derived = derive(password, &hash).await?;
    Ok(stored.is_some() && hash.matches(&derived))
}

/// Starts a session for `user` and answers with it: cookie, CSRF token, the user, and any
/// `extra` members (e.g. recovery codes).
pub async fn start_session(
    req: &Request,
    env: &Env,
    user: &User,
    status: u16,
    extra: serde_json::Map<String, serde_json::Value>,
) -> AppResult<Response> {
    let session_id = crypto::random_string(43)?;
    let csrf = crypto::random_string(32)?;
    let now = now();
    let record = SessionRecord {
        user_id: user.id.clone(),
        epoch: user.session_epoch,
        created_ms: now.0,
        last_seen_ms: now.0,
        csrf: csrf.clone(),
        support: None,
    };
    store_session(env, &session_id, &record, now).await?;
    let mut body = extra;
    body.insert("user".into(), json!(UserView::new(user, now)));
    body.insert("csrf_token".into(), json!(csrf));
    // A generated password: the session opens only who-am-I, sign-out and the change.
    body.insert(
        "password_change_required".into(),
        json!(user.must_change_password()),
    );
    let response = respond::json(status, &body)?;
    let _ = response.headers().append(
        "Set-Cookie",
        &session_cookie(&session_id, secure_cookies(req, env)),
    );
    Ok(response)
}

/// Replaces the caller's session with a fresh one (after a privilege change).
pub async fn rotate_session(
    req: &Request,
    env: &Env,
    principal: &Principal,
    user: &User,
    extra: serde_json::Map<String, serde_json::Value>,
) -> AppResult<Response> {
    if let Via::Session { id, .. } = &principal.via {
        let _ = db::sessions(env)?.delete(&session_kv_key(id)).await;
    }
    start_session(req, env, user, 200, extra).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

/// What a sign-in attempt counts against, each with its cap: the address, the IP (when
/// Cloudflare names one), and for a second factor its challenge. The address is named by its
/// blind index (`email:<index>`), never in plain text: the counters are only looked up.
pub(crate) struct Subjects {
    list: Vec<(String, i64)>,
    /// The address's blind index, which the audit of a failure names when no account has it.
    email_index: String,
}

impl Subjects {
    /// The account's own subject first (the address's, or a trusted browser's), then the IP's.
    pub(crate) fn new(key: &IndexKey, email: &str, rctx: &RequestCtx) -> Self {
        let index = email_index(key, email);
        Self::from(format!("email:{index}"), index, rctx)
    }

    /// [`Subjects::new`] for a sign-in from `device`: a browser that has signed in to this
    /// account before counts against a cap of its own, so strangers who lock the address out
    /// do not lock out the people who use it.
    pub(crate) fn signing_in(
        key: &IndexKey,
        email: &str,
        rctx: &RequestCtx,
        device: Option<&Device>,
    ) -> Self {
        match device {
            Some(device) => {
                let index = email_index(key, email);
                Self::from(device.subject(&index), index, rctx)
            }
            None => Self::new(key, email, rctx),
        }
    }

    fn from(account: String, email_index: String, rctx: &RequestCtx) -> Self {
        let mut list = vec![(account, lockout::EMAIL_MAX_FAILURES)];
        if let Some(ip) = &rctx.ip {
            list.push((users::ip_subject(ip), lockout::IP_MAX_FAILURES));
        }
        Self { list, email_index }
    }

    /// A further subject the attempt counts against (a second factor's challenge).
    fn push(&mut self, subject: String, max: i64) {
        self.list.push((subject, max));
    }

    /// The account's subject: the one whose lock is audited and told to its user.
    fn account(&self) -> &str {
        &self.list[0].0
    }

    /// The failures that lock the account's subject.
    fn account_cap(&self) -> i64 {
        self.list[0].1
    }

    /// The reservations, each followed by the engine's guard, so that either every subject
    /// counts the attempt or none does (and the batch fails): `2 × len` statements.
    fn reserve(&self, now: Millis) -> Vec<Sql> {
        self.list
            .iter()
            .flat_map(|(subject, max)| {
                [
                    users::reserve_attempt(subject, now, *max),
                    Sql::new(write::sql::GUARD, vec![]),
                ]
            })
            .collect()
    }

    /// Runs the reservations with `reads` after them: the reads' results, or 429 with how
    /// long to wait when a subject refused (whether or not the address exists).
    pub(crate) async fn reserve_with(
        &self,
        store: &D1Store,
        now: Millis,
        reads: Vec<Sql>,
    ) -> AppResult<(D1Results, usize)> {
        let mut batch = self.reserve(now);
        let from = batch.len();
        batch.extend(reads);
        match store.batch(batch).await {
            Ok(results) => Ok((results, from)),
            Err(message) if message.contains(write::sql::GUARD_FAILED) => {
                Err(locked(self.retry_after(store, now).await?))
            }
            Err(message) => Err(AppError::internal(format!("sign-in: {message}"))),
        }
    }

    /// The longest wait among the subjects that refused.
    async fn retry_after(&self, store: &D1Store, now: Millis) -> AppResult<u64> {
        let states = self
            .list
            .iter()
            .map(|(subject, _)| users::select_attempts(subject))
            .collect();
        let results = store
            .batch(states)
            .await
            .map_err(|e| AppError::internal(format!("sign-in attempts: {e}")))?;
        let mut wait = 0;
        for (i, (_, max)) in self.list.iter().enumerate() {
            if let Some(row) = results.rows::<users::AttemptsRow>(i)?.into_iter().next() {
                let state = row.to_domain();
                if state.locked_for(now).is_some() || state.failures >= *max {
                    wait = wait.max(state.retry_after(now));
                }
            }
        }
        Ok(wait.max(1_000))
    }

    /// A successful attempt takes its reservations back: the address starts over, the IP
    /// keeps counting only failures.
    pub(crate) fn release(&self) -> Vec<Sql> {
        self.list
            .iter()
            .map(|(subject, _)| {
                if subject.starts_with("ip:") {
                    users::release_attempt(subject)
                } else {
                    users::reset_attempts(subject)
                }
            })
            .collect()
    }
}

/// Audits a failed attempt (its reservation already counted it), locks the address or IP
/// that reached its cap, and answers 401, or 429 when this failure locked the address.
async fn fail_sign_in(
    store: &D1Store,
    rctx: &RequestCtx,
    subjects: &Subjects,
    email: &str,
    user: Option<&User>,
    reason: &'static str,
) -> AppResult<Response> {
    match record_failure(store, rctx, subjects, email, user, reason).await? {
        Some(wait_ms) => Err(locked(wait_ms)),
        None => Err(sign_in_failed()),
    }
}

/// Audits a failed attempt and locks the address or IP that reached its cap: how long the
/// address is locked for when this very failure locked it.
pub(crate) async fn record_failure(
    store: &D1Store,
    rctx: &RequestCtx,
    subjects: &Subjects,
    email: &str,
    user: Option<&User>,
    reason: &'static str,
) -> AppResult<Option<u64>> {
    let now = now();
    let user_id = user.map(|u| u.id.clone());
    // The address, sealed under the account's key; an address no account has is named by its
    // blind index only (whoever knows an address can still look for its failures).
    let address = match &user_id {
        Some(id) => json!({ "email": pending(&user_key(id), email) }),
        None => json!({ "email_index": subjects.email_index }),
    };
    let mut failed = address.clone();
    failed["reason"] = json!(reason);
    let mut change = Change::new().audit(event(
        rctx,
        None,
        Action::AuthLoginFailed,
        "user",
        user_id.as_deref(),
        None,
        Some(failed),
    ));
    // The account's lock last (its statement is the batch's `n - 1`th, before the audit row
    // written only if it locked), so whether this very failure locked it is known.
    let n = subjects.list.len();
    for (subject, max) in subjects.list.iter().rev() {
        let lock = users::lock_if_over(subject, now, *max);
        change = if subject == subjects.account() {
            change.then_audited(
                lock,
                event(
                    rctx,
                    None,
                    Action::AuthLocked,
                    "user",
                    user_id.as_deref(),
                    None,
                    Some(address.clone()),
                ),
            )
        } else {
            change.then(lock)
        };
    }
    // Whoever uses the account is told when strangers lock it (once per lock).
    if let (Some(id), true) = (&user_id, subjects.account().starts_with("email:")) {
        change = change.then(notifications::account_locked(
            &new_id()?,
            id,
            subjects.account(),
            subjects.account_cap(),
            now,
        ));
    }
    let written = write::apply(
        store,
        change,
        vec![users::select_attempts(subjects.account())],
    )
    .await
    .map_err(|refusal| refusal.into_error(|| AppError::internal("no guard")))?;
    if written.results.changes(n - 1) == 1 {
        // The lock's notice queued its email (a trigger on notices).
        crate::http::outbox::queued();
        let state = written
            .results
            .rows::<users::AttemptsRow>(written.reads_from)?
            .into_iter()
            .next()
            .map(|row| row.to_domain())
            .unwrap_or_default();
        return Ok(Some(state.retry_after(now)));
    }
    Ok(None)
}

/// `POST /api/v1/auth/login` `{email, password}`: the attempt is reserved against the address
/// (and IP) before the password is checked, in the batch that reads the user; a refused
/// reservation is 429 whether or not the address exists. Two round trips.
pub async fn login(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    let body: LoginBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let email = normalize_email(&body.email);
    let store = D1Store::from_env(env)?;
    let key = index_key(env)?;
    let device = trusted_device(&req, env, &email);
    let subjects = Subjects::signing_in(&key, &email, rctx, device.as_ref());
    let now = now();
    let (results, user_at) = subjects
        .reserve_with(&store, now, vec![users::select_by_email(&key, &email)])
        .await?;
    let user = results.rows::<User>(user_at)?.into_iter().next();
    let matches = password_matches(user.as_ref(), &body.password).await?;
    let user = match (user, matches) {
        (Some(user), true) if user.is_active() => user,
        (Some(user), true) => {
            return fail_sign_in(&store, rctx, &subjects, &email, Some(&user), "deactivated").await
        }
        (Some(user), false) => {
            return fail_sign_in(
                &store,
                rctx,
                &subjects,
                &email,
                Some(&user),
                "wrong_password",
            )
            .await
        }
        (None, _) => {
            return fail_sign_in(&store, rctx, &subjects, &email, None, "unknown_email").await
        }
    };

    if user.mfa_enabled() {
        // The second factor is a new attempt: this one gives its reservation back.
        let release = Change::new().then_all(subjects.release());
        write::apply(&store, release, vec![])
            .await
            .map_err(|refusal| refusal.into_error(|| AppError::internal("no guard")))?;
        let challenge = crypto::random_string(43)?;
        let record = MfaChallenge {
            user_id: user.id.clone(),
            epoch: user.session_epoch,
            expires_ms: now.plus(MFA_CHALLENGE_TTL_MS).0,
        };
        db::sessions(env)?
            .put(&challenge_kv_key(&challenge), &record)
            .map_err(|e| AppError::internal(format!("challenge put: {e}")))?
            .expiration_ttl(MFA_CHALLENGE_TTL_MS / 1_000)
            .execute()
            .await
            .map_err(|e| AppError::internal(format!("challenge put: {e}")))?;
        return respond::json(
            200,
            &json!({ "mfa_required": true, "challenge": challenge }),
        );
    }
    let known_browser = device.is_some();
    finish_sign_in(
        &req,
        env,
        &store,
        rctx,
        &subjects,
        &user,
        known_browser,
        None,
    )
    .await
}

/// Gives the attempt's reservations back, audits the sign-in (with `guarded` as the step that
/// must succeed for it, e.g. consuming a TOTP step), tells the user of a browser not used for
/// the account before (`known_browser`: its device cookie named the account) and starts the
/// session.
#[allow(clippy::too_many_arguments)]
async fn finish_sign_in(
    req: &Request,
    env: &Env,
    store: &D1Store,
    rctx: &RequestCtx,
    subjects: &Subjects,
    user: &User,
    known_browser: bool,
    guarded: Option<(&'static str, Sql)>,
) -> AppResult<Response> {
    let key = index_key(env)?;
    // The person who just proved who they are is the actor of their own sign-in.
    let login = |method: &str| AuditEvent {
        actor_kind: ActorKind::User,
        actor_id: Some(user.id.clone()),
        ..event(
            rctx,
            None,
            Action::AuthLogin,
            "user",
            Some(&user.id),
            None,
            Some(json!({ "email": pending(&user_key(&user.id), &user.email), "method": method })),
        )
    };
    let (change, method) = match guarded {
        Some((method, consume)) => (Change::new().guarded(consume), method),
        None => (Change::new(), "password"),
    };
    let mut change = change.then_all(subjects.release());
    // A row written before personal data was sealed is sealed at its user's sign-in.
    if user.is_unsealed() {
        change = change.then(users::seal_legacy(&key, user));
    }
    if !known_browser {
        let browser: String = req
            .headers()
            .get("User-Agent")
            .ok()
            .flatten()
            .unwrap_or_default()
            .chars()
            .take(160)
            .collect();
        let notice = Notice::NewDevice {
            ip: rctx.ip.clone(),
            browser,
        };
        crate::http::outbox::queued();
        change = change.then(notifications::notify_if_signed_in_before(
            &new_id()?,
            &user.id,
            &notice,
            rctx.id.as_str(),
            now(),
        ));
    }
    let change = change.audit(login(method));
    match write::apply(store, change, vec![]).await {
        Ok(_) => {
            let response = start_session(req, env, user, 200, Default::default()).await?;
            remember_device(req, env, &user.email, &response)?;
            Ok(response)
        }
        Err(Refusal::Guard) => {
            fail_sign_in(
                store,
                rctx,
                subjects,
                &user.email,
                Some(user),
                "code_replayed",
            )
            .await
        }
        Err(other) => Err(other.into_error(|| AppError::internal("unreachable"))),
    }
}

/// The browser's device cookie, if it proves an earlier sign-in to `email` (see
/// [`crate::domain::auth::device`]); without the key nothing is trusted.
fn trusted_device(req: &Request, env: &Env, email: &str) -> Option<Device> {
    let keying = seal::keying(env)?;
    let device = device_cookie(req)?;
    device.knows(&keying.key, email).then_some(device)
}

fn device_cookie(req: &Request) -> Option<Device> {
    let header = req.headers().get("Cookie").ok().flatten()?;
    Device::parse(cookie_value(&header, DEVICE_COOKIE)?)
}

/// After a successful sign-in: this browser is trusted for `email` from now on.
fn remember_device(req: &Request, env: &Env, email: &str, response: &Response) -> AppResult<()> {
    let Some(keying) = seal::keying(env) else {
        return Ok(());
    };
    let device = match device_cookie(req) {
        Some(device) => device,
        None => Device::new(crypto::random_string(22)?),
    };
    let cookie = device
        .remember(&keying.key, email)
        .set_cookie(secure_cookies(req, env));
    let _ = response.headers().append("Set-Cookie", &cookie);
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MfaBody {
    challenge: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /api/v1/auth/login/mfa` `{challenge, code}` or `{challenge, recovery_code}`.
pub async fn login_mfa(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    let body: MfaBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let expired =
        || AppError::unauthorized("This sign-in has expired or is not valid; start again.");
    let kv = db::sessions(env)?;
    let key = challenge_kv_key(&body.challenge);
    let challenge: MfaChallenge = kv
        .get(&key)
        .json()
        .await
        .map_err(|e| AppError::internal(format!("challenge get: {e}")))?
        .ok_or_else(expired)?;
    let now = now();
    if now.0 >= challenge.expires_ms {
        let _ = kv.delete(&key).await;
        return Err(expired());
    }
    let store = D1Store::from_env(env)?;
    // Reads the user with the attempt's reservations: the address's, and the challenge's own
    // (a challenge takes a few codes, then is burnt).
    let challenge_subject = format!("challenge:{}", sha256_hex(&body.challenge));
    let user: Option<User> = users::by_id(&store.db, &challenge.user_id).await?;
    let user = user
        .filter(|u| u.is_active() && u.session_epoch == challenge.epoch)
        .ok_or_else(expired)?;
    let device = trusted_device(&req, env, &user.email);
    let index = index_key(env)?;
    let mut subjects = Subjects::signing_in(&index, &user.email, rctx, device.as_ref());
    subjects.push(challenge_subject.clone(), lockout::EMAIL_MAX_FAILURES);
    if let Err(refused) = subjects.reserve_with(&store, now, vec![]).await {
        let challenge_state = store
            .batch(vec![users::select_attempts(&challenge_subject)])
            .await
            .map_err(|e| AppError::internal(format!("challenge attempts: {e}")))?
            .rows::<users::AttemptsRow>(0)?;
        if challenge_state
            .first()
            .is_some_and(|row| row.to_domain().failures >= lockout::EMAIL_MAX_FAILURES)
        {
            // This challenge has had its codes: burn it.
            let _ = kv.delete(&key).await;
            return Err(expired());
        }
        return Err(refused);
    }

    let consume = match (&body.code, &body.recovery_code) {
        (Some(code), None) => {
            let secret = user
                .totp_secret
                .as_deref()
                .and_then(|s| TotpSecret::from_base32(s).ok())
                .ok_or_else(expired)?;
            let last = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
            match totp::verify(&secret, code, now.as_secs(), last) {
                Ok(step) => (
                    "totp",
                    sql!(users::CONSUME_TOTP_STEP, step as i64, user.id.as_str()),
                ),
                Err(e) => {
                    let reason = if matches!(e, totp::TotpError::Replayed) {
                        "code_replayed"
                    } else {
                        "wrong_code"
                    };
                    return fail_sign_in(&store, rctx, &subjects, &user.email, Some(&user), reason)
                        .await;
                }
            }
        }
        (None, Some(code)) => match totp::normalize_recovery_code(code) {
            Some(normalized) => (
                "recovery_code",
                sql!(
                    users::CONSUME_RECOVERY_CODE,
                    now.0 as i64,
                    user.id.as_str(),
                    totp::hash_recovery_code(&normalized)
                ),
            ),
            None => {
                return fail_sign_in(
                    &store,
                    rctx,
                    &subjects,
                    &user.email,
                    Some(&user),
                    "wrong_recovery_code",
                )
                .await
            }
        },
        _ => return Err(AppError::bad_request("Send either code or recovery_code.")),
    };
    let known_browser = device.is_some();
    let response = finish_sign_in(
        &req,
        env,
        &store,
        rctx,
        &subjects,
        &user,
        known_browser,
        Some(consume),
    )
    .await?;
    let _ = kv.delete(&key).await;
    Ok(response)
}

/// `POST /api/v1/auth/logout`: ends this session.
pub async fn logout(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    // Support signing out ends the session for good: its link was single-use.
    if let Some(grant) = &principal.support {
        crate::http::api::support::end_own(env, rctx, grant).await?;
    }
    if let Via::Session { id, .. } = &principal.via {
        db::sessions(env)?
            .delete(&session_kv_key(id))
            .await
            .map_err(|e| AppError::internal(format!("session delete: {e}")))?;
    }
    let response = worker::ResponseBuilder::new().with_status(204).empty();
    let _ = response.headers().append(
        "Set-Cookie",
        &clear_session_cookie(secure_cookies(req, env)),
    );
    Ok(response)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AcceptBody {
    token: String,
    name: String,
    password: String,
}

/// `POST /api/v1/auth/invites/accept` `{token, name, password}`: creates the invited user
/// (once, before the invite expires) and signs them in.
pub async fn accept_invite(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    let body: AcceptBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let invalid = || AppError::not_found("invitation");
    let database = db::database(env)?;
    let invite = invites::by_hash(&database, &sha256_hex(&body.token))
        .await?
        .ok_or_else(invalid)?;
    let now = now();
    if invite.used_at.is_some() || invite.expires_at <= now.0 as i64 {
        return Err(AppError::new(ErrorKind::Conflict).with_detail(
            "This invitation has already been used or has expired; ask for a new one.",
        ));
    }
    let name = account::parse_name(&body.name)
        .map_err(|_| AppError::invalid_field("name", "Give your name (1 to 200 characters)."))?;
    let local = invite
        .email
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    check_new_password(&body.password, &[&invite.email, &local, &name])
        .map_err(|e| AppError::invalid_field("password", e.to_string()))?;
    let key = index_key(env)?;
    if users::by_email(&database, &key, &invite.email)
        .await?
        .is_some()
    {
        return Err(
            AppError::new(ErrorKind::Conflict).with_detail("That address already has an account.")
        );
    }
    let role =
        Role::parse(&invite.role).ok_or_else(|| AppError::internal("invite with unknown role"))?;
    let hash = hash_new_password(&body.password).await?.to_string();
    let id = new_id()?;
    let stamp = now.to_rfc3339();
    let change = Change::new()
        .then(sql!(invites::CONSUME, now.0 as i64, invite.id.as_str()))
        // The user is created only if this batch consumed the invite.
        .guarded(users::insert_from_invite(
            &key,
            &users::FromInvite {
                id: &id,
                email: &invite.email,
                name: &name,
                role,
                hash: &hash,
                now: &stamp,
                invite_id: &invite.id,
                used_at: now.0 as i64,
            },
        ));
    // What the audit trail and the notices say of the new user is theirs, sealed.
    let (sealed_email, sealed_name) = account::audit_fields(&id, &invite.email, &name);
    // The owners there are already are told of a new one.
    let change = if role == Role::Owner {
        change.first(tell_owners(
            rctx,
            &Notice::OwnerAdded {
                name: sealed_name.clone(),
                email: sealed_email.clone(),
            },
            None,
        ))
    } else {
        change
    };
    let change = change
        .audit(event(
            rctx,
            None,
            Action::UserCreated,
            "user",
            Some(&id),
            None,
            Some(json!({ "email": sealed_email, "name": sealed_name, "role": role.as_str(), "invite": invite.id })),
        ));
    let store = D1Store { db: database };
    let written = write::apply(&store, change, vec![sql!(users::SELECT_BY_ID, id.as_str())])
        .await
        .map_err(|refusal| {
            refusal.into_error(|| {
                AppError::new(ErrorKind::Conflict).with_detail(
                    "This invitation has already been used or has expired; ask for a new one.",
                )
            })
        })?;
    let user: User = write::first_row(&written.results, written.reads_from)?
        .ok_or_else(|| AppError::internal("user created by invite not found"))?;
    start_session(&req, env, &user, 201, Default::default()).await
}
