//! Invoices: the draft an accepted quote becomes, numbering at issue, the status that follows
//! payments and the due date, payments and refunds, voiding, and credit notes.
//!
//! Only three statuses are decided by people: `draft`, `issued` (by [`Invoice::issue`]) and
//! `void` (by [`void`]). The others, `partially_paid`, `paid` and `overdue`, follow from the
//! money and the clock ([`InvoiceStatus::derive`]), so they can never disagree with the
//! payments recorded, and an invoice turns overdue without a scheduled job.
//!
//! Refunds are entries of their own kind with a positive amount, not negative payments: a
//! negative amount typed by mistake is then always an error, and a report can list refunds
//! without inspecting signs. `balance = total − payments + refunds`.
//!
//! Numbers are gapless and assigned only at issue: a draft has none (the type has no field for
//! one), and [`Invoice::issue`] derives it from the counter the issuing batch increments. The
//! glue stores both in that one batch.

use crate::json;
use serde::{Deserialize, Serialize};

use crate::domain::customers::{nullable, FieldErrors};
use crate::domain::money::{check_line, totals, Currency, Line, Pricing, Totals};
use crate::domain::quotes::{carry, long_text, Choice, Quote, QuoteStatus};
use crate::domain::time::Millis;
use crate::error::{AppError, ErrorKind};

/// The invoice number prefix a tenant starts with.
pub const DEFAULT_PREFIX: &str = "INV-";
/// Credit notes are numbered from their own gapless counter, with this prefix by default.
pub const DEFAULT_CREDIT_NOTE_PREFIX: &str = "CN-";
const MAX_PREFIX: usize = 12;
const MAX_LINES: usize = 200;

/// `INV-0042`: the prefix, then the counter zero-padded to at least four digits (`INV-12345`
/// past 9999), so numbers sort as text for the first ten thousand.
pub fn format_number(prefix: &str, counter: u64) -> String {
    format!("{prefix}{counter:04}")
}

/// A numbering prefix setting, trimmed: up to 12 of `A–Z a–z 0–9 - _ / . #`, possibly empty.
/// Plain characters only, because the number is printed, typed into bank transfers and used in
/// file names.
pub fn parse_prefix(text: &str) -> Result<String, &'static str> {
    let prefix = text.trim();
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_/.#".contains(c);
    if prefix.chars().count() > MAX_PREFIX || !prefix.chars().all(plain) {
        return Err("A prefix of at most 12 letters, digits or - _ / . #, like INV-.");
    }
    Ok(prefix.to_owned())
}

/// Where an invoice is. The strings are those stored in and shown for `invoices.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvoiceStatus {
    Draft,
    Issued,
    PartiallyPaid,
    Paid,
    Overdue,
    Void,
}

impl InvoiceStatus {
    pub const ALL: [InvoiceStatus; 6] = [
        InvoiceStatus::Draft,
        InvoiceStatus::Issued,
        InvoiceStatus::PartiallyPaid,
        InvoiceStatus::Paid,
        InvoiceStatus::Overdue,
        InvoiceStatus::Void,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Issued => "issued",
            Self::PartiallyPaid => "partially_paid",
            Self::Paid => "paid",
            Self::Overdue => "overdue",
            Self::Void => "void",
        }
    }

    pub fn parse(value: &str) -> Option<InvoiceStatus> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    /// The moves a person may make from this status. The moves between issued, partially
    /// paid, paid and overdue are not here: they follow the money (see [`Self::derive`]).
    pub fn allowed_next(self) -> &'static [InvoiceStatus] {
        use InvoiceStatus::*;
        match self {
            // A draft is deleted rather than voided: it never had a number, so no gap opens.
            Draft => &[Issued],
            Issued | Overdue => &[Void],
            // Money has been taken: it is refunded first (which makes the invoice issued or
            // overdue again) or the invoice is paid and reversed with a credit note.
            PartiallyPaid => &[],
            Paid => &[],
            Void => &[],
        }
    }

    /// `to` if the table allows it, else a 409 naming where this invoice may go instead.
    pub fn transition(self, to: InvoiceStatus) -> Result<InvoiceStatus, AppError> {
        let allowed = self.allowed_next();
        if allowed.contains(&to) {
            return Ok(to);
        }
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        let current = self.as_str();
        let detail = if to == self {
            format!("The invoice is already {current}.")
        } else {
            format!(
                "An invoice that is {current} cannot move to {}.",
                to.as_str()
            )
        };
        let detail = match (self, names.as_slice()) {
            (Self::Paid, _) => {
                format!("{detail} A paid invoice is reversed with a credit note, not voided.")
            }
            (Self::PartiallyPaid, _) => format!(
                "{detail} Refund its payments first, or take the rest and issue a credit note."
            ),
            (_, []) => format!("{detail} A void invoice is final."),
            (_, _) => format!("{detail} It can move to {}.", names.join(", ")),
        };
        Err(AppError::new(ErrorKind::Conflict)
            .with_detail(detail)
            .with_extension("allowed", json!(names))
            .with_extension("current_status", json!(current)))
    }

    /// The status shown at `now`, from the stored one (`draft`, `issued` or `void`; a stored
    /// derived status counts as issued) and the money. Overdue wins over partially paid: an
    /// unpaid balance past its date is what the owner must act on.
    pub fn derive(self, account: &Account, due_at: Option<Millis>, now: Millis) -> InvoiceStatus {
        match self {
            Self::Draft | Self::Void => self,
            _ if account.balance() <= 0 => Self::Paid,
            _ if due_at.is_some_and(|due| now > due) => Self::Overdue,
            _ if account.net_paid() > 0 => Self::PartiallyPaid,
            _ => Self::Issued,
        }
    }
}

/// An invoice's own fields, valid. Status, number, dates, customer and version live beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoice {
    pub pricing: Pricing,
    /// Every line counts: options and extras were settled on the quote.
    pub lines: Vec<Line>,
    pub notes: Option<String>,
    pub terms: Option<String>,
    /// The part of the total asked for first, in minor units; 0 when none. Only the first
    /// invoice from an accepted quote carries the quote's deposit.
    pub deposit: i64,
}

/// A new draft or a change to one, as the client sends it. `lines` replaces the whole list.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceChanges {
    pub lines: Option<Vec<Line>>,
    #[serde(default, deserialize_with = "nullable")]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub terms: Option<Option<String>>,
    /// Minor units asked for first; 0 for none.
    pub deposit: Option<i64>,
}

impl Invoice {
    /// A new draft in `pricing` (the tenant's, at creation) with `changes` applied.
    pub fn create(changes: InvoiceChanges, pricing: Pricing) -> Result<Invoice, AppError> {
        Invoice {
            pricing,
            lines: Vec::new(),
            notes: None,
            terms: None,
            deposit: 0,
        }
        .apply(changes)
    }

    /// This draft with `changes` applied; every problem named by its field. Invoice lines
    /// all count: options and extras are a quote's business, settled when it was accepted.
    pub fn apply(mut self, changes: InvoiceChanges) -> Result<Invoice, AppError> {
        let mut errors = FieldErrors::default();
        let mut lines_valid = true;
        if let Some(lines) = changes.lines {
            if lines.len() > MAX_LINES {
                errors.add("lines", "At most 200 lines.");
            }
            let mut line_errors = FieldErrors::default();
            self.lines = lines
                .into_iter()
                .enumerate()
                .map(|(i, line)| {
                    let field = format!("lines[{i}]");
                    if line.option.as_deref().is_some_and(|o| !o.trim().is_empty()) {
                        line_errors.add(
                            format!("{field}.option"),
                            "Invoice lines have no options; every line counts.",
                        );
                    }
                    if line.optional {
                        line_errors.add(
                            format!("{field}.optional"),
                            "Invoice lines are not optional; every line counts.",
                        );
                    }
                    check_line(&mut line_errors, &field, line, self.pricing.currency)
                })
                .collect();
            if let Err(err) = line_errors.into_result((), "") {
                lines_valid = false;
                carry(&mut errors, &err);
            }
        }
        if let Some(notes) = changes.notes {
            self.notes = long_text(&mut errors, "notes", notes);
        }
        if let Some(terms) = changes.terms {
            self.terms = long_text(&mut errors, "terms", terms);
        }
        if let Some(deposit) = changes.deposit {
            self.deposit = deposit;
        }
        if lines_valid {
            match self.totals() {
                Err(err) => carry(&mut errors, &err),
                Ok(totals) if !(0..=totals.total).contains(&self.deposit) => errors.add(
                    "deposit",
                    &format!(
                        "A deposit from zero up to the total, {}.",
                        self.pricing.currency.format(totals.total)
                    ),
                ),
                Ok(_) => {}
            }
        }
        errors.into_result(self, "The invoice could not be saved.")
    }
}

/// The draft invoice an accepted quote becomes: the lines `choice` counts (the shared lines,
/// the chosen option's, and the ticked extras, in quote order, no longer marked as options or
/// extras), the quote's notes and terms, and — when this is the first invoice from the quote —
/// its deposit, computed on this invoice's total. Later invoices (progress billing) carry none,
/// so a deposit is asked for once.
pub fn invoice_from_quote(
    quote: &Quote,
    status: QuoteStatus,
    choice: &Choice,
    first: bool,
) -> Result<Invoice, AppError> {
    if status != QuoteStatus::Accepted {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail(format!(
                "Only an accepted quote becomes an invoice; this one is {}.",
                status.as_str()
            ))
            .with_extension("current_status", json!(status.as_str())));
    }
    quote.check_choice(choice)?;
    let lines: Vec<Line> = quote
        .lines_for(choice)
        .into_iter()
        .map(|line| Line {
            optional: false,
            option: None,
            ..line
        })
        .collect();
    let total = totals(&lines, quote.pricing)?.total;
    let deposit = match (first, quote.deposit) {
        (true, Some(deposit)) => deposit.amount_on(total)?,
        _ => 0,
    };
    Ok(Invoice {
        pricing: quote.pricing,
        lines,
        notes: quote.notes.clone(),
        terms: quote.terms.clone(),
        deposit,
    })
}

/// What issuing a draft decided; the glue stores all of it, with the counter, in one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The counter's new value: the last one plus one.
    pub counter: u64,
    pub number: String,
    pub issued_at: Millis,
    pub due_at: Millis,
    pub total: i64,
}

impl Invoice {
    pub fn totals(&self) -> Result<Totals, AppError> {
        totals(&self.lines, self.pricing)
    }

    /// Issues a draft: the only place a number is made. `last_counter` is the tenant's counter
    /// as read in the issuing batch (0 before the first invoice).
    pub fn issue(
        &self,
        status: InvoiceStatus,
        prefix: &str,
        last_counter: u64,
        now: Millis,
        due_at: Millis,
    ) -> Result<Issue, AppError> {
        status.transition(InvoiceStatus::Issued)?;
        if self.lines.is_empty() {
            return Err(AppError::invalid_field(
                "lines",
                "An invoice needs at least one line to be issued.",
            ));
        }
        if due_at < now {
            return Err(AppError::invalid_field(
                "due_at",
                "A due date no earlier than the issue date.",
            ));
        }
        let total = self.totals()?.total;
        let counter = last_counter
            .checked_add(1)
            .ok_or_else(|| AppError::internal("invoice counter overflow"))?;
        Ok(Issue {
            counter,
            number: format_number(prefix, counter),
            issued_at: now,
            due_at,
            total,
        })
    }

    /// The money side of this invoice given its recorded payments and refunds.
    pub fn account(&self, entries: &[Entry]) -> Result<Account, AppError> {
        let total = self.totals()?.total;
        let mut account = Account {
            currency: self.pricing.currency,
            total,
            deposit: self.deposit,
            paid: 0,
            refunded: 0,
        };
        for entry in entries {
            account.record(entry)?;
        }
        Ok(account)
    }

    /// Reverses a paid invoice in full. Refused unless the invoice is paid and has no credit
    /// note yet; an unpaid one is voided instead.
    pub fn credit_note(
        &self,
        status: InvoiceStatus,
        already_credited: bool,
    ) -> Result<CreditNote, AppError> {
        if status != InvoiceStatus::Paid {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail(format!(
                    "Only a paid invoice is reversed with a credit note; this one is {}.",
                    status.as_str()
                ))
                .with_extension("current_status", json!(status.as_str())));
        }
        if already_credited {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail("This invoice already has a credit note."));
        }
        Ok(CreditNote {
            pricing: self.pricing,
            lines: self.lines.clone(),
            totals: self.totals()?,
        })
    }
}

/// A credit note reversing a paid invoice: the same lines and the same totals, shown and stored
/// as positive amounts, which the document's kind marks as owed back (refunded, or held as
/// credit). Copying the invoice's computed totals rather than negating lines keeps the two
/// documents equal to the minor unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditNote {
    pub pricing: Pricing,
    pub lines: Vec<Line>,
    pub totals: Totals,
}

/// Voids an invoice currently in `status`. Allowed only from issued or overdue with nothing
/// kept: a paid invoice needs a credit note, and money taken is refunded first.
pub fn void(status: InvoiceStatus, account: &Account) -> Result<InvoiceStatus, AppError> {
    status.transition(InvoiceStatus::Void)?;
    if account.net_paid() > 0 {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail(format!(
                "{} has been paid on this invoice; refund it before voiding.",
                account.currency.format(account.net_paid())
            ))
            .with_extension("current_status", json!(status.as_str())));
    }
    Ok(InvoiceStatus::Void)
}

/// How money moved. The strings are those stored in `payments.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    Card,
    Cash,
    Check,
    Bank,
    Other,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 5] = [
        PaymentMethod::Card,
        PaymentMethod::Cash,
        PaymentMethod::Check,
        PaymentMethod::Bank,
        PaymentMethod::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Cash => "cash",
            Self::Check => "check",
            Self::Bank => "bank",
            Self::Other => "other",
        }
    }

    pub fn parse(value: &str) -> Option<PaymentMethod> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }
}

/// Money in, or money back (see the module note on refunds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    Payment,
    Refund,
}

/// One payment or refund recorded on an invoice; `amount` is always positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    pub amount: i64,
    pub method: PaymentMethod,
    pub at: Millis,
}

/// An invoice's money: its total and deposit, and what was paid and refunded on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Account {
    pub currency: Currency,
    pub total: i64,
    pub deposit: i64,
    /// The sum of payments.
    pub paid: i64,
    /// The sum of refunds.
    pub refunded: i64,
}

impl Account {
    /// What the customer has paid and kept: payments less refunds.
    pub fn net_paid(&self) -> i64 {
        self.paid - self.refunded
    }

    /// `total − payments + refunds`.
    pub fn balance(&self) -> i64 {
        self.total - self.paid + self.refunded
    }

    /// What the customer is asked to pay now: the rest of the deposit while it is not covered,
    /// then the whole balance.
    pub fn due_now(&self) -> i64 {
        let deposit_left = self.deposit - self.net_paid();
        if deposit_left > 0 {
            deposit_left
        } else {
            self.balance().max(0)
        }
    }

    /// Adds a recorded entry. Sums are checked: a long history of payments and refunds can
    /// only overflow through bad data, and that is an error, not a wrapped balance.
    pub fn record(&mut self, entry: &Entry) -> Result<(), AppError> {
        let sum = match entry.kind {
            EntryKind::Payment => &mut self.paid,
            EntryKind::Refund => &mut self.refunded,
        };
        *sum = sum
            .checked_add(entry.amount)
            .ok_or_else(|| AppError::internal("payment sums overflow"))?;
        Ok(())
    }

    /// A payment of `amount` by `method` on an invoice whose current status is `status`.
    /// 409 unless the invoice is open for payment; 422 naming `amount` or `method` otherwise.
    /// More than the balance is refused: an overpayment would leave money to hand back that no
    /// document accounts for.
    pub fn payment(
        &self,
        status: InvoiceStatus,
        amount: i64,
        method: &str,
        now: Millis,
    ) -> Result<Entry, AppError> {
        let refusal = match status {
            InvoiceStatus::Draft => Some("Issue the invoice before taking payment."),
            InvoiceStatus::Void => Some("A void invoice takes no payments."),
            InvoiceStatus::Paid => Some("The invoice is already paid."),
            _ => None,
        };
        if let Some(detail) = refusal {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail(detail)
                .with_extension("current_status", json!(status.as_str())));
        }
        let limit = self.balance();
        self.entry(
            EntryKind::Payment,
            amount,
            method,
            now,
            limit,
            "the balance",
        )
    }

    /// A refund of `amount` by `method`: at most what was paid and not yet refunded.
    pub fn refund(&self, amount: i64, method: &str, now: Millis) -> Result<Entry, AppError> {
        let limit = self.net_paid();
        self.entry(
            EntryKind::Refund,
            amount,
            method,
            now,
            limit,
            "what was paid",
        )
    }

    fn entry(
        &self,
        kind: EntryKind,
        amount: i64,
        method: &str,
        now: Millis,
        limit: i64,
        limit_name: &str,
    ) -> Result<Entry, AppError> {
        let mut errors = Vec::new();
        if amount <= 0 {
            errors.push(json!({"field": "amount", "message": "An amount above zero."}));
        } else if amount > limit {
            let message = format!(
                "At most {}, {limit_name}.",
                self.currency.format(limit.max(0))
            );
            errors.push(json!({"field": "amount", "message": message}));
        }
        let method = PaymentMethod::parse(method.trim());
        if method.is_none() {
            errors.push(json!({"field": "method",
                "message": "One of card, cash, check, bank, other."}));
        }
        match method {
            Some(method) if errors.is_empty() => Ok(Entry {
                kind,
                amount,
                method,
                at: now,
            }),
            _ => Err(AppError::invalid_fields(
                "The payment could not be recorded.",
                errors,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::tests::{error_fields, line, valid_line, USD_PER_LINE};
    use crate::domain::quotes::tests::{choose, good_better_best, NOW};
    use proptest::prelude::*;
    use serde_json::Value;
    use InvoiceStatus::*;

    const DAY: u64 = Millis::DAY;

    fn invoice(lines: Vec<Line>, deposit: i64) -> Invoice {
        Invoice {
            pricing: USD_PER_LINE,
            lines,
            notes: None,
            terms: None,
            deposit,
        }
    }

    /// An invoice for 100.00 before tax, 105.00 with 5%.
    fn hundred_and_five() -> Invoice {
        invoice(vec![line(1_000, 10_000, 50_000)], 0)
    }

    fn pay(account: &mut Account, status: InvoiceStatus, amount: i64) -> Result<(), AppError> {
        let entry = account.payment(status, amount, "card", NOW)?;
        account.record(&entry)
    }

    #[test]
    fn numbers_are_the_prefix_and_the_counter_padded_to_four_digits() {
        let cases = [
            ("INV-", 42, "INV-0042"),
            ("INV-", 1, "INV-0001"),
            ("INV-", 9_999, "INV-9999"),
            ("INV-", 12_345, "INV-12345"),
            ("", 7, "0007"),
            ("2026/", 310, "2026/0310"),
            ("CN-", 3, "CN-0003"),
        ];
        for (prefix, counter, number) in cases {
            assert_eq!(format_number(prefix, counter), number);
        }
    }

    #[test]
    fn number_prefixes_are_short_and_plain() {
        let cases = [
            (" INV- ", Some("INV-")),
            ("", Some("")),
            ("A/B.C_D#-", Some("A/B.C_D#-")),
            ("ABCDEFGHIJKL", Some("ABCDEFGHIJKL")),
            ("ABCDEFGHIJKLM", None),
            ("INV 1", None),
            ("FAKTÚRA-", None),
            ("<b>", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_prefix(text).ok().as_deref(), expected, "{text:?}");
        }
    }

    /// The explicit moves as the issue states them, written out independently.
    const TABLE: [(InvoiceStatus, &[InvoiceStatus]); 6] = [
        (Draft, &[Issued]),
        (Issued, &[Void]),
        (PartiallyPaid, &[]),
        (Paid, &[]),
        (Overdue, &[Void]),
        (Void, &[]),
    ];

    #[test]
    fn every_explicit_move_is_allowed_or_refused_as_the_table_says() {
        for (from, allowed) in TABLE {
            assert_eq!(from.allowed_next(), allowed, "{from:?}");
            for to in InvoiceStatus::ALL {
                let result = from.transition(to);
                if allowed.contains(&to) {
                    assert_eq!(result, Ok(to), "{from:?} -> {to:?}");
                    continue;
                }
                let err = result.expect_err("refused move");
                assert_eq!(err.status(), 409, "{from:?} -> {to:?}");
                assert_eq!(err.extensions["current_status"], json!(from.as_str()));
            }
        }
        let paid = Paid.transition(Void).unwrap_err().detail.clone().unwrap();
        assert!(paid.contains("credit note"), "{paid}");
        let void = Void.transition(Issued).unwrap_err().detail.clone().unwrap();
        assert!(void.ends_with("A void invoice is final."), "{void}");
    }

    #[test]
    fn statuses_and_methods_round_trip_through_their_strings() {
        let names: Vec<&str> = InvoiceStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "draft",
                "issued",
                "partially_paid",
                "paid",
                "overdue",
                "void"
            ]
        );
        for status in InvoiceStatus::ALL {
            assert_eq!(InvoiceStatus::parse(status.as_str()), Some(status));
        }
        for method in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(method.as_str()), Some(method));
        }
        assert_eq!(PaymentMethod::parse("cheque"), None);
    }

    #[test]
    fn the_status_follows_the_balance_and_the_due_date() {
        let due = Millis(NOW.0 + DAY);
        let late = Millis(due.0 + 1);
        // (stored, paid, refunded, now, shown) on a total of 10500
        let cases = [
            (Draft, 0, 0, late, Draft),
            (Void, 0, 0, late, Void),
            (Issued, 0, 0, NOW, Issued),
            (Issued, 0, 0, due, Issued),
            (Issued, 0, 0, late, Overdue),
            (Issued, 100, 0, NOW, PartiallyPaid),
            (Issued, 100, 0, late, Overdue),
            (Issued, 10_500, 0, late, Paid),
            (Issued, 10_500, 100, NOW, PartiallyPaid),
            (Issued, 100, 100, NOW, Issued),
            // A stored derived status is read as issued.
            (Paid, 0, 0, NOW, Issued),
            (Overdue, 10_500, 0, NOW, Paid),
        ];
        for (stored, paid, refunded, now, shown) in cases {
            let account = Account {
                currency: Currency::USD,
                total: 10_500,
                deposit: 0,
                paid,
                refunded,
            };
            assert_eq!(
                stored.derive(&account, Some(due), now),
                shown,
                "{stored:?} paid {paid} refunded {refunded} at {now:?}"
            );
        }
    }

    fn invoice_changes(value: Value) -> InvoiceChanges {
        serde_json::from_value(value).expect("valid changes")
    }

    #[test]
    fn a_draft_is_made_and_changed_with_every_bad_field_named() {
        let draft = Invoice::create(
            invoice_changes(
                json!({"lines": [{"description": " Pump ", "quantity_milli": 1000,
                "unit_price": 10_000, "tax_rate_ppm": 50_000}], "notes": " Thanks ",
                "deposit": 2_000}),
            ),
            USD_PER_LINE,
        )
        .unwrap();
        assert_eq!(draft.lines[0].description, "Pump");
        assert_eq!(
            (draft.notes.as_deref(), draft.deposit),
            (Some("Thanks"), 2_000)
        );
        assert_eq!(draft.totals().unwrap().total, 10_500);
        let blank = Invoice::create(InvoiceChanges::default(), USD_PER_LINE).unwrap();
        assert!(blank.lines.is_empty());
        assert_eq!(blank.deposit, 0);
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            (
                "a negative quantity",
                json!({"lines": [{"description": "x", "quantity_milli": -1000, "unit_price": 1}]}),
                vec!["lines[0].quantity_milli"],
            ),
            (
                "a discount over 100%",
                json!({"lines": [{"description": "x", "quantity_milli": 1000, "unit_price": 1,
                                  "discount": {"percent_ppm": 1_010_000}}]}),
                vec!["lines[0].discount"],
            ),
            (
                "an option or an extra",
                json!({"lines": [{"description": "x", "quantity_milli": 1000, "unit_price": 1,
                                  "option": "Best", "optional": true}]}),
                vec!["lines[0].option", "lines[0].optional"],
            ),
            (
                "a deposit above the total",
                json!({"deposit": 10_501}),
                vec!["deposit"],
            ),
            (
                "a negative deposit",
                json!({"deposit": -1}),
                vec!["deposit"],
            ),
            (
                "long notes",
                json!({"notes": "n".repeat(10_001)}),
                vec!["notes"],
            ),
        ];
        for (name, change, fields) in cases {
            let err = draft.clone().apply(invoice_changes(change)).unwrap_err();
            assert_eq!(err.status(), 422, "{name}");
            assert_eq!(error_fields(&err), fields, "{name}");
        }
        // Lines that shrink the total below the deposit are refused on the deposit.
        let err = draft
            .clone()
            .apply(invoice_changes(json!({"lines": [{"description": "x",
                "quantity_milli": 1000, "unit_price": 100}]})))
            .unwrap_err();
        assert_eq!(error_fields(&err), ["deposit"]);
        let cleared = draft
            .apply(invoice_changes(json!({"notes": null})))
            .unwrap();
        assert_eq!(cleared.notes, None);
        assert!(serde_json::from_value::<InvoiceChanges>(json!({"number": "INV-1"})).is_err());
    }

    #[test]
    fn a_number_is_assigned_only_when_a_draft_is_issued() {
        let draft = hundred_and_five();
        let due = Millis(NOW.0 + 30 * DAY);
        let issued = draft.issue(Draft, "INV-", 41, NOW, due).unwrap();
        assert_eq!(
            issued,
            Issue {
                counter: 42,
                number: "INV-0042".into(),
                issued_at: NOW,
                due_at: due,
                total: 10_500,
            }
        );
        assert_eq!(
            draft.issue(Draft, "INV-", 0, NOW, NOW).unwrap().number,
            "INV-0001"
        );
        for status in [Issued, PartiallyPaid, Paid, Overdue, Void] {
            let err = draft.issue(status, "INV-", 41, NOW, due).unwrap_err();
            assert_eq!(err.status(), 409, "{status:?}");
        }
        let err = draft.issue(Draft, "INV-", u64::MAX, NOW, due).unwrap_err();
        assert_eq!(err.status(), 500);
    }

    #[test]
    fn an_empty_invoice_or_a_past_due_date_cannot_be_issued() {
        let err = invoice(Vec::new(), 0)
            .issue(Draft, "INV-", 0, NOW, NOW)
            .unwrap_err();
        assert_eq!(error_fields(&err), ["lines"]);
        let err = hundred_and_five()
            .issue(Draft, "INV-", 0, NOW, Millis(NOW.0 - 1))
            .unwrap_err();
        assert_eq!(error_fields(&err), ["due_at"]);
    }

    #[test]
    fn an_accepted_quote_becomes_a_draft_with_the_chosen_lines_notes_and_terms() {
        let quote = good_better_best(Value::Null);
        let draft =
            invoice_from_quote(&quote, QuoteStatus::Accepted, &choose("Best", &[5]), true).unwrap();
        let names: Vec<&str> = draft.lines.iter().map(|l| l.description.as_str()).collect();
        assert_eq!(names, ["Service call", "HEPA filter", "UV lamp"]);
        assert!(draft
            .lines
            .iter()
            .all(|l| !l.optional && l.option.is_none()));
        assert_eq!(draft.notes.as_deref(), Some("Parts in stock."));
        assert_eq!(draft.terms.as_deref(), Some("Net 30."));
        assert_eq!(draft.pricing, quote.pricing);
        // The invoice costs what the quote said for that choice.
        assert_eq!(
            draft.totals().unwrap().total,
            quote.totals(&choose("Best", &[5])).unwrap().total
        );
        assert_eq!(draft.deposit, 0);
    }

    #[test]
    fn only_an_accepted_quote_with_a_valid_choice_becomes_an_invoice() {
        let quote = good_better_best(Value::Null);
        for status in [
            QuoteStatus::Draft,
            QuoteStatus::Sent,
            QuoteStatus::Viewed,
            QuoteStatus::Declined,
            QuoteStatus::Expired,
        ] {
            let err = invoice_from_quote(&quote, status, &choose("Good", &[]), true).unwrap_err();
            assert_eq!(err.status(), 409, "{status:?}");
        }
        let err = invoice_from_quote(&quote, QuoteStatus::Accepted, &choose("Good", &[5]), true)
            .unwrap_err();
        assert_eq!(error_fields(&err), ["optional_lines[0]"]);
    }

    #[test]
    fn the_deposit_is_applied_to_the_first_invoice_only() {
        let quote = good_better_best(json!({"percent_ppm": 250_000}));
        let better = choose("Better", &[]);
        let acceptance = quote
            .accept(QuoteStatus::Viewed, better.clone(), "Ada", NOW)
            .unwrap();
        let first = invoice_from_quote(&quote, QuoteStatus::Accepted, &better, true).unwrap();
        assert_eq!(first.deposit, 3_518);
        assert_eq!(first.deposit, acceptance.deposit);
        let second = invoice_from_quote(&quote, QuoteStatus::Accepted, &better, false).unwrap();
        assert_eq!(second.deposit, 0);
        assert_eq!(second.lines, first.lines);

        let fixed = good_better_best(json!({"amount": 5_000}));
        let first = invoice_from_quote(&fixed, QuoteStatus::Accepted, &better, true).unwrap();
        assert_eq!(first.deposit, 5_000);
    }

    #[test]
    fn the_deposit_is_asked_for_first_then_the_balance() {
        let quote = good_better_best(json!({"percent_ppm": 250_000}));
        let first = invoice_from_quote(&quote, QuoteStatus::Accepted, &choose("Better", &[]), true)
            .unwrap();
        let mut account = first.account(&[]).unwrap();
        assert_eq!((account.total, account.due_now()), (14_070, 3_518));
        pay(&mut account, Issued, 1_000).unwrap();
        assert_eq!(account.due_now(), 2_518);
        pay(&mut account, PartiallyPaid, 2_518).unwrap();
        assert_eq!(account.due_now(), 14_070 - 3_518);
        pay(&mut account, PartiallyPaid, 10_552).unwrap();
        assert_eq!((account.balance(), account.due_now()), (0, 0));
    }

    #[test]
    fn partial_payments_then_a_full_payment_settle_the_invoice() {
        let invoice = hundred_and_five();
        let due = Millis(NOW.0 + 14 * DAY);
        let mut entries = Vec::new();
        let mut steps = vec![
            (2_500, PartiallyPaid),
            (3_000, PartiallyPaid),
            (5_000, Paid),
        ];
        for (amount, shown) in steps.drain(..) {
            let account = invoice.account(&entries).unwrap();
            let status = Issued.derive(&account, Some(due), NOW);
            entries.push(account.payment(status, amount, " cash ", NOW).unwrap());
            let after = invoice.account(&entries).unwrap();
            assert_eq!(Issued.derive(&after, Some(due), NOW), shown, "{amount}");
        }
        let account = invoice.account(&entries).unwrap();
        assert_eq!(
            (account.paid, account.refunded, account.balance()),
            (10_500, 0, 0)
        );
        assert_eq!(entries[0].method, PaymentMethod::Cash);
        let err = account.payment(Paid, 1, "cash", NOW).unwrap_err();
        assert_eq!(err.status(), 409);
    }

    #[test]
    fn a_payment_is_positive_at_most_the_balance_and_by_a_known_method() {
        let account = hundred_and_five().account(&[]).unwrap();
        let cases: [(i64, &str, Vec<&str>, &str); 5] = [
            (0, "card", vec!["amount"], "An amount above zero."),
            (-100, "card", vec!["amount"], "An amount above zero."),
            (
                10_501,
                "card",
                vec!["amount"],
                "At most USD 105.00, the balance.",
            ),
            (
                100,
                "bitcoin",
                vec!["method"],
                "One of card, cash, check, bank, other.",
            ),
            (0, "", vec!["amount", "method"], "An amount above zero."),
        ];
        for (amount, method, fields, message) in cases {
            let err = account.payment(Issued, amount, method, NOW).unwrap_err();
            assert_eq!(err.status(), 422);
            assert_eq!(error_fields(&err), fields, "{amount} {method}");
            assert_eq!(err.extensions["errors"][0]["message"], message);
        }
        let exact = account.payment(Overdue, 10_500, "bank", NOW).unwrap();
        assert_eq!(
            exact,
            Entry {
                kind: EntryKind::Payment,
                amount: 10_500,
                method: PaymentMethod::Bank,
                at: NOW
            }
        );
    }

    #[test]
    fn a_refund_cannot_exceed_what_was_paid_and_reopens_the_balance() {
        let invoice = hundred_and_five();
        let due = Millis(NOW.0 + DAY);
        let mut account = invoice.account(&[]).unwrap();
        pay(&mut account, Issued, 10_500).unwrap();
        assert_eq!(Issued.derive(&account, Some(due), NOW), Paid);

        let err = account.refund(10_501, "card", NOW).unwrap_err();
        assert_eq!(
            err.extensions["errors"][0]["message"],
            "At most USD 105.00, what was paid."
        );
        let refund = account.refund(4_000, "card", NOW).unwrap();
        assert_eq!(refund.kind, EntryKind::Refund);
        account.record(&refund).unwrap();
        assert_eq!((account.net_paid(), account.balance()), (6_500, 4_000));
        assert_eq!(Issued.derive(&account, Some(due), NOW), PartiallyPaid);

        let rest = account.refund(6_500, "card", NOW).unwrap();
        account.record(&rest).unwrap();
        assert_eq!(Issued.derive(&account, Some(due), NOW), Issued);
        let err = account.refund(1, "card", NOW).unwrap_err();
        assert_eq!(
            err.extensions["errors"][0]["message"],
            "At most USD 0.00, what was paid."
        );
    }

    #[test]
    fn an_unpaid_invoice_is_overdue_only_after_its_due_date() {
        let due = Millis(NOW.0 + 30 * DAY);
        let mut account = hundred_and_five().account(&[]).unwrap();
        assert_eq!(Issued.derive(&account, Some(due), due), Issued);
        assert_eq!(
            Issued.derive(&account, Some(due), Millis(due.0 + 1)),
            Overdue
        );
        assert_eq!(Issued.derive(&account, None, Millis(u64::MAX)), Issued);
        // Paying part of it does not lift it out of overdue; paying all of it does.
        pay(&mut account, Overdue, 500).unwrap();
        assert_eq!(
            Issued.derive(&account, Some(due), Millis(due.0 + 1)),
            Overdue
        );
        pay(&mut account, Overdue, 10_000).unwrap();
        assert_eq!(Issued.derive(&account, Some(due), Millis(due.0 + 1)), Paid);
        // A draft or void invoice is never overdue.
        assert_eq!(Draft.derive(&account, Some(due), Millis(u64::MAX)), Draft);
    }

    #[test]
    fn a_void_or_draft_invoice_takes_no_payments() {
        let account = hundred_and_five().account(&[]).unwrap();
        for (status, detail) in [
            (Void, "A void invoice takes no payments."),
            (Draft, "Issue the invoice before taking payment."),
        ] {
            let err = account.payment(status, 100, "cash", NOW).unwrap_err();
            assert_eq!(err.status(), 409);
            assert_eq!(err.detail.as_deref(), Some(detail));
        }
    }

    #[test]
    fn only_an_issued_or_overdue_invoice_with_nothing_kept_is_voided() {
        let mut account = hundred_and_five().account(&[]).unwrap();
        assert_eq!(void(Issued, &account), Ok(Void));
        assert_eq!(void(Overdue, &account), Ok(Void));
        for status in [Draft, PartiallyPaid, Paid, Void] {
            assert_eq!(
                void(status, &account).unwrap_err().status(),
                409,
                "{status:?}"
            );
        }
        // Overdue with part paid: the money must go back first.
        pay(&mut account, Overdue, 500).unwrap();
        let err = void(Overdue, &account).unwrap_err();
        assert_eq!(
            err.detail.as_deref(),
            Some("USD 5.00 has been paid on this invoice; refund it before voiding.")
        );
    }

    #[test]
    fn a_paid_invoice_is_reversed_by_a_credit_note_not_voided() {
        let invoice = hundred_and_five();
        let mut account = invoice.account(&[]).unwrap();
        pay(&mut account, Issued, 10_500).unwrap();
        let status = Issued.derive(&account, None, NOW);
        assert_eq!(status, Paid);
        let err = void(status, &account).unwrap_err();
        assert!(err.detail.clone().unwrap().contains("credit note"));

        let note = invoice.credit_note(status, false).unwrap();
        assert_eq!(note.lines, invoice.lines);
        assert_eq!(note.totals, invoice.totals().unwrap());
        assert_eq!(note.totals.total, 10_500);
        assert_eq!(format_number(DEFAULT_CREDIT_NOTE_PREFIX, 1), "CN-0001");
        assert_eq!(invoice.credit_note(status, true).unwrap_err().status(), 409);
        for unpaid in [Draft, Issued, PartiallyPaid, Overdue, Void] {
            let err = invoice.credit_note(unpaid, false).unwrap_err();
            assert_eq!(err.status(), 409, "{unpaid:?}");
        }
    }

    /// A payment or a refund of some amount; amounts range past the total so that refusals
    /// happen too.
    fn operation() -> impl Strategy<Value = (bool, i64)> {
        (
            any::<bool>(),
            prop_oneof![1_i64..=100, 1_i64..=2_000_000, -5_i64..=0],
        )
    }

    proptest! {
        #[test]
        fn the_balance_is_the_total_less_net_payments(
            lines in prop::collection::vec(valid_line(), 1..6),
            operations in prop::collection::vec(operation(), 0..30),
        ) {
            let invoice = invoice(lines, 0);
            let total = invoice.totals().unwrap().total;
            let mut entries: Vec<Entry> = Vec::new();
            let (mut paid, mut refunded) = (0_i64, 0_i64);
            for (is_refund, amount) in operations {
                let account = invoice.account(&entries).unwrap();
                let status = Issued.derive(&account, None, NOW);
                let result = if is_refund {
                    account.refund(amount, "card", NOW)
                } else {
                    account.payment(status, amount, "card", NOW)
                };
                // Accepted exactly when the amount is positive and within its limit.
                let limit = if is_refund { paid - refunded } else { total - paid + refunded };
                let open = is_refund || status != Paid;
                prop_assert_eq!(result.is_ok(), open && amount > 0 && amount <= limit);
                if let Ok(entry) = result {
                    if is_refund { refunded += amount } else { paid += amount }
                    entries.push(entry);
                }
                let after = invoice.account(&entries).unwrap();
                prop_assert_eq!(after.balance(), total - (paid - refunded));
                prop_assert!((0..=total).contains(&after.balance()));
                prop_assert!((0..=total).contains(&after.net_paid()));
                let shown = Issued.derive(&after, None, NOW);
                prop_assert_eq!(shown == Paid, after.balance() == 0);
            }
        }
    }
}
