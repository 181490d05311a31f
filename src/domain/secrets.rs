//! Comparing secrets without leaking, through timing, how much of a guess was right.

use sha2::{Digest, Sha256};

/// Constant-time equality of two secrets of any length.
///
/// Both sides are hashed first, so the comparison always runs over 32 bytes and its duration
/// tells nothing about the expected secret's length or content.
pub fn secrets_match(presented: &[u8], expected: &[u8]) -> bool {
    let a = Sha256::digest(presented);
    let b = Sha256::digest(expected);
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    diff == 0
}

/// The token of an `Authorization: Bearer <token>` header, if that is what the header holds.
pub fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_secrets_match_and_different_ones_do_not() {
        assert!(secrets_match(b"s3cret-token", b"s3cret-token"));
        assert!(!secrets_match(b"s3cret-token", b"s3cret-tokeN"));
        assert!(!secrets_match(b"s3cret", b"s3cret-token"));
        assert!(!secrets_match(b"", b"s3cret-token"));
    }

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        let cases: &[(&str, Option<&str>)] = &[
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER   abc  ", Some("abc")),
            ("Basic abc", None),
            ("Bearer", None),
            ("Bearer ", None),
            ("Bearer a b", None),
            ("abc", None),
        ];
        for (header, expected) in cases {
            assert_eq!(bearer_token(header), *expected, "header {header:?}");
        }
    }
}
