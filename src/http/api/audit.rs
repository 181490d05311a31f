//! Reading and verifying the audit trail (owners).

use serde_json::json;
use worker::{Env, Request, Response};

use crate::db::{self, audit};
use crate::domain::audit::{verify as verify_chain, ChainTip};
use crate::error::{AppError, AppResult};
use crate::http::respond;
use crate::views::audit::audit_event_view;
use crate::views::url::{parse_limit, query_pairs};

const MAX_LIMIT: i64 = 500;
/// Rows read per query while verifying.
const VERIFY_PAGE: i64 = 1_000;

/// `GET /api/v1/audit?action=&entity=&entity_id=&actor_id=&since=&cursor=&limit=`: newest
/// first; `next_cursor` continues the listing.
pub async fn list(req: &Request, env: &Env) -> AppResult<Response> {
    let mut filter = audit::Filter {
        limit: 50,
        ..audit::Filter::default()
    };
    for (key, value) in query_pairs(&req.inner().url()) {
        match key.as_str() {
            "action" => filter.action = Some(value),
            "entity" => filter.entity = Some(value),
            "entity_id" => filter.entity_id = Some(value),
            "actor_id" => filter.actor_id = Some(value),
            "since" => {
                // RFC 3339 UTC as stored, e.g. 2026-11-23T10:00:00Z or with milliseconds.
                let ok = value.len() >= 20
                    && value.ends_with('Z')
                    && value.as_bytes().get(10) == Some(&b'T')
                    && value[..4].bytes().all(|b| b.is_ascii_digit());
                if !ok {
                    return Err(AppError::invalid_field(
                        "since",
                        "since must be an RFC 3339 UTC time such as 2026-11-23T10:00:00Z.",
                    ));
                }
                filter.since = Some(value);
            }
            "cursor" => {
                filter.before_seq = Some(value.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(
                    || {
                        AppError::invalid_field(
                            "cursor",
                            "cursor must be a next_cursor from a previous page.",
                        )
                    },
                )?)
            }
            "limit" => filter.limit = parse_limit(&value, MAX_LIMIT)?,
            other => {
                return Err(AppError::bad_request(format!(
                    "Unknown query parameter {other:?}."
                )))
            }
        }
    }
    let rows = audit::recent(&db::database(env)?, &filter).await?;
    let next_cursor = (rows.len() as i64 == filter.limit)
        .then(|| rows.last().map(|r| r.seq.to_string()))
        .flatten();
    let events: Vec<_> = rows.iter().map(audit_event_view).collect();
    respond::json(
        200,
        &json!({ "events": events, "next_cursor": next_cursor }),
    )
}

/// `GET /api/v1/audit/verify`: recomputes the whole chain and names the first broken link.
pub async fn verify(env: &Env) -> AppResult<Response> {
    let database = db::database(env)?;
    let mut tip = ChainTip::genesis();
    let mut checked = 0usize;
    loop {
        let rows = audit::page(&database, tip.seq, VERIFY_PAGE).await?;
        if rows.is_empty() {
            break;
        }
        checked += rows.len();
        match verify_chain(&tip, &rows) {
            Ok(next) => tip = next,
            Err(broken) => {
                return respond::json(
                    200,
                    &json!({
                        "ok": false,
                        "broken_at": broken.seq,
                        "reason": broken.reason,
                        "rows_checked": checked,
                    }),
                )
            }
        }
    }
    respond::json(
        200,
        &json!({ "ok": true, "rows_checked": checked, "tip": { "seq": tip.seq, "hash": tip.hash } }),
    )
}
