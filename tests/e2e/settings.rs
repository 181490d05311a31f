//! Company settings: versioned writes by owners, validation naming the fields.

use serde_json::json;

use crate::people::*;
use crate::spawn::Tenant;

#[test]
fn settings_change_only_with_the_version_read_and_valid_fields() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let read = owner.get("/api/v1/settings");
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.header("etag"), Some("\"1\""));
    let patch = |version: Option<&str>, body: serde_json::Value| {
        let mut call = owner.request("PATCH", "/api/v1/settings");
        if let Some(version) = version {
            call = call.header("If-Match", version);
        }
        call.json(&body).send()
    };

    patch(None, json!({ "name": "Acme Heating" })).problem(428);
    patch(Some("one"), json!({ "name": "Acme Heating" })).problem(400);
    let invalid = patch(
        Some("\"1\""),
        json!({ "currency": "usd", "phone": "555-0143", "email": "nope", "name": " " }),
    )
    .problem(422);
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["name", "currency", "email", "phone"]);
    patch(Some("\"1\""), json!({ "colour": "red" })).problem(400);

    let saved = patch(
        Some("\"1\""),
        json!({ "name": "Acme Heating", "phone": "+12125550143", "time_zone": "America/Chicago" }),
    );
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.header("etag"), Some("\"2\""));
    assert_eq!(saved.json()["name"], "Acme Heating");

    // A second tab still holding version 1 gets the conflict and the current settings.
    let stale = patch(Some("\"1\""), json!({ "name": "Stale Tab Heating" })).problem(409);
    assert_eq!(stale["current"]["name"], "Acme Heating");
    assert_eq!(stale["current"]["version"], 2);

    let audit = owner.get("/api/v1/audit?action=settings.updated").json();
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "one change, one audit row: {events:?}");
    assert_eq!(events[0]["before"]["name"], "Unnamed company");
    assert_eq!(events[0]["after"]["name"], "Acme Heating");
}

#[test]
fn twenty_concurrent_writes_of_the_same_version_give_one_winner_and_one_audit_row() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..20)
            .map(|i| {
                let owner = &owner;
                scope.spawn(move || {
                    owner
                        .request("PATCH", "/api/v1/settings")
                        .header("If-Match", "\"1\"")
                        .json(&json!({ "name": format!("Writer {i}") }))
                        .send()
                        .status
                })
            })
            .collect();
        writers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let won = statuses.iter().filter(|s| **s == 200).count();
    let lost = statuses.iter().filter(|s| **s == 409).count();
    assert_eq!((won, lost), (1, 19), "{statuses:?}");

    let current = owner.get("/api/v1/settings");
    assert_eq!(current.header("etag"), Some("\"2\""));
    let audit = owner.get("/api/v1/audit?action=settings.updated").json();
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    // No lost update: the audited value is the value stored.
    assert_eq!(events[0]["after"]["name"], current.json()["name"]);
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
}

#[test]
fn a_time_zone_intl_does_not_know_is_refused_and_a_known_one_is_stored_as_intl_spells_it() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let patch = |body: serde_json::Value| {
        owner
            .request("PATCH", "/api/v1/settings")
            .header("If-Match", "\"1\"")
            .json(&body)
            .send()
    };
    for zone in [
        "Mars/Olympus_Mons",
        "",
        "America/New York",
        "Europe/Berlin/",
    ] {
        let refused = patch(json!({ "time_zone": zone })).problem(422);
        assert_eq!(refused["errors"][0]["field"], "time_zone", "{zone:?}");
        assert_eq!(refused["errors"].as_array().unwrap().len(), 1);
    }
    assert_eq!(owner.get("/api/v1/settings").json()["time_zone"], "UTC");
    let saved = patch(json!({ "time_zone": "europe/berlin" }));
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["time_zone"], "Europe/Berlin");
}
