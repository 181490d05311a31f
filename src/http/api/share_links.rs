//! Share links' REST side: staff make a link that shows one quote or invoice to its customer
//! (the token is answered once and stored only as its SHA-256), and revoke it. The page the
//! link opens is not served here.

use crate::json;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db;
use crate::db::invoices::{self as invoice_store, InvoiceRow};
use crate::db::quotes::{self as quote_store, QuoteRow};
use crate::db::share_links::{self as store, ShareLinkRow};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::auth::session::sha256_hex;
use crate::domain::share_links::{self as links, DocumentKind};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::{event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{optional_json_bytes, MAX_JSON_BODY};
use crate::http::router::Matched;
use crate::http::{crypto, respond, RequestCtx};
use crate::views::fields::Body;
use crate::views::money::{invoice_status, quote_status, stored_account};
use crate::write::{self, Change, Entity};

crate::row_entity!(
    /// A share link (never its token), as the engine reads and writes it.
    ShareLinkEntity,
    ShareLinkRow,
    "share link",
    "/api/v1/share-links",
    store::load,
    view,
);

fn view(row: &ShareLinkRow) -> Value {
    json!({
        "id": row.id,
        "document_kind": row.document_kind,
        "document_id": row.document_id,
        "created_by": row.created_by,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
        "last_used_at": row.last_used_at,
        "version": row.version,
    })
}

/// `POST /api/v1/quotes/{id}/share` and `POST /api/v1/invoices/{id}/share`
/// `{expires_in_days?}`: a new link to the document, answered once with its token and URL.
/// A quote is shared once sent; an invoice once issued and while not void.
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
    kind: DocumentKind,
) -> AppResult<Response> {
    let bytes = optional_json_bytes(&mut req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &["expires_in_days"])?;
    let days: Option<i64> = body.take("expires_in_days", "a whole number of days");
    body.finish()?;
    let document_id = matched.param("id").unwrap_or_default().to_owned();
    let database = db::database(env)?;
    let now = now();
    match kind {
        DocumentKind::Quote => {
            let row: QuoteRow = db::first(
                &database,
                quote_store::SELECT_BY_ID,
                &[db::text(&document_id)],
            )
            .await?
            .ok_or_else(|| AppError::not_found("quote"))?;
            links::check_quote(quote_status(&row, now)?)?;
        }
        DocumentKind::Invoice => {
            let row: InvoiceRow = db::first(
                &database,
                invoice_store::SELECT_BY_ID,
                &[db::text(&document_id)],
            )
            .await?
            .ok_or_else(|| AppError::not_found("invoice"))?;
            let account = stored_account(&row, &row.to_domain()?);
            links::check_invoice(invoice_status(&row, &account, now)?)?;
        }
    }
    let expires = links::expires_at(now, days)?.to_rfc3339();
    let token = crypto::random_string(links::TOKEN_LEN)?;
    let id = new_id()?;
    let stamp = now.to_rfc3339();
    let change = Change::new()
        .guarded(store::insert(
            &id,
            &sha256_hex(&token),
            kind.as_str(),
            &document_id,
            &principal.user.id,
            &stamp,
            &expires,
        ))
        .audit(event(
            rctx,
            Some(principal),
            Action::ShareLinkCreated,
            kind.as_str(),
            Some(&document_id),
            None,
            Some(json!({ "share_link_id": id, "expires_at": expires })),
        ));
    let store = D1Store::from_env(env)?;
    let created = write::create::<_, ShareLinkEntity>(
        &store,
        &id,
        None,
        change,
        || {
            AppError::new(ErrorKind::Conflict).with_detail(
                "The document changed meanwhile and is no longer shared; read it again.",
            )
        },
        now.0 as i64,
    )
    .await?;
    // The token and its URL are in this answer only.
    let mut shown = ShareLinkEntity::view(&created.record);
    shown["token"] = json!(token);
    shown["url"] = json!(links::url(&token));
    Ok(with_etag(
        respond::json(201, &shown)?,
        ShareLinkEntity::version(&created.record),
    ))
}

/// `DELETE /api/v1/share-links/{id}` with `If-Match`: the link stops opening at once.
pub async fn revoke(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    write::update::<_, ShareLinkEntity>(&store, &id, version, |current| {
        if current.revoked_at.is_some() {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail("This share link is already revoked.")
                .with_extension("current", view(current)));
        }
        let stamp = now().to_rfc3339();
        let document_kind = if current.document_kind == "quote" {
            "quote"
        } else {
            "invoice"
        };
        Ok(Change::new()
            .guarded(store::revoke(&id, version, &stamp))
            .audit(event(
                rctx,
                Some(principal),
                Action::ShareLinkRevoked,
                document_kind,
                Some(&current.document_id),
                Some(json!({ "share_link_id": id, "revoked_at": null })),
                Some(json!({ "share_link_id": id, "revoked_at": stamp })),
            )))
    })
    .await?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
