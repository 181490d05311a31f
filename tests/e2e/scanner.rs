//! The virus scanner as the self-check sees it, against a real clamd with the test database:
//! the EICAR test file FOUND and a clean probe OK; a stopped scanner unreachable (503) until it
//! is back; no scanner reported, not failed; a half-configured one failed.

use serde_json::{json, Value};

use crate::spawn::{Clamd, Options, Scanner, Tenant, AFTER_RESPONSE_TIMEOUT};

fn selfcheck(tenant: &Tenant, expected_status: u16) -> (Value, String) {
    let reply = tenant.ops_post("/ops/selfcheck", &json!({ "probe": "scanner" }));
    assert_eq!(reply.status, expected_status, "{}", reply.body);
    (reply.json(), reply.request_id().to_owned())
}

#[test]
fn the_selfcheck_sees_the_scanner_find_eicar_and_pass_a_clean_probe() {
    let tenant = Tenant::spawn();
    let (body, _) = selfcheck(&tenant, 200);
    let scanner = &body["scanner"];
    assert_eq!(body["status"], "ok", "{body}");
    assert_eq!(scanner["configured"], true, "{scanner}");
    assert_eq!(scanner["ok"], true, "{scanner}");
    assert_eq!(scanner["reachable"], true, "{scanner}");
    for step in ["ping", "detect_eicar", "pass_clean"] {
        assert_eq!(scanner["steps"][step], "ok", "{step}: {scanner}");
    }
    // The name the test database gives it; clamd marks unsigned databases UNOFFICIAL.
    assert_eq!(scanner["signature"], "Eicar-Test-Signature.UNOFFICIAL");
    // clamd's own log shows the scan.
    let started = std::time::Instant::now();
    while !Clamd::shared()
        .logs()
        .contains("Eicar-Test-Signature.UNOFFICIAL FOUND")
    {
        assert!(
            started.elapsed() < AFTER_RESPONSE_TIMEOUT,
            "{}",
            Clamd::shared().logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_stopped_scanner_is_reported_unreachable_until_it_is_back_on_its_port() {
    let mut clamd = Clamd::start();
    let tenant = Tenant::spawn_with(Options {
        scanner: Scanner::Port(clamd.port()),
        ..Options::default()
    });
    selfcheck(&tenant, 200);

    clamd.stop();
    let (body, request_id) = selfcheck(&tenant, 503);
    let scanner = &body["scanner"];
    assert_eq!(body["status"], "failed");
    assert_eq!(scanner["configured"], true, "{scanner}");
    assert_eq!(scanner["reachable"], false, "{scanner}");
    assert_eq!(scanner["steps"]["ping"], "failed", "{scanner}");
    // The scans are not tried against a scanner that did not answer PING.
    assert!(scanner["steps"].get("detect_eicar").is_none(), "{scanner}");
    // Storage is unaffected.
    for binding in ["d1", "kv", "r2"] {
        assert_eq!(body["bindings"][binding]["ok"], true, "{binding}");
    }
    // The body says what failed; the log says why, and where.
    let line = tenant.log_line_with(&[&request_id, "selfcheck step failed", "scanner.ping"]);
    assert!(
        line.contains(&format!("clamd at 127.0.0.1:{}", clamd.port())),
        "{line}"
    );

    clamd.start_again();
    let (body, _) = selfcheck(&tenant, 200);
    assert_eq!(body["scanner"]["ok"], true, "{body}");
}

#[test]
fn without_a_scanner_the_selfcheck_says_uploads_are_refused_and_still_passes() {
    let tenant = Tenant::spawn_with(Options {
        scanner: Scanner::Unset,
        ..Options::default()
    });
    let (body, _) = selfcheck(&tenant, 200);
    assert_eq!(body["status"], "ok", "{body}");
    let scanner = &body["scanner"];
    assert_eq!(scanner["configured"], false, "{scanner}");
    assert_eq!(scanner["ok"], false, "{scanner}");
    assert!(
        scanner["detail"]
            .as_str()
            .is_some_and(|d| d.contains("uploads are refused")),
        "{scanner}"
    );
}

#[test]
fn a_scanner_named_by_half_its_settings_fails_the_selfcheck() {
    let tenant = Tenant::spawn_with(Options {
        scanner: Scanner::Unset,
        vars: vec![("CLAMD_HOST".into(), "127.0.0.1".into())],
        ..Options::default()
    });
    let (body, request_id) = selfcheck(&tenant, 503);
    assert_eq!(body["scanner"]["configured"], true, "{body}");
    assert_eq!(body["scanner"]["ok"], false, "{body}");
    let line = tenant.log_line_with(&[&request_id, "scanner.config"]);
    assert!(line.contains("CLAMD_PORT is not"), "{line}");
}
