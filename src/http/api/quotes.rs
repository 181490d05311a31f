//! Quotes: drafted, sent, accepted (by the customer, or recorded by staff who took it on the
//! phone) or declined, and converted into a job and a draft invoice. Owners and dispatchers
//! write them; viewers read them; technicians do not see them (prices are office work).

use serde_json::json;
use worker::{D1Database, Env, Request, Response};

use crate::db::audit::Step;
use crate::db::invoices::{self as invoice_store, InvoiceRow, NewInvoice};
use crate::db::quotes::{self as store, NewQuote, PartiesRow, QuoteRow};
use crate::db::settings::Settings;
use crate::db::{self, last_row, rows_at};
use crate::domain::billing;
use crate::domain::cursor;
use crate::domain::invoices::invoice_from_quote;
use crate::domain::money::Pricing;
use crate::domain::quotes::{Choice, Deposit, Quote, QuoteChanges, QuoteStatus};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::{conflict, event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{json_bytes, MAX_JSON_BODY};
use crate::http::idempotency::{self, Plan};
use crate::http::router::Matched;
use crate::http::{respond, RequestCtx};
use crate::views::fields::Body;
use crate::views::money::{
    invoice_audit, invoice_view, option_totals, quote_audit, quote_priced, quote_summary,
    quote_view,
};
use crate::views::url::{parse_limit, query_pairs};

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
pub(crate) fn settings_of(results: &[worker::D1Result], index: usize) -> AppResult<Settings> {
    rows_at::<Settings>(results, index)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("company settings"))
}

pub(crate) fn settings_statement(database: &D1Database) -> AppResult<worker::D1PreparedStatement> {
    db::statement(database, db::settings::SELECT, &[])
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

async fn load(database: &D1Database, id: &str) -> AppResult<QuoteRow> {
    db::first::<QuoteRow>(database, store::SELECT_BY_ID, &[db::text(id)])
        .await?
        .ok_or_else(|| AppError::not_found("quote"))
}

/// The quote and the company settings, in one round trip.
async fn load_with_settings(database: &D1Database, id: &str) -> AppResult<(QuoteRow, Settings)> {
    let results = db::read_batch(
        database,
        vec![
            db::statement(database, store::SELECT_BY_ID, &[db::text(id)])?,
            settings_statement(database)?,
        ],
    )
    .await?;
    let row = rows_at::<QuoteRow>(&results, 0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("quote"))?;
    Ok((row, settings_of(&results, 1)?))
}

fn stale(row: &QuoteRow, now: Millis) -> AppError {
    match quote_view(row, now) {
        Ok(view) => conflict("The quote changed since you read it.", view),
        Err(err) => err,
    }
}

fn respond_quote(status: u16, row: &QuoteRow, now: Millis) -> AppResult<Response> {
    Ok(with_etag(
        respond::json(status, &quote_view(row, now)?)?,
        row.version,
    ))
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
    database: &D1Database,
    id: &str,
) -> AppResult<(QuoteRow, QuoteChanges)> {
    let bytes = json_bytes(req, MAX_JSON_BODY).await?;
    let mut body = Body::parse(&bytes, &CHANGE_FIELDS)?;
    let (current, settings) = load_with_settings(database, id).await?;
    let changes = changes_from(&mut body, settings.default_tax_rate_ppm);
    body.finish()?;
    Ok((current, changes))
}

/// `GET /api/v1/quotes?status=&customer=&cursor=&limit=`, newest first. `status` is the shown
/// status (a sent quote past its date is `expired`).
pub async fn list(req: &Request, env: &Env) -> AppResult<Response> {
    let mut status = None;
    let mut customer = None;
    let mut after = None;
    let mut limit = DEFAULT_LIMIT;
    for (key, value) in query_pairs(&req.inner().url()) {
        match key.as_str() {
            "status" => {
                status = Some(
                    QuoteStatus::parse(&value)
                        .map(QuoteStatus::as_str)
                        .ok_or_else(|| {
                            AppError::invalid_field(
                                "status",
                                "One of draft, sent, viewed, accepted, declined, expired.",
                            )
                        })?,
                )
            }
            "customer" => customer = Some(value),
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
    let rows: Vec<QuoteRow> = db::all(
        &db::database(env)?,
        store::SELECT_PAGE,
        &[
            db::opt_text(status),
            db::opt_text(customer.as_deref()),
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
    let quotes = rows
        .iter()
        .map(|r| quote_summary(r, now))
        .collect::<AppResult<Vec<_>>>()?;
    respond::json(
        200,
        &json!({ "quotes": quotes, "next_cursor": next_cursor }),
    )
}

/// `GET /api/v1/quotes/{id}`: the quote priced by the domain.
pub async fn get(env: &Env, matched: &Matched) -> AppResult<Response> {
    let row = load(&db::database(env)?, &id_param(matched)).await?;
    respond_quote(200, &row, now())
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
                store::SELECT_PARTIES,
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
    let changes = changes_from(&mut body, settings.default_tax_rate_ppm);
    body.finish()?;
    let parties = check_parties(
        rows_at::<PartiesRow>(&results, 1)?.into_iter().next(),
        customer_id.is_some(),
        site_id.is_some(),
        job_id.is_some(),
        true,
    )?;
    let now = now();
    let quote = Quote::create(changes, pricing_of(&settings)?, now)?;
    let totals = option_totals(&quote)?.to_string();
    let id = new_id()?;
    let location = format!("/api/v1/quotes/{id}");
    let stamp = now.to_rfc3339();
    let site = parties.site_id.clone().unwrap_or_default();
    let new = NewQuote {
        id: &id,
        customer_id: &parties.customer_id,
        site_id: &site,
        job_id: parties.job_id.as_deref(),
        quote: &quote,
        totals: &totals,
        now: &stamp,
    };
    let written = db::audit::write(&database, || {
        let [bump, insert] = store::insert(&database, &new)?;
        let mut steps = vec![
            Step::Plain(bump),
            Step::guarded(
                insert,
                event(
                    rctx,
                    Some(principal),
                    "quote.created",
                    "quote",
                    Some(&id),
                    None,
                    Some(json!({
                        "customer_id": parties.customer_id, "site_id": site,
                        "job_id": parties.job_id, "quote": quote_audit(&quote),
                    })),
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
        steps.push(Step::Plain(db::statement(
            &database,
            store::SELECT_BY_ID,
            &[db::text(&id)],
        )?));
        Ok((steps, vec![]))
    })
    .await;
    if let Some(location) = idempotency::winner_of_race(&database, &written, &keyed).await? {
        return replay(&database, 201, &location).await;
    }
    let row = last_row::<QuoteRow>(&written?)?.ok_or_else(|| {
        AppError::invalid_field(
            "customer_id",
            "The customer was archived, or its site or job changed, meanwhile.",
        )
    })?;
    let response = respond_quote(201, &row, now)?;
    let _ = response.headers().set("Location", &location);
    Ok(response)
}

async fn replay(database: &D1Database, status: u16, location: &str) -> AppResult<Response> {
    let id = location.rsplit('/').next().unwrap_or_default();
    let row = load(database, id).await?;
    let response = respond_quote(status, &row, now())?;
    let _ = response.headers().set("Location", location);
    Ok(response)
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
    let database = db::database(env)?;
    let (current, changes) = change_of(&mut req, &database, &id).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, now));
    }
    let shown = crate::views::money::quote_status(&current, now)?;
    if !shown.is_editable() {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail(format!(
                "Only a draft quote is edited; this one is {}. Revise it first \
                 (POST /api/v1/quotes/{id}/revise).",
                shown.as_str()
            ))
            .with_extension("current_status", json!(shown.as_str()))
            .with_extension("current", quote_view(&current, now)?));
    }
    let before = current.to_domain()?;
    let after = before.clone().apply(changes, now)?;
    let totals = option_totals(&after)?.to_string();
    let stamp = now.to_rfc3339();
    let results = db::audit::write(&database, || {
        Ok((
            vec![
                Step::guarded(
                    store::update(&database, &id, version, &after, &totals, &stamp)?,
                    event(
                        rctx,
                        Some(principal),
                        "quote.updated",
                        "quote",
                        Some(&id),
                        Some(quote_audit(&before)),
                        Some(quote_audit(&after)),
                    ),
                ),
                Step::Plain(db::statement(
                    &database,
                    store::SELECT_BY_ID,
                    &[db::text(&id)],
                )?),
            ],
            vec![],
        ))
    })
    .await?;
    let row = last_row::<QuoteRow>(&results)?.ok_or_else(|| AppError::not_found("quote"))?;
    if results.first().map(db::changes) != Some(1) {
        return Err(stale(&row, now));
    }
    respond_quote(200, &row, now)
}

/// `POST /api/v1/quotes/{id}/preview` with a PATCH's body: the quote as that change would
/// make it, priced by the domain and checked as the PATCH checks it, without saving anything
/// (the editor's live totals). Answers `{title, valid_until, lines, line_amounts, options,
/// totals, notes, terms, deposit}`; a bad field is a 422 naming it, as the PATCH would be.
pub async fn preview(mut req: Request, env: &Env, matched: &Matched) -> AppResult<Response> {
    let (current, changes) = change_of(&mut req, &db::database(env)?, &id_param(matched)).await?;
    let after = current.to_domain()?.apply(changes, now())?;
    let mut view = serde_json::Value::Object(quote_priced(&after)?);
    view["title"] = json!(after.title);
    view["valid_until"] = json!(after.valid_until.to_rfc3339());
    respond::json(200, &view)
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
    let database = db::database(env)?;
    let current = load(&database, &id).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, now));
    }
    let shown = crate::views::money::quote_status(&current, now)?;
    if shown != QuoteStatus::Draft || current.sent_at.is_some() {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail(
                "Only a draft that was never sent is deleted; decline a sent quote instead.",
            )
            .with_extension("current_status", json!(shown.as_str())));
    }
    let before = current.to_domain()?;
    let results = db::audit::write(&database, || {
        Ok((
            vec![Step::guarded(
                db::statement(&database, store::DELETE, &[db::text(&id), db::int(version)])?,
                event(
                    rctx,
                    Some(principal),
                    "quote.deleted",
                    "quote",
                    Some(&id),
                    Some(quote_audit(&before)),
                    None,
                ),
            )],
            vec![],
        ))
    })
    .await?;
    if results.first().map(db::changes) != Some(1) {
        return Err(stale(&load(&database, &id).await?, now));
    }
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
    fn action(self) -> &'static str {
        match self {
            Self::Send => "quote.sent",
            Self::Revise => "quote.revised",
            Self::Decline => "quote.declined",
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
    let database = db::database(env)?;
    let current = load(&database, &id).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, now));
    }
    let shown = crate::views::money::quote_status(&current, now)?;
    let to = step.decide(&current.to_domain()?, shown, now)?;
    let stamp = now.to_rfc3339();
    let results = db::audit::write(&database, || {
        Ok((
            vec![
                Step::guarded(
                    db::statement(
                        &database,
                        store::SET_STATUS,
                        &[
                            db::text(to.as_str()),
                            db::text(&stamp),
                            db::text(&id),
                            db::int(version),
                            db::text(&current.status),
                        ],
                    )?,
                    event(
                        rctx,
                        Some(principal),
                        step.action(),
                        "quote",
                        Some(&id),
                        Some(json!({ "status": shown.as_str() })),
                        Some(json!({ "status": to.as_str() })),
                    ),
                ),
                Step::Plain(db::statement(
                    &database,
                    store::SELECT_BY_ID,
                    &[db::text(&id)],
                )?),
            ],
            vec![],
        ))
    })
    .await?;
    let row = last_row::<QuoteRow>(&results)?.ok_or_else(|| AppError::not_found("quote"))?;
    if results.first().map(db::changes) != Some(1) {
        return Err(stale(&row, now));
    }
    respond_quote(200, &row, now)
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
    let database = db::database(env)?;
    let current = load(&database, &id).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, now));
    }
    let stored = QuoteStatus::parse(&current.status)
        .ok_or_else(|| AppError::internal(format!("quote {id} has status {}", current.status)))?;
    let quote = current.to_domain()?;
    let accepted = quote.accept(stored, choice, &signer_name, now)?;
    let stamp = now.to_rfc3339();
    let extras = json!(accepted.choice.optional_lines).to_string();
    let results = db::audit::write(&database, || {
        Ok((
            vec![
                Step::guarded(
                    db::statement(
                        &database,
                        store::ACCEPT,
                        &[
                            db::opt_text(accepted.choice.option.as_deref()),
                            db::text(&extras),
                            db::text(&accepted.signer_name),
                            db::text(&stamp),
                            db::opt_text(rctx.ip.as_deref()),
                            db::text(&principal.user.id),
                            db::int(accepted.total),
                            db::int(accepted.deposit),
                            db::text(&id),
                            db::int(version),
                        ],
                    )?,
                    event(
                        rctx,
                        Some(principal),
                        "quote.accepted",
                        "quote",
                        Some(&id),
                        Some(json!({ "status": stored.as_str() })),
                        Some(json!({
                            "status": "accepted",
                            "option": accepted.choice.option,
                            "optional_lines": accepted.choice.optional_lines,
                            "signer_name": accepted.signer_name,
                            "total": accepted.total,
                            "deposit": accepted.deposit,
                            "recorded_by_staff": true,
                        })),
                    ),
                ),
                Step::Plain(db::statement(
                    &database,
                    store::SELECT_BY_ID,
                    &[db::text(&id)],
                )?),
            ],
            vec![],
        ))
    })
    .await?;
    let row = last_row::<QuoteRow>(&results)?.ok_or_else(|| AppError::not_found("quote"))?;
    if results.first().map(db::changes) != Some(1) {
        return Err(stale(&row, now));
    }
    respond_quote(200, &row, now)
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
    let database = db::database(env)?;
    let (current, settings) = load_with_settings(&database, &id).await?;
    let now = now();
    if current.version != version {
        return Err(stale(&current, now));
    }
    if let Some(invoice_id) = &current.invoice_id {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail("This quote was already converted; its invoice is named here.")
            .with_extension("invoice_id", json!(invoice_id)));
    }
    let stored = QuoteStatus::parse(&current.status)
        .ok_or_else(|| AppError::internal(format!("quote {id} has status {}", current.status)))?;
    let quote = current.to_domain()?;
    let choice = Choice {
        option: current.chosen_option.clone(),
        optional_lines: current.chosen_extras(),
    };
    let invoice = invoice_from_quote(&quote, stored, &choice, true)?;
    let totals = invoice.totals()?;
    let (job_id, new_job) = match &current.job_id {
        Some(job) => (job.clone(), false),
        None => (new_id()?, true),
    };
    let invoice_id = new_id()?;
    let stamp = now.to_rfc3339();
    let new = NewInvoice {
        id: &invoice_id,
        customer_id: &current.customer_id,
        site_id: Some(&current.site_id),
        job_id: Some(&job_id),
        invoice: &invoice,
        totals: &totals,
        payment_terms_days: settings.payment_terms_days,
        now: &stamp,
    };
    let results = db::audit::write(&database, || {
        let mut steps = Vec::new();
        if new_job {
            steps.push(Step::Plain(db::statement(
                &database,
                store::INSERT_JOB,
                &[
                    db::text(&job_id),
                    db::text(&stamp),
                    db::text(&id),
                    db::int(version),
                ],
            )?));
        }
        steps.push(Step::Plain(invoice_store::insert_from_quote(
            &database, &new, &id, version,
        )?));
        // The conversion is audited on the quote, and the job and the invoice it made as
        // created, each on its own trail (so their pages' timelines start where they did):
        // all three only if the conversion took.
        let mut events = vec![event(
            rctx,
            Some(principal),
            "quote.converted",
            "quote",
            Some(&id),
            None,
            Some(json!({
                "job_id": job_id,
                "job_created": new_job,
                "invoice_id": invoice_id,
                "invoice": invoice_audit(&invoice, totals.total, settings.payment_terms_days),
            })),
        )];
        if new_job {
            events.push(event(
                rctx,
                Some(principal),
                "job.created",
                "job",
                Some(&job_id),
                None,
                Some(json!({
                    "customer_id": current.customer_id, "site_id": current.site_id,
                    "from_quote": id, "job": { "title": quote.title, "priority": "normal" },
                })),
            ));
        }
        events.push(event(
            rctx,
            Some(principal),
            "invoice.created",
            "invoice",
            Some(&invoice_id),
            None,
            Some(json!({
                "customer_id": current.customer_id, "site_id": current.site_id,
                "job_id": job_id, "from_quote": id,
                "invoice": invoice_audit(&invoice, totals.total, settings.payment_terms_days),
            })),
        ));
        steps.push(Step::guarded_all(
            db::statement(
                &database,
                store::CONVERT,
                &[
                    db::text(&job_id),
                    db::text(&invoice_id),
                    db::text(&stamp),
                    db::text(&id),
                    db::int(version),
                ],
            )?,
            events,
        ));
        steps.push(Step::Plain(db::statement(
            &database,
            store::SELECT_BY_ID,
            &[db::text(&id)],
        )?));
        steps.push(Step::Plain(db::statement(
            &database,
            invoice_store::SELECT_BY_ID,
            &[db::text(&invoice_id)],
        )?));
        Ok((steps, vec![]))
    })
    .await?;
    let count = results.len();
    let row = rows_at::<QuoteRow>(&results, count - 2)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("quote"))?;
    let converted = results.get(count - 3).map(db::changes) == Some(1);
    let invoice_row = last_row::<InvoiceRow>(&results)?;
    match invoice_row {
        Some(invoice_row) if converted => {
            let body = json!({
                "quote": quote_view(&row, now)?,
                "job_id": job_id,
                "job_created": new_job,
                "invoice": invoice_view(&invoice_row, &[], now)?,
            });
            let response = with_etag(respond::json(201, &body)?, invoice_row.version);
            let _ = response
                .headers()
                .set("Location", &format!("/api/v1/invoices/{invoice_id}"));
            Ok(response)
        }
        _ => Err(stale(&row, now)),
    }
}
