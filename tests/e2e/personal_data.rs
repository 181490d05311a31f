//! Personal data at rest (DESIGN.md §9) on the real local runtime: what a workload writes is
//! not in the storage files in plaintext, search still finds people, an erasure reaches the
//! records and the audit trail while the chain verifies (and survives a restore through the
//! ledger), and a key rotation under load leaves everything readable.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{files_holding, Options, Tenant};

/// The storage files of `tenant` (D1's SQLite and WAL, KV, R2) holding `needle`.
fn stored_in(tenant: &Tenant, needle: &str) -> Vec<std::path::PathBuf> {
    files_holding(&tenant.state.join("v3"), needle.as_bytes())
}

fn create_customer(owner: &Browser<'_>, body: Value) -> Value {
    let reply = owner.post("/api/v1/customers", &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()
}

fn search(owner: &Browser<'_>, q: &str) -> Vec<String> {
    let reply = owner.get(&format!("/api/v1/customers?q={}", urlencode(q)));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect()
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn verify(owner: &Browser<'_>) -> Value {
    let reply = owner.get("/api/v1/audit/verify");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["ok"], true, "{body}");
    body
}

#[test]
fn personal_data_is_sealed_at_rest_and_still_found() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let wendeline = create_customer(
        &owner,
        json!({
            "name": "Wendeline Quarrington",
            "company": "Quarrington Orchards",
            "emails": ["wendeline.q@orchard-mail.example"],
            "phones": ["+1 (415) 555-0177"],
            "notes": "Prefers mornings; dog named Bartholomew",
        }),
    );
    let id = wendeline["id"].as_str().unwrap();
    let site = owner.post(
        &format!("/api/v1/customers/{id}/sites"),
        &json!({ "line1": "77 Zephyrine Lane", "city": "Sausalito", "postal_code": "94965",
                 "access_notes": "Gate code 4471-Kestrel" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    let changed = owner
        .request("PATCH", &format!("/api/v1/customers/{id}"))
        .header("If-Match", "\"1\"")
        .json(&json!({ "name": "Wendeline Quarrington-Hale" }))
        .send();
    assert_eq!(changed.status, 200, "{}", changed.body);
    create_customer(
        &owner,
        json!({ "name": "Osric Fairweather", "phones": ["+14155550199"] }),
    );

    // Read back in plaintext through the API, the dashboard and the audit trail.
    let read = owner.get(&format!("/api/v1/customers/{id}")).json();
    assert_eq!(read["name"], "Wendeline Quarrington-Hale");
    assert_eq!(read["emails"], json!(["wendeline.q@orchard-mail.example"]));
    assert_eq!(read["sites"][0]["access_notes"], "Gate code 4471-Kestrel");
    let page = owner.get("/customers");
    assert!(
        page.body.contains("Wendeline Quarrington-Hale"),
        "{}",
        page.body
    );
    let audit = owner.get(&format!("/api/v1/audit?entity_id={id}")).body;
    assert!(audit.contains("Wendeline Quarrington-Hale"), "{audit}");

    // Found by a name prefix, a company word, an email, a whole number and its last digits.
    for (q, expected) in [
        ("wend", "Wendeline Quarrington-Hale"),
        ("quarr orch", "Wendeline Quarrington-Hale"),
        ("hale", "Wendeline Quarrington-Hale"),
        (
            "Wendeline.Q@orchard-mail.example",
            "Wendeline Quarrington-Hale",
        ),
        ("+1 415 555 0177", "Wendeline Quarrington-Hale"),
        ("0177", "Wendeline Quarrington-Hale"),
        ("osric", "Osric Fairweather"),
    ] {
        assert_eq!(search(&owner, q), vec![expected.to_owned()], "search {q:?}");
    }
    assert!(search(&owner, "zzz-nobody").is_empty());
    assert!(
        search(&owner, "we").is_empty(),
        "two letters find no one, not everyone"
    );
    let jobs = owner.get("/jobs?q=wendel");
    assert_eq!(jobs.status, 200);

    // Nothing of it is in the storage files in plaintext: D1's SQLite (and its WAL), KV, R2.
    for value in [
        "Wendeline",
        "Quarrington",
        "wendeline.q@orchard-mail.example",
        "4155550177",
        "Bartholomew",
        "Zephyrine",
        "4471-Kestrel",
        "Fairweather",
    ] {
        let holding = stored_in(&tenant, value);
        assert!(holding.is_empty(), "{value:?} in plaintext in {holding:?}");
    }
    // Nor waiting to be sealed: every personal value was sealed on its way in.
    assert!(
        stored_in(&tenant, "fwp1.").is_empty(),
        "an unsealed pending value"
    );
    verify(&owner);
}

#[test]
fn an_erased_customer_is_gone_from_records_and_audit_and_stays_gone_after_a_restore() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let dispatcher = member(
        &owner,
        "dee@example.com",
        "dispatcher",
        "dispatch-pass-1234",
    );
    let customer = create_customer(
        &owner,
        json!({ "name": "Ptolemy Vandersloot", "emails": ["ptolemy@vandersloot.example"] }),
    );
    let id = customer["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/customers/{id}");
    owner.post(
        &format!("{path}/sites"),
        &json!({ "line1": "9 Obscura Row" }),
    );
    let key_row = tenant.d1_execute(&format!(
        "SELECT id, kek, wrapped, created_at FROM data_keys WHERE id = 'c-{id}'"
    ));
    assert_eq!(key_row.len(), 1);

    // What it would do, said first; only owners may.
    let preview = owner.get(&format!("{path}/erasure"));
    assert_eq!(preview.status, 200, "{}", preview.body);
    assert_eq!(preview.json()["plan"]["kept"], json!([]));
    assert!(!preview.json()["plan"]["erased"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(dispatcher.get(&format!("{path}/erasure")).status, 403);
    let refused = dispatcher
        .request("POST", &format!("{path}/erase"))
        .header("If-Match", "\"1\"")
        .send();
    assert_eq!(refused.status, 403);
    let stale = owner
        .request("POST", &format!("{path}/erase"))
        .header("If-Match", "\"7\"")
        .send();
    assert_eq!(stale.status, 409, "{}", stale.body);

    let erased = owner
        .request("POST", &format!("{path}/erase"))
        .header("If-Match", "\"1\"")
        .send();
    assert_eq!(erased.status, 200, "{}", erased.body);
    let read = owner.get(&path).json();
    assert_eq!(read["name"], "Erased customer");
    assert_eq!(read["emails"], json!([]));
    assert_eq!(read["archived"], true);
    assert_eq!(read["sites"][0]["line1"], "[erased]");
    let audit = owner.get(&format!("/api/v1/audit?entity_id={id}")).body;
    assert!(!audit.contains("Ptolemy"), "{audit}");
    assert!(audit.contains("[erased]"), "{audit}");
    assert!(audit.contains("customer.erased"), "{audit}");
    assert!(search(&owner, "ptolemy").is_empty());
    assert!(search(&owner, "ptolemy@vandersloot.example").is_empty());
    // A later export of the customer carries none of it (the archive is stored, not
    // compressed: its bytes are the documents').
    let export = owner.get(&format!("{path}/export"));
    assert_eq!(export.status, 200, "{}", export.body);
    let bytes = String::from_utf8_lossy(&export.bytes);
    assert!(bytes.contains("export.json"), "an archive");
    assert!(
        !bytes.contains("Ptolemy") && !bytes.contains("Obscura"),
        "{bytes}"
    );
    assert!(
        bytes.contains("Erased customer") && bytes.contains("[erased]"),
        "{bytes}"
    );
    let again = owner
        .request("POST", &format!("{path}/erase"))
        .header("If-Match", "\"2\"")
        .send();
    assert_eq!(again.status, 409);
    verify(&owner);

    // Thirty erasures of different customers at once: every one taken, none a server error.
    let ids: Vec<String> = (0..30)
        .map(|i| {
            create_customer(&owner, json!({ "name": format!("Burst Person{i:02}") }))["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let replies = crate::load::burst(ids.len(), |i| {
        owner
            .request("POST", &format!("/api/v1/customers/{}/erase", ids[i]))
            .header("If-Match", "\"1\"")
            .send()
    });
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert!(search(&owner, "burst").is_empty());

    // A restore that brings the data key back (as D1 Time Travel or a backup would) is undone
    // by replaying the ledger kept outside D1.
    let k = &key_row[0];
    tenant.d1_execute(&format!(
        "INSERT INTO data_keys (id, kek, wrapped, created_at) VALUES ('{}', '{}', '{}', {})",
        k["id"].as_str().unwrap(),
        k["kek"].as_str().unwrap(),
        k["wrapped"].as_str().unwrap(),
        k["created_at"]
    ));
    let restored = owner.get(&format!("/api/v1/audit?entity_id={id}")).body;
    // (The isolate forgot the key at the erasure; a restored key is read again.)
    assert!(
        restored.contains("Ptolemy"),
        "the restore brought the key back: {restored}"
    );
    let replay = tenant.ops_post("/ops/personal-data/replay-erasures", &json!({}));
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.json()["replayed"], 1);
    let after = owner.get(&format!("/api/v1/audit?entity_id={id}")).body;
    assert!(!after.contains("Ptolemy"), "{after}");
    assert_eq!(
        tenant
            .ops_post("/ops/personal-data/replay-erasures", &json!({}))
            .json()["replayed"],
        0
    );
    verify(&owner);
}

#[test]
fn rows_written_in_plaintext_before_are_sealed_and_indexed_by_the_rollout_step() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    // As code deployed before the migration would have written them.
    tenant.d1_execute(
        "INSERT INTO customers (id, name, emails, phones, search, created_at, updated_at) \
         VALUES ('legacy-1', 'Hildegard Oldrow', '[\"hilde@legacy.example\"]', \
         '[\"+15550001111\"]', 'hildegard oldrow', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'); \
         INSERT INTO sites (id, customer_id, line1, is_primary, created_at, updated_at) \
         VALUES ('legacy-s1', 'legacy-1', '3 Bygone Court', 1, 't', 't')",
    );
    let read = owner.get("/api/v1/customers/legacy-1").json();
    assert_eq!(
        read["name"], "Hildegard Oldrow",
        "plaintext reads as it is meanwhile"
    );
    assert!(search(&owner, "hildegard").is_empty(), "not indexed yet");

    let step = tenant.ops_post("/ops/personal-data/seal", &json!({ "limit": 100 }));
    assert_eq!(step.status, 200, "{}", step.body);
    assert_eq!(step.json()["sealed"], 2, "{}", step.body);
    assert_eq!(step.json()["remaining"], "none");
    let stored = tenant.d1_execute(
        "SELECT c.name, c.emails, s.line1 FROM customers c JOIN sites s ON s.customer_id = c.id \
         WHERE c.id = 'legacy-1'",
    );
    let stored = stored[0].to_string();
    assert!(
        !stored.contains("Hildegard") && !stored.contains("Bygone"),
        "{stored}"
    );
    assert!(stored.contains("fwe1.c-legacy-1."), "{stored}");
    let read = owner.get("/api/v1/customers/legacy-1").json();
    assert_eq!(read["name"], "Hildegard Oldrow");
    assert_eq!(read["version"], 1, "sealing is not a change of the record");
    assert_eq!(read["sites"][0]["line1"], "3 Bygone Court");
    assert_eq!(
        search(&owner, "hildegard"),
        vec!["Hildegard Oldrow".to_owned()]
    );
    assert_eq!(
        search(&owner, "hilde@legacy.example"),
        vec!["Hildegard Oldrow".to_owned()]
    );
    let again = tenant.ops_post("/ops/personal-data/seal", &json!({}));
    assert_eq!(again.json()["sealed"], 0, "{}", again.body);
    verify(&owner);
}

#[test]
fn a_key_rotation_under_load_leaves_everything_readable() {
    let ring = |ids: &[&str]| {
        ids.iter()
            .map(|id| {
                let raw = [id.as_bytes()[0]; 32];
                format!("{id}:{}", base64url(&raw))
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    let with_keys = |ids: &[&str]| Options {
        vars: vec![("PII_KEYS".to_owned(), ring(ids))],
        ..Options::default()
    };
    let mut tenant = Tenant::spawn_with(with_keys(&["k1"]));
    let names: Vec<String> = (0..30).map(|i| format!("Rotator Person{i:02}")).collect();
    {
        let owner = owner(&tenant);
        for name in &names {
            create_customer(
                &owner,
                json!({ "name": name, "emails": [format!("{}@r.example", name.replace(' ', "."))] }),
            );
        }
    }
    let status = tenant
        .request("GET", "/ops/personal-data")
        .header(
            "Authorization",
            &format!("Bearer {}", crate::spawn::OPS_TOKEN),
        )
        .send();
    assert_eq!(status.status, 200, "{}", status.body);
    assert_eq!(status.json()["current_key"], "k1");

    // A new tenant key goes first in the ring; the old one stays until nothing needs it.
    tenant.restart_with(with_keys(&["k2", "k1"]));
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    std::thread::scope(|scope| {
        // Writes and reads go on while the rotation runs, one small step at a time.
        let load = scope.spawn(|| {
            for i in 0..20 {
                create_customer(&owner, json!({ "name": format!("During Rotation{i:02}") }));
                let list = owner.get("/api/v1/customers?limit=200");
                assert_eq!(list.status, 200, "{}", list.body);
                assert!(!list.body.contains("[erased]"), "{}", list.body);
            }
        });
        // A malformed step is refused, not run with defaults.
        for bad in [json!({ "limit": "seven" }), json!({ "limt": 7 })] {
            let refused = tenant.ops_post("/ops/personal-data/rotate", &bad);
            assert!(
                matches!(refused.status, 400 | 422),
                "{}: {}",
                refused.status,
                refused.body
            );
            assert_eq!(
                refused.header("content-type"),
                Some("application/problem+json")
            );
        }
        loop {
            let step = tenant.ops_post("/ops/personal-data/rotate", &json!({ "limit": 7 }));
            assert_eq!(step.status, 200, "{}", step.body);
            if step.json()["remaining"] == 0 {
                break;
            }
        }
        load.join().unwrap();
    });
    // Only the new key now: everything still opens.
    tenant.restart_with(with_keys(&["k2"]));
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let list = owner.get("/api/v1/customers?limit=200").json();
    let listed: Vec<&str> = list["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in &names {
        assert!(
            listed.contains(&name.as_str()),
            "{name} unreadable: {listed:?}"
        );
    }
    assert_eq!(
        listed
            .iter()
            .filter(|n| n.starts_with("During Rotation"))
            .count(),
        20
    );
    assert_eq!(
        search(&owner, "person07"),
        vec!["Rotator Person07".to_owned()]
    );
    let by_key = tenant
        .request("GET", "/ops/personal-data")
        .header(
            "Authorization",
            &format!("Bearer {}", crate::spawn::OPS_TOKEN),
        )
        .send()
        .json();
    assert_eq!(
        by_key["data_keys_by_tenant_key"].as_object().unwrap().len(),
        1,
        "{by_key}"
    );
    assert!(
        by_key["data_keys_by_tenant_key"]["k2"].as_i64().unwrap() >= 50,
        "{by_key}"
    );
    let audit = owner
        .get("/api/v1/audit?action=personal_data.rewrapped")
        .json();
    assert!(!audit["events"].as_array().unwrap().is_empty());
    verify(&owner);
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn a_deleted_account_stays_deleted_after_a_restore_through_the_ledger() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(
        &owner,
        "quill@example.com",
        "technician",
        "lantern-harbor-98765",
    );
    let id = tech.user["id"].as_str().unwrap().to_owned();
    let row = |sql: &str| tenant.d1_execute(sql).into_iter().next().expect("a row");
    let saved_user = row(&format!(
        "SELECT email, email_index, name, password_hash FROM users WHERE id = '{id}'"
    ));
    let saved_key = row(&format!(
        "SELECT id, kek, wrapped, created_at FROM data_keys WHERE id = 'u-{id}'"
    ));
    let deleted = tech.post(
        "/api/v1/me/delete",
        &json!({ "password": "lantern-harbor-98765" }),
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        login(&tenant, "quill@example.com", "lantern-harbor-98765").status,
        401
    );

    // A restore to before the deletion brings the account and its key back…
    let text = |v: &Value| v.as_str().unwrap().replace('\'', "''");
    tenant.d1_execute(&format!(
        "INSERT INTO data_keys (id, kek, wrapped, created_at) VALUES ('{}', '{}', '{}', {}); \
         UPDATE users SET active = 1, deleted_at = NULL, deleted_number = NULL, email = '{}', \
         email_index = '{}', name = '{}', password_hash = '{}' WHERE id = '{id}'",
        text(&saved_key["id"]),
        text(&saved_key["kek"]),
        text(&saved_key["wrapped"]),
        saved_key["created_at"],
        text(&saved_user["email"]),
        text(&saved_user["email_index"]),
        text(&saved_user["name"]),
        text(&saved_user["password_hash"]),
    ));
    assert_eq!(
        login(&tenant, "quill@example.com", "lantern-harbor-98765").status,
        200
    );
    // …and the ledger's replay deletes it again.
    let replay = tenant.ops_post("/ops/personal-data/replay-erasures", &json!({}));
    assert_eq!(replay.status, 200, "{}", replay.body);
    assert_eq!(replay.json()["replayed"], 1, "{}", replay.body);
    assert_eq!(
        login(&tenant, "quill@example.com", "lantern-harbor-98765").status,
        401
    );
    let team = owner.get("/api/v1/users").json();
    let entry = team["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.as_str())
        .cloned()
        .unwrap();
    assert_eq!(entry["deleted"], true, "{entry}");
    assert_eq!(entry["email"], "[erased]", "{entry}");
    verify(&owner);
}
