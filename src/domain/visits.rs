//! Visits on the calendar: a valid time range, double-booking checks against a technician's
//! other visits, and the expansion of a recurrence rule into its series of visits.
//!
//! Recurrence works in the company's wall time: a weekly 09:00 visit stays at 09:00 local time
//! across a daylight-saving change (its UTC time moves instead). The zone's offsets come in as a
//! function, so this stays pure.

use serde::{Deserialize, Serialize, Serializer};

use crate::domain::customers::FieldErrors;
use crate::domain::time::{
    civil_from_days, days_from_civil, days_in_month, wall_to_instant_ms, Millis,
};
use crate::error::AppError;

/// The longest a single visit may last. Longer work is several visits, so the calendar and the
/// conflict check stay meaningful.
const MAX_VISIT_MS: u64 = Millis::DAY;

/// The most visits one recurrence rule may create: a year of daily visits, leap year included.
/// A bound keeps one request from writing an unbounded batch.
pub const MAX_OCCURRENCES: usize = 366;

/// The longest interval, in days, weeks or months. A larger one is almost certainly a typo.
const MAX_INTERVAL: i64 = 365;

/// When a visit happens: `start` strictly before `end`, at most 24 hours apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitTime {
    pub start: Millis,
    pub end: Millis,
}

impl VisitTime {
    /// Parses the two RFC 3339 instants a client sends. Every problem is named against its
    /// field (`start`, `end`) so a form can show it in place.
    pub fn parse(start: &str, end: &str) -> Result<VisitTime, AppError> {
        let mut errors = FieldErrors::default();
        let parsed_start = Millis::parse_rfc3339(start);
        let parsed_end = Millis::parse_rfc3339(end);
        if parsed_start.is_none() {
            errors.add("start", "A date and time such as 2026-03-02T09:00:00Z.");
        }
        if parsed_end.is_none() {
            errors.add("end", "A date and time such as 2026-03-02T11:00:00Z.");
        }
        if let (Some(start), Some(end)) = (parsed_start, parsed_end) {
            if end <= start {
                errors.add("end", "A visit must end after it starts.");
            } else if end.0 - start.0 > MAX_VISIT_MS {
                errors.add("end", "A visit lasts at most 24 hours.");
            }
        }
        // When either instant failed to parse, `errors` is not empty, so this placeholder is
        // never returned.
        let time = VisitTime {
            start: parsed_start.unwrap_or(Millis(0)),
            end: parsed_end.unwrap_or(Millis(0)),
        };
        errors.into_result(time, "The visit time is not valid.")
    }

    /// How long the visit lasts, in milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.end.0.saturating_sub(self.start.0)
    }

    /// Half-open ranges: a visit ending at 10:00 and one starting at 10:00 do not overlap, so
    /// back-to-back bookings are allowed.
    pub fn overlaps(&self, other: &VisitTime) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// Another visit already on the calendar, as the conflict check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExistingVisit {
    pub id: String,
    pub technician_ids: Vec<String>,
    pub time: VisitTime,
}

/// One double booking, as listed in the body of a 409: which visit, which of the requested
/// technicians it already holds, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub visit_id: String,
    /// Only the technicians both visits share, so the client can say who is double-booked.
    pub technician_ids: Vec<String>,
    #[serde(serialize_with = "rfc3339")]
    pub start: Millis,
    #[serde(serialize_with = "rfc3339")]
    pub end: Millis,
}

/// Times on the wire are RFC 3339 UTC strings, never raw milliseconds.
fn rfc3339<S: Serializer>(instant: &Millis, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&instant.to_rfc3339())
}

/// The visits in `existing` that would double-book one of `technician_ids` at `candidate`'s
/// time, earliest first. `ignore_id` is the visit being moved, which cannot conflict with
/// itself.
pub fn conflicts(
    candidate: &VisitTime,
    technician_ids: &[String],
    existing: &[ExistingVisit],
    ignore_id: Option<&str>,
) -> Vec<Conflict> {
    let mut found: Vec<Conflict> = existing
        .iter()
        .filter(|visit| Some(visit.id.as_str()) != ignore_id)
        .filter(|visit| candidate.overlaps(&visit.time))
        .filter_map(|visit| {
            let mut shared: Vec<String> = Vec::new();
            for id in &visit.technician_ids {
                if technician_ids.contains(id) && !shared.contains(id) {
                    shared.push(id.clone());
                }
            }
            (!shared.is_empty()).then(|| Conflict {
                visit_id: visit.id.clone(),
                technician_ids: shared,
                start: visit.time.start,
                end: visit.time.end,
            })
        })
        .collect();
    // A stable order, so the 409 body does not depend on the order rows came back in.
    super::order::by_key(&mut found, |f| {
        (f.start.0, f.visit_id.clone(), String::new())
    });
    found
}

/// A recurrence rule as the client sends it, e.g.
/// `{"frequency": "weekly", "interval": 2, "count": 10}`.
///
/// Values are checked by [`occurrences`] rather than by serde, so a bad frequency or interval is
/// a 422 naming `recurrence.frequency` or `recurrence.interval` instead of an opaque JSON error;
/// unknown keys are still refused here, so a typo cannot silently drop a limit.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    /// `daily`, `weekly` or `monthly`.
    pub frequency: Option<String>,
    /// Every how many days, weeks or months: 1 to 365.
    #[serde(default = "one")]
    pub interval: i64,
    /// The last instant a visit of the series may start at (inclusive).
    pub until: Option<String>,
    /// How many visits in all, the first included: 1 to 366.
    pub count: Option<i64>,
}

fn one() -> i64 {
    1
}

/// How far apart consecutive visits of a series are.
#[derive(Debug, Clone, Copy)]
enum Step {
    Days(u64),
    Months(i64),
}

/// What ends a series.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Count(usize),
    Until(Millis),
}

/// Where the k-th step of a series lands.
enum Landing {
    At(Millis),
    /// A monthly series on the 29th–31st passes over months without that day.
    Skipped,
    PastYear9999,
}

impl Recurrence {
    /// Checks every value at once and turns the rule into a step and an ending.
    fn plan(&self, first: &VisitTime) -> Result<(Step, Ending), AppError> {
        let mut errors = FieldErrors::default();
        if !(1..=MAX_INTERVAL).contains(&self.interval) {
            errors.add("recurrence.interval", "A whole number from 1 to 365.");
        }
        // `interval` only feeds the step when it is in range, so the casts cannot wrap.
        let interval = self.interval.clamp(1, MAX_INTERVAL);
        let step = match self.frequency.as_deref() {
            Some("daily") => Some(Step::Days(interval as u64)),
            Some("weekly") => Some(Step::Days(7 * interval as u64)),
            Some("monthly") => Some(Step::Months(interval)),
            _ => {
                errors.add("recurrence.frequency", "One of daily, weekly, monthly.");
                None
            }
        };

        let ending = match (&self.until, self.count) {
            (Some(_), Some(_)) => {
                let message = "Give either until or count, not both.";
                errors.add("recurrence.until", message);
                errors.add("recurrence.count", message);
                None
            }
            (None, None) => {
                let message = "Give until or count to say when the series ends.";
                errors.add("recurrence.until", message);
                errors.add("recurrence.count", message);
                None
            }
            (None, Some(count)) => match usize::try_from(count) {
                Ok(n) if (1..=MAX_OCCURRENCES).contains(&n) => Some(Ending::Count(n)),
                _ => {
                    errors.add("recurrence.count", "A whole number from 1 to 366.");
                    None
                }
            },
            (Some(until), None) => match Millis::parse_rfc3339(until) {
                Some(until) if until >= first.start => Some(Ending::Until(until)),
                Some(_) => {
                    errors.add(
                        "recurrence.until",
                        "The series cannot end before its first visit starts.",
                    );
                    None
                }
                None => {
                    errors.add(
                        "recurrence.until",
                        "A date and time such as 2026-06-30T23:59:59Z.",
                    );
                    None
                }
            },
        };

        let plan = match (step, ending) {
            (Some(step), Some(ending)) => Some((step, ending)),
            _ => None,
        };
        // Every path that leaves `plan` empty, or clamps a bad interval, also added a field
        // error, so `into_result` has already refused it; the fallback only guards the logic.
        errors
            .into_result(plan, "The recurrence is not valid.")?
            .ok_or_else(|| AppError::internal("recurrence plan incomplete without a field error"))
    }
}

/// Where step `k` of a series starting at the wall time `first` (ms counted as if the zone were
/// UTC) lands, as an instant of the zone with those offsets.
fn landing(first: i64, step: Step, k: u64, offset_minutes_at: impl Fn(i64) -> i64) -> Landing {
    const DAY: i64 = Millis::DAY as i64;
    let wall = match step {
        Step::Days(days) => i64::try_from(k)
            .ok()
            .and_then(|k| k.checked_mul(days as i64))
            .and_then(|d| d.checked_mul(DAY))
            .and_then(|ms| first.checked_add(ms)),
        Step::Months(months) => {
            let (year, month, day) = civil_from_days(first.div_euclid(DAY));
            let index = (k as i64)
                .checked_mul(months)
                .and_then(|m| m.checked_add(year * 12 + i64::from(month) - 1));
            match index {
                Some(index) if index.div_euclid(12) <= 9999 => {
                    let year = index.div_euclid(12);
                    // rem_euclid(12) is 0..=11, so the month is 1..=12.
                    let month = index.rem_euclid(12) as u32 + 1;
                    if day > days_in_month(year, month) {
                        return Landing::Skipped;
                    }
                    Some(days_from_civil(year, month, day) * DAY + first.rem_euclid(DAY))
                }
                _ => None,
            }
        }
    };
    // Series may not run past the last instant that prints as a four-digit year.
    let at = wall
        .filter(|wall| *wall <= Millis::LAST.0 as i64 + DAY)
        .map(|wall| wall_to_instant_ms(wall, offset_minutes_at))
        .and_then(|at| u64::try_from(at).ok())
        .map(Millis);
    match at {
        Some(at) if at <= Millis::LAST => Landing::At(at),
        _ => Landing::PastYear9999,
    }
}

/// Every visit of the series `rule` makes from `first`: `first` itself, then one every
/// `interval` days, weeks or calendar months at the same wall-clock time in the zone whose
/// offset (minutes east of UTC) at an instant `offset_minutes_at` gives, each as long as
/// `first`. A wall time a daylight-saving change skips or repeats that day is read as
/// [`wall_to_instant_ms`] reads it.
///
/// Monthly visits fall on the same day of the month as `first`; a month without that day (the
/// 31st in April) is skipped rather than moved to its last day, so every visit of the series
/// really is "on the 31st". The series stops after `count` visits in all, or at the last start
/// no later than `until`; a rule that would make more than [`MAX_OCCURRENCES`] is a 422 naming
/// `recurrence`.
pub fn occurrences(
    first: &VisitTime,
    rule: &Recurrence,
    offset_minutes_at: impl Fn(i64) -> i64,
) -> Result<Vec<VisitTime>, AppError> {
    let (step, ending) = rule.plan(first)?;
    let duration = first.duration_ms();
    let start = first.start.0 as i64;
    let first_wall = start + offset_minutes_at(start) * 60_000;
    let mut series = vec![*first];
    for k in 1u64.. {
        if let Ending::Count(count) = ending {
            if series.len() >= count {
                break;
            }
        }
        let start = match landing(first_wall, step, k, &offset_minutes_at) {
            Landing::At(start) => start,
            Landing::Skipped => continue,
            // `until` is at most 9999-12-31T23:59:59, so such a step is past it: the series
            // is complete. Only a count can ask for visits out there.
            Landing::PastYear9999 if matches!(ending, Ending::Until(_)) => break,
            Landing::PastYear9999 => {
                return Err(AppError::invalid_field(
                    "recurrence",
                    "The series would run past the year 9999; use a smaller count.",
                ))
            }
        };
        if let Ending::Until(until) = ending {
            if start > until {
                break;
            }
        }
        if series.len() >= MAX_OCCURRENCES {
            return Err(AppError::invalid_field(
                "recurrence",
                "A series can have at most 366 visits; choose an earlier until or a longer interval.",
            ));
        }
        series.push(VisitTime {
            start,
            end: start.plus(duration),
        });
    }
    Ok(series)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use serde_json::Value;

    fn at(text: &str) -> Millis {
        Millis::parse_rfc3339(text).expect("a valid instant in the test")
    }

    fn visit(start: &str, end: &str) -> VisitTime {
        VisitTime {
            start: at(start),
            end: at(end),
        }
    }

    fn fields(err: &AppError) -> Vec<String> {
        err.extensions["errors"]
            .as_array()
            .expect("field errors")
            .iter()
            .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    fn utc(_: i64) -> i64 {
        0
    }

    fn rule(value: Value) -> Recurrence {
        serde_json::from_value(value).expect("a well-formed rule")
    }

    /// The start of each visit, as `YYYY-MM-DDTHH:MM`, for compact expectations.
    fn starts(series: &[VisitTime]) -> Vec<String> {
        series
            .iter()
            .map(|v| v.start.to_rfc3339()[..16].to_owned())
            .collect()
    }

    #[test]
    fn visit_times_must_parse_end_after_start_and_last_at_most_a_day() {
        let cases: [(&str, &str, &[&str]); 10] = [
            ("2026-03-02T09:00:00Z", "2026-03-02T11:00:00Z", &[]),
            ("2026-03-02T09:00:00+01:00", "2026-03-02T09:30:00Z", &[]),
            ("2026-03-02T09:00:00Z", "2026-03-03T09:00:00Z", &[]),
            ("2026-03-02T09:00:00Z", "2026-03-03T09:00:00.001Z", &["end"]),
            ("2026-03-02T09:00:00Z", "2026-03-02T09:00:00Z", &["end"]),
            ("2026-03-02T09:00:00Z", "2026-03-02T08:00:00Z", &["end"]),
            (
                "2026-03-02T09:00:00Z",
                "2026-03-02T09:30:00+01:00",
                &["end"],
            ),
            ("tomorrow", "2026-03-02T11:00:00Z", &["start"]),
            ("2026-03-02T09:00:00Z", "2026-02-30T11:00:00Z", &["end"]),
            ("2026-03-02 09:00", "", &["start", "end"]),
        ];
        for (start, end, expected) in cases {
            match VisitTime::parse(start, end) {
                Ok(time) => {
                    assert!(expected.is_empty(), "{start} – {end} should fail");
                    assert_eq!(time.start, at(start));
                    assert_eq!(time.end, at(end));
                }
                Err(err) => {
                    assert_eq!(err.status(), 422);
                    assert_eq!(fields(&err), expected, "{start} – {end}");
                }
            }
        }
    }

    fn existing(id: &str, technicians: &[&str], start: &str, end: &str) -> ExistingVisit {
        ExistingVisit {
            id: id.to_owned(),
            technician_ids: technicians.iter().map(|t| (*t).to_owned()).collect(),
            time: visit(start, end),
        }
    }

    #[test]
    fn only_overlapping_visits_of_the_same_technician_conflict() {
        let ann = ["ann".to_owned()];
        // The candidate is 10:00–12:00 for Ann unless the case says otherwise.
        let cases: [(&str, ExistingVisit, Option<&str>, bool); 9] = [
            (
                "overlaps the start",
                existing(
                    "v",
                    &["ann"],
                    "2026-03-02T09:00:00Z",
                    "2026-03-02T10:30:00Z",
                ),
                None,
                true,
            ),
            (
                "overlaps the end",
                existing(
                    "v",
                    &["ann"],
                    "2026-03-02T11:30:00Z",
                    "2026-03-02T13:00:00Z",
                ),
                None,
                true,
            ),
            (
                "lies inside",
                existing(
                    "v",
                    &["ann"],
                    "2026-03-02T10:30:00Z",
                    "2026-03-02T11:00:00Z",
                ),
                None,
                true,
            ),
            (
                "contains it",
                existing(
                    "v",
                    &["ann"],
                    "2026-03-02T08:00:00Z",
                    "2026-03-02T14:00:00Z",
                ),
                None,
                true,
            ),
            (
                "is the same time",
                existing(
                    "v",
                    &["ann"],
                    "2026-03-02T10:00:00Z",
                    "2026-03-02T12:00:00Z",
                ),
                None,
                true,
            ),
            (
                "ends as it starts",
                existing(
                    "v",
                    &["ann"],
                    "2026-03-02T08:00:00Z",
                    "2026-03-02T10:00:00Z",
                ),
                None,
                false,
            ),
            (
                "starts as it ends",
                existing(
                    "v",
                    &["ann"],
                    "2026-03-02T12:00:00Z",
                    "2026-03-02T13:00:00Z",
                ),
                None,
                false,
            ),
            (
                "belongs to another technician",
                existing(
                    "v",
                    &["bob"],
                    "2026-03-02T10:00:00Z",
                    "2026-03-02T12:00:00Z",
                ),
                None,
                false,
            ),
            (
                "is the visit being moved",
                existing(
                    "v",
                    &["ann"],
                    "2026-03-02T10:00:00Z",
                    "2026-03-02T12:00:00Z",
                ),
                Some("v"),
                false,
            ),
        ];
        let candidate = visit("2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z");
        for (case, other, ignore, conflicts_expected) in cases {
            let found = conflicts(&candidate, &ann, std::slice::from_ref(&other), ignore);
            assert_eq!(!found.is_empty(), conflicts_expected, "a visit that {case}");
        }
    }

    #[test]
    fn a_conflict_names_the_shared_technicians_and_serializes_times_as_rfc3339() {
        let candidate = visit("2026-03-02T10:00:00Z", "2026-03-02T12:00:00Z");
        let wanted = ["ann".to_owned(), "cat".to_owned()];
        let calendar = [
            existing(
                "late",
                &["cat"],
                "2026-03-02T11:00:00Z",
                "2026-03-02T13:00:00Z",
            ),
            existing(
                "early",
                &["bob", "ann", "cat"],
                "2026-03-02T09:00:00Z",
                "2026-03-02T10:15:00Z",
            ),
            existing(
                "elsewhere",
                &["bob"],
                "2026-03-02T10:00:00Z",
                "2026-03-02T12:00:00Z",
            ),
            existing(
                "moved",
                &["ann"],
                "2026-03-02T10:00:00Z",
                "2026-03-02T12:00:00Z",
            ),
        ];
        let found = conflicts(&candidate, &wanted, &calendar, Some("moved"));
        assert_eq!(
            serde_json::to_value(&found).unwrap(),
            json!([
                {
                    "visit_id": "early",
                    "technician_ids": ["ann", "cat"],
                    "start": "2026-03-02T09:00:00.000Z",
                    "end": "2026-03-02T10:15:00.000Z",
                },
                {
                    "visit_id": "late",
                    "technician_ids": ["cat"],
                    "start": "2026-03-02T11:00:00.000Z",
                    "end": "2026-03-02T13:00:00.000Z",
                },
            ])
        );
    }

    #[test]
    fn series_step_by_days_weeks_and_months_and_keep_the_duration() {
        let first = visit("2026-01-30T09:00:00Z", "2026-01-30T10:30:00Z");
        let cases: [(Value, &[&str]); 7] = [
            (
                json!({"frequency": "daily", "count": 3}),
                &["2026-01-30T09:00", "2026-01-31T09:00", "2026-02-01T09:00"],
            ),
            (
                json!({"frequency": "daily", "interval": 3, "count": 3}),
                &["2026-01-30T09:00", "2026-02-02T09:00", "2026-02-05T09:00"],
            ),
            (
                json!({"frequency": "weekly", "count": 3}),
                &["2026-01-30T09:00", "2026-02-06T09:00", "2026-02-13T09:00"],
            ),
            (
                json!({"frequency": "weekly", "interval": 2, "until": "2026-02-27T09:00:00Z"}),
                &["2026-01-30T09:00", "2026-02-13T09:00", "2026-02-27T09:00"],
            ),
            (
                // The until is before the 27th's start, so the 27th is not in the series.
                json!({"frequency": "weekly", "interval": 2, "until": "2026-02-27T08:59:59Z"}),
                &["2026-01-30T09:00", "2026-02-13T09:00"],
            ),
            (
                // February has no 30th in 2026; it is skipped and does not count.
                json!({"frequency": "monthly", "count": 3}),
                &["2026-01-30T09:00", "2026-03-30T09:00", "2026-04-30T09:00"],
            ),
            (
                json!({"frequency": "monthly", "interval": 5, "until": "2027-12-31T00:00:00Z"}),
                &[
                    "2026-01-30T09:00",
                    "2026-06-30T09:00",
                    "2026-11-30T09:00",
                    "2027-04-30T09:00",
                    "2027-09-30T09:00",
                ],
            ),
        ];
        for (value, expected) in cases {
            let series = occurrences(&first, &rule(value.clone()), utc).expect("a valid rule");
            assert_eq!(starts(&series), expected, "{value}");
            assert!(series
                .iter()
                .all(|v| v.duration_ms() == 90 * Millis::MINUTE));
        }
    }

    #[test]
    fn a_monthly_series_on_the_31st_skips_months_without_one() {
        let first = visit("2026-01-31T22:00:00Z", "2026-02-01T01:00:00Z");
        let series = occurrences(
            &first,
            &rule(json!({"frequency": "monthly", "count": 7})),
            utc,
        )
        .unwrap();
        assert_eq!(
            starts(&series),
            [
                "2026-01-31T22:00",
                "2026-03-31T22:00",
                "2026-05-31T22:00",
                "2026-07-31T22:00",
                "2026-08-31T22:00",
                "2026-10-31T22:00",
                "2026-12-31T22:00",
            ]
        );
        // A visit crossing midnight keeps crossing it.
        assert_eq!(series[1].end, at("2026-04-01T01:00:00Z"));
    }

    #[test]
    fn a_monthly_series_on_a_leap_day_lands_only_in_leap_years() {
        let first = visit("2024-02-29T09:00:00Z", "2024-02-29T10:00:00Z");
        let yearly = rule(json!({"frequency": "monthly", "interval": 12, "count": 3}));
        assert_eq!(
            starts(&occurrences(&first, &yearly, utc).unwrap()),
            ["2024-02-29T09:00", "2028-02-29T09:00", "2032-02-29T09:00"]
        );
    }

    #[test]
    fn a_rule_that_would_make_more_than_366_visits_is_refused() {
        let first = visit("2026-01-01T09:00:00Z", "2026-01-01T10:00:00Z");
        let cases = [
            (json!({"frequency": "daily", "count": 366}), Ok(366)),
            (
                json!({"frequency": "daily", "until": "2027-01-01T09:00:00Z"}),
                Ok(366),
            ),
            (
                json!({"frequency": "daily", "until": "2027-01-02T09:00:00Z"}),
                Err("recurrence"),
            ),
            (
                json!({"frequency": "daily", "until": "9999-12-31T23:59:59Z"}),
                Err("recurrence"),
            ),
            (
                json!({"frequency": "monthly", "interval": 365, "count": 366}),
                Err("recurrence"),
            ),
            (
                json!({"frequency": "monthly", "interval": 365, "until": "9999-12-31T23:59:59Z"}),
                Ok(263),
            ),
        ];
        for (value, expected) in cases {
            let outcome = occurrences(&first, &rule(value.clone()), utc);
            match (outcome, expected) {
                (Ok(series), Ok(len)) => assert_eq!(series.len(), len, "{value}"),
                (Err(err), Err(field)) => {
                    assert_eq!(err.status(), 422);
                    assert_eq!(fields(&err), [field], "{value}");
                }
                (outcome, _) => panic!("{value}: unexpected {outcome:?}"),
            }
        }
    }

    #[test]
    fn invalid_rules_name_every_bad_field() {
        let first = visit("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z");
        let cases: [(Value, &[&str]); 11] = [
            (
                json!({"frequency": "yearly", "count": 2}),
                &["recurrence.frequency"],
            ),
            (json!({"count": 2}), &["recurrence.frequency"]),
            (
                json!({"frequency": "daily", "interval": 0, "count": 2}),
                &["recurrence.interval"],
            ),
            (
                json!({"frequency": "daily", "interval": 366, "count": 2}),
                &["recurrence.interval"],
            ),
            (
                json!({"frequency": "daily", "count": 0}),
                &["recurrence.count"],
            ),
            (
                json!({"frequency": "daily", "count": 367}),
                &["recurrence.count"],
            ),
            (
                json!({"frequency": "daily"}),
                &["recurrence.until", "recurrence.count"],
            ),
            (
                json!({"frequency": "daily", "count": 2, "until": "2026-04-01T00:00:00Z"}),
                &["recurrence.until", "recurrence.count"],
            ),
            (
                json!({"frequency": "daily", "until": "next month"}),
                &["recurrence.until"],
            ),
            (
                json!({"frequency": "daily", "until": "2026-03-02T08:59:59Z"}),
                &["recurrence.until"],
            ),
            (
                json!({"frequency": "hourly", "interval": -1, "count": 1000}),
                &[
                    "recurrence.interval",
                    "recurrence.frequency",
                    "recurrence.count",
                ],
            ),
        ];
        for (value, expected) in cases {
            let err = occurrences(&first, &rule(value.clone()), utc).unwrap_err();
            assert_eq!(err.status(), 422, "{value}");
            assert_eq!(fields(&err), expected, "{value}");
        }
    }

    /// New York in 2026: UTC-5, UTC-4 from 8 March 07:00 UTC to 1 November 06:00 UTC.
    fn new_york(at_ms: i64) -> i64 {
        let summer = at("2026-03-08T07:00:00Z").0 as i64..at("2026-11-01T06:00:00Z").0 as i64;
        if summer.contains(&at_ms) {
            -240
        } else {
            -300
        }
    }

    #[test]
    fn a_series_keeps_its_wall_clock_time_across_daylight_saving_changes() {
        // 09:00 in New York, before each change.
        let cases = [
            (
                visit("2026-10-20T13:00:00Z", "2026-10-20T14:00:00Z"),
                json!({"frequency": "weekly", "count": 3}),
                ["2026-10-20T13:00", "2026-10-27T13:00", "2026-11-03T14:00"],
            ),
            (
                visit("2026-02-24T14:00:00Z", "2026-02-24T15:00:00Z"),
                json!({"frequency": "weekly", "count": 3}),
                ["2026-02-24T14:00", "2026-03-03T14:00", "2026-03-10T13:00"],
            ),
            (
                visit("2026-02-09T14:00:00Z", "2026-02-09T15:00:00Z"),
                json!({"frequency": "monthly", "count": 3}),
                ["2026-02-09T14:00", "2026-03-09T13:00", "2026-04-09T13:00"],
            ),
            // 02:30 on 7 March: the 8th has no 02:30, so that visit is at 03:30 EDT.
            (
                visit("2026-03-07T07:30:00Z", "2026-03-07T08:00:00Z"),
                json!({"frequency": "daily", "count": 3}),
                ["2026-03-07T07:30", "2026-03-08T07:30", "2026-03-09T06:30"],
            ),
            // 01:30 on 31 October: the 1 November one is the first of its two 01:30s.
            (
                visit("2026-10-31T05:30:00Z", "2026-10-31T06:00:00Z"),
                json!({"frequency": "daily", "count": 3}),
                ["2026-10-31T05:30", "2026-11-01T05:30", "2026-11-02T06:30"],
            ),
        ];
        for (first, value, expected) in cases {
            let series = occurrences(&first, &rule(value.clone()), new_york).unwrap();
            assert_eq!(starts(&series), expected, "{value}");
            assert!(series
                .iter()
                .all(|v| v.duration_ms() == first.duration_ms()));
        }
    }

    #[test]
    fn a_rule_ending_at_its_first_start_is_just_that_visit() {
        let first = visit("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z");
        let series = occurrences(
            &first,
            &rule(json!({"frequency": "weekly", "until": "2026-03-02T09:00:00Z"})),
            utc,
        )
        .unwrap();
        assert_eq!(series, [first]);
    }

    #[test]
    fn the_wire_rule_defaults_its_interval_and_refuses_unknown_keys() {
        assert_eq!(rule(json!({"frequency": "daily", "count": 2})).interval, 1);
        let typo = json!({"frequency": "daily", "cuont": 2});
        assert!(serde_json::from_value::<Recurrence>(typo).is_err());
    }
}
