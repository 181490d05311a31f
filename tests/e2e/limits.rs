//! Rate limits on the local Workers Rate Limiting binding: a caller past its limit gets 429
//! with Retry-After (problem+json, never a 5xx), and only that caller.

use serde_json::json;

use crate::people::*;
use crate::spawn::{Reply, Tenant};

/// The limits of `wrangler.toml`'s `[[ratelimits]]`.
const ANONYMOUS_LIMIT: usize = 300;
const PRINCIPAL_LIMIT: usize = 1200;

/// Sends `n` requests from 8 threads; answers the statuses. Twice the limit and more: the
/// limiter counts in fixed windows, so a window boundary in the middle of the burst still
/// leaves one window over the limit.
fn burst(n: usize, send: impl Fn() -> Reply + Sync) -> Vec<u16> {
    let replies: Vec<Vec<u16>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                let send = &send;
                scope.spawn(move || {
                    (0..n / 8)
                        .map(|_| {
                            let reply = send();
                            if reply.status == 429 {
                                reply.problem(429);
                                assert_eq!(reply.header("retry-after"), Some("60"));
                            }
                            reply.status
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    replies.into_iter().flatten().collect()
}

fn refused(statuses: &[u16]) -> usize {
    statuses.iter().filter(|s| **s == 429).count()
}

#[test]
fn a_caller_past_its_limit_is_refused_with_retry_after_and_nobody_else_is() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let token = owner
        .post("/api/v1/tokens", &json!({ "name": "limits" }))
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Without a credential, one IP: sign-in attempts with no body are cheap to refuse.
    let from = |ip: &str| {
        tenant
            .request("POST", "/api/v1/auth/login")
            .header("CF-Connecting-IP", ip)
            .json(&json!({}))
            .send()
    };
    let statuses = burst(2 * ANONYMOUS_LIMIT + 16, || from("203.0.113.7"));
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    assert!(refused(&statuses) > 0, "no 429 in {statuses:?}");
    assert!(statuses.len() - refused(&statuses) <= 2 * ANONYMOUS_LIMIT);
    // Another address, and a signed-in caller, are not held back.
    assert!(matches!(from("198.51.100.9").status, 400 | 422));
    assert_eq!(
        tenant
            .request("GET", "/api/v1/me")
            .bearer(&token)
            .send()
            .status,
        200
    );
    // The health check is never limited.
    assert_eq!(tenant.get("/healthz").status, 200);

    // One token past its own limit; the owner's session still works.
    let statuses = burst(2 * PRINCIPAL_LIMIT + 16, || {
        tenant.request("GET", "/api/v1/me").bearer(&token).send()
    });
    assert!(statuses.iter().all(|s| *s < 500), "{statuses:?}");
    assert!(
        refused(&statuses) > 0,
        "no 429 in {} requests",
        statuses.len()
    );
    assert_eq!(owner.get("/api/v1/me").status, 200);
}
