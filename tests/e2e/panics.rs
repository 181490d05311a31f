use crate::spawn::{Tenant, OPS_TOKEN};

#[test]
fn a_panic_is_a_clean_500_and_the_next_request_is_served() {
    let tenant = Tenant::spawn();
    let reply = tenant
        .request("POST", "/ops/panic")
        .bearer(OPS_TOKEN)
        .header("X-Request-Id", "panic-test-1")
        .send();
    let problem = reply.problem(500);
    assert_eq!(problem["type"], "urn:fieldworker:problem:internal");
    assert_eq!(reply.request_id(), "panic-test-1");
    for leak in ["deliberate", "panicked", "ops.rs", "unreachable", "wasm"] {
        assert!(!reply.body.contains(leak), "{leak} leaked: {}", reply.body);
    }
    // The operator sees the panic, with its location, in the log.
    let line = tenant.log_line_with(&["\"msg\":\"panic\"", "deliberate panic"]);
    assert!(line.contains("src/http/ops.rs"), "{line}");
    tenant.log_line_with(&["panic-test-1", "\"status\":500"]);

    // The instance is re-created: the tenant keeps serving, storage included.
    let after = tenant.get("/healthz");
    assert_eq!(after.status, 200, "{}", after.body);
    assert_eq!(after.json()["status"], "ok");
}

#[test]
fn the_panic_endpoint_is_closed_without_the_operator_token() {
    let tenant = Tenant::spawn();
    let reply = tenant.request("POST", "/ops/panic").send();
    reply.problem(401);
    assert!(!tenant.logs().contains("\"msg\":\"panic\""));
}
