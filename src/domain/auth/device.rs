//! Device cookies (OWASP's answer to lockouts as denial of service): a browser that has signed
//! in to an account before carries proof of it, and its attempts count against a cap of its
//! own instead of the account's. A stranger's burst still locks the account after five
//! failures, for strangers; the people who use it keep signing in from their own browsers.
//!
//! The cookie holds a random device id and, for each account signed in from this browser (the
//! newest few), a MAC over the id and the address under the Worker's key: nobody without the
//! key can make one, and one copied from another browser only ever helps the accounts it
//! names. Pure: the glue reads the cookie and the key.

use crate::domain::audit::SealKey;

pub const DEVICE_COOKIE: &str = "fw_device";
/// A trusted browser stays trusted for a year after its last successful sign-in.
pub const DEVICE_LIFETIME_SECS: u64 = 365 * 24 * 3600;
/// Accounts remembered per browser (a shared office computer): the oldest is forgotten first.
pub const MAX_ACCOUNTS: usize = 5;
const DOMAIN: &str = "fieldworker device cookie v1";
/// 128 bits of MAC per account: as strong as the id, half the bytes.
const MAC_HEX: usize = 32;
const ID_LEN: usize = 22;

/// A parsed device cookie: `<id>.<mac>.<mac>…`, newest account first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: String,
    macs: Vec<String>,
}

impl Device {
    /// A cookie value of ours, or nothing (a malformed one is ignored, never an error).
    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split('.');
        let id = parts.next()?;
        let id_ok = id.len() == ID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let macs: Vec<String> = parts.take(MAX_ACCOUNTS).map(str::to_owned).collect();
        let macs_ok = !macs.is_empty()
            && macs.iter().all(|m| {
                m.len() == MAC_HEX && m.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
            });
        (id_ok && macs_ok).then(|| Self {
            id: id.to_owned(),
            macs,
        })
    }

    /// A new device with no account yet (`id`: 22 URL-safe random characters).
    pub fn new(id: String) -> Self {
        Self {
            id,
            macs: Vec::new(),
        }
    }

    /// Whether this browser has signed in to `email` before (the MAC is ours and names it).
    pub fn knows(&self, key: &SealKey, email: &str) -> bool {
        let expected = mac(key, &self.id, email);
        self.macs
            .iter()
            .any(|m| constant_time_eq(m.as_bytes(), expected.as_bytes()))
    }

    /// Remembers `email` as the newest account of this browser.
    pub fn remember(mut self, key: &SealKey, email: &str) -> Self {
        let entry = mac(key, &self.id, email);
        self.macs.retain(|m| *m != entry);
        self.macs.insert(0, entry);
        self.macs.truncate(MAX_ACCOUNTS);
        self
    }

    /// The cookie's value.
    pub fn value(&self) -> String {
        let mut value = self.id.clone();
        for m in &self.macs {
            value.push('.');
            value.push_str(m);
        }
        value
    }

    /// The `Set-Cookie` header: sent with every request to this site (sign-in is an API call
    /// from the page), never readable by scripts, never cross-site.
    pub fn set_cookie(&self, secure: bool) -> String {
        format!(
            "{DEVICE_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={DEVICE_LIFETIME_SECS}{}",
            self.value(),
            if secure { "; Secure" } else { "" }
        )
    }

    /// The attempts subject of this browser's sign-ins to the address whose blind index is
    /// `email_index` (`account::email_index`: the address itself is never stored there): its
    /// own cap, apart from the account's.
    pub fn subject(&self, email_index: &str) -> String {
        format!("device:{}:{email_index}", self.id)
    }
}

fn mac(key: &SealKey, id: &str, email: &str) -> String {
    let mut full = key.mac(DOMAIN, &[id, email]);
    full.truncate(MAC_HEX);
    full
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SealKey {
        SealKey::new("a test key that is at least thirty-two bytes long").unwrap()
    }

    fn other_key() -> SealKey {
        SealKey::new("another key, also at least thirty-two bytes long!").unwrap()
    }

    const ID: &str = "abcdefghijklmnopqrstuv";

    #[test]
    fn a_remembered_account_is_known_and_survives_the_cookie_round_trip() {
        let device = Device::new(ID.into()).remember(&key(), "dana@acme.example");
        let back = Device::parse(&device.value()).unwrap();
        assert_eq!(back, device);
        assert!(back.knows(&key(), "dana@acme.example"));
        assert!(!back.knows(&key(), "sam@acme.example"));
        assert!(
            !back.knows(&other_key(), "dana@acme.example"),
            "a cookie made under another key is not ours"
        );
    }

    #[test]
    fn a_mac_copied_to_another_device_id_proves_nothing() {
        let device = Device::new(ID.into()).remember(&key(), "dana@acme.example");
        let forged = format!(
            "zyxwvutsrqponmlkjihgfe.{}",
            device.value().split('.').nth(1).unwrap()
        );
        assert!(!Device::parse(&forged)
            .unwrap()
            .knows(&key(), "dana@acme.example"));
    }

    #[test]
    fn a_browser_remembers_its_newest_accounts_only_once_each() {
        let mut device = Device::new(ID.into());
        for i in 0..7 {
            device = device.remember(&key(), &format!("user{i}@acme.example"));
        }
        device = device.remember(&key(), "user6@acme.example");
        assert_eq!(device.macs.len(), MAX_ACCOUNTS);
        assert!(device.knows(&key(), "user6@acme.example"));
        assert!(device.knows(&key(), "user2@acme.example"));
        assert!(!device.knows(&key(), "user1@acme.example"));
    }

    #[test]
    fn malformed_cookies_are_ignored() {
        for value in [
            "",
            ID,
            "short.0123456789abcdef0123456789abcdef",
            "abcdefghijklmnopqrstuv.XYZ",
            "abcdefghijklmnopqrstu!.0123456789abcdef0123456789abcdef",
            "abcdefghijklmnopqrstuv.0123456789ABCDEF0123456789abcdef",
            "abcdefghijklmnopqrstuv.€€€€€€€€€€€€€€€€",
        ] {
            assert_eq!(Device::parse(value), None, "{value:?}");
        }
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_unless_local_http() {
        let device = Device::new(ID.into()).remember(&key(), "dana@acme.example");
        let cookie = device.set_cookie(true);
        assert!(cookie.starts_with("fw_device=abcdefghijklmnopqrstuv."));
        assert!(cookie.ends_with("; HttpOnly; SameSite=Strict; Max-Age=31536000; Secure"));
        assert!(!device.set_cookie(false).contains("Secure"));
    }
}
