//! Signed-in clients for the identity tests: creating owners and team members, signing in,
//! and sending requests the way a browser (cookie, Origin, CSRF token) or an API client
//! (bearer token) does. TOTP codes are computed here, independently of the Worker's code.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha1::Sha1;

use crate::spawn::{Call, Reply, Tenant};

pub const OWNER_EMAIL: &str = "olive@acme-heating.example";
pub const OWNER_PASSWORD: &str = "radiator-bleed-valve-42";

/// A browser-like client holding a session cookie and its CSRF token.
pub struct Browser<'a> {
    pub tenant: &'a Tenant,
    pub cookie: String,
    pub csrf: String,
    pub user: Value,
}

impl<'a> Browser<'a> {
    /// A request with the cookie, our Origin and the CSRF token, as our own pages send them.
    pub fn request(&self, method: &str, path: &str) -> Call<'a> {
        self.tenant
            .request(method, path)
            .header("Cookie", &self.cookie)
            .header("Origin", &self.tenant.base)
            .header("X-CSRF-Token", &self.csrf)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path).send()
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.request("POST", path).json(body).send()
    }

    /// The browser a response that started a session (sign-in, invitation) leaves signed in.
    pub fn from_reply(tenant: &'a Tenant, reply: &Reply) -> Self {
        let (cookie, csrf) = session_of(reply);
        Browser {
            tenant,
            cookie,
            csrf,
            user: reply.json()["user"].clone(),
        }
    }

    /// Replaces the session with the one a response started (login, rotation).
    pub fn adopt(&mut self, reply: &Reply) {
        let (cookie, csrf) = session_of(reply);
        self.cookie = cookie;
        self.csrf = csrf;
        self.user = reply.json()["user"].clone();
    }
}

/// The `name=value` cookie and CSRF token a sign-in response carries.
pub fn session_of(reply: &Reply) -> (String, String) {
    let set_cookie = reply
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie in {}: {}", reply.status, reply.body));
    let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
    let csrf = reply.json()["csrf_token"]
        .as_str()
        .expect("csrf_token")
        .to_owned();
    (cookie, csrf)
}

pub fn create_owner(tenant: &Tenant, email: &str, password: &str) -> Reply {
    tenant.ops_post(
        "/ops/owners",
        &json!({ "email": email, "password": password, "name": "Olive Owner" }),
    )
}

pub fn login(tenant: &Tenant, email: &str, password: &str) -> Reply {
    tenant
        .request("POST", "/api/v1/auth/login")
        .json(&json!({ "email": email, "password": password }))
        .send()
}

/// Signs in with a password (no MFA) and returns the browser.
pub fn sign_in<'a>(tenant: &'a Tenant, email: &str, password: &str) -> Browser<'a> {
    let reply = login(tenant, email, password);
    assert_eq!(reply.status, 200, "{}", reply.body);
    Browser::from_reply(tenant, &reply)
}

/// A tenant with its first owner, signed in.
pub fn owner(tenant: &Tenant) -> Browser<'_> {
    let created = create_owner(tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(created.status, 201, "{}", created.body);
    sign_in(tenant, OWNER_EMAIL, OWNER_PASSWORD)
}

/// Invites `email` with `role` and accepts the invitation; returns the new member signed in.
pub fn member<'a>(owner: &Browser<'a>, email: &str, role: &str, password: &str) -> Browser<'a> {
    let invite = owner.post(
        "/api/v1/users/invites",
        &json!({ "email": email, "role": role }),
    );
    assert_eq!(invite.status, 201, "{}", invite.body);
    let token = invite.json()["token"].as_str().expect("token").to_owned();
    let accepted = owner
        .tenant
        .request("POST", "/api/v1/auth/invites/accept")
        .json(&json!({ "token": token, "name": format!("{role} person"), "password": password }))
        .send();
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    Browser::from_reply(owner.tenant, &accepted)
}

/// Moves the tenant's clock forward.
pub fn advance_clock(tenant: &Tenant, ms: u64) {
    let reply = tenant.ops_post("/ops/clock", &json!({ "advance_ms": ms }));
    assert_eq!(reply.status, 200, "{}", reply.body);
}

pub const MINUTE: u64 = 60_000;

/// RFC 4226 HOTP / RFC 6238 TOTP (SHA-1, 6 digits, 30 s), written here from the RFCs so the
/// tests do not trust the Worker's own implementation.
pub fn totp(secret_base32: &str, unix_seconds: u64) -> String {
    let key = base32_decode(secret_base32);
    let counter = unix_seconds / 30;
    let mut mac = Hmac::<Sha1>::new_from_slice(&key).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let binary = (u32::from(digest[offset]) & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    format!("{:06}", binary % 1_000_000)
}

fn base32_decode(input: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0u64;
    let mut count = 0;
    let mut out = Vec::new();
    for c in input.bytes().filter(|c| *c != b'=') {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("base32") as u64;
        bits = (bits << 5) | value;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    out
}

/// The Worker's notion of now, given how far the test moved its clock.
pub fn worker_now_secs(offset_ms: u64) -> u64 {
    let real = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    (real + offset_ms) / 1_000
}

/// Whether a reply is a refusal on identity grounds (401) or role grounds (403).
pub fn refused(reply: &Reply) -> bool {
    matches!(reply.status, 401 | 403)
}

#[test]
fn the_test_totp_matches_the_rfc_6238_sha1_vectors() {
    // RFC 6238 appendix B (8-digit values), reduced to 6 digits.
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"; // "12345678901234567890"
    for (time, eight) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (2_000_000_000, "69279037"),
    ] {
        assert_eq!(totp(secret, time), eight[2..]);
    }
}
