//! Instants as Unix milliseconds and their RFC 3339 UTC form. The clock itself is read by the
//! glue and passed in, so pure code stays deterministic under test.

/// Unix time in milliseconds, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Millis(pub u64);

impl Millis {
    pub const SECOND: u64 = 1_000;
    pub const MINUTE: u64 = 60 * Self::SECOND;
    pub const HOUR: u64 = 60 * Self::MINUTE;
    pub const DAY: u64 = 24 * Self::HOUR;
    /// 9999-12-31T23:59:59.999Z: the last instant whose RFC 3339 form has a four-digit year.
    pub const LAST: Millis = Millis(253_402_300_799_999);

    pub fn as_secs(self) -> u64 {
        self.0 / 1_000
    }

    /// An instant stored or computed as signed ms (D1 integers, wall-clock arithmetic); one
    /// before 1970 is read as 1970.
    pub fn from_ms(ms: i64) -> Millis {
        Millis(u64::try_from(ms).unwrap_or(0))
    }

    pub fn plus(self, ms: u64) -> Millis {
        Millis(self.0.saturating_add(ms))
    }

    /// `2026-11-23T10:44:27.123Z`: always UTC, always milliseconds, so strings sort as times.
    pub fn to_rfc3339(self) -> String {
        let secs = self.0 / 1_000;
        let ms = self.0 % 1_000;
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{ms:03}Z",
            rem / 3_600,
            (rem % 3_600) / 60,
            rem % 60
        )
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (RFC 3339, `t` and `z` also accepted)
    /// and converts it to UTC. A fraction of 1 to 9 digits is truncated to milliseconds, since
    /// that is all `Millis` holds; rounding could carry into the next second and surprise.
    ///
    /// `None` for anything else, including impossible dates (Feb 30), a leap second (`:60`,
    /// which Unix time cannot hold), years outside 1970–9999 (years before the epoch do not
    /// fit in `Millis`; later ones would not print as four digits), and an instant that an
    /// offset moves before the epoch or past [`Millis::LAST`].
    pub fn parse_rfc3339(text: &str) -> Option<Millis> {
        let b = text.as_bytes();
        // Fixed-width digits at `at`; working on bytes means no slicing can land inside a
        // multi-byte character.
        let digits = |at: usize, width: usize| -> Option<i64> {
            let field = b.get(at..at + width)?;
            field.iter().try_fold(0i64, |acc, &c| {
                c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
            })
        };
        let byte_is = |at: usize, expected: &[u8]| b.get(at).is_some_and(|c| expected.contains(c));

        let year = digits(0, 4)?;
        let month = digits(5, 2)?;
        let day = digits(8, 2)?;
        let hour = digits(11, 2)?;
        let minute = digits(14, 2)?;
        let second = digits(17, 2)?;
        let separators_ok = byte_is(4, b"-")
            && byte_is(7, b"-")
            && byte_is(10, b"Tt")
            && byte_is(13, b":")
            && byte_is(16, b":");
        if !separators_ok {
            return None;
        }

        let mut at = 19;
        let mut ms = 0;
        if byte_is(at, b".") {
            at += 1;
            let start = at;
            while byte_is(at, b"0123456789") {
                at += 1;
            }
            let len = at - start;
            if !(1..=9).contains(&len) {
                return None;
            }
            // The first three digits, padded with zeros: ".5" is 500 ms.
            for k in 0..3 {
                ms = ms * 10 + if k < len { digits(start + k, 1)? } else { 0 };
            }
        }

        let offset_secs = if byte_is(at, b"Zz") {
            at += 1;
            0
        } else if byte_is(at, b"+-") {
            let sign = if byte_is(at, b"-") { -1 } else { 1 };
            let offset_hours = digits(at + 1, 2)?;
            let offset_minutes = digits(at + 4, 2)?;
            if !byte_is(at + 3, b":") || offset_hours > 23 || offset_minutes > 59 {
                return None;
            }
            at += 6;
            sign * (offset_hours * 3_600 + offset_minutes * 60)
        } else {
            return None;
        };
        if at != b.len() {
            return None;
        }

        let month_u32 = u32::try_from(month).ok()?;
        let date_ok = (1970..=9999).contains(&year)
            && (1..=12).contains(&month_u32)
            && day >= 1
            && day <= i64::from(days_in_month(year, month_u32));
        if !date_ok || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = days_from_civil(year, month_u32, u32::try_from(day).ok()?);
        let secs = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_secs;
        let secs = u64::try_from(secs).ok()?;
        // A negative offset on the last day of 9999 lands in 10000 UTC, which `to_rfc3339`
        // prints with five digits and this parser then refuses: the stored form of an accepted
        // time must read back (and sort as text among the others).
        Some(Millis(secs * 1_000 + ms as u64)).filter(|at| *at <= Millis::LAST)
    }

    /// The UTC calendar date (year, month, day) this instant falls on.
    pub fn utc_date(self) -> (i64, u32, u32) {
        civil_from_days((self.0 / Self::DAY) as i64)
    }
}

/// The instant (Unix ms) of a wall-clock time (`wall_ms`: ms since 1970-01-01 00:00 counted as
/// if the zone were UTC), given the zone's offset in minutes east of UTC at any instant.
///
/// The "compatible" rule of JavaScript's Temporal (and of RFC 5545): a wall time that occurs
/// twice (clocks set back) is its earlier occurrence; one that never occurs (clocks set
/// forward) is moved forward by the length of the gap, so 02:30 on a spring-forward night with
/// a one-hour gap is 03:30, and a skipped midnight is 01:00 the same day. As in Temporal, the
/// offsets in force a day either side bound the candidates, so one transition at most is
/// assumed within a day of `wall_ms`.
pub fn wall_to_instant_ms(wall_ms: i64, offset_minutes_at: impl Fn(i64) -> i64) -> i64 {
    const DAY: i64 = 86_400_000;
    let before = offset_minutes_at(wall_ms - DAY);
    let after = offset_minutes_at(wall_ms + DAY);
    // An instant shows this wall time if the zone's offset there is the one it was read with.
    let shows = |offset: i64| {
        let instant = wall_ms - offset * 60_000;
        (offset_minutes_at(instant) == offset).then_some(instant)
    };
    let earlier = shows(before.max(after));
    let later = if before == after {
        None
    } else {
        shows(before.min(after))
    };
    match (earlier, later) {
        (Some(at), _) | (None, Some(at)) => at,
        // Skipped: read with the offset before the gap, which lands as far past it.
        (None, None) => wall_ms - before * 60_000,
    }
}

/// The local day holding `now_ms`, as instants `[start, end)`, in a zone with that offset rule.
pub fn local_day_bounds(now_ms: i64, offset_minutes_at: impl Fn(i64) -> i64) -> (i64, i64) {
    const DAY: i64 = 86_400_000;
    let local = now_ms + offset_minutes_at(now_ms) * 60_000;
    let midnight = local.div_euclid(DAY) * DAY;
    (
        wall_to_instant_ms(midnight, &offset_minutes_at),
        wall_to_instant_ms(midnight + DAY, &offset_minutes_at),
    )
}

/// (year, month, day) in the proleptic Gregorian calendar to days since 1970-01-01: the inverse
/// of `civil_from_days` (H. Hinnant's algorithm). The date is assumed valid.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let month = i64::from(month);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// How many days `month` (1–12) of `year` has; 0 for a month that does not exist.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar
/// (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_format_as_rfc3339_utc_with_milliseconds() {
        let cases = [
            (0, "1970-01-01T00:00:00.000Z"),
            (951_782_400_000, "2000-02-29T00:00:00.000Z"),
            (1_700_000_000_123, "2023-11-14T22:13:20.123Z"),
            (4_102_444_799_999, "2099-12-31T23:59:59.999Z"),
        ];
        for (ms, text) in cases {
            assert_eq!(Millis(ms).to_rfc3339(), text);
        }
    }

    #[test]
    fn rfc3339_text_parses_to_utc_millis() {
        let cases = [
            ("1970-01-01T00:00:00Z", 0),
            ("1970-01-01t00:00:00z", 0),
            ("2023-11-14T22:13:20.123Z", 1_700_000_000_123),
            ("2023-11-14T22:13:20.1Z", 1_700_000_000_100),
            ("2023-11-14T22:13:20.12Z", 1_700_000_000_120),
            ("2023-11-14T22:13:20.1239Z", 1_700_000_000_123),
            ("2023-11-14T22:13:20.123456789Z", 1_700_000_000_123),
            ("2023-11-14T22:13:20.999999999Z", 1_700_000_000_999),
            ("2023-11-15T00:13:20+02:00", 1_700_000_000_000),
            ("2023-11-14T17:13:20-05:00", 1_700_000_000_000),
            ("2023-11-15T03:43:20.5+05:30", 1_700_000_000_500),
            ("2023-11-14T22:13:20-00:00", 1_700_000_000_000),
            ("2000-02-29T00:00:00Z", 951_782_400_000),
            ("2024-02-29T12:00:00Z", 1_709_208_000_000),
            ("2000-03-01T00:30:00+01:00", 951_867_000_000),
            ("2099-12-31T23:59:59.999Z", 4_102_444_799_999),
            ("9999-12-31T23:59:59Z", 253_402_300_799_000),
            ("9999-12-31T23:59:59.999Z", Millis::LAST.0),
            ("9999-12-31T23:59:59.999+00:00", Millis::LAST.0),
        ];
        for (text, ms) in cases {
            assert_eq!(Millis::parse_rfc3339(text), Some(Millis(ms)), "{text}");
        }
    }

    #[test]
    fn malformed_or_impossible_rfc3339_text_is_refused() {
        let cases = [
            "",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-11-14 22:13:20Z",
            "2023-11-14T22:13Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567890Z",
            "2023-11-14T22:13:20+0200",
            "2023-11-14T22:13:20+02",
            "2023-11-14T22:13:20+24:00",
            "2023-11-14T22:13:20+02:60",
            "2023-11-14T22:13:20ZZ",
            "2023-11-14T22:13:20Z ",
            " 2023-11-14T22:13:20Z",
            "2023-13-01T00:00:00Z",
            "2023-00-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2023-04-31T00:00:00Z",
            "2023-11-00T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T23:60:00Z",
            "2016-12-31T23:59:60Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
            "9999-12-31T23:59:59-00:01",
            "10000-01-01T00:00:00Z",
            "+2023-11-14T22:13:20Z",
            "2023-1a-14T22:13:20Z",
            "2023-11-14T22:13:20.12é",
            "２023-11-14T22:13:20Z",
        ];
        for text in cases {
            assert_eq!(Millis::parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn formatted_instants_parse_back_to_themselves() {
        for ms in [
            0,
            951_782_400_000,
            1_700_000_000_123,
            1_709_164_799_999,
            4_102_444_799_999,
            253_402_300_799_999,
        ] {
            let text = Millis(ms).to_rfc3339();
            assert_eq!(Millis::parse_rfc3339(&text), Some(Millis(ms)), "{text}");
        }
    }

    #[test]
    fn days_from_civil_inverts_civil_from_days() {
        // Every day from 1970 to past 2400 (which is a leap year, unlike 2100).
        for days in 0..160_000 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!(d <= days_in_month(y, m));
        }
    }

    #[test]
    fn month_lengths_follow_the_gregorian_leap_rule() {
        let cases = [
            (2023, 2, 28),
            (2024, 2, 29),
            (1900, 2, 28),
            (2000, 2, 29),
            (2023, 1, 31),
            (2023, 4, 30),
            (2023, 12, 31),
            (2023, 13, 0),
        ];
        for (year, month, days) in cases {
            assert_eq!(days_in_month(year, month), days, "{year}-{month}");
        }
    }

    #[test]
    fn an_instant_knows_its_utc_date() {
        assert_eq!(Millis(0).utc_date(), (1970, 1, 1));
        assert_eq!(Millis(951_868_799_999).utc_date(), (2000, 2, 29));
    }

    /// New York in 2026: UTC-5, UTC-4 from 8 March 07:00 UTC to 1 November 06:00 UTC.
    fn new_york(at_ms: i64) -> i64 {
        const SPRING: i64 = 1_772_953_200_000;
        const FALL: i64 = 1_793_512_800_000;
        if (SPRING..FALL).contains(&at_ms) {
            -240
        } else {
            -300
        }
    }

    #[test]
    fn wall_clock_times_become_instants_across_daylight_saving_edges() {
        let wall = |d: u32, m: u32, h: i64, min: i64| {
            days_from_civil(2026, m, d) * 86_400_000 + h * 3_600_000 + min * 60_000
        };
        let cases = [
            // Winter and summer.
            (wall(3, 12, 9, 0), "2026-12-03T14:00:00.000Z"),
            (wall(1, 7, 9, 0), "2026-07-01T13:00:00.000Z"),
            // 02:30 on 8 March does not exist: it lands an hour later.
            (wall(8, 3, 2, 30), "2026-03-08T07:30:00.000Z"),
            // 01:30 on 1 November happens twice: the first one.
            (wall(1, 11, 1, 30), "2026-11-01T05:30:00.000Z"),
        ];
        for (wall_ms, expected) in cases {
            let instant = wall_to_instant_ms(wall_ms, new_york);
            assert_eq!(Millis(instant as u64).to_rfc3339(), expected);
        }
    }

    /// A zone's offset in minutes at an instant.
    type Offsets<'a> = &'a dyn Fn(i64) -> i64;

    /// A zone with one change: `before` minutes east of UTC until `at` (RFC 3339), `after` then.
    fn one_change(at: &str, before: i64, after: i64) -> impl Fn(i64) -> i64 {
        let at = Millis::parse_rfc3339(at).unwrap().0 as i64;
        move |instant| if instant < at { before } else { after }
    }

    #[test]
    fn skipped_times_move_forward_by_the_gap_and_repeated_ones_are_the_earlier() {
        let wall = |y: i64, m: u32, d: u32, h: i64, min: i64| {
            days_from_civil(y, m, d) * 86_400_000 + h * 3_600_000 + min * 60_000
        };
        let berlin_spring = one_change("2026-03-29T01:00:00Z", 60, 120);
        let berlin_fall = one_change("2026-10-25T01:00:00Z", 120, 60);
        // Lord Howe: +10:30 to +11 at 02:00 local, a half-hour gap.
        let lord_howe_spring = one_change("2026-10-03T15:30:00Z", 630, 660);
        // Beirut: +2 to +3 at midnight, so 29 March has no 00:00–01:00.
        let beirut_spring = one_change("2026-03-28T22:00:00Z", 120, 180);
        let cases: [(Offsets<'_>, i64, &str); 9] = [
            (
                &berlin_spring,
                wall(2026, 3, 29, 1, 59),
                "2026-03-29T00:59:00.000Z",
            ),
            (
                &berlin_spring,
                wall(2026, 3, 29, 2, 0),
                "2026-03-29T01:00:00.000Z",
            ),
            (
                &berlin_spring,
                wall(2026, 3, 29, 2, 30),
                "2026-03-29T01:30:00.000Z",
            ),
            (
                &berlin_spring,
                wall(2026, 3, 29, 3, 0),
                "2026-03-29T01:00:00.000Z",
            ),
            (
                &berlin_fall,
                wall(2026, 10, 25, 2, 30),
                "2026-10-25T00:30:00.000Z",
            ),
            (
                &berlin_fall,
                wall(2026, 10, 25, 3, 0),
                "2026-10-25T02:00:00.000Z",
            ),
            (
                &lord_howe_spring,
                wall(2026, 10, 4, 2, 15),
                "2026-10-03T15:45:00.000Z",
            ),
            (
                &beirut_spring,
                wall(2026, 3, 29, 0, 0),
                "2026-03-28T22:00:00.000Z",
            ),
            (
                &beirut_spring,
                wall(2026, 3, 29, 0, 30),
                "2026-03-28T22:30:00.000Z",
            ),
        ];
        for (offset, wall_ms, expected) in cases {
            let instant = wall_to_instant_ms(wall_ms, offset);
            assert_eq!(Millis(instant as u64).to_rfc3339(), expected);
        }
        // Beirut's 29 March starts at 01:00, not at 23:00 the evening before.
        let at = |text: &str| Millis::parse_rfc3339(text).unwrap().0 as i64;
        let (start, end) = local_day_bounds(at("2026-03-29T09:00:00Z"), &beirut_spring);
        assert_eq!(start, at("2026-03-28T22:00:00Z"));
        assert_eq!(end, at("2026-03-29T21:00:00Z"));
    }

    #[test]
    fn a_local_day_is_bounded_by_its_midnights_even_when_it_is_23_hours_long() {
        let at = |text: &str| Millis::parse_rfc3339(text).unwrap().0 as i64;
        let (start, end) = local_day_bounds(at("2026-12-03T03:00:00Z"), new_york);
        assert_eq!(
            (start, end),
            (at("2026-12-02T05:00:00Z"), at("2026-12-03T05:00:00Z"))
        );
        let (start, end) = local_day_bounds(at("2026-03-08T12:00:00Z"), new_york);
        assert_eq!(end - start, 23 * 3_600_000);
        assert_eq!(
            (start, end),
            (at("2026-03-08T05:00:00Z"), at("2026-03-09T04:00:00Z"))
        );
    }
}
