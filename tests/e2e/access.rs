//! Cloudflare Access: a locally generated RSA key signs assertions the way Access does, and a
//! local certs endpoint serves its JWK set to the Worker.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::people::*;
use crate::spawn::{Options, Tenant};

const TEAM: &str = "acme.cloudflareaccess.com";
const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
const KID: &str = "key-2026-11";

fn keys() -> &'static (RsaPrivateKey, RsaPrivateKey) {
    static KEYS: OnceLock<(RsaPrivateKey, RsaPrivateKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut rng = rand::thread_rng();
        (
            RsaPrivateKey::new(&mut rng, 2048).expect("rsa key"),
            RsaPrivateKey::new(&mut rng, 2048).expect("rsa key"),
        )
    })
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Serves the JWK set (the first key only) at any path, like Access's certs endpoint.
fn certs_server() -> String {
    let key = keys().0.to_public_key();
    let body = json!({
        "keys": [{ "kid": KID, "kty": "RSA", "alg": "RS256", "use": "sig",
                   "n": b64(&key.n().to_bytes_be()), "e": b64(&key.e().to_bytes_be()) }],
        "public_cert": { "kid": KID, "cert": "-----BEGIN CERTIFICATE-----\n…" },
    })
    .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    base
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn assertion(signer: &RsaPrivateKey, claims: Value) -> String {
    let header = json!({ "alg": "RS256", "kid": KID, "typ": "JWT" });
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let signature = SigningKey::<Sha256>::new(signer.clone()).sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

fn claims(email: &str, aud: &str, exp: i64) -> Value {
    json!({ "aud": [aud], "email": email, "exp": exp, "iat": now() - 10, "nbf": now() - 10,
            "iss": format!("https://{TEAM}"), "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
            "type": "app", "identity_nonce": "6ei69kawdKzMIAPF", "country": "US" })
}

#[test]
fn an_access_assertion_signs_in_its_user_and_every_bad_one_is_refused() {
    let certs = certs_server();
    let tenant = Tenant::spawn_with(Options {
        vars: vec![
            ("ACCESS_TEAM_DOMAIN".into(), TEAM.into()),
            ("ACCESS_AUD".into(), AUD.into()),
            ("ACCESS_CERTS_URL".into(), certs),
        ],
        ..Options::default()
    });
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        201
    );
    // With Access in front, Access is the authorization server MCP clients are sent to, and
    // the Worker's own is not served.
    let metadata = tenant
        .get("/.well-known/oauth-protected-resource/mcp")
        .json();
    assert_eq!(
        metadata["authorization_servers"],
        json!([format!("https://{TEAM}")]),
        "{metadata}"
    );
    for path in [
        "/.well-known/oauth-authorization-server",
        "/oauth/authorize",
    ] {
        assert_eq!(tenant.get(path).status, 404, "{path}");
    }
    let (good_key, other_key) = keys();
    let me = |jwt: &str| {
        tenant
            .request("GET", "/api/v1/me")
            .header("Cf-Access-Jwt-Assertion", jwt)
            .send()
    };

    let good = me(&assertion(
        good_key,
        claims("Olive@Acme-Heating.example", AUD, now() + 600),
    ));
    assert_eq!(good.status, 200, "{}", good.body);
    assert_eq!(good.json()["user"]["email"], OWNER_EMAIL);
    assert_eq!(good.json()["authenticated_by"], "access");

    let cases = [
        (
            "expired",
            assertion(good_key, claims(OWNER_EMAIL, AUD, now() - 600)),
        ),
        (
            "wrong aud",
            assertion(good_key, claims(OWNER_EMAIL, "another-app", now() + 600)),
        ),
        (
            "wrong key",
            assertion(other_key, claims(OWNER_EMAIL, AUD, now() + 600)),
        ),
        (
            "unknown user",
            assertion(
                good_key,
                claims("stranger@acme-heating.example", AUD, now() + 600),
            ),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (why, jwt) in cases {
        let reply = me(&jwt);
        let problem = reply.problem(401);
        assert!(
            !reply.body.contains("kid"),
            "{why}: reasons stay in the log: {problem}"
        );
    }

    // Access's cookie rides on any request the browser makes: another site's page (or a
    // sandboxed frame) cannot post through it; our own pages and scripts without a browser
    // can.
    let jwt = assertion(good_key, claims(OWNER_EMAIL, AUD, now() + 600));
    let post = |origin: Option<&str>| {
        let mut call = tenant
            .request("POST", "/api/v1/customers")
            .header("Cf-Access-Jwt-Assertion", &jwt)
            .json(&json!({ "name": "Ann Lee" }));
        if let Some(origin) = origin {
            call = call.header("Origin", origin);
        }
        call.send()
    };
    post(Some("https://evil.example")).problem(403);
    post(Some("null")).problem(403);
    assert_eq!(post(Some(&tenant.base)).status, 201);
    assert_eq!(post(None).status, 201);

    // A security change needs a fresh Access sign-in (the assertion's `iat` within 10 minutes),
    // else the password, exactly as a browser session does.
    let enrol = |iat: i64, body: Value| {
        let mut claims = claims(OWNER_EMAIL, AUD, now() + 600);
        claims["iat"] = json!(iat);
        tenant
            .request("POST", "/api/v1/me/mfa/enroll")
            .header("Cf-Access-Jwt-Assertion", &assertion(good_key, claims))
            .json(&body)
            .send()
    };
    let stale = enrol(now() - 20 * 60, json!({}));
    let problem = stale.problem(422);
    assert_eq!(problem["errors"][0]["field"], "password", "{problem}");
    let with_password = enrol(now() - 20 * 60, json!({ "password": OWNER_PASSWORD }));
    assert_eq!(with_password.status, 200, "{}", with_password.body);
    let fresh = enrol(now() - 60, json!({}));
    assert_eq!(fresh.status, 200, "{}", fresh.body);
}

#[test]
fn access_assertions_are_ignored_when_access_is_not_configured() {
    let tenant = Tenant::spawn();
    assert_eq!(
        create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status,
        201
    );
    let jwt = assertion(&keys().0, claims(OWNER_EMAIL, AUD, now() + 600));
    tenant
        .request("GET", "/api/v1/me")
        .header("Cf-Access-Jwt-Assertion", &jwt)
        .send()
        .problem(401);
    // MCP's refusal still points clients at the resource metadata.
    let refused = tenant
        .request("POST", "/mcp")
        .header("Cf-Access-Jwt-Assertion", &jwt)
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }))
        .send();
    assert_eq!(refused.status, 401, "{}", refused.body);
    let challenge = refused.header("www-authenticate").unwrap_or_default();
    assert!(
        challenge.contains("resource_metadata=")
            && challenge.contains("/.well-known/oauth-protected-resource"),
        "{challenge}"
    );
}
