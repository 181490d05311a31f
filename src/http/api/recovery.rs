//! The operator's recovery of a sole owner (`POST /ops/owners/recover`): the owner is emailed
//! a link to set a new password (two-factor sign-in off until set up again), every owner is
//! told, and each step is audited. The link's page and form live at `/recover/{token}`.

use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::db::store::D1Store;
use crate::db::users::{self, User};
use crate::db::{self};
use crate::domain::audit::{Action, ActorKind, AuditEvent};
use crate::domain::auth::password::check_new_password;
use crate::domain::messaging::parse_form;
use crate::domain::notices::Notice;
use crate::domain::personal::{pending, user_key};
use crate::domain::recovery;
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::notifications::tell_owners;
use crate::http::api::session::{hash_new_password, normalize_email};
use crate::http::api::{new_id, now};
use crate::http::personal::index_key;
use crate::http::router::Matched;
use crate::http::{clock, respond, RequestCtx};
use crate::json;
use crate::sql;
use crate::views::recovery::{recover_page, recovered_page};
use crate::write::{self, Change};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recover {
    email: String,
}

fn system_event(
    rctx: &RequestCtx,
    action: Action,
    user: &User,
    after: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        at: clock::now(),
        actor_kind: ActorKind::System,
        actor_id: None,
        action,
        entity: "user",
        entity_id: Some(user.id.clone()),
        before: None,
        after: Some(after),
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    }
}

/// `POST /ops/owners/recover` `{email}`: for an active owner who is the company's only one
/// (another owner can invite or help instead): 202, the link on its way.
pub async fn request(ask: Recover, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    let email = normalize_email(&ask.email);
    let database = db::database(env)?;
    let key = index_key(env)?;
    let user = users::by_email(&database, &key, &email)
        .await?
        .filter(|u| u.role == "owner" && u.is_active())
        .ok_or_else(|| AppError::not_found("owner"))?;
    let d1 = D1Store { db: database };
    let now = now();
    let expires_at = now.0 as i64 + (recovery::LINK_MINUTES * Millis::MINUTE) as i64;
    let change = Change::new()
        // Only while they are the sole active owner: another owner can help from the dashboard.
        .guarded(sql!(
            users::QUEUE_RECOVERY_IF_SOLE,
            new_id()?,
            user.id.as_str(),
            pending(&user_key(&user.id), &user.email),
            expires_at,
            now.0 as i64
        ))
        .then(tell_owners(
            rctx,
            &Notice::OwnerRecovery {
                name: pending(&user_key(&user.id), &user.name),
                email: pending(&user_key(&user.id), &user.email),
            },
            None,
        ))
        .audit(system_event(
            rctx,
            Action::UserRecoveryRequested,
            &user,
            json!({ "by": "operator", "email": pending(&user_key(&user.id), &user.email),
                    "expires_at": Millis::from_ms(expires_at).to_rfc3339() }),
        ));
    write::apply(&d1, change, vec![]).await.map_err(|refusal| {
        refusal.into_error(|| {
            AppError::new(ErrorKind::Conflict).with_detail(
                "This company has another active owner: they can help from the dashboard \
                 (invite, unlock), so no recovery link is sent.",
            )
        })
    })?;
    respond::json(
        202,
        &json!({ "user_id": user.id, "email": user.email,
                 "expires_at": Millis::from_ms(expires_at).to_rfc3339() }),
    )
}

/// The owner a link names, if it is genuine, unexpired and the account unchanged since.
async fn linked(env: &Env, token: &str) -> AppResult<Option<User>> {
    let Some((user_id, expires_at)) = recovery::named(token) else {
        return Ok(None);
    };
    if expires_at <= now().0 as i64 {
        return Ok(None);
    }
    let user = users::by_id(&db::database(env)?, user_id).await?;
    let key = crate::http::messages::key(env)?;
    Ok(user.filter(|u| {
        u.role == "owner"
            && u.is_active()
            && recovery::matches(&key, token, &u.id, expires_at, u.version)
    }))
}

const LINK_DEAD: &str = "This recovery link was already used, has expired, or the account \
    changed since it was sent. Ask the operator for a new one.";

/// `GET /recover/{token}`: the form for the new password.
pub async fn page(env: &Env, matched: &Matched) -> AppResult<Response> {
    let token = matched.param("token").unwrap_or_default();
    match linked(env, token).await? {
        Some(user) => crate::http::pages::html(200, recover_page(&user.email, token, None)),
        None => crate::http::pages::html(410, crate::views::support::link_refused(LINK_DEAD)),
    }
}

/// `POST /recover/{token}` (form `password`): the new password, two-factor sign-in off, every
/// session ended (the account's version moves, so the link dies with it).
pub async fn set(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    matched: &Matched,
) -> AppResult<Response> {
    let token = matched.param("token").unwrap_or_default().to_owned();
    let Some(user) = linked(env, &token).await? else {
        return crate::http::pages::html(410, crate::views::support::link_refused(LINK_DEAD));
    };
    let body = req
        .bytes()
        .await
        .map_err(|e| AppError::bad_request(format!("reading the form: {e}")))?;
    if body.len() > 4_096 {
        return Err(AppError::bad_request("The form is too large."));
    }
    let form =
        parse_form(&body).map_err(|_| AppError::bad_request("The form could not be read."))?;
    let password = form
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let local = user.email.split('@').next().unwrap_or_default();
    if let Err(rejected) = check_new_password(password, &[&user.email, local, &user.name]) {
        let message = rejected.to_string();
        return crate::http::pages::html(422, recover_page(&user.email, &token, Some(&message)));
    }
    let hash = hash_new_password(password).await?.to_string();
    let now = now();
    let change = Change::new()
        .guarded(sql!(
            users::RECOVER,
            hash,
            now.to_rfc3339(),
            user.id.as_str(),
            user.version
        ))
        .then(users::delete_recovery_codes(&user.id))
        .then(users::clear_attempts(&users::email_subject(
            &index_key(env)?,
            &user.email,
        )))
        .audit(AuditEvent {
            actor_kind: ActorKind::Anonymous,
            ..system_event(
                rctx,
                Action::UserPasswordChanged,
                &user,
                json!({ "by": "recovery link", "mfa": "off until set up again" }),
            )
        });
    match write::apply(&D1Store::from_env(env)?, change, vec![]).await {
        Ok(_) => crate::http::pages::html(200, recovered_page()),
        Err(write::Refusal::Guard) => {
            crate::http::pages::html(410, crate::views::support::link_refused(LINK_DEAD))
        }
        Err(other) => Err(other.into_error(|| AppError::internal("recovery guard"))),
    }
}

/// The recovery email, made when sent: the link from the account as it is now.
pub async fn mail(env: &Env, data: &str) -> AppResult<Option<(String, String, String)>> {
    let data: serde_json::Value = serde_json::from_str(data).unwrap_or_default();
    // A number bound from JavaScript may come back from SQLite's JSON as 1.7e12.
    let expires_at = data["expires_at"]
        .as_i64()
        .or_else(|| data["expires_at"].as_f64().map(|ms| ms as i64));
    let (Some(user_id), Some(expires_at)) = (data["user_id"].as_str(), expires_at) else {
        return Ok(None);
    };
    let database = db::database(env)?;
    let Some(user) = users::by_id(&database, user_id).await? else {
        return Ok(None);
    };
    let public = crate::services::setting(env, "PUBLIC_URL")
        .ok_or_else(|| AppError::internal("PUBLIC_URL is not set: the link would lead nowhere"))?;
    let token = recovery::token(
        &crate::http::messages::key(env)?,
        &user.id,
        expires_at,
        user.version,
    );
    let link = format!("{}/recover/{token}", public.trim_end_matches('/'));
    let company = crate::db::settings::get(&database)
        .await?
        .map(|s| s.name)
        .unwrap_or_default();
    let subject = format!("{company}: set a new password");
    let text = format!(
        "Hello {},\n\nThe operator of {company} sent you this link because you could neither \
         sign in nor use your authenticator. Set a new password here (valid until {}):\n\n\
         {link}\n\nTwo-factor sign-in is then off for your account: set it up again at once. \
         If you did not ask for this, tell the operator.\n",
        user.name,
        Millis::from_ms(expires_at).to_rfc3339()
    );
    Ok(Some((company, subject, text)))
}
