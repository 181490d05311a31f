//! Sessions, sign-in throttling and the random secrets handed to clients (session ids, MFA
//! challenges, invite links, personal access tokens). Pure: time and randomness come in.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::time::Millis;

/// A session ends after this long without a request…
pub const IDLE_TIMEOUT_MS: u64 = 30 * Millis::MINUTE;
/// …and this long after sign-in, whatever happens.
pub const ABSOLUTE_LIFETIME_MS: u64 = 12 * Millis::HOUR;
/// How stale `last_seen` may get before a request writes it back (KV allows about one write
/// per second per key, and most requests need none).
pub const TOUCH_INTERVAL_MS: u64 = Millis::MINUTE;
/// The window for the second sign-in step (the TOTP code).
pub const MFA_CHALLENGE_TTL_MS: u64 = 5 * Millis::MINUTE;

pub const SESSION_COOKIE: &str = "fw_session";

/// What KV holds for a session, under [`session_kv_key`] (a hash of the id, so a copy of KV
/// yields no usable cookie).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: String,
    /// The user's `session_epoch` when the session was made; a later epoch ends it.
    pub epoch: i64,
    pub created_ms: u64,
    pub last_seen_ms: u64,
    /// The per-session CSRF token, required on state-changing cookie requests.
    pub csrf: String,
    /// A support session's id: the session is support's, not the user's (`user_id` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Valid,
    IdleExpired,
    Expired,
}

/// How long after signing in a session may make security changes (two-factor, tokens) without
/// giving its password again.
pub const REAUTH_WINDOW_MS: u64 = 10 * 60 * 1_000;

impl SessionRecord {
    /// Whether the session was signed into (or renewed by a security change) within
    /// [`REAUTH_WINDOW_MS`].
    pub fn signed_in_recently(&self, now: Millis) -> bool {
        now.0 < self.created_ms.saturating_add(REAUTH_WINDOW_MS)
    }

    pub fn state(&self, now: Millis) -> SessionState {
        if now.0 >= self.created_ms.saturating_add(ABSOLUTE_LIFETIME_MS) {
            SessionState::Expired
        } else if now.0 >= self.last_seen_ms.saturating_add(IDLE_TIMEOUT_MS) {
            SessionState::IdleExpired
        } else {
            SessionState::Valid
        }
    }

    pub fn needs_touch(&self, now: Millis) -> bool {
        now.0 >= self.last_seen_ms.saturating_add(TOUCH_INTERVAL_MS)
    }

    /// Seconds KV should keep the record: until the earlier of the two timeouts.
    pub fn kv_ttl_secs(&self, now: Millis) -> u64 {
        let idle_end = now.0.saturating_add(IDLE_TIMEOUT_MS);
        let absolute_end = self.created_ms.saturating_add(ABSOLUTE_LIFETIME_MS);
        // KV refuses TTLs under 60 s.
        (idle_end.min(absolute_end).saturating_sub(now.0) / 1_000).max(60)
    }
}

/// What KV holds for a pending second sign-in step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaChallenge {
    pub user_id: String,
    pub epoch: i64,
    pub expires_ms: u64,
}

pub fn session_kv_key(session_id: &str) -> String {
    format!("session:{}", sha256_hex(session_id))
}

pub fn challenge_kv_key(challenge: &str) -> String {
    format!("mfa-challenge:{}", sha256_hex(challenge))
}

pub fn sha256_hex(value: &str) -> String {
    sha256_hex_of(value.as_bytes())
}

/// The SHA-256 of `bytes` in lowercase hex (a file's, a document's).
pub fn sha256_hex_of(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Set-Cookie` value for a session. `secure` is false only for plain-http local
/// development on 127.0.0.1 (browsers drop Secure cookies there).
pub fn session_cookie(session_id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{}",
        ABSOLUTE_LIFETIME_MS / 1_000,
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_session_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie_value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name && !value.is_empty()).then_some(value)
    })
}

/// A cookie-authenticated state-changing request must come from our own origin: browsers send
/// `Origin` on such requests, and a missing one is refused too.
pub fn origin_allowed(origin: Option<&str>, own_origin: &str) -> bool {
    origin.is_some_and(|o| o.eq_ignore_ascii_case(own_origin))
}

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` characters of `[0-9A-Za-z]`, unbiased: random bytes are drawn through `fill` and
/// bytes ≥ 248 (= 4 × 62) are rejected so every character is equally likely.
pub fn random_string(len: usize, mut fill: impl FnMut(&mut [u8])) -> String {
    let mut out = String::with_capacity(len);
    let mut buffer = [0u8; 64];
    while out.len() < len {
        fill(&mut buffer);
        for byte in buffer {
            if byte < 248 && out.len() < len {
                out.push(ALPHABET[usize::from(byte % 62)] as char);
            }
        }
    }
    out
}

/// Personal access tokens start with a prefix so they are recognisable in a leak scan.
pub const TOKEN_PREFIX: &str = "fwp_";
pub const TOKEN_RANDOM_LEN: usize = 40;

pub fn looks_like_access_token(value: &str) -> bool {
    value.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
        rest.len() == TOKEN_RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// Failed sign-in counting and lockout, per email address and per source IP.
pub mod lockout {
    use super::Millis;

    /// Failures allowed per email within the window before the address is locked.
    pub const EMAIL_MAX_FAILURES: i64 = 5;
    /// Failures allowed per IP within the window before the IP is throttled.
    pub const IP_MAX_FAILURES: i64 = 30;
    pub const WINDOW_MS: u64 = 15 * Millis::MINUTE;
    /// The first lock lasts this long; each further lock doubles it, up to the maximum.
    pub const BASE_LOCK_MS: u64 = 5 * Millis::MINUTE;
    pub const MAX_LOCK_MS: u64 = 24 * Millis::HOUR;

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub struct Attempts {
        pub failures: i64,
        pub window_start: u64,
        pub locked_until: Option<u64>,
        pub lockouts: i64,
    }

    /// How long to wait when an attempt was refused before it was checked without a lock in
    /// force: the window's attempts are all taken, and their outcomes (and maybe a lock) are
    /// only moments away.
    pub const BUSY_RETRY_MS: u64 = Millis::MINUTE;

    impl Attempts {
        /// How long an attempt refused before being checked should wait: the lock left, or
        /// [`BUSY_RETRY_MS`] while the window's attempts are taken.
        pub fn retry_after(&self, now: Millis) -> u64 {
            self.locked_for(now).unwrap_or(BUSY_RETRY_MS)
        }

        /// Milliseconds left on a lock, if one is in force.
        pub fn locked_for(&self, now: Millis) -> Option<u64> {
            self.locked_until
                .filter(|until| *until > now.0)
                .map(|until| until - now.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lockout::Attempts;
    use super::*;

    fn record() -> SessionRecord {
        SessionRecord {
            user_id: "u".into(),
            epoch: 0,
            created_ms: 1_000_000,
            last_seen_ms: 1_000_000,
            csrf: "c".into(),
            support: None,
        }
    }

    #[test]
    fn a_session_expires_when_idle_and_at_its_absolute_end() {
        let mut r = record();
        assert_eq!(
            r.state(Millis(1_000_000 + IDLE_TIMEOUT_MS - 1)),
            SessionState::Valid
        );
        assert_eq!(
            r.state(Millis(1_000_000 + IDLE_TIMEOUT_MS)),
            SessionState::IdleExpired
        );
        r.last_seen_ms = 1_000_000 + ABSOLUTE_LIFETIME_MS - 1;
        assert_eq!(
            r.state(Millis(1_000_000 + ABSOLUTE_LIFETIME_MS)),
            SessionState::Expired
        );
    }

    #[test]
    fn sessions_are_touched_at_most_once_a_minute_and_kept_in_kv_until_they_end() {
        let r = record();
        assert!(!r.needs_touch(Millis(1_000_000 + TOUCH_INTERVAL_MS - 1)));
        assert!(r.needs_touch(Millis(1_000_000 + TOUCH_INTERVAL_MS)));
        assert_eq!(r.kv_ttl_secs(Millis(1_000_000)), IDLE_TIMEOUT_MS / 1_000);
        let near_end = Millis(1_000_000 + ABSOLUTE_LIFETIME_MS - 10_000);
        assert_eq!(r.kv_ttl_secs(near_end), 60);
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_unless_local_http() {
        let cookie = session_cookie("abc", true);
        assert_eq!(
            cookie,
            "fw_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure"
        );
        assert!(!session_cookie("abc", false).contains("Secure"));
        assert!(clear_session_cookie(true).contains("Max-Age=0"));
    }

    #[test]
    fn cookie_values_are_found_by_exact_name() {
        let header = "a=1; fw_session=xyz; fw_session_old=no";
        assert_eq!(cookie_value(header, "fw_session"), Some("xyz"));
        assert_eq!(cookie_value("fw_session=", "fw_session"), None);
        assert_eq!(cookie_value("xfw_session=1", "fw_session"), None);
    }

    #[test]
    fn only_our_own_origin_passes_the_csrf_origin_check() {
        assert!(origin_allowed(
            Some("https://acme.example.com"),
            "https://acme.example.com"
        ));
        assert!(!origin_allowed(
            Some("https://evil.example"),
            "https://acme.example.com"
        ));
        assert!(!origin_allowed(None, "https://acme.example.com"));
        assert!(!origin_allowed(Some("null"), "https://acme.example.com"));
    }

    #[test]
    fn random_strings_use_the_whole_alphabet_and_skip_biased_bytes() {
        let mut counter = 0u8;
        let s = random_string(70, |buf| {
            for b in buf.iter_mut() {
                *b = counter;
                counter = counter.wrapping_add(1);
            }
        });
        assert_eq!(s.len(), 70);
        assert!(s.starts_with("0123456789ABC"));
        // Bytes ≥ 248 never produce a character; the fill is called until enough arrive.
        let mut calls = 0;
        let s = random_string(3, |buf| {
            calls += 1;
            buf.fill(if calls < 3 { 255 } else { 1 });
        });
        assert_eq!(s, "111");
        assert_eq!(calls, 3);
    }

    #[test]
    fn access_tokens_are_recognised_by_shape() {
        let token = format!("fwp_{}", "a".repeat(TOKEN_RANDOM_LEN));
        assert!(looks_like_access_token(&token));
        assert!(!looks_like_access_token("fwp_short"));
        assert!(!looks_like_access_token(&token.replace("fwp_", "xyz_")));
    }

    #[test]
    fn a_lock_is_in_force_only_until_its_end() {
        let a = Attempts {
            locked_until: Some(10_000),
            ..Attempts::default()
        };
        assert_eq!(a.locked_for(Millis(4_000)), Some(6_000));
        assert_eq!(a.locked_for(Millis(10_000)), None);
        assert_eq!(Attempts::default().locked_for(Millis(0)), None);
    }
}
