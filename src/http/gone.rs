//! The company once its owners deleted it. Every request passes [`gate`] first: while a
//! deletion is pending it lets everything through; once the grace period is over the first
//! request (or the cron sweep, whichever comes first) carries the deletion out in one guarded
//! batch only one run can win — the audit row, then every data key destroyed — and from then
//! every request but liveness and the operator's routes is answered 410 Gone. The R2 files and
//! KV are emptied after the response, in rounds, until both are empty.
//!
//! What the gate knows is kept in the instance and read again after a response once older than
//! [`FRESH_MS`] (a deletion is known for days before it happens), so a request costs no round
//! trip; the instance that asks for or cancels a deletion knows it at once, and the
//! completion's guard re-checks the row in D1 whatever the instance believed.

use std::cell::RefCell;

use futures_util::future::join;
use worker::{console_error, console_log, Bucket, Context, Env, Request, Response};

use crate::db::deletion::{self as store, DeletionRow};
use crate::db::store::D1Store;
use crate::domain::audit::{Action, ActorKind, AuditEvent};
use crate::domain::deletion::{purged_folder, stays_open, Standing, GONE, MARKER_KEY};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::{clock, pages, respond, seal, RequestCtx};
use crate::json;
use crate::views::company::gone_page;
use crate::write::{self, Change, Results, Store};

/// How long an instance trusts what it read of the deletion.
const FRESH_MS: u64 = 30_000;
/// R2 objects listed and deleted per round, and rounds per run.
const R2_PAGE: u32 = 500;
const R2_ROUNDS: usize = 8;
/// KV keys listed per round (each deleted on its own), and rounds per run.
const KV_PAGE: u64 = 100;
const KV_ROUNDS: usize = 4;

/// What an instance read of the deletion: the open request (pending or carried out) and
/// whether R2 holds the marker.
#[derive(Clone)]
struct Known {
    read_at: u64,
    open: Option<DeletionRow>,
    marker: bool,
}

thread_local! {
    static KNOWN: RefCell<Option<Known>> = const { RefCell::new(None) };
}

/// Makes the next request read the deletion again.
pub fn forget() {
    KNOWN.with(|k| k.borrow_mut().take());
}

/// What this instance just wrote: the open request (`None` once cancelled).
pub fn know(open: Option<DeletionRow>) {
    let known = Known {
        read_at: worker::Date::now().as_millis(),
        open,
        marker: false,
    };
    KNOWN.with(|k| *k.borrow_mut() = Some(known));
}

/// Where the deletion stands now, and its row. An instance that knows nothing reads it before
/// answering; one whose knowledge is older than [`FRESH_MS`] answers from it and reads again
/// after the response (`ctx`), so a request costs no round trip. A failed read lets the request
/// through (logged): without the data keys nothing of a deleted company can be read anyway.
async fn standing(env: &Env, ctx: Option<&Context>) -> (Standing, Option<DeletionRow>) {
    let real = worker::Date::now().as_millis();
    let cached = KNOWN.with(|k| k.borrow().clone());
    let known = match (cached, ctx) {
        (Some(known), _) if real.saturating_sub(known.read_at) < FRESH_MS => known,
        (Some(known), Some(ctx)) => {
            let env = env.clone();
            ctx.wait_until(async move {
                crate::http::after_the_response().await;
                if let Some(fresh) = read_logged(&env).await {
                    KNOWN.with(|k| *k.borrow_mut() = Some(fresh));
                }
            });
            known
        }
        _ => match read_logged(env).await {
            Some(known) => {
                KNOWN.with(|k| *k.borrow_mut() = Some(known.clone()));
                known
            }
            None => return (Standing::None, None),
        },
    };
    let standing = match &known.open {
        Some(row) => Standing::of(
            &row.status,
            row.effective_at,
            row.purged_at.is_some(),
            clock::now(),
        ),
        None => Standing::None,
    };
    // The marker outlives a restore of D1 to before the deletion.
    if known.marker && !standing.is_deleted() {
        return (Standing::Deleted { purged: false }, known.open);
    }
    (standing, known.open)
}

async fn read_logged(env: &Env) -> Option<Known> {
    match read(env).await {
        Ok(known) => Some(known),
        Err(e) => {
            console_error!(
                "{}",
                json!({ "level": "error", "msg": "company deletion",
                                         "error": e.to_string() })
            );
            None
        }
    }
}

async fn read(env: &Env) -> AppResult<Known> {
    let d1 = D1Store::from_env(env)?;
    let bucket = crate::db::files(env)?;
    let (rows, marker) = join(d1.batch(vec![store::open()]), bucket.head(MARKER_KEY)).await;
    let open = rows
        .map_err(|e| AppError::internal(format!("reading the company's deletion: {e}")))?
        .rows::<DeletionRow>(0)?
        .into_iter()
        .next();
    let marker = marker
        .map_err(|e| AppError::internal(format!("reading the deletion marker: {e}")))?
        .is_some();
    Ok(Known {
        read_at: worker::Date::now().as_millis(),
        open,
        marker,
    })
}

/// The answer to a request once the company is gone (`None`: serve it as usual). Carries the
/// deletion out when its time has come, and empties R2 and KV after the response until done.
pub async fn gate(
    req: &Request,
    env: &Env,
    ctx: &Context,
    rctx: &RequestCtx,
    path: &str,
) -> Option<Response> {
    if stays_open(path) {
        return None;
    }
    let (mut standing, row) = standing(env, Some(ctx)).await;
    if let (Standing::Due, Some(row)) = (standing, &row) {
        let request_id = rctx.id.as_str();
        match complete(env, row, request_id, rctx.ip.clone()).await {
            Ok(_) => {}
            Err(e) => {
                console_error!(
                    "{}",
                    json!({ "level": "error", "msg": "company deletion",
                                             "error": e.to_string() })
                );
            }
        }
        forget();
        standing = self::standing(env, None).await.0;
    }
    let Standing::Deleted { purged } = standing else {
        return None;
    };
    let env = env.clone();
    ctx.wait_until(async move {
        // The audit rows up to the end are sealed, then what is left is emptied.
        seal::run_logged(&env, "company deletion").await;
        if !purged {
            purge_logged(&env, "request").await;
        }
    });
    Some(gone_response(req, path, rctx))
}

/// 410: a small page for a browser, problem+json for everyone else.
fn gone_response(req: &Request, path: &str, rctx: &RequestCtx) -> Response {
    let browser = req
        .headers()
        .get("Accept")
        .ok()
        .flatten()
        .is_some_and(|accept| accept.contains("text/html"));
    let err = AppError::new(ErrorKind::Gone).with_detail(GONE);
    if browser {
        if let Ok(page) = pages::html(410, gone_page()) {
            return page;
        }
    }
    respond::problem(&err, path, rctx.id.as_str())
}

/// Carries out the deletion `row` asks for, if its time has come and no other run did: the
/// completion and its audit row, then every data key destroyed, in one batch; then the marker
/// in R2. Answers whether this run did it.
async fn complete(
    env: &Env,
    row: &DeletionRow,
    request_id: &str,
    ip: Option<String>,
) -> AppResult<bool> {
    let d1 = D1Store::from_env(env)?;
    let now = clock::now();
    let event = AuditEvent {
        at: now,
        actor_kind: ActorKind::System,
        actor_id: None,
        action: Action::CompanyDeleted,
        entity: "company_deletion",
        entity_id: Some(row.id.clone()),
        before: Some(json!({ "status": "pending" })),
        after: Some(json!({
            "status": "completed",
            "requested_by": row.requested_by,
            "effective_at": row.effective_at,
            "destroyed": ["data_keys", "files", "sessions"],
        })),
        ip,
        request_id: request_id.to_owned(),
    };
    // The audit row is written before the keys go (in the same transaction).
    let change = Change::new()
        .guarded(store::complete(&row.id, now))
        .then(write::sql::append_audit(&event))
        .then(store::destroy_keys());
    match write::apply(&d1, change, vec![]).await {
        Ok(_) => {}
        Err(write::Refusal::Guard) => return Ok(false),
        Err(other) => return Err(other.into_error(|| AppError::internal("company deletion"))),
    }
    console_log!(
        "{}",
        json!({ "level": "warn", "msg": "company deleted", "id": row.id })
    );
    write_marker(env, now).await?;
    Ok(true)
}

/// The R2 object that says the company was deleted; never written over.
async fn write_marker(env: &Env, now: crate::domain::time::Millis) -> AppResult<()> {
    let bucket = crate::db::files(env)?;
    let present = bucket
        .head(MARKER_KEY)
        .await
        .map_err(|e| AppError::internal(format!("deletion marker: {e}")))?;
    if present.is_none() {
        let body = json!({ "deleted_at": now.to_rfc3339() }).to_string();
        bucket
            .put(MARKER_KEY, body.into_bytes())
            .execute()
            .await
            .map_err(|e| AppError::internal(format!("deletion marker: {e}")))?;
    }
    Ok(())
}

/// Empties R2 (but the marker and the audit anchors) and KV, a few rounds at a time; once both
/// are empty, writes that down (audited). Answers whether everything is gone.
pub async fn purge(env: &Env, row: &DeletionRow) -> AppResult<bool> {
    let now = clock::now();
    write_marker(env, now).await?;
    let files_gone = empty_files(&crate::db::files(env)?).await?;
    let kv = crate::db::sessions(env)?;
    let mut kv_gone = false;
    for _ in 0..KV_ROUNDS {
        let listed = kv
            .list()
            .limit(KV_PAGE)
            .execute()
            .await
            .map_err(|e| AppError::internal(format!("listing KV: {e}")))?;
        if listed.keys.is_empty() {
            kv_gone = true;
            break;
        }
        for key in &listed.keys {
            kv.delete(&key.name)
                .await
                .map_err(|e| AppError::internal(format!("deleting from KV: {e}")))?;
        }
    }
    if !(files_gone && kv_gone) {
        return Ok(false);
    }
    let event = AuditEvent {
        at: now,
        actor_kind: ActorKind::System,
        actor_id: None,
        action: Action::CompanyPurged,
        entity: "company_deletion",
        entity_id: Some(row.id.clone()),
        before: None,
        after: Some(json!({ "files": "deleted", "sessions": "deleted" })),
        ip: None,
        request_id: format!("company-purge-{}", row.id),
    };
    let change = Change::new()
        .guarded(store::mark_purged(&row.id, now))
        .audit(event);
    match write::apply(&D1Store::from_env(env)?, change, vec![]).await {
        Ok(_) | Err(write::Refusal::Guard) => {}
        Err(other) => return Err(other.into_error(|| AppError::internal("company purge"))),
    }
    forget();
    Ok(true)
}

/// Deletes R2's objects but the marker and the folders [`purged_folder`] keeps, at most
/// `R2_ROUNDS` pages of them per run, folder by folder (so however many anchors are kept,
/// listing never pages through them). Answers whether nothing else is left.
async fn empty_files(bucket: &Bucket) -> AppResult<bool> {
    let listing = |e: worker::Error| AppError::internal(format!("listing R2: {e}"));
    let deleting = |e: worker::Error| AppError::internal(format!("deleting R2 objects: {e}"));
    let top = bucket
        .list()
        .delimiter("/")
        .limit(R2_PAGE)
        .execute()
        .await
        .map_err(listing)?;
    let loose: Vec<String> = top
        .objects()
        .iter()
        .map(|o| o.key())
        .filter(|key| key != MARKER_KEY)
        .collect();
    let mut rounds = 0;
    if !loose.is_empty() {
        bucket.delete_multiple(loose).await.map_err(deleting)?;
        rounds += 1;
    }
    for folder in top
        .delimited_prefixes()
        .iter()
        .filter_map(|p| purged_folder(p))
    {
        loop {
            if rounds == R2_ROUNDS {
                return Ok(false);
            }
            rounds += 1;
            let page = bucket
                .list()
                .prefix(folder.clone())
                .limit(R2_PAGE)
                .execute()
                .await
                .map_err(listing)?;
            let keys: Vec<String> = page.objects().iter().map(|o| o.key()).collect();
            if !keys.is_empty() {
                bucket.delete_multiple(keys).await.map_err(deleting)?;
            }
            if !page.truncated() {
                break;
            }
        }
    }
    Ok(!top.truncated())
}

async fn purge_logged(env: &Env, cause: &str) {
    let (_, row) = standing(env, None).await;
    let Some(row) = row.filter(|r| r.status == "completed") else {
        return;
    };
    let outcome = purge(env, &row).await;
    let line = match &outcome {
        Ok(done) => json!({ "level": "info", "msg": "company purge", "cause": cause,
                            "done": done }),
        Err(e) => json!({ "level": "error", "msg": "company purge", "cause": cause,
                          "error": e.to_string() }),
    };
    console_log!("{line}");
}

/// The cron's part: carries out a deletion whose time has come (as a request would), and goes
/// on emptying R2 and KV. Answers whether the company is deleted (the cron then does nothing
/// else: no message goes out from a deleted company).
pub async fn sweep(env: &Env) -> bool {
    forget();
    let (standing, row) = standing(env, None).await;
    if let (Standing::Due, Some(row)) = (standing, &row) {
        let request_id = format!("company-deletion-{}", row.id);
        if let Err(e) = complete(env, row, &request_id, None).await {
            console_error!(
                "{}",
                json!({ "level": "error", "msg": "company deletion",
                                         "error": e.to_string() })
            );
            return false;
        }
        forget();
    }
    let (standing, _) = self::standing(env, None).await;
    match standing {
        Standing::Deleted { purged } => {
            if !purged {
                purge_logged(env, "cron").await;
            }
            true
        }
        _ => false,
    }
}
