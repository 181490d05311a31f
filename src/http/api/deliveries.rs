//! Sending a quote or invoice to its customer: `POST /api/v1/{quotes|invoices}/{id}/deliveries`
//! `{via?}` queues an email (with the share link) and/or an SMS (the link), by the customer's
//! preferred contact unless `via` says; `GET` lists the document's deliveries with where each
//! stands (queued, sent, failed with the provider's reason, unknown), its timeline. And the
//! technician's "on my way" to a job's customer.

use crate::json;
use worker::{Env, Request, Response};

use crate::db::messages::{self as store, DeliveryRow, DocumentToSend, OnMyWay};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::deliveries::{automatic, plan, Contact, Via};
use crate::domain::invoices::InvoiceStatus;
use crate::domain::money::Currency;
use crate::domain::quotes::QuoteStatus;
use crate::domain::share_links::{check_invoice, check_quote};
use crate::domain::templates::{document_wording, quote_amount, render, Kind};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::jobs::{visible, JobEntity};
use crate::http::api::{event, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_bytes, optional_json_bytes, MAX_JSON_BODY};
use crate::http::messages::{self, LinkTo, Outgoing};
use crate::http::router::Matched;
use crate::http::{outbox, prefetch, respond, RequestCtx};
use crate::sql;
use crate::views::fields::Body;
use crate::write::{self, Change, Entity, Results, Sql};

/// The read a delivery starts with (joined to the principal's batch).
pub fn reads(document: &str, id: &str) -> Vec<Sql> {
    vec![store::document_to_send(document, id)]
}

/// The reads of the list: the document (to tell a missing one) and its deliveries.
pub fn list_reads(document: &str, id: &str) -> Vec<Sql> {
    vec![
        store::document_to_send(document, id),
        store::deliveries(document, id),
    ]
}

/// `POST …/deliveries`: 202 with the deliveries queued by this request.
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
    document: &'static str,
) -> AppResult<Response> {
    let bytes = optional_json_bytes(&mut req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &["via"])?;
    let via_text: Option<String> = body.take("via", "one of preferred, email, sms, both");
    body.finish()?;
    let via = match via_text.as_deref() {
        None => Via::Preferred,
        Some(text) => Via::parse(text)
            .ok_or_else(|| AppError::invalid_field("via", "One of preferred, email, sms, both."))?,
    };
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store_ = D1Store::from_env(env)?;
    let read = prefetch::read(&store_, &rctx.ahead, reads(document, &id)).await?;
    let doc = read
        .rows::<DocumentToSend>(0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found(document))?;
    let now = now();
    shareable(&doc, now)?;
    let contact = Contact::from_stored(&doc.emails, &doc.phones, &doc.preferred_contact, false);
    let deliveries = plan(via, &contact)?;
    let key = messages::key(env)?;
    let wording = document_wording(document);
    let values = values(&doc)?;
    let pairs: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let subject = render(&wording.subject, &pairs, true);
    let text = render(&wording.body, &pairs, true);
    let mut change = Change::new();
    let mut queued = Vec::new();
    for delivery in deliveries {
        let message = Outgoing {
            occasion: format!("{document}:{id}:{}:{}", delivery.channel.as_str(), rctx.id),
            customer_id: doc.customer_id.clone(),
            entity: document,
            entity_id: id.clone(),
            subject: subject.clone(),
            body: text.clone(),
            link: Some(LinkTo {
                document,
                id: id.clone(),
                label: if document == "invoice" {
                    "View and pay the invoice"
                } else {
                    "View the quote"
                },
            }),
            template: None,
            send_at: now.0 as i64,
            not_after: None,
            author: Some(principal.user.id.clone()),
            delivery,
        };
        queued.push(
            json!({ "channel": message.delivery.channel.as_str(), "to": message.sealed(&message.delivery.to) }),
        );
        change = change.then_all(messages::queue(&key, &message, now)?);
    }
    let change = change.audit(event(
        rctx,
        Some(principal),
        Action::MessageQueued,
        document,
        Some(&id),
        None,
        Some(json!({ "via": via_text.as_deref().unwrap_or("preferred"), "deliveries": queued })),
    ));
    queue_and_list(&store_, change, document, &id).await
}

/// `GET …/deliveries`: the document's deliveries, oldest first.
pub async fn list(
    env: &Env,
    rctx: &RequestCtx,
    matched: &Matched,
    document: &'static str,
) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store_ = D1Store::from_env(env)?;
    let read = prefetch::read(&store_, &rctx.ahead, list_reads(document, &id)).await?;
    if read.rows::<DocumentToSend>(0)?.is_empty() {
        return Err(AppError::not_found(document));
    }
    answer(200, &read.rows::<DeliveryRow>(1)?)
}

/// The reads of "on my way": the job (to check the caller may see it) and the message's parts.
pub fn on_my_way_reads(job_id: &str) -> Vec<Sql> {
    let mut reads = JobEntity::load(job_id);
    reads.push(sql!(store::ON_MY_WAY, job_id));
    reads
}

/// `POST /api/v1/jobs/{id}/on-my-way` `{eta_minutes}`: tells the job's customer that the
/// caller is on the way, by the "on my way" message (switched off, or to a customer who opted
/// out: refused, so the technician knows nobody was told). Sent at once: someone is driving.
pub async fn on_my_way(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let bytes = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &["eta_minutes"])?;
    let eta_minutes: Option<i64> = body.take("eta_minutes", "a whole number of minutes");
    body.finish()?;
    let eta_minutes = eta_minutes
        .filter(|m| (1..=600).contains(m))
        .ok_or_else(|| AppError::invalid_field("eta_minutes", "Minutes from 1 to 600."))?;
    let job_id = matched.param("id").unwrap_or_default().to_owned();
    let store_ = D1Store::from_env(env)?;
    let read = prefetch::read(&store_, &rctx.ahead, on_my_way_reads(&job_id)).await?;
    let job = JobEntity::parse(&read, 0)?.ok_or_else(|| AppError::not_found("job"))?;
    visible(job, principal)?;
    let context = read
        .rows::<OnMyWay>(1)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("job"))?;
    let refuse = |detail: &str| AppError::new(ErrorKind::Conflict).with_detail(detail);
    if context.enabled == 0 {
        return Err(refuse(
            "The \"on my way\" message is switched off in the settings.",
        ));
    }
    let contact = Contact::from_stored(
        &context.emails,
        &context.phones,
        &context.preferred_contact,
        context.opted_out != 0,
    );
    if contact.opted_out {
        return Err(refuse("The customer opted out of automatic messages."));
    }
    let delivery = automatic(&contact).ok_or_else(|| {
        AppError::invalid_field(
            "eta_minutes",
            "The customer has no email address or phone number.",
        )
    })?;
    let default = Kind::OnMyWay.default_wording();
    let eta = eta_minutes.to_string();
    let values = [
        ("customer", context.customer.as_str()),
        ("company", context.company.as_str()),
        ("job", context.job.as_str()),
        ("technician", principal.user.name.as_str()),
        ("eta", eta.as_str()),
    ];
    let now = now();
    let message = Outgoing {
        occasion: format!("on_my_way:{job_id}:{}", rctx.id),
        delivery,
        customer_id: context.customer_id.clone(),
        entity: "job",
        entity_id: job_id.clone(),
        subject: render(
            context.subject.as_deref().unwrap_or(&default.subject),
            &values,
            false,
        ),
        body: render(
            context.body.as_deref().unwrap_or(&default.body),
            &values,
            false,
        ),
        link: None,
        template: Some(Kind::OnMyWay),
        send_at: now.0 as i64,
        not_after: None,
        author: Some(principal.user.id.clone()),
    };
    let key = messages::key(env)?;
    let change = Change::new()
        .then_all(messages::queue(&key, &message, now)?)
        .audit(event(
            rctx,
            Some(principal),
            Action::MessageQueued,
            "job",
            Some(&job_id),
            None,
            Some(
                json!({ "automatic": "on_my_way", "eta_minutes": eta_minutes,
                         "channel": message.delivery.channel.as_str(), "to": message.sealed(&message.delivery.to) }),
            ),
        ));
    queue_and_list(&store_, change, "job", &job_id).await
}

/// Writes `change` (messages queued for `entity` `id`), has them sent after the response, and
/// answers 202 with the record's deliveries, read in the same batch.
async fn queue_and_list(
    store: &D1Store,
    change: Change,
    entity: &str,
    id: &str,
) -> AppResult<Response> {
    let written = write::apply(store, change, vec![store::deliveries(entity, id)])
        .await
        .map_err(|refusal| refusal.into_error(|| AppError::internal("queuing messages")))?;
    outbox::queued();
    let rows = written.results.rows::<DeliveryRow>(written.reads_from)?;
    answer(202, &rows)
}

/// The deliveries, as the API answers them.
fn answer(status: u16, rows: &[DeliveryRow]) -> AppResult<Response> {
    respond::json(
        status,
        &json!({ "deliveries": rows.iter().map(view).collect::<Vec<_>>() }),
    )
}

/// A delivery as the API shows it.
pub fn view(row: &DeliveryRow) -> serde_json::Value {
    json!({
        "id": row.id, "channel": row.channel, "to": row.recipient, "status": row.status,
        "attempts": row.attempts, "error": row.error, "delivery": row.delivery,
        "delivery_error": row.delivery_error, "automatic": row.template,
        "created_at": Millis::from_ms(row.created_at).to_rfc3339(),
        "updated_at": Millis::from_ms(row.updated_at).to_rfc3339(),
    })
}

/// Refuses a document its customer may not see yet (or any more).
fn shareable(doc: &DocumentToSend, now: Millis) -> AppResult<()> {
    if doc.document == "invoice" {
        let status = InvoiceStatus::parse(&doc.status)
            .ok_or_else(|| AppError::internal(format!("invoice status {}", doc.status)))?;
        return check_invoice(status);
    }
    let mut status = QuoteStatus::parse(&doc.status)
        .ok_or_else(|| AppError::internal(format!("quote status {}", doc.status)))?;
    let today = &now.to_rfc3339()[..10];
    if matches!(status, QuoteStatus::Sent | QuoteStatus::Viewed) && doc.date.as_str() < today {
        status = QuoteStatus::Expired;
    }
    check_quote(status)
}

/// The placeholders' values of a document's message.
fn values(doc: &DocumentToSend) -> AppResult<Vec<(&'static str, String)>> {
    let currency = Currency::parse(&doc.currency)
        .map_err(|e| AppError::internal(format!("currency {}: {e}", doc.currency)))?;
    let amount = quote_amount(currency.format(doc.amount.unwrap_or(0)), doc.options);
    let date = doc.date.get(..10).unwrap_or(&doc.date).to_owned();
    Ok(vec![
        ("customer", doc.customer.clone()),
        ("company", doc.company.clone()),
        ("number", doc.number.clone()),
        ("amount", amount),
        ("date", date),
    ])
}
