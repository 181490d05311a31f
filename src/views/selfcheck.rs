//! The body of `POST /ops/selfcheck`: per binding, each step's result and the value read back;
//! and the virus scanner's.

use crate::json;
use serde_json::{Map, Value};

use crate::domain::selfcheck::{BindingReport, ScannerReport};

/// Failed steps say only `failed`: their causes go to the log under the request id.
/// `status` is `ok` when every binding passed and the scanner, if one is configured, did too.
pub fn selfcheck_view(reports: &[BindingReport], scanner: &ScannerReport) -> Value {
    let mut bindings = Map::new();
    for report in reports {
        let steps: Map<String, Value> = report
            .steps
            .iter()
            .map(|(step, outcome)| {
                let word = if outcome.is_ok() { "ok" } else { "failed" };
                (step.name().to_owned(), json!(word))
            })
            .collect();
        bindings.insert(
            report.binding.name().to_owned(),
            json!({
                "ok": report.passed(),
                "steps": steps,
                "read_back": report.read_back,
                "elapsed_ms": report.elapsed_ms,
            }),
        );
    }
    let all_ok =
        !reports.is_empty() && reports.iter().all(BindingReport::passed) && !scanner.failed();
    json!({
        "status": if all_ok { "ok" } else { "failed" },
        "bindings": bindings,
        "scanner": scanner_view(scanner),
    })
}

fn scanner_view(scanner: &ScannerReport) -> Value {
    match scanner {
        ScannerReport::NotConfigured => json!({
            "configured": false,
            "ok": false,
            "detail": "No virus scanner is configured (CLAMD_HOST, CLAMD_PORT): \
                       uploads are refused until one is.",
        }),
        ScannerReport::Misconfigured(_) => json!({
            "configured": true,
            "ok": false,
            "detail": "CLAMD_HOST and CLAMD_PORT do not name an address; \
                       the log says why under this request's id.",
        }),
        ScannerReport::Checked(check) => {
            let steps: Map<String, Value> = check
                .steps
                .iter()
                .map(|(step, outcome)| {
                    let word = if outcome.is_ok() { "ok" } else { "failed" };
                    (step.name().to_owned(), json!(word))
                })
                .collect();
            json!({
                "configured": true,
                "ok": check.passed(),
                "reachable": check.reachable(),
                "steps": steps,
                "signature": check.signature,
                "elapsed_ms": check.elapsed_ms,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::clamd::Verdict;
    use crate::domain::selfcheck::{Binding, ScannerCheck, Step};

    fn passing(binding: Binding) -> BindingReport {
        let mut report = BindingReport::new(binding);
        report.record(Step::Write, Ok(()));
        report.record_read_back("v", Ok(Some("v".into())));
        report.record_refusal::<()>(Err("refused".into()));
        report.record(Step::Delete, Ok(()));
        report.record_absence(Ok(false));
        report
    }

    #[test]
    fn failed_steps_are_reported_without_their_cause() {
        let mut report = BindingReport::new(Binding::D1);
        report.record(
            Step::Write,
            Err("D1_ERROR: disk I/O error at /var/lib".into()),
        );
        let body = selfcheck_view(&[report], &ScannerReport::NotConfigured);
        assert_eq!(body["status"], "failed");
        assert_eq!(body["bindings"]["d1"]["ok"], false);
        assert_eq!(body["bindings"]["d1"]["steps"]["write"], "failed");
        assert!(!body.to_string().contains("disk I/O"));
    }

    #[test]
    fn no_reports_is_not_a_pass() {
        assert_eq!(
            selfcheck_view(&[], &ScannerReport::NotConfigured)["status"],
            "failed"
        );
    }

    #[test]
    fn no_scanner_is_said_without_failing_the_check() {
        let body = selfcheck_view(&[passing(Binding::Kv)], &ScannerReport::NotConfigured);
        assert_eq!(body["status"], "ok");
        assert_eq!(body["scanner"]["configured"], false);
        assert_eq!(body["scanner"]["ok"], false);
        assert!(body["scanner"]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("uploads are refused")));
    }

    #[test]
    fn a_working_scanner_shows_its_steps_and_the_signature_it_found() {
        let mut check = ScannerCheck::default();
        check.record_ping(Ok(()));
        check.record_test_file(Ok(Verdict::Infected("Win.Test.EICAR_HDB-1".into())));
        check.record_clean(Ok(Verdict::Clean));
        let body = selfcheck_view(&[passing(Binding::R2)], &ScannerReport::Checked(check));
        assert_eq!(body["status"], "ok");
        let scanner = &body["scanner"];
        assert_eq!(scanner["ok"], true);
        assert_eq!(scanner["reachable"], true);
        assert_eq!(scanner["signature"], "Win.Test.EICAR_HDB-1");
        for step in ["ping", "detect_eicar", "pass_clean"] {
            assert_eq!(scanner["steps"][step], "ok", "{step}");
        }
    }

    #[test]
    fn a_broken_scanner_fails_the_check_without_its_cause_in_the_body() {
        let mut check = ScannerCheck::default();
        check.record_ping(Err(
            "connection failed: connect ECONNREFUSED 10.0.0.7:3310".into()
        ));
        for scanner in [
            ScannerReport::Checked(check),
            ScannerReport::Misconfigured("CLAMD_PORT is not a port number: \"x\"".into()),
        ] {
            let body = selfcheck_view(&[passing(Binding::D1)], &scanner);
            assert_eq!(body["status"], "failed");
            assert_eq!(body["scanner"]["configured"], true);
            assert_eq!(body["scanner"]["ok"], false);
            assert!(!body.to_string().contains("10.0.0.7"), "{body}");
            assert!(!body.to_string().contains("not a port"), "{body}");
        }
    }
}
