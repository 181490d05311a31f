//! Personal access tokens: each acts as its user, with that user's role.

use serde::Deserialize;
use serde_json::json;
use worker::{Env, Request, Response};

use crate::db::{self, audit::Step, tokens};
use crate::domain::auth::session::{sha256_hex, TOKEN_PREFIX, TOKEN_RANDOM_LEN};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::{conflict, event, if_match, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::router::Matched;
use crate::http::{crypto, respond, RequestCtx};
use crate::views::users::TokenView;

const MAX_EXPIRY_DAYS: u64 = 366;

/// `GET /api/v1/tokens`: the caller's tokens (never their secrets).
pub async fn list(env: &Env, principal: &Principal) -> AppResult<Response> {
    let rows = tokens::for_user(&db::database(env)?, &principal.user.id).await?;
    let views: Vec<TokenView> = rows.iter().map(TokenView::new).collect();
    respond::json(200, &json!({ "tokens": views }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    expires_in_days: Option<u64>,
}

/// `POST /api/v1/tokens` `{name, expires_in_days?}`: the token is in this answer only.
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let body: CreateBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let name = body.name.trim().to_owned();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(
            json!({"field": "name", "message": "Give the token a name of 1 to 100 characters."}),
        );
    }
    if body
        .expires_in_days
        .is_some_and(|d| d == 0 || d > MAX_EXPIRY_DAYS)
    {
        errors.push(json!({"field": "expires_in_days", "message": format!("Between 1 and {MAX_EXPIRY_DAYS} days.")}));
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(
            "The token could not be created.",
            errors,
        ));
    }
    let secret = format!("{TOKEN_PREFIX}{}", crypto::random_string(TOKEN_RANDOM_LEN)?);
    let id = new_id()?;
    let now = now();
    let expires_at = body
        .expires_in_days
        .map(|d| now.plus(d * Millis::DAY).0 as i64);
    let database = db::database(env)?;
    db::audit::write(&database, || {
        Ok((
            vec![Step::guarded(
                db::statement(
                    &database,
                    tokens::INSERT,
                    &[
                        db::text(&id),
                        db::text(&principal.user.id),
                        db::text(&name),
                        db::text(&sha256_hex(&secret)),
                        db::int(now.0 as i64),
                        db::opt_int(expires_at),
                    ],
                )?,
                event(
                    rctx,
                    Some(principal),
                    "token.created",
                    "access_token",
                    Some(&id),
                    None,
                    Some(json!({ "name": name, "expires_at": expires_at })),
                ),
            )],
            vec![],
        ))
    })
    .await?;
    let row = tokens::by_id(&database, &id)
        .await?
        .ok_or_else(|| AppError::internal("token vanished after insert"))?;
    let mut body = serde_json::to_value(TokenView::new(&row)).map_err(AppError::internal)?;
    body["token"] = json!(secret);
    respond::json(201, &body)
}

/// `DELETE /api/v1/tokens/{id}` with `If-Match`: revokes one of the caller's tokens.
pub async fn revoke(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = matched.param("id").unwrap_or_default().to_owned();
    let database = db::database(env)?;
    let token = tokens::by_id(&database, &id)
        .await?
        .filter(|t| t.user_id == principal.user.id)
        .ok_or_else(|| AppError::not_found("token"))?;
    if token.revoked_at.is_some() {
        return Err(
            AppError::new(ErrorKind::Conflict).with_detail("That token is already revoked.")
        );
    }
    let now = now();
    let results = db::audit::write(&database, || {
        Ok((
            vec![Step::guarded(
                db::statement(
                    &database,
                    tokens::REVOKE,
                    &[
                        db::int(now.0 as i64),
                        db::text(&id),
                        db::text(&principal.user.id),
                        db::int(version),
                    ],
                )?,
                event(
                    rctx,
                    Some(principal),
                    "token.revoked",
                    "access_token",
                    Some(&id),
                    None,
                    None,
                ),
            )],
            vec![],
        ))
    })
    .await?;
    if results.first().map(db::changes) != Some(1) {
        let current = tokens::by_id(&database, &id)
            .await?
            .ok_or_else(|| AppError::not_found("token"))?;
        return Err(conflict(
            "The token changed since you read it.",
            serde_json::to_value(TokenView::new(&current)).map_err(AppError::internal)?,
        ));
    }
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
