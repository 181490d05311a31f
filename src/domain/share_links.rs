//! Share links: how a customer sees one quote or invoice without signing in. A link is a
//! random 24-character token (`[A-Za-z0-9]`, about 143 bits), shown once and stored only as its
//! SHA-256; it names one document, expires, and can be revoked. What may be shared, for how
//! long, and whether a link still opens are decided here; the page itself lives elsewhere.

use crate::json;

use crate::domain::audit::SealKey;
use crate::domain::invoices::InvoiceStatus;
use crate::domain::quotes::QuoteStatus;
use crate::domain::time::Millis;
use crate::error::{AppError, ErrorKind};

pub const TOKEN_LEN: usize = 24;
/// How long a link lasts when its maker does not say.
pub const DEFAULT_DAYS: i64 = 30;
pub const MAX_DAYS: i64 = 365;

/// What a link shows. The strings are those stored in `share_links.document_kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    Quote,
    Invoice,
}

impl DocumentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Quote => "quote",
            Self::Invoice => "invoice",
        }
    }
}

/// The path of the page a token opens.
pub fn url(token: &str) -> String {
    format!("/s/{token}")
}

/// The token of a link made for a message: derived from the link's id under the Worker's key,
/// so the outbox holds no token and every attempt to send the message carries the same link.
/// 24 hex digits (96 bits) of a MAC nobody without the key can compute: as unguessable as a
/// random token needs to be, and of the same shape.
pub fn derived_token(key: &SealKey, link_id: &str) -> String {
    let mut mac = key.mac("fieldworker message share link v1", &[link_id]);
    mac.truncate(TOKEN_LEN);
    mac
}

/// Whether `text` has the shape of a token, so anything else is refused before a lookup.
pub fn looks_like_token(text: &str) -> bool {
    text.len() == TOKEN_LEN && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// When a link made at `now` for `days` (default [`DEFAULT_DAYS`]) stops opening.
pub fn expires_at(now: Millis, days: Option<i64>) -> Result<Millis, AppError> {
    let days = days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(AppError::invalid_field(
            "expires_in_days",
            "A number of days from 1 to 365.",
        ));
    }
    Ok(now.plus(days.unsigned_abs() * Millis::DAY))
}

fn not_shareable(what: &str, status: &str, detail: &str) -> AppError {
    AppError::new(ErrorKind::Conflict)
        .with_detail(format!("A {what} that is {status} is not shared: {detail}"))
        .with_extension("current_status", json!(status))
}

/// A quote is shown to its customer once sent: to view, accept or decline it, and after
/// acceptance as the signed record. Drafts are not finished; a declined or expired quote is
/// revised and sent again first.
pub fn check_quote(status: QuoteStatus) -> Result<(), AppError> {
    match status {
        QuoteStatus::Sent | QuoteStatus::Viewed | QuoteStatus::Accepted => Ok(()),
        QuoteStatus::Draft => Err(not_shareable("quote", "draft", "send it first.")),
        other => Err(not_shareable(
            "quote",
            other.as_str(),
            "revise and send it again first.",
        )),
    }
}

/// An invoice (or credit note) is shown once issued, and not once void.
pub fn check_invoice(status: InvoiceStatus) -> Result<(), AppError> {
    match status {
        InvoiceStatus::Draft => Err(not_shareable("invoice", "draft", "issue it first.")),
        InvoiceStatus::Void => Err(not_shareable("invoice", "void", "it is cancelled.")),
        _ => Ok(()),
    }
}

/// Whether a link opens at `now`: not revoked, and `now` before its expiry.
pub fn is_open(expires_at: Millis, revoked: bool, now: Millis) -> bool {
    !revoked && now < expires_at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_finished_documents_are_shared() {
        for status in QuoteStatus::ALL {
            let ok = matches!(
                status,
                QuoteStatus::Sent | QuoteStatus::Viewed | QuoteStatus::Accepted
            );
            assert_eq!(check_quote(status).is_ok(), ok, "{status:?}");
        }
        for status in InvoiceStatus::ALL {
            let ok = !matches!(status, InvoiceStatus::Draft | InvoiceStatus::Void);
            assert_eq!(check_invoice(status).is_ok(), ok, "{status:?}");
        }
        let err = check_quote(QuoteStatus::Draft).unwrap_err();
        assert_eq!(err.status(), 409);
        assert_eq!(err.extensions["current_status"], "draft");
    }

    #[test]
    fn links_last_thirty_days_unless_told_and_at_most_a_year() {
        let now = Millis(1_000);
        assert_eq!(
            expires_at(now, None).unwrap(),
            Millis(1_000 + 30 * Millis::DAY)
        );
        assert_eq!(
            expires_at(now, Some(1)).unwrap(),
            Millis(1_000 + Millis::DAY)
        );
        for bad in [0, -1, 366] {
            let err = expires_at(now, Some(bad)).unwrap_err();
            assert_eq!(err.extensions["errors"][0]["field"], "expires_in_days");
        }
        let until = Millis(5_000);
        assert!(is_open(until, false, Millis(4_999)));
        assert!(!is_open(until, false, until));
        assert!(!is_open(until, true, Millis(0)));
    }

    #[test]
    fn tokens_have_one_shape() {
        assert!(looks_like_token("abcDEF0123456789abcDEF01"));
        assert!(!looks_like_token("abcDEF0123456789abcDEF0"));
        assert!(!looks_like_token("abcDEF0123456789abcDEF0!"));
        assert_eq!(url("abc"), "/s/abc");
        let key = SealKey::new("a test key that is at least thirty-two bytes long").unwrap();
        let token = derived_token(&key, "link-1");
        assert!(looks_like_token(&token));
        assert_eq!(token, derived_token(&key, "link-1"));
        assert_ne!(token, derived_token(&key, "link-2"));
    }
}
