//! Cloudflare Access: the tenant's Access settings, the team's JWK set, and the pure checks on a
//! `Cf-Access-Jwt-Assertion` token. The RS256 signature itself is verified by the Worker glue
//! through WebCrypto; this module hands it the exact bytes and key material to use.
//!
//! The glue's order is: [`UnverifiedJwt::parse`] → [`Jwks::select`] by [`UnverifiedJwt::kid`] →
//! WebCrypto `importKey('jwk', {kty: "RSA", n, e, alg: "RS256"})` + `verify` over
//! [`UnverifiedJwt::signing_input`] and [`UnverifiedJwt::signature`] → [`UnverifiedJwt::decide`].

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

/// Clock skew tolerated between Cloudflare's edge and the Worker, on `exp` and `nbf`.
pub const LEEWAY_SECS: i64 = 60;

/// Access tokens are about 1 KiB; anything far longer is refused before it is decoded, so a
/// hostile header costs us no work.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// The only algorithm accepted. Taking `alg` from the token at face value is how `none` and
/// HS256-with-the-public-key forgeries get in, so it is compared, never obeyed.
pub const ALGORITHM: &str = "RS256";

/// Where Access publishes a team's signing keys, below the team's origin.
const CERTS_PATH: &str = "/cdn-cgi/access/certs";

/// Untrusted strings are cut to this many characters before they reach a log line.
const LOG_CLIP: usize = 80;

/// A tenant's Access settings: its team domain (`acme.cloudflareaccess.com`) and the AUD tag of
/// the Access application in front of the Worker. Fields are private so every value went
/// through [`AccessConfig::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    team_domain: String,
    aud: String,
}

impl AccessConfig {
    /// Checks that `team_domain` is a bare host name (no scheme, port or path) and `aud` is not
    /// blank. The domain is lower-cased because host names are case-insensitive while the
    /// `iss` comparison is exact.
    pub fn new(team_domain: &str, aud: &str) -> Result<AccessConfig, AccessConfigError> {
        let team_domain = team_domain.trim().to_ascii_lowercase();
        if !is_host_name(&team_domain) {
            return Err(AccessConfigError::InvalidTeamDomain(clip(&team_domain)));
        }
        let aud = aud.trim();
        if aud.is_empty() {
            return Err(AccessConfigError::EmptyAudience);
        }
        Ok(AccessConfig {
            team_domain,
            aud: aud.to_owned(),
        })
    }

    pub fn team_domain(&self) -> &str {
        &self.team_domain
    }

    pub fn aud(&self) -> &str {
        &self.aud
    }

    /// The `iss` every token from this team carries.
    pub fn issuer(&self) -> String {
        format!("https://{}", self.team_domain)
    }

    /// The JWK set's address; `override_base` replaces the team origin so tests can serve keys
    /// from a local server.
    pub fn certs_url(&self, override_base: Option<&str>) -> String {
        match override_base.map(|b| b.trim_end_matches('/')) {
            Some(base) if !base.is_empty() => format!("{base}{CERTS_PATH}"),
            _ => format!("https://{}{CERTS_PATH}", self.team_domain),
        }
    }
}

/// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
fn is_host_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Why Access settings were refused. These are operator mistakes, found when settings are
/// saved or loaded, not per request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessConfigError {
    InvalidTeamDomain(String),
    EmptyAudience,
}

impl fmt::Display for AccessConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidTeamDomain(value) => write!(
                f,
                "Access team domain {value:?} is not a host name \
                 (expected e.g. acme.cloudflareaccess.com, without https:// or a path)"
            ),
            Self::EmptyAudience => f.write_str("Access application AUD tag is empty"),
        }
    }
}

impl std::error::Error for AccessConfigError {}

/// One RS256 verification key from the team's JWK set. `n` and `e` are kept as the base64url
/// text received, because WebCrypto's JWK import takes exactly that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    kid: String,
    n: String,
    e: String,
}

impl Jwk {
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The modulus, base64url without padding.
    pub fn n(&self) -> &str {
        &self.n
    }

    /// The public exponent, base64url without padding.
    pub fn e(&self) -> &str {
        &self.e
    }
}

/// The usable keys of a team's `/cdn-cgi/access/certs` document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

/// A JWK as published; every member optional so one odd key cannot sink the whole set.
#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<RawJwk>,
}

#[derive(Deserialize)]
struct RawJwk {
    kid: Option<String>,
    kty: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl RawJwk {
    /// The key, if it can verify RS256: RSA, `alg` RS256 when stated, `use` sig when stated,
    /// and `n`/`e` real base64url. Anything else is dropped rather than failing the set, so a
    /// future EC key beside the RSA ones does not lock every user out.
    fn usable(self) -> Option<Jwk> {
        let kid = self.kid.filter(|kid| !kid.is_empty())?;
        let rsa = self.kty.as_deref() == Some("RSA");
        let rs256 = self.alg.as_deref().is_none_or(|alg| alg == ALGORITHM);
        let signing = self.use_.as_deref().is_none_or(|use_| use_ == "sig");
        let n = self.n.filter(|n| is_base64url(n))?;
        let e = self.e.filter(|e| is_base64url(e))?;
        (rsa && rs256 && signing).then_some(Jwk { kid, n, e })
    }
}

fn is_base64url(value: &str) -> bool {
    URL_SAFE_NO_PAD
        .decode(value)
        .is_ok_and(|bytes| !bytes.is_empty())
}

impl Jwks {
    /// Parses the certs JSON; `public_cert`, `public_certs` and other members are ignored.
    /// A document without a single usable key is an error, so the glue does not cache it.
    pub fn parse(json: &str) -> Result<Jwks, AccessError> {
        let raw: RawJwks = serde_json::from_str(json)
            .map_err(|e| AccessError::MalformedKeySet(clip(&e.to_string())))?;
        let keys: Vec<Jwk> = raw.keys.into_iter().filter_map(RawJwk::usable).collect();
        if keys.is_empty() {
            return Err(AccessError::NoUsableKeys);
        }
        Ok(Jwks { keys })
    }

    pub fn key(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|key| key.kid == kid)
    }

    /// [`Jwks::key`] as a result. On [`AccessError::UnknownKey`] the glue should refetch the set
    /// once, since Access rotates keys, before refusing the request.
    pub fn select(&self, kid: &str) -> Result<&Jwk, AccessError> {
        self.key(kid)
            .ok_or_else(|| AccessError::UnknownKey(clip(kid)))
    }

    /// The key ids held, for log lines.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|key| key.kid.as_str())
    }
}

/// Which part of a token failed to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwtPart {
    /// Not three non-empty dot-separated parts.
    Structure,
    Header,
    Claims,
    Signature,
}

impl fmt::Display for JwtPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Structure => "token is not three dot-separated base64url parts",
            Self::Header => "header is not a base64url JSON object with string members",
            Self::Claims => "claims are not a base64url JSON object of the expected types",
            Self::Signature => "signature is not non-empty base64url",
        })
    }
}

/// The claims Access puts in its tokens that we act on; the rest (`sub`, `type`,
/// `identity_nonce`, `country`, …) is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AccessClaims {
    pub iss: Option<String>,
    /// `aud` may be one string or an array; both become a list.
    #[serde(default, deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Whole seconds: Access never sends fractions, so a fractional date is refused as
    /// malformed rather than rounded one way or the other.
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    /// When Access issued the token, i.e. when the person last signed in to Access: how fresh
    /// their authentication is for a security change.
    pub iat: Option<i64>,
    /// Present for people.
    pub email: Option<String>,
    /// Present instead of `email` for service tokens: the token's client id.
    pub common_name: Option<String>,
}

fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(aud) => vec![aud],
        OneOrMany::Many(auds) => auds,
    })
}

/// The JOSE header members we read. `jku`, `x5u` and `jwk` are deliberately ignored: keys come
/// only from the team's own certs URL, never from the token.
#[derive(Deserialize)]
struct Header {
    alg: Option<String>,
    kid: Option<String>,
    /// Critical extensions must be understood or the token refused (RFC 7515 §4.1.11); we
    /// understand none.
    crit: Option<serde_json::Value>,
}

/// A structurally valid RS256 token whose signature has not been checked yet. Its claims are
/// not to be believed until the glue has verified [`Self::signature`] over
/// [`Self::signing_input`] with the key named by [`Self::kid`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedJwt {
    kid: String,
    claims: AccessClaims,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

impl UnverifiedJwt {
    /// Splits and decodes a compact JWS, refusing anything but RS256 with a `kid`.
    pub fn parse(token: &str) -> Result<UnverifiedJwt, AccessError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(AccessError::TooLong { len: token.len() });
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(AccessError::Malformed(JwtPart::Structure));
        };
        if header_b64.is_empty() || claims_b64.is_empty() || signature_b64.is_empty() {
            return Err(AccessError::Malformed(JwtPart::Structure));
        }
        // The signed bytes are the encoded text as received, not a re-encoding of what we
        // decoded: a re-encoding could differ and would make good tokens fail.
        let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];

        let header: Header =
            decode_json_object(header_b64).ok_or(AccessError::Malformed(JwtPart::Header))?;
        match header.alg.as_deref() {
            Some(ALGORITHM) => {}
            Some(other) => return Err(AccessError::UnsupportedAlgorithm(clip(other))),
            None => return Err(AccessError::Malformed(JwtPart::Header)),
        }
        if header.crit.is_some() {
            return Err(AccessError::UnsupportedCritical);
        }
        let kid = header
            .kid
            .filter(|kid| !kid.is_empty())
            .ok_or(AccessError::MissingKid)?;

        let claims: AccessClaims =
            decode_json_object(claims_b64).ok_or(AccessError::Malformed(JwtPart::Claims))?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .ok()
            .filter(|bytes| !bytes.is_empty())
            .ok_or(AccessError::Malformed(JwtPart::Signature))?;

        Ok(UnverifiedJwt {
            kid,
            claims,
            signing_input: signing_input.as_bytes().to_vec(),
            signature,
        })
    }

    /// The key id to look up in [`Jwks`].
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The claims as sent; unauthenticated until the signature is verified.
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }

    /// `base64url(header) "." base64url(claims)`: the bytes the signature covers.
    pub fn signing_input(&self) -> &[u8] {
        &self.signing_input
    }

    /// The raw RSASSA-PKCS1-v1_5 signature.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The last step, once the glue has run WebCrypto `verify`: a bad signature ends it,
    /// otherwise the claims decide. Taking the verdict here keeps the glue from reaching the
    /// claims without having looked at it.
    pub fn decide(
        &self,
        signature_valid: bool,
        config: &AccessConfig,
        now_unix: u64,
    ) -> Result<AccessIdentity, AccessError> {
        if !signature_valid {
            return Err(AccessError::BadSignature);
        }
        check_claims(&self.claims, config, now_unix)
    }
}

/// Decodes base64url (no padding) JSON into `T`, insisting on an object: serde's derived
/// structs also accept arrays positionally, which no JWT has any business sending.
fn decode_json_object<T: DeserializeOwned>(part: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if *first != b'{' {
        return None;
    }
    serde_json::from_slice(&bytes).ok()
}

/// Who Access says is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessIdentity {
    /// A person; the email is lower-cased so it matches the users table whatever the IdP sent.
    User { email: String },
    /// A service token, named by its client id.
    Service { common_name: String },
}

/// Checks issuer, audience, validity window and identity. `now_unix` is seconds since the
/// epoch, read by the glue.
pub fn check_claims(
    claims: &AccessClaims,
    config: &AccessConfig,
    now_unix: u64,
) -> Result<AccessIdentity, AccessError> {
    if claims.iss.as_deref() != Some(config.issuer().as_str()) {
        return Err(AccessError::WrongIssuer(clip(
            claims.iss.as_deref().unwrap_or_default(),
        )));
    }
    if !claims.aud.contains(&config.aud) {
        return Err(AccessError::WrongAudience(
            claims.aud.iter().take(4).map(|aud| clip(aud)).collect(),
        ));
    }

    let now = i64::try_from(now_unix).unwrap_or(i64::MAX);
    let exp = claims.exp.ok_or(AccessError::MissingExpiry)?;
    if now >= exp.saturating_add(LEEWAY_SECS) {
        return Err(AccessError::Expired { exp, now });
    }
    if let Some(nbf) = claims.nbf {
        if now.saturating_add(LEEWAY_SECS) < nbf {
            return Err(AccessError::NotYetValid { nbf, now });
        }
    }

    // Empty strings count as absent, so a service token sending `email: ""` is still a service
    // and not a user with a broken address.
    let email = claims.email.as_deref().filter(|e| !e.is_empty());
    let common_name = claims.common_name.as_deref().filter(|c| !c.is_empty());
    match (email, common_name) {
        (Some(email), _) => {
            let valid = email
                .rsplit_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
            if !valid {
                return Err(AccessError::InvalidEmail);
            }
            Ok(AccessIdentity::User {
                email: email.to_lowercase(),
            })
        }
        (None, Some(common_name)) => Ok(AccessIdentity::Service {
            common_name: common_name.to_owned(),
        }),
        (None, None) => Err(AccessError::NoIdentity),
    }
}

/// Why an Access token was refused. For logs only: the client gets a generic 401 whatever the
/// reason, so as not to coach a forger. Strings taken from the token are clipped, and printed
/// with `{:?}` so they cannot forge log lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessError {
    TooLong { len: usize },
    Malformed(JwtPart),
    UnsupportedAlgorithm(String),
    UnsupportedCritical,
    MissingKid,
    UnknownKey(String),
    MalformedKeySet(String),
    NoUsableKeys,
    BadSignature,
    WrongIssuer(String),
    WrongAudience(Vec<String>),
    MissingExpiry,
    Expired { exp: i64, now: i64 },
    NotYetValid { nbf: i64, now: i64 },
    InvalidEmail,
    NoIdentity,
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLong { len } => write!(
                f,
                "Access token is {len} bytes, over the {MAX_TOKEN_LEN}-byte limit"
            ),
            Self::Malformed(part) => write!(f, "malformed Access token: {part}"),
            Self::UnsupportedAlgorithm(alg) => {
                write!(f, "Access token alg {alg:?} refused (only {ALGORITHM})")
            }
            Self::UnsupportedCritical => {
                f.write_str("Access token header has crit extensions, none are supported")
            }
            Self::MissingKid => f.write_str("Access token header has no kid"),
            Self::UnknownKey(kid) => write!(f, "Access token kid {kid:?} is not in the JWK set"),
            Self::MalformedKeySet(cause) => write!(f, "Access certs are not a JWK set: {cause}"),
            Self::NoUsableKeys => f.write_str("Access certs hold no RSA RS256 signing key"),
            Self::BadSignature => f.write_str("Access token signature does not verify"),
            Self::WrongIssuer(iss) => write!(f, "Access token iss {iss:?} is not our team"),
            Self::WrongAudience(aud) => {
                write!(
                    f,
                    "Access token aud {aud:?} lacks this application's AUD tag"
                )
            }
            Self::MissingExpiry => f.write_str("Access token has no exp"),
            Self::Expired { exp, now } => {
                write!(f, "Access token expired (exp {exp}, now {now})")
            }
            Self::NotYetValid { nbf, now } => {
                write!(f, "Access token not yet valid (nbf {nbf}, now {now})")
            }
            Self::InvalidEmail => f.write_str("Access token email is not an address"),
            Self::NoIdentity => f.write_str("Access token has neither email nor common_name"),
        }
    }
}

impl std::error::Error for AccessError {}

/// At most [`LOG_CLIP`] characters of an untrusted string.
fn clip(value: &str) -> String {
    value.chars().take(LOG_CLIP).collect()
}

#[cfg(test)]
mod tests {
    use std::sync::OnceLock;

    use crate::json;
    use rand::rngs::StdRng;
    use rand::SeedableRng;
    use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
    use rsa::signature::{SignatureEncoding, Signer, Verifier};
    use rsa::traits::PublicKeyParts;
    use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
    use serde_json::Value;
    use sha2::Sha256;

    use super::*;

    const TEAM: &str = "acme.cloudflareaccess.com";
    const AUD: &str = "4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2";
    const KID: &str = "7a8b5d0c1f2e3d4c5b6a79880f1e2d3c4b5a69788f0e1d2c3b4a5968778f0e1d";
    const NOW: u64 = 1_750_000_000;

    /// One key per test binary: RSA-2048 generation is slow in debug builds. A fixed seed keeps
    /// failures reproducible.
    fn private_key() -> &'static RsaPrivateKey {
        static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
        KEY.get_or_init(|| {
            let mut rng = StdRng::seed_from_u64(0xf1e1_d00c);
            RsaPrivateKey::new(&mut rng, 2048).expect("key generation")
        })
    }

    fn b64(bytes: impl AsRef<[u8]>) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The key as Access publishes it.
    fn jwk_json(kid: &str) -> Value {
        let public = private_key().to_public_key();
        json!({
            "kid": kid,
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "e": b64(public.e().to_bytes_be()),
            "n": b64(public.n().to_bytes_be()),
        })
    }

    fn jwks() -> Jwks {
        Jwks::parse(&json!({ "keys": [jwk_json(KID)] }).to_string()).expect("jwks")
    }

    fn config() -> AccessConfig {
        AccessConfig::new(TEAM, AUD).expect("config")
    }

    fn header() -> Value {
        json!({ "alg": "RS256", "kid": KID, "typ": "JWT" })
    }

    /// Claims shaped like a real Access user token.
    fn claims() -> Value {
        json!({
            "aud": [AUD],
            "email": "Jo.Bloggs@Example.COM",
            "exp": NOW + 3_600,
            "iat": NOW - 60,
            "nbf": NOW - 60,
            "iss": format!("https://{TEAM}"),
            "type": "app",
            "identity_nonce": "6ei69kawdKzMIAPF",
            "sub": "7335d417-61da-459d-899c-0a01c76a2f94",
            "country": "GB",
        })
    }

    /// `claims()` with members replaced; `null` removes a member.
    fn claims_with(patch: Value) -> Value {
        let mut claims = claims();
        for (key, value) in patch.as_object().expect("patch is an object") {
            let map = claims.as_object_mut().expect("claims are an object");
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.clone(), value.clone());
            }
        }
        claims
    }

    fn sign(signing_input: &str) -> String {
        let signer = SigningKey::<Sha256>::new(private_key().clone());
        b64(signer.sign(signing_input.as_bytes()).to_bytes())
    }

    fn token(header: &Value, claims: &Value) -> String {
        let signing_input = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
        let signature = sign(&signing_input);
        format!("{signing_input}.{signature}")
    }

    /// Parse, look the key up, verify as WebCrypto would (from the JWK's n and e), decide.
    fn accept(token: &str, now: u64) -> Result<AccessIdentity, AccessError> {
        let jwt = UnverifiedJwt::parse(token)?;
        let keys = jwks();
        let jwk = keys.select(jwt.kid())?;
        jwt.decide(verifies(jwk, &jwt), &config(), now)
    }

    fn verifies(jwk: &Jwk, jwt: &UnverifiedJwt) -> bool {
        let n = URL_SAFE_NO_PAD.decode(jwk.n()).expect("n");
        let e = URL_SAFE_NO_PAD.decode(jwk.e()).expect("e");
        let public = RsaPublicKey::new(BigUint::from_bytes_be(&n), BigUint::from_bytes_be(&e))
            .expect("public key");
        let Ok(signature) = Signature::try_from(jwt.signature()) else {
            return false;
        };
        VerifyingKey::<Sha256>::new(public)
            .verify(jwt.signing_input(), &signature)
            .is_ok()
    }

    #[test]
    fn a_good_token_parses_and_its_claims_name_the_user() {
        let jwt = UnverifiedJwt::parse(&token(&header(), &claims())).expect("parse");
        assert_eq!(jwt.kid(), KID);
        assert_eq!(jwt.claims().aud, vec![AUD.to_owned()]);
        assert_eq!(
            check_claims(jwt.claims(), &config(), NOW),
            Ok(AccessIdentity::User {
                email: "jo.bloggs@example.com".into()
            })
        );
    }

    #[test]
    fn the_signing_input_and_signature_verify_with_the_jwk_material_the_glue_imports() {
        let token = token(&header(), &claims());
        let jwt = UnverifiedJwt::parse(&token).expect("parse");
        let (signing_input, _) = token.rsplit_once('.').expect("dots");
        assert_eq!(jwt.signing_input(), signing_input.as_bytes());
        assert_eq!(jwt.signature().len(), 256);
        assert!(verifies(jwks().select(jwt.kid()).expect("key"), &jwt));
        assert_eq!(
            accept(&token, NOW),
            Ok(AccessIdentity::User {
                email: "jo.bloggs@example.com".into()
            })
        );
    }

    #[test]
    fn tampered_claims_fail_verification_and_decide_refuses_them() {
        let good = token(&header(), &claims());
        let (_, signature) = good.rsplit_once('.').expect("dots");
        let forged_claims = b64(claims_with(json!({"email": "boss@example.com"})).to_string());
        let forged = format!("{}.{forged_claims}.{signature}", b64(header().to_string()));
        assert_eq!(accept(&forged, NOW), Err(AccessError::BadSignature));
    }

    #[test]
    fn claims_are_checked_for_issuer_audience_window_and_identity() {
        let exp = (NOW + 3_600) as i64;
        let now = NOW as i64;
        let cases: Vec<(&str, Value, u64, Result<AccessIdentity, AccessError>)> = vec![
            (
                "expired beyond the leeway",
                json!({}),
                NOW + 3_600 + 60,
                Err(AccessError::Expired { exp, now: exp + 60 }),
            ),
            (
                "expired within the leeway",
                json!({}),
                NOW + 3_600 + 59,
                Ok(AccessIdentity::User {
                    email: "jo.bloggs@example.com".into(),
                }),
            ),
            (
                "not yet valid beyond the leeway",
                json!({"nbf": NOW + 61}),
                NOW,
                Err(AccessError::NotYetValid { nbf: now + 61, now }),
            ),
            (
                "not yet valid within the leeway",
                json!({"nbf": NOW + 60}),
                NOW,
                Ok(AccessIdentity::User {
                    email: "jo.bloggs@example.com".into(),
                }),
            ),
            (
                "no nbf",
                json!({"nbf": null}),
                NOW,
                Ok(AccessIdentity::User {
                    email: "jo.bloggs@example.com".into(),
                }),
            ),
            (
                "no exp",
                json!({"exp": null}),
                NOW,
                Err(AccessError::MissingExpiry),
            ),
            (
                "aud string for another app",
                json!({"aud": "someone-else"}),
                NOW,
                Err(AccessError::WrongAudience(vec!["someone-else".into()])),
            ),
            (
                "aud array for other apps",
                json!({"aud": ["a", "b"]}),
                NOW,
                Err(AccessError::WrongAudience(vec!["a".into(), "b".into()])),
            ),
            (
                "aud missing",
                json!({"aud": null}),
                NOW,
                Err(AccessError::WrongAudience(vec![])),
            ),
            (
                "aud as a plain string",
                json!({"aud": AUD}),
                NOW,
                Ok(AccessIdentity::User {
                    email: "jo.bloggs@example.com".into(),
                }),
            ),
            (
                "aud array holding ours among others",
                json!({"aud": ["other", AUD]}),
                NOW,
                Ok(AccessIdentity::User {
                    email: "jo.bloggs@example.com".into(),
                }),
            ),
            (
                "another team's issuer",
                json!({"iss": "https://evil.cloudflareaccess.com"}),
                NOW,
                Err(AccessError::WrongIssuer(
                    "https://evil.cloudflareaccess.com".into(),
                )),
            ),
            (
                "issuer with a trailing slash",
                json!({"iss": format!("https://{TEAM}/")}),
                NOW,
                Err(AccessError::WrongIssuer(format!("https://{TEAM}/"))),
            ),
            (
                "no issuer",
                json!({"iss": null}),
                NOW,
                Err(AccessError::WrongIssuer(String::new())),
            ),
            (
                "service token",
                json!({"email": null, "common_name": "88bf3b6d86161464f6509f7219099e57.access"}),
                NOW,
                Ok(AccessIdentity::Service {
                    common_name: "88bf3b6d86161464f6509f7219099e57.access".into(),
                }),
            ),
            (
                "service token with an empty email",
                json!({"email": "", "common_name": "client.access"}),
                NOW,
                Ok(AccessIdentity::Service {
                    common_name: "client.access".into(),
                }),
            ),
            (
                "email without an at sign",
                json!({"email": "jo.example.com"}),
                NOW,
                Err(AccessError::InvalidEmail),
            ),
            (
                "email with nothing before the at sign",
                json!({"email": "@example.com"}),
                NOW,
                Err(AccessError::InvalidEmail),
            ),
            (
                "neither email nor common_name",
                json!({"email": null}),
                NOW,
                Err(AccessError::NoIdentity),
            ),
        ];
        for (name, patch, now, expected) in cases {
            let token = token(&header(), &claims_with(patch));
            assert_eq!(accept(&token, now), expected, "{name}");
        }
    }

    #[test]
    fn only_rs256_with_a_kid_is_accepted_in_the_header() {
        let cases: Vec<(&str, Value, AccessError)> = vec![
            (
                "alg none",
                json!({"alg": "none", "kid": KID}),
                AccessError::UnsupportedAlgorithm("none".into()),
            ),
            (
                "alg HS256",
                json!({"alg": "HS256", "kid": KID}),
                AccessError::UnsupportedAlgorithm("HS256".into()),
            ),
            (
                "alg in lower case",
                json!({"alg": "rs256", "kid": KID}),
                AccessError::UnsupportedAlgorithm("rs256".into()),
            ),
            (
                "alg missing",
                json!({"kid": KID}),
                AccessError::Malformed(JwtPart::Header),
            ),
            (
                "alg not a string",
                json!({"alg": 256, "kid": KID}),
                AccessError::Malformed(JwtPart::Header),
            ),
            (
                "kid missing",
                json!({"alg": "RS256"}),
                AccessError::MissingKid,
            ),
            (
                "kid empty",
                json!({"alg": "RS256", "kid": ""}),
                AccessError::MissingKid,
            ),
            (
                "crit extension",
                json!({"alg": "RS256", "kid": KID, "crit": ["b64"], "b64": false}),
                AccessError::UnsupportedCritical,
            ),
        ];
        for (name, header, expected) in cases {
            let token = token(&header, &claims());
            assert_eq!(UnverifiedJwt::parse(&token), Err(expected), "{name}");
        }
    }

    #[test]
    fn a_kid_missing_from_the_key_set_is_an_unknown_key() {
        let token = token(&json!({"alg": "RS256", "kid": "rotated-away"}), &claims());
        assert_eq!(
            accept(&token, NOW),
            Err(AccessError::UnknownKey("rotated-away".into()))
        );
    }

    #[test]
    fn malformed_tokens_are_refused_by_part() {
        let good = token(&header(), &claims());
        let parts: Vec<&str> = good.split('.').collect();
        let (h, c, s) = (parts[0], parts[1], parts[2]);
        let b64_header = b64(header().to_string());
        let cases: Vec<(&str, String, JwtPart)> = vec![
            ("empty", String::new(), JwtPart::Structure),
            ("two parts", format!("{h}.{c}"), JwtPart::Structure),
            ("four parts", format!("{h}.{c}.{s}.{s}"), JwtPart::Structure),
            ("empty signature", format!("{h}.{c}."), JwtPart::Structure),
            ("empty claims", format!("{h}..{s}"), JwtPart::Structure),
            (
                "header not base64url",
                format!("{h}!.{c}.{s}"),
                JwtPart::Header,
            ),
            ("header padded", format!("{h}==.{c}.{s}"), JwtPart::Header),
            (
                "header not JSON",
                format!("{}.{c}.{s}", b64("alg=RS256")),
                JwtPart::Header,
            ),
            (
                "header a JSON array",
                format!("{}.{c}.{s}", b64(r#"["RS256","kid"]"#)),
                JwtPart::Header,
            ),
            (
                "header with a duplicate alg",
                format!(
                    "{}.{c}.{s}",
                    b64(format!(r#"{{"alg":"RS256","alg":"none","kid":"{KID}"}}"#))
                ),
                JwtPart::Header,
            ),
            (
                "claims in standard base64",
                format!(
                    "{b64_header}.{}.{s}",
                    c.replace('-', "+").replace('_', "/") + "+"
                ),
                JwtPart::Claims,
            ),
            (
                "claims not JSON",
                format!("{b64_header}.{}.{s}", b64("{not json")),
                JwtPart::Claims,
            ),
            (
                "claims a JSON array",
                format!("{b64_header}.{}.{s}", b64(r#"["https://x", "aud", 1]"#)),
                JwtPart::Claims,
            ),
            (
                "exp as a string",
                format!("{b64_header}.{}.{s}", b64(r#"{"exp":"tomorrow"}"#)),
                JwtPart::Claims,
            ),
            (
                "exp with a fraction",
                format!("{b64_header}.{}.{s}", b64(r#"{"exp":1750000000.5}"#)),
                JwtPart::Claims,
            ),
            (
                "aud as a number",
                format!("{b64_header}.{}.{s}", b64(r#"{"aud":42}"#)),
                JwtPart::Claims,
            ),
            (
                "signature not base64url",
                format!("{h}.{c}.{s}*"),
                JwtPart::Signature,
            ),
        ];
        for (name, token, part) in cases {
            assert_eq!(
                UnverifiedJwt::parse(&token),
                Err(AccessError::Malformed(part)),
                "{name}"
            );
        }
    }

    #[test]
    fn an_overlong_token_is_refused_before_it_is_decoded() {
        let token = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            UnverifiedJwt::parse(&token),
            Err(AccessError::TooLong {
                len: MAX_TOKEN_LEN + 1
            })
        );
        // At the limit the length check passes and decoding decides.
        assert_eq!(
            UnverifiedJwt::parse(&"a".repeat(MAX_TOKEN_LEN)),
            Err(AccessError::Malformed(JwtPart::Structure))
        );
    }

    #[test]
    fn a_realistic_certs_document_yields_both_keys_by_kid() {
        let second = json!({
            "kid": "1f2e3d4c5b6a79880f1e2d3c4b5a69788f0e1d2c3b4a5968778f0e1d7a8b5d0c",
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "e": "AQAB",
            "n": "u1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0_IzW7yWR7QkrmBL7jTKEn5u-qKhbwKfBstIs-bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW_VDL5AaWTg0nLVkjRo9z-40RQzuVaE8AkAFmxZzow3x-VJYKdjykkJ0iT9wCS0DRTXu269V264Vf_3jvredZiKRkgwlL9xNAwxXFg0x_XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC-9aGVd-Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmw",
        });
        let certs = json!({
            "keys": [jwk_json(KID), second],
            "public_cert": {
                "kid": KID,
                "cert": "-----BEGIN CERTIFICATE-----\nMIIDTTCCAjWgAwIBAgIQ\n-----END CERTIFICATE-----\n",
            },
            "public_certs": [
                {"kid": KID, "cert": "-----BEGIN CERTIFICATE-----\nMIID\n-----END CERTIFICATE-----\n"},
                {"kid": "1f2e", "cert": "-----BEGIN CERTIFICATE-----\nMIIE\n-----END CERTIFICATE-----\n"},
            ],
        });
        let keys = Jwks::parse(&certs.to_string()).expect("jwks");
        assert_eq!(keys.kids().count(), 2);
        let ours = keys.key(KID).expect("first key");
        assert_eq!(ours.e(), "AQAB");
        assert_eq!(Some(ours.n()), jwk_json(KID)["n"].as_str());
        let other = keys
            .key("1f2e3d4c5b6a79880f1e2d3c4b5a69788f0e1d2c3b4a5968778f0e1d7a8b5d0c")
            .expect("second key");
        assert!(other.n().starts_with("u1SU1LfV"));
        assert_eq!(keys.key("nope"), None);
    }

    #[test]
    fn keys_that_cannot_verify_rs256_are_refused() {
        let cases: Vec<(&str, Value)> = vec![
            (
                "EC key",
                json!({"kid": "ec", "kty": "EC", "crv": "P-256", "x": "AQ", "y": "AQ", "alg": "ES256"}),
            ),
            (
                "RSA key for RS512",
                json!({"kid": "k", "kty": "RSA", "alg": "RS512", "n": "AQAB", "e": "AQAB"}),
            ),
            (
                "RSA key for encryption",
                json!({"kid": "k", "kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB"}),
            ),
            (
                "RSA key without kid",
                json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            ),
            (
                "RSA key with bad n",
                json!({"kid": "k", "kty": "RSA", "n": "not base64!", "e": "AQAB"}),
            ),
            (
                "RSA key without e",
                json!({"kid": "k", "kty": "RSA", "n": "AQAB"}),
            ),
        ];
        for (name, key) in cases {
            let only = json!({ "keys": [key.clone()] }).to_string();
            assert_eq!(Jwks::parse(&only), Err(AccessError::NoUsableKeys), "{name}");
            // Beside a good key the bad one is dropped, not fatal.
            let mixed = json!({ "keys": [key, jwk_json(KID)] }).to_string();
            let keys = Jwks::parse(&mixed).expect(name);
            assert_eq!(keys.kids().collect::<Vec<_>>(), vec![KID], "{name}");
        }
        // An RSA key that states no alg or use is still fine: both are optional in RFC 7517.
        let bare = json!({"keys": [{"kid": "k", "kty": "RSA", "n": "AQAB", "e": "AQAB"}]});
        assert!(Jwks::parse(&bare.to_string())
            .expect("bare")
            .key("k")
            .is_some());
        assert_eq!(
            jwks().select("ec"),
            Err(AccessError::UnknownKey("ec".into()))
        );
    }

    #[test]
    fn a_certs_document_that_is_not_a_jwk_set_is_malformed() {
        for body in ["", "<html>", r#"{"public_cert":{}}"#, r#"{"keys":{}}"#] {
            assert!(
                matches!(Jwks::parse(body), Err(AccessError::MalformedKeySet(_))),
                "{body}"
            );
        }
    }

    #[test]
    fn access_settings_need_a_bare_host_name_and_an_aud_tag() {
        let config = AccessConfig::new(" Acme.CloudflareAccess.com ", AUD).expect("config");
        assert_eq!(config.team_domain(), TEAM);
        assert_eq!(config.aud(), AUD);
        assert_eq!(config.issuer(), "https://acme.cloudflareaccess.com");
        assert_eq!(
            config.certs_url(None),
            "https://acme.cloudflareaccess.com/cdn-cgi/access/certs"
        );
        assert_eq!(
            config.certs_url(Some("http://127.0.0.1:8788/")),
            "http://127.0.0.1:8788/cdn-cgi/access/certs"
        );
        assert_eq!(
            config.certs_url(Some("")),
            "https://acme.cloudflareaccess.com/cdn-cgi/access/certs"
        );

        let bad_domains = [
            "",
            "https://acme.cloudflareaccess.com",
            "acme.cloudflareaccess.com/",
            "acme.cloudflareaccess.com/cdn-cgi",
            "acme.cloudflareaccess.com:443",
            "acme..cloudflareaccess.com",
            "-acme.cloudflareaccess.com",
            "acme.cloudflareaccess.com.",
            "ac me.cloudflareaccess.com",
        ];
        for domain in bad_domains {
            assert!(
                matches!(
                    AccessConfig::new(domain, AUD),
                    Err(AccessConfigError::InvalidTeamDomain(_))
                ),
                "{domain:?}"
            );
        }
        assert_eq!(
            AccessConfig::new(TEAM, "  "),
            Err(AccessConfigError::EmptyAudience)
        );
    }

    #[test]
    fn log_messages_quote_and_clip_what_the_token_said() {
        let token = token(
            &json!({"alg": format!("HS256\n{}", "x".repeat(200)), "kid": KID}),
            &claims(),
        );
        let error = UnverifiedJwt::parse(&token).expect_err("refused");
        let message = error.to_string();
        assert!(
            message.starts_with(r#"Access token alg "HS256\nxxx"#),
            "{message}"
        );
        assert!(!message.contains('\n'));
        assert!(message.len() < 160, "{message}");
    }
}
