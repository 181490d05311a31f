//! The dashboard's HTML, rendered on the server from compile-time `maud` templates: every value
//! is escaped unless a template says otherwise (only our own SVG does). Pure: pages take rows
//! and a [`Viewer`], and the host tests render them.
//!
//! Pages read; they never write (but for a customer's texts marked read as the page is shown). Their forms are submitted by `app.js` to the REST API with
//! `fetch` (JSON, `X-CSRF-Token` from the `<meta>` the shell embeds, `If-Match` from the form's
//! `data-version`), which shows field errors beside the fields and conflicts with the current
//! record, and never clears what was typed.

pub mod admin;
pub mod assets;
pub mod customers;
pub mod files;
pub mod forms;
pub mod invoices;
pub mod items;
pub mod jobs;
pub mod lines;
pub mod message_settings;
pub mod money;
pub mod oauth;
pub mod quotes;
pub mod schedule;
pub mod signin;
pub mod slots;

use maud::{html, Markup, DOCTYPE};

use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::time::{days_from_civil, Millis};

/// The security policy of every page: our own script, style and images (and `data:` images,
/// and `blob:` ones: a picked logo previewed before it is sent), nothing inline, no framing,
/// forms and `fetch` only to this origin.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
    connect-src 'self'";

/// Who is looking, and what the shell needs about the company.
pub struct Viewer<'a> {
    pub user_id: &'a str,
    pub name: &'a str,
    pub role: Role,
    /// The session's CSRF token (empty for callers without a session, e.g. Access).
    pub csrf: &'a str,
    pub company: &'a str,
    /// The company's IANA time zone: times are shown in it and typed in it.
    pub zone: &'a str,
    /// How local wall-clock time relates to instants in that zone.
    pub local: &'a dyn LocalTime,
    /// Unread notices, counted on the bell.
    pub unread: i64,
    /// A support session running now: the banner on every page.
    pub support: Option<crate::views::support::Banner>,
    /// The company's deletion, while it is pending: the banner on every page.
    pub deletion: Option<crate::views::company::DeletionBanner>,
}

impl Viewer<'_> {
    pub fn can(&self, permission: Permission) -> bool {
        self.role.allows(permission)
    }
}

/// Converts instants to the company's wall-clock time (the glue asks the runtime's time zone
/// database; tests use fixed offsets).
pub trait LocalTime {
    /// `at_ms` as local wall-clock ms (counted as if the zone were UTC).
    fn wall(&self, at_ms: i64) -> i64;
    /// The instant of a local wall-clock time.
    fn instant(&self, wall_ms: i64) -> i64;
}

/// A zone that is always `minutes` east of UTC.
pub struct FixedOffset(pub i64);

impl LocalTime for FixedOffset {
    fn wall(&self, at_ms: i64) -> i64 {
        at_ms + self.0 * 60_000
    }
    fn instant(&self, wall_ms: i64) -> i64 {
        wall_ms - self.0 * 60_000
    }
}

/// The main sections, for the navigation bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Schedule,
    Jobs,
    Customers,
    Money,
    Team,
    Audit,
    Settings,
    None,
}

const SECTIONS: [(Section, &str, &str, Option<Permission>); 7] = [
    (Section::Schedule, "/schedule", "Schedule", None),
    (Section::Jobs, "/jobs", "Jobs", None),
    (Section::Customers, "/customers", "Customers", None),
    (
        Section::Money,
        "/money",
        "Money",
        Some(Permission::ViewMoney),
    ),
    (Section::Team, "/team", "Team", Some(Permission::ViewUsers)),
    (
        Section::Audit,
        "/audit",
        "Audit",
        Some(Permission::ViewAudit),
    ),
    (Section::Settings, "/settings", "Settings", None),
];

/// A page inside the signed-in shell: header, navigation (only what the role may open), main.
pub fn shell(viewer: &Viewer<'_>, section: Section, title: &str, body: Markup) -> Markup {
    let full_title = format!("{title} · {}", viewer.company);
    document(
        &full_title,
        viewer.csrf,
        viewer.zone,
        html! {
            header.top {
                a.brand href="/" { (viewer.company) }
                nav.main aria-label="Main" {
                    @for (s, href, label, needs) in SECTIONS {
                        @if needs.is_none_or(|p| viewer.can(p)) {
                            @if s == section {
                                a href=(href) aria-current="page" { (label) }
                            } @else {
                                a href=(href) { (label) }
                            }
                        }
                    }
                }
                div.me {
                    @if viewer.unread > 0 {
                        a.bell href="/notifications" aria-label=(format!("Notices: {} unread", viewer.unread)) {
                            "Notices " span.count { (viewer.unread) }
                        }
                    } @else {
                        a.bell href="/notifications" { "Notices" }
                    }
                    span.who { (viewer.name) " " span.role { (viewer.role.as_str()) } }
                    button.link type="button" data-signout { "Sign out" }
                }
            }
            @if let Some(session) = &viewer.support {
                (crate::views::support::banner(session, !session.own && viewer.can(Permission::ManageUsers)))
            }
            @if let Some(deletion) = &viewer.deletion {
                (crate::views::company::deletion_banner(viewer, deletion))
            }
            main id="main" {
                // Pages read without a script; changes are sent by app.js.
                noscript { p.notice { "Reading works without JavaScript; to change anything, switch it on for this site." } }
                (body)
            }
        },
    )
}

/// A page outside the shell (sign-in, invitation, errors before sign-in).
pub fn bare(title: &str, csrf: &str, body: Markup) -> Markup {
    document(
        &format!("{title} · fieldworker"),
        csrf,
        "UTC",
        html! { main.narrow id="main" { (body) } },
    )
}

fn document(title: &str, csrf: &str, zone: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="csrf-token" content=(csrf);
                meta name="fw-zone" content=(zone);
                title { (title) }
                link rel="icon" type="image/svg+xml" href=(assets::ICON.path());
                link rel="stylesheet" href=(assets::APP_CSS.path());
                script src=(assets::APP_JS.path()) defer {}
            }
            body { (body) }
        }
    }
}

/// The page an error becomes when a browser asked for a page.
pub fn error_page(status: u16, title: &str, detail: &str, request_id: &str) -> Markup {
    bare(
        title,
        "",
        html! {
            h1 { (title) }
            p { (detail) }
            p.muted { "Status " (status) " · request " code { (request_id) } }
            p { a href="/" { "Go to the dashboard" } }
        },
    )
}

/// Where to go after signing in: a path on this site only (`/…`, not `//host` or `/\host`, no
/// control characters, not the sign-in page itself); anything else is the dashboard.
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= 2_000
                && !path.chars().any(char::is_control)
                && !path.starts_with("/login")
                && !path.starts_with("/api/")
                && !path.starts_with("/assets/") =>
        {
            path
        }
        _ => "/",
    }
}

/// Percent-encodes a query value: everything but unreserved characters and `/`.
pub fn encode_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `/login?next=…` for a visitor who must sign in to see `path_and_query`.
pub fn sign_in_location(path_and_query: &str) -> String {
    match safe_next(Some(path_and_query)) {
        "/" => "/login".to_owned(),
        next => format!("/login?next={}", encode_component(next)),
    }
}

// ---- time, as people read it --------------------------------------------------------------

const DAY_MS: i64 = 86_400_000;
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn civil(wall_ms: i64) -> (i64, u32, u32) {
    Millis((wall_ms.div_euclid(DAY_MS) * DAY_MS).max(0) as u64).utc_date()
}

/// `09:05` of a wall-clock time.
pub fn hhmm(wall_ms: i64) -> String {
    let minutes = wall_ms.div_euclid(60_000).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// `Tue 24 Nov` of a wall-clock time.
pub fn day_label(wall_ms: i64) -> String {
    let (_, month, day) = civil(wall_ms);
    format!(
        "{} {day} {}",
        WEEKDAYS[wall_ms.div_euclid(DAY_MS).rem_euclid(7) as usize],
        MONTHS[(month as usize + 11) % 12]
    )
}

/// `Tue 24 Nov 2026` of a wall-clock time.
pub fn day_label_year(wall_ms: i64) -> String {
    format!("{} {}", day_label(wall_ms), civil(wall_ms).0)
}

/// `2026-11-24` of a wall-clock time.
pub fn iso_date(wall_ms: i64) -> String {
    let (year, month, day) = civil(wall_ms);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `2026-11-24T09:05`, the value of a `datetime-local` input.
pub fn datetime_local(wall_ms: i64) -> String {
    format!("{}T{}", iso_date(wall_ms), hhmm(wall_ms))
}

/// `24 Nov 2026 09:05` of an instant, in the viewer's zone.
pub fn when(viewer: &Viewer<'_>, at_ms: i64) -> String {
    when_local(viewer.local, at_ms)
}

/// [`when`] for a zone without a viewer (an email).
pub fn when_local(local: &dyn LocalTime, at_ms: i64) -> String {
    let wall = local.wall(at_ms);
    let (year, month, day) = civil(wall);
    format!(
        "{day} {} {year} {}",
        MONTHS[(month as usize + 11) % 12],
        hhmm(wall)
    )
}

/// [`when`] of a stored RFC 3339 time (shown as stored if it does not parse).
pub fn when_text(viewer: &Viewer<'_>, rfc3339: &str) -> String {
    Millis::parse_rfc3339(rfc3339)
        .map_or_else(|| rfc3339.to_owned(), |at| when(viewer, at.0 as i64))
}

/// The local midnight (wall ms) of a `YYYY-MM-DD` date.
pub fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    let valid = parts.next().is_none()
        && (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && day >= 1
        && day <= crate::domain::time::days_in_month(year, month);
    valid.then(|| days_from_civil(year, month, day) * DAY_MS)
}

/// `in_progress` → `In progress`.
pub fn label(value: &str) -> String {
    let mut text = value.replace('_', " ");
    if let Some(first) = text.get(0..1) {
        let upper = first.to_ascii_uppercase();
        text.replace_range(0..1, &upper);
    }
    text
}

/// The names of people by id, for showing who works what.
pub struct People<'a>(pub &'a [crate::db::pages::Person]);

impl People<'_> {
    pub fn name<'b>(&'b self, id: &'b str) -> &'b str {
        self.0
            .iter()
            .find(|p| p.id == id)
            .map_or(id, |p| p.name.as_str())
    }

    /// Those who can be given work: active, and not read-only viewers.
    pub fn assignable(&self) -> impl Iterator<Item = &crate::db::pages::Person> {
        self.0
            .iter()
            .filter(|p| p.active == 1 && p.role != Role::Viewer.as_str())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn viewer(role: Role) -> Viewer<'static> {
        Viewer {
            user_id: "u-1",
            name: "Olive <Owner>",
            role,
            csrf: "csrf-123",
            company: "Acme & Sons",
            zone: "UTC",
            local: &FixedOffset(0),
            unread: 0,
            support: None,
            deletion: None,
        }
    }

    #[test]
    fn next_is_a_path_on_this_site_or_the_dashboard() {
        for (next, want) in [
            (Some("/jobs/42?tab=notes"), "/jobs/42?tab=notes"),
            (Some("/schedule"), "/schedule"),
            (Some("//evil.example/x"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("https://evil.example/"), "/"),
            (Some("/\t/evil.example"), "/"),
            (Some("javascript:alert(1)"), "/"),
            (Some("/login?next=/x"), "/"),
            (Some("/api/v1/me"), "/"),
            (Some(""), "/"),
            (None, "/"),
        ] {
            assert_eq!(safe_next(next), want, "{next:?}");
        }
    }

    #[test]
    fn the_sign_in_location_carries_the_page_encoded() {
        assert_eq!(
            sign_in_location("/jobs?status=in_progress&q=a b"),
            "/login?next=/jobs%3Fstatus%3Din_progress%26q%3Da%20b"
        );
        assert_eq!(sign_in_location("/"), "/login");
        assert_eq!(sign_in_location("//evil"), "/login");
    }

    #[test]
    fn times_read_as_people_write_them() {
        // 2026-11-24 is a Tuesday.
        let wall = parse_date("2026-11-24").unwrap() + 9 * 3_600_000 + 5 * 60_000;
        assert_eq!(hhmm(wall), "09:05");
        assert_eq!(day_label(wall), "Tue 24 Nov");
        assert_eq!(day_label_year(wall), "Tue 24 Nov 2026");
        assert_eq!(iso_date(wall), "2026-11-24");
        assert_eq!(datetime_local(wall), "2026-11-24T09:05");
        let viewer = Viewer {
            local: &FixedOffset(-300),
            unread: 0,
            support: None,
            deletion: None,
            ..viewer(Role::Owner)
        };
        assert_eq!(
            when_text(&viewer, "2026-11-24T14:05:00.000Z"),
            "24 Nov 2026 09:05"
        );
        assert_eq!(when_text(&viewer, "garbage"), "garbage");
        for bad in ["2026-02-30", "2026-13-01", "26-1-1", "2026-01-01-01", "x"] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        assert_eq!(label("in_progress"), "In progress");
    }

    #[test]
    fn the_shell_escapes_what_it_shows_and_hides_what_the_role_may_not_open() {
        let owner = shell(
            &viewer(Role::Owner),
            Section::Jobs,
            "Jobs",
            html! { p { "<b>hi</b>" } },
        )
        .into_string();
        assert!(owner.contains("Olive &lt;Owner&gt;"), "{owner}");
        assert!(owner.contains("Acme &amp; Sons"));
        assert!(owner.contains("&lt;b&gt;hi&lt;/b&gt;"));
        assert!(owner.contains(r#"<meta name="csrf-token" content="csrf-123">"#));
        assert!(owner.contains(r#"href="/jobs" aria-current="page""#));
        assert!(owner.contains(r#"href="/audit""#));
        let technician =
            shell(&viewer(Role::Technician), Section::Jobs, "Jobs", html! {}).into_string();
        assert!(!technician.contains(r#"href="/audit""#));
        assert!(!technician.contains(r#"href="/team""#));
        // Nothing inline that the policy would refuse.
        assert!(!owner.contains("style="));
        assert!(!owner.contains("<script>"));
    }
}
