//! Where visits sit on the schedule's grid: a visit cut into one piece per local day it covers
//! (so a night job shows on both days, marked as going on), and each piece given an hour slot.
//! Pure wall-clock arithmetic, tested on the host.

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// The hour slots of the company's working hours (minutes after local midnight, as the
/// settings keep them): every board shows them, whatever is booked, so there is somewhere to
/// drop a visit. An end on the hour is not a slot of its own (17:00–18:00 is the last for 18:00).
pub fn work_day(start_minute: i64, end_minute: i64) -> (i64, i64) {
    let first = start_minute.clamp(0, 1439) / 60;
    let last = ((end_minute.clamp(1, 1440) - 1) / 60).max(first);
    (first, last)
}

/// One day's part of a visit, in local wall-clock ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Which of the days shown (0 is the first).
    pub day: usize,
    pub from: i64,
    pub to: i64,
    /// The visit began on an earlier day.
    pub continued: bool,
    /// The visit goes on past this day.
    pub continues: bool,
}

impl Piece {
    /// The piece holding the visit's start: the one that is dragged or moved.
    pub fn is_head(&self) -> bool {
        !self.continued
    }
}

/// The pieces of the visit `[start, end)` on the `days` days from `first_day` (local
/// midnights). A visit ending at midnight does not spill into the next day.
pub fn pieces(start: i64, end: i64, first_day: i64, days: usize) -> Vec<Piece> {
    (0..days)
        .filter_map(|day| {
            let day_start = first_day + day as i64 * DAY_MS;
            let day_end = day_start + DAY_MS;
            let covers = start < day_end && (end > day_start || start == day_start);
            covers.then(|| Piece {
                day,
                from: start.max(day_start),
                to: end.min(day_end),
                continued: start < day_start,
                continues: end > day_end,
            })
        })
        .collect()
}

/// The hour slots a board shows, first to last (inclusive): the working day (see
/// [`work_day`]), widened to the hour of every visit that starts earlier or later, so visits
/// outside the working hours still show. Pieces carried over from an earlier day do not widen
/// it (they sit in the first slot).
pub fn hours<'a>(workday: (i64, i64), pieces: impl IntoIterator<Item = &'a Piece>) -> (i64, i64) {
    pieces
        .into_iter()
        .filter(|p| p.is_head())
        .map(|p| hour_of(p.from))
        .fold(workday, |(first, last), h| (first.min(h), last.max(h)))
}

/// The slot (an hour of the day) a piece sits in.
pub fn slot(piece: &Piece, (first, last): (i64, i64)) -> i64 {
    hour_of(piece.from).clamp(first, last)
}

/// Local midnight of `day` plus `hour`: where a slot starts.
pub fn slot_start(day_midnight: i64, hour: i64) -> i64 {
    day_midnight + hour * HOUR_MS
}

fn hour_of(wall: i64) -> i64 {
    wall.rem_euclid(DAY_MS) / HOUR_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    const MON: i64 = 20_000 * DAY_MS; // a local midnight
    fn at(day: i64, hour: i64, minute: i64) -> i64 {
        MON + day * DAY_MS + hour * HOUR_MS + minute * 60_000
    }

    #[test]
    fn a_visit_within_a_day_is_one_whole_piece_on_that_day() {
        assert_eq!(
            pieces(at(1, 9, 0), at(1, 11, 30), MON, 7),
            vec![Piece {
                day: 1,
                from: at(1, 9, 0),
                to: at(1, 11, 30),
                continued: false,
                continues: false,
            }]
        );
    }

    #[test]
    fn a_visit_over_midnight_is_cut_at_each_midnight_and_marked() {
        let cut = pieces(at(1, 22, 0), at(3, 6, 0), MON, 7);
        let shape: Vec<(usize, i64, i64, bool, bool)> = cut
            .iter()
            .map(|p| (p.day, p.from, p.to, p.continued, p.continues))
            .collect();
        assert_eq!(
            shape,
            vec![
                (1, at(1, 22, 0), at(2, 0, 0), false, true),
                (2, at(2, 0, 0), at(3, 0, 0), true, true),
                (3, at(3, 0, 0), at(3, 6, 0), true, false),
            ]
        );
        assert!(cut[0].is_head() && !cut[1].is_head());
    }

    #[test]
    fn only_the_days_shown_get_pieces() {
        // Began the Sunday before, ends Monday morning: only Monday's piece, carried over.
        let cut = pieces(at(-1, 20, 0), at(0, 8, 0), MON, 7);
        assert_eq!(cut.len(), 1);
        assert!(cut[0].continued && !cut[0].continues && cut[0].day == 0);
        // Runs past the last day shown.
        let cut = pieces(at(6, 23, 0), at(7, 1, 0), MON, 7);
        assert_eq!(cut.len(), 1);
        assert!(cut[0].continues && cut[0].day == 6);
        // A day view is one day.
        assert_eq!(pieces(at(0, 9, 0), at(0, 10, 0), at(1, 0, 0), 1), vec![]);
    }

    #[test]
    fn ending_at_midnight_stays_on_its_day() {
        let cut = pieces(at(0, 20, 0), at(1, 0, 0), MON, 7);
        assert_eq!(cut.len(), 1);
        assert!(!cut[0].continues);
    }

    #[test]
    fn the_slots_cover_the_working_day_and_every_start() {
        let early = pieces(at(0, 5, 30), at(0, 6, 0), MON, 7);
        let late = pieces(at(2, 21, 0), at(3, 2, 0), MON, 7);
        let all: Vec<Piece> = early.iter().chain(&late).copied().collect();
        let workday = work_day(420, 1140);
        assert_eq!(workday, (7, 18));
        assert_eq!(hours(workday, &[]), (7, 18));
        assert_eq!(hours(work_day(480, 1020), &[]), (8, 16), "08:00-17:00");
        assert_eq!(hours(work_day(600, 630), &[]), (10, 10));
        assert_eq!(
            hours(workday, &all),
            (5, 21),
            "the carried-over piece adds no midnight slot"
        );
        let range = hours(workday, &all);
        assert_eq!(slot(&early[0], range), 5);
        assert_eq!(slot(&late[1], range), 5, "carried over: the first slot");
        assert_eq!(slot(&late[0], (7, 18)), 18, "clamped into the board");
        assert_eq!(slot_start(MON, 14), at(0, 14, 0));
    }
}
