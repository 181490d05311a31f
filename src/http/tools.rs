//! Runs a tool of the catalogue as its caller: the tool's API call becomes a request handed to
//! the REST handler behind it, after the same guard. Validation, roles, versions, idempotency
//! and audit are therefore the API's own; the caller's `surface` marks the audit rows.

use crate::json;
use serde_json::Value;
use worker::{console_log, Env, Headers, Method, Request, RequestInit, Response};

use crate::http::auth::{authorize, Principal};
use crate::http::router::{dispatch, Dispatch};
use crate::http::routes::route;
use crate::http::RequestCtx;
use crate::tools::Tool;

/// What came of a tool call.
pub enum Outcome {
    /// The API answered 2xx: its JSON body (with the record's version when it sent an ETag).
    Done(Value),
    /// The arguments did not fit the tool, or the API refused: the status and problem body.
    Refused { status: u16, problem: Value },
}

/// Runs `tool` with `arguments` for `principal`; `origin` is this Worker's own origin.
pub async fn run(
    tool: &Tool,
    arguments: &Value,
    origin: &str,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> Outcome {
    let outcome = attempt(tool, arguments, origin, env, rctx, principal).await;
    let status = match &outcome {
        Outcome::Done(_) => 200,
        Outcome::Refused { status, .. } => *status,
    };
    console_log!(
        "{}",
        json!({
            "level": if status >= 500 { "error" } else { "info" },
            "msg": "tool",
            "request_id": rctx.id.as_str(),
            "tool": tool.name,
            "surface": format!("{:?}", principal.surface).to_lowercase(),
            "user_id": principal.user.id,
            "status": status,
        })
    );
    outcome
}

async fn attempt(
    tool: &Tool,
    arguments: &Value,
    origin: &str,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> Outcome {
    let call = match tool.plan(arguments) {
        Ok(call) => call,
        Err(e) => {
            return Outcome::Refused {
                status: 422,
                problem: json!({ "title": "Invalid arguments", "status": 422, "detail": e.0 }),
            }
        }
    };
    let refused = |err: crate::error::AppError| Outcome::Refused {
        status: err.status(),
        problem: err.to_problem(&call.path, rctx.id.as_str()),
    };
    let matched = match dispatch(call.method, &call.path) {
        Ok(Dispatch::Handle(matched)) => matched,
        Ok(Dispatch::Options { .. }) => {
            return refused(crate::error::AppError::internal("a tool planned OPTIONS"))
        }
        Err(e) => return refused(e),
    };
    if let Err(e) = authorize(principal, matched.guard) {
        return refused(e);
    }
    let request = match build_request(origin, &call) {
        Ok(request) => request,
        Err(e) => return refused(e),
    };
    match route(request, env, rctx, &matched, Some(principal)).await {
        Ok(response) => read(response).await,
        Err(e) => refused(e),
    }
}

fn build_request(origin: &str, call: &crate::tools::ApiCall) -> crate::error::AppResult<Request> {
    let internal =
        |e: worker::Error| crate::error::AppError::internal(format!("tool request: {e}"));
    let headers = Headers::new();
    if let Some(version) = call.version {
        headers
            .set("If-Match", &format!("\"{version}\""))
            .map_err(internal)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::from(call.method.to_owned()));
    if let Some(body) = &call.body {
        headers
            .set("Content-Type", "application/json")
            .map_err(internal)?;
        init.with_body(Some(body.to_string().into()));
    } else if let Some(bytes) = &call.bytes {
        headers
            .set("Content-Type", "application/octet-stream")
            .map_err(internal)?;
        init.with_body(Some(js_sys::Uint8Array::from(bytes.as_slice()).into()));
    }
    init.with_headers(headers);
    Request::new_with_init(&format!("{origin}{}", call.target()), &init).map_err(internal)
}

async fn read(mut response: Response) -> Outcome {
    let status = response.status_code();
    let version = response
        .headers()
        .get("ETag")
        .ok()
        .flatten()
        .and_then(|etag| etag.trim_matches('"').parse::<i64>().ok());
    let text = response.text().await.unwrap_or_default();
    let mut body: Value = if text.is_empty() {
        json!({})
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "text": text }))
    };
    if !(200..300).contains(&status) {
        return Outcome::Refused {
            status,
            problem: body,
        };
    }
    if status == 204 {
        body = json!({ "done": true });
    }
    if let (Some(version), Some(object)) = (version, body.as_object_mut()) {
        object.entry("version").or_insert(json!(version));
    }
    Outcome::Done(body)
}
