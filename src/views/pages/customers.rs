//! Customers: the searchable list, a customer with sites and jobs, and the forms that create
//! and change them.

use maud::{html, Markup};

use crate::db::customer_messages::MessageRow;
use crate::db::customers::{CustomerRow, SiteRow};
use crate::db::pages::JobLine;
use crate::domain::auth::permissions::Permission;
use crate::domain::messaging::MAX_SMS_REPLY_CHARS;
use crate::domain::personal::ErasurePlan;
use crate::views::customer_messages::delivery;
use crate::views::pages::files;
use crate::views::pages::forms::{
    api_form, field, field_hint, optional, select, submit, text, Api,
};
use crate::views::pages::jobs::address;
use crate::views::pages::money::{self, DocOwner};
use crate::views::pages::{encode_component, label, shell, when, when_text, Section, Viewer};

const CONTACT: [(&str, &str); 3] = [
    ("phone", "Phone"),
    ("sms", "Text message"),
    ("email", "Email"),
];

pub fn list(
    viewer: &Viewer<'_>,
    q: &str,
    customers: &[CustomerRow],
    next_cursor: Option<&str>,
) -> Markup {
    let body = html! {
        div.page-head {
            h1 { "Customers" }
            @if viewer.can(Permission::ManageRecords) {
                a.button href="/customers/new" { "New customer" }
            }
        }
        form.filters method="get" action="/customers" role="search" {
            label { span.label { "Search" }
                input type="search" name="q" value=(q) placeholder="Name, company, email or phone"; }
            button type="submit" { "Search" }
        }
        @if customers.is_empty() {
            p.muted { "No customers match." }
        } @else {
            ul.rows.customers {
                @for c in customers {
                    li {
                        a.title href=(format!("/customers/{}", c.id)) { (c.name) }
                        span.meta {
                            @if let Some(company) = &c.company { (company) " · " }
                            (c.emails().join(", "))
                            @if !c.phones().is_empty() { " · " (c.phones().join(", ")) }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next_cursor {
            p.more { a href=(format!("/customers?q={}&cursor={}", encode_component(q), encode_component(cursor))) { "More →" } }
        }
    };
    shell(viewer, Section::Customers, "Customers", body)
}

/// The customer's own fields, for creating (`None`) or editing one.
fn customer_fields(c: Option<&CustomerRow>) -> Markup {
    let emails = c.map(|c| c.emails().join(", ")).unwrap_or_default();
    let phones = c.map(|c| c.phones().join(", ")).unwrap_or_default();
    html! {
        (field("Name", "name", text("name", c.map_or("", |c| c.name.as_str()))))
        (field("Company", "company", optional("company", c.and_then(|c| c.company.as_deref()))))
        div.row {
            (field_hint("Email", "emails", html! {
                input type="text" name="emails" inputmode="email" value=(emails) data-type="list";
            }, "Several? Separate them with commas."))
            (field_hint("Phone", "phones", html! {
                input type="tel" name="phones" value=(phones) data-type="list";
            }, "With the country code, e.g. +1 212 555 0143."))
        }
        (field("Preferred contact", "preferred_contact",
            select("preferred_contact", &CONTACT, c.map_or("phone", |c| c.preferred_contact.as_str()))))
        (field("Notes", "notes", html! {
            textarea name="notes" rows="3" data-optional { (c.and_then(|c| c.notes.as_deref()).unwrap_or_default()) }
        }))
    }
}

/// A site's fields, empty for a new one or filled to edit `s`.
fn site_fields(s: Option<&SiteRow>) -> Markup {
    let opt = |f: fn(&SiteRow) -> Option<&str>| s.and_then(f);
    html! {
        (field("Street address", "line1", text("line1", s.map_or("", |s| s.line1.as_str()))))
        div.row {
            (field("City", "city", optional("city", opt(|s| s.city.as_deref()))))
            (field("Postal code", "postal_code", optional("postal_code", opt(|s| s.postal_code.as_deref()))))
        }
        div.row {
            (field("Label", "label", optional("label", opt(|s| s.label.as_deref()))))
            (field("Country (2 letters)", "country", optional("country", opt(|s| s.country.as_deref()))))
        }
        (field("Access notes", "access_notes", optional("access_notes", opt(|s| s.access_notes.as_deref()))))
        // The main site stays main until another is made main, so only others offer it.
        @if s.is_some_and(|s| s.is_primary == 0) {
            (field("Main site", "is_primary", html! {
                label.check { input type="checkbox" name="is_primary" data-type="bool"; " Make this the main site" }
            }))
        }
    }
}

pub fn new_customer(viewer: &Viewer<'_>) -> Markup {
    let body = html! {
        h1 { "New customer" }
        (api_form(&Api::new("POST", "/api/v1/customers", "go:/customers/{id}"), "new-customer card", html! {
            (customer_fields(None))
            (submit("Create customer"))
        }))
    };
    shell(viewer, Section::Customers, "New customer", body)
}

/// The customer's quotes and invoices (the API's list views), for those who see money.
pub struct Documents<'a> {
    pub quotes: &'a [crate::views::money::QuoteSummary],
    pub invoices: &'a [crate::views::money::InvoiceSummary],
    /// What erasing the customer would erase and keep (issued invoices), for those who may.
    pub erasure: Option<&'a ErasurePlan>,
}

/// The text conversation with the customer: newest first as read (shown oldest first), and
/// when the customer opted out of automatic texts.
pub struct Conversation<'a> {
    pub messages: &'a [MessageRow],
    pub sms_opted_out_at: Option<i64>,
}

/// The conversation and, for those who manage customers, the reply form.
fn conversation(viewer: &Viewer<'_>, c: &CustomerRow, talk: &Conversation<'_>) -> Markup {
    let reply = viewer.can(Permission::ManageRecords) && c.archived == 0;
    html! {
        section.card id="messages" {
            h2 { "Messages" }
            @if let Some(at) = talk.sms_opted_out_at {
                p.warning.opted-out {
                    "Opted out of automatic texts on " (when(viewer, at))
                    " (texted STOP). Reminders and other automatic texts are not sent; what you write here still is, unless the carrier blocks it."
                }
            }
            @if talk.messages.is_empty() {
                p.muted { "No texts yet. When the customer texts the company's number, it shows here." }
            }
            ol.conversation {
                @for m in talk.messages.iter().rev() {
                    li.(m.direction.as_str()) data-message=(m.id) {
                        p.body { (m.body) }
                        span.meta {
                            @if m.direction == "in" {
                                (c.name)
                                @if m.read_at.is_none() { " " span.badge.unread { "New" } }
                            } @else {
                                @if m.channel == "email" { "Email · " }
                                (m.author_name.as_deref().unwrap_or("Automatic"))
                                @let shown = delivery(m);
                                " " span.badge.(shown.status) data-delivery=(shown.status) { (label(shown.status)) }
                                @if let Some(reason) = &shown.reason { " " span.reason { (reason) } }
                            }
                            " · " (when(viewer, m.created_at))
                            @if let Some(address) = &m.address { " · " (address) }
                        }
                    }
                }
            }
            @if reply {
                (api_form(&Api::new("POST", &format!("/api/v1/customers/{}/messages", c.id), "reload"),
                    "reply", html! {
                        (field("Reply by text", "body", html! {
                            textarea name="body" rows="3" maxlength=(MAX_SMS_REPLY_CHARS) {}
                        }))
                        (submit("Send text"))
                    }))
            }
        }
    }
}

pub fn page(
    viewer: &Viewer<'_>,
    c: &CustomerRow,
    sites: &[SiteRow],
    jobs: &[JobLine],
    documents: &Documents<'_>,
    talk: &Conversation<'_>,
) -> Markup {
    let manage = viewer.can(Permission::ManageRecords);
    let body = html! {
        div.page-head {
            h1 { (c.name) @if c.archived == 1 { " " span.badge.cancelled { "Archived" } } }
            @if manage && !sites.is_empty() && c.archived == 0 {
                a.button href=(format!("/jobs/new?customer={}", encode_component(&c.id))) { "New job" }
            }
        }
        @if c.archived == 1 {
            p.notice { "This customer is archived: kept with its history, no longer changed or given new work." }
        }
        div.split {
            div.primary {
                section.card {
                    dl.facts {
                        @if let Some(company) = &c.company { dt { "Company" } dd { (company) } }
                        dt { "Email" } dd { (c.emails().join(", ")) }
                        dt { "Phone" } dd { (c.phones().join(", ")) }
                        dt { "Prefers" } dd { (label(&c.preferred_contact)) }
                        @if let Some(notes) = &c.notes { dt { "Notes" } dd.pre { (notes) } }
                    }
                }
                section.card id="sites" {
                    h2 { "Sites" }
                    @if sites.is_empty() {
                        p.warning { "No site yet. A job happens at a site: add one." }
                    }
                    ul.rows {
                        @for s in sites {
                            li data-site=(s.id) {
                                span.title { (address(s)) @if s.is_primary == 1 { " " span.badge { "Main" } } }
                                @if let Some(n) = &s.access_notes { span.meta { (n) } }
                                @if manage && c.archived == 0 {
                                    details.move {
                                        summary { "Edit site" }
                                        (api_form(&Api::new("PATCH", &format!("/api/v1/sites/{}", s.id), "reload").versioned(s.version),
                                            "edit-site", html! { (site_fields(Some(s))) (submit("Save site")) }))
                                    }
                                }
                            }
                        }
                    }
                    @if manage && c.archived == 0 {
                        details.add open[sites.is_empty()] {
                            summary { "Add a site" }
                            (api_form(&Api::new("POST", &format!("/api/v1/customers/{}/sites", c.id), "reload"),
                                "add-site", html! { (site_fields(None)) (submit("Add site")) }))
                        }
                    }
                }
                section.card id="jobs" {
                    h2 { "Jobs" }
                    @if jobs.is_empty() { p.muted { "No jobs yet." } }
                    ul.rows {
                        @for j in jobs {
                            li { a.title href=(format!("/jobs/{}", j.id)) { "#" (j.number) " " (j.title) }
                                span.meta { span.badge.(j.status.as_str()) { (label(&j.status)) } " " (when_text(viewer, &j.created_at)) } }
                        }
                    }
                }
                (conversation(viewer, c, talk))
                @if viewer.can(Permission::ViewMoney) {
                    (money::documents(viewer, &DocOwner::Customer { id: &c.id, archived: c.archived == 1 },
                        documents.quotes, documents.invoices))
                }
                (files::card(viewer, &format!("/api/v1/customers/{}", c.id), manage && c.archived == 0, false))
            }
            div.secondary {
                @if manage && c.archived == 0 {
                    section.card id="edit" {
                        h2 { "Edit customer" }
                        (api_form(&Api::new("PATCH", &format!("/api/v1/customers/{}", c.id), "reload").versioned(c.version),
                            "edit-customer", html! { (customer_fields(Some(c))) (submit("Save changes")) }))
                    }
                    section.card id="archive" {
                        h2 { "Archive" }
                        details.delete {
                            summary { "Archive this customer" }
                            (api_form(&Api::new("DELETE", &format!("/api/v1/customers/{}", c.id), "reload")
                                    .versioned(c.version).showing("name emails phones"),
                                "archive-customer", html! {
                                    p { "Archiving keeps the customer, their sites and jobs for the record; they can no longer be edited or given new jobs." }
                                    div.actions { button.danger type="submit" { "Archive customer" } }
                                }))
                        }
                    }
                }
                @if let (Some(plan), None) = (documents.erasure, c.erased_at) {
                    (erase_card(c, plan))
                }
            }
        }
    };
    shell(viewer, Section::Customers, &c.name, body)
}

/// Erasing the customer's personal data: what goes now, what the law keeps and until when,
/// said before the owner confirms.
fn erase_card(c: &CustomerRow, plan: &ErasurePlan) -> Markup {
    html! {
        section.card id="erase" {
            h2 { "Personal data" }
            details.delete {
                summary { "Erase this customer's personal data" }
                p { "Erased at once, everywhere (records, the audit trail, later exports); this cannot be undone:" }
                ul { @for item in &plan.erased { li { (item) } } }
                @if let Some(until) = &plan.kept_until {
                    p { "Kept because the law requires it, until " strong { (until) } ", then deleted:" }
                    ul { @for item in &plan.kept { li { (item) } } }
                } @else {
                    p { "Nothing is kept (no issued invoice the law requires keeping)." }
                }
                (api_form(&Api::new("POST", &format!("/api/v1/customers/{}/erase", c.id), "reload")
                        .versioned(c.version),
                    "erase-customer", html! {
                        div.actions { button.danger type="submit" { "Erase personal data" } }
                    }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::permissions::Role;
    use crate::views::pages::tests::viewer;

    const NONE: Documents<'static> = Documents {
        quotes: &[],
        invoices: &[],
        erasure: None,
    };
    const QUIET: Conversation<'static> = Conversation {
        messages: &[],
        sms_opted_out_at: None,
    };

    fn customer() -> CustomerRow {
        CustomerRow {
            id: "c-1".into(),
            name: "Ada <Lovelace>".into(),
            company: None,
            emails: r#"["ada@example.com"]"#.into(),
            phones: "[]".into(),
            tags: "[]".into(),
            notes: None,
            preferred_contact: "email".into(),
            archived: 0,
            version: 4,
            created_at: "2026-11-20T10:00:00.000Z".into(),
            updated_at: "2026-11-20T10:00:00.000Z".into(),
            erased_at: None,
        }
    }

    #[test]
    fn a_customer_without_a_site_asks_for_one_and_offers_no_job_yet() {
        let html = page(&viewer(Role::Owner), &customer(), &[], &[], &NONE, &QUIET).into_string();
        assert!(html.contains("Ada &lt;Lovelace&gt;"));
        assert!(html.contains("/api/v1/customers/c-1/sites"));
        assert!(!html.contains("/jobs/new?customer"));
        assert!(html.contains(r#"value="ada@example.com""#));
        assert!(html.contains(r#"data-version="4""#));
    }

    fn site(id: &str, primary: bool) -> SiteRow {
        SiteRow {
            id: id.into(),
            customer_id: "c-1".into(),
            label: None,
            line1: "1 Main <St>".into(),
            line2: None,
            city: Some("Toronto".into()),
            region: None,
            postal_code: None,
            country: None,
            access_notes: None,
            is_primary: i64::from(primary),
            version: 3,
            created_at: "2026-11-20T10:00:00.000Z".into(),
            updated_at: "2026-11-20T10:00:00.000Z".into(),
        }
    }

    #[test]
    fn owners_are_told_what_an_erasure_keeps_before_they_confirm_it() {
        let plan = crate::domain::personal::erasure_plan(
            &[("INV-0012".into(), "2026-03-01T00:00:00Z".into())],
            7,
        );
        let documents = Documents {
            erasure: Some(&plan),
            ..NONE
        };
        let html = page(
            &viewer(Role::Owner),
            &customer(),
            &[],
            &[],
            &documents,
            &QUIET,
        )
        .into_string();
        assert!(html.contains("Erase personal data"), "{html}");
        assert!(
            html.contains("2033-03-01") && html.contains("INV-0012"),
            "{html}"
        );
        let without =
            page(&viewer(Role::Owner), &customer(), &[], &[], &NONE, &QUIET).into_string();
        assert!(!without.contains("Erase personal data"));
    }

    #[test]
    fn managers_edit_each_site_and_archive_the_customer_until_it_is_archived() {
        let sites = [site("s-1", true), site("s-2", false)];
        let html = page(
            &viewer(Role::Dispatcher),
            &customer(),
            &sites,
            &[],
            &NONE,
            &QUIET,
        )
        .into_string();
        assert!(
            html.contains(r#"data-action="/api/v1/sites/s-1""#),
            "{html}"
        );
        assert!(html.contains(r#"data-action="/api/v1/sites/s-2""#));
        assert!(html.contains(r#"value="1 Main &lt;St&gt;""#));
        assert!(html.contains(r#"value="Toronto""#));
        assert_eq!(
            html.matches(r#"name="is_primary""#).count(),
            1,
            "only the other site"
        );
        assert!(html.contains(r#"data-method="DELETE" data-action="/api/v1/customers/c-1""#));
        let archived = CustomerRow {
            archived: 1,
            ..customer()
        };
        let html = page(&viewer(Role::Owner), &archived, &sites, &[], &NONE, &QUIET).into_string();
        assert!(html.contains("Archived"));
        assert!(html.contains("is archived"));
        assert!(!html.contains("data-action"), "read-only once archived");
    }

    #[test]
    fn viewers_and_technicians_get_no_forms_and_no_new_buttons() {
        for role in [Role::Viewer, Role::Technician] {
            let html = page(
                &viewer(role),
                &customer(),
                &[site("s-1", true)],
                &[],
                &NONE,
                &QUIET,
            )
            .into_string();
            assert!(!html.contains("data-action"), "{role:?}");
            let html = list(&viewer(role), "", &[customer()], None).into_string();
            assert!(!html.contains("New customer"), "{role:?}");
        }
        let html = list(&viewer(Role::Dispatcher), "a&b", &[customer()], Some("cur")).into_string();
        assert!(html.contains("New customer"));
        assert!(html.contains("/customers?q=a%26b&amp;cursor=cur"), "{html}");
    }

    fn message(id: &str, direction: &str, body: &str, read: bool) -> MessageRow {
        MessageRow {
            id: id.into(),
            customer_id: "c-1".into(),
            direction: direction.into(),
            channel: "sms".into(),
            body: body.into(),
            address: Some("+14155550123".into()),
            author_id: (direction == "out").then(|| "u-1".into()),
            author_name: (direction == "out").then(|| "Dana".into()),
            created_at: 1_767_225_600_000,
            read_at: read.then_some(1_767_225_700_000),
            outbox_status: (direction == "out").then(|| "sent".into()),
            outbox_error: None,
            delivery: (direction == "out").then(|| "undelivered".into()),
            delivery_error: (direction == "out").then(|| "30003".into()),
        }
    }

    #[test]
    fn the_conversation_reads_oldest_first_with_each_replys_delivery_and_a_reply_form() {
        // As read: newest first.
        let messages = [
            message("m-2", "out", "Thursday at 9?", true),
            message("m-1", "in", "Is the <boiler> part in?", false),
        ];
        let talk = Conversation {
            messages: &messages,
            sms_opted_out_at: Some(1_767_225_600_000),
        };
        let html = page(
            &viewer(Role::Dispatcher),
            &customer(),
            &[],
            &[],
            &NONE,
            &talk,
        )
        .into_string();
        let first = html
            .find("Is the &lt;boiler&gt; part in?")
            .expect("the text");
        let second = html.find("Thursday at 9?").expect("the reply");
        assert!(first < second, "oldest first");
        assert!(html.contains(r#"data-delivery="failed""#), "{html}");
        assert!(html.contains("the phone is off or unreachable (Twilio error 30003)"));
        assert!(html.contains("New"));
        assert!(html.contains("Opted out of automatic texts"));
        assert!(html.contains(r#"data-action="/api/v1/customers/c-1/messages""#));
        let viewer_html =
            page(&viewer(Role::Viewer), &customer(), &[], &[], &NONE, &talk).into_string();
        assert!(viewer_html.contains("Thursday at 9?"));
        assert!(!viewer_html.contains("data-action"), "viewers do not reply");
    }
}
