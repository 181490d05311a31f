//! The floor of fieldworker's stack, for scripts/bench: the job read as the smallest Rust
//! Worker on workers-rs would serve it, in one D1 batch (the token joined to its user, the job,
//! its notes), with none of the product around it (no router, sessions, personal-data layer,
//! gates, typed rows, audit or problem details beyond a status).
//!
//! - `GET /api/v1/jobs/{id}`: the request is also counted against the rate limiter, in parallel
//!   with the batch, as fieldworker counts every request.
//! - `GET /uncounted/jobs/{id}`: the same without the count.
//! - `GET /healthz`: 200, no D1 (for scripts/bench's wait for the Worker).
//!
//! Comparing the two with the plain JavaScript Worker shows what the runtime charges for Wasm
//! and for the limiter's call, which no change to fieldworker's own code can take back.

use futures_util::future::join;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use worker::{console_log, event, Context, Date, Env, Request, Response, Result};

const SELECT_PRINCIPAL: &str = "SELECT t.revoked_at, t.expires_at, u.id, u.role, u.active \
    FROM access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ?";
const SELECT_JOB: &str = "SELECT j.id, j.number, j.customer_id, j.site_id, j.title, \
    j.description, j.priority, j.status, j.items, j.version, j.created_at, j.updated_at, \
    (SELECT json_group_array(t.user_id) FROM job_technicians t WHERE t.job_id = j.id) \
    AS technician_ids FROM jobs j WHERE j.id = ?";
const SELECT_NOTES: &str =
    "SELECT id, author_id, text, created_at FROM job_notes WHERE job_id = ? ORDER BY created_at, id";

fn status(code: u16) -> Result<Response> {
    Ok(Response::from_json(&json!({ "status": code }))?.with_status(code))
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let started = Date::now().as_millis();
    let path = req.path();
    if path == "/healthz" {
        return status(200);
    }
    let (id, counted) = match (
        path.strip_prefix("/api/v1/jobs/"),
        path.strip_prefix("/uncounted/jobs/"),
    ) {
        (Some(id), _) => (id.to_owned(), true),
        (_, Some(id)) => (id.to_owned(), false),
        _ => return status(404),
    };
    let authorization = req.headers().get("Authorization")?.unwrap_or_default();
    let Some(token) = authorization.strip_prefix("Bearer ") else {
        return status(401);
    };
    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let db = env.d1("DB")?;
    let batch = db.batch(vec![
        db.prepare(SELECT_PRINCIPAL).bind(&[hash.as_str().into()])?,
        db.prepare(SELECT_JOB).bind(&[id.as_str().into()])?,
        db.prepare(SELECT_NOTES).bind(&[id.as_str().into()])?,
    ]);
    let results = if counted {
        let limiter = env.rate_limiter("RATE_LIMIT_PRINCIPAL")?;
        let (outcome, results) =
            join(limiter.limit(format!("floor:token:{}", &hash[..32])), batch).await;
        if !outcome?.success {
            return status(429);
        }
        results?
    } else {
        batch.await?
    };
    let principal: Vec<Value> = results[0].results()?;
    if !principal
        .first()
        .is_some_and(|p| p["revoked_at"].is_null() && p["active"] == 1)
    {
        return status(401);
    }
    let Some(mut job) = results[1].results::<Value>()?.into_iter().next() else {
        return status(404);
    };
    job["notes"] = Value::Array(results[2].results()?);
    let mut response = Response::from_json(&job)?;
    let headers = response.headers_mut();
    headers.set("ETag", &format!("\"{}\"", job["version"]))?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    console_log!(
        "{}",
        json!({ "level": "info", "msg": "request", "method": "GET", "path": path, "status": 200,
                "duration_ms": Date::now().as_millis() - started })
    );
    Ok(response)
}
