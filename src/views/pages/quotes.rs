//! A quote's page: what it says and costs per option, who it is for, the moves its status
//! allows (send, share, record the customer's answer, revise, convert), the editor while it is
//! a draft, its share links and its timeline. Only record managers see the controls; the API
//! refuses the others anyway.

use maud::{html, Markup};

use crate::domain::auth::permissions::Permission;
use crate::domain::money::Line;
use crate::domain::quotes::QuoteStatus;
use crate::views::money::{QuoteHead, QuoteView};
use crate::views::pages::files;
use crate::views::pages::forms::{api_form, field, submit, Api};
use crate::views::pages::lines::{self, Kind};
use crate::views::pages::money::{
    badge, deliveries, deposit_input, party_facts, share_form, share_links, timeline, DocPage,
};
use crate::views::pages::{shell, when_text, Section, Viewer};

pub fn number(quote: &QuoteHead) -> String {
    crate::domain::quotes::number_text(quote.number)
}

pub fn page(viewer: &Viewer<'_>, p: &DocPage<'_, QuoteView>) -> Markup {
    let q = &p.view.head;
    let priced = &p.view.priced;
    let id = q.id.as_str();
    let status = q.status;
    let version = q.version;
    let title = format!("{} {}", number(q), q.title);
    let manage = viewer.can(Permission::ManageRecords);
    let editing = manage && status == QuoteStatus::Draft;
    let totals = priced.totals.as_slice();
    let amounts = priced.line_amounts.as_slice();
    let preview = format!("/api/v1/quotes/{id}/preview");
    let body = html! {
        div.page-head {
            h1 { (title) " " (badge(status.as_str())) }
            a.download href=(format!("/api/v1/quotes/{id}/pdf")) download { "Download PDF" }
        }
        div.split {
            div.primary {
                section.card {
                    dl.facts {
                        (party_facts(p.parties))
                        dt { "Valid until" } dd { (when_text(viewer, &q.valid_until)) }
                        @if let Some(sent) = &q.sent_at { dt { "Sent" } dd { (when_text(viewer, sent)) } }
                        @if let Some(a) = &q.acceptance {
                            dt { "Accepted" }
                            dd.accepted {
                                (a.signer_name.as_deref().unwrap_or_default())
                                @if let Some(option) = &a.option { " chose " (option) }
                                ", " (p.currency.format(a.total.unwrap_or(0)))
                                " · " (when_text(viewer, &a.accepted_at))
                            }
                        }
                        @if let Some(invoice) = &q.invoice_id {
                            dt { "Invoice" } dd { a href=(format!("/invoices/{invoice}")) { "Draft invoice from this quote" } }
                        }
                    }
                }
                @if !editing {
                    section.card id="lines" {
                        h2 { "Lines" }
                        (lines::table(Kind::Quote, p.currency, &priced.lines, amounts))
                        h3.totals-head { "Totals" }
                        (lines::totals_panel(p.currency, totals))
                        @if let Some(notes) = &priced.notes { h3 { "Notes" } p.pre { (notes) } }
                        @if let Some(terms) = &priced.terms { h3 { "Terms" } p.pre { (terms) } }
                    }
                }
            }
            div.secondary {
                @if manage {
                    section.card.doc-actions id="actions" aria-label="What to do with this quote" {
                        h2 { "Next steps" }
                        (actions(p, id, status, version))
                    }
                }
                @let shareable = matches!(status, QuoteStatus::Sent | QuoteStatus::Viewed | QuoteStatus::Accepted);
                @let send_to = format!("/api/v1/quotes/{id}");
                (deliveries(viewer, p.deliveries, (manage && shareable).then_some(send_to.as_str()), "deliver-quote"))
                (share_links(p.links, manage, viewer))
                (files::card(viewer, &format!("/api/v1/quotes/{id}"), manage, false))
                (timeline(viewer, p))
            }
        }
        @if editing {
            section.card id="edit" {
                h2 { "Edit quote" }
                (api_form(
                    &Api::new("PATCH", &format!("/api/v1/quotes/{id}"), "reload")
                        .versioned(version)
                        .in_currency(p.currency)
                        .previewed(&preview),
                    "doc-editor quote-editor",
                    html! {
                        (field("Title", "title", html! { input type="text" name="title" maxlength="200" value=(q.title); }))
                        (lines::editor(Kind::Quote, p.currency, &priced.lines, amounts, p.default_tax_ppm))
                        div.row {
                            (field("Valid until", "valid_until", html! {
                                input type="datetime-local" name="valid_until" data-type="instant"
                                    value=(local_input(viewer, &q.valid_until));
                            }))
                            (field("Deposit", "deposit", html! {
                                input type="text" name="deposit" data-type="deposit" placeholder="25% or 100.00"
                                    value=(deposit_input(p.currency, priced.deposit));
                            }))
                        }
                        (field("Notes for the customer", "notes", html! { textarea name="notes" rows="3" data-optional { (priced.notes.as_deref().unwrap_or_default()) } }))
                        (field("Terms", "terms", html! { textarea name="terms" rows="3" data-optional { (priced.terms.as_deref().unwrap_or_default()) } }))
                        h3.totals-head { "Totals" }
                        (lines::totals_panel(p.currency, totals))
                        (submit("Save quote"))
                    },
                ))
            }
        }
    };
    shell(viewer, Section::Money, &title, body)
}

/// `datetime-local`'s value for an instant: the company's wall-clock time, to the minute.
fn local_input(viewer: &Viewer<'_>, rfc3339: &str) -> String {
    crate::domain::time::Millis::parse_rfc3339(rfc3339)
        .map(|at| {
            let wall = viewer.local.wall(at.0 as i64);
            let text = crate::domain::time::Millis::from_ms(wall).to_rfc3339();
            text.get(..16).unwrap_or_default().to_owned()
        })
        .unwrap_or_default()
}

fn post(action: &str, version: i64, then: &str, class: &str, body: Markup) -> Markup {
    api_form(
        &Api::new("POST", action, then).versioned(version),
        class,
        body,
    )
}

/// The moves this status allows, each one form.
fn actions(p: &DocPage<'_, QuoteView>, id: &str, status: QuoteStatus, version: i64) -> Markup {
    let api = |step: &str| format!("/api/v1/quotes/{id}/{step}");
    let options = &p.view.priced.options;
    let open = matches!(status, QuoteStatus::Sent | QuoteStatus::Viewed);
    html! {
        @match status {
            QuoteStatus::Draft => {
                p.muted { "Save your changes, then send: the quote is fixed once sent, and a share link shows it to the customer." }
                (post(&api("send"), version, "reload", "send-quote", html! { (submit("Send quote")) }))
                (api_form(&Api::new("DELETE", &format!("/api/v1/quotes/{id}"), "go:/money").versioned(version),
                    "delete-quote", html! { div.actions { button.secondary.danger type="submit" { "Delete draft" } } }))
            }
            QuoteStatus::Accepted => {
                @if p.view.head.invoice_id.is_none() {
                    p.muted { "Accepted: turn it into a job (if it has none) and a draft invoice with the chosen lines." }
                    (post(&api("convert"), version, "go:/invoices/{invoice.id}", "convert-quote",
                        html! { (submit("Convert to job and invoice")) }))
                } @else {
                    p.muted { "Converted." }
                }
            }
            _ if open => {
                (share_form(&format!("/api/v1/quotes/{id}"), "share-quote"))
                details.accept {
                    summary { "Record the customer's acceptance" }
                    (post(&api("accept"), version, "reload", "accept-quote", html! {
                        @if !options.is_empty() {
                            (field("Option", "option", html! {
                                select name="option" {
                                    @for o in options { option value=(o) { (o) } }
                                }
                            }))
                        }
                        @let extras: Vec<(usize, &Line)> = p.view.priced.lines.iter().enumerate().filter(|(_, l)| l.optional).collect();
                        @if !extras.is_empty() {
                            div.field data-field="optional_lines" {
                                span.label { "Extras chosen" }
                                span.checks {
                                    @for (i, line) in extras {
                                        label.check {
                                            input type="checkbox" name="optional_lines" value=(i) data-type="set-int";
                                            " " (line.description)
                                        }
                                    }
                                }
                            }
                        }
                        (field("Signed by", "signer_name", html! { input type="text" name="signer_name" maxlength="200"; }))
                        (submit("Record acceptance"))
                    }))
                }
                (post(&api("decline"), version, "reload", "decline-quote", html! {
                    div.actions { button.secondary type="submit" { "The customer declined" } }
                }))
                (post(&api("revise"), version, "reload", "revise-quote", html! {
                    div.actions { button.secondary type="submit" { "Revise (back to draft)" } }
                }))
            }
            _ => {
                p.muted { "Nothing more to do: the quote is " (status.as_str()) "." }
                @if matches!(status, QuoteStatus::Expired | QuoteStatus::Declined) {
                    (post(&api("revise"), version, "reload", "revise-quote", html! {
                        div.actions { button.secondary type="submit" { "Revise (back to draft)" } }
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

    fn render(role: Role, status: QuoteStatus) -> String {
        // Options Good and Best, a 25% deposit.
        let mut view = QuoteView::new(&golden::expired_quote(), golden::now()).expect("a view");
        view.head.id = "q1".into();
        view.head.title = "Boiler <b>".into();
        view.head.status = status;
        view.head.version = 3;
        let people = People(&[]);
        let page = DocPage {
            view: &view,
            currency: Currency::USD,
            default_tax_ppm: 130_000,
            parties: None,
            links: &[],
            deliveries: &[],
            timeline: &[],
            people: &people,
        };
        page_of(role, &page)
    }

    fn page_of(role: Role, p: &DocPage<'_, QuoteView>) -> String {
        page(&viewer(role), p).into_string()
    }

    #[test]
    fn a_draft_is_edited_with_its_version_and_live_totals_and_only_by_those_who_manage() {
        let html = render(Role::Owner, QuoteStatus::Draft);
        assert!(html.contains("Q-0007 Boiler &lt;b&gt;"), "{html}");
        assert!(
            html.contains(r#"data-action="/api/v1/quotes/q1" data-version="3""#),
            "{html}"
        );
        assert!(html.contains(r#"data-preview="/api/v1/quotes/q1/preview""#));
        assert!(html.contains(r#"value="25%""#), "the deposit as typed");
        assert!(html.contains("send-quote") && html.contains("delete-quote"));
        assert!(!html.contains("share-quote"), "a draft is not shared");
        let viewer = render(Role::Viewer, QuoteStatus::Draft);
        assert!(!viewer.contains("<form"), "{viewer}");
        assert!(
            viewer.contains("USD 114.45"),
            "the totals are shown to a viewer"
        );
    }

    #[test]
    fn a_sent_quote_is_shared_answered_or_revised_not_edited() {
        let html = render(Role::Dispatcher, QuoteStatus::Viewed);
        assert!(!html.contains("quote-editor"));
        for form in [
            "share-quote",
            "accept-quote",
            "decline-quote",
            "revise-quote",
        ] {
            assert!(html.contains(form), "{form}");
        }
        assert!(html.contains(r#"<option value="Best">"#));
        let accepted = render(Role::Owner, QuoteStatus::Accepted);
        assert!(
            accepted.contains("convert-quote") && accepted.contains("go:/invoices/{invoice.id}")
        );
        assert!(!accepted.contains("accept-quote"));
    }
}
