//! Storage glue: one module per aggregate, SQL as named constants beside its row type.
//! Every SQL constant is run against the real migrations by `tests/sql.rs`.

pub mod audit;
pub mod customer_messages;
pub mod customers;
pub mod deletion;
pub mod exports;
pub mod files;
pub mod invites;
pub mod invoices;
pub mod jobs;
pub mod messages;
pub mod messaging;
pub mod notifications;
pub mod oauth;
pub mod outbox;
pub mod pages;
pub mod personal;
pub mod probe;
pub mod quotes;
pub mod row;
pub mod schema;
pub mod settings;
pub mod share_links;
pub mod store;
pub mod support;
pub mod tokens;
pub mod users;
pub mod visits;

use wasm_bindgen::JsValue;
use worker::{Bucket, D1Database, D1PreparedStatement, D1Result, Env, KvStore};

use crate::error::{AppError, AppResult};

/// Binding names, as in `wrangler.toml`.
pub const DB_BINDING: &str = "DB";
pub const SESSIONS_BINDING: &str = "SESSIONS";
pub const FILES_BINDING: &str = "FILES";

/// The tenant's D1 database. A missing binding is a deployment mistake: 500, cause logged.
pub fn database(env: &Env) -> AppResult<D1Database> {
    env.d1(DB_BINDING)
        .map_err(|e| AppError::internal(format!("binding {DB_BINDING}: {e}")))
}

pub fn sessions(env: &Env) -> AppResult<KvStore> {
    env.kv(SESSIONS_BINDING)
        .map_err(|e| AppError::internal(format!("binding {SESSIONS_BINDING}: {e}")))
}

pub fn files(env: &Env) -> AppResult<Bucket> {
    env.bucket(FILES_BINDING)
        .map_err(|e| AppError::internal(format!("binding {FILES_BINDING}: {e}")))
}

/// A statement with its parameters bound; a binding failure is our bug, so a 500.
pub fn statement(db: &D1Database, sql: &str, params: &[JsValue]) -> AppResult<D1PreparedStatement> {
    db.prepare(sql)
        .bind(params)
        .map_err(|e| AppError::internal(format!("binding parameters of {sql}: {e}")))
}

/// The rows `sql` returns, deserialized.
pub async fn all<T: serde::de::DeserializeOwned>(
    db: &D1Database,
    sql: &str,
    params: &[JsValue],
) -> AppResult<Vec<T>> {
    statement(db, sql, params)?
        .all()
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| rows::<T>(&r))
        .map_err(|e| AppError::internal(format!("{sql}: {e}")))
}

/// The first row `sql` returns, if any.
pub async fn first<T: serde::de::DeserializeOwned>(
    db: &D1Database,
    sql: &str,
    params: &[JsValue],
) -> AppResult<Option<T>> {
    first_object(db, sql, params)
        .await?
        .map(row::from_row)
        .transpose()
        .map_err(|e| AppError::internal(format!("{sql}: {e}")))
}

/// The first row `sql` returns, as the JavaScript object (see [`rows`]).
async fn first_object(
    db: &D1Database,
    sql: &str,
    params: &[JsValue],
) -> AppResult<Option<JsValue>> {
    statement(db, sql, params)?
        .first::<Row>(None)
        .await
        .map(|row| row.map(|Row(row)| row))
        .map_err(|e| AppError::internal(format!("{sql}: {e}")))
}

/// A row as D1 answered it, kept as the JavaScript object.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct Row(#[serde(with = "serde_wasm_bindgen::preserve")] JsValue);

/// Several reads in one round trip, answered in order.
pub async fn read_batch(
    db: &D1Database,
    statements: Vec<D1PreparedStatement>,
) -> AppResult<Vec<D1Result>> {
    db.batch(statements)
        .await
        .map_err(|e| AppError::internal(format!("read batch: {e}")))
}

/// The rows of the `index`th result of a batch.
pub fn rows_at<T: serde::de::DeserializeOwned>(
    results: &[D1Result],
    index: usize,
) -> AppResult<Vec<T>> {
    results
        .get(index)
        .ok_or_else(|| AppError::internal("a batch answered short"))
        .and_then(|result| {
            rows::<T>(result)
                .map_err(|e| AppError::internal(format!("reading result {index} of a batch: {e}")))
        })
}

/// The rows of a D1 result, deserialized. What does not depend on the row type is written
/// once, in [`each_row`]: `D1Result::results::<T>` would be a copy of it per row type.
pub fn rows<T: serde::de::DeserializeOwned>(result: &D1Result) -> Result<Vec<T>, String> {
    let mut rows = Vec::new();
    each_row(result, &mut |row| {
        rows.push(row::from_row(row)?);
        Ok(())
    })?;
    Ok(rows)
}

/// Hands each row of `result`, a JavaScript object, to `take`.
fn each_row(
    result: &D1Result,
    take: &mut dyn FnMut(JsValue) -> Result<(), serde_wasm_bindgen::Error>,
) -> Result<(), String> {
    let rows = result.results::<Row>().map_err(|e| e.to_string())?;
    for Row(row) in rows {
        take(row).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Rows changed by one statement of a batch.
pub fn changes(result: &D1Result) -> usize {
    result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
}

/// Parameter helpers: D1 takes JavaScript values; `None` is SQL NULL.
pub fn text(value: &str) -> JsValue {
    JsValue::from_str(value)
}

pub fn opt_text(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

/// Integers travel as JavaScript numbers: exact up to 2^53, far beyond any id or Unix ms.
pub fn int(value: i64) -> JsValue {
    JsValue::from_f64(value as f64)
}

pub fn opt_int(value: Option<i64>) -> JsValue {
    value.map_or(JsValue::NULL, int)
}

/// True when a D1 error says a table does not exist, i.e. the tenant was never migrated.
pub fn is_missing_table(message: &str) -> bool {
    message.contains("no such table")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tables_are_recognised_in_d1_errors() {
        assert!(is_missing_table(
            "D1_ERROR: no such table: schema_history: SQLITE_ERROR"
        ));
        assert!(!is_missing_table("D1_ERROR: UNIQUE constraint failed"));
    }
}
