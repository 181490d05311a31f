//! Invoices and credit notes: drafted (blank, for a job, or from an accepted quote), issued
//! with the next gapless number, paid and refunded, voided, reversed by a credit note. The
//! status shown is derived by the domain from the money and the due date. Owners and
//! dispatchers write; viewers read; technicians do not see them.

use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

use crate::db::audit::Step;
use crate::db::invoices::{
    self as store, CounterRow, InvoiceRow, NewInvoice, NewPayment, PaymentRow,
};
use crate::db::quotes::{PartiesRow, SELECT_PARTIES};
use crate::db::settings::Settings;
use crate::db::{self, last_row, rows_at};
use crate::domain::billing;
use crate::domain::cursor;
use crate::domain::invoices::{
    format_number, void, EntryKind, Invoice, InvoiceChanges, InvoiceStatus,
    DEFAULT_CREDIT_NOTE_PREFIX,
};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::quotes::{check_parties, pricing_of, settings_of, settings_statement};
use crate::http::api::{conflict, event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{json_bytes, MAX_JSON_BODY};
use crate::http::idempotency::{self, Plan};
use crate::http::router::Matched;
use crate::http::{respond, RequestCtx};
use crate::views::fields::Body;
use crate::views::money::{
    invoice_audit, invoice_priced, invoice_status, invoice_summary, invoice_view, payment_view,
    stored_account,
};
use crate::views::url::{parse_limit, query_pairs};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;
/// How often an issue is decided again when another issue took its number first: each round
/// has one winner, so this many concurrent issues all get through.
const NUMBER_ATTEMPTS: u32 = 40;
const MAX_REFERENCE: usize = 200;

const CREATE_FIELDS: [&str; 8] = [
    "customer_id",
    "site_id",
    "job_id",
    "lines",
    "notes",
    "terms",
    "deposit",
    "payment_terms_days",
];
const CHANGE_FIELDS: [&str; 5] = ["lines", "notes", "terms", "deposit", "payment_terms_days"];

fn id_param(matched: &Matched) -> String {
    matched.param("id").unwrap_or_default().to_owned()
}

fn select(database: &D1Database, id: &str) -> AppResult<worker::D1PreparedStatement> {
    db::statement(database, store::SELECT_BY_ID, &[db::text(id)])
}

fn select_payments(database: &D1Database, id: &str) -> AppResult<worker::D1PreparedStatement> {
    db::statement(database, store::SELECT_PAYMENTS, &[db::text(id)])
}

/// The invoice (first statement's row) and its payments (second's) of a batch's results
/// starting at `at`.
fn invoice_at(results: &[worker::D1Result], at: usize) -> AppResult<(InvoiceRow, Vec<PaymentRow>)> {
    let row = rows_at::<InvoiceRow>(results, at)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("invoice"))?;
    Ok((row, rows_at::<PaymentRow>(results, at + 1)?))
}

/// The invoice, its payments and any `extra` reads, in one round trip.
async fn load(
    database: &D1Database,
    id: &str,
    extra: Vec<worker::D1PreparedStatement>,
) -> AppResult<(InvoiceRow, Vec<PaymentRow>, Vec<worker::D1Result>)> {
    let mut statements = vec![select(database, id)?, select_payments(database, id)?];
    statements.extend(extra);
    let results = db::read_batch(database, statements).await?;
    let (row, payments) = invoice_at(&results, 0)?;
    Ok((row, payments, results))
}

/// A 409 carrying the invoice as it is now.
fn stale(row: &InvoiceRow, payments: &[PaymentRow], now: Millis) -> AppError {
    match invoice_view(row, payments, now) {
        Ok(view) => conflict("The invoice changed since you read it.", view),
        Err(err) => err,
    }
}

fn respond_invoice(
    status: u16,
    row: &InvoiceRow,
    payments: &[PaymentRow],
    now: Millis,
) -> AppResult<Response> {
    Ok(with_etag(
        respond::json(status, &invoice_view(row, payments, now)?)?,
        row.version,
    ))
}

fn shown_status(row: &InvoiceRow, now: Millis) -> AppResult<InvoiceStatus> {
    let invoice = row.to_domain()?;
    invoice_status(row, &stored_account(row, &invoice), now)
}

fn refuse_credit_note(row: &InvoiceRow, what: &str) -> AppResult<()> {
    if row.is_credit_note() {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail(format!("A credit note {what}."))
            .with_extension("kind", json!("credit_note")));
    }
    Ok(())
}

fn changes_from(body: &mut Body, default_tax_rate_ppm: i64) -> (InvoiceChanges, Option<i64>) {
    let changes = InvoiceChanges {
        lines: body.take_lines("lines", default_tax_rate_ppm),
        notes: body.take_nullable("notes", "text or null"),
        terms: body.take_nullable("terms", "text or null"),
        deposit: body.take("deposit", "a whole number of minor units"),
    };
    let days = body.take("payment_terms_days", "a whole number of days");
    (changes, days)
}

fn check_days(days: i64) -> AppResult<i64> {
    billing::check_payment_terms_days(days)
        .map_err(|message| AppError::invalid_field("payment_terms_days", message))
}

/// `GET /api/v1/invoices?status=&customer=&kind=&job=&cursor=&limit=`, newest first. `status`
/// is the shown one (`paid`, `overdue`, … as derived now).
pub async fn list(req: &Request, env: &Env) -> AppResult<Response> {
    let mut status = None;
    let mut customer = None;
    let mut kind = None;
    let mut job = None;
    let mut after = None;
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in query_pairs(&req.inner().url()) {
        match key.as_str() {
            "status" => {
                status = Some(
                    InvoiceStatus::parse(&value)
                        .map(InvoiceStatus::as_str)
                        .ok_or_else(|| {
                            AppError::invalid_field(
                                "status",
                                "One of draft, issued, partially_paid, paid, overdue, void.",
                            )
                        })?,
                )
            }
            "kind" => {
                kind = Some(match value.as_str() {
                    "invoice" | "credit_note" => value,
                    _ => {
                        return Err(AppError::invalid_field(
                            "kind",
                            "One of invoice, credit_note.",
                        ))
                    }
                })
            }
            "customer" => customer = Some(value),
            "job" => job = Some(value),
            "cursor" => after = Some(cursor::decode(&value)?),
            "limit" => limit = parse_limit(&value, MAX_LIMIT)?,
            other => {
                return Err(AppError::bad_request(format!(
                    "Unknown query parameter {other:?}."
                )))
            }
        }
    }
    let now = now();
    let (after_at, after_id) = after.unzip();
    let rows: Vec<InvoiceRow> = db::all(
        &db::database(env)?,
        store::SELECT_PAGE,
        &[
            db::opt_text(status),
            db::opt_text(customer.as_deref()),
            db::opt_text(kind.as_deref()),
            db::opt_text(job.as_deref()),
            db::opt_text(after_at.as_deref()),
            db::opt_text(after_id.as_deref()),
            db::int(limit),
            db::text(&now.to_rfc3339()),
        ],
    )
    .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| cursor::encode(&r.created_at, &r.id)))
        .flatten();
    let invoices = rows
        .iter()
        .map(|r| invoice_summary(r, now))
        .collect::<AppResult<Vec<_>>>()?;
    respond::json(
        200,
        &json!({ "invoices": invoices, "next_cursor": next_cursor }),
    )
}

/// `GET /api/v1/invoices/{id}`: lines, totals, payments, balance and shown status.
pub async fn get(env: &Env, matched: &Matched) -> AppResult<Response> {
    let (row, payments, _) = load(&db::database(env)?, &id_param(matched), vec![]).await?;
    respond_invoice(200, &row, &payments, now())
}

/// `POST /api/v1/invoices` `{customer_id | job_id, site_id?, lines?, notes?, terms?,
/// deposit?, payment_terms_days?}` (honours `Idempotency-Key`): a draft, blank or for a job
/// (the job's customer and site), in the company's currency, rounding and payment terms.
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let bytes = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &CREATE_FIELDS)?;
    let database = db::database(env)?;
    let keyed = match idempotency::plan(&req, &database, principal, &bytes).await? {
        Plan::Replay { status, location } => return replay(&database, status, &location).await,
        Plan::Create(keyed) => keyed,
    };
    let customer_id: Option<String> = body.take("customer_id", "a string id");
    let site_id: Option<String> = body.take("site_id", "a string id");
    let job_id: Option<String> = body.take("job_id", "a string id");
    let results = db::read_batch(
        &database,
        vec![
            settings_statement(&database)?,
            db::statement(
                &database,
                SELECT_PARTIES,
                &[
                    db::opt_text(customer_id.as_deref()),
                    db::opt_text(site_id.as_deref()),
                    db::opt_text(job_id.as_deref()),
                ],
            )?,
        ],
    )
    .await?;
    let settings = settings_of(&results, 0)?;
    let (changes, days) = changes_from(&mut body, settings.default_tax_rate_ppm);
    body.finish()?;
    let parties = check_parties(
        rows_at::<PartiesRow>(&results, 1)?.into_iter().next(),
        customer_id.is_some(),
        site_id.is_some(),
        job_id.is_some(),
        false,
    )?;
    let invoice = Invoice::create(changes, pricing_of(&settings)?)?;
    let days = check_days(days.unwrap_or(settings.payment_terms_days))?;
    let totals = invoice.totals()?;
    let now = now();
    let id = new_id()?;
    let location = format!("/api/v1/invoices/{id}");
    let stamp = now.to_rfc3339();
    let new = NewInvoice {
        id: &id,
        customer_id: &parties.customer_id,
        site_id: parties.site_id.as_deref(),
        job_id: parties.job_id.as_deref(),
        invoice: &invoice,
        totals: &totals,
        payment_terms_days: days,
        now: &stamp,
    };
    let written = db::audit::write(&database, || {
        let mut steps = vec![Step::guarded(
            store::insert(&database, &new)?,
            event(
                rctx,
                Some(principal),
                "invoice.created",
                "invoice",
                Some(&id),
                None,
                Some(json!({
                    "customer_id": parties.customer_id, "site_id": parties.site_id,
                    "job_id": parties.job_id,
                    "invoice": invoice_audit(&invoice, totals.total, days),
                })),
            ),
        )];
        if let Some(k) = &keyed {
            steps.push(Step::Plain(db::idempotency::insert(
                &database,
                &k.user_id,
                &k.key,
                &k.fingerprint,
                201,
                &location,
                now.0,
            )?));
        }
        steps.push(Step::Plain(select(&database, &id)?));
        Ok((steps, vec![]))
    })
    .await;
    if let Some(location) = idempotency::winner_of_race(&database, &written, &keyed).await? {
        return replay(&database, 201, &location).await;
    }
    let row = last_row::<InvoiceRow>(&written?)?.ok_or_else(|| {
        AppError::invalid_field(
            "customer_id",
            "The customer was archived, or its site or job changed, meanwhile.",
        )
    })?;
    let response = respond_invoice(201, &row, &[], now)?;
    let _ = response.headers().set("Location", &location);
    Ok(response)
}

async fn replay(database: &D1Database, status: u16, location: &str) -> AppResult<Response> {
    let id = location.rsplit('/').next().unwrap_or_default();
    let (row, payments, _) = load(database, id, vec![]).await?;
    let response = respond_invoice(status, &row, &payments, now())?;
    let _ = response.headers().set("Location", location);
    Ok(response)
}

/// A 409 unless the invoice is a draft: what is issued is final.
fn require_draft(row: &InvoiceRow, payments: &[PaymentRow], now: Millis) -> AppResult<()> {
    if row.status == "draft" {
        return Ok(());
    }
    let shown = shown_status(row, now)?;
    Err(AppError::new(ErrorKind::Conflict)
        .with_detail(format!(
            "This invoice is {}: an issued invoice is final. Void it, or reverse it with a \
             credit note once paid.",
            shown.as_str()
        ))
        .with_extension("current_status", json!(shown.as_str()))
        .with_extension("current", invoice_view(row, payments, now)?))
}

/// A PATCH's body (or a preview's) read against the stored invoice.
struct Change {
    current: InvoiceRow,
    payments: Vec<PaymentRow>,
    changes: InvoiceChanges,
    /// The payment terms asked for, if any.
    days: Option<i64>,
}

/// Reads the body and the invoice with its payments and the company's defaults (one batch);
/// lines without a tax rate get the default.
async fn change_of(req: &mut Request, database: &D1Database, id: &str) -> AppResult<Change> {
    let bytes = json_bytes(req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &CHANGE_FIELDS)?;
    let (current, payments, results) =
        load(database, id, vec![settings_statement(database)?]).await?;
    let settings: Settings = settings_of(&results, 2)?;
    let (changes, days) = changes_from(&mut body, settings.default_tax_rate_ppm);
    body.finish()?;
    Ok(Change {
        current,
        payments,
        changes,
        days,
    })
}

/// `PATCH /api/v1/invoices/{id}` with `If-Match`: a draft's lines, notes, terms, deposit and
/// payment terms.
pub async fn update(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let id = id_param(matched);
    let database = db::database(env)?;
    let Change {
        current,
        payments,
        changes,
        days,
    } = change_of(&mut req, &database, &id).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, &payments, now));
    }
    require_draft(&current, &payments, now)?;
    let before = current.to_domain()?;
    let after = before.clone().apply(changes)?;
    let days = check_days(days.unwrap_or(current.payment_terms_days))?;
    let totals = after.totals()?;
    let stamp = now.to_rfc3339();
    let results = db::audit::write(&database, || {
        Ok((
            vec![
                Step::guarded(
                    store::update(&database, &id, version, &after, &totals, days, &stamp)?,
                    event(
                        rctx,
                        Some(principal),
                        "invoice.updated",
                        "invoice",
                        Some(&id),
                        Some(invoice_audit(
                            &before,
                            current.total,
                            current.payment_terms_days,
                        )),
                        Some(invoice_audit(&after, totals.total, days)),
                    ),
                ),
                Step::Plain(select(&database, &id)?),
                Step::Plain(select_payments(&database, &id)?),
            ],
            vec![],
        ))
    })
    .await?;
    let (row, payments) = invoice_at(&results, 1)?;
    if results.first().map(db::changes) != Some(1) {
        return Err(stale(&row, &payments, now));
    }
    respond_invoice(200, &row, &payments, now)
}

/// `POST /api/v1/invoices/{id}/preview` with a PATCH's body: the invoice as that change would
/// make it, priced and checked by the domain, without saving anything (the editor's live
/// totals). Answers `{lines, notes, terms, deposit, payment_terms_days, totals}`.
pub async fn preview(mut req: Request, env: &Env, matched: &Matched) -> AppResult<Response> {
    let Change {
        current,
        changes,
        days,
        ..
    } = change_of(&mut req, &db::database(env)?, &id_param(matched)).await?;
    let after = current.to_domain()?.apply(changes)?;
    let days = check_days(days.unwrap_or(current.payment_terms_days))?;
    let mut view = Value::Object(invoice_priced(&after)?);
    view["payment_terms_days"] = json!(days);
    respond::json(200, &view)
}

/// `DELETE /api/v1/invoices/{id}` with `If-Match`: drafts only (they have no number, so no
/// gap opens). A draft converted from a quote frees the quote to be converted again.
pub async fn delete(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let database = db::database(env)?;
    let (current, payments, _) = load(&database, &id, vec![]).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, &payments, now));
    }
    require_draft(&current, &payments, now)?;
    let before = current.to_domain()?;
    let stamp = now.to_rfc3339();
    let results = db::audit::write(&database, || {
        Ok((
            vec![
                Step::Plain(db::statement(
                    &database,
                    store::RELEASE_QUOTE,
                    &[db::text(&id), db::int(version), db::text(&stamp)],
                )?),
                Step::guarded(
                    db::statement(
                        &database,
                        store::DELETE_DRAFT,
                        &[db::text(&id), db::int(version)],
                    )?,
                    event(
                        rctx,
                        Some(principal),
                        "invoice.deleted",
                        "invoice",
                        Some(&id),
                        Some(invoice_audit(
                            &before,
                            current.total,
                            current.payment_terms_days,
                        )),
                        None,
                    ),
                ),
            ],
            vec![],
        ))
    })
    .await?;
    if results.get(1).map(db::changes) != Some(1) {
        let (row, payments, _) = load(&database, &id, vec![]).await?;
        return Err(stale(&row, &payments, now));
    }
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}

/// A short random pause before deciding a number again, so racing issuers spread out.
async fn pause(attempt: u32) {
    let mut jitter = [0u8; 1];
    // Without entropy the pause is simply the shortest one.
    let _ = getrandom::fill(&mut jitter);
    let ms = 1 + u64::from(jitter[0]) % (4 * u64::from(attempt.min(8)) + 1);
    worker::Delay::from(std::time::Duration::from_millis(ms)).await;
}

fn counter_of(results: &[worker::D1Result], index: usize) -> AppResult<u64> {
    let value = rows_at::<CounterRow>(results, index)?
        .into_iter()
        .next()
        .map_or(0, |c| c.value);
    u64::try_from(value).map_err(|_| AppError::internal("a counter below zero"))
}

fn counter_statement(database: &D1Database, name: &str) -> AppResult<worker::D1PreparedStatement> {
    db::statement(database, store::SELECT_COUNTER, &[db::text(name)])
}

/// `POST /api/v1/invoices/{id}/issue` with `If-Match`: the draft takes the next number of the
/// gapless counter (`INV-0001`, the company's prefix), is dated now and falls due after its
/// payment terms. The number is decided from the counter as read and taken by
/// compare-and-set in the issuing batch; if a concurrent issue took it first, nothing was
/// written and the issue is decided again on the new counter.
pub async fn issue(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let database = db::database(env)?;
    for attempt in 0..NUMBER_ATTEMPTS {
        if attempt > 0 {
            pause(attempt).await;
        }
        let (current, payments, results) = load(
            &database,
            &id,
            vec![
                settings_statement(&database)?,
                counter_statement(&database, "invoice")?,
            ],
        )
        .await?;
        let settings = settings_of(&results, 2)?;
        let counter = counter_of(&results, 3)?;
        let now = now();
        if current.version != version {
            return Err(stale(&current, &payments, now));
        }
        refuse_credit_note(&current, "is issued when it is made")?;
        let invoice = current.to_domain()?;
        let due_ms = u64::try_from(current.payment_terms_days).unwrap_or(0) * Millis::DAY;
        let issued = invoice.issue(
            shown_status(&current, now)?,
            &settings.invoice_prefix,
            counter,
            now,
            now.plus(due_ms),
        )?;
        let sequence = i64::try_from(issued.counter)
            .map_err(|_| AppError::internal("invoice counter overflow"))?;
        let stamp = now.to_rfc3339();
        let due = issued.due_at.to_rfc3339();
        let results = db::audit::write(&database, || {
            Ok((
                vec![
                    Step::Plain(db::statement(
                        &database,
                        store::BUMP_INVOICE_COUNTER,
                        &[db::text(&id), db::int(version), db::int(sequence)],
                    )?),
                    Step::guarded(
                        db::statement(
                            &database,
                            store::ISSUE,
                            &[
                                db::int(sequence),
                                db::text(&issued.number),
                                db::text(&stamp),
                                db::text(&due),
                                db::text(&id),
                                db::int(version),
                            ],
                        )?,
                        event(
                            rctx,
                            Some(principal),
                            "invoice.issued",
                            "invoice",
                            Some(&id),
                            Some(json!({ "status": "draft" })),
                            Some(json!({
                                "status": "issued", "number": issued.number,
                                "sequence": sequence, "issued_at": stamp, "due_at": due,
                                "total": issued.total,
                            })),
                        ),
                    ),
                    Step::Plain(select(&database, &id)?),
                    Step::Plain(select_payments(&database, &id)?),
                ],
                vec![],
            ))
        })
        .await?;
        let (row, payments) = invoice_at(&results, 2)?;
        if results.get(1).map(db::changes) == Some(1) {
            if row.number.as_deref()
                != Some(format_number(&settings.invoice_prefix, issued.counter).as_str())
            {
                return Err(AppError::internal(format!(
                    "invoice {id} was numbered unexpectedly"
                )));
            }
            return respond_invoice(200, &row, &payments, now);
        }
        // Unchanged and still the draft we read: another issue took the number. Decide again.
        if !(row.status == "draft" && row.version == version) {
            return Err(stale(&row, &payments, now));
        }
    }
    Err(AppError::unavailable(
        "Many invoices are being issued at once; please retry.",
        format!("invoice {id}: the number kept being taken"),
    ))
}

/// `POST /api/v1/invoices/{id}/void` with `If-Match`: an issued or overdue invoice that keeps
/// no money is voided (its number stays used). Paid money is refunded first; a paid invoice
/// is reversed with a credit note instead.
pub async fn void_invoice(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let database = db::database(env)?;
    let (current, payments, _) = load(&database, &id, vec![]).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, &payments, now));
    }
    refuse_credit_note(&current, "is not voided")?;
    let invoice = current.to_domain()?;
    let entries = payments
        .iter()
        .map(PaymentRow::to_entry)
        .collect::<AppResult<Vec<_>>>()?;
    let account = invoice.account(&entries)?;
    let shown = invoice_status(&current, &account, now)?;
    void(shown, &account)?;
    let stamp = now.to_rfc3339();
    let results = db::audit::write(&database, || {
        Ok((
            vec![
                Step::guarded(
                    db::statement(
                        &database,
                        store::VOID,
                        &[db::text(&stamp), db::text(&id), db::int(version)],
                    )?,
                    event(
                        rctx,
                        Some(principal),
                        "invoice.voided",
                        "invoice",
                        Some(&id),
                        Some(json!({ "status": shown.as_str() })),
                        Some(json!({ "status": "void", "number": current.number })),
                    ),
                ),
                Step::Plain(select(&database, &id)?),
                Step::Plain(select_payments(&database, &id)?),
            ],
            vec![],
        ))
    })
    .await?;
    let (row, payments) = invoice_at(&results, 1)?;
    if results.first().map(db::changes) != Some(1) {
        return Err(stale(&row, &payments, now));
    }
    respond_invoice(200, &row, &payments, now)
}

/// `POST /api/v1/invoices/{id}/payments` `{kind?, amount, method, reference?}` with
/// `If-Match` (honours `Idempotency-Key`): a payment (the default) or a refund, by the
/// domain's account rules: a payment at most the balance on an issued invoice, a refund at
/// most what was paid. Answers `201 {payment, invoice}`.
pub async fn record_payment(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let bytes = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &["kind", "amount", "method", "reference"])?;
    let kind: Option<String> = body.take("kind", "payment or refund");
    let amount: Option<i64> = body.take("amount", "a whole number of minor units");
    let method: Option<String> = body.take("method", "text");
    let reference: Option<String> = body.take("reference", "text");
    body.finish()?;
    let kind = match kind.as_deref() {
        None | Some("payment") => EntryKind::Payment,
        Some("refund") => EntryKind::Refund,
        Some(_) => {
            return Err(AppError::invalid_field("kind", "One of payment, refund."));
        }
    };
    let reference = reference
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reference
        .as_deref()
        .is_some_and(|r| r.chars().count() > MAX_REFERENCE)
    {
        return Err(AppError::invalid_field(
            "reference",
            "A reference of at most 200 characters.",
        ));
    }
    let id = id_param(matched);
    let database = db::database(env)?;
    let keyed = match idempotency::plan(&req, &database, principal, &bytes).await? {
        Plan::Replay { status, location } => {
            return replay_payment(&database, status, &location).await
        }
        Plan::Create(keyed) => keyed,
    };
    let (current, payments, _) = load(&database, &id, vec![]).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, &payments, now));
    }
    refuse_credit_note(&current, "takes no payments")?;
    let invoice = current.to_domain()?;
    let entries = payments
        .iter()
        .map(PaymentRow::to_entry)
        .collect::<AppResult<Vec<_>>>()?;
    let account = invoice.account(&entries)?;
    let shown = invoice_status(&current, &account, now)?;
    let amount = amount.unwrap_or(0);
    let method = method.unwrap_or_default();
    let entry = match kind {
        EntryKind::Payment => account.payment(shown, amount, &method, now)?,
        EntryKind::Refund => account.refund(amount, &method, now)?,
    };
    let mut after = account;
    after.record(&entry)?;
    let payment_id = new_id()?;
    let location = format!("/api/v1/invoices/{id}/payments/{payment_id}");
    let stamp = now.to_rfc3339();
    let new = NewPayment {
        id: &payment_id,
        invoice_id: &id,
        invoice_version: version,
        entry: &entry,
        reference: reference.as_deref(),
        recorded_by: Some(&principal.user.id),
        external_id: None,
        now: &stamp,
    };
    let (action, kind_name) = match kind {
        EntryKind::Payment => ("invoice.payment_recorded", "payment"),
        EntryKind::Refund => ("invoice.refund_recorded", "refund"),
    };
    let picture = |account: &crate::domain::invoices::Account| {
        json!({
            "paid": account.paid, "refunded": account.refunded, "balance": account.balance(),
            "status": current.stored_status().map(|s| s.derive(account, current.due(), now).as_str()).unwrap_or("issued"),
        })
    };
    let written = db::audit::write(&database, || {
        let [insert, sums] = store::record_payment(&database, &new)?;
        let mut later = picture(&after);
        later["payment"] = json!({
            "id": payment_id, "kind": kind_name, "amount": entry.amount,
            "method": entry.method.as_str(), "reference": reference,
        });
        let mut steps = vec![
            Step::Plain(insert),
            Step::guarded(
                sums,
                event(
                    rctx,
                    Some(principal),
                    action,
                    "invoice",
                    Some(&id),
                    Some(picture(&account)),
                    Some(later),
                ),
            ),
        ];
        if let Some(k) = &keyed {
            steps.push(Step::Plain(db::idempotency::insert(
                &database,
                &k.user_id,
                &k.key,
                &k.fingerprint,
                201,
                &location,
                now.0,
            )?));
        }
        steps.push(Step::Plain(select(&database, &id)?));
        steps.push(Step::Plain(select_payments(&database, &id)?));
        Ok((steps, vec![]))
    })
    .await;
    if let Some(location) = idempotency::winner_of_race(&database, &written, &keyed).await? {
        return replay_payment(&database, 201, &location).await;
    }
    let results = written?;
    let (row, payments) = invoice_at(&results, results.len() - 2)?;
    if results.get(1).map(db::changes) != Some(1) {
        return Err(stale(&row, &payments, now));
    }
    payment_response(201, &row, &payments, &payment_id, now, &location)
}

fn payment_response(
    status: u16,
    row: &InvoiceRow,
    payments: &[PaymentRow],
    payment_id: &str,
    now: Millis,
    location: &str,
) -> AppResult<Response> {
    let payment = payments
        .iter()
        .find(|p| p.id == payment_id)
        .ok_or_else(|| AppError::not_found("payment"))?;
    let body = json!({
        "payment": payment_view(payment),
        "invoice": invoice_view(row, payments, now)?,
    });
    let response = with_etag(respond::json(status, &body)?, row.version);
    let _ = response.headers().set("Location", location);
    Ok(response)
}

async fn replay_payment(database: &D1Database, status: u16, location: &str) -> AppResult<Response> {
    // /api/v1/invoices/{id}/payments/{payment_id}
    let mut parts = location.rsplit('/');
    let payment_id = parts.next().unwrap_or_default().to_owned();
    let invoice_id = parts.nth(1).unwrap_or_default().to_owned();
    let (row, payments, _) = load(database, &invoice_id, vec![]).await?;
    payment_response(status, &row, &payments, &payment_id, now(), location)
}

/// `POST /api/v1/invoices/{id}/credit-note` with `If-Match`: reverses a paid invoice in full
/// with a credit note (kind `credit_note`, the same lines and totals, numbered `CN-0001` from
/// its own gapless counter, issued at once). One per invoice. Answers `201` with the credit
/// note.
pub async fn credit_note(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let database = db::database(env)?;
    for attempt in 0..NUMBER_ATTEMPTS {
        if attempt > 0 {
            pause(attempt).await;
        }
        let (current, payments, results) = load(
            &database,
            &id,
            vec![counter_statement(&database, "credit_note")?],
        )
        .await?;
        let counter = counter_of(&results, 2)?;
        let now = now();
        if current.version != version {
            return Err(stale(&current, &payments, now));
        }
        refuse_credit_note(&current, "is not reversed by another")?;
        let invoice = current.to_domain()?;
        let entries = payments
            .iter()
            .map(PaymentRow::to_entry)
            .collect::<AppResult<Vec<_>>>()?;
        let account = invoice.account(&entries)?;
        let shown = invoice_status(&current, &account, now)?;
        let note = invoice
            .credit_note(shown, current.credit_note_id.is_some())
            .map_err(|err| match &current.credit_note_id {
                Some(existing) => err.with_extension("credit_note_id", json!(existing)),
                None => err,
            })?;
        let sequence = counter
            .checked_add(1)
            .ok_or_else(|| AppError::internal("credit note counter overflow"))?;
        let number = format_number(DEFAULT_CREDIT_NOTE_PREFIX, sequence);
        let sequence = i64::try_from(sequence)
            .map_err(|_| AppError::internal("credit note counter overflow"))?;
        let note_id = new_id()?;
        let stamp = now.to_rfc3339();
        let notes = format!(
            "Reverses invoice {}.",
            current.number.as_deref().unwrap_or_default()
        );
        let [totals_json, subtotal, discount_total, tax_total, total] =
            store::totals_params(&note.totals);
        let lines = store::lines_json(&note.lines);
        let results = db::audit::write(&database, || {
            Ok((
                vec![
                    Step::Plain(db::statement(
                        &database,
                        store::BUMP_CREDIT_NOTE_COUNTER,
                        &[db::text(&id), db::int(version), db::int(sequence)],
                    )?),
                    Step::Plain(db::statement(
                        &database,
                        store::INSERT_CREDIT_NOTE,
                        &[
                            db::text(&id),
                            db::int(version),
                            db::int(sequence),
                            db::text(&note_id),
                            db::text(&number),
                            db::text(&notes),
                            db::text(&stamp),
                            db::text(&lines),
                            totals_json.clone(),
                            subtotal.clone(),
                            discount_total.clone(),
                            tax_total.clone(),
                            total.clone(),
                        ],
                    )?),
                    Step::guarded(
                        db::statement(
                            &database,
                            store::MARK_CREDITED,
                            &[
                                db::text(&stamp),
                                db::text(&id),
                                db::int(version),
                                db::text(&note_id),
                            ],
                        )?,
                        event(
                            rctx,
                            Some(principal),
                            "invoice.credited",
                            "invoice",
                            Some(&id),
                            Some(json!({ "status": shown.as_str() })),
                            Some(json!({
                                "credit_note_id": note_id, "credit_note_number": number,
                                "total": note.totals.total,
                            })),
                        ),
                    ),
                    Step::Plain(select(&database, &note_id)?),
                    Step::Plain(select_payments(&database, &note_id)?),
                ],
                vec![],
            ))
        })
        .await?;
        if results.get(2).map(db::changes) == Some(1) {
            let (row, payments) = invoice_at(&results, 3)?;
            let response = respond_invoice(201, &row, &payments, now)?;
            let _ = response
                .headers()
                .set("Location", &format!("/api/v1/invoices/{note_id}"));
            return Ok(response);
        }
        let (row, payments, _) = load(&database, &id, vec![]).await?;
        if !(row.version == version && row.credit_note_id.is_none()) {
            return Err(stale(&row, &payments, now));
        }
    }
    Err(AppError::unavailable(
        "Many credit notes are being issued at once; please retry.",
        format!("invoice {id}: the credit note number kept being taken"),
    ))
}
