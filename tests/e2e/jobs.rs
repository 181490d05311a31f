//! Jobs over the API: creation at a site, the status machine, notes, versioned changes,
//! filters and pages, and what technicians may see and do.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Reply, Tenant};

/// A customer with a primary site; returns (customer id, site id).
fn customer(owner: &Browser<'_>, name: &str) -> (String, String) {
    let made = owner.post("/api/v1/customers", &json!({ "name": name }));
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{id}/sites"),
        &json!({ "line1": "1 Canal St" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    (id, site.json()["id"].as_str().unwrap().to_owned())
}

fn job(owner: &Browser<'_>, body: Value) -> Value {
    let made = owner.post("/api/v1/jobs", &body);
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()
}

fn status(browser: &Browser<'_>, id: &str, version: i64, to: &str) -> Reply {
    browser
        .request("POST", &format!("/api/v1/jobs/{id}/status"))
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "status": to }))
        .send()
}

#[test]
fn a_job_moves_through_its_status_machine_and_keeps_notes() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, site_id) = customer(&owner, "Ann Lee");
    let made = job(
        &owner,
        json!({ "customer_id": customer_id, "title": "Boiler service", "priority": "high" }),
    );
    assert_eq!(
        made["site_id"],
        site_id.as_str(),
        "the primary site by default"
    );
    assert_eq!(made["status"], "requested");
    assert_eq!(made["number"], 1);
    let id = made["id"].as_str().unwrap();

    let illegal = status(&owner, id, 1, "completed").problem(409);
    assert_eq!(illegal["current_status"], "requested");
    assert_eq!(
        illegal["allowed"],
        json!(["scheduled", "on_hold", "cancelled"])
    );
    status(&owner, id, 1, "teleported").problem(422);
    status(&owner, id, 7, "scheduled").problem(409);
    let mut version = 1;
    for to in ["scheduled", "in_progress", "completed"] {
        let moved = status(&owner, id, version, to);
        assert_eq!(moved.status, 200, "{to}: {}", moved.body);
        version = moved.json()["version"].as_i64().unwrap();
        assert_eq!(moved.json()["status"], to);
    }
    let final_state = status(&owner, id, version, "requested").problem(409);
    assert_eq!(final_state["allowed"], json!([]));

    let note = owner.post(
        &format!("/api/v1/jobs/{id}/notes"),
        &json!({ "text": "Replaced the pump seal." }),
    );
    assert_eq!(note.status, 201, "{}", note.body);
    owner
        .post(
            &format!("/api/v1/jobs/{id}/notes"),
            &json!({ "text": "  " }),
        )
        .problem(422);
    let read = owner.get(&format!("/api/v1/jobs/{id}"));
    assert_eq!(read.header("etag"), Some(format!("\"{version}\"").as_str()));
    assert_eq!(read.json()["notes"][0]["text"], "Replaced the pump seal.");

    let history = owner.get(&format!("/api/v1/jobs/{id}/timeline")).json();
    let actions: Vec<&str> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "job.note_added",
            "job.status_changed",
            "job.status_changed",
            "job.status_changed",
            "job.created"
        ]
    );
}

#[test]
fn a_job_is_created_only_at_a_site_of_its_customer_with_assignable_technicians() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let viewer = member(
        &owner,
        "vic@acme-heating.example",
        "viewer",
        "looking-not-touching-5",
    );
    let (ann, _) = customer(&owner, "Ann Lee");
    let (_, bo_site) = customer(&owner, "Bo Chen");
    let post = |body: Value| owner.post("/api/v1/jobs", &body);

    let wrong_site =
        post(json!({ "customer_id": ann, "site_id": bo_site, "title": "Leak" })).problem(422);
    assert_eq!(wrong_site["errors"][0]["field"], "site_id");
    post(json!({ "title": "Leak" })).problem(422);
    post(json!({ "customer_id": 5, "title": "Leak" })).problem(422);
    let bad = post(json!({
        "customer_id": ann, "title": "", "priority": "asap",
        "technician_ids": [viewer.user["id"], "nobody"],
    }))
    .problem(422);
    let fields: Vec<&str> = bad["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert!(
        fields.contains(&"title") && fields.contains(&"priority"),
        "{fields:?}"
    );
    let unassignable = post(json!({ "customer_id": ann, "title": "Leak", "technician_ids": [viewer.user["id"], "nobody"] }))
        .problem(422);
    let fields: Vec<&str> = unassignable["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(fields, ["technician_ids[0]", "technician_ids[1]"]);
    post(json!({ "customer_id": ann, "title": "Leak", "colour": "red" })).problem(400);
    assert!(owner.get("/api/v1/jobs").json()["jobs"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn technicians_see_only_their_jobs_and_change_only_status_notes_and_items() {
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
    let (ann, _) = customer(&owner, "Ann Lee");
    let mine = job(
        &owner,
        json!({ "customer_id": ann, "title": "Boiler", "technician_ids": [theo.user["id"]] }),
    );
    let theirs = job(
        &owner,
        json!({ "customer_id": ann, "title": "Radiator", "technician_ids": [tess.user["id"]] }),
    );
    let mine_id = mine["id"].as_str().unwrap();
    let theirs_id = theirs["id"].as_str().unwrap();

    let listed = theo.get("/api/v1/jobs").json();
    let titles: Vec<&str> = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|j| j["title"].as_str())
        .collect();
    assert_eq!(titles, ["Boiler"]);
    // Asking for someone else's jobs still shows only their own.
    let asked = theo
        .get(&format!(
            "/api/v1/jobs?technician={}",
            tess.user["id"].as_str().unwrap()
        ))
        .json();
    assert_eq!(asked["jobs"].as_array().unwrap().len(), 1);
    theo.get(&format!("/api/v1/jobs/{theirs_id}")).problem(404);
    theo.get(&format!("/api/v1/jobs/{theirs_id}/timeline"))
        .problem(404);
    status(&theo, theirs_id, 1, "scheduled").problem(404);
    theo.post(
        &format!("/api/v1/jobs/{theirs_id}/notes"),
        &json!({ "text": "hi" }),
    )
    .problem(404);

    let items = json!({ "items": [{ "kind": "part", "description": "Pump seal", "quantity_milli": 1000, "unit": "pcs" }] });
    let used = theo
        .request("PATCH", &format!("/api/v1/jobs/{mine_id}"))
        .header("If-Match", "\"1\"")
        .json(&items)
        .send();
    assert_eq!(used.status, 200, "{}", used.body);
    assert_eq!(used.json()["items"][0]["description"], "Pump seal");
    let retitle = theo
        .request("PATCH", &format!("/api/v1/jobs/{mine_id}"))
        .header("If-Match", "\"2\"")
        .json(&json!({ "title": "Something else" }))
        .send()
        .problem(403);
    assert!(
        retitle["detail"].as_str().unwrap().contains("title"),
        "{retitle}"
    );
    assert_eq!(status(&theo, mine_id, 2, "scheduled").status, 200);
    assert_eq!(
        theo.post(
            &format!("/api/v1/jobs/{mine_id}/notes"),
            &json!({ "text": "On my way" })
        )
        .status,
        201
    );
    theo.post(
        "/api/v1/jobs",
        &json!({ "customer_id": ann, "title": "Mine now" }),
    )
    .problem(403);
}

#[test]
fn jobs_are_filtered_and_paged_newest_first() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let (ann, _) = customer(&owner, "Ann Lee");
    let (bo, _) = customer(&owner, "Bo Chen");
    for (i, customer) in [&ann, &bo, &ann, &bo, &ann].iter().enumerate() {
        let techs = if i % 2 == 0 {
            json!([theo.user["id"]])
        } else {
            json!([])
        };
        job(
            &owner,
            json!({ "customer_id": customer, "title": format!("Job {i}"), "technician_ids": techs }),
        );
    }
    let titles = |reply: Value| -> Vec<String> {
        reply["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["title"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = owner.get("/api/v1/jobs?limit=2").json();
    assert_eq!(titles(first.clone()), ["Job 4", "Job 3"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    assert_eq!(
        titles(
            owner
                .get(&format!("/api/v1/jobs?limit=2&cursor={cursor}"))
                .json()
        ),
        ["Job 2", "Job 1"]
    );
    assert_eq!(
        titles(owner.get(&format!("/api/v1/jobs?customer={bo}")).json()),
        ["Job 3", "Job 1"]
    );
    let theo_id = theo.user["id"].as_str().unwrap();
    assert_eq!(
        titles(
            owner
                .get(&format!("/api/v1/jobs?technician={theo_id}"))
                .json()
        ),
        ["Job 4", "Job 2", "Job 0"]
    );
    assert_eq!(
        titles(owner.get("/api/v1/jobs?status=requested&limit=1").json()),
        ["Job 4"]
    );
    assert!(titles(owner.get("/api/v1/jobs?status=completed").json()).is_empty());
    assert!(titles(
        owner
            .get("/api/v1/jobs?created_from=2999-01-01T00:00:00Z")
            .json()
    )
    .is_empty());
    for (query, code) in [
        ("status=done", 422),
        ("created_from=monday", 422),
        ("cursor=x", 422),
        ("limit=999", 422),
        ("order=asc", 400),
    ] {
        owner.get(&format!("/api/v1/jobs?{query}")).problem(code);
    }
    // A listed job is exactly the job as read alone (the list is rendered by the database),
    // with technicians, items, a null description and all.
    let items = json!([{ "kind": "part", "description": "Valve", "quantity_milli": 2000 }]);
    let detailed = job(
        &owner,
        json!({ "customer_id": ann, "title": "Detailed", "technician_ids": [theo.user["id"]],
                "items": items }),
    );
    let listed = owner.get("/api/v1/jobs?limit=1").json();
    let mut alone = owner
        .get(&format!(
            "/api/v1/jobs/{}",
            detailed["id"].as_str().unwrap()
        ))
        .json();
    // What only the job alone carries: its notes, where it happens, its next visit, its people.
    for extra in ["notes", "customer", "site", "next_visit", "workers"] {
        alone.as_object_mut().unwrap().remove(extra);
    }
    assert_eq!(listed["jobs"][0], alone);
    assert_eq!(listed["jobs"][0], detailed);
}

#[test]
fn twenty_concurrent_patches_of_one_job_give_one_winner_no_lost_update_and_one_audit_row() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let made = job(
        &owner,
        json!({ "customer_id": customer_id, "title": "Boiler" }),
    );
    let id = made["id"].as_str().unwrap();
    let path = format!("/api/v1/jobs/{id}");
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let writers: Vec<_> = (0..20)
            .map(|i| {
                let (owner, path) = (&owner, &path);
                scope.spawn(move || {
                    owner
                        .request("PATCH", path)
                        .header("If-Match", "\"1\"")
                        .json(&json!({ "title": format!("Writer {i}") }))
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

    let current = owner.get(&path);
    assert_eq!(current.header("etag"), Some("\"2\""));
    let audit = owner
        .get(&format!("/api/v1/audit?action=job.updated&entity_id={id}"))
        .json();
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    // The audited value is the stored one: the winner's write was not overwritten.
    assert_eq!(events[0]["after"]["title"], current.json()["title"]);
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
}

#[test]
fn reads_and_writes_of_a_job_stay_within_their_d1_round_trip_budget() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let made = job(
        &owner,
        json!({ "customer_id": customer_id, "title": "Boiler" }),
    );
    let id = made["id"].as_str().unwrap();
    let trips = |reply: &Reply| -> u32 {
        reply
            .header("x-d1-round-trips")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no round-trip count: {:?}", reply.body))
    };
    // A request's first reads travel in the batch that reads its user.
    let read = owner.get(&format!("/api/v1/jobs/{id}"));
    assert_eq!(read.status, 200);
    assert_eq!(
        trips(&read),
        1,
        "GET job: the user, the job and its notes in one batch"
    );
    let listed = owner.get("/api/v1/jobs?status=requested");
    assert_eq!(trips(&listed), 1, "job list: the user and the page");
    let patched = owner
        .request("PATCH", &format!("/api/v1/jobs/{id}"))
        .header("If-Match", "\"1\"")
        .json(&json!({ "title": "Boiler service" }))
        .send();
    assert_eq!(patched.status, 200, "{}", patched.body);
    // The user with the job as read, then one batch: the version-checked update, its audit
    // row (appended without reading the chain) and the re-read of the result.
    assert_eq!(trips(&patched), 2, "PATCH job");
}
