//! Tenants are isolated by infrastructure (one Worker, D1, KV and R2 each): two local tenants
//! side by side share nothing. A session, a personal access token, a share link, a Telegram
//! webhook secret or a record id from one means nothing to the other, and each tenant's data sits in its own
//! state folder. The local
//! dispatcher (scripts/lib/dispatcher.mjs) routes `SLUG.localhost` to tenant SLUG, as
//! subdomains do in production, passing requests and responses through unchanged.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{files_holding, Options, Tenant};

/// A customer with a primary site and a job there; returns (customer id, job id).
fn customer_with_job(owner: &Browser<'_>, name: &str) -> (String, String) {
    let customer = owner.post("/api/v1/customers", &json!({ "name": name }));
    assert_eq!(customer.status, 201, "{}", customer.body);
    let customer_id = customer.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{customer_id}/sites"),
        &json!({ "line1": "7 Harbour Row" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    let job = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer_id, "title": "Leaking valve" }),
    );
    assert_eq!(job.status, 201, "{}", job.body);
    (customer_id, job.json()["id"].as_str().unwrap().to_owned())
}

/// Whether a file under `dir` holds `needle`.
fn holds(dir: &Path, needle: &[u8]) -> bool {
    !files_holding(dir, needle).is_empty()
}

#[test]
fn a_session_a_token_or_a_record_id_of_one_tenant_means_nothing_to_another() {
    // Each tenant has its own Telegram bot secret (a stand-in Bot API takes any replies).
    let bot = crate::standin::StandIn::start(200, r#"{"ok":true,"result":{}}"#);
    let with_secret = |secret: &str| Options {
        vars: vec![
            ("TELEGRAM_WEBHOOK_SECRET".to_owned(), secret.to_owned()),
            ("TELEGRAM_BOT_TOKEN".to_owned(), "1:T".to_owned()),
            ("TELEGRAM_API_BASE".to_owned(), bot.base.clone()),
        ],
        ..Options::default()
    };
    let a = Tenant::spawn_with(with_secret("tenant-a-secret"));
    let b = Tenant::spawn_with(with_secret("tenant-b-secret"));
    // The same first owner (email and password) on both: still two unrelated people.
    let owner_a = owner(&a);
    let owner_b = owner(&b);
    assert_ne!(owner_a.user["id"], owner_b.user["id"]);

    let marker = format!("Isolde Tenancy-Marker {}", std::process::id());
    let (customer_id, job_id) = customer_with_job(&owner_a, &marker);
    let token = owner_a
        .post("/api/v1/tokens", &json!({ "name": "isolation" }))
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // A's session cookie and token are strangers on B, for reads and for writes.
    b.request("GET", "/api/v1/me")
        .header("Cookie", &owner_a.cookie)
        .send()
        .problem(401);
    b.request("POST", "/api/v1/customers")
        .header("Cookie", &owner_a.cookie)
        .header("Origin", &b.base)
        .header("X-CSRF-Token", &owner_a.csrf)
        .json(&json!({ "name": "Intruder" }))
        .send()
        .problem(401);
    b.request("GET", "/api/v1/me")
        .bearer(&token)
        .send()
        .problem(401);
    b.request("GET", &format!("/api/v1/customers/{customer_id}"))
        .bearer(&token)
        .send()
        .problem(401);

    // A's share link opens on A only.
    let invoice = owner_a.post(
        "/api/v1/invoices",
        &json!({ "customer_id": customer_id,
                 "lines": [{ "description": "Valve", "quantity_milli": 1000, "unit_price": 4_500 }] }),
    );
    assert_eq!(invoice.status, 201, "{}", invoice.body);
    let invoice = format!(
        "/api/v1/invoices/{}",
        invoice.json()["id"].as_str().unwrap()
    );
    let issued = owner_a
        .request("POST", &format!("{invoice}/issue"))
        .header("If-Match", "\"1\"")
        .send();
    assert_eq!(issued.status, 200, "{}", issued.body);
    let link = owner_a.post(&format!("{invoice}/share"), &json!({})).json();
    let page = format!("/s/{}", link["token"].as_str().unwrap());
    assert_eq!(a.get(&page).status, 200);
    assert_eq!(b.get(&page).status, 404);

    // A's Telegram secret is refused by B's webhook, and accepted by A's.
    let update = json!({ "update_id": 1, "message": { "message_id": 1, "date": 1_700_000_000,
        "chat": { "id": 42, "type": "private" }, "text": "/help" } });
    let telegram = |tenant: &Tenant, secret: &str| {
        tenant
            .request("POST", "/webhooks/telegram")
            .header("X-Telegram-Bot-Api-Secret-Token", secret)
            .json(&update)
            .send()
            .status
    };
    assert_eq!(telegram(&b, "tenant-a-secret"), 401);
    assert_eq!(telegram(&a, "tenant-a-secret"), 200);

    // A's record ids are not found on B, even by B's own owner, to read or to change.
    owner_b
        .get(&format!("/api/v1/customers/{customer_id}"))
        .problem(404);
    owner_b.get(&format!("/api/v1/jobs/{job_id}")).problem(404);
    owner_b
        .request("PATCH", &format!("/api/v1/customers/{customer_id}"))
        .header("If-Match", "\"1\"")
        .json(&json!({ "notes": "not yours" }))
        .send()
        .problem(404);
    owner_b
        .request("POST", &format!("/api/v1/jobs/{job_id}/status"))
        .header("If-Match", "\"1\"")
        .json(&json!({ "status": "scheduled" }))
        .send()
        .problem(404);
    let listed = owner_b.get("/api/v1/customers").json();
    assert_eq!(listed["customers"], json!([]), "{listed}");
    let jobs = owner_b.get("/api/v1/jobs").json();
    assert_eq!(jobs["jobs"], json!([]), "{jobs}");

    // Meanwhile A honours all of them: the refusals above were about the tenant, not the key.
    assert_eq!(
        a.request("GET", "/api/v1/me").bearer(&token).send().status,
        200
    );
    let read = owner_a.get(&format!("/api/v1/customers/{customer_id}"));
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["name"], marker.as_str());
    assert_eq!(owner_a.get(&format!("/api/v1/jobs/{job_id}")).status, 200);

    // Each tenant's data is on disk in its own state folder only (the customer by its id: its
    // name is sealed, so it is in no file in plaintext, A's included).
    let (d1_a, d1_b) = (a.state.join("v3/d1"), b.state.join("v3/d1"));
    assert!(d1_a.is_dir() && d1_b.is_dir());
    assert!(
        holds(&d1_a, customer_id.as_bytes()),
        "the customer is in A's D1 files under {}",
        d1_a.display()
    );
    assert!(
        !holds(&a.state, marker.as_bytes()),
        "the customer's name is sealed in A's files"
    );
    // (B's log names the id: the requests above asked B for it.)
    assert!(
        !holds(&b.state.join("v3"), customer_id.as_bytes()) && !holds(&b.state, marker.as_bytes()),
        "nothing of A's customer is anywhere in B's storage under {}",
        b.state.display()
    );
}

/// The local dispatcher, started on a free port in front of some tenants.
struct Dispatcher {
    child: Child,
    port: u16,
    // Held open so the dispatcher's stdout stays a working pipe.
    _stdout: BufReader<ChildStdout>,
}

impl Dispatcher {
    fn start(default: &str, tenants: &[(&str, &Tenant)]) -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut command = Command::new(root.join("node_modules/.bin/node"));
        command.arg(root.join("scripts/lib/dispatcher.mjs")).args([
            "--port",
            "0",
            "--default",
            default,
        ]);
        for (slug, tenant) in tenants {
            let port = tenant.base.rsplit(':').next().unwrap();
            command.arg(format!("{slug}={port}"));
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("start the dispatcher");
        // It says where it listens once it does (port 0: the kernel picked a free one).
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the dispatcher's first line");
        let port = line
            .trim()
            .strip_prefix("listening on http://127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from the dispatcher: {line:?}"));
        Dispatcher {
            child,
            port,
            _stdout: stdout,
        }
    }

    /// One HTTP/1.1 request over a fresh connection to the dispatcher, with this Host header.
    fn send(
        &self,
        method: &str,
        host: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Raw {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        ));
        stream.write_all(request.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).expect("read the response");
        Raw::parse(&bytes)
    }

    fn host(&self, slug: &str) -> String {
        format!("{slug}.localhost:{}", self.port)
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

/// A response as it came over the wire.
struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn parse(bytes: &[u8]) -> Self {
        let split = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a header block");
        let head = String::from_utf8_lossy(&bytes[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut body = bytes[split + 4..].to_vec();
        if headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
        {
            body = dechunk(&body);
        }
        Raw {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn dechunk(mut rest: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size");
        let size_text = String::from_utf8_lossy(&rest[..end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

#[test]
fn the_dispatcher_routes_by_host_passes_everything_through_and_404s_unknown_tenants() {
    let alpha = Tenant::spawn();
    let bravo = Tenant::spawn();
    let alpha_owner = create_owner(&alpha, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(alpha_owner.status, 201, "{}", alpha_owner.body);
    let bravo_email = "bea@bravo-boilers.example";
    let bravo_owner = create_owner(&bravo, bravo_email, OWNER_PASSWORD);
    assert_eq!(bravo_owner.status, 201, "{}", bravo_owner.body);
    let dispatcher = Dispatcher::start("alpha", &[("alpha", &alpha), ("bravo", &bravo)]);
    let bravo_host = dispatcher.host("bravo");
    let json_body = |value: Value| value.to_string().into_bytes();

    // Signing in on bravo.localhost reaches bravo: the body goes in, the cookie comes out.
    let login = dispatcher.send(
        "POST",
        &bravo_host,
        "/api/v1/auth/login",
        &[
            ("Content-Type", "application/json"),
            ("X-Request-Id", "dispatch-test-1"),
        ],
        &json_body(json!({ "email": bravo_email, "password": OWNER_PASSWORD })),
    );
    assert_eq!(login.status, 200, "{}", login.body);
    assert_eq!(login.json()["user"]["email"], bravo_email);
    assert_eq!(login.header("x-request-id"), Some("dispatch-test-1"));
    let cookie = login
        .header("set-cookie")
        .expect("the session cookie passes back")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = login.json()["csrf_token"].as_str().unwrap().to_owned();

    // The Worker sees the tenant's own origin (the Host is passed as it came).
    let metadata = dispatcher.send(
        "GET",
        &bravo_host,
        "/.well-known/oauth-protected-resource/mcp",
        &[],
        b"",
    );
    assert_eq!(
        metadata.json()["resource"],
        format!("http://{bravo_host}/mcp")
    );

    // A cookie-authenticated write (Origin and CSRF checked against that origin), then a
    // query: both through the dispatcher, both on bravo.
    let origin = format!("http://{bravo_host}");
    let created = dispatcher.send(
        "POST",
        &bravo_host,
        "/api/v1/customers",
        &[
            ("Cookie", &cookie),
            ("Origin", &origin),
            ("X-CSRF-Token", &csrf),
            ("Content-Type", "application/json"),
        ],
        &json_body(json!({ "name": "Brenda Through-Dispatch" })),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let found = dispatcher.send(
        "GET",
        &bravo_host,
        "/api/v1/customers?q=brenda&limit=5",
        &[("Cookie", &cookie)],
        b"",
    );
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        found.json()["customers"][0]["name"],
        "Brenda Through-Dispatch"
    );
    let direct = sign_in(&bravo, bravo_email, OWNER_PASSWORD);
    assert_eq!(
        direct.get("/api/v1/customers").json()["customers"][0]["name"],
        "Brenda Through-Dispatch",
        "the write landed in bravo"
    );

    // bravo's session is nothing on alpha, nor on the default tenant at 127.0.0.1.
    let port = dispatcher.port;
    for host in [dispatcher.host("alpha"), format!("127.0.0.1:{port}")] {
        let me = dispatcher.send("GET", &host, "/api/v1/me", &[("Cookie", &cookie)], b"");
        assert_eq!(me.status, 401, "{host}: {}", me.body);
    }
    // 127.0.0.1 and localhost reach the default tenant, alpha.
    for host in [format!("127.0.0.1:{port}"), format!("localhost:{port}")] {
        let login = dispatcher.send(
            "POST",
            &host,
            "/api/v1/auth/login",
            &[("Content-Type", "application/json")],
            &json_body(json!({ "email": OWNER_EMAIL, "password": OWNER_PASSWORD })),
        );
        assert_eq!(login.status, 200, "{host}: {}", login.body);
    }
    let health = dispatcher.send("GET", &dispatcher.host("alpha"), "/healthz", &[], b"");
    assert_eq!(health.status, 200, "{}", health.body);

    // An unknown slug, or a host that is no tenant's, gets the dispatcher's own 404 page.
    for host in [dispatcher.host("charlie"), format!("example.com:{port}")] {
        let missing = dispatcher.send("GET", &host, "/api/v1/me", &[], b"");
        assert_eq!(missing.status, 404, "{host}");
        assert_eq!(
            missing.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        for listed in ["alpha.localhost", "bravo.localhost"] {
            assert!(missing.body.contains(listed), "{}", missing.body);
        }
    }
}
