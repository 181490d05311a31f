//! Visits over the API: booking, conflicts (refused or allowed on purpose), moving with the
//! version read, recurring series, and what technicians see.

use fieldworker::domain::time::Millis;
use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::Tenant;
use crate::zones::{instants, local_times};

/// A job assigned to `technician`; returns its id.
fn job_for(owner: &Browser<'_>, technician: &Value) -> String {
    let customer = owner
        .post("/api/v1/customers", &json!({ "name": "Ann Lee" }))
        .json();
    let id = customer["id"].as_str().unwrap();
    owner.post(
        &format!("/api/v1/customers/{id}/sites"),
        &json!({ "line1": "1 Canal St" }),
    );
    let job = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": id, "title": "Boiler", "technician_ids": [technician] }),
    );
    assert_eq!(job.status, 201, "{}", job.body);
    job.json()["id"].as_str().unwrap().to_owned()
}

fn book(owner: &Browser<'_>, job: &str, body: Value) -> crate::spawn::Reply {
    owner.post(&format!("/api/v1/jobs/{job}/visits"), &body)
}

#[test]
fn an_overlapping_booking_is_refused_with_its_conflicts_unless_allowed() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let job = job_for(&owner, &theo.user["id"]);

    let first = book(
        &owner,
        &job,
        json!({ "start": "2026-12-03T09:00:00Z", "end": "2026-12-03T11:00:00Z" }),
    );
    assert_eq!(first.status, 201, "{}", first.body);
    let first_id = first.json()["visits"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        first.json()["visits"][0]["technician_ids"],
        json!([theo.user["id"]])
    );

    let clash = book(
        &owner,
        &job,
        json!({ "start": "2026-12-03T10:30:00+00:00", "end": "2026-12-03T12:00:00Z" }),
    )
    .problem(409);
    assert_eq!(clash["conflicts"][0]["visit_id"], first_id.as_str());
    assert_eq!(clash["conflicts"][0]["start"], "2026-12-03T09:00:00.000Z");
    assert_eq!(
        clash["conflicts"][0]["technician_ids"],
        json!([theo.user["id"]])
    );

    let touching = book(
        &owner,
        &job,
        json!({ "start": "2026-12-03T11:00:00Z", "end": "2026-12-03T12:00:00Z" }),
    );
    assert_eq!(
        touching.status, 201,
        "end to start is not an overlap: {}",
        touching.body
    );
    let allowed = book(
        &owner,
        &job,
        json!({ "start": "2026-12-03T10:00:00Z", "end": "2026-12-03T10:30:00Z", "allow_conflict": true }),
    );
    assert_eq!(allowed.status, 201, "{}", allowed.body);

    let day = owner
        .get("/api/v1/visits?from=2026-12-03T00:00:00Z&to=2026-12-04T00:00:00Z")
        .json();
    assert_eq!(day["visits"].as_array().unwrap().len(), 3);
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
}

#[test]
fn a_visit_moves_with_the_version_read_and_not_onto_another_booking() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let job = job_for(&owner, &theo.user["id"]);
    let morning = book(
        &owner,
        &job,
        json!({ "start": "2026-12-03T09:00:00Z", "end": "2026-12-03T10:00:00Z" }),
    )
    .json();
    book(
        &owner,
        &job,
        json!({ "start": "2026-12-04T09:00:00Z", "end": "2026-12-04T10:00:00Z" }),
    );
    let id = morning["visits"][0]["id"].as_str().unwrap();
    let path = format!("/api/v1/visits/{id}");
    let move_to = |start: &str, end: &str, version: &str| {
        owner
            .request("PATCH", &path)
            .header("If-Match", version)
            .json(&json!({ "start": start, "end": end }))
            .send()
    };
    move_to("2026-12-04T09:30:00Z", "2026-12-04T10:30:00Z", "\"1\"").problem(409);
    move_to("2026-12-03T12:00:00Z", "2026-12-03T11:00:00Z", "\"1\"").problem(422);
    let moved = move_to("2026-12-05T09:00:00Z", "2026-12-05T10:00:00Z", "\"1\"");
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.json()["start"], "2026-12-05T09:00:00.000Z");
    assert_eq!(moved.header("etag"), Some("\"2\""));
    let stale = move_to("2026-12-06T09:00:00Z", "2026-12-06T10:00:00Z", "\"1\"").problem(409);
    assert_eq!(stale["current"]["start"], "2026-12-05T09:00:00.000Z");
    // Moving within its own old slot is not a conflict with itself.
    assert_eq!(
        move_to("2026-12-05T09:15:00Z", "2026-12-05T10:15:00Z", "\"2\"").status,
        200
    );

    owner.request("DELETE", &path).send().problem(428);
    assert_eq!(
        owner
            .request("DELETE", &path)
            .header("If-Match", "\"3\"")
            .send()
            .status,
        204
    );
    owner
        .request("DELETE", &path)
        .header("If-Match", "\"3\"")
        .send()
        .problem(404);
}

#[test]
fn a_recurring_booking_creates_its_series_at_once_or_not_at_all() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let job = job_for(&owner, &theo.user["id"]);
    let weekly = book(
        &owner,
        &job,
        json!({ "start": "2026-12-01T08:00:00Z", "end": "2026-12-01T09:00:00Z",
                "recurrence": { "frequency": "weekly", "count": 4 } }),
    );
    assert_eq!(weekly.status, 201, "{}", weekly.body);
    let body = weekly.json();
    let starts: Vec<&str> = body["visits"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["start"].as_str())
        .collect();
    assert_eq!(
        starts,
        [
            "2026-12-01T08:00:00.000Z",
            "2026-12-08T08:00:00.000Z",
            "2026-12-15T08:00:00.000Z",
            "2026-12-22T08:00:00.000Z"
        ]
    );
    // A daily series that would collide with one of those is refused whole.
    let daily = book(
        &owner,
        &job,
        json!({ "start": "2026-12-06T08:30:00Z", "end": "2026-12-06T09:30:00Z",
                "recurrence": { "frequency": "daily", "count": 5 } }),
    )
    .problem(409);
    assert_eq!(daily["conflicts"].as_array().unwrap().len(), 1);
    let month = owner
        .get("/api/v1/visits?from=2026-12-01T00:00:00Z&to=2026-12-31T00:00:00Z")
        .json();
    assert_eq!(
        month["visits"].as_array().unwrap().len(),
        4,
        "nothing of the refused series was written"
    );

    book(
        &owner,
        &job,
        json!({ "start": "2026-12-01T08:00:00Z", "end": "2026-12-01T09:00:00Z",
        "recurrence": { "frequency": "fortnightly", "count": 2 } }),
    )
    .problem(422);
    book(
        &owner,
        &job,
        json!({ "start": "2026-12-01T08:00:00Z", "end": "2026-12-01T09:00:00Z", "colour": 1 }),
    )
    .problem(400);
}

#[test]
fn technicians_see_only_their_own_visits() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let tess = member(
        &owner,
        "tess@acme-heating.example",
        "technician",
        "flux-and-copper-pipe-3",
    );
    let theos = job_for(&owner, &theo.user["id"]);
    let tesss = job_for(&owner, &tess.user["id"]);
    book(
        &owner,
        &theos,
        json!({ "start": "2026-12-03T09:00:00Z", "end": "2026-12-03T10:00:00Z" }),
    );
    book(
        &owner,
        &tesss,
        json!({ "start": "2026-12-03T09:00:00Z", "end": "2026-12-03T10:00:00Z" }),
    );
    let range = "from=2026-12-03T00:00:00Z&to=2026-12-04T00:00:00Z";
    assert_eq!(
        owner.get(&format!("/api/v1/visits?{range}")).json()["visits"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let mine = theo.get(&format!("/api/v1/visits?{range}")).json();
    assert_eq!(mine["visits"].as_array().unwrap().len(), 1);
    assert_eq!(mine["visits"][0]["job_id"], theos.as_str());
    theo.get("/api/v1/visits").problem(422);
    theo.get("/api/v1/visits?from=2026-12-03T00:00:00Z&to=2027-06-01T00:00:00Z")
        .problem(422);
}

#[test]
fn a_retried_booking_with_the_same_idempotency_key_books_nothing_new() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let job = job_for(&owner, &theo.user["id"]);
    let path = format!("/api/v1/jobs/{job}/visits");
    let series = json!({ "start": "2026-12-01T08:00:00Z", "end": "2026-12-01T09:00:00Z",
                         "recurrence": { "frequency": "weekly", "count": 3 } });
    let send = |key: &str, body: &Value| {
        owner
            .request("POST", &path)
            .header("Idempotency-Key", key)
            .json(body)
            .send()
    };
    let first = send("book-weekly-1", &series);
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.json()["visits"].as_array().unwrap().len(), 3);
    // A retry answers the same series (not a 409 against its own visits) and books nothing.
    let again = send("book-weekly-1", &series);
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["visits"], first.json()["visits"]);
    // The same key for another booking is refused; a new key is a new booking (here a clash).
    let other = json!({ "start": "2026-12-02T08:00:00Z", "end": "2026-12-02T09:00:00Z" });
    send("book-weekly-1", &other).problem(422);
    send("book-weekly-1b", &series).problem(409);

    let listed = owner
        .get(&format!(
            "/api/v1/visits?job={job}&from=2026-11-01T00:00:00Z&to=2026-12-31T00:00:00Z"
        ))
        .json();
    assert_eq!(listed["visits"].as_array().unwrap().len(), 3, "{listed}");
    let audit = owner.get("/api/v1/audit?action=visit.created").json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 1);
}

/// Sets the company's time zone, with the version read; returns the name as stored.
fn set_zone(owner: &Browser<'_>, zone: &str) -> String {
    let version = owner.get("/api/v1/settings").json()["version"].to_string();
    let saved = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "time_zone": zone }))
        .send();
    assert_eq!(saved.status, 200, "{}", saved.body);
    saved.json()["time_zone"].as_str().unwrap().to_owned()
}

fn starts_of(reply: &crate::spawn::Reply) -> Vec<String> {
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["visits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["start"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_weekly_series_keeps_its_local_time_across_a_daylight_saving_change() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let job = job_for(&owner, &theo.user["id"]);
    // New York falls back on 1 November; Berlin springs forward on 29 March.
    let cases = [
        ("America/New_York", "2026-10-20T09:00"),
        ("Europe/Berlin", "2026-03-17T09:00"),
    ];
    for (zone, first) in cases {
        assert_eq!(set_zone(&owner, zone), zone);
        let start = &instants(zone, &[first])[0];
        let end = Millis::parse_rfc3339(start).unwrap().plus(Millis::HOUR);
        let series = starts_of(&book(
            &owner,
            &job,
            json!({ "start": start, "end": end.to_rfc3339(),
                    "recurrence": { "frequency": "weekly", "count": 4 } }),
        ));
        let local: Vec<String> =
            local_times(zone, &series.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            local.iter().all(|t| t.ends_with("T09:00")),
            "{zone}: {local:?} ({series:?})"
        );
        // The UTC time moved instead, by the hour the clocks changed.
        assert_ne!(series[0][11..16], series[3][11..16], "{zone}: {series:?}");
    }
}

#[test]
fn a_series_at_a_skipped_or_repeated_local_time_lands_where_intl_says() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let job = job_for(&owner, &theo.user["id"]);
    // Daily from the day before a change, at a time that day skips or repeats.
    let cases = [
        (
            "Europe/Berlin",
            ["2026-03-28T02:30", "2026-03-29T02:30", "2026-03-30T02:30"],
        ),
        (
            "Europe/Berlin",
            ["2026-10-24T02:30", "2026-10-25T02:30", "2026-10-26T02:30"],
        ),
        (
            "America/New_York",
            ["2026-03-07T02:30", "2026-03-08T02:30", "2026-03-09T02:30"],
        ),
        (
            "America/New_York",
            ["2026-10-31T01:30", "2026-11-01T01:30", "2026-11-02T01:30"],
        ),
        (
            "Australia/Sydney",
            ["2026-04-04T02:30", "2026-04-05T02:30", "2026-04-06T02:30"],
        ),
        (
            "Australia/Sydney",
            ["2026-10-03T02:30", "2026-10-04T02:30", "2026-10-05T02:30"],
        ),
        (
            "Asia/Beirut",
            ["2026-03-28T00:00", "2026-03-29T00:00", "2026-03-30T00:00"],
        ),
        (
            "Asia/Beirut",
            ["2026-10-23T23:30", "2026-10-24T23:30", "2026-10-25T23:30"],
        ),
        (
            "Australia/Lord_Howe",
            ["2026-04-04T01:45", "2026-04-05T01:45", "2026-04-06T01:45"],
        ),
        (
            "Australia/Lord_Howe",
            ["2026-10-03T02:15", "2026-10-04T02:15", "2026-10-05T02:15"],
        ),
        (
            "Asia/Kathmandu",
            ["2026-03-28T00:00", "2026-03-29T00:00", "2026-03-30T00:00"],
        ),
    ];
    for (zone, walls) in cases {
        set_zone(&owner, zone);
        let expected = instants(zone, &walls);
        let end = Millis::parse_rfc3339(&expected[0])
            .unwrap()
            .plus(30 * Millis::MINUTE);
        let series = starts_of(&book(
            &owner,
            &job,
            json!({ "start": expected[0], "end": end.to_rfc3339(), "allow_conflict": true,
                    "recurrence": { "frequency": "daily", "count": 3 } }),
        ));
        assert_eq!(series, expected, "{zone} {walls:?}");
    }
    // As the issue has it: Berlin's skipped 02:30 is 03:30 summer time, Beirut's skipped
    // midnight 01:00, Lord Howe's skipped 02:15 (a half-hour gap) 02:45.
    let shown = |zone: &str, wall: &str| local_times(zone, &[instants(zone, &[wall])[0].as_str()]);
    assert_eq!(
        shown("Europe/Berlin", "2026-03-29T02:30"),
        ["2026-03-29T03:30"]
    );
    assert_eq!(
        shown("Asia/Beirut", "2026-03-29T00:00"),
        ["2026-03-29T01:00"]
    );
    assert_eq!(
        shown("Australia/Lord_Howe", "2026-10-04T02:15"),
        ["2026-10-04T02:45"]
    );
}
