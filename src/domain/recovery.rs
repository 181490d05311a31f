//! An operator's recovery of a sole owner who lost both password and authenticator: a link
//! emailed to the owner's own address (never a new account, never a password in the
//! operator's hands). The link is made from the Worker's key over the owner, its expiry and
//! the account's version, so nothing secret is stored and any change to the account — using
//! the link included — ends it.

use crate::domain::audit::SealKey;
use crate::domain::secrets::secrets_match;

/// How long a recovery link works.
pub const LINK_MINUTES: u64 = 60;

const DOMAIN: &str = "fieldworker owner recovery v1";
const MAC_HEX: usize = 40;

pub fn token(key: &SealKey, user_id: &str, expires_at: i64, version: i64) -> String {
    let expires = expires_at.to_string();
    let mut mac = key.mac(DOMAIN, &[user_id, &expires, &version.to_string()]);
    mac.truncate(MAC_HEX);
    format!("{user_id}.{expires}.{mac}")
}

/// The owner and expiry a token names (checked with [`matches`] against the account).
pub fn named(token: &str) -> Option<(&str, i64)> {
    let mut parts = token.split('.');
    let (user_id, expires, mac) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || user_id.is_empty() || user_id.len() > 64 || mac.len() != MAC_HEX {
        return None;
    }
    Some((user_id, expires.parse().ok()?))
}

pub fn matches(key: &SealKey, token: &str, user_id: &str, expires_at: i64, version: i64) -> bool {
    secrets_match(
        token.as_bytes(),
        self::token(key, user_id, expires_at, version).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_names_its_owner_and_dies_with_any_change_to_the_account() {
        let key = SealKey::new(&"k".repeat(32)).unwrap();
        let t = token(&key, "u1", 5_000, 3);
        assert_eq!(named(&t), Some(("u1", 5_000)));
        assert!(matches(&key, &t, "u1", 5_000, 3));
        assert!(
            !matches(&key, &t, "u1", 5_000, 4),
            "the account changed since"
        );
        assert!(!matches(&key, &t, "u1", 6_000, 3), "another expiry");
        assert!(!matches(&key, &t, "u2", 5_000, 3));
        assert_eq!(named("u1.notanumber.x"), None);
        assert_eq!(named("u1.5000"), None);
    }
}
