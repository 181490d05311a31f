//! Support sessions as the API answers them, the support person's sign-in page and email, and
//! the banner every dashboard page shows while a session runs.

use maud::{html, Markup};
use serde_json::Value;

use crate::db::support::SupportRow;
use crate::domain::support::{parse_scope, status_at, Kind};
use crate::domain::time::Millis;
use crate::json;
use crate::views::pages::bare;

fn stamp(ms: Option<i64>) -> Option<String> {
    ms.map(|ms| Millis::from_ms(ms).to_rfc3339())
}

/// One session as of `now` (an active one past its deadline is `ended`).
pub fn session_view_at(row: &SupportRow, now: Millis) -> Value {
    let status =
        status_at(&row.status, row.ends_at, now).map_or(row.status.as_str(), |s| s.as_str());
    let scope: Vec<&str> = parse_scope(&row.scope)
        .into_iter()
        .map(Kind::as_str)
        .collect();
    json!({
        "id": row.id,
        "person_name": row.person_name,
        "person_email": row.person_email,
        "reason": row.reason,
        "ticket": row.ticket,
        "scope": scope,
        "read_only": scope.is_empty(),
        "duration_minutes": row.duration_minutes,
        "status": status,
        "requested_at": stamp(Some(row.requested_at)),
        "decided_by": row.decided_by,
        "decided_at": stamp(row.decided_at),
        "link_expires_at": stamp(row.link_expires_at),
        "started_at": stamp(row.started_at),
        "ends_at": stamp(row.ends_at),
        "ended_at": stamp(row.ended_at),
        "ended_by": row.ended_by,
        "version": row.version,
    })
}

/// The session as stored (the write engine's answer and its 409 body).
pub fn session_view(row: &SupportRow) -> Value {
    session_view_at(row, Millis(0))
}

/// The page the emailed link opens: it names the company and the session and starts it only
/// on a button press (mail scanners that follow links must not use up the single-use link).
pub fn link_page(company: &str, row: &SupportRow, token: &str) -> Markup {
    let scope: Vec<&str> = parse_scope(&row.scope)
        .into_iter()
        .map(Kind::as_str)
        .collect();
    bare(
        "Support access",
        "",
        html! {
            h1 { "Support access to " (company) }
            p { "Hello " (row.person_name) ". An owner of " (company) " approved your request (ticket "
                (row.ticket) ")." }
            p {
                @if scope.is_empty() { "You may read the company's records and change nothing." }
                @else { "You may read the company's records and change " (scope.join(", ")) "." }
                " Money, credentials, the team, settings and deletions are out of reach. The session lasts "
                (row.duration_minutes) " minutes from now, every action is recorded in the company's audit trail, and its owners can end it at any time."
            }
            form method="post" action=(format!("/support/{token}")) {
                button type="submit" { "Start the support session" }
            }
        },
    )
}

/// A page that says why a link does not work.
pub fn link_refused(message: &str) -> Markup {
    bare(
        "Support access",
        "",
        html! {
            h1 { "This link does not work" }
            p { (message) }
        },
    )
}

/// The support person's email: the single-use link and what it allows.
pub fn link_email(
    company: &str,
    row: &SupportRow,
    link: &str,
    expires: &str,
) -> (String, String, String) {
    let subject = format!("Support access to {company} (ticket {})", row.ticket);
    let text = format!(
        "Hello {},\n\nAn owner of {company} approved your support access for ticket {}. Start the \
         session with this link (single use, valid until {expires}):\n\n{link}\n\nThe session \
         lasts {} minutes once started and every action is recorded in the company's audit \
         trail.\n",
        row.person_name, row.ticket, row.duration_minutes
    );
    let html = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (subject) } }
            body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 0 auto;" {
                p { "Hello " (row.person_name) "," }
                p { "An owner of " (company) " approved your support access for ticket " (row.ticket) "." }
                p { a href=(link) { "Start the support session" } " (single use, valid until " (expires) ")." }
                p { "The session lasts " (row.duration_minutes) " minutes once started and every action is recorded in the company's audit trail." }
            }
        }
    }
    .into_string();
    (subject, text, html)
}

/// The banner at the top of every page while a session runs: to the support person, how long
/// is left; to the company's people, who is in and (owners) a button that ends it.
pub struct Banner {
    pub session_id: String,
    pub person: String,
    pub ends_at: String,
    pub version: i64,
    /// The viewer is the support person.
    pub own: bool,
}

pub fn banner(b: &Banner, can_end: bool) -> Markup {
    html! {
        div.notice.support-banner role="status" data-support-session=(b.session_id) {
            @if b.own {
                strong { "Support session" }
                " — you act as support (" (b.person) "); every action is recorded. It ends at "
                time datetime=(b.ends_at) data-local { (b.ends_at) } "."
                " " button.link type="button" data-signout { "End it now" }
            } @else {
                strong { "Support access is on" }
                " — " (b.person) " can see this company's data until "
                time datetime=(b.ends_at) data-local { (b.ends_at) } "."
                @if can_end {
                    form.api.inline data-method="POST"
                        data-action=(format!("/api/v1/support-sessions/{}/end", b.session_id))
                        data-version=(b.version) {
                        button.danger type="submit" { "End support access" }
                    }
                }
            }
        }
    }
}

/// The owners' card on the Team page: the requests to decide, the sessions running and past
/// (each with its audit trail), and the pre-approval of read-only requests.
pub fn card(
    viewer: &crate::views::pages::Viewer<'_>,
    sessions: &[SupportRow],
    company: &crate::db::settings::Settings,
    now: Millis,
) -> Markup {
    use crate::views::pages::forms::{api_form, submit, Api};
    use crate::views::pages::when;
    let preapprove = company.support_preapprove_read_only == 1;
    html! {
        section.card id="support" {
            h2 { "Support access" }
            p.muted { "Support sees this company only while an owner allows it: for the time approved, never money, passwords, two-factor sign-in, the team, settings or deletions. Every action is in the audit trail." }
            @if sessions.is_empty() {
                p { "No support requests yet." }
            }
            ul.rows.support {
                @for s in sessions {
                    @let status = status_at(&s.status, s.ends_at, now).map_or(s.status.as_str(), |st| st.as_str());
                    @let scope: Vec<&str> = parse_scope(&s.scope).into_iter().map(Kind::as_str).collect();
                    li data-support=(s.id) {
                        span.title { (s.person_name) " " span.badge.(status) { (status) } }
                        span.meta {
                            (s.person_email) " · ticket " (s.ticket) " · "
                            @if scope.is_empty() { "read-only" } @else { "read, and change " (scope.join(", ")) }
                            " · " (s.duration_minutes) " min"
                            @if let Some(ends) = s.ends_at { " · until " (when(viewer, ends)) }
                        }
                        p.reason { (s.reason) }
                        div.controls {
                            @if status == "requested" {
                                (api_form(&Api::new("POST", &format!("/api/v1/support-sessions/{}/approve", s.id), "reload").versioned(s.version),
                                    "inline", html! { button type="submit" { "Approve" } }))
                                (api_form(&Api::new("POST", &format!("/api/v1/support-sessions/{}/refuse", s.id), "reload").versioned(s.version),
                                    "inline", html! { button.secondary type="submit" { "Refuse" } }))
                            }
                            @if matches!(status, "approved" | "active") {
                                (api_form(&Api::new("POST", &format!("/api/v1/support-sessions/{}/end", s.id), "reload").versioned(s.version),
                                    "inline", html! { button.secondary.danger type="submit" { "End now" } }))
                            }
                            @if s.started_at.is_some() {
                                a href=(format!("/audit?support={}", s.id)) { "Its audit trail" }
                            }
                        }
                    }
                }
            }
            (api_form(&Api::new("PATCH", "/api/v1/settings", "reload").versioned(company.version), "support-settings", html! {
                div.field data-field="support_preapprove_read_only" {
                    label.check {
                        input type="checkbox" name="support_preapprove_read_only" data-type="bool" checked[preapprove];
                        " Approve read-only support requests without asking (owners are still told)"
                    }
                }
                (submit("Save"))
            }))
        }
    }
}
