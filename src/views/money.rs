//! Quotes, invoices and payments as the API shows them, with every amount computed by the
//! domain: a quote's price per option, an invoice's totals, balance and shown status.

use serde_json::{json, Value};

use crate::db::invoices::{InvoiceRow, PaymentRow};
use crate::db::quotes::QuoteRow;
use crate::domain::invoices::{Account, Entry, Invoice, InvoiceStatus};
use crate::domain::money::{totals, Totals};
use crate::domain::quotes::{Acceptance, Choice, Quote, QuoteStatus};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};

fn stored_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn sums(t: &Totals) -> Value {
    json!({
        "subtotal": t.subtotal,
        "discount_total": t.discount_total,
        "tax_total": t.tax_total,
        "total": t.total,
        "taxes": t.taxes,
    })
}

/// What each choice without extras costs: one entry per option (in the order the options
/// first appear), or a single entry with `option: null` when the quote has none. Stored with
/// the quote, and shown.
pub fn option_totals(quote: &Quote) -> AppResult<Value> {
    let options = quote.options();
    let choices: Vec<Option<String>> = if options.is_empty() {
        vec![None]
    } else {
        options.into_iter().map(|o| Some(o.to_owned())).collect()
    };
    let mut priced = Vec::with_capacity(choices.len());
    for option in choices {
        let choice = Choice {
            option: option.clone(),
            optional_lines: Vec::new(),
        };
        let t = quote.totals(&choice)?;
        let deposit = match quote.deposit {
            Some(deposit) => deposit.amount_on(t.total)?,
            None => 0,
        };
        let mut entry = sums(&t);
        entry["option"] = json!(option);
        entry["deposit"] = json!(deposit);
        priced.push(entry);
    }
    Ok(Value::Array(priced))
}

/// The shown status of a stored quote at `now` (a sent quote past its date is expired).
pub fn quote_status(row: &QuoteRow, now: Millis) -> AppResult<QuoteStatus> {
    let stored = QuoteStatus::parse(&row.status)
        .ok_or_else(|| AppError::internal(format!("quote {} has status {}", row.id, row.status)))?;
    let until = Millis::parse_rfc3339(&row.valid_until)
        .ok_or_else(|| AppError::internal(format!("quote {} has a bad valid_until", row.id)))?;
    Ok(stored.at(until, now))
}

fn acceptance(row: &QuoteRow) -> Value {
    if row.accepted_at.is_none() {
        return Value::Null;
    }
    json!({
        "option": row.chosen_option,
        "optional_lines": row.chosen_extras(),
        "signer_name": row.signer_name,
        "accepted_at": row.accepted_at,
        "ip": row.accepted_ip,
        "recorded_by": row.accepted_by,
        "total": row.accepted_total,
        "deposit": row.accepted_deposit,
    })
}

fn quote_common(row: &QuoteRow, now: Millis) -> AppResult<Value> {
    Ok(json!({
        "id": row.id,
        "number": row.number,
        "customer_id": row.customer_id,
        "site_id": row.site_id,
        "job_id": row.job_id,
        "invoice_id": row.invoice_id,
        "title": row.title,
        "status": quote_status(row, now)?.as_str(),
        "currency": row.currency,
        "rounding": row.rounding,
        "valid_until": row.valid_until,
        "sent_at": row.sent_at,
        "declined_at": row.declined_at,
        "converted_at": row.converted_at,
        "acceptance": acceptance(row),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }))
}

/// A quote in a list: its stored option totals, no lines.
pub fn quote_summary(row: &QuoteRow, now: Millis) -> AppResult<Value> {
    let mut view = quote_common(row, now)?;
    view["totals"] = stored_json(&row.totals);
    Ok(view)
}

/// A quote in full, priced now by the domain: the lines with their amounts, the options and
/// what each costs, and for an accepted quote the totals of what was chosen.
pub fn quote_view(row: &QuoteRow, now: Millis) -> AppResult<Value> {
    let quote = row.to_domain()?;
    let mut view = quote_common(row, now)?;
    for (key, value) in quote_priced(&quote)? {
        view[key] = value;
    }
    if row.accepted_at.is_some() {
        let choice = Choice {
            option: row.chosen_option.clone(),
            optional_lines: row.chosen_extras(),
        };
        view["acceptance"]["totals"] = sums(&quote.totals(&choice)?);
    }
    Ok(view)
}

/// A quote's own fields with every amount priced by the domain: what [`quote_view`] shows of
/// the stored quote, and what a preview shows of an edit before it is saved.
pub fn quote_priced(quote: &Quote) -> AppResult<serde_json::Map<String, Value>> {
    let mut priced = serde_json::Map::new();
    priced.insert("lines".into(), json!(quote.lines));
    priced.insert(
        "line_amounts".into(),
        json!(totals(&quote.lines, quote.pricing)?.lines),
    );
    priced.insert("options".into(), json!(quote.options()));
    priced.insert("totals".into(), option_totals(quote)?);
    priced.insert("notes".into(), json!(quote.notes));
    priced.insert("terms".into(), json!(quote.terms));
    priced.insert("deposit".into(), json!(quote.deposit));
    Ok(priced)
}

/// What `POST /api/v1/quotes/{id}/preview` answers: the edited quote priced, with its title
/// and validity.
pub fn quote_preview(quote: &Quote) -> AppResult<Value> {
    let mut view = Value::Object(quote_priced(quote)?);
    view["title"] = json!(quote.title);
    view["valid_until"] = json!(quote.valid_until.to_rfc3339());
    Ok(view)
}

/// The option totals as the quote's `totals` column keeps them.
pub fn stored_totals(quote: &Quote) -> AppResult<String> {
    Ok(option_totals(quote)?.to_string())
}

/// What `POST /api/v1/invoices/{id}/preview` answers: the edited invoice priced, with its
/// payment terms.
pub fn invoice_preview(invoice: &Invoice, payment_terms_days: i64) -> AppResult<Value> {
    let mut view = Value::Object(invoice_priced(invoice)?);
    view["payment_terms_days"] = json!(payment_terms_days);
    Ok(view)
}

/// An invoice's own fields priced by the domain (see [`quote_priced`]).
pub fn invoice_priced(invoice: &Invoice) -> AppResult<serde_json::Map<String, Value>> {
    let priced = invoice.totals()?;
    let mut shown = sums(&priced);
    shown["lines"] = json!(priced.lines);
    let mut fields = serde_json::Map::new();
    fields.insert("lines".into(), json!(invoice.lines));
    fields.insert("notes".into(), json!(invoice.notes));
    fields.insert("terms".into(), json!(invoice.terms));
    fields.insert("deposit".into(), json!(invoice.deposit));
    fields.insert("totals".into(), shown);
    Ok(fields)
}

/// The audit trail's picture of a quote's own fields.
/// What an acceptance records on the quote's trail, whoever recorded it.
pub fn acceptance_audit(accepted: &Acceptance, by_staff: bool) -> Value {
    json!({
        "status": "accepted",
        "option": accepted.choice.option,
        "optional_lines": accepted.choice.optional_lines,
        "signer_name": accepted.signer_name,
        "total": accepted.total,
        "deposit": accepted.deposit,
        "recorded_by_staff": by_staff,
    })
}

pub fn quote_audit(quote: &Quote) -> Value {
    json!({
        "title": quote.title,
        "currency": quote.pricing.currency,
        "rounding": quote.pricing.rounding,
        "lines": quote.lines,
        "notes": quote.notes,
        "terms": quote.terms,
        "valid_until": quote.valid_until.to_rfc3339(),
        "deposit": quote.deposit,
    })
}

pub fn payment_view(row: &PaymentRow) -> Value {
    json!({
        "id": row.id,
        "invoice_id": row.invoice_id,
        "kind": row.kind,
        "amount": row.amount,
        "method": row.method,
        "at": row.at,
        "reference": row.reference,
        "external_id": row.external_id,
        "recorded_by": row.recorded_by,
    })
}

/// The money of an invoice as stored: its total and deposit and the sums of its payments.
pub fn stored_account(row: &InvoiceRow, invoice: &Invoice) -> Account {
    Account {
        currency: invoice.pricing.currency,
        total: row.total,
        deposit: row.deposit,
        paid: row.paid,
        refunded: row.refunded,
    }
}

/// The status an invoice shows at `now`: derived from the money and the due date by the
/// domain; a credit note shows its stored status (nobody pays one).
pub fn invoice_status(
    row: &InvoiceRow,
    account: &Account,
    now: Millis,
) -> AppResult<InvoiceStatus> {
    let stored = row.stored_status()?;
    Ok(if row.is_credit_note() {
        stored
    } else {
        stored.derive(account, row.due(), now)
    })
}

fn invoice_common(row: &InvoiceRow, account: &Account, now: Millis) -> AppResult<Value> {
    let credit_note = row.is_credit_note();
    Ok(json!({
        "id": row.id,
        "kind": row.kind,
        "number": row.number,
        "customer_id": row.customer_id,
        "site_id": row.site_id,
        "job_id": row.job_id,
        "quote_id": row.quote_id,
        "credit_note_for": row.credit_note_for,
        "credit_note_id": row.credit_note_id,
        "status": invoice_status(row, account, now)?.as_str(),
        "currency": row.currency,
        "rounding": row.rounding,
        "deposit": row.deposit,
        "payment_terms_days": row.payment_terms_days,
        "issued_at": row.issued_at,
        "due_at": row.due_at,
        "voided_at": row.voided_at,
        "paid": account.paid,
        "refunded": account.refunded,
        "balance": (!credit_note).then(|| account.balance()),
        "due_now": (!credit_note && row.status == "issued").then(|| account.due_now()),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }))
}

/// An invoice in a list: stored sums, no lines.
pub fn invoice_summary(row: &InvoiceRow, now: Millis) -> AppResult<Value> {
    let invoice = row.to_domain()?;
    let account = stored_account(row, &invoice);
    let mut view = invoice_common(row, &account, now)?;
    view["totals"] = json!({
        "subtotal": row.subtotal,
        "discount_total": row.discount_total,
        "tax_total": row.tax_total,
        "total": row.total,
    });
    Ok(view)
}

/// An invoice in full: lines, totals priced by the domain, the account its payments make
/// (by the domain's rules), and the payments themselves.
pub fn invoice_view(row: &InvoiceRow, payments: &[PaymentRow], now: Millis) -> AppResult<Value> {
    let invoice = row.to_domain()?;
    let entries: Vec<Entry> = payments
        .iter()
        .map(PaymentRow::to_entry)
        .collect::<AppResult<_>>()?;
    let account = invoice.account(&entries)?;
    if (account.paid, account.refunded) != (row.paid, row.refunded) {
        return Err(AppError::internal(format!(
            "invoice {} sums disagree with its payments",
            row.id
        )));
    }
    let mut view = invoice_common(row, &account, now)?;
    for (key, value) in invoice_priced(&invoice)? {
        view[key] = value;
    }
    view["payments"] = Value::Array(payments.iter().map(payment_view).collect());
    Ok(view)
}

/// The audit trail's picture of an invoice's own fields.
pub fn invoice_audit(invoice: &Invoice, total: i64, payment_terms_days: i64) -> Value {
    json!({
        "currency": invoice.pricing.currency,
        "rounding": invoice.pricing.rounding,
        "lines": invoice.lines,
        "notes": invoice.notes,
        "terms": invoice.terms,
        "deposit": invoice.deposit,
        "payment_terms_days": payment_terms_days,
        "total": total,
    })
}

#[cfg(test)]
mod golden;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::{Currency, Line, Pricing, Rounding};
    use crate::domain::quotes::{Deposit, DEFAULT_VALIDITY_MS};

    fn line(description: &str, unit_price: i64, option: Option<&str>) -> Line {
        Line {
            description: description.into(),
            quantity_milli: 1_000,
            unit_price,
            tax_rate_ppm: 50_000,
            discount: None,
            optional: false,
            option: option.map(str::to_owned),
        }
    }

    fn quote(lines: Vec<Line>, deposit: Option<Deposit>) -> Quote {
        Quote {
            title: "Furnace".into(),
            pricing: Pricing {
                currency: Currency::USD,
                rounding: Rounding::PerLine,
            },
            lines,
            notes: None,
            terms: None,
            valid_until: Millis(DEFAULT_VALIDITY_MS),
            deposit,
        }
    }

    #[test]
    fn each_option_is_priced_with_its_deposit_and_a_plain_quote_once() {
        let priced = option_totals(&quote(
            vec![
                line("Service call", 8_900, None),
                line("Basic filter", 2_000, Some("Good")),
                line("HEPA filter", 9_900, Some("Best")),
            ],
            Some(Deposit::PercentPpm(250_000)),
        ))
        .unwrap();
        let shown: Vec<(Value, i64, i64)> = priced
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["option"].clone(),
                    p["total"].as_i64().unwrap(),
                    p["deposit"].as_i64().unwrap(),
                )
            })
            .collect();
        // Good: 10900 + 545 tax; Best: 18800 + 940; deposits a quarter, half-up.
        assert_eq!(
            shown,
            [
                (json!("Good"), 11_445, 2_861),
                (json!("Best"), 19_740, 4_935)
            ]
        );
        let plain = option_totals(&quote(vec![line("Tune-up", 10_000, None)], None)).unwrap();
        assert_eq!(plain[0]["option"], Value::Null);
        assert_eq!(
            (plain[0]["total"].clone(), plain[0]["deposit"].clone()),
            (json!(10_500), json!(0))
        );
    }
}
