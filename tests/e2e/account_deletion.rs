//! Users' personal data sealed at rest, and an account its user deletes: sign-in by an address
//! D1 never holds in plain text, the re-authentication deletion takes, the last owner kept,
//! and a deleted account's past attributed to "Deleted user #n" with the audit chain intact.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::Tenant;

const TESS_EMAIL: &str = "tess.quill@acme-heating.example";
const TESS_NAME: &str = "Tessaly Quillfeather";
const TESS_PASSWORD: &str = "copper-fitting-wrench-77";

/// Invites Tess with `role` and accepts as her; answers her browser.
fn tess<'a>(owner: &Browser<'a>, role: &str) -> Browser<'a> {
    let invite = owner.post(
        "/api/v1/users/invites",
        &json!({ "email": TESS_EMAIL, "role": role }),
    );
    assert_eq!(invite.status, 201, "{}", invite.body);
    let token = invite.json()["token"].as_str().unwrap().to_owned();
    let accepted = owner
        .tenant
        .request("POST", "/api/v1/auth/invites/accept")
        .json(&json!({ "token": token, "name": TESS_NAME, "password": TESS_PASSWORD }))
        .send();
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    Browser::from_reply(owner.tenant, &accepted)
}

/// Every row of `table`, as stored (read beside the Worker, not through it).
fn stored(tenant: &Tenant, table: &str) -> String {
    Value::from(tenant.d1_execute(&format!("SELECT * FROM {table}"))).to_string()
}

/// Asserts that none of `secrets` is stored in plain text in the tables holding people's data.
fn nothing_plain(tenant: &Tenant, secrets: &[&str]) {
    for table in [
        "users",
        "invites",
        "login_attempts",
        "audit_log",
        "notifications",
    ] {
        let rows = stored(tenant, table);
        for secret in secrets {
            assert!(
                !rows.to_lowercase().contains(&secret.to_lowercase()),
                "{table} holds {secret:?} in plain text: {rows}"
            );
        }
    }
}

fn delete_account(browser: &Browser<'_>, body: Value) -> crate::spawn::Reply {
    browser.post("/api/v1/me/delete", &body)
}

#[test]
fn names_addresses_and_secrets_are_stored_sealed_and_sign_in_still_finds_the_account() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let mut tess = tess(&owner, "technician");
    // A wrong password, an address nobody has, then the right one.
    assert_eq!(login(&tenant, TESS_EMAIL, "not-her-password").status, 401);
    assert_eq!(
        login(
            &tenant,
            "nobody.here@acme-heating.example",
            "whatever-it-is"
        )
        .status,
        401
    );
    let signed_in = login(&tenant, &TESS_EMAIL.to_uppercase(), TESS_PASSWORD);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.json()["user"]["name"], TESS_NAME);
    assert_eq!(signed_in.json()["user"]["email"], TESS_EMAIL);
    tess.adopt(&signed_in);
    // Changes whose audit pictures name her: a role change, and two-factor enrolment.
    let id = tess.user["id"].as_str().unwrap().to_owned();
    let version = tess.user["version"].as_i64().unwrap();
    let changed = owner
        .request("PATCH", &format!("/api/v1/users/{id}"))
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "role": "dispatcher" }))
        .send();
    assert_eq!(changed.status, 200, "{}", changed.body);
    let mut tess = sign_in(&tenant, TESS_EMAIL, TESS_PASSWORD);
    let enrolled = tess.post(
        "/api/v1/me/mfa/enroll",
        &json!({ "password": TESS_PASSWORD }),
    );
    assert_eq!(enrolled.status, 200, "{}", enrolled.body);
    let secret = enrolled.json()["secret"].as_str().unwrap().to_owned();
    let confirmed = tess.post(
        "/api/v1/me/mfa/confirm",
        &json!({ "code": totp(&secret, worker_now_secs(0)), "password": TESS_PASSWORD }),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    tess.adopt(&confirmed);

    // What D1 holds: sealed values and blind indexes, never the name, address or secret.
    let users = tenant.d1_execute("SELECT id, email, name, email_index, totp_secret FROM users");
    assert_eq!(users.len(), 2, "{users:?}");
    for user in &users {
        for column in ["email", "name"] {
            assert!(
                user[column].as_str().unwrap().starts_with("fwe1.u-"),
                "{user}"
            );
        }
        assert!(user["email_index"].is_string(), "{user}");
    }
    let stored_secret = users.iter().find(|u| u["id"] == id.as_str()).unwrap()["totp_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(stored_secret.starts_with("fwe1.u-"), "{stored_secret}");
    let invites = tenant.d1_execute("SELECT email FROM invites");
    assert!(invites[0]["email"].as_str().unwrap().starts_with("fwe1.i-"));
    let attempts = tenant.d1_execute("SELECT subject FROM login_attempts");
    assert!(!attempts.is_empty());
    assert!(
        attempts
            .iter()
            .all(|a| !a["subject"].as_str().unwrap().contains('@')),
        "{attempts:?}"
    );
    nothing_plain(
        &tenant,
        &[
            TESS_EMAIL,
            "tess.quill",
            TESS_NAME,
            "Quillfeather",
            &secret,
            OWNER_EMAIL,
            "Olive Owner",
            "nobody.here@",
        ],
    );
    // The audit trail still names her to whoever reads it through the Worker.
    let events = owner.get("/api/v1/audit?action=user.updated").json();
    assert_eq!(events["events"][0]["before"]["name"], TESS_NAME, "{events}");
    assert_eq!(
        events["events"][0]["before"]["email"], TESS_EMAIL,
        "{events}"
    );
    let team = owner.get("/api/v1/users").json();
    let names: Vec<&str> = team["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Olive Owner", TESS_NAME], "sorted by name");
    // Inviting an address that has an account is still refused, found by its index.
    owner
        .post(
            "/api/v1/users/invites",
            &json!({ "email": TESS_EMAIL.to_uppercase(), "role": "viewer" }),
        )
        .problem(409);
    let verified = owner.get("/api/v1/audit/verify?full=true").json();
    assert_eq!(verified["ok"], true, "{verified}");
}

#[test]
fn an_account_written_before_sealing_signs_in_by_its_plain_address_and_is_sealed_then() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    // A row as the code before migration 0019 wrote it: plain text, no index.
    tenant.d1_execute(
        "INSERT INTO users (id, email, name, role, password_hash, created_at, updated_at) \
         SELECT 'legacy-1', 'lee.old@acme-heating.example', 'Lee Oldrow', 'viewer', \
         password_hash, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z' FROM users \
         WHERE role = 'owner'",
    );
    let signed_in = login(&tenant, "lee.old@acme-heating.example", OWNER_PASSWORD);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.json()["user"]["name"], "Lee Oldrow");
    let row =
        &tenant.d1_execute("SELECT email, name, email_index FROM users WHERE id = 'legacy-1'")[0];
    assert!(
        row["email"]
            .as_str()
            .unwrap()
            .starts_with("fwe1.u-legacy-1."),
        "{row}"
    );
    assert!(
        row["name"]
            .as_str()
            .unwrap()
            .starts_with("fwe1.u-legacy-1."),
        "{row}"
    );
    assert!(row["email_index"].is_string(), "{row}");
    // Sealed, it is found by its index from then on.
    assert_eq!(
        login(&tenant, "lee.old@acme-heating.example", OWNER_PASSWORD).status,
        200
    );
    let team = owner.get("/api/v1/users").json();
    assert!(team.to_string().contains("Lee Oldrow"), "{team}");
}

#[test]
fn deleting_an_account_takes_the_password_and_a_current_code_and_never_the_last_owner() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    // The only active owner: told to move ownership first, whatever the password.
    let refused = delete_account(&owner, json!({ "password": OWNER_PASSWORD }));
    let problem = refused.problem(409);
    assert_eq!(problem["reason"], "last_owner", "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("owner first"),
        "{problem}"
    );
    let page = owner.get("/settings/delete-account");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("only active owner"), "{}", page.body);

    let mut tess = tess(&owner, "technician");
    let offset = 10 * MINUTE;
    advance_clock(&tenant, offset);
    let enrolled = tess.post(
        "/api/v1/me/mfa/enroll",
        &json!({ "password": TESS_PASSWORD }),
    );
    let secret = enrolled.json()["secret"].as_str().unwrap().to_owned();
    let confirmed = tess.post(
        "/api/v1/me/mfa/confirm",
        &json!({ "code": totp(&secret, worker_now_secs(offset)), "password": TESS_PASSWORD }),
    );
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    tess.adopt(&confirmed);
    // The next time step, so a code is one not used yet.
    let offset = offset + MINUTE;
    advance_clock(&tenant, MINUTE);
    let code = totp(&secret, worker_now_secs(offset));

    let page = tess.get("/settings/delete-account");
    assert_eq!(page.status, 200);
    assert!(page.body.contains("cannot be undone"), "{}", page.body);
    assert!(page.body.contains("name=\"code\""), "{}", page.body);
    let missing_code = delete_account(&tess, json!({ "password": TESS_PASSWORD })).problem(422);
    assert_eq!(missing_code["errors"][0]["field"], "code", "{missing_code}");
    let wrong_password = delete_account(
        &tess,
        json!({ "password": "not-the-password", "code": code }),
    )
    .problem(422);
    assert_eq!(
        wrong_password["errors"][0]["field"], "password",
        "{wrong_password}"
    );
    let wrong_code = delete_account(
        &tess,
        json!({ "password": TESS_PASSWORD, "code": "000000" }),
    )
    .problem(422);
    assert_eq!(wrong_code["errors"][0]["field"], "code", "{wrong_code}");
    // Nothing was deleted by any of those.
    assert_eq!(tess.get("/api/v1/me").status, 200);
    let deleted = delete_account(&tess, json!({ "password": TESS_PASSWORD, "code": code }));
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.json()["name"], "Deleted user #1");
    assert_eq!(tess.get("/api/v1/me").status, 401);
}

#[test]
fn a_deleted_technician_cannot_come_back_and_their_past_reads_deleted_user_n() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tess = tess(&owner, "technician");
    let id = tess.user["id"].as_str().unwrap().to_owned();
    let token = tess.post(
        "/api/v1/tokens",
        &json!({ "name": "phone script", "password": TESS_PASSWORD }),
    );
    assert_eq!(token.status, 201, "{}", token.body);
    let token = token.json()["token"].as_str().unwrap().to_owned();
    let me = |token: &str| {
        tenant
            .request("GET", "/api/v1/me")
            .bearer(token)
            .send()
            .status
    };
    assert_eq!(me(&token), 200);
    let link = tess.post("/api/v1/me/links", &json!({}));
    assert_eq!(link.status, 201, "{}", link.body);

    let deleted = delete_account(&tess, json!({ "password": TESS_PASSWORD }));
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert!(
        deleted
            .header("set-cookie")
            .is_some_and(|c| c.contains("Max-Age=0")),
        "the session cookie is cleared: {:?}",
        deleted.headers
    );
    // Gone everywhere: the session, the token, signing in again.
    assert_eq!(tess.get("/api/v1/me").status, 401);
    assert_eq!(me(&token), 401);
    assert_eq!(login(&tenant, TESS_EMAIL, TESS_PASSWORD).status, 401);
    let revoked = tenant.d1_execute(&format!(
        "SELECT COUNT(*) AS n FROM access_tokens WHERE user_id = '{id}' AND revoked_at IS NULL"
    ));
    assert_eq!(revoked[0]["n"], 0);
    let codes = tenant.d1_execute(&format!(
        "SELECT COUNT(*) AS n FROM link_codes WHERE user_id = '{id}'"
    ));
    assert_eq!(codes[0]["n"], 0);
    let key = tenant.d1_execute(&format!(
        "SELECT COUNT(*) AS n FROM data_keys WHERE id IN ('u-{id}')"
    ));
    assert_eq!(key[0]["n"], 0, "the data key is erased");

    // The team and the audit trail name her by number; her name and address are unreadable.
    let team = owner.get("/api/v1/users").json();
    let entry = team["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["name"], "Deleted user #1", "{entry}");
    assert_eq!(entry["deleted"], true, "{entry}");
    assert_eq!(entry["active"], false, "{entry}");
    assert_eq!(entry["email"], "[erased]", "{entry}");
    assert!(!team.to_string().contains(TESS_NAME), "{team}");
    let team_page = owner.get("/team");
    assert_eq!(team_page.status, 200);
    assert!(
        team_page.body.contains("Deleted user #1"),
        "{}",
        team_page.body
    );
    assert!(!team_page.body.contains(TESS_NAME));
    let audit_page = owner.get("/audit");
    assert_eq!(audit_page.status, 200);
    assert!(
        audit_page.body.contains("Deleted user #1"),
        "{}",
        audit_page.body
    );
    assert!(!audit_page.body.contains(TESS_NAME));
    assert!(!audit_page.body.contains(TESS_EMAIL));
    let events = owner.get("/api/v1/audit?action=user.deleted").json();
    let event = &events["events"][0];
    assert_eq!(event["actor_id"], id.as_str(), "{events}");
    assert_eq!(event["before"]["name"], "[erased]", "{events}");
    assert_eq!(event["after"]["name"], "Deleted user #1", "{events}");
    let created = owner.get("/api/v1/audit?action=user.created").json();
    assert!(!created.to_string().contains(TESS_NAME), "{created}");
    // Her token's creation is still hers, by id.
    let made = owner
        .get(&format!("/api/v1/audit?actor_id={id}&action=token.created"))
        .json();
    assert_eq!(made["events"].as_array().unwrap().len(), 1, "{made}");

    // The chain, sealed over what is stored, still verifies with the key gone.
    let verified = owner.get("/api/v1/audit/verify?full=true").json();
    assert_eq!(verified["ok"], true, "{verified}");
    nothing_plain(&tenant, &[TESS_EMAIL, TESS_NAME]);

    // A deleted account cannot be brought back, and its address may be invited afresh.
    let version = entry["version"].as_i64().unwrap();
    owner
        .request("PATCH", &format!("/api/v1/users/{id}"))
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "active": true }))
        .send()
        .problem(409);
    let again = owner.post(
        "/api/v1/users/invites",
        &json!({ "email": TESS_EMAIL, "role": "viewer" }),
    );
    assert_eq!(again.status, 201, "{}", again.body);
}

#[test]
fn an_invitation_never_used_loses_its_address_a_month_after_it_expired() {
    const DAY_MS: u64 = 24 * 60 * 60 * 1000;
    const WREN_EMAIL: &str = "wren.neverjoined@acme-heating.example";
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let unused = owner.post(
        "/api/v1/users/invites",
        &json!({ "email": WREN_EMAIL, "role": "viewer" }),
    );
    assert_eq!(unused.status, 201, "{}", unused.body);
    let id = unused.json()["id"].as_str().unwrap().to_owned();
    let token = unused.json()["token"].as_str().unwrap().to_owned();
    // Tess's invitation is used: it and her account stay.
    tess(&owner, "technician");
    let key_of = |id: &str| {
        tenant
            .d1_execute(&format!("SELECT id FROM data_keys WHERE id = 'i-{id}'"))
            .len()
    };
    // Sessions end within the days the clock moves: each look signs in afresh.
    let picture = || {
        sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD)
            .get(&format!("/api/v1/audit?entity_id={id}&action=user.invited"))
            .json()["events"][0]["after"]["email"]
            .clone()
    };
    assert_eq!(picture(), WREN_EMAIL);

    // Seven days to use it, then thirty more: a day short of them, nothing goes.
    advance_clock(&tenant, 36 * DAY_MS);
    assert_eq!(tenant.cron().status, 200);
    assert_eq!(key_of(&id), 1, "erased before its time");
    assert_eq!(picture(), WREN_EMAIL);

    advance_clock(&tenant, 2 * DAY_MS);
    // The clock's own write is sealed by then, so only the cron can seal what the cron writes.
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    assert_eq!(tenant.cron().status, 200);
    assert_eq!(key_of(&id), 0, "the lapsed invitation's key is still there");
    // The cron sealed the lapse it recorded before it ended (no request came since).
    assert_eq!(tenant.unsealed_audit_rows(), 0);
    assert!(
        tenant
            .d1_execute(&format!("SELECT id FROM invites WHERE id = '{id}'"))
            .is_empty(),
        "the lapsed invitation is still there"
    );
    assert_eq!(
        tenant
            .d1_execute("SELECT id FROM invites WHERE used_at IS NOT NULL")
            .len(),
        1,
        "the used invitation goes only with its account"
    );
    // The invitation's picture in the audit trail opens as erased, the lapse is recorded by the
    // system, and the chain still verifies; the link is dead; Tess is untouched.
    assert_eq!(picture(), "[erased]");
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let lapsed = owner
        .get(&format!(
            "/api/v1/audit?entity_id={id}&action=user.invite_lapsed"
        ))
        .json();
    assert_eq!(
        lapsed["events"].as_array().map(Vec::len),
        Some(1),
        "{lapsed}"
    );
    assert_eq!(lapsed["events"][0]["actor_kind"], "system", "{lapsed}");
    assert!(!lapsed.to_string().contains(WREN_EMAIL), "{lapsed}");
    let verified = owner.get("/api/v1/audit/verify?full=true").json();
    assert_eq!(verified["ok"], true, "{verified}");
    let dead = tenant
        .request("POST", "/api/v1/auth/invites/accept")
        .json(&json!({ "token": token, "name": "Wren", "password": TESS_PASSWORD }))
        .send();
    assert!(matches!(dead.status, 400 | 404 | 410), "{}", dead.body);
    assert_eq!(login(&tenant, TESS_EMAIL, TESS_PASSWORD).status, 200);
    nothing_plain(&tenant, &[WREN_EMAIL]);
}
