//! Webhook authentication: Telegram's secret token and Mini App `initData`, Twilio's request
//! signatures (auth token or shared key), and Stripe's signed payloads. Pure: the time comes in
//! as an argument, and every comparison of a secret-derived value is constant-time.
//!
//! Each verifier answers why it refused, for the log; the glue turns every refusal into the same
//! answer to the client, so a forger learns nothing from the response about what was wrong.

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use crate::domain::messaging::parse_form;
use crate::domain::secrets::secrets_match;

/// Equality whose running time depends only on the longer of the two lengths, never on where
/// the bytes first differ. A length mismatch still walks every byte, so the time does not say
/// how much of a shorter guess was right either.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let longest = a.len().max(b.len());
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..longest {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    // `black_box` keeps the optimiser from turning the fold back into an early exit.
    std::hint::black_box(diff) == 0
}

// ---------------------------------------------------------------------------------------------
// Telegram webhook secret token
// ---------------------------------------------------------------------------------------------

/// The longest secret token `setWebhook` accepts.
pub const TELEGRAM_SECRET_MAX: usize = 256;

/// Whether the `X-Telegram-Bot-Api-Secret-Token` header carries our token. A missing header, or
/// an empty configured token (a misconfiguration, not an open door), is refused. Both sides
/// are hashed before comparing, so neither the content nor the length of the expected token
/// shows in the time taken.
pub fn telegram_secret_matches(expected: &str, header: Option<&str>) -> bool {
    let Some(presented) = header else {
        return false;
    };
    !expected.is_empty() && secrets_match(presented.as_bytes(), expected.as_bytes())
}

/// Whether `token` is one Telegram accepts as a webhook secret: 1 to 256 characters of
/// `A-Z a-z 0-9 _ -`. Checked before `setWebhook` so a bad configured value fails loudly at
/// setup instead of as a Telegram API error.
pub fn is_valid_telegram_secret_token(token: &str) -> bool {
    (1..=TELEGRAM_SECRET_MAX).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A webhook secret from 32 random bytes: unpadded base64url, whose alphabet is exactly the
/// one Telegram allows, so 256 bits fit in 43 characters with nothing to escape.
pub fn telegram_secret_token(random: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(random)
}

// ---------------------------------------------------------------------------------------------
// Telegram Mini App initData
// ---------------------------------------------------------------------------------------------

/// `initData` is a few hundred bytes; anything far larger is not from Telegram.
const MAX_INIT_DATA: usize = 16 * 1024;

/// The fields of a verified `initData`, `hash` removed, in the order received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebAppInitData {
    pub auth_date: i64,
    pub fields: Vec<(String, String)>,
}

impl WebAppInitData {
    /// A field's decoded value, e.g. `user` (a JSON object) or `query_id`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Why an `initData` string was refused. For logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitDataError {
    TooLarge {
        len: usize,
    },
    /// Not `application/x-www-form-urlencoded`, or not UTF-8 once decoded.
    Malformed,
    MissingHash,
    /// A field given twice: which of the two was signed cannot be told, so neither is trusted.
    DuplicateField(String),
    MissingAuthDate,
    Mismatch,
    /// Signed further than the allowed age from now, in either direction.
    Stale {
        auth_date: i64,
        now: i64,
    },
}

impl fmt::Display for InitDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len } => write!(f, "initData is {len} bytes, over {MAX_INIT_DATA}"),
            Self::Malformed => f.write_str("initData is not a well-formed query string"),
            Self::MissingHash => f.write_str("initData has no hash"),
            Self::DuplicateField(name) => write!(f, "initData repeats the field {:?}", clip(name)),
            Self::MissingAuthDate => f.write_str("initData has no integer auth_date"),
            Self::Mismatch => f.write_str("initData hash does not match"),
            Self::Stale { auth_date, now } => {
                write!(
                    f,
                    "initData auth_date {auth_date} is too far from now ({now})"
                )
            }
        }
    }
}

impl std::error::Error for InitDataError {}

/// `HMAC_SHA256(key = "WebAppData", msg = bot_token)`: the key every `initData` hash of this bot
/// is made with.
pub fn telegram_webapp_secret_key(bot_token: &str) -> [u8; 32] {
    hmac_sha256(b"WebAppData", bot_token.as_bytes())
}

/// Verifies a Mini App's `initData` as Telegram specifies: every received field but `hash`,
/// decoded, sorted by name, `name=value` joined by `\n`, HMAC-SHA-256 under
/// [`telegram_webapp_secret_key`], compared as lower-case hex; then `auth_date` must be within
/// `max_age_s` of `now_unix`. The hash is checked first, so `Stale` means "genuine but old".
pub fn telegram_init_data_verify(
    bot_token: &str,
    init_data: &str,
    now_unix: i64,
    max_age_s: i64,
) -> Result<WebAppInitData, InitDataError> {
    if init_data.len() > MAX_INIT_DATA {
        return Err(InitDataError::TooLarge {
            len: init_data.len(),
        });
    }
    let pairs = parse_form(init_data.as_bytes()).map_err(|_| InitDataError::Malformed)?;
    let mut hash = None;
    let mut fields = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        let repeated = if name == "hash" {
            hash.replace(value).is_some()
        } else {
            let seen = fields
                .iter()
                .any(|(known, _): &(String, String)| *known == name);
            if !seen {
                fields.push((name.clone(), value));
            }
            seen
        };
        if repeated {
            return Err(InitDataError::DuplicateField(name));
        }
    }
    let hash = hash.ok_or(InitDataError::MissingHash)?;

    let mut sorted: Vec<&(String, String)> = fields.iter().collect();
    // Names are unique (a repeated one was refused above).
    super::order::by_key(&mut sorted, |(name, value)| {
        (0, name.clone(), value.clone())
    });
    let data_check_string = sorted
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("\n");
    let secret_key = telegram_webapp_secret_key(bot_token);
    let expected = hex_lower(&hmac_sha256(&secret_key, data_check_string.as_bytes()));
    if !constant_time_eq(expected.as_bytes(), hash.as_bytes()) {
        return Err(InitDataError::Mismatch);
    }

    let auth_date = fields
        .iter()
        .find(|(name, _)| name == "auth_date")
        .and_then(|(_, value)| value.parse::<i64>().ok())
        .ok_or(InitDataError::MissingAuthDate)?;
    if !within(now_unix, auth_date, max_age_s) {
        return Err(InitDataError::Stale {
            auth_date,
            now: now_unix,
        });
    }
    Ok(WebAppInitData { auth_date, fields })
}

// ---------------------------------------------------------------------------------------------
// Twilio
// ---------------------------------------------------------------------------------------------

/// The hash of a Twilio request signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwilioAlgorithm {
    /// The default: HMAC-SHA1 keyed with the account's auth token.
    HmacSha1,
    /// With a shared key, named by `X-Twilio-Webhooks-Signature-Settings`.
    HmacSha256,
}

/// `X-Twilio-Signature` for a form POST signed with the auth token: base64 of HMAC-SHA1 over the
/// full URL followed by each parameter's name and value, sorted by name and then by value.
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    twilio_signature_with(TwilioAlgorithm::HmacSha1, auth_token, url, params)
}

/// The same construction under either algorithm and any key.
pub fn twilio_signature_with(
    algorithm: TwilioAlgorithm,
    key: &str,
    url: &str,
    params: &[(String, String)],
) -> String {
    let message = twilio_signed_string(url, params);
    match algorithm {
        TwilioAlgorithm::HmacSha1 => {
            STANDARD.encode(hmac::<Hmac<Sha1>>(key.as_bytes(), message.as_bytes()))
        }
        TwilioAlgorithm::HmacSha256 => {
            STANDARD.encode(hmac_sha256(key.as_bytes(), message.as_bytes()))
        }
    }
}

/// Whether `header` is the auth-token signature of this request. Twilio's own validators accept
/// the URL both with and without the scheme's default port (its signing is inconsistent about
/// it), so this does too; a non-default port is part of the endpoint and must match as given.
pub fn twilio_verify(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    verify_any_url(TwilioAlgorithm::HmacSha1, auth_token, url, params, header)
}

/// What `X-Twilio-Webhooks-Signature-Settings` says: which shared key signed the request, with
/// which algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwilioSignatureSettings {
    pub key_id: String,
    pub algorithm: TwilioAlgorithm,
}

impl TwilioSignatureSettings {
    /// Reads `key=<id>,algorithm=HMAC_SHA256`: comma-separated `name=value` items in any order,
    /// spaces around them forgiven. Both items are required; any algorithm but `HMAC_SHA256` is
    /// refused rather than guessed at, and so is an item given twice.
    pub fn parse(header: &str) -> Result<TwilioSignatureSettings, TwilioSignatureError> {
        let malformed = || TwilioSignatureError::MalformedSettings(clip(header));
        let mut key_id = None;
        let mut algorithm = None;
        for item in header.split(',') {
            let (name, value) = item.split_once('=').ok_or_else(malformed)?;
            let (name, value) = (name.trim(), value.trim());
            let slot = match name.to_ascii_lowercase().as_str() {
                "key" => &mut key_id,
                "algorithm" => &mut algorithm,
                // Names we do not know may be added by Twilio; they change nothing we check.
                _ => continue,
            };
            if value.is_empty() || slot.replace(value).is_some() {
                return Err(malformed());
            }
        }
        let (Some(key_id), Some(algorithm)) = (key_id, algorithm) else {
            return Err(malformed());
        };
        let algorithm = match algorithm {
            "HMAC_SHA256" => TwilioAlgorithm::HmacSha256,
            other => return Err(TwilioSignatureError::UnknownAlgorithm(clip(other))),
        };
        Ok(TwilioSignatureSettings {
            key_id: key_id.to_owned(),
            algorithm,
        })
    }
}

/// A shared signing key created in Twilio, by its id. Several may be configured at once so a key
/// can be rotated without a gap.
#[derive(Clone, Copy)]
pub struct TwilioSharedKey<'a> {
    pub id: &'a str,
    pub secret: &'a str,
}

/// Never prints the secret.
impl fmt::Debug for TwilioSharedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TwilioSharedKey({:?})", self.id)
    }
}

/// The keys a tenant has configured for Twilio.
#[derive(Debug, Clone, Copy, Default)]
pub struct TwilioKeys<'a> {
    pub auth_token: Option<&'a str>,
    pub shared_keys: &'a [TwilioSharedKey<'a>],
}

/// Why a Twilio request was refused. For logs only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TwilioSignatureError {
    MissingSignature,
    MalformedSettings(String),
    UnknownAlgorithm(String),
    /// The settings name a shared key we do not hold.
    UnknownKey(String),
    /// Signed with the auth token, and none is configured.
    NoAuthToken,
    Mismatch,
}

impl fmt::Display for TwilioSignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSignature => f.write_str("no X-Twilio-Signature header"),
            Self::MalformedSettings(header) => {
                write!(f, "malformed signature settings {header:?}")
            }
            Self::UnknownAlgorithm(name) => write!(f, "signature algorithm {name:?} refused"),
            Self::UnknownKey(id) => write!(f, "signature key {id:?} is not configured"),
            Self::NoAuthToken => f.write_str("request signed with the auth token, none is set"),
            Self::Mismatch => f.write_str("Twilio signature does not match"),
        }
    }
}

impl std::error::Error for TwilioSignatureError {}

/// Verifies a Twilio request whichever way it was signed: with a shared key when
/// `X-Twilio-Webhooks-Signature-Settings` is present (`settings_header`), else with the auth
/// token. A request naming a key or algorithm we do not have is refused, never checked against
/// the auth token instead.
pub fn twilio_verify_request(
    keys: &TwilioKeys<'_>,
    settings_header: Option<&str>,
    url: &str,
    params: &[(String, String)],
    signature: Option<&str>,
) -> Result<(), TwilioSignatureError> {
    let (algorithm, key) = match settings_header {
        Some(header) => {
            let settings = TwilioSignatureSettings::parse(header)?;
            let key = keys
                .shared_keys
                .iter()
                .find(|key| key.id == settings.key_id)
                .ok_or_else(|| TwilioSignatureError::UnknownKey(clip(&settings.key_id)))?;
            (settings.algorithm, key.secret)
        }
        None => (
            TwilioAlgorithm::HmacSha1,
            keys.auth_token.ok_or(TwilioSignatureError::NoAuthToken)?,
        ),
    };
    if signature.is_none() {
        return Err(TwilioSignatureError::MissingSignature);
    }
    if verify_any_url(algorithm, key, url, params, signature) {
        Ok(())
    } else {
        Err(TwilioSignatureError::Mismatch)
    }
}

/// Checks the URL as given and its default-port twin. Both are always computed and compared, so
/// the time does not tell which form matched.
fn verify_any_url(
    algorithm: TwilioAlgorithm,
    key: &str,
    url: &str,
    params: &[(String, String)],
    header: Option<&str>,
) -> bool {
    let Some(presented) = header else {
        return false;
    };
    let mut matched = false;
    for candidate in url_port_variants(url) {
        let expected = twilio_signature_with(algorithm, key, &candidate, params);
        matched |= constant_time_eq(expected.as_bytes(), presented.as_bytes());
    }
    matched
}

/// The full URL, then each parameter's name and value, sorted by name and then by value (byte
/// order, which for UTF-8 is code point order, as Twilio's libraries sort).
fn twilio_signed_string(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    super::order::by_key(&mut sorted, |(name, value)| {
        (0, name.clone(), value.clone())
    });
    let mut message = String::from(url);
    for (name, value) in sorted {
        message.push_str(name);
        message.push_str(value);
    }
    message
}

/// `url` as given, plus the same URL with the scheme's default port added (if it had none) or
/// removed (if it named the default). Other schemes and other ports give the URL alone.
fn url_port_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_owned()];
    let Some(scheme_end) = url.find("://") else {
        return variants;
    };
    let default_port = match url[..scheme_end].to_ascii_lowercase().as_str() {
        "https" => "443",
        "http" => "80",
        _ => return variants,
    };
    let authority_start = scheme_end + 3;
    let authority_end = url[authority_start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| authority_start + i);
    let authority = &url[authority_start..authority_end];
    // Credentials (`user:pass@`) may hold a ':' of their own; the host starts after the last '@'.
    let host_start = authority.rfind('@').map_or(0, |i| i + 1);
    let host_port = &authority[host_start..];
    // A bracketed IPv6 host has colons inside the brackets; the port can only follow `]`.
    let port_search_from = host_port.rfind(']').map_or(0, |i| i + 1);
    let port_colon = host_port[port_search_from..]
        .rfind(':')
        .map(|i| authority_start + host_start + port_search_from + i);
    let (before, after) = (&url[..authority_end], &url[authority_end..]);
    match port_colon {
        None => variants.push(format!("{before}:{default_port}{after}")),
        Some(colon) if &url[colon + 1..authority_end] == default_port => {
            variants.push(format!("{}{after}", &url[..colon]));
        }
        Some(_) => {}
    }
    variants
}

// ---------------------------------------------------------------------------------------------
// Stripe
// ---------------------------------------------------------------------------------------------

/// The tolerance Stripe's own libraries use, in seconds.
pub const STRIPE_TOLERANCE_S: i64 = 300;

/// Why a `Stripe-Signature` was refused. For logs only: every variant gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StripeSignatureError {
    /// Not `t=<unix>,v1=<hex>…`: an item without `=`, no integer `t`, or `t` twice.
    MalformedHeader,
    /// Well formed, but no `v1` signature (only other schemes such as `v0`).
    NoV1Signature,
    /// No `v1` signature matches the body.
    Mismatch,
    /// A genuine signature made further than the tolerance from now, in either direction: a
    /// replay, or a badly wrong clock.
    TooOld { timestamp: i64, now: i64 },
}

impl fmt::Display for StripeSignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MalformedHeader => f.write_str("malformed Stripe-Signature header"),
            Self::NoV1Signature => f.write_str("Stripe-Signature has no v1 signature"),
            Self::Mismatch => f.write_str("no Stripe v1 signature matches the body"),
            Self::TooOld { timestamp, now } => write!(
                f,
                "Stripe signature timestamp {timestamp} is outside the tolerance (now {now})"
            ),
        }
    }
}

impl std::error::Error for StripeSignatureError {}

/// Verifies a `Stripe-Signature` header against the raw body: any `v1` item may match
/// `hex(HMAC_SHA256(key = secret, msg = "{t}.{body}"))` (more than one is sent while a secret is
/// rolled), and `t` must be within `tolerance_s` of `now_unix`. The signature is checked before
/// the time, so `TooOld` is only ever said of a genuine message.
pub fn stripe_verify(
    secret: &str,
    header: &str,
    raw_body: &[u8],
    now_unix: i64,
    tolerance_s: i64,
) -> Result<(), StripeSignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for item in header.split(',') {
        let (name, value) = item
            .trim()
            .split_once('=')
            .ok_or(StripeSignatureError::MalformedHeader)?;
        match name {
            "t" => {
                let t = value
                    .parse::<i64>()
                    .map_err(|_| StripeSignatureError::MalformedHeader)?;
                if timestamp.replace(t).is_some() {
                    return Err(StripeSignatureError::MalformedHeader);
                }
            }
            "v1" => signatures.push(value),
            // v0 (test-mode legacy) and any future scheme: not ours to check.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(StripeSignatureError::MalformedHeader)?;
    if signatures.is_empty() {
        return Err(StripeSignatureError::NoV1Signature);
    }
    let expected = stripe_v1(secret, timestamp, raw_body);
    // Every candidate is compared, without stopping at a match.
    let matched = signatures.iter().fold(false, |matched, candidate| {
        matched | constant_time_eq(expected.as_bytes(), candidate.as_bytes())
    });
    if !matched {
        return Err(StripeSignatureError::Mismatch);
    }
    if !within(now_unix, timestamp, tolerance_s) {
        return Err(StripeSignatureError::TooOld {
            timestamp,
            now: now_unix,
        });
    }
    Ok(())
}

/// A whole `Stripe-Signature` header value, `t=<t>,v1=<hex>`, as Stripe would send it: for
/// tests and the local Stripe stand-in.
pub fn stripe_sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", stripe_v1(secret, t, body))
}

/// The key is the whole `whsec_…` string as bytes, not a decoding of it.
fn stripe_v1(secret: &str, t: i64, body: &[u8]) -> String {
    let mut message = format!("{t}.").into_bytes();
    message.extend_from_slice(body);
    hex_lower(&hmac_sha256(secret.as_bytes(), &message))
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// |now − then| ≤ tolerance, without overflow for absurd timestamps; a negative tolerance
/// accepts nothing.
fn within(now: i64, then: i64, tolerance: i64) -> bool {
    u64::try_from(tolerance).is_ok_and(|tolerance| now.abs_diff(then) <= tolerance)
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&hmac::<Hmac<Sha256>>(key, message));
    out
}

/// HMAC of `message` under `key`.
fn hmac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC hashes long keys and pads short ones, so no key length is refused.
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// At most 64 characters of an untrusted string, for an error that may be logged.
fn clip(value: &str) -> String {
    value.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    type Params = Vec<(String, String)>;

    fn pairs(items: &[(&str, &str)]) -> Params {
        items
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    // -- constant_time_eq ---------------------------------------------------------------------

    #[test]
    fn constant_time_eq_is_plain_equality_whatever_the_lengths() {
        let cases: [(&[u8], &[u8], bool); 8] = [
            (b"", b"", true),
            (b"abc", b"abc", true),
            (b"abc", b"abd", false),
            (b"abc", b"xbc", false),
            (b"abc", b"ab", false),
            (b"ab", b"abc", false),
            (b"", b"a", false),
            // A shorter side padded with zeros must not equal a longer side ending in zeros.
            (b"a", b"a\0", false),
        ];
        for (a, b, equal) in cases {
            assert_eq!(constant_time_eq(a, b), equal, "{a:?} vs {b:?}");
        }
    }

    // -- Telegram -----------------------------------------------------------------------------

    #[test]
    fn the_telegram_secret_matches_only_the_exact_header() {
        let expected = "s3cret_Token-1";
        let cases = [
            (Some("s3cret_Token-1"), true),
            (Some("s3cret_Token-2"), false),
            (Some("s3cret_token-1"), false),
            (Some("s3cret_Token-1 "), false),
            (Some("s3cret_Token-"), false),
            (Some(""), false),
            (None, false),
        ];
        for (header, matches) in cases {
            assert_eq!(
                telegram_secret_matches(expected, header),
                matches,
                "{header:?}"
            );
        }
    }

    #[test]
    fn an_empty_configured_telegram_secret_matches_nothing() {
        assert!(!telegram_secret_matches("", Some("")));
        assert!(!telegram_secret_matches("", None));
    }

    #[test]
    fn telegram_secret_tokens_are_1_to_256_safe_characters() {
        let cases = [
            ("a", true),
            ("A-z_0-9", true),
            (&"x".repeat(256) as &str, true),
            (&"x".repeat(257), false),
            ("", false),
            ("has space", false),
            ("dot.ted", false),
            ("plus+slash/", false),
            ("équipe", false),
        ];
        for (token, valid) in cases {
            assert_eq!(is_valid_telegram_secret_token(token), valid, "{token:?}");
        }
    }

    #[test]
    fn a_generated_telegram_secret_is_a_valid_43_character_token() {
        for fill in [0u8, 0xfb, 0xff] {
            let token = telegram_secret_token(&[fill; 32]);
            assert_eq!(token.len(), 43, "{token}");
            assert!(is_valid_telegram_secret_token(&token), "{token}");
        }
        assert_ne!(
            telegram_secret_token(&[1; 32]),
            telegram_secret_token(&[2; 32])
        );
    }

    /// The aiogram test vector (PROTOCOLS.md).
    const AIOGRAM_TOKEN: &str = "42:TEST";
    const AIOGRAM_INIT_DATA: &str = "auth_date=1650385342\
        &user=%7B%22id%22%3A42%2C%22first_name%22%3A%22Test%22%7D&query_id=test\
        &hash=46d2ea5e32911ec8d30999b56247654460c0d20949b6277af519e76271182803";
    const AIOGRAM_AUTH_DATE: i64 = 1_650_385_342;
    const DAY: i64 = 86_400;

    #[test]
    fn the_webapp_secret_key_matches_the_aiogram_vector() {
        assert_eq!(
            hex_lower(&telegram_webapp_secret_key(AIOGRAM_TOKEN)),
            "1e806b707252e4c784e3c8d55e9d24a920c35c9568c7a3b5cb9e2698ca854532"
        );
    }

    #[test]
    fn the_aiogram_init_data_verifies_and_its_fields_are_decoded() {
        let data = telegram_init_data_verify(
            AIOGRAM_TOKEN,
            AIOGRAM_INIT_DATA,
            AIOGRAM_AUTH_DATE + 60,
            DAY,
        )
        .expect("the published vector is valid");
        assert_eq!(data.auth_date, AIOGRAM_AUTH_DATE);
        assert_eq!(data.get("user"), Some(r#"{"id":42,"first_name":"Test"}"#));
        assert_eq!(data.get("query_id"), Some("test"));
        assert_eq!(data.get("hash"), None);
    }

    #[test]
    fn init_data_is_refused_when_tampered_stale_or_malformed() {
        let now = AIOGRAM_AUTH_DATE + 60;
        let tampered = AIOGRAM_INIT_DATA.replace("query_id=test", "query_id=tesT");
        let no_hash = AIOGRAM_INIT_DATA.split("&hash=").next().unwrap().to_owned();
        let twice = format!("{AIOGRAM_INIT_DATA}&query_id=test");
        let upper_hash = AIOGRAM_INIT_DATA.replace("46d2ea5e", "46D2EA5E");
        let cases: Vec<(&str, &str, i64, InitDataError)> = vec![
            (
                "wrong bot token",
                AIOGRAM_INIT_DATA,
                now,
                InitDataError::Mismatch,
            ),
            (AIOGRAM_TOKEN, &tampered, now, InitDataError::Mismatch),
            (AIOGRAM_TOKEN, &upper_hash, now, InitDataError::Mismatch),
            (AIOGRAM_TOKEN, &no_hash, now, InitDataError::MissingHash),
            (
                AIOGRAM_TOKEN,
                &twice,
                now,
                InitDataError::DuplicateField("query_id".into()),
            ),
            (
                AIOGRAM_TOKEN,
                "auth_date=1&hash=%zz",
                now,
                InitDataError::Malformed,
            ),
            (
                AIOGRAM_TOKEN,
                AIOGRAM_INIT_DATA,
                AIOGRAM_AUTH_DATE + DAY + 1,
                InitDataError::Stale {
                    auth_date: AIOGRAM_AUTH_DATE,
                    now: AIOGRAM_AUTH_DATE + DAY + 1,
                },
            ),
            (
                AIOGRAM_TOKEN,
                AIOGRAM_INIT_DATA,
                AIOGRAM_AUTH_DATE - DAY - 1,
                InitDataError::Stale {
                    auth_date: AIOGRAM_AUTH_DATE,
                    now: AIOGRAM_AUTH_DATE - DAY - 1,
                },
            ),
        ];
        for (token, init_data, now, error) in cases {
            assert_eq!(
                telegram_init_data_verify(token, init_data, now, DAY),
                Err(error),
                "{token} {init_data}"
            );
        }
        // The bounds of the allowed age are inclusive.
        for now in [AIOGRAM_AUTH_DATE + DAY, AIOGRAM_AUTH_DATE - DAY] {
            assert!(telegram_init_data_verify(AIOGRAM_TOKEN, AIOGRAM_INIT_DATA, now, DAY).is_ok());
        }
        let huge = "a".repeat(MAX_INIT_DATA + 1);
        assert_eq!(
            telegram_init_data_verify(AIOGRAM_TOKEN, &huge, now, DAY),
            Err(InitDataError::TooLarge {
                len: MAX_INIT_DATA + 1
            })
        );
    }

    #[test]
    fn init_data_without_an_integer_auth_date_is_refused_even_when_signed() {
        let fields = "query_id=test";
        let secret = telegram_webapp_secret_key(AIOGRAM_TOKEN);
        let hash = hex_lower(&hmac_sha256(&secret, fields.as_bytes()));
        let init_data = format!("{fields}&hash={hash}");
        assert_eq!(
            telegram_init_data_verify(AIOGRAM_TOKEN, &init_data, 0, DAY),
            Err(InitDataError::MissingAuthDate)
        );
    }

    // -- Twilio -------------------------------------------------------------------------------

    /// The twilio-python test vector (PROTOCOLS.md).
    const TWILIO_TOKEN: &str = "12345";
    const TWILIO_URL: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const TWILIO_URL_443: &str = "https://mycompany.com:443/myapp.php?foo=1&bar=2";
    const TWILIO_SIGNATURE: &str = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    const TWILIO_SIGNATURE_443: &str = "kvajT1Ptam85bY51eRf/AJRuM3w=";

    fn twilio_params() -> Vec<(String, String)> {
        // Deliberately out of order: signing must sort them.
        pairs(&[
            ("To", "+18005551212"),
            ("CallSid", "CA1234567890ABCDE"),
            ("From", "+14158675309"),
            ("Digits", "1234"),
            ("Caller", "+14158675309"),
        ])
    }

    #[test]
    fn twilio_signatures_match_the_published_vectors() {
        let params = twilio_params();
        assert_eq!(
            twilio_signature(TWILIO_TOKEN, TWILIO_URL, &params),
            TWILIO_SIGNATURE
        );
        assert_eq!(
            twilio_signature(TWILIO_TOKEN, TWILIO_URL_443, &params),
            TWILIO_SIGNATURE_443
        );
    }

    #[test]
    fn twilio_verify_accepts_either_signature_for_either_form_of_the_url() {
        let params = twilio_params();
        for url in [TWILIO_URL, TWILIO_URL_443] {
            for signature in [TWILIO_SIGNATURE, TWILIO_SIGNATURE_443] {
                assert!(
                    twilio_verify(TWILIO_TOKEN, url, &params, Some(signature)),
                    "{url} {signature}"
                );
            }
        }
    }

    #[test]
    fn twilio_verify_refuses_tampering_a_wrong_token_and_a_missing_header() {
        let params = twilio_params();
        let mut changed_value = params.clone();
        changed_value[3].1 = "1235".into();
        let mut added = params.clone();
        added.push(("Body".into(), "hi".into()));
        let removed = params[1..].to_vec();
        let cases: Vec<(&str, &str, Params, Option<&str>)> = vec![
            (
                TWILIO_TOKEN,
                TWILIO_URL,
                changed_value,
                Some(TWILIO_SIGNATURE),
            ),
            (TWILIO_TOKEN, TWILIO_URL, added, Some(TWILIO_SIGNATURE)),
            (TWILIO_TOKEN, TWILIO_URL, removed, Some(TWILIO_SIGNATURE)),
            ("54321", TWILIO_URL, params.clone(), Some(TWILIO_SIGNATURE)),
            (
                TWILIO_TOKEN,
                "https://mycompany.com/myapp.php?foo=1&bar=3",
                params.clone(),
                Some(TWILIO_SIGNATURE),
            ),
            (
                TWILIO_TOKEN,
                "http://mycompany.com/myapp.php?foo=1&bar=2",
                params.clone(),
                Some(TWILIO_SIGNATURE),
            ),
            // A non-default port is a different endpoint, not a spelling of this one.
            (
                TWILIO_TOKEN,
                "https://mycompany.com:8443/myapp.php?foo=1&bar=2",
                params.clone(),
                Some(TWILIO_SIGNATURE),
            ),
            (TWILIO_TOKEN, TWILIO_URL, params.clone(), Some("")),
            (
                TWILIO_TOKEN,
                TWILIO_URL,
                params.clone(),
                Some("RSOYDt4T1cUTdK1PDd93/VVr8B8"),
            ),
            (TWILIO_TOKEN, TWILIO_URL, params.clone(), None),
        ];
        for (token, url, params, header) in cases {
            assert!(
                !twilio_verify(token, url, &params, header),
                "{token} {url} {params:?} {header:?}"
            );
        }
    }

    /// Computed with twilio-python 9.13's `RequestValidator` from the same form body: UTF-8 in
    /// the key and values, escaped `+`, `&` and `<>`, an empty value.
    #[test]
    fn twilio_signatures_agree_with_twilio_python_on_a_decoded_form() {
        let body = "Body=caf%C3%A9+%2B1+%26+%3Cok%3E&From=%2B14158675309&MessageSid=SMabc&a=\
                    &To=%2B18005551212";
        let params = parse_form(body.as_bytes()).unwrap();
        let token = "tok-\u{e9}";
        let cases = [
            ("https://h.example/sms?x=1", "1cXz5Z3cW9mzSpKmLCs3e/bzB8I="),
            (
                "https://h.example:443/sms?x=1",
                "WG6lFu8vMuzrcG4HGGV2BDAw89s=",
            ),
            ("http://h.example/sms", "f0i6urgV8IUBBILPFaxgAdsAlMY="),
            ("https://h.example:8443/sms", "8pbS8+cJ0/Hjjjxi4C10+91IXI8="),
        ];
        for (url, signature) in cases {
            assert_eq!(twilio_signature(token, url, &params), signature, "{url}");
            assert!(twilio_verify(token, url, &params, Some(signature)), "{url}");
        }
        assert!(twilio_verify(
            token,
            "https://h.example:443/sms?x=1",
            &params,
            Some("1cXz5Z3cW9mzSpKmLCs3e/bzB8I=")
        ));
    }

    #[test]
    fn twilio_sorts_by_name_then_by_value_when_a_name_repeats() {
        let in_order = pairs(&[("A", "1"), ("MediaUrl", "a"), ("MediaUrl", "b"), ("b", "0")]);
        let shuffled = pairs(&[("MediaUrl", "b"), ("b", "0"), ("A", "1"), ("MediaUrl", "a")]);
        assert_eq!(
            twilio_signed_string("https://h/x", &shuffled),
            "https://h/xA1MediaUrlaMediaUrlbb0"
        );
        assert_eq!(
            twilio_signature("k", "https://h/x", &in_order),
            twilio_signature("k", "https://h/x", &shuffled)
        );
    }

    #[test]
    fn the_default_port_is_added_or_removed_and_nothing_else_is() {
        let cases: [(&str, &[&str]); 9] = [
            ("https://h.example/p?q=1", &["https://h.example:443/p?q=1"]),
            ("https://h.example:443/p", &["https://h.example/p"]),
            ("http://h.example/p", &["http://h.example:80/p"]),
            ("http://h.example:80", &["http://h.example"]),
            ("HTTPS://h.example", &["HTTPS://h.example:443"]),
            ("https://h.example:8443/p", &[]),
            ("http://h.example:443/p", &[]),
            (
                "https://user:pw@h.example/p",
                &["https://user:pw@h.example:443/p"],
            ),
            ("https://[::1]/p", &["https://[::1]:443/p"]),
        ];
        for (url, others) in cases {
            let variants = url_port_variants(url);
            assert_eq!(variants[0], url);
            assert_eq!(&variants[1..], others, "{url}");
        }
        assert_eq!(
            url_port_variants("https://[::1]:443/p")[1],
            "https://[::1]/p"
        );
        assert_eq!(url_port_variants("ftp://h/p"), ["ftp://h/p"]);
        assert_eq!(url_port_variants("not a url"), ["not a url"]);
    }

    #[test]
    fn signature_settings_are_parsed_in_any_order_and_unknown_algorithms_refused() {
        let ok = |key: &str| {
            Ok(TwilioSignatureSettings {
                key_id: key.into(),
                algorithm: TwilioAlgorithm::HmacSha256,
            })
        };
        let malformed = |h: &str| Err(TwilioSignatureError::MalformedSettings(h.into()));
        let cases = [
            ("key=KS123,algorithm=HMAC_SHA256", ok("KS123")),
            ("algorithm=HMAC_SHA256, key=KS123", ok("KS123")),
            (" Key = KS1 , Algorithm = HMAC_SHA256 ", ok("KS1")),
            ("key=KS1,algorithm=HMAC_SHA256,version=2", ok("KS1")),
            (
                "key=KS1,algorithm=HMAC_SHA1",
                Err(TwilioSignatureError::UnknownAlgorithm("HMAC_SHA1".into())),
            ),
            (
                "key=KS1,algorithm=hmac_sha256",
                Err(TwilioSignatureError::UnknownAlgorithm("hmac_sha256".into())),
            ),
            ("key=KS1", malformed("key=KS1")),
            ("algorithm=HMAC_SHA256", malformed("algorithm=HMAC_SHA256")),
            (
                "key=,algorithm=HMAC_SHA256",
                malformed("key=,algorithm=HMAC_SHA256"),
            ),
            (
                "key=a,key=b,algorithm=HMAC_SHA256",
                malformed("key=a,key=b,algorithm=HMAC_SHA256"),
            ),
            ("key", malformed("key")),
            ("", malformed("")),
        ];
        for (header, expected) in cases {
            assert_eq!(
                TwilioSignatureSettings::parse(header),
                expected,
                "{header:?}"
            );
        }
    }

    #[test]
    fn a_shared_key_request_verifies_with_hmac_sha256_under_that_key() {
        let params = twilio_params();
        let shared = [
            TwilioSharedKey {
                id: "KSold",
                secret: "old-secret",
            },
            TwilioSharedKey {
                id: "KSnew",
                secret: "new-secret",
            },
        ];
        let keys = TwilioKeys {
            auth_token: Some(TWILIO_TOKEN),
            shared_keys: &shared,
        };
        let settings = Some("key=KSnew,algorithm=HMAC_SHA256");
        let signed = twilio_signature_with(
            TwilioAlgorithm::HmacSha256,
            "new-secret",
            TWILIO_URL,
            &params,
        );
        // 32 bytes of SHA-256 in base64, not SHA-1's 20.
        assert_eq!(signed.len(), 44);
        let signed_443 = twilio_signature_with(
            TwilioAlgorithm::HmacSha256,
            "new-secret",
            TWILIO_URL_443,
            &params,
        );
        let cases = [
            (settings, TWILIO_URL, Some(signed.as_str()), Ok(())),
            (settings, TWILIO_URL_443, Some(signed.as_str()), Ok(())),
            (settings, TWILIO_URL, Some(signed_443.as_str()), Ok(())),
            (None, TWILIO_URL, Some(TWILIO_SIGNATURE), Ok(())),
            (
                // The auth-token signature is no good once the settings name a shared key.
                settings,
                TWILIO_URL,
                Some(TWILIO_SIGNATURE),
                Err(TwilioSignatureError::Mismatch),
            ),
            (
                Some("key=KSold,algorithm=HMAC_SHA256"),
                TWILIO_URL,
                Some(signed.as_str()),
                Err(TwilioSignatureError::Mismatch),
            ),
            (
                Some("key=KSgone,algorithm=HMAC_SHA256"),
                TWILIO_URL,
                Some(signed.as_str()),
                Err(TwilioSignatureError::UnknownKey("KSgone".into())),
            ),
            (
                Some("key=KSnew,algorithm=RSA"),
                TWILIO_URL,
                Some(signed.as_str()),
                Err(TwilioSignatureError::UnknownAlgorithm("RSA".into())),
            ),
            (
                settings,
                TWILIO_URL,
                None,
                Err(TwilioSignatureError::MissingSignature),
            ),
            (
                None,
                TWILIO_URL,
                Some(signed.as_str()),
                Err(TwilioSignatureError::Mismatch),
            ),
        ];
        for (settings, url, signature, expected) in cases {
            assert_eq!(
                twilio_verify_request(&keys, settings, url, &params, signature),
                expected,
                "{settings:?} {url} {signature:?}"
            );
        }
    }

    #[test]
    fn an_auth_token_request_is_refused_when_no_auth_token_is_configured() {
        let keys = TwilioKeys::default();
        assert_eq!(
            twilio_verify_request(
                &keys,
                None,
                TWILIO_URL,
                &twilio_params(),
                Some(TWILIO_SIGNATURE)
            ),
            Err(TwilioSignatureError::NoAuthToken)
        );
        let shared = [TwilioSharedKey {
            id: "KS1",
            secret: "s",
        }];
        assert_eq!(format!("{:?}", shared[0]), "TwilioSharedKey(\"KS1\")");
    }

    // -- Stripe -------------------------------------------------------------------------------

    /// The stripe-python vector (PROTOCOLS.md).
    const STRIPE_SECRET: &str = "whsec_test_secret";
    const STRIPE_BODY: &[u8] =
        br#"{"id":"evt_test_webhook","object":"event","type":"checkout.session.completed"}"#;
    const STRIPE_T: i64 = 1_700_000_000;
    const STRIPE_V1: &str = "1fa73ff7286785daa8168695a709e92ce31d02a9202648cb27a1c5f2e233f517";

    fn stripe_header(items: &str) -> String {
        items.replace("SIG", STRIPE_V1)
    }

    #[test]
    fn stripe_sign_reproduces_the_published_header() {
        assert_eq!(
            stripe_sign(STRIPE_SECRET, STRIPE_T, STRIPE_BODY),
            format!("t={STRIPE_T},v1={STRIPE_V1}")
        );
    }

    #[test]
    fn the_published_stripe_header_verifies_in_its_accepted_forms() {
        let headers = [
            "t=1700000000,v1=SIG",
            "v1=SIG,t=1700000000",
            "t=1700000000,v1=0000,v1=SIG",
            "t=1700000000,v1=SIG,v1=0000",
            "t=1700000000,v0=abcd,v1=SIG",
            "t=1700000000, v1=SIG",
            "t=1700000000,v1=SIG,x-future=1",
        ];
        for header in headers {
            let header = stripe_header(header);
            assert_eq!(
                stripe_verify(STRIPE_SECRET, &header, STRIPE_BODY, STRIPE_T, 300),
                Ok(()),
                "{header}"
            );
        }
    }

    #[test]
    fn stripe_refusals_name_their_reason() {
        use StripeSignatureError::*;
        let tampered =
            br#"{"id":"evt_test_webhook","object":"event","type":"checkout.session.expired"}"#;
        let cases: Vec<(&str, &str, &[u8], i64, StripeSignatureError)> = vec![
            (
                STRIPE_SECRET,
                "t=1700000000,v1=SIG",
                tampered,
                STRIPE_T,
                Mismatch,
            ),
            (
                "whsec_other",
                "t=1700000000,v1=SIG",
                STRIPE_BODY,
                STRIPE_T,
                Mismatch,
            ),
            (
                STRIPE_SECRET,
                "t=1700000001,v1=SIG",
                STRIPE_BODY,
                STRIPE_T,
                Mismatch,
            ),
            (
                STRIPE_SECRET,
                "t=1700000000,v1=0000",
                STRIPE_BODY,
                STRIPE_T,
                Mismatch,
            ),
            (
                STRIPE_SECRET,
                "t=1700000000,v0=SIG",
                STRIPE_BODY,
                STRIPE_T,
                NoV1Signature,
            ),
            (
                STRIPE_SECRET,
                "t=1700000000",
                STRIPE_BODY,
                STRIPE_T,
                NoV1Signature,
            ),
            (
                STRIPE_SECRET,
                "v1=SIG",
                STRIPE_BODY,
                STRIPE_T,
                MalformedHeader,
            ),
            (
                STRIPE_SECRET,
                "t=soon,v1=SIG",
                STRIPE_BODY,
                STRIPE_T,
                MalformedHeader,
            ),
            (
                STRIPE_SECRET,
                "t=1700000000,t=1700000000,v1=SIG",
                STRIPE_BODY,
                STRIPE_T,
                MalformedHeader,
            ),
            (
                STRIPE_SECRET,
                "t=1700000000;v1=SIG",
                STRIPE_BODY,
                STRIPE_T,
                MalformedHeader,
            ),
            (STRIPE_SECRET, "", STRIPE_BODY, STRIPE_T, MalformedHeader),
            (
                STRIPE_SECRET,
                "t=1700000000,v1=SIG",
                STRIPE_BODY,
                STRIPE_T + 301,
                TooOld {
                    timestamp: STRIPE_T,
                    now: STRIPE_T + 301,
                },
            ),
            (
                STRIPE_SECRET,
                "t=1700000000,v1=SIG",
                STRIPE_BODY,
                STRIPE_T - 301,
                TooOld {
                    timestamp: STRIPE_T,
                    now: STRIPE_T - 301,
                },
            ),
        ];
        for (secret, header, body, now, error) in cases {
            let header = stripe_header(header);
            assert_eq!(
                stripe_verify(secret, &header, body, now, STRIPE_TOLERANCE_S),
                Err(error),
                "{secret} {header} at {now}"
            );
        }
    }

    /// Computed and accepted by stripe-python 16.1 (`WebhookSignature`), with another secret, a
    /// UTF-8 body and decoy signatures around the real one.
    #[test]
    fn stripe_agrees_with_stripe_python_on_another_secret_and_body() {
        let secret = "whsec_other_Secret";
        let body = "{\"id\":\"evt_1\",\"amount\":1999,\"note\":\"caf\u{e9}\"}";
        let v1 = "8cb886d14a7a50bfef90138f70d6ec0776382d28ea3b69992217ca2173733320";
        let t = 1_712_345_678;
        assert_eq!(
            stripe_sign(secret, t, body.as_bytes()),
            format!("t={t},v1={v1}")
        );
        let header = format!("t={t},v0=dead,v1=beef,v1={v1}");
        assert_eq!(
            stripe_verify(secret, &header, body.as_bytes(), t + 10, STRIPE_TOLERANCE_S),
            Ok(())
        );
    }

    #[test]
    fn the_stripe_tolerance_is_inclusive_and_survives_absurd_timestamps() {
        let header = stripe_header("t=1700000000,v1=SIG");
        for now in [STRIPE_T - 300, STRIPE_T + 300] {
            assert_eq!(
                stripe_verify(STRIPE_SECRET, &header, STRIPE_BODY, now, 300),
                Ok(())
            );
        }
        assert!(stripe_verify(STRIPE_SECRET, &header, STRIPE_BODY, i64::MIN, 300).is_err());
        assert!(stripe_verify(STRIPE_SECRET, &header, STRIPE_BODY, STRIPE_T, -1).is_err());
        let far = stripe_sign(STRIPE_SECRET, i64::MAX, b"{}");
        assert!(matches!(
            stripe_verify(STRIPE_SECRET, &far, b"{}", i64::MIN, i64::MAX),
            Err(StripeSignatureError::TooOld { .. })
        ));
    }

    #[test]
    fn refusal_messages_read_for_a_log_and_clip_what_came_from_outside() {
        let long = "k".repeat(500);
        let message = TwilioSignatureError::UnknownKey(clip(&long)).to_string();
        assert!(message.len() < 100, "{message}");
        assert_eq!(
            StripeSignatureError::NoV1Signature.to_string(),
            "Stripe-Signature has no v1 signature"
        );
        assert_eq!(
            InitDataError::DuplicateField("a\nb".into()).to_string(),
            "initData repeats the field \"a\\nb\""
        );
    }
}
