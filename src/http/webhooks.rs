//! Inbound message webhooks. Each is authenticated before anything is read into the system
//! (Telegram: the secret token header; Twilio: the request signature), recorded once on the
//! provider's id (a redelivery is acknowledged and does nothing), acknowledged at once, and
//! answered after the response (`wait_until`) by `http::conversation`.
//! A channel whose secret is not configured does not exist (404).

use worker::{console_log, Context, Env, Request, Response, ResponseBuilder};

use crate::db::{self, messaging as store};
use crate::domain::messaging::{
    inbound_from_twilio, parse_telegram_update, parse_twilio_form, twiml_message, Inbound,
    TelegramContent, MAX_TELEGRAM_BODY, MAX_TWILIO_BODY,
};
use crate::domain::signatures::{
    telegram_secret_matches, twilio_verify_request, TwilioKeys, TwilioSharedKey,
};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::now;
use crate::http::{conversation, respond, RequestCtx};
use crate::services::setting;
use crate::views::url::origin;

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
    let body = body(&mut req, MAX_TELEGRAM_BODY).await?;
    let update = parse_telegram_update(&body)
        .map_err(|e| AppError::bad_request(format!("Not a Telegram update: {e}")))?;
    let provider_id = update.update_id.to_string();
    let inbound = match update.content {
        TelegramContent::Message(inbound) => inbound,
        TelegramContent::Ignored(why) => {
            record(env, "telegram", &provider_id, "", "", "ignored").await?;
            console_log!(
                "{}",
                serde_json::json!({ "level": "info", "msg": "telegram update ignored",
                    "request_id": rctx.id.as_str(), "update_id": provider_id, "why": format!("{why:?}") })
            );
            return respond::json(200, &serde_json::json!({ "ok": true }));
        }
    };
    accept(&req, env, rctx, ctx, inbound).await?;
    respond::json(200, &serde_json::json!({ "ok": true }))
}

/// `POST /webhooks/sms` (Twilio). The answer is empty TwiML: replies go out through the
/// Messages API once the work is done.
pub async fn sms(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    ctx: &Context,
) -> AppResult<Response> {
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
    let body = body(&mut req, MAX_TWILIO_BODY).await?;
    let params = parse_twilio_form(&body)
        .map_err(|e| AppError::bad_request(format!("Not a Twilio form: {e}")))?;
    // Twilio signs the public URL it called; behind a proxy that may not be ours.
    let url = setting(env, "SMS_WEBHOOK_URL").unwrap_or_else(|| req.inner().url());
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let keys = TwilioKeys {
        auth_token: auth_token.as_deref(),
        shared_keys: &shared_keys,
    };
    if let Err(why) = twilio_verify_request(
        &keys,
        header("X-Twilio-Webhooks-Signature-Settings").as_deref(),
        &url,
        &params,
        header("X-Twilio-Signature").as_deref(),
    ) {
        return Err(
            AppError::unauthorized("Not a Twilio delivery for this account.")
                .with_cause(format!("sms webhook: {why}")),
        );
    }
    match inbound_from_twilio(&params) {
        Ok(inbound) => accept(&req, env, rctx, ctx, inbound).await?,
        // A signed delivery that is not a text message (e.g. a status callback): nothing to do.
        Err(e) => console_log!(
            "{}",
            serde_json::json!({ "level": "info", "msg": "sms webhook ignored",
                "request_id": rctx.id.as_str(), "why": e.to_string() })
        ),
    }
    Ok(ResponseBuilder::new()
        .with_status(200)
        .with_header("Content-Type", "text/xml; charset=utf-8")
        .map_err(|e| AppError::internal(format!("twiml header: {e}")))?
        .fixed(twiml_message(None).into_bytes()))
}

async fn body(req: &mut Request, max: usize) -> AppResult<Vec<u8>> {
    let declared = req
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    let too_large = || {
        AppError::new(ErrorKind::PayloadTooLarge)
            .with_detail(format!("The body may be {max} bytes at most."))
    };
    if declared.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let bytes = req
        .bytes()
        .await
        .map_err(|e| AppError::bad_request("The request body could not be read.").with_cause(e))?;
    if bytes.len() > max {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Inserts the message row; `false` when the provider delivered it before.
async fn record(
    env: &Env,
    channel: &str,
    provider_id: &str,
    sender: &str,
    text: &str,
    state: &str,
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
    if !record(
        env,
        channel,
        &inbound.provider_id,
        &inbound.sender,
        &inbound.text,
        "received",
    )
    .await?
    {
        console_log!(
            "{}",
            serde_json::json!({ "level": "info", "msg": "duplicate delivery",
                "request_id": rctx.id.as_str(), "channel": channel,
                "provider_id": inbound.provider_id })
        );
        return Ok(());
    }
    let url = req.inner().url();
    let own_origin = origin(&url).unwrap_or_default().to_owned();
    let background = RequestCtx {
        id: rctx.id.clone(),
        started_ms: now().0,
        ip: rctx.ip.clone(),
    };
    ctx.wait_until(conversation::process(
        env.clone(),
        own_origin,
        background,
        inbound,
    ));
    Ok(())
}
