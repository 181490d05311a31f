//! The permission matrix, walked end to end: every role against every protected route.

use std::collections::BTreeSet;

use fieldworker::http::router::{Guard, ROUTES};

use crate::people::*;
use crate::spawn::Tenant;

const O: bool = true;
const X: bool = false;

/// Expected access, written out by hand (not derived from the code under test):
/// (method, path pattern, owner, dispatcher, technician, viewer).
const MATRIX: &[(&str, &str, bool, bool, bool, bool)] = &[
    ("GET", "/api/v1/me", O, O, O, O),
    ("POST", "/api/v1/auth/logout", O, O, O, O),
    ("POST", "/api/v1/me/mfa/enroll", O, O, O, O),
    ("POST", "/api/v1/me/mfa/confirm", O, O, O, O),
    ("POST", "/api/v1/me/mfa/disable", O, O, O, O),
    ("POST", "/api/v1/me/password", O, O, O, O),
    ("POST", "/api/v1/me/delete", O, O, O, O),
    ("GET", "/api/v1/me/notifications", O, O, O, O),
    ("POST", "/api/v1/me/notifications/read", O, O, O, O),
    ("GET", "/api/v1/me/links", O, O, O, O),
    ("POST", "/api/v1/me/links", O, O, O, O),
    ("DELETE", "/api/v1/me/links/{id}", O, O, O, O),
    ("GET", "/api/v1/me/apps", O, O, O, O),
    ("DELETE", "/api/v1/me/apps/{id}", O, O, O, O),
    ("GET", "/api/v1/tokens", O, O, O, O),
    ("POST", "/api/v1/tokens", O, O, O, O),
    ("DELETE", "/api/v1/tokens/{id}", O, O, O, O),
    ("GET", "/api/v1/settings", O, O, O, O),
    ("PATCH", "/api/v1/settings", O, X, X, X),
    ("GET", "/api/v1/users", O, O, X, X),
    ("POST", "/api/v1/users/invites", O, X, X, X),
    ("PATCH", "/api/v1/users/{id}", O, X, X, X),
    ("POST", "/api/v1/users/{id}/unlock", O, X, X, X),
    // Support access is the owners' to decide.
    ("GET", "/api/v1/support-sessions", O, X, X, X),
    ("POST", "/api/v1/support-sessions/{id}/approve", O, X, X, X),
    ("POST", "/api/v1/support-sessions/{id}/refuse", O, X, X, X),
    ("POST", "/api/v1/support-sessions/{id}/end", O, X, X, X),
    // The company as a whole: its export and its deletion are the owners'.
    ("POST", "/api/v1/company/export", O, X, X, X),
    ("GET", "/api/v1/company/exports", O, X, X, X),
    ("GET", "/api/v1/company/exports/{id}/download", O, X, X, X),
    ("GET", "/api/v1/company/deletion", O, X, X, X),
    ("POST", "/api/v1/company/deletion", O, X, X, X),
    ("POST", "/api/v1/company/deletion/cancel", O, X, X, X),
    ("GET", "/api/v1/audit", O, X, X, X),
    ("GET", "/api/v1/audit/verify", O, X, X, X),
    ("GET", "/api/v1/customers", O, O, O, O),
    ("POST", "/api/v1/customers", O, O, X, X),
    ("GET", "/api/v1/customers/{id}", O, O, O, O),
    ("PATCH", "/api/v1/customers/{id}", O, O, X, X),
    ("DELETE", "/api/v1/customers/{id}", O, O, X, X),
    // Erasing someone's personal data is the owners' decision.
    ("GET", "/api/v1/customers/{id}/erasure", O, X, X, X),
    ("POST", "/api/v1/customers/{id}/erase", O, X, X, X),
    ("POST", "/api/v1/customers/{id}/sites", O, O, X, X),
    ("GET", "/api/v1/customers/{id}/export", O, O, X, X),
    ("GET", "/api/v1/customers/{id}/messages", O, O, O, O),
    ("POST", "/api/v1/customers/{id}/messages", O, O, X, X),
    ("PATCH", "/api/v1/sites/{id}", O, O, X, X),
    ("GET", "/api/v1/jobs", O, O, O, O),
    ("POST", "/api/v1/jobs", O, O, X, X),
    ("GET", "/api/v1/jobs/{id}", O, O, O, O),
    ("PATCH", "/api/v1/jobs/{id}", O, O, O, X),
    ("POST", "/api/v1/jobs/{id}/status", O, O, O, X),
    ("POST", "/api/v1/jobs/{id}/notes", O, O, O, X),
    ("GET", "/api/v1/jobs/{id}/timeline", O, O, O, O),
    ("POST", "/api/v1/jobs/{id}/visits", O, O, X, X),
    ("GET", "/api/v1/visits", O, O, O, O),
    ("PATCH", "/api/v1/visits/{id}", O, O, O, X),
    ("POST", "/api/v1/visits/{id}/status", O, O, O, X),
    ("DELETE", "/api/v1/visits/{id}", O, O, X, X),
    // Money: technicians see none of it; viewers read it.
    ("GET", "/api/v1/quotes", O, O, X, O),
    ("POST", "/api/v1/quotes", O, O, X, X),
    ("GET", "/api/v1/quotes/{id}", O, O, X, O),
    ("GET", "/api/v1/quotes/{id}/pdf", O, O, X, O),
    ("PATCH", "/api/v1/quotes/{id}", O, O, X, X),
    ("DELETE", "/api/v1/quotes/{id}", O, O, X, X),
    ("POST", "/api/v1/quotes/{id}/preview", O, O, X, X),
    ("POST", "/api/v1/quotes/{id}/send", O, O, X, X),
    ("POST", "/api/v1/quotes/{id}/revise", O, O, X, X),
    ("POST", "/api/v1/quotes/{id}/accept", O, O, X, X),
    ("POST", "/api/v1/quotes/{id}/decline", O, O, X, X),
    ("POST", "/api/v1/quotes/{id}/convert", O, O, X, X),
    ("GET", "/api/v1/invoices", O, O, X, O),
    ("POST", "/api/v1/invoices", O, O, X, X),
    ("GET", "/api/v1/invoices/{id}", O, O, X, O),
    ("GET", "/api/v1/invoices/{id}/pdf", O, O, X, O),
    ("PATCH", "/api/v1/invoices/{id}", O, O, X, X),
    ("DELETE", "/api/v1/invoices/{id}", O, O, X, X),
    ("POST", "/api/v1/invoices/{id}/preview", O, O, X, X),
    ("POST", "/api/v1/invoices/{id}/issue", O, O, X, X),
    ("POST", "/api/v1/invoices/{id}/void", O, O, X, X),
    ("POST", "/api/v1/invoices/{id}/payments", O, O, X, X),
    ("POST", "/api/v1/invoices/{id}/credit-note", O, O, X, X),
    ("POST", "/api/v1/quotes/{id}/share", O, O, X, X),
    ("POST", "/api/v1/invoices/{id}/share", O, O, X, X),
    ("DELETE", "/api/v1/share-links/{id}", O, O, X, X),
    ("POST", "/api/v1/quotes/{id}/deliveries", O, O, X, X),
    ("GET", "/api/v1/quotes/{id}/deliveries", O, O, X, O),
    ("POST", "/api/v1/invoices/{id}/deliveries", O, O, X, X),
    ("GET", "/api/v1/invoices/{id}/deliveries", O, O, X, O),
    ("GET", "/api/v1/settings/messages", O, O, O, O),
    ("PATCH", "/api/v1/settings/messages", O, X, X, X),
    (
        "PATCH",
        "/api/v1/settings/messages/templates/{kind}",
        O,
        X,
        X,
        X,
    ),
    ("POST", "/api/v1/jobs/{id}/on-my-way", O, O, O, X),
    // Files: technicians add to the work they do; money's files are money's.
    ("GET", "/api/v1/jobs/{id}/files", O, O, O, O),
    ("POST", "/api/v1/jobs/{id}/files", O, O, O, X),
    ("POST", "/api/v1/jobs/{id}/signature", O, O, O, X),
    ("GET", "/api/v1/visits/{id}/files", O, O, O, O),
    ("POST", "/api/v1/visits/{id}/files", O, O, O, X),
    ("GET", "/api/v1/customers/{id}/files", O, O, O, O),
    ("POST", "/api/v1/customers/{id}/files", O, O, X, X),
    ("GET", "/api/v1/sites/{id}/files", O, O, O, O),
    ("POST", "/api/v1/sites/{id}/files", O, O, X, X),
    ("GET", "/api/v1/quotes/{id}/files", O, O, X, O),
    ("POST", "/api/v1/quotes/{id}/files", O, O, X, X),
    ("GET", "/api/v1/invoices/{id}/files", O, O, X, O),
    ("POST", "/api/v1/invoices/{id}/files", O, O, X, X),
    ("GET", "/api/v1/files/{id}", O, O, O, O),
    ("GET", "/api/v1/files/{id}/content", O, O, O, O),
    ("DELETE", "/api/v1/files/{id}", O, O, O, X),
    ("GET", "/api/v1/settings/storage", O, O, O, O),
    ("PUT", "/api/v1/settings/logo", O, X, X, X),
];

#[test]
fn the_matrix_names_every_protected_route() {
    let protected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .filter(|decl| !matches!(decl.guard, Guard::Public | Guard::Operator))
        .map(|decl| (decl.method.to_owned(), decl.pattern.to_owned()))
        .collect();
    let tested: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(method, path, ..)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(protected, tested);
}

#[test]
fn every_role_reaches_exactly_the_routes_the_matrix_allows() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let people = [
        ("owner", sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD)),
        (
            "dispatcher",
            member(
                &owner,
                "dee@acme-heating.example",
                "dispatcher",
                "schedule-the-boilers-9",
            ),
        ),
        (
            "technician",
            member(
                &owner,
                "theo@acme-heating.example",
                "technician",
                "wrench-and-solder-77",
            ),
        ),
        (
            "viewer",
            member(
                &owner,
                "vic@acme-heating.example",
                "viewer",
                "looking-not-touching-5",
            ),
        ),
    ];
    let someone = owner.user["id"].as_str().unwrap().to_owned();
    for (method, pattern, o, d, t, v) in MATRIX {
        // Logging out would end the session the rest of the walk needs.
        if *pattern == "/api/v1/auth/logout" {
            continue;
        }
        let path = pattern.replace("{id}", &someone);
        for ((role, browser), allowed) in people.iter().zip([o, d, t, v]) {
            // Bodies are deliberately empty: an allowed call fails validation (400/404/409/
            // 415/422/428) or succeeds; a forbidden one is refused before that.
            let reply = browser.request(method, &path).send();
            if *allowed {
                assert!(
                    !refused(&reply),
                    "{role} {method} {path}: {} {}",
                    reply.status,
                    reply.body
                );
            } else {
                let problem = reply.problem(403);
                assert!(
                    problem["detail"].as_str().unwrap().contains(role),
                    "{problem}"
                );
            }
        }
    }
    // Logout for everyone, last.
    for (role, browser) in &people {
        let reply = browser.request("POST", "/api/v1/auth/logout").send();
        assert_eq!(reply.status, 204, "{role}: {}", reply.body);
    }
}

#[test]
fn anonymous_callers_are_refused_on_every_protected_route() {
    let tenant = Tenant::spawn();
    for (method, pattern, ..) in MATRIX {
        let reply = tenant.request(method, &pattern.replace("{id}", "x")).send();
        let problem = reply.problem(401);
        assert_eq!(problem["type"], "urn:fieldworker:problem:unauthorized");
        assert!(reply.header("www-authenticate").is_some());
    }
}

#[test]
fn the_last_active_owner_cannot_be_demoted_or_deactivated() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let id = owner.user["id"].as_str().unwrap().to_owned();
    let patch = |body: serde_json::Value, version: &str| {
        owner
            .request("PATCH", &format!("/api/v1/users/{id}"))
            .header("If-Match", version)
            .json(&body)
            .send()
    };
    let demoted = patch(serde_json::json!({ "role": "dispatcher" }), "\"1\"").problem(409);
    assert_eq!(demoted["reason"], "last_owner");
    patch(serde_json::json!({ "active": false }), "\"1\"").problem(409);
    patch(serde_json::json!({ "role": "dispatcher" }), "\"9\"").problem(409);
    owner
        .request("PATCH", &format!("/api/v1/users/{id}"))
        .json(&serde_json::json!({ "role": "viewer" }))
        .send()
        .problem(428);
    patch(serde_json::json!({ "role": "boss" }), "\"1\"").problem(422);

    // With a second owner, the first may step down; the role change ends their sessions.
    let second = member(
        &owner,
        "otto@acme-heating.example",
        "owner",
        "boiler-room-keys-2026",
    );
    let stepped_down = patch(serde_json::json!({ "role": "dispatcher" }), "\"1\"");
    assert_eq!(stepped_down.status, 200, "{}", stepped_down.body);
    assert_eq!(stepped_down.header("etag"), Some("\"2\""));
    owner.get("/api/v1/me").problem(401);
    assert_eq!(second.get("/api/v1/users").status, 200);
}

#[test]
fn an_invitation_works_once_and_not_after_it_expires() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let invite = |email: &str| {
        let reply = owner.post(
            "/api/v1/users/invites",
            &serde_json::json!({ "email": email, "role": "technician" }),
        );
        assert_eq!(reply.status, 201, "{}", reply.body);
        let body = reply.json();
        assert!(body["invite_url"].as_str().unwrap().contains("/invite/"));
        body["token"].as_str().unwrap().to_owned()
    };
    let accept = |token: &str| {
        tenant
            .request("POST", "/api/v1/auth/invites/accept")
            .json(&serde_json::json!({ "token": token, "name": "Theo", "password": "wrench-and-solder-77" }))
            .send()
    };
    let token = invite("theo@acme-heating.example");
    accept("not-a-real-token").problem(404);
    assert_eq!(accept(&token).status, 201);
    accept(&token).problem(409);

    owner
        .post(
            "/api/v1/users/invites",
            &serde_json::json!({ "email": "not-an-email", "role": "viewer" }),
        )
        .problem(422);

    let late = invite("tess@acme-heating.example");
    advance_clock(&tenant, 8 * 24 * 60 * MINUTE);
    accept(&late).problem(409);
}
