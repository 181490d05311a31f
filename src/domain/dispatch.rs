//! Dispatching: a visit's own status, and how a job follows what happens to its visits.
//!
//! A job's status still moves only through [`JobStatus`]'s machine when someone changes it by
//! hand; the moves here are the ones the visits imply (booking schedules a requested job,
//! arriving starts it, …). Each is a [`Follow`]: from which status to which, and on what
//! condition about the job's other visits. The conditions are checked by the statement that
//! writes the move (in the same batch as the visit's change), so two people acting at once
//! cannot leave a job behind its visits.

use crate::domain::jobs::{refused_move, JobStatus};
use crate::error::{AppError, ErrorKind};

/// Where a visit is in its day. The strings are those stored in `visits.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VisitStatus {
    Scheduled,
    EnRoute,
    InProgress,
    Completed,
    Cancelled,
}

impl VisitStatus {
    pub const ALL: [VisitStatus; 5] = [
        VisitStatus::Scheduled,
        VisitStatus::EnRoute,
        VisitStatus::InProgress,
        VisitStatus::Completed,
        VisitStatus::Cancelled,
    ];

    /// The statuses in which a visit still lies ahead or is under way.
    pub const OPEN: [VisitStatus; 3] = [
        VisitStatus::Scheduled,
        VisitStatus::EnRoute,
        VisitStatus::InProgress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::EnRoute => "en_route",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(value: &str) -> Option<VisitStatus> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// The statuses a visit in this one may move to: the whole table, in one place.
    pub fn allowed_next(self) -> &'static [VisitStatus] {
        use VisitStatus::*;
        match self {
            // Completing straight away is allowed: a technician who forgot to tap "arrived".
            Scheduled => &[EnRoute, InProgress, Completed, Cancelled],
            // Back to scheduled when the technician turns round.
            EnRoute => &[InProgress, Scheduled, Completed, Cancelled],
            InProgress => &[Completed, Cancelled],
            // Done work is history; more work is another visit.
            Completed => &[],
            // A cancelled visit may be put back on the calendar (its time checked again).
            Cancelled => &[Scheduled],
        }
    }

    /// `to`, if a visit in this status may move there; otherwise the 409 naming where it may.
    pub fn transition(self, to: VisitStatus) -> Result<VisitStatus, AppError> {
        let allowed = self.allowed_next();
        if allowed.contains(&to) {
            return Ok(to);
        }
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        Err(refused_move("visit", self.as_str(), to.as_str(), &names))
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

/// Whether someone may move a visit to `to`: those who work it move it along their day;
/// cancelling is for those who manage the schedule (`manages`).
pub fn may_move_visit(to: VisitStatus, manages: bool) -> Result<(), AppError> {
    if to == VisitStatus::Cancelled && !manages {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("Only the office cancels a visit: ask them, or move it."));
    }
    Ok(())
}

/// What happened to a visit that its job may follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisitEvent {
    /// A visit (or a series) was booked.
    Booked,
    /// A visit moved to this status.
    Became(VisitStatus),
    /// A visit was deleted.
    Deleted,
}

/// The condition, about the job's other visits and the company, under which a follow applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    Always,
    /// No other visit of the job is still open (scheduled, en route or in progress).
    NoOtherOpenVisit,
    /// As [`When::NoOtherOpenVisit`], and the company completes jobs with their last visit,
    /// and no required signature is missing.
    LastVisitCompletesJob,
}

/// A move of the job that follows a visit's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Follow {
    pub from: JobStatus,
    pub to: JobStatus,
    pub when: When,
}

/// The moves a job in status `job` makes when `event` happens to one of its visits, in the
/// order they are tried (at most one applies: each starts from the status as loaded).
pub fn follows(job: JobStatus, event: VisitEvent) -> Vec<Follow> {
    use JobStatus::*;
    use VisitStatus as V;
    let follow = |to, when| Follow {
        from: job,
        to,
        when,
    };
    match (event, job) {
        (VisitEvent::Booked | VisitEvent::Became(V::Scheduled), Requested) => {
            vec![follow(Scheduled, When::Always)]
        }
        (VisitEvent::Became(V::InProgress), Requested | Scheduled) => {
            vec![follow(InProgress, When::Always)]
        }
        (VisitEvent::Became(V::Completed), Requested | Scheduled) => vec![
            follow(Completed, When::LastVisitCompletesJob),
            follow(InProgress, When::Always),
        ],
        (VisitEvent::Became(V::Completed), InProgress) => {
            vec![follow(Completed, When::LastVisitCompletesJob)]
        }
        (VisitEvent::Became(V::Cancelled) | VisitEvent::Deleted, Scheduled) => {
            vec![follow(Requested, When::NoOtherOpenVisit)]
        }
        _ => Vec::new(),
    }
}

/// Whether to offer completing the job once a visit is done: it was the job's last open visit
/// and the job is not finished yet.
pub fn offers_completion(visit: VisitStatus, job: JobStatus, other_open: i64) -> bool {
    visit == VisitStatus::Completed
        && other_open == 0
        && !matches!(job, JobStatus::Completed | JobStatus::Cancelled)
}

/// The company's working hours (minutes after local midnight): at least an hour, within a
/// day. They set the schedule's visible range; visits outside it still show.
pub fn check_work_day(start: i64, end: i64) -> Result<(), &'static str> {
    if !(0..=1380).contains(&start) || !(60..=1440).contains(&end) || end - start < 60 {
        return Err("Working hours within the day (minutes 0 to 1440), at least an hour long.");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;
    use JobStatus::*;

    #[test]
    fn every_pair_of_visit_statuses_is_allowed_or_refused_once_named() {
        for from in VisitStatus::ALL {
            for to in VisitStatus::ALL {
                let result = from.transition(to);
                if from.allowed_next().contains(&to) {
                    assert_eq!(result, Ok(to));
                    continue;
                }
                let err = result.unwrap_err();
                assert_eq!(err.status(), 409);
                let names: Vec<&str> = from.allowed_next().iter().map(|s| s.as_str()).collect();
                assert_eq!(err.extensions["allowed"], json!(names));
                let detail = err.detail.clone().unwrap();
                for name in names {
                    assert_eq!(detail.matches(name).count(), 1, "{detail}");
                }
            }
        }
        for status in VisitStatus::ALL {
            assert_eq!(VisitStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(VisitStatus::parse("arrived"), None);
    }

    #[test]
    fn only_managers_cancel_a_visit() {
        assert_eq!(
            may_move_visit(VisitStatus::Cancelled, false)
                .unwrap_err()
                .status(),
            403
        );
        for to in VisitStatus::ALL {
            assert!(may_move_visit(to, true).is_ok());
        }
        assert!(may_move_visit(VisitStatus::InProgress, false).is_ok());
    }

    #[test]
    fn booking_schedules_a_requested_job_and_nothing_else() {
        assert_eq!(
            follows(Requested, VisitEvent::Booked),
            [Follow {
                from: Requested,
                to: Scheduled,
                when: When::Always
            }]
        );
        for job in [Scheduled, InProgress, OnHold, Completed, Cancelled] {
            assert!(follows(job, VisitEvent::Booked).is_empty(), "{job:?}");
        }
    }

    #[test]
    fn arriving_starts_the_job_and_completing_the_last_visit_may_complete_it() {
        for job in [Requested, Scheduled] {
            let moves = follows(job, VisitEvent::Became(VisitStatus::InProgress));
            assert_eq!(moves.len(), 1);
            assert_eq!((moves[0].to, moves[0].when), (InProgress, When::Always));
        }
        assert!(follows(OnHold, VisitEvent::Became(VisitStatus::InProgress)).is_empty());
        assert!(follows(InProgress, VisitEvent::Became(VisitStatus::EnRoute)).is_empty());

        let done = follows(InProgress, VisitEvent::Became(VisitStatus::Completed));
        assert_eq!(
            done.iter().map(|f| (f.to, f.when)).collect::<Vec<_>>(),
            [(Completed, When::LastVisitCompletesJob)]
        );
        // Work done on a job nobody marked started: completed if it may, else in progress.
        let skipped = follows(Scheduled, VisitEvent::Became(VisitStatus::Completed));
        assert_eq!(
            skipped.iter().map(|f| (f.to, f.when)).collect::<Vec<_>>(),
            [
                (Completed, When::LastVisitCompletesJob),
                (InProgress, When::Always)
            ]
        );
    }

    #[test]
    fn cancelling_or_deleting_the_last_open_visit_returns_a_scheduled_job_to_requested() {
        for event in [
            VisitEvent::Became(VisitStatus::Cancelled),
            VisitEvent::Deleted,
        ] {
            let moves = follows(Scheduled, event);
            assert_eq!(
                moves.iter().map(|f| (f.to, f.when)).collect::<Vec<_>>(),
                [(Requested, When::NoOtherOpenVisit)]
            );
            assert!(follows(InProgress, event).is_empty());
        }
    }

    #[test]
    fn completion_is_offered_after_the_last_open_visit_only() {
        assert!(offers_completion(VisitStatus::Completed, InProgress, 0));
        assert!(!offers_completion(VisitStatus::Completed, InProgress, 1));
        assert!(!offers_completion(VisitStatus::Completed, Completed, 0));
        assert!(!offers_completion(VisitStatus::InProgress, InProgress, 0));
    }

    #[test]
    fn working_hours_are_an_hour_or_more_within_the_day() {
        assert_eq!(check_work_day(420, 1140), Ok(()));
        assert_eq!(check_work_day(0, 1440), Ok(()));
        for (start, end) in [(600, 600), (600, 640), (-1, 600), (420, 1441), (1200, 600)] {
            assert!(check_work_day(start, end).is_err(), "{start}-{end}");
        }
    }
}
