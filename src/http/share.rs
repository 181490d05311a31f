//! `/s/{token}`: the customer's side of a share link. `GET` shows the quote or invoice (and
//! marks a sent quote viewed); `POST …/accept` and `…/decline` answer a quote (once: the
//! acceptance is a guarded write, so a second tab's accept is refused); `POST …/pay` sends
//! the customer to Stripe Checkout for what is due now. Every action is audited with the
//! customer's IP, as actor kind `customer` (the link's id). Misses are rate-limited per IP.

use crate::json;
use worker::{Env, Request, Response, ResponseBuilder};

use crate::db::invoices::{self as invoice_store, InvoiceRow, PaymentRow};
use crate::db::quotes::{self as quote_store, QuoteRow};
use crate::db::settings::Settings;
use crate::db::share_links::{self as link_store, ShareLinkRow};
use crate::db::store::D1Store;
use crate::db::{self, rows_at};
use crate::domain::audit::Action as AuditAction;
use crate::domain::audit::{ActorKind, AuditEvent};
use crate::domain::auth::session::sha256_hex;
use crate::domain::messaging::parse_form;
use crate::domain::personal::{customer_key, pending};
use crate::domain::quotes::{Choice, QuoteStatus};
use crate::domain::share_links::{is_open, looks_like_token};
use crate::domain::stripe::Checkout;
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::api::quotes::read;
use crate::http::api::{now, pdfs};
use crate::http::router::Matched;
use crate::http::{clock, crypto, RequestCtx};
use crate::services::stripe;
use crate::sql;
use crate::views::money::{acceptance_audit, invoice_status, quote_status};
use crate::views::share::{
    day, invoice_page, message_page, quote_page, Company, InvoiceState, QuoteState,
};
use crate::views::url::{origin, query_pairs};
use crate::write::{self, Change, Refusal};

/// Misses (unknown tokens) allowed per IP in a window, before 429s; the Worker variable
/// `SHARE_MISS_LIMIT` sets another (a load test or a fuzz run from one address).
const MISS_LIMIT: u32 = 20;
const MISS_WINDOW_SECS: u64 = 600;
const MAX_FORM: usize = 16 * 1024;
const MAX_REASON: usize = 1_000;
const ALREADY_ANSWERED: &str = "This quote was already answered; it cannot be accepted again.";

/// What a POST asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Accept,
    Decline,
    Pay,
}

/// Everything a share page needs, read for one token.
struct Opened {
    token: String,
    link: ShareLinkRow,
    settings: Settings,
    nonce: String,
}

pub(crate) fn html(status: u16, nonce: &str, body: String) -> AppResult<Response> {
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; img-src 'self' data:; \
         form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'; base-uri 'none'"
    );
    let response = ResponseBuilder::new()
        .with_status(status)
        .fixed(body.into_bytes());
    let headers = response.headers();
    let set = |k: &str, v: &str| {
        headers
            .set(k, v)
            .map_err(|e| AppError::internal(format!("header {k}: {e}")))
    };
    set("Content-Type", "text/html; charset=utf-8")?;
    set("Content-Security-Policy", &csp)?;
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the
    // pages' own form posts, which could not then be told from a sandboxed frame's.
    set("Referrer-Policy", "same-origin")?;
    set("X-Robots-Tag", "noindex")?;
    Ok(response)
}

fn redirect(location: &str) -> AppResult<Response> {
    let response = ResponseBuilder::new().with_status(303).empty();
    response
        .headers()
        .set("Location", location)
        .map_err(|e| AppError::internal(format!("location: {e}")))?;
    Ok(response)
}

pub(crate) fn company(settings: &Settings) -> Company<'_> {
    Company {
        name: &settings.name,
        email: settings.email.as_deref(),
        phone: settings.phone.as_deref(),
        address: settings.address.as_deref(),
        brand_color: Some(&settings.brand_color),
        logo: settings.logo_file_id.is_some(),
    }
}

fn plain_company() -> Company<'static> {
    Company {
        name: "Your link",
        email: None,
        phone: None,
        address: None,
        brand_color: None,
        logo: false,
    }
}

pub(crate) fn new_nonce() -> AppResult<String> {
    crypto::random_string(22)
}

/// A customer's action as an audit event: the link is the actor.
fn customer_event(
    rctx: &RequestCtx,
    link_id: &str,
    action: AuditAction,
    entity: &'static str,
    entity_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> AuditEvent {
    AuditEvent {
        at: clock::now(),
        actor_kind: ActorKind::Customer,
        actor_id: Some(link_id.to_owned()),
        action,
        entity,
        entity_id: Some(entity_id.to_owned()),
        before,
        after,
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    }
}

fn miss_key(rctx: &RequestCtx) -> Option<String> {
    rctx.ip.as_ref().map(|ip| format!("share-miss:{ip}"))
}

async fn misses(env: &Env, rctx: &RequestCtx) -> u32 {
    let (Some(key), Ok(kv)) = (miss_key(rctx), db::sessions(env)) else {
        return 0;
    };
    kv.get(&key)
        .text()
        .await
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn count_miss(env: &Env, rctx: &RequestCtx, seen: u32) {
    if let (Some(key), Ok(kv)) = (miss_key(rctx), db::sessions(env)) {
        if let Ok(put) = kv.put(&key, (seen + 1).to_string()) {
            let _ = put.expiration_ttl(MISS_WINDOW_SECS).execute().await;
        }
    }
}

/// The link behind `matched`'s token, if it opens; otherwise the page to answer with.
async fn open(
    env: &Env,
    rctx: &RequestCtx,
    matched: &Matched,
) -> AppResult<Result<Opened, Response>> {
    let nonce = new_nonce()?;
    let token = matched.param("token").unwrap_or_default().to_owned();
    let seen = misses(env, rctx).await;
    let limit = env
        .var("SHARE_MISS_LIMIT")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .unwrap_or(MISS_LIMIT);
    if seen >= limit {
        let page = message_page(
            &plain_company(),
            "Too many attempts",
            "Please wait a few minutes, then open the link you were sent.",
            &nonce,
        );
        return Ok(Err(html(429, &nonce, page)?));
    }
    let not_found = |nonce: &str| -> AppResult<Response> {
        let page = message_page(
            &plain_company(),
            "Link not found",
            "This link does not exist. Check that you opened the whole link you were sent.",
            nonce,
        );
        html(404, nonce, page)
    };
    if !looks_like_token(&token) {
        count_miss(env, rctx, seen).await;
        return Ok(Err(not_found(&nonce)?));
    }
    let database = db::database(env)?;
    let results = db::read_batch(
        &database,
        vec![
            db::statement(
                &database,
                link_store::SELECT_BY_HASH,
                &[db::text(&sha256_hex(&token))],
            )?,
            db::statement(&database, db::settings::SELECT, &[])?,
        ],
    )
    .await?;
    let Some(link) = rows_at::<ShareLinkRow>(&results, 0)?.into_iter().next() else {
        count_miss(env, rctx, seen).await;
        return Ok(Err(not_found(&nonce)?));
    };
    let settings = rows_at::<Settings>(&results, 1)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("company settings"))?;
    let expires = Millis::parse_rfc3339(&link.expires_at)
        .ok_or_else(|| AppError::internal(format!("share link {} expiry", link.id)))?;
    if !is_open(expires, link.revoked_at.is_some(), now()) {
        // Expired and withdrawn links answer as unknown ones do: a closed link tells nothing.
        let page = message_page(
            &company(&settings),
            "This link is no longer valid",
            "It may have expired or been withdrawn. Ask us for a new one: contact details are above.",
            &nonce,
        );
        return Ok(Err(html(404, &nonce, page)?));
    }
    Ok(Ok(Opened {
        token,
        link,
        settings,
        nonce,
    }))
}

/// `GET /s/{token}`.
pub async fn view(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    matched: &Matched,
) -> AppResult<Response> {
    let opened = match open(env, rctx, matched).await? {
        Ok(opened) => opened,
        Err(page) => return Ok(page),
    };
    let flash = query_pairs(&req.inner().url())
        .into_iter()
        .find_map(|(k, _)| match k.as_str() {
            "accepted" => Some(
                "Thank you: your acceptance is recorded. We will be in touch to book the work.",
            ),
            "declined" => Some("Your answer is recorded. Thank you for letting us know."),
            "paid" => {
                Some("Thank you: your payment is being confirmed and will show here shortly.")
            }
            _ => None,
        });
    match opened.link.document_kind.as_str() {
        "quote" => show_quote(env, rctx, &opened, flash.map(|f| (f, false)), 200).await,
        _ => show_invoice(env, &opened, flash.map(|f| (f, false)), 200).await,
    }
}

#[derive(serde::Deserialize)]
struct NameRow {
    name: String,
}

/// The name of the customer a document is for, shown on the page.
async fn customer_name(env: &Env, customer_id: &str) -> AppResult<Option<String>> {
    Ok(db::first::<NameRow>(
        &db::database(env)?,
        link_store::SELECT_CUSTOMER_NAME,
        &[db::text(customer_id)],
    )
    .await?
    .map(|r| r.name))
}

async fn load_quote(env: &Env, id: &str) -> AppResult<QuoteRow> {
    db::first::<QuoteRow>(
        &db::database(env)?,
        quote_store::SELECT_BY_ID,
        &[db::text(id)],
    )
    .await?
    .ok_or_else(|| AppError::not_found("quote"))
}

async fn show_quote(
    env: &Env,
    rctx: &RequestCtx,
    opened: &Opened,
    notice: Option<(&str, bool)>,
    status: u16,
) -> AppResult<Response> {
    let mut row = load_quote(env, &opened.link.document_id).await?;
    let at = now();
    // The first opening of a sent quote marks it viewed (audited with the customer's IP).
    if row.status == "sent" && quote_status(&row, at)? == QuoteStatus::Sent {
        let store = D1Store::from_env(env)?;
        let change = Change::new()
            .guarded(quote_store::set_status(
                &row.id,
                row.version,
                "sent",
                "viewed",
                &at.to_rfc3339(),
            ))
            .audit(customer_event(
                rctx,
                &opened.link.id,
                AuditAction::QuoteViewed,
                "quote",
                &row.id,
                Some(json!({ "status": "sent" })),
                Some(json!({ "status": "viewed" })),
            ));
        // Another opening got there first: the quote is shown as it is.
        if let Ok(written) = write::apply(
            &store,
            change,
            vec![sql!(quote_store::SELECT_BY_ID, row.id.as_str())],
        )
        .await
        {
            if let Some(fresh) = write::first_row::<QuoteRow>(&written.results, written.reads_from)?
            {
                row = fresh;
            }
        }
    }
    let quote = row.to_domain()?;
    let shown = quote_status(&row, at)?;
    // Taken back to draft to be changed: what the link showed is no longer the offer.
    if shown == QuoteStatus::Draft {
        return being_updated(opened);
    }
    let number = crate::domain::quotes::number_text(row.number);
    let for_whom = customer_name(env, &row.customer_id).await?;
    let valid_until = quote.valid_until.to_rfc3339();
    let accepted_at = row.accepted_at.as_deref().map(day);
    let accepted = match (&row.signer_name, accepted_at) {
        (Some(signer), Some(at)) => Some((signer.as_str(), at, row.chosen_option.as_deref())),
        _ => None,
    };
    let totals_for = |option: Option<&str>| match option {
        None => crate::domain::money::totals(&quote.lines, quote.pricing).ok(),
        Some(option) => quote
            .totals(&Choice {
                option: Some(option.to_owned()),
                optional_lines: Vec::new(),
            })
            .ok(),
    };
    let page = quote_page(
        &company(&opened.settings),
        &quote,
        &totals_for,
        &QuoteState {
            number: &number,
            customer: for_whom.as_deref(),
            status: shown.as_str(),
            valid_until: day(&valid_until),
            accepted,
            notice,
        },
        &format!("/s/{}", opened.token),
        &opened.nonce,
    );
    html(status, &opened.nonce, page)
}

/// A quote taken back to draft to be changed: what the link showed is no longer the offer.
fn being_updated(opened: &Opened) -> AppResult<Response> {
    let page = message_page(
        &company(&opened.settings),
        "This quote is being updated",
        "The business is changing this quote. They will send it to you again when it is ready.",
        &opened.nonce,
    );
    html(409, &opened.nonce, page)
}

/// An invoice and its payments, in one round trip.
pub(crate) async fn load_invoice(env: &Env, id: &str) -> AppResult<(InvoiceRow, Vec<PaymentRow>)> {
    let database = db::database(env)?;
    let results = db::read_batch(
        &database,
        vec![
            db::statement(&database, invoice_store::SELECT_BY_ID, &[db::text(id)])?,
            db::statement(&database, invoice_store::SELECT_PAYMENTS, &[db::text(id)])?,
        ],
    )
    .await?;
    let row = rows_at::<InvoiceRow>(&results, 0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("invoice"))?;
    Ok((row, rows_at::<PaymentRow>(&results, 1)?))
}

async fn show_invoice(
    env: &Env,
    opened: &Opened,
    notice: Option<(&str, bool)>,
    status: u16,
) -> AppResult<Response> {
    let (row, payments) = load_invoice(env, &opened.link.document_id).await?;
    let invoice = row.to_domain()?;
    let account = account_of(&invoice, &payments)?;
    let shown = invoice_status(&row, &account, now())?;
    let totals = invoice.totals()?;
    let payable = row.status == "issued" && !row.is_credit_note();
    let for_whom = customer_name(env, &row.customer_id).await?;
    let due_at = row.due_at.as_deref().map(day);
    let page = invoice_page(
        &company(&opened.settings),
        invoice.pricing.currency,
        &invoice.lines,
        &totals,
        &InvoiceState {
            number: row.number.as_deref().unwrap_or("(draft)"),
            customer: for_whom.as_deref(),
            status: shown.as_str(),
            due_at,
            paid: account.net_paid(),
            balance: if payable { account.balance() } else { 0 },
            due_now: if payable { account.due_now() } else { 0 },
            can_pay_online: stripe::configured(env),
            notice,
        },
        &format!("/s/{}", opened.token),
        &opened.nonce,
    );
    html(status, &opened.nonce, page)
}

/// `GET /s/{token}/pdf`: the document the link shows, as a PDF, behind the same checks as the
/// page (misses rate-limited, closed links refused). A quote taken back to draft is refused as
/// its page is. Downloading does not mark a quote viewed: opening its page does.
pub async fn pdf(env: &Env, rctx: &RequestCtx, matched: &Matched) -> AppResult<Response> {
    let opened = match open(env, rctx, matched).await? {
        Ok(opened) => opened,
        Err(page) => return Ok(page),
    };
    let store = D1Store::from_env(env)?;
    let id = opened.link.document_id.as_str();
    if opened.link.document_kind == "quote" {
        let results = read(&store, pdfs::quote_reads(id)).await?;
        let (row, response) = pdfs::quote_response(env, &results).await?;
        if quote_status(&row, now())? == QuoteStatus::Draft {
            return being_updated(&opened);
        }
        return Ok(response);
    }
    let results = read(&store, pdfs::invoice_reads(id)).await?;
    pdfs::invoice_response(env, &results).await
}

/// `POST /s/{token}/accept|decline|pay`, as HTML forms send them.
pub async fn act(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    matched: &Matched,
    action: Action,
) -> AppResult<Response> {
    let opened = match open(env, rctx, matched).await? {
        Ok(opened) => opened,
        Err(page) => return Ok(page),
    };
    // Our own pages post these forms, and only they may (the token is the secret, this is the
    // second lock): browsers name our origin on them, since the pages' referrer policy is
    // same-origin. No Origin, `null` (a sandboxed frame, a data: page) or another site's is
    // refused.
    let url = req.inner().url();
    let own = origin(&url).unwrap_or_default().to_owned();
    let sent = req.headers().get("Origin").ok().flatten();
    if !sent.is_some_and(|sent| !own.is_empty() && sent.eq_ignore_ascii_case(&own)) {
        let page = message_page(
            &company(&opened.settings),
            "Not allowed",
            "Open the link you were sent and use the buttons there.",
            &opened.nonce,
        );
        return html(403, &opened.nonce, page);
    }
    let bytes = crate::http::extract::bounded_bytes(&mut req, MAX_FORM).await?;
    let form = parse_form(&bytes).map_err(|e| AppError::bad_request(format!("Not a form: {e}")))?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    match (action, opened.link.document_kind.as_str()) {
        (Action::Accept, "quote") => {
            let choice = Choice {
                option: field("option").filter(|o| !o.is_empty()),
                optional_lines: form
                    .iter()
                    .filter(|(k, _)| k == "extra")
                    .filter_map(|(_, v)| v.parse().ok())
                    .collect(),
            };
            let signer = field("signer_name").unwrap_or_default();
            accept(env, rctx, &opened, choice, &signer).await
        }
        (Action::Decline, "quote") => {
            let reason: String = field("reason")
                .unwrap_or_default()
                .chars()
                .take(MAX_REASON)
                .collect();
            decline(env, rctx, &opened, &reason).await
        }
        (Action::Pay, "invoice") => pay(env, &opened, &own).await,
        _ => {
            let page = message_page(
                &company(&opened.settings),
                "Not available",
                "This link does not offer that.",
                &opened.nonce,
            );
            html(405, &opened.nonce, page)
        }
    }
}

async fn accept(
    env: &Env,
    rctx: &RequestCtx,
    opened: &Opened,
    choice: Choice,
    signer: &str,
) -> AppResult<Response> {
    let row = load_quote(env, &opened.link.document_id).await?;
    let at = now();
    let stored = QuoteStatus::parse(&row.status)
        .ok_or_else(|| AppError::internal(format!("quote {} has status {}", row.id, row.status)))?;
    let accepted = match row.to_domain()?.accept(stored, choice, signer, at) {
        Ok(accepted) => accepted,
        Err(refused) => {
            let message = if matches!(stored, QuoteStatus::Accepted | QuoteStatus::Declined) {
                ALREADY_ANSWERED.to_owned()
            } else {
                refused
                    .detail
                    .clone()
                    .unwrap_or_else(|| "That could not be done.".into())
            };
            return show_quote(env, rctx, opened, Some((&message, true)), refused.status()).await;
        }
    };
    let stamp = at.to_rfc3339();
    let extras = json!(accepted.choice.optional_lines).to_string();
    // The signer's name is the customer's personal data: sealed under their key.
    let signer = pending(&customer_key(&row.customer_id), &accepted.signer_name);
    let mut after = acceptance_audit(&accepted, false);
    after["signer_name"] = json!(signer);
    let change = Change::new()
        .guarded(sql!(
            quote_store::ACCEPT,
            accepted.choice.option.as_deref(),
            extras,
            signer.as_str(),
            stamp,
            rctx.ip.as_deref(),
            None::<&str>,
            accepted.total,
            accepted.deposit,
            row.id.as_str(),
            row.version
        ))
        .audit(customer_event(
            rctx,
            &opened.link.id,
            AuditAction::QuoteAccepted,
            "quote",
            &row.id,
            Some(json!({ "status": stored.as_str() })),
            Some(after),
        ));
    match write::apply(&D1Store::from_env(env)?, change, vec![]).await {
        Ok(_) => {}
        // Someone (another tab) answered first.
        Err(Refusal::Guard) => {
            return show_quote(env, rctx, opened, Some((ALREADY_ANSWERED, true)), 409).await
        }
        Err(other) => return Err(other.into_error(|| AppError::internal("unreachable"))),
    }
    redirect(&format!("/s/{}?accepted=1", opened.token))
}

async fn decline(
    env: &Env,
    rctx: &RequestCtx,
    opened: &Opened,
    reason: &str,
) -> AppResult<Response> {
    let row = load_quote(env, &opened.link.document_id).await?;
    let at = now();
    let shown = quote_status(&row, at)?;
    if let Err(refused) = shown.transition(QuoteStatus::Declined) {
        let message = refused
            .detail
            .clone()
            .unwrap_or_else(|| "That could not be done.".into());
        return show_quote(env, rctx, opened, Some((&message, true)), 409).await;
    }
    let change = Change::new()
        .guarded(quote_store::set_status(
            &row.id,
            row.version,
            &row.status,
            "declined",
            &at.to_rfc3339(),
        ))
        .audit(customer_event(
            rctx,
            &opened.link.id,
            AuditAction::QuoteDeclined,
            "quote",
            &row.id,
            Some(json!({ "status": shown.as_str() })),
            Some(json!({ "status": "declined", "reason": reason })),
        ));
    let declined = match write::apply(&D1Store::from_env(env)?, change, vec![]).await {
        Ok(_) => true,
        Err(Refusal::Guard) => false,
        Err(other) => return Err(other.into_error(|| AppError::internal("unreachable"))),
    };
    if !declined {
        return show_quote(
            env,
            rctx,
            opened,
            Some(("This quote was already answered.", true)),
            409,
        )
        .await;
    }
    redirect(&format!("/s/{}?declined=1", opened.token))
}

async fn pay(env: &Env, opened: &Opened, own_origin: &str) -> AppResult<Response> {
    let (row, payments) = load_invoice(env, &opened.link.document_id).await?;
    let invoice = row.to_domain()?;
    let account = account_of(&invoice, &payments)?;
    let due = account.due_now();
    if row.status != "issued" || row.is_credit_note() || due <= 0 || !stripe::configured(env) {
        return show_invoice(
            env,
            opened,
            Some(("There is nothing to pay by card here.", true)),
            409,
        )
        .await;
    }
    let page = format!("{own_origin}/s/{}", opened.token);
    let number = row.number.clone().unwrap_or_default();
    let checkout = Checkout {
        invoice_id: &row.id,
        invoice_number: &number,
        company: &opened.settings.name,
        amount: due,
        currency: invoice.pricing.currency.code(),
        customer_email: None,
        success_url: &format!("{page}?paid=1"),
        cancel_url: &page,
    };
    match stripe::create_checkout(env, &checkout).await {
        Ok(session) => redirect(&session.url),
        Err(e) => {
            worker::console_error!(
                "{}",
                json!({ "level": "error", "msg": "stripe checkout", "error": e.to_string() })
            );
            show_invoice(
                env,
                opened,
                Some((
                    "Card payment is not available right now; please try again later.",
                    true,
                )),
                503,
            )
            .await
        }
    }
}

/// The account an invoice and its payments make, by the domain's rules.
pub fn account_of(
    invoice: &crate::domain::invoices::Invoice,
    payments: &[PaymentRow],
) -> AppResult<crate::domain::invoices::Account> {
    let entries = payments
        .iter()
        .map(PaymentRow::to_entry)
        .collect::<AppResult<Vec<_>>>()?;
    invoice.account(&entries)
}
