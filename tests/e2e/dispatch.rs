//! Dispatching over the API and in chat: a visit's own status, the job following its visits
//! (booking, arriving, the last visit done, every visit cancelled), the job's technicians
//! derived from its visits, booking on the job's version (two dispatchers at once: one visit
//! and one clear 409), the schedule's waiting list, and the chat's answers.

use serde_json::{json, Value};

use crate::messaging::{link, say, Channels};
use crate::people::*;
use crate::spawn::{Reply, Tenant};

const TECH: &str = "theo@acme-heating.example";
const TECH_PASSWORD: &str = "wrench-and-solder-77";

/// A customer (with a phone) and a site with access notes; returns the customer's id.
fn customer(owner: &Browser<'_>, name: &str) -> String {
    let made = owner.post(
        "/api/v1/customers",
        &json!({ "name": name, "phones": ["+14165550100"] }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{id}/sites"),
        &json!({ "line1": "12 Queen St W", "city": "Toronto", "access_notes": "Gate code 4321" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    id
}

/// A requested job of `customer`, assigned to `technicians`; returns its view.
fn job(owner: &Browser<'_>, customer: &str, title: &str, technicians: &[&Value]) -> Value {
    let made = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer, "title": title, "technician_ids": technicians }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()
}

fn get_job(who: &Browser<'_>, id: &str) -> Value {
    let got = who.get(&format!("/api/v1/jobs/{id}"));
    assert_eq!(got.status, 200, "{}", got.body);
    got.json()
}

fn book(owner: &Browser<'_>, job: &str, body: Value) -> Reply {
    owner.post(&format!("/api/v1/jobs/{job}/visits"), &body)
}

fn set_status(who: &Browser<'_>, visit: &Value, to: &str) -> Reply {
    who.request(
        "POST",
        &format!("/api/v1/visits/{}/status", visit["id"].as_str().unwrap()),
    )
    .header("If-Match", &format!("\"{}\"", visit["version"]))
    .json(&json!({ "status": to }))
    .send()
}

/// `visit` moved to `to`, as answered (asserting it was accepted).
fn moved(who: &Browser<'_>, visit: &Value, to: &str) -> Value {
    let reply = set_status(who, visit, to);
    assert_eq!(reply.status, 200, "{to}: {}", reply.body);
    reply.json()
}

fn set_job_status(who: &Browser<'_>, id: &str, to: &str) -> Reply {
    let version = get_job(who, id)["version"].clone();
    who.request("POST", &format!("/api/v1/jobs/{id}/status"))
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "status": to }))
        .send()
}

fn patch_settings(owner: &Browser<'_>, body: Value) -> Reply {
    let settings = owner.get("/api/v1/settings");
    owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", settings.header("etag").unwrap())
        .json(&body)
        .send()
}

/// The job's status moves in its audit trail, oldest first, as (from, to).
fn status_moves(owner: &Browser<'_>, id: &str) -> Vec<(String, String)> {
    let events = owner
        .get(&format!(
            "/api/v1/audit?action=job.status_changed&entity_id={id}"
        ))
        .json();
    let mut moves: Vec<(String, String)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["before"]["status"].as_str().unwrap().to_owned(),
                e["after"]["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    moves.reverse();
    moves
}

#[test]
fn a_job_follows_its_visits_from_booking_to_the_last_visit_done() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(&owner, TECH, "technician", TECH_PASSWORD);
    let ada = customer(&owner, "Ada");
    // Nobody assigned: the technician works it through the visit only.
    let made = job(&owner, &ada, "Boiler service", &[]);
    let id = made["id"].as_str().unwrap();
    assert_eq!(made["status"], "requested");
    assert_eq!(made["worker_ids"], json!([]));
    // A technician on no job and no visit of it does not see it.
    theo.get(&format!("/api/v1/jobs/{id}")).problem(404);

    // Booking the first visit schedules the job, in the same batch, audited.
    let first = book(
        &owner,
        id,
        json!({ "start": "2030-06-10T09:00:00Z", "end": "2030-06-10T11:00:00Z",
                "technician_ids": [theo.user["id"]] }),
    );
    assert_eq!(first.status, 201, "{}", first.body);
    let first = first.json()["visits"][0].clone();
    assert_eq!(first["status"], "scheduled");
    assert_eq!(first["job"]["status"], "scheduled");
    let second = book(
        &owner,
        id,
        json!({ "start": "2030-06-12T09:00:00Z", "end": "2030-06-12T10:00:00Z",
                "technician_ids": [theo.user["id"]] }),
    )
    .json()["visits"][0]
        .clone();
    let scheduled = get_job(&owner, id);
    assert_eq!(scheduled["status"], "scheduled");
    assert_eq!(scheduled["version"], 2, "one move for two bookings");
    // The job's technicians: those on its visits (the page, the API, the technician's view).
    assert_eq!(scheduled["worker_ids"], json!([theo.user["id"]]));
    assert_eq!(scheduled["technician_ids"], json!([]), "assigned: nobody");
    assert_eq!(
        scheduled["workers"],
        json!([{ "id": theo.user["id"], "name": "technician person" }])
    );
    let seen = get_job(&theo, id);
    assert_eq!(seen["next_visit"]["id"], first["id"]);
    let theirs = theo.get("/api/v1/jobs").json();
    assert_eq!(theirs["jobs"][0]["id"], id, "{theirs}");
    let page = theo.get(&format!("/jobs/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("technician person"),
        "the job page names them"
    );
    assert!(!page.body.contains("Nobody yet"));

    // On the way, then arrived: the job is in progress.
    let en_route = moved(&theo, &first, "en_route");
    assert_eq!(en_route["job"]["status"], "scheduled");
    let arrived = moved(&theo, &en_route, "in_progress");
    assert_eq!(arrived["job"]["status"], "in_progress");
    assert_eq!(arrived["offer_job_completion"], false);
    // A visit's machine refuses what it does not allow, naming the allowed moves once.
    let refused = set_status(&theo, &arrived, "scheduled").problem(409);
    assert_eq!(refused["allowed"], json!(["completed", "cancelled"]));
    let detail = refused["detail"].as_str().unwrap();
    assert_eq!(detail.matches("completed").count(), 1, "{detail}");
    set_status(&theo, &first, "completed").problem(409); // stale version
    set_status(&theo, &arrived, "arrived").problem(422);
    // Technicians move their visits along; cancelling is the office's.
    set_status(&theo, &second, "cancelled").problem(403);

    // Done with one visit of two: no offer yet; the last one done: the offer.
    let done = moved(&theo, &arrived, "completed");
    assert_eq!(done["offer_job_completion"], false, "another visit is open");
    let second_done = moved(&theo, &second, "completed");
    assert_eq!(second_done["offer_job_completion"], true);
    assert_eq!(
        second_done["job"]["status"], "in_progress",
        "offered, not done"
    );
    set_status(&theo, &second_done, "scheduled").problem(409); // completed is final
    let page = theo.get(&format!("/jobs/{id}")).body;
    assert!(
        page.contains("Every visit is done"),
        "the page offers it too"
    );
    assert!(page.contains("data-status=\"completed\""));

    assert_eq!(
        status_moves(&owner, id),
        [
            ("requested".to_owned(), "scheduled".to_owned()),
            ("scheduled".to_owned(), "in_progress".to_owned()),
        ]
    );
    let visit_moves = owner
        .get(&format!(
            "/api/v1/audit?action=visit.status_changed&entity_id={}",
            first["id"].as_str().unwrap()
        ))
        .json();
    assert_eq!(visit_moves["events"].as_array().unwrap().len(), 3);
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
}

#[test]
fn the_last_visit_done_completes_the_job_when_the_company_says_so_unless_a_signature_is_missing() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let on = patch_settings(&owner, json!({ "complete_job_with_last_visit": true }));
    assert_eq!(on.status, 200, "{}", on.body);
    assert_eq!(on.json()["complete_job_with_last_visit"], true);
    let ada = customer(&owner, "Ada");

    let made = job(&owner, &ada, "Tap", &[]);
    let id = made["id"].as_str().unwrap();
    let visit = book(
        &owner,
        id,
        json!({ "start": "2030-06-10T09:00:00Z", "end": "2030-06-10T10:00:00Z" }),
    )
    .json()["visits"][0]
        .clone();
    // Completed straight from scheduled (nobody tapped "arrived"): the job is completed.
    let done = moved(&owner, &visit, "completed");
    assert_eq!(done["job"]["status"], "completed");
    assert_eq!(done["offer_job_completion"], false);
    assert_eq!(
        status_moves(&owner, id),
        [
            ("requested".to_owned(), "scheduled".to_owned()),
            ("scheduled".to_owned(), "completed".to_owned()),
        ]
    );

    // With a signature required and none given, the job is only started; nothing is refused.
    let signed = patch_settings(&owner, json!({ "require_signature": true }));
    assert_eq!(signed.status, 200, "{}", signed.body);
    let other = job(&owner, &ada, "Radiator", &[]);
    let other_id = other["id"].as_str().unwrap();
    let visit = book(
        &owner,
        other_id,
        json!({ "start": "2030-06-11T09:00:00Z", "end": "2030-06-11T10:00:00Z" }),
    )
    .json()["visits"][0]
        .clone();
    let done = moved(&owner, &visit, "completed");
    assert_eq!(done["job"]["status"], "in_progress");
    assert_eq!(done["offer_job_completion"], true);

    // Working hours are settings too, checked.
    let hours = patch_settings(
        &owner,
        json!({ "work_day_start": 480, "work_day_end": 1020 }),
    );
    assert_eq!(hours.status, 200, "{}", hours.body);
    let bad = patch_settings(&owner, json!({ "work_day_end": 500 })).problem(422);
    assert_eq!(bad["errors"][0]["field"], "work_day_end", "{bad}");
    let page = owner.get("/settings").body;
    let card = &page[page.find("id=\"dispatch-settings\"").expect("the card")..];
    assert!(
        card.contains("<option value=\"480\" selected>08:00</option>"),
        "{card}"
    );
    assert!(card.contains("<option value=\"1020\" selected>17:00</option>"));
    assert!(card.contains("name=\"complete_job_with_last_visit\" data-type=\"bool\" checked"));
}

#[test]
fn cancelling_every_visit_returns_a_scheduled_job_to_requested_and_frees_the_time() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(&owner, TECH, "technician", TECH_PASSWORD);
    let ada = customer(&owner, "Ada");
    let made = job(&owner, &ada, "Boiler", &[&theo.user["id"]]);
    let id = made["id"].as_str().unwrap();
    let at = |day: u32| {
        json!({ "start": format!("2030-06-{day}T09:00:00Z"),
                "end": format!("2030-06-{day}T10:00:00Z") })
    };
    let one = book(&owner, id, at(10)).json()["visits"][0].clone();
    let two = book(&owner, id, at(11)).json()["visits"][0].clone();

    let cancelled = moved(&owner, &one, "cancelled");
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(
        cancelled["job"]["status"], "scheduled",
        "another visit is open"
    );
    // A cancelled visit is kept, and no longer holds the technician's time.
    let listed = owner
        .get(&format!(
            "/api/v1/visits?job={id}&from=2030-06-01T00:00:00Z&to=2030-06-30T00:00:00Z"
        ))
        .json();
    assert_eq!(listed["visits"].as_array().unwrap().len(), 2);
    let other = job(&owner, &ada, "Gutter", &[&theo.user["id"]]);
    let other_id = other["id"].as_str().unwrap();
    let in_its_place = book(&owner, other_id, at(10));
    assert_eq!(in_its_place.status, 201, "{}", in_its_place.body);

    let last = moved(&owner, &two, "cancelled");
    assert_eq!(last["job"]["status"], "requested");
    // Putting the first back checks its time again: the slot was taken meanwhile.
    let back = set_status(&owner, &cancelled, "scheduled").problem(409);
    assert!(back["conflicts"].as_array().is_some(), "{back}");
    let restored = moved(&owner, &last, "scheduled");
    assert_eq!(restored["job"]["status"], "scheduled");

    // Deleting a mistake follows the same rule.
    let deleted = owner
        .request(
            "DELETE",
            &format!("/api/v1/visits/{}", restored["id"].as_str().unwrap()),
        )
        .header("If-Match", &format!("\"{}\"", restored["version"]))
        .send();
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(get_job(&owner, id)["status"], "requested");
    assert_eq!(
        status_moves(&owner, id),
        [
            ("requested", "scheduled"),
            ("scheduled", "requested"),
            ("requested", "scheduled"),
            ("scheduled", "requested"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    // Manual changes stay possible where the machine allows them.
    assert_eq!(set_job_status(&owner, id, "on_hold").status, 200);
}

#[test]
fn two_dispatchers_booking_the_same_waiting_job_at_once_leave_one_visit_and_a_clear_conflict() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let dora = member(
        &owner,
        "dora@acme-heating.example",
        "dispatcher",
        "dispatch-board-2030",
    );
    let theo = member(&owner, TECH, "technician", TECH_PASSWORD);
    let ben = member(
        &owner,
        "ben@acme-heating.example",
        "technician",
        "ladder-and-hose-31",
    );
    let ada = customer(&owner, "Ada");
    for round in 0..3 {
        let made = job(&owner, &ada, &format!("Boiler {round}"), &[]);
        let id = made["id"].as_str().unwrap().to_owned();
        let version = made["version"].as_i64().unwrap();
        // Each books a different technician at a different time: only the job's version
        // stands between them.
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| {
                book(
                    &owner,
                    &id,
                    json!({ "start": format!("2030-07-0{}T09:00:00Z", round + 1),
                            "end": format!("2030-07-0{}T11:00:00Z", round + 1),
                            "technician_ids": [theo.user["id"]], "job_version": version }),
                )
            });
            let b = s.spawn(|| {
                book(
                    &dora,
                    &id,
                    json!({ "start": format!("2030-07-0{}T13:00:00Z", round + 1),
                            "end": format!("2030-07-0{}T15:00:00Z", round + 1),
                            "technician_ids": [ben.user["id"]], "job_version": version }),
                )
            });
            (a.join().unwrap(), b.join().unwrap())
        });
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "{} / {}", a.body, b.body);
        let lost = if a.status == 409 { &a } else { &b };
        let problem = lost.problem(409);
        assert_eq!(problem["current"]["status"], "scheduled", "{problem}");
        assert!(
            problem["detail"].as_str().unwrap().contains("job changed"),
            "{problem}"
        );
        let visits = owner
            .get(&format!(
                "/api/v1/visits?job={id}&from=2030-07-01T00:00:00Z&to=2030-07-10T00:00:00Z"
            ))
            .json();
        assert_eq!(visits["visits"].as_array().unwrap().len(), 1, "{visits}");
        assert_eq!(
            status_moves(&owner, &id),
            [("requested".to_owned(), "scheduled".to_owned())]
        );
    }
    // A stale version is refused before anything is written; without one, no guard.
    let made = job(&owner, &ada, "Gutter", &[]);
    let id = made["id"].as_str().unwrap();
    let stale = book(
        &owner,
        id,
        json!({ "start": "2030-07-08T09:00:00Z", "end": "2030-07-08T10:00:00Z", "job_version": 9 }),
    )
    .problem(409);
    assert_eq!(stale["current"]["version"], 1);
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
}

#[test]
fn the_schedule_lists_the_jobs_that_need_a_visit_within_the_working_hours() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let theo = member(&owner, TECH, "technician", TECH_PASSWORD);
    let ada = customer(&owner, "Ada");
    let ben = customer(&owner, "Ben");
    let urgent = job(&owner, &ada, "Burst pipe", &[]);
    owner
        .request(
            "PATCH",
            &format!("/api/v1/jobs/{}", urgent["id"].as_str().unwrap()),
        )
        .header("If-Match", "\"1\"")
        .json(&json!({ "priority": "urgent" }))
        .send();
    let gutter = job(&owner, &ben, "Gutter", &[]);
    let booked = job(&owner, &ada, "Booked boiler", &[&theo.user["id"]]);
    book(
        &owner,
        booked["id"].as_str().unwrap(),
        json!({ "start": "2030-06-11T05:00:00Z", "end": "2030-06-11T06:00:00Z" }),
    );
    let hours = patch_settings(
        &owner,
        json!({ "work_day_start": 480, "work_day_end": 1020 }),
    );
    assert_eq!(hours.status, 200, "{}", hours.body);

    let page = owner.get("/schedule?date=2030-06-11");
    assert_eq!(page.status, 200);
    let waiting = &page.body[page.body.find("id=\"waiting\"").expect("the list")..];
    let waiting = &waiting[..waiting.find("class=\"board").expect("the board after it")];
    let first = waiting.find("Burst pipe").expect("urgent listed");
    let second = waiting.find("Gutter").expect("gutter listed");
    assert!(first < second, "most urgent first");
    assert!(
        !waiting.contains("Booked boiler"),
        "a job with a visit ahead waits for nothing"
    );
    assert!(waiting.contains(&format!(
        "name=\"job_version\" value=\"{}\"",
        urgent["version"].as_i64().unwrap() + 1
    )));
    // Working hours 08:00-17:00; the 05:00 visit still shows, and widens the day to it.
    assert!(page.body.contains("data-slot=\"2030-06-11T05:00\""));
    assert!(page.body.contains("data-slot=\"2030-06-11T16:00\""));
    assert!(!page.body.contains("data-slot=\"2030-06-11T17:00\""));

    let filtered = owner.get(&format!(
        "/schedule?date=2030-06-11&customer={}",
        ben.as_str()
    ));
    let list = &filtered.body[filtered.body.find("id=\"waiting\"").unwrap()..];
    let list = &list[..list.find("class=\"board").unwrap_or(list.len())];
    assert!(list.contains("Gutter") && !list.contains("Burst pipe"));
    let low = owner.get("/schedule?date=2030-06-11&priority=urgent&view=week");
    let list = &low.body[low.body.find("id=\"waiting\"").unwrap()..];
    let list = &list[..list.find("class=\"board").unwrap_or(list.len())];
    assert!(list.contains("Burst pipe") && !list.contains("Gutter"));
    let _ = gutter;

    // Technicians see no list, and their own day instead.
    let theirs = theo.get("/schedule?date=2030-06-11");
    assert!(!theirs.body.contains("id=\"waiting\""));
    assert!(theirs.body.contains("id=\"my-day\""));
    assert!(theirs.body.contains("tel:+14165550100"));
    assert!(theirs.body.contains("Gate code 4321"));
}

#[test]
fn the_chat_starts_visits_and_answers_with_the_job_and_the_day() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let owner = owner(&tenant);
    let theo = member(&owner, TECH, "technician", TECH_PASSWORD);
    let ada = customer(&owner, "Ada");
    let made = job(&owner, &ada, "Boiler service", &[&theo.user["id"]]);
    let id = made["id"].as_str().unwrap();
    let number = made["number"].as_i64().unwrap();
    link(&channels, &tenant, &theo, 200, 7001, 1);

    // A requested job: the refusal names the allowed moves once.
    let refused = say(
        &channels,
        &tenant,
        201,
        7001,
        &format!("/status {number} in_progress"),
        2,
    );
    assert_eq!(
        refused,
        "A requested job cannot move to in_progress. It can move to scheduled, on_hold, \
         cancelled."
    );
    let bare = say(&channels, &tenant, 202, 7001, &format!("/job {number}"), 3);
    assert_eq!(
        bare,
        format!(
            "#{number} Boiler service - requested\nCustomer: Ada, +14165550100\n\
             Site: 12 Queen St W, Toronto\nAccess: Gate code 4321\nNext visit: none booked\n\
             Technicians: technician person"
        )
    );

    // Booked for later today (UTC): /today lists it with where and whom to call.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let start = now + 60_000;
    let iso = |ms: u64| fieldworker::domain::time::Millis(ms).to_rfc3339();
    let booked = book(
        &owner,
        id,
        json!({ "start": iso(start), "end": iso(start + 30 * 60_000) }),
    );
    assert_eq!(booked.status, 201, "{}", booked.body);
    let note = owner.post(
        &format!("/api/v1/jobs/{id}/notes"),
        &json!({ "text": "Bring the 22mm fittings." }),
    );
    assert_eq!(note.status, 201);
    let shown = say(&channels, &tenant, 203, 7001, &format!("/job {number}"), 4);
    assert!(
        shown.starts_with(&format!("#{number} Boiler service - scheduled\n")),
        "{shown}"
    );
    assert!(shown.contains("\nNext visit: "), "{shown}");
    assert!(
        shown.ends_with("\nTechnicians: technician person\nLast note: Bring the 22mm fittings."),
        "{shown}"
    );
    // Unless the day ends within the half hour, the visit is today's.
    if now % 86_400_000 < 86_400_000 - 35 * 60_000 {
        let today = say(&channels, &tenant, 204, 7001, "/today", 5);
        assert!(
            today.contains("Ada, +14165550100\n12 Queen St W, Toronto\nAccess: Gate code 4321"),
            "{today}"
        );
        assert!(today.contains(&format!("/arrive {number}")), "{today}");
    } else {
        say(&channels, &tenant, 204, 7001, "/help", 5);
    }

    let arrived = say(
        &channels,
        &tenant,
        205,
        7001,
        &format!("/arrive {number}"),
        6,
    );
    assert_eq!(
        arrived,
        format!("#{number} visit in progress; the job is in progress.")
    );
    let done = say(&channels, &tenant, 206, 7001, &format!("/done {number}"), 7);
    assert_eq!(
        done,
        format!(
            "#{number} visit completed; the job is in progress. That was its last visit: send \
             /status {number} completed to complete the job."
        )
    );
    let again = say(&channels, &tenant, 207, 7001, &format!("/done {number}"), 8);
    assert_eq!(again, format!("Job #{number} has no open visit of yours."));
    let finished = say(
        &channels,
        &tenant,
        208,
        7001,
        &format!("/status {number} completed"),
        9,
    );
    assert!(finished.contains("completed"), "{finished}");
    assert_eq!(get_job(&owner, id)["status"], "completed");
}
