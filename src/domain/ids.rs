//! Identifier newtypes. Every id the application passes around is one of these, never a bare
//! `String`, so a request id cannot be handed where a job id is expected.

use std::fmt;

/// Declares a string-backed id newtype with `as_str`, `Display` and `From<Self> for String`.
macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
    };
}

string_id!(
    /// Names one request in logs, responses (`X-Request-Id`) and audit rows.
    RequestId
);

/// The longest caller-supplied request id we adopt; longer ones are replaced.
const MAX_INCOMING_REQUEST_ID: usize = 128;

impl RequestId {
    /// A fresh random id (UUID v4 form) from 16 random bytes supplied by the caller.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        Self(
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string(),
        )
    }

    /// Adopts the id a trusted proxy or client already gave the request, so one id follows it
    /// across systems, but only if it is short and made of characters safe in logs and headers.
    pub fn from_incoming(value: &str) -> Option<Self> {
        let ok = !value.is_empty()
            && value.len() <= MAX_INCOMING_REQUEST_ID
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
        ok.then(|| Self(value.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_random_request_id_is_a_version_4_uuid() {
        let id = RequestId::from_random([0xAB; 16]);
        let parsed = uuid::Uuid::parse_str(id.as_str()).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        assert_ne!(id, RequestId::from_random([0xAC; 16]));
    }

    #[test]
    fn incoming_request_ids_are_adopted_only_when_safe() {
        let cases: &[(&str, bool)] = &[
            ("abc-123", true),
            ("8f1c2d3e-0000-4000-8000-000000000000", true),
            ("ray:7d1a2b.fra", true),
            ("", false),
            ("has space", false),
            ("line\nbreak", false),
            ("quote\"", false),
            ("<script>", false),
            ("é", false),
        ];
        for (input, adopted) in cases {
            assert_eq!(
                RequestId::from_incoming(input).is_some(),
                *adopted,
                "input {input:?}"
            );
        }
        assert!(RequestId::from_incoming(&"a".repeat(128)).is_some());
        assert!(RequestId::from_incoming(&"a".repeat(129)).is_none());
    }
}
