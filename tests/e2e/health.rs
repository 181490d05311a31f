use fieldworker::domain::schema::SCHEMA_VERSION;

use crate::spawn::{Options, Tenant};

#[test]
fn health_reports_the_build_and_schema_versions_read_from_d1() {
    let tenant = Tenant::spawn();
    let reply = tenant.get("/healthz");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    let body = reply.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(body["schema_version"], SCHEMA_VERSION);
    let id = reply.request_id();
    assert_eq!(
        uuid::Uuid::parse_str(id).map(|u| u.get_version_num()),
        Ok(4)
    );
}

#[test]
fn head_and_options_on_health_answer_without_a_body() {
    let tenant = Tenant::spawn();
    let head = tenant.request("HEAD", "/healthz").send();
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    let options = tenant.request("OPTIONS", "/healthz").send();
    assert_eq!(options.status, 204);
    assert_eq!(options.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert!(options.header("x-request-id").is_some());
}

#[test]
fn an_unmigrated_tenant_is_unavailable_and_says_so_without_internals() {
    let tenant = Tenant::spawn_with(Options {
        migrated: false,
        ..Options::default()
    });
    let reply = tenant.get("/healthz");
    let problem = reply.problem(503);
    assert_eq!(problem["type"], "urn:fieldworker:problem:unavailable");
    assert_eq!(problem["schema_version"], serde_json::Value::Null);
    assert_eq!(problem["expected_schema_version"], SCHEMA_VERSION);
    assert_eq!(reply.header("retry-after"), Some("30"));
    for leak in ["no such table", "SQLITE", "D1_ERROR", "schema_history"] {
        assert!(!reply.body.contains(leak), "{leak} leaked: {}", reply.body);
    }
    // The cause is in the operator's log under the same request id.
    let line = tenant.log_line_with(&[reply.request_id(), "\"status\":503"]);
    assert!(line.contains("schema version None"), "{line}");
    // A 5xx goes out through console.error, which Workers Logs (and wrangler) mark as an error.
    assert!(
        line[..line.find('{').unwrap_or(0)].contains("ERROR"),
        "{line}"
    );
}

#[test]
fn the_api_description_is_served_and_names_every_route() {
    let tenant = Tenant::spawn();
    let reply = tenant.get("/api/v1/openapi.json");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json")));
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    let doc = reply.json();
    // Exactly the document the route declarations build (kept in the tree, compacted).
    let kept: serde_json::Value =
        serde_json::from_str(include_str!("../../src/http/openapi.json")).unwrap();
    assert_eq!(doc, kept);
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let routed = fieldworker::http::router::ROUTES.len();
    assert_eq!(operations, routed);
    assert_eq!(
        doc["paths"]["/api/v1/jobs/{id}/status"]["post"]["x-permission"],
        "work_on_jobs"
    );
}

/// The operators' figures (Workers Analytics Engine, `METRICS`): locally wrangler binds the
/// dataset and drops the writes, so what can be held here is that recording them never fails
/// a request or the cron, and that round trips are still counted and said outside production.
#[test]
fn recording_the_figures_of_requests_and_of_the_cron_fails_nothing() {
    let tenant = Tenant::spawn();
    for path in [
        "/healthz",
        "/api/v1/jobs",
        "/no/such/route",
        "/s/not-a-token",
    ] {
        let reply = tenant.get(path);
        assert!(
            reply.status < 500,
            "{path}: {} {}",
            reply.status,
            reply.body
        );
        assert!(reply.header("x-d1-round-trips").is_some(), "{path}");
    }
    assert_eq!(tenant.cron().status, 200);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        tenant.log_records("metrics").is_empty(),
        "{:?}",
        tenant.log_records("metrics")
    );
    let logs = tenant.logs();
    assert!(
        !logs.contains("analytics") || !logs.contains("Error"),
        "{logs}"
    );
}
