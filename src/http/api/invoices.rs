//! Invoices and credit notes: drafted (blank, for a job, or from an accepted quote), issued
//! with the next gapless number, paid and refunded, voided, reversed by a credit note. The
//! status shown is derived by the domain from the money and the due date. Owners and
//! dispatchers write; viewers read; technicians do not see them.

use crate::json;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db;
use crate::db::invoices::{
    self as store, CounterRow, InvoiceRow, NewInvoice, NewPayment, PaymentRow,
};
use crate::db::quotes::{PartiesRow, SELECT_PARTIES};
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::billing;
use crate::domain::cursor;
use crate::domain::invoices::{
    format_number, void, Account, EntryKind, Invoice, InvoiceChanges, InvoiceStatus,
    DEFAULT_CREDIT_NOTE_PREFIX,
};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::quotes::{
    check_parties, parties_changed, pricing_of, read, settings_of, settings_statement,
};
use crate::http::api::{event, if_match, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_bytes, MAX_JSON_BODY};
use crate::http::idempotency;
use crate::http::query::{Cursor, InvoiceKind, Limit};
use crate::http::router::Matched;
use crate::http::{prefetch, respond, RequestCtx};
use crate::sql;
use crate::views::fields::Body;
use crate::views::money::{
    invoice_audit, invoice_status, stored_account, to_json, InvoicePreview, InvoiceSummary,
    InvoiceView, PaymentView,
};
use crate::write::{self, Change, Created, Entity, Refusal, Results, Sql, Store};

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

/// An invoice (or credit note) as the engine reads and writes it: the row, its payments, and
/// its view rendered when read (the view derives the status at that time, and fails on a
/// corrupt row).
pub struct InvoiceRecord {
    pub row: InvoiceRow,
    pub payments: Vec<PaymentRow>,
    /// The [`InvoiceView`] as the JSON `Entity::view` answers.
    view: Value,
}

pub struct InvoiceEntity;

impl Entity for InvoiceEntity {
    type Record = InvoiceRecord;
    const NAME: &'static str = "invoice";
    const COLLECTION: &'static str = "/api/v1/invoices";

    fn load(id: &str) -> Vec<Sql> {
        vec![
            sql!(store::SELECT_BY_ID, id),
            sql!(store::SELECT_PAYMENTS, id),
        ]
    }

    fn parse(results: &impl Results, from: usize) -> AppResult<Option<InvoiceRecord>> {
        let Some(row) = write::first_row::<InvoiceRow>(results, from)? else {
            return Ok(None);
        };
        let payments = results.rows::<PaymentRow>(from + 1)?;
        let view = to_json(&InvoiceView::new(&row, &payments, now())?)?;
        Ok(Some(InvoiceRecord {
            row,
            payments,
            view,
        }))
    }

    fn version(record: &InvoiceRecord) -> i64 {
        record.row.version
    }

    fn view(record: &InvoiceRecord) -> Value {
        record.view.clone()
    }
}

/// The invoice with `extra` reads after it, in one round trip; `extra` answer from result 2.
async fn load_with(
    store: &D1Store,
    id: &str,
    extra: Vec<Sql>,
) -> AppResult<(InvoiceRecord, <D1Store as Store>::Results)> {
    let mut reads = InvoiceEntity::load(id);
    reads.extend(extra);
    let results = read(store, reads).await?;
    let record =
        InvoiceEntity::parse(&results, 0)?.ok_or_else(|| AppError::not_found("invoice"))?;
    Ok((record, results))
}

/// The invoice's account (its money, from its payments) and the status it shows now.
fn account_of(
    current: &InvoiceRecord,
    now: Millis,
) -> AppResult<(Invoice, Account, InvoiceStatus)> {
    let invoice = current.row.to_domain()?;
    let entries = current
        .payments
        .iter()
        .map(PaymentRow::to_entry)
        .collect::<AppResult<Vec<_>>>()?;
    let account = invoice.account(&entries)?;
    let shown = invoice_status(&current.row, &account, now)?;
    Ok((invoice, account, shown))
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

crate::query! {
    /// `GET /api/v1/invoices`'s filters and page.
    pub struct InvoicesQuery {
        /// Only invoices in this shown status (`paid`, `overdue`, … as derived now).
        status: Option<InvoiceStatus>,
        /// Only this customer's invoices.
        customer: Option<String>,
        /// Only invoices, or only credit notes.
        kind: Option<InvoiceKind>,
        /// Only this job's invoices.
        job: Option<String>,
        /// The `next_cursor` of the previous page.
        cursor: Option<Cursor>,
        /// Invoices per page.
        limit: Limit<DEFAULT_LIMIT, MAX_LIMIT>,
    }
}

/// `GET /api/v1/invoices`: invoices and credit notes, newest first; `status` is the shown one.
pub async fn list(query: InvoicesQuery, env: &Env) -> AppResult<Response> {
    let status = query.status.map(InvoiceStatus::as_str);
    let kind = query.kind.map(InvoiceKind::as_str);
    let (after_at, after_id) = Cursor::split(query.cursor);
    let now = now();
    let rows: Vec<InvoiceRow> = db::all(
        &db::database(env)?,
        store::SELECT_PAGE,
        &[
            db::opt_text(status),
            db::opt_text(query.customer.as_deref()),
            db::opt_text(kind),
            db::opt_text(query.job.as_deref()),
            db::opt_text(after_at.as_deref()),
            db::opt_text(after_id.as_deref()),
            db::int(query.limit.0),
            db::text(&now.to_rfc3339()),
        ],
    )
    .await?;
    let next_cursor = query
        .limit
        .next_cursor(&rows, |r| cursor::encode(&r.created_at, &r.id));
    let invoices = rows
        .iter()
        .map(|r| InvoiceSummary::new(r, now))
        .collect::<AppResult<Vec<_>>>()?;
    respond::json(
        200,
        &json!({ "invoices": invoices, "next_cursor": next_cursor }),
    )
}

/// `GET /api/v1/invoices/{id}`: lines, totals, payments, balance and shown status.
pub async fn get(env: &Env, rctx: &RequestCtx, matched: &Matched) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let record = prefetch::load::<InvoiceEntity>(&store, &rctx.ahead, &id_param(matched)).await?;
    respond::record::<InvoiceEntity>(200, &record)
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
    let keyed = idempotency::keyed(&req, principal, &bytes)?;
    let mut body = Body::parse(&bytes, &CREATE_FIELDS)?;
    let customer_id: Option<String> = body.take("customer_id", "a string id");
    let site_id: Option<String> = body.take("site_id", "a string id");
    let job_id: Option<String> = body.take("job_id", "a string id");
    let store = D1Store::from_env(env)?;
    let results = read(
        &store,
        vec![
            settings_statement(),
            sql!(
                SELECT_PARTIES,
                customer_id.as_deref(),
                site_id.as_deref(),
                job_id.as_deref()
            ),
        ],
    )
    .await?;
    let settings = settings_of(&results, 0)?;
    let (changes, days) = changes_from(&mut body, settings.default_tax_rate_ppm);
    body.finish()?;
    let parties = check_parties(
        write::first_row::<PartiesRow>(&results, 1)?,
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
    let stamp = now.to_rfc3339();
    let change = Change::new()
        .guarded(store::insert(&NewInvoice {
            id: &id,
            customer_id: &parties.customer_id,
            site_id: parties.site_id.as_deref(),
            job_id: parties.job_id.as_deref(),
            invoice: &invoice,
            totals: &totals,
            payment_terms_days: days,
            now: &stamp,
        }))
        .audit(event(
            rctx,
            Some(principal),
            Action::InvoiceCreated,
            "invoice",
            Some(&id),
            None,
            Some(json!({
                "customer_id": parties.customer_id, "site_id": parties.site_id,
                "job_id": parties.job_id,
                "invoice": invoice_audit(&invoice, totals.total, days),
            })),
        ));
    let created = write::create::<_, InvoiceEntity>(
        &store,
        &id,
        keyed.as_ref(),
        change,
        parties_changed,
        now.0 as i64,
    )
    .await?;
    respond::created::<InvoiceEntity>(&created)
}

/// A 409 unless the invoice is a draft: what is issued is final.
fn require_draft(current: &InvoiceRecord, now: Millis) -> AppResult<()> {
    if current.row.status == "draft" {
        return Ok(());
    }
    let shown = shown_status(&current.row, now)?;
    Err(AppError::new(ErrorKind::Conflict)
        .with_detail(format!(
            "This invoice is {}: an issued invoice is final. Void it, or reverse it with a \
             credit note once paid.",
            shown.as_str()
        ))
        .with_extension("current_status", json!(shown.as_str()))
        .with_extension("current", current.view.clone()))
}

/// Reads the body and the invoice with its payments and the company's defaults (one batch);
/// lines without a tax rate get the default. Answers the invoice as read, the change, and the
/// payment terms asked for, if any.
async fn change_of(
    req: &mut Request,
    store: &D1Store,
    id: &str,
) -> AppResult<(InvoiceRecord, InvoiceChanges, Option<i64>)> {
    let bytes = json_bytes(req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &CHANGE_FIELDS)?;
    let (current, results) = load_with(store, id, vec![settings_statement()]).await?;
    let settings = settings_of(&results, 2)?;
    let (changes, days) = changes_from(&mut body, settings.default_tax_rate_ppm);
    body.finish()?;
    Ok((current, changes, days))
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
    let store = D1Store::from_env(env)?;
    let (current, changes, days) = change_of(&mut req, &store, &id).await?;
    let written =
        write::update_loaded::<_, InvoiceEntity>(&store, &id, current, version, |current| {
            let now = now();
            require_draft(current, now)?;
            let row = &current.row;
            let before = row.to_domain()?;
            let after = before.clone().apply(changes)?;
            let days = check_days(days.unwrap_or(row.payment_terms_days))?;
            let totals = after.totals()?;
            Ok(Change::new()
                .guarded(store::update(
                    &id,
                    version,
                    &after,
                    &totals,
                    days,
                    &now.to_rfc3339(),
                ))
                .audit(event(
                    rctx,
                    Some(principal),
                    Action::InvoiceUpdated,
                    "invoice",
                    Some(&id),
                    Some(invoice_audit(&before, row.total, row.payment_terms_days)),
                    Some(invoice_audit(&after, totals.total, days)),
                )))
        })
        .await?;
    respond::record::<InvoiceEntity>(200, &written)
}

/// `POST /api/v1/invoices/{id}/preview` with a PATCH's body: the invoice as that change would
/// make it, priced and checked by the domain, without saving anything (the editor's live
/// totals). Answers `{lines, notes, terms, deposit, payment_terms_days, totals}`.
pub async fn preview(mut req: Request, env: &Env, matched: &Matched) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let (current, changes, days) = change_of(&mut req, &store, &id_param(matched)).await?;
    let after = current.row.to_domain()?.apply(changes)?;
    let days = check_days(days.unwrap_or(current.row.payment_terms_days))?;
    respond::json(200, &InvoicePreview::new(&after, days)?)
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
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<InvoiceEntity>(&store, &rctx.ahead, &id).await?;
    write::remove::<_, InvoiceEntity>(&store, &id, current, version, |current| {
        let now = now();
        require_draft(current, now)?;
        let row = &current.row;
        Ok(Change::new()
            .then(sql!(
                store::RELEASE_QUOTE,
                id.as_str(),
                version,
                now.to_rfc3339()
            ))
            .guarded(sql!(store::DELETE_DRAFT, id.as_str(), version))
            .audit(event(
                rctx,
                Some(principal),
                Action::InvoiceDeleted,
                "invoice",
                Some(&id),
                Some(invoice_audit(
                    &row.to_domain()?,
                    row.total,
                    row.payment_terms_days,
                )),
                None,
            )))
    })
    .await?;
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

fn counter_of(results: &impl Results, index: usize) -> AppResult<u64> {
    let value = write::first_row::<CounterRow>(results, index)?.map_or(0, |c| c.value);
    u64::try_from(value).map_err(|_| AppError::internal("a counter below zero"))
}

fn counter_statement(name: &str) -> Sql {
    sql!(store::SELECT_COUNTER, name)
}

/// `POST /api/v1/invoices/{id}/issue` with `If-Match`: the draft takes the next number of the
/// gapless counter (`INV-0001`, the company's prefix), is dated now and falls due after its
/// payment terms. The number is decided from the counter as read and taken by
/// compare-and-set in the issuing batch; if a concurrent issue took it first, nothing was
/// written and the issue is decided again on the new counter (a change of the invoice itself
/// meanwhile is the 409 of the next round's version check).
pub async fn issue(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    for attempt in 0..NUMBER_ATTEMPTS {
        if attempt > 0 {
            pause(attempt).await;
        }
        let (current, results) = load_with(
            &store,
            &id,
            vec![settings_statement(), counter_statement("invoice")],
        )
        .await?;
        let settings = settings_of(&results, 2)?;
        let counter = counter_of(&results, 3)?;
        if current.row.version != version {
            return Err(write::conflict::<InvoiceEntity>(&current));
        }
        let now = now();
        refuse_credit_note(&current.row, "is issued when it is made")?;
        let row = &current.row;
        let due_ms = u64::try_from(row.payment_terms_days).unwrap_or(0) * Millis::DAY;
        let issued = row.to_domain()?.issue(
            shown_status(row, now)?,
            &settings.invoice_prefix,
            counter,
            now,
            now.plus(due_ms),
        )?;
        let sequence = i64::try_from(issued.counter)
            .map_err(|_| AppError::internal("invoice counter overflow"))?;
        let stamp = now.to_rfc3339();
        let due = issued.due_at.to_rfc3339();
        let change = Change::new()
            .then(sql!(
                store::BUMP_INVOICE_COUNTER,
                id.as_str(),
                version,
                sequence
            ))
            .guarded(sql!(
                store::ISSUE,
                sequence,
                issued.number.as_str(),
                stamp.as_str(),
                due.as_str(),
                id.as_str(),
                version
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::InvoiceIssued,
                "invoice",
                Some(&id),
                Some(json!({ "status": "draft" })),
                Some(json!({
                    "status": "issued", "number": issued.number,
                    "sequence": sequence, "issued_at": stamp, "due_at": due,
                    "total": issued.total,
                })),
            ));
        match write::apply(&store, change, InvoiceEntity::load(&id)).await {
            Ok(written) => {
                let record = InvoiceEntity::parse(&written.results, written.reads_from)?
                    .ok_or_else(|| AppError::not_found("invoice"))?;
                if record.row.number.as_deref()
                    != Some(format_number(&settings.invoice_prefix, issued.counter).as_str())
                {
                    return Err(AppError::internal(format!(
                        "invoice {id} was numbered unexpectedly"
                    )));
                }
                crate::http::documents::owed(&id);
                return respond::record::<InvoiceEntity>(200, &record);
            }
            // Another issue took the number, or the invoice changed: decide again.
            Err(Refusal::Guard) => continue,
            Err(other) => return Err(other.into_error(|| AppError::internal("unreachable guard"))),
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
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<InvoiceEntity>(&store, &rctx.ahead, &id).await?;
    let written =
        write::update_loaded::<_, InvoiceEntity>(&store, &id, current, version, |current| {
            refuse_credit_note(&current.row, "is not voided")?;
            let now = now();
            let (_, account, shown) = account_of(current, now)?;
            void(shown, &account)?;
            Ok(Change::new()
                .guarded(sql!(store::VOID, now.to_rfc3339(), id.as_str(), version))
                .audit(event(
                    rctx,
                    Some(principal),
                    Action::InvoiceVoided,
                    "invoice",
                    Some(&id),
                    Some(json!({ "status": shown.as_str() })),
                    Some(json!({ "status": "void", "number": current.row.number })),
                )))
        })
        .await?;
    respond::record::<InvoiceEntity>(200, &written)
}

/// `POST /api/v1/invoices/{id}/payments` `{kind?, amount, method, reference?}` with
/// `If-Match` (honours `Idempotency-Key`): a payment (the default) or a refund, by the
/// domain's account rules: a payment at most the balance on an issued invoice, a refund at
/// most what was paid. Answers `201 {payment, invoice}`. The key is looked up first: a retry
/// names the version its first attempt moved on from.
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
    let store = D1Store::from_env(env)?;
    // A retry names the version it read before its first attempt, so the key is looked up
    // before the version is checked.
    let keyed = idempotency::keyed(&req, principal, &bytes)?;
    if let Some(k) = &keyed {
        if let Some((status, location)) = write::recall(&store, k).await? {
            return replay_payment(&store, status, &location).await;
        }
    }
    let current = write::load::<_, InvoiceEntity>(&store, &id).await?;
    if current.row.version != version {
        return Err(write::conflict::<InvoiceEntity>(&current));
    }
    let payment_id = new_id()?;
    let location = format!("/api/v1/invoices/{id}/payments/{payment_id}");
    let now = now();
    let stamp = now.to_rfc3339();
    // The decision, from the invoice as read.
    refuse_credit_note(&current.row, "takes no payments")?;
    let (_, account, shown) = account_of(&current, now)?;
    let amount = amount.unwrap_or(0);
    let method = method.unwrap_or_default();
    let entry = match kind {
        EntryKind::Payment => account.payment(shown, amount, &method, now)?,
        EntryKind::Refund => account.refund(amount, &method, now)?,
    };
    let mut after = account;
    after.record(&entry)?;
    let (action, kind_name) = match kind {
        EntryKind::Payment => (Action::InvoicePaymentRecorded, "payment"),
        EntryKind::Refund => (Action::InvoiceRefundRecorded, "refund"),
    };
    let row = &current.row;
    let picture = |account: &Account| {
        json!({
            "paid": account.paid, "refunded": account.refunded, "balance": account.balance(),
            "status": row.stored_status().map(|s| s.derive(account, row.due(), now).as_str()).unwrap_or("issued"),
        })
    };
    let mut later = picture(&after);
    later["payment"] = json!({
        "id": payment_id, "kind": kind_name, "amount": entry.amount,
        "method": entry.method.as_str(), "reference": reference,
    });
    let [insert, sums] = store::record_payment(&NewPayment {
        id: &payment_id,
        invoice_id: &id,
        invoice_version: version,
        entry: &entry,
        reference: reference.as_deref(),
        recorded_by: Some(&principal.user.id),
        external_id: None,
        now: &stamp,
    });
    let mut change = Change::new().then(insert).guarded(sums).audit(event(
        rctx,
        Some(principal),
        action,
        "invoice",
        Some(&id),
        Some(picture(&account)),
        Some(later),
    ));
    if let Some(k) = &keyed {
        change = change.then(write::sql::remember_key(k, 201, &location, now.0 as i64));
    }
    match write::apply(&store, change, InvoiceEntity::load(&id)).await {
        Ok(written) => {
            let record = InvoiceEntity::parse(&written.results, written.reads_from)?
                .ok_or_else(|| AppError::not_found("invoice"))?;
            payment_response(201, &record, &payment_id, &location)
        }
        // A concurrent retry with the same key won: answer what it recorded.
        Err(Refusal::RepeatedKey) => {
            let (status, location) = write::recall_repeated(&store, keyed.as_ref()).await?;
            replay_payment(&store, status, &location).await
        }
        Err(refusal) => Err(write::refused::<_, InvoiceEntity>(&store, &id, refusal).await),
    }
}

fn payment_response(
    status: u16,
    record: &InvoiceRecord,
    payment_id: &str,
    location: &str,
) -> AppResult<Response> {
    let payment = record
        .payments
        .iter()
        .find(|p| p.id == payment_id)
        .ok_or_else(|| AppError::not_found("payment"))?;
    let body = json!({
        "payment": PaymentView::from(payment),
        "invoice": InvoiceEntity::view(record),
    });
    let response = respond::json(status, &body)?;
    let _ = response
        .headers()
        .set("ETag", &format!("\"{}\"", record.row.version));
    let _ = response.headers().set("Location", location);
    Ok(response)
}

async fn replay_payment(store: &D1Store, status: u16, location: &str) -> AppResult<Response> {
    // /api/v1/invoices/{id}/payments/{payment_id}
    let mut parts = location.rsplit('/');
    let payment_id = parts.next().unwrap_or_default().to_owned();
    let invoice_id = parts.nth(1).unwrap_or_default().to_owned();
    let record = write::load::<_, InvoiceEntity>(store, &invoice_id).await?;
    payment_response(status, &record, &payment_id, location)
}

/// `POST /api/v1/invoices/{id}/credit-note` with `If-Match`: reverses a paid invoice in full
/// with a credit note (kind `credit_note`, the same lines and totals, numbered `CN-0001` from
/// its own gapless counter, issued at once). One per invoice. Answers `201` with the credit
/// note. As for issuing, a number taken meanwhile is decided again.
pub async fn credit_note(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    for attempt in 0..NUMBER_ATTEMPTS {
        if attempt > 0 {
            pause(attempt).await;
        }
        let (current, results) =
            load_with(&store, &id, vec![counter_statement("credit_note")]).await?;
        let counter = counter_of(&results, 2)?;
        if current.row.version != version {
            return Err(write::conflict::<InvoiceEntity>(&current));
        }
        let now = now();
        refuse_credit_note(&current.row, "is not reversed by another")?;
        let row = &current.row;
        let (invoice, _, shown) = account_of(&current, now)?;
        let note = invoice
            .credit_note(shown, row.credit_note_id.is_some())
            .map_err(|err| match &row.credit_note_id {
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
            row.number.as_deref().unwrap_or_default()
        );
        let mut params = vec![
            id.as_str().into(),
            version.into(),
            sequence.into(),
            note_id.as_str().into(),
            number.as_str().into(),
            notes.into(),
            stamp.as_str().into(),
            store::lines_json(&note.lines).into(),
        ];
        params.extend(store::totals_params(&note.totals));
        let change = Change::new()
            .then(sql!(
                store::BUMP_CREDIT_NOTE_COUNTER,
                id.as_str(),
                version,
                sequence
            ))
            .then(Sql::new(store::INSERT_CREDIT_NOTE, params))
            .guarded(sql!(
                store::MARK_CREDITED,
                stamp.as_str(),
                id.as_str(),
                version,
                note_id.as_str()
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::InvoiceCredited,
                "invoice",
                Some(&id),
                Some(json!({ "status": shown.as_str() })),
                Some(json!({
                    "credit_note_id": note_id, "credit_note_number": number,
                    "total": note.totals.total,
                })),
            ));
        match write::apply(&store, change, InvoiceEntity::load(&note_id)).await {
            Ok(written) => {
                let record = InvoiceEntity::parse(&written.results, written.reads_from)?
                    .ok_or_else(|| AppError::not_found("credit note"))?;
                crate::http::documents::owed(&note_id);
                return respond::created::<InvoiceEntity>(&Created {
                    status: 201,
                    id: note_id,
                    record,
                    replayed: false,
                });
            }
            // Another credit note took the number, or the invoice changed: decide again.
            Err(Refusal::Guard) => continue,
            Err(other) => return Err(other.into_error(|| AppError::internal("unreachable guard"))),
        }
    }
    Err(AppError::unavailable(
        "Many credit notes are being issued at once; please retry.",
        format!("invoice {id}: the credit note number kept being taken"),
    ))
}
