//! Reading the audit trail (owners).

use serde_json::json;
use worker::{Env, Request, Response};

use crate::db::{self, audit};
use crate::error::{AppError, AppResult};
use crate::http::respond;

/// `GET /api/v1/audit?action=…&limit=…`: newest first.
pub async fn list(req: &Request, env: &Env) -> AppResult<Response> {
    let mut action = None;
    let mut limit = 50;
    for (key, value) in crate::views::url::query_pairs(&req.inner().url()) {
        match key.as_str() {
            "action" => action = Some(value),
            "limit" => {
                limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|l| (1..=500).contains(l))
                    .ok_or_else(|| AppError::bad_request("limit must be between 1 and 500."))?
            }
            other => {
                return Err(AppError::bad_request(format!(
                    "Unknown query parameter {other:?}."
                )))
            }
        }
    }
    let rows = audit::recent(&db::database(env)?, action.as_deref(), limit).await?;
    let events: Vec<_> = rows
        .iter()
        .map(|r| {
            let parse = |v: &Option<String>| {
                v.as_deref()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            };
            json!({
                "seq": r.seq,
                "at": r.at,
                "actor_kind": r.actor_kind,
                "actor_id": r.actor_id,
                "action": r.action,
                "entity": r.entity,
                "entity_id": r.entity_id,
                "before": parse(&r.before),
                "after": parse(&r.after),
                "ip": r.ip,
                "request_id": r.request_id,
                "hash": r.hash,
            })
        })
        .collect();
    respond::json(200, &json!({ "events": events }))
}
