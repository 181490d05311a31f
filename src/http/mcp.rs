//! `POST /mcp`: the Model Context Protocol over Streamable HTTP, answering `application/json`
//! (never a stream: every tool answers in one response). The JSON-RPC core is `crate::mcp`;
//! tools run through `http::tools` with the token's user, audited with actor kind `mcp`.
//!
//! No session is kept, so GET (a server-to-client stream) and DELETE (ending a session) get
//! the router's 405.

use crate::json;
use serde_json::Value;
use worker::{Env, Request, Response, ResponseBuilder};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::auth::{authenticate, authorize, Surface};
use crate::http::extract::{json_bytes, MAX_JSON_BODY};

/// A JSON-RPC message: room for `attach_file`'s base64 content besides an ordinary request.
const MAX_MCP_BODY: usize = crate::tools::MAX_TOOL_FILE_BYTES.div_ceil(3) * 4 + MAX_JSON_BODY;
use crate::http::router::Guard;
use crate::http::tools::{run, Outcome};
use crate::http::{access, respond, RequestCtx};
use crate::mcp::{self, Message, RpcError};
use crate::tools::Effect;
use crate::views::url::origin;

const METADATA_PATH: &str = "/.well-known/oauth-protected-resource/mcp";

/// A JSON-RPC answer with an HTTP status (errors about the HTTP exchange itself are 4xx).
fn rpc(status: u16, body: &Value) -> AppResult<Response> {
    respond::json(status, body)
}

fn own_origin(req: &Request) -> String {
    let url = req.inner().url();
    origin(&url).unwrap_or_default().to_owned()
}

/// Origins allowed besides our own: browser-based MCP clients (e.g. an inspector) named in
/// `MCP_ALLOWED_ORIGINS`, comma-separated. Clients outside a browser send no Origin.
fn origin_allowed(req: &Request, env: &Env) -> bool {
    let Some(sent) = req.headers().get("Origin").ok().flatten() else {
        return true;
    };
    if sent.eq_ignore_ascii_case(&own_origin(req)) {
        return true;
    }
    env.var("MCP_ALLOWED_ORIGINS")
        .map(|v| v.to_string())
        .unwrap_or_default()
        .split(',')
        .any(|allowed| !allowed.trim().is_empty() && allowed.trim().eq_ignore_ascii_case(&sent))
}

pub async fn post(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    if !origin_allowed(&req, env) {
        let error = RpcError::new(
            mcp::INVALID_REQUEST,
            "This Origin may not use the endpoint.",
        );
        return rpc(403, &mcp::failure(&Value::Null, &error));
    }
    if let Some(version) = req.headers().get("MCP-Protocol-Version").ok().flatten() {
        if !mcp::is_supported(version.trim()) {
            return rpc(
                400,
                &mcp::failure(&Value::Null, &mcp::unsupported_version(version.trim())),
            );
        }
    }
    let origin = own_origin(&req);
    let mut principal = principal(&req, env, &origin).await?;
    principal.surface = Surface::Mcp;

    let body = match json_bytes(&mut req, MAX_MCP_BODY).await {
        Ok(body) => body,
        Err(e) => {
            let message = e.detail.clone().unwrap_or_else(|| e.to_string());
            let error = RpcError::new(mcp::INVALID_REQUEST, message);
            return rpc(e.status(), &mcp::failure(&Value::Null, &error));
        }
    };
    let message = match mcp::parse(&body) {
        Ok(message) => message,
        Err((id, error)) => {
            let status = if error.code == mcp::PARSE_ERROR {
                400
            } else {
                200
            };
            return rpc(status, &mcp::failure(&id, &error));
        }
    };
    let stateless = message.meta_version().map(str::to_owned);
    let Message::Request { id, method, params } = message else {
        // Notifications and responses are acknowledged, and need no answer.
        return Ok(ResponseBuilder::new().with_status(202).empty());
    };
    if let Some(version) = &stateless {
        if !mcp::is_supported(version) {
            return rpc(200, &mcp::failure(&id, &mcp::unsupported_version(version)));
        }
    }
    let result = match method.as_str() {
        "initialize" => mcp::initialize(&params, crate::VERSION),
        "ping" => Ok(json!({})),
        "server/discover" => Ok(mcp::discover(crate::VERSION)),
        "tools/list" => Ok(mcp::tools_list(
            crate::tools::for_role(principal.role)
                .filter(|tool| principal.may_write() || tool.effect == Effect::Read),
        )),
        "tools/call" => call_tool(&params, &origin, env, rctx, &principal).await,
        other => Err(RpcError::new(
            mcp::METHOD_NOT_FOUND,
            format!("Method not found: {other}"),
        )),
    };
    let answer = match result {
        Ok(mut result) => {
            if stateless.is_some() {
                result["resultType"] = json!("complete");
            }
            mcp::success(&id, result)
        }
        Err(error) => mcp::failure(&id, &error),
    };
    rpc(200, &answer)
}

/// The caller, from a bearer token or an Access JWT only: a cookie never reaches MCP, so no
/// web page can drive it. A refusal carries the RFC 9728 pointer MCP clients look for.
async fn principal(
    req: &Request,
    env: &Env,
    origin: &str,
) -> AppResult<crate::http::auth::Principal> {
    // RFC 6750 §3: a token that was presented and refused is `invalid_token`, so a client
    // refreshes or starts the flow again.
    let challenge = |err: AppError, presented: bool| {
        let error = if presented {
            ", error=\"invalid_token\""
        } else {
            ""
        };
        err.with_header(
            "WWW-Authenticate",
            format!("Bearer resource_metadata=\"{origin}{METADATA_PATH}\"{error}"),
        )
    };
    let has = |name: &str| req.headers().get(name).ok().flatten().is_some();
    if !has("Authorization") && !has("Cf-Access-Jwt-Assertion") {
        return Err(challenge(
            AppError::unauthorized(
                "Sign in through OAuth (see the resource metadata), or present a personal \
                 access token: Authorization: Bearer fwp_…",
            )
            .with_cause("no bearer token on /mcp"),
            false,
        ));
    }
    let principal = authenticate(req, env).await.map_err(|mut e| {
        if e.kind == ErrorKind::Unauthorized {
            let mut refused = challenge(
                AppError::unauthorized(
                    "The token is not valid (expired, revoked or unknown): refresh it or sign \
                     in again.",
                ),
                true,
            );
            refused.cause = e.cause.take();
            refused
        } else {
            e
        }
    })?;
    authorize(&principal, Guard::Member)?;
    Ok(principal)
}

async fn call_tool(
    params: &serde_json::Map<String, Value>,
    origin: &str,
    env: &Env,
    rctx: &RequestCtx,
    principal: &crate::http::auth::Principal,
) -> Result<Value, RpcError> {
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(mcp::INVALID_PARAMS, "tools/call needs a tool name."))?;
    let tool = crate::tools::find(name)
        .ok_or_else(|| RpcError::new(mcp::INVALID_PARAMS, format!("Unknown tool: {name}")))?;
    if !principal.may_write() && tool.effect != Effect::Read {
        return Ok(mcp::tool_failure(
            "This app was granted the read scope only: it cannot make changes. Connect it \
             again and allow writing to do this.",
            None,
        ));
    }
    let arguments = params.get("arguments").cloned().unwrap_or(Value::Null);
    Ok(
        match run(tool, &arguments, origin, env, rctx, principal).await {
            Outcome::Done(result) => mcp::tool_success(result),
            Outcome::Refused { status, problem } => {
                mcp::tool_failure(&mcp::problem_message(status, &problem), Some(problem))
            }
        },
    )
}

/// `GET /.well-known/oauth-protected-resource[/mcp]` (RFC 9728): what `/mcp` is and how to
/// present a token. With Cloudflare Access in front, Access is the authorization server;
/// without it, this Worker's own (`http::oauth`).
pub fn resource_metadata(req: &Request, env: &Env) -> AppResult<Response> {
    let origin = own_origin(req);
    let mut metadata = json!({
        "resource": format!("{origin}/mcp"),
        "bearer_methods_supported": ["header"],
        "resource_name": "fieldworker",
        "resource_documentation": format!("{origin}/api/v1/openapi.json"),
    });
    match access::config(env)? {
        Some(config) => metadata["authorization_servers"] = json!([config.issuer()]),
        None => {
            metadata["authorization_servers"] = json!([origin]);
            metadata["scopes_supported"] = json!(crate::domain::oauth::SCOPES_SUPPORTED);
        }
    }
    respond::json(200, &metadata)
}
