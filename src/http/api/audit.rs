//! Reading and verifying the audit trail (owners).

use crate::json;
use serde_json::Value;
use worker::{Env, Response};

use crate::db::{self, audit};
use crate::domain::audit::Action;
use crate::domain::audit::{
    verify as verify_chain, verify_sealed, AuditRow, BrokenLink, ChainTip, Restore, SealKey,
    SealedTip,
};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::query::{Limit, Positive, Time};
use crate::http::{clock, respond, seal};
use crate::views::audit::audit_event_view;

const MAX_LIMIT: i64 = 500;
/// Rows read per query while verifying.
const VERIFY_PAGE: i64 = 1_000;

crate::query! {
    /// `GET /api/v1/audit`'s filters and page.
    pub struct AuditQuery {
        /// Only this action, e.g. `job.created`.
        action: Option<Action>,
        /// Only this kind of record, e.g. `job`.
        entity: Option<String>,
        /// Only this record.
        entity_id: Option<String>,
        /// Only what this user did.
        actor_id: Option<String>,
        /// One support session's timeline: what it did, and its request, approval, start and end.
        support_session: Option<String>,
        /// Only what happened at or after this time.
        since: Option<Time>,
        /// The `next_cursor` of the previous page.
        cursor: Option<Positive>,
        /// Events per page.
        limit: Limit<50, MAX_LIMIT>,
    }
}

/// `GET /api/v1/audit`: newest first; `next_cursor` continues the listing.
pub async fn list(query: AuditQuery, env: &Env) -> AppResult<Response> {
    let filter = audit::Filter {
        action: query.action.map(|a| a.as_str().to_owned()),
        entity: query.entity,
        entity_id: query.entity_id,
        actor_id: query.actor_id,
        support_session: query.support_session,
        // Parsed, not sliced (a multi-byte character once panicked here), and written back in
        // the stored form so the comparison is of like with like.
        since: query.since.map(Time::stored),
        before_seq: query.cursor.map(|c| c.0),
        limit: query.limit.0,
    };
    let rows = audit::recent(&db::database(env)?, &filter).await?;
    let next_cursor = query.limit.next_cursor(&rows, |r| r.seq.to_string());
    let events: Vec<_> = rows.iter().map(audit_event_view).collect();
    respond::json(
        200,
        &json!({ "events": events, "next_cursor": next_cursor }),
    )
}

/// How many of the newest rows verification covers at least when it starts from an anchor.
const VERIFY_WINDOW: i64 = 5_000;

crate::query! {
    pub struct VerifyQuery {
        /// Verify from the first row instead of from the newest anchor.
        full: Option<bool>,
    }
}

/// `GET /api/v1/audit/verify[?full=true]`: seals what is pending, then checks the chain from
/// the newest anchor at least `VERIFY_WINDOW` rows back (from the first row with `full=true`,
/// or when there is none), checks the newest anchor against the trail, and reports the
/// sealer's lag. An intact chain's tip becomes the next anchor.
pub async fn verify(query: VerifyQuery, env: &Env) -> AppResult<Response> {
    let full = query.full.unwrap_or(false);
    let Some(keying) = seal::keying(env) else {
        return Err(AppError::unavailable(
            "The audit trail cannot be verified: its key (AUDIT_KEY) is not configured.",
            "AUDIT_KEY missing or shorter than 32 bytes",
        ));
    };
    seal::run(env).await?;
    let database = db::database(env)?;
    let state = db::read_batch(
        &database,
        vec![
            db::statement(&database, audit::SELECT_CHAIN, &[])?,
            db::statement(&database, audit::SELECT_LAG, &[])?,
            db::statement(&database, audit::SELECT_RESTORES, &[])?,
        ],
    )
    .await?;
    let chain = db::rows_at::<audit::ChainRow>(&state, 0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("audit_chain has no row"))?;
    let lag = db::rows_at::<audit::LagRow>(&state, 1)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("audit lag answered no row"))?;
    // Restores recorded by the Worker, with the key's MAC: anchors of the timeline a restore
    // undid are explained by it. A record without a genuine MAC explains nothing.
    let restore_rows = db::rows_at::<AuditRow>(&state, 2)?;
    let restores: Vec<(i64, Restore)> = restore_rows
        .iter()
        .filter_map(|row| Restore::genuine_in(row, &keying.key).map(|r| (row.seq, r)))
        .collect();
    let refused_restores = restore_rows.len() - restores.len();
    let superseded_by = |seq: i64| restores.iter().find(|(_, r)| r.supersedes(seq));
    let bucket = db::files(env)?;
    let newest = seal::newest_anchor(&bucket, None).await?;

    let mut report = Report::default();
    // Where to start: an anchor far enough back, or the first row.
    let window_start = lag.last_seq - VERIFY_WINDOW;
    let start_anchor = match (full, window_start > chain.legacy_seq) {
        (false, true) => match seal::newest_anchor(&bucket, Some(window_start)).await? {
            // An anchor of an undone timeline is no place to start: from the first row then.
            Some(Ok(a))
                if a.is_genuine(&keying.key)
                    && a.seq > chain.legacy_seq
                    && superseded_by(a.seq).is_none() =>
            {
                Some(a)
            }
            _ => None,
        },
        _ => None,
    };
    let mut walk = match &start_anchor {
        Some(anchor) => {
            let row =
                db::first::<AuditRow>(&database, audit::SELECT_ROW, &[db::int(anchor.seq)]).await?;
            if row.as_ref().and_then(|r| r.seal.as_deref()) != Some(anchor.seal.as_str()) {
                report.broken = Some(BrokenLink {
                    seq: anchor.seq,
                    reason: "the row an anchor names was changed or deleted",
                });
            }
            Walk::Keyed(anchor.tip())
        }
        None => Walk::Legacy(ChainTip::genesis()),
    };
    report.verified_from = start_anchor.as_ref().map_or(0, |a| a.seq);
    let mut after = report.verified_from;
    while report.broken.is_none() {
        let rows = audit::page(&database, after, VERIFY_PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for row in &rows {
            report.rows_checked += 1;
            walk = match step(&walk, row, &chain, &keying.key) {
                Ok(next) => next,
                Err(broken) => {
                    report.broken = Some(broken);
                    break;
                }
            };
        }
    }
    report.tip = match &walk {
        Walk::Legacy(tip) => Some(SealedTip {
            seq: tip.seq,
            seal: tip.hash.clone(),
        }),
        Walk::Keyed(tip) => Some(tip.clone()),
        Walk::Unsealed { tip, .. } => Some(tip.clone()),
    };
    // The newest anchor must still be in the trail, unchanged: deleting the newest rows or
    // rewriting them shows here, unless a genuine restore record explains it.
    let mut explained_by: Option<&(i64, Restore)> = None;
    let mut anchor_view = match &newest {
        None => Value::Null,
        Some(Err(key)) => {
            report.broken.get_or_insert(BrokenLink {
                seq: lag.last_seq,
                reason: "an object among the anchors is not an anchor",
            });
            json!({ "object": key, "genuine": false })
        }
        Some(Ok(anchor)) => {
            let genuine = anchor.is_genuine(&keying.key);
            let row =
                db::first::<AuditRow>(&database, audit::SELECT_ROW, &[db::int(anchor.seq)]).await?;
            let matches = genuine
                && row.as_ref().and_then(|r| r.seal.as_deref()) == Some(anchor.seal.as_str());
            if !genuine {
                report.broken.get_or_insert(BrokenLink {
                    seq: anchor.seq,
                    reason: "an anchor does not carry the key's MAC",
                });
            } else if let Some(restore) = superseded_by(anchor.seq).filter(|_| !matches) {
                // The anchor names a row of the timeline the restore undid.
                explained_by = Some(restore);
            } else if row.is_none() {
                report.broken.get_or_insert(BrokenLink {
                    seq: anchor.seq,
                    reason: "rows were deleted: the newest anchor names a row that is gone",
                });
            } else if !matches {
                report.broken.get_or_insert(BrokenLink {
                    seq: anchor.seq,
                    reason: "the row the newest anchor names does not carry the anchored seal",
                });
            }
            json!({ "seq": anchor.seq, "at": anchor.at, "genuine": genuine, "matches_trail": matches })
        }
    };
    // An intact chain's sealed tip is the next anchor (the last verified one).
    if report.broken.is_none() {
        if let (Walk::Keyed(tip) | Walk::Unsealed { tip, .. }, newest_seq) = (
            &walk,
            newest
                .as_ref()
                .and_then(|a| a.as_ref().ok())
                .map_or(0, |a| a.seq),
        ) {
            if tip.seq > newest_seq && tip.seq > chain.legacy_seq {
                let written = seal::anchor(env, &database, &keying.key, tip).await?;
                anchor_view = json!({ "seq": written.seq, "at": written.at, "genuine": true,
                                      "matches_trail": true, "written_now": true });
            }
        }
    }
    let now = clock::now();
    let oldest_age_ms = lag
        .oldest_at
        .as_deref()
        .and_then(Millis::parse_rfc3339)
        .map(|at| now.0.saturating_sub(at.0));
    let (broken_at, reason) = report
        .broken
        .as_ref()
        .map_or((None, None), |b| (Some(b.seq), Some(b.reason)));
    let newest_restore = restores.first().map(|(seq, r)| {
        json!({ "event_seq": seq, "restored_to_seq": r.restored_to_seq, "at": r.at,
                "source": r.source, "anchors_through": r.anchors_through })
    });
    let note = explained_by.map(|(_, r)| {
        format!(
            "restored to seq {} at {} ({}): anchors up to seq {} name rows of the undone timeline",
            r.restored_to_seq, r.at, r.source, r.anchors_through
        )
    });
    respond::json(
        200,
        &json!({
            "ok": report.broken.is_none(),
            "restored": newest_restore,
            "note": note,
            "restore_records_refused": refused_restores,
            "broken_at": broken_at,
            "reason": reason,
            "rows_checked": report.rows_checked,
            "verified_from": report.verified_from,
            "full": full || start_anchor.is_none(),
            "legacy_rows": chain.legacy_seq,
            "tip": report.tip.map(|t| json!({ "seq": t.seq, "seal": t.seal })),
            "unsealed": { "count": lag.unsealed, "oldest_at": lag.oldest_at, "oldest_age_ms": oldest_age_ms },
            "anchor": anchor_view,
            "key": if keying.development { "development" } else { "AUDIT_KEY" },
        }),
    )
}

/// `GET /ops/audit/verify`: the same, for the operator (a restore drill has no user).
pub async fn verify_for_operator(
    req: &worker::Request,
    query: VerifyQuery,
    env: &Env,
) -> AppResult<Response> {
    crate::http::ops::authorize(req, env)?;
    verify(query, env).await
}

#[derive(Default)]
struct Report {
    rows_checked: usize,
    verified_from: i64,
    broken: Option<BrokenLink>,
    tip: Option<SealedTip>,
}

/// Where the walk along the trail stands.
enum Walk {
    /// In the unkeyed chain of the rows before the keyed one.
    Legacy(ChainTip),
    /// In the keyed chain, after this sealed row.
    Keyed(SealedTip),
    /// Past the last sealed row: only unsealed rows may follow (the sealer's lag).
    Unsealed { tip: SealedTip, last_seq: i64 },
}

/// One row further along the trail.
fn step(
    walk: &Walk,
    row: &AuditRow,
    chain: &audit::ChainRow,
    key: &SealKey,
) -> Result<Walk, BrokenLink> {
    let broken = |reason| BrokenLink {
        seq: row.seq,
        reason,
    };
    match walk {
        Walk::Legacy(tip) if row.seq <= chain.legacy_seq => {
            verify_chain(tip, [row]).map(Walk::Legacy)
        }
        Walk::Legacy(tip) => {
            // The keyed chain starts after the last legacy row, from its hash.
            if tip.seq != chain.legacy_seq {
                return Err(broken("a row is missing before this one"));
            }
            step(
                &Walk::Keyed(SealedTip {
                    seq: tip.seq,
                    seal: tip.hash.clone(),
                }),
                row,
                chain,
                key,
            )
        }
        Walk::Keyed(tip) => match row.seal {
            Some(_) => verify_sealed(key, tip, [row]).map(Walk::Keyed),
            None if row.seq == tip.seq + 1 && row.prev_seq == tip.seq => Ok(Walk::Unsealed {
                tip: tip.clone(),
                last_seq: row.seq,
            }),
            None => Err(broken("a row is missing before this one")),
        },
        Walk::Unsealed { tip, last_seq } => {
            if row.seal.is_some() {
                return Err(broken("a sealed row follows an unsealed one"));
            }
            if row.seq != last_seq + 1 || row.prev_seq != *last_seq {
                return Err(broken("a row is missing before this one"));
            }
            Ok(Walk::Unsealed {
                tip: tip.clone(),
                last_seq: row.seq,
            })
        }
    }
}
