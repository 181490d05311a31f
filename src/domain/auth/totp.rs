//! Two-factor sign-in: TOTP secrets and codes (RFC 6238 over RFC 4226 HOTP), the `otpauth://`
//! enrolment URI, and recovery codes. Pure: the time and the random bytes come in as arguments.

use std::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use super::session::sha256_hex;

/// Six digits, 30-second steps and SHA-1 are what our codes use: it is what authenticator apps
/// actually support, and some ignore the URI's parameters and assume exactly this.
pub const DIGITS: u32 = 6;
pub const STEP_SECONDS: u64 = 30;
pub const ALGORITHM: Algorithm = Algorithm::Sha1;
/// Bytes in a secret we generate: 160 bits, the length RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;
/// The shortest secret we accept back: 128 bits, RFC 4226's minimum.
pub const MIN_SECRET_BYTES: usize = 16;
/// Recovery codes handed out at enrolment, all at once.
pub const RECOVERY_CODE_COUNT: usize = 10;
/// Characters in a recovery code, dashes aside: 12 × 5 bits = 60 bits of entropy.
pub const RECOVERY_CODE_CHARS: usize = 12;

/// The HMAC hash of an HOTP/TOTP code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl Algorithm {
    /// The name the `otpauth://` URI uses.
    pub fn uri_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

/// Why a code or a secret was refused. The messages are shown to the person signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpError {
    /// Not six digits once spaces are removed.
    Malformed,
    /// Matches a time step at or before the last one accepted: a replay.
    Replayed,
    /// Matches none of the accepted time steps.
    Invalid,
    /// A secret with characters outside base32, or a length no encoder produces.
    SecretNotBase32,
    /// A secret shorter than [`MIN_SECRET_BYTES`].
    SecretTooShort,
}

impl fmt::Display for TotpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TotpError::Malformed => "The code must be 6 digits.",
            TotpError::Replayed => "That code has already been used.",
            TotpError::Invalid => "That code is not valid.",
            TotpError::SecretNotBase32 => {
                "The secret key is not valid: it uses only the letters A to Z and the digits 2 to 7."
            }
            TotpError::SecretTooShort => "The secret key is too short.",
        })
    }
}

impl std::error::Error for TotpError {}

/// A shared TOTP secret. We generate [`SECRET_BYTES`]; a secret read back may be any length
/// from [`MIN_SECRET_BYTES`] up, so the bytes are held as a `Vec`.
#[derive(Clone)]
pub struct TotpSecret(Vec<u8>);

impl TotpSecret {
    pub fn from_random(bytes: [u8; SECRET_BYTES]) -> TotpSecret {
        TotpSecret(bytes.to_vec())
    }

    /// Upper-case RFC 4648 base32 without padding: the form authenticator apps take.
    pub fn to_base32(&self) -> String {
        base32_encode(&self.0, UPPER_ALPHABET)
    }

    /// Reads a secret as typed or stored: case, spaces and trailing `=` padding are forgiven.
    pub fn from_base32(text: &str) -> Result<TotpSecret, TotpError> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes =
            base32_decode(compact.trim_end_matches('=')).ok_or(TotpError::SecretNotBase32)?;
        if bytes.len() < MIN_SECRET_BYTES {
            return Err(TotpError::SecretTooShort);
        }
        Ok(TotpSecret(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Never prints the key, so a secret in a logged struct does not leak.
impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TotpSecret({} bytes)", self.0.len())
    }
}

/// RFC 4226 HOTP: HMAC of the big-endian counter, dynamically truncated to 31 bits, reduced to
/// `digits` decimal digits (a `digits` above 9 leaves the 31-bit value whole).
pub fn hotp(key: &[u8], counter: u64, digits: u32, algorithm: Algorithm) -> u32 {
    let message = counter.to_be_bytes();
    let digest = match algorithm {
        Algorithm::Sha1 => hmac::<Hmac<Sha1>>(key, &message),
        Algorithm::Sha256 => hmac::<Hmac<Sha256>>(key, &message),
        Algorithm::Sha512 => hmac::<Hmac<Sha512>>(key, &message),
    };
    // Every digest here has at least 20 bytes, so `offset + 3` (at most 18) is in range.
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let truncated = u32::from(digest[offset] & 0x7f) << 24
        | u32::from(digest[offset + 1]) << 16
        | u32::from(digest[offset + 2]) << 8
        | u32::from(digest[offset + 3]);
    match 10u32.checked_pow(digits) {
        Some(modulus) => truncated % modulus,
        None => truncated,
    }
}

/// RFC 6238 TOTP at a Unix time (T0 = 0, [`STEP_SECONDS`] steps), zero-padded to `digits`.
pub fn totp_at(key: &[u8], unix_seconds: u64, digits: u32, algorithm: Algorithm) -> String {
    let step = unix_seconds / STEP_SECONDS;
    zero_padded(hotp(key, step, digits, algorithm), digits)
}

/// The enrolment URI an authenticator app reads from a QR code. Issuer and account are
/// percent-encoded so a ':' in either cannot be taken for the label's separator.
pub fn otpauth_uri(issuer: &str, account: &str, secret: &TotpSecret) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm={algorithm}&digits={DIGITS}&period={STEP_SECONDS}",
        account = percent_encode(account),
        secret = secret.to_base32(),
        algorithm = ALGORITHM.uri_name(),
    )
}

/// Checks a six-digit code typed by the user against the steps just before, at and just
/// after `now_unix` (clocks drift and people type slowly). Answers the matched step, which the
/// caller stores as the new `last_used_step`: a step at or before it is refused as a replay,
/// so each code signs in once.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    now_unix: u64,
    last_used_step: Option<u64>,
) -> Result<u64, TotpError> {
    let typed: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TotpError::Malformed);
    }
    let now_step = now_unix / STEP_SECONDS;
    let candidates = [
        now_step.checked_sub(1),
        Some(now_step),
        now_step.checked_add(1),
    ];
    let mut accepted = None;
    let mut replayed = false;
    // Every candidate is computed and compared, without stopping at a match, so the time
    // taken does not tell which step (or how much of a code) was right.
    for step in candidates.into_iter().flatten() {
        let expected = zero_padded(hotp(secret.as_bytes(), step, DIGITS, ALGORITHM), DIGITS);
        let matches = constant_time_eq(expected.as_bytes(), typed.as_bytes());
        let fresh = last_used_step.is_none_or(|last| step > last);
        if matches && fresh {
            // Steps rise through the loop, so the latest fresh match wins.
            accepted = Some(step);
        } else if matches {
            replayed = true;
        }
    }
    match (accepted, replayed) {
        (Some(step), _) => Ok(step),
        (None, true) => Err(TotpError::Replayed),
        (None, false) => Err(TotpError::Invalid),
    }
}

/// A recovery code in its one canonical form (12 lower-case base32 characters, no dashes), as
/// hashed and stored. Only [`normalize_recovery_code`] makes one, so what is typed and what was
/// issued hash alike.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Never prints the code: it signs in as well as a password does.
impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// Ten one-time recovery codes shown as `xxxx-xxxx-xxxx`, each from its own 8 random bytes of
/// which the first 60 bits are used. Two codes from independent random bytes collide with
/// probability about 2⁻⁶⁰, so the list is distinct in practice without a check.
pub fn recovery_codes(random: &[u8; RECOVERY_CODE_COUNT * 8]) -> Vec<String> {
    random
        .chunks_exact(8)
        .map(|chunk| {
            // 64 bits encode to 13 characters; the first 12 carry the first 60 bits.
            let chars = &base32_encode(chunk, LOWER_ALPHABET)[..RECOVERY_CODE_CHARS];
            format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])
        })
        .collect()
}

/// Reads a recovery code as typed: any case, with or without spaces and dashes. `None` when
/// what remains is not 12 characters of the code alphabet.
pub fn normalize_recovery_code(input: &str) -> Option<RecoveryCode> {
    let compact: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let well_formed = compact.len() == RECOVERY_CODE_CHARS
        && compact.bytes().all(|b| LOWER_ALPHABET.contains(&b));
    well_formed.then_some(RecoveryCode(compact))
}

/// Lower-case hex SHA-256 of a recovery code, the form stored. A fast unsalted hash is enough
/// here, unlike for passwords: each code carries 60 random bits, so guessing one from its hash
/// is out of reach however fast the hash is.
pub fn hash_recovery_code(code: &RecoveryCode) -> String {
    sha256_hex(code.as_str())
}

const UPPER_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const LOWER_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// RFC 4648 base32 without padding, in the given alphabet.
fn base32_encode(bytes: &[u8], alphabet: &[u8; 32]) -> String {
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(5));
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = buffer << 8 | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(alphabet[(buffer >> bits & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(alphabet[(buffer << (5 - bits) & 31) as usize]));
    }
    out
}

/// Unpadded RFC 4648 base32 in either case. Canonical only: a length no encoder produces (1,
/// 3 or 6 characters past a multiple of 8) or non-zero leftover bits is refused, so each
/// secret has exactly one spelling.
fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for byte in text.bytes() {
        let value = match byte.to_ascii_uppercase() {
            letter @ b'A'..=b'Z' => letter - b'A',
            digit @ b'2'..=b'7' => digit - b'2' + 26,
            _ => return None,
        };
        buffer = buffer << 5 | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    (bits < 5 && buffer == 0).then_some(out)
}

/// HMAC of `message` under `key`.
fn hmac<M: Mac + KeyInit>(key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC hashes long keys and pads short ones, so no key length is refused.
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn zero_padded(code: u32, digits: u32) -> String {
    format!("{code:0width$}", width = digits as usize)
}

/// Equality whose time depends on the lengths only, not on where the bytes first differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// RFC 3986 percent-encoding: unreserved characters kept, every other UTF-8 byte as `%XX`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA1_SEED: &[u8] = b"12345678901234567890";
    const SHA256_SEED: &[u8] = b"12345678901234567890123456789012";
    const SHA512_SEED: &[u8] = b"1234567890123456789012345678901234567890123456789012345678901234";

    /// The RFC 6238 SHA1 seed as a secret.
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_random(*b"12345678901234567890")
    }

    /// A step well past zero, and a time in the middle of it.
    const STEP: u64 = 1_234_567_890 / STEP_SECONDS;
    const NOW: u64 = STEP * STEP_SECONDS + 15;

    fn code_at_step(step: u64) -> String {
        zero_padded(hotp(SHA1_SEED, step, DIGITS, Algorithm::Sha1), DIGITS)
    }

    #[test]
    fn hotp_matches_every_rfc_4226_vector() {
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(
                hotp(SHA1_SEED, counter as u64, 6, Algorithm::Sha1),
                code,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn totp_matches_every_rfc_6238_vector_for_each_algorithm() {
        let cases: [(u64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (time, sha1, sha256, sha512) in cases {
            assert_eq!(
                totp_at(SHA1_SEED, time, 8, Algorithm::Sha1),
                sha1,
                "SHA1 at {time}"
            );
            assert_eq!(
                totp_at(SHA256_SEED, time, 8, Algorithm::Sha256),
                sha256,
                "SHA256 at {time}"
            );
            assert_eq!(
                totp_at(SHA512_SEED, time, 8, Algorithm::Sha512),
                sha512,
                "SHA512 at {time}"
            );
        }
    }

    #[test]
    fn base32_matches_the_rfc_4648_vectors_without_padding() {
        let cases = [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base32_encode(plain.as_bytes(), UPPER_ALPHABET), encoded);
            assert_eq!(
                base32_decode(encoded).as_deref(),
                Some(plain.as_bytes()),
                "{encoded}"
            );
        }
    }

    #[test]
    fn base32_round_trips_every_length_and_byte_value() {
        let bytes: Vec<u8> = (0..=255).collect();
        for len in 0..40 {
            let slice = &bytes[256 - len..];
            let encoded = base32_encode(slice, UPPER_ALPHABET);
            assert_eq!(
                base32_decode(&encoded).as_deref(),
                Some(slice),
                "length {len}"
            );
        }
    }

    #[test]
    fn base32_decoding_refuses_lengths_and_trailing_bits_no_encoder_produces() {
        let cases = [
            ("MY", true),
            ("MZXQ", true),
            ("M", false),
            ("MZX", false),
            ("MZXW6Y", false),
            ("MZ", false),
            ("MZXR", false),
        ];
        for (text, canonical) in cases {
            assert_eq!(base32_decode(text).is_some(), canonical, "{text}");
        }
    }

    #[test]
    fn a_secret_round_trips_through_base32_forgiving_case_spaces_and_padding() {
        let secret = rfc_secret();
        let encoded = secret.to_base32();
        assert_eq!(encoded, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let typed = [
            "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
            &encoded,
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====",
        ];
        for text in typed {
            let read = TotpSecret::from_base32(text);
            assert_eq!(
                read.as_ref().map(TotpSecret::as_bytes),
                Ok(SHA1_SEED),
                "{text}"
            );
        }
    }

    #[test]
    fn a_secret_with_bad_characters_or_under_128_bits_is_refused() {
        let cases = [
            (
                "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",
                TotpError::SecretNotBase32,
            ),
            (
                "GEZDGNBVGY3TQOJQ-GEZDGNBVGY3TQOJQ",
                TotpError::SecretNotBase32,
            ),
            (
                "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQÉ",
                TotpError::SecretNotBase32,
            ),
            ("GEZDGNBVGY3TQOJQGEZDGNBV", TotpError::SecretTooShort),
            ("", TotpError::SecretTooShort),
        ];
        for (text, error) in cases {
            assert_eq!(
                TotpSecret::from_base32(text).map(|_| ()),
                Err(error),
                "{text}"
            );
        }
        // 16 bytes is the shortest accepted.
        let sixteen = base32_encode(&[7; 16], UPPER_ALPHABET);
        assert!(TotpSecret::from_base32(&sixteen).is_ok());
    }

    #[test]
    fn a_secret_is_never_printed_by_debug() {
        let printed = format!("{:?}", rfc_secret());
        assert_eq!(printed, "TotpSecret(20 bytes)");
    }

    #[test]
    fn the_enrolment_uri_encodes_issuer_and_account_and_names_our_parameters() {
        let uri = otpauth_uri("Acme Plumbing: North", "ann@example.com", &rfc_secret());
        assert_eq!(
            uri,
            "otpauth://totp/Acme%20Plumbing%3A%20North:ann%40example.com\
             ?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Plumbing%3A%20North\
             &algorithm=SHA1&digits=6&period=30"
        );
        assert_eq!(percent_encode("a-b.c_d~é"), "a-b.c_d~%C3%A9");
    }

    #[test]
    fn verify_accepts_the_previous_current_and_next_step_and_answers_it() {
        let secret = rfc_secret();
        for step in [STEP - 1, STEP, STEP + 1] {
            assert_eq!(
                verify(&secret, &code_at_step(step), NOW, None),
                Ok(step),
                "step {step}"
            );
        }
    }

    #[test]
    fn verify_refuses_codes_two_steps_away() {
        let secret = rfc_secret();
        for step in [STEP - 2, STEP + 2] {
            assert_eq!(
                verify(&secret, &code_at_step(step), NOW, None),
                Err(TotpError::Invalid)
            );
        }
    }

    #[test]
    fn verify_refuses_a_code_from_the_last_used_step_or_before() {
        let secret = rfc_secret();
        let cases = [
            (STEP, Some(STEP), Err(TotpError::Replayed)),
            (STEP - 1, Some(STEP), Err(TotpError::Replayed)),
            (STEP, Some(STEP + 1), Err(TotpError::Replayed)),
            (STEP + 1, Some(STEP), Ok(STEP + 1)),
            (STEP, Some(STEP - 1), Ok(STEP)),
        ];
        for (step, last_used, outcome) in cases {
            assert_eq!(
                verify(&secret, &code_at_step(step), NOW, last_used),
                outcome,
                "step {step}"
            );
        }
    }

    #[test]
    fn verify_ignores_spaces_and_refuses_anything_but_six_digits() {
        let secret = rfc_secret();
        let code = code_at_step(STEP);
        let spaced = format!(" {} {} ", &code[..3], &code[3..]);
        assert_eq!(verify(&secret, &spaced, NOW, None), Ok(STEP));
        for typed in [
            "",
            "12345",
            "1234567",
            "12345a",
            "12-345",
            "１２３４５６",
            "+12345",
        ] {
            assert_eq!(
                verify(&secret, typed, NOW, None),
                Err(TotpError::Malformed),
                "{typed:?}"
            );
        }
    }

    #[test]
    fn verify_at_the_first_step_does_not_look_before_time_zero() {
        let secret = rfc_secret();
        assert_eq!(verify(&secret, &code_at_step(0), 0, None), Ok(0));
        assert_eq!(verify(&secret, &code_at_step(1), 0, None), Ok(1));
    }

    #[test]
    fn errors_read_as_messages_for_the_user() {
        assert_eq!(
            TotpError::Malformed.to_string(),
            "The code must be 6 digits."
        );
        assert_eq!(
            TotpError::Replayed.to_string(),
            "That code has already been used."
        );
        assert_eq!(TotpError::Invalid.to_string(), "That code is not valid.");
    }

    fn counting_bytes() -> [u8; 80] {
        std::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(11))
    }

    #[test]
    fn recovery_codes_are_ten_distinct_well_formed_codes() {
        let codes = recovery_codes(&counting_bytes());
        assert_eq!(codes.len(), RECOVERY_CODE_COUNT);
        for code in &codes {
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(
                groups.iter().map(|g| g.len()).collect::<Vec<_>>(),
                [4, 4, 4],
                "{code}"
            );
            assert!(
                groups.concat().bytes().all(|b| LOWER_ALPHABET.contains(&b)),
                "{code}"
            );
            assert!(normalize_recovery_code(code).is_some(), "{code}");
        }
        let mut distinct = codes.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
    }

    #[test]
    fn a_recovery_code_uses_the_first_60_bits_of_its_eight_bytes() {
        let mut random = [0u8; 80];
        random[..8].copy_from_slice(&[0xff, 0, 0, 0, 0, 0, 0, 0x0f]);
        let codes = recovery_codes(&random);
        // 0xff → "77" then three zero bits; the last byte's low nibble is past bit 60.
        assert_eq!(codes[0], "74aa-aaaa-aaaa");
        assert_eq!(codes[1], "aaaa-aaaa-aaaa");
    }

    #[test]
    fn recovery_codes_are_normalized_whatever_the_case_spaces_and_dashes() {
        let cases = [
            ("abcd-efgh-jklm", Some("abcdefghjklm")),
            ("ABCD EFGH-jklm", Some("abcdefghjklm")),
            (" abcdefghjklm ", Some("abcdefghjklm")),
            ("ab-cd-ef-gh-jk-lm", Some("abcdefghjklm")),
            ("abcd-efgh-jkl", None),
            ("abcd-efgh-jklmn", None),
            ("abcd-efgh-jkl1", None),
            ("abcd-efgh-jkl0", None),
            ("abcd_efgh_jklm", None),
            ("", None),
        ];
        for (typed, normalized) in cases {
            let read = normalize_recovery_code(typed);
            assert_eq!(
                read.as_ref().map(RecoveryCode::as_str),
                normalized,
                "{typed:?}"
            );
        }
    }

    #[test]
    fn a_recovery_code_hashes_stably_to_lowercase_hex_sha256() {
        let typed = normalize_recovery_code("ABCD EFGH-jklm");
        let issued = normalize_recovery_code("abcd-efgh-jklm");
        let (Some(typed), Some(issued)) = (typed, issued) else {
            panic!("both forms should normalize");
        };
        assert_eq!(hash_recovery_code(&typed), hash_recovery_code(&issued));
        assert_eq!(
            hash_recovery_code(&typed),
            "e3b6da166f86a727c3da146f5319672be8e82da99170aed9b186d25eecf52f14"
        );
        assert_eq!(format!("{typed:?}"), "RecoveryCode(..)");
    }
}
