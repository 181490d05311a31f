//! Deleting the whole company: what an owner must give to ask for it, the grace period during
//! which any owner can cancel, where a request stands at a given instant, and which paths
//! still answer once the company is gone (the operator's, so `scripts/tenant destroy` works).

use crate::domain::time::Millis;

/// How long a request waits before the company is deleted: every owner can cancel until then.
pub const GRACE_MS: u64 = 7 * Millis::DAY;

/// The R2 object that says the company was deleted: written once at completion and never
/// removed by the purge, so the answer survives a restore of D1 to an earlier point.
pub const MARKER_KEY: &str = "company-deleted";

/// Which top-level folder of R2 (a delimited prefix as listed, with or without its `/`) the
/// purge empties, as the prefix to list it by; `None` for the audit trail's anchors, which
/// stay like the audit tables they vouch for (and sit under a bucket lock in production, so
/// deleting them would fail the purge for good).
pub fn purged_folder(listed: &str) -> Option<String> {
    let folder = if listed.ends_with('/') {
        listed.to_owned()
    } else {
        format!("{listed}/")
    };
    (!crate::domain::audit::ANCHOR_PREFIX.starts_with(&folder)).then_some(folder)
}

/// What the Worker answers every request with once the company was deleted.
pub const GONE: &str = "This company was deleted.";

/// Where a deletion request stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No request is open.
    None,
    /// Asked for; deleted at `effective_at` unless an owner cancels first.
    Pending { effective_at: i64 },
    /// The grace period is over and nothing is deleted yet: the next request (or the cron)
    /// carries it out.
    Due,
    /// Carried out: the data keys are gone; `purged` once R2 and KV are empty too.
    Deleted { purged: bool },
}

impl Standing {
    /// The standing of a request row (`status`, `effective_at`, whether it was purged) at `now`.
    pub fn of(status: &str, effective_at: i64, purged: bool, now: Millis) -> Self {
        match status {
            "completed" => Self::Deleted { purged },
            "pending" if effective_at <= now.0 as i64 => Self::Due,
            "pending" => Self::Pending { effective_at },
            _ => Self::None,
        }
    }

    pub fn is_deleted(self) -> bool {
        matches!(self, Self::Deleted { .. })
    }
}

/// When a request made at `now` takes effect.
pub fn effective_at(now: Millis) -> i64 {
    now.plus(GRACE_MS).0 as i64
}

/// Why a request to delete the company is refused, for the field that is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub field: &'static str,
    pub message: String,
}

/// The company's name, typed exactly (no trimming, no case folding): the owner shows they know
/// which company they are deleting.
pub fn check_name(typed: &str, company: &str) -> Result<(), Refused> {
    if typed == company {
        return Ok(());
    }
    Err(Refused {
        field: "company_name",
        message: format!("Type the company's name exactly as it is: {company}"),
    })
}

/// The paths that keep answering once the company is gone: liveness for the platform's
/// checks, and the operator's routes (`scripts/tenant destroy` and the tests' clock).
pub fn stays_open(path: &str) -> bool {
    matches!(path, "/healthz" | "/health") || path.starts_with("/ops/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = Millis(1_800_000_000_000);

    #[test]
    fn the_purge_empties_every_folder_but_the_audit_anchors() {
        let cases = [
            ("files/", Some("files/")),
            ("exports", Some("exports/")),
            ("outbox/", Some("outbox/")),
            ("aud/", Some("aud/")),
            ("aud", Some("aud/")),
            ("audit/", None),
            ("audit", None),
        ];
        for (listed, expected) in cases {
            assert_eq!(purged_folder(listed).as_deref(), expected, "{listed}");
        }
    }

    #[test]
    fn a_request_is_pending_for_seven_days_then_due() {
        let effective = effective_at(NOW);
        assert_eq!(effective - NOW.0 as i64, 7 * 86_400_000);
        let cases = [
            (
                NOW,
                Standing::Pending {
                    effective_at: effective,
                },
            ),
            (
                NOW.plus(GRACE_MS - 1),
                Standing::Pending {
                    effective_at: effective,
                },
            ),
            (NOW.plus(GRACE_MS), Standing::Due),
            (NOW.plus(GRACE_MS + Millis::DAY), Standing::Due),
        ];
        for (at, expected) in cases {
            assert_eq!(
                Standing::of("pending", effective, false, at),
                expected,
                "{at:?}"
            );
        }
    }

    #[test]
    fn cancelled_requests_stand_for_nothing_and_completed_ones_for_ever() {
        let effective = effective_at(NOW);
        let later = NOW.plus(GRACE_MS * 10);
        assert_eq!(
            Standing::of("cancelled", effective, false, later),
            Standing::None
        );
        assert_eq!(
            Standing::of("completed", effective, false, later),
            Standing::Deleted { purged: false }
        );
        assert!(Standing::of("completed", effective, true, NOW).is_deleted());
        assert!(!Standing::Due.is_deleted());
    }

    #[test]
    fn the_company_name_must_be_typed_exactly() {
        assert!(check_name("Acme Heating", "Acme Heating").is_ok());
        for typed in ["acme heating", "Acme Heating ", " Acme Heating", "Acme", ""] {
            let refused = check_name(typed, "Acme Heating").unwrap_err();
            assert_eq!(refused.field, "company_name", "{typed:?}");
        }
    }

    #[test]
    fn only_liveness_and_the_operator_routes_outlive_the_company() {
        for open in ["/healthz", "/health", "/ops/clock", "/ops/selfcheck"] {
            assert!(stays_open(open), "{open}");
        }
        for gone in [
            "/",
            "/login",
            "/api/v1/me",
            "/mcp",
            "/webhooks/stripe",
            "/s/abc",
            "/opsx",
            "/healthz/x",
        ] {
            assert!(!stays_open(gone), "{gone}");
        }
    }
}
