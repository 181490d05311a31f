//! The REST API under `/api/v1`: thin handlers over `domain` and `db`.

pub mod apps;
pub mod audit;
pub mod customer_messages;
pub mod customers;
pub mod deletion;
pub mod deliveries;
pub mod erasure;
pub mod exports;
pub mod files;
pub mod invoices;
pub mod jobs;
pub mod links;
pub mod me;
pub mod message_settings;
pub mod notifications;
pub mod pdfs;
pub mod quotes;
pub mod reauth;
pub mod recovery;
pub mod session;
pub mod settings;
pub mod share_links;
pub mod support;
pub mod tokens;
pub mod users;
pub mod visits;

use serde_json::Value;
use worker::{Env, Request, Response};

use crate::domain::audit::{Action, ActorKind, AuditEvent};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::auth::{Principal, Surface, Via};
use crate::http::{clock, RequestCtx};

/// The version a write names: `If-Match: "<version>"`. Missing → 428, malformed → 400.
pub fn if_match(req: &Request) -> AppResult<i64> {
    let value = req
        .headers()
        .get("If-Match")
        .ok()
        .flatten()
        .ok_or_else(|| {
            AppError::new(ErrorKind::PreconditionRequired)
                .with_detail("Name the version you read: send If-Match: \"<version>\".")
        })?;
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            AppError::bad_request("If-Match must be a version number in quotes, e.g. \"3\".")
        })
}

/// `ETag: "<version>"` on a response.
pub fn with_etag(response: Response, version: i64) -> Response {
    let _ = response.headers().set("ETag", &format!("\"{version}\""));
    response
}

/// An audit event caused by `principal` (or an anonymous caller) in this request.
pub fn event(
    rctx: &RequestCtx,
    principal: Option<&Principal>,
    action: Action,
    entity: &'static str,
    entity_id: Option<&str>,
    before: Option<Value>,
    after: Option<Value>,
) -> AuditEvent {
    let (actor_kind, actor_id) = actor(principal);
    AuditEvent {
        at: clock::now(),
        actor_kind,
        actor_id,
        action,
        entity,
        entity_id: entity_id.map(str::to_owned),
        before,
        after,
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    }
}

fn actor(principal: Option<&Principal>) -> (ActorKind, Option<String>) {
    match principal {
        Some(Principal {
            support: Some(grant),
            ..
        }) => (ActorKind::Support, Some(grant.session_id.clone())),
        Some(p) => (
            match (p.surface, &p.via) {
                (Surface::Mcp, _) => ActorKind::Mcp,
                (Surface::Agent, _) => ActorKind::Agent,
                (Surface::Api, Via::Session { .. }) => ActorKind::User,
                (Surface::Api, Via::Token { .. }) => ActorKind::Token,
                (Surface::Api, Via::Access { .. }) => ActorKind::Access,
                (Surface::Api, Via::Linked { .. }) => ActorKind::Agent,
                (Surface::Api, Via::OAuth { .. }) => ActorKind::Mcp,
            },
            Some(p.user.id.clone()),
        ),
        None => (ActorKind::Anonymous, None),
    }
}

/// Whether cookies keep `Secure`: always in production; elsewhere dropped only on plain http to
/// this machine (127.0.0.1, localhost, *.localhost).
pub fn secure_cookies(req: &Request, env: &Env) -> bool {
    if clock::is_production(env) {
        return true;
    }
    let url = req.inner().url();
    // `acme.localhost` is how the local dispatcher reaches tenant acme (RFC 6761: loopback).
    !matches!(
        crate::views::url::scheme_and_host(&url),
        Some(("http", host)) if host == "127.0.0.1" || host == "localhost" || host.ends_with(".localhost")
    )
}

/// A fresh id for a new record.
pub fn new_id() -> AppResult<String> {
    let bytes = crate::http::crypto::random_bytes::<16>()?;
    Ok(uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string())
}

pub fn now() -> Millis {
    clock::now()
}
