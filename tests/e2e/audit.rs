//! The audit trail: filters and pages, the chain verifying after a mixed workload, and a row
//! tampered with directly in the local SQLite file being found.

use std::path::PathBuf;

use rusqlite::Connection;
use serde_json::json;

use fieldworker::domain::audit::{seal, AuditRow, SealKey};

use crate::people::*;
use crate::spawn::Tenant;

/// The tenant's D1 database file, as the local runtime keeps it.
fn d1_file(tenant: &Tenant) -> PathBuf {
    let dir = tenant.state.join("v3/d1/miniflare-D1DatabaseObject");
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .expect("a D1 sqlite file")
}

fn mixed_workload(owner: &Browser<'_>) {
    let tenant = owner.tenant;
    login(tenant, OWNER_EMAIL, "not-the-password-0").problem(401);
    member(
        owner,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    let emailed = tenant.outbox_sent(0);
    owner.post("/api/v1/tokens", &json!({ "name": "script" }));
    // The owner is told by email after the response, and the outbox audits what it sent: the
    // trail is complete once it ran.
    assert_eq!(tenant.outbox_sent(emailed + 1), emailed + 1);
    let etag = owner
        .get("/api/v1/settings")
        .header("etag")
        .unwrap()
        .to_owned();
    let saved = owner
        .request("PATCH", "/api/v1/settings")
        .header("If-Match", &etag)
        .json(&json!({ "name": "Acme Heating" }))
        .send();
    assert_eq!(saved.status, 200, "{}", saved.body);
}

#[test]
fn the_chain_verifies_after_a_mixed_workload_and_finds_a_tampered_row() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    mixed_workload(&owner);

    let verified = owner.get("/api/v1/audit/verify");
    assert_eq!(verified.status, 200, "{}", verified.body);
    let verified = verified.json();
    assert_eq!(verified["ok"], true, "{verified}");
    let rows = verified["rows_checked"].as_u64().unwrap();
    assert!(rows >= 7, "{verified}");
    owner.get("/api/v1/audit/verify?full=maybe").problem(422);
    owner.get("/api/v1/audit/verify?colour=red").problem(400);
    assert_eq!(
        owner.get("/api/v1/audit/verify?full=true").json()["ok"],
        true
    );

    // The table refuses edits even with direct access to the file…
    let conn = Connection::open(d1_file(&tenant)).expect("open the D1 file");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    let refused = conn.execute("UPDATE audit_log SET action = 'x' WHERE seq = 3", []);
    assert!(refused.is_err(), "the trigger must refuse the update");
    assert!(conn
        .execute("DELETE FROM audit_log WHERE seq = 3", [])
        .is_err());
    // …so an attacker drops the trigger first; the chain still gives them away.
    conn.execute_batch("DROP TRIGGER audit_log_seal_once")
        .unwrap();
    conn.execute(
        "UPDATE audit_log SET after = '{\"email\":\"someone-else@example.com\"}' WHERE seq = 3",
        [],
    )
    .unwrap();
    drop(conn);

    let broken = owner.get("/api/v1/audit/verify").json();
    assert_eq!(broken["ok"], false, "{broken}");
    assert_eq!(broken["broken_at"], 3, "{broken}");
}

/// Opens the tenant's D1 file as someone with access to the disk would.
fn open_d1(tenant: &Tenant) -> Connection {
    let conn = Connection::open(d1_file(tenant)).expect("open the D1 file");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    conn
}

fn verified(owner: &Browser<'_>) -> serde_json::Value {
    let reply = owner.get("/api/v1/audit/verify");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

#[test]
fn deleting_the_newest_rows_is_found_through_the_anchor() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    mixed_workload(&owner);
    let before = verified(&owner);
    assert_eq!(before["ok"], true, "{before}");
    let tip = before["tip"]["seq"].as_i64().unwrap();
    assert_eq!(
        before["anchor"]["seq"], tip,
        "the verified tip is anchored: {before}"
    );

    let conn = open_d1(&tenant);
    conn.execute_batch("DROP TRIGGER audit_log_no_delete")
        .unwrap();
    let deleted = conn
        .execute("DELETE FROM audit_log WHERE seq > ?1", [tip - 2])
        .unwrap();
    assert_eq!(deleted, 2);
    drop(conn);

    let after = verified(&owner);
    assert_eq!(after["ok"], false, "{after}");
    assert_eq!(after["broken_at"], tip, "{after}");
    assert!(
        after["reason"].as_str().unwrap().contains("deleted"),
        "{after}"
    );
}

#[test]
fn a_chain_resealed_without_the_key_does_not_verify() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    mixed_workload(&owner);
    assert_eq!(verified(&owner)["ok"], true);

    // Someone holding only the database edits a row and re-seals every row after the legacy
    // ones with a key of their own, as the published algorithm describes.
    let conn = open_d1(&tenant);
    conn.execute_batch("DROP TRIGGER audit_log_seal_once")
        .unwrap();
    conn.execute(
        "UPDATE audit_log SET after = '{\"role\":\"owner\"}' WHERE seq = 2",
        [],
    )
    .unwrap();
    let rows: Vec<AuditRow> = {
        let mut stmt = conn
            .prepare(
                "SELECT seq, prev_seq, at, actor_kind, actor_id, action, entity, entity_id, \
                 before, after, ip, request_id, prev_hash, hash FROM audit_log ORDER BY seq",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(AuditRow {
                seq: r.get(0)?,
                prev_seq: r.get(1)?,
                at: r.get(2)?,
                actor_kind: r.get(3)?,
                actor_id: r.get(4)?,
                action: r.get(5)?,
                entity: r.get(6)?,
                entity_id: r.get(7)?,
                before: r.get(8)?,
                after: r.get(9)?,
                ip: r.get(10)?,
                request_id: r.get(11)?,
                prev_hash: r.get(12)?,
                hash: r.get(13)?,
                seal: None,
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    let guessed = SealKey::new("a key that is not the tenant's secret key").unwrap();
    let mut prev = "0".repeat(64);
    for row in &rows {
        let value = seal(&guessed, &prev, row);
        conn.execute(
            "UPDATE audit_log SET seal = ?1 WHERE seq = ?2",
            (&value, row.seq),
        )
        .unwrap();
        prev = value;
    }
    drop(conn);

    let report = verified(&owner);
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["broken_at"], 1, "{report}");
    let full = owner.get("/api/v1/audit/verify?full=true").json();
    assert_eq!(full["ok"], false, "{full}");
}

#[test]
fn writes_are_sealed_after_their_response_without_anyone_asking() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    mixed_workload(&owner);
    let conn = open_d1(&tenant);
    let started = std::time::Instant::now();
    loop {
        let (total, unsealed): (i64, i64) = conn
            .query_row(
                "SELECT COUNT(*), COUNT(*) FILTER (WHERE seal IS NULL) FROM audit_log",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        if total >= 7 && unsealed == 0 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "{unsealed} of {total} rows still unsealed"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    drop(conn);
    let report = verified(&owner);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["unsealed"]["count"], 0, "{report}");
    assert_eq!(report["key"], "AUDIT_KEY", "{report}");
    // The listing shows each row's seal.
    let listed = owner.get("/api/v1/audit?limit=5").json();
    let events = listed["events"].as_array().unwrap();
    assert!(!events.is_empty());
    for event in events {
        let seal = event["seal"].as_str().unwrap_or_else(|| panic!("{event}"));
        assert_eq!(seal.len(), 64, "{event}");
    }
}

#[test]
fn the_audit_listing_filters_and_pages() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    mixed_workload(&owner);
    let me = owner.user["id"].as_str().unwrap().to_owned();

    let first = owner.get("/api/v1/audit?limit=2").json();
    let events = first["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    assert!(events[0]["seq"].as_i64() > events[1]["seq"].as_i64());
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = owner
        .get(&format!("/api/v1/audit?limit=2&cursor={cursor}"))
        .json();
    assert!(second["events"][0]["seq"].as_i64() < events[1]["seq"].as_i64());

    let mine = owner
        .get(&format!("/api/v1/audit?actor_id={me}&limit=500"))
        .json();
    assert!(mine["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor_id"] == me.as_str()));
    let failed = owner.get("/api/v1/audit?action=auth.login_failed").json();
    assert_eq!(failed["events"].as_array().unwrap().len(), 1);
    assert_eq!(failed["events"][0]["entity"], "user");
    assert_eq!(failed["next_cursor"], serde_json::Value::Null);
    let future = owner.get("/api/v1/audit?since=2999-01-01T00:00:00Z").json();
    assert!(future["events"].as_array().unwrap().is_empty());
    let past = owner.get("/api/v1/audit?since=2000-01-01T00:00:00Z").json();
    assert!(!past["events"].as_array().unwrap().is_empty());

    for (query, status) in [
        ("limit=0", 422),
        ("limit=501", 422),
        ("cursor=abc", 422),
        ("since=yesterday", 422),
        // A multi-byte character where a digit should be once panicked the instance.
        ("since=aaa%E2%82%ACxxxxT00000000Z", 422),
        ("since=2026-11-23T10:00:00%E2%82%ACZ", 422),
        ("colour=red", 400),
    ] {
        let reply = owner.get(&format!("/api/v1/audit?{query}"));
        reply.problem(status);
    }
}
