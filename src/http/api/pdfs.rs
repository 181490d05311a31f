//! `GET /api/v1/invoices/{id}/pdf` and `GET /api/v1/quotes/{id}/pdf`: the document as PDF
//! for staff who may see money, drafts included (stamped DRAFT, to check before sending).
//! Each reads the document, the company settings and the customer's name in one round trip,
//! read ahead with the principal (`prefetch`).

use serde::Deserialize;
use worker::{Env, Response};

use crate::db::files;
use crate::db::invoices::{self as invoice_store, InvoiceRow, PaymentRow};
use crate::db::quotes::{self as quote_store, QuoteRow};
use crate::db::share_links::{SELECT_INVOICE_CUSTOMER_NAME, SELECT_QUOTE_CUSTOMER_NAME};
use crate::db::store::D1Store;
use crate::domain::quotes::number_text;
use crate::error::{AppError, AppResult};
use crate::http::api::now;
use crate::http::api::quotes::{settings_of, settings_statement};
use crate::http::files::logo_bytes;
use crate::http::router::Matched;
use crate::http::{prefetch, respond, RequestCtx};
use crate::sql;
use crate::views::pdf::{file_name, invoice_file_name, invoice_pdf, quote_pdf};
use crate::write::{first_row, Results, Sql};

#[derive(Deserialize)]
struct NameRow {
    name: String,
}

pub(crate) fn customer_name(results: &impl Results, index: usize) -> AppResult<Option<String>> {
    Ok(first_row::<NameRow>(results, index)?.map(|r| r.name))
}

/// The invoice, its payments, the settings, the customer's name and the company's logo.
pub fn invoice_reads(id: &str) -> Vec<Sql> {
    vec![
        sql!(invoice_store::SELECT_BY_ID, id),
        sql!(invoice_store::SELECT_PAYMENTS, id),
        settings_statement(),
        sql!(SELECT_INVOICE_CUSTOMER_NAME, id),
        sql!(files::SELECT_LOGO_FILE),
    ]
}

/// The quote, the settings, the customer's name and the company's logo.
pub fn quote_reads(id: &str) -> Vec<Sql> {
    vec![
        sql!(quote_store::SELECT_BY_ID, id),
        settings_statement(),
        sql!(SELECT_QUOTE_CUSTOMER_NAME, id),
        sql!(files::SELECT_LOGO_FILE),
    ]
}

fn id_param(matched: &Matched) -> &str {
    matched.param("id").unwrap_or_default()
}

/// The invoice's PDF response from [`invoice_reads`]' results.
pub(crate) async fn invoice_response(env: &Env, results: &impl Results) -> AppResult<Response> {
    let row = first_row::<InvoiceRow>(results, 0)?.ok_or_else(|| AppError::not_found("invoice"))?;
    let payments = results.rows::<PaymentRow>(1)?;
    let settings = settings_of(results, 2)?;
    let customer = customer_name(results, 3)?;
    let logo = logo_bytes(env, first_row(results, 4)?).await;
    let bytes = invoice_pdf(
        &settings,
        &row,
        &payments,
        customer.as_deref(),
        now(),
        logo.as_deref(),
    )?;
    Ok(respond::pdf(&invoice_file_name(&row), bytes))
}

/// A quote's file name and PDF from [`quote_reads`]' results, with its row.
pub(crate) async fn quote_document(
    env: &Env,
    results: &impl Results,
) -> AppResult<(QuoteRow, String, Vec<u8>)> {
    let row = first_row::<QuoteRow>(results, 0)?.ok_or_else(|| AppError::not_found("quote"))?;
    let settings = settings_of(results, 1)?;
    let customer = customer_name(results, 2)?;
    let logo = logo_bytes(env, first_row(results, 3)?).await;
    let bytes = quote_pdf(&settings, &row, customer.as_deref(), now(), logo.as_deref())?;
    let name = file_name("quote", Some(&number_text(row.number)));
    Ok((row, name, bytes))
}

/// The quote's row and PDF response from [`quote_reads`]' results.
pub(crate) async fn quote_response(
    env: &Env,
    results: &impl Results,
) -> AppResult<(QuoteRow, Response)> {
    let (row, name, bytes) = quote_document(env, results).await?;
    Ok((row, respond::pdf(&name, bytes)))
}

/// `GET /api/v1/invoices/{id}/pdf`.
pub async fn invoice(env: &Env, rctx: &RequestCtx, matched: &Matched) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let results = prefetch::read(&store, &rctx.ahead, invoice_reads(id_param(matched))).await?;
    invoice_response(env, &results).await
}

/// `GET /api/v1/quotes/{id}/pdf`.
pub async fn quote(env: &Env, rctx: &RequestCtx, matched: &Matched) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let results = prefetch::read(&store, &rctx.ahead, quote_reads(id_param(matched))).await?;
    Ok(quote_response(env, &results).await?.1)
}
