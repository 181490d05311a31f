//! The signed-in user's own account: who am I, two-factor enrolment, password change.

use crate::json;
use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::db::store::D1Store;
use crate::db::users::User;
use crate::db::{self, users};
use crate::domain::audit::Action;
use crate::domain::auth::password::check_new_password;
use crate::domain::auth::totp::{self, TotpSecret};
use crate::domain::notices::Notice;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::notifications::tell;
use crate::http::api::reauth::{self, Proof};
use crate::http::api::session::{hash_new_password, rotate_session};
use crate::http::api::settings::SettingsEntity;
use crate::http::api::{event, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, optional_json_body, MAX_JSON_BODY};
use crate::http::{crypto, respond, RequestCtx};
use crate::views::users::UserView;
use crate::write::{self, Change, Refusal, Sql, Store};

/// Writes `change` and reads user `id` back in the same batch; `refused` is the answer when
/// the change's guard took no row.
async fn write_and_reread(
    store: &impl Store,
    change: Change,
    id: &str,
    refused: impl FnOnce() -> AppError,
) -> AppResult<User> {
    let reads: Vec<Sql> = vec![users::load(id)];
    match write::apply(store, change, reads).await {
        Ok(written) => write::first_row::<User>(&written.results, written.reads_from)?
            .ok_or_else(|| AppError::internal("the user vanished during the change")),
        Err(Refusal::Guard) => Err(refused()),
        Err(other) => Err(other.into_error(refused)),
    }
}

/// The name authenticator apps show beside the code.
pub(crate) const TOTP_ISSUER: &str = "fieldworker";

/// `GET /api/v1/me`: the user, their role and what it permits, and how many recovery codes
/// are left when two-factor sign-in is on.
pub async fn get(env: &Env, principal: &Principal) -> AppResult<Response> {
    // Support holds no role: it is named as what it is, with its session.
    if let Some(grant) = &principal.support {
        return respond::json(
            200,
            &json!({
                "user": { "id": principal.user.id, "name": principal.user.name,
                          "email": principal.user.email },
                "role": "support",
                "authenticated_by": "support",
                "support_session": {
                    "id": grant.session_id,
                    "scope": grant.scope.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                    "ends_at": crate::domain::time::Millis::from_ms(grant.ends_at).to_rfc3339(),
                },
            }),
        );
    }
    let recovery_codes_left = if principal.user.mfa_enabled() {
        Some(users::recovery_codes_left(&db::database(env)?, &principal.user.id).await?)
    } else {
        None
    };
    respond::json(
        200,
        &json!({
            "user": UserView::new(&principal.user, now()),
            "role": principal.role,
            "permissions": principal.permissions(),
            "authenticated_by": principal.via.name(),
            "mfa_enrolment_required": principal.must_enrol_mfa,
            "password_change_required": principal.must_change_password,
            "recovery_codes_left": recovery_codes_left,
        }),
    )
}

/// A security change's own proof: the current password, needed unless the session signed in
/// within the last minutes (see `reauth`).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PasswordProof {
    password: Option<String>,
}

/// `POST /api/v1/me/mfa/enroll` `{password?}`: a new secret, pending until confirmed with a
/// first code.
pub async fn mfa_enroll(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let body: PasswordProof = optional_json_body(&mut req, MAX_JSON_BODY).await?;
    let passed = reauth::require(
        env,
        rctx,
        principal,
        Proof::password(body.password.as_deref()),
    )
    .await?;
    if principal.user.mfa_enabled() {
        return Err(AppError::new(ErrorKind::Conflict).with_detail(
            "Two-factor sign-in is already on; turn it off first to enrol a new device.",
        ));
    }
    let secret = TotpSecret::from_random(crypto::random_bytes::<20>()?);
    let encoded = secret.to_base32();
    let user_id = &principal.user.id;
    let change = passed
        .release_in(Change::new())
        .guarded(users::set_totp_pending(
            user_id,
            &encoded,
            &now().to_rfc3339(),
        ))
        // The secret itself is never written anywhere but the user's row and the answer.
        .audit(event(
            rctx,
            Some(principal),
            Action::MfaEnrolmentStarted,
            "user",
            Some(user_id),
            None,
            None,
        ));
    write::apply(&D1Store::from_env(env)?, change, vec![])
        .await
        .map_err(|refused| refused.into_error(|| AppError::not_found("user")))?;
    respond::json(
        200,
        &json!({
            "secret": encoded,
            "otpauth_uri": totp::otpauth_uri(TOTP_ISSUER, &principal.user.email, &secret),
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeBody {
    code: String,
    /// The current password, needed unless the session signed in within the last minutes.
    password: Option<String>,
}

/// `POST /api/v1/me/mfa/confirm` `{code, password?}`: turns two-factor on, answers the
/// recovery codes (shown this once) and a fresh session.
pub async fn mfa_confirm(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let body: CodeBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let passed = reauth::require(
        env,
        rctx,
        principal,
        Proof::password(body.password.as_deref()),
    )
    .await?;
    let pending =
        principal.user.totp_pending.clone().ok_or_else(|| {
            AppError::new(ErrorKind::Conflict).with_detail("Start enrolment first.")
        })?;
    let secret = TotpSecret::from_base32(&pending)
        .map_err(|e| AppError::internal(format!("stored pending secret: {e}")))?;
    let now = now();
    let step = totp::verify(&secret, &body.code, now.as_secs(), None)
        .map_err(|e| AppError::invalid_field("code", e.to_string()))?;
    let codes = totp::recovery_codes(&crypto::random_bytes::<80>()?);
    let user_id = &principal.user.id;
    let mut change = passed
        .release_in(Change::new())
        .guarded(users::confirm_totp(
            user_id,
            &pending,
            step as i64,
            &now.to_rfc3339(),
        ))
        .then(users::delete_recovery_codes(user_id))
        .audit(event(
            rctx,
            Some(principal),
            Action::MfaEnabled,
            "user",
            Some(user_id),
            None,
            None,
        ));
    for code in &codes {
        let normalized = totp::normalize_recovery_code(code)
            .ok_or_else(|| AppError::internal("generated an invalid recovery code"))?;
        change = change.then(users::insert_recovery_code(
            user_id,
            &totp::hash_recovery_code(&normalized),
        ));
    }
    let user = write_and_reread(&D1Store::from_env(env)?, change, user_id, || {
        AppError::new(ErrorKind::Conflict).with_detail("Enrolment changed meanwhile; start again.")
    })
    .await?;
    let mut extra = serde_json::Map::new();
    extra.insert("recovery_codes".into(), json!(codes));
    rotate_session(&req, env, principal, &user, extra).await
}

/// `POST /api/v1/me/mfa/disable` `{code, password?}`: turns two-factor off, unless the company
/// requires it. The code is checked as a sign-in attempt (5 failures lock the account).
pub async fn mfa_disable(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    reauth::session_only(principal)?;
    let body: CodeBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let store = D1Store::from_env(env)?;
    if write::load::<_, SettingsEntity>(&store, "1")
        .await?
        .mfa_required
        == 1
    {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail("Your company requires two-factor sign-in; it cannot be turned off."));
    }
    if !principal.user.mfa_enabled() {
        return Err(AppError::new(ErrorKind::Conflict).with_detail("Two-factor sign-in is not on."));
    }
    let passed = reauth::require(
        env,
        rctx,
        principal,
        Proof::password(body.password.as_deref()).with_code(&body.code),
    )
    .await?;
    let user_id = &principal.user.id;
    let change = passed
        .release_in(Change::new())
        .guarded(users::disable_totp(user_id, &now().to_rfc3339()))
        .then(users::delete_recovery_codes(user_id))
        .then(tell(rctx, user_id, &Notice::MfaDisabled)?)
        .audit(event(
            rctx,
            Some(principal),
            Action::MfaDisabled,
            "user",
            Some(user_id),
            None,
            None,
        ));
    write::apply(&store, change, vec![])
        .await
        .map_err(|refused| refused.into_error(|| AppError::not_found("user")))?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/me/password`: needs the current password and another new one; ends every
/// session of the user and answers a fresh one for this client. A password generated for the
/// user is theirs from here on (`UPDATE_PASSWORD` clears the required change).
pub async fn change_password(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let body: PasswordBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let user = &principal.user;
    let passed = reauth::require(
        env,
        rctx,
        principal,
        Proof::current_password(&body.current_password),
    )
    .await?;
    if body.new_password == body.current_password {
        return Err(AppError::invalid_field(
            "new_password",
            "Choose a password other than the current one.",
        ));
    }
    let local = user.email.split('@').next().unwrap_or_default();
    check_new_password(&body.new_password, &[&user.email, local, &user.name])
        .map_err(|e| AppError::invalid_field("new_password", e.to_string()))?;
    let hash = hash_new_password(&body.new_password).await?.to_string();
    let change = passed
        .release_in(Change::new())
        .guarded(users::update_password(
            &user.id,
            user.version,
            &hash,
            &now().to_rfc3339(),
        ))
        .audit(event(
            rctx,
            Some(principal),
            Action::UserPasswordChanged,
            "user",
            Some(&user.id),
            None,
            None,
        ));
    let fresh = write_and_reread(&D1Store::from_env(env)?, change, &user.id, || {
        AppError::new(ErrorKind::Conflict).with_detail("Your account changed meanwhile; try again.")
    })
    .await?;
    rotate_session(&req, env, principal, &fresh, Default::default()).await
}
