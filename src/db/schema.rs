//! Reading which migrations a tenant's database has.

use worker::D1Database;

use crate::db::is_missing_table;
use crate::error::{AppError, AppResult};

/// The newest migration recorded; NULL when the table exists but is empty.
pub const SELECT_SCHEMA_VERSION: &str = "SELECT MAX(version) AS version FROM schema_history";

#[derive(serde::Deserialize)]
struct VersionRow {
    version: Option<i64>,
}

/// The applied schema version, `None` when the database was never migrated.
pub async fn applied_version(db: &D1Database) -> AppResult<Option<i64>> {
    match db
        .prepare(SELECT_SCHEMA_VERSION)
        .first::<VersionRow>(None)
        .await
    {
        Ok(row) => Ok(row.and_then(|r| r.version)),
        Err(e) if is_missing_table(&e.to_string()) => Ok(None),
        Err(e) => Err(AppError::unavailable(
            "The database is not answering.",
            format!("reading schema version: {e}"),
        )),
    }
}
