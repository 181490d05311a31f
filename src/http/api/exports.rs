//! Getting data out (access and portability): one customer's records and files as a ZIP
//! archive at once (`/api/v1/customers/{id}/export`), and the whole company — every table as
//! JSON and an index of its R2 files — built in the background into R2 and downloaded by an
//! owner (`/api/v1/company/export…`). Both audited.
//!
//! A company export is built in steps, each under a lease on its row: one table after another
//! (read in pages, written to `exports/<id>/tables/<table>.json`), then the index of the files
//! (their keys and sizes: copying every file could pass what one run may do, and the files stay
//! where they are until the company deletes them), then one archive of it all at
//! `exports/<id>/company-export.zip`. It starts after the response that asked for it; a run cut
//! off leaves its lease to lapse, and the next request that lists the exports, or the cron,
//! takes it up where it stood.

use std::cell::Cell;

use serde::Deserialize;
use serde_json::{Map, Value};
use worker::{console_log, Env, Request, Response};

use crate::db::exports::{self as store, ExportRow, ExportedFile, TableName};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::deletion::MARKER_KEY;
use crate::domain::exports::{
    entry_name, exported_tables, not_embedded, withheld, MAX_EMBEDDED_FILE, MAX_EMBEDDED_TOTAL,
    PAGE_ROWS, WITHHELD,
};
use crate::domain::time::Millis;
use crate::domain::zip;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::reauth::{self, Proof};
use crate::http::api::{event, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{optional_json_body, MAX_JSON_BODY};
use crate::http::router::Matched;
use crate::http::{clock, respond, RequestCtx};
use crate::json;
use crate::views::company::export_view;
use crate::write::{self, Change, Entity, Results, Store};

crate::row_entity!(
    /// A company export, as the engine reads and writes it.
    ExportEntity,
    ExportRow,
    "company_export",
    "/api/v1/company/exports",
    store::by_id,
    export_view,
);

/// How long a run holds an export; past it, another run takes it up.
const LEASE_MS: u64 = 90_000;
/// How long a run works before it leaves the rest to the next (work after a response is cut
/// off at 30 s).
const BUDGET_MS: u64 = 20_000;
/// A company archive is built in memory: past this, the export fails and says so.
const MAX_ARCHIVE_BYTES: usize = 256 * 1024 * 1024;
const FORMAT: &str = "fieldworker export, version 1";

/// The 500 for a storage call that failed, naming what it was doing.
fn read_failed<E: std::fmt::Display>(what: &str) -> impl FnOnce(E) -> AppError + '_ {
    move |e| AppError::internal(format!("{what}: {e}"))
}

// ---- one customer -----------------------------------------------------------------------

/// `GET /api/v1/customers/{id}/export`: the customer's records as `export.json` and their
/// clean files (within the bounds of `domain::exports`; the rest listed, not embedded), as one
/// ZIP archive.
pub async fn customer(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default().to_owned();
    let d1 = D1Store::from_env(env)?;
    let results = d1
        .batch(store::customer(&id))
        .await
        .map_err(read_failed("customer export"))?;
    let customer = results
        .rows::<Value>(0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("customer"))?;
    let mut document = Map::new();
    document.insert("format".into(), json!(FORMAT));
    document.insert("exported_at".into(), json!(now().to_rfc3339()));
    document.insert("customer".into(), customer);
    for (i, section) in store::CUSTOMER_SECTIONS.iter().enumerate() {
        document.insert(
            (*section).into(),
            Value::Array(results.rows::<Value>(i + 1)?),
        );
    }
    let files = results.rows::<ExportedFile>(store::CUSTOMER_SECTIONS.len() + 1)?;

    let bucket = crate::db::files(env)?;
    let mut embedded: Vec<(String, Vec<u8>)> = Vec::new();
    let mut embedded_bytes = 0;
    let mut listed = Vec::with_capacity(files.len());
    for file in &files {
        let mut entry = serde_json::to_value(file)
            .map_err(|e| AppError::internal(format!("file record: {e}")))?;
        let reason = match not_embedded(&file.status, file.size, embedded_bytes) {
            Some(reason) => Some(reason),
            None => match bucket.get(&file.r2_key).execute().await {
                Ok(Some(object)) => match object.body() {
                    Some(body) => {
                        let bytes = body.bytes().await.map_err(read_failed("R2 file"))?;
                        let name = entry_name(&file.id, &file.name);
                        entry["archive_path"] = json!(name);
                        embedded_bytes += file.size;
                        embedded.push((name, bytes));
                        None
                    }
                    None => Some("missing from storage"),
                },
                Ok(None) => Some("missing from storage"),
                Err(e) => return Err(AppError::internal(format!("reading {}: {e}", file.r2_key))),
            },
        };
        if let Some(reason) = reason {
            entry["not_embedded"] = json!(reason);
        }
        listed.push(entry);
    }
    document.insert("files".into(), Value::Array(listed));
    document.insert(
        "limits".into(),
        json!({
            "note": "Files are embedded under files/ when scanned clean and within these \
                     bounds; the others are listed with why they are not.",
            "max_embedded_file_bytes": MAX_EMBEDDED_FILE,
            "max_embedded_total_bytes": MAX_EMBEDDED_TOTAL,
        }),
    );
    let mut archive = zip::Writer::new(now());
    let text = serde_json::to_vec_pretty(&Value::Object(document))
        .map_err(|e| AppError::internal(format!("export document: {e}")))?;
    let too_big = |_| AppError::internal("a customer archive past the ZIP format's limits");
    archive.add("export.json", &text).map_err(too_big)?;
    for (name, bytes) in &embedded {
        archive.add(name, bytes).map_err(too_big)?;
    }
    let archive = archive.finish();
    let change = Change::new().audit(event(
        rctx,
        Some(principal),
        Action::CustomerExported,
        "customer",
        Some(&id),
        None,
        Some(
            json!({ "files": files.len(), "files_embedded": embedded.len(),
                     "bytes": archive.len() }),
        ),
    ));
    write::apply(&d1, change, vec![])
        .await
        .map_err(|refusal| refusal.into_error(|| AppError::internal("customer export audit")))?;
    Ok(respond::zip(&format!("customer-{id}.zip"), archive))
}

// ---- the whole company ------------------------------------------------------------------

thread_local! {
    /// Whether this request left an export to build after its response.
    static OWED: Cell<bool> = const { Cell::new(false) };
}

/// After a response: builds (or takes up) the export the request asked for or found waiting.
pub fn after_response(ctx: &worker::Context, env: Env) {
    if !OWED.with(|o| o.replace(false)) {
        return;
    }
    ctx.wait_until(async move {
        crate::http::after_the_response().await;
        run_logged(&env, "request").await;
    });
}

/// What an owner gives to ask for an export: the password, unless signed in lately.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    #[serde(default)]
    password: Option<String>,
}

/// `POST /api/v1/company/export`: queues an export of the whole company, built after the
/// response (202). One at a time.
pub async fn request(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let ask: Ask = optional_json_body(&mut req, MAX_JSON_BODY).await?;
    let passed = reauth::require(
        env,
        rctx,
        principal,
        Proof::password(ask.password.as_deref()),
    )
    .await?;
    let id = new_id()?;
    let now = now();
    let change = passed.release_in(
        Change::new()
            .guarded(store::insert(&id, &principal.user.id, now))
            .audit(event(
                rctx,
                Some(principal),
                Action::CompanyExportRequested,
                ExportEntity::NAME,
                Some(&id),
                None,
                Some(json!({ "status": "queued" })),
            )),
    );
    let created = write::create::<_, ExportEntity>(
        &D1Store::from_env(env)?,
        &id,
        None,
        change,
        || {
            AppError::new(ErrorKind::Conflict)
                .with_detail("An export is being built already: wait for it to be ready.")
        },
        now.0 as i64,
    )
    .await?;
    OWED.with(|o| o.set(true));
    let response = respond::json(202, &export_view(&created.record))?;
    let _ = response
        .headers()
        .set("Location", &write::location::<ExportEntity>(&created.id));
    Ok(response)
}

/// `GET /api/v1/company/exports`: the newest exports; one left unfinished by a run that was
/// cut off is taken up after the response.
pub async fn list(env: &Env) -> AppResult<Response> {
    let rows = D1Store::from_env(env)?
        .batch(vec![store::recent()])
        .await
        .map_err(read_failed("company exports"))?
        .rows::<ExportRow>(0)?;
    let now = clock::now().0 as i64;
    if rows.iter().any(|r| {
        matches!(r.status.as_str(), "queued" | "running")
            && r.lease_until.is_none_or(|at| at <= now)
    }) {
        OWED.with(|o| o.set(true));
    }
    let views: Vec<Value> = rows.iter().map(export_view).collect();
    respond::json(200, &json!({ "company_exports": views }))
}

/// `GET /api/v1/company/exports/{id}/download`: the archive, streamed from R2 (audited).
pub async fn download(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default().to_owned();
    let d1 = D1Store::from_env(env)?;
    let row = write::load::<_, ExportEntity>(&d1, &id).await?;
    let (Some(key), "ready") = (row.object_key.as_deref(), row.status.as_str()) else {
        return Err(AppError::new(ErrorKind::Conflict).with_detail(format!(
            "This export is {}, not ready to download.",
            row.status
        )));
    };
    let object = crate::db::files(env)?
        .get(key)
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("reading {key}: {e}")))?
        .ok_or_else(|| AppError::internal(format!("{key} is recorded ready but not in R2")))?;
    let body = object
        .body()
        .ok_or_else(|| AppError::internal(format!("{key} has no body")))?
        .response_body()
        .map_err(|e| AppError::internal(format!("{key}: {e}")))?;
    let change = Change::new().audit(event(
        rctx,
        Some(principal),
        Action::CompanyExportDownloaded,
        ExportEntity::NAME,
        Some(&id),
        None,
        Some(json!({ "size": row.size })),
    ));
    write::apply(&d1, change, vec![])
        .await
        .map_err(|refusal| refusal.into_error(|| AppError::internal("export download audit")))?;
    let response = Response::from_body(body).map_err(AppError::internal)?;
    let headers = response.headers();
    let _ = headers.set("Content-Type", "application/zip");
    if let Some(size) = row.size {
        let _ = headers.set("Content-Length", &size.to_string());
    }
    let _ = headers.set(
        "Content-Disposition",
        &format!("attachment; filename=\"company-export-{id}.zip\""),
    );
    let _ = headers.set("Cache-Control", "private, no-store");
    Ok(response)
}

/// Builds (or takes up) the oldest unfinished export, and logs what it did (a run that found
/// nothing stays quiet); errors are logged, and the lease's end lets a later run retry.
pub async fn run_logged(env: &Env, cause: &str) {
    let outcome = run(env).await;
    let line = match &outcome {
        Ok(None) => return,
        Ok(Some((id, status))) => json!({ "level": "info", "msg": "company export",
                                          "cause": cause, "id": id, "status": status }),
        Err(e) => json!({ "level": "error", "msg": "company export", "cause": cause,
                          "error": e.to_string() }),
    };
    console_log!("{line}");
}

/// One run: the export it worked on and where it left it.
async fn run(env: &Env) -> AppResult<Option<(String, &'static str)>> {
    let d1 = D1Store::from_env(env)?;
    let started = worker::Date::now().as_millis();
    let now = clock::now();
    let Some(row) = d1
        .batch(vec![store::resumable(now)])
        .await
        .map_err(read_failed("resumable exports"))?
        .rows::<ExportRow>(0)?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let id = row.id.clone();
    let lease = |at: Millis| at.plus(LEASE_MS).0 as i64;
    let mut version = row.version;
    // Each step names the version the last one left: a run whose lease was taken over stops.
    let step = |statement| Change::new().guarded(statement);
    if !advance(&d1, step(store::take(&id, version, now, lease(now)))).await? {
        return Ok(None);
    }
    version += 1;
    let bucket = crate::db::files(env)?;
    let names: Vec<String> = d1
        .batch(vec![crate::sql!(store::TABLES)])
        .await
        .map_err(read_failed("tables"))?
        .rows::<TableName>(0)?
        .into_iter()
        .map(|t| t.name)
        .collect();
    let tables = exported_tables(&names);
    let mut done = usize::try_from(row.tables_done).unwrap_or(0);
    while done < tables.len() {
        if worker::Date::now().as_millis().saturating_sub(started) > BUDGET_MS {
            return Ok(Some((id, "running")));
        }
        let table = &tables[done];
        let rows = read_table(&d1, table).await?;
        let body = serde_json::to_vec(&json!({ "table": table, "rows": rows }))
            .map_err(|e| AppError::internal(format!("table {table}: {e}")))?;
        bucket
            .put(table_key(&id, table), body)
            .execute()
            .await
            .map_err(read_failed("writing a table to R2"))?;
        done += 1;
        let progress = store::progress(&id, version, done as i64, lease(clock::now()));
        if !advance(&d1, step(progress)).await? {
            return Ok(Some((id, "taken over")));
        }
        version += 1;
    }
    let files = file_index(&bucket).await?;
    let mut archive = zip::Writer::new(clock::now());
    let manifest = json!({
        "format": FORMAT,
        "exported_at": clock::now().to_rfc3339(),
        "tables": tables,
        "withheld": "Credentials (password hashes, two-factor secrets, token hashes) are \
                     withheld; the data keys and the blind indexes are not exported.",
        "files": "files.json lists every file in storage (key, size); their bytes stay in the \
                  company's storage. Each file's record is in tables/files.json.",
    });
    let too_big = |_| AppError::internal("a company archive past the ZIP format's limits");
    let manifest = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| AppError::internal(format!("manifest: {e}")))?;
    archive.add("manifest.json", &manifest).map_err(too_big)?;
    for table in &tables {
        let key = table_key(&id, table);
        let object = bucket
            .get(&key)
            .execute()
            .await
            .map_err(read_failed("reading a table from R2"))?
            .ok_or_else(|| AppError::internal(format!("{key} is missing")))?;
        let bytes = match object.body() {
            Some(body) => body.bytes().await.map_err(read_failed("reading a table"))?,
            None => return Err(AppError::internal(format!("{key} has no body"))),
        };
        if archive.len() + bytes.len() > MAX_ARCHIVE_BYTES {
            let why = "The company's data is too large for one archive: ask the operator.";
            advance(&d1, step(store::fail(&id, version, clock::now(), why))).await?;
            return Ok(Some((id, "failed")));
        }
        archive
            .add(&format!("tables/{table}.json"), &bytes)
            .map_err(too_big)?;
    }
    archive.add("files.json", &files).map_err(too_big)?;
    let archive = archive.finish();
    let key = format!("exports/{id}/company-export.zip");
    let size = archive.len() as i64;
    bucket
        .put(&key, archive)
        .execute()
        .await
        .map_err(read_failed("writing the archive to R2"))?;
    if !advance(
        &d1,
        step(store::finish(&id, version, clock::now(), &key, size)),
    )
    .await?
    {
        return Ok(Some((id, "taken over")));
    }
    Ok(Some((id, "ready")))
}

/// Writes a step of a run; `false` when its guard found the export moved on without it.
async fn advance(d1: &D1Store, change: Change) -> AppResult<bool> {
    match write::apply(d1, change, vec![]).await {
        Ok(_) => Ok(true),
        Err(write::Refusal::Guard) => Ok(false),
        Err(other) => Err(other.into_error(|| AppError::internal("company export step"))),
    }
}

fn table_key(id: &str, table: &str) -> String {
    format!("exports/{id}/tables/{table}.json")
}

/// Every row of `table`, page by page, credentials withheld.
async fn read_table(d1: &D1Store, table: &str) -> AppResult<Vec<Value>> {
    let mut rows = Vec::new();
    loop {
        let page = d1
            .batch(vec![store::table_page(table, PAGE_ROWS, rows.len() as i64)])
            .await
            .map_err(|e| AppError::internal(format!("reading {table}: {e}")))?
            .rows::<Map<String, Value>>(0)?;
        let full = page.len() as i64 == PAGE_ROWS;
        rows.extend(page.into_iter().map(|mut row| {
            for (column, value) in row.iter_mut() {
                if withheld(column) && !value.is_null() {
                    *value = json!(WITHHELD);
                }
            }
            Value::Object(row)
        }));
        if !full {
            return Ok(rows);
        }
    }
}

/// The index of the company's files in R2: every object's key, size and upload time (not the
/// exports themselves, nor the deletion marker).
async fn file_index(bucket: &worker::Bucket) -> AppResult<Vec<u8>> {
    let mut files = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut list = bucket.list().limit(1000);
        if let Some(c) = cursor.take() {
            list = list.cursor(c);
        }
        let listed = list.execute().await.map_err(read_failed("listing R2"))?;
        for object in listed.objects() {
            let key = object.key();
            if key.starts_with("exports/") || key == MARKER_KEY {
                continue;
            }
            files.push(json!({
                "key": key,
                "size": object.size(),
                "uploaded": Millis(object.uploaded().as_millis()).to_rfc3339(),
            }));
        }
        match (listed.truncated(), listed.cursor()) {
            (true, Some(next)) => cursor = Some(next),
            _ => break,
        }
    }
    serde_json::to_vec(&json!({ "files": files }))
        .map_err(|e| AppError::internal(format!("file index: {e}")))
}
