//! HTTP glue: every request passes through [`serve`], which names it, routes it, turns any error
//! into problem+json, adds the common headers and writes the request's log line.

pub mod extract;
pub mod health;
pub mod ops;
pub mod panics;
pub mod respond;
pub mod router;

use worker::{console_log, Context, Date, Env, Request, Response};

use crate::domain::ids::RequestId;
use crate::error::AppResult;
use crate::views::request_log::{level_for, RequestLog};
use router::{dispatch, Dispatch, Route};

/// What a handler knows about the request besides the request itself.
pub struct RequestCtx {
    pub id: RequestId,
    pub started_ms: u64,
}

pub async fn serve(req: Request, env: Env, _ctx: Context) -> Response {
    panics::install_hook();
    let started_ms = Date::now().as_millis();
    let rctx = RequestCtx {
        id: request_id(&req),
        started_ms,
    };
    // `Request::method` maps unknown methods to GET; the raw string keeps them unknown.
    let method = req.inner().method();
    let path = req.path();

    let (mut response, error) = match handle(req, &env, &rctx, &method, &path).await {
        Ok(response) => (response, None),
        Err(err) => {
            let response = respond::problem(&err, &path, rctx.id.as_str());
            (response, Some(err.to_string()))
        }
    };
    respond::add_common_headers(&mut response, rctx.id.as_str());

    let status = response.status_code();
    let line = RequestLog {
        level: level_for(status),
        msg: "request",
        request_id: rctx.id.as_str(),
        method: &method,
        path: &path,
        status,
        duration_ms: Date::now().as_millis().saturating_sub(started_ms),
        error: error.as_deref(),
    }
    .to_line();
    console_log!("{line}");
    response
}

async fn handle(
    req: Request,
    env: &Env,
    rctx: &RequestCtx,
    method: &str,
    path: &str,
) -> AppResult<Response> {
    let matched = match dispatch(method, path)? {
        Dispatch::Handle(matched) => matched,
        Dispatch::Options { allow } => return Ok(respond::options(&allow)),
    };
    match matched.route {
        Route::Health => health::get(env).await,
        Route::OpsSelfcheck => ops::selfcheck(req, env, rctx).await,
        Route::OpsPanic => ops::panic(&req, env),
    }
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
