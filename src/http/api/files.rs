//! Files through the API: a record's files listed and added, one file read, served and
//! deleted, the on-site signature, the company's logo and storage. The rules of who may do
//! what are `domain::files::Asker`'s; the pipeline is `http::files`.

use worker::{Env, Request, Response};

use crate::db::files::{self as store, FileRow, ParentRow, StorageRow};
use crate::db::settings;
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::files::{self as rules, Asker, Parent, Purpose, PURGE_AFTER_MS};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::customers::id_param;
use crate::http::api::{event, if_match, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::bounded_bytes;
use crate::http::files::{self as pipeline, FileEntity, Upload};
use crate::http::query::Required;
use crate::http::router::Matched;
use crate::http::{idempotency, prefetch, respond, RequestCtx};
use crate::json;
use crate::views::files::{file_view, storage_view};
use crate::write::{self, Change, Sql};

crate::query! {
    /// `POST …/files`: what the file is called (its type comes from its bytes).
    pub struct UploadQuery {
        /// The file's name, e.g. `boiler.jpg` (its last path segment is kept).
        name: Option<String>,
    }
}

crate::query! {
    /// `POST /api/v1/jobs/{id}/signature`: who signed.
    pub struct SignatureQuery {
        /// The signer's name, as they wrote it under the signature.
        signer_name: Required<String>,
    }
}

fn asker(principal: &Principal) -> Asker<'_> {
    Asker {
        role: principal.role,
        user_id: &principal.user.id,
    }
}

/// What a listing or an upload reads first: the parent (and the company's upload limit),
/// then its files.
pub fn parent_reads(parent: Parent, id: &str) -> Vec<Sql> {
    vec![
        store::parent(parent, Some(id)),
        store::by_parent(parent, Some(id)),
    ]
}

/// What an upload reads first: the parent and the company's upload limit.
pub fn upload_reads(parent: Parent, id: &str) -> Vec<Sql> {
    vec![store::parent(parent, Some(id))]
}

/// The parent as read, if the caller may see it: anyone else's is not found (no probing).
fn visible_parent(
    parent: Parent,
    row: Option<ParentRow>,
    principal: &Principal,
) -> AppResult<ParentRow> {
    match row {
        Some(row) if row.found == 1 && asker(principal).may_see(parent, &row.workers()) => Ok(row),
        _ => Err(AppError::not_found(parent.as_str())),
    }
}

/// The parent an upload goes to, read and checked, before any bytes are read: one the caller
/// may see (else not found) and add files to (else 403). Its row carries the company's upload
/// limit. Uploads through the API and files sent in a chat are checked by this alone.
pub async fn addable_parent(
    d1: &D1Store,
    rctx: &RequestCtx,
    principal: &Principal,
    parent: Parent,
    parent_id: &str,
) -> AppResult<ParentRow> {
    let results = prefetch::read(d1, &rctx.ahead, upload_reads(parent, parent_id)).await?;
    let row = visible_parent(parent, write::first_row(&results, 0)?, principal)?;
    if !asker(principal).may_add(parent, &row.workers()) {
        return Err(AppError::new(ErrorKind::Forbidden).with_detail(format!(
            "Your role cannot add files to this {}.",
            parent.as_str()
        )));
    }
    Ok(row)
}

/// `GET /api/v1/{jobs|visits|customers|sites|quotes|invoices}/{id}/files`: newest first,
/// deleted ones left out; pending and rejected ones included, without a URL.
pub async fn list(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
    parent: Parent,
) -> AppResult<Response> {
    let id = id_param(matched);
    let d1 = D1Store::from_env(env)?;
    let results = prefetch::read(&d1, &rctx.ahead, parent_reads(parent, &id)).await?;
    visible_parent(parent, write::first_row(&results, 0)?, principal)?;
    let rows: Vec<FileRow> = crate::write::Results::rows(&results, 1)?;
    let files: Vec<_> = rows.iter().map(file_view).collect();
    respond::json(200, &json!({ "files": files }))
}

/// `POST /api/v1/{…}/{id}/files?name=` with the file as the body (any declared type: the
/// bytes decide). 201 clean, 202 waiting for the scanner, 413 over the company's limit, 415
/// not an accepted type, 422 malware found, 503 no scanner configured.
pub async fn upload(
    req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
    parent: Parent,
    query: UploadQuery,
) -> AppResult<Response> {
    let name = query.name.unwrap_or_default();
    receive(
        req,
        env,
        rctx,
        principal,
        matched,
        parent,
        Purpose::Attachment,
        &name,
        None,
    )
    .await
}

/// `POST /api/v1/jobs/{id}/signature?signer_name=` with the signature's PNG as the body: the
/// customer signed on the technician's phone. On the job and its timeline, with the name.
pub async fn signature(
    req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
    query: SignatureQuery,
) -> AppResult<Response> {
    let signer = rules::signer_name(&query.signer_name.get()?)
        .map_err(|e| AppError::invalid_field("signer_name", e))?;
    receive(
        req,
        env,
        rctx,
        principal,
        matched,
        Parent::Job,
        Purpose::Signature,
        "signature.png",
        Some(&signer),
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn receive(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
    parent: Parent,
    purpose: Purpose,
    name: &str,
    signer: Option<&str>,
) -> AppResult<Response> {
    let scanner = pipeline::scanner(env)?;
    let parent_id = id_param(matched);
    let d1 = D1Store::from_env(env)?;
    let row = addable_parent(&d1, rctx, principal, parent, &parent_id).await?;
    let limit = usize::try_from(row.max_upload_bytes).unwrap_or(0);
    let bytes = bounded_bytes(&mut req, limit).await?;
    let keyed = idempotency::keyed(&req, principal, &bytes)?;
    let id = new_id()?;
    let mut extra = Vec::new();
    if let Some(signer) = signer {
        extra.push(crate::write::sql::append_audit(&event(
            rctx,
            Some(principal),
            Action::JobSigned,
            "job",
            Some(&parent_id),
            None,
            Some(json!({
                "file_id": id,
                "signer_name": crate::domain::personal::pending(
                    &crate::domain::personal::file_key(&id),
                    signer,
                ),
            })),
        )));
    }
    let upload = Upload {
        id: &id,
        parent,
        parent_id: Some(&parent_id),
        purpose,
        name,
        signer_name: signer,
        source: pipeline::source_of(principal),
    };
    let created = pipeline::store(
        env,
        &d1,
        rctx,
        Some(principal),
        &scanner,
        &upload,
        bytes,
        keyed.as_ref(),
        extra,
    )
    .await?;
    pipeline::answer(&created)
}

/// The file, if the caller may see it (read ahead with the principal when it was).
async fn visible_file(
    d1: &D1Store,
    rctx: &RequestCtx,
    id: &str,
    principal: &Principal,
) -> AppResult<FileRow> {
    let row = prefetch::load::<FileEntity>(d1, &rctx.ahead, id).await?;
    let parent = row
        .parent()
        .ok_or_else(|| AppError::internal("a file of no known parent"))?;
    if row.deleted_at.is_some() || !asker(principal).may_see(parent, &row.workers()) {
        return Err(AppError::not_found("file"));
    }
    Ok(row)
}

/// `GET /api/v1/files/{id}`: the record (its scan status, and its URL once clean).
pub async fn get(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let d1 = D1Store::from_env(env)?;
    let row = visible_file(&d1, rctx, &id_param(matched), principal).await?;
    respond::record::<FileEntity>(200, &row)
}

/// `GET /api/v1/files/{id}/content`: the bytes of a clean file; 409 while pending or rejected.
pub async fn content(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let d1 = D1Store::from_env(env)?;
    let row = visible_file(&d1, rctx, &id_param(matched), principal).await?;
    let if_none_match = req.headers().get("If-None-Match").ok().flatten();
    pipeline::serve(env, &row, if_none_match.as_deref()).await
}

/// `DELETE /api/v1/files/{id}` with `If-Match`: a soft delete (gone from every listing at
/// once, its bytes purged from R2 after 30 days). Deleting the logo also takes it off.
pub async fn delete(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let d1 = D1Store::from_env(env)?;
    let current = visible_file(&d1, rctx, &id, principal).await?;
    let parent = current
        .parent()
        .ok_or_else(|| AppError::internal("a file of no known parent"))?;
    let purpose = current
        .purpose()
        .ok_or_else(|| AppError::internal("a file of no known purpose"))?;
    if !asker(principal).may_delete(
        parent,
        &current.workers(),
        purpose,
        current.uploaded_by.as_deref(),
    ) {
        return Err(
            AppError::new(ErrorKind::Forbidden).with_detail(match purpose {
                Purpose::Document => "A document as it was sent to the customer is kept.",
                _ => "Your role cannot delete this file.",
            }),
        );
    }
    let at = now();
    write::remove::<_, FileEntity>(&d1, &id, current, version, |file| {
        let mut change = Change::new()
            .guarded(store::delete(
                &id,
                version,
                at.0 as i64 + PURGE_AFTER_MS,
                at.0 as i64,
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::FileDeleted,
                "file",
                Some(&id),
                Some(file_view(file)),
                None,
            ));
        if purpose == Purpose::Logo {
            change = change.then(crate::sql!(store::CLEAR_LOGO, id.as_str(), at.to_rfc3339()));
        }
        Ok(change)
    })
    .await?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}

/// `PUT /api/v1/settings/logo?name=` with a PNG or JPEG: the company's logo on share pages,
/// emails and PDFs (the old one stays in the trail, no longer shown).
pub async fn put_logo(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    query: UploadQuery,
) -> AppResult<Response> {
    let scanner = pipeline::scanner(env)?;
    let d1 = D1Store::from_env(env)?;
    let current = settings::get(&d1.db)
        .await?
        .ok_or_else(|| AppError::not_found("company settings"))?;
    let limit = usize::try_from(current.max_upload_bytes).unwrap_or(0);
    let bytes = bounded_bytes(&mut req, limit).await?;
    let id = new_id()?;
    let name = query.name.unwrap_or_default();
    let upload = Upload {
        id: &id,
        parent: Parent::Company,
        parent_id: None,
        purpose: Purpose::Logo,
        name: &name,
        signer_name: None,
        source: pipeline::source_of(principal),
    };
    // The logo changes only once the file is clean (now, or when the sweep scans it).
    let extra = vec![
        crate::sql!(store::SET_LOGO, id.as_str(), now().to_rfc3339()),
        crate::write::sql::append_audit_if_changed(&event(
            rctx,
            Some(principal),
            Action::SettingsUpdated,
            "company_settings",
            Some("1"),
            Some(json!({ "logo_file_id": current.logo_file_id })),
            Some(json!({ "logo_file_id": id })),
        )),
    ];
    let created = pipeline::store(
        env,
        &d1,
        rctx,
        Some(principal),
        &scanner,
        &upload,
        bytes,
        None,
        extra,
    )
    .await?;
    pipeline::answer(&created)
}

/// `GET /api/v1/settings/storage`: what the company keeps in R2, and its upload limit.
pub async fn storage(env: &Env) -> AppResult<Response> {
    let d1 = D1Store::from_env(env)?;
    let results = crate::write::Store::batch(
        &d1,
        vec![crate::sql!(store::SELECT_STORAGE), settings::load()],
    )
    .await
    .map_err(|e| AppError::internal(format!("storage: {e}")))?;
    let usage: StorageRow =
        write::first_row(&results, 0)?.ok_or_else(|| AppError::internal("storage: no row"))?;
    let limit = write::first_row::<settings::Settings>(&results, 1)?
        .map_or(rules::MAX_UPLOAD_BYTES, |s| s.max_upload_bytes);
    respond::json(200, &storage_view(&usage, limit))
}

/// `GET /logo`: the company's current logo, for share pages and emails (public: it is on
/// every document the company sends). 404 while there is none that is clean.
pub async fn public_logo(req: &Request, env: &Env) -> AppResult<Response> {
    let d1 = D1Store::from_env(env)?;
    let results = crate::write::Store::batch(&d1, vec![crate::sql!(store::SELECT_LOGO_FILE)])
        .await
        .map_err(|e| AppError::internal(format!("logo: {e}")))?;
    let row: FileRow = write::first_row(&results, 0)?.ok_or_else(|| AppError::not_found("logo"))?;
    let if_none_match = req.headers().get("If-None-Match").ok().flatten();
    let response = pipeline::serve(env, &row, if_none_match.as_deref()).await?;
    let _ = response
        .headers()
        .set("Cache-Control", "public, max-age=300");
    let _ = response
        .headers()
        .set("Cross-Origin-Resource-Policy", "cross-origin");
    Ok(response)
}
