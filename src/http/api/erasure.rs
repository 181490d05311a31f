//! Erasing a customer (DESIGN.md §9): their data key is deleted, so everything personal about
//! them — the record, sites, notes, messages, the audit trail's snapshots — is unreadable at
//! once, while every seal of the chain (computed over ciphertext) still verifies.
//!
//! The erasure is written first to a ledger outside D1 (R2, `erasures/<data key>`), then in
//! D1; a restore of the database (Time Travel, a backup) replays the ledger
//! (`POST /ops/personal-data/replay-erasures`), so an erasure cannot be undone by one.

use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db;
use crate::db::customers::{self as store, ISSUED_INVOICES};
use crate::db::personal as personal_db;
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::personal::{customer_key, erasure_plan, ErasurePlan, Kind};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::customers::{id_param, CustomerEntity};
use crate::http::api::{event, if_match, now};
use crate::http::auth::Principal;
use crate::http::router::Matched;
use crate::http::{prefetch, respond, RequestCtx};
use crate::json;
use crate::write::{self, Change};

/// Where the ledger of erasures lives in the tenant's bucket.
pub const LEDGER_PREFIX: &str = "erasures/";

/// An issued invoice of the customer, with the company's retention period.
#[derive(Deserialize)]
pub struct Issued {
    number: i64,
    issued_at: String,
    retention_years: i64,
}

/// What erasing customer `id` would do, from their issued invoices and the company's
/// retention period (one read).
async fn plan(env: &Env, id: &str) -> AppResult<ErasurePlan> {
    let rows: Vec<Issued> = db::all(&db::database(env)?, ISSUED_INVOICES, &[db::text(id)]).await?;
    Ok(plan_of(rows))
}

/// The plan from the rows of [`ISSUED_INVOICES`].
pub fn plan_of(rows: Vec<Issued>) -> ErasurePlan {
    let years = rows.first().map_or(0, |r| r.retention_years);
    let issued: Vec<(i64, String)> = rows.into_iter().map(|r| (r.number, r.issued_at)).collect();
    erasure_plan(&issued, years)
}

/// `GET /api/v1/customers/{id}/erasure`: what an erasure would erase now, and what the law
/// makes the company keep and until when — shown to the owner before they confirm.
pub async fn preview(env: &Env, rctx: &RequestCtx, matched: &Matched) -> AppResult<Response> {
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    let record = prefetch::load::<CustomerEntity>(&store, &rctx.ahead, &id).await?;
    let plan = plan(env, &id).await?;
    respond::json(
        200,
        &json!({
            "customer_id": id,
            "erased_at": record.0.erased_at,
            "version": record.0.version,
            "plan": plan,
        }),
    )
}

/// The ledger entry of an erasure: enough to replay it, nothing personal.
fn ledger_entry(id: &str, at: i64) -> Value {
    json!({ "kind": "customer", "id": id, "data_key": customer_key(id), "at": at })
}

/// `POST /api/v1/customers/{id}/erase` with `If-Match` (owners): erases the customer.
pub async fn erase(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<CustomerEntity>(&store, &rctx.ahead, &id).await?;
    if current.0.erased_at.is_some() {
        return Err(
            AppError::new(ErrorKind::Conflict).with_detail("This customer was erased already.")
        );
    }
    let plan = plan(env, &id).await?;
    let key = customer_key(&id);
    let at = now();
    // The ledger first: should the D1 write then fail, the entry stands for an erasure the
    // owner asked for, which a replay completes; the other way round, a restore could bring
    // back data whose erasure was confirmed.
    let bucket = db::files(env)?;
    let ledger_key = format!("{LEDGER_PREFIX}{key}");
    bucket
        .put(&ledger_key, ledger_entry(&id, at.0 as i64).to_string())
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("writing the erasure ledger: {e}")))?;
    let written = write::update_loaded::<_, CustomerEntity>(&store, &id, current, version, |_| {
        Ok(Change::new()
            .guarded(store::erase(&id, version, &at.to_rfc3339(), at.0 as i64))
            .then(personal_db::erase_key(&key))
            .then(personal_db::unindex(Kind::Customer, &id))
            .audit(event(
                rctx,
                Some(principal),
                Action::CustomerErased,
                "customer",
                Some(&id),
                Some(json!({ "erased": false })),
                Some(json!({
                    "erased": true,
                    "kept": plan.kept,
                    "kept_until": plan.kept_until,
                })),
            )))
    })
    .await;
    match written {
        Ok(record) => respond::record::<CustomerEntity>(200, &record),
        Err(err) => {
            // Nothing was erased (a stale version, most often): the ledger entry goes too.
            if let Err(e) = bucket.delete(&ledger_key).await {
                worker::console_warn!("removing the erasure entry {ledger_key}: {e}");
            }
            Err(err)
        }
    }
}

/// Replays the ledger after a restore: every erasure recorded there whose data key is back in
/// D1 is done again (the key deleted, the record emptied, the index entries dropped). Answers
/// how many were replayed.
pub async fn replay(env: &Env, rctx: &RequestCtx) -> AppResult<usize> {
    let bucket = db::files(env)?;
    let database = db::database(env)?;
    let mut replayed = 0;
    let mut cursor: Option<String> = None;
    loop {
        let mut list = bucket.list().prefix(LEDGER_PREFIX).limit(500);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let page = list
            .execute()
            .await
            .map_err(|e| AppError::internal(format!("listing the erasure ledger: {e}")))?;
        for object in page.objects() {
            let Some(body) = bucket
                .get(object.key())
                .execute()
                .await
                .map_err(|e| AppError::internal(format!("reading the erasure ledger: {e}")))?
            else {
                continue;
            };
            let text = body
                .body()
                .map(|b| b.text())
                .ok_or_else(|| AppError::internal("an erasure entry without a body"))?
                .await
                .map_err(|e| AppError::internal(format!("reading an erasure entry: {e}")))?;
            let entry: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let (Some(id), Some(at)) = (entry["id"].as_str(), entry["at"].as_i64()) else {
                continue;
            };
            let key = customer_key(id);
            let stamp = crate::domain::time::Millis(at as u64).to_rfc3339();
            let results = db::read_batch(
                &database,
                vec![
                    db::statement(&database, personal_db::ERASE_DATA_KEY, &[db::text(&key)])?,
                    db::statement(
                        &database,
                        store::ERASE_REPLAYED,
                        &[db::text(&stamp), db::text(id), db::int(at)],
                    )?,
                    db::statement(
                        &database,
                        personal_db::DELETE_TERMS,
                        &[db::text(Kind::Customer.as_str()), db::text(id)],
                    )?,
                ],
            )
            .await?;
            if db::changes(&results[0]) > 0 || db::changes(&results[1]) > 0 {
                replayed += 1;
            }
        }
        match page.cursor() {
            Some(next) if page.truncated() => cursor = Some(next),
            _ => break,
        }
    }
    if replayed > 0 {
        let event = event(
            rctx,
            None,
            Action::PersonalDataErasuresReplayed,
            "personal_data",
            None,
            None,
            Some(json!({ "replayed": replayed })),
        );
        let store = D1Store::from_env(env)?;
        write::apply(&store, Change::new().audit(event), vec![])
            .await
            .map_err(|r| r.into_error(|| AppError::internal("an audit append has no guard")))?;
    }
    Ok(replayed)
}
