//! The body of `GET /healthz`.

use serde::Serialize;

use crate::domain::schema::{SchemaState, SCHEMA_VERSION};

#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct HealthView {
    /// `ok` when the tenant can serve.
    pub status: &'static str,
    /// The version of this build.
    pub version: &'static str,
    /// The newest migration applied to this tenant's database.
    pub schema_version: i64,
    /// The newest migration this build expects.
    pub expected_schema_version: i64,
}

impl HealthView {
    pub fn new(version: &'static str, applied: i64) -> Self {
        let status = match SchemaState::of(Some(applied)) {
            SchemaState::Current => "ok",
            SchemaState::Ahead => "ok",
            SchemaState::Behind => "migrations_pending",
        };
        Self {
            status,
            version,
            schema_version: applied,
            expected_schema_version: SCHEMA_VERSION,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_current_database_reports_ok_with_both_versions() {
        let body = serde_json::to_value(HealthView::new("1.2.3", SCHEMA_VERSION)).unwrap();
        assert_eq!(
            body,
            crate::json!({
                "status": "ok",
                "version": "1.2.3",
                "schema_version": SCHEMA_VERSION,
                "expected_schema_version": SCHEMA_VERSION,
            })
        );
    }

    #[test]
    fn a_database_behind_reports_pending_migrations() {
        assert_eq!(HealthView::new("1", 0).status, "migrations_pending");
    }
}
