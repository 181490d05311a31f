//! A customer's conversation over SMS: read by whoever may read the customer (technicians,
//! only customers they work for), answered by whoever may change customers. A reply is one
//! write — the message, its outbox row and the audit row — and goes out after the response.
//! A customer who texted STOP still gets what staff write by hand (it is not automatic), and
//! the conversation says they opted out.

use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db::customer_messages::{self as store, MessageRow, NewReply, SmsState};
use crate::db::customers::{self as customers_db, CustomerRow};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::customer_messages::{reply_recipient, ReplyBody};
use crate::domain::personal::{customer_key, pending};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::customers::{id_param, visible};
use crate::http::api::{event, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_bytes, MAX_JSON_BODY};
use crate::http::router::Matched;
use crate::http::{idempotency, prefetch, respond, RequestCtx};
use crate::json;
use crate::sql;
use crate::views::customer_messages::MessageView;
use crate::views::fields::Body;
use crate::write::{self, Change, Entity, Results, Sql};

/// One message, as a create answers it. Messages are never changed (only marked read), so
/// each is at version 1.
pub struct MessageEntity;

impl Entity for MessageEntity {
    type Record = MessageRow;
    const NAME: &'static str = "message";
    /// Where a keyed create's message is found again; no route reads one message alone.
    const COLLECTION: &'static str = "/api/v1/customer-messages";

    fn load(id: &str) -> Vec<Sql> {
        vec![store::message(id)]
    }

    fn parse(results: &impl Results, from: usize) -> AppResult<Option<MessageRow>> {
        write::first_row(results, from)
    }

    fn version(_: &MessageRow) -> i64 {
        1
    }

    fn view(record: &MessageRow) -> Value {
        serde_json::to_value(MessageView::new(record)).unwrap_or_default()
    }
}

/// What `GET …/messages` reads first: the customer, the conversation, the SMS consent.
pub fn list_reads(customer_id: &str) -> Vec<Sql> {
    vec![
        sql!(customers_db::SELECT_BY_ID, customer_id),
        store::conversation(customer_id),
        store::sms_state(customer_id),
    ]
}

/// What `POST …/messages` reads first: the customer and where a reply goes.
pub fn create_reads(customer_id: &str) -> Vec<Sql> {
    vec![
        sql!(customers_db::SELECT_BY_ID, customer_id),
        store::sms_state(customer_id),
    ]
}

fn stamp(ms: i64) -> String {
    Millis::from_ms(ms).to_rfc3339()
}

/// The conversation as the API answers it: oldest first, and the customer's SMS consent.
pub fn conversation_json(rows: &[MessageRow], state: Option<&SmsState>) -> Value {
    let messages: Vec<MessageView<'_>> = rows.iter().rev().map(MessageView::new).collect();
    json!({
        "messages": messages,
        "sms_opted_out_at": state.and_then(|s| s.sms_opted_out_at).map(stamp),
    })
}

/// `GET /api/v1/customers/{id}/messages`: the newest messages, oldest first.
pub async fn list(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let id = id_param(matched);
    visible(&store, &id, principal).await?;
    let results = prefetch::read(&store, &rctx.ahead, list_reads(&id)).await?;
    if write::first_row::<CustomerRow>(&results, 0)?.is_none() {
        return Err(AppError::not_found("customer"));
    }
    let rows: Vec<MessageRow> = results.rows(1)?;
    let state = write::first_row::<SmsState>(&results, 2)?;
    respond::json(200, &conversation_json(&rows, state.as_ref()))
}

/// `POST /api/v1/customers/{id}/messages` `{"body"}` (honours `Idempotency-Key`): queues an
/// SMS to the number the customer last wrote from, or their first.
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let bytes = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let keyed = idempotency::keyed(&req, principal, &bytes)?;
    let mut fields = Body::parse(&bytes, &["body"])?;
    let asked: Option<String> = fields.take("body", "text");
    fields.finish()?;
    let body = ReplyBody::parse(asked.as_deref().unwrap_or_default())
        .map_err(|e| AppError::invalid_field("body", e.to_string()))?;
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    let results = prefetch::read(&store, &rctx.ahead, create_reads(&id)).await?;
    let customer = write::first_row::<CustomerRow>(&results, 0)?
        .ok_or_else(|| AppError::not_found("customer"))?;
    let archived = || AppError::new(ErrorKind::Conflict).with_detail("This customer is archived.");
    if customer.archived == 1 {
        return Err(archived());
    }
    let state = write::first_row::<SmsState>(&results, 1)?;
    let to = reply_recipient(
        &customer.phones(),
        state.as_ref().and_then(|s| s.last_from.as_deref()),
    )
    .ok_or_else(|| {
        AppError::new(ErrorKind::Conflict)
            .with_detail("This customer has no phone number to text: add one first.")
    })?;
    let message_id = new_id()?;
    let outbox_id = new_id()?;
    let at = now();
    let [message, queued] = store::insert_reply(&NewReply {
        id: &message_id,
        outbox_id: &outbox_id,
        customer_id: &id,
        body: body.as_str(),
        author_id: &principal.user.id,
        to: &to,
        now: at,
    });
    let change = Change::new().guarded(message).then(queued).audit(event(
        rctx,
        Some(principal),
        Action::CustomerMessageQueued,
        "customer",
        Some(&id),
        None,
        Some(
            json!({ "message_id": message_id, "outbox_id": outbox_id, "channel": "sms",
                     "to": pending(&customer_key(&id), &to),
                     "chars": body.as_str().chars().count() }),
        ),
    ));
    let created = write::create::<_, MessageEntity>(
        &store,
        &message_id,
        keyed.as_ref(),
        change,
        archived,
        at.0 as i64,
    )
    .await?;
    if !created.replayed {
        crate::http::outbox::queued();
    }
    let response = respond::json(created.status, &MessageEntity::view(&created.record))?;
    let _ = response
        .headers()
        .set("Location", &format!("/api/v1/customers/{id}/messages"));
    Ok(response)
}
