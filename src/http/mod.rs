//! HTTP glue: every request passes through [`serve`], which names it, routes it, turns any error
//! into problem+json, adds the common headers and writes the request's log line.

pub mod access;
pub mod api;
pub mod auth;
pub mod automatic;
pub mod chat_files;
pub mod clock;
pub mod conversation;
pub mod crypto;
pub mod customer_sms;
pub mod documents;
pub mod extract;
pub mod files;
pub mod gone;
pub mod health;
pub mod idempotency;
pub mod limits;
pub mod maintenance;
pub mod mcp;
pub mod messages;
pub mod metrics;
pub mod oauth;
pub mod openapi;
pub mod ops;
pub mod outbox;
pub mod pages;
pub mod panics;
pub mod personal;
pub mod prefetch;
pub mod query;
pub mod respond;
pub mod restore;
pub mod router;
pub mod routes;
pub mod seal;
pub mod senders;
pub mod share;
pub mod sweep;
pub mod tools;
pub mod unsubscribe;
pub mod webhooks;
pub mod zone;

use futures_util::future::join;
use worker::{console_error, console_log, console_warn, Context, Date, Env, Request, Response};

use crate::domain::ids::RequestId;
use crate::error::AppResult;
use crate::views::request_log::{level_for, loggable_path, RequestLog};
use router::{dispatch, Dispatch, Matched, Route};

/// What a handler knows about the request besides the request itself.
pub struct RequestCtx {
    pub id: RequestId,
    pub started_ms: u64,
    /// The client's IP as Cloudflare reports it; none locally.
    pub ip: Option<String>,
    /// The handler's first reads, when they came with the principal's batch.
    pub ahead: prefetch::Prefetched,
}

impl RequestCtx {
    pub fn new(id: RequestId, started_ms: u64, ip: Option<String>) -> Self {
        Self {
            id,
            started_ms,
            ip,
            ahead: prefetch::Prefetched::default(),
        }
    }
}

/// Waits for a timer's turn: work handed to `wait_until` starts once the response (and its
/// round-trip count, `src/entry.mjs`) is finished.
pub async fn after_the_response() {
    worker::Delay::from(std::time::Duration::from_millis(0)).await;
}

pub async fn serve(req: Request, env: Env, ctx: Context) -> Response {
    panics::install_hook();
    let started_ms = Date::now().as_millis();
    let rctx = RequestCtx::new(request_id(&req), started_ms, auth::client_ip(&req));
    // `Request::method` maps unknown methods to GET; the raw string keeps them unknown.
    let method = req.inner().method();
    let path = req.path();

    let (mut response, error) = match handle(req, &env, &ctx, &rctx, &method, &path).await {
        Ok(response) => (response, None),
        Err(err) => {
            let response = if is_page(&method, &path) {
                pages::error_response(&err, rctx.id.as_str())
            } else {
                respond::problem(&err, &path, rctx.id.as_str())
            };
            (response, Some(err.to_string()))
        }
    };
    respond::add_common_headers(&mut response, rctx.id.as_str());

    let status = response.status_code();
    let logged_path = loggable_path(&path);
    // An error may quote the path (an unknown one, say): quote the loggable one.
    let error = match &logged_path {
        std::borrow::Cow::Owned(logged) => error.map(|e| e.replace(path.as_str(), logged)),
        std::borrow::Cow::Borrowed(_) => error,
    };
    let level = level_for(status);
    let line = RequestLog {
        level,
        msg: "request",
        request_id: rctx.id.as_str(),
        method: &method,
        path: &logged_path,
        status,
        duration_ms: Date::now().as_millis().saturating_sub(started_ms),
        error: error.as_deref(),
    }
    .to_line();
    // Through the console method of its level, so Workers Logs can filter on it.
    match level {
        "error" => console_error!("{line}"),
        "warn" => console_warn!("{line}"),
        _ => console_log!("{line}"),
    }
    // Whatever a write appended to the audit trail is sealed right after the response.
    // What the request queued goes out after the response.
    outbox::after_response(&ctx, env.clone());
    documents::after_response(&ctx, env.clone());
    api::exports::after_response(&ctx, env.clone());
    if !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        seal::after_write(&ctx, env);
    }
    response
}

async fn handle(
    req: Request,
    env: &Env,
    ctx: &Context,
    rctx: &RequestCtx,
    method: &str,
    path: &str,
) -> AppResult<Response> {
    // A deleted company answers nothing but liveness and the operator's routes.
    if let Some(gone) = gone::gate(&req, env, ctx, rctx, path).await {
        return Ok(gone);
    }
    let matched = match dispatch(method, path)? {
        Dispatch::Handle(matched) => matched,
        Dispatch::Options { allow } => return Ok(respond::options(&allow)),
    };
    // During a restore every request waits but the operator's and the liveness check (the
    // flag is read at most once per few seconds per instance).
    if !matches!(matched.guard, router::Guard::Operator) && matched.route != Route::Health {
        maintenance::refuse_if_on(env).await?;
    }
    // The request counts against its rate limit while it is authenticated (the limiter and
    // the principal's D1 read overlap); nothing is written before the count allowed it.
    let bucket = limits::Bucket::of_request(&req, path, rctx.ip.as_deref());
    let limit = async {
        match bucket {
            Some(bucket) => limits::check(env, bucket).await,
            None => Ok(()),
        }
    };
    // Pages authenticate themselves and only read: a visitor who is not signed in is sent
    // to sign in.
    if let Route::Page(page) = matched.route {
        let (allowed, page) = join(limit, pages::serve(req, env, rctx, page, &matched)).await;
        allowed?;
        return page;
    }
    // MCP, webhooks and the customer's pages authenticate themselves (`own` routes), and may
    // write at once: counted first.
    if routes::is_own(matched.route) {
        limit.await?;
        return routes::route_own(req, env, ctx, rctx, &matched).await;
    }
    let (allowed, principal) = join(limit, auth::check(&req, env, rctx, &matched, method)).await;
    allowed?;
    routes::route(req, env, rctx, &matched, principal?.as_ref()).await
}

/// Whether an error on this request should be an HTML page (a browser asked for a page).
fn is_page(method: &str, path: &str) -> bool {
    matches!(
        dispatch(method, path),
        Ok(Dispatch::Handle(Matched { route: Route::Page(page), .. })) if page != router::Page::Asset
    )
}

/// Adopts a well-formed incoming `X-Request-Id`, otherwise makes a new random one.
fn request_id(req: &Request) -> RequestId {
    req.headers()
        .get("X-Request-Id")
        .ok()
        .flatten()
        .and_then(|value| RequestId::from_incoming(&value))
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 16];
            // Without entropy a colliding id is the lesser harm: the request still runs.
            let _ = getrandom::fill(&mut bytes);
            RequestId::from_random(bytes)
        })
}
