//! Support access: an operator's request to act in one company for a while, the owners'
//! decision, and — while a session runs — what support may do. The rules here are the
//! promise: time-limited (at most [`MAX_MINUTES`], never extended), restricted (money,
//! credentials, the team, settings, deletions, sending and exports are refused whatever the
//! scope says), every request recorded, revocable at any time.

use crate::domain::audit::SealKey;
use crate::domain::auth::permissions::Permission;
use crate::domain::secrets::secrets_match;
use crate::domain::time::Millis;

/// The longest a session may last.
pub const MAX_MINUTES: i64 = 240;
/// The shortest a request may ask for.
pub const MIN_MINUTES: i64 = 5;
/// How long the emailed sign-in link may start the session.
pub const LINK_MINUTES: u64 = 15;

/// The record types support may be allowed to change (besides reading everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Customers and their sites.
    Customers,
    /// Jobs, their notes and status.
    Jobs,
    Visits,
    /// Uploading files to the records above.
    Files,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Customers, Kind::Jobs, Kind::Visits, Kind::Files];
    pub const NAMES: [&'static str; 4] = ["customers", "jobs", "visits", "files"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Jobs => "jobs",
            Self::Visits => "visits",
            Self::Files => "files",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for an owner.
    Requested,
    /// Approved: the sign-in link is out, the session has not started.
    Approved,
    Refused,
    /// Started and before its deadline.
    Active,
    /// Ended by an owner, by the support person, or by its deadline.
    Ended,
}

impl Status {
    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "requested" => Self::Requested,
            "approved" => Self::Approved,
            "refused" => Self::Refused,
            "active" => Self::Active,
            "ended" => Self::Ended,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Approved => "approved",
            Self::Refused => "refused",
            Self::Active => "active",
            Self::Ended => "ended",
        }
    }
}

/// The status as of `now`: an active session past its deadline has ended (the row says so
/// once someone writes it: [`crate::db::support::END_AT_DEADLINE`]).
pub fn status_at(stored: &str, ends_at: Option<i64>, now: Millis) -> Option<Status> {
    let status = Status::parse(stored)?;
    Some(match (status, ends_at) {
        (Status::Active, Some(deadline)) if now.0 as i64 >= deadline => Status::Ended,
        (status, _) => status,
    })
}

/// An operator's request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub person_name: String,
    pub person_email: String,
    pub reason: String,
    pub ticket: String,
    pub scope: Vec<Kind>,
    pub duration_minutes: i64,
}

impl Request {
    pub fn read_only(&self) -> bool {
        self.scope.is_empty()
    }

    /// The scope as stored: a JSON array of names.
    pub fn scope_json(&self) -> String {
        scope_json(&self.scope)
    }
}

pub fn scope_json(scope: &[Kind]) -> String {
    serde_json::Value::from(scope.iter().map(|k| k.as_str()).collect::<Vec<_>>()).to_string()
}

/// The stored scope (a JSON array of names); unknown names are dropped (they grant nothing).
pub fn parse_scope(stored: &str) -> Vec<Kind> {
    serde_json::from_str::<Vec<String>>(stored)
        .unwrap_or_default()
        .iter()
        .filter_map(|name| Kind::parse(name))
        .collect()
}

/// A field of the request that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Invalid {
    Invalid {
        field,
        message: message.into(),
    }
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, Invalid> {
    let value = value.trim();
    if value.is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(invalid(
            field,
            format!("Give {field} in 1 to {max} characters, on one line."),
        ));
    }
    Ok(value.to_owned())
}

/// Checks an operator's request: who (name, email), why (reason, ticket), what (scope: record
/// type names; empty is read-only) and for how long.
pub fn request(
    person_name: &str,
    person_email: &str,
    reason: &str,
    ticket: &str,
    scope: &[String],
    duration_minutes: i64,
) -> Result<Request, Invalid> {
    let person_email = person_email.trim().to_lowercase();
    let valid_email = person_email.len() <= 254
        && person_email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.')
        })
        && !person_email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    if !valid_email {
        return Err(invalid(
            "person_email",
            "Give the support person's email address.",
        ));
    }
    let mut kinds = Vec::new();
    for name in scope {
        let kind = Kind::parse(name).ok_or_else(|| {
            invalid(
                "scope",
                format!(
                    "Support may be allowed to change {} only (leave it empty for read-only).",
                    Kind::NAMES.join(", ")
                ),
            )
        })?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if !(MIN_MINUTES..=MAX_MINUTES).contains(&duration_minutes) {
        return Err(invalid(
            "duration_minutes",
            format!("A session lasts {MIN_MINUTES} to {MAX_MINUTES} minutes."),
        ));
    }
    Ok(Request {
        person_name: text("person_name", person_name, 200)?,
        person_email,
        reason: text("reason", reason, 2000)?,
        ticket: text("ticket", ticket, 200)?,
        scope: kinds,
        duration_minutes,
    })
}

/// The data key of the support person a session is for (`p-<session id>`): their name, email
/// and reason are theirs, sealed apart from everyone else's (DESIGN.md §9).
pub fn person_key(session_id: &str) -> String {
    format!("p-{session_id}")
}

/// When a session started at `now` must end.
pub fn deadline(now: Millis, duration_minutes: i64) -> i64 {
    now.0 as i64 + duration_minutes.clamp(0, MAX_MINUTES) * 60_000
}

/// Why support may not make a request, or `None` when it may. `pattern` is the route's
/// declared path (`/api/v1/jobs/{id}/notes`), `needs` the permission its guard names (none for
/// the routes about one's own account). The refusals hold whatever the scope says.
pub fn refusal(
    scope: &[Kind],
    method: &str,
    pattern: &str,
    needs: Option<Permission>,
) -> Option<&'static str> {
    let path = pattern.strip_prefix("/api/v1/").unwrap_or(pattern);
    let first = path.split('/').next().unwrap_or_default();
    if path.contains("export") {
        return Some("Support cannot export data.");
    }
    if first == "tokens" || path.starts_with("me/") && path != "me/notifications" {
        return Some(
            "Support cannot see or change credentials, two-factor sign-in or linked chats.",
        );
    }
    if matches!(method, "GET" | "HEAD") {
        return None;
    }
    if path == "auth/logout" {
        return None;
    }
    if method == "DELETE" {
        return Some("Support cannot delete anything.");
    }
    match needs {
        None => return Some("Support has no account of its own to change."),
        Some(Permission::ManageUsers) => return Some("Support cannot change the team or roles."),
        Some(Permission::ManageSettings) => return Some("Support cannot change settings."),
        Some(Permission::ManagePersonalData) => {
            return Some("Support cannot export or erase people's data.")
        }
        Some(_) => {}
    }
    match first {
        "quotes" | "invoices" | "share-links" | "payments" => {
            return Some("Support cannot make money operations (quotes, invoices, payments).")
        }
        "users" => return Some("Support cannot change the team or roles."),
        "settings" => return Some("Support cannot change settings."),
        _ => {}
    }
    if path.contains("/messages") || path.contains("/deliveries") || path.ends_with("/on-my-way") {
        return Some("Support cannot send messages on the company's behalf.");
    }
    let kind = if path.ends_with("/files") || path.ends_with("/signature") || first == "files" {
        Kind::Files
    } else {
        match first {
            "customers" | "sites" => Kind::Customers,
            "jobs" => Kind::Jobs,
            "visits" => Kind::Visits,
            _ => return Some("Support cannot make this change."),
        }
    };
    (!scope.contains(&kind)).then_some(if scope.is_empty() {
        "This support session is read-only."
    } else {
        "This support session's scope does not cover this record type."
    })
}

const LINK_DOMAIN: &str = "fieldworker support link v1";
const LINK_MAC_HEX: usize = 40;

/// The token of a session's sign-in link: its id and a MAC over the id and the link's expiry
/// under the Worker's key. Nothing secret is stored: the link is checked by making it again,
/// and is single-use because starting the session moves the row past `approved`.
pub fn link_token(key: &SealKey, id: &str, link_expires_at: i64) -> String {
    let mut mac = key.mac(LINK_DOMAIN, &[id, &link_expires_at.to_string()]);
    mac.truncate(LINK_MAC_HEX);
    format!("{id}.{mac}")
}

/// The session id a link token names (to be checked with [`link_matches`] against its row).
pub fn link_id(token: &str) -> Option<&str> {
    let (id, mac) = token.split_once('.')?;
    (!id.is_empty() && id.len() <= 64 && mac.len() == LINK_MAC_HEX).then_some(id)
}

/// Whether `token` is the link made for session `id` expiring at `link_expires_at`.
pub fn link_matches(key: &SealKey, token: &str, id: &str, link_expires_at: i64) -> bool {
    secrets_match(
        token.as_bytes(),
        link_token(key, id, link_expires_at).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::permissions::Permission::*;

    fn ok(name: &str) -> Result<Request, Invalid> {
        request(
            name,
            "Sam@Support.example",
            "Invoice totals look wrong",
            "T-1",
            &[],
            60,
        )
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        let r = ok("Sam Support").unwrap();
        assert_eq!(r.person_email, "sam@support.example");
        assert!(r.read_only());
        assert_eq!(ok("").unwrap_err().field, "person_name");
        assert_eq!(ok("a\nb").unwrap_err().field, "person_name");
        let bad = |email: &str| request("S", email, "r", "t", &[], 60).unwrap_err().field;
        assert_eq!(bad("nobody"), "person_email");
        assert_eq!(bad("a@b"), "person_email");
        let scope = |names: &[&str]| {
            let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
            request("S", "s@x.example", "r", "t", &names, 60)
        };
        assert_eq!(
            scope(&["jobs", "jobs", "visits"]).unwrap().scope,
            vec![Kind::Jobs, Kind::Visits]
        );
        assert_eq!(scope(&["invoices"]).unwrap_err().field, "scope");
        for minutes in [0, 4, 241, -1] {
            let e = request("S", "s@x.example", "r", "t", &[], minutes).unwrap_err();
            assert_eq!(e.field, "duration_minutes");
        }
        assert!(request("S", "s@x.example", "r", "t", &[], 240).is_ok());
    }

    #[test]
    fn the_scope_round_trips_and_unknown_names_grant_nothing() {
        let scope = vec![Kind::Customers, Kind::Files];
        assert_eq!(parse_scope(&scope_json(&scope)), scope);
        assert_eq!(parse_scope(r#"["invoices","jobs"]"#), vec![Kind::Jobs]);
        assert_eq!(parse_scope("not json"), Vec::<Kind>::new());
    }

    #[test]
    fn a_session_ends_at_its_deadline_whatever_the_row_says() {
        let start = Millis(1_000_000);
        let end = deadline(start, 30);
        assert_eq!(end, 1_000_000 + 30 * 60_000);
        assert_eq!(deadline(start, 10_000), 1_000_000 + MAX_MINUTES * 60_000);
        assert_eq!(
            status_at("active", Some(end), Millis(end as u64 - 1)),
            Some(Status::Active)
        );
        assert_eq!(
            status_at("active", Some(end), Millis(end as u64)),
            Some(Status::Ended)
        );
        assert_eq!(
            status_at("approved", None, Millis(0)),
            Some(Status::Approved)
        );
        assert_eq!(status_at("nonsense", None, Millis(0)), None);
    }

    #[test]
    fn reads_are_open_but_credentials_and_exports_are_not() {
        for (method, pattern, needs) in [
            ("GET", "/api/v1/jobs/{id}", Some(ViewRecords)),
            ("GET", "/api/v1/invoices/{id}", Some(ViewMoney)),
            ("GET", "/api/v1/settings", Some(ViewSettings)),
            ("GET", "/api/v1/me", None),
            ("GET", "/api/v1/me/notifications", None),
            ("POST", "/api/v1/auth/logout", None),
        ] {
            assert_eq!(
                refusal(&[], method, pattern, needs),
                None,
                "{method} {pattern}"
            );
        }
        for (method, pattern, needs) in [
            ("GET", "/api/v1/tokens", None),
            ("POST", "/api/v1/tokens", None),
            ("GET", "/api/v1/me/links", None),
            ("POST", "/api/v1/me/mfa/disable", None),
            ("POST", "/api/v1/me/password", None),
            ("GET", "/api/v1/exports/{id}", Some(ViewRecords)),
        ] {
            assert!(
                refusal(&Kind::ALL, method, pattern, needs).is_some(),
                "{method} {pattern}"
            );
        }
    }

    #[test]
    fn money_team_settings_deletions_and_sending_are_refused_whatever_the_scope() {
        let all = Kind::ALL;
        for (method, pattern, needs) in [
            (
                "POST",
                "/api/v1/invoices/{id}/payments",
                Some(ManageRecords),
            ),
            ("POST", "/api/v1/invoices/{id}/issue", Some(ManageRecords)),
            ("POST", "/api/v1/quotes", Some(ManageRecords)),
            ("POST", "/api/v1/quotes/{id}/share", Some(ManageRecords)),
            ("DELETE", "/api/v1/share-links/{id}", Some(ManageRecords)),
            ("PATCH", "/api/v1/users/{id}", Some(ManageUsers)),
            ("POST", "/api/v1/users/invites", Some(ManageUsers)),
            ("PATCH", "/api/v1/settings", Some(ManageSettings)),
            ("PUT", "/api/v1/settings/logo", Some(ManageSettings)),
            ("DELETE", "/api/v1/customers/{id}", Some(ManageRecords)),
            ("DELETE", "/api/v1/files/{id}", Some(WorkOnJobs)),
            ("DELETE", "/api/v1/visits/{id}", Some(ManageRecords)),
            (
                "POST",
                "/api/v1/customers/{id}/messages",
                Some(ManageRecords),
            ),
            ("POST", "/api/v1/jobs/{id}/on-my-way", Some(WorkOnJobs)),
            (
                "POST",
                "/api/v1/invoices/{id}/deliveries",
                Some(ManageRecords),
            ),
            ("POST", "/api/v1/quotes/{id}/files", Some(ManageRecords)),
            ("POST", "/api/v1/me/notifications/read", None),
        ] {
            assert!(
                refusal(&all, method, pattern, needs).is_some(),
                "{method} {pattern}"
            );
        }
    }

    #[test]
    fn record_changes_follow_the_scope() {
        let jobs = [Kind::Jobs];
        assert_eq!(
            refusal(&jobs, "PATCH", "/api/v1/jobs/{id}", Some(WorkOnJobs)),
            None
        );
        assert_eq!(
            refusal(&jobs, "POST", "/api/v1/jobs/{id}/notes", Some(WorkOnJobs)),
            None
        );
        assert_eq!(
            refusal(&jobs, "POST", "/api/v1/jobs", Some(ManageRecords)),
            None
        );
        assert!(refusal(&jobs, "POST", "/api/v1/customers", Some(ManageRecords)).is_some());
        assert!(refusal(&jobs, "PATCH", "/api/v1/visits/{id}", Some(WorkOnJobs)).is_some());
        assert!(refusal(&jobs, "POST", "/api/v1/jobs/{id}/files", Some(WorkOnJobs)).is_some());
        let files = [Kind::Files];
        assert_eq!(
            refusal(&files, "POST", "/api/v1/jobs/{id}/files", Some(WorkOnJobs)),
            None
        );
        assert_eq!(
            refusal(&[], "PATCH", "/api/v1/customers/{id}", Some(ManageRecords)),
            Some("This support session is read-only.")
        );
        assert_eq!(
            refusal(
                &[Kind::Customers],
                "PATCH",
                "/api/v1/sites/{id}",
                Some(ManageRecords)
            ),
            None
        );
    }

    #[test]
    fn links_are_made_again_to_be_checked() {
        let key = SealKey::new("k".repeat(32).as_str()).unwrap();
        let token = link_token(&key, "s1", 1_000);
        assert_eq!(link_id(&token), Some("s1"));
        assert!(link_matches(&key, &token, "s1", 1_000));
        assert!(
            !link_matches(&key, &token, "s1", 2_000),
            "another expiry is another link"
        );
        assert!(!link_matches(&key, &token, "s2", 1_000));
        let other = SealKey::new("j".repeat(32).as_str()).unwrap();
        assert!(!link_matches(&other, &token, "s1", 1_000));
        assert_eq!(link_id("s1.short"), None);
        assert_eq!(link_id("nodot"), None);
    }
}
