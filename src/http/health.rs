//! `GET /healthz`: the tenant answers and its database is migrated far enough to serve.

use crate::json;
use worker::{Env, Response};

use crate::db;
use crate::domain::schema::{SchemaState, SCHEMA_VERSION};
use crate::error::{AppError, AppResult};
use crate::http::respond;
use crate::views::health::HealthView;
use crate::VERSION;

pub async fn get(env: &Env) -> AppResult<Response> {
    let database = db::database(env)?;
    let applied = db::schema::applied_version(&database).await?;
    match (SchemaState::of(applied), applied) {
        (state, Some(applied)) if state.is_serving() => {
            respond::json(200, &HealthView::new(VERSION, applied))
        }
        _ => Err(AppError::unavailable(
            "The database has not been migrated to the version this build needs.",
            format!("schema version {applied:?}, expected {SCHEMA_VERSION}"),
        )
        .with_extension("version", json!(VERSION))
        .with_extension("schema_version", json!(applied))
        .with_extension("expected_schema_version", json!(SCHEMA_VERSION))
        .with_header("Retry-After", "30")),
    }
}
