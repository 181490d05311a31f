//! Getting data out: one customer's archive (their records and their clean files) for the
//! office, and the whole company's export, built in the background and downloaded by an owner;
//! both audited, neither open to technicians or viewers.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use fieldworker::domain::zip;

use crate::files::{jpeg, png, upload};
use crate::people::*;
use crate::spawn::{Reply, Tenant, AFTER_RESPONSE_TIMEOUT};

fn id_of(reply: &Reply) -> String {
    assert!(reply.status < 300, "{}: {}", reply.status, reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

/// The archive's entries by name.
fn entries(reply: &Reply) -> Vec<(String, Vec<u8>)> {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/zip"));
    zip::read(&reply.bytes).expect("a readable ZIP archive")
}

fn entry<'a>(entries: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &entries
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| {
            panic!(
                "no {name} in {:?}",
                entries.iter().map(|e| &e.0).collect::<Vec<_>>()
            )
        })
        .1
}

fn audited(owner: &Browser<'_>, action: &str) -> usize {
    owner.get(&format!("/api/v1/audit?action={action}")).json()["events"]
        .as_array()
        .map_or(0, Vec::len)
}

#[test]
fn a_customer_export_holds_their_records_and_files_for_the_office_only() {
    let tenant = Tenant::spawn();
    let olive = owner(&tenant);
    let dee = member(
        &olive,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    let tess = member(
        &olive,
        "tess@acme-heating.example",
        "technician",
        "flux-and-fittings-88",
    );
    let vic = member(
        &olive,
        "vic@acme-heating.example",
        "viewer",
        "read-only-radiators-7",
    );

    let ann = id_of(&olive.post("/api/v1/customers", &json!({ "name": "Ann Lee" })));
    let other = id_of(&olive.post("/api/v1/customers", &json!({ "name": "Bob Other" })));
    for customer in [&ann, &other] {
        id_of(&olive.post(
            &format!("/api/v1/customers/{customer}/sites"),
            &json!({ "line1": "1 Canal St" }),
        ));
    }
    let job = id_of(&olive.post(
        "/api/v1/jobs",
        &json!({ "customer_id": ann, "title": "Boiler service" }),
    ));
    id_of(&olive.post(
        "/api/v1/jobs",
        &json!({ "customer_id": other, "title": "Not Ann's" }),
    ));
    let note = olive.post(
        &format!("/api/v1/jobs/{job}/notes"),
        &json!({ "text": "Gas valve stiff" }),
    );
    assert!(note.status < 300, "{}", note.body);
    let mark = id_of(&upload(
        &olive,
        &format!("/api/v1/customers/{ann}/files"),
        "mark.png",
        "image/png",
        png(),
    ));
    let photo = id_of(&upload(
        &olive,
        &format!("/api/v1/jobs/{job}/files"),
        "boiler.jpg",
        "image/jpeg",
        jpeg(),
    ));

    let archive = entries(&dee.get(&format!("/api/v1/customers/{ann}/export")));
    let document: Value = serde_json::from_slice(entry(&archive, "export.json")).unwrap();
    assert_eq!(document["customer"]["name"], "Ann Lee");
    assert_eq!(document["sites"][0]["line1"], "1 Canal St");
    let jobs = document["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 1, "only Ann's jobs: {jobs:?}");
    assert_eq!(jobs[0]["title"], "Boiler service");
    assert_eq!(document["job_notes"][0]["text"], "Gas valve stiff");
    for section in ["visits", "quotes", "invoices", "payments", "messages"] {
        assert!(document[section].is_array(), "{section}");
    }
    let files = document["files"].as_array().unwrap();
    assert_eq!(files.len(), 2, "{files:?}");
    for (id, bytes) in [(&mark, png()), (&photo, jpeg())] {
        let listed = files
            .iter()
            .find(|f| f["id"] == id.as_str())
            .expect("the file is listed");
        let path = listed["archive_path"].as_str().expect("embedded");
        assert_eq!(entry(&archive, path), bytes.as_slice());
        assert!(listed.get("r2_key").is_none(), "storage keys stay inside");
    }
    assert!(audited(&olive, "customer.exported") >= 1);

    for browser in [&tess, &vic] {
        assert!(refused(
            &browser.get(&format!("/api/v1/customers/{ann}/export"))
        ));
    }
    dee.get("/api/v1/customers/no-such-customer/export")
        .problem(404);
}

#[test]
fn a_company_export_runs_to_ready_and_holds_every_table_for_the_owner() {
    let tenant = Tenant::spawn();
    let olive = owner(&tenant);
    let dee = member(
        &olive,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    let vic = member(
        &olive,
        "vic@acme-heating.example",
        "viewer",
        "read-only-radiators-7",
    );
    let ann = id_of(&olive.post("/api/v1/customers", &json!({ "name": "Ann Lee" })));
    let mark = id_of(&upload(
        &olive,
        &format!("/api/v1/customers/{ann}/files"),
        "mark.png",
        "image/png",
        png(),
    ));

    for browser in [&dee, &vic] {
        assert!(refused(&browser.post("/api/v1/company/export", &json!({}))));
        assert!(refused(&browser.get("/api/v1/company/exports")));
    }
    let asked = olive.post("/api/v1/company/export", &json!({}));
    assert_eq!(asked.status, 202, "{}", asked.body);
    let id = asked.json()["id"].as_str().unwrap().to_owned();

    let started = Instant::now();
    let export = loop {
        let listed = olive.get("/api/v1/company/exports").json();
        let export = listed["company_exports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id.as_str())
            .cloned()
            .expect("the export is listed");
        if export["status"] == "ready" {
            break export;
        }
        assert_ne!(export["status"], "failed", "{export}");
        assert!(
            started.elapsed() < AFTER_RESPONSE_TIMEOUT * 2,
            "not ready: {export}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let download = export["download"].as_str().unwrap().to_owned();
    assert!(refused(&dee.get(&download)));
    let archive = entries(&olive.get(&download));

    // Every table of the schema but the left-out ones, each with its rows.
    let names: Vec<String> = tenant
        .d1_execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_owned))
        .collect();
    let tables = fieldworker::domain::exports::exported_tables(&names);
    assert!(tables.len() > 30, "{tables:?}");
    for table in &tables {
        let file: Value =
            serde_json::from_slice(entry(&archive, &format!("tables/{table}.json"))).unwrap();
        assert_eq!(file["table"], table.as_str());
        assert!(file["rows"].is_array(), "{table}");
    }
    assert!(!archive.iter().any(|(n, _)| n == "tables/data_keys.json"));
    let customers: Value =
        serde_json::from_slice(entry(&archive, "tables/customers.json")).unwrap();
    assert_eq!(customers["rows"][0]["name"], "Ann Lee");
    let users: Value = serde_json::from_slice(entry(&archive, "tables/users.json")).unwrap();
    assert_eq!(users["rows"].as_array().unwrap().len(), 3);
    for user in users["rows"].as_array().unwrap() {
        assert_eq!(user["password_hash"], "[withheld]", "{user}");
    }
    let settings: Value =
        serde_json::from_slice(entry(&archive, "tables/company_settings.json")).unwrap();
    assert_eq!(settings["rows"].as_array().unwrap().len(), 1);
    let files: Value = serde_json::from_slice(entry(&archive, "files.json")).unwrap();
    assert!(
        files["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["key"].as_str().is_some_and(|k| k.contains(&mark))),
        "{files}"
    );
    assert!(entry(&archive, "manifest.json").starts_with(b"{"));
    assert!(audited(&olive, "company.export_requested") >= 1);
    assert!(audited(&olive, "company.export_downloaded") >= 1);
}
