//! Deleting the whole company, promise by promise: only an owner, with their password and the
//! company's name typed exactly; everyone told and a banner on every page during the grace
//! period; any owner can cancel, and then nothing changes; once the grace period is over the
//! next request deletes — every data key, the R2 files and KV — and from then everything but
//! liveness and the operator's routes answers 410, audited to the end.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::files::upload;
use crate::people::*;
use crate::spawn::{Reply, Tenant, AFTER_RESPONSE_TIMEOUT};

const DAY: u64 = 86_400_000;

fn company_name(browser: &Browser<'_>) -> String {
    browser.get("/api/v1/settings").json()["name"]
        .as_str()
        .expect("a company name")
        .to_owned()
}

fn ask(browser: &Browser<'_>, name: &str, password: &str) -> Reply {
    browser.post(
        "/api/v1/company/deletion",
        &json!({ "company_name": name, "password": password }),
    )
}

fn cancel(browser: &Browser<'_>, version: &Value) -> Reply {
    browser
        .request("POST", "/api/v1/company/deletion/cancel")
        .header("If-Match", &format!("\"{version}\""))
        .send()
}

fn notice_kinds(browser: &Browser<'_>) -> Vec<String> {
    browser.get("/api/v1/me/notifications").json()["notifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| n["kind"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The keys the local runtime's SQLite files under `folder` (of the tenant's state) hold in
/// `table` (R2's objects, KV's entries).
fn stored_keys(tenant: &Tenant, folder: &str, table: &str) -> Vec<String> {
    fn walk(dir: &Path, table: &str, keys: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                walk(&path, table, keys);
            } else if path.extension().is_some_and(|x| x == "sqlite") {
                let conn = Connection::open(&path).expect("open a local store");
                let Ok(mut query) = conn.prepare(&format!("SELECT key FROM {table}")) else {
                    continue;
                };
                let found = query
                    .query_map([], |r| r.get::<_, String>(0))
                    .expect("read the keys");
                keys.extend(found.map(|key| key.expect("a key")));
            }
        }
    }
    let mut keys = Vec::new();
    walk(&tenant.state.join(folder), table, &mut keys);
    keys
}

#[test]
fn an_owner_deletes_the_company_after_a_grace_period_any_owner_can_cancel() {
    let tenant = Tenant::spawn();
    let olive = owner(&tenant);
    let dee = member(
        &olive,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    let name = company_name(&olive);
    let customer = olive.post("/api/v1/customers", &json!({ "name": "Ann Lee" }));
    assert_eq!(customer.status, 201, "{}", customer.body);
    let customer = customer.json()["id"].as_str().unwrap().to_owned();
    let file = upload(
        &olive,
        &format!("/api/v1/customers/{customer}/files"),
        "mark.png",
        "image/png",
        crate::files::png(),
    );
    assert_eq!(file.status, 201, "{}", file.body);

    // Owners find it in Settings, with the export offered first.
    let settings = olive.get("/settings").body;
    assert!(
        settings.contains("Export everything") && settings.contains("Delete the company in 7 days")
    );
    assert!(!dee.get("/settings").body.contains("Delete the company"));

    // Refused: the wrong password, the name not typed exactly, anyone but an owner.
    let wrong = ask(&olive, &name, "not-the-password-0").problem(422);
    assert_eq!(wrong["errors"][0]["field"], "password", "{wrong}");
    let typo = ask(&olive, &format!("{name} "), OWNER_PASSWORD).problem(422);
    assert_eq!(typo["errors"][0]["field"], "company_name", "{typo}");
    assert!(refused(&ask(&dee, &name, "schedule-the-boilers-9")));
    olive.get("/api/v1/company/deletion").problem(404);

    // Asked for: everyone is told, every page says so, and only owners can cancel.
    let asked = ask(&olive, &name, OWNER_PASSWORD);
    assert_eq!(asked.status, 201, "{}", asked.body);
    let deletion = asked.json();
    assert_eq!(deletion["status"], "pending");
    ask(&olive, &name, OWNER_PASSWORD).problem(409);
    for browser in [&olive, &dee] {
        assert!(notice_kinds(browser).contains(&"company_deletion_requested".to_owned()));
    }
    let page = dee.get("/schedule");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("This company is to be deleted"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Cancel the deletion"));
    assert!(olive.get("/settings").body.contains("Cancel the deletion"));
    assert!(refused(&cancel(&dee, &deletion["version"])));
    cancel(&olive, &json!(99)).problem(409);

    // Cancelled within the grace period: everyone is told, and past it nothing happens.
    let cancelled = cancel(&olive, &deletion["version"]);
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.json()["status"], "cancelled");
    assert!(notice_kinds(&dee).contains(&"company_deletion_cancelled".to_owned()));
    assert!(!olive
        .get("/schedule")
        .body
        .contains("This company is to be deleted"));
    advance_clock(&tenant, 8 * DAY);
    let olive = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let read = olive.get(&format!("/api/v1/customers/{customer}"));
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["name"], "Ann Lee");

    // Asked again, and left to run out: the next request deletes.
    let token = olive
        .post("/api/v1/tokens", &json!({ "name": "script" }))
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    tenant.d1_execute(
        "INSERT INTO data_keys (id, kek, wrapped, created_at) VALUES ('k-test', 'dev', 'w', 1)",
    );
    assert_eq!(ask(&olive, &name, OWNER_PASSWORD).status, 201);
    assert!(
        !stored_keys(&tenant, "v3/kv", "_mf_entries").is_empty(),
        "sessions are in KV"
    );
    advance_clock(&tenant, 7 * DAY + 60_000);

    let gone = tenant
        .request("GET", "/api/v1/me")
        .bearer(&token)
        .send()
        .problem(410);
    assert_eq!(gone["detail"], "This company was deleted.");
    let page = tenant
        .request("GET", "/schedule")
        .header("Accept", "text/html")
        .send();
    assert_eq!(page.status, 410);
    assert!(
        page.body.contains("This company was deleted."),
        "{}",
        page.body
    );
    for (method, path) in [
        ("POST", "/mcp"),
        ("POST", "/webhooks/stripe"),
        ("GET", "/s/abcdefghijklmnopqrstuvwx"),
        ("POST", "/api/v1/auth/login"),
    ] {
        let reply = tenant.request(method, path).json(&json!({})).send();
        assert_eq!(reply.status, 410, "{method} {path}: {}", reply.body);
    }
    assert_eq!(tenant.get("/healthz").status, 200);
    advance_clock(&tenant, 0);

    // Every data key destroyed; R2 (but the marker) and KV emptied after the response.
    let keys = tenant.d1_execute("SELECT count(*) AS n FROM data_keys");
    assert_eq!(keys[0]["n"], 0);
    let started = Instant::now();
    loop {
        let row = tenant.d1_execute(
            "SELECT completed_at, purged_at FROM company_deletion \
                                     WHERE status = 'completed'",
        );
        if row.first().is_some_and(|r| !r["purged_at"].is_null()) {
            break;
        }
        assert!(
            started.elapsed() < AFTER_RESPONSE_TIMEOUT,
            "not purged: {row:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
        tenant.request("GET", "/").send();
    }
    let left = stored_keys(&tenant, "v3/kv", "_mf_entries");
    assert!(left.is_empty(), "KV is empty: {left:?}");
    // In R2 only the marker, and the audit trail's anchors, kept like the trail itself (an
    // anchor may be written after the purge, as the last rows are sealed).
    let (anchors, others): (Vec<String>, Vec<String>) =
        stored_keys(&tenant, "v3/r2", "_mf_objects")
            .into_iter()
            .partition(|key| key.starts_with("audit/anchors/"));
    assert_eq!(others, ["company-deleted"], "only the marker is in R2");
    assert!(!anchors.is_empty(), "the anchors written before are kept");
    let audited = tenant
        .d1_execute("SELECT action FROM audit_log WHERE action LIKE 'company.%' ORDER BY seq");
    let actions: Vec<&str> = audited
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "company.deletion_requested",
            "company.deletion_cancelled",
            "company.deletion_requested",
            "company.deleted",
            "company.purged",
        ]
    );
    // The cron sends nothing from a deleted company, and the answer stays.
    assert_eq!(tenant.cron().status, 200);
    tenant
        .request("GET", "/api/v1/me")
        .bearer(&token)
        .send()
        .problem(410);
}
