//! An invoice's page: its lines and totals, the account its payments make (balance, what is
//! due now), the editor while it is a draft, and the moves its status allows: issue, share,
//! record a payment or refund, void, reverse with a credit note.

use maud::{html, Markup};

use crate::domain::auth::permissions::Permission;
use crate::domain::invoices::InvoiceStatus;
use crate::views::money::{InvoiceHead, InvoiceView, OptionTotals};
use crate::views::pages::files;
use crate::views::pages::forms::{api_form, field, select, submit, Api};
use crate::views::pages::lines::{self, amount_input, Kind};
use crate::views::pages::money::{
    badge, deliveries, party_facts, share_form, share_links, timeline, DocPage,
};
use crate::views::pages::{label, shell, when_text, Section, Viewer};

const METHODS: [(&str, &str); 5] = [
    ("card", "Card"),
    ("cash", "Cash"),
    ("check", "Check"),
    ("bank", "Bank transfer"),
    ("other", "Other"),
];

/// What the page calls the document: its number, or what it is while a draft.
pub fn name(invoice: &InvoiceHead) -> String {
    match &invoice.number {
        Some(number) => number.clone(),
        None if invoice.is_credit_note() => "Credit note".to_owned(),
        None => "Draft invoice".to_owned(),
    }
}

pub fn page(viewer: &Viewer<'_>, p: &DocPage<'_, InvoiceView>) -> Markup {
    let inv = &p.view.head;
    let priced = &p.view.priced;
    let id = inv.id.as_str();
    let status = inv.status;
    let draft = status == InvoiceStatus::Draft;
    let version = inv.version;
    let credit_note = inv.is_credit_note();
    let title = name(inv);
    let manage = viewer.can(Permission::ManageRecords);
    let amount = |minor: i64| p.currency.format(minor);
    let totals = &priced.totals;
    let amounts = totals.lines.as_slice();
    // The panel shows an invoice as the one choice it is, with its deposit.
    let summary = OptionTotals {
        option: None,
        sums: totals.sums.clone(),
        deposit: priced.deposit,
    };
    let preview = format!("/api/v1/invoices/{id}/preview");
    let editing = manage && draft && !credit_note;
    let body = html! {
        div.page-head {
            h1 { (title) " " (badge(status.as_str())) }
            a.download href=(format!("/api/v1/invoices/{id}/pdf")) download { "Download PDF" }
        }
        div.split {
            div.primary {
                section.card {
                    dl.facts {
                        (party_facts(p.parties))
                        @if let Some(quote) = &inv.quote_id {
                            dt { "Quote" } dd { a href=(format!("/quotes/{quote}")) { "The accepted quote" } }
                        }
                        @if let Some(of) = &inv.credit_note_for {
                            dt { "Reverses" } dd { a href=(format!("/invoices/{of}")) { "The invoice it credits" } }
                        }
                        @if let Some(cn) = &inv.credit_note_id {
                            dt { "Credit note" } dd { a href=(format!("/invoices/{cn}")) { "The credit note reversing it" } }
                        }
                        @if let Some(at) = &inv.issued_at { dt { "Issued" } dd { (when_text(viewer, at)) } }
                        @if let Some(at) = &inv.due_at { dt { "Due" } dd { (when_text(viewer, at)) } }
                        @if let Some(at) = &inv.voided_at { dt { "Voided" } dd { (when_text(viewer, at)) } }
                        dt { "Payment terms" } dd { (inv.payment_terms_days) " days" }
                        dt { "Total" } dd.total { (amount(totals.sums.amounts.total)) }
                        @if !credit_note && !draft {
                            dt { "Paid" } dd { (amount(inv.paid)) }
                            @if inv.refunded > 0 { dt { "Refunded" } dd { (amount(inv.refunded)) } }
                            dt { "Balance" } dd.balance { (amount(inv.balance.unwrap_or(0))) }
                            @if let Some(due_now) = inv.due_now.filter(|d| *d > 0) { dt { "Due now" } dd.due-now { (amount(due_now)) } }
                        }
                    }
                }
                @if !editing {
                    section.card id="lines" {
                        h2 { "Lines" }
                        (lines::table(Kind::Invoice, p.currency, &priced.lines, amounts))
                        h3.totals-head { "Totals" }
                        (lines::totals_panel(p.currency, std::slice::from_ref(&summary)))
                        @if let Some(notes) = &priced.notes { h3 { "Notes" } p.pre { (notes) } }
                        @if let Some(terms) = &priced.terms { h3 { "Terms" } p.pre { (terms) } }
                    }
                }
                @if !draft && !credit_note {
                    section.card id="payments" {
                        h2 { "Payments" }
                        @if p.view.payments.is_empty() { p.muted { "No payments yet." } }
                        ul.rows {
                            @for pay in &p.view.payments {
                                li.payment {
                                    span.title {
                                        @if pay.is_refund() { "Refund " } @else { "Payment " }
                                        (amount(pay.amount))
                                    }
                                    span.meta {
                                        (label(&pay.method))
                                        @if let Some(r) = &pay.reference { " · " (r) }
                                        " · " (when_text(viewer, &pay.at))
                                        @if let Some(by) = &pay.recorded_by { " · " (p.people.name(by)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.secondary {
                @if manage && !credit_note {
                    section.card.doc-actions id="actions" aria-label="What to do with this invoice" {
                        h2 { "Next steps" }
                        (actions(p, id, status, version))
                    }
                }
                @let send_to = format!("/api/v1/invoices/{id}");
                @let shareable = !matches!(status, InvoiceStatus::Draft | InvoiceStatus::Void);
                (deliveries(viewer, p.deliveries, (manage && shareable).then_some(send_to.as_str()), "deliver-invoice"))
                (share_links(p.links, manage, viewer))
                (files::card(viewer, &format!("/api/v1/invoices/{id}"), manage, false))
                (timeline(viewer, p))
            }
        }
        @if editing {
            section.card id="edit" {
                h2 { "Edit invoice" }
                (api_form(
                    &Api::new("PATCH", &format!("/api/v1/invoices/{id}"), "reload")
                        .versioned(version)
                        .in_currency(p.currency)
                        .previewed(&preview),
                    "doc-editor invoice-editor",
                    html! {
                        (lines::editor(Kind::Invoice, p.currency, &priced.lines, amounts, p.default_tax_ppm))
                        div.row {
                            (field("Payment terms (days)", "payment_terms_days", html! {
                                input type="number" name="payment_terms_days" min="0" max="365" data-type="int"
                                    value=(inv.payment_terms_days);
                            }))
                            (field("Deposit asked up front", "deposit", html! {
                                input type="text" inputmode="decimal" name="deposit" data-type="money"
                                    value=(amount_input(p.currency, priced.deposit));
                            }))
                        }
                        (field("Notes for the customer", "notes", html! { textarea name="notes" rows="3" data-optional { (priced.notes.as_deref().unwrap_or_default()) } }))
                        (field("Terms", "terms", html! { textarea name="terms" rows="3" data-optional { (priced.terms.as_deref().unwrap_or_default()) } }))
                        h3.totals-head { "Totals" }
                        (lines::totals_panel(p.currency, std::slice::from_ref(&summary)))
                        (submit("Save invoice"))
                    },
                ))
            }
        }
    };
    shell(viewer, Section::Money, &title, body)
}

fn post(action: &str, version: i64, then: &str, class: &str, body: Markup) -> Markup {
    api_form(
        &Api::new("POST", action, then).versioned(version),
        class,
        body,
    )
}

fn payment_form(
    p: &DocPage<'_, InvoiceView>,
    id: &str,
    version: i64,
    kind: &str,
    suggested: i64,
) -> Markup {
    let refund = kind == "refund";
    html! {
        (api_form(
            &Api::new("POST", &format!("/api/v1/invoices/{id}/payments"), "reload")
                .versioned(version)
                .in_currency(p.currency),
            if refund { "record-refund" } else { "record-payment" },
            html! {
                input type="hidden" name="kind" value=(kind);
                div.row {
                    (field("Amount", "amount", html! {
                        input type="text" inputmode="decimal" name="amount" data-type="money"
                            value=(if suggested > 0 { amount_input(p.currency, suggested) } else { String::new() });
                    }))
                    (field("Method", "method", select("method", &METHODS, "card")))
                }
                (field("Reference", "reference", html! { input type="text" name="reference" maxlength="200" data-optional placeholder="Cheque number, transfer id…"; }))
                (submit(if refund { "Record refund" } else { "Record payment" }))
            },
        ))
    }
}

/// The moves this status allows, each one form.
fn actions(p: &DocPage<'_, InvoiceView>, id: &str, status: InvoiceStatus, version: i64) -> Markup {
    let inv = &p.view.head;
    let api = |step: &str| format!("/api/v1/invoices/{id}/{step}");
    let paid = inv.paid - inv.refunded;
    let due_now = inv.due_now.unwrap_or(0);
    html! {
        @match status {
            InvoiceStatus::Draft => {
                p.muted { "Save your changes, then issue: issuing gives the invoice its number and fixes it." }
                (post(&api("issue"), version, "reload", "issue-invoice", html! { (submit("Issue invoice")) }))
                (api_form(&Api::new("DELETE", &format!("/api/v1/invoices/{id}"), "go:/money").versioned(version),
                    "delete-invoice", html! { div.actions { button.secondary.danger type="submit" { "Delete draft" } } }))
            }
            InvoiceStatus::Void => { p.muted { "Void: its number stays used and nothing is owed." } }
            _ => {
                @if status != InvoiceStatus::Paid {
                    (share_form(&format!("/api/v1/invoices/{id}"), "share-invoice"))
                    details.pay open {
                        summary { "Record a payment" }
                        (payment_form(p, id, version, "payment", due_now))
                    }
                }
                @if paid > 0 {
                    details.refund {
                        summary { "Record a refund" }
                        (payment_form(p, id, version, "refund", 0))
                    }
                }
                @if paid == 0 {
                    (post(&api("void"), version, "reload", "void-invoice", html! {
                        div.actions { button.secondary.danger type="submit" { "Void invoice" } }
                    }))
                }
                @if status == InvoiceStatus::Paid && inv.credit_note_id.is_none() {
                    (post(&api("credit-note"), version, "go:/invoices/{id}", "credit-invoice", html! {
                        div.actions { button.secondary.danger type="submit" { "Reverse with a credit note" } }
                    }))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::permissions::Role;
    use crate::domain::money::Currency;
    use crate::views::money::golden;
    use crate::views::pages::tests::viewer;
    use crate::views::pages::People;

    fn render(role: Role, status: InvoiceStatus, paid: i64) -> String {
        let draft = status == InvoiceStatus::Draft;
        let mut row = golden::invoice_row("i1", "invoice", if draft { "draft" } else { "issued" });
        row.number = (!draft).then(|| "INV-0009".to_owned());
        let mut view = InvoiceView::new(&row, &[], golden::now()).expect("a view");
        view.head.version = 2;
        view.head.status = status;
        view.head.paid = paid;
        view.head.balance = Some(11_300 - paid);
        view.head.due_now = Some(11_300 - paid);
        let people = People(&[]);
        let page = DocPage {
            view: &view,
            currency: Currency::USD,
            default_tax_ppm: 0,
            parties: None,
            links: &[],
            deliveries: &[],
            timeline: &[],
            people: &people,
        };
        super::page(&viewer(role), &page).into_string()
    }

    #[test]
    fn a_draft_is_edited_and_issued_an_issued_one_is_paid_shared_or_voided() {
        let draft = render(Role::Owner, InvoiceStatus::Draft, 0);
        assert!(draft.contains("Draft invoice") && draft.contains("invoice-editor"));
        assert!(draft.contains("issue-invoice") && !draft.contains("record-payment"));
        let issued = render(Role::Owner, InvoiceStatus::Issued, 0);
        assert!(issued.contains("INV-0009") && !issued.contains("invoice-editor"));
        assert!(issued.contains("record-payment") && issued.contains("void-invoice"));
        assert!(
            issued.contains(r#"name="amount" data-type="money" value="113.00""#),
            "{issued}"
        );
        assert!(issued.contains(r#"data-exponent="2""#));
        assert!(
            !issued.contains("record-refund"),
            "nothing paid, nothing to refund"
        );
        let paid = render(Role::Owner, InvoiceStatus::Paid, 11_300);
        assert!(paid.contains("record-refund") && paid.contains("credit-invoice"));
        assert!(!paid.contains("void-invoice") && !paid.contains("record-payment"));
        assert!(!render(Role::Viewer, InvoiceStatus::Issued, 0).contains("<form"));
    }
}
