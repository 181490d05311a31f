//! The signed-in user's own account: who am I, two-factor enrolment, password change, and
//! deleting the account.

use crate::json;
use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::db::store::D1Store;
use crate::db::users::User;
use crate::db::{self, messaging, oauth, personal, tokens, users};
use crate::domain::audit::Action;
use crate::domain::auth::account::{self, Standing};
use crate::domain::auth::password::check_new_password;
use crate::domain::auth::session::{clear_session_cookie, session_kv_key};
use crate::domain::auth::totp::{self, TotpSecret};
use crate::domain::notices::Notice;
use crate::domain::personal::{user_key, Kind};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::notifications::tell;
use crate::http::api::reauth::{self, Proof};
use crate::http::api::session::{hash_new_password, rotate_session};
use crate::http::api::settings::SettingsEntity;
use crate::http::api::{event, now, secure_cookies};
use crate::http::auth::{Principal, Via};
use crate::http::extract::{json_body, optional_json_body, MAX_JSON_BODY};
use crate::http::personal::index_key;
use crate::http::{crypto, respond, RequestCtx};
use crate::views::users::{user_audit, UserView};
use crate::write::{self, Change, Entity, Refusal, Results, Sql, Store};

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
            principal.user.version,
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

/// An account with what deleting it depends on: how many active owners the company has, and
/// the last number a deleted account was given.
pub struct AccountEntity;

impl Entity for AccountEntity {
    type Record = (User, Standing);
    const NAME: &'static str = "user";
    const COLLECTION: &'static str = "/api/v1/users";

    fn load(id: &str) -> Vec<Sql> {
        vec![
            users::load(id),
            users::count_active_owners(),
            users::last_deleted_number(),
        ]
    }

    fn parse(results: &impl Results, from: usize) -> AppResult<Option<Self::Record>> {
        #[derive(Deserialize)]
        struct Owners {
            owners: i64,
        }
        #[derive(Deserialize)]
        struct Last {
            last: i64,
        }
        let Some(user) = write::first_row::<User>(results, from)? else {
            return Ok(None);
        };
        let standing = Standing {
            role: user.role()?,
            active: user.is_active(),
            deleted: user.is_deleted(),
            active_owners: write::first_row::<Owners>(results, from + 1)?.map_or(0, |o| o.owners),
            last_deleted_number: write::first_row::<Last>(results, from + 2)?.map_or(0, |l| l.last),
        };
        Ok(Some((user, standing)))
    }

    fn version((user, _): &Self::Record) -> i64 {
        user.version
    }

    fn view((user, _): &Self::Record) -> serde_json::Value {
        serde_json::to_value(UserView::new(user, now())).unwrap_or_default()
    }
}

fn deletion_refused(
    refused: account::Refused,
    current: &<AccountEntity as Entity>::Record,
) -> AppError {
    AppError::new(ErrorKind::Conflict)
        .with_detail(refused.detail())
        .with_extension("reason", json!(refused.reason()))
        .with_extension("current", AccountEntity::view(current))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    /// The current password, always.
    password: String,
    /// A current code from the authenticator, when two-factor sign-in is on.
    code: Option<String>,
}

/// `POST /api/v1/me/delete` `{password, code?}`: the user deletes their own account. Their
/// data key is erased (name, address, secrets and every sealed copy of them, in the audit
/// trail too, become unreadable at once), the account is deactivated for good and known as
/// "Deleted user #n" from then on, every session, token, connected app and chat link stops,
/// and the audit trail records it, all in one batch. The company's last active owner is
/// refused (409): ownership moves first.
pub async fn delete(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    reauth::session_only(principal)?;
    if principal.support.is_some() {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("A support session cannot delete the account it works in."));
    }
    let body: DeleteBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let store = D1Store::from_env(env)?;
    let user_id = principal.user.id.clone();
    // Refused before the password is checked: a last owner is told at once, and spends no
    // sign-in attempt on it.
    let current = write::load::<_, AccountEntity>(&store, &user_id).await?;
    if let Err(refused) = account::deletion(&current.1) {
        return Err(deletion_refused(refused, &current));
    }
    let proof = Proof {
        password: Some(&body.password),
        password_field: "password",
        code: None,
    };
    let proof = match (principal.user.mfa_enabled(), body.code.as_deref()) {
        (true, Some(code)) => proof.with_code(code),
        (true, None) => {
            return Err(AppError::invalid_field(
                "code",
                "Two-factor sign-in is on: enter a current code from your authenticator app.",
            ))
        }
        (false, _) => proof,
    };
    let passed = reauth::require(env, rctx, principal, proof).await?;
    let key = index_key(env)?;
    let version = current.0.version;
    let mut number = 0;
    let mut erased = vec![user_key(&user_id)];
    if let Some(invite) = &current.0.invite_id {
        erased.push(account::invite_key(invite));
    }
    let ledger_key = crate::http::api::erasure::record(
        env,
        &crate::http::api::erasure::ledger_entry("user", &user_id, &erased, now().0 as i64),
    )
    .await?;
    let written =
        write::update_loaded::<_, AccountEntity>(&store, &user_id, current, version, |current| {
            let (user, standing) = current;
            number = account::deletion(standing).map_err(|r| deletion_refused(r, current))?;
            let now = now();
            let now_ms = now.0 as i64;
            let mut change = passed
                .release_in(Change::new())
                .guarded(users::delete_account(user, number, now))
                .then(personal::erase_key(&user_key(&user.id)));
            if let Some(invite) = &user.invite_id {
                change = change.then(personal::erase_key(&account::invite_key(invite)));
            }
            Ok(change
                .then(personal::unindex(Kind::User, &user.id))
                .then(users::clear_attempts(&users::email_subject(
                    &key,
                    &user.email,
                )))
                .then(users::delete_recovery_codes(&user.id))
                .then(tokens::revoke_all_of_user(&user.id, now_ms))
                .then_all(oauth::revoke_grants_of_user(
                    &user.id,
                    "account deleted",
                    now_ms,
                ))
                .then_all(messaging::forget_user(&user.id))
                .then(users::delete_notifications(&user.id))
                .then(users::cancel_queued_mail(&user.id, now))
                .audit(event(
                    rctx,
                    Some(principal),
                    Action::UserDeleted,
                    "user",
                    Some(&user.id),
                    // Sealed under the key this very batch erases: unreadable from the start.
                    Some(user_audit(user)),
                    Some(json!({
                        "deleted": true,
                        "number": number,
                        "name": account::deleted_name(number),
                        "active": false,
                    })),
                )))
        })
        .await;
    if let Err(err) = written {
        // Nothing was deleted: neither is the ledger entry.
        crate::http::api::erasure::unrecord(env, &ledger_key).await;
        return Err(err);
    }
    // Every session ended with the epoch; this one's record goes at once.
    if let Via::Session { id, .. } = &principal.via {
        let _ = db::sessions(env)?.delete(&session_kv_key(id)).await;
    }
    let response = respond::json(
        200,
        &json!({ "deleted": true, "name": account::deleted_name(number) }),
    )?;
    let _ = response.headers().append(
        "Set-Cookie",
        &clear_session_cookie(secure_cookies(&req, env)),
    );
    Ok(response)
}
