//! The demo seed (`scripts/seed/demo.py`) against a fresh tenant: it replays three weeks of a
//! plumbing & heating business through the API (the clock set back with `/ops/clock {at_ms}`,
//! development only) and leaves a team of five, ~30 customers, 40 jobs in every status, a full
//! schedule today, quotes and invoices in every state; run again, it changes nothing. The
//! seeded schedule and money page are opened in a browser (`tests/browser/demo.mjs`).

use std::process::Command;

use serde_json::{json, Value};

use crate::dashboard::browser;
use crate::people::*;
use crate::spawn::{Options, Tenant, OPS_TOKEN};

const EMAIL: &str = "dana@demo-plumbing.example";
const PASSWORD: &str = "copper-pipes-and-valves";
const TELEGRAM_SECRET: &str = "e2e-telegram-webhook-secret";

fn seed(tenant: &Tenant) -> String {
    std::fs::write(tenant.state.join("ops-token"), OPS_TOKEN).expect("ops-token");
    let secret = tenant.state.join("telegram-webhook-secret");
    std::fs::write(&secret, TELEGRAM_SECRET).expect("telegram-webhook-secret");
    let root = env!("CARGO_MANIFEST_DIR");
    let output = Command::new("python3")
        .arg(format!("{root}/scripts/seed/demo.py"))
        .args([
            "--url",
            &tenant.base,
            "--email",
            EMAIL,
            "--password",
            PASSWORD,
        ])
        .arg("--state")
        .arg(&tenant.state)
        .arg("--telegram-secret")
        .arg(&secret)
        .output()
        .expect("python3 runs the seed");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "the seed failed:\n{stderr}\n--- worker log ---\n{}",
        tenant.logs()
    );
    stderr
}

/// Every record of a list, following its cursor.
fn all(owner: &Browser<'_>, path: &str, key: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page = match &cursor {
            Some(c) => owner.get(&format!("{path}{sep}cursor={c}")),
            None => owner.get(path),
        };
        assert_eq!(page.status, 200, "{}", page.body);
        let page = page.json();
        items.extend(page[key].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return items,
        }
    }
}

fn count_by(items: &[Value], field: &str, value: &str) -> usize {
    items.iter().filter(|i| i[field] == value).count()
}

/// What the seed leaves, counted through the API.
fn census(owner: &Browser<'_>) -> Value {
    let users = owner.get("/api/v1/users").json()["users"].clone();
    let customers = all(owner, "/api/v1/customers", "customers");
    let jobs = all(owner, "/api/v1/jobs", "jobs");
    let quotes = all(owner, "/api/v1/quotes", "quotes");
    let invoices = all(owner, "/api/v1/invoices", "invoices");
    let count = |items: &[Value], values: &[&str]| -> Value {
        values
            .iter()
            .map(|v| (v.to_string(), json!(count_by(items, "status", v))))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    json!({
        "roles": users.as_array().unwrap().iter().map(|u| u["role"].clone()).collect::<Vec<_>>(),
        "customers": customers.len(),
        "jobs": jobs.len(),
        "job_statuses": count(&jobs, &["requested", "scheduled", "in_progress", "completed", "on_hold", "cancelled"]),
        "quote_statuses": count(&quotes, &["draft", "sent", "viewed", "accepted", "declined", "expired"]),
        "invoice_statuses": count(&invoices, &["draft", "issued", "partially_paid", "paid", "overdue"]),
    })
}

#[test]
fn the_demo_seed_replays_a_working_week_through_the_api_once() {
    let tenant = Tenant::spawn_with(Options {
        vars: vec![("TELEGRAM_WEBHOOK_SECRET".into(), TELEGRAM_SECRET.into())],
        ..Options::default()
    });
    let created = create_owner(&tenant, EMAIL, PASSWORD);
    assert_eq!(created.status, 201, "{}", created.body);
    // The company as scripts/seed/demo.sql names it: the seed keeps New York's hours.
    let owner = sign_in(&tenant, EMAIL, PASSWORD);
    let settings = owner.get("/api/v1/settings");
    let named = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", settings.header("etag").expect("settings ETag"))
        .json(&json!({ "name": "Demo Plumbing & Heating", "time_zone": "America/New_York" }))
        .send();
    assert_eq!(named.status, 200, "{}", named.body);

    let log = seed(&tenant);
    let first = census(&owner);
    let mut roles: Vec<&str> = first["roles"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    roles.sort_unstable();
    assert_eq!(
        roles,
        ["dispatcher", "owner", "technician", "technician", "viewer"],
        "{first}"
    );
    assert_eq!(first["customers"], 30, "{first}");
    // Each customer has a site (some two), with an address.
    let customers = all(&owner, "/api/v1/customers", "customers");
    for customer in customers.iter().take(5) {
        let read = owner.get(&format!(
            "/api/v1/customers/{}",
            customer["id"].as_str().unwrap()
        ));
        let sites = read.json()["sites"].clone();
        assert!(sites[0]["line1"].is_string(), "{}", read.body);
    }
    assert_eq!(first["jobs"], 40, "{first}");
    for group in ["job_statuses", "quote_statuses", "invoice_statuses"] {
        for (status, n) in first[group].as_object().unwrap() {
            assert!(n.as_u64().unwrap() > 0, "no {status} in {group}: {first}");
        }
    }

    // Today's schedule is full, and the clock is back at now.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let day = 86_400_000;
    let clock = tenant.ops_post("/ops/clock", &json!({ "advance_ms": 0 }));
    assert_eq!(clock.status, 200, "{}", clock.body);
    let worker_now = clock.json()["now_ms"].as_i64().unwrap();
    assert!(
        (worker_now - now).abs() < 60_000,
        "the clock is back at now: {}",
        clock.body
    );
    let visits = owner
        .get(&format!(
            "/api/v1/visits?from={}&to={}",
            rfc3339(now - day),
            rfc3339(now + day)
        ))
        .json();
    let around_today = visits["visits"].as_array().unwrap().len();
    // Eight visits on the company's today (within a day either side of now, whatever the hour).
    assert!(around_today >= 8, "visits around today: {visits}");
    let week = owner
        .get(&format!(
            "/api/v1/visits?from={}&to={}",
            rfc3339(now),
            rfc3339(now + 7 * day)
        ))
        .json();
    assert!(week["visits"].as_array().unwrap().len() >= 6, "{week}");
    // The past is real: the first customers were written three weeks ago.
    let oldest = customers
        .iter()
        .filter_map(|c| c["created_at"].as_str())
        .min()
        .unwrap()
        .to_owned();
    assert!(
        oldest < rfc3339(now - 20 * day),
        "oldest customer: {oldest}"
    );
    assert!(log.contains("replayed"), "{log}");
    // The owner's chat is linked for the agent's command language.
    let links = owner.get("/api/v1/me/links").json();
    assert_eq!(links["links"].as_array().unwrap().len(), 1, "{links}");
    let summary = std::fs::read_to_string(tenant.state.join("demo-seed.txt")).unwrap();
    for member in ["priya@", "marco@", "jake@", "lena@", "/s/"] {
        assert!(summary.contains(member), "{summary}");
    }

    // In a browser: today's schedule, the week and the money page, screenshotted.
    let journey = browser(&tenant, "demo.mjs", &[EMAIL, PASSWORD]);
    assert!(journey["today"].as_u64().unwrap() >= 8, "{journey}");

    // A second run leaves the tenant alone.
    let again = seed(&tenant);
    assert!(again.contains("left alone"), "{again}");
    assert_eq!(census(&owner), first);
}

fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[test]
fn the_clock_goes_back_to_an_instant_in_development_and_never_in_production() {
    let tenant = Tenant::spawn();
    let three_weeks_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 21 * 86_400_000;
    let set = tenant.ops_post("/ops/clock", &json!({ "at_ms": three_weeks_ago }));
    assert_eq!(set.status, 200, "{}", set.body);
    assert!(
        set.json()["offset_ms"].as_i64().unwrap() < -20 * 86_400_000,
        "{}",
        set.body
    );
    assert!((set.json()["now_ms"].as_i64().unwrap() - three_weeks_ago).abs() < 60_000);
    // What the Worker writes now is dated then.
    let created = create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(created.status, 201, "{}", created.body);
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let users = owner.get("/api/v1/users").json();
    let at = users["users"][0]["created_at"]
        .as_str()
        .unwrap_or_else(|| panic!("{users}"))
        .to_owned();
    assert_eq!(
        &at[..10],
        &rfc3339(three_weeks_ago)[..10],
        "{}",
        created.body
    );
    // Moving forward still works from there; both at once is refused.
    let forward = tenant.ops_post("/ops/clock", &json!({ "advance_ms": 1_000 }));
    assert_eq!(forward.status, 200, "{}", forward.body);
    let both = tenant.ops_post("/ops/clock", &json!({ "advance_ms": 1, "at_ms": 1 }));
    assert_eq!(both.status, 400, "{}", both.body);

    let production = Tenant::spawn_with(Options {
        vars: vec![("ENVIRONMENT".into(), "production".into())],
        ..Options::default()
    });
    for body in [
        json!({ "at_ms": three_weeks_ago }),
        json!({ "advance_ms": 1 }),
    ] {
        let refused = production.ops_post("/ops/clock", &body);
        assert_eq!(refused.status, 404, "{}", refused.body);
    }
}
