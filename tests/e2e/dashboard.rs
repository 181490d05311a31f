//! The dashboard: its pages over plain HTTP (redirects, headers, round trips, refusals), and
//! whole journeys in headless Chromium (`tests/browser/*.mjs`, driven by playwright-core),
//! which also write screenshots at 375 and 1280 px to `target/screenshots/`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Clamd, Options, Scanner, Tenant, OPS_TOKEN};

const TECH_EMAIL: &str = "theo@acme-heating.example";
const TECH_PASSWORD: &str = "wrench-and-solder-77";

/// Runs `tests/browser/<script>` against the tenant and returns the JSON line it printed.
pub(crate) fn browser(tenant: &Tenant, script: &str, args: &[&str]) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        PathBuf::from(&chromium).exists(),
        "{chromium} is missing: scripts/setup installs Debian's chromium"
    );
    let output = Command::new(root.join("node_modules/.bin/node"))
        .arg(root.join("tests/browser").join(script))
        .arg(&tenant.base)
        .args(args)
        .current_dir(&root)
        .output()
        .expect("node runs the browser scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed:\n{stderr}\n{stdout}\n--- worker log ---\n{}",
        tenant.logs()
    );
    let line = stdout.lines().last().unwrap_or_default();
    let result: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("{script} printed {line:?}: {e}\n{stderr}"));
    assert_eq!(result["ok"], true, "{result}");
    result
}

/// A GET that does not follow redirects: the status and the `Location`.
fn visit(tenant: &Tenant, path: &str, cookie: Option<&str>) -> (u16, Option<String>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let mut request = agent.get(format!("{}{path}", tenant.base));
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let reply = request.call().expect("the tenant answers");
    let location = reply
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (reply.status().as_u16(), location)
}

fn round_trips(reply: &crate::spawn::Reply) -> u32 {
    reply
        .header("x-d1-round-trips")
        .and_then(|v| v.parse().ok())
        .expect("X-D1-Round-Trips outside production")
}

#[test]
fn a_page_asked_for_while_signed_out_leads_to_sign_in_and_knows_the_way_back() {
    let tenant = Tenant::spawn();
    assert_eq!(
        visit(&tenant, "/jobs?status=in_progress", None),
        (
            303,
            Some("/login?next=/jobs%3Fstatus%3Din_progress".to_owned())
        )
    );
    assert_eq!(visit(&tenant, "/", None), (303, Some("/login".to_owned())));
    let login = tenant.get("/login?next=/jobs%3Fstatus%3Din_progress");
    assert_eq!(login.status, 200);
    assert_eq!(
        login.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(login
        .body
        .contains(r#"data-next="/jobs?status=in_progress""#));
    // Off-site destinations are dropped.
    let evil = tenant.get("/login?next=//evil.example");
    assert!(evil.body.contains(r#"data-next="/""#), "{}", evil.body);
}

#[test]
fn every_page_reads_in_at_most_two_round_trips_under_a_strict_policy() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let customer = owner.post("/api/v1/customers", &json!({ "name": "Ada" }));
    let customer_id = customer.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{customer_id}/sites"),
        &json!({ "line1": "1 Main St" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    let job = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer_id, "title": "Boiler" }),
    );
    let job_id = job.json()["id"].as_str().unwrap().to_owned();
    let quote = owner.post(
        "/api/v1/quotes",
        &json!({ "job_id": job_id, "title": "Boiler" }),
    );
    assert_eq!(quote.status, 201, "{}", quote.body);
    let quote_id = quote.json()["id"].as_str().unwrap().to_owned();
    let invoice = owner.post("/api/v1/invoices", &json!({ "job_id": job_id }));
    assert_eq!(invoice.status, 201, "{}", invoice.body);
    let invoice_id = invoice.json()["id"].as_str().unwrap().to_owned();
    let mut measured = Vec::new();
    for path in [
        "/schedule".to_owned(),
        "/schedule?view=week&date=2030-06-11".to_owned(),
        "/jobs".to_owned(),
        "/jobs?status=requested&q=boil".to_owned(),
        format!("/jobs/{job_id}"),
        "/jobs/new".to_owned(),
        format!("/jobs/new?customer={customer_id}"),
        "/customers".to_owned(),
        format!("/customers/{customer_id}"),
        "/customers/new".to_owned(),
        "/money".to_owned(),
        format!("/quotes/{quote_id}"),
        format!("/invoices/{invoice_id}"),
        "/team".to_owned(),
        "/settings".to_owned(),
        "/audit?action=job.created&since=2026-01-01".to_owned(),
        "/mfa".to_owned(),
    ] {
        let reply = owner.get(&path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        let trips = round_trips(&reply);
        assert!(trips <= 2, "{path} took {trips} round trips");
        measured.push(format!("{path}={trips}"));
        let csp = reply.header("content-security-policy").unwrap_or_default();
        assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("form-action 'self'"));
        assert_eq!(reply.header("cache-control"), Some("no-store"), "{path}");
        assert!(reply.body.starts_with("<!DOCTYPE html>"), "{path}");
        assert!(!reply.body.contains("<script>"), "{path}: no inline script");
        assert!(
            reply.body.contains(&format!(
                r#"<meta name="csrf-token" content="{}">"#,
                owner.csrf
            )),
            "{path}"
        );
    }
    eprintln!("round trips: {}", measured.join(" "));
    assert!(owner.get("/jobs/no-such-job").body.contains("Not found"));
}

#[test]
fn assets_are_cached_for_good_under_their_versioned_names_only() {
    let tenant = Tenant::spawn();
    let page = tenant.get("/login");
    let src = page
        .body
        .split(r#"<script src=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a script tag")
        .to_owned();
    assert!(
        src.starts_with("/assets/app.") && src.ends_with(".js"),
        "{src}"
    );
    // Workers Static Assets serves this build's files without the Worker, with the headers of
    // src/assets/_headers: the same the Worker gives its own answers.
    let script = tenant.get(&src);
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(
        script.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(script.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(
        script.header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
    assert_eq!(
        script.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert!(
        script.body.contains("X-CSRF-Token"),
        "the dashboard's script"
    );
    for (tag, content_type) in [
        (
            r#"<link rel="stylesheet" href=""#,
            "text/css; charset=utf-8",
        ),
        (
            r#"<link rel="icon" type="image/svg+xml" href=""#,
            "image/svg+xml",
        ),
    ] {
        let href = page
            .body
            .split(tag)
            .nth(1)
            .and_then(|s| s.split('"').next());
        let file = tenant.get(href.expect("a link"));
        assert_eq!(file.status, 200, "{href:?}");
        assert_eq!(file.header("content-type"), Some(content_type), "{href:?}");
        assert_eq!(file.header("x-content-type-options"), Some("nosniff"));
    }
    // Another build's name or a plain one reaches the Worker, which answers today's file from
    // the assets binding, not cached.
    let plain = tenant.get("/assets/app.js");
    assert_eq!(plain.status, 200);
    assert_eq!(plain.body, script.body);
    assert_eq!(plain.header("cache-control"), Some("no-cache"));
    let old = tenant.get("/assets/app.0000000000000000.css");
    assert_eq!(old.status, 200);
    assert_eq!(old.header("cache-control"), Some("no-cache"));
    assert_eq!(tenant.get("/assets/nothing.js").status, 404);
}

#[test]
fn a_role_without_the_permission_gets_a_refusal_page_and_a_required_enrolment_comes_first() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(&owner, TECH_EMAIL, "technician", TECH_PASSWORD);
    for path in ["/team", "/audit", "/jobs/new", "/customers/new"] {
        let reply = tech.get(path);
        assert_eq!(reply.status, 403, "{path}");
        assert!(reply.body.contains("technician"), "{path}: {}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("text/html; charset=utf-8")
        );
    }
    let settings = owner.get("/api/v1/settings");
    let version = settings.header("etag").unwrap().to_owned();
    let required = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", &version)
        .json(&json!({ "mfa_required": true }))
        .send();
    assert_eq!(required.status, 200, "{}", required.body);
    assert_eq!(
        visit(&tenant, "/jobs?status=scheduled", Some(&tech.cookie)),
        (303, Some("/mfa?next=/jobs%3Fstatus%3Dscheduled".to_owned()))
    );
    assert_eq!(tech.get("/mfa").status, 200);
}

#[test]
fn signing_in_enrolling_and_timing_out_work_in_a_real_browser() {
    let tenant = Tenant::spawn();
    let created = create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(created.status, 201, "{}", created.body);
    let result = browser(
        &tenant,
        "signin.mjs",
        &[OPS_TOKEN, OWNER_EMAIL, OWNER_PASSWORD],
    );
    assert_eq!(result["recovery_codes"], 10);
}

#[test]
fn a_generated_password_is_changed_first_in_a_real_browser() {
    let tenant = Tenant::spawn();
    let created = tenant.ops_post(
        "/ops/owners",
        &json!({
            "email": OWNER_EMAIL,
            "password": "Xq3-generated-7bP9kLm2",
            "name": "Olive Owner",
            "password_change_required": true,
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let result = browser(
        &tenant,
        "password.mjs",
        &[OWNER_EMAIL, "Xq3-generated-7bP9kLm2", OWNER_PASSWORD],
    );
    assert_eq!(result["changed"], true);
    sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
}

#[test]
fn a_days_work_customers_jobs_visits_conflicts_and_roles_in_a_real_browser() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(&owner, TECH_EMAIL, "technician", TECH_PASSWORD);
    assert_eq!(tech.user["name"], "technician person");
    let result = browser(
        &tenant,
        "work.mjs",
        &[
            OPS_TOKEN,
            OWNER_EMAIL,
            OWNER_PASSWORD,
            TECH_EMAIL,
            TECH_PASSWORD,
        ],
    );
    assert_eq!(result["jobs"].as_array().map(Vec::len), Some(2));
    // The browser's work is in the audit trail, chained and intact (the scenario's clock
    // moved past the session's idle limit, so sign in again).
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let verified = owner.get("/api/v1/audit/verify").json();
    assert_eq!(verified["ok"], true, "{verified}");
}

#[test]
fn quotes_and_invoices_are_written_priced_live_shared_and_paid_in_a_real_browser() {
    const VIEWER_EMAIL: &str = "vic@acme-heating.example";
    const VIEWER_PASSWORD: &str = "read-only-ledger-42";
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    member(&owner, VIEWER_EMAIL, "viewer", VIEWER_PASSWORD);
    let customer = owner.post(
        "/api/v1/customers",
        &json!({ "name": "Ada <Lovelace>", "emails": ["ada@lovelace.example"], "preferred_contact": "email" }),
    );
    let customer_id = customer.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{customer_id}/sites"),
        &json!({ "line1": "12 Analytical Row" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    let result = browser(
        &tenant,
        "money.mjs",
        &[
            OPS_TOKEN,
            OWNER_EMAIL,
            OWNER_PASSWORD,
            VIEWER_EMAIL,
            VIEWER_PASSWORD,
        ],
    );
    // What the browser did is what the API holds: the quote accepted and converted, the
    // invoice numbered by the company's prefix and paid less the refund.
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let quote = owner
        .get(&format!(
            "/api/v1/quotes/{}",
            result["quote"].as_str().unwrap()
        ))
        .json();
    assert_eq!(quote["status"], "accepted", "{quote}");
    assert_eq!(quote["acceptance"]["option"], "Best");
    assert_eq!(quote["acceptance"]["total"], 410_247);
    let invoice = owner
        .get(&format!(
            "/api/v1/invoices/{}",
            result["invoice"].as_str().unwrap()
        ))
        .json();
    assert_eq!(invoice["number"], "ACME-0001", "{invoice}");
    assert_eq!(invoice["balance"], 10_000, "{invoice}");
    let verified = owner.get("/api/v1/audit/verify").json();
    assert_eq!(verified["ok"], true, "{verified}");
}

#[test]
fn every_page_passes_the_wcag_audit_at_phone_and_desktop_width() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(&owner, TECH_EMAIL, "technician", TECH_PASSWORD);
    let tech_id = tech.user["id"].as_str().unwrap().to_owned();
    let id = |reply: crate::spawn::Reply| -> String {
        assert!(reply.status < 300, "{}", reply.body);
        reply.json()["id"].as_str().unwrap().to_owned()
    };
    let customer = id(owner.post(
        "/api/v1/customers",
        &json!({ "name": "Ada Lovelace", "emails": ["ada@example.com"] }),
    ));
    id(owner.post(
        &format!("/api/v1/customers/{customer}/sites"),
        &json!({ "line1": "12 Analytical Row", "city": "London" }),
    ));
    let job = id(owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer, "title": "Boiler service", "technician_ids": [tech_id] }),
    ));
    let visit = owner.post(
        &format!("/api/v1/jobs/{job}/visits"),
        &json!({ "start": "2030-06-11T09:00:00Z", "end": "2030-06-11T11:00:00Z", "technician_ids": [tech_id] }),
    );
    assert_eq!(visit.status, 201, "{}", visit.body);
    let lines = json!([
        { "description": "Service call", "quantity_milli": 1000, "unit_price": 8900 },
        { "description": "Gasket", "quantity_milli": 2000, "unit_price": 1250, "option": "Good" },
        { "description": "New burner", "quantity_milli": 1000, "unit_price": 24000, "option": "Best" },
        { "description": "Smart thermostat", "quantity_milli": 1000, "unit_price": 24900, "optional": true },
    ]);
    let draft = id(owner.post(
        "/api/v1/quotes",
        &json!({ "job_id": job, "title": "Boiler repair", "lines": lines }),
    ));
    let sent = owner.post(
        "/api/v1/quotes",
        &json!({ "job_id": job, "title": "Boiler repair", "lines": lines }),
    );
    let sent = id(sent);
    let versioned = |path: &str| {
        owner
            .request("POST", path)
            .header("If-Match", "\"1\"")
            .json(&json!({}))
            .send()
    };
    let send = versioned(&format!("/api/v1/quotes/{sent}/send"));
    assert_eq!(send.status, 200, "{}", send.body);
    let quote_link = owner.post(&format!("/api/v1/quotes/{sent}/share"), &json!({}));
    assert_eq!(quote_link.status, 201, "{}", quote_link.body);
    let invoice = id(owner.post(
        "/api/v1/invoices",
        &json!({ "job_id": job, "lines": [{ "description": "Service call", "quantity_milli": 1000, "unit_price": 8900 }] }),
    ));
    let issued = versioned(&format!("/api/v1/invoices/{invoice}/issue"));
    assert_eq!(issued.status, 200, "{}", issued.body);
    let invoice_link = owner.post(&format!("/api/v1/invoices/{invoice}/share"), &json!({}));
    assert_eq!(invoice_link.status, 201, "{}", invoice_link.body);
    let paths = json!({
        "owner": [
            "/schedule", "/schedule?view=week&date=2030-06-11", "/schedule?date=2030-06-11",
            "/jobs", format!("/jobs/{job}"), "/jobs/new", "/customers",
            format!("/customers/{customer}"), "/money", format!("/quotes/{draft}"),
            format!("/quotes/{sent}"), format!("/invoices/{invoice}"), "/team", "/settings",
            "/audit", "/mfa",
        ],
        "technician": ["/schedule?date=2030-06-11", format!("/jobs/{job}"), "/jobs", "/settings"],
        "public": [
            quote_link.json()["url"].as_str().unwrap(),
            invoice_link.json()["url"].as_str().unwrap(),
        ],
    });
    let result = browser(
        &tenant,
        "a11y.mjs",
        &[
            OWNER_EMAIL,
            OWNER_PASSWORD,
            TECH_EMAIL,
            TECH_PASSWORD,
            &paths.to_string(),
        ],
    );
    assert!(
        result["pages_audited"].as_u64().unwrap_or(0) >= 50,
        "{result}"
    );
}

#[test]
fn dragging_visits_editing_work_and_parts_deleting_visits_and_archiving_in_a_real_browser() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(&owner, TECH_EMAIL, "technician", TECH_PASSWORD);
    let tech_id = tech.user["id"].as_str().unwrap().to_owned();
    let settings = owner.get("/api/v1/settings");
    let zoned = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", settings.header("etag").unwrap())
        .json(&json!({ "time_zone": "America/Toronto" }))
        .send();
    assert_eq!(zoned.status, 200, "{}", zoned.body);
    let customer = owner.post("/api/v1/customers", &json!({ "name": "Ada" }));
    let customer_id = customer.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{customer_id}/sites"),
        &json!({ "line1": "12 Queen St W", "city": "Toronto" }),
    );
    let site_id = site.json()["id"].as_str().unwrap().to_owned();
    let job = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer_id, "title": "Boiler", "technician_ids": [tech_id] }),
    );
    let job_id = job.json()["id"].as_str().unwrap().to_owned();
    // Toronto is UTC-4 in June.
    let book = |start: &str, end: &str| {
        let booked = owner.post(
            &format!("/api/v1/jobs/{job_id}/visits"),
            &json!({ "start": start, "end": end }),
        );
        assert_eq!(booked.status, 201, "{}", booked.body);
        booked.json()["visits"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let a = book("2030-06-11T13:00:00Z", "2030-06-11T15:00:00Z");
    let night = book("2030-06-13T02:00:00Z", "2030-06-13T10:00:00Z");
    let c = book("2030-06-14T14:00:00Z", "2030-06-14T16:00:00Z");
    let half = book("2030-06-10T13:30:00Z", "2030-06-10T14:30:00Z");
    let result = browser(
        &tenant,
        "ops.mjs",
        &[
            OWNER_EMAIL,
            OWNER_PASSWORD,
            TECH_EMAIL,
            TECH_PASSWORD,
            &customer_id,
            &site_id,
            &job_id,
            &a,
            &night,
            &c,
            &half,
        ],
    );
    assert_eq!(result["moved"], a.as_str());
    // What the browser did is what the API holds.
    let visits = owner
        .get("/api/v1/visits?from=2030-06-09T00:00:00Z&to=2030-06-17T00:00:00Z")
        .json();
    let ids: Vec<&str> = visits["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&a.as_str()) && !ids.contains(&c.as_str()),
        "{visits}"
    );
    let items = owner.get(&format!("/api/v1/jobs/{job_id}")).json()["items"].clone();
    assert_eq!(items[0]["quantity_milli"], 1500, "{items}");
    let customer = owner
        .get(&format!("/api/v1/customers/{customer_id}"))
        .json();
    assert_eq!(customer["archived"], true, "{customer}");
    assert_eq!(customer["name"], "Ada King");
    assert_eq!(customer["sites"][0]["city"], "Mississauga");
}

#[test]
fn a_photo_a_refused_svg_the_customers_signature_and_the_file_settings_on_a_phone_in_a_real_browser(
) {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(&owner, TECH_EMAIL, "technician", TECH_PASSWORD);
    let job = crate::files::job_for(&owner, &[&tech.user["id"]]);
    let unsigned = crate::files::job_for(&owner, &[]);
    for to in ["scheduled", "in_progress"] {
        let version = owner.get(&format!("/api/v1/jobs/{unsigned}")).json()["version"].clone();
        let moved = owner
            .request("POST", &format!("/api/v1/jobs/{unsigned}/status"))
            .header("If-Match", &format!("\"{version}\""))
            .json(&json!({ "status": to }))
            .send();
        assert_eq!(moved.status, 200, "{}", moved.body);
    }
    let result = browser(
        &tenant,
        "files.mjs",
        &[
            OWNER_EMAIL,
            OWNER_PASSWORD,
            TECH_EMAIL,
            TECH_PASSWORD,
            &job,
            &unsigned,
        ],
    );
    eprintln!("files journey: {result}");
    assert!(
        result["thumbnail_width"].as_u64().unwrap_or(0) > 0,
        "{result}"
    );
    assert!(
        result["signature_width"].as_u64().unwrap_or(0) > 300,
        "{result}"
    );
    // What the browser did is what the API holds (newest first): the technician's photo, the
    // signature kept with its signer, the dropped PDF (the owner's photo deleted), the limit and the rule changed, the logo served, the job not completed.
    let files = owner.get(&format!("/api/v1/jobs/{job}/files")).json();
    let files = files["files"].as_array().unwrap();
    let kinds: Vec<(&str, &str)> = files
        .iter()
        .map(|f| {
            (
                f["purpose"].as_str().unwrap(),
                f["content_type"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("attachment", "image/jpeg"),
            ("signature", "image/png"),
            ("attachment", "application/pdf")
        ],
        "{files:?}"
    );
    assert_eq!(files[0]["uploaded_by"]["id"], tech.user["id"]);
    assert_eq!(files[1]["signer_name"], "Ann Lee");
    let settings = owner.get("/api/v1/settings").json();
    assert_eq!(settings["max_upload_bytes"], 1_048_576, "{settings}");
    assert_eq!(settings["require_signature"], true);
    assert!(settings["logo_file_id"].is_string(), "{settings}");
    let logo = tenant.get("/logo");
    assert_eq!(logo.status, 200);
    assert_eq!(logo.header("content-type"), Some("image/png"));
    // The customer's pages show it, from this origin, which their policy allows.
    let token = crate::share_pages::share(&owner, &crate::share_pages::sent_quote(&owner));
    let shared = tenant.get(&format!("/s/{token}"));
    assert!(
        shared.body.contains(r#"<img src="/logo" alt="">"#),
        "{}",
        shared.body
    );
    let policy = shared.header("content-security-policy").unwrap_or_default();
    assert!(policy.contains("img-src 'self'"), "{policy}");
    let job = owner.get(&format!("/api/v1/jobs/{unsigned}")).json();
    assert_eq!(job["status"], "in_progress", "{job}");
}

#[test]
fn files_waiting_for_the_scanner_turn_clean_or_rejected_on_the_open_page_in_a_real_browser() {
    let mut clamd = Clamd::start();
    let tenant = Tenant::spawn_with(Options {
        scanner: Scanner::Port(clamd.port()),
        ..Options::default()
    });
    let owner = owner(&tenant);
    let job = crate::files::job_for(&owner, &[]);
    clamd.stop();
    let path = format!("/api/v1/jobs/{job}/files");
    let malware = [b"%PDF-1.4\n".to_vec(), crate::files::eicar()].concat();
    for (name, bytes) in [("scan.pdf", malware), ("boiler.jpg", crate::files::jpeg())] {
        let reply = crate::files::upload(&owner, &path, name, "application/octet-stream", bytes);
        assert_eq!(reply.status, 202, "{}", reply.body);
    }
    clamd.start_again();
    let result = browser(
        &tenant,
        "files-pending.mjs",
        &[OPS_TOKEN, OWNER_EMAIL, OWNER_PASSWORD, &job],
    );
    assert_eq!(result["navigations"], 1, "{result}");
    let files = owner.get(&path).json();
    let statuses: Vec<&str> = files["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["clean", "rejected"], "{files}");
}

#[test]
fn dragging_waiting_jobs_onto_the_schedule_and_a_technicians_day_in_a_real_browser() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(&owner, TECH_EMAIL, "technician", TECH_PASSWORD);
    let tech_id = tech.user["id"].as_str().unwrap().to_owned();
    let customer = |name: &str| {
        let made = owner.post(
            "/api/v1/customers",
            &json!({ "name": name, "phones": ["+14165550100"] }),
        );
        let id = made.json()["id"].as_str().unwrap().to_owned();
        let site = owner.post(
            &format!("/api/v1/customers/{id}/sites"),
            &json!({ "line1": "12 Queen St W", "city": "Toronto",
                     "access_notes": "Gate code 4321" }),
        );
        assert_eq!(site.status, 201, "{}", site.body);
        id
    };
    let (ada, ben) = (customer("Ada"), customer("Ben"));
    let job = |customer: &str, title: &str, priority: &str, technicians: Value| {
        let made = owner.post(
            "/api/v1/jobs",
            &json!({ "customer_id": customer, "title": title, "priority": priority,
                     "technician_ids": technicians }),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        made.json()["id"].as_str().unwrap().to_owned()
    };
    let boiler = job(&ada, "Boiler service", "high", json!([tech_id]));
    let gutter = job(&ben, "Gutter clean", "low", json!([]));
    let result = browser(
        &tenant,
        "dispatch.mjs",
        &[
            OWNER_EMAIL,
            OWNER_PASSWORD,
            TECH_EMAIL,
            TECH_PASSWORD,
            &tech_id,
            &boiler,
            &gutter,
        ],
    );
    assert_eq!(result["booked"], json!([boiler, gutter]));
    // What the browser did is what the API holds: one visit each, on the technician.
    let visits = owner
        .get("/api/v1/visits?from=2030-06-11T00:00:00Z&to=2030-06-12T00:00:00Z")
        .json();
    let booked: Vec<(&str, &str, &str)> = visits["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["job_id"].as_str().unwrap(),
                v["start"].as_str().unwrap(),
                v["end"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        booked,
        [
            (
                gutter.as_str(),
                "2030-06-11T07:00:00.000Z",
                "2030-06-11T09:00:00.000Z"
            ),
            (
                boiler.as_str(),
                "2030-06-11T09:00:00.000Z",
                "2030-06-11T11:00:00.000Z"
            ),
        ]
    );
    assert_eq!(
        owner.get(&format!("/api/v1/jobs/{boiler}")).json()["status"],
        "completed"
    );
}
