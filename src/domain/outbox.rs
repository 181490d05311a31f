//! What happens to a message in the outbox after a send attempt. Neither Cloudflare's Email
//! Service nor Twilio takes an idempotency key, so "never twice" decides everything here: a
//! send refused for certain (the provider answered no, or was never reached) is retried with
//! backoff; a send whose outcome is unknown (the call was cut off after it may have reached
//! the provider) is never resent by itself, and shows as such.

use crate::domain::time::Millis;

/// Waits before each retry of a send that failed for certain; after the last, it has failed.
pub const RETRY_AFTER_MS: [u64; 4] = [
    Millis::MINUTE,
    5 * Millis::MINUTE,
    30 * Millis::MINUTE,
    2 * Millis::HOUR,
];
/// A row claimed for sending longer ago than this was cut off mid-send: its outcome is
/// unknown. Work after a response ends within 30 s on Workers.
pub const LEASE_MS: u64 = 2 * Millis::MINUTE;

/// How a send attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The provider took it, with its id for the message.
    Sent { provider_id: String },
    /// It did not go, for certain (refused, or never reached the provider).
    NotSent { reason: String, permanent: bool },
    /// The call broke off after the request may have reached the provider: whether it went
    /// out cannot be told, so it is never resent by itself.
    Unclear { reason: String },
}

/// Where a message stands after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum After {
    Sent {
        provider_id: String,
    },
    /// Queued again, to be tried at `at` (ms).
    Retry {
        at: u64,
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// Claimed and never finished, or its call broke off: it may or may not have gone out
    /// (see [`LEASE_MS`]).
    Unknown {
        reason: String,
    },
}

/// Why a message claimed longer ago than [`LEASE_MS`] is unknown.
pub const CUT_OFF: &str = "cut off while sending: it may or may not have gone out";

/// The message's state after its `attempts`th attempt ended as `attempt`, at `now`.
pub fn after(attempt: Attempt, attempts: u32, now: Millis) -> After {
    match attempt {
        Attempt::Sent { provider_id } => After::Sent { provider_id },
        Attempt::Unclear { reason } => After::Unknown { reason },
        Attempt::NotSent { reason, permanent } => {
            let wait = usize::try_from(attempts.saturating_sub(1))
                .ok()
                .and_then(|i| RETRY_AFTER_MS.get(i));
            match (permanent, wait) {
                (false, Some(wait)) => After::Retry {
                    at: now.0.saturating_add(*wait),
                    reason,
                },
                _ => After::Failed { reason },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_sent(permanent: bool) -> Attempt {
        Attempt::NotSent {
            reason: "no".into(),
            permanent,
        }
    }

    #[test]
    fn a_certain_failure_is_retried_with_growing_waits_then_given_up() {
        let now = Millis(1_000_000);
        let waits: Vec<u64> = (1..=4)
            .map(|n| match after(not_sent(false), n, now) {
                After::Retry { at, .. } => at - now.0,
                other => panic!("attempt {n}: {other:?}"),
            })
            .collect();
        assert_eq!(waits, RETRY_AFTER_MS.to_vec());
        assert!(matches!(
            after(not_sent(false), 5, now),
            After::Failed { .. }
        ));
    }

    #[test]
    fn a_refusal_that_cannot_change_is_not_retried() {
        assert!(matches!(
            after(not_sent(true), 1, Millis(0)),
            After::Failed { .. }
        ));
    }

    #[test]
    fn a_call_that_broke_off_is_never_resent() {
        let broke = Attempt::Unclear {
            reason: "connection reset".into(),
        };
        assert_eq!(
            after(broke, 1, Millis(0)),
            After::Unknown {
                reason: "connection reset".into()
            }
        );
    }

    #[test]
    fn a_send_the_provider_took_is_sent_with_its_id() {
        assert_eq!(
            after(
                Attempt::Sent {
                    provider_id: "m1".into()
                },
                1,
                Millis(0)
            ),
            After::Sent {
                provider_id: "m1".into()
            }
        );
    }
}
