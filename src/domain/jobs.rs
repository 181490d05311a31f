//! Jobs: their status machine, priority, line items, notes, and what a valid change to one is.
//!
//! A create and a PATCH carry the same [`JobChanges`], as customers do: on create the title must
//! be there; on PATCH only the fields present change (`null` clears the description). Status is
//! not a field of a change: it moves only through [`JobStatus::transition`], so every move is
//! checked against one table. Site, customer and version belong to the glue.

use crate::json;
use serde::{Deserialize, Serialize};

use crate::domain::customers::{nullable, FieldErrors};
use crate::error::{AppError, ErrorKind};

const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 10_000;
const MAX_TECHNICIANS: usize = 20;
const MAX_TECHNICIAN_ID: usize = 64;
const MAX_ITEMS: usize = 200;
const MAX_ITEM_DESCRIPTION: usize = 200;
const MAX_UNIT: usize = 16;
/// A million units in thousandths: far beyond any real job, small enough that totals of 200
/// items times a price in minor units stay well inside `i64`.
const MAX_QUANTITY_MILLI: i64 = 1_000_000_000;
const MAX_NOTE: usize = 5_000;

/// The kinds of line item: labour done, or a part used.
pub const ITEM_KINDS: [&str; 2] = ["work", "part"];

/// Where a job is in its life. The strings are those stored in `jobs.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    Requested,
    Scheduled,
    InProgress,
    Completed,
    OnHold,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Requested,
        JobStatus::Scheduled,
        JobStatus::InProgress,
        JobStatus::Completed,
        JobStatus::OnHold,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Requested => "requested",
            Self::Scheduled => "scheduled",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::OnHold => "on_hold",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<JobStatus> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    /// The statuses a job in this one may move to: the whole transition table, in one place.
    pub fn allowed_next(self) -> &'static [JobStatus] {
        use JobStatus::*;
        match self {
            Requested => &[Scheduled, OnHold, Cancelled],
            // Back to requested when a booking falls through and needs a new date.
            Scheduled => &[InProgress, OnHold, Cancelled, Requested],
            InProgress => &[Completed, OnHold, Cancelled],
            OnHold => &[Requested, Scheduled, InProgress, Cancelled],
            // Completed is final: reopening finished (possibly invoiced) work would rewrite
            // history; follow-up work is a new job.
            Completed => &[],
            // A cancelled job may be reopened; it starts over as a request.
            Cancelled => &[Requested],
        }
    }

    /// `to`, if a job in this status may move there; otherwise a 409 that says where it may go.
    /// Moving to the same status is refused too: a retried or stale request should learn that
    /// nothing changed rather than write a second history entry.
    pub fn transition(self, to: JobStatus) -> Result<JobStatus, AppError> {
        let allowed = self.allowed_next();
        if allowed.contains(&to) {
            return Ok(to);
        }
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        Err(refused_move("job", self.as_str(), to.as_str(), &names))
    }
}

/// The 409 for a refused status move of a `what` (job, visit): why, and the allowed moves,
/// named once (in the detail, and as `allowed` for clients).
pub fn refused_move(what: &str, current: &str, to: &str, allowed: &[&str]) -> AppError {
    let detail = if to == current {
        format!("The {what} is already {current}.")
    } else {
        format!("A {current} {what} cannot move to {to}.")
    };
    let detail = match allowed {
        [] => format!("{detail} A {current} {what} is final."),
        _ => format!("{detail} It can move to {}.", allowed.join(", ")),
    };
    AppError::new(ErrorKind::Conflict)
        .with_detail(detail)
        .with_extension("allowed", json!(allowed))
        .with_extension("current_status", json!(current))
}

/// How urgent a job is. The strings are those stored in `jobs.priority`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
            Self::Urgent => "urgent",
        }
    }

    pub fn parse(value: &str) -> Option<Priority> {
        Self::ALL
            .into_iter()
            .find(|priority| priority.as_str() == value)
    }
}

/// Work done or a part used on a job. The same shape is sent by clients and stored in the
/// `jobs.items` JSON column, hence both serde directions; it is valid only once it has passed
/// through a [`Job`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineItem {
    /// `"work"` or `"part"`.
    pub kind: String,
    pub description: String,
    /// Thousandths of a unit, so "1.5 h" is 1500 without a float in sight.
    pub quantity_milli: i64,
    #[serde(default)]
    pub unit: Option<String>,
}

/// A job's own fields, valid. Status, site and customer live beside it (see the module note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub title: String,
    pub description: Option<String>,
    pub priority: Priority,
    pub technician_ids: Vec<String>,
    pub items: Vec<LineItem>,
}

/// A create or a change, as the client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobChanges {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub description: Option<Option<String>>,
    /// A string rather than [`Priority`] so a bad value is reported against its field, with
    /// the others, instead of failing the whole body.
    pub priority: Option<String>,
    pub technician_ids: Option<Vec<String>>,
    /// Replaces the whole list: the client holds the list and sends it back edited.
    pub items: Option<Vec<LineItem>>,
}

impl JobChanges {
    /// The names of the fields this change carries, in wire order.
    fn present_fields(&self) -> Vec<&'static str> {
        [
            ("title", self.title.is_some()),
            ("description", self.description.is_some()),
            ("priority", self.priority.is_some()),
            ("technician_ids", self.technician_ids.is_some()),
            ("items", self.items.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, present)| present.then_some(name))
        .collect()
    }
}

impl Job {
    /// A new job from a create request.
    pub fn create(changes: JobChanges) -> Result<Job, AppError> {
        let blank = Job {
            title: String::new(),
            description: None,
            priority: Priority::default(),
            technician_ids: Vec::new(),
            items: Vec::new(),
        };
        let mut errors = FieldErrors::default();
        if changes.title.is_none() {
            errors.add("title", "A job needs a title.");
        }
        let job = blank.apply_collecting(changes, &mut errors);
        errors.into_result(job, "The job could not be saved.")
    }

    /// This job with `changes` applied.
    pub fn apply(self, changes: JobChanges) -> Result<Job, AppError> {
        let mut errors = FieldErrors::default();
        let job = self.apply_collecting(changes, &mut errors);
        errors.into_result(job, "The job could not be saved.")
    }

    fn apply_collecting(mut self, changes: JobChanges, errors: &mut FieldErrors) -> Job {
        if let Some(title) = changes.title {
            let title = title.trim().to_owned();
            if title.is_empty() || title.chars().count() > MAX_TITLE {
                errors.add("title", "A title of 1 to 200 characters.");
            }
            self.title = title;
        }
        if let Some(description) = changes.description {
            self.description = description
                .map(|d| d.trim().to_owned())
                .filter(|d| !d.is_empty());
            if self
                .description
                .as_ref()
                .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION)
            {
                errors.add("description", "At most 10000 characters.");
            }
        }
        if let Some(priority) = changes.priority {
            match Priority::parse(priority.trim()) {
                Some(p) => self.priority = p,
                None => errors.add("priority", "One of low, normal, high, urgent."),
            }
        }
        if let Some(ids) = changes.technician_ids {
            self.technician_ids = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let id = id.trim();
                if id.is_empty() || id.chars().count() > MAX_TECHNICIAN_ID {
                    errors.add(
                        format!("technician_ids[{i}]"),
                        "A technician id of 1 to 64 characters.",
                    );
                } else if !self.technician_ids.iter().any(|known| known == id) {
                    self.technician_ids.push(id.to_owned());
                }
            }
            // Counted after de-duplication: naming someone twice is harmless.
            if self.technician_ids.len() > MAX_TECHNICIANS {
                errors.add("technician_ids", "At most 20 technicians.");
            }
        }
        if let Some(items) = changes.items {
            if items.len() > MAX_ITEMS {
                errors.add("items", "At most 200 line items.");
            }
            self.items = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| line_item(errors, i, item))
                .collect();
        }
        self
    }
}

/// One line item normalised (trimmed, empty unit dropped), its problems named by index.
fn line_item(errors: &mut FieldErrors, i: usize, item: LineItem) -> LineItem {
    let kind = item.kind.trim().to_owned();
    if !ITEM_KINDS.contains(&kind.as_str()) {
        errors.add(format!("items[{i}].kind"), "One of work, part.");
    }
    let description = item.description.trim().to_owned();
    if description.is_empty() || description.chars().count() > MAX_ITEM_DESCRIPTION {
        errors.add(
            format!("items[{i}].description"),
            "A description of 1 to 200 characters.",
        );
    }
    if !(1..=MAX_QUANTITY_MILLI).contains(&item.quantity_milli) {
        errors.add(
            format!("items[{i}].quantity_milli"),
            "A quantity in thousandths, from 1 to 1000000000.",
        );
    }
    let unit = item
        .unit
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty());
    if unit.as_ref().is_some_and(|u| u.chars().count() > MAX_UNIT) {
        errors.add(
            format!("items[{i}].unit"),
            "A unit of at most 16 characters.",
        );
    }
    LineItem {
        kind,
        description,
        quantity_milli: item.quantity_milli,
        unit,
    }
}

/// A technician edits a job only to record the work and parts used. Status and notes have their
/// own endpoints; whether the job is theirs at all is the glue's check. Anything else they send
/// is refused whole, naming what they may not change, rather than silently dropped.
pub fn technician_may_change(changes: &JobChanges) -> Result<(), AppError> {
    let refused: Vec<&str> = changes
        .present_fields()
        .into_iter()
        .filter(|field| *field != "items")
        .collect();
    if refused.is_empty() {
        return Ok(());
    }
    Err(AppError::new(ErrorKind::Forbidden)
        .with_detail(format!(
            "Technicians may change only a job's items, not {}.",
            refused.join(", ")
        ))
        .with_extension("fields", json!(refused)))
}

/// A note's text, trimmed, or a 422 against `text`.
pub fn parse_note(text: &str) -> Result<String, AppError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > MAX_NOTE {
        return Err(AppError::invalid_field(
            "text",
            "A note of 1 to 5000 characters.",
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use JobStatus::*;

    /// The `[{field, message}]` list of a 422, reduced to its field names.
    fn error_fields(err: &AppError) -> Vec<String> {
        err.extensions["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn changes(value: Value) -> JobChanges {
        serde_json::from_value(value).expect("valid changes")
    }

    fn job(value: Value) -> Job {
        Job::create(changes(value)).expect("valid job")
    }

    fn item(kind: &str, description: &str, quantity_milli: i64) -> Value {
        json!({"kind": kind, "description": description, "quantity_milli": quantity_milli})
    }

    /// The table as the brief states it, written out independently of `allowed_next`.
    const TABLE: [(JobStatus, &[JobStatus]); 6] = [
        (Requested, &[Scheduled, OnHold, Cancelled]),
        (Scheduled, &[InProgress, OnHold, Cancelled, Requested]),
        (InProgress, &[Completed, OnHold, Cancelled]),
        (OnHold, &[Requested, Scheduled, InProgress, Cancelled]),
        (Completed, &[]),
        (Cancelled, &[Requested]),
    ];

    #[test]
    fn every_pair_of_statuses_is_allowed_or_refused_as_the_table_says() {
        for (from, allowed) in TABLE {
            assert_eq!(from.allowed_next(), allowed, "{from:?}");
            let allowed_names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            for to in JobStatus::ALL {
                let result = from.transition(to);
                if allowed.contains(&to) {
                    assert_eq!(result, Ok(to), "{from:?} -> {to:?}");
                    continue;
                }
                let err = result.expect_err("refused move");
                assert_eq!(err.kind, ErrorKind::Conflict, "{from:?} -> {to:?}");
                assert_eq!(err.status(), 409);
                assert_eq!(err.extensions["allowed"], json!(allowed_names));
                assert_eq!(err.extensions["current_status"], json!(from.as_str()));
                let detail = err.detail.as_deref().unwrap_or_default();
                assert!(detail.contains(from.as_str()), "{detail}");
                for name in &allowed_names {
                    assert!(detail.contains(name), "{detail} lacks {name}");
                }
            }
        }
    }

    #[test]
    fn a_move_to_the_same_status_is_a_conflict_that_says_so() {
        for status in JobStatus::ALL {
            let err = status.transition(status).unwrap_err();
            assert_eq!(err.status(), 409);
            assert!(err.detail.clone().unwrap().contains("already"));
        }
    }

    #[test]
    fn a_completed_job_is_final_and_a_cancelled_one_only_reopens() {
        let err = Completed.transition(Requested).unwrap_err();
        assert_eq!(err.extensions["allowed"], json!([]));
        assert!(err.detail.clone().unwrap().contains("final"));
        assert_eq!(Cancelled.transition(Requested), Ok(Requested));
    }

    #[test]
    fn statuses_and_priorities_round_trip_through_their_strings() {
        let names: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "requested",
                "scheduled",
                "in_progress",
                "completed",
                "on_hold",
                "cancelled"
            ]
        );
        for status in JobStatus::ALL {
            assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        for priority in Priority::ALL {
            assert_eq!(Priority::parse(priority.as_str()), Some(priority));
        }
        for bad in ["", "Scheduled", "in-progress", "done"] {
            assert_eq!(JobStatus::parse(bad), None, "{bad}");
        }
        assert_eq!(Priority::parse("URGENT"), None);
        assert_eq!(Priority::default(), Priority::Normal);
    }

    #[test]
    fn a_job_is_created_with_trimmed_fields_and_defaults() {
        let created = job(json!({
            "title": "  Boiler service ",
            "description": "  Annual check ",
            "items": [{"kind": "work", "description": " Labour ", "quantity_milli": 1500,
                       "unit": " h "}],
        }));
        assert_eq!(created.title, "Boiler service");
        assert_eq!(created.description.as_deref(), Some("Annual check"));
        assert_eq!(created.priority, Priority::Normal);
        assert!(created.technician_ids.is_empty());
        assert_eq!(
            created.items,
            [LineItem {
                kind: "work".into(),
                description: "Labour".into(),
                quantity_milli: 1500,
                unit: Some("h".into()),
            }]
        );
    }

    #[test]
    fn a_job_needs_a_title() {
        let err = Job::create(changes(json!({"priority": "high"}))).unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(error_fields(&err), ["title"]);
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_null_clears_the_description() {
        let original = job(json!({
            "title": "Leak",
            "description": "Under the sink",
            "priority": "urgent",
            "technician_ids": ["u1"],
            "items": [item("part", "Washer", 2000)],
        }));
        let untouched = original.clone().apply(changes(json!({}))).unwrap();
        assert_eq!(untouched, original);

        let cleared = original
            .clone()
            .apply(changes(json!({"description": null})))
            .unwrap();
        assert_eq!(cleared.description, None);
        assert_eq!(
            Job {
                description: Some("Under the sink".into()),
                ..cleared
            },
            original
        );

        let blanked = original
            .clone()
            .apply(changes(json!({"description": "   "})))
            .unwrap();
        assert_eq!(blanked.description, None);

        let retitled = original
            .clone()
            .apply(changes(json!({"title": "Big leak", "items": []})))
            .unwrap();
        assert_eq!(retitled.title, "Big leak");
        assert!(retitled.items.is_empty());
        assert_eq!(retitled.priority, Priority::Urgent);
        assert_eq!(retitled.technician_ids, ["u1"]);
    }

    #[test]
    fn duplicate_technician_ids_are_removed_in_order() {
        let created = job(json!({"title": "x", "technician_ids": ["u2", "u1", " u2 ", "u1"]}));
        assert_eq!(created.technician_ids, ["u2", "u1"]);
        let many: Vec<String> = (0..25).map(|_| "same".to_owned()).collect();
        let created = job(json!({"title": "x", "technician_ids": many}));
        assert_eq!(created.technician_ids, ["same"]);
    }

    #[test]
    fn every_bad_field_is_named() {
        let long = |n: usize| "x".repeat(n);
        let twenty_one: Vec<String> = (0..21).map(|i| format!("u{i}")).collect();
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            ("blank title", json!({"title": "  "}), vec!["title"]),
            ("long title", json!({"title": long(201)}), vec!["title"]),
            (
                "long description",
                json!({"description": long(10_001)}),
                vec!["description"],
            ),
            (
                "unknown priority",
                json!({"priority": "asap"}),
                vec!["priority"],
            ),
            (
                "empty and long technician ids",
                json!({"technician_ids": ["u1", "", "  ", long(65)]}),
                vec![
                    "technician_ids[1]",
                    "technician_ids[2]",
                    "technician_ids[3]",
                ],
            ),
            (
                "too many technicians",
                json!({"technician_ids": twenty_one}),
                vec!["technician_ids"],
            ),
            (
                "too many items",
                json!({"items": vec![item("work", "Labour", 1000); 201]}),
                vec!["items"],
            ),
            (
                "bad kind",
                json!({"items": [item("labour", "Labour", 1000)]}),
                vec!["items[0].kind"],
            ),
            (
                "blank item description",
                json!({"items": [item("part", " ", 1000)]}),
                vec!["items[0].description"],
            ),
            (
                "long item description",
                json!({"items": [item("part", &long(201), 1000)]}),
                vec!["items[0].description"],
            ),
            (
                "zero quantity",
                json!({"items": [item("part", "Pipe", 1), item("part", "Pipe", 0)]}),
                vec!["items[1].quantity_milli"],
            ),
            (
                "negative quantity",
                json!({"items": [item("part", "Pipe", -1000)]}),
                vec!["items[0].quantity_milli"],
            ),
            (
                "huge quantity",
                json!({"items": [item("part", "Pipe", 1_000_000_001)]}),
                vec!["items[0].quantity_milli"],
            ),
            (
                "long unit",
                json!({"items": [{"kind": "part", "description": "Pipe",
                                  "quantity_milli": 1000, "unit": long(17)}]}),
                vec!["items[0].unit"],
            ),
            (
                "several at once",
                json!({"title": "", "priority": "meh",
                       "items": [item("tool", "", 0)]}),
                vec![
                    "title",
                    "priority",
                    "items[0].kind",
                    "items[0].description",
                    "items[0].quantity_milli",
                ],
            ),
        ];
        let base = job(json!({"title": "Leak"}));
        for (name, change, expected) in cases {
            let err = base.clone().apply(changes(change)).unwrap_err();
            assert_eq!(err.status(), 422, "{name}");
            assert_eq!(error_fields(&err), expected, "{name}");
        }
    }

    #[test]
    fn the_bounds_themselves_are_accepted() {
        let twenty: Vec<String> = (0..20).map(|i| format!("u{i}")).collect();
        let created = job(json!({
            "title": "x".repeat(200),
            "description": "y".repeat(10_000),
            "technician_ids": twenty,
            "items": [
                {"kind": "part", "description": "z".repeat(200), "quantity_milli": 1_000_000_000,
                 "unit": "u".repeat(16)},
                item("work", "a", 1),
            ],
        }));
        assert_eq!(created.technician_ids.len(), 20);
        assert_eq!(created.items.len(), 2);
        let items = vec![item("work", "Labour", 1000); 200];
        assert!(job(json!({"title": "x", "items": items})).items.len() == 200);
    }

    #[test]
    fn a_technician_may_send_items_only() {
        assert_eq!(technician_may_change(&changes(json!({}))), Ok(()));
        assert_eq!(
            technician_may_change(&changes(json!({"items": [item("part", "Valve", 1000)]}))),
            Ok(())
        );
        let refused = [
            ("title", json!({"title": "Mine now"})),
            ("description", json!({"description": "x"})),
            ("description", json!({"description": null})),
            ("priority", json!({"priority": "low"})),
            ("technician_ids", json!({"technician_ids": []})),
        ];
        for (field, mut change) in refused {
            change["items"] = json!([]);
            let err = technician_may_change(&changes(change)).unwrap_err();
            assert_eq!(err.kind, ErrorKind::Forbidden, "{field}");
            assert_eq!(err.status(), 403);
            assert_eq!(err.extensions["fields"], json!([field]));
            // Only the refused field is named; the items that came with it are fine.
            let detail = err.detail.clone().unwrap();
            assert!(detail.ends_with(&format!("not {field}.")), "{detail}");
        }
    }

    #[test]
    fn a_technician_is_told_every_field_they_may_not_change() {
        let err = technician_may_change(&changes(json!({"title": "t", "priority": "high"})));
        let err = err.unwrap_err();
        assert_eq!(err.extensions["fields"], json!(["title", "priority"]));
        assert_eq!(
            err.detail.as_deref(),
            Some("Technicians may change only a job's items, not title, priority.")
        );
    }

    #[test]
    fn notes_are_trimmed_and_bounded() {
        let cases: [(String, Option<&str>); 5] = [
            ("  Fixed it. ".into(), Some("Fixed it.")),
            ("a".into(), Some("a")),
            ("".into(), None),
            (" \n\t ".into(), None),
            ("n".repeat(5_001), None),
        ];
        for (text, expected) in cases {
            match (parse_note(&text), expected) {
                (Ok(note), Some(want)) => assert_eq!(note, want),
                (Err(err), None) => {
                    assert_eq!(err.status(), 422);
                    assert_eq!(error_fields(&err), ["text"]);
                }
                (got, want) => panic!("{text:?}: got {got:?}, wanted {want:?}"),
            }
        }
        // The limit counts characters, not bytes.
        assert_eq!(
            parse_note(&"é".repeat(5_000)).map(|n| n.chars().count()),
            Ok(5_000)
        );
    }

    #[test]
    fn unknown_fields_are_refused_by_the_wire_types() {
        let bodies = [
            json!({"titel": "x"}),
            json!({"title": "x", "status": "completed"}),
            json!({"title": "x", "site_id": "s1"}),
            json!({"items": [{"kind": "part", "description": "x", "quantity_milli": 1,
                              "price": 100}]}),
        ];
        for body in bodies {
            assert!(
                serde_json::from_value::<JobChanges>(body.clone()).is_err(),
                "{body}"
            );
        }
        // Quantities are integers: a float is not silently truncated.
        let float = json!({"items": [{"kind": "part", "description": "x", "quantity_milli": 1.5}]});
        assert!(serde_json::from_value::<JobChanges>(float).is_err());
    }
}
