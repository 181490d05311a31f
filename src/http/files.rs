//! Files on R2 (DESIGN.md §8), the Worker's part: the upload pipeline every way in shares (the
//! API, the dashboard, MCP, chat), serving a clean file, and the sweep's rescans and purges.
//!
//! An upload is typed by its bytes, written once to R2 under its record's id, scanned by clamd,
//! and only then recorded — clean, rejected with the signature found, or pending when the
//! scanner could not answer (the sweep tries again). The record's status alone decides what
//! is served: R2 has no rename, so "quarantine" is a status, not a place.

use crate::domain::personal::{file_key, pending_opt};
use serde_json::Value;
use worker::{console_error, Bucket, Env, HttpMetadata, Response};

use crate::db::files::{self as store, FileRow, NewFile, SweepRow};
use crate::db::notifications;
use crate::db::store::D1Store;
use crate::db::FILES_BINDING;
use crate::domain::audit::{Action, AuditEvent};
use crate::domain::auth::session::sha256_hex_of;
use crate::domain::clamd::Verdict;
use crate::domain::files::{
    after_scan, content_disposition, download_name, sniff, FileType, Parent, Purpose, Refused,
    Scan, Scanned, Status,
};
use crate::domain::notices::Notice;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::{event, new_id, now};
use crate::http::auth::{Principal, Surface, Via};
use crate::http::RequestCtx;
use crate::json;
use crate::services::clamd::Scanner;
use crate::views::files::file_view;
use crate::write::{self, Change, Created, Entity, Keyed, Results, Sql, Store};

/// One file, as the engine reads and writes it.
pub struct FileEntity;

impl Entity for FileEntity {
    type Record = FileRow;
    const NAME: &'static str = "file";
    const COLLECTION: &'static str = "/api/v1/files";

    fn load(id: &str) -> Vec<Sql> {
        vec![store::by_id(id)]
    }

    fn parse(results: &impl Results, from: usize) -> AppResult<Option<FileRow>> {
        write::first_row(results, from)
    }

    fn version(record: &FileRow) -> i64 {
        record.version
    }

    fn view(record: &FileRow) -> Value {
        file_view(record)
    }
}

/// The tenant's bucket.
pub fn bucket(env: &Env) -> AppResult<Bucket> {
    env.bucket(FILES_BINDING)
        .map_err(|e| AppError::internal(format!("the {FILES_BINDING} bucket: {e}")))
}

/// The scanner, or the refusal of an upload: nothing is stored unscanned because none is set.
pub fn scanner(env: &Env) -> AppResult<Scanner> {
    Scanner::from_env(env).ok_or_else(|| {
        AppError::unavailable(
            "Uploads are switched off: this company has no malware scanner configured, and \
             files are never stored unscanned.",
            "CLAMD_HOST/CLAMD_PORT are not set",
        )
    })
}

/// Through what an upload came, as the record keeps it.
pub fn source_of(principal: &Principal) -> &'static str {
    match (principal.surface, &principal.via) {
        (Surface::Mcp, _) => "mcp",
        (_, Via::Session { .. }) => "dashboard",
        (_, Via::Linked { channel }) => channel.as_str(),
        _ => "api",
    }
}

/// What is being uploaded, besides its bytes.
pub struct Upload<'a> {
    /// The new record's id (chosen first, so statements written with it can name it).
    pub id: &'a str,
    pub parent: Parent,
    pub parent_id: Option<&'a str>,
    pub purpose: Purpose,
    /// As given; typed and cleaned here.
    pub name: &'a str,
    pub signer_name: Option<&'a str>,
    pub source: &'static str,
}

/// What an infected file of no accepted type is recorded as (it is never served).
const UNKNOWN_TYPE: &str = "application/octet-stream";

/// The types a purpose accepts: a signature is the canvas's PNG, a logo what PDFs embed.
fn accepts(purpose: Purpose, file_type: FileType) -> bool {
    match purpose {
        Purpose::Signature => file_type == FileType::Png,
        Purpose::Logo => matches!(file_type, FileType::Png | FileType::Jpeg),
        Purpose::Attachment | Purpose::Document => true,
    }
}

/// One scan through clamd, as the pipeline records it.
pub async fn scan(scanner: &Scanner, bytes: &[u8]) -> Scan {
    match scanner.scan(bytes).await {
        Ok(Verdict::Clean) => Scan::Clean,
        Ok(Verdict::Infected(signature)) => Scan::Infected(signature),
        Ok(Verdict::Error(error)) => Scan::Failed(format!("the scanner answered: {error}")),
        Err(unreachable) => Scan::Failed(format!("the scanner was not reached: {unreachable}")),
    }
}

/// Stores, scans and records an upload whose parent the caller checked (and whose size it
/// bounded): one R2 write, one scan, one D1 batch with `extra` statements and the audit rows.
/// The record answers how it went (`status`); a repeat of a keyed upload answers the first.
#[allow(clippy::too_many_arguments)]
pub async fn store(
    env: &Env,
    d1: &D1Store,
    rctx: &RequestCtx,
    principal: Option<&Principal>,
    scanner: &Scanner,
    upload: &Upload<'_>,
    bytes: Vec<u8>,
    keyed: Option<&Keyed>,
    extra: Vec<Sql>,
) -> AppResult<Created<FileRow>> {
    // Every upload is scanned, also one whose type is refused: malware is answered as
    // malware (and kept in quarantine), whatever it pretends to be.
    let sniffed = sniff(&bytes);
    if sniffed == Err(Refused::Empty) {
        return Err(AppError::bad_request(Refused::Empty.message()));
    }
    let scanned = after_scan(scan(scanner, &bytes).await, 1, now().0 as i64);
    let file_type = match sniffed {
        Ok(t) if accepts(upload.purpose, t) => Some(t),
        _ if scanned.status == Status::Rejected => None,
        Ok(_) => {
            return Err(AppError::new(ErrorKind::UnsupportedMediaType).with_detail(
                match upload.purpose {
                    Purpose::Signature => "A signature is a PNG image.",
                    _ => "A logo is a PNG or JPEG image.",
                },
            ))
        }
        Err(refused) => {
            return Err(
                AppError::new(ErrorKind::UnsupportedMediaType).with_detail(refused.message())
            )
        }
    };
    let content_type = file_type.map_or(UNKNOWN_TYPE, FileType::mime);
    let fallback = format!(
        "{}.{}",
        upload.purpose.as_str(),
        file_type.map_or("bin", FileType::extension)
    );
    let name = crate::domain::files::clean_name(upload.name, &fallback);
    let sha256 = sha256_hex_of(&bytes);
    let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
    let key = store::r2_key(upload.id);
    let bucket = bucket(env)?;
    put(&bucket, &key, &bytes, content_type, &sha256).await?;
    drop(bytes);
    // What the upload was for happens only to a file that may ever be used.
    let extra = if scanned.status == Status::Rejected {
        Vec::new()
    } else {
        extra
    };
    let at = now().0 as i64;
    let record = NewFile {
        id: upload.id,
        parent: upload.parent,
        parent_id: upload.parent_id,
        purpose: upload.purpose,
        name: &name,
        content_type,
        size,
        sha256: &sha256,
        scanned: &scanned,
        signer_name: upload.signer_name,
        uploaded_by: principal.map(|p| p.user.id.as_str()),
        source: upload.source,
        now_ms: at,
    };
    let summary = json!({
        "name": name, "content_type": content_type, "size": size, "sha256": sha256,
        "parent": { "kind": upload.parent.as_str(), "id": upload.parent_id },
        "purpose": upload.purpose.as_str(), "status": scanned.status.as_str(),
        "signer_name": pending_opt(&file_key(upload.id), upload.signer_name),
        "source": upload.source,
    });
    let mut change = Change::new()
        .guarded(store::insert(&record))
        .then_all(extra);
    if upload.signer_name.is_some() {
        change = change.then(crate::db::personal::new_key(&file_key(upload.id), at));
    }
    let mut change = change.audit(event(
        rctx,
        principal,
        Action::FileUploaded,
        "file",
        Some(upload.id),
        None,
        Some(summary),
    ));
    if let Some(event) = scan_event(rctx.id.as_str(), upload.id, &scanned) {
        change = change.audit(event);
    }
    let parent = upload.parent;
    let created = write::create::<_, FileEntity>(
        d1,
        upload.id,
        keyed,
        change,
        || AppError::not_found(parent.as_str()),
        at,
    )
    .await;
    // Bytes no record names are never served; remove them rather than keep them unseen.
    if created.as_ref().map_or(true, |c| c.replayed) {
        if let Err(e) = bucket.delete(&key).await {
            console_error!("files: removing the unrecorded upload {key}: {e}");
        }
    }
    created
}

/// Writes the bytes once, typed by what they are (never what the client said).
pub(crate) async fn put(
    bucket: &Bucket,
    key: &str,
    bytes: &[u8],
    content_type: &str,
    sha256: &str,
) -> AppResult<()> {
    let metadata = HttpMetadata {
        content_type: Some(content_type.to_owned()),
        ..HttpMetadata::default()
    };
    bucket
        .put(key, bytes.to_vec())
        .http_metadata(metadata)
        .custom_metadata([("sha256".to_owned(), sha256.to_owned())])
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("storing {key} in R2: {e}")))?
        .ok_or_else(|| AppError::internal(format!("R2 stored nothing for {key}")))?;
    Ok(())
}

/// An audit event of the product's own (the scanner's verdict, a purge), in `request_id`.
pub(crate) fn system_event(
    request_id: &str,
    action: Action,
    id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> AuditEvent {
    AuditEvent::by_system(now(), action, "file", Some(id), before, after, request_id)
}

/// The audit event of a scan's verdict, when it decided something.
fn scan_event(request_id: &str, id: &str, scanned: &Scanned) -> Option<AuditEvent> {
    let action = match scanned.status {
        Status::Clean => Action::FileScanned,
        Status::Rejected => Action::FileRejected,
        Status::Pending => return None,
    };
    Some(system_event(
        request_id,
        action,
        id,
        Some(json!({ "status": "pending" })),
        Some(
            json!({ "status": scanned.status.as_str(), "detail": scanned.detail,
                     "attempts": scanned.attempts }),
        ),
    ))
}

/// The answer to an upload: 201 when clean, 202 while it waits for the scanner, 422 when the
/// scanner found malware (the record is kept, rejected, and never served).
pub fn answer(created: &Created<FileRow>) -> AppResult<Response> {
    let record = &created.record;
    let view = FileEntity::view(record);
    match Status::parse(&record.status) {
        Some(Status::Rejected) => Err(AppError::new(ErrorKind::Unprocessable)
            .with_detail(rejected_detail(record))
            .with_extension("file", view)),
        status => {
            let code = if status == Some(Status::Pending) {
                202
            } else {
                created.status
            };
            let response = crate::http::respond::json(code, &view)?;
            let _ = response
                .headers()
                .set("Location", &write::location::<FileEntity>(&record.id));
            Ok(crate::http::api::with_etag(response, record.version))
        }
    }
}

/// Why a rejected file was rejected, for its uploader.
pub fn rejected_detail(record: &FileRow) -> String {
    match record.scan_detail.as_deref() {
        Some(detail) if record.scan_attempts < crate::domain::files::MAX_SCAN_ATTEMPTS => format!(
            "The malware scanner found {detail} in \u{201c}{}\u{201d}: it is kept in quarantine and will never be served.",
            record.name
        ),
        Some(detail) => detail.to_owned(),
        None => "The file was rejected.".to_owned(),
    }
}

/// Serves a clean file's bytes from R2 (streamed by the runtime), typed as recorded, never
/// sniffed or run by the browser: `nosniff`, a sandboxing CSP, a download name with its real
/// extension. Images show inline; anything else downloads.
pub async fn serve(
    env: &Env,
    record: &FileRow,
    if_none_match: Option<&str>,
) -> AppResult<Response> {
    if record.deleted_at.is_some() {
        return Err(AppError::not_found("file"));
    }
    match Status::parse(&record.status) {
        Some(Status::Clean) => {}
        Some(Status::Pending) => {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail("This file has not been scanned for malware yet; try again shortly.")
                .with_extension("status", json!("pending"))
                .with_header("Retry-After", "60"))
        }
        _ => {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail(rejected_detail(record))
                .with_extension("status", json!("rejected")))
        }
    }
    let etag = format!("\"{}\"", record.sha256);
    if if_none_match.is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag)) {
        let response = Response::empty()
            .map_err(AppError::internal)?
            .with_status(304);
        let _ = response.headers().set("ETag", &etag);
        return Ok(response);
    }
    let key = store::r2_key(&record.id);
    let object = bucket(env)?
        .get(&key)
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("reading {key} from R2: {e}")))?
        .ok_or_else(|| AppError::internal(format!("{key} is recorded clean but not in R2")))?;
    let body = object
        .body()
        .ok_or_else(|| AppError::internal(format!("{key} has no body")))?
        .response_body()
        .map_err(|e| AppError::internal(format!("{key}: {e}")))?;
    let file_type = FileType::from_mime(&record.content_type);
    let inline = file_type.is_some_and(FileType::is_web_image);
    let name = file_type.map_or_else(|| record.name.clone(), |t| download_name(&record.name, t));
    let response = Response::from_body(body).map_err(AppError::internal)?;
    let headers = response.headers();
    let _ = headers.set("Content-Type", &record.content_type);
    let _ = headers.set("Content-Length", &record.size.to_string());
    let _ = headers.set(
        "Content-Disposition",
        &content_disposition(if inline { "inline" } else { "attachment" }, &name),
    );
    let _ = headers.set(
        "Content-Security-Policy",
        "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'",
    );
    let _ = headers.set("Cross-Origin-Resource-Policy", "same-origin");
    // Private, and checked again each time: who may see a parent can change.
    let _ = headers.set("Cache-Control", "private, no-cache");
    let _ = headers.set("ETag", &etag);
    Ok(response)
}

/// The bytes R2 keeps under `key`, if any.
pub async fn read_bytes(env: &Env, key: &str) -> AppResult<Option<Vec<u8>>> {
    let Some(object) = bucket(env)?
        .get(key)
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("reading {key} from R2: {e}")))?
    else {
        return Ok(None);
    };
    match object.body() {
        Some(body) => body
            .bytes()
            .await
            .map(Some)
            .map_err(|e| AppError::internal(format!("reading {key} from R2: {e}"))),
        None => Ok(None),
    }
}

/// The company's logo for a document (`row`: `db::files::SELECT_LOGO_FILE`), if there is a
/// clean one; a logo that cannot be read leaves the document without it, never unmade.
pub async fn logo_bytes(env: &Env, row: Option<FileRow>) -> Option<Vec<u8>> {
    let row = row.filter(|r| r.status == "clean" && r.deleted_at.is_none())?;
    match read_bytes(env, &store::r2_key(&row.id)).await {
        Ok(bytes) => bytes,
        Err(e) => {
            console_error!("files: the logo for a document: {e}");
            None
        }
    }
}

/// What one sweep of the files did, for its log line.
#[derive(Debug, Default)]
pub struct Swept {
    pub scanned: usize,
    pub still_pending: usize,
    pub purged: usize,
}

/// [`sweep`], with a log line when it did something or failed (the next run retries).
pub async fn sweep_logged(env: &Env, cause: &str) {
    match sweep(env, cause).await {
        Ok(s) if s.scanned + s.still_pending + s.purged == 0 => {}
        Ok(s) => {
            let line = json!({ "level": "info", "msg": "files sweep", "cause": cause,
                               "scanned": s.scanned, "still_pending": s.still_pending,
                               "purged": s.purged });
            worker::console_log!("{line}");
        }
        Err(e) => {
            let line = json!({ "level": "error", "msg": "files sweep", "cause": cause,
                               "error": e.to_string() });
            console_error!("{line}");
        }
    }
}

/// Scans the pending files that are due (bytes from R2, one scan and one write each) and
/// purges the deleted ones past their retention. A file the sweep finds infected is rejected
/// and its uploader told in the bell (and by email).
pub async fn sweep(env: &Env, cause: &str) -> AppResult<Swept> {
    let d1 = D1Store::from_env(env)?;
    let at = now().0 as i64;
    let due = d1
        .batch(vec![
            crate::sql!(store::SELECT_DUE_SCANS, at, store::SWEEP_BATCH),
            crate::sql!(store::SELECT_DUE_PURGES, at, store::SWEEP_BATCH),
        ])
        .await
        .map_err(|e| AppError::internal(format!("files due: {e}")))?;
    let scans: Vec<SweepRow> = due.rows(0)?;
    let purges: Vec<SweepRow> = due.rows(1)?;
    let mut swept = Swept::default();
    if !scans.is_empty() {
        let scanner = Scanner::from_env(env);
        for row in &scans {
            let outcome = match &scanner {
                None => Scan::Failed("no scanner is configured".to_owned()),
                Some(scanner) => match read_bytes(env, &row.r2_key).await {
                    Ok(Some(bytes)) => scan(scanner, &bytes).await,
                    // Never written (the upload was cut off): nothing to serve, ever.
                    Ok(None) => Scan::Infected("no bytes were stored".to_owned()),
                    Err(e) => Scan::Failed(e.to_string()),
                },
            };
            let scanned = after_scan(outcome, row.scan_attempts + 1, now().0 as i64);
            if scanned.status == Status::Pending {
                swept.still_pending += 1;
            } else {
                swept.scanned += 1;
            }
            record_scan(&d1, cause, row, &scanned).await?;
        }
    }
    if !purges.is_empty() {
        let bucket = bucket(env)?;
        for row in &purges {
            bucket
                .delete(&row.r2_key)
                .await
                .map_err(|e| AppError::internal(format!("purging {}: {e}", row.r2_key)))?;
            let change = Change::new()
                .then(crate::sql!(
                    store::MARK_PURGED,
                    row.id.as_str(),
                    now().0 as i64
                ))
                .audit(system_event(cause, Action::FilePurged, &row.id, None, None));
            write::apply(&d1, change, vec![])
                .await
                .map_err(|r| r.into_error(|| AppError::internal("purge guard")))?;
            swept.purged += 1;
        }
    }
    Ok(swept)
}

/// Records a sweep's scan of `row`, guarded by the version it read (an upload's own scan or a
/// second sweep that got there first wins; this one then changes nothing).
async fn record_scan(
    d1: &D1Store,
    cause: &str,
    row: &SweepRow,
    scanned: &Scanned,
) -> AppResult<()> {
    let at = now();
    let mut change = Change::new()
        .guarded(store::record_scan(
            &row.id,
            row.version,
            scanned,
            at.0 as i64,
        ))
        // A logo that waited for the scanner becomes the company's once clean.
        .then(crate::sql!(
            store::SET_LOGO,
            row.id.as_str(),
            at.to_rfc3339()
        ));
    if let Some(event) = scan_event(cause, &row.id, scanned) {
        change = change.audit(event);
    }
    if scanned.status == Status::Rejected {
        if let (Some(uploader), Ok(notice_id)) = (row.uploaded_by.as_deref(), new_id()) {
            let notice = Notice::FileRejected {
                file_id: row.id.clone(),
                name: row.name.clone(),
                reason: scanned.detail.clone().unwrap_or_default(),
            };
            change = change.then(notifications::notify(
                &notice_id, uploader, &notice, &row.id, at,
            ));
        }
    }
    match write::apply(d1, change, vec![]).await {
        Ok(_) | Err(write::Refusal::Guard) => Ok(()),
        Err(other) => Err(other.into_error(|| AppError::internal("scan guard"))),
    }
}
