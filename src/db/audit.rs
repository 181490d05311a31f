//! Reading the audit trail, and the sealer's statements. Rows are appended by the write engine
//! (`write::sql::APPEND_AUDIT`, in each change's own batch) unsealed; `http::seal` seals them
//! in order afterwards.

use serde::Deserialize;
use worker::D1Database;

use crate::db::{all, int, opt_int, opt_text};
use crate::domain::audit::AuditRow;
use crate::error::AppResult;

/// Every stored column of an audit row, as [`AuditRow`] reads them.
macro_rules! select_rows {
    ($($rest:literal),+) => {
        concat!(
            "SELECT seq, prev_seq, at, actor_kind, actor_id, action, entity, entity_id, before, ",
            "after, ip, request_id, prev_hash, hash, seal ",
            $($rest),+
        )
    };
}

/// Newest first, with optional filters; `?6` is the cursor (only rows before that seq), `?8`
/// a support session (what it did, and its own requests, approval, start and end).
pub const SELECT_RECENT: &str = select_rows!(
    "FROM audit_log ",
    "WHERE (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR entity = ?2) ",
    "AND (?3 IS NULL OR entity_id = ?3) AND (?4 IS NULL OR actor_id = ?4) ",
    "AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR seq < ?6) ",
    "AND (?8 IS NULL OR (actor_kind = 'support' AND actor_id = ?8) ",
    "     OR (entity = 'support_session' AND entity_id = ?8)) ",
    "ORDER BY seq DESC LIMIT ?7"
);
/// Oldest first from a seq on, for verifying the chain page by page: as stored (personal values
/// sealed), which is what the chain is sealed over (`/*stored*/`, see src/personal.mjs).
pub const SELECT_PAGE: &str = concat!(
    "/*stored*/ ",
    select_rows!("FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2")
);
/// One row by seq (an anchor's row), as stored.
pub const SELECT_ROW: &str = concat!("/*stored*/ ", select_rows!("FROM audit_log WHERE seq = ?1"));
/// The newest restore records (`audit.restored`), as stored: verification takes those with a
/// genuine MAC as the explanation of anchors ahead of the trail.
pub const SELECT_RESTORES: &str = concat!(
    "/*stored*/ ",
    select_rows!("FROM audit_log WHERE action = 'audit.restored' ORDER BY seq DESC LIMIT 20")
);
/// Where the keyed chain starts, and the newest anchor written.
pub const SELECT_CHAIN: &str = "SELECT legacy_seq, legacy_hash, anchor_seq, anchor_at \
    FROM audit_chain WHERE id = 1";
/// The newest sealed row of the keyed chain (none before the first seal).
pub const SELECT_SEALED_TIP: &str = "SELECT seq, seal FROM audit_log \
    WHERE seal IS NOT NULL ORDER BY seq DESC LIMIT 1";
/// The sealer's next rows: unsealed ones of the keyed chain, oldest first, as stored.
pub const SELECT_UNSEALED: &str = concat!(
    "/*stored*/ ",
    select_rows!(
        "FROM audit_log WHERE seal IS NULL ",
        "AND seq > (SELECT legacy_seq FROM audit_chain WHERE id = 1) ",
        "ORDER BY seq LIMIT ?1"
    )
);
/// How far the sealer lags: unsealed rows, the oldest one's time, and the newest seq.
pub const SELECT_LAG: &str = "SELECT COUNT(*) AS unsealed, MIN(at) AS oldest_at, \
    (SELECT COALESCE(MAX(seq), 0) FROM audit_log) AS last_seq \
    FROM audit_log WHERE seal IS NULL \
      AND seq > (SELECT legacy_seq FROM audit_chain WHERE id = 1)";
/// Seals one row, only if it has no seal yet and the row before it carries exactly the seal
/// this one was computed from (`?4`; NULL for the first keyed row, whose predecessor is a
/// legacy row): two sealers never seal a row twice, nor after different predecessors.
pub const SEAL_ROW: &str = "UPDATE audit_log SET seal = ?1 \
    WHERE seq = ?2 AND seal IS NULL AND (SELECT seal FROM audit_log WHERE seq = ?3) IS ?4";
/// Records the newest anchor (a hint for when to write the next one).
pub const RECORD_ANCHOR: &str = "UPDATE audit_chain SET anchor_seq = ?1, anchor_at = ?2 \
    WHERE id = 1 AND anchor_seq < ?1";

#[derive(Debug, Deserialize)]
pub struct ChainRow {
    pub legacy_seq: i64,
    pub legacy_hash: String,
    pub anchor_seq: i64,
    pub anchor_at: i64,
}

#[derive(Debug, Deserialize)]
pub struct SealedRow {
    pub seq: i64,
    pub seal: String,
}

#[derive(Debug, Deserialize)]
pub struct LagRow {
    pub unsealed: i64,
    pub oldest_at: Option<String>,
    pub last_seq: i64,
}

/// Which events to list (all optional), newest first.
#[derive(Debug, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
    /// A support session: its actions and its own lifecycle.
    pub support_session: Option<String>,
    /// RFC 3339: events at or after this time.
    pub since: Option<String>,
    /// Only events with a smaller seq (the cursor of the previous page).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

pub async fn recent(db: &D1Database, f: &Filter) -> AppResult<Vec<AuditRow>> {
    all(
        db,
        SELECT_RECENT,
        &[
            opt_text(f.action.as_deref()),
            opt_text(f.entity.as_deref()),
            opt_text(f.entity_id.as_deref()),
            opt_text(f.actor_id.as_deref()),
            opt_text(f.since.as_deref()),
            opt_int(f.before_seq),
            int(f.limit),
            opt_text(f.support_session.as_deref()),
        ],
    )
    .await
}

/// Up to `limit` rows after `after_seq`, oldest first.
pub async fn page(db: &D1Database, after_seq: i64, limit: i64) -> AppResult<Vec<AuditRow>> {
    all(db, SELECT_PAGE, &[int(after_seq), int(limit)]).await
}
