//! When automatic messages go out, in the company's time zone: never during quiet hours (a
//! message due then waits for their end), the day-before reminder from the reminder time on,
//! overdue reminders on the set days after the due date, a quote follow-up the set days after
//! sending. Pure: the zone's offset comes in as a function (the glue asks the runtime's `Intl`).

use crate::domain::time::wall_to_instant_ms;

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// The company's timing for automatic messages (the `message_settings` row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// Minutes after local midnight.
    pub quiet_start: i64,
    pub quiet_end: i64,
    pub reminder_at: i64,
    /// Days after the due date, ascending.
    pub overdue_days: Vec<i64>,
    pub quote_follow_up_days: i64,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            quiet_start: 20 * 60,
            quiet_end: 8 * 60,
            reminder_at: 17 * 60,
            overdue_days: vec![3, 7, 14],
            quote_follow_up_days: 3,
        }
    }
}

/// Minutes after local midnight at `at_ms`.
fn local_minutes(at_ms: i64, offset: &impl Fn(i64) -> i64) -> i64 {
    (at_ms + offset(at_ms) * MINUTE).rem_euclid(DAY) / MINUTE
}

/// The local midnight starting the day `at_ms` falls on, as wall ms.
fn local_midnight_wall(at_ms: i64, offset: &impl Fn(i64) -> i64) -> i64 {
    (at_ms + offset(at_ms) * MINUTE).div_euclid(DAY) * DAY
}

impl Timing {
    /// Whether `minutes` after midnight are quiet (a span may cross midnight; equal ends mean
    /// no quiet hours).
    fn is_quiet(&self, minutes: i64) -> bool {
        let (start, end) = (self.quiet_start, self.quiet_end);
        if start <= end {
            start <= minutes && minutes < end
        } else {
            minutes >= start || minutes < end
        }
    }

    /// The earliest instant at or after `at_ms` outside quiet hours.
    pub fn send_at(&self, at_ms: i64, offset: impl Fn(i64) -> i64) -> i64 {
        let minutes = local_minutes(at_ms, &offset);
        if !self.is_quiet(minutes) {
            return at_ms;
        }
        let midnight = local_midnight_wall(at_ms, &offset);
        // Quiet until quiet_end today, or tomorrow when the span started this evening.
        let day = if self.quiet_start > self.quiet_end && minutes >= self.quiet_start {
            midnight + DAY
        } else {
            midnight
        };
        wall_to_instant_ms(day + self.quiet_end * MINUTE, &offset).max(at_ms)
    }

    /// The visits whose reminder is due at `now_ms`: those starting tomorrow (local), once the
    /// reminder time has come today. `[start, end)` as instants, or none before that time.
    pub fn reminder_window(&self, now_ms: i64, offset: impl Fn(i64) -> i64) -> Option<(i64, i64)> {
        if local_minutes(now_ms, &offset) < self.reminder_at {
            return None;
        }
        let tomorrow = local_midnight_wall(now_ms, &offset) + DAY;
        Some((
            wall_to_instant_ms(tomorrow, &offset),
            wall_to_instant_ms(tomorrow + DAY, &offset),
        ))
    }

    /// Which overdue reminder is due for an invoice due at `due_ms`: the latest of the set days
    /// that has passed (a reminder missed while nothing ran is not sent late as well).
    pub fn overdue_step(&self, due_ms: i64, now_ms: i64) -> Option<i64> {
        self.overdue_days
            .iter()
            .copied()
            .filter(|days| due_ms + days * DAY <= now_ms)
            .max()
    }

    /// Whether a quote sent at `sent_ms` and still unanswered is due its follow-up.
    pub fn follow_up_due(&self, sent_ms: i64, now_ms: i64) -> bool {
        sent_ms + self.quote_follow_up_days * DAY <= now_ms
    }
}

/// Reads the stored list of overdue days: whole days from 1 to 365, ascending, at most five.
pub fn parse_overdue_days(text: &str) -> Result<Vec<i64>, String> {
    let mut days: Vec<i64> = text
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<i64>()
                .ok()
                .filter(|d| (1..=365).contains(d))
                .ok_or_else(|| format!("{t:?} is not a number of days from 1 to 365."))
        })
        .collect::<Result<_, _>>()?;
    days.sort_unstable();
    days.dedup();
    if days.len() > 5 {
        return Err("At most five reminders.".into());
    }
    Ok(days)
}

/// `HH:MM` as minutes after midnight.
pub fn parse_clock(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m) = (h.parse::<i64>().ok()?, m.parse::<i64>().ok()?);
    ((0..24).contains(&h) && (0..60).contains(&m) && text.trim().len() <= 5).then_some(h * 60 + m)
}

/// Minutes after midnight as `HH:MM`.
pub fn clock(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 00:00 UTC.
    const MONDAY: i64 = 1_796_601_600_000;

    fn at(day: i64, hour: i64, minute: i64) -> i64 {
        MONDAY + day * DAY + hour * 3_600_000 + minute * MINUTE
    }

    #[test]
    fn quiet_hours_hold_messages_until_they_end() {
        let timing = Timing::default();
        let utc = |_: i64| 0;
        assert_eq!(timing.send_at(at(0, 12, 0), utc), at(0, 12, 0));
        assert_eq!(timing.send_at(at(0, 21, 30), utc), at(1, 8, 0));
        assert_eq!(timing.send_at(at(0, 3, 0), utc), at(0, 8, 0));
        assert_eq!(timing.send_at(at(0, 20, 0), utc), at(1, 8, 0));
        assert_eq!(timing.send_at(at(0, 7, 59), utc), at(0, 8, 0));
        assert_eq!(timing.send_at(at(0, 8, 0), utc), at(0, 8, 0));
        let lunch = Timing {
            quiet_start: 12 * 60,
            quiet_end: 13 * 60,
            ..Timing::default()
        };
        assert_eq!(lunch.send_at(at(0, 12, 30), utc), at(0, 13, 0));
        let never = Timing {
            quiet_start: 0,
            quiet_end: 0,
            ..Timing::default()
        };
        assert_eq!(never.send_at(at(0, 23, 0), utc), at(0, 23, 0));
    }

    #[test]
    fn quiet_hours_are_the_companys_local_hours() {
        // UTC+5:30: 21:00 local is 15:30 UTC; quiet until 08:00 local, 02:30 UTC next day.
        let kolkata = |_: i64| 330;
        let timing = Timing::default();
        assert_eq!(timing.send_at(at(0, 15, 30), kolkata), at(1, 2, 30));
        assert_eq!(timing.send_at(at(0, 10, 0), kolkata), at(0, 10, 0));
    }

    #[test]
    fn reminders_for_tomorrows_visits_start_at_the_reminder_time() {
        let timing = Timing::default();
        let utc = |_: i64| 0;
        assert_eq!(timing.reminder_window(at(0, 16, 59), utc), None);
        assert_eq!(
            timing.reminder_window(at(0, 17, 0), utc),
            Some((at(1, 0, 0), at(2, 0, 0)))
        );
        assert_eq!(
            timing.reminder_window(at(0, 23, 59), utc),
            Some((at(1, 0, 0), at(2, 0, 0)))
        );
        // New York in winter (UTC−5): 17:00 local is 22:00 UTC; tomorrow starts 05:00 UTC.
        let new_york = |_: i64| -300;
        assert_eq!(timing.reminder_window(at(0, 21, 59), new_york), None);
        assert_eq!(
            timing.reminder_window(at(0, 22, 0), new_york),
            Some((at(1, 5, 0), at(2, 5, 0)))
        );
    }

    #[test]
    fn the_latest_overdue_step_passed_is_the_one_due() {
        let timing = Timing::default();
        let due = at(0, 0, 0);
        assert_eq!(timing.overdue_step(due, at(2, 23, 0)), None);
        assert_eq!(timing.overdue_step(due, at(3, 0, 0)), Some(3));
        assert_eq!(timing.overdue_step(due, at(9, 0, 0)), Some(7));
        assert_eq!(timing.overdue_step(due, at(40, 0, 0)), Some(14));
        assert!(!timing.follow_up_due(due, at(2, 23, 59)));
        assert!(timing.follow_up_due(due, at(3, 0, 0)));
    }

    #[test]
    fn settings_are_read_strictly() {
        assert_eq!(parse_overdue_days("14, 3,7,3"), Ok(vec![3, 7, 14]));
        assert!(parse_overdue_days("0").is_err());
        assert!(parse_overdue_days("1,2,3,4,5,6").is_err());
        assert!(parse_overdue_days("x").is_err());
        assert_eq!(parse_overdue_days(""), Ok(vec![]));
        assert_eq!(parse_clock("17:00"), Some(1020));
        assert_eq!(parse_clock("7:05"), Some(425));
        assert_eq!(parse_clock("24:00"), None);
        assert_eq!(parse_clock("12:60"), None);
        assert_eq!(clock(1020), "17:00");
    }
}
