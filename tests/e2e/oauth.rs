//! The OAuth 2.1 authorization server for MCP clients: the official TypeScript SDK client
//! through the whole flow with the consent in headless Chromium (`tests/mcp/oauth.mjs`), and
//! each refusal the specifications ask for, over raw HTTP.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Reply, Tenant, OPS_TOKEN};

/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1:4000/callback";

fn form(pairs: &[(&str, &str)]) -> Vec<u8> {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn post_form(tenant: &Tenant, path: &str, pairs: &[(&str, &str)]) -> Reply {
    tenant
        .request("POST", path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(pairs))
        .send()
}

fn register(tenant: &Tenant, redirect: &str) -> String {
    let reply = tenant
        .request("POST", "/oauth/register")
        .json(
            &json!({ "client_name": "Test Client", "redirect_uris": [redirect],
                       "token_endpoint_auth_method": "none" }),
        )
        .send();
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["client_id"].as_str().unwrap().to_owned()
}

fn location(reply: &Reply) -> String {
    reply.header("location").unwrap_or_default().to_owned()
}

/// The value of `name` in a URL's query.
fn param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| decode(v))
    })
}

fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn authorize_path(client_id: &str, redirect: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect),
        ("state", "xyz"),
    ];
    pairs.extend_from_slice(extra);
    let query: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    format!("/oauth/authorize?{}", query.join("&"))
}

/// The consent, allowed by `browser`'s user through the page's form: the redirect it answers.
fn consent(browser: &Browser<'_>, client_id: &str, redirect: &str, scope: &str) -> Reply {
    browser
        .tenant
        .request("POST", "/oauth/consent")
        .header("Cookie", &browser.cookie)
        .header("Origin", &browser.tenant.base)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("client_id", client_id),
            ("redirect_uri", redirect),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", scope),
            ("state", "xyz"),
            ("csrf", &browser.csrf),
            ("decision", "allow"),
        ]))
        .send()
}

fn code_for(browser: &Browser<'_>, client_id: &str, scope: &str) -> String {
    let reply = consent(browser, client_id, REDIRECT, scope);
    assert_eq!(reply.status, 303, "{}", reply.body);
    let to = location(&reply);
    assert!(to.starts_with(REDIRECT), "{to}");
    assert_eq!(param(&to, "state").as_deref(), Some("xyz"));
    assert_eq!(
        param(&to, "iss").as_deref(),
        Some(browser.tenant.base.as_str())
    );
    param(&to, "code").expect("a code")
}

fn exchange(tenant: &Tenant, client_id: &str, code: &str, verifier: &str, redirect: &str) -> Reply {
    post_form(
        tenant,
        "/oauth/token",
        &[
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("code", code),
            ("code_verifier", verifier),
            ("redirect_uri", redirect),
            ("resource", &format!("{}/mcp", tenant.base)),
        ],
    )
}

fn tokens(tenant: &Tenant, client_id: &str, code: &str) -> Value {
    let reply = exchange(tenant, client_id, code, VERIFIER, REDIRECT);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn mcp(tenant: &Tenant, token: &str, body: Value) -> Reply {
    tenant
        .request("POST", "/mcp")
        .bearer(token)
        .header("Accept", "application/json, text/event-stream")
        .json(&body)
        .send()
}

fn tool_names(tenant: &Tenant, token: &str) -> Vec<String> {
    let reply = mcp(
        tenant,
        token,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn an_sdk_client_given_only_the_url_signs_in_consents_refreshes_and_a_reused_refresh_token_revokes_it(
) {
    let tenant = Tenant::spawn();
    owner(&tenant);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(root.join("node_modules/.bin/node"))
        .arg(root.join("tests/mcp/oauth.mjs"))
        .args([tenant.base.as_str(), OPS_TOKEN, OWNER_EMAIL, OWNER_PASSWORD])
        .current_dir(&root)
        .output()
        .expect("node runs the OAuth client");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line).unwrap_or_else(|e| {
        panic!(
            "oauth.mjs printed {line:?}: {e}\n{}\n--- worker log ---\n{}",
            String::from_utf8_lossy(&output.stderr),
            tenant.logs()
        )
    });
    assert_eq!(
        result["ok"],
        true,
        "{result}\n--- worker log ---\n{}",
        tenant.logs()
    );

    // The SDK found the server from the 401 alone and asked for PKCE S256 and this resource.
    assert_eq!(result["authorize"]["path"], "/oauth/authorize");
    assert_eq!(result["authorize"]["method"], "S256");
    assert_eq!(
        result["authorize"]["resource"],
        format!("{}/mcp", tenant.base)
    );
    // Signed in already, the user went straight to the consent, which names the app.
    let text = result["consent_text"].as_str().unwrap();
    assert!(text.contains("Allow Fieldworker E2E Client?"), "{text}");
    assert!(text.contains(OWNER_EMAIL), "{text}");
    assert_eq!(result["consent_violations"], json!([]), "WCAG 2.1 A/AA");
    assert_eq!(result["callback"]["state"], "state-e2e-42");
    assert_eq!(result["callback"]["iss"], tenant.base.as_str());
    assert_eq!(result["first_tokens"]["token_type"], "Bearer");
    assert_eq!(result["first_tokens"]["expires_in"], 3600);
    assert_eq!(result["first_tokens"]["scope"], "read write");
    assert_eq!(result["first_tokens"]["access_prefix"], "fwo_");
    assert_eq!(result["first_tokens"]["refresh_prefix"], "fwr_");
    let tools: Vec<&str> = result["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(tools.contains(&"create_job"), "{tools:?}");
    assert_eq!(
        result["whoami"]["user"]["email"], OWNER_EMAIL,
        "{}",
        result["whoami"]
    );
    // An hour on, the access token is refused with invalid_token; the SDK refreshed it.
    assert_eq!(result["expired"]["status"], 401);
    assert!(result["expired"]["challenge"]
        .as_str()
        .unwrap()
        .contains("error=\"invalid_token\""));
    assert_eq!(result["after_refresh"]["is_error"], false);
    assert_eq!(result["rotated"], true);
    // The first refresh token used again: refused, and the grant with every token is gone.
    assert_eq!(result["reuse"]["status"], 400);
    assert_eq!(result["reuse"]["body"]["error"], "invalid_grant");
    assert_eq!(result["current_token_after_reuse"], 401);
    assert_eq!(result["newest_refresh_after_reuse"]["status"], 400);
    assert_eq!(result["console_errors"], json!([]));

    // Audited: the grant (as the user who consented) and its revocation for the reuse. (The
    // session timed out while the clock moved on an hour.)
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let granted = owner.get("/api/v1/audit?action=oauth.granted");
    assert_eq!(granted.status, 200, "{}", granted.body);
    let events = granted.json()["events"].clone();
    assert_eq!(events.as_array().map(Vec::len), Some(1), "{events}");
    assert_eq!(events[0]["actor_id"], owner.user["id"]);
    let revoked = owner.get("/api/v1/audit?action=oauth.revoked");
    let events = revoked.json()["events"].clone();
    assert!(
        events.to_string().contains("refresh token reused"),
        "{events}"
    );
    // And no longer among the connected apps.
    let apps = owner.get("/api/v1/me/apps");
    assert_eq!(apps.json()["apps"], json!([]), "{}", apps.body);
}

#[test]
fn discovery_registration_and_authorization_refuse_what_the_specifications_refuse() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);

    // The 401 points at the resource metadata, which names this server.
    let challenge = mcp(
        &tenant,
        "",
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    );
    assert_eq!(challenge.status, 401);
    let prm = tenant
        .get("/.well-known/oauth-protected-resource/mcp")
        .json();
    assert_eq!(prm["authorization_servers"], json!([tenant.base]));
    assert_eq!(prm["resource"], format!("{}/mcp", tenant.base));
    let meta = tenant.get("/.well-known/oauth-authorization-server").json();
    assert_eq!(meta["issuer"], tenant.base.as_str());
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        meta["token_endpoint_auth_methods_supported"],
        json!(["none"])
    );
    assert_eq!(
        meta["registration_endpoint"],
        format!("{}/oauth/register", tenant.base)
    );

    // Registration: public clients with allowed redirect URIs only.
    for (body, error) in [
        (
            json!({ "redirect_uris": ["https://app.example/cb"], "token_endpoint_auth_method": "client_secret_basic" }),
            "invalid_client_metadata",
        ),
        (
            json!({ "redirect_uris": ["http://app.example/cb"] }),
            "invalid_redirect_uri",
        ),
        (json!({ "client_name": "x" }), "invalid_redirect_uri"),
    ] {
        let reply = tenant.request("POST", "/oauth/register").json(&body).send();
        assert_eq!(reply.status, 400, "{body}: {}", reply.body);
        assert_eq!(reply.json()["error"], error, "{body}");
    }
    let client = register(&tenant, REDIRECT);

    // A redirect URI the client did not register is refused on our page, never followed.
    let other = tenant.get(&authorize_path(
        &client,
        "http://127.0.0.1:4000/elsewhere",
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    ));
    assert_eq!(other.status, 400, "{}", other.body);
    assert!(other.header("location").is_none());
    let unknown = tenant.get(&authorize_path("nope", REDIRECT, &[]));
    assert_eq!(unknown.status, 400);
    // Loopback: any port (the client picks a free one when it starts).
    let any_port = tenant.get(&authorize_path(
        &client,
        "http://127.0.0.1:51234/callback",
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    ));
    assert_eq!(any_port.status, 200, "{}", any_port.body);
    assert!(
        any_port.body.contains("/oauth/consent?"),
        "{}",
        any_port.body
    );
    // PKCE: missing, plain, or without a method goes back to the client as invalid_request.
    for extra in [
        vec![],
        vec![
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "plain"),
        ],
        vec![("code_challenge", CHALLENGE)],
    ] {
        let reply = tenant.get(&authorize_path(&client, REDIRECT, &extra));
        assert_eq!(reply.status, 303, "{extra:?}: {}", reply.body);
        let to = location(&reply);
        assert!(to.starts_with(REDIRECT), "{to}");
        assert_eq!(
            param(&to, "error").as_deref(),
            Some("invalid_request"),
            "{to}"
        );
        assert_eq!(param(&to, "state").as_deref(), Some("xyz"));
    }

    // The consent page asks a visitor to sign in first, and brings them back.
    let path = authorize_path(
        &client,
        REDIRECT,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .replace("/oauth/authorize", "/oauth/consent");
    let signed_out = tenant.get(&path);
    assert_eq!(signed_out.status, 303);
    assert!(
        location(&signed_out).starts_with("/login?next=%2Foauth%2Fconsent")
            || location(&signed_out).starts_with("/login?next=/oauth/consent"),
        "{}",
        location(&signed_out)
    );
    let page = tenant
        .request("GET", &path)
        .header("Cookie", &owner.cookie)
        .send();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Allow Test Client?"), "{}", page.body);
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:4000"),
        "{csp}"
    );

    // The consent's form needs this site's Origin and the session's CSRF token.
    let forged = tenant
        .request("POST", "/oauth/consent")
        .header("Cookie", &owner.cookie)
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[
            ("client_id", &client),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", "read write"),
            ("csrf", &owner.csrf),
            ("decision", "allow"),
        ]))
        .send();
    assert_eq!(forged.status, 403, "{}", forged.body);

    // Codes: a wrong verifier, a wrong redirect URI, another client, a second use, too late.
    let code = code_for(&owner, &client, "read write");
    let wrong = exchange(&tenant, &client, &code, &format!("{VERIFIER}x"), REDIRECT);
    assert_eq!(
        (wrong.status, wrong.json()["error"].clone()),
        (400, json!("invalid_grant"))
    );
    let burnt = exchange(&tenant, &client, &code, VERIFIER, REDIRECT);
    assert_eq!(
        burnt.json()["error"],
        "invalid_grant",
        "a refused code is spent"
    );
    let code = code_for(&owner, &client, "read write");
    let elsewhere = exchange(
        &tenant,
        &client,
        &code,
        VERIFIER,
        "http://127.0.0.1:4001/callback",
    );
    assert_eq!(elsewhere.json()["error"], "invalid_grant");
    let second_client = register(&tenant, REDIRECT);
    let code = code_for(&owner, &client, "read write");
    let stolen = exchange(&tenant, &second_client, &code, VERIFIER, REDIRECT);
    assert_eq!(stolen.json()["error"], "invalid_grant");
    let code = code_for(&owner, &client, "read write");
    advance_clock(&tenant, 6 * MINUTE);
    let late = exchange(&tenant, &client, &code, VERIFIER, REDIRECT);
    assert_eq!(late.json()["error"], "invalid_grant", "{}", late.body);

    let code = code_for(&owner, &client, "read write");
    let issued = tokens(&tenant, &client, &code);
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let twice = exchange(&tenant, &client, &code, VERIFIER, REDIRECT);
    assert_eq!(twice.json()["error"], "invalid_grant");
    // The token is for /mcp: the API does not take it.
    assert!(tool_names(&tenant, &access).contains(&"create_job".to_owned()));
    let api = tenant.request("GET", "/api/v1/me").bearer(&access).send();
    assert_eq!(api.status, 401, "{}", api.body);

    // Connected apps: listed with the scope; revoking one stops its tokens at once.
    let apps = owner.get("/api/v1/me/apps").json()["apps"].clone();
    let app = apps
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["client_id"] == client.as_str())
        .cloned()
        .expect("the app is listed");
    assert_eq!(app["client_name"], "Test Client");
    assert_eq!(app["scope"], "read write");
    let settings = tenant
        .request("GET", "/settings")
        .header("Cookie", &owner.cookie)
        .send();
    assert!(settings.body.contains("Connected apps") && settings.body.contains("Test Client"));
    let revoke = owner
        .request(
            "DELETE",
            &format!("/api/v1/me/apps/{}", app["id"].as_str().unwrap()),
        )
        .header("If-Match", &format!("\"{}\"", app["version"]))
        .send();
    assert_eq!(revoke.status, 204, "{}", revoke.body);
    let after = mcp(
        &tenant,
        &access,
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    );
    assert_eq!(after.status, 401);
    assert!(after
        .header("www-authenticate")
        .unwrap_or_default()
        .contains("error=\"invalid_token\""));

    // Twenty parallel uses of one refresh token: at most one pair is issued, the reuse
    // revokes the grant, and nothing answers a server error.
    let code = code_for(&owner, &client, "read write");
    let issued = tokens(&tenant, &client, &code);
    let refresh_token = issued["refresh_token"].as_str().unwrap().to_owned();
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    post_form(
                        &tenant,
                        "/oauth/token",
                        &[
                            ("grant_type", "refresh_token"),
                            ("client_id", &client),
                            ("refresh_token", &refresh_token),
                        ],
                    )
                    .status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 400),
        "{statuses:?}"
    );
    assert!(
        statuses.iter().filter(|s| **s == 200).count() <= 1,
        "{statuses:?}"
    );
    let after_race = mcp(
        &tenant,
        issued["access_token"].as_str().unwrap(),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    );
    assert_eq!(after_race.status, 401, "the reuse revoked the grant");

    // Revocation (RFC 7009) by the app: the refresh token ends the grant.
    let code = code_for(&owner, &client, "read write");
    let issued = tokens(&tenant, &client, &code);
    let revoked = post_form(
        &tenant,
        "/oauth/revoke",
        &[
            ("token", issued["refresh_token"].as_str().unwrap()),
            ("client_id", &client),
        ],
    );
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let gone = mcp(
        &tenant,
        issued["access_token"].as_str().unwrap(),
        json!({ "jsonrpc": "2.0", "id": 1, "method": "ping" }),
    );
    assert_eq!(gone.status, 401);
    let refresh = post_form(
        &tenant,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client),
            ("refresh_token", issued["refresh_token"].as_str().unwrap()),
        ],
    );
    assert_eq!(refresh.json()["error"], "invalid_grant");
}

#[test]
fn scopes_never_exceed_the_role_and_the_read_scope_cannot_write() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let viewer = member(
        &owner,
        "vera@acme-heating.example",
        "viewer",
        "reading-glasses-and-ledgers",
    );
    let client = register(&tenant, REDIRECT);

    // A viewer is offered reading only, and a forged write consent is refused.
    let path = authorize_path(
        &client,
        REDIRECT,
        &[
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("scope", "read write"),
        ],
    )
    .replace("/oauth/authorize", "/oauth/consent");
    let page = tenant
        .request("GET", &path)
        .header("Cookie", &viewer.cookie)
        .send();
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("read access only"), "{}", page.body);
    assert!(
        page.body.contains("name=\"scope\" value=\"read\""),
        "{}",
        page.body
    );
    let beyond = consent(&viewer, &client, REDIRECT, "read write");
    assert_eq!(beyond.status, 303);
    assert_eq!(
        param(&location(&beyond), "error").as_deref(),
        Some("invalid_scope")
    );

    // The viewer's read grant reads.
    let code = code_for(&viewer, &client, "read");
    let issued = tokens(&tenant, &client, &code);
    assert_eq!(issued["scope"], "read");
    let names = tool_names(&tenant, issued["access_token"].as_str().unwrap());
    assert!(names.contains(&"list_jobs".to_owned()), "{names:?}");
    assert!(!names.contains(&"create_job".to_owned()), "{names:?}");

    // An owner's read grant: no write tools listed, and a write tool called is refused.
    let code = code_for(&owner, &client, "read");
    let issued = tokens(&tenant, &client, &code);
    let access = issued["access_token"].as_str().unwrap();
    let names = tool_names(&tenant, access);
    assert!(!names.contains(&"create_customer".to_owned()), "{names:?}");
    let call = mcp(
        &tenant,
        access,
        json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": { "name": "create_customer", "arguments": { "name": "Ann Lee" } } }),
    );
    assert_eq!(call.json()["result"]["isError"], true, "{}", call.body);
    let customers = owner.get("/api/v1/customers").json();
    assert_eq!(customers["customers"], json!([]), "nothing was written");
    // Refreshing cannot widen the grant.
    let widened = post_form(
        &tenant,
        "/oauth/token",
        &[
            ("grant_type", "refresh_token"),
            ("client_id", &client),
            ("refresh_token", issued["refresh_token"].as_str().unwrap()),
            ("scope", "read write"),
        ],
    );
    assert_eq!(widened.json()["error"], "invalid_scope", "{}", widened.body);
}

#[test]
fn registrations_are_limited_and_unused_clients_expire() {
    let tenant = Tenant::spawn();
    let mut made = 0;
    let refused = loop {
        let reply = tenant
            .request("POST", "/oauth/register")
            .json(&json!({ "redirect_uris": [REDIRECT] }))
            .send();
        if reply.status != 201 {
            break reply;
        }
        made += 1;
        assert!(
            made <= 10,
            "more than 10 registrations an hour from one address"
        );
    };
    assert_eq!(made, 10);
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert!(refused.header("retry-after").is_some());
    // A day later the unused clients are gone (swept by the next registration) and room is made.
    let old = tenant.d1_execute("SELECT id FROM oauth_clients LIMIT 1");
    let old_id = old[0]["id"].as_str().unwrap().to_owned();
    advance_clock(&tenant, 25 * 60 * MINUTE);
    let client = register(&tenant, REDIRECT);
    let left = tenant.d1_execute("SELECT id FROM oauth_clients");
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["id"], client.as_str());
    let expired = tenant.get(&authorize_path(&old_id, REDIRECT, &[]));
    assert_eq!(expired.status, 400);
}
