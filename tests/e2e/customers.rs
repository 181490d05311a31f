//! Customers and sites over the API: create, read with ETag, search and pages, versioned
//! changes, archiving, primary sites, role rules and bad input.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Reply, Tenant};

fn create(owner: &Browser<'_>, body: Value) -> Value {
    let reply = owner.post("/api/v1/customers", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(
        reply.header("location"),
        Some(format!("/api/v1/customers/{id}").as_str())
    );
    assert_eq!(reply.header("etag"), Some("\"1\""));
    reply.json()
}

fn patch(browser: &Browser<'_>, path: &str, version: &str, body: Value) -> Reply {
    browser
        .request("PATCH", path)
        .header("If-Match", version)
        .json(&body)
        .send()
}

#[test]
fn a_customer_is_created_read_changed_and_archived_with_versions() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let ann = create(
        &owner,
        json!({
            "name": "Ann Lee",
            "company": "Lee Bakery",
            "emails": ["Ann@LeeBakery.example"],
            "phones": ["+1 (212) 555-0143"],
            "tags": ["VIP"],
            "preferred_contact": "sms",
        }),
    );
    assert_eq!(ann["emails"], json!(["ann@leebakery.example"]));
    assert_eq!(ann["phones"], json!(["+12125550143"]));
    assert_eq!(ann["sites"], json!([]));
    let path = format!("/api/v1/customers/{}", ann["id"].as_str().unwrap());

    let read = owner.get(&path);
    assert_eq!(read.status, 200);
    assert_eq!(read.header("etag"), Some("\"1\""));

    owner
        .request("PATCH", &path)
        .json(&json!({ "notes": "Side door" }))
        .send()
        .problem(428);
    let changed = patch(
        &owner,
        &path,
        "\"1\"",
        json!({ "notes": "Side door", "company": null }),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(changed.json()["company"], Value::Null);
    assert_eq!(changed.json()["name"], "Ann Lee");

    // A second tab with version 1 sees the conflict and what is there now.
    let stale = patch(&owner, &path, "\"1\"", json!({ "name": "Anne Lee" })).problem(409);
    assert_eq!(stale["current"]["notes"], "Side door");
    assert_eq!(stale["current"]["version"], 2);

    let audit = owner
        .get(&format!(
            "/api/v1/audit?entity_id={}",
            ann["id"].as_str().unwrap()
        ))
        .json();
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["customer.updated", "customer.created"]);
    assert_eq!(audit["events"][0]["before"]["company"], "Lee Bakery");
    assert_eq!(audit["events"][0]["after"]["company"], Value::Null);

    owner.request("DELETE", &path).send().problem(428);
    let archived = owner
        .request("DELETE", &path)
        .header("If-Match", "\"2\"")
        .send();
    assert_eq!(archived.status, 204, "{}", archived.body);
    assert_eq!(owner.get(&path).json()["archived"], true);
    patch(&owner, &path, "\"3\"", json!({ "name": "X" })).problem(409);
    let listed = owner.get("/api/v1/customers").json();
    assert!(listed["customers"].as_array().unwrap().is_empty());
    let archived_list = owner.get("/api/v1/customers?archived=true").json();
    assert_eq!(archived_list["customers"].as_array().unwrap().len(), 1);
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
}

#[test]
fn customers_are_searched_by_name_email_or_phone_and_paged_by_cursor() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    for (name, email, phone) in [
        ("Cara Diaz", "cara@example.com", "+442079460958"),
        ("Ann Lee", "ann@leebakery.example", "+12125550143"),
        ("ann Archer", "archer@example.com", "+12125550199"),
        ("Bo Chen", "bo@example.com", "+33123456789"),
    ] {
        create(
            &owner,
            json!({ "name": name, "emails": [email], "phones": [phone] }),
        );
    }
    let names = |reply: Value| -> Vec<String> {
        reply["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(owner.get("/api/v1/customers?q=ANN").json()),
        ["ann Archer", "Ann Lee"]
    );
    assert_eq!(
        names(
            owner
                .get("/api/v1/customers?q=Ann%40LeeBakery.example")
                .json()
        ),
        ["Ann Lee"]
    );
    assert_eq!(
        names(owner.get("/api/v1/customers?q=%2B1%20212-555-0199").json()),
        ["ann Archer"]
    );
    assert!(names(owner.get("/api/v1/customers?q=%25").json()).is_empty());

    // Pages follow the order customers were added (names are sealed); names sort within one.
    let first = owner.get("/api/v1/customers?limit=3").json();
    assert_eq!(names(first.clone()), ["ann Archer", "Ann Lee", "Cara Diaz"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = owner
        .get(&format!("/api/v1/customers?limit=3&cursor={cursor}"))
        .json();
    assert_eq!(names(second.clone()), ["Bo Chen"]);
    assert_eq!(second["next_cursor"], Value::Null);

    for (query, status) in [
        ("cursor=not-a-cursor", 422),
        ("limit=0", 422),
        ("archived=maybe", 422),
        ("sort=name", 400),
    ] {
        owner
            .get(&format!("/api/v1/customers?{query}"))
            .problem(status);
    }
}

#[test]
fn sites_keep_exactly_one_primary() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let ann = create(&owner, json!({ "name": "Ann Lee" }));
    let sites_path = format!("/api/v1/customers/{}/sites", ann["id"].as_str().unwrap());
    let home = owner.post(
        &sites_path,
        &json!({ "label": "Home", "line1": "1 Canal St", "country": "us" }),
    );
    assert_eq!(home.status, 201, "{}", home.body);
    assert_eq!(home.json()["is_primary"], true, "the first site is primary");
    assert_eq!(home.json()["country"], "US");
    let shop = owner.post(
        &sites_path,
        &json!({ "label": "Shop", "line1": "9 Mott St", "access_notes": "Key under the mat" }),
    );
    assert_eq!(shop.status, 201, "{}", shop.body);
    assert_eq!(shop.json()["is_primary"], false);

    let shop_path = format!("/api/v1/sites/{}", shop.json()["id"].as_str().unwrap());
    patch(&owner, &shop_path, "\"9\"", json!({ "is_primary": true })).problem(409);
    let promoted = patch(&owner, &shop_path, "\"1\"", json!({ "is_primary": true }));
    assert_eq!(promoted.status, 200, "{}", promoted.body);
    let customer = owner
        .get(&format!(
            "/api/v1/customers/{}",
            ann["id"].as_str().unwrap()
        ))
        .json();
    let primaries: Vec<&str> = customer["sites"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["is_primary"] == true)
        .filter_map(|s| s["label"].as_str())
        .collect();
    assert_eq!(primaries, ["Shop"]);
    // The primary site can only be replaced, not switched off.
    patch(&owner, &shop_path, "\"2\"", json!({ "is_primary": false })).problem(422);

    owner
        .post(&sites_path, &json!({ "label": "No street" }))
        .problem(422);
    owner
        .post(
            "/api/v1/customers/missing/sites",
            &json!({ "line1": "1 St" }),
        )
        .problem(404);
}

#[test]
fn only_owners_and_dispatchers_change_customers_and_everyone_reads_them() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let dispatcher = member(
        &owner,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    let viewer = member(
        &owner,
        "vic@acme-heating.example",
        "viewer",
        "looking-not-touching-5",
    );
    let made = dispatcher.post("/api/v1/customers", &json!({ "name": "Ann Lee" }));
    assert_eq!(made.status, 201, "{}", made.body);
    let path = format!("/api/v1/customers/{}", made.json()["id"].as_str().unwrap());
    assert_eq!(viewer.get(&path).status, 200);
    viewer
        .post("/api/v1/customers", &json!({ "name": "Bo" }))
        .problem(403);
    patch(&viewer, &path, "\"1\"", json!({ "name": "Bo" })).problem(403);
}

#[test]
fn bad_customer_input_names_the_field_and_writes_nothing() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let invalid = owner
        .post(
            "/api/v1/customers",
            &json!({ "name": "", "emails": ["nope"], "phones": ["212-555-0143"], "preferred_contact": "fax" }),
        )
        .problem(422);
    let fields: Vec<&str> = invalid["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["field"].as_str())
        .collect();
    assert_eq!(
        fields,
        ["name", "emails[0]", "phones[0]", "preferred_contact"]
    );
    let unknown = owner
        .post("/api/v1/customers", &json!({ "name": "Ann", "nmae": "x" }))
        .problem(400);
    assert!(
        unknown["detail"].as_str().unwrap().contains("nmae"),
        "{unknown}"
    );
    owner
        .post("/api/v1/customers", &json!({ "name": 7 }))
        .problem(400);
    owner
        .request("POST", "/api/v1/customers")
        .header("Content-Type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .problem(413);
    owner.get("/api/v1/customers/does-not-exist").problem(404);
    assert!(owner.get("/api/v1/customers").json()["customers"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(owner.get("/api/v1/audit?entity=customer").json()["events"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn a_retried_create_with_the_same_idempotency_key_creates_nothing_new() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let send = |key: &str, name: &str| {
        owner
            .request("POST", "/api/v1/customers")
            .header("Idempotency-Key", key)
            .json(&json!({ "name": name }))
            .send()
    };
    let first = send("create-ann-1", "Ann Lee");
    assert_eq!(first.status, 201, "{}", first.body);
    let again = send("create-ann-1", "Ann Lee");
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.header("location"), first.header("location"));
    send("create-ann-1", "Somebody Else").problem(422);
    send(&"k".repeat(300), "Ann Lee").problem(400);

    // Retries racing each other still create one customer.
    let ids: Vec<Value> = std::thread::scope(|scope| {
        let racers: Vec<_> = (0..6)
            .map(|_| scope.spawn(|| send("create-bo-1", "Bo Chen")))
            .collect();
        racers
            .into_iter()
            .map(|r| {
                let reply = r.join().unwrap();
                assert_eq!(reply.status, 201, "{}", reply.body);
                reply.json()["id"].clone()
            })
            .collect()
    });
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");

    let listed = owner.get("/api/v1/customers").json();
    assert_eq!(listed["customers"].as_array().unwrap().len(), 2);
    let created = owner.get("/api/v1/audit?action=customer.created").json();
    assert_eq!(created["events"].as_array().unwrap().len(), 2);
}

#[test]
fn technicians_see_only_the_customers_they_work_for_and_their_sites() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let tech_id = tech.user["id"].as_str().unwrap().to_owned();
    let customer = |name: &str| {
        let made = owner.post("/api/v1/customers", &json!({ "name": name }));
        assert_eq!(made.status, 201, "{}", made.body);
        let id = made.json()["id"].as_str().unwrap().to_owned();
        let site = owner.post(
            &format!("/api/v1/customers/{id}/sites"),
            &json!({ "line1": "1 Gate Lane", "access_notes": "Alarm code 4711" }),
        );
        assert_eq!(site.status, 201, "{}", site.body);
        id
    };
    let ada = customer("Ada Lee");
    let bo = customer("Bo Chan");
    let cy = customer("Cy Diaz");
    // Theo is on Ada's job, and on a visit of Cy's job; nothing of Bo's.
    for (id, on_job) in [(&ada, true), (&bo, false), (&cy, false)] {
        let technicians = if on_job {
            vec![tech_id.clone()]
        } else {
            vec![]
        };
        let job = owner.post(
            "/api/v1/jobs",
            &json!({ "customer_id": id, "title": "Service", "technician_ids": technicians }),
        );
        assert_eq!(job.status, 201, "{}", job.body);
        if id == &cy {
            let job_id = job.json()["id"].as_str().unwrap().to_owned();
            let visit = owner.post(
                &format!("/api/v1/jobs/{job_id}/visits"),
                &json!({ "start": "2030-01-07T09:00:00Z", "end": "2030-01-07T10:00:00Z",
                         "technician_ids": [tech_id] }),
            );
            assert_eq!(visit.status, 201, "{}", visit.body);
        }
    }

    let listed = tech.get("/api/v1/customers").json();
    let names: Vec<&str> = listed["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ada Lee", "Cy Diaz"]);
    let seen = tech.get(&format!("/api/v1/customers/{ada}"));
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(seen.json()["sites"][0]["access_notes"], "Alarm code 4711");
    let hidden = tech.get(&format!("/api/v1/customers/{bo}")).problem(404);
    assert!(!hidden.to_string().contains("4711"));
    // The dashboard's customer pages say the same.
    assert_eq!(tech.get(&format!("/customers/{bo}")).status, 404);
    let page = tech.get("/customers");
    assert!(
        page.body.contains("Ada Lee") && !page.body.contains("Bo Chan"),
        "{}",
        page.body
    );
    // Everyone else still sees every customer.
    let all = owner.get("/api/v1/customers").json();
    assert_eq!(all["customers"].as_array().unwrap().len(), 3);
}
