//! Request rate limits, on Cloudflare's Workers Rate Limiting binding (`[[ratelimits]]` in
//! `wrangler.toml`): every request but the health check counts against one bucket, the
//! caller's credential (a personal access token, a session, an Access assertion) when it
//! carries one, else its IP. A request over its bucket's limit answers 429 with `Retry-After`;
//! it is counted while the caller is authenticated, and nothing is written before the count
//! allowed it (`http::handle`).
//!
//! Namespaces are shared by every Worker of an account, so each key starts with the tenant's
//! host. A credential that turns out not to be valid still counts against its own bucket; an
//! attacker trying tokens pays per token in our D1 reads, not in anyone else's limit. The
//! limits themselves are the bindings' settings (`simple = { limit, period }`), one place.
//!
//! Limiting fails open: if the binding is missing or errs, the request runs (and the log says
//! so) — a limiter outage must not become a tenant outage.

use worker::{console_warn, Env, Request};

use crate::domain::auth::session::{cookie_value, sha256_hex, SESSION_COOKIE};
use crate::domain::secrets::bearer_token;
use crate::error::{AppError, ErrorKind};

/// Requests with a credential: per token, session or Access assertion.
pub const PRINCIPAL_BINDING: &str = "RATE_LIMIT_PRINCIPAL";
/// Requests without one (sign-in, share pages, webhooks, MCP discovery): per IP.
pub const ANONYMOUS_BINDING: &str = "RATE_LIMIT_ANONYMOUS";
/// The period both bindings count over (`period = 60`): how long a refused caller waits.
pub const PERIOD_SECS: u32 = 60;

/// Which bucket a request counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    binding: &'static str,
    key: String,
}

impl Bucket {
    /// The bucket of a request to `host` with these headers. Pure, for the tests.
    pub fn of(
        host: &str,
        path: &str,
        authorization: Option<&str>,
        access: Option<&str>,
        cookie: Option<&str>,
        ip: Option<&str>,
    ) -> Self {
        // A hash, so no credential is ever handed to the limiter; 128 bits tell them apart.
        let credential = |kind: &str, secret: &str| Bucket {
            binding: PRINCIPAL_BINDING,
            key: format!("{host}:{kind}:{}", &sha256_hex(secret)[..32]),
        };
        if let Some(token) = authorization.and_then(bearer_token) {
            return credential("token", token);
        }
        if let Some(assertion) = access.filter(|a| !a.is_empty()) {
            return credential("access", assertion);
        }
        if let Some(session) = cookie.and_then(|c| cookie_value(c, SESSION_COOKIE)) {
            return credential("session", session);
        }
        // Providers' webhooks come from a few addresses: apart from people's requests.
        let kind = if path.starts_with("/webhooks/") {
            "webhook"
        } else {
            "ip"
        };
        Bucket {
            binding: ANONYMOUS_BINDING,
            key: format!("{host}:{kind}:{}", ip.unwrap_or("local")),
        }
    }

    /// The bucket of `req`, or none for the health check (monitors poll it; it reads nothing
    /// anyone could abuse).
    pub fn of_request(req: &Request, path: &str, ip: Option<&str>) -> Option<Self> {
        if path == "/healthz" {
            return None;
        }
        // The raw URL, not `Request::url`: that parser brings Unicode tables into the bundle.
        let url = req.inner().url();
        let host = crate::views::url::scheme_and_host(&url).map_or("", |(_, host)| host);
        let header = |name: &str| req.headers().get(name).ok().flatten();
        Some(Self::of(
            host,
            path,
            header("Authorization").as_deref(),
            header("Cf-Access-Jwt-Assertion").as_deref(),
            header("Cookie").as_deref(),
            ip,
        ))
    }
}

/// Counts the request against its bucket: `Err(429)` when the bucket is over its limit.
pub async fn check(env: &Env, bucket: Bucket) -> Result<(), AppError> {
    let limiter = match env.rate_limiter(bucket.binding) {
        Ok(limiter) => limiter,
        Err(e) => {
            console_warn!("rate limit: binding {} unavailable: {e}", bucket.binding);
            return Ok(());
        }
    };
    match limiter.limit(bucket.key).await {
        Ok(outcome) if outcome.success => Ok(()),
        Ok(_) => Err(too_many()),
        Err(e) => {
            console_warn!("rate limit: {} failed: {e}", bucket.binding);
            Ok(())
        }
    }
}

fn too_many() -> AppError {
    AppError::new(ErrorKind::TooManyRequests)
        .with_detail("Too many requests from this caller; wait a minute and try again.")
        .with_header("Retry-After", PERIOD_SECS.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(auth: Option<&str>, access: Option<&str>, cookie: Option<&str>) -> Bucket {
        Bucket::of(
            "acme.example.com",
            "/api/v1/jobs",
            auth,
            access,
            cookie,
            Some("203.0.113.9"),
        )
    }

    #[test]
    fn a_credential_is_its_own_bucket_and_never_appears_in_the_key() {
        let token = bucket(Some("Bearer fw_secret-token-value"), None, None);
        assert_eq!(token.binding, PRINCIPAL_BINDING);
        assert!(token.key.starts_with("acme.example.com:token:"));
        assert!(!token.key.contains("secret-token"));
        assert_ne!(token, bucket(Some("Bearer fw_other-token"), None, None));
        let session = bucket(None, None, Some("a=1; fw_session=abc123"));
        assert!(session.key.starts_with("acme.example.com:session:"));
        let access = bucket(None, Some("eyJ.eyJ.sig"), Some("fw_session=abc123"));
        assert!(access.key.starts_with("acme.example.com:access:"));
    }

    #[test]
    fn without_a_credential_the_ip_counts_and_webhooks_apart() {
        let anonymous = bucket(None, None, Some("fw_device=x"));
        assert_eq!(anonymous.binding, ANONYMOUS_BINDING);
        assert_eq!(anonymous.key, "acme.example.com:ip:203.0.113.9");
        let hook = Bucket::of(
            "acme.example.com",
            "/webhooks/telegram",
            None,
            None,
            None,
            None,
        );
        assert_eq!(hook.key, "acme.example.com:webhook:local");
        // Tenants sharing the namespace never share a bucket.
        let other = Bucket::of(
            "bolt.example.com",
            "/",
            None,
            None,
            None,
            Some("203.0.113.9"),
        );
        assert_ne!(other.key, anonymous.key);
    }
}
