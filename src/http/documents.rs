//! Documents kept as they were sent: the PDF of an issued invoice (or credit note), made once
//! after the issue and stored in R2 as a file of the invoice (purpose `document`), never
//! changed after (a unique index keeps one per invoice). Emails about the invoice attach it.
//! The statement `GET /api/v1/invoices/{id}/pdf` is the invoice as it stands now (payments,
//! balance); this is what the customer was sent.
//!
//! Made after the response that issued the invoice, and by the sweep for any issued invoice
//! still without one (a Worker stopped before it was made, or issued before this existed).

use std::cell::RefCell;

use serde::Deserialize;
use worker::{console_error, Env};

use crate::db::files::{self as store, FileRow, NewFile};
use crate::db::invoices::InvoiceRow;
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::auth::session::sha256_hex_of;
use crate::domain::files::{Parent, Purpose, Scanned, Status};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::api::pdfs::{customer_name, invoice_reads};
use crate::http::api::quotes::settings_of;
use crate::http::api::{new_id, now};
use crate::http::files::{bucket, logo_bytes, put, read_bytes, system_event};
use crate::json;
use crate::sql;
use crate::views::pdf::{invoice_file_name, invoice_pdf};
use crate::write::{self, Change, Refusal, Results, Store};

/// What the record says of a document the product made (it is not an upload to scan).
const MADE_HERE: &str = "Made by fieldworker when the invoice was issued: not an upload.";

/// Issued invoices without their document, oldest first. ?1 how many.
const SELECT_OWED: &str = "SELECT i.id FROM invoices i WHERE i.number IS NOT NULL \
    AND NOT EXISTS (SELECT 1 FROM files f WHERE f.parent_kind = 'invoice' \
                    AND f.parent_id = i.id AND f.purpose = 'document') \
    ORDER BY i.issued_at LIMIT ?1";
const SWEEP_BATCH: i64 = 5;

thread_local! {
    /// Invoices this request issued (an instance runs one request at a time).
    static OWED: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Notes that the current request issued `invoice_id`: its document is made after the
/// response.
pub fn owed(invoice_id: &str) {
    OWED.with(|o| o.borrow_mut().push(invoice_id.to_owned()));
}

/// After a response: makes the documents the request owes.
pub fn after_response(ctx: &worker::Context, env: Env) {
    let owed = OWED.with(|o| std::mem::take(&mut *o.borrow_mut()));
    if owed.is_empty() {
        return;
    }
    ctx.wait_until(async move {
        crate::http::after_the_response().await;
        for id in owed {
            if let Err(e) = keep(&env, &id).await {
                console_error!(
                    "{}",
                    json!({ "level": "error", "msg": "invoice document",
                                              "invoice_id": id, "error": e.to_string() })
                );
            }
        }
        // Each document kept was audited: sealed now, not at the next write.
        crate::http::seal::run_logged(&env, "invoice document").await;
    });
}

#[derive(Deserialize)]
struct Owed {
    id: String,
}

/// [`sweep`], logged when it made something or failed (the next run retries).
pub async fn sweep_logged(env: &Env, cause: &str) {
    match sweep(env).await {
        Ok(0) => {}
        Ok(made) => worker::console_log!(
            "{}",
            json!({ "level": "info", "msg": "invoice documents", "cause": cause, "made": made })
        ),
        Err(e) => console_error!(
            "{}",
            json!({ "level": "error", "msg": "invoice documents", "cause": cause,
                    "error": e.to_string() })
        ),
    }
}

/// The sweep's part: documents still owed, a few per run.
pub async fn sweep(env: &Env) -> AppResult<usize> {
    let d1 = D1Store::from_env(env)?;
    let results = d1
        .batch(vec![sql!(SELECT_OWED, SWEEP_BATCH)])
        .await
        .map_err(|e| AppError::internal(format!("documents owed: {e}")))?;
    let owed: Vec<Owed> = results.rows(0)?;
    for invoice in &owed {
        keep(env, &invoice.id).await?;
    }
    Ok(owed.len())
}

/// Invoice `id`'s document: the one kept, else made and kept now. `None` for a draft.
pub async fn keep(env: &Env, id: &str) -> AppResult<Option<(String, FileRow)>> {
    let d1 = D1Store::from_env(env)?;
    let mut reads = invoice_reads(id);
    reads.push(sql!(store::SELECT_INVOICE_DOCUMENT, id));
    let results = d1
        .batch(reads)
        .await
        .map_err(|e| AppError::internal(format!("reading invoice {id}: {e}")))?;
    let Some(row) = write::first_row::<InvoiceRow>(&results, 0)? else {
        return Ok(None);
    };
    if row.number.is_none() {
        return Ok(None);
    }
    let name = invoice_file_name(&row);
    if let Some(kept) = write::first_row::<FileRow>(&results, 5)? {
        return Ok(Some((name, kept)));
    }
    // As issued: no payments yet, seen on the day it was issued.
    let issued = row
        .issued_at
        .as_deref()
        .and_then(Millis::parse_rfc3339)
        .unwrap_or_else(now);
    let settings = settings_of(&results, 2)?;
    let customer = customer_name(&results, 3)?;
    let logo = logo_bytes(env, write::first_row(&results, 4)?).await;
    let bytes = invoice_pdf(
        &settings,
        &row,
        &[],
        customer.as_deref(),
        issued,
        logo.as_deref(),
    )?;
    let file_id = new_id()?;
    let key = store::r2_key(&file_id);
    let bucket = bucket(env)?;
    let sha256 = sha256_hex_of(&bytes);
    put(&bucket, &key, &bytes, "application/pdf", &sha256).await?;
    let at = now();
    let scanned = Scanned {
        status: Status::Clean,
        detail: Some(MADE_HERE.to_owned()),
        attempts: 0,
        next_scan_at: None,
    };
    let record = NewFile {
        id: &file_id,
        parent: Parent::Invoice,
        parent_id: Some(id),
        purpose: Purpose::Document,
        name: &name,
        content_type: "application/pdf",
        size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        sha256: &sha256,
        scanned: &scanned,
        signer_name: None,
        uploaded_by: None,
        source: "system",
        now_ms: at.0 as i64,
    };
    let event = system_event(
        "documents",
        Action::FileUploaded,
        &file_id,
        None,
        Some(json!({ "name": name, "content_type": "application/pdf",
                     "size": bytes.len(), "sha256": sha256, "purpose": "document",
                     "parent": { "kind": "invoice", "id": id } })),
    );
    let change = Change::new().guarded(store::insert(&record)).audit(event);
    match write::apply(&d1, change, vec![sql!(store::SELECT_INVOICE_DOCUMENT, id)]).await {
        Ok(written) => {
            let kept = write::first_row::<FileRow>(&written.results, written.reads_from)?
                .ok_or_else(|| AppError::internal("the document just kept is not there"))?;
            Ok(Some((name, kept)))
        }
        // Another run kept it first (the unique index): that one stands.
        Err(Refusal::Duplicate(_)) => {
            let _ = bucket.delete(&key).await;
            let results = d1
                .batch(vec![sql!(store::SELECT_INVOICE_DOCUMENT, id)])
                .await
                .map_err(|e| AppError::internal(format!("reading invoice {id}'s document: {e}")))?;
            Ok(write::first_row::<FileRow>(&results, 0)?.map(|kept| (name, kept)))
        }
        Err(other) => {
            let _ = bucket.delete(&key).await;
            Err(other.into_error(|| AppError::internal("the invoice is gone")))
        }
    }
}

/// Invoice `id`'s document as an email attachment: its file name and bytes.
pub async fn attachment(env: &Env, id: &str) -> AppResult<Option<(String, Vec<u8>)>> {
    let Some((name, kept)) = keep(env, id).await? else {
        return Ok(None);
    };
    Ok(read_bytes(env, &store::r2_key(&kept.id))
        .await?
        .map(|bytes| (name, bytes)))
}
