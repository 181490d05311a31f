//! The settings page's "Messages to customers" card: when automatic messages go out, and for
//! each whether it is sent and what it says, with a preview of that wording filled in with an
//! example. Owners edit; others read.

use maud::{html, Markup};

use crate::db::messages::{TemplateRow, TimingRow};
use crate::domain::auth::permissions::Permission;
use crate::domain::automatic::clock;
use crate::domain::templates::{render, with_link, Kind};
use crate::views::pages::forms::{api_form, field_hint, submit, text, Api};
use crate::views::pages::Viewer;

/// The example a preview is filled in with.
fn example(company: &str, kind: Kind) -> [(&'static str, &str); 11] {
    [
        ("customer", "Ann Lee"),
        ("company", company),
        ("job", "Boiler service"),
        ("date", "Tue 8 Dec"),
        ("time", "09:30"),
        ("technician", "Sam"),
        ("eta", "20"),
        (
            "number",
            if kind == Kind::QuoteFollowUp {
                "Q-0007"
            } else {
                "INV-0042"
            },
        ),
        ("amount", "USD 240.00"),
        ("days", "7"),
        ("link", "https://example.com/s/…"),
    ]
}

pub fn card(viewer: &Viewer<'_>, timing: &TimingRow, templates: &[TemplateRow]) -> Markup {
    let manage = viewer.can(Permission::ManageSettings);
    let days: Vec<i64> = serde_json::from_str(&timing.overdue_days).unwrap_or_default();
    let days_text = days
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        section.card id="messages" {
            h2 { "Messages to customers" }
            p.muted { "Sent by email or text message, by each customer's preferred contact. \
                Nothing automatic goes out during quiet hours (it waits for their end) or to a \
                customer who replied STOP or unsubscribed." }
            @if manage {
                (api_form(&Api::new("PATCH", "/api/v1/settings/messages", "reload").versioned(timing.version), "message-timing", html! {
                    div.row {
                        (field_hint("Quiet hours from", "quiet_start", text("quiet_start", &clock(timing.quiet_start)), "HH:MM, the company's time"))
                        (field_hint("until", "quiet_end", text("quiet_end", &clock(timing.quiet_end)), "Equal times: no quiet hours"))
                    }
                    div.row {
                        (field_hint("Day-before reminders at", "reminder_at", text("reminder_at", &clock(timing.reminder_at)), "HH:MM"))
                        (field_hint("Overdue reminders (days after due)", "overdue_days", html! {
                            input type="text" name="overdue_days" data-type="int-list" value=(days_text);
                        }, "e.g. 3, 7, 14"))
                        (field_hint("Quote follow-up after (days)", "quote_follow_up_days", html! {
                            input type="number" name="quote_follow_up_days" min="1" max="60" data-type="int" value=(timing.quote_follow_up_days);
                        }, "Without an answer"))
                    }
                    (submit("Save timing"))
                }))
            } @else {
                p { "Quiet hours " (clock(timing.quiet_start)) "–" (clock(timing.quiet_end))
                    "; reminders at " (clock(timing.reminder_at)) "." }
            }
            @for row in templates {
                @if let Some(kind) = Kind::parse(&row.kind) {
                    (template(viewer, kind, row, manage))
                }
            }
        }
    }
}

fn template(viewer: &Viewer<'_>, kind: Kind, row: &TemplateRow, manage: bool) -> Markup {
    let default = kind.default_wording();
    let subject = row.subject.clone().unwrap_or(default.subject);
    let body = row.body.clone().unwrap_or(default.body);
    let values = example(viewer.company, kind);
    let preview_subject = render(&subject, &values, true);
    let preview_body = with_link(
        &render(&body, &values, true),
        Some("https://example.com/s/…"),
    );
    let names: Vec<String> = kind
        .placeholders()
        .iter()
        .map(|p| format!("{{{p}}}"))
        .collect();
    html! {
        details.message-template id=(format!("template-{}", kind.as_str())) {
            summary {
                (kind.title())
                @if row.enabled == 1 { " " span.badge.scheduled { "On" } } @else { " " span.badge.cancelled { "Off" } }
            }
            p.muted { (kind.when()) }
            @if manage {
                (api_form(&Api::new("PATCH", &format!("/api/v1/settings/messages/templates/{}", kind.as_str()), "reload").versioned(row.version),
                    &format!("template {}", kind.as_str()), html! {
                    div.field data-field="enabled" {
                        label.check {
                            input type="checkbox" name="enabled" data-type="bool" checked[row.enabled == 1];
                            " Send this message"
                        }
                    }
                    (field_hint("Email subject", "subject", html! {
                        input type="text" name="subject" maxlength="200" value=(subject) data-optional;
                    }, "Empty: the standard wording"))
                    (field_hint("Message", "body", html! {
                        textarea name="body" rows="4" maxlength="2000" data-optional { (body) }
                    }, &format!("Placeholders: {}. Empty: the standard wording.", names.join(" "))))
                    (submit("Save"))
                }))
            }
            div.preview {
                span.label { "Preview" }
                p { strong { (preview_subject) } }
                p { (preview_body) }
            }
        }
    }
}
