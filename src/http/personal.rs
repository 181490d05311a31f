//! The tenant's personal-data secrets as the Worker reads them, and the operator's routes over
//! data keys: status, rotation, replaying erasures. Data keys are made, wrapped and used in
//! `src/personal.mjs` (PII_KEYS); the blind-index key (PII_INDEX_KEY) is used here.

use serde::Deserialize;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db;
use crate::db::personal::{self as store, WrappedKey};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::personal::{current_key_id, IndexKey};
use crate::error::{AppError, AppResult};
use crate::http::api::event;
use crate::http::extract::{optional_json_body, MAX_JSON_BODY};
use crate::http::{clock, ops, respond, RequestCtx};
use crate::json;
use crate::write::{self, Change};

/// The Worker secret holding the blind-index key (at least 32 bytes; `scripts/dev` and
/// `scripts/tenant create` generate it). It never rotates: a new one would need every index
/// rebuilt from the sealed values.
pub const PII_INDEX_KEY: &str = "PII_INDEX_KEY";
/// Outside production, without the secret, a well-known key keeps local runs working.
const DEVELOPMENT_INDEX_KEY: &str = "fieldworker development blind-index key: not for production";

/// The blind-index key; in production a missing or short secret is a deployment mistake.
pub fn index_key(env: &Env) -> AppResult<IndexKey> {
    let secret = env.secret(PII_INDEX_KEY).map(|s| s.to_string()).ok();
    match secret.as_deref().and_then(IndexKey::new) {
        Some(key) => Ok(key),
        None if !clock::is_production(env) && secret.is_none() => {
            Ok(IndexKey::new(DEVELOPMENT_INDEX_KEY).expect("the development key is long enough"))
        }
        None => Err(AppError::internal(format!(
            "{PII_INDEX_KEY} is missing or shorter than 32 bytes"
        ))),
    }
}

/// The Worker secret holding the tenant keys (read by `src/personal.mjs`).
pub const PII_KEYS: &str = "PII_KEYS";
/// The id of the well-known key `src/personal.mjs` uses outside production without PII_KEYS.
const DEVELOPMENT_KEY_ID: &str = "dev";
/// Data keys re-wrapped per rotation step (one D1 batch).
const REWRAP_BATCH: i64 = 100;

/// The current tenant key's id.
pub fn current_key(env: &Env) -> AppResult<String> {
    let ring = env.secret(PII_KEYS).map(|s| s.to_string()).ok();
    match ring.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        Some(ring) => current_key_id(ring)
            .map(str::to_owned)
            .ok_or_else(|| AppError::internal(format!("{PII_KEYS} has no key"))),
        None if !clock::is_production(env) => Ok(DEVELOPMENT_KEY_ID.to_owned()),
        None => Err(AppError::internal(format!("{PII_KEYS} is not set"))),
    }
}

#[derive(Deserialize)]
struct KeyCount {
    kek: String,
    keys: f64,
}

/// How many data keys each tenant key wraps (`GET /ops/personal-data`).
async fn counts(env: &Env) -> AppResult<Vec<(String, i64)>> {
    let rows: Vec<KeyCount> = db::all(&db::database(env)?, store::COUNT_BY_KEK, &[]).await?;
    Ok(rows.into_iter().map(|r| (r.kek, r.keys as i64)).collect())
}

/// `GET /ops/personal-data`: the current tenant key and how many data keys each tenant key
/// wraps; a tenant key may leave PII_KEYS once it wraps none (and no backup needs it).
pub async fn status(req: Request, env: &Env) -> AppResult<Response> {
    ops::authorize(&req, env)?;
    let current = current_key(env)?;
    let by_key: serde_json::Map<String, Value> = counts(env)
        .await?
        .into_iter()
        .map(|(kek, n)| (kek, Value::from(n)))
        .collect();
    respond::json(
        200,
        &json!({ "current_key": current, "data_keys_by_tenant_key": by_key }),
    )
}

/// The body of an operator step (rotation, sealing): how many records at most.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateRequest {
    limit: Option<i64>,
}

/// `POST /ops/personal-data/rotate` `{limit?}`: one step of a key rotation — up to `limit`
/// data keys (100) wrapped under an older tenant key are re-wrapped under the current one, in
/// one batch with its audit row. Resumable: `scripts/admin rotate-keys` calls it until
/// `remaining` is 0. Sealed values and audit rows never change (only the wrapping does).
pub async fn rotate(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    ops::authorize(&req, env)?;
    let body: RotateRequest = optional_json_body(&mut req, MAX_JSON_BODY).await?;
    let limit = body.limit.unwrap_or(REWRAP_BATCH).clamp(1, REWRAP_BATCH);
    let current = current_key(env)?;
    let database = db::database(env)?;
    let keys: Vec<WrappedKey> = db::all(
        &database,
        store::SELECT_TO_REWRAP,
        &[db::text(&current), db::int(limit)],
    )
    .await?;
    let at = clock::now();
    if !keys.is_empty() {
        let from: Vec<&str> = {
            let mut from: Vec<&str> = keys.iter().map(|k| k.kek.as_str()).collect();
            from.sort_unstable();
            from.dedup();
            from
        };
        let change = Change::new()
            .then_all(keys.iter().map(|k| store::rewrap(k, at.0 as i64)))
            .audit(event(
                rctx,
                None,
                Action::PersonalDataRewrapped,
                "personal_data",
                None,
                Some(json!({ "tenant_keys": from })),
                Some(json!({ "tenant_key": current, "data_keys": keys.len() })),
            ));
        write::apply(&D1Store { db: database }, change, vec![])
            .await
            .map_err(|r| r.into_error(|| AppError::internal("a rotation step has no guard")))?;
    }
    let remaining: i64 = counts(env)
        .await?
        .into_iter()
        .filter(|(kek, _)| *kek != current)
        .map(|(_, n)| n)
        .sum();
    respond::json(
        200,
        &json!({ "current_key": current, "rewrapped": keys.len(), "remaining": remaining }),
    )
}

/// `POST /ops/personal-data/replay-erasures`: after a restore, redoes every erasure in the
/// ledger (`http::api::erasure`).
pub async fn replay_erasures(req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    ops::authorize(&req, env)?;
    let replayed = crate::http::api::erasure::replay(env, rctx).await?;
    respond::json(200, &json!({ "replayed": replayed }))
}

/// `POST /ops/personal-data/seal` `{limit?}`: the step of a rollout that seals what was written
/// in plaintext before (by code deployed before migration 17, or before it): up to `limit`
/// customers and sites (100) are written back sealed, with their blind-index terms, in one
/// batch with its audit row; each only if unchanged since read. `scripts/admin seal` repeats
/// it until `remaining` is 0. Audit rows written before keep their snapshots as they are (a
/// sealed row never changes).
pub async fn seal_existing(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    use crate::db::customers::{self as customers, CustomerRow, SiteRow};
    ops::authorize(&req, env)?;
    let body: RotateRequest = optional_json_body(&mut req, MAX_JSON_BODY).await?;
    let limit = body.limit.unwrap_or(REWRAP_BATCH).clamp(1, REWRAP_BATCH);
    let index = index_key(env)?;
    let database = db::database(env)?;
    let results = db::read_batch(
        &database,
        vec![
            db::statement(&database, customers::SELECT_UNSEALED, &[db::int(limit)])?,
            db::statement(
                &database,
                customers::SELECT_UNSEALED_SITES,
                &[db::int(limit)],
            )?,
        ],
    )
    .await?;
    let rows: Vec<CustomerRow> = db::rows_at(&results, 0)?;
    let sites: Vec<SiteRow> = db::rows_at(&results, 1)?;
    let mut change = Change::new();
    for row in &rows {
        let customer = row.to_domain()?;
        change = change
            .then(customers::reseal(&row.id, row.version, &customer))
            .then_all(customers::index(&index, &row.id, &customer));
    }
    for site in &sites {
        change = change.then(customers::reseal_site(site));
    }
    let sealed = rows.len() + sites.len();
    if sealed > 0 {
        let change = change.audit(event(
            rctx,
            None,
            Action::PersonalDataSealed,
            "personal_data",
            None,
            None,
            Some(json!({ "customers": rows.len(), "sites": sites.len() })),
        ));
        write::apply(&D1Store { db: database }, change, vec![])
            .await
            .map_err(|r| r.into_error(|| AppError::internal("a seal step has no guard")))?;
    }
    // A full page of either means there may be more.
    let more = rows.len() as i64 == limit || sites.len() as i64 == limit;
    respond::json(
        200,
        &json!({ "sealed": sealed, "remaining": if more { "more" } else { "none" } }),
    )
}
