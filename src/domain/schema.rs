//! The database schema version this build expects, and what a tenant's actual version means.
//!
//! Every migration in `migrations/` ends by recording its number in `schema_history`; a host
//! test applies them all and checks the result equals [`SCHEMA_VERSION`], so the constant, the
//! files and the table cannot drift apart.

/// The number of the newest migration this build was written against.
pub const SCHEMA_VERSION: i64 = 21;

/// How a tenant's database relates to this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaState {
    /// Migrated to exactly what this build expects.
    Current,
    /// Migrated further than this build knows: normal while a rollout applies migrations
    /// before it deploys the code (migrations are written to be backwards compatible).
    Ahead,
    /// Missing migrations this build needs: the tenant must be migrated before it serves.
    Behind,
}

impl SchemaState {
    /// `applied` is the highest migration recorded, `None` when the schema was never created.
    pub fn of(applied: Option<i64>) -> Self {
        match applied {
            Some(v) if v == SCHEMA_VERSION => Self::Current,
            Some(v) if v > SCHEMA_VERSION => Self::Ahead,
            _ => Self::Behind,
        }
    }

    pub fn is_serving(self) -> bool {
        !matches!(self, Self::Behind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_serving_when_it_has_every_migration_this_build_needs() {
        assert_eq!(SchemaState::of(Some(SCHEMA_VERSION)), SchemaState::Current);
        assert_eq!(
            SchemaState::of(Some(SCHEMA_VERSION + 1)),
            SchemaState::Ahead
        );
        assert_eq!(
            SchemaState::of(Some(SCHEMA_VERSION - 1)),
            SchemaState::Behind
        );
        assert_eq!(SchemaState::of(None), SchemaState::Behind);
        assert!(SchemaState::Current.is_serving());
        assert!(SchemaState::Ahead.is_serving());
        assert!(!SchemaState::Behind.is_serving());
    }
}
