//! Quotes: drafted, sent, accepted (by the customer, or recorded by staff who took it on the
//! phone) or declined, and converted into a job and a draft invoice. Owners and dispatchers
//! write them; viewers read them; technicians do not see them (prices are office work).

use crate::json;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db;
use crate::db::invoices::{self as invoice_store, NewInvoice};
use crate::db::quotes::{self as store, NewQuote, PartiesRow, QuoteRow};
use crate::db::settings::Settings;
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::billing;
use crate::domain::cursor;
use crate::domain::invoices::invoice_from_quote;
use crate::domain::money::Pricing;
use crate::domain::personal::{customer_key, pending};
use crate::domain::quotes::{Choice, Deposit, Quote, QuoteChanges, QuoteStatus};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::invoices::InvoiceEntity;
use crate::http::api::{event, if_match, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_bytes, MAX_JSON_BODY};
use crate::http::idempotency;
use crate::http::query::{Cursor, Limit};
use crate::http::router::Matched;
use crate::http::{prefetch, respond, RequestCtx};
use crate::sql;
use crate::views::fields::Body;
use crate::views::money::{
    acceptance_audit, invoice_audit, quote_audit, stored_totals, to_json, QuotePreview,
    QuoteSummary, QuoteView,
};
use crate::write::{self, Change, Entity, Results, Sql, Store};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

const CREATE_FIELDS: [&str; 9] = [
    "customer_id",
    "site_id",
    "job_id",
    "title",
    "lines",
    "notes",
    "terms",
    "valid_until",
    "deposit",
];
const CHANGE_FIELDS: [&str; 6] = ["title", "lines", "notes", "terms", "valid_until", "deposit"];

fn id_param(matched: &Matched) -> String {
    matched.param("id").unwrap_or_default().to_owned()
}

/// The company settings, which every money write reads for its defaults.
pub(crate) fn settings_of(results: &impl Results, index: usize) -> AppResult<Settings> {
    write::first_row::<Settings>(results, index)?
        .ok_or_else(|| AppError::not_found("company settings"))
}

pub(crate) fn settings_statement() -> Sql {
    sql!(db::settings::SELECT)
}

/// Runs `reads` in one round trip (a handler's own load, answered together).
pub(crate) async fn read<S: Store>(store: &S, reads: Vec<Sql>) -> AppResult<S::Results> {
    store
        .batch(reads)
        .await
        .map_err(|e| AppError::internal(format!("reading: {e}")))
}

pub(crate) fn pricing_of(settings: &Settings) -> AppResult<Pricing> {
    billing::pricing(&settings.currency, &settings.rounding)
}

/// Checks who a new document is for (see `SELECT_PARTIES`); `site_required` for quotes, which
/// become jobs at a site.
pub(crate) fn check_parties(
    parties: Option<PartiesRow>,
    customer_given: bool,
    site_given: bool,
    job_given: bool,
    site_required: bool,
) -> AppResult<PartiesRow> {
    let Some(parties) = parties else {
        return Err(if customer_given {
            AppError::invalid_field("customer_id", "No customer has this id.")
        } else if job_given {
            AppError::invalid_field("job_id", "No job has this id.")
        } else {
            AppError::invalid_field("customer_id", "Name the customer (or a job of theirs).")
        });
    };
    if parties.archived == 1 {
        return Err(AppError::invalid_field(
            "customer_id",
            "This customer is archived.",
        ));
    }
    if job_given && parties.job_id.is_none() {
        return Err(AppError::invalid_field(
            "job_id",
            "No job of this customer has this id.",
        ));
    }
    if site_given && parties.site_id.is_none() {
        return Err(AppError::invalid_field(
            "site_id",
            "No site of this customer has this id.",
        ));
    }
    if site_required && parties.site_id.is_none() {
        return Err(AppError::invalid_field(
            "site_id",
            "The customer has no site yet: add one, or name the site.",
        ));
    }
    Ok(parties)
}

/// A quote as the engine reads and writes it: the row, and its view rendered when read (the
/// view prices it and shows the status at that time, which can fail on a corrupt row).
pub struct QuoteRecord {
    pub row: QuoteRow,
    /// The [`QuoteView`] as the JSON `Entity::view` answers.
    view: Value,
}

pub struct QuoteEntity;

impl Entity for QuoteEntity {
    type Record = QuoteRecord;
    const NAME: &'static str = "quote";
    const COLLECTION: &'static str = "/api/v1/quotes";

    fn load(id: &str) -> Vec<Sql> {
        vec![sql!(store::SELECT_BY_ID, id)]
    }

    fn parse(results: &impl Results, from: usize) -> AppResult<Option<QuoteRecord>> {
        write::first_row::<QuoteRow>(results, from)?
            .map(|row| {
                let view = to_json(&QuoteView::new(&row, now())?)?;
                Ok(QuoteRecord { row, view })
            })
            .transpose()
    }

    fn version(record: &QuoteRecord) -> i64 {
        record.row.version
    }

    fn view(record: &QuoteRecord) -> Value {
        record.view.clone()
    }
}

/// Reads the fields a create or a PATCH may change.
fn changes_from(body: &mut Body, default_tax_rate_ppm: i64) -> QuoteChanges {
    QuoteChanges {
        title: body.take("title", "text"),
        lines: body.take_lines("lines", default_tax_rate_ppm),
        notes: body.take_nullable("notes", "text or null"),
        terms: body.take_nullable("terms", "text or null"),
        valid_until: body.take("valid_until", "an RFC 3339 time"),
        deposit: body
            .take_nullable::<Deposit>("deposit", "{\"percent_ppm\": n}, {\"amount\": n} or null"),
    }
}

/// A PATCH's body (or a preview's) read against the stored quote: the quote as read, and the
/// change, its lines without a tax rate given the company's default.
async fn change_of(
    req: &mut Request,
    store: &D1Store,
    id: &str,
) -> AppResult<(QuoteRecord, QuoteChanges)> {
    let bytes = json_bytes(req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &CHANGE_FIELDS)?;
    let mut reads = QuoteEntity::load(id);
    reads.push(settings_statement());
    let results = read(store, reads).await?;
    let current = QuoteEntity::parse(&results, 0)?.ok_or_else(|| AppError::not_found("quote"))?;
    let settings = settings_of(&results, 1)?;
    let changes = changes_from(&mut body, settings.default_tax_rate_ppm);
    body.finish()?;
    Ok((current, changes))
}

crate::query! {
    /// `GET /api/v1/quotes`'s filters and page.
    pub struct QuotesQuery {
        /// Only quotes in this shown status (a sent quote past its date is `expired`).
        status: Option<QuoteStatus>,
        /// Only this customer's quotes.
        customer: Option<String>,
        /// The `next_cursor` of the previous page.
        cursor: Option<Cursor>,
        /// Quotes per page.
        limit: Limit<DEFAULT_LIMIT, MAX_LIMIT>,
    }
}

/// `GET /api/v1/quotes`: newest first; `status` is the shown one.
pub async fn list(query: QuotesQuery, env: &Env) -> AppResult<Response> {
    let status = query.status.map(QuoteStatus::as_str);
    let (after_at, after_id) = Cursor::split(query.cursor);
    let now = now();
    let rows: Vec<QuoteRow> = db::all(
        &db::database(env)?,
        store::SELECT_PAGE,
        &[
            db::opt_text(status),
            db::opt_text(query.customer.as_deref()),
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
    let quotes = rows
        .iter()
        .map(|r| QuoteSummary::new(r, now))
        .collect::<AppResult<Vec<_>>>()?;
    respond::json(
        200,
        &json!({ "quotes": quotes, "next_cursor": next_cursor }),
    )
}

/// `GET /api/v1/quotes/{id}`: the quote priced by the domain.
pub async fn get(env: &Env, rctx: &RequestCtx, matched: &Matched) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let record = prefetch::load::<QuoteEntity>(&store, &rctx.ahead, &id_param(matched)).await?;
    respond::record::<QuoteEntity>(200, &record)
}

/// `POST /api/v1/quotes` `{customer_id, site_id?, job_id?, title, lines?, …}` (honours
/// `Idempotency-Key`): a draft in the company's currency and rounding; lines without a tax
/// rate get the company's default; the site defaults to the job's, then the primary one; the
/// customer may be left to the job's.
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
                store::SELECT_PARTIES,
                customer_id.as_deref(),
                site_id.as_deref(),
                job_id.as_deref()
            ),
        ],
    )
    .await?;
    let settings = settings_of(&results, 0)?;
    let changes = changes_from(&mut body, settings.default_tax_rate_ppm);
    body.finish()?;
    let parties = check_parties(
        write::first_row::<PartiesRow>(&results, 1)?,
        customer_id.is_some(),
        site_id.is_some(),
        job_id.is_some(),
        true,
    )?;
    let now = now();
    let quote = Quote::create(changes, pricing_of(&settings)?, now)?;
    let totals = stored_totals(&quote)?;
    let id = new_id()?;
    let stamp = now.to_rfc3339();
    let site = parties.site_id.clone().unwrap_or_default();
    let [bump, insert] = store::insert(&NewQuote {
        id: &id,
        customer_id: &parties.customer_id,
        site_id: &site,
        job_id: parties.job_id.as_deref(),
        quote: &quote,
        totals: &totals,
        now: &stamp,
    });
    let change = Change::new().then(bump).guarded(insert).audit(event(
        rctx,
        Some(principal),
        Action::QuoteCreated,
        "quote",
        Some(&id),
        None,
        Some(json!({
            "customer_id": parties.customer_id, "site_id": site,
            "job_id": parties.job_id, "quote": quote_audit(&quote),
        })),
    ));
    let created = write::create::<_, QuoteEntity>(
        &store,
        &id,
        keyed.as_ref(),
        change,
        parties_changed,
        now.0 as i64,
    )
    .await?;
    respond::created::<QuoteEntity>(&created)
}

/// A document's create refused by its guard: one of the parties it names changed between the
/// read that checked them and the write.
pub(crate) fn parties_changed() -> AppError {
    AppError::invalid_field(
        "customer_id",
        "The customer was archived, or its site or job changed, meanwhile.",
    )
}

/// A 409 unless the quote shows as a draft (a sent one is revised first).
fn require_editable(current: &QuoteRecord, id: &str, now: Millis) -> AppResult<()> {
    let shown = crate::views::money::quote_status(&current.row, now)?;
    if shown.is_editable() {
        return Ok(());
    }
    Err(AppError::new(ErrorKind::Conflict)
        .with_detail(format!(
            "Only a draft quote is edited; this one is {}. Revise it first \
             (POST /api/v1/quotes/{id}/revise).",
            shown.as_str()
        ))
        .with_extension("current_status", json!(shown.as_str()))
        .with_extension("current", current.view.clone()))
}

/// `PATCH /api/v1/quotes/{id}` with `If-Match`: a draft's title, lines, notes, terms,
/// validity or deposit. A sent quote is revised (back to draft) first.
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
    let (current, changes) = change_of(&mut req, &store, &id).await?;
    let written =
        write::update_loaded::<_, QuoteEntity>(&store, &id, current, version, |current| {
            let now = now();
            require_editable(current, &id, now)?;
            let before = current.row.to_domain()?;
            let after = before.clone().apply(changes, now)?;
            let totals = stored_totals(&after)?;
            Ok(Change::new()
                .guarded(store::update(
                    &id,
                    version,
                    &after,
                    &totals,
                    &now.to_rfc3339(),
                ))
                .audit(event(
                    rctx,
                    Some(principal),
                    Action::QuoteUpdated,
                    "quote",
                    Some(&id),
                    Some(quote_audit(&before)),
                    Some(quote_audit(&after)),
                )))
        })
        .await?;
    respond::record::<QuoteEntity>(200, &written)
}

/// `POST /api/v1/quotes/{id}/preview` with a PATCH's body: the quote as that change would
/// make it, priced by the domain and checked as the PATCH checks it, without saving anything
/// (the editor's live totals). Answers `{title, valid_until, lines, line_amounts, options,
/// totals, notes, terms, deposit}`; a bad field is a 422 naming it, as the PATCH would be.
pub async fn preview(mut req: Request, env: &Env, matched: &Matched) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let (current, changes) = change_of(&mut req, &store, &id_param(matched)).await?;
    let after = current.row.to_domain()?.apply(changes, now())?;
    respond::json(200, &QuotePreview::new(&after)?)
}

/// `DELETE /api/v1/quotes/{id}` with `If-Match`: drafts only. A quote that was sent is
/// declined or left to expire instead, so what the customer saw stays on record.
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
    let current = prefetch::load::<QuoteEntity>(&store, &rctx.ahead, &id).await?;
    write::remove::<_, QuoteEntity>(&store, &id, current, version, |current| {
        let shown = crate::views::money::quote_status(&current.row, now())?;
        if shown != QuoteStatus::Draft || current.row.sent_at.is_some() {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail(
                    "Only a draft that was never sent is deleted; decline a sent quote instead.",
                )
                .with_extension("current_status", json!(shown.as_str())));
        }
        Ok(Change::new()
            .guarded(sql!(store::DELETE, id.as_str(), version))
            .audit(event(
                rctx,
                Some(principal),
                Action::QuoteDeleted,
                "quote",
                Some(&id),
                Some(quote_audit(&current.row.to_domain()?)),
                None,
            )))
    })
    .await?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}

/// A status move decided by the domain from the quote as read.
#[derive(Clone, Copy)]
pub enum Move {
    Send,
    Revise,
    Decline,
}

impl Move {
    fn action(self) -> Action {
        match self {
            Self::Send => Action::QuoteSent,
            Self::Revise => Action::QuoteRevised,
            Self::Decline => Action::QuoteDeclined,
        }
    }

    fn decide(self, quote: &Quote, shown: QuoteStatus, now: Millis) -> AppResult<QuoteStatus> {
        match self {
            Self::Send => quote.send(shown, now),
            Self::Revise => shown.transition(QuoteStatus::Draft),
            Self::Decline => shown.transition(QuoteStatus::Declined),
        }
    }
}

/// `POST /api/v1/quotes/{id}/send` (draft → sent), `/revise` (back to draft to change it),
/// `/decline` (the customer said no), each with `If-Match`.
pub async fn move_status(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
    step: Move,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<QuoteEntity>(&store, &rctx.ahead, &id).await?;
    let written =
        write::update_loaded::<_, QuoteEntity>(&store, &id, current, version, |current| {
            let now = now();
            let shown = crate::views::money::quote_status(&current.row, now)?;
            let to = step.decide(&current.row.to_domain()?, shown, now)?;
            Ok(Change::new()
                .guarded(store::set_status(
                    &id,
                    version,
                    &current.row.status,
                    to.as_str(),
                    &now.to_rfc3339(),
                ))
                .audit(event(
                    rctx,
                    Some(principal),
                    step.action(),
                    "quote",
                    Some(&id),
                    Some(json!({ "status": shown.as_str() })),
                    Some(json!({ "status": to.as_str() })),
                )))
        })
        .await?;
    respond::record::<QuoteEntity>(200, &written)
}

/// `POST /api/v1/quotes/{id}/accept` `{option?, optional_lines?, signer_name}` with
/// `If-Match`: staff record an acceptance given by phone or in person. The domain checks the
/// quote is open (sent or viewed, not expired), the choice is one it offers, and the name.
pub async fn accept(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let bytes = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &["option", "optional_lines", "signer_name"])?;
    let choice = Choice {
        option: body.take("option", "text"),
        optional_lines: body
            .take("optional_lines", "a list of line indexes")
            .unwrap_or_default(),
    };
    let signer_name: String = body.take("signer_name", "text").unwrap_or_default();
    body.finish()?;
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<QuoteEntity>(&store, &rctx.ahead, &id).await?;
    let written =
        write::update_loaded::<_, QuoteEntity>(&store, &id, current, version, |current| {
            let now = now();
            let stored = QuoteStatus::parse(&current.row.status).ok_or_else(|| {
                AppError::internal(format!("quote {id} has status {}", current.row.status))
            })?;
            let accepted = current
                .row
                .to_domain()?
                .accept(stored, choice, &signer_name, now)?;
            let stamp = now.to_rfc3339();
            // The signer's name is the customer's personal data: sealed under their key.
            let signer = pending(
                &customer_key(&current.row.customer_id),
                &accepted.signer_name,
            );
            let mut after = acceptance_audit(&accepted, true);
            after["signer_name"] = json!(signer);
            Ok(Change::new()
                .guarded(sql!(
                    store::ACCEPT,
                    accepted.choice.option.as_deref(),
                    json!(accepted.choice.optional_lines).to_string(),
                    signer.as_str(),
                    stamp.as_str(),
                    rctx.ip.as_deref(),
                    principal.user.id.as_str(),
                    accepted.total,
                    accepted.deposit,
                    id.as_str(),
                    version,
                ))
                .audit(event(
                    rctx,
                    Some(principal),
                    Action::QuoteAccepted,
                    "quote",
                    Some(&id),
                    Some(json!({ "status": stored.as_str() })),
                    Some(after),
                )))
        })
        .await?;
    respond::record::<QuoteEntity>(200, &written)
}

/// `POST /api/v1/quotes/{id}/convert` with `If-Match`: an accepted quote becomes, in one
/// batch, a job (when it has none: requested, at the quote's site) and a draft invoice with
/// the chosen lines, the notes and terms, the deposit and the company's payment terms.
/// Answers `201 {quote, job_id, invoice}`. Once per quote (while its invoice exists).
pub async fn convert(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let store = D1Store::from_env(env)?;
    let mut reads = QuoteEntity::load(&id);
    reads.push(settings_statement());
    let results = read(&store, reads).await?;
    let current = QuoteEntity::parse(&results, 0)?.ok_or_else(|| AppError::not_found("quote"))?;
    let settings = settings_of(&results, 1)?;
    if current.row.version != version {
        return Err(write::conflict::<QuoteEntity>(&current));
    }
    let (job_id, new_job) = match &current.row.job_id {
        Some(job) => (job.clone(), false),
        None => (new_id()?, true),
    };
    let invoice_id = new_id()?;
    let change = conversion(
        &current.row,
        &Converted {
            job_id: &job_id,
            new_job,
            invoice_id: &invoice_id,
            payment_terms_days: settings.payment_terms_days,
        },
        |action, entity, entity_id, after| {
            event(
                rctx,
                Some(principal),
                action,
                entity,
                Some(entity_id),
                None,
                Some(after),
            )
        },
    )?;
    let mut reads = QuoteEntity::load(&id);
    reads.extend(InvoiceEntity::load(&invoice_id));
    let written = match write::apply(&store, change, reads).await {
        Ok(written) => written,
        Err(refusal) => return Err(write::refused::<_, QuoteEntity>(&store, &id, refusal).await),
    };
    let from = written.reads_from;
    let quote =
        QuoteEntity::parse(&written.results, from)?.ok_or_else(|| AppError::not_found("quote"))?;
    let invoice = InvoiceEntity::parse(&written.results, from + 1)?
        .ok_or_else(|| AppError::not_found("invoice"))?;
    let body = json!({
        "quote": QuoteEntity::view(&quote),
        "job_id": job_id,
        "job_created": new_job,
        "invoice": InvoiceEntity::view(&invoice),
    });
    let response = respond::json(201, &body)?;
    let _ = response
        .headers()
        .set("ETag", &format!("\"{}\"", InvoiceEntity::version(&invoice)));
    let _ = response
        .headers()
        .set("Location", &write::location::<InvoiceEntity>(&invoice_id));
    Ok(response)
}

/// What a conversion makes: the job (`new_job`: made now, else the quote's) and the invoice.
struct Converted<'a> {
    job_id: &'a str,
    new_job: bool,
    invoice_id: &'a str,
    payment_terms_days: i64,
}

/// The conversion of `quote` as read (pure): the job if it has none, the draft invoice, and
/// the quote's own record of it (the guard), audited on the quote, and the job and invoice as
/// created, each on its own trail (so their pages' timelines start where they did).
fn conversion(
    row: &QuoteRow,
    made: &Converted<'_>,
    event: impl Fn(Action, &'static str, &str, Value) -> crate::domain::audit::AuditEvent,
) -> AppResult<Change> {
    if let Some(invoice_id) = &row.invoice_id {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail("This quote was already converted; its invoice is named here.")
            .with_extension("invoice_id", json!(invoice_id)));
    }
    let stored = QuoteStatus::parse(&row.status)
        .ok_or_else(|| AppError::internal(format!("quote {} has status {}", row.id, row.status)))?;
    let quote = row.to_domain()?;
    let choice = Choice {
        option: row.chosen_option.clone(),
        optional_lines: row.chosen_extras(),
    };
    let invoice = invoice_from_quote(&quote, stored, &choice, true)?;
    let totals = invoice.totals()?;
    let stamp = now().to_rfc3339();
    let (id, version, job_id, invoice_id) =
        (row.id.as_str(), row.version, made.job_id, made.invoice_id);
    let audited = invoice_audit(&invoice, totals.total, made.payment_terms_days);
    let mut change = Change::new();
    if made.new_job {
        change = change.then(sql!(store::INSERT_JOB, job_id, stamp.as_str(), id, version));
    }
    change = change
        .then(invoice_store::insert_from_quote(
            &NewInvoice {
                id: invoice_id,
                customer_id: &row.customer_id,
                site_id: Some(&row.site_id),
                job_id: Some(job_id),
                invoice: &invoice,
                totals: &totals,
                payment_terms_days: made.payment_terms_days,
                now: &stamp,
            },
            id,
            version,
        ))
        .guarded(sql!(
            store::CONVERT,
            job_id,
            invoice_id,
            stamp.as_str(),
            id,
            version
        ))
        .audit(event(
            Action::QuoteConverted,
            "quote",
            id,
            json!({
                "job_id": job_id,
                "job_created": made.new_job,
                "invoice_id": invoice_id,
                "invoice": audited,
            }),
        ));
    if made.new_job {
        change = change.audit(event(
            Action::JobCreated,
            "job",
            job_id,
            json!({
                "customer_id": row.customer_id, "site_id": row.site_id,
                "from_quote": id, "job": { "title": quote.title, "priority": "normal" },
            }),
        ));
    }
    Ok(change.audit(event(
        Action::InvoiceCreated,
        "invoice",
        invoice_id,
        json!({
            "customer_id": row.customer_id, "site_id": row.site_id,
            "job_id": job_id, "from_quote": id, "invoice": audited,
        }),
    )))
}
