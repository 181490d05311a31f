//! Visits over the API: booking, conflicts (refused or allowed on purpose), moving with the
//! version read, recurring series, and what technicians see.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::Tenant;

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
