//! Deleting the company (`/api/v1/company/deletion…`): an owner asks — their password and
//! two-factor code again, the company's name typed exactly — and everyone in the team is told;
//! any owner can cancel during the grace period, and everyone is told again. What happens at
//! its end is `http::gone`'s.

use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::db::deletion::{self as store, DeletionRow};
use crate::db::notifications::notify_roles;
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::auth::permissions::Role;
use crate::domain::deletion;
use crate::domain::notices::Notice;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::reauth::{self, Proof};
use crate::http::api::{event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::{gone, respond, RequestCtx};
use crate::json;
use crate::views::company::deletion_view;
use crate::write::{self, Change, Entity, Results, Sql, Store};

crate::row_entity!(
    /// The company's deletion request, as the engine reads and writes it.
    DeletionEntity,
    DeletionRow,
    "company_deletion",
    "/api/v1/company/deletion",
    store::by_id,
    deletion_view,
);

/// What an owner gives to ask for the deletion.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    company_name: String,
    password: String,
    #[serde(default)]
    code: Option<String>,
}

/// The statement that tells every active user of `notice` (in the app, and by email).
fn tell_everyone(rctx: &RequestCtx, notice: &Notice) -> Sql {
    crate::http::outbox::queued();
    notify_roles(notice, &Role::ALL, rctx.id.as_str(), now())
}

/// The pending request, if there is one.
async fn pending(d1: &D1Store) -> AppResult<Option<DeletionRow>> {
    Ok(d1
        .batch(vec![store::open()])
        .await
        .map_err(|e| AppError::internal(format!("the company's deletion: {e}")))?
        .rows::<DeletionRow>(0)?
        .into_iter()
        .find(|row| row.status == "pending"))
}

/// `GET /api/v1/company/deletion`: the pending request (404 when there is none).
pub async fn get(env: &Env) -> AppResult<Response> {
    let row = pending(&D1Store::from_env(env)?)
        .await?
        .ok_or_else(|| AppError::not_found(DeletionEntity::NAME))?;
    Ok(with_etag(
        respond::json(200, &deletion_view(&row))?,
        row.version,
    ))
}

/// `POST /api/v1/company/deletion`: asks for the company to be deleted at the end of the grace
/// period. A session only, with the password (and the two-factor code when the owner has it).
pub async fn request(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let ask: Ask = json_body(&mut req, MAX_JSON_BODY).await?;
    let company = crate::db::settings::get(&crate::db::database(env)?)
        .await?
        .ok_or_else(|| AppError::internal("the company has no settings row"))?;
    deletion::check_name(&ask.company_name, &company.name)
        .map_err(|refused| AppError::invalid_field(refused.field, refused.message))?;
    let code = match (principal.user.mfa_enabled(), ask.code.as_deref()) {
        (true, None | Some("")) => {
            return Err(AppError::invalid_field(
                "code",
                "Enter the code from your authenticator app.",
            ))
        }
        (true, code) => code,
        (false, _) => None,
    };
    let proof = Proof {
        password: Some(&ask.password),
        password_field: "password",
        code,
    };
    let passed = reauth::require(env, rctx, principal, proof).await?;
    let id = new_id()?;
    let now = now();
    let effective_at = deletion::effective_at(now);
    let change = passed.release_in(
        Change::new()
            .guarded(store::insert(&id, &principal.user.id, now, effective_at))
            .then(tell_everyone(
                rctx,
                &Notice::CompanyDeletionRequested {
                    by: principal.user.name.clone(),
                    effective_at,
                },
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::CompanyDeletionRequested,
                DeletionEntity::NAME,
                Some(&id),
                None,
                Some(json!({ "status": "pending", "company_name": company.name,
                             "effective_at": effective_at })),
            )),
    );
    let created = write::create::<_, DeletionEntity>(
        &D1Store::from_env(env)?,
        &id,
        None,
        change,
        || {
            AppError::new(ErrorKind::Conflict)
                .with_detail("The company's deletion was already asked for: see Settings.")
        },
        now.0 as i64,
    )
    .await?;
    gone::know(Some(created.record.clone()));
    respond::created::<DeletionEntity>(&created)
}

/// `POST /api/v1/company/deletion/cancel` with `If-Match`: an owner cancels the pending
/// request; everyone is told.
pub async fn cancel(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let d1 = D1Store::from_env(env)?;
    let current = pending(&d1)
        .await?
        .ok_or_else(|| AppError::not_found(DeletionEntity::NAME))?;
    let id = current.id.clone();
    let owner = &principal.user.id;
    let row = write::update_loaded::<_, DeletionEntity>(&d1, &id, current, version, |_| {
        Ok(Change::new()
            .guarded(store::cancel(&id, version, owner, now()))
            .then(tell_everyone(
                rctx,
                &Notice::CompanyDeletionCancelled {
                    by: principal.user.name.clone(),
                },
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::CompanyDeletionCancelled,
                DeletionEntity::NAME,
                Some(&id),
                Some(json!({ "status": "pending" })),
                Some(json!({ "status": "cancelled", "by": owner })),
            )))
    })
    .await?;
    gone::know(None);
    Ok(with_etag(
        respond::json(200, &deletion_view(&row))?,
        row.version,
    ))
}
