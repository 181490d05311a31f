//! The wire JSON of quotes, invoices and payments, pinned: representative rows rendered and
//! compared with what the API answered when these views were built with `json!`, so a change
//! to the typed views that moves a member, a value or a null shows here. The rows serve the
//! pages' tests too.

use std::fmt;

use crate::json;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::*;
use crate::db::invoices::{InvoiceRow, PaymentRow};
use crate::db::quotes::QuoteRow;

const NOW: &str = "2026-06-01T12:00:00.000Z";

pub(crate) fn now() -> Millis {
    Millis::parse_rfc3339(NOW).unwrap_or(Millis(0))
}

pub(crate) fn quote_row(id: &str, status: &str, lines: Value, deposit: Option<Value>) -> QuoteRow {
    QuoteRow {
        id: id.into(),
        number: 7,
        customer_id: "c1".into(),
        site_id: "s1".into(),
        job_id: None,
        title: "Furnace <b>".into(),
        status: status.into(),
        currency: "USD".into(),
        rounding: "per_line".into(),
        lines: lines.to_string(),
        totals: "[]".into(),
        notes: None,
        terms: None,
        valid_until: "2026-07-01T00:00:00.000Z".into(),
        deposit: deposit.map(|d| d.to_string()),
        sent_at: None,
        chosen_option: None,
        chosen_extras: None,
        signer_name: None,
        accepted_at: None,
        accepted_ip: None,
        accepted_by: None,
        accepted_total: None,
        accepted_deposit: None,
        declined_at: None,
        invoice_id: None,
        converted_at: None,
        version: 1,
        created_at: "2026-05-01T09:00:00.000Z".into(),
        updated_at: "2026-05-02T09:00:00.000Z".into(),
    }
}

/// The totals a row is stored with, as the API computes them when it writes the quote.
pub(crate) fn stored(mut row: QuoteRow) -> QuoteRow {
    let quote = row.to_domain().expect("a valid quote");
    row.totals = stored_totals(&quote).expect("priced");
    row
}

pub(crate) fn draft_quote() -> QuoteRow {
    stored(quote_row(
        "q1",
        "draft",
        json!([{ "description": "Tune-up", "quantity_milli": 1500, "unit_price": 8900, "tax_rate_ppm": 50000 }]),
        None,
    ))
}

/// Options, an extra, a discount and a percentage deposit; sent, and past its date.
pub(crate) fn expired_quote() -> QuoteRow {
    let mut row = stored(quote_row(
        "q2",
        "sent",
        json!([
            { "description": "Service call", "quantity_milli": 1000, "unit_price": 8900, "tax_rate_ppm": 50000 },
            { "description": "Basic filter", "quantity_milli": 1000, "unit_price": 2000, "tax_rate_ppm": 50000, "option": "Good" },
            { "description": "HEPA filter", "quantity_milli": 2000, "unit_price": 9900, "tax_rate_ppm": 130000,
              "discount": { "percent_ppm": 100000 }, "option": "Best" },
            { "description": "Duct cleaning", "quantity_milli": 1000, "unit_price": 15000, "tax_rate_ppm": 50000, "optional": true }
        ]),
        Some(json!({ "percent_ppm": 250000 })),
    ));
    row.valid_until = "2026-05-15T00:00:00.000Z".into();
    row.sent_at = Some("2026-05-03T10:00:00.000Z".into());
    row.notes = Some("Parts on order".into());
    row.terms = Some("Net 14".into());
    row.job_id = Some("j1".into());
    row
}

pub(crate) fn accepted_quote() -> QuoteRow {
    let mut row = expired_quote();
    row.id = "q3".into();
    row.status = "accepted".into();
    row.valid_until = "2026-07-01T00:00:00.000Z".into();
    row.chosen_option = Some("Best".into());
    row.chosen_extras = Some("[3]".into());
    row.signer_name = Some("Pat Doe".into());
    row.accepted_at = Some("2026-05-04T10:00:00.000Z".into());
    row.accepted_ip = Some("203.0.113.9".into());
    row.accepted_total = Some(43_880);
    row.accepted_deposit = Some(10_970);
    row.invoice_id = Some("i1".into());
    row.converted_at = Some("2026-05-05T10:00:00.000Z".into());
    row.version = 5;
    row
}

pub(crate) fn invoice_row(id: &str, kind: &str, status: &str) -> InvoiceRow {
    InvoiceRow {
        id: id.into(),
        kind: kind.into(),
        sequence: None,
        number: None,
        customer_id: "c1".into(),
        site_id: Some("s1".into()),
        job_id: None,
        quote_id: None,
        credit_note_for: None,
        status: status.into(),
        currency: "USD".into(),
        rounding: "per_document".into(),
        lines: json!([
            { "description": "Labour", "quantity_milli": 2500, "unit_price": 8000, "tax_rate_ppm": 130000 },
            { "description": "Parts", "quantity_milli": 1000, "unit_price": 4550, "tax_rate_ppm": 50000,
              "discount": { "amount": 550 } }
        ])
        .to_string(),
        totals: "{}".into(),
        subtotal: 24_550,
        discount_total: 550,
        tax_total: 2_800,
        total: 26_800,
        deposit: 0,
        notes: None,
        terms: None,
        payment_terms_days: 14,
        paid: 0,
        refunded: 0,
        issued_at: None,
        due_at: None,
        voided_at: None,
        version: 1,
        created_at: "2026-05-06T09:00:00.000Z".into(),
        updated_at: "2026-05-06T09:00:00.000Z".into(),
        credit_note_id: None,
    }
}

pub(crate) fn payment(id: &str, kind: &str, amount: i64, reference: Option<&str>) -> PaymentRow {
    PaymentRow {
        id: id.into(),
        invoice_id: "i1".into(),
        kind: kind.into(),
        amount,
        method: "card".into(),
        at: "2026-05-10T15:00:00.000Z".into(),
        reference: reference.map(str::to_owned),
        external_id: None,
        recorded_by: Some("u1".into()),
        created_at: "2026-05-10T15:00:01.000Z".into(),
    }
}

/// Issued with a deposit, paid in part and refunded in part.
pub(crate) fn issued_invoice() -> (InvoiceRow, Vec<PaymentRow>) {
    let mut row = invoice_row("i1", "invoice", "issued");
    row.sequence = Some(9);
    row.number = Some("INV-0009".into());
    row.job_id = Some("j1".into());
    row.quote_id = Some("q3".into());
    row.deposit = 5_000;
    row.notes = Some("Thanks".into());
    row.issued_at = Some("2026-05-07T09:00:00.000Z".into());
    row.due_at = Some("2026-05-21T09:00:00.000Z".into());
    row.paid = 12_000;
    row.refunded = 2_000;
    row.version = 4;
    let payments = vec![
        payment("p1", "payment", 12_000, Some("ch_1")),
        payment("p2", "refund", 2_000, None),
    ];
    (row, payments)
}

pub(crate) fn credit_note() -> InvoiceRow {
    let mut row = invoice_row("i2", "credit_note", "issued");
    row.number = Some("CN-0001".into());
    row.credit_note_for = Some("i0".into());
    row.issued_at = Some("2026-05-08T09:00:00.000Z".into());
    row
}

/// A view as a `Value`, and as the text the API sends when it serializes the view itself.
fn value<T: serde::Serialize>(view: T) -> (Value, String) {
    let text = serde_json::to_string(&view).expect("serializes");
    (serde_json::to_value(view).expect("serializes"), text)
}

/// How many members an object's text has, repeats counted: a `Value` keeps one of each, so a
/// name two flattened parts both write shows only here.
struct Members(usize);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut n = 0;
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Members(n))
            }
        }
        d.deserialize_map(Count)
    }
}

/// Every rendering the golden values pin, by name.
fn rendered() -> Vec<(&'static str, (Value, String))> {
    let (issued, payments) = issued_invoice();
    let mut bad_totals = draft_quote();
    bad_totals.totals = "not json".into();
    let mut other_totals = draft_quote();
    other_totals.totals = r#"{"legacy":[1,2.5]}"#.into();
    let mut edited = expired_quote().to_domain().expect("valid");
    edited.lines.truncate(2);
    let draft_invoice = invoice_row("i3", "invoice", "draft");
    vec![
        (
            "draft quote",
            value(QuoteView::new(&draft_quote(), now()).expect("view")),
        ),
        (
            "draft quote summary",
            value(QuoteSummary::new(&draft_quote(), now()).expect("summary")),
        ),
        (
            "expired quote",
            value(QuoteView::new(&expired_quote(), now()).expect("view")),
        ),
        (
            "expired quote summary",
            value(QuoteSummary::new(&expired_quote(), now()).expect("summary")),
        ),
        (
            "accepted quote",
            value(QuoteView::new(&accepted_quote(), now()).expect("view")),
        ),
        (
            "accepted quote summary",
            value(QuoteSummary::new(&accepted_quote(), now()).expect("summary")),
        ),
        (
            "summary of bad stored totals",
            value(QuoteSummary::new(&bad_totals, now()).expect("summary")),
        ),
        (
            "summary of other stored totals",
            value(QuoteSummary::new(&other_totals, now()).expect("summary")),
        ),
        (
            "quote preview",
            value(QuotePreview::new(&edited).expect("preview")),
        ),
        (
            "issued invoice",
            value(InvoiceView::new(&issued, &payments, now()).expect("view")),
        ),
        (
            "issued invoice summary",
            value(InvoiceSummary::new(&issued, now()).expect("summary")),
        ),
        (
            "credit note",
            value(InvoiceView::new(&credit_note(), &[], now()).expect("view")),
        ),
        (
            "credit note summary",
            value(InvoiceSummary::new(&credit_note(), now()).expect("summary")),
        ),
        (
            "draft invoice summary",
            value(InvoiceSummary::new(&draft_invoice, now()).expect("summary")),
        ),
        (
            "invoice preview",
            value(InvoicePreview::new(&issued.to_domain().expect("valid"), 30).expect("preview")),
        ),
        ("payment", value(PaymentView::from(&payments[0]))),
    ]
}

/// What the `json!` views answered for [`rendered`], name by name.
fn expected(name: &str) -> Value {
    let text = match name {
        "draft quote" => {
            r#"
{
  "acceptance": null,
  "converted_at": null,
  "created_at": "2026-05-01T09:00:00.000Z",
  "currency": "USD",
  "customer_id": "c1",
  "declined_at": null,
  "deposit": null,
  "id": "q1",
  "invoice_id": null,
  "job_id": null,
  "line_amounts": [
    {"discount": 0, "gross": 13350, "net": 13350, "tax": 668, "tax_rate_ppm": 50000}
  ],
  "lines": [
    {"description": "Tune-up", "discount": null, "option": null, "optional": false, "quantity_milli": 1500, "tax_rate_ppm": 50000, "unit_price": 8900}
  ],
  "notes": null,
  "number": 7,
  "options": [],
  "rounding": "per_line",
  "sent_at": null,
  "site_id": "s1",
  "status": "draft",
  "terms": null,
  "title": "Furnace <b>",
  "totals": [
    {"deposit": 0, "discount_total": 0, "option": null, "subtotal": 13350, "tax_total": 668, "taxes": [{"rate_ppm": 50000, "tax": 668, "taxable": 13350}], "total": 14018}
  ],
  "updated_at": "2026-05-02T09:00:00.000Z",
  "valid_until": "2026-07-01T00:00:00.000Z",
  "version": 1
}
"#
        }
        "draft quote summary" => {
            r#"
{
  "acceptance": null,
  "converted_at": null,
  "created_at": "2026-05-01T09:00:00.000Z",
  "currency": "USD",
  "customer_id": "c1",
  "declined_at": null,
  "id": "q1",
  "invoice_id": null,
  "job_id": null,
  "number": 7,
  "rounding": "per_line",
  "sent_at": null,
  "site_id": "s1",
  "status": "draft",
  "title": "Furnace <b>",
  "totals": [
    {"deposit": 0, "discount_total": 0, "option": null, "subtotal": 13350, "tax_total": 668, "taxes": [{"rate_ppm": 50000, "tax": 668, "taxable": 13350}], "total": 14018}
  ],
  "updated_at": "2026-05-02T09:00:00.000Z",
  "valid_until": "2026-07-01T00:00:00.000Z",
  "version": 1
}
"#
        }
        "expired quote" => {
            r#"
{
  "acceptance": null,
  "converted_at": null,
  "created_at": "2026-05-01T09:00:00.000Z",
  "currency": "USD",
  "customer_id": "c1",
  "declined_at": null,
  "deposit": {"percent_ppm": 250000},
  "id": "q2",
  "invoice_id": null,
  "job_id": "j1",
  "line_amounts": [
    {"discount": 0, "gross": 8900, "net": 8900, "tax": 445, "tax_rate_ppm": 50000},
    {"discount": 0, "gross": 2000, "net": 2000, "tax": 100, "tax_rate_ppm": 50000},
    {"discount": 1980, "gross": 19800, "net": 17820, "tax": 2317, "tax_rate_ppm": 130000},
    {"discount": 0, "gross": 15000, "net": 15000, "tax": 750, "tax_rate_ppm": 50000}
  ],
  "lines": [
    {"description": "Service call", "discount": null, "option": null, "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 8900},
    {"description": "Basic filter", "discount": null, "option": "Good", "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 2000},
    {"description": "HEPA filter", "discount": {"percent_ppm": 100000}, "option": "Best", "optional": false, "quantity_milli": 2000, "tax_rate_ppm": 130000, "unit_price": 9900},
    {"description": "Duct cleaning", "discount": null, "option": null, "optional": true, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 15000}
  ],
  "notes": "Parts on order",
  "number": 7,
  "options": ["Good", "Best"],
  "rounding": "per_line",
  "sent_at": "2026-05-03T10:00:00.000Z",
  "site_id": "s1",
  "status": "expired",
  "terms": "Net 14",
  "title": "Furnace <b>",
  "totals": [
    {"deposit": 2861, "discount_total": 0, "option": "Good", "subtotal": 10900, "tax_total": 545, "taxes": [{"rate_ppm": 50000, "tax": 545, "taxable": 10900}], "total": 11445},
    {"deposit": 7371, "discount_total": 1980, "option": "Best", "subtotal": 28700, "tax_total": 2762, "taxes": [{"rate_ppm": 50000, "tax": 445, "taxable": 8900}, {"rate_ppm": 130000, "tax": 2317, "taxable": 17820}], "total": 29482}
  ],
  "updated_at": "2026-05-02T09:00:00.000Z",
  "valid_until": "2026-05-15T00:00:00.000Z",
  "version": 1
}
"#
        }
        "expired quote summary" => {
            r#"
{
  "acceptance": null,
  "converted_at": null,
  "created_at": "2026-05-01T09:00:00.000Z",
  "currency": "USD",
  "customer_id": "c1",
  "declined_at": null,
  "id": "q2",
  "invoice_id": null,
  "job_id": "j1",
  "number": 7,
  "rounding": "per_line",
  "sent_at": "2026-05-03T10:00:00.000Z",
  "site_id": "s1",
  "status": "expired",
  "title": "Furnace <b>",
  "totals": [
    {"deposit": 2861, "discount_total": 0, "option": "Good", "subtotal": 10900, "tax_total": 545, "taxes": [{"rate_ppm": 50000, "tax": 545, "taxable": 10900}], "total": 11445},
    {"deposit": 7371, "discount_total": 1980, "option": "Best", "subtotal": 28700, "tax_total": 2762, "taxes": [{"rate_ppm": 50000, "tax": 445, "taxable": 8900}, {"rate_ppm": 130000, "tax": 2317, "taxable": 17820}], "total": 29482}
  ],
  "updated_at": "2026-05-02T09:00:00.000Z",
  "valid_until": "2026-05-15T00:00:00.000Z",
  "version": 1
}
"#
        }
        "accepted quote" => {
            r#"
{
  "acceptance": {"accepted_at": "2026-05-04T10:00:00.000Z", "deposit": 10970, "ip": "203.0.113.9", "option": "Best", "optional_lines": [3], "recorded_by": null, "signer_name": "Pat Doe", "total": 43880, "totals": {"discount_total": 1980, "subtotal": 43700, "tax_total": 3512, "taxes": [{"rate_ppm": 50000, "tax": 1195, "taxable": 23900}, {"rate_ppm": 130000, "tax": 2317, "taxable": 17820}], "total": 45232}},
  "converted_at": "2026-05-05T10:00:00.000Z",
  "created_at": "2026-05-01T09:00:00.000Z",
  "currency": "USD",
  "customer_id": "c1",
  "declined_at": null,
  "deposit": {"percent_ppm": 250000},
  "id": "q3",
  "invoice_id": "i1",
  "job_id": "j1",
  "line_amounts": [
    {"discount": 0, "gross": 8900, "net": 8900, "tax": 445, "tax_rate_ppm": 50000},
    {"discount": 0, "gross": 2000, "net": 2000, "tax": 100, "tax_rate_ppm": 50000},
    {"discount": 1980, "gross": 19800, "net": 17820, "tax": 2317, "tax_rate_ppm": 130000},
    {"discount": 0, "gross": 15000, "net": 15000, "tax": 750, "tax_rate_ppm": 50000}
  ],
  "lines": [
    {"description": "Service call", "discount": null, "option": null, "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 8900},
    {"description": "Basic filter", "discount": null, "option": "Good", "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 2000},
    {"description": "HEPA filter", "discount": {"percent_ppm": 100000}, "option": "Best", "optional": false, "quantity_milli": 2000, "tax_rate_ppm": 130000, "unit_price": 9900},
    {"description": "Duct cleaning", "discount": null, "option": null, "optional": true, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 15000}
  ],
  "notes": "Parts on order",
  "number": 7,
  "options": ["Good", "Best"],
  "rounding": "per_line",
  "sent_at": "2026-05-03T10:00:00.000Z",
  "site_id": "s1",
  "status": "accepted",
  "terms": "Net 14",
  "title": "Furnace <b>",
  "totals": [
    {"deposit": 2861, "discount_total": 0, "option": "Good", "subtotal": 10900, "tax_total": 545, "taxes": [{"rate_ppm": 50000, "tax": 545, "taxable": 10900}], "total": 11445},
    {"deposit": 7371, "discount_total": 1980, "option": "Best", "subtotal": 28700, "tax_total": 2762, "taxes": [{"rate_ppm": 50000, "tax": 445, "taxable": 8900}, {"rate_ppm": 130000, "tax": 2317, "taxable": 17820}], "total": 29482}
  ],
  "updated_at": "2026-05-02T09:00:00.000Z",
  "valid_until": "2026-07-01T00:00:00.000Z",
  "version": 5
}
"#
        }
        "accepted quote summary" => {
            r#"
{
  "acceptance": {"accepted_at": "2026-05-04T10:00:00.000Z", "deposit": 10970, "ip": "203.0.113.9", "option": "Best", "optional_lines": [3], "recorded_by": null, "signer_name": "Pat Doe", "total": 43880},
  "converted_at": "2026-05-05T10:00:00.000Z",
  "created_at": "2026-05-01T09:00:00.000Z",
  "currency": "USD",
  "customer_id": "c1",
  "declined_at": null,
  "id": "q3",
  "invoice_id": "i1",
  "job_id": "j1",
  "number": 7,
  "rounding": "per_line",
  "sent_at": "2026-05-03T10:00:00.000Z",
  "site_id": "s1",
  "status": "accepted",
  "title": "Furnace <b>",
  "totals": [
    {"deposit": 2861, "discount_total": 0, "option": "Good", "subtotal": 10900, "tax_total": 545, "taxes": [{"rate_ppm": 50000, "tax": 545, "taxable": 10900}], "total": 11445},
    {"deposit": 7371, "discount_total": 1980, "option": "Best", "subtotal": 28700, "tax_total": 2762, "taxes": [{"rate_ppm": 50000, "tax": 445, "taxable": 8900}, {"rate_ppm": 130000, "tax": 2317, "taxable": 17820}], "total": 29482}
  ],
  "updated_at": "2026-05-02T09:00:00.000Z",
  "valid_until": "2026-07-01T00:00:00.000Z",
  "version": 5
}
"#
        }
        "summary of bad stored totals" => {
            r#"
{
  "acceptance": null,
  "converted_at": null,
  "created_at": "2026-05-01T09:00:00.000Z",
  "currency": "USD",
  "customer_id": "c1",
  "declined_at": null,
  "id": "q1",
  "invoice_id": null,
  "job_id": null,
  "number": 7,
  "rounding": "per_line",
  "sent_at": null,
  "site_id": "s1",
  "status": "draft",
  "title": "Furnace <b>",
  "totals": null,
  "updated_at": "2026-05-02T09:00:00.000Z",
  "valid_until": "2026-07-01T00:00:00.000Z",
  "version": 1
}
"#
        }
        "summary of other stored totals" => {
            r#"
{
  "acceptance": null,
  "converted_at": null,
  "created_at": "2026-05-01T09:00:00.000Z",
  "currency": "USD",
  "customer_id": "c1",
  "declined_at": null,
  "id": "q1",
  "invoice_id": null,
  "job_id": null,
  "number": 7,
  "rounding": "per_line",
  "sent_at": null,
  "site_id": "s1",
  "status": "draft",
  "title": "Furnace <b>",
  "totals": {"legacy": [1, 2.5]},
  "updated_at": "2026-05-02T09:00:00.000Z",
  "valid_until": "2026-07-01T00:00:00.000Z",
  "version": 1
}
"#
        }
        "quote preview" => {
            r#"
{
  "deposit": {"percent_ppm": 250000},
  "line_amounts": [
    {"discount": 0, "gross": 8900, "net": 8900, "tax": 445, "tax_rate_ppm": 50000},
    {"discount": 0, "gross": 2000, "net": 2000, "tax": 100, "tax_rate_ppm": 50000}
  ],
  "lines": [
    {"description": "Service call", "discount": null, "option": null, "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 8900},
    {"description": "Basic filter", "discount": null, "option": "Good", "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 2000}
  ],
  "notes": "Parts on order",
  "options": ["Good"],
  "terms": "Net 14",
  "title": "Furnace <b>",
  "totals": [
    {"deposit": 2861, "discount_total": 0, "option": "Good", "subtotal": 10900, "tax_total": 545, "taxes": [{"rate_ppm": 50000, "tax": 545, "taxable": 10900}], "total": 11445}
  ],
  "valid_until": "2026-05-15T00:00:00.000Z"
}
"#
        }
        "issued invoice" => {
            r#"
{
  "balance": 16800,
  "created_at": "2026-05-06T09:00:00.000Z",
  "credit_note_for": null,
  "credit_note_id": null,
  "currency": "USD",
  "customer_id": "c1",
  "deposit": 5000,
  "due_at": "2026-05-21T09:00:00.000Z",
  "due_now": 16800,
  "id": "i1",
  "issued_at": "2026-05-07T09:00:00.000Z",
  "job_id": "j1",
  "kind": "invoice",
  "lines": [
    {"description": "Labour", "discount": null, "option": null, "optional": false, "quantity_milli": 2500, "tax_rate_ppm": 130000, "unit_price": 8000},
    {"description": "Parts", "discount": {"amount": 550}, "option": null, "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 4550}
  ],
  "notes": "Thanks",
  "number": "INV-0009",
  "paid": 12000,
  "payment_terms_days": 14,
  "payments": [
    {"amount": 12000, "at": "2026-05-10T15:00:00.000Z", "external_id": null, "id": "p1", "invoice_id": "i1", "kind": "payment", "method": "card", "recorded_by": "u1", "reference": "ch_1"},
    {"amount": 2000, "at": "2026-05-10T15:00:00.000Z", "external_id": null, "id": "p2", "invoice_id": "i1", "kind": "refund", "method": "card", "recorded_by": "u1", "reference": null}
  ],
  "quote_id": "q3",
  "refunded": 2000,
  "rounding": "per_document",
  "site_id": "s1",
  "status": "overdue",
  "terms": null,
  "totals": {"discount_total": 550, "lines": [{"discount": 0, "gross": 20000, "net": 20000, "tax": null, "tax_rate_ppm": 130000}, {"discount": 550, "gross": 4550, "net": 4000, "tax": null, "tax_rate_ppm": 50000}], "subtotal": 24550, "tax_total": 2800, "taxes": [{"rate_ppm": 50000, "tax": 200, "taxable": 4000}, {"rate_ppm": 130000, "tax": 2600, "taxable": 20000}], "total": 26800},
  "updated_at": "2026-05-06T09:00:00.000Z",
  "version": 4,
  "voided_at": null
}
"#
        }
        "issued invoice summary" => {
            r#"
{
  "balance": 16800,
  "created_at": "2026-05-06T09:00:00.000Z",
  "credit_note_for": null,
  "credit_note_id": null,
  "currency": "USD",
  "customer_id": "c1",
  "deposit": 5000,
  "due_at": "2026-05-21T09:00:00.000Z",
  "due_now": 16800,
  "id": "i1",
  "issued_at": "2026-05-07T09:00:00.000Z",
  "job_id": "j1",
  "kind": "invoice",
  "number": "INV-0009",
  "paid": 12000,
  "payment_terms_days": 14,
  "quote_id": "q3",
  "refunded": 2000,
  "rounding": "per_document",
  "site_id": "s1",
  "status": "overdue",
  "totals": {"discount_total": 550, "subtotal": 24550, "tax_total": 2800, "total": 26800},
  "updated_at": "2026-05-06T09:00:00.000Z",
  "version": 4,
  "voided_at": null
}
"#
        }
        "credit note" => {
            r#"
{
  "balance": null,
  "created_at": "2026-05-06T09:00:00.000Z",
  "credit_note_for": "i0",
  "credit_note_id": null,
  "currency": "USD",
  "customer_id": "c1",
  "deposit": 0,
  "due_at": null,
  "due_now": null,
  "id": "i2",
  "issued_at": "2026-05-08T09:00:00.000Z",
  "job_id": null,
  "kind": "credit_note",
  "lines": [
    {"description": "Labour", "discount": null, "option": null, "optional": false, "quantity_milli": 2500, "tax_rate_ppm": 130000, "unit_price": 8000},
    {"description": "Parts", "discount": {"amount": 550}, "option": null, "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 4550}
  ],
  "notes": null,
  "number": "CN-0001",
  "paid": 0,
  "payment_terms_days": 14,
  "payments": [],
  "quote_id": null,
  "refunded": 0,
  "rounding": "per_document",
  "site_id": "s1",
  "status": "issued",
  "terms": null,
  "totals": {"discount_total": 550, "lines": [{"discount": 0, "gross": 20000, "net": 20000, "tax": null, "tax_rate_ppm": 130000}, {"discount": 550, "gross": 4550, "net": 4000, "tax": null, "tax_rate_ppm": 50000}], "subtotal": 24550, "tax_total": 2800, "taxes": [{"rate_ppm": 50000, "tax": 200, "taxable": 4000}, {"rate_ppm": 130000, "tax": 2600, "taxable": 20000}], "total": 26800},
  "updated_at": "2026-05-06T09:00:00.000Z",
  "version": 1,
  "voided_at": null
}
"#
        }
        "credit note summary" => {
            r#"
{
  "balance": null,
  "created_at": "2026-05-06T09:00:00.000Z",
  "credit_note_for": "i0",
  "credit_note_id": null,
  "currency": "USD",
  "customer_id": "c1",
  "deposit": 0,
  "due_at": null,
  "due_now": null,
  "id": "i2",
  "issued_at": "2026-05-08T09:00:00.000Z",
  "job_id": null,
  "kind": "credit_note",
  "number": "CN-0001",
  "paid": 0,
  "payment_terms_days": 14,
  "quote_id": null,
  "refunded": 0,
  "rounding": "per_document",
  "site_id": "s1",
  "status": "issued",
  "totals": {"discount_total": 550, "subtotal": 24550, "tax_total": 2800, "total": 26800},
  "updated_at": "2026-05-06T09:00:00.000Z",
  "version": 1,
  "voided_at": null
}
"#
        }
        "draft invoice summary" => {
            r#"
{
  "balance": 26800,
  "created_at": "2026-05-06T09:00:00.000Z",
  "credit_note_for": null,
  "credit_note_id": null,
  "currency": "USD",
  "customer_id": "c1",
  "deposit": 0,
  "due_at": null,
  "due_now": null,
  "id": "i3",
  "issued_at": null,
  "job_id": null,
  "kind": "invoice",
  "number": null,
  "paid": 0,
  "payment_terms_days": 14,
  "quote_id": null,
  "refunded": 0,
  "rounding": "per_document",
  "site_id": "s1",
  "status": "draft",
  "totals": {"discount_total": 550, "subtotal": 24550, "tax_total": 2800, "total": 26800},
  "updated_at": "2026-05-06T09:00:00.000Z",
  "version": 1,
  "voided_at": null
}
"#
        }
        "invoice preview" => {
            r#"
{
  "deposit": 5000,
  "lines": [
    {"description": "Labour", "discount": null, "option": null, "optional": false, "quantity_milli": 2500, "tax_rate_ppm": 130000, "unit_price": 8000},
    {"description": "Parts", "discount": {"amount": 550}, "option": null, "optional": false, "quantity_milli": 1000, "tax_rate_ppm": 50000, "unit_price": 4550}
  ],
  "notes": "Thanks",
  "payment_terms_days": 30,
  "terms": null,
  "totals": {"discount_total": 550, "lines": [{"discount": 0, "gross": 20000, "net": 20000, "tax": null, "tax_rate_ppm": 130000}, {"discount": 550, "gross": 4550, "net": 4000, "tax": null, "tax_rate_ppm": 50000}], "subtotal": 24550, "tax_total": 2800, "taxes": [{"rate_ppm": 50000, "tax": 200, "taxable": 4000}, {"rate_ppm": 130000, "tax": 2600, "taxable": 20000}], "total": 26800}
}
"#
        }
        "payment" => {
            r#"
{
  "amount": 12000,
  "at": "2026-05-10T15:00:00.000Z",
  "external_id": null,
  "id": "p1",
  "invoice_id": "i1",
  "kind": "payment",
  "method": "card",
  "recorded_by": "u1",
  "reference": "ch_1"
}
"#
        }
        _ => "null",
    };
    serde_json::from_str(text).expect("valid JSON")
}

#[test]
fn every_view_answers_the_json_it_always_did() {
    for (name, (shown, text)) in rendered() {
        assert_eq!(shown, expected(name), "{name}");
        let members: Members = serde_json::from_str(&text).expect("an object");
        assert_eq!(
            Some(members.0),
            shown.as_object().map(|o| o.len()),
            "{name}: {text}"
        );
    }
}
