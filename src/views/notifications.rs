//! In-app notices as the API and the dashboard's bell show them: the text is made here from the
//! notice's kind and data, so a stored notice never carries wording.

use maud::html;
use serde::Serialize;
use serde_json::Value;

use crate::db::notifications::Notification;
use crate::db::outbox::NoticeMail;
use crate::domain::time::Millis;

#[derive(Debug, Serialize)]
pub struct NotificationView<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub title: &'static str,
    pub body: String,
    /// What the text was made from (e.g. `until`: when a lock ends, as RFC 3339).
    pub data: Value,
    pub created_at: String,
    pub read: bool,
}

impl<'a> NotificationView<'a> {
    /// The notice with its times as RFC 3339 (the API's).
    pub fn new(row: &'a Notification) -> Self {
        Self::with_times(row, &at)
    }

    /// The notice with its times written by `time` (the dashboard's, in the company's zone).
    pub fn with_times(row: &'a Notification, time: &dyn Fn(i64) -> String) -> Self {
        let raw: Value = serde_json::from_str(&row.data).unwrap_or(Value::Null);
        let (title, body, data) = text(&row.kind, &raw, time);
        Self {
            id: &row.id,
            kind: &row.kind,
            title,
            body,
            data,
            created_at: at(row.created_at),
            read: row.read_at.is_some(),
        }
    }
}

/// An email's subject and its text and HTML parts.
#[derive(Debug)]
pub struct MailParts {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The email of a notice, in the company's name; times written by `time`.
pub fn notice_email(mail: &NoticeMail, time: &dyn Fn(i64) -> String) -> MailParts {
    let row = Notification {
        id: mail.id.clone(),
        kind: mail.kind.clone(),
        data: mail.data.clone(),
        created_at: mail.created_at,
        read_at: mail.read_at,
    };
    let notice = NotificationView::with_times(&row, time);
    let subject = format!("{}: {}", mail.company, notice.title);
    let footer = format!(
        "You get this email because it concerns your account at {}. It is also among your \
         notices in the dashboard.",
        mail.company
    );
    let text = format!(
        "Hello {},\n\n{}\n\n{}\n\n-- \n{}\n",
        mail.user_name, notice.body, footer, mail.company
    );
    let html = html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (subject) } }
            body style="font-family: system-ui, sans-serif; color: #1d2330; max-width: 36rem; margin: 0 auto; padding: 1rem;" {
                p style="font-weight: 600; font-size: 1.1rem; border-bottom: 3px solid #1f5f8b; padding-bottom: .5rem;" { (mail.company) }
                h1 style="font-size: 1.2rem;" { (notice.title) }
                p { "Hello " (mail.user_name) "," }
                p { (notice.body) }
                p style="color: #5b6475; font-size: .85rem;" { (footer) }
            }
        }
    }
    .into_string();
    MailParts {
        subject,
        text,
        html,
    }
}

fn text_of<'a>(data: &'a Value, key: &str) -> &'a str {
    data[key].as_str().unwrap_or("?")
}

fn at(ms: i64) -> String {
    Millis::from_ms(ms).to_rfc3339()
}

/// The title, body and shown data of a notice of `kind`.
fn text(kind: &str, data: &Value, time: &dyn Fn(i64) -> String) -> (&'static str, String, Value) {
    match kind {
        "account_locked" => {
            let until_ms = data["until"].as_i64();
            let until = until_ms.map(at);
            // A number bound from JavaScript may come back as 5.0.
            let failures = data["failures"].as_f64().unwrap_or(0.0) as i64;
            let body = format!(
                "Someone entered a wrong password for your account {failures} times, so \
                 sign-ins from browsers that have not signed in to it before are blocked \
                 until {}. Your own browsers can still sign in. If this was not you, consider \
                 a longer password and two-factor sign-in; an owner can lift the lock.",
                until_ms.map_or_else(|| "the lock ends".to_owned(), time)
            );
            (
                "Your account was locked after failed sign-ins",
                body,
                crate::json!({ "until": until, "failures": failures }),
            )
        }
        "mfa_disabled" => (
            "Two-factor sign-in was switched off",
            "Two-factor sign-in was switched off for your account. If this was not you, \
             change your password, switch it on again, and tell an owner."
                .to_owned(),
            data.clone(),
        ),
        "role_changed" => (
            "Your role changed",
            format!(
                "Your role is now {} (it was {}). What you can see and do follows it.",
                text_of(data, "to"),
                text_of(data, "from")
            ),
            data.clone(),
        ),
        "token_created" => {
            let expires = data["expires_at"].as_i64();
            (
                "A personal access token was made",
                format!(
                    "A personal access token named \u{201c}{}\u{201d} was made for your \
                     account{}. If this was not you, revoke it in Settings and change your \
                     password.",
                    text_of(data, "name"),
                    expires.map_or_else(String::new, |ms| format!("; it works until {}", time(ms)))
                ),
                crate::json!({ "name": data["name"], "expires_at": expires.map(at) }),
            )
        }
        "owner_added" => (
            "A new owner",
            format!(
                "{} ({}) is now an owner: they can change settings, the team and money.",
                text_of(data, "name"),
                text_of(data, "email")
            ),
            data.clone(),
        ),
        "company_mfa_off" => (
            "Two-factor sign-in is no longer required",
            "Requiring two-factor sign-in for everyone was switched off. If that was not \
             meant, switch it on again in Settings."
                .to_owned(),
            data.clone(),
        ),
        "new_device" => (
            "Signed in from a new browser",
            format!(
                "Your account was signed in to from a browser that had not been used for it \
                 before ({}{}). If this was not you, change your password now and switch on \
                 two-factor sign-in.",
                data["browser"]
                    .as_str()
                    .filter(|b| !b.is_empty())
                    .unwrap_or("unknown browser"),
                data["ip"]
                    .as_str()
                    .map(|ip| format!(", from {ip}"))
                    .unwrap_or_default()
            ),
            data.clone(),
        ),
        "customer_message" => {
            let others = data["others"].as_u64().unwrap_or(0);
            let shared = match others {
                0 => String::new(),
                1 => " (1 other customer has this number)".to_owned(),
                n => format!(" ({n} other customers have this number)"),
            };
            (
                "A customer texted",
                format!(
                    "{}{shared} texted: \u{201c}{}\u{201d} Answer from their page in the \
                     dashboard.",
                    text_of(data, "name"),
                    text_of(data, "preview")
                ),
                data.clone(),
            )
        }
        "file_rejected" => (
            "A file you uploaded was rejected",
            format!(
                "\u{201c}{}\u{201d} was rejected and will never be shown to anyone: {}",
                text_of(data, "name"),
                text_of(data, "reason")
            ),
            data.clone(),
        ),
        "support_requested" => {
            let scope: Vec<&str> = data["scope"]
                .as_array()
                .map(|kinds| kinds.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let can = if scope.is_empty() {
                "read everything, change nothing".to_owned()
            } else {
                format!("read everything and change {}", scope.join(", "))
            };
            let minutes = data["minutes"].as_i64().unwrap_or(0);
            let (title, next) = if data["preapproved"].as_bool() == Some(true) {
                (
                    "Support access was pre-approved",
                    "Your settings approve read-only support access without asking: their \
                     sign-in link is on its way. You can end the session from Team at any time.",
                )
            } else {
                (
                    "Support asks for access",
                    "Approve or refuse it on the Team page. Nothing happens until an owner \
                     approves.",
                )
            };
            (
                title,
                format!(
                    "{} asks to {can} for up to {minutes} minutes (ticket {}): \u{201c}{}\u{201d} \
                     Money, passwords, two-factor sign-in, the team, settings and deletions \
                     stay out of reach, and every action is in the audit trail. {next}",
                    text_of(data, "person"),
                    text_of(data, "ticket"),
                    text_of(data, "reason"),
                ),
                data.clone(),
            )
        }
        "owner_recovery" => (
            "An owner's account is being recovered",
            format!(
                "The operator sent {} ({}) a link to set a new password, because they could                  neither sign in nor use their authenticator. Using it turns two-factor sign-in                  off for that account until it is set up again. If nobody asked for this, tell                  the operator at once.",
                text_of(data, "name"),
                text_of(data, "email")
            ),
            data.clone(),
        ),
        "support_started" => (
            "A support session started",
            format!(
                "{} signed in for support; the session ends by itself at {}. End it earlier \
                 from the banner or the Team page.",
                text_of(data, "person"),
                data["ends_at"]
                    .as_i64()
                    .map_or_else(|| "its deadline".to_owned(), time)
            ),
            crate::json!({ "session_id": data["session_id"], "person": data["person"],
                           "ends_at": data["ends_at"].as_i64().map(at) }),
        ),
        "support_ended" => (
            "A support session ended",
            format!(
                "Support access for {} ended ({}). Its actions are in the audit trail.",
                text_of(data, "person"),
                match text_of(data, "by") {
                    "deadline" => "its time was up",
                    "support" => "they signed out",
                    _ => "an owner ended it",
                }
            ),
            data.clone(),
        ),
        "company_deletion_requested" => (
            "The company is to be deleted",
            format!(
                "{} asked for the whole company to be deleted. On {} every record, file and \
                 account is destroyed and cannot be brought back. Any owner can cancel until \
                 then, in Settings; owners can export the company's data first.",
                text_of(data, "by"),
                data["effective_at"]
                    .as_i64()
                    .map_or_else(|| "the end of the grace period".to_owned(), time)
            ),
            crate::json!({ "by": data["by"],
                           "effective_at": data["effective_at"].as_i64().map(at) }),
        ),
        "company_deletion_cancelled" => (
            "The company will not be deleted",
            format!(
                "{} cancelled the deletion of the company: everything stays as it was.",
                text_of(data, "by")
            ),
            data.clone(),
        ),
        _ => ("Notice", String::new(), data.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_notice_says_until_when_and_that_own_browsers_still_sign_in() {
        let row = Notification {
            id: "n1".into(),
            kind: "account_locked".into(),
            data: r#"{"until":1767225600000,"failures":5}"#.into(),
            created_at: 1_767_225_300_000,
            read_at: None,
        };
        let view = NotificationView::new(&row);
        assert!(
            view.body.contains("until 2026-01-01T00:00:00.000Z"),
            "{}",
            view.body
        );
        assert!(view.body.contains("5 times"));
        assert!(view.body.contains("Your own browsers can still sign in"));
        assert_eq!(view.data["until"], "2026-01-01T00:00:00.000Z");
        assert!(!view.read);
    }

    #[test]
    fn a_notice_email_is_in_the_companys_name_and_escapes_what_people_typed() {
        let mail = NoticeMail {
            id: "n1".into(),
            kind: "account_locked".into(),
            data: r#"{"until":1767225600000,"failures":5}"#.into(),
            created_at: 1_767_225_300_000,
            read_at: None,
            user_name: "Theo <b>".into(),
            company: "Acme & Sons".into(),
            company_email: None,
            time_zone: "UTC".into(),
        };
        let parts = notice_email(&mail, &|_| "1 Jan 2026 00:00".into());
        assert_eq!(
            parts.subject,
            "Acme & Sons: Your account was locked after failed sign-ins"
        );
        assert!(parts.text.starts_with("Hello Theo <b>,"));
        assert!(parts.text.contains("until 1 Jan 2026 00:00"));
        assert!(parts.html.contains("Hello Theo &lt;b&gt;,"));
        assert!(parts.html.contains("Acme &amp; Sons"));
    }

    #[test]
    fn a_customer_text_notice_quotes_it_and_names_the_customer() {
        let row = Notification {
            id: "n3".into(),
            kind: "customer_message".into(),
            data: r#"{"customer_id":"c1","name":"Ann Lee","preview":"Running late?","others":1}"#
                .into(),
            created_at: 0,
            read_at: None,
        };
        let view = NotificationView::new(&row);
        assert_eq!(view.title, "A customer texted");
        assert!(
            view.body.starts_with(
                "Ann Lee (1 other customer has this number) texted: \u{201c}Running late?\u{201d}"
            ),
            "{}",
            view.body
        );
        assert_eq!(view.data["customer_id"], "c1");
    }

    #[test]
    fn an_unknown_or_damaged_notice_still_shows() {
        let row = Notification {
            id: "n2".into(),
            kind: "from_the_future".into(),
            data: "not json".into(),
            created_at: 0,
            read_at: Some(1),
        };
        let view = NotificationView::new(&row);
        assert_eq!(view.title, "Notice");
        assert!(view.read);
    }
}
