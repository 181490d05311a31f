//! Personal access tokens: each acts as its user, with that user's role.

use crate::json;
use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db;
use crate::db::store::D1Store;
use crate::db::tokens::{self, AccessToken};
use crate::domain::audit::Action;
use crate::domain::auth::permissions::Permission;
use crate::domain::auth::session::{sha256_hex, TOKEN_PREFIX, TOKEN_RANDOM_LEN};
use crate::domain::notices::Notice;
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::notifications::tell;
use crate::http::api::reauth::{self, Proof};
use crate::http::api::{event, if_match, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::router::Matched;
use crate::http::{crypto, respond, RequestCtx};
use crate::views::users::TokenView;
use crate::write::{self, Change, Entity};

const MAX_EXPIRY_DAYS: u64 = 366;
/// A token given no expiry expires after this many days: a forgotten token stops working.
const DEFAULT_EXPIRY_DAYS: u64 = 90;

crate::row_entity!(
    /// A personal access token (never its secret), as the engine reads and writes it.
    TokenEntity,
    AccessToken,
    "token",
    "/api/v1/tokens",
    tokens::load,
    |token: &AccessToken| serde_json::to_value(TokenView::new(token)).unwrap_or(Value::Null),
);

crate::query! {
    /// `GET /api/v1/tokens`: whose tokens.
    pub struct TokensQuery {
        /// Every user's tokens, not only the caller's (who may manage users only).
        all: Option<bool>,
    }
}

/// Whether `principal` may see and revoke other users' tokens.
fn oversees(principal: &Principal) -> bool {
    principal.role.allows(Permission::ManageUsers)
}

/// `GET /api/v1/tokens[?all=true]`: the caller's tokens, or for an owner every user's (never
/// their secrets): with their last use, so a forgotten or stolen one can be found and revoked.
pub async fn list(query: TokensQuery, env: &Env, principal: &Principal) -> AppResult<Response> {
    let database = db::database(env)?;
    let rows = if query.all == Some(true) {
        if !oversees(principal) {
            return Err(AppError::new(ErrorKind::Forbidden)
                .with_detail("Only those who manage the team see everyone's tokens."));
        }
        tokens::every(&database).await?
    } else {
        tokens::for_user(&database, &principal.user.id).await?
    };
    let views: Vec<TokenView> = rows.iter().map(TokenView::new).collect();
    respond::json(200, &json!({ "tokens": views }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    expires_in_days: Option<u64>,
    /// The current password, needed unless the session signed in within the last minutes.
    password: Option<String>,
}

/// `POST /api/v1/tokens` `{name, expires_in_days?, password?}`: the token is in this answer
/// only; it expires after `expires_in_days` (90 by default, at most 366). Made only from a
/// signed-in session (a token cannot make tokens), after `reauth`.
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
    let passed = reauth::require(
        env,
        rctx,
        principal,
        Proof::password(body.password.as_deref()),
    )
    .await?;
    let secret = format!("{TOKEN_PREFIX}{}", crypto::random_string(TOKEN_RANDOM_LEN)?);
    let id = new_id()?;
    let now = now();
    let days = body.expires_in_days.unwrap_or(DEFAULT_EXPIRY_DAYS);
    let expires_at = Some(now.plus(days * Millis::DAY).0 as i64);
    let change = passed
        .release_in(Change::new())
        .guarded(tokens::insert(
            &id,
            &principal.user.id,
            &name,
            &sha256_hex(&secret),
            now.0 as i64,
            expires_at,
        ))
        .then(tell(
            rctx,
            &principal.user.id,
            &Notice::TokenCreated {
                name: name.clone(),
                expires_at,
            },
        )?)
        .audit(event(
            rctx,
            Some(principal),
            Action::TokenCreated,
            "access_token",
            Some(&id),
            None,
            Some(json!({ "name": name, "expires_at": expires_at })),
        ));
    let store = D1Store::from_env(env)?;
    // No Idempotency-Key: a replay could not answer the secret again.
    let created = write::create::<_, TokenEntity>(
        &store,
        &id,
        None,
        change,
        || AppError::internal("a token insert has no condition to fail"),
        now.0 as i64,
    )
    .await?;
    // The secret is in this answer only.
    let mut body = TokenEntity::view(&created.record);
    body["token"] = json!(secret);
    respond::json(201, &body)
}

/// `DELETE /api/v1/tokens/{id}` with `If-Match`: revokes one of the caller's tokens, or, for
/// those who manage the team, anyone's.
pub async fn revoke(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    // Someone else's token is not found (not even its version is answered), unless the
    // caller oversees the team.
    let token = write::load::<_, TokenEntity>(&store, &id).await?;
    if token.user_id != principal.user.id && !oversees(principal) {
        return Err(AppError::not_found("token"));
    }
    let owner_id = token.user_id.clone();
    if token.revoked_at.is_some() {
        return Err(
            AppError::new(ErrorKind::Conflict).with_detail("That token is already revoked.")
        );
    }
    write::update_loaded::<_, TokenEntity>(&store, &id, token, version, |_| {
        Ok(Change::new()
            .guarded(tokens::revoke(&id, &owner_id, version, now().0 as i64))
            .audit(event(
                rctx,
                Some(principal),
                Action::TokenRevoked,
                "access_token",
                Some(&id),
                None,
                Some(json!({ "user_id": owner_id })),
            )))
    })
    .await?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
