//! A password generated for an owner (`scripts/tenant create`) lies in the operator's files,
//! so it must be changed at the first sign-in: until then the session reads who it is,
//! changes the password or signs out, and is refused everything else. A password the operator
//! chose is not affected.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::Tenant;

const GENERATED: &str = "Xq3-generated-7bP9kLm2";
const CHOSEN: &str = "thermostat-on-the-wall-3";

/// An owner created as `scripts/tenant create` does: with a generated password.
fn generated_owner(tenant: &Tenant) {
    let created = tenant.ops_post(
        "/ops/owners",
        &json!({
            "email": OWNER_EMAIL,
            "password": GENERATED,
            "name": "Olive Owner",
            "password_change_required": true,
        }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
}

/// The refusal every request but the allowed ones gets while the change is due.
fn assert_change_required(reply: &crate::spawn::Reply, what: &str) {
    assert_eq!(reply.status, 403, "{what}: {}", reply.body);
    let problem = reply.problem(403);
    assert_eq!(
        problem["type"], "urn:fieldworker:problem:password-change-required",
        "{what}: {problem}"
    );
    assert_eq!(problem["password_change_required"], true, "{what}");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("/api/v1/me/password")),
        "{what}: {problem}"
    );
}

/// The page a browser is sent to (no redirect followed), or the status.
fn page(browser: &Browser<'_>, path: &str) -> (u16, Option<String>) {
    let reply = browser.get(path);
    (reply.status, reply.header("location").map(str::to_owned))
}

#[test]
fn a_generated_password_must_be_changed_before_the_session_may_do_anything_else() {
    let tenant = Tenant::spawn();
    generated_owner(&tenant);
    let signed_in = login(&tenant, OWNER_EMAIL, GENERATED);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.json()["password_change_required"], true);
    let mut owner = sign_in(&tenant, OWNER_EMAIL, GENERATED);
    let other = sign_in(&tenant, OWNER_EMAIL, GENERATED);

    // Who am I stays open, and says what is due.
    let me = owner.get("/api/v1/me");
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["password_change_required"], true);

    // Everything else is refused, reads and writes, security changes included.
    let refused: [(&str, &str, Option<Value>); 6] = [
        ("GET", "/api/v1/jobs", None),
        ("GET", "/api/v1/users", None),
        ("GET", "/api/v1/tokens", None),
        (
            "POST",
            "/api/v1/tokens",
            Some(json!({ "name": "cli", "password": GENERATED })),
        ),
        (
            "POST",
            "/api/v1/me/mfa/enroll",
            Some(json!({ "password": GENERATED })),
        ),
        (
            "POST",
            "/api/v1/users/invites",
            Some(json!({ "email": "dee@acme-heating.example", "role": "owner" })),
        ),
    ];
    for (method, path, body) in refused {
        let call = owner.request(method, path);
        let reply = match body {
            Some(body) => call.json(&body).send(),
            None => call.send(),
        };
        assert_change_required(&reply, &format!("{method} {path}"));
    }
    // The dashboard sends the user to the change, and back afterwards.
    assert_eq!(
        page(&owner, "/schedule"),
        (303, Some("/password?next=/schedule".to_owned()))
    );
    assert_eq!(
        page(&owner, "/mfa"),
        (303, Some("/password?next=/mfa".to_owned()))
    );
    let form = owner.get("/password?next=%2Fschedule");
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("generated for you"), "{}", form.body);
    assert!(
        form.body.contains(r#"data-then="go:/schedule""#),
        "{}",
        form.body
    );

    // Signing out stays open.
    let out = other.request("POST", "/api/v1/auth/logout").send();
    assert_eq!(out.status, 204, "{}", out.body);

    // The new password must be another one.
    let same = owner.post(
        "/api/v1/me/password",
        &json!({ "current_password": GENERATED, "new_password": GENERATED }),
    );
    assert_eq!(same.problem(422)["errors"][0]["field"], "new_password");
    let changed = owner.post(
        "/api/v1/me/password",
        &json!({ "current_password": GENERATED, "new_password": CHOSEN }),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.json()["password_change_required"], false);
    owner.adopt(&changed);

    // From here on the session is an owner's like any other.
    assert_eq!(
        owner.get("/api/v1/me").json()["password_change_required"],
        false
    );
    assert_eq!(owner.get("/api/v1/jobs").status, 200);
    assert_eq!(page(&owner, "/schedule").0, 200);
    let token = owner.post("/api/v1/tokens", &json!({ "name": "cli" }));
    assert_eq!(token.status, 201, "{}", token.body);
    login(&tenant, OWNER_EMAIL, GENERATED).problem(401);
    let again = login(&tenant, OWNER_EMAIL, CHOSEN);
    assert_eq!(again.json()["password_change_required"], false);

    // Both steps are in the audit trail: the owner made with a generated password, and the change.
    let audit = owner.get("/api/v1/audit?limit=50").json();
    let events = audit["events"].as_array().expect("events");
    let created = events
        .iter()
        .find(|e| e["action"] == "user.created")
        .expect("user.created");
    assert_eq!(
        created["after"]["password_change_required"], true,
        "{created}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["action"] == "user.password_changed" && e["actor_id"] == owner.user["id"]),
        "{audit}"
    );
}

#[test]
fn a_password_the_operator_chose_is_not_asked_to_change() {
    let tenant = Tenant::spawn();
    let created = create_owner(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(created.status, 201, "{}", created.body);
    let signed_in = login(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    assert_eq!(signed_in.json()["password_change_required"], false);
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(
        owner.get("/api/v1/me").json()["password_change_required"],
        false
    );
    assert_eq!(owner.get("/api/v1/jobs").status, 200);
    assert_eq!(page(&owner, "/schedule").0, 200);
    let token = owner.post("/api/v1/tokens", &json!({ "name": "cli" }));
    assert_eq!(token.status, 201, "{}", token.body);
    // Once the company has an owner the operator makes no other (owners are invited), even
    // with a different address: a second owner would be a silent new account.
    let second = tenant.ops_post(
        "/ops/owners",
        &json!({
            "email": "dee@acme-heating.example",
            "password": "schedule-the-boilers-9",
            "password_change_required": false,
        }),
    );
    assert_eq!(second.problem(409)["owner_exists"], true, "{}", second.body);
    assert_eq!(
        login(
            &tenant,
            "dee@acme-heating.example",
            "schedule-the-boilers-9"
        )
        .status,
        401
    );
}
