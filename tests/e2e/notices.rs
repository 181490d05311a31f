//! The people a security change concerns are told: in the app (the bell) and by email.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::Tenant;

fn kinds(browser: &Browser<'_>) -> Vec<String> {
    let reply = browser.get("/api/v1/me/notifications");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect()
}

fn patch_user(owner: &Browser<'_>, id: &str, body: Value) {
    let users = owner.get("/api/v1/users").json();
    let version = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id)
        .unwrap()["version"]
        .clone();
    let reply = owner
        .request("PATCH", &format!("/api/v1/users/{id}"))
        .header("If-Match", &format!("\"{version}\""))
        .json(&body)
        .send();
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn role_changes_new_owners_and_tokens_are_told_in_the_app_and_by_email() {
    let tenant = Tenant::spawn();
    let olive = owner(&tenant);
    let theo = member(
        &olive,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let theo_id = theo.user["id"].as_str().unwrap().to_owned();
    assert!(kinds(&theo).is_empty(), "nothing to tell yet");

    patch_user(&olive, &theo_id, json!({ "role": "owner" }));
    // Theo's session ended with the role change: he signs in again.
    let theo = sign_in(&tenant, "theo@acme-heating.example", "wrench-and-solder-77");
    assert_eq!(
        kinds(&theo),
        ["role_changed"],
        "told once, not also as a new owner"
    );
    let told = theo.get("/api/v1/me/notifications").json();
    assert!(told["notifications"][0]["body"]
        .as_str()
        .unwrap()
        .contains("Your role is now owner (it was technician)"));
    assert_eq!(kinds(&olive), ["owner_added"]);

    let token = olive.post("/api/v1/tokens", &json!({ "name": "laptop" }));
    assert_eq!(token.status, 201, "{}", token.body);
    assert_eq!(kinds(&olive), ["token_created", "owner_added"]);

    // (Two-factor no longer required company-wide is told to every owner: the browser
    // journey covers it, with an owner enrolled as the rule needs.)

    // Each notice also went out by email, once (the sender runs after each response).
    assert_eq!(
        tenant.outbox_sent(3),
        3,
        "role changed, owner added, token made"
    );
}

#[test]
fn a_sign_in_from_a_new_browser_is_told_but_not_the_first_nor_a_known_browser() {
    let tenant = Tenant::spawn();
    let first = login(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(first.status, 401, "no owner yet: {}", first.body);
    let olive = owner(&tenant);
    assert!(kinds(&olive).is_empty(), "a first sign-in tells nothing");

    // Another browser (no device cookie): told, in the app and by email.
    let second = login(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(kinds(&olive), ["new_device"]);
    let told = olive.get("/api/v1/me/notifications").json();
    let body = told["notifications"][0]["body"].as_str().unwrap();
    assert!(body.contains("signed in to from a browser"), "{body}");

    // That browser again, with the cookie it was given: nothing new.
    let cookie = crate::signin::device_cookie(&second).expect("a device cookie");
    let third = crate::signin::login_from(&tenant, &cookie, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(third.status, 200, "{}", third.body);
    assert_eq!(kinds(&olive), ["new_device"]);

    assert_eq!(tenant.outbox_sent(1), 1, "the notice went by email too");
}
