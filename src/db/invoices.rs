//! Invoices and credit notes, their payments and refunds, and the counters that number them.
//!
//! Every write below that depends on an invoice's state names the version it was decided on,
//! and a batch's statements all hold the same condition on the invoice as it was read, so
//! they take effect together or not at all: the counter moves exactly when a number is used,
//! a payment row exists exactly when the invoice's sums include it.

use serde::Deserialize;

use crate::domain::invoices::{Entry, EntryKind, Invoice, InvoiceStatus, PaymentMethod};
use crate::domain::money::{Line, Totals};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::sql;
use crate::write::{Param, Sql};

macro_rules! columns {
    () => {
        "i.id, i.kind, i.sequence, i.number, i.customer_id, i.site_id, i.job_id, i.quote_id, \
         i.credit_note_for, i.status, i.currency, i.rounding, i.lines, i.totals, i.subtotal, \
         i.discount_total, i.tax_total, i.total, i.deposit, i.notes, i.terms, \
         i.payment_terms_days, i.paid, i.refunded, i.issued_at, i.due_at, i.voided_at, \
         i.version, i.created_at, i.updated_at, \
         (SELECT c.id FROM invoices c WHERE c.credit_note_for = i.id) AS credit_note_id"
    };
}

/// The status an invoice shows at ?now, from its stored status and money, as
/// `InvoiceStatus::derive` decides it (`tests/sql.rs` holds the two to the same answers).
/// A credit note shows its stored status: nobody pays one.
macro_rules! shown_status {
    ($now:literal) => {
        concat!(
            "CASE WHEN i.status IN ('draft', 'void') OR i.kind = 'credit_note' THEN i.status \
                  WHEN i.total - i.paid + i.refunded <= 0 THEN 'paid' \
                  WHEN i.due_at IS NOT NULL AND ",
            $now,
            " > i.due_at THEN 'overdue' \
                  WHEN i.paid - i.refunded > 0 THEN 'partially_paid' \
                  ELSE 'issued' END"
        )
    };
}

pub const SELECT_BY_ID: &str = concat!("SELECT ", columns!(), " FROM invoices i WHERE i.id = ?1");

/// Newest first; ?1 shown status, ?2 customer, ?3 kind, ?4 job, ?5/?6 cursor
/// (created_at, id), ?7 limit, ?8 now (RFC 3339).
pub const SELECT_PAGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM invoices i WHERE (?1 IS NULL OR ",
    shown_status!("?8"),
    " = ?1) AND (?2 IS NULL OR i.customer_id = ?2) AND (?3 IS NULL OR i.kind = ?3) \
     AND (?4 IS NULL OR i.job_id = ?4) \
     AND (?5 IS NULL OR i.created_at < ?5 OR (i.created_at = ?5 AND i.id < ?6)) \
     ORDER BY i.created_at DESC, i.id DESC LIMIT ?7"
);

/// The status shown at ?1 for each invoice: what the list filter computes, for the SQL test.
pub const SELECT_SHOWN_STATUS: &str = concat!(
    "SELECT i.id, ",
    shown_status!("?1"),
    " AS shown FROM invoices i ORDER BY i.id"
);

/// Payments and refunds in the order they were recorded.
pub const SELECT_PAYMENTS: &str = "SELECT id, invoice_id, kind, amount, method, at, reference, \
    external_id, recorded_by, created_at FROM payments WHERE invoice_id = ?1 ORDER BY at, rowid";
pub const SELECT_PAYMENT: &str = "SELECT id, invoice_id, kind, amount, method, at, reference, \
    external_id, recorded_by, created_at FROM payments WHERE id = ?1";
/// The value a counter has now (0 before its first use).
pub const SELECT_COUNTER: &str = "SELECT value FROM counters WHERE name = ?1";

/// A draft for a live customer; a site or job named must be the customer's.
pub const INSERT: &str = "INSERT INTO invoices (id, customer_id, site_id, job_id, quote_id, \
    currency, rounding, lines, totals, subtotal, discount_total, tax_total, total, deposit, \
    notes, terms, payment_terms_days, created_at, updated_at) \
    SELECT ?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?17 \
    WHERE EXISTS (SELECT 1 FROM customers WHERE id = ?2 AND archived = 0) \
      AND (?3 IS NULL OR EXISTS (SELECT 1 FROM sites WHERE id = ?3 AND customer_id = ?2)) \
      AND (?4 IS NULL OR EXISTS (SELECT 1 FROM jobs WHERE id = ?4 AND customer_id = ?2))";

/// The draft an accepted quote becomes, in the conversion's batch: only while the quote is
/// as it was read (?16 id, ?17 version), accepted and not yet converted. ?1 id, ?2 now,
/// ?3 job, ?4–?15 as ?5–?16 of [`INSERT`].
pub const INSERT_FROM_QUOTE: &str = "INSERT INTO invoices (id, customer_id, site_id, job_id, \
    quote_id, currency, rounding, lines, totals, subtotal, discount_total, tax_total, total, \
    deposit, notes, terms, payment_terms_days, created_at, updated_at) \
    SELECT ?1, q.customer_id, q.site_id, ?3, q.id, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, \
    ?14, ?15, ?2, ?2 FROM quotes q \
    WHERE q.id = ?16 AND q.version = ?17 AND q.status = 'accepted' AND q.invoice_id IS NULL";

/// A draft's own fields.
pub const UPDATE: &str = "UPDATE invoices SET lines = ?1, totals = ?2, subtotal = ?3, \
    discount_total = ?4, tax_total = ?5, total = ?6, deposit = ?7, notes = ?8, terms = ?9, \
    payment_terms_days = ?10, version = version + 1, updated_at = ?11 \
    WHERE id = ?12 AND version = ?13 AND status = 'draft'";

/// Drafts only; issued invoices are voided (a trigger refuses their deletion too).
pub const DELETE_DRAFT: &str =
    "DELETE FROM invoices WHERE id = ?1 AND version = ?2 AND status = 'draft'";
/// Deleting a converted draft frees its quote to be converted again: in the same batch, only
/// if the draft is still as read (?1 id, ?2 version).
pub const RELEASE_QUOTE: &str = "UPDATE quotes SET invoice_id = NULL, converted_at = NULL, \
    version = version + 1, updated_at = ?3 WHERE invoice_id = ?1 \
    AND EXISTS (SELECT 1 FROM invoices WHERE id = ?1 AND version = ?2 AND status = 'draft')";

/// Issuing takes the next number by compare-and-set: the `invoice` counter moves from ?3 − 1
/// to ?3 only if it still holds the value the number was decided from, and only if the draft
/// is still as read (?1 id, ?2 version).
pub const BUMP_INVOICE_COUNTER: &str = "UPDATE counters SET value = ?3 \
    WHERE name = 'invoice' AND value = ?3 - 1 AND EXISTS (SELECT 1 FROM invoices \
        WHERE id = ?1 AND version = ?2 AND status = 'draft' AND kind = 'invoice')";
/// Issues the draft as number ?2 (sequence ?1) exactly when this batch's bump took: the
/// counter now holds ?1 and no invoice has that sequence yet. If another issue took ?1 first,
/// both statements change nothing and the issue is decided again on the new counter.
/// ?3 now, ?4 due, ?5 id, ?6 version.
pub const ISSUE: &str = "UPDATE invoices SET status = 'issued', sequence = ?1, number = ?2, \
    issued_at = ?3, due_at = ?4, version = version + 1, updated_at = ?3 \
    WHERE id = ?5 AND version = ?6 AND status = 'draft' AND kind = 'invoice' \
      AND EXISTS (SELECT 1 FROM counters WHERE name = 'invoice' AND value = ?1) \
      AND NOT EXISTS (SELECT 1 FROM invoices WHERE kind = 'invoice' AND sequence = ?1)";

/// Only an issued invoice that keeps no money (the domain's rule, repeated as a guard).
pub const VOID: &str = "UPDATE invoices SET status = 'void', voided_at = ?1, \
    version = version + 1, updated_at = ?1 WHERE id = ?2 AND version = ?3 \
    AND status = 'issued' AND kind = 'invoice' AND paid = refunded";

/// A payment or refund, only while the invoice is as read (?10 its version) and issued.
pub const INSERT_PAYMENT: &str = "INSERT INTO payments (id, invoice_id, kind, amount, method, \
    at, reference, external_id, recorded_by, created_at) \
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?6 WHERE EXISTS (SELECT 1 FROM invoices \
        WHERE id = ?2 AND version = ?10 AND status = 'issued' AND kind = 'invoice')";
/// The invoice's sums follow, only when this batch's payment row (?6) was written.
pub const RECORD_PAYMENT: &str = "UPDATE invoices SET paid = paid + ?1, \
    refunded = refunded + ?2, version = version + 1, updated_at = ?3 \
    WHERE id = ?4 AND version = ?5 AND status = 'issued' AND kind = 'invoice' \
      AND EXISTS (SELECT 1 FROM payments WHERE id = ?6 AND invoice_id = ?4)";

/// The conditions for reversing invoice ?1 at version ?2: issued, paid in full, no credit
/// note yet. Shared by the counter bump and the credit note's insert.
macro_rules! creditable {
    () => {
        "EXISTS (SELECT 1 FROM invoices WHERE id = ?1 AND version = ?2 AND status = 'issued' \
                 AND kind = 'invoice' AND paid - refunded = total) \
         AND NOT EXISTS (SELECT 1 FROM invoices WHERE credit_note_for = ?1)"
    };
}
/// The `credit_note` counter, by compare-and-set to ?3 as for invoices.
pub const BUMP_CREDIT_NOTE_COUNTER: &str = concat!(
    "UPDATE counters SET value = ?3 WHERE name = 'credit_note' AND value = ?3 - 1 AND ",
    creditable!()
);
/// The credit note, issued at once as number ?5 (sequence ?3) when this batch's bump took:
/// ?4 id, ?6 notes, ?7 now, ?8 lines, ?9 totals JSON, ?10–?13 the sums.
pub const INSERT_CREDIT_NOTE: &str = concat!(
    "INSERT INTO invoices (id, kind, sequence, number, customer_id, site_id, job_id, quote_id, \
     credit_note_for, status, currency, rounding, lines, totals, subtotal, discount_total, \
     tax_total, total, deposit, notes, terms, payment_terms_days, issued_at, created_at, \
     updated_at) \
     SELECT ?4, 'credit_note', ?3, ?5, i.customer_id, i.site_id, i.job_id, i.quote_id, i.id, \
     'issued', i.currency, i.rounding, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?6, NULL, 0, ?7, ?7, ?7 \
     FROM invoices i WHERE i.id = ?1 \
       AND EXISTS (SELECT 1 FROM counters WHERE name = 'credit_note' AND value = ?3) \
       AND NOT EXISTS (SELECT 1 FROM invoices WHERE kind = 'credit_note' AND sequence = ?3) \
       AND ",
    creditable!()
);
/// The reversed invoice's version moves (the audited step), only when this batch's credit
/// note (?4) exists.
pub const MARK_CREDITED: &str = "UPDATE invoices SET version = version + 1, updated_at = ?1 \
    WHERE id = ?2 AND version = ?3 \
      AND EXISTS (SELECT 1 FROM invoices WHERE id = ?4 AND credit_note_for = ?2)";

#[derive(Debug, Clone, Deserialize)]
pub struct InvoiceRow {
    pub id: String,
    pub kind: String,
    pub sequence: Option<i64>,
    pub number: Option<String>,
    pub customer_id: String,
    pub site_id: Option<String>,
    pub job_id: Option<String>,
    pub quote_id: Option<String>,
    pub credit_note_for: Option<String>,
    pub status: String,
    pub currency: String,
    pub rounding: String,
    pub lines: String,
    pub totals: String,
    pub subtotal: i64,
    pub discount_total: i64,
    pub tax_total: i64,
    pub total: i64,
    pub deposit: i64,
    pub notes: Option<String>,
    pub terms: Option<String>,
    pub payment_terms_days: i64,
    pub paid: i64,
    pub refunded: i64,
    pub issued_at: Option<String>,
    pub due_at: Option<String>,
    pub voided_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub credit_note_id: Option<String>,
}

impl InvoiceRow {
    fn broken(&self, what: &str) -> AppError {
        AppError::internal(format!("invoice {} has bad {what}", self.id))
    }

    pub fn to_domain(&self) -> AppResult<Invoice> {
        let pricing = crate::domain::billing::pricing(&self.currency, &self.rounding)
            .map_err(|_| self.broken("pricing"))?;
        let lines: Vec<Line> =
            serde_json::from_str(&self.lines).map_err(|_| self.broken("lines"))?;
        Ok(Invoice {
            pricing,
            lines,
            notes: self.notes.clone(),
            terms: self.terms.clone(),
            deposit: self.deposit,
        })
    }

    /// The stored status (`draft`, `issued`, `void`).
    pub fn stored_status(&self) -> AppResult<InvoiceStatus> {
        InvoiceStatus::parse(&self.status).ok_or_else(|| self.broken("status"))
    }

    pub fn is_credit_note(&self) -> bool {
        self.kind == "credit_note"
    }

    pub fn due(&self) -> Option<Millis> {
        self.due_at.as_deref().and_then(Millis::parse_rfc3339)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PaymentRow {
    pub id: String,
    pub invoice_id: String,
    pub kind: String,
    pub amount: i64,
    pub method: String,
    pub at: String,
    pub reference: Option<String>,
    pub external_id: Option<String>,
    pub recorded_by: Option<String>,
    pub created_at: String,
}

impl PaymentRow {
    pub fn to_entry(&self) -> AppResult<Entry> {
        let broken = || AppError::internal(format!("payment {} is malformed", self.id));
        Ok(Entry {
            kind: match self.kind.as_str() {
                "payment" => EntryKind::Payment,
                "refund" => EntryKind::Refund,
                _ => return Err(broken()),
            },
            amount: self.amount,
            method: PaymentMethod::parse(&self.method).ok_or_else(broken)?,
            at: Millis::parse_rfc3339(&self.at).ok_or_else(broken)?,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct CounterRow {
    pub value: i64,
}

pub fn lines_json(lines: &[Line]) -> String {
    serde_json::to_string(lines).unwrap_or_else(|_| "[]".to_owned())
}

/// The stored form of a document's totals: the JSON and its four sums, as parameters.
pub fn totals_params(totals: &Totals) -> [Param; 5] {
    [
        serde_json::to_string(totals)
            .unwrap_or_else(|_| "{}".to_owned())
            .into(),
        totals.subtotal.into(),
        totals.discount_total.into(),
        totals.tax_total.into(),
        totals.total.into(),
    ]
}

/// What a new draft is stored with besides its own fields.
pub struct NewInvoice<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub site_id: Option<&'a str>,
    pub job_id: Option<&'a str>,
    pub invoice: &'a Invoice,
    pub totals: &'a Totals,
    pub payment_terms_days: i64,
    pub now: &'a str,
}

/// The parameters ?5–?16 shared by [`INSERT`] and [`INSERT_FROM_QUOTE`].
fn document_params(new: &NewInvoice<'_>) -> Vec<Param> {
    let mut params = vec![
        new.invoice.pricing.currency.code().into(),
        new.invoice.pricing.rounding.as_str().into(),
        lines_json(&new.invoice.lines).into(),
    ];
    params.extend(totals_params(new.totals));
    params.extend([
        new.invoice.deposit.into(),
        new.invoice.notes.as_deref().into(),
        new.invoice.terms.as_deref().into(),
        new.payment_terms_days.into(),
    ]);
    params
}

pub fn insert(new: &NewInvoice<'_>) -> Sql {
    let mut params = vec![
        new.id.into(),
        new.customer_id.into(),
        new.site_id.into(),
        new.job_id.into(),
    ];
    params.extend(document_params(new));
    params.push(new.now.into());
    Sql::new(INSERT, params)
}

/// The draft of a conversion: customer and site come from the quote (`quote_id` as read at
/// `quote_version`), the job is the quote's or the one the same batch creates.
pub fn insert_from_quote(new: &NewInvoice<'_>, quote_id: &str, quote_version: i64) -> Sql {
    let mut params = vec![new.id.into(), new.now.into(), new.job_id.into()];
    params.extend(document_params(new));
    params.extend([quote_id.into(), quote_version.into()]);
    Sql::new(INSERT_FROM_QUOTE, params)
}

pub fn update(
    id: &str,
    version: i64,
    invoice: &Invoice,
    totals: &Totals,
    payment_terms_days: i64,
    now: &str,
) -> Sql {
    let mut params = vec![lines_json(&invoice.lines).into()];
    params.extend(totals_params(totals));
    params.extend([
        invoice.deposit.into(),
        invoice.notes.as_deref().into(),
        invoice.terms.as_deref().into(),
        payment_terms_days.into(),
        now.into(),
        id.into(),
        version.into(),
    ]);
    Sql::new(UPDATE, params)
}

/// A recorded payment or refund, for one batch: the row, then the invoice's sums.
pub struct NewPayment<'a> {
    pub id: &'a str,
    pub invoice_id: &'a str,
    pub invoice_version: i64,
    pub entry: &'a Entry,
    pub reference: Option<&'a str>,
    pub recorded_by: Option<&'a str>,
    /// The provider's id of an online payment (Stripe's event): unique, so it counts once.
    pub external_id: Option<&'a str>,
    pub now: &'a str,
}

/// The payment row, then the invoice's sums (the guard: it moves the invoice's version).
pub fn record_payment(new: &NewPayment<'_>) -> [Sql; 2] {
    let (kind, paid, refunded) = match new.entry.kind {
        EntryKind::Payment => ("payment", new.entry.amount, 0),
        EntryKind::Refund => ("refund", 0, new.entry.amount),
    };
    let insert = sql!(
        INSERT_PAYMENT,
        new.id,
        new.invoice_id,
        kind,
        new.entry.amount,
        new.entry.method.as_str(),
        new.entry.at.to_rfc3339(),
        new.reference,
        new.external_id,
        new.recorded_by,
        new.invoice_version,
    );
    let sums = sql!(
        RECORD_PAYMENT,
        paid,
        refunded,
        new.now,
        new.invoice_id,
        new.invoice_version,
        new.id,
    );
    [insert, sums]
}
