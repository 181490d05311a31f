//! Texts from customers and what Twilio says of the texts we send. A text from one of a
//! customer's numbers joins that customer's conversation and tells the office, or, if it is
//! an opt-out keyword, changes the customer's consent; nothing is answered (Twilio itself
//! answers the keywords). Each is one write with its audit rows, recorded once on Twilio's id.
//! A number that is a linked staff member's stays the agent's, except for the keywords:
//! Twilio blocks the number either way, so the customer's record must say so.

use worker::{console_log, Env};

use crate::db::customer_messages::{self as store, NumberOwner, Reported};
use crate::db::messaging::{linked, SELECT_LINKED_USER};
use crate::db::store::D1Store;
use crate::db::users::User;
use crate::domain::audit::{Action, ActorKind, AuditEvent};
use crate::domain::customer_messages::{kept_body, sms_keyword, DeliveryReport, SmsKeyword};
use crate::domain::messaging::{address_term, link_code, Channel, Inbound};
use crate::domain::notices::{preview, Notice};
use crate::domain::personal::customer_key;
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::api::notifications::tell_office;
use crate::http::api::{new_id, now};
use crate::http::personal::index_key;
use crate::http::RequestCtx;
use crate::json;
use crate::write::{self, Change, Refusal, Results, Store};

/// Takes `inbound` (a verified SMS, not yet recorded) if it is a customer's: `false` leaves
/// it to the agent's conversation (a linked staff member, a link code, or nobody known).
pub async fn take(env: &Env, rctx: &RequestCtx, inbound: &Inbound) -> AppResult<bool> {
    let database = D1Store::from_env(env)?;
    let index = index_key(env)?;
    let address = index.blind(&address_term(Channel::Sms, &inbound.sender));
    let results = database
        .batch(vec![
            linked(SELECT_LINKED_USER, &address, "sms", &inbound.sender),
            store::by_phone(&index, &inbound.sender),
        ])
        .await
        .map_err(|e| AppError::internal(format!("who texted: {e}")))?;
    let staff = results
        .rows::<User>(0)?
        .into_iter()
        .next()
        .filter(User::is_active);
    let owners: Vec<NumberOwner> = results
        .rows::<NumberOwner>(1)?
        .into_iter()
        .filter(|o| o.has(&inbound.sender))
        .collect();
    let keyword = sms_keyword(&inbound.text);
    let live: Vec<&NumberOwner> = owners.iter().filter(|o| o.archived == 0).collect();
    let for_agent = staff.is_some() || link_code(&inbound.text).is_some();
    let ours = match keyword {
        Some(_) => !owners.is_empty(),
        None => !for_agent && !live.is_empty(),
    };
    // The text is its customer's (the first, live ones first, when customers share a number).
    let (true, Some(first)) = (ours, owners.first()) else {
        return Ok(false);
    };
    let key = customer_key(&first.id);
    let at = now();
    let mut change = Change::new().then(store::inbound_done(
        &inbound.provider_id,
        &key,
        &inbound.sender,
        &inbound.text,
        at,
    ));
    let body = kept_body(&inbound.text);
    let mut message_ids = Vec::with_capacity(live.len());
    for customer in &live {
        let id = new_id()?;
        change = change
            .then(store::insert_in(
                &id,
                &customer.id,
                &body,
                &inbound.sender,
                at,
            ))
            .audit(by_text(
                rctx,
                inbound,
                Action::CustomerMessageReceived,
                &customer.id,
                None,
                Some(json!({ "message_id": id, "channel": "sms",
                             "chars": body.chars().count() })),
            ));
        message_ids.push(id);
    }
    match keyword {
        Some(keyword) => change = consent(change, rctx, inbound, keyword, &owners, at),
        None => {
            if let Some(first) = live.first() {
                change = change.then(tell_office(
                    rctx,
                    &Notice::CustomerMessage {
                        customer_id: first.id.clone(),
                        name: first.name.clone(),
                        preview: preview(&inbound.text),
                        others: live.len() - 1,
                    },
                ));
            }
        }
    }
    let outcome = match write::apply(&database, change, vec![]).await {
        Ok(_) => "recorded",
        // Twilio delivered it before: recorded then.
        Err(Refusal::Duplicate(_)) => "duplicate delivery",
        Err(other) => return Err(other.into_error(|| AppError::internal("no guard"))),
    };
    console_log!(
        "{}",
        json!({ "level": "info", "msg": "customer text", "request_id": rctx.id.as_str(),
                "provider_id": inbound.provider_id, "outcome": outcome,
                "keyword": keyword.map(|k| format!("{k:?}")),
                "customers": owners.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
                "message_ids": message_ids })
    );
    Ok(true)
}

/// The consent change of an opt-out or opt-in keyword, for every customer with the number
/// (archived ones too: the consent belongs to the number), each audited only if it changed.
fn consent(
    mut change: Change,
    rctx: &RequestCtx,
    inbound: &Inbound,
    keyword: SmsKeyword,
    owners: &[NumberOwner],
    at: Millis,
) -> Change {
    for customer in owners {
        let was = customer.sms_opted_out_at.map(stamp);
        change = match keyword {
            SmsKeyword::OptOut => change.then_audited(
                store::opt_out(&customer.id, at),
                by_text(
                    rctx,
                    inbound,
                    Action::CustomerSmsOptedOut,
                    &customer.id,
                    Some(json!({ "sms_opted_out_at": was })),
                    Some(json!({ "sms_opted_out_at": at.to_rfc3339(),
                                 "keyword": inbound.text.trim() })),
                ),
            ),
            SmsKeyword::OptIn => change.then_audited(
                store::opt_in(&customer.id),
                by_text(
                    rctx,
                    inbound,
                    Action::CustomerSmsOptedIn,
                    &customer.id,
                    Some(json!({ "sms_opted_out_at": was })),
                    Some(json!({ "sms_opted_out_at": null, "keyword": inbound.text.trim() })),
                ),
            ),
        };
    }
    change
}

fn stamp(ms: i64) -> String {
    Millis::from_ms(ms).to_rfc3339()
}

/// A change the customer made by texting: the customer is the actor, known by the text's
/// Twilio id (the number is personal data, kept out of the append-only trail).
fn by_text(
    rctx: &RequestCtx,
    inbound: &Inbound,
    action: Action,
    customer_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AuditEvent {
    AuditEvent {
        at: now(),
        actor_kind: ActorKind::Customer,
        actor_id: Some(inbound.provider_id.clone()),
        action,
        entity: "customer",
        entity_id: Some(customer_id.to_owned()),
        before,
        after,
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    }
}

/// Records a delivery report on the text it is about, if it says something new: a status
/// this build does not know, a message we did not send, or a report older than what is
/// recorded changes nothing. Audited as Twilio's webhook.
pub async fn record_delivery(
    env: &Env,
    rctx: &RequestCtx,
    report: &DeliveryReport,
) -> AppResult<&'static str> {
    let Some(status) = report.status else {
        return Ok("status not known");
    };
    let database = D1Store::from_env(env)?;
    let found = database
        .batch(vec![store::by_provider_id(&report.message_sid)])
        .await
        .map_err(|e| AppError::internal(format!("delivery report: {e}")))?;
    let Some(row) = found.rows::<Reported>(0)?.into_iter().next() else {
        return Ok("no such message");
    };
    if row
        .delivery
        .as_deref()
        .is_some_and(|current| !status.replaces().contains(&current))
    {
        return Ok("not newer");
    }
    let at = now();
    let event = AuditEvent {
        at,
        actor_kind: ActorKind::Webhook,
        actor_id: Some("twilio".to_owned()),
        action: Action::MessageDelivery,
        entity: "message",
        entity_id: Some(row.id.clone()),
        before: Some(json!({ "delivery": row.delivery })),
        after: Some(json!({ "delivery": status.as_str(), "error_code": report.error_code })),
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    };
    let change = Change::new().then_audited(
        store::record_delivery(&row.id, status, report.error_code.as_deref(), at),
        event,
    );
    write::apply(&database, change, vec![])
        .await
        .map_err(|refusal| refusal.into_error(|| AppError::internal("no guard")))?;
    Ok("recorded")
}
