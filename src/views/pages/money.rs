//! Quotes and invoices at a glance: the newest of each with their status and amounts, for the
//! roles that see money. Documents are written through the API (and their customers answer
//! them through share links); this page is the office's overview.

use crate::db::customers::CustomerRow;
use crate::db::messages::DeliveryRow;
use crate::db::pages::DocParties;
use crate::db::share_links::ShareLinkRow;
use crate::domain::audit::{Action, AuditRow};
use crate::domain::auth::permissions::Permission;
use crate::domain::money::Currency;
use crate::domain::quotes::Deposit;
use crate::views::money::{InvoiceSummary, QuoteSummary};
use crate::views::pages::forms::{api_form, field, submit, Api};
use crate::views::pages::jobs::actor;
use crate::views::pages::lines::{amount_input, decimal};
use crate::views::pages::{label, shell, when_text, People, Section, Viewer};
use maud::{html, Markup};

/// `minor` in the document's currency (a stored code), or a dash for one we cannot show.
fn amount(currency: &str, minor: i64) -> String {
    Currency::parse(currency).map_or_else(|_| "—".to_owned(), |c| c.format(minor))
}

fn status(text: &str) -> String {
    text.replace('_', " ")
}

/// Everything a quote's or invoice's page shows, read in one batch; `V` is the document as
/// the API shows it (`views::money::QuoteView` / `InvoiceView`).
pub struct DocPage<'a, V> {
    pub view: &'a V,
    pub currency: Currency,
    /// The company's tax rate, for new lines.
    pub default_tax_ppm: i64,
    pub parties: Option<&'a DocParties>,
    pub links: &'a [ShareLinkRow],
    /// Its deliveries to the customer (email, SMS), oldest first.
    pub deliveries: &'a [DeliveryRow],
    pub timeline: &'a [AuditRow],
    pub people: &'a People<'a>,
}

impl<'a> DocPage<'a, ()> {
    /// The page of `view`: the parts beside the document are gathered once, for either kind.
    pub fn showing<V>(self, view: &'a V) -> DocPage<'a, V> {
        DocPage {
            view,
            currency: self.currency,
            default_tax_ppm: self.default_tax_ppm,
            parties: self.parties,
            links: self.links,
            deliveries: self.deliveries,
            timeline: self.timeline,
            people: self.people,
        }
    }
}

/// A document's timeline, newest first.
pub fn timeline<V>(viewer: &Viewer<'_>, p: &DocPage<'_, V>) -> Markup {
    html! {
        section.card id="timeline" {
            h2 { "Timeline" }
            ol.timeline {
                @for row in p.timeline {
                    li {
                        span.when { (when_text(viewer, &row.at)) }
                        " " span.what { (timeline_text(row)) }
                        " " span.who { (actor(p.people, row)) }
                    }
                }
            }
        }
    }
}

/// The button that makes a share link for the document at `api` (`/api/v1/quotes/{id}`),
/// and where the link appears, once.
pub fn share_form(api: &str, class: &str) -> Markup {
    api_form(
        &Api::new("POST", &format!("{api}/share"), "show:url"),
        class,
        html! {
            div.actions { button type="submit" { "Make a share link" } }
            div.output data-output="url" hidden {
                p { "Send this link to the customer (it is shown once):" }
                code {}
            }
        },
    )
}

/// A document's status as a badge.
pub fn badge(status: &str) -> Markup {
    html! { span.badge.(status) { (label(status)) } }
}

/// A deposit as the editor shows it: `25%`, an amount, or nothing.
pub fn deposit_input(currency: Currency, deposit: Option<Deposit>) -> String {
    match deposit {
        Some(Deposit::PercentPpm(ppm)) => format!("{}%", decimal(ppm, 4)),
        Some(Deposit::Amount(minor)) => amount_input(currency, minor),
        None => String::new(),
    }
}

/// Who a document is for and what it is about, as facts.
pub fn party_facts(parties: Option<&DocParties>) -> Markup {
    html! {
        @if let Some(d) = parties {
            dt { "Customer" } dd { a href=(format!("/customers/{}", d.customer_id)) { (d.customer_name) } }
            @if let Some(line1) = &d.site_line1 {
                dt { "Site" } dd { (line1) @if let Some(city) = &d.site_city { ", " (city) } }
            }
            @if let (Some(job), Some(number)) = (&d.job_id, d.job_number) {
                dt { "Job" } dd { a href=(format!("/jobs/{job}")) { "#" (number) " " (d.job_title.as_deref().unwrap_or_default()) } }
            }
        }
    }
}

/// One line of a document's timeline.
pub fn timeline_text(row: &AuditRow) -> String {
    match Action::parse(&row.action) {
        Some(Action::InvoicePaymentRecorded) => "Payment recorded".to_owned(),
        Some(Action::InvoiceRefundRecorded) => "Refund recorded".to_owned(),
        Some(Action::InvoiceCredited) => "Reversed by a credit note".to_owned(),
        Some(Action::QuoteViewed) => "Opened by the customer".to_owned(),
        _ => label(row.action.rsplit('.').next().unwrap_or(&row.action)),
    }
}

/// Sending the document to its customer (record managers, once it can be shared) and how
/// each delivery went: queued, sent, delivered, failed with the provider's reason, unknown.
pub fn deliveries(
    viewer: &Viewer<'_>,
    rows: &[DeliveryRow],
    send_to: Option<&str>,
    class: &str,
) -> Markup {
    html! {
        @if send_to.is_some() || !rows.is_empty() {
            section.card id="deliveries" {
                h2 { "Sent to the customer" }
                @if let Some(api) = send_to {
                    (api_form(&Api::new("POST", &format!("{api}/deliveries"), "reload"), class, html! {
                        (field("Send by", "via", html! {
                            select name="via" {
                                option value="preferred" selected { "Their preferred contact" }
                                option value="email" { "Email" }
                                option value="sms" { "Text message (SMS)" }
                                option value="both" { "Email and text message" }
                            }
                        }))
                        (submit("Send to customer"))
                    }))
                }
                @if !rows.is_empty() {
                    ul.rows {
                        @for row in rows {
                            li data-delivery=(row.id) {
                                span.title { (if row.channel == "sms" { "Text to " } else { "Email to " }) (row.recipient) }
                                span.meta {
                                    (delivery_status(row))
                                    " · " (when_text(viewer, &crate::domain::time::Millis::from_ms(row.created_at).to_rfc3339()))
                                    @if let Some(kind) = &row.template { " · automatic (" (label(kind)) ")" }
                                }
                                @if let Some(error) = row.delivery_error.as_ref().or(row.error.as_ref()) {
                                    span.meta.error { (error) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Where a delivery stands, in words.
pub fn delivery_status(row: &DeliveryRow) -> &'static str {
    match (row.status.as_str(), row.delivery.as_deref()) {
        ("sent", Some("delivered")) => "Delivered",
        ("sent", Some("undelivered" | "failed")) => "Not delivered",
        ("sent", _) => "Sent",
        ("queued", _) if row.attempts > 0 => "Retrying",
        ("queued", _) => "Waiting to send",
        ("sending", _) => "Sending",
        ("failed", _) => "Failed",
        _ => "Outcome unknown: check with the customer before sending again",
    }
}

/// The links made for a document, newest first; record managers may revoke the live ones.
pub fn share_links(links: &[ShareLinkRow], manage: bool, viewer: &Viewer<'_>) -> Markup {
    html! {
        @if !links.is_empty() {
            section.card id="share-links" {
                h2 { "Share links" }
                ul.rows {
                    @for link in links {
                        li data-share-link=(link.id) {
                            span.title { "Made " (when_text(viewer, &link.created_at)) }
                            span.meta {
                                @if let Some(revoked) = &link.revoked_at {
                                    "Revoked " (when_text(viewer, revoked))
                                } @else {
                                    "Expires " (when_text(viewer, &link.expires_at))
                                }
                                @if let Some(used) = &link.last_used_at { " · last opened " (when_text(viewer, used)) }
                            }
                            @if manage && link.revoked_at.is_none() {
                                (api_form(&Api::new("DELETE", &format!("/api/v1/share-links/{}", link.id), "reload").versioned(link.version),
                                    "inline revoke-link", html! { button.secondary.danger type="submit" { "Revoke" } }))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whose quotes and invoices a card lists, and so what new ones are started for.
pub enum DocOwner<'a> {
    /// A job: new documents are for it (its customer and site), the quote titled as the job;
    /// nothing new when its customer is archived.
    Job {
        id: &'a str,
        title: &'a str,
        archived: bool,
    },
    /// A customer: a new quote asks for its title; nothing new for an archived customer.
    Customer { id: &'a str, archived: bool },
}

/// A job's or customer's quotes and invoices (the API's list views), and for record managers
/// the forms that start one.
pub fn documents(
    viewer: &Viewer<'_>,
    owner: &DocOwner<'_>,
    quotes: &[QuoteSummary],
    invoices: &[InvoiceSummary],
) -> Markup {
    let (field_name, id, of) = match owner {
        DocOwner::Job { id, .. } => ("job_id", *id, "job"),
        DocOwner::Customer { id, .. } => ("customer_id", *id, "customer"),
    };
    let archived = match owner {
        DocOwner::Job { archived, .. } | DocOwner::Customer { archived, .. } => *archived,
    };
    let can_start = viewer.can(Permission::ManageRecords) && !archived;
    html! {
        section.card id="documents" {
            h2 { "Quotes and invoices" }
            @if quotes.is_empty() && invoices.is_empty() { p.muted { "None for this " (of) " yet." } }
            ul.rows {
                @for q in quotes.iter().map(|q| &q.head) {
                    li {
                        a.title href=(format!("/quotes/{}", q.id)) {
                            "Q-" (format!("{:04}", q.number)) " " (q.title)
                        }
                        span.meta { (status(q.status.as_str())) }
                    }
                }
                @for i in invoices {
                    li {
                        a.title href=(format!("/invoices/{}", i.head.id)) {
                            (i.head.number.as_deref().unwrap_or("Draft invoice"))
                        }
                        span.meta { (status(i.head.status.as_str())) " · total " (amount(&i.head.currency, i.totals.total)) }
                    }
                }
            }
            @if can_start {
                @match owner {
                    DocOwner::Job { title, .. } => {
                        div.actions {
                            (api_form(&Api::new("POST", "/api/v1/quotes", "go:/quotes/{id}"), "inline new-job-quote", html! {
                                input type="hidden" name=(field_name) value=(id);
                                input type="hidden" name="title" value=(title);
                                button.secondary type="submit" { "New quote" }
                            }))
                            (api_form(&Api::new("POST", "/api/v1/invoices", "go:/invoices/{id}"), "inline new-job-invoice", html! {
                                input type="hidden" name=(field_name) value=(id);
                                button.secondary type="submit" { "New invoice" }
                            }))
                        }
                    }
                    DocOwner::Customer { .. } => {
                        details.add {
                            summary { "New quote" }
                            (api_form(&Api::new("POST", "/api/v1/quotes", "go:/quotes/{id}"), "new-customer-quote", html! {
                                input type="hidden" name=(field_name) value=(id);
                                (field("Title", "title", html! { input type="text" name="title" maxlength="200"; }))
                                (submit("Start quote"))
                            }))
                        }
                        (api_form(&Api::new("POST", "/api/v1/invoices", "go:/invoices/{id}"), "inline new-customer-invoice", html! {
                            input type="hidden" name=(field_name) value=(id);
                            div.actions { button.secondary type="submit" { "New invoice" } }
                        }))
                    }
                }
            }
        }
    }
}

fn customer_choice(customers: &[CustomerRow]) -> Markup {
    html! {
        select name="customer_id" {
            option value="" { "Choose a customer" }
            @for c in customers { option value=(c.id) { (c.name) } }
        }
    }
}

/// `quotes` and `invoices` are the API's list views (`quote_summary`, `invoice_summary`);
/// `customers` are those a new document may be for.
pub fn overview(
    viewer: &Viewer<'_>,
    quotes: &[QuoteSummary],
    invoices: &[InvoiceSummary],
    customers: &[CustomerRow],
) -> Markup {
    let body = html! {
        div.page-head { h1 { "Quotes and invoices" } }
        @if viewer.can(Permission::ManageRecords) {
            div.split {
                details.add.card {
                    summary { "New quote" }
                    (api_form(&Api::new("POST", "/api/v1/quotes", "go:/quotes/{id}"), "new-quote", html! {
                        (field("Customer", "customer_id", customer_choice(customers)))
                        (field("Title", "title", html! { input type="text" name="title" maxlength="200"; }))
                        (submit("Start quote"))
                    }))
                }
                details.add.card {
                    summary { "New invoice" }
                    (api_form(&Api::new("POST", "/api/v1/invoices", "go:/invoices/{id}"), "new-invoice", html! {
                        (field("Customer", "customer_id", customer_choice(customers)))
                        (submit("Start invoice"))
                    }))
                }
            }
        }
        section.card {
            h2 { "Quotes" }
            @if quotes.is_empty() {
                p.muted { "No quotes yet." }
            } @else {
                ul.rows.quotes {
                    @for QuoteSummary { head: q, totals } in quotes {
                        li {
                            a.title href=(format!("/quotes/{}", q.id)) {
                                "Q-" (format!("{:04}", q.number)) " " (q.title)
                            }
                            span.meta {
                                (status(q.status.as_str()))
                                @if let Some((total, accepted)) = q.acceptance.as_ref().and_then(|a| Some((a.total?, a))) {
                                    " · accepted " (amount(&q.currency, total))
                                    @if let Some(signer) = &accepted.signer_name { " by " (signer) }
                                } @else if !totals.options().is_empty() {
                                    " ·"
                                    @for (i, option) in totals.options().iter().enumerate() {
                                        @if i > 0 { " /" }
                                        " " @if let Some(name) = &option.option { (name) " " }
                                        (amount(&q.currency, option.sums.amounts.total))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Invoices" }
            @if invoices.is_empty() {
                p.muted { "No invoices yet." }
            } @else {
                ul.rows.invoices {
                    @for InvoiceSummary { head: i, totals, .. } in invoices {
                        li {
                            a.title href=(format!("/invoices/{}", i.id)) {
                                (i.number.as_deref().unwrap_or("Draft invoice"))
                            }
                            span.meta {
                                (status(i.status.as_str())) " · total " (amount(&i.currency, totals.total))
                                @if let Some(balance) = i.balance.filter(|b| *b > 0) {
                                    " · balance " (amount(&i.currency, balance))
                                }
                                @if let Some(due) = &i.due_at { " · due " (due.get(..10).unwrap_or(due)) }
                            }
                        }
                    }
                }
            }
        }
    };
    shell(viewer, Section::Money, "Quotes and invoices", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::permissions::Role;
    use crate::domain::invoices::InvoiceStatus;
    use crate::domain::quotes::QuoteStatus;
    use crate::views::money::golden;
    use crate::views::pages::FixedOffset;

    #[test]
    fn documents_show_their_numbers_statuses_and_amounts_escaped() {
        let local = FixedOffset(0);
        let viewer = Viewer {
            user_id: "u",
            name: "Dana",
            role: Role::Owner,
            csrf: "c",
            company: "Acme",
            zone: "UTC",
            local: &local,
            unread: 0,
            support: None,
            deletion: None,
        };
        // Sent; Good and Best.
        let mut quote =
            QuoteSummary::new(&golden::expired_quote(), golden::now()).expect("a summary");
        quote.head.title = "<b>Boiler</b>".into();
        quote.head.status = QuoteStatus::Sent;
        let (row, _) = golden::issued_invoice();
        let mut invoice = InvoiceSummary::new(&row, golden::now()).expect("a summary");
        invoice.head.status = InvoiceStatus::PartiallyPaid;
        invoice.head.due_at = Some("2026-12-24T00:00:00.000Z".into());
        let (quotes, invoices) = ([quote], [invoice]);
        let html = overview(&viewer, &quotes, &invoices, &[]).into_string();
        assert!(html.contains("Q-0007 &lt;b&gt;Boiler&lt;/b&gt;"), "{html}");
        assert!(
            html.contains("sent · Good USD 114.45 / Best USD 294.82"),
            "{html}"
        );
        assert!(html.contains("INV-0009"));
        assert!(
            html.contains(
                "partially paid · total USD 268.00 · balance USD 168.00 · due 2026-12-24"
            ),
            "{html}"
        );
    }

    #[test]
    fn a_customers_documents_start_new_ones_only_for_managers_and_live_customers() {
        let local = FixedOffset(0);
        let viewer = |role| Viewer {
            user_id: "u",
            name: "Dana",
            role,
            csrf: "c",
            company: "Acme",
            zone: "UTC",
            local: &local,
            unread: 0,
            support: None,
            deletion: None,
        };
        let mut quote =
            QuoteSummary::new(&golden::draft_quote(), golden::now()).expect("a summary");
        quote.head.number = 3;
        quote.head.title = "Boiler".into();
        let quotes = [quote];
        let live = DocOwner::Customer {
            id: "c1",
            archived: false,
        };
        let html = documents(&viewer(Role::Dispatcher), &live, &quotes, &[]).into_string();
        assert!(html.contains(r#"href="/quotes/q1""#) && html.contains("Q-0003 Boiler"));
        assert!(
            html.contains("new-customer-quote")
                && html.contains(r#"name="customer_id" value="c1""#)
        );
        let archived = DocOwner::Customer {
            id: "c1",
            archived: true,
        };
        let html = documents(&viewer(Role::Owner), &archived, &quotes, &[]).into_string();
        assert!(!html.contains("<form"), "{html}");
        let html = documents(&viewer(Role::Viewer), &live, &[], &[]).into_string();
        assert!(html.contains("None for this customer yet.") && !html.contains("<form"));
    }
}
