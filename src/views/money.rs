//! Quotes, invoices and payments as the API shows them, with every amount computed by the
//! domain: a quote's price per option, an invoice's totals, balance and shown status. Each is
//! a typed view the API serializes and the dashboard's pages read.

use crate::json;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::db::invoices::{InvoiceRow, PaymentRow};
use crate::db::quotes::QuoteRow;
use crate::domain::invoices::{Account, Entry, Invoice, InvoiceStatus};
use crate::domain::money::{totals, Line, LineAmounts, TaxGroup, Totals};
use crate::domain::quotes::{Acceptance, Choice, Deposit, Quote, QuoteStatus};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};

/// A document's four sums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amounts {
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
}

/// The sums with the tax of each rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sums {
    #[serde(flatten)]
    pub amounts: Amounts,
    pub taxes: Vec<TaxGroup>,
}

impl From<&Totals> for Sums {
    fn from(t: &Totals) -> Self {
        Sums {
            amounts: Amounts {
                subtotal: t.subtotal,
                discount_total: t.discount_total,
                tax_total: t.tax_total,
                total: t.total,
            },
            taxes: t.taxes.clone(),
        }
    }
}

/// The sums and each line's amounts: an invoice's `totals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineTotals {
    #[serde(flatten)]
    pub sums: Sums,
    pub lines: Vec<LineAmounts>,
}

impl From<Totals> for LineTotals {
    fn from(t: Totals) -> Self {
        LineTotals {
            sums: Sums::from(&t),
            lines: t.lines,
        }
    }
}

/// What one choice without extras costs (`option: null` for a quote without options).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionTotals {
    pub option: Option<String>,
    #[serde(flatten)]
    pub sums: Sums,
    pub deposit: i64,
}

/// What each choice without extras costs: one entry per option (in the order the options
/// first appear), or a single entry with `option: null` when the quote has none. Stored with
/// the quote, and shown.
pub fn option_totals(quote: &Quote) -> AppResult<Vec<OptionTotals>> {
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
        priced.push(OptionTotals {
            option,
            sums: Sums::from(&t),
            deposit,
        });
    }
    Ok(priced)
}

/// The option totals as the quote's `totals` column keeps them.
pub fn stored_totals(quote: &Quote) -> AppResult<String> {
    serde_json::to_string(&option_totals(quote)?).map_err(AppError::internal)
}

/// A quote's `totals` column as a list shows it: the option totals it was stored with, or
/// whatever else the column holds, as it is (null when it is not JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StoredTotals {
    Priced(Vec<OptionTotals>),
    Other(Value),
}

impl StoredTotals {
    pub fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or(StoredTotals::Other(Value::Null))
    }

    /// The option totals, none when the column holds something else.
    pub fn options(&self) -> &[OptionTotals] {
        match self {
            StoredTotals::Priced(options) => options,
            StoredTotals::Other(_) => &[],
        }
    }
}

/// The shown status of a stored quote at `now` (a sent quote past its date is expired).
pub fn quote_status(row: &QuoteRow, now: Millis) -> AppResult<QuoteStatus> {
    let stored = QuoteStatus::parse(&row.status)
        .ok_or_else(|| AppError::internal(format!("quote {} has status {}", row.id, row.status)))?;
    let until = Millis::parse_rfc3339(&row.valid_until)
        .ok_or_else(|| AppError::internal(format!("quote {} has a bad valid_until", row.id)))?;
    Ok(stored.at(until, now))
}

fn quote_status_text<S: Serializer>(status: &QuoteStatus, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.as_str())
}

fn invoice_status_text<S: Serializer>(status: &InvoiceStatus, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(status.as_str())
}

/// A quote's acceptance, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct AcceptanceView {
    pub option: Option<String>,
    pub optional_lines: Vec<usize>,
    pub signer_name: Option<String>,
    pub accepted_at: String,
    pub ip: Option<String>,
    pub recorded_by: Option<String>,
    pub total: Option<i64>,
    pub deposit: Option<i64>,
    /// What was chosen, priced now; only in the full view.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<Sums>,
}

impl AcceptanceView {
    /// `None` for a quote nobody accepted.
    fn of(row: &QuoteRow) -> Option<Self> {
        Some(AcceptanceView {
            option: row.chosen_option.clone(),
            optional_lines: row.chosen_extras(),
            signer_name: row.signer_name.clone(),
            accepted_at: row.accepted_at.clone()?,
            ip: row.accepted_ip.clone(),
            recorded_by: row.accepted_by.clone(),
            total: row.accepted_total,
            deposit: row.accepted_deposit,
            totals: None,
        })
    }
}

/// What every view of a stored quote shows.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteHead {
    pub id: String,
    pub number: i64,
    pub customer_id: String,
    pub site_id: String,
    pub job_id: Option<String>,
    pub invoice_id: Option<String>,
    pub title: String,
    #[serde(serialize_with = "quote_status_text")]
    pub status: QuoteStatus,
    pub currency: String,
    pub rounding: String,
    pub valid_until: String,
    pub sent_at: Option<String>,
    pub declined_at: Option<String>,
    pub converted_at: Option<String>,
    pub acceptance: Option<AcceptanceView>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl QuoteHead {
    fn new(row: &QuoteRow, now: Millis) -> AppResult<Self> {
        Ok(QuoteHead {
            id: row.id.clone(),
            number: row.number,
            customer_id: row.customer_id.clone(),
            site_id: row.site_id.clone(),
            job_id: row.job_id.clone(),
            invoice_id: row.invoice_id.clone(),
            title: row.title.clone(),
            status: quote_status(row, now)?,
            currency: row.currency.clone(),
            rounding: row.rounding.clone(),
            valid_until: row.valid_until.clone(),
            sent_at: row.sent_at.clone(),
            declined_at: row.declined_at.clone(),
            converted_at: row.converted_at.clone(),
            acceptance: AcceptanceView::of(row),
            version: row.version,
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
        })
    }
}

/// A quote in a list: its stored option totals, no lines.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteSummary {
    #[serde(flatten)]
    pub head: QuoteHead,
    pub totals: StoredTotals,
}

impl QuoteSummary {
    pub fn new(row: &QuoteRow, now: Millis) -> AppResult<Self> {
        Ok(QuoteSummary {
            head: QuoteHead::new(row, now)?,
            totals: StoredTotals::parse(&row.totals),
        })
    }
}

/// A quote's own fields with every amount priced by the domain: what [`QuoteView`] shows of
/// the stored quote, and what a preview shows of an edit before it is saved.
#[derive(Debug, Clone, Serialize)]
pub struct QuotePriced {
    pub lines: Vec<Line>,
    /// Each line's amounts, indexed like `lines` (every line counted).
    pub line_amounts: Vec<LineAmounts>,
    pub options: Vec<String>,
    pub totals: Vec<OptionTotals>,
    pub notes: Option<String>,
    pub terms: Option<String>,
    pub deposit: Option<Deposit>,
}

impl QuotePriced {
    pub fn new(quote: &Quote) -> AppResult<Self> {
        Ok(QuotePriced {
            line_amounts: totals(&quote.lines, quote.pricing)?.lines,
            options: quote.options().into_iter().map(str::to_owned).collect(),
            totals: option_totals(quote)?,
            lines: quote.lines.clone(),
            notes: quote.notes.clone(),
            terms: quote.terms.clone(),
            deposit: quote.deposit,
        })
    }
}

/// A quote in full, priced now by the domain: the lines with their amounts, the options and
/// what each costs, and for an accepted quote the totals of what was chosen.
#[derive(Debug, Clone, Serialize)]
pub struct QuoteView {
    #[serde(flatten)]
    pub head: QuoteHead,
    #[serde(flatten)]
    pub priced: QuotePriced,
}

impl QuoteView {
    pub fn new(row: &QuoteRow, now: Millis) -> AppResult<Self> {
        let quote = row.to_domain()?;
        let mut head = QuoteHead::new(row, now)?;
        if let Some(acceptance) = &mut head.acceptance {
            let choice = Choice {
                option: row.chosen_option.clone(),
                optional_lines: row.chosen_extras(),
            };
            acceptance.totals = Some(Sums::from(&quote.totals(&choice)?));
        }
        Ok(QuoteView {
            head,
            priced: QuotePriced::new(&quote)?,
        })
    }
}

/// What `POST /api/v1/quotes/{id}/preview` answers: the edited quote priced, with its title
/// and validity.
#[derive(Debug, Clone, Serialize)]
pub struct QuotePreview {
    pub title: String,
    pub valid_until: String,
    #[serde(flatten)]
    pub priced: QuotePriced,
}

impl QuotePreview {
    pub fn new(quote: &Quote) -> AppResult<Self> {
        Ok(QuotePreview {
            title: quote.title.clone(),
            valid_until: quote.valid_until.to_rfc3339(),
            priced: QuotePriced::new(quote)?,
        })
    }
}

/// An invoice's own fields priced by the domain (see [`QuotePriced`]).
#[derive(Debug, Clone, Serialize)]
pub struct InvoicePriced {
    pub lines: Vec<Line>,
    pub notes: Option<String>,
    pub terms: Option<String>,
    pub deposit: i64,
    pub totals: LineTotals,
}

impl InvoicePriced {
    pub fn new(invoice: &Invoice) -> AppResult<Self> {
        Ok(InvoicePriced {
            totals: LineTotals::from(invoice.totals()?),
            lines: invoice.lines.clone(),
            notes: invoice.notes.clone(),
            terms: invoice.terms.clone(),
            deposit: invoice.deposit,
        })
    }
}

/// What `POST /api/v1/invoices/{id}/preview` answers: the edited invoice priced, with its
/// payment terms.
#[derive(Debug, Clone, Serialize)]
pub struct InvoicePreview {
    #[serde(flatten)]
    pub priced: InvoicePriced,
    pub payment_terms_days: i64,
}

impl InvoicePreview {
    pub fn new(invoice: &Invoice, payment_terms_days: i64) -> AppResult<Self> {
        Ok(InvoicePreview {
            priced: InvoicePriced::new(invoice)?,
            payment_terms_days,
        })
    }
}

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

/// The audit trail's picture of a quote's own fields.
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

/// A payment or refund on an invoice.
#[derive(Debug, Clone, Serialize)]
pub struct PaymentView {
    pub id: String,
    pub invoice_id: String,
    pub kind: String,
    pub amount: i64,
    pub method: String,
    pub at: String,
    pub reference: Option<String>,
    pub external_id: Option<String>,
    pub recorded_by: Option<String>,
}

impl From<&PaymentRow> for PaymentView {
    fn from(row: &PaymentRow) -> Self {
        PaymentView {
            id: row.id.clone(),
            invoice_id: row.invoice_id.clone(),
            kind: row.kind.clone(),
            amount: row.amount,
            method: row.method.clone(),
            at: row.at.clone(),
            reference: row.reference.clone(),
            external_id: row.external_id.clone(),
            recorded_by: row.recorded_by.clone(),
        }
    }
}

impl PaymentView {
    pub fn is_refund(&self) -> bool {
        self.kind == "refund"
    }
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

/// What every view of a stored invoice shows, but its deposit (a summary shows the stored
/// one, the full view the priced one; they are the same number).
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceHead {
    pub id: String,
    pub kind: String,
    pub number: Option<String>,
    pub customer_id: String,
    pub site_id: Option<String>,
    pub job_id: Option<String>,
    pub quote_id: Option<String>,
    pub credit_note_for: Option<String>,
    pub credit_note_id: Option<String>,
    #[serde(serialize_with = "invoice_status_text")]
    pub status: InvoiceStatus,
    pub currency: String,
    pub rounding: String,
    pub payment_terms_days: i64,
    pub issued_at: Option<String>,
    pub due_at: Option<String>,
    pub voided_at: Option<String>,
    pub paid: i64,
    pub refunded: i64,
    /// `None` (null) on a credit note, which nobody pays.
    pub balance: Option<i64>,
    /// What is asked now; null unless an invoice is issued.
    pub due_now: Option<i64>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl InvoiceHead {
    fn new(row: &InvoiceRow, account: &Account, now: Millis) -> AppResult<Self> {
        let credit_note = row.is_credit_note();
        Ok(InvoiceHead {
            id: row.id.clone(),
            kind: row.kind.clone(),
            number: row.number.clone(),
            customer_id: row.customer_id.clone(),
            site_id: row.site_id.clone(),
            job_id: row.job_id.clone(),
            quote_id: row.quote_id.clone(),
            credit_note_for: row.credit_note_for.clone(),
            credit_note_id: row.credit_note_id.clone(),
            status: invoice_status(row, account, now)?,
            currency: row.currency.clone(),
            rounding: row.rounding.clone(),
            payment_terms_days: row.payment_terms_days,
            issued_at: row.issued_at.clone(),
            due_at: row.due_at.clone(),
            voided_at: row.voided_at.clone(),
            paid: account.paid,
            refunded: account.refunded,
            balance: (!credit_note).then(|| account.balance()),
            due_now: (!credit_note && row.status == "issued").then(|| account.due_now()),
            version: row.version,
            created_at: row.created_at.clone(),
            updated_at: row.updated_at.clone(),
        })
    }

    pub fn is_credit_note(&self) -> bool {
        self.kind == "credit_note"
    }
}

/// An invoice in a list: stored sums, no lines.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceSummary {
    #[serde(flatten)]
    pub head: InvoiceHead,
    pub deposit: i64,
    pub totals: Amounts,
}

impl InvoiceSummary {
    pub fn new(row: &InvoiceRow, now: Millis) -> AppResult<Self> {
        let invoice = row.to_domain()?;
        let account = stored_account(row, &invoice);
        Ok(InvoiceSummary {
            head: InvoiceHead::new(row, &account, now)?,
            deposit: row.deposit,
            totals: Amounts {
                subtotal: row.subtotal,
                discount_total: row.discount_total,
                tax_total: row.tax_total,
                total: row.total,
            },
        })
    }
}

/// An invoice in full: lines, totals priced by the domain, the account its payments make
/// (by the domain's rules), and the payments themselves.
#[derive(Debug, Clone, Serialize)]
pub struct InvoiceView {
    #[serde(flatten)]
    pub head: InvoiceHead,
    #[serde(flatten)]
    pub priced: InvoicePriced,
    pub payments: Vec<PaymentView>,
}

impl InvoiceView {
    pub fn new(row: &InvoiceRow, payments: &[PaymentRow], now: Millis) -> AppResult<Self> {
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
        Ok(InvoiceView {
            head: InvoiceHead::new(row, &account, now)?,
            priced: InvoicePriced::new(&invoice)?,
            payments: payments.iter().map(PaymentView::from).collect(),
        })
    }
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

/// A view as the JSON the write engine answers with (`Entity::view`).
pub fn to_json(view: &impl Serialize) -> AppResult<Value> {
    serde_json::to_value(view).map_err(AppError::internal)
}

#[cfg(test)]
pub(crate) mod golden;

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
        let shown: Vec<(Option<&str>, i64, i64)> = priced
            .iter()
            .map(|p| (p.option.as_deref(), p.sums.amounts.total, p.deposit))
            .collect();
        // Good: 10900 + 545 tax; Best: 18800 + 940; deposits a quarter, half-up.
        assert_eq!(
            shown,
            [(Some("Good"), 11_445, 2_861), (Some("Best"), 19_740, 4_935)]
        );
        let plain = option_totals(&quote(vec![line("Tune-up", 10_000, None)], None)).unwrap();
        assert_eq!(
            (
                plain[0].option.as_deref(),
                plain[0].sums.amounts.total,
                plain[0].deposit
            ),
            (None, 10_500, 0)
        );
    }
}
