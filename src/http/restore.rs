//! After the operator restored the tenant's database (D1 Time Travel, or a backup imported
//! into a new database), `POST /ops/restored` makes the restored tenant consistent with what
//! lives outside D1, and records the restore in the audit trail:
//!
//! - **The audit trail.** The anchors in R2 are ahead of the restored trail, which looks like
//!   truncation. The Worker appends an `audit.restored` event (actor `system`) naming the point
//!   restored to and the newest anchor, with a MAC under the audit key, so `/audit/verify`
//!   reports "restored to seq N at time T" instead of a break (`api::audit::verify`). Never
//!   inserted by a script: without the key no explanation passes.
//! - **Sessions.** Sessions live in KV, which a restore of D1 leaves as it is: every user's
//!   session epoch moves past any epoch issued before, so every session ends (those made after
//!   the point restored to included); tokens and OAuth grants live in D1 and went back with it.
//! - **Messages.** Each message's claim is marked in R2 before it is sent
//!   (`outbox/claimed/<id>`, `http::outbox`). A message the restored database holds as queued
//!   or sending whose marker exists was claimed after the point restored to: it is marked
//!   `unknown` (never sent again by itself), as for a send cut off. Messages sent before the
//!   point are `sent` in the restored database already.
//!
//! Erasures made after the point are redone by `POST /ops/personal-data/replay-erasures`,
//! which the operator runs next (`scripts/tenant restore` does).

use serde::Deserialize;
use worker::{Env, Request, Response};

use crate::db::outbox::{self as outbox_store, Pending, CLAIM_MARKER_PREFIX};
use crate::db::store::D1Store;
use crate::db::{self, audit, users};
use crate::domain::audit::{Action, ActorKind, AuditEvent, AuditRow, Restore};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::{clock, ops, respond, seal, RequestCtx};
use crate::json;
use crate::sql;
use crate::write::{self, Change};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoredRequest {
    /// The trail's last seq in the restored database (checked against it).
    restored_to_seq: i64,
    /// The point restored to, RFC 3339.
    at: String,
    /// The D1 Time Travel bookmark restored to, or
    bookmark: Option<String>,
    /// the name of the backup restored from.
    backup: Option<String>,
}

/// `POST /ops/restored` `{restored_to_seq, at, bookmark | backup}` (see the module's text).
/// 409 when the trail's last seq is not `restored_to_seq`; run again after it succeeded, it
/// answers the restore already recorded.
pub async fn restored(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    ops::authorize(&req, env)?;
    let body: RestoredRequest = json_body(&mut req, MAX_JSON_BODY).await?;
    let source = match (&body.bookmark, &body.backup) {
        (Some(bookmark), None) if !bookmark.is_empty() => format!("bookmark:{bookmark}"),
        (None, Some(backup)) if !backup.is_empty() => format!("backup:{backup}"),
        _ => {
            return Err(AppError::bad_request(
                "Name what was restored: a bookmark or a backup, one of them.",
            ))
        }
    };
    let Some(point) = Millis::parse_rfc3339(&body.at) else {
        return Err(AppError::invalid_field("at", "an RFC 3339 time"));
    };
    let Some(keying) = seal::keying(env) else {
        return Err(AppError::unavailable(
            "A restore cannot be recorded: the audit key (AUDIT_KEY) is not configured.",
            "AUDIT_KEY missing or shorter than 32 bytes",
        ));
    };
    let database = db::database(env)?;
    let state = db::read_batch(
        &database,
        vec![
            db::statement(&database, audit::SELECT_LAG, &[])?,
            db::statement(&database, audit::SELECT_RESTORES, &[])?,
            db::statement(&database, outbox_store::SELECT_PENDING, &[])?,
        ],
    )
    .await?;
    let last_seq = db::rows_at::<audit::LagRow>(&state, 0)?
        .into_iter()
        .next()
        .map_or(0, |lag| lag.last_seq);
    let restores = db::rows_at::<AuditRow>(&state, 1)?;
    // Already recorded (a run again after an answer that was lost): the same answer.
    if let Some((row, restore)) = restores
        .first()
        .and_then(|row| Restore::genuine_in(row, &keying.key).map(|r| (row, r)))
    {
        if restore.restored_to_seq == body.restored_to_seq && restore.source == source {
            return respond::json(200, &answer(&restore, row.seq, None, true));
        }
    }
    if body.restored_to_seq != last_seq {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail(format!(
                "The restored trail ends at seq {last_seq}, not {}.",
                body.restored_to_seq
            ))
            .with_extension("last_seq", json!(last_seq)));
    }
    let bucket = db::files(env)?;
    let anchors_through = match seal::newest_anchor(&bucket, None).await? {
        Some(Ok(anchor)) if anchor.is_genuine(&keying.key) => anchor.seq.max(last_seq),
        _ => last_seq,
    };
    let restore = Restore {
        restored_to_seq: last_seq,
        at: point.to_rfc3339(),
        anchors_through,
        source,
    };

    let now = clock::now();
    let mut change = Change::new().then(sql!(
        users::END_SESSIONS_AFTER_RESTORE,
        now.0 as i64,
        now.to_rfc3339()
    ));
    let mut held = Vec::new();
    for message in db::rows_at::<Pending>(&state, 2)? {
        let marker = format!("{CLAIM_MARKER_PREFIX}{}", message.id);
        let claimed = bucket
            .head(&marker)
            .await
            .map_err(|e| AppError::internal(format!("reading {marker}: {e}")))?;
        if claimed.is_some() {
            change = change.then(outbox_store::hold_claimed(&message.id, now));
            held.push(message.id);
        }
    }
    let mut after = restore.to_json(&keying.key);
    after["messages_held"] = json!(held);
    let event = AuditEvent {
        at: now,
        actor_kind: ActorKind::System,
        actor_id: None,
        action: Action::AuditRestored,
        entity: "audit",
        entity_id: None,
        before: None,
        after: Some(after),
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    };
    write::apply(&D1Store { db: database }, change.audit(event), vec![])
        .await
        .map_err(|r| r.into_error(|| AppError::internal("recording a restore has no guard")))?;
    respond::json(
        200,
        &answer(&restore, last_seq + 1, Some(held.len()), false),
    )
}

fn answer(
    restore: &Restore,
    event_seq: i64,
    held: Option<usize>,
    already: bool,
) -> serde_json::Value {
    json!({
        "restored_to_seq": restore.restored_to_seq,
        "at": restore.at,
        "source": restore.source,
        "anchors_through": restore.anchors_through,
        "event_seq": event_seq,
        "messages_held": held,
        "sessions_ended": !already,
        "already_recorded": already,
    })
}
