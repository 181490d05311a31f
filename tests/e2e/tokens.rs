//! Personal access tokens: shown once, act as their user, revocable with the version read.

use serde_json::json;

use crate::people::*;
use crate::spawn::Tenant;

#[test]
fn a_token_is_shown_once_acts_as_its_user_and_stops_when_revoked() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let viewer = member(
        &owner,
        "vic@acme-heating.example",
        "viewer",
        "looking-not-touching-5",
    );

    let created = viewer.post(
        "/api/v1/tokens",
        &json!({ "name": "laptop script", "expires_in_days": 30 }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("fwp_") && token.len() == 44, "{token}");
    assert!(created["expires_at"].is_string());

    let bearer = |path: &str| tenant.request("GET", path).bearer(&token).send();
    let me = bearer("/api/v1/me");
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["role"], "viewer");
    assert_eq!(me.json()["authenticated_by"], "token");
    // The viewer's role travels with the token.
    bearer("/api/v1/users").problem(403);
    // Bearer requests carry no cookie, so they need no CSRF token; but a token cannot make
    // tokens (security changes need a signed-in session).
    let posted = tenant
        .request("POST", "/api/v1/tokens")
        .bearer(&token)
        .json(&json!({ "name": "made by a token" }))
        .send();
    posted.problem(403);

    let listed = viewer.get("/api/v1/tokens").json();
    let entry = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == created["id"])
        .unwrap()
        .clone();
    assert!(
        entry.get("token").is_none(),
        "the secret is never listed again"
    );
    assert!(entry["last_used_at"].is_string(), "{entry}");

    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/tokens/{id}");
    viewer.request("DELETE", &path).send().problem(428);
    viewer
        .request("DELETE", &path)
        .header("If-Match", "\"7\"")
        .send()
        .problem(409);
    let revoked = viewer
        .request("DELETE", &path)
        .header("If-Match", "\"1\"")
        .send();
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    bearer("/api/v1/me").problem(401);

    // Someone else's token is not found, not revocable, by anyone who does not manage the
    // team.
    let dispatcher = member(
        &owner,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    dispatcher
        .request("DELETE", &path)
        .header("If-Match", "\"2\"")
        .send()
        .problem(404);
}

#[test]
fn an_owner_sees_everyones_tokens_with_their_last_use_and_revokes_any() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let made = tech.post("/api/v1/tokens", &json!({ "name": "van tablet" }));
    assert_eq!(made.status, 201, "{}", made.body);
    let token = made.json()["token"].as_str().unwrap().to_owned();
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let used = tenant.request("GET", "/api/v1/me").bearer(&token).send();
    assert_eq!(used.status, 200);

    // The technician sees only their own; only those who manage the team see everyone's.
    tech.get("/api/v1/tokens?all=true").problem(403);
    let mine = owner.get("/api/v1/tokens").json();
    assert!(mine["tokens"].as_array().unwrap().is_empty(), "{mine}");
    let all = owner.get("/api/v1/tokens?all=true").json();
    let entry = all["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{all}"))
        .clone();
    assert_eq!(entry["user_id"], tech.user["id"]);
    assert!(entry["last_used_at"].is_string(), "{entry}");
    assert!(entry.get("token").is_none());

    let revoked = owner
        .request("DELETE", &format!("/api/v1/tokens/{id}"))
        .header("If-Match", "\"1\"")
        .send();
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    tenant
        .request("GET", "/api/v1/me")
        .bearer(&token)
        .send()
        .problem(401);
    let audited = tenant.d1_execute(
        "SELECT actor_id, json_extract(after, '$.user_id') AS whose FROM audit_log \
         WHERE action = 'token.revoked'",
    );
    assert_eq!(audited[0]["actor_id"], owner.user["id"], "{audited:?}");
    assert_eq!(audited[0]["whose"], tech.user["id"], "{audited:?}");
}

#[test]
fn tokens_are_refused_when_malformed_unknown_expired_or_in_the_query() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let created = owner.post(
        "/api/v1/tokens",
        &json!({ "name": "short-lived", "expires_in_days": 1 }),
    );
    let token = created.json()["token"].as_str().unwrap().to_owned();

    for header in [
        "Bearer not-a-token".to_owned(),
        format!("Bearer fwp_{}", "x".repeat(40)),
        format!("Basic {token}"),
    ] {
        tenant
            .request("GET", "/api/v1/me")
            .header("Authorization", &header)
            .send()
            .problem(401);
    }
    tenant
        .get(&format!("/api/v1/me?access_token={token}"))
        .problem(401);
    owner
        .post("/api/v1/tokens", &json!({ "name": "" }))
        .problem(422);
    owner
        .post(
            "/api/v1/tokens",
            &json!({ "name": "x", "expires_in_days": 1000 }),
        )
        .problem(422);

    advance_clock(&tenant, 25 * 60 * MINUTE);
    tenant
        .request("GET", "/api/v1/me")
        .bearer(&token)
        .send()
        .problem(401);
}

#[test]
fn a_deactivated_users_tokens_stop_working() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let tech = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let token = tech
        .post("/api/v1/tokens", &json!({ "name": "phone" }))
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        tenant
            .request("GET", "/api/v1/me")
            .bearer(&token)
            .send()
            .status,
        200
    );
    let id = tech.user["id"].as_str().unwrap();
    let off = owner
        .request("PATCH", &format!("/api/v1/users/{id}"))
        .header("If-Match", "\"1\"")
        .json(&json!({ "active": false }))
        .send();
    assert_eq!(off.status, 200, "{}", off.body);
    tenant
        .request("GET", "/api/v1/me")
        .bearer(&token)
        .send()
        .problem(401);
}
