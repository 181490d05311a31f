//! Inbound message webhooks. Each is authenticated before anything is read into the system
//! (Telegram: the secret token header; Twilio: the request signature), recorded once on the
//! provider's id (a redelivery is acknowledged and does nothing), acknowledged at once, and
//! answered after the response (`wait_until`) by `http::conversation`.
//! A customer's text is no message for the agent: `http::customer_sms` records it at once.
//! Twilio's delivery reports (`/webhooks/sms/status`) are verified the same way.
//! A channel whose secret is not configured does not exist (404). Stripe's webhook records
//! card payments the same way: verified, once per event id.

/// Stripe events are small; anything larger is not one.
const MAX_STRIPE_BODY: usize = 256 * 1024;

use worker::{console_log, Context, Env, Request, Response, ResponseBuilder};

use crate::db::invoices::{self as invoice_store, NewPayment};
use crate::db::store::D1Store;
use crate::db::{self, messaging as store};
use crate::domain::audit::{Action, ActorKind, AuditEvent};
use crate::domain::customer_messages::delivery_report;
use crate::domain::messaging::{
    inbound_from_twilio, parse_telegram_update, parse_twilio_form, twiml_message, Inbound,
    TelegramContent, MAX_TELEGRAM_BODY, MAX_TWILIO_BODY,
};
use crate::domain::personal::pending;
use crate::domain::signatures::{
    stripe_verify, telegram_secret_matches, twilio_verify_request, TwilioKeys, TwilioSharedKey,
    STRIPE_TOLERANCE_S,
};
use crate::domain::stripe::{parse_event as stripe_event, Event};
use crate::error::{AppError, AppResult};
use crate::http::api::now;
use crate::http::extract::bounded_bytes;
use crate::http::{conversation, customer_sms, respond, senders, RequestCtx};
use crate::services::{setting, twilio};
use crate::views::url::origin;
use crate::write::{self, Change, Refusal};

/// `POST /webhooks/telegram`.
pub async fn telegram(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    ctx: &Context,
) -> AppResult<Response> {
    let Some(secret) = setting(env, "TELEGRAM_WEBHOOK_SECRET") else {
        return Err(AppError::not_found_route(&req.path()));
    };
    let header = req
        .headers()
        .get("X-Telegram-Bot-Api-Secret-Token")
        .ok()
        .flatten();
    if !telegram_secret_matches(&secret, header.as_deref()) {
        return Err(
            AppError::unauthorized("Not a Telegram delivery for this bot.")
                .with_cause("telegram webhook: wrong or missing secret token"),
        );
    }
    let body = bounded_bytes(&mut req, MAX_TELEGRAM_BODY).await?;
    let update = parse_telegram_update(&body)
        .map_err(|e| AppError::bad_request(format!("Not a Telegram update: {e}")))?;
    let provider_id = update.update_id.to_string();
    let inbound = match update.content {
        TelegramContent::Message(inbound) => inbound,
        TelegramContent::Ignored(why) => {
            record(env, "telegram", &provider_id, "", "", "ignored", None).await?;
            console_log!(
                "{}",
                crate::json!({ "level": "info", "msg": "telegram update ignored",
                    "request_id": rctx.id.as_str(), "update_id": provider_id, "why": format!("{why:?}") })
            );
            return respond::json(200, &crate::json!({ "ok": true }));
        }
    };
    accept(&req, env, rctx, ctx, inbound).await?;
    respond::json(200, &crate::json!({ "ok": true }))
}

/// `POST /webhooks/sms` (Twilio). The answer is empty TwiML: replies go out through the
/// Messages API once the work is done. A customer's text is recorded at once
/// (`customer_sms`) and answered by nobody.
pub async fn sms(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    ctx: &Context,
) -> AppResult<Response> {
    // Twilio signs the public URL it called; behind a proxy that may not be ours.
    let url = setting(env, "SMS_WEBHOOK_URL").unwrap_or_else(|| req.inner().url());
    let params = twilio_form(&mut req, env, &url, "sms webhook").await?;
    match inbound_from_twilio(&params) {
        Ok(inbound) => {
            if !customer_sms::take(env, rctx, &inbound).await? {
                accept(&req, env, rctx, ctx, inbound).await?;
            }
        }
        // A signed delivery that is not a text message (e.g. a status callback): nothing to do.
        Err(e) => console_log!(
            "{}",
            crate::json!({ "level": "info", "msg": "sms webhook ignored",
                "request_id": rctx.id.as_str(), "why": e.to_string() })
        ),
    }
    empty_twiml()
}

/// `POST /webhooks/sms/status` (Twilio's status callback, asked for by every SMS we send):
/// the delivery report is recorded on the outbox row of the message it names. A report on a
/// message we do not know, or older than what is recorded, is acknowledged and changes nothing.
pub async fn sms_status(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    // The URL we gave Twilio (`services::twilio::send`) is the one it signs.
    let url = match setting(env, "PUBLIC_URL") {
        Some(public) => format!("{}{}", public.trim_end_matches('/'), twilio::STATUS_PATH),
        None => req.inner().url(),
    };
    let params = twilio_form(&mut req, env, &url, "sms status callback").await?;
    let report = delivery_report(&params)
        .map_err(|e| AppError::bad_request(format!("Not a Twilio status callback: {e}")))?;
    let outcome = customer_sms::record_delivery(env, rctx, &report).await?;
    console_log!(
        "{}",
        crate::json!({ "level": "info", "msg": "delivery report", "request_id": rctx.id.as_str(),
            "provider_id": report.message_sid,
            "status": report.status.map(|s| s.as_str()), "outcome": outcome })
    );
    empty_twiml()
}

/// The form of a Twilio request to `url`, once its signature is checked: 404 when Twilio is
/// not configured, 400 for a body that is not a form, 401 for a bad signature.
async fn twilio_form(
    req: &mut Request,
    env: &Env,
    url: &str,
    what: &str,
) -> AppResult<Vec<(String, String)>> {
    let auth_token = setting(env, "TWILIO_AUTH_TOKEN");
    let shared = setting(env, "TWILIO_SIGNING_KEYS").unwrap_or_default();
    if auth_token.is_none() && shared.is_empty() {
        return Err(AppError::not_found_route(&req.path()));
    }
    // `id:secret,id:secret` for Twilio's shared-key (HMAC-SHA256) signatures.
    let shared_keys: Vec<TwilioSharedKey<'_>> = shared
        .split(',')
        .filter_map(|pair| pair.trim().split_once(':'))
        .map(|(id, secret)| TwilioSharedKey { id, secret })
        .collect();
    let body = bounded_bytes(req, MAX_TWILIO_BODY).await?;
    let params = parse_twilio_form(&body)
        .map_err(|e| AppError::bad_request(format!("Not a Twilio form: {e}")))?;
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let keys = TwilioKeys {
        auth_token: auth_token.as_deref(),
        shared_keys: &shared_keys,
    };
    if let Err(why) = twilio_verify_request(
        &keys,
        header("X-Twilio-Webhooks-Signature-Settings").as_deref(),
        url,
        &params,
        header("X-Twilio-Signature").as_deref(),
    ) {
        return Err(
            AppError::unauthorized("Not a Twilio delivery for this account.")
                .with_cause(format!("{what}: {why}")),
        );
    }
    Ok(params)
}

/// An empty TwiML answer: nothing to say back.
fn empty_twiml() -> AppResult<Response> {
    Ok(ResponseBuilder::new()
        .with_status(200)
        .with_header("Content-Type", "text/xml; charset=utf-8")
        .map_err(|e| AppError::internal(format!("twiml header: {e}")))?
        .fixed(twiml_message(None).into_bytes()))
}

/// Inserts the message row (`sender` and `text` as bound: pending tokens under `key`, the
/// data key its reply will be sealed under too); `false` when the provider delivered it before.
async fn record(
    env: &Env,
    channel: &str,
    provider_id: &str,
    sender: &str,
    text: &str,
    state: &str,
    key: Option<&str>,
) -> AppResult<bool> {
    let database = db::database(env)?;
    let result = db::statement(
        &database,
        store::INSERT_INBOUND,
        &[
            db::text(channel),
            db::text(provider_id),
            db::text(sender),
            db::text(text),
            db::int(now().0 as i64),
            db::text(state),
            db::opt_text(key),
        ],
    )?
    .run()
    .await
    .map_err(|e| AppError::internal(format!("recording an inbound message: {e}")))?;
    Ok(db::changes(&result) == 1)
}

/// Records a new message and hands it to the conversation, after the response.
async fn accept(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    ctx: &Context,
    inbound: Inbound,
) -> AppResult<()> {
    let channel = inbound.channel.as_str();
    let sender = senders::resolve(env, inbound.channel, &inbound.sender).await?;
    if !record(
        env,
        channel,
        &inbound.provider_id,
        &pending(&sender.key, &inbound.sender),
        &pending(&sender.key, &inbound.text),
        "received",
        Some(&sender.key),
    )
    .await?
    {
        console_log!(
            "{}",
            crate::json!({ "level": "info", "msg": "duplicate delivery",
                "request_id": rctx.id.as_str(), "channel": channel,
                "provider_id": inbound.provider_id })
        );
        return Ok(());
    }
    let url = req.inner().url();
    let own_origin = origin(&url).unwrap_or_default().to_owned();
    let background = RequestCtx::new(rctx.id.clone(), now().0, rctx.ip.clone());
    let env = env.clone();
    ctx.wait_until(async move {
        conversation::process(env.clone(), own_origin, background, inbound, sender).await;
        // What the agent's tools queued for customers goes out now, not at the next request.
        crate::http::outbox::send_queued(&env, "agent").await;
        // What the agent's tools wrote is sealed as soon as the turn is done.
        crate::http::seal::run_logged(&env, "agent").await;
    });
    Ok(())
}

/// `POST /webhooks/stripe`: a paid Checkout Session becomes a card payment on its invoice,
/// once (the event id is the payment's unique external id), audited as the webhook.
pub async fn stripe(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    let Some(secret) = setting(env, "STRIPE_WEBHOOK_SECRET") else {
        return Err(AppError::not_found_route(&req.path()));
    };
    let header = req.headers().get("Stripe-Signature").ok().flatten();
    let body = bounded_bytes(&mut req, MAX_STRIPE_BODY).await?;
    let now_secs = now().as_secs() as i64;
    if let Err(why) = stripe_verify(
        &secret,
        header.as_deref().unwrap_or_default(),
        &body,
        now_secs,
        STRIPE_TOLERANCE_S,
    ) {
        // Stripe's own convention: a delivery that fails verification is a 400.
        return Err(
            AppError::bad_request("Not a Stripe delivery for this account.")
                .with_cause(format!("stripe webhook: {why}")),
        );
    }
    let event = stripe_event(&body)
        .map_err(|e| AppError::bad_request(format!("Not a Stripe event: {e}")))?;
    let received = || respond::json(200, &crate::json!({ "received": true }));
    let Event::CheckoutPaid {
        event_id,
        invoice_id,
        amount,
        currency,
        payment_intent,
        ..
    } = event
    else {
        return received();
    };
    // A payment that cannot be recorded is logged for the office and acknowledged: Stripe
    // retrying it would not make it fit.
    let log = |why: &str| {
        console_log!(
            "{}",
            crate::json!({ "level": "error", "msg": "stripe payment not recorded",
                "request_id": rctx.id.as_str(), "event_id": event_id, "invoice_id": invoice_id, "why": why })
        )
    };
    for _ in 0..4 {
        let (row, payments) = match crate::http::share::load_invoice(env, &invoice_id).await {
            Ok(found) => found,
            Err(_) => {
                log("no such invoice");
                return received();
            }
        };
        if !row.currency.eq_ignore_ascii_case(&currency) {
            log("currency differs from the invoice's");
            return received();
        }
        let account = crate::http::share::account_of(&row.to_domain()?, &payments)?;
        let at = now();
        let shown = crate::views::money::invoice_status(&row, &account, at)?;
        let entry = match account.payment(shown, amount, "card", at) {
            Ok(entry) => entry,
            Err(e) => {
                log(&e.to_string());
                return received();
            }
        };
        let payment_id = crate::http::api::new_id()?;
        let stamp = at.to_rfc3339();
        let new = NewPayment {
            id: &payment_id,
            invoice_id: &invoice_id,
            invoice_version: row.version,
            entry: &entry,
            reference: payment_intent.as_deref(),
            recorded_by: None,
            external_id: Some(&event_id),
            now: &stamp,
        };
        let mut after = account;
        after.record(&entry)?;
        let store = D1Store::from_env(env)?;
        let [insert, sums] = invoice_store::record_payment(&new);
        let change = Change::new().then(insert).guarded(sums).audit(AuditEvent {
            at,
            actor_kind: ActorKind::Webhook,
            actor_id: Some("stripe".to_owned()),
            action: Action::InvoicePaymentRecorded,
            entity: "invoice",
            entity_id: Some(invoice_id.clone()),
            before: Some(crate::json!({ "paid": account.paid, "balance": account.balance() })),
            after: Some(crate::json!({
                "paid": after.paid, "balance": after.balance(),
                "payment": { "id": payment_id, "kind": "payment", "amount": amount,
                             "method": "card", "reference": payment_intent,
                             "stripe_event": event_id },
            })),
            ip: rctx.ip.clone(),
            request_id: rctx.id.as_str().to_owned(),
        });
        match write::apply(&store, change, vec![]).await {
            Ok(_) => return received(),
            // The event was recorded before (its id is unique): a redelivery.
            Err(Refusal::Duplicate(_)) => return received(),
            // The invoice changed between our read and our write: read again.
            Err(Refusal::Guard) => continue,
            Err(other) => return Err(other.into_error(|| AppError::internal("unreachable"))),
        }
    }
    Err(AppError::unavailable(
        "Busy; please retry.",
        "stripe webhook: the invoice kept changing",
    ))
}
