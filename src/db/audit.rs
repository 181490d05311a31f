//! Writing to and reading the audit trail. A change and its audit rows go to D1 in one batch,
//! chained after the chain's tip; if another writer appended in between, the unique `prev_seq`
//! fails the whole batch and it is retried on the new tip.
//!
//! The tip this instance last wrote is remembered, so a write usually costs one round trip (the
//! batch) rather than two (tip read, batch). When another instance wrote since, the remembered
//! tip is stale, the batch fails on `prev_seq` like any race, and the retry reads the tip.

use std::cell::RefCell;

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::db::{all, changes, first, int, opt_int, opt_text, statement, text};
use crate::domain::audit::{chain, AuditEvent, AuditRow, ChainTip};
use crate::error::{AppError, AppResult, ErrorKind};

pub const SELECT_TIP: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

/// Inserts a row only if the statement just before it changed a row, so a write refused by its
/// version check leaves no audit row. A guarded step's rows follow its statement one after the
/// other, each conditional on the one before: all are written or none, so no gap opens (and a
/// batch has one guarded step at most).
pub const INSERT_AUDIT_IF_CHANGED: &str = "INSERT INTO audit_log \
    (seq, prev_seq, at, actor_kind, actor_id, action, entity, entity_id, before, after, ip, \
     request_id, prev_hash, hash) \
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14 WHERE changes() > 0";
pub const INSERT_AUDIT: &str = "INSERT INTO audit_log \
    (seq, prev_seq, at, actor_kind, actor_id, action, entity, entity_id, before, after, ip, \
     request_id, prev_hash, hash) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
/// Newest first, with optional filters; `?6` is the cursor (only rows before that seq).
pub const SELECT_RECENT: &str = "SELECT seq, prev_seq, at, actor_kind, actor_id, action, \
    entity, entity_id, before, after, ip, request_id, prev_hash, hash \
    FROM audit_log \
    WHERE (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR entity = ?2) \
      AND (?3 IS NULL OR entity_id = ?3) AND (?4 IS NULL OR actor_id = ?4) \
      AND (?5 IS NULL OR at >= ?5) AND (?6 IS NULL OR seq < ?6) \
    ORDER BY seq DESC LIMIT ?7";
/// Oldest first from a seq on, for verifying the chain page by page.
pub const SELECT_PAGE: &str = "SELECT seq, prev_seq, at, actor_kind, actor_id, action, \
    entity, entity_id, before, after, ip, request_id, prev_hash, hash \
    FROM audit_log WHERE seq > ?1 ORDER BY seq LIMIT ?2";

thread_local! {
    /// The chain's tip after this instance's last successful write (a Worker instance runs
    /// one thread, so this is per instance).
    static KNOWN_TIP: RefCell<Option<ChainTip>> = const { RefCell::new(None) };
}

fn known_tip() -> Option<ChainTip> {
    KNOWN_TIP.with(|tip| tip.borrow().clone())
}

fn remember_tip(tip: Option<ChainTip>) {
    KNOWN_TIP.with(|known| *known.borrow_mut() = tip);
}

async fn read_tip(db: &D1Database) -> AppResult<ChainTip> {
    Ok(first::<TipRow>(db, SELECT_TIP, &[])
        .await?
        .map(|t| ChainTip {
            seq: t.seq,
            hash: t.hash,
        })
        .unwrap_or_else(ChainTip::genesis))
}

#[derive(Deserialize)]
struct TipRow {
    seq: i64,
    hash: String,
}

/// One step of a write: a statement, optionally followed by its audit event.
pub enum Step {
    /// Runs as is.
    Plain(D1PreparedStatement),
    /// Audited only if it changed a row: by one event, or several (one per record a single
    /// write makes, each on its own record's trail).
    Guarded(D1PreparedStatement, Vec<AuditEvent>),
}

impl Step {
    pub fn guarded(statement: D1PreparedStatement, event: AuditEvent) -> Step {
        Step::Guarded(statement, vec![event])
    }

    /// Audited by all of `events`, in order, if the statement changed a row; else by none.
    pub fn guarded_all(statement: D1PreparedStatement, events: Vec<AuditEvent>) -> Step {
        Step::Guarded(statement, events)
    }
}

/// Writes `steps` and the audit rows as one batch; `build` is called again on a retry.
/// `events` are written whatever the steps do; a guarded step's event only if its statement
/// changed a row. Answers the results of the steps, in their order (not the audit inserts).
pub async fn write(
    db: &D1Database,
    build: impl Fn() -> AppResult<(Vec<Step>, Vec<AuditEvent>)>,
) -> AppResult<Vec<D1Result>> {
    // Every write appends to the one chain, so concurrent writers queue on its tip: the loser
    // of a race retries after a short random pause (so the next round has a clear winner).
    const ATTEMPTS: u32 = 12;
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            let mut jitter = [0u8; 1];
            // Without entropy the pause is simply the shortest one.
            let _ = getrandom::fill(&mut jitter);
            let jitter = u64::from(jitter[0]);
            let pause_ms = 2 + jitter % (5 * u64::from(attempt.min(8)));
            worker::Delay::from(std::time::Duration::from_millis(pause_ms)).await;
        }
        let tip = match known_tip() {
            Some(tip) if attempt == 0 => tip,
            _ => read_tip(db).await?,
        };
        let (steps, events) = build()?;
        let guarded_count = steps
            .iter()
            .filter(|s| matches!(s, Step::Guarded(..)))
            .count();
        if guarded_count > 1 {
            return Err(AppError::internal(
                "a batch may hold one guarded audit step at most",
            ));
        }
        // Unconditional rows go first and the guarded row last, so a guarded row that is
        // skipped (its statement changed nothing) leaves no gap in the chain.
        let mut guarded_events = Vec::new();
        let mut plan = Vec::with_capacity(steps.len());
        for step in steps {
            match step {
                Step::Plain(stmt) => plan.push((stmt, false)),
                Step::Guarded(stmt, events) => {
                    guarded_events = events;
                    plan.push((stmt, true));
                }
            }
        }
        let unguarded_count = events.len();
        let mut rows = chain(&tip, events.into_iter().chain(guarded_events).collect()).into_iter();
        let mut batch = Vec::new();
        // The tip once the batch is written: the last unguarded row, or the guarded row if its
        // statement changed something (known from its insert's own result).
        let mut tip_after = tip.clone();
        for row in rows.by_ref().take(unguarded_count) {
            batch.push(insert(db, INSERT_AUDIT, &row)?);
            tip_after = row.tip();
        }
        let mut step_positions = Vec::with_capacity(plan.len());
        let mut guarded_insert = None;
        for (stmt, guarded) in plan {
            step_positions.push(batch.len());
            batch.push(stmt);
            if guarded {
                // The rest of the rows are this step's: each written only if the one before
                // it was (the first, if the statement changed a row).
                for row in rows.by_ref() {
                    guarded_insert = Some((batch.len(), row.tip()));
                    batch.push(insert(db, INSERT_AUDIT_IF_CHANGED, &row)?);
                }
            }
        }
        match db.batch(batch).await {
            Ok(results) => {
                if let Some((position, row_tip)) = guarded_insert {
                    if results.get(position).map(changes) == Some(1) {
                        tip_after = row_tip;
                    }
                }
                remember_tip(Some(tip_after));
                let mut results: Vec<Option<D1Result>> = results.into_iter().map(Some).collect();
                return Ok(step_positions
                    .into_iter()
                    .filter_map(|i| results.get_mut(i).and_then(Option::take))
                    .collect());
            }
            Err(e) => {
                let message = e.to_string();
                if message.contains("UNIQUE constraint failed: audit_log") {
                    remember_tip(None);
                    last_error = message;
                    continue;
                }
                // Another request created the same thing between our check and our write.
                if message.contains("UNIQUE constraint failed") {
                    return Err(AppError::new(ErrorKind::Conflict)
                        .with_detail("That already exists.")
                        .with_cause(format!("write batch: {message}")));
                }
                return Err(AppError::internal(format!("write batch: {message}")));
            }
        }
    }
    Err(AppError::unavailable(
        "The system is busy; please retry.",
        format!("audit chain contention: {last_error}"),
    ))
}

fn insert(db: &D1Database, sql: &str, row: &AuditRow) -> AppResult<D1PreparedStatement> {
    let params: [JsValue; 14] = [
        int(row.seq),
        int(row.prev_seq),
        text(&row.at),
        text(&row.actor_kind),
        opt_text(row.actor_id.as_deref()),
        text(&row.action),
        text(&row.entity),
        opt_text(row.entity_id.as_deref()),
        opt_text(row.before.as_deref()),
        opt_text(row.after.as_deref()),
        opt_text(row.ip.as_deref()),
        opt_text(row.request_id.as_deref()),
        text(&row.prev_hash),
        text(&row.hash),
    ];
    statement(db, sql, &params)
}

/// Which events to list (all optional), newest first.
#[derive(Debug, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
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
        ],
    )
    .await
}

/// Up to `limit` rows after `after_seq`, oldest first.
pub async fn page(db: &D1Database, after_seq: i64, limit: i64) -> AppResult<Vec<AuditRow>> {
    all(db, SELECT_PAGE, &[int(after_seq), int(limit)]).await
}
