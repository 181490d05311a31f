//! The signed-in user's in-app notices (the dashboard's bell): newest first, all marked read
//! at once.

use crate::json;
use worker::{Env, Response};

use crate::db::notifications::{self, Notification};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::notices::Notice;
use crate::error::{AppError, AppResult};
use crate::http::api::{event, now};
use crate::http::auth::Principal;
use crate::http::{respond, RequestCtx};
use crate::views::notifications::NotificationView;
use crate::write::{self, Change, Sql, Store};

/// The statement that tells `user_id` of `notice` (in the app, and by email after the
/// response), for the batch of the change it is about.
pub fn tell(rctx: &RequestCtx, user_id: &str, notice: &Notice) -> AppResult<Sql> {
    crate::http::outbox::queued();
    Ok(notifications::notify(
        &crate::http::api::new_id()?,
        user_id,
        notice,
        rctx.id.as_str(),
        now(),
    ))
}

/// The statement that tells every active owner but `except` (told otherwise) of `notice`.
pub fn tell_owners(rctx: &RequestCtx, notice: &Notice, except: Option<&str>) -> Sql {
    crate::http::outbox::queued();
    notifications::notify_owners(notice, except, rctx.id.as_str(), now())
}

/// The statement that tells everyone who handles customers (the roles that manage records:
/// owners and dispatchers) of `notice`, in the app only for kinds the email trigger leaves
/// out (migration 0012).
pub fn tell_office(rctx: &RequestCtx, notice: &Notice) -> Sql {
    crate::http::outbox::queued();
    let office: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| r.allows(Permission::ManageRecords))
        .collect();
    notifications::notify_roles(notice, &office, rctx.id.as_str(), now())
}

/// `GET /api/v1/me/notifications`: the newest notices, and how many are unread.
pub async fn list(env: &Env, principal: &Principal) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let results = store
        .batch(vec![notifications::for_user(&principal.user.id)])
        .await
        .map_err(|e| AppError::internal(format!("notifications: {e}")))?;
    let rows: Vec<Notification> = write::Results::rows(&results, 0)?;
    let views: Vec<NotificationView> = rows.iter().map(NotificationView::new).collect();
    // The principal's read counted them all, beyond the newest shown (not through Access).
    let shown = views.iter().filter(|v| !v.read).count() as i64;
    let unread = principal.user.unread_notifications.unwrap_or(0).max(shown);
    respond::json(200, &json!({ "notifications": views, "unread": unread }))
}

/// `POST /api/v1/me/notifications/read`: every notice of the caller is read (audited).
pub async fn read_all(env: &Env, rctx: &RequestCtx, principal: &Principal) -> AppResult<Response> {
    let change = Change::new()
        .then(notifications::mark_all_read(&principal.user.id, now()))
        .audit(event(
            rctx,
            Some(principal),
            Action::NotificationsRead,
            "user",
            Some(&principal.user.id),
            None,
            None,
        ));
    write::apply(&D1Store::from_env(env)?, change, vec![])
        .await
        .map_err(|refusal| refusal.into_error(|| AppError::internal("no guard")))?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
