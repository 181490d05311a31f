//! The self-check: proves a tenant's D1, KV and R2 bindings work end to end, and that its virus
//! scanner answers and detects.
//!
//! Operators run it after provisioning or deploying a tenant (and tests run it against the local
//! runtime). Each binding goes through the same steps on a throw-away key: write a value, read
//! it back unchanged, see an invalid operation refused as an error (not a crash), delete, and
//! confirm the key is gone. The scanner must answer PING, report the EICAR test file FOUND and
//! a clean probe OK. The glue performs the I/O; this module names the steps, judges the
//! outcomes and keeps the causes of failures for the log.

use crate::domain::clamd::Verdict;
use crate::error::AppError;

/// One of the storage bindings every tenant has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    D1,
    Kv,
    R2,
}

impl Binding {
    pub const ALL: [Binding; 3] = [Binding::D1, Binding::Kv, Binding::R2];

    pub fn name(self) -> &'static str {
        match self {
            Self::D1 => "d1",
            Self::Kv => "kv",
            Self::R2 => "r2",
        }
    }
}

/// The steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Write,
    ReadBack,
    RefuseInvalid,
    Delete,
    ConfirmAbsent,
}

impl Step {
    pub fn name(self) -> &'static str {
        match self {
            Self::Write => "write",
            Self::ReadBack => "read_back",
            Self::RefuseInvalid => "refuse_invalid",
            Self::Delete => "delete",
            Self::ConfirmAbsent => "confirm_absent",
        }
    }
}

/// What happened to one binding. A failed step keeps its cause for the operator's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingReport {
    pub binding: Binding,
    pub steps: Vec<(Step, Result<(), String>)>,
    /// The value read back from storage, shown so the caller can compare it with what it sent.
    pub read_back: Option<String>,
    pub elapsed_ms: u64,
}

impl BindingReport {
    pub fn new(binding: Binding) -> Self {
        Self {
            binding,
            steps: Vec::new(),
            read_back: None,
            elapsed_ms: 0,
        }
    }

    pub fn record(&mut self, step: Step, outcome: Result<(), String>) {
        self.steps.push((step, outcome));
    }

    /// Records the read-back step: it passes only when storage returned exactly `expected`.
    pub fn record_read_back(&mut self, expected: &str, got: Result<Option<String>, String>) {
        let outcome = match &got {
            Ok(Some(value)) if value == expected => Ok(()),
            Ok(Some(_)) => Err("read back a different value than was written".to_owned()),
            Ok(None) => Err("the value just written was not found".to_owned()),
            Err(cause) => Err(cause.clone()),
        };
        self.read_back = got.ok().flatten();
        self.record(Step::ReadBack, outcome);
    }

    /// Records the refusal step: the invalid operation must have failed.
    pub fn record_refusal<T>(&mut self, attempt: Result<T, String>) {
        let outcome = match attempt {
            Err(_) => Ok(()),
            Ok(_) => Err("an invalid operation was accepted".to_owned()),
        };
        self.record(Step::RefuseInvalid, outcome);
    }

    /// Records the last step: the key must be gone after the delete.
    pub fn record_absence(&mut self, found: Result<bool, String>) {
        let outcome = match found {
            Ok(false) => Ok(()),
            Ok(true) => Err("the key is still there after delete".to_owned()),
            Err(cause) => Err(cause),
        };
        self.record(Step::ConfirmAbsent, outcome);
    }

    pub fn passed(&self) -> bool {
        self.steps.len() == 5 && self.steps.iter().all(|(_, outcome)| outcome.is_ok())
    }

    /// `binding.step: cause` for each failed step, for the log line.
    pub fn failures(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter_map(|(step, outcome)| {
                outcome
                    .as_ref()
                    .err()
                    .map(|cause| format!("{}.{}: {cause}", self.binding.name(), step.name()))
            })
            .collect()
    }
}

/// The scanner's steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStep {
    Ping,
    DetectTestFile,
    PassClean,
}

impl ScanStep {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ping => "ping",
            Self::DetectTestFile => "detect_eicar",
            Self::PassClean => "pass_clean",
        }
    }
}

/// What the self-check found of the virus scanner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScannerReport {
    /// Neither `CLAMD_HOST` nor `CLAMD_PORT` is set: uploads are refused. Reported, but not a
    /// failed check: a tenant may run without files, and its storage is what the check proves.
    NotConfigured,
    /// They are set, but do not name an address: a failed check, since uploads were meant to
    /// work.
    Misconfigured(String),
    /// The steps that ran against the configured scanner.
    Checked(ScannerCheck),
}

impl ScannerReport {
    /// Whether the scanner fails the self-check (not configured does not).
    pub fn failed(&self) -> bool {
        match self {
            Self::NotConfigured => false,
            Self::Misconfigured(_) => true,
            Self::Checked(check) => !check.passed(),
        }
    }

    /// `scanner.step: cause` for each failure, for the log line.
    pub fn failures(&self) -> Vec<String> {
        match self {
            Self::NotConfigured => Vec::new(),
            Self::Misconfigured(cause) => vec![format!("scanner.config: {cause}")],
            Self::Checked(check) => check
                .steps
                .iter()
                .filter_map(|(step, outcome)| {
                    outcome
                        .as_ref()
                        .err()
                        .map(|cause| format!("scanner.{}: {cause}", step.name()))
                })
                .collect(),
        }
    }
}

/// The scanner's steps and what they showed. When PING fails the scans are not tried: each
/// would only wait for the same unreachable scanner.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScannerCheck {
    pub steps: Vec<(ScanStep, Result<(), String>)>,
    /// The name the scanner gave the test file, shown so an operator sees which database
    /// detected it (`Eicar-Test-Signature.UNOFFICIAL` from the test database, e.g.
    /// `Win.Test.EICAR_HDB-1` from freshclam's).
    pub signature: Option<String>,
    pub elapsed_ms: u64,
}

impl ScannerCheck {
    pub fn record_ping(&mut self, outcome: Result<(), String>) {
        self.steps.push((ScanStep::Ping, outcome));
    }

    /// Whether PING was answered.
    pub fn reachable(&self) -> bool {
        self.steps
            .iter()
            .any(|(step, outcome)| *step == ScanStep::Ping && outcome.is_ok())
    }

    /// Records the scan of the EICAR test file: it passes only when reported infected.
    pub fn record_test_file(&mut self, scanned: Result<Verdict, String>) {
        let outcome = match scanned {
            Ok(Verdict::Infected(signature)) => {
                self.signature = Some(signature);
                Ok(())
            }
            Ok(Verdict::Clean) => Err(
                "the EICAR test file was reported clean: the scanner's databases lack its signature"
                    .to_owned(),
            ),
            Ok(Verdict::Error(message)) => Err(format!("the scanner answered ERROR: {message}")),
            Err(cause) => Err(cause),
        };
        self.steps.push((ScanStep::DetectTestFile, outcome));
    }

    /// Records the scan of the clean probe: it passes only when reported clean.
    pub fn record_clean(&mut self, scanned: Result<Verdict, String>) {
        let outcome = match scanned {
            Ok(Verdict::Clean) => Ok(()),
            Ok(Verdict::Infected(signature)) => {
                Err(format!("a clean probe was reported infected: {signature}"))
            }
            Ok(Verdict::Error(message)) => Err(format!("the scanner answered ERROR: {message}")),
            Err(cause) => Err(cause),
        };
        self.steps.push((ScanStep::PassClean, outcome));
    }

    pub fn passed(&self) -> bool {
        self.steps.len() == 3 && self.steps.iter().all(|(_, outcome)| outcome.is_ok())
    }
}

/// The harmless file the scanner must pass: the caller's probe in a line of text.
pub fn clean_probe(probe: &str) -> Vec<u8> {
    format!("fieldworker self-check probe {probe}\n").into_bytes()
}

/// The longest probe value a caller may send.
pub const MAX_PROBE_LEN: usize = 64;

/// Checks the caller's probe value: short, printable ASCII letters, digits, `-` and `_`.
pub fn parse_probe(value: &str) -> Result<String, AppError> {
    if value.is_empty() || value.len() > MAX_PROBE_LEN {
        return Err(AppError::bad_request(format!(
            "probe must be 1 to {MAX_PROBE_LEN} characters long"
        )));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(AppError::bad_request(
            "probe may contain only letters, digits, '-' and '_'",
        ));
    }
    Ok(value.to_owned())
}

/// The throw-away key a check writes under; unique per request so concurrent checks never
/// touch each other's data.
pub fn probe_key(request_id: &str) -> String {
    format!("selfcheck/{request_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_pass() -> BindingReport {
        let mut report = BindingReport::new(Binding::Kv);
        report.record(Step::Write, Ok(()));
        report.record_read_back("v", Ok(Some("v".into())));
        report.record_refusal::<()>(Err("key too long".into()));
        report.record(Step::Delete, Ok(()));
        report.record_absence(Ok(false));
        report
    }

    #[test]
    fn a_binding_passes_when_all_five_steps_pass() {
        let report = full_pass();
        assert!(report.passed());
        assert!(report.failures().is_empty());
        assert_eq!(report.read_back.as_deref(), Some("v"));
    }

    #[test]
    fn a_binding_with_missing_steps_has_not_passed() {
        let mut report = BindingReport::new(Binding::D1);
        report.record(Step::Write, Ok(()));
        assert!(!report.passed());
    }

    #[test]
    fn reading_back_something_else_fails_the_check() {
        let mut report = BindingReport::new(Binding::R2);
        report.record_read_back("expected", Ok(Some("other".into())));
        report.record_read_back("expected", Ok(None));
        report.record_read_back("expected", Err("network".into()));
        assert_eq!(
            report.failures(),
            vec![
                "r2.read_back: read back a different value than was written",
                "r2.read_back: the value just written was not found",
                "r2.read_back: network",
            ]
        );
    }

    #[test]
    fn an_accepted_invalid_operation_or_a_surviving_key_fails_the_check() {
        let mut report = BindingReport::new(Binding::D1);
        report.record_refusal(Ok(()));
        report.record_absence(Ok(true));
        assert_eq!(report.failures().len(), 2);
        assert!(report.failures()[0].starts_with("d1.refuse_invalid"));
        assert!(report.failures()[1].starts_with("d1.confirm_absent"));
    }

    fn scanner_check(
        ping: Result<(), &str>,
        test_file: Result<Verdict, &str>,
        clean: Result<Verdict, &str>,
    ) -> ScannerCheck {
        let mut check = ScannerCheck::default();
        check.record_ping(ping.map_err(str::to_owned));
        check.record_test_file(test_file.map_err(str::to_owned));
        check.record_clean(clean.map_err(str::to_owned));
        check
    }

    #[test]
    fn the_scanner_passes_when_it_answers_detects_the_test_file_and_passes_the_probe() {
        let check = scanner_check(
            Ok(()),
            Ok(Verdict::Infected("Eicar-Test-Signature.UNOFFICIAL".into())),
            Ok(Verdict::Clean),
        );
        assert!(check.passed());
        assert!(check.reachable());
        assert_eq!(
            check.signature.as_deref(),
            Some("Eicar-Test-Signature.UNOFFICIAL")
        );
        let report = ScannerReport::Checked(check);
        assert!(!report.failed());
        assert!(report.failures().is_empty());
    }

    #[test]
    fn a_scanner_that_misses_the_test_file_or_flags_the_probe_fails_the_check() {
        let cases = [
            (
                Ok(Verdict::Clean),
                Ok(Verdict::Clean),
                "scanner.detect_eicar: the EICAR test file was reported clean",
            ),
            (
                Ok(Verdict::Infected("X".into())),
                Ok(Verdict::Infected("Y".into())),
                "scanner.pass_clean: a clean probe was reported infected: Y",
            ),
            (
                Ok(Verdict::Error("INSTREAM size limit exceeded.".into())),
                Ok(Verdict::Clean),
                "scanner.detect_eicar: the scanner answered ERROR: INSTREAM",
            ),
            (
                Err("broken reply: not PONG"),
                Ok(Verdict::Clean),
                "scanner.detect_eicar: broken reply",
            ),
        ];
        for (test_file, clean, failure) in cases {
            let report = ScannerReport::Checked(scanner_check(Ok(()), test_file, clean));
            assert!(report.failed(), "{failure}");
            assert!(
                report.failures().iter().any(|f| f.starts_with(failure)),
                "{:?} lacks {failure}",
                report.failures()
            );
        }
    }

    #[test]
    fn an_unreachable_scanner_fails_at_ping_and_is_not_scanned() {
        let mut check = ScannerCheck::default();
        check.record_ping(Err("connection failed: refused".into()));
        assert!(!check.reachable());
        let report = ScannerReport::Checked(check);
        assert!(report.failed());
        assert_eq!(
            report.failures(),
            vec!["scanner.ping: connection failed: refused"]
        );
    }

    #[test]
    fn no_scanner_is_reported_but_a_misconfigured_one_fails_the_check() {
        assert!(!ScannerReport::NotConfigured.failed());
        assert!(ScannerReport::NotConfigured.failures().is_empty());
        let bad = ScannerReport::Misconfigured("CLAMD_PORT is not a port number".into());
        assert!(bad.failed());
        assert_eq!(
            bad.failures(),
            vec!["scanner.config: CLAMD_PORT is not a port number"]
        );
    }

    #[test]
    fn probes_are_short_and_plain() {
        assert_eq!(parse_probe("abc-XYZ_09").unwrap(), "abc-XYZ_09");
        for bad in ["", "has space", "semi;colon", "ünï", &"a".repeat(65)] {
            assert_eq!(parse_probe(bad).unwrap_err().status(), 400, "{bad:?}");
        }
        assert!(parse_probe(&"a".repeat(64)).is_ok());
    }
}
