//! The unsubscribe link of automatic emails (`/unsubscribe/{token}`): the token names one
//! customer under the Worker's key. `GET` shows a page with one button; `POST` — that button,
//! or a mail provider's one-click request (RFC 8058, `List-Unsubscribe-Post`) — opts the
//! customer out of automatic messages, audited, once. Nothing else about them is shown.

use crate::json;
use serde::Deserialize;
use worker::{Env, Response};

use crate::db::settings::{self, Settings};
use crate::db::store::D1Store;
use crate::domain::audit::{Action, ActorKind, AuditEvent};
use crate::domain::deliveries::unsubscribing;
use crate::error::{AppError, AppResult};
use crate::http::router::Matched;
use crate::http::share::{company, html, new_nonce};
use crate::http::{clock, messages, RequestCtx};
use crate::sql;
use crate::views::share::{message_page, unsubscribe_page};
use crate::write::{self, Change, Results, Store};

const CUSTOMER: &str = "SELECT name, email_opted_out_at FROM customers WHERE id = ?1";
/// ?1 customer, ?2 now (ms).
const OPT_OUT: &str = "UPDATE customers SET email_opted_out_at = ?2 \
    WHERE id = ?1 AND email_opted_out_at IS NULL";

#[derive(Deserialize)]
struct Customer {
    name: String,
    email_opted_out_at: Option<i64>,
}

/// The customer and the company, or the page saying the link is not one.
async fn read(
    env: &Env,
    matched: &Matched,
    nonce: &str,
) -> AppResult<Result<(String, Customer, Settings), Response>> {
    let token = matched.param("token").unwrap_or_default();
    // Without the key no link can be genuine (and none was sent): the page says so.
    let customer_id = messages::key(env)
        .ok()
        .and_then(|key| unsubscribing(&key, token));
    let store = D1Store::from_env(env)?;
    let results = store
        .batch(vec![
            settings::load(),
            sql!(CUSTOMER, customer_id.as_deref().unwrap_or("")),
        ])
        .await
        .map_err(|e| AppError::internal(format!("unsubscribe: {e}")))?;
    let settings = results
        .rows::<Settings>(0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("no company settings"))?;
    match (customer_id, results.rows::<Customer>(1)?.into_iter().next()) {
        (Some(id), Some(customer)) => Ok(Ok((id, customer, settings))),
        _ => {
            let page = message_page(
                &company(&settings),
                "Link not recognised",
                "This unsubscribe link is not valid. Reply to the email you received and we \
                 will stop our automatic messages.",
                nonce,
            );
            Ok(Err(html(404, nonce, page)?))
        }
    }
}

/// `GET /unsubscribe/{token}`.
pub async fn page(env: &Env, matched: &Matched) -> AppResult<Response> {
    let nonce = new_nonce()?;
    let (_, customer, settings) = match read(env, matched, &nonce).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    if customer.email_opted_out_at.is_some() {
        return done(&settings, &nonce);
    }
    let body = unsubscribe_page(&company(&settings), &customer.name, &nonce);
    html(200, &nonce, body)
}

/// `POST /unsubscribe/{token}`: opts out (again is fine: nothing changes).
pub async fn post(env: &Env, rctx: &RequestCtx, matched: &Matched) -> AppResult<Response> {
    let nonce = new_nonce()?;
    let (customer_id, customer, settings) = match read(env, matched, &nonce).await? {
        Ok(found) => found,
        Err(response) => return Ok(response),
    };
    if customer.email_opted_out_at.is_none() {
        let now = clock::now();
        let event = AuditEvent {
            at: now,
            actor_kind: ActorKind::Customer,
            actor_id: Some(customer_id.clone()),
            action: Action::CustomerUnsubscribed,
            entity: "customer",
            entity_id: Some(customer_id.clone()),
            before: Some(json!({ "email_opted_out": false })),
            after: Some(json!({ "email_opted_out": true, "by": "unsubscribe link" })),
            ip: rctx.ip.clone(),
            request_id: rctx.id.as_str().to_owned(),
        };
        let store = D1Store::from_env(env)?;
        let change =
            Change::new().then_audited(sql!(OPT_OUT, customer_id.as_str(), now.0 as i64), event);
        write::apply(&store, change, vec![])
            .await
            .map_err(|refusal| refusal.into_error(|| AppError::internal("unsubscribe")))?;
    }
    done(&settings, &nonce)
}

fn done(settings: &Settings, nonce: &str) -> AppResult<Response> {
    let text = format!(
        "You will get no more automatic messages from {}. Messages someone there writes to \
         you still reach you.",
        settings.name
    );
    let page = message_page(&company(settings), "You are unsubscribed", &text, nonce);
    html(200, nonce, page)
}
