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
use crate::write::{self, Change, Entity, Results, Sql};

/// Where the ledger of erasures lives in the tenant's bucket.
pub const LEDGER_PREFIX: &str = "erasures/";

/// An issued invoice of the customer, with the company's retention period.
#[derive(Deserialize)]
pub struct Issued {
    number: String,
    issued_at: String,
    retention_years: f64,
}

/// What an erasure of customer `id` reads: the customer, then their issued invoices with the
/// company's retention period — joined to the principal's batch (`prefetch::reads`), so the
/// preview is one round trip and the erasure two.
pub fn reads(id: &str) -> Vec<Sql> {
    let mut reads = CustomerEntity::load(id);
    reads.push(crate::sql!(ISSUED_INVOICES, id));
    reads
}

/// The customer and the plan of erasing them, read ahead or now; 404 when there is none.
async fn load(
    store: &D1Store,
    rctx: &RequestCtx,
    id: &str,
) -> AppResult<(<CustomerEntity as Entity>::Record, ErasurePlan)> {
    let reads = reads(id);
    let issued_at = reads.len() - 1;
    let results = prefetch::read(store, &rctx.ahead, reads).await?;
    let record = CustomerEntity::parse(&results, 0)?
        .ok_or_else(|| AppError::not_found(CustomerEntity::NAME))?;
    Ok((record, plan_of(results.rows::<Issued>(issued_at)?)))
}

/// The plan from the rows of [`ISSUED_INVOICES`].
pub fn plan_of(rows: Vec<Issued>) -> ErasurePlan {
    let years = rows.first().map_or(0, |r| r.retention_years as i64);
    let issued: Vec<(String, String)> = rows.into_iter().map(|r| (r.number, r.issued_at)).collect();
    erasure_plan(&issued, years)
}

/// `GET /api/v1/customers/{id}/erasure`: what an erasure would erase now, and what the law
/// makes the company keep and until when — shown to the owner before they confirm.
pub async fn preview(env: &Env, rctx: &RequestCtx, matched: &Matched) -> AppResult<Response> {
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    let (record, plan) = load(&store, rctx, &id).await?;
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

/// The ledger entry of an erasure: enough to replay it, nothing personal. `kind` is
/// "customer" or "user"; `data_keys` every key the erasure deletes.
pub fn ledger_entry(kind: &str, id: &str, data_keys: &[String], at: i64) -> Value {
    json!({ "kind": kind, "id": id, "data_keys": data_keys, "at": at })
}

/// Writes an erasure to the ledger, under the name of its subject's (first) data key. First,
/// before D1: should the D1 write then fail, the entry stands for an erasure someone asked
/// for, which a replay completes; the other way round, a restore could bring back data whose
/// erasure was confirmed. Answers the object's key, for [`unrecord`].
pub async fn record(env: &Env, entry: &Value) -> AppResult<String> {
    let key = entry["data_keys"][0].as_str().unwrap_or("unknown");
    let ledger_key = format!("{LEDGER_PREFIX}{key}");
    db::files(env)?
        .put(&ledger_key, entry.to_string())
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("writing the erasure ledger: {e}")))?;
    Ok(ledger_key)
}

/// Takes back a ledger entry whose erasure was refused (nothing was erased).
pub async fn unrecord(env: &Env, ledger_key: &str) {
    let removed = match db::files(env) {
        Ok(bucket) => bucket.delete(ledger_key).await.map_err(|e| e.to_string()),
        Err(e) => Err(format!("{e:?}")),
    };
    if let Err(e) = removed {
        worker::console_warn!("removing the erasure entry {ledger_key}: {e}");
    }
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
    let (current, plan) = load(&store, rctx, &id).await?;
    if current.0.erased_at.is_some() {
        return Err(
            AppError::new(ErrorKind::Conflict).with_detail("This customer was erased already.")
        );
    }
    let key = customer_key(&id);
    let at = now();
    let ledger_key = record(
        env,
        &ledger_entry("customer", &id, std::slice::from_ref(&key), at.0 as i64),
    )
    .await?;
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
            unrecord(env, &ledger_key).await;
            Err(err)
        }
    }
}

/// Redoes one ledger entry: its data keys deleted, its subject's record emptied (a customer)
/// or its account deleted (a user), its index entries dropped. Whether anything was redone.
async fn replay_entry(database: &worker::D1Database, entry: &Value) -> AppResult<bool> {
    let (Some(kind), Some(id), Some(at)) = (
        entry["kind"].as_str(),
        entry["id"].as_str(),
        entry["at"].as_i64(),
    ) else {
        return Ok(false);
    };
    // Entries written before `data_keys` named one `data_key`.
    let keys: Vec<&str> = match entry["data_keys"].as_array() {
        Some(keys) => keys.iter().filter_map(Value::as_str).collect(),
        None => entry["data_key"].as_str().into_iter().collect(),
    };
    let stamp = crate::domain::time::Millis(at as u64).to_rfc3339();
    let mut statements = Vec::new();
    for key in &keys {
        statements.push(db::statement(
            database,
            personal_db::ERASE_DATA_KEY,
            &[db::text(key)],
        )?);
    }
    let (subject, kind) = match kind {
        "customer" => (
            db::statement(
                database,
                store::ERASE_REPLAYED,
                &[db::text(&stamp), db::text(id), db::int(at)],
            )?,
            Kind::Customer,
        ),
        "user" => (
            db::statement(
                database,
                crate::db::users::DELETE_REPLAYED,
                &[db::text(id), db::int(at), db::text(&stamp)],
            )?,
            Kind::User,
        ),
        _ => return Ok(false),
    };
    statements.push(subject);
    statements.push(db::statement(
        database,
        personal_db::DELETE_TERMS,
        &[db::text(kind.as_str()), db::text(id)],
    )?);
    let results = db::read_batch(database, statements).await?;
    Ok(results.iter().any(|r| db::changes(r) > 0))
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
            if replay_entry(&database, &entry).await? {
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
