//! Storage glue: one module per aggregate, SQL as named constants beside its row type.
//! Every SQL constant is run against the real migrations by `tests/sql.rs`.

pub mod probe;
pub mod schema;

use worker::{Bucket, D1Database, Env, KvStore};

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
