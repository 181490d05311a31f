use crate::spawn::{log_record, Tenant};

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
    let entry = log_record(&line).expect("the line is JSON");
    // A 4xx goes out through console.warn (wrangler marks it), a success through console.log.
    let marker = |line: &str| line[..line.find('{').unwrap_or(0)].to_owned();
    assert!(marker(&line).contains("WARNING"), "{line}");
    let healthy = tenant.get("/healthz");
    let fine = tenant.log_line_with(&[healthy.request_id(), "\"msg\":\"request\""]);
    assert!(
        !marker(&fine).contains("WARNING") && !marker(&fine).contains("ERROR"),
        "{fine}"
    );
    assert_eq!(
        log_record(&fine).expect("the line is JSON")["level"],
        "info"
    );
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

/// Sends `chunks` as a chunked body (no Content-Length), ending it when `finish`, else leaving
/// it open, and answers the status line's code.
fn post_chunked(tenant: &Tenant, path: &str, chunks: &[Vec<u8>], finish: bool) -> u16 {
    use std::io::{Read, Write};
    let address = tenant.base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(15)))
        .unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).unwrap();
    for chunk in chunks {
        // The server may answer and close before it has read everything: that is the point.
        if stream
            .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .and_then(|_| stream.write_all(chunk))
            .and_then(|_| stream.write_all(b"\r\n"))
            .is_err()
        {
            break;
        }
    }
    if finish {
        let _ = stream.write_all(b"0\r\n\r\n");
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {text}"))
}

#[test]
fn a_body_without_a_length_is_refused_once_it_passes_the_bound() {
    let tenant = Tenant::spawn();
    // 128 KiB in 16 KiB chunks to an endpoint whose bound is 64 KiB, and the body never
    // ends: the answer comes as soon as the bound is passed, not when the sender stops.
    let big: Vec<Vec<u8>> = (0..8).map(|_| vec![b' '; 16 * 1024]).collect();
    assert_eq!(
        post_chunked(&tenant, "/api/v1/auth/login", &big, false),
        413
    );
    // A small one, chunked, is read whole and judged on its content.
    let small = vec![
        br#"{"email":"nobody@acme-heating.example","#.to_vec(),
        br#""password":"not-the-password"}"#.to_vec(),
    ];
    assert_eq!(
        post_chunked(&tenant, "/api/v1/auth/login", &small, true),
        401
    );
}
