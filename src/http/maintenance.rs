//! Maintenance mode: while the operator restores the tenant's database, every request is
//! answered 503 with `Retry-After` (problem+json, or an HTML page for the dashboard), webhooks
//! included, so Telegram, Twilio and Stripe retry later; `/healthz` and the operator routes
//! still work, and nothing is sent or swept (the outbox and cron wait).
//!
//! The flag is an object in the tenant's R2 bucket (`ops/maintenance`), not in KV or D1: a
//! restore replaces D1, and KV is eventually consistent (a flag turned on could go unseen for
//! up to a minute at some locations). R2 reads are strongly consistent; each instance reads
//! the flag at most once per [`CACHE_MS`], so an instance may serve a few seconds after the
//! flag is set: `scripts/tenant restore` waits that long before it restores.

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use worker::{Env, Request, Response};

use crate::db;
use crate::error::{AppError, AppResult};
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::{clock, ops, respond};
use crate::json;

/// Where the flag lives in the tenant's bucket.
pub const MARKER: &str = "ops/maintenance";
/// How long an instance trusts what it last read of the flag.
pub const CACHE_MS: u64 = 5_000;
/// `Retry-After` when the operator names none (seconds).
const DEFAULT_RETRY_AFTER: u32 = 120;

/// The flag as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintenance {
    /// Seconds clients are told to wait.
    pub retry_after: u32,
    /// RFC 3339, when it was switched on.
    pub since: String,
    /// Why, for the operator (e.g. "restore to 2026-12-01T10:00:00Z").
    #[serde(default)]
    pub reason: Option<String>,
}

thread_local! {
    /// When this instance last read the flag, and what it read.
    static CACHED: RefCell<Option<(u64, Option<Maintenance>)>> = const { RefCell::new(None) };
}

fn remember(state: Option<Maintenance>) {
    let now = worker::Date::now().as_millis();
    CACHED.with(|c| *c.borrow_mut() = Some((now, state)));
}

/// The flag, from this instance's memory when read less than [`CACHE_MS`] ago. A flag that
/// cannot be read counts as off (R2 failing must not take the tenant down), and is logged.
pub async fn current(env: &Env) -> Option<Maintenance> {
    let now = worker::Date::now().as_millis();
    if let Some((at, state)) = CACHED.with(|c| c.borrow().clone()) {
        if now.saturating_sub(at) < CACHE_MS {
            return state;
        }
    }
    let state = match read(env).await {
        Ok(state) => state,
        Err(err) => {
            worker::console_error!(
                "{}",
                json!({ "level": "error", "msg": "maintenance flag", "error": err.to_string() })
            );
            None
        }
    };
    remember(state.clone());
    state
}

async fn read(env: &Env) -> AppResult<Option<Maintenance>> {
    let bucket = db::files(env)?;
    let Some(object) = bucket
        .get(MARKER)
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("reading the maintenance flag: {e}")))?
    else {
        return Ok(None);
    };
    let Some(body) = object.body() else {
        return Ok(None);
    };
    let text = body
        .text()
        .await
        .map_err(|e| AppError::internal(format!("reading the maintenance flag: {e}")))?;
    // An object there that is not a flag still means maintenance: someone meant it.
    Ok(Some(serde_json::from_str(&text).unwrap_or(Maintenance {
        retry_after: DEFAULT_RETRY_AFTER,
        since: String::new(),
        reason: None,
    })))
}

/// Whether the tenant is in maintenance (for work that runs without a request: cron, the
/// outbox).
pub async fn is_on(env: &Env) -> bool {
    current(env).await.is_some()
}

/// The refusal of a request made during maintenance.
pub fn refusal(state: &Maintenance) -> AppError {
    AppError::unavailable(
        "This back office is down for maintenance for a few minutes. Try again shortly.",
        "maintenance",
    )
    .with_header("Retry-After", state.retry_after.to_string())
}

/// Refuses the request if the tenant is in maintenance.
pub async fn refuse_if_on(env: &Env) -> AppResult<()> {
    match current(env).await {
        Some(state) => Err(refusal(&state)),
        None => Ok(()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SetRequest {
    on: bool,
    retry_after: Option<u32>,
    reason: Option<String>,
}

/// `POST /ops/maintenance` `{on, retry_after?, reason?}`: switches maintenance on (the flag
/// written to R2) or off (deleted); idempotent. Answers the state now.
pub async fn set(mut req: Request, env: &Env) -> AppResult<Response> {
    ops::authorize(&req, env)?;
    let body: SetRequest = json_body(&mut req, MAX_JSON_BODY).await?;
    let bucket = db::files(env)?;
    let state = if body.on {
        let retry_after = body.retry_after.unwrap_or(DEFAULT_RETRY_AFTER);
        if !(1..=86_400).contains(&retry_after) {
            return Err(AppError::bad_request(
                "retry_after must be 1 to 86400 seconds.",
            ));
        }
        let state = Maintenance {
            retry_after,
            since: clock::now().to_rfc3339(),
            reason: body.reason,
        };
        let text = serde_json::to_string(&state)
            .map_err(|e| AppError::internal(format!("maintenance json: {e}")))?;
        bucket
            .put(MARKER, text)
            .execute()
            .await
            .map_err(|e| AppError::internal(format!("writing the maintenance flag: {e}")))?;
        Some(state)
    } else {
        bucket
            .delete(MARKER)
            .await
            .map_err(|e| AppError::internal(format!("deleting the maintenance flag: {e}")))?;
        None
    };
    remember(state.clone());
    respond::json(
        200,
        &json!({
            "on": state.is_some(),
            "retry_after": state.as_ref().map(|s| s.retry_after),
            "since": state.as_ref().map(|s| s.since.clone()),
            "other_instances_within_ms": CACHE_MS,
        }),
    )
}
