//! Writing to and reading the audit trail. A change and its audit rows go to D1 in one batch,
//! chained after the tip read just before; if another writer appended in between, the unique
//! `prev_seq` fails the whole batch and it is retried on the new tip.

use serde::Deserialize;
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::db::{all, first, int, opt_text, statement, text};
use crate::domain::audit::{chain, AuditEvent, AuditRow, ChainTip};
use crate::error::{AppError, AppResult};

pub const SELECT_TIP: &str = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1";

/// Inserts a row only if the statement just before it changed a row, so a write refused by its
/// version check leaves no audit row (and no gap: the batch has one guarded row at most).
pub const INSERT_AUDIT_IF_CHANGED: &str = "INSERT INTO audit_log \
    (seq, prev_seq, at, actor_kind, actor_id, action, entity, entity_id, before, after, ip, \
     request_id, prev_hash, hash) \
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14 WHERE changes() > 0";
pub const INSERT_AUDIT: &str = "INSERT INTO audit_log \
    (seq, prev_seq, at, actor_kind, actor_id, action, entity, entity_id, before, after, ip, \
     request_id, prev_hash, hash) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)";
pub const SELECT_RECENT: &str = "SELECT seq, prev_seq, at, actor_kind, actor_id, action, \
    entity, entity_id, before, after, ip, request_id, prev_hash, hash \
    FROM audit_log WHERE (?1 IS NULL OR action = ?1) ORDER BY seq DESC LIMIT ?2";

#[derive(Deserialize)]
struct TipRow {
    seq: i64,
    hash: String,
}

/// One step of a write: a statement, optionally followed by its audit event.
pub enum Step {
    /// Runs as is.
    Plain(D1PreparedStatement),
    /// Audited only if it changed a row.
    Guarded(D1PreparedStatement, Box<AuditEvent>),
}

impl Step {
    pub fn guarded(statement: D1PreparedStatement, event: AuditEvent) -> Step {
        Step::Guarded(statement, Box::new(event))
    }
}

/// Writes `steps` and their audit rows as one batch; `build` is called again on a retry.
/// Unguarded events (`events`) are appended after the steps.
pub async fn write(
    db: &D1Database,
    build: impl Fn() -> AppResult<(Vec<Step>, Vec<AuditEvent>)>,
) -> AppResult<Vec<D1Result>> {
    const ATTEMPTS: usize = 5;
    let mut last_error = String::new();
    for _ in 0..ATTEMPTS {
        let tip = first::<TipRow>(db, SELECT_TIP, &[])
            .await?
            .map(|t| ChainTip {
                seq: t.seq,
                hash: t.hash,
            })
            .unwrap_or_else(ChainTip::genesis);
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
        let mut all_events = Vec::new();
        let mut plan = Vec::new();
        for step in steps {
            match step {
                Step::Plain(stmt) => plan.push((stmt, None)),
                Step::Guarded(stmt, event) => {
                    all_events.push(*event);
                    plan.push((stmt, Some(true)));
                }
            }
        }
        all_events.extend(events);
        let mut rows = chain(&tip, all_events).into_iter();
        let mut batch = Vec::new();
        for (stmt, guarded) in plan {
            batch.push(stmt);
            if guarded.is_some() {
                if let Some(row) = rows.next() {
                    batch.push(insert(db, INSERT_AUDIT_IF_CHANGED, &row)?);
                }
            }
        }
        for row in rows {
            batch.push(insert(db, INSERT_AUDIT, &row)?);
        }
        match db.batch(batch).await {
            Ok(results) => return Ok(results),
            Err(e) => {
                let message = e.to_string();
                if !message.contains("UNIQUE constraint failed: audit_log") {
                    return Err(AppError::internal(format!("write batch: {message}")));
                }
                last_error = message;
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

/// The newest `limit` events, optionally of one action.
pub async fn recent(db: &D1Database, action: Option<&str>, limit: i64) -> AppResult<Vec<AuditRow>> {
    all(db, SELECT_RECENT, &[opt_text(action), int(limit)]).await
}
