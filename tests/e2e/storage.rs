//! The self-check drives a write, a read-back, a refused invalid operation, a delete and a
//! confirmed absence through each real local binding: D1, KV and R2.

use serde_json::json;

use crate::spawn::{Options, Tenant, OPS_TOKEN};

const STEPS: [&str; 5] = [
    "write",
    "read_back",
    "refuse_invalid",
    "delete",
    "confirm_absent",
];

#[test]
fn the_selfcheck_round_trips_through_d1_kv_and_r2() {
    let tenant = Tenant::spawn();
    let probe = format!("probe-{}", std::process::id());
    let reply = tenant.ops_post("/ops/selfcheck", &json!({ "probe": probe }));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    for binding in ["d1", "kv", "r2"] {
        let report = &body["bindings"][binding];
        assert_eq!(report["ok"], true, "{binding}: {report}");
        assert_eq!(report["read_back"], probe.as_str(), "{binding}");
        for step in STEPS {
            assert_eq!(report["steps"][step], "ok", "{binding}.{step}");
        }
    }
    // The harness's clamd is every tenant's scanner (tests/e2e/scanner.rs checks it closely).
    assert_eq!(body["scanner"]["ok"], true, "{}", body["scanner"]);
    // Each binding keeps its data in the tenant's own state folder.
    for folder in ["v3/d1", "v3/kv", "v3/r2"] {
        assert!(tenant.state.join(folder).is_dir(), "{folder} missing");
    }
}

#[test]
fn the_selfcheck_reports_a_d1_failure_and_still_checks_kv_and_r2() {
    // Without migrations the probe table does not exist, so every D1 step fails.
    let tenant = Tenant::spawn_with(Options {
        migrated: false,
        ..Options::default()
    });
    let reply = tenant.ops_post("/ops/selfcheck", &json!({ "probe": "x" }));
    assert_eq!(reply.status, 503, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["status"], "failed");
    assert_eq!(body["bindings"]["d1"]["ok"], false);
    assert_eq!(body["bindings"]["d1"]["steps"]["write"], "failed");
    assert_eq!(body["bindings"]["kv"]["ok"], true);
    assert_eq!(body["bindings"]["r2"]["ok"], true);
    assert!(!reply.body.contains("no such table"), "{}", reply.body);
    let line = tenant.log_line_with(&[reply.request_id(), "selfcheck step failed", "d1.write"]);
    assert!(line.contains("no such table"), "{line}");
}

#[test]
fn the_selfcheck_refuses_bad_requests_with_problems() {
    let tenant = Tenant::spawn();
    let path = "/ops/selfcheck";

    let anonymous = tenant
        .request("POST", path)
        .json(&json!({"probe": "x"}))
        .send();
    anonymous.problem(401);
    assert_eq!(
        anonymous.header("www-authenticate"),
        Some("Bearer realm=\"ops\"")
    );
    tenant
        .request("POST", path)
        .bearer("wrong-token")
        .json(&json!({"probe": "x"}))
        .send()
        .problem(401);

    let call = || tenant.request("POST", path).bearer(OPS_TOKEN);
    call()
        .header("Content-Type", "text/plain")
        .body(b"probe".to_vec())
        .send()
        .problem(415);
    let malformed = call()
        .header("Content-Type", "application/json")
        .body(b"{\"probe\":".to_vec())
        .send()
        .problem(400);
    assert!(malformed["detail"]
        .as_str()
        .unwrap()
        .contains("not valid JSON"));
    call().json(&json!({"probe": 7})).send().problem(400);
    call()
        .json(&json!({"probe": "x", "extra": 1}))
        .send()
        .problem(400);
    call()
        .json(&json!({"probe": "has spaces"}))
        .send()
        .problem(400);
    call()
        .header("Content-Type", "application/json")
        .body(vec![b' '; 70 * 1024])
        .send()
        .problem(413);
}

#[test]
fn ops_endpoints_do_not_exist_when_no_operator_token_is_configured() {
    let tenant = Tenant::spawn_with(Options {
        ops_token: None,
        ..Options::default()
    });
    tenant
        .request("POST", "/ops/selfcheck")
        .bearer("anything")
        .json(&json!({"probe": "x"}))
        .send()
        .problem(404);
}
