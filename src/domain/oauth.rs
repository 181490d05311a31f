//! OAuth 2.1 for MCP clients, the pure rules: which redirect URIs a client may register and
//! which presented one matches (RFC 8252: loopback on any port), PKCE S256 (RFC 7636), scopes
//! and the role they may not exceed, dynamic registration's metadata (RFC 7591, public clients
//! only), and the JSON errors of RFC 6749.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::time::Millis;
use crate::json;

/// Access tokens start with this prefix (personal access tokens with `fwp_`), refresh tokens
/// with [`REFRESH_PREFIX`]: recognisable in a leak scan, told apart before any lookup.
pub const ACCESS_PREFIX: &str = "fwo_";
pub const REFRESH_PREFIX: &str = "fwr_";
/// Random characters after the prefix (`[0-9A-Za-z]`: 238 bits).
pub const TOKEN_RANDOM_LEN: usize = 40;
/// An authorization code's random characters.
pub const CODE_LEN: usize = 43;

pub const ACCESS_TTL_MS: u64 = Millis::HOUR;
pub const REFRESH_TTL_MS: u64 = 30 * Millis::DAY;
pub const CODE_TTL_MS: u64 = 5 * Millis::MINUTE;
/// A registered client that completes no grant within this time is deleted.
pub const UNUSED_CLIENT_TTL_MS: u64 = Millis::DAY;
/// Registrations per address an hour, and clients waiting for a first grant at any time.
pub const REGISTRATIONS_PER_IP_HOUR: i64 = 10;
pub const PENDING_CLIENTS_MAX: i64 = 500;

/// `client_name` when a client gives none.
pub const DEFAULT_CLIENT_NAME: &str = "MCP client";
const MAX_REDIRECT_URIS: usize = 10;
const MAX_URI_LEN: usize = 2_000;

/// Whether `value` has the shape of one of our OAuth tokens with `prefix`.
pub fn looks_like(value: &str, prefix: &str) -> bool {
    value.strip_prefix(prefix).is_some_and(|rest| {
        rest.len() == TOKEN_RANDOM_LEN && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

// ---- errors (RFC 6749 §5.2, §4.1.2.1; RFC 7591 §3.2.2) ------------------------------------

/// An OAuth error: its code and a description for the client's developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new("invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    /// The HTTP status of this error at the token endpoint: 401 for a client that is not
    /// known, 400 otherwise.
    pub fn status(&self) -> u16 {
        if self.error == "invalid_client" {
            401
        } else {
            400
        }
    }

    pub fn to_json(&self) -> Value {
        json!({ "error": self.error, "error_description": self.description })
    }
}

// ---- redirect URIs (RFC 8252) ---------------------------------------------------------------

/// The host of a loopback redirect URI (`http://127.0.0.1:PORT/…`, `[::1]`, `localhost`), the
/// URI split around the port: `(before the port, after it)`.
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => authority,
    };
    matches!(host, "127.0.0.1" | "[::1]" | "localhost")
        .then(|| (&uri[..("http://".len() + host.len())], path))
}

/// Why `uri` may not be registered, if it may not: an https URI, a loopback http one, or a
/// private-use scheme named like a reverse domain (`com.example.app:/callback`), without a
/// fragment.
pub fn redirect_uri_refusal(uri: &str) -> Option<&'static str> {
    if uri.is_empty() || uri.len() > MAX_URI_LEN || uri.chars().any(|c| c.is_control() || c == ' ')
    {
        return Some("a redirect URI must be a URI of at most 2000 characters");
    }
    if uri.contains('#') {
        return Some("a redirect URI may not have a fragment");
    }
    if let Some(rest) = uri.strip_prefix("https://") {
        let host_end = rest.find(['/', '?', ':']).unwrap_or(rest.len());
        return (host_end == 0 || rest.contains('@'))
            .then_some("an https redirect URI needs a host");
    }
    if uri.starts_with("http://") {
        return loopback_parts(uri).is_none().then_some(
            "plain http is allowed for loopback addresses only (127.0.0.1, [::1], localhost)",
        );
    }
    let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or_default();
    let private_use = scheme.contains('.')
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'));
    (!private_use)
        .then_some("use https, a loopback http address, or a reverse-domain private-use scheme")
}

/// Whether `presented` matches the registered `registered`: exactly, except that a loopback
/// URI matches on any port (native apps pick a free one when they start).
pub fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    match (loopback_parts(registered), loopback_parts(presented)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `uri` with the pairs added to its query (the code, state and issuer of a redirect).
pub fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut out = uri.to_owned();
    let mut separator = if uri.contains('?') { '&' } else { '?' };
    for (key, value) in pairs {
        out.push(separator);
        out.push_str(key);
        out.push('=');
        out.push_str(&crate::views::url::form_encode(value));
        separator = '&';
    }
    out
}

// ---- PKCE (RFC 7636) ------------------------------------------------------------------------

/// `BASE64URL(SHA256(verifier))`: the S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A well-formed S256 challenge: 43 base64url characters (a SHA-256).
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// Whether `verifier` (43 to 128 unreserved characters) answers `challenge`.
pub fn verifier_answers(verifier: &str, challenge: &str) -> bool {
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    well_formed
        && crate::domain::secrets::secrets_match(s256(verifier).as_bytes(), challenge.as_bytes())
}

/// The PKCE parameters of an authorization request, checked: S256 only (OAuth 2.1), and a
/// missing method is `plain` by RFC 7636's default, so it is refused too.
pub fn check_pkce(challenge: Option<&str>, method: Option<&str>) -> Result<(), OAuthError> {
    let Some(challenge) = challenge.filter(|c| !c.is_empty()) else {
        return Err(OAuthError::invalid_request(
            "code_challenge is required (PKCE with S256)",
        ));
    };
    if method != Some("S256") {
        return Err(OAuthError::invalid_request(
            "code_challenge_method must be S256",
        ));
    }
    if !valid_challenge(challenge) {
        return Err(OAuthError::invalid_request(
            "code_challenge must be 43 base64url characters",
        ));
    }
    Ok(())
}

// ---- scopes -------------------------------------------------------------------------------

/// What a grant lets a client do: read, or read and write, never more than its user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Read,
    ReadWrite,
}

pub const SCOPES_SUPPORTED: [&str; 2] = ["read", "write"];

impl Scope {
    /// A space-separated scope parameter; none asks for what the role allows.
    pub fn parse(text: Option<&str>) -> Result<Option<Scope>, OAuthError> {
        let mut write = false;
        let mut any = false;
        for part in text
            .unwrap_or_default()
            .split(' ')
            .filter(|p| !p.is_empty())
        {
            match part {
                "read" => any = true,
                "write" => {
                    any = true;
                    write = true;
                }
                other => {
                    return Err(OAuthError::new(
                        "invalid_scope",
                        format!(
                            "unknown scope {:?}: the scopes are read and write",
                            other.chars().take(40).collect::<String>()
                        ),
                    ))
                }
            }
        }
        Ok(any.then_some(if write { Scope::ReadWrite } else { Scope::Read }))
    }

    /// How it is stored and answered.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::ReadWrite => "read write",
        }
    }

    pub fn from_stored(text: &str) -> Scope {
        if text == "read write" {
            Scope::ReadWrite
        } else {
            Scope::Read
        }
    }

    /// The widest scope `role` may grant: write only for roles that can change something.
    pub fn widest_for(role: Role) -> Scope {
        if role.permissions().iter().any(|p| !is_read(*p)) {
            Scope::ReadWrite
        } else {
            Scope::Read
        }
    }

    pub fn within(self, role: Role) -> bool {
        self == Scope::Read || Scope::widest_for(role) == Scope::ReadWrite
    }

    pub fn allows_write(self) -> bool {
        self == Scope::ReadWrite
    }

    /// What the consent page tells the user the client will be able to do.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::Read => {
                "Read what you can see: customers, jobs, visits, quotes, invoices and files."
            }
            Scope::ReadWrite => {
                "Read what you can see, and make changes you could make yourself: book and move \
                 visits, update jobs and customers, send quotes, record payments."
            }
        }
    }
}

/// Whether `permission` only reads.
pub fn is_read(permission: Permission) -> bool {
    use Permission::*;
    matches!(
        permission,
        ViewRecords | ViewMoney | ViewSettings | ViewUsers | ViewAudit
    )
}

// ---- dynamic client registration (RFC 7591) -------------------------------------------------

/// What a registration request asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub name: String,
    pub redirect_uris: Vec<String>,
}

/// Checks a registration request: public clients (`token_endpoint_auth_method` none) using
/// the authorization code and refresh token grants, with at least one allowed redirect URI.
pub fn registration(body: &Value) -> Result<Registration, OAuthError> {
    let invalid = |d: String| OAuthError::new("invalid_client_metadata", d);
    let object = body
        .as_object()
        .ok_or_else(|| invalid("the body must be a JSON object".into()))?;
    let uris = object
        .get("redirect_uris")
        .and_then(Value::as_array)
        .filter(|u| !u.is_empty() && u.len() <= MAX_REDIRECT_URIS)
        .ok_or_else(|| {
            OAuthError::new(
                "invalid_redirect_uri",
                "redirect_uris must list 1 to 10 URIs",
            )
        })?;
    let mut redirect_uris = Vec::with_capacity(uris.len());
    for uri in uris {
        let uri = uri.as_str().unwrap_or_default();
        if let Some(why) = redirect_uri_refusal(uri) {
            return Err(OAuthError::new("invalid_redirect_uri", why));
        }
        redirect_uris.push(uri.to_owned());
    }
    match object.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) if m == "none" => {}
        Some(_) => {
            return Err(invalid(
                "only public clients register here: token_endpoint_auth_method must be none".into(),
            ))
        }
    }
    let listed = |key: &str, allowed: &[&str]| -> Result<(), OAuthError> {
        match object.get(key) {
            None | Some(Value::Null) => Ok(()),
            Some(Value::Array(items))
                if items
                    .iter()
                    .all(|i| i.as_str().is_some_and(|s| allowed.contains(&s))) =>
            {
                Ok(())
            }
            Some(_) => Err(invalid(format!(
                "{key} may only hold {}",
                allowed.join(", ")
            ))),
        }
    };
    listed("grant_types", &["authorization_code", "refresh_token"])?;
    listed("response_types", &["code"])?;
    let name = match object.get("client_name") {
        None | Some(Value::Null) => DEFAULT_CLIENT_NAME.to_owned(),
        Some(Value::String(name)) => {
            let name: String = name.trim().chars().filter(|c| !c.is_control()).collect();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(invalid("client_name must be 1 to 100 characters".into()));
            }
            name
        }
        Some(_) => return Err(invalid("client_name must be a string".into())),
    };
    Ok(Registration {
        name,
        redirect_uris,
    })
}

/// The registration answer (RFC 7591 §3.2.1).
pub fn registered(client_id: &str, issued_at_ms: u64, registration: &Registration) -> Value {
    json!({
        "client_id": client_id,
        "client_id_issued_at": issued_at_ms / 1000,
        "client_name": registration.name,
        "redirect_uris": registration.redirect_uris,
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

/// The authorization server's metadata (RFC 8414), `issuer` being this tenant's origin.
pub fn server_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "registration_endpoint": format!("{issuer}/oauth/register"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["none"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "service_documentation": format!("{issuer}/api/v1/openapi.json"),
    })
}

/// Whether a `resource` parameter (RFC 8707) names this server's MCP endpoint.
pub fn resource_matches(resource: &str, origin: &str) -> bool {
    let resource = resource.trim_end_matches('/');
    resource == origin || resource.strip_prefix(origin) == Some("/mcp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rfc_7636_vector_holds() {
        // RFC 7636 Appendix B: the verifier is the base64url of the octets listed there
        // (116, 24, 223, 180, …, 141, 121).
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(s256(verifier), challenge);
        assert!(verifier_answers(verifier, challenge));
        assert!(!verifier_answers(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
            challenge
        ));
        // Too short to be a verifier, even if its hash were right.
        assert!(!verifier_answers("abc", &s256("abc")));
    }

    #[test]
    fn pkce_is_s256_only_and_required() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_pkce(Some(c), Some("S256")).is_ok());
        assert!(check_pkce(Some(c), Some("plain")).is_err());
        assert!(check_pkce(Some(c), None).is_err());
        assert!(check_pkce(None, Some("S256")).is_err());
        assert!(check_pkce(Some("short"), Some("S256")).is_err());
    }

    #[test]
    fn loopback_redirects_match_on_any_port_and_others_exactly() {
        let r = "http://127.0.0.1:3000/callback";
        assert!(redirect_matches(r, "http://127.0.0.1:51234/callback"));
        assert!(redirect_matches(r, "http://127.0.0.1/callback"));
        assert!(!redirect_matches(r, "http://127.0.0.1:51234/other"));
        assert!(!redirect_matches(r, "http://127.0.0.2:3000/callback"));
        assert!(!redirect_matches(
            r,
            "http://127.0.0.1.evil.example:3000/callback"
        ));
        assert!(redirect_matches(
            "http://localhost:1/cb?x=1",
            "http://localhost:9/cb?x=1"
        ));
        let h = "https://app.example.com/cb";
        assert!(redirect_matches(h, h));
        assert!(!redirect_matches(h, "https://app.example.com/cb/"));
        assert!(!redirect_matches(h, "https://app.example.com:8443/cb"));
        assert!(!redirect_matches(h, "https://app.example.com/cb?x"));
    }

    #[test]
    fn only_https_loopback_and_private_use_redirects_register() {
        for ok in [
            "https://claude.ai/api/mcp/auth_callback",
            "http://127.0.0.1:33418/",
            "http://[::1]:8080/cb",
            "http://localhost/cb",
            "com.example.app:/oauth",
        ] {
            assert_eq!(redirect_uri_refusal(ok), None, "{ok}");
        }
        for bad in [
            "",
            "http://example.com/cb",
            "https://app.example.com/cb#frag",
            "javascript:alert(1)",
            "data:text/html,x",
            "https:///cb",
            "https://user@evil.example/cb",
            "http://localhost.evil.example/cb",
        ] {
            assert!(redirect_uri_refusal(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn scopes_parse_and_never_exceed_the_role() {
        assert_eq!(Scope::parse(None).unwrap(), None);
        assert_eq!(Scope::parse(Some("read")).unwrap(), Some(Scope::Read));
        assert_eq!(
            Scope::parse(Some("read write")).unwrap(),
            Some(Scope::ReadWrite)
        );
        assert_eq!(Scope::parse(Some("write")).unwrap(), Some(Scope::ReadWrite));
        assert_eq!(
            Scope::parse(Some("admin")).unwrap_err().error,
            "invalid_scope"
        );
        assert!(Scope::ReadWrite.within(Role::Owner));
        assert!(Scope::ReadWrite.within(Role::Technician));
        assert!(!Scope::ReadWrite.within(Role::Viewer));
        assert!(Scope::Read.within(Role::Viewer));
        assert_eq!(
            Scope::from_stored(Scope::ReadWrite.as_str()),
            Scope::ReadWrite
        );
    }

    #[test]
    fn registration_takes_public_clients_only() {
        let ok = registration(&json!({
            "client_name": " Claude ", "redirect_uris": ["http://127.0.0.1:1/cb"],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none", "scope": "read write"
        }))
        .unwrap();
        assert_eq!(ok.name, "Claude");
        let confidential = registration(&json!({
            "redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "client_secret_basic"
        }));
        assert_eq!(confidential.unwrap_err().error, "invalid_client_metadata");
        assert_eq!(
            registration(&json!({ "redirect_uris": [] }))
                .unwrap_err()
                .error,
            "invalid_redirect_uri"
        );
        assert_eq!(
            registration(&json!({ "redirect_uris": ["http://evil.example/cb"] }))
                .unwrap_err()
                .error,
            "invalid_redirect_uri"
        );
        assert!(registration(&json!({
            "redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]
        }))
        .is_err());
        assert_eq!(
            registration(&json!({ "redirect_uris": ["https://a.example/cb"] }))
                .unwrap()
                .name,
            DEFAULT_CLIENT_NAME
        );
    }

    #[test]
    fn redirects_carry_their_parameters_encoded() {
        assert_eq!(
            with_query(
                "http://127.0.0.1:9/cb",
                &[("code", "abc"), ("state", "a b&c")]
            ),
            "http://127.0.0.1:9/cb?code=abc&state=a+b%26c"
        );
        assert_eq!(
            with_query("https://a.example/cb?x=1", &[("code", "abc")]),
            "https://a.example/cb?x=1&code=abc"
        );
    }

    #[test]
    fn the_resource_is_this_servers_mcp_endpoint() {
        let o = "https://acme.example.com";
        assert!(resource_matches("https://acme.example.com/mcp", o));
        assert!(resource_matches("https://acme.example.com/", o));
        assert!(!resource_matches("https://evil.example.com/mcp", o));
        assert!(!resource_matches("https://acme.example.com.evil/mcp", o));
    }
}
