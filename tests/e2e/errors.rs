use crate::spawn::Tenant;

#[test]
fn unknown_routes_and_wrong_methods_are_problems_with_the_right_status() {
    let tenant = Tenant::spawn();

    let missing = tenant.get("/no/such/thing?token=secret");
    let problem = missing.problem(404);
    assert_eq!(problem["type"], "urn:fieldworker:problem:not-found");
    assert_eq!(problem["instance"], "/no/such/thing");

    let wrong = tenant.request("DELETE", "/healthz").send();
    let problem = wrong.problem(405);
    assert_eq!(wrong.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert!(problem["detail"].as_str().unwrap().contains("DELETE"));

    // Error responses carry the same protective headers as every other response.
    assert_eq!(missing.header("cache-control"), Some("no-store"));
    assert_eq!(missing.header("x-content-type-options"), Some("nosniff"));
}

#[test]
fn a_safe_incoming_request_id_is_kept_and_an_unsafe_one_replaced() {
    let tenant = Tenant::spawn();
    let kept = tenant
        .request("GET", "/healthz")
        .header("X-Request-Id", "trace-abc_123")
        .send();
    assert_eq!(kept.request_id(), "trace-abc_123");

    let replaced = tenant
        .request("GET", "/healthz")
        .header("X-Request-Id", "<script>alert(1)</script>")
        .send();
    assert!(uuid::Uuid::parse_str(replaced.request_id()).is_ok());
}

#[test]
fn every_request_writes_one_structured_log_line() {
    let tenant = Tenant::spawn();
    let reply = tenant.get("/missing?code=should-not-be-logged");
    let id = reply.request_id().to_owned();
    let line = tenant.log_line_with(&[&id, "\"msg\":\"request\""]);
    let json_start = line.find('{').expect("a JSON object on the line");
    let json_end = line.rfind('}').expect("a JSON object on the line");
    let entry: serde_json::Value =
        serde_json::from_str(&line[json_start..=json_end]).expect("the line is JSON");
    assert_eq!(entry["request_id"], id.as_str());
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["path"], "/missing");
    assert_eq!(entry["status"], 404);
    assert_eq!(entry["level"], "warn");
    assert!(entry["duration_ms"].is_u64());
    assert!(!tenant.logs().contains("should-not-be-logged"));
    let lines_for_request = tenant
        .logs()
        .lines()
        .filter(|l| l.contains(&id) && l.contains("\"msg\":\"request\""))
        .count();
    assert_eq!(lines_for_request, 1);
}
