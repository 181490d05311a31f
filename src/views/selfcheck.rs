//! The body of `POST /ops/selfcheck`: per binding, each step's result and the value read back.

use crate::json;
use serde_json::{Map, Value};

use crate::domain::selfcheck::BindingReport;

/// Failed steps say only `failed`: their causes go to the log under the request id.
pub fn selfcheck_view(reports: &[BindingReport]) -> Value {
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
    let all_ok = !reports.is_empty() && reports.iter().all(BindingReport::passed);
    json!({
        "status": if all_ok { "ok" } else { "failed" },
        "bindings": bindings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::selfcheck::{Binding, Step};

    #[test]
    fn failed_steps_are_reported_without_their_cause() {
        let mut report = BindingReport::new(Binding::D1);
        report.record(
            Step::Write,
            Err("D1_ERROR: disk I/O error at /var/lib".into()),
        );
        let body = selfcheck_view(&[report]);
        assert_eq!(body["status"], "failed");
        assert_eq!(body["bindings"]["d1"]["ok"], false);
        assert_eq!(body["bindings"]["d1"]["steps"]["write"], "failed");
        assert!(!body.to_string().contains("disk I/O"));
    }

    #[test]
    fn no_reports_is_not_a_pass() {
        assert_eq!(selfcheck_view(&[])["status"], "failed");
    }
}
