//! The audit sealer and its anchors (DESIGN.md §4). Writers append rows unsealed; this seals
//! them in order under `AUDIT_KEY`. It runs after every write's response (`wait_until`),
//! lazily before the trail is read or verified, and on cron as a backstop, so it never depends
//! on cron alone. Sealers may run at once: each row's seal is conditional on its predecessor's
//! (see `db::audit::SEAL_ROW`), so a row is sealed once, after the one seal it follows.
//!
//! Now and then the sealed tip is copied to R2 as a write-once anchor, so that deleting the
//! newest rows shows, and verification can start from an anchor instead of the first row.

use worker::{Bucket, Conditional, D1Database, Env};

use crate::db::{self, audit as store, rows_at};
use crate::domain::audit::{seal_rows, Anchor, AuditRow, SealKey, SealedTip, ANCHOR_PREFIX};
use crate::error::{AppError, AppResult};
use crate::http::clock;

/// The Worker secret holding the sealing key (at least 32 bytes; `scripts/dev` and
/// `scripts/tenant create` generate it).
pub const AUDIT_KEY: &str = "AUDIT_KEY";
/// Outside production, without `AUDIT_KEY`, rows are sealed under this well-known key so a
/// bare `wrangler dev` still seals and verifies; `/audit/verify` says so.
const DEVELOPMENT_KEY: &str = "fieldworker development audit key: never in production";
/// Rows sealed per batch.
const SEAL_BATCH: i64 = 100;
/// Rounds per run: enough to clear any burst; a longer backlog is left to the next run.
const MAX_ROUNDS: usize = 20;
/// Anchors are written at most this often (each is one R2 write).
const ANCHOR_EVERY_MS: i64 = 1_000;

/// Which key seals, and whether it is the development stand-in.
pub struct Keying {
    pub key: SealKey,
    pub development: bool,
}

/// The sealing key; `None` in production when `AUDIT_KEY` is missing or too short (rows then
/// wait unsealed, and verification says why).
pub fn keying(env: &Env) -> Option<Keying> {
    let secret = env.secret(AUDIT_KEY).map(|s| s.to_string()).ok();
    match secret.as_deref().and_then(SealKey::new) {
        Some(key) => Some(Keying {
            key,
            development: false,
        }),
        None if !clock::is_production(env) && secret.is_none() => Some(Keying {
            key: SealKey::new(DEVELOPMENT_KEY)?,
            development: true,
        }),
        None => None,
    }
}

/// What one run of the sealer did.
#[derive(Debug, Default)]
pub struct Sealed {
    pub rows: usize,
    /// The newest sealed point of the keyed chain after the run.
    pub tip: Option<SealedTip>,
}

/// How long a write's sealer waits, so that the writes of a burst share one run.
const COALESCE_MS: u64 = 250;

thread_local! {
    /// When a run was last scheduled on this instance and had not yet started reading the
    /// trail (0: none): a write then is sealed by that run (an instance runs one thread).
    static SCHEDULED_AT: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Seals what a write appended, after its response: one run per burst of writes on this
/// instance, since a run that has not yet read the trail covers every write committed before
/// it. A schedule older than a second is not trusted (its run may have been cut off).
pub fn after_write(ctx: &worker::Context, env: Env) {
    let now = worker::Date::now().as_millis();
    let pending = SCHEDULED_AT.with(|at| at.get());
    if pending != 0 && now.saturating_sub(pending) < 1_000 {
        return;
    }
    SCHEDULED_AT.with(|at| at.set(now));
    ctx.wait_until(async move {
        worker::Delay::from(std::time::Duration::from_millis(COALESCE_MS)).await;
        SCHEDULED_AT.with(|at| at.set(0));
        run_logged(&env, "write").await;
    });
}

/// Runs the sealer and logs a failure (the next run, after any write or on cron, retries).
pub async fn run_logged(env: &Env, cause: &str) {
    if let Err(err) = run(env).await {
        let line = crate::json!({
            "level": "error", "msg": "audit seal", "cause": cause, "error": err.to_string(),
        });
        worker::console_error!("{line}");
    }
}

/// Seals every unsealed row (up to `MAX_ROUNDS` batches), then anchors the tip if due.
pub async fn run(env: &Env) -> AppResult<Sealed> {
    let Some(keying) = keying(env) else {
        return Ok(Sealed::default());
    };
    let database = db::database(env)?;
    let mut sealed = Sealed::default();
    let mut last_anchor = (0, 0);
    for _ in 0..MAX_ROUNDS {
        let (chain, tip, pending) = read_state(&database).await?;
        last_anchor = (chain.anchor_seq, chain.anchor_at);
        sealed.tip = Some(tip.clone());
        // Nothing to seal, or a gap after the tip (nothing is sealed over it: verification
        // reports it).
        let seals = seal_rows(&keying.key, &tip, &pending);
        if seals.is_empty() {
            break;
        }
        let mut batch = Vec::with_capacity(seals.len());
        let mut prev = tip;
        for (seq, seal) in &seals {
            let prev_seal = (prev.seq > chain.legacy_seq).then_some(prev.seal.as_str());
            batch.push(db::statement(
                &database,
                store::SEAL_ROW,
                &[
                    db::text(seal),
                    db::int(*seq),
                    db::int(*seq - 1),
                    db::opt_text(prev_seal),
                ],
            )?);
            prev = SealedTip {
                seq: *seq,
                seal: seal.clone(),
            };
        }
        let results = database
            .batch(batch)
            .await
            .map_err(|e| AppError::internal(format!("sealing the audit trail: {e}")))?;
        let applied = results.iter().take_while(|r| db::changes(r) == 1).count();
        if let Some((seq, seal)) = applied.checked_sub(1).and_then(|last| seals.get(last)) {
            sealed.rows += applied;
            sealed.tip = Some(SealedTip {
                seq: *seq,
                seal: seal.clone(),
            });
        }
        // Short of all: another sealer is ahead, so read again and carry on after it.
        if applied == seals.len() && (pending.len() as i64) < SEAL_BATCH {
            break;
        }
    }
    if let Some(tip) = &sealed.tip {
        let (anchor_seq, anchor_at) = last_anchor;
        let now = clock::now().0 as i64;
        if tip.seq > anchor_seq && tip.seq > 0 && now - anchor_at >= ANCHOR_EVERY_MS {
            anchor(env, &database, &keying.key, tip).await?;
        }
    }
    Ok(sealed)
}

/// The chain's start, its sealed tip and the next unsealed rows, in one round trip.
async fn read_state(
    database: &D1Database,
) -> AppResult<(store::ChainRow, SealedTip, Vec<AuditRow>)> {
    let results = db::read_batch(
        database,
        vec![
            db::statement(database, store::SELECT_CHAIN, &[])?,
            db::statement(database, store::SELECT_SEALED_TIP, &[])?,
            db::statement(database, store::SELECT_UNSEALED, &[db::int(SEAL_BATCH)])?,
        ],
    )
    .await?;
    let chain = rows_at::<store::ChainRow>(&results, 0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::internal("audit_chain has no row: migration 7 missing"))?;
    let tip = rows_at::<store::SealedRow>(&results, 1)?
        .into_iter()
        .next()
        .filter(|row| row.seq > chain.legacy_seq)
        .map_or_else(
            || SealedTip {
                seq: chain.legacy_seq,
                seal: chain.legacy_hash.clone(),
            },
            |row| SealedTip {
                seq: row.seq,
                seal: row.seal,
            },
        );
    let pending = rows_at::<AuditRow>(&results, 2)?;
    Ok((chain, tip, pending))
}

/// Writes `tip` as an anchor (never overwriting one) and records it.
pub async fn anchor(
    env: &Env,
    database: &D1Database,
    key: &SealKey,
    tip: &SealedTip,
) -> AppResult<Anchor> {
    let now = clock::now();
    let anchor = Anchor::new(key, tip, &now.to_rfc3339());
    let body = serde_json::to_string(&anchor)
        .map_err(|e| AppError::internal(format!("anchor json: {e}")))?;
    let bucket = db::files(env)?;
    // Write-once: an existing object (the same anchor, written by a racing sealer) is kept.
    bucket
        .put(Anchor::object_key(tip.seq), body)
        .only_if(Conditional {
            etag_does_not_match: Some("*".into()),
            ..Conditional::default()
        })
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("writing the audit anchor: {e}")))?;
    db::statement(
        database,
        store::RECORD_ANCHOR,
        &[db::int(tip.seq), db::int(now.0 as i64)],
    )?
    .run()
    .await
    .map_err(|e| AppError::internal(format!("recording the audit anchor: {e}")))?;
    Ok(anchor)
}

/// The newest anchor at or below `at_most` (any seq when `None`): `Err` names an object under
/// the anchors' prefix that is not an anchor at all.
pub async fn newest_anchor(
    bucket: &Bucket,
    at_most: Option<i64>,
) -> AppResult<Option<Result<Anchor, String>>> {
    let mut list = bucket.list().prefix(ANCHOR_PREFIX).limit(1);
    if let Some(seq) = at_most {
        // Keys sort newest first; the one for `seq + 1` sorts just before every anchor ≤ seq.
        list = list.start_after(Anchor::object_key(seq + 1));
    }
    let listed = list
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("listing audit anchors: {e}")))?;
    let Some(object) = listed.objects().into_iter().next() else {
        return Ok(None);
    };
    let key = object.key();
    let read = bucket
        .get(&key)
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("reading audit anchor {key}: {e}")))?;
    let Some(body) = read.as_ref().and_then(|o| o.body()) else {
        return Ok(None);
    };
    let text = body
        .text()
        .await
        .map_err(|e| AppError::internal(format!("reading audit anchor {key}: {e}")))?;
    Ok(Some(
        serde_json::from_str::<Anchor>(&text).map_err(|_| key.clone()),
    ))
}
