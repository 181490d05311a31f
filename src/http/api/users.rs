//! The team, for owners (and, read-only, dispatchers): list, invite, change role, deactivate,
//! unlock. The last active owner can be neither demoted nor deactivated.

use crate::json;
use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db::store::D1Store;
use crate::db::users::User;
use crate::db::{self, invites, users};
use crate::domain::audit::Action;
use crate::domain::auth::account::invite_key;
use crate::domain::auth::permissions::Role;
use crate::domain::auth::session::sha256_hex;
use crate::domain::notices::Notice;
use crate::domain::personal::{pending, user_key};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::notifications::{tell, tell_owners};
use crate::http::api::session::normalize_email;
use crate::http::api::{event, if_match, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::personal::index_key;
use crate::http::router::Matched;
use crate::http::{crypto, respond, RequestCtx};
use crate::views::users::{user_audit, UserView};
use crate::write::{self, Change, Entity, Results, Sql, Store};

const INVITE_TTL_MS: u64 = 7 * Millis::DAY;

/// A user, with how many active owners the company has (the last one cannot step down), as
/// the engine reads and writes them.
pub struct UserEntity;

impl Entity for UserEntity {
    type Record = (User, i64);
    const NAME: &'static str = "user";
    const COLLECTION: &'static str = "/api/v1/users";

    fn load(id: &str) -> Vec<Sql> {
        vec![users::load(id), users::count_active_owners()]
    }

    fn parse(results: &impl Results, from: usize) -> AppResult<Option<Self::Record>> {
        #[derive(Deserialize)]
        struct Owners {
            owners: i64,
        }
        let Some(user) = write::first_row::<User>(results, from)? else {
            return Ok(None);
        };
        let owners = write::first_row::<Owners>(results, from + 1)?.map_or(0, |o| o.owners);
        Ok(Some((user, owners)))
    }

    fn version((user, _): &Self::Record) -> i64 {
        user.version
    }

    fn view((user, _): &Self::Record) -> Value {
        serde_json::to_value(UserView::new(user, now())).unwrap_or(Value::Null)
    }
}

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
    let key = index_key(env)?;
    if users::by_email(&database, &key, &email).await?.is_some() {
        return Err(
            AppError::new(ErrorKind::Conflict).with_detail("That address already has an account.")
        );
    }
    let token = crypto::random_string(32)?;
    let id = new_id()?;
    let now = now();
    let expires_at = now.plus(INVITE_TTL_MS);
    let change = Change::new()
        .then(invites::insert(
            &id,
            &sha256_hex(&token),
            &email,
            role.as_str(),
            &principal.user.id,
            expires_at.0 as i64,
            now.0 as i64,
        ))
        .audit(event(
            rctx,
            Some(principal),
            Action::UserInvited,
            "invite",
            Some(&id),
            None,
            // The address is sealed under the invite's key, erased with the account it becomes.
            Some(json!({ "email": pending(&invite_key(&id), &email), "role": role.as_str() })),
        ));
    write::apply(&D1Store::from_env(env)?, change, vec![])
        .await
        .map_err(|refused| refused.into_error(|| AppError::internal("an invite has no guard")))?;
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

/// The cron's part: invitations that expired unused [`invites::LAPSED_KEPT_MS`] ago lose their
/// address — the invite's data key is erased, so the address in the invite and in the audit
/// trail's picture of the invitation opens as erased — and the invite itself is deleted, each
/// in one audited write. Answers how many.
pub async fn sweep_lapsed_invites(env: &Env) -> AppResult<usize> {
    let d1 = D1Store::from_env(env)?;
    let now = crate::http::clock::now();
    let before = now.0 as i64 - invites::LAPSED_KEPT_MS;
    let lapsed = d1
        .batch(vec![crate::sql!(invites::SELECT_LAPSED, before)])
        .await
        .map_err(|e| AppError::internal(format!("lapsed invites: {e}")))?
        .rows::<invites::Lapsed>(0)?;
    let mut erased = 0;
    for invite in &lapsed {
        let event = crate::domain::audit::AuditEvent::by_system(
            now,
            Action::UserInviteLapsed,
            "invite",
            Some(&invite.id),
            Some(json!({ "status": "expired" })),
            Some(json!({ "status": "deleted", "email": "erased" })),
            &format!("invite-lapsed-{}", invite.id),
        );
        let change = Change::new()
            .guarded(crate::sql!(invites::DELETE_LAPSED, &invite.id, before))
            .then(crate::db::personal::erase_key(&invite_key(&invite.id)))
            .audit(event);
        match write::apply(&d1, change, vec![]).await {
            Ok(_) => erased += 1,
            // Used or deleted meanwhile: nothing to do.
            Err(write::Refusal::Guard) => {}
            Err(other) => {
                return Err(other.into_error(|| AppError::internal("a lapsed invite's guard")))
            }
        }
    }
    Ok(erased)
}

/// [`sweep_lapsed_invites`], logged when it erased something or failed (the next run retries).
pub async fn sweep_lapsed_invites_logged(env: &Env) {
    match sweep_lapsed_invites(env).await {
        Ok(0) => {}
        Ok(erased) => worker::console_log!(
            "{}",
            json!({ "level": "info", "msg": "lapsed invites", "erased": erased })
        ),
        Err(e) => worker::console_error!(
            "{}",
            json!({ "level": "error", "msg": "lapsed invites", "error": e.to_string() })
        ),
    }
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
    let role = match &body.role {
        Some(r) => Some(Role::parse(r).ok_or_else(|| {
            AppError::invalid_field(
                "role",
                "The role must be one of owner, dispatcher, technician, viewer.",
            )
        })?),
        None => None,
    };
    let store = D1Store::from_env(env)?;
    let written = write::update::<_, UserEntity>(&store, &id, version, |current| {
        let (before, owners) = current;
        if before.is_deleted() {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail("This account was deleted by its user: it cannot be changed.")
                .with_extension("current", UserEntity::view(current))
                .with_extension("reason", json!("deleted")));
        }
        let role = match role {
            Some(role) => role,
            None => before.role()?,
        };
        let active = body.active.unwrap_or(before.is_active());
        let steps_down =
            before.is_active() && before.role()? == Role::Owner && (role != Role::Owner || !active);
        if steps_down && *owners <= 1 {
            // The UPDATE checks the same, should a race get here first.
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail("The company must keep at least one active owner.")
                .with_extension("current", UserEntity::view(current))
                .with_extension("reason", json!("last_owner")));
        }
        let mut change = Change::new().guarded(users::update_role_active(
            &id,
            version,
            role,
            active,
            &now().to_rfc3339(),
        ));
        let was = before.role()?;
        if role != was {
            change = change.then(tell(
                rctx,
                &id,
                &Notice::RoleChanged {
                    from: was.as_str().to_owned(),
                    to: role.as_str().to_owned(),
                },
            )?);
            if role == Role::Owner {
                change = change.then(tell_owners(
                    rctx,
                    &Notice::OwnerAdded {
                        name: pending(&user_key(&id), &before.name),
                        email: pending(&user_key(&id), &before.email),
                    },
                    Some(&id),
                ));
            }
        }
        Ok(change.audit(event(
            rctx,
            Some(principal),
            Action::UserUpdated,
            "user",
            Some(&id),
            Some(user_audit(before)),
            Some(json!({ "role": role.as_str(), "active": active })),
        )))
    })
    .await?;
    respond::record::<UserEntity>(200, &written)
}

/// `POST /api/v1/users/{id}/unlock`: clears the failed sign-ins of the user's address.
pub async fn unlock(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    let (user, _) = write::load::<_, UserEntity>(&store, &id).await?;
    let key = index_key(env)?;
    let change = Change::new()
        .then(users::clear_attempts(&users::email_subject(
            &key,
            &user.email,
        )))
        .audit(event(
            rctx,
            Some(principal),
            Action::UserUnlocked,
            "user",
            Some(&id),
            None,
            Some(json!({ "email": pending(&user_key(&id), &user.email) })),
        ));
    write::apply(&store, change, vec![])
        .await
        .map_err(|refused| refused.into_error(|| AppError::internal("an unlock has no guard")))?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
