//! What people are told about their account and their company (the bell, and by email):
//! each notice's kind and the data its text is made from. Written in the batch of the change
//! that causes it; its occasion (the kind and the request) keeps it to once.
//!
//! What a notice says of people (names, addresses, a customer's words, an IP) is stored sealed
//! (DESIGN.md §9) under the data key of the person it is about ([`Notice::subject_key`]), else
//! of the user told, so erasing that person erases it here too.

use serde_json::Value;

use crate::domain::personal::{customer_key, pending};
use crate::domain::support::person_key;
use crate::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// To the user: two-factor sign-in was switched off on their account.
    MfaDisabled,
    /// To the user: their role changed.
    RoleChanged { from: String, to: String },
    /// To the user: a personal access token was made for their account.
    TokenCreated {
        name: String,
        expires_at: Option<i64>,
    },
    /// To every owner: someone became an owner.
    OwnerAdded { name: String, email: String },
    /// To every owner: the company no longer requires two-factor sign-in.
    CompanyMfaOff,
    /// To the user: their account was signed in to from a browser that had not been used for
    /// it before.
    NewDevice { ip: Option<String>, browser: String },
    /// To everyone who handles customers: a customer texted the office. `preview` is the
    /// start of the text; `others` how many more customers share that number.
    CustomerMessage {
        customer_id: String,
        name: String,
        preview: String,
        others: usize,
    },
    /// To its uploader: the scanner rejected a file after the upload was answered (malware
    /// found by the sweep, or never scannable).
    FileRejected {
        file_id: String,
        name: String,
        reason: String,
    },
    /// To every owner (the one recovered too): an operator sent an owner a recovery link.
    OwnerRecovery { name: String, email: String },
    /// To every owner: support asked for access (or was let in by the company's
    /// pre-approval of read-only requests).
    SupportRequested {
        session_id: String,
        person: String,
        reason: String,
        ticket: String,
        /// The record types support may change; empty is read-only.
        scope: Vec<&'static str>,
        minutes: i64,
        preapproved: bool,
    },
    /// To every owner: a support session started, and when it ends by itself.
    SupportStarted {
        session_id: String,
        person: String,
        ends_at: i64,
    },
    /// To every owner: a support session (or request) ended, and by whom.
    SupportEnded {
        session_id: String,
        person: String,
        by: String,
    },
    /// To everyone: an owner asked for the company to be deleted, and when it will be unless
    /// an owner cancels.
    CompanyDeletionRequested { by: String, effective_at: i64 },
    /// To everyone: an owner cancelled the company's deletion.
    CompanyDeletionCancelled { by: String },
}

/// How much of a customer's text a notice repeats.
pub const PREVIEW_CHARS: usize = 140;

impl Notice {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MfaDisabled => "mfa_disabled",
            Self::RoleChanged { .. } => "role_changed",
            Self::TokenCreated { .. } => "token_created",
            Self::OwnerAdded { .. } => "owner_added",
            Self::CompanyMfaOff => "company_mfa_off",
            Self::NewDevice { .. } => "new_device",
            Self::CustomerMessage { .. } => "customer_message",
            Self::FileRejected { .. } => "file_rejected",
            Self::OwnerRecovery { .. } => "owner_recovery",
            Self::SupportRequested { .. } => "support_requested",
            Self::SupportStarted { .. } => "support_started",
            Self::SupportEnded { .. } => "support_ended",
            Self::CompanyDeletionRequested { .. } => "company_deletion_requested",
            Self::CompanyDeletionCancelled { .. } => "company_deletion_cancelled",
        }
    }

    pub fn data(&self) -> Value {
        match self {
            Self::MfaDisabled | Self::CompanyMfaOff => json!({}),
            Self::RoleChanged { from, to } => json!({ "from": from, "to": to }),
            Self::TokenCreated { name, expires_at } => {
                json!({ "name": name, "expires_at": expires_at })
            }
            Self::OwnerAdded { name, email } => json!({ "name": name, "email": email }),
            Self::NewDevice { ip, browser } => json!({ "ip": ip, "browser": browser }),
            Self::CustomerMessage {
                customer_id,
                name,
                preview,
                others,
            } => json!({ "customer_id": customer_id, "name": name, "preview": preview,
                         "others": others }),
            Self::FileRejected {
                file_id,
                name,
                reason,
            } => json!({ "file_id": file_id, "name": name, "reason": reason }),
            Self::SupportRequested {
                session_id,
                person,
                reason,
                ticket,
                scope,
                minutes,
                preapproved,
            } => json!({ "session_id": session_id, "person": person, "reason": reason,
                         "ticket": ticket, "scope": scope, "minutes": minutes,
                         "preapproved": preapproved }),
            Self::OwnerRecovery { name, email } => json!({ "name": name, "email": email }),
            Self::SupportStarted {
                session_id,
                person,
                ends_at,
            } => json!({ "session_id": session_id, "person": person, "ends_at": ends_at }),
            Self::SupportEnded {
                session_id,
                person,
                by,
            } => json!({ "session_id": session_id, "person": person, "by": by }),
            Self::CompanyDeletionRequested { by, effective_at } => {
                json!({ "by": by, "effective_at": effective_at })
            }
            Self::CompanyDeletionCancelled { by } => json!({ "by": by }),
        }
    }

    /// The fields of [`Notice::data`] that are personal data.
    pub fn personal_fields(&self) -> &'static [&'static str] {
        match self {
            Self::MfaDisabled
            | Self::CompanyMfaOff
            | Self::RoleChanged { .. }
            | Self::TokenCreated { .. } => &[],
            Self::OwnerAdded { .. } | Self::OwnerRecovery { .. } => &["name", "email"],
            Self::NewDevice { .. } => &["ip"],
            Self::CustomerMessage { .. } => &["name", "preview"],
            Self::FileRejected { .. } => &["name"],
            Self::SupportRequested { .. } => &["person", "reason"],
            Self::SupportStarted { .. } => &["person"],
            Self::SupportEnded { .. } => &["person", "by"],
            Self::CompanyDeletionRequested { .. } | Self::CompanyDeletionCancelled { .. } => {
                &["by"]
            }
        }
    }

    /// The data key of the person a notice is about, when it names one: the customer who
    /// texted, or the support person (`p-<session id>`, whose session record is theirs).
    pub fn subject_key(&self) -> Option<String> {
        match self {
            Self::CustomerMessage { customer_id, .. } => Some(customer_key(customer_id)),
            Self::SupportRequested { session_id, .. }
            | Self::SupportStarted { session_id, .. }
            | Self::SupportEnded { session_id, .. } => Some(person_key(session_id)),
            _ => None,
        }
    }

    /// [`Notice::data`] as stored: its personal fields as pending tokens under `key`.
    pub fn sealed_data(&self, key: &str) -> Value {
        let mut data = self.data();
        for field in self.personal_fields() {
            if let Some(text) = data[*field].as_str() {
                data[*field] = Value::from(pending(key, text));
            }
        }
        data
    }

    /// The data key of a notice to several users about someone with no key of their own
    /// here: the notice's own (`n-` and its occasion), so it can be erased by itself.
    pub fn own_key(&self, request_id: &str) -> String {
        let occasion: String = self
            .occasion(request_id)
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(62)
            .collect();
        format!("n-{occasion}")
    }

    /// Its unique key: the kind and the request that caused it.
    pub fn occasion(&self, request_id: &str) -> String {
        format!("{}:{request_id}", self.kind())
    }
}

/// The start of a customer's text for a notice, on one line, cut with an ellipsis.
pub fn preview(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= PREVIEW_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(PREVIEW_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_customer_text_is_previewed_on_one_line_and_cut() {
        assert_eq!(preview("Running\n late,   10 min"), "Running late, 10 min");
        let long = preview(&"a".repeat(500));
        assert_eq!(long.chars().count(), PREVIEW_CHARS);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn each_notice_keeps_what_its_text_needs_and_is_once_per_request() {
        let notice = Notice::RoleChanged {
            from: "technician".into(),
            to: "owner".into(),
        };
        assert_eq!(
            notice.data(),
            json!({ "from": "technician", "to": "owner" })
        );
        assert_eq!(notice.occasion("r1"), "role_changed:r1");
        assert_ne!(notice.occasion("r1"), Notice::MfaDisabled.occasion("r1"));
    }

    #[test]
    fn a_notice_seals_what_it_says_of_people_under_their_key_and_nothing_else() {
        let notice = Notice::CustomerMessage {
            customer_id: "c1".into(),
            name: "Ann Lee".into(),
            preview: "Running late".into(),
            others: 0,
        };
        assert_eq!(notice.subject_key().as_deref(), Some("c-c1"));
        let data = notice.sealed_data("c-c1");
        assert_eq!(data["customer_id"], "c1");
        assert_eq!(data["others"], 0);
        let name = data["name"].as_str().unwrap();
        assert!(name.starts_with("fwp1.c-c1."));
        assert_eq!(
            crate::domain::personal::pending_text(name).as_deref(),
            Some("Ann Lee")
        );
        assert!(data["preview"].as_str().unwrap().starts_with("fwp1.c-c1."));

        let device = Notice::NewDevice {
            ip: None,
            browser: "Firefox".into(),
        };
        assert_eq!(device.subject_key(), None);
        assert_eq!(device.sealed_data("u-1"), device.data());
        let ended = Notice::SupportEnded {
            session_id: "s9".into(),
            person: "Pat".into(),
            by: "Ann".into(),
        };
        assert_eq!(ended.subject_key().as_deref(), Some("p-s9"));
        let key = Notice::MfaDisabled.own_key("req:1/2");
        assert_eq!(key, "n-mfa-disabled-req-1-2");
    }
}
