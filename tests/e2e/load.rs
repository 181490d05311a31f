//! Bursts as real clients send them: many writers of different records at once, many racing
//! for one version, many sign-ins to one account. None may answer a server error, lose a write
//! or leave the audit trail unsealed or broken.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Reply, Tenant};

/// Runs `n` requests at once (one thread each) and answers their replies in order.
pub(crate) fn burst(n: usize, send: impl Fn(usize) -> Reply + Sync) -> Vec<Reply> {
    std::thread::scope(|scope| {
        let send = &send;
        let threads: Vec<_> = (0..n).map(|i| scope.spawn(move || send(i))).collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    })
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    let mut s: Vec<u16> = replies.iter().map(|r| r.status).collect();
    s.sort_unstable();
    s
}

fn token(owner: &Browser<'_>) -> String {
    let reply = owner.post("/api/v1/tokens", &json!({ "name": "burst" }));
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["token"].as_str().unwrap().to_owned()
}

/// Waits until the sealer has caught up, then answers the verification report.
fn sealed_and_verified(owner: &Browser<'_>) -> Value {
    let started = Instant::now();
    loop {
        let report = owner.get("/api/v1/audit/verify").json();
        if report["unsealed"]["count"] == 0 {
            return report;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{report}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn eighty_concurrent_creates_and_patches_of_different_records_all_succeed_and_seal() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let bearer = token(&owner);

    let created = burst(80, |i| {
        tenant
            .request("POST", "/api/v1/customers")
            .bearer(&bearer)
            .json(&json!({ "name": format!("Burst Customer {i:02}") }))
            .send()
    });
    assert_eq!(
        statuses(&created),
        vec![201; 80],
        "{:?}",
        created.iter().find(|r| r.status != 201).map(|r| &r.body)
    );
    let ids: Vec<String> = created
        .iter()
        .map(|r| r.json()["id"].as_str().unwrap().to_owned())
        .collect();

    let patched = burst(80, |i| {
        tenant
            .request("PATCH", &format!("/api/v1/customers/{}", ids[i]))
            .bearer(&bearer)
            .header("If-Match", "\"1\"")
            .json(&json!({ "notes": format!("patched {i}") }))
            .send()
    });
    assert_eq!(
        statuses(&patched),
        vec![200; 80],
        "{:?}",
        patched.iter().find(|r| r.status != 200).map(|r| &r.body)
    );
    for (i, reply) in patched.iter().enumerate() {
        assert_eq!(reply.header("etag"), Some("\"2\""));
        assert_eq!(reply.json()["notes"], format!("patched {i}"));
    }

    let listed = owner.get("/api/v1/customers?limit=200").json();
    assert_eq!(listed["customers"].as_array().unwrap().len(), 80);
    let audited = owner.get("/api/v1/audit?entity=customer&limit=500").json();
    assert_eq!(audited["events"].as_array().unwrap().len(), 160);

    let report = sealed_and_verified(&owner);
    assert_eq!(report["ok"], true, "{report}");
}

#[test]
fn twenty_writers_racing_for_one_version_leave_one_winner_and_one_audit_row() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let bearer = token(&owner);
    let customer = owner.post("/api/v1/customers", &json!({ "name": "Raced Customer" }));
    let id = customer.json()["id"].as_str().unwrap().to_owned();

    let replies = burst(20, |i| {
        tenant
            .request("PATCH", &format!("/api/v1/customers/{id}"))
            .bearer(&bearer)
            .header("If-Match", "\"1\"")
            .json(&json!({ "notes": format!("writer {i}") }))
            .send()
    });
    let mut expected = vec![200];
    expected.extend([409; 19]);
    assert_eq!(statuses(&replies), expected);
    for lost in replies.iter().filter(|r| r.status == 409) {
        assert_eq!(lost.json()["current"]["version"], 2, "{}", lost.body);
    }
    let updates = owner
        .get(&format!(
            "/api/v1/audit?action=customer.updated&entity_id={id}"
        ))
        .json();
    assert_eq!(updates["events"].as_array().unwrap().len(), 1, "{updates}");
}

#[test]
fn forty_parallel_sign_ins_to_one_account_answer_no_server_error() {
    let tenant = Tenant::spawn();
    let created = create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(created.status, 201, "{}", created.body);
    let replies = burst(40, |_| login(&tenant, OWNER_EMAIL, OWNER_PASSWORD));
    for reply in &replies {
        assert!(
            [200, 429].contains(&reply.status),
            "{}: {}",
            reply.status,
            reply.body
        );
    }
    assert!(replies.iter().any(|r| r.status == 200));
}

/// How many failed sign-ins the audit trail holds for the account `user_id`, or (`None`) for
/// addresses no account has: each one checked is audited. (Read as stored, where the
/// address is sealed or a blind index: the rows are told apart by the account they name.)
fn checked_failures(tenant: &Tenant, user_id: Option<&str>) -> u64 {
    let whose = match user_id {
        Some(id) => format!("entity_id = '{id}'"),
        None => "entity_id IS NULL".to_owned(),
    };
    let rows = tenant.d1_execute(&format!(
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'auth.login_failed' AND {whose}"
    ));
    rows[0]["n"].as_u64().unwrap()
}

#[test]
fn a_burst_of_forty_wrong_passwords_gets_at_most_five_checked_and_then_the_lock() {
    let tenant = Tenant::spawn();
    let created = create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(created.status, 201, "{}", created.body);
    let owner_id = created.json()["id"].as_str().unwrap().to_owned();
    let replies = burst(40, |i| {
        login(&tenant, OWNER_EMAIL, &format!("wrong-password-{i:02}"))
    });
    // The fifth failure locks the address and says so (429); the rest were refused unchecked.
    let wrong = replies.iter().filter(|r| r.status == 401).count();
    let refused = replies.iter().filter(|r| r.status == 429).count();
    assert!(wrong <= 4, "{:?}", statuses(&replies));
    assert_eq!(wrong + refused, 40, "{:?}", statuses(&replies));
    for reply in replies.iter().filter(|r| r.status == 429) {
        let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
        assert!(retry > 0);
    }
    assert_eq!(checked_failures(&tenant, Some(&owner_id)), 5);
    // The right password now waits for the lock like anyone else's, and an unknown address
    // is answered the same way once it has had its five.
    assert_eq!(login(&tenant, OWNER_EMAIL, OWNER_PASSWORD).status, 429);
    let stranger = "nobody@acme-heating.example";
    let replies = burst(8, |_| login(&tenant, stranger, "wrong-password-x"));
    assert_eq!(statuses(&replies), [vec![401; 4], vec![429; 4]].concat());
    assert_eq!(checked_failures(&tenant, None), 5);
}
