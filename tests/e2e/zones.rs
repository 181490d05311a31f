//! Time zones against the runtime's `Intl` (node 22's ICU, the family workerd's is of): the
//! wall-time arithmetic of `domain::time` over a table of zones and their 2026 changes — New
//! York, Berlin, Sydney, Beirut (midnight skipped), Lord Howe (a half-hour change) and
//! Kathmandu (+05:45, no change) — each expected value read off `Intl` by `zones.mjs`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use fieldworker::domain::time::{local_day_bounds, wall_to_instant_ms, Millis};

/// What `tests/e2e/zones.mjs` answers to `args`.
pub fn intl(args: &[&str]) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let output = Command::new(root.join("node_modules/.bin/node"))
        .arg(root.join("tests/e2e/zones.mjs"))
        .args(args)
        .output()
        .expect("node from node_modules (scripts/setup installs it)");
    assert!(
        output.status.success(),
        "zones.mjs {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("zones.mjs prints JSON")
}

/// Each instant as the zone's local `YYYY-MM-DDTHH:MM`, by `Intl`.
pub fn local_times(zone: &str, instants: &[&str]) -> Vec<String> {
    let ms: Vec<String> = instants
        .iter()
        .map(|t| Millis::parse_rfc3339(t).expect("an instant").0.to_string())
        .collect();
    let mut args = vec!["wall", zone];
    args.extend(ms.iter().map(String::as_str));
    serde_json::from_value(intl(&args)).expect("local times")
}

/// The instant `Intl` gives each local wall time (`YYYY-MM-DDTHH:MM`), by the compatible rule.
pub fn instants(zone: &str, walls: &[&str]) -> Vec<String> {
    let ms: Vec<String> = walls
        .iter()
        .map(|w| {
            let wall = Millis::parse_rfc3339(&format!("{w}:00Z")).expect("a wall time");
            wall.0.to_string()
        })
        .collect();
    let mut args = vec!["instant", zone];
    args.extend(ms.iter().map(String::as_str));
    let answer: Vec<u64> = serde_json::from_value(intl(&args)).expect("instants");
    answer
        .into_iter()
        .map(|ms| Millis(ms).to_rfc3339())
        .collect()
}

/// A zone's offset rule as `Intl` reported it: its offset before the window, then each change.
struct Rule {
    initial: i64,
    changes: Vec<(i64, i64)>,
}

impl Rule {
    fn offset_at(&self, at: i64) -> i64 {
        self.changes
            .iter()
            .rev()
            .find(|(from, _)| *from <= at)
            .map_or(self.initial, |(_, offset)| *offset)
    }
}

fn text(ms: i64) -> String {
    Millis(u64::try_from(ms).expect("after 1970")).to_rfc3339()
}

#[test]
fn wall_times_and_local_days_match_intl_in_every_zone_of_the_table() {
    let table = intl(&["table"]);
    let rules: Vec<(String, Rule)> = table["zones"]
        .as_array()
        .expect("zones")
        .iter()
        .map(|z| {
            let changes = z["changes"]
                .as_array()
                .expect("changes")
                .iter()
                .map(|c| (c[0].as_i64().unwrap(), c[1].as_i64().unwrap()))
                .collect();
            let rule = Rule {
                initial: z["initial"].as_i64().unwrap(),
                changes,
            };
            (z["zone"].as_str().unwrap().to_owned(), rule)
        })
        .collect();
    let rule = |zone: &Value| {
        &rules
            .iter()
            .find(|(name, _)| zone.as_str() == Some(name))
            .expect("a zone of the table")
            .1
    };
    let changed: usize = rules.iter().map(|(_, r)| r.changes.len()).sum();
    assert!(changed >= 10, "Intl reports the 2026 changes: {changed}");

    let mut wrong = Vec::new();
    let walls = table["walls"].as_array().expect("walls");
    for case in walls {
        let rule = rule(&case["zone"]);
        let (wall, expected) = (case["wall"].as_i64().unwrap(), case["instant"].as_i64());
        let got = wall_to_instant_ms(wall, |at| rule.offset_at(at));
        if Some(got) != expected {
            wrong.push(format!(
                "{} {}: {} instead of {}",
                case["zone"],
                &text(wall)[..16],
                text(got),
                text(expected.unwrap_or_default())
            ));
        }
    }
    let days = table["days"].as_array().expect("days");
    for case in days {
        let rule = rule(&case["zone"]);
        let at = case["at"].as_i64().unwrap();
        let expected = (
            case["start"].as_i64().unwrap(),
            case["end"].as_i64().unwrap(),
        );
        let got = local_day_bounds(at, |at| rule.offset_at(at));
        if got != expected {
            wrong.push(format!(
                "{} the day of {}: {}–{} instead of {}–{}",
                case["zone"],
                text(at),
                text(got.0),
                text(got.1),
                text(expected.0),
                text(expected.1)
            ));
        }
    }
    assert!(walls.len() > 150 && days.len() > 100);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
