//! Connected apps: the OAuth grants users gave MCP clients (`http::oauth`). Each user sees and
//! revokes their own; those who manage the team see and revoke everyone's.

use crate::json;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db::oauth::{self as oauth_db, GrantRow};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::auth::permissions::Permission;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::{event, if_match, now};
use crate::http::auth::Principal;
use crate::http::router::Matched;
use crate::http::{prefetch, respond, RequestCtx};
use crate::views::users::AppView;
use crate::write::{self, Change, Entity, Results, Sql};

crate::row_entity!(
    /// A connected app (an OAuth grant), as the engine reads and writes it.
    GrantEntity,
    GrantRow,
    "app",
    "/api/v1/me/apps",
    oauth_db::load_grant,
    |grant: &GrantRow| serde_json::to_value(AppView::new(grant)).unwrap_or(Value::Null),
);

crate::query! {
    /// `GET /api/v1/me/apps`: whose apps.
    pub struct AppsQuery {
        /// Every user's connected apps, not only the caller's (who may manage users only).
        all: Option<bool>,
    }
}

fn oversees(principal: &Principal) -> bool {
    principal.role.allows(Permission::ManageUsers)
}

/// What the list reads, known before the caller is: every active grant (a company has few),
/// narrowed to the caller's own after, so it travels with the principal's batch.
pub fn list_reads() -> Vec<Sql> {
    vec![oauth_db::grants_all()]
}

/// `GET /api/v1/me/apps[?all=true]`: the apps connected as the caller (or, for an owner, as
/// anyone), newest first, with their scope and last use.
pub async fn list(
    query: AppsQuery,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let all = query.all == Some(true);
    if all && !oversees(principal) {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("Only those who manage the team see everyone's apps."));
    }
    let store = D1Store::from_env(env)?;
    let rows = prefetch::read(&store, &rctx.ahead, list_reads())
        .await?
        .rows::<GrantRow>(0)?;
    let views: Vec<AppView> = rows
        .iter()
        .filter(|grant| all || grant.user_id == principal.user.id)
        .map(AppView::new)
        .collect();
    respond::json(200, &json!({ "apps": views }))
}

/// `DELETE /api/v1/me/apps/{id}` with `If-Match`: revokes the grant; its tokens stop working
/// at once (the next request), refresh tokens too.
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
    let grant = prefetch::load::<GrantEntity>(&store, &rctx.ahead, &id).await?;
    if grant.user_id != principal.user.id && !oversees(principal) {
        return Err(AppError::not_found("app"));
    }
    if grant.revoked_at.is_some() {
        return Err(AppError::new(ErrorKind::Conflict).with_detail("That app is already revoked."));
    }
    let before = GrantEntity::view(&grant);
    write::update_loaded::<_, GrantEntity>(&store, &id, grant, version, |g| {
        Ok(Change::new()
            .guarded(oauth_db::revoke_grant(
                &id,
                version,
                "revoked in the dashboard",
                now().0 as i64,
            ))
            .then(oauth_db::delete_grant_tokens(&id))
            .audit(event(
                rctx,
                Some(principal),
                Action::OAuthRevoked,
                "oauth_grant",
                Some(&id),
                Some(before),
                Some(
                    json!({ "reason": "revoked in the dashboard", "user_id": g.user_id,
                             "client_id": g.client_id }),
                ),
            )))
    })
    .await?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
