//! Backups that restore, on the real local runtime: a tenant's database exported with
//! `wrangler d1 export --local`, wiped, and imported again with `wrangler d1 execute --local
//! --file` has every record; the Worker records the restore (`POST /ops/restored`) so the
//! audit trail verifies across it, sessions end, and a message claimed after the point restored
//! to is not sent again; a forged restore record explains nothing; maintenance mode answers
//! 503 with Retry-After while `/healthz` and `/ops` still work.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::Connection;
use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{root, tool, Tenant};

/// The tenant's D1 database file, as the local runtime keeps it.
fn d1_file(tenant: &Tenant) -> PathBuf {
    let dir = tenant.state.join("v3/d1/miniflare-D1DatabaseObject");
    fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "sqlite"))
        .expect("a D1 sqlite file")
}

fn open_d1(tenant: &Tenant) -> Connection {
    let conn = Connection::open(d1_file(tenant)).expect("open the D1 file");
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    conn
}

/// `wrangler d1 export DB --local` of the tenant's state (export has no `--persist-to`: it
/// reads `.wrangler/state` beside its config, so a config is put beside a link to the state).
fn export(tenant: &Tenant, to: &Path) {
    let beside = tenant.state.with_extension("export");
    fs::create_dir_all(beside.join(".wrangler")).unwrap();
    fs::copy(root().join("wrangler.toml"), beside.join("wrangler.toml")).unwrap();
    let link = beside.join(".wrangler/state");
    if !link.exists() {
        std::os::unix::fs::symlink(&tenant.state, &link).unwrap();
    }
    let output = tool("wrangler")
        .args(["d1", "export", "DB", "--local", "--config"])
        .arg(beside.join("wrangler.toml"))
        .arg("--output")
        .arg(to)
        .output()
        .expect("run wrangler d1 export");
    assert!(
        output.status.success(),
        "wrangler d1 export failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = fs::remove_dir_all(&beside);
}

/// Everything of the schema gone, as if the database were lost.
fn wipe(tenant: &Tenant) {
    let conn = open_d1(tenant);
    let objects: Vec<(String, String)> = conn
        .prepare(
            "SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view', 'trigger') \
             AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%' \
             ORDER BY CASE type WHEN 'trigger' THEN 0 WHEN 'view' THEN 1 ELSE 2 END",
        )
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    conn.execute_batch("PRAGMA foreign_keys = OFF").unwrap();
    for (kind, name) in objects {
        conn.execute_batch(&format!(
            "DROP {} IF EXISTS \"{name}\"",
            kind.to_uppercase()
        ))
        .unwrap();
    }
    let left: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_cf_%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "wiped");
}

/// `wrangler d1 execute DB --local --file` into the tenant's state.
fn import(tenant: &Tenant, file: &Path) {
    let output = tool("wrangler")
        .args(["d1", "execute", "DB", "--local", "--yes", "--persist-to"])
        .arg(&tenant.state)
        .arg("--file")
        .arg(file)
        .output()
        .expect("run wrangler d1 execute --file");
    assert!(
        output.status.success(),
        "wrangler d1 execute --file failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Rows of every table the Worker writes, by table.
fn counts(tenant: &Tenant) -> Vec<(String, i64)> {
    let conn = open_d1(tenant);
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name NOT LIKE '_cf_%' ORDER BY name",
        )
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    tables
        .into_iter()
        .map(|table| {
            let n = conn
                .query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |row| {
                    row.get(0)
                })
                .unwrap();
            (table, n)
        })
        .collect()
}

fn verified(owner: &Browser<'_>) -> Value {
    let reply = owner.get("/api/v1/audit/verify");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn workload(owner: &Browser<'_>, names: &[&str]) {
    for name in names {
        let reply = owner.post("/api/v1/customers", &json!({ "name": name }));
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
}

#[test]
fn a_tenant_exported_wiped_and_restored_has_every_record_and_verifies_with_the_restore() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    workload(&owner, &["Ada Byron", "Brook Taylor"]);
    // A message queued at the point the backup is taken, sent only afterwards.
    tenant.d1_execute(
        "INSERT INTO outbox (id, occasion, channel, recipient, kind, data, entity, entity_id, \
         next_at, created_at, updated_at) VALUES ('m-after-backup', 'e2e:backup', 'email', \
         'ada@example.com', 'notice', '{}', 'user', 'u', 9999999999999, 1, 1)",
    );
    let at_backup = verified(&owner);
    assert_eq!(at_backup["ok"], true, "{at_backup}");
    let backup = tenant.state.with_extension("sql");
    export(&tenant, &backup);
    let records = counts(&tenant);
    let restored_to = open_d1(&tenant)
        .query_row("SELECT MAX(seq) FROM audit_log", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap();

    // After the backup: more writes, a token, anchored, and the message goes out.
    workload(&owner, &["Carmen Lopez", "Dmitri Ivanov"]);
    let created = owner.post("/api/v1/tokens", &json!({ "name": "after the backup" }));
    assert_eq!(created.status, 201, "{}", created.body);
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let with_token = || tenant.request("GET", "/api/v1/me").bearer(&token).send();
    assert_eq!(with_token().status, 200);
    tenant.d1_execute("UPDATE outbox SET next_at = 0 WHERE id = 'm-after-backup'");
    tenant.cron();
    let status = tenant.d1_execute("SELECT status FROM outbox WHERE id = 'm-after-backup'");
    assert_ne!(
        status[0]["status"], "queued",
        "claimed and tried: {status:?}"
    );
    let ahead = verified(&owner);
    assert_eq!(ahead["ok"], true, "{ahead}");
    assert!(
        ahead["anchor"]["seq"].as_i64().unwrap() > restored_to,
        "{ahead}"
    );

    wipe(&tenant);
    import(&tenant, &backup);
    let _ = fs::remove_file(&backup);
    assert_eq!(
        counts(&tenant),
        records,
        "every record is back, and nothing after"
    );

    // Restored, not yet recorded: the anchors are ahead of the trail, an unexplained break.
    let unexplained = verified(&owner);
    assert_eq!(unexplained["ok"], false, "{unexplained}");
    assert!(unexplained["restored"].is_null(), "{unexplained}");

    let recorded = tenant.ops_post(
        "/ops/restored",
        &json!({ "restored_to_seq": restored_to - 1, "at": "2026-12-01T10:00:00Z", "backup": "e2e" }),
    );
    assert_eq!(
        recorded.status, 409,
        "the trail ends elsewhere: {}",
        recorded.body
    );
    let recorded = tenant.ops_post(
        "/ops/restored",
        &json!({ "restored_to_seq": restored_to, "at": "2026-12-01T10:00:00Z", "backup": "e2e" }),
    );
    assert_eq!(recorded.status, 200, "{}", recorded.body);
    let answer = recorded.json();
    assert_eq!(answer["event_seq"], restored_to + 1, "{answer}");
    assert_eq!(answer["messages_held"], 1, "{answer}");
    let again = tenant.ops_post(
        "/ops/restored",
        &json!({ "restored_to_seq": restored_to, "at": "2026-12-01T10:00:00Z", "backup": "e2e" }),
    );
    assert_eq!(again.json()["already_recorded"], true, "{}", again.body);

    // The message claimed after the point is never sent again.
    let status = tenant.d1_execute("SELECT status, error FROM outbox WHERE id = 'm-after-backup'");
    assert_eq!(status[0]["status"], "unknown", "{status:?}");
    tenant.cron();
    let status = tenant.d1_execute("SELECT status FROM outbox WHERE id = 'm-after-backup'");
    assert_eq!(status[0]["status"], "unknown", "{status:?}");

    // Every session ended (those made after the point could name a state that is gone).
    assert_eq!(owner.get("/api/v1/audit/verify").status, 401);
    // A token made after the point went with the database.
    assert_eq!(with_token().status, 401);
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let report = verified(&owner);
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(
        report["restored"]["restored_to_seq"], restored_to,
        "{report}"
    );
    assert_eq!(report["restored"]["source"], "backup:e2e", "{report}");
    let note = report["note"].as_str().unwrap_or_default();
    assert!(
        note.starts_with(&format!(
            "restored to seq {restored_to} at 2026-12-01T10:00:00"
        )),
        "{report}"
    );
    let events = owner.get("/api/v1/audit?action=audit.restored").json();
    let event = &events["events"][0];
    assert_eq!(event["actor_kind"], "system", "{events}");
    assert_eq!(event["seq"], restored_to + 1, "{events}");
    // Full verification from the first row says the same.
    let full = owner.get("/api/v1/audit/verify?full=true").json();
    assert_eq!(full["ok"], true, "{full}");
    // The operator's own check (what a restore drill reads) agrees.
    let ops = tenant
        .request("GET", "/ops/audit/verify?full=true")
        .bearer(crate::spawn::OPS_TOKEN)
        .send();
    assert_eq!(ops.json()["ok"], true, "{}", ops.body);
}

#[test]
fn a_forged_restore_record_explains_nothing() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    workload(&owner, &["Ada Byron", "Brook Taylor", "Carmen Lopez"]);
    let before = verified(&owner);
    let tip = before["tip"]["seq"].as_i64().unwrap();
    assert_eq!(before["anchor"]["seq"], tip, "{before}");

    // Rows deleted, and a record claiming a restore written straight into D1 (which the
    // sealer then seals like any row): without the key's MAC it explains nothing.
    let conn = open_d1(&tenant);
    conn.execute_batch("DROP TRIGGER audit_log_no_delete")
        .unwrap();
    conn.execute("DELETE FROM audit_log WHERE seq > ?1", [tip - 2])
        .unwrap();
    let forged = json!({
        "restored_to_seq": tip - 2, "at": "2026-12-01T10:00:00Z", "anchors_through": tip,
        "source": "backup:forged", "mac": "0".repeat(64),
    });
    conn.execute(
        "INSERT INTO audit_log (seq, prev_seq, at, actor_kind, actor_id, action, entity, \
         entity_id, before, after, ip, request_id, prev_hash, hash) \
         SELECT MAX(seq) + 1, MAX(seq), '2026-12-01T10:00:00.000Z', 'system', NULL, \
         'audit.restored', 'audit', NULL, NULL, ?1, NULL, 'forged', '', '' FROM audit_log",
        [forged.to_string()],
    )
    .unwrap();
    drop(conn);

    let report = verified(&owner);
    assert_eq!(report["ok"], false, "{report}");
    assert!(report["restored"].is_null(), "{report}");
    assert_eq!(report["restore_records_refused"], 1, "{report}");
    assert!(
        report["reason"].as_str().unwrap().contains("deleted"),
        "{report}"
    );
}

#[test]
fn maintenance_answers_503_with_retry_after_and_health_and_ops_still_work() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let on = tenant.ops_post(
        "/ops/maintenance",
        &json!({ "on": true, "retry_after": 42 }),
    );
    assert_eq!(on.status, 200, "{}", on.body);

    let api = owner.get("/api/v1/customers");
    assert_eq!(api.status, 503, "{}", api.body);
    assert_eq!(api.header("retry-after"), Some("42"));
    assert_eq!(api.problem(503)["status"], 503);
    let page = owner.get("/customers");
    assert_eq!(page.status, 503);
    assert_eq!(page.header("retry-after"), Some("42"));
    assert!(
        page.header("content-type")
            .unwrap()
            .starts_with("text/html"),
        "the dashboard gets a page"
    );
    for webhook in ["/webhooks/telegram", "/webhooks/sms", "/webhooks/stripe"] {
        let reply = tenant.request("POST", webhook).json(&json!({})).send();
        assert_eq!(reply.status, 503, "{webhook}: providers retry later");
        assert_eq!(reply.header("retry-after"), Some("42"), "{webhook}");
    }
    assert_eq!(
        tenant.get("/healthz").status,
        200,
        "the liveness check still answers"
    );
    let refused = tenant
        .request("POST", "/ops/maintenance")
        .json(&json!({ "on": false }))
        .send();
    assert_eq!(
        refused.status, 401,
        "the operator routes still need the token"
    );

    let off = tenant.ops_post("/ops/maintenance", &json!({ "on": false }));
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(owner.get("/api/v1/customers").status, 200);
}
