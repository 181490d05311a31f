//! The team, for owners (and, read-only, dispatchers): list, invite, change role, deactivate,
//! unlock. The last active owner can be neither demoted nor deactivated.

use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use crate::db::{self, audit::Step, invites, users};
use crate::domain::auth::permissions::Role;
use crate::domain::auth::session::sha256_hex;
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::session::normalize_email;
use crate::http::api::{conflict, event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::router::Matched;
use crate::http::{crypto, respond, RequestCtx};
use crate::views::users::{user_audit, UserView};

const INVITE_TTL_MS: u64 = 7 * Millis::DAY;

/// `GET /api/v1/users`.
pub async fn list(env: &Env) -> AppResult<Response> {
    let rows = users::list(&db::database(env)?).await?;
    let now = now();
    let views: Vec<UserView> = rows.iter().map(|u| UserView::new(u, now)).collect();
    respond::json(200, &json!({ "users": views }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    email: String,
    role: String,
}

/// `POST /api/v1/users/invites` `{email, role}`: a single-use link valid for seven days.
pub async fn invite(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let body: InviteBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let email = normalize_email(&body.email);
    let mut errors = Vec::new();
    let valid_email = email.len() <= 254
        && email.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !d.starts_with('.') && !email.contains(' ')
        });
    if !valid_email {
        errors.push(json!({"field": "email", "message": "Give a valid email address."}));
    }
    let role = Role::parse(&body.role);
    if role.is_none() {
        errors.push(
            json!({"field": "role", "message": "One of owner, dispatcher, technician, viewer."}),
        );
    }
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return Err(AppError::invalid_fields(
            "The invitation could not be created.",
            errors,
        ));
    };
    let database = db::database(env)?;
    if users::by_email(&database, &email).await?.is_some() {
        return Err(
            AppError::new(ErrorKind::Conflict).with_detail("That address already has an account.")
        );
    }
    let token = crypto::random_string(32)?;
    let id = new_id()?;
    let now = now();
    let expires_at = now.plus(INVITE_TTL_MS);
    db::audit::write(&database, || {
        Ok((
            vec![Step::guarded(
                db::statement(
                    &database,
                    invites::INSERT,
                    &[
                        db::text(&id),
                        db::text(&sha256_hex(&token)),
                        db::text(&email),
                        db::text(role.as_str()),
                        db::text(&principal.user.id),
                        db::int(expires_at.0 as i64),
                        db::int(now.0 as i64),
                    ],
                )?,
                event(
                    rctx,
                    Some(principal),
                    "user.invited",
                    "invite",
                    Some(&id),
                    None,
                    Some(json!({ "email": email, "role": role.as_str() })),
                ),
            )],
            vec![],
        ))
    })
    .await?;
    let url = req.inner().url();
    let origin = crate::views::url::origin(&url).unwrap_or_default();
    respond::json(
        201,
        &json!({
            "id": id,
            "email": email,
            "role": role.as_str(),
            "token": token,
            "invite_url": format!("{origin}/invite/{token}"),
            "expires_at": expires_at.to_rfc3339(),
        }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    role: Option<String>,
    active: Option<bool>,
}

/// `PATCH /api/v1/users/{id}` `{role?, active?}` with `If-Match`. Ends the user's sessions.
pub async fn update(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let body: UpdateBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let id = matched.param("id").unwrap_or_default().to_owned();
    let database = db::database(env)?;
    let before = users::by_id(&database, &id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    let role = match &body.role {
        Some(r) => Role::parse(r).ok_or_else(|| {
            AppError::invalid_field(
                "role",
                "The role must be one of owner, dispatcher, technician, viewer.",
            )
        })?,
        None => before.role()?,
    };
    let active = body.active.unwrap_or(before.is_active());
    let now = now();
    let after_view = json!({ "role": role.as_str(), "active": active });
    let results = db::audit::write(&database, || {
        Ok((
            vec![Step::guarded(
                db::statement(
                    &database,
                    users::UPDATE_ROLE_ACTIVE,
                    &[
                        db::text(role.as_str()),
                        db::int(i64::from(active)),
                        db::text(&now.to_rfc3339()),
                        db::text(&id),
                        db::int(version),
                    ],
                )?,
                event(
                    rctx,
                    Some(principal),
                    "user.updated",
                    "user",
                    Some(&id),
                    Some(user_audit(&before)),
                    Some(after_view.clone()),
                ),
            )],
            vec![],
        ))
    })
    .await?;
    let current = users::by_id(&database, &id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    let current_view =
        serde_json::to_value(UserView::new(&current, now)).map_err(AppError::internal)?;
    if results.first().map(db::changes) != Some(1) {
        if current.version != version {
            return Err(conflict(
                "The user changed since you read them.",
                current_view,
            ));
        }
        return Err(conflict(
            "The company must keep at least one active owner.",
            current_view,
        )
        .with_extension("reason", json!("last_owner")));
    }
    Ok(with_etag(
        respond::json(200, &current_view)?,
        current.version,
    ))
}

/// `POST /api/v1/users/{id}/unlock`: clears the failed sign-ins of the user's address.
pub async fn unlock(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default().to_owned();
    let database = db::database(env)?;
    let user = users::by_id(&database, &id)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    db::audit::write(&database, || {
        Ok((
            vec![Step::Plain(db::statement(
                &database,
                users::CLEAR_ATTEMPTS,
                &[db::text(&users::email_subject(&user.email))],
            )?)],
            vec![event(
                rctx,
                Some(principal),
                "user.unlocked",
                "user",
                Some(&id),
                None,
                Some(json!({ "email": user.email })),
            )],
        ))
    })
    .await?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
