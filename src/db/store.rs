//! The write engine's store on D1: a batch of [`Sql`] bound and sent in one round trip.

use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use crate::db::{changes, database, int, rows_at};
use crate::error::{AppError, AppResult};
use crate::write::{Param, Results, Sql, Store};

/// The tenant's D1 database as the engine's store.
pub struct D1Store {
    pub db: D1Database,
}

impl D1Store {
    pub fn from_env(env: &Env) -> AppResult<Self> {
        Ok(Self { db: database(env)? })
    }

    /// `statement` bound for D1 (for code that still batches D1 statements itself).
    pub fn prepare(&self, statement: &Sql) -> AppResult<D1PreparedStatement> {
        let params: Vec<JsValue> = statement.params.iter().map(js).collect();
        self.db
            .prepare(statement.sql.as_ref())
            .bind(&params)
            .map_err(|e| AppError::internal(format!("binding {}: {e}", statement.sql)))
    }
}

fn js(param: &Param) -> JsValue {
    match param {
        Param::Null => JsValue::NULL,
        Param::Int(value) => int(*value),
        Param::Text(value) => JsValue::from_str(value),
    }
}

/// A D1 batch's results.
pub struct D1Results(pub Vec<D1Result>);

impl Results for D1Results {
    fn changes(&self, index: usize) -> usize {
        self.0.get(index).map_or(0, changes)
    }

    fn rows<T: DeserializeOwned>(&self, index: usize) -> AppResult<Vec<T>> {
        rows_at(&self.0, index)
    }
}

impl Store for D1Store {
    type Results = D1Results;

    async fn batch(&self, statements: Vec<Sql>) -> Result<D1Results, String> {
        let prepared = statements
            .iter()
            .map(|s| self.prepare(s))
            .collect::<AppResult<Vec<_>>>()
            .map_err(|e| e.to_string())?;
        self.db
            .batch(prepared)
            .await
            .map(D1Results)
            .map_err(|e| e.to_string())
    }
}
