//! Signing in and out: password, then (when enrolled) a TOTP or recovery code bound to a
//! short-lived challenge; accepting an invitation.

use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use crate::db::{self, audit::Step, invites, users, users::User};
use crate::domain::audit::{ActorKind, AuditEvent};
use crate::domain::auth::password::{
    check_new_password, PasswordHash, PBKDF2_ITERATIONS, SALT_LEN,
};
use crate::domain::auth::permissions::Role;
use crate::domain::auth::session::{
    challenge_kv_key, clear_session_cookie, lockout, session_cookie, session_kv_key, sha256_hex,
    MfaChallenge, SessionRecord, MFA_CHALLENGE_TTL_MS,
};
use crate::domain::auth::totp::{self, TotpSecret};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::{event, new_id, now, secure_cookies};
use crate::http::auth::{store_session, Principal, Via};
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::{crypto, respond, RequestCtx};
use crate::views::users::UserView;

/// What every failed sign-in answers, whatever failed: no hint whether the address exists.
fn sign_in_failed() -> AppError {
    AppError::unauthorized("The email address or password is not right.")
}

fn locked(for_ms: u64) -> AppError {
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
    };
    store_session(env, &session_id, &record, now).await?;
    let mut body = extra;
    body.insert("user".into(), json!(UserView::new(user, now)));
    body.insert("csrf_token".into(), json!(csrf));
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

/// Counts a failure against the address and the IP (atomically, in D1), audits it, and
/// answers 401, or 429 when this failure locked the address.
async fn fail_sign_in(
    env: &Env,
    rctx: &RequestCtx,
    email: &str,
    user: Option<&User>,
    reason: &'static str,
) -> AppResult<Response> {
    let database = db::database(env)?;
    let now = now();
    let email_subject = users::email_subject(email);
    let ip_subject = rctx.ip.as_deref().map(users::ip_subject);
    let user_id = user.map(|u| u.id.clone());
    let results = db::audit::write(&database, || {
        let mut steps = Vec::new();
        if let Some(subject) = &ip_subject {
            let (count, lock) =
                users::count_failure(&database, subject, now, lockout::IP_MAX_FAILURES)?;
            steps.extend([Step::Plain(count), Step::Plain(lock)]);
        }
        let (count, lock) =
            users::count_failure(&database, &email_subject, now, lockout::EMAIL_MAX_FAILURES)?;
        steps.push(Step::Plain(count));
        // Last, so its audit row is the last of the batch: written only if this locked it.
        steps.push(Step::guarded(
            lock,
            event(
                rctx,
                None,
                "auth.locked",
                "user",
                user_id.as_deref(),
                None,
                Some(json!({ "email": email })),
            ),
        ));
        let failed = event(
            rctx,
            None,
            "auth.login_failed",
            "user",
            user_id.as_deref(),
            None,
            Some(json!({ "email": email, "reason": reason })),
        );
        Ok((steps, vec![failed]))
    })
    .await?;
    if results.last().map(db::changes) == Some(1) {
        let attempts = users::attempts(&database, &email_subject).await?;
        return Err(locked(
            attempts.locked_for(now).unwrap_or(lockout::BASE_LOCK_MS),
        ));
    }
    Err(sign_in_failed())
}

/// Refuses early while the address or the IP is locked.
async fn check_not_locked(env: &Env, rctx: &RequestCtx, email: &str) -> AppResult<()> {
    let database = db::database(env)?;
    let now = now();
    if let Some(ms) = users::attempts(&database, &users::email_subject(email))
        .await?
        .locked_for(now)
    {
        return Err(locked(ms));
    }
    if let Some(ip) = &rctx.ip {
        if let Some(ms) = users::attempts(&database, &users::ip_subject(ip))
            .await?
            .locked_for(now)
        {
            return Err(locked(ms));
        }
    }
    Ok(())
}

/// `POST /api/v1/auth/login` `{email, password}`.
pub async fn login(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    let body: LoginBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let email = normalize_email(&body.email);
    check_not_locked(env, rctx, &email).await?;
    let database = db::database(env)?;
    let user = users::by_email(&database, &email).await?;
    let matches = password_matches(user.as_ref(), &body.password).await?;
    let user = match (user, matches) {
        (Some(user), true) if user.is_active() => user,
        (Some(user), true) => {
            return fail_sign_in(env, rctx, &email, Some(&user), "deactivated").await
        }
        (Some(user), false) => {
            return fail_sign_in(env, rctx, &email, Some(&user), "wrong_password").await
        }
        (None, _) => return fail_sign_in(env, rctx, &email, None, "unknown_email").await,
    };

    if user.mfa_enabled() {
        let challenge = crypto::random_string(43)?;
        let record = MfaChallenge {
            user_id: user.id.clone(),
            epoch: user.session_epoch,
            expires_ms: now().plus(MFA_CHALLENGE_TTL_MS).0,
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
    finish_sign_in(&req, env, rctx, &user, None).await
}

/// Clears the address's failures, audits the sign-in (with `guarded` as the step that must
/// succeed for it, e.g. consuming a TOTP step) and starts the session.
async fn finish_sign_in(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    user: &User,
    guarded: Option<(&'static str, worker::D1PreparedStatement)>,
) -> AppResult<Response> {
    let database = db::database(env)?;
    let subject = users::email_subject(&user.email);
    let results = db::audit::write(&database, || {
        let clear = db::statement(&database, users::RESET_ATTEMPTS, &[db::text(&subject)])?;
        let mut steps = Vec::new();
        let mut events = Vec::new();
        // The person who just proved who they are is the actor of their own sign-in.
        let login = |method: &str| AuditEvent {
            actor_kind: ActorKind::User,
            actor_id: Some(user.id.clone()),
            ..event(
                rctx,
                None,
                "auth.login",
                "user",
                Some(&user.id),
                None,
                Some(json!({ "email": user.email, "method": method })),
            )
        };
        match &guarded {
            Some((method, stmt)) => steps.push(Step::guarded(stmt.clone(), login(method))),
            None => events.push(login("password")),
        }
        steps.push(Step::Plain(clear));
        Ok((steps, events))
    })
    .await?;
    if guarded.is_some() && results.first().map(db::changes) != Some(1) {
        return fail_sign_in(env, rctx, &user.email, Some(user), "code_replayed").await;
    }
    start_session(req, env, user, 200, Default::default()).await
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
    let database = db::database(env)?;
    let user = users::by_id(&database, &challenge.user_id)
        .await?
        .filter(|u| u.is_active() && u.session_epoch == challenge.epoch)
        .ok_or_else(expired)?;
    check_not_locked(env, rctx, &user.email).await?;

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
                    db::statement(
                        &database,
                        users::CONSUME_TOTP_STEP,
                        &[db::int(step as i64), db::text(&user.id)],
                    )?,
                ),
                Err(e) => {
                    let reason = if matches!(e, totp::TotpError::Replayed) {
                        "code_replayed"
                    } else {
                        "wrong_code"
                    };
                    return fail_sign_in(env, rctx, &user.email, Some(&user), reason).await;
                }
            }
        }
        (None, Some(code)) => match totp::normalize_recovery_code(code) {
            Some(normalized) => (
                "recovery_code",
                db::statement(
                    &database,
                    users::CONSUME_RECOVERY_CODE,
                    &[
                        db::int(now.0 as i64),
                        db::text(&user.id),
                        db::text(&totp::hash_recovery_code(&normalized)),
                    ],
                )?,
            ),
            None => {
                return fail_sign_in(env, rctx, &user.email, Some(&user), "wrong_recovery_code")
                    .await
            }
        },
        _ => return Err(AppError::bad_request("Send either code or recovery_code.")),
    };
    let response = finish_sign_in(&req, env, rctx, &user, Some(consume)).await?;
    let _ = kv.delete(&key).await;
    Ok(response)
}

/// `POST /api/v1/auth/logout`: ends this session.
pub async fn logout(req: &Request, env: &Env, principal: &Principal) -> AppResult<Response> {
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
    let name = body.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::invalid_field(
            "name",
            "Give your name (1 to 200 characters).",
        ));
    }
    let local = invite
        .email
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    check_new_password(&body.password, &[&invite.email, &local, &name])
        .map_err(|e| AppError::invalid_field("password", e.to_string()))?;
    if users::by_email(&database, &invite.email).await?.is_some() {
        return Err(
            AppError::new(ErrorKind::Conflict).with_detail("That address already has an account.")
        );
    }
    let role =
        Role::parse(&invite.role).ok_or_else(|| AppError::internal("invite with unknown role"))?;
    let hash = hash_new_password(&body.password).await?.to_string();
    let id = new_id()?;
    let stamp = now.to_rfc3339();
    let results = db::audit::write(&database, || {
        let consume = db::statement(
            &database,
            invites::CONSUME,
            &[db::int(now.0 as i64), db::text(&invite.id)],
        )?;
        // The user is created only if this batch consumed the invite.
        let insert = db::statement(
            &database,
            users::INSERT_FROM_INVITE,
            &[
                db::text(&id),
                db::text(&invite.email),
                db::text(&name),
                db::text(role.as_str()),
                db::text(&hash),
                db::text(&stamp),
                db::text(&invite.id),
                db::int(now.0 as i64),
            ],
        )?;
        let audit = event(
            rctx,
            None,
            "user.created",
            "user",
            Some(&id),
            None,
            Some(json!({ "email": invite.email, "name": name, "role": role.as_str(), "invite": invite.id })),
        );
        Ok((vec![Step::Plain(consume), Step::guarded(insert, audit)], vec![]))
    })
    .await?;
    if results.get(1).map(db::changes) != Some(1) {
        return Err(AppError::new(ErrorKind::Conflict).with_detail(
            "This invitation has already been used or has expired; ask for a new one.",
        ));
    }
    let user = users::by_id(&database, &id)
        .await?
        .ok_or_else(|| AppError::internal("user created by invite not found"))?;
    start_session(&req, env, &user, 201, Default::default()).await
}
