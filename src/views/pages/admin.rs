//! The team, the settings (the company's and your own: two-factor, chat links, access tokens),
//! your notices, and the audit trail with its filters and the chain's verification.

use maud::{html, Markup};

use crate::db::messaging::LinkRow;
use crate::db::notifications::Notification;
use crate::db::settings::Settings;
use crate::db::tokens::AccessToken;
use crate::db::users::User;
use crate::domain::audit::AuditRow;
use crate::domain::auth::permissions::Permission;
use crate::views::notifications::NotificationView;
use crate::views::pages::forms::{
    api_form, field, field_hint, optional, password_again, select, submit, text, Api,
};
use crate::views::pages::jobs::actor;
use crate::views::pages::lines::decimal;
use crate::views::pages::{
    encode_component, label, shell, when, when_text, People, Section, Viewer,
};
use crate::views::pages::{files, schedule};

const ROUNDINGS: [(&str, &str); 2] = [
    ("per_line", "Per line"),
    ("per_document", "Once per document (per tax rate)"),
];

const ROLES: [(&str, &str); 4] = [
    ("owner", "Owner"),
    ("dispatcher", "Dispatcher"),
    ("technician", "Technician"),
    ("viewer", "Viewer"),
];

/// A place for the script to show what a call answered (an invite link, a token, a code).
fn output(name: &str, intro: &str) -> Markup {
    html! {
        div.shown data-output=(name) hidden {
            p { (intro) }
            code.secret {}
        }
    }
}

pub fn team(viewer: &Viewer<'_>, users: &[User], now_ms: i64, support: Option<Markup>) -> Markup {
    let manage = viewer.can(Permission::ManageUsers);
    let body = html! {
        h1 { "Team" }
        @if manage {
            section.card id="invite" {
                h2 { "Invite someone" }
                (api_form(&Api::new("POST", "/api/v1/users/invites", "show:invite_url"), "invite", html! {
                    div.row {
                        (field("Email", "email", html! { input type="email" name="email" autocomplete="off"; }))
                        (field("Role", "role", select("role", &ROLES, "technician")))
                    }
                    (submit("Create invitation"))
                    (output("invite_url", "Send them this link (valid 7 days, works once):"))
                }))
            }
        }
        ul.rows.team {
            @for user in users {
                @let locked = user.locked_until.filter(|until| *until > now_ms);
                @if let Some(deleted_at) = user.deleted_at {
                    // The user deleted the account: only its number and when are left.
                    li.deleted data-user=(user.id) {
                        span.title { (user.name) " " span.role { (user.role) }
                            " " span.badge.cancelled { "Deleted" } }
                        span.meta { "Account deleted by its user " (when(viewer, deleted_at))
                            "; what they did stays on record under this name." }
                    }
                } @else {
                li data-user=(user.email) {
                    span.title { (user.name) " " span.role { (user.role) }
                        @if !user.is_active() { " " span.badge.cancelled { "Deactivated" } }
                        @if let Some(until) = locked { " " span.badge.on_hold { "Locked until " (when(viewer, until)) } }
                    }
                    span.meta { (user.email) " · " @if user.mfa_enabled() { "two-factor on" } @else { "no two-factor" } }
                    @if manage {
                        div.controls {
                            (api_form(&Api::new("PATCH", &format!("/api/v1/users/{}", user.id), "reload").versioned(user.version),
                                "inline role", html! {
                                    label { span.label { "Role" } (select("role", &ROLES, &user.role)) }
                                    button.secondary type="submit" { "Change role" }
                                }))
                            @if user.id != viewer.user_id {
                            (api_form(&Api::new("PATCH", &format!("/api/v1/users/{}", user.id), "reload").versioned(user.version),
                                "inline", html! {
                                    @if user.is_active() {
                                        input type="hidden" name="active" value="false" data-type="bool";
                                        button.secondary.danger type="submit" { "Deactivate" }
                                    } @else {
                                        input type="hidden" name="active" value="true" data-type="bool";
                                        button.secondary type="submit" { "Reactivate" }
                                    }
                                }))
                            }
                            @if locked.is_some() {
                                (api_form(&Api::new("POST", &format!("/api/v1/users/{}/unlock", user.id), "reload"),
                                    "inline", html! { button.secondary type="submit" { "Unlock" } }))
                            }
                        }
                    }
                }
                }
            }
        }
        @if let Some(card) = support { (card) }
    };
    shell(viewer, Section::Team, "Team", body)
}

/// What the settings page shows besides the company.
pub struct Mine<'a> {
    pub mfa_enabled: bool,
    pub recovery_codes_left: i64,
    pub links: &'a [LinkRow],
    pub tokens: &'a [AccessToken],
    /// Connected apps: the user's own, or for those who manage the team everyone's.
    pub apps: &'a [crate::db::oauth::GrantRow],
}

/// The bell's page: each notice with its time; unread ones marked, and one button reads all.
pub fn notifications(viewer: &Viewer<'_>, rows: &[Notification]) -> Markup {
    let body = html! {
        h1 { "Notices" }
        @if rows.is_empty() {
            p.empty { "Nothing to tell you yet. Notices about your account show here." }
        } @else {
            @if rows.iter().any(|n| n.read_at.is_none()) {
                (api_form(&Api::new("POST", "/api/v1/me/notifications/read", "reload"), "read-all", html! {
                    (submit("Mark all read"))
                }))
            }
            ul.notices {
                @for row in rows {
                    @let notice = NotificationView::with_times(row, &|ms| when(viewer, ms));
                    li.notice.unread[!notice.read] {
                        h2 { (notice.title) @if !notice.read { " " span.badge { "new" } } }
                        p { (notice.body) }
                        // A customer's text is answered from the customer's page.
                        @if let Some(customer) = notice.data["customer_id"].as_str() {
                            p { a href=(format!("/customers/{}#messages", encode_component(customer))) { "Open the conversation" } }
                        }
                        p.meta { (when(viewer, row.created_at)) }
                    }
                }
            }
        }
    };
    shell(viewer, Section::None, "Notices", body)
}

/// `messages`: the card of automatic messages to customers (`message_settings::card`).
pub fn settings(
    viewer: &Viewer<'_>,
    company: &Settings,
    mine: &Mine<'_>,
    messages: Markup,
) -> Markup {
    let body = html! {
        h1 { "Settings" }
        div.split {
            div.primary {
                section.card id="company" {
                    h2 { "Company" }
                    @if viewer.can(Permission::ManageSettings) {
                        (api_form(&Api::new("PATCH", "/api/v1/settings", "reload").versioned(company.version), "company", html! {
                            (field("Name", "name", text("name", &company.name)))
                            div.row {
                                (field_hint("Time zone", "time_zone", text("time_zone", &company.time_zone), "IANA name, e.g. America/Toronto"))
                                (field("Currency", "currency", text("currency", &company.currency)))
                            }
                            div.row {
                                (field("Email", "email", optional("email", company.email.as_deref())))
                                (field("Phone", "phone", optional("phone", company.phone.as_deref())))
                            }
                            (field("Address", "address", optional("address", company.address.as_deref())))
                            div.field data-field="mfa_required" {
                                label.check {
                                    input type="checkbox" name="mfa_required" data-type="bool" checked[company.mfa_required == 1];
                                    " Require two-factor sign-in for everyone"
                                }
                            }
                            (submit("Save company settings"))
                        }))
                    } @else {
                        dl.facts {
                            dt { "Name" } dd { (company.name) }
                            dt { "Time zone" } dd { (company.time_zone) }
                            dt { "Currency" } dd { (company.currency) }
                            dt { "Two-factor" } dd { @if company.mfa_required == 1 { "Required" } @else { "Optional" } }
                        }
                    }
                }
                section.card id="billing" {
                    h2 { "Quotes and invoices" }
                    @if viewer.can(Permission::ManageSettings) {
                        (api_form(&Api::new("PATCH", "/api/v1/settings", "reload").versioned(company.version), "billing", html! {
                            div.row {
                                (field_hint("Default tax rate (%)", "default_tax_rate_ppm", html! {
                                    input type="text" inputmode="decimal" name="default_tax_rate_ppm" data-type="percent"
                                        value=(decimal(company.default_tax_rate_ppm, 4));
                                }, "Given to new lines; each line may have its own."))
                                (field("Tax rounding", "rounding", select("rounding", &ROUNDINGS, &company.rounding)))
                            }
                            div.row {
                                (field_hint("Invoice number prefix", "invoice_prefix", text("invoice_prefix", &company.invoice_prefix),
                                    "Invoices are numbered without gaps: INV-0001, INV-0002…"))
                                (field("Payment terms (days)", "payment_terms_days", html! {
                                    input type="number" name="payment_terms_days" min="0" max="365" data-type="int"
                                        value=(company.payment_terms_days);
                                }))
                            }
                            (field_hint("Brand colour", "brand_color", text("brand_color", &company.brand_color), "Shown on the customer's pages, like #1f5f8b."))
                            (submit("Save billing settings"))
                        }))
                    } @else {
                        dl.facts {
                            dt { "Default tax rate" } dd { (decimal(company.default_tax_rate_ppm, 4)) "%" }
                            dt { "Tax rounding" } dd { (label(&company.rounding)) }
                            dt { "Invoice prefix" } dd { (company.invoice_prefix) }
                            dt { "Payment terms" } dd { (company.payment_terms_days) " days" }
                        }
                    }
                }
                (files::settings(viewer, company))
                (schedule::settings(viewer, company))
                (messages)
                section.card id="password" {
                    h2 { "Password" }
                    (api_form(&Api::new("POST", "/api/v1/me/password", "reload"), "password", html! {
                        (field("Current password", "current_password", html! { input type="password" name="current_password" autocomplete="current-password"; }))
                        (field("New password", "new_password", html! { input type="password" name="new_password" autocomplete="new-password"; }))
                        (submit("Change password"))
                    }))
                }
            }
            div.secondary {
                section.card id="mfa" {
                    h2 { "Two-factor sign-in" }
                    @if mine.mfa_enabled {
                        p.ok { "On. " (mine.recovery_codes_left) " recovery codes left." }
                        a href="/mfa" { "Manage" }
                    } @else {
                        p { "Off." }
                        a.button href="/mfa" { "Set up two-factor sign-in" }
                    }
                }
                section.card id="links" {
                    h2 { "Telegram and SMS" }
                    p.muted { "Link a chat or phone to work with fieldworker by message." }
                    ul.rows {
                        @for link in mine.links {
                            li { span.title { (label(&link.channel)) " " (link.address) }
                                (api_form(&Api::new("DELETE", &format!("/api/v1/me/links/{}", link.id), "reload"), "inline",
                                    html! { button.secondary type="submit" { "Unlink" } })) }
                        }
                    }
                    (api_form(&Api::new("POST", "/api/v1/me/links", "show:code"), "link-code", html! {
                        (submit("Get a link code"))
                        (output("code", "Valid 15 minutes: send /link CODE to the bot, or text LINK CODE."))
                    }))
                }
                section.card id="apps" {
                    h2 { "Connected apps" }
                    p.muted { "MCP clients you allowed to act as you, signing in through this site. \
                               Revoking one stops it at once." }
                    @if mine.apps.is_empty() {
                        p.empty { "No app is connected." }
                    }
                    ul.rows {
                        @for app in mine.apps {
                            li {
                                span.title { (app.client_name) " " span.badge { (app.scope) } }
                                span.meta {
                                    @if app.user_id != viewer.user_id { (app.user_name) " · " }
                                    "Allowed " (when(viewer, app.created_at))
                                    @if let Some(used) = app.last_used_at { " · last used " (when(viewer, used)) } }
                                (api_form(&Api::new("DELETE", &format!("/api/v1/me/apps/{}", app.id), "reload").versioned(app.version),
                                    "inline", html! { button.secondary.danger type="submit" { "Revoke" } }))
                            }
                        }
                    }
                }
                section.card id="tokens" {
                    h2 { "Access tokens" }
                    p.muted { "For the API and MCP clients; a token acts as you." }
                    ul.rows {
                        @for token in mine.tokens {
                            li {
                                span.title { (token.name)
                                    @if token.revoked_at.is_some() { " " span.badge.cancelled { "Revoked" } } }
                                span.meta { "Created " (when(viewer, token.created_at))
                                    @if let Some(exp) = token.expires_at { " · expires " (when(viewer, exp)) }
                                    @if let Some(used) = token.last_used_at { " · last used " (when(viewer, used)) } }
                                @if token.revoked_at.is_none() {
                                    (api_form(&Api::new("DELETE", &format!("/api/v1/tokens/{}", token.id), "reload").versioned(token.version),
                                        "inline", html! { button.secondary.danger type="submit" { "Revoke" } }))
                                }
                            }
                        }
                    }
                    (api_form(&Api::new("POST", "/api/v1/tokens", "show:token"), "new-token", html! {
                        div.row {
                            (field("Name", "name", text("name", "")))
                            (field_hint("Expires in (days)", "expires_in_days", html! {
                                input type="number" name="expires_in_days" min="1" max="366" placeholder="90" data-type="int" data-optional;
                            }, "90 days if left empty; at most 366."))
                        }
                        (password_again())
                        (submit("Create token"))
                        (output("token", "Copy it now: it is shown only once."))
                    }))
                }
                section.card id="delete-account" {
                    h2 { "Delete your account" }
                    p.muted { "Erases your name, email address and sign-in secrets for good. \
                               What you did stays on the record, as a deleted user." }
                    a.button.secondary.danger href="/settings/delete-account" { "Delete my account…" }
                }
            }
        }
    };
    shell(viewer, Section::Settings, "Settings", body)
}

/// What the account deletion page knows.
pub struct Deletion {
    pub mfa_enabled: bool,
    /// The user is the company's only active owner: ownership must move first.
    pub last_owner: bool,
}

/// The confirmation before a user deletes their own account: what it does, what stays, and
/// the password (and a current code) it takes.
pub fn delete_account(viewer: &Viewer<'_>, deletion: &Deletion) -> Markup {
    let body = html! {
        h1 { "Delete your account" }
        section.card.danger-zone {
            @if deletion.last_owner {
                p.form-error role="alert" {
                    "You are the company's only active owner, so your account cannot be deleted: \
                     the company would have nobody to run it. Make someone else an owner first."
                }
                p { a.button href="/team" { "Go to the team" } " " a href="/settings" { "Back to settings" } }
            } @else {
                p.warning role="alert" {
                    strong { "This cannot be undone." }
                    " Your account is closed at once and for good: you are signed out everywhere, \
                      and your access tokens, connected apps and Telegram or SMS links stop working."
                }
                ul {
                    li { "Your name, email address and two-factor secrets are erased: nobody, not even \
                          the company's owners or its operator, can read them again." }
                    li { "What you did stays in the company's records and audit trail, shown as \
                          \"Deleted user #n\" instead of your name." }
                    li { "The same email address can be invited again later, as a new account." }
                }
                (api_form(&Api::new("POST", "/api/v1/me/delete", "go:/login"), "delete-account", html! {
                    (field("Your password", "password", html! {
                        input type="password" name="password" autocomplete="current-password" required;
                    }))
                    @if deletion.mfa_enabled {
                        (field_hint("Two-factor code", "code", html! {
                            input type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
                                pattern="[0-9]*" maxlength="6" required;
                        }, "The 6-digit code your authenticator app shows now."))
                    }
                    div.actions {
                        button.danger type="submit" { "Delete my account for good" }
                        " " a href="/settings" { "Keep my account" }
                    }
                }))
            }
        }
    };
    shell(viewer, Section::Settings, "Delete your account", body)
}

/// The audit list's filters as asked.
#[derive(Default)]
pub struct AuditFilter<'a> {
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub actor_id: &'a str,
    pub since: &'a str,
    /// One support session's timeline.
    pub support: &'a str,
}

pub fn audit(
    viewer: &Viewer<'_>,
    filter: &AuditFilter<'_>,
    rows: &[AuditRow],
    people: &People<'_>,
    next_cursor: Option<i64>,
) -> Markup {
    let mut actors: Vec<(&str, &str)> = vec![("", "Anyone")];
    actors.extend(people.0.iter().map(|p| (p.id.as_str(), p.name.as_str())));
    let query = format!(
        "action={}&entity={}&entity_id={}&actor_id={}&since={}&support={}",
        encode_component(filter.action),
        encode_component(filter.entity),
        encode_component(filter.entity_id),
        encode_component(filter.actor_id),
        encode_component(filter.since),
        encode_component(filter.support)
    );
    let body = html! {
        h1 { "Audit trail" }
        p.verify data-verify-audit role="status" { "Checking the chain…" }
        @if !filter.support.is_empty() {
            p.notice { "One support session's timeline: its request, approval, start, every action and its end. "
                a href="/audit" { "Show everything" } }
        }
        form.filters method="get" action="/audit" {
            @if !filter.support.is_empty() { input type="hidden" name="support" value=(filter.support); }
            label { span.label { "Action" } input type="text" name="action" value=(filter.action) placeholder="job.created"; }
            label { span.label { "Entity" } input type="text" name="entity" value=(filter.entity) placeholder="job"; }
            label { span.label { "Entity id" } input type="text" name="entity_id" value=(filter.entity_id); }
            label { span.label { "Who" } (select("actor_id", &actors, filter.actor_id)) }
            label { span.label { "Since" } input type="date" name="since" value=(filter.since); }
            button type="submit" { "Filter" }
        }
        @if rows.is_empty() { p.muted { "No events match." } }
        ol.rows.audit {
            @for row in rows {
                li {
                    span.title { "#" (row.seq) " " code { (row.action) } " " (entity_link(row)) }
                    span.meta { (when_text(viewer, &row.at)) " · " (actor(people, row))
                        @if let Some(ip) = &row.ip { " · " (ip) } }
                    @if row.before.is_some() || row.after.is_some() {
                        details { summary { "Change" }
                            @if let Some(before) = &row.before { p { "Before: " code.json { (before) } } }
                            @if let Some(after) = &row.after { p { "After: " code.json { (after) } } }
                        }
                    }
                }
            }
        }
        @if let Some(cursor) = next_cursor {
            p.more { a href=(format!("/audit?{query}&cursor={cursor}")) { "Older →" } }
        }
    };
    shell(viewer, Section::Audit, "Audit trail", body)
}

fn entity_link(row: &AuditRow) -> Markup {
    let path = match (row.entity.as_str(), &row.entity_id) {
        ("job", Some(id)) => Some(format!("/jobs/{id}")),
        ("customer", Some(id)) => Some(format!("/customers/{id}")),
        _ => None,
    };
    html! {
        @match path {
            Some(path) => a href=(path) { (row.entity) },
            None => span { (row.entity) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::permissions::Role;
    use crate::views::pages::tests::viewer;

    fn user(email: &str, locked_until: Option<i64>) -> User {
        User {
            id: format!("id-{email}"),
            email: email.into(),
            name: "Dee <D>".into(),
            role: "dispatcher".into(),
            password_hash: Some("$pbkdf2-sha256$secret".into()),
            active: 1,
            totp_secret: Some("SECRET".into()),
            totp_pending: None,
            totp_last_step: None,
            session_epoch: 1,
            version: 3,
            created_at: String::new(),
            updated_at: String::new(),
            locked_until,
            password_change_required: 0,
            company_mfa_required: None,
            unread_notifications: None,
            ..User::default()
        }
    }

    #[test]
    fn owners_manage_the_team_and_dispatchers_only_see_it() {
        let users = [
            user("dee@x.example", Some(2_000)),
            user("vic@x.example", None),
        ];
        let html = team(&viewer(Role::Owner), &users, 1_000, None).into_string();
        assert!(html.contains("/api/v1/users/invites"));
        assert!(html.contains("/api/v1/users/id-dee@x.example/unlock"));
        assert!(!html.contains("/api/v1/users/id-vic@x.example/unlock"));
        assert!(html.contains("Dee &lt;D&gt;"));
        assert!(
            !html.contains("SECRET") && !html.contains("pbkdf2"),
            "no secrets"
        );
        let html = team(&viewer(Role::Dispatcher), &users, 1_000, None).into_string();
        assert!(!html.contains("data-action"));
        assert_eq!(ROLES.len(), Role::ALL.len());
    }

    #[test]
    fn a_customers_text_links_to_their_conversation() {
        let rows = [Notification {
            id: "n1".into(),
            kind: "customer_message".into(),
            data: r#"{"customer_id":"c 1","name":"Ann","preview":"Hi","others":0}"#.into(),
            created_at: 0,
            read_at: None,
        }];
        let html = notifications(&viewer(Role::Dispatcher), &rows).into_string();
        assert!(
            html.contains(r#"href="/customers/c%201#messages""#),
            "{html}"
        );
    }
}
