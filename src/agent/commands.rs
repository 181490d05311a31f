//! The offline command language: what a Telegram or SMS message asks for when no AI model is
//! configured (`/today`, `/job 42`, `/move 42 2026-12-03 09:00`, …). Parsing only; the glue
//! runs a command with the sender's permissions and words the answer.
//!
//! Statuses are checked here against [`JobStatus`], not left to the caller as strings: a typo
//! is answered at once with the list of valid names, and no handler ever holds an unchecked
//! status. Whether the job may move to it from where it is needs the stored row, so that stays
//! with [`JobStatus::transition`].

use std::fmt;

use crate::domain::dispatch::VisitStatus;
use crate::domain::jobs::JobStatus;
use crate::domain::messaging::{bot_command, parse_link_code};
use crate::domain::time::{days_from_civil, days_in_month};

/// Declares each command's usage line and builds [`HELP_TEXT`] from the same literals, so the
/// help and the usage errors cannot drift apart.
macro_rules! command_language {
    (statuses = $statuses:literal; $($(#[$meta:meta])* $name:ident = $line:literal;)*) => {
        $($(#[$meta])* pub const $name: &str = $line;)*

        /// The valid status names, as `/help` ends and as a bad status is answered.
        pub const STATUSES_LINE: &str = $statuses;

        /// What `/help` answers. Plain ASCII, so an SMS stays in the 7-bit alphabet and fits in
        /// four segments.
        pub const HELP_TEXT: &str = concat!("Commands:\n", $($line, "\n",)* $statuses);
    };
}

command_language! {
    statuses = "Statuses: requested, scheduled, in_progress, completed, on_hold, cancelled.";
    USAGE_TODAY = "/today - today's schedule";
    USAGE_JOBS = "/jobs [status] - list jobs (in a status)";
    USAGE_JOB = "/job 42 - show job 42";
    USAGE_CUSTOMER = "/customer NAME - find a customer";
    USAGE_STATUS = "/status 42 completed - set a job's status";
    USAGE_NOTE = "/note 42 TEXT - add a note to job 42";
    USAGE_MOVE = "/move 42 2026-12-03 09:00 - reschedule job 42 (local time, 24h)";
    USAGE_OMW = "/omw 42 20 - tell job 42's customer you come in 20 min";
    USAGE_ARRIVE = "/arrive 42 - at job 42: visit starts";
    USAGE_DONE = "/done 42 - job 42's visit done";
    USAGE_PHOTO = "/photo 42 - as a file's caption: adds it to job 42";
    USAGE_LINK = "/link CODE - link this chat (code from the dashboard)";
    USAGE_HELP = "/help - this list";
}

const NUMBER_PROBLEM: &str = "A job number is a whole number such as 42.";
const DATE_PROBLEM: &str = "Give a real date as YYYY-MM-DD and a 24h time as HH:MM.";

/// What a message asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help,
    /// Telegram sends `/start` when a chat opens, with the deep link's payload if there was one.
    Start {
        payload: Option<String>,
    },
    Today,
    Jobs {
        status: Option<JobStatus>,
    },
    /// `number` is the job's number as people see it (`jobs.number`), not its id.
    Job {
        number: i64,
    },
    /// Words to search customers by, spaces collapsed.
    Customer {
        query: String,
    },
    Status {
        number: i64,
        status: JobStatus,
    },
    /// The note as typed, trimmed; its length is checked where notes are saved.
    Note {
        number: i64,
        text: String,
    },
    Move {
        number: i64,
        at: LocalDateTime,
    },
    /// The sender's visit of job `number` (the one under way, else the next) moves to
    /// `status`: `/arrive` (in progress), `/done` (completed).
    Visit {
        number: i64,
        status: VisitStatus,
    },
    /// On my way to job `number`, arriving in `minutes`.
    OnMyWay {
        number: i64,
        minutes: i64,
    },
    Link {
        code: String,
    },
    /// Not a command: for the AI agent when one is configured. Trimmed.
    Text(String),
}

/// Why a command could not be read. `Display` gives the reply to send back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// A known command with arguments it cannot use: `line` is its usage line, `problem` what
    /// was wrong when a usage line alone would not say.
    Usage {
        line: &'static str,
        problem: Option<&'static str>,
    },
    /// A command word we do not have (lower-cased, without the slash).
    Unknown { name: String },
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage {
                line,
                problem: Some(problem),
            } => write!(f, "{problem}\nUsage: {line}"),
            Self::Usage {
                line,
                problem: None,
            } => write!(f, "Usage: {line}"),
            Self::Unknown { name } => {
                write!(f, "There is no /{name} command. Send /help for the list.")
            }
        }
    }
}

impl std::error::Error for CommandError {}

/// A wall-clock date and time with no zone: the caller applies the tenant's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LocalDateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

impl LocalDateTime {
    /// A date that exists (no 30 February), a year from 1970 to 9999 as elsewhere in the
    /// domain, and a time from 00:00 to 23:59.
    pub fn new(year: i64, month: u32, day: u32, hour: u32, minute: u32) -> Option<LocalDateTime> {
        let valid = (1970..=9999).contains(&year)
            && (1..=days_in_month(year, month)).contains(&day)
            && hour < 24
            && minute < 60;
        valid.then_some(LocalDateTime {
            year,
            month,
            day,
            hour,
            minute,
        })
    }

    pub fn year(self) -> i64 {
        self.year
    }

    pub fn month(self) -> u32 {
        self.month
    }

    pub fn day(self) -> u32 {
        self.day
    }

    pub fn hour(self) -> u32 {
        self.hour
    }

    pub fn minute(self) -> u32 {
        self.minute
    }

    /// Seconds from 1970-01-01 00:00 to this wall-clock time, counted as if it were UTC. The
    /// instant is this minus the zone's UTC offset at that time, which the caller knows.
    pub fn wall_clock_seconds(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3_600
            + i64::from(self.minute) * 60
    }
}

/// `2026-12-03 09:00`, as typed in `/move`.
impl fmt::Display for LocalDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute
        )
    }
}

/// Reads a message. Command names are case-insensitive and may carry an `@botname` suffix;
/// spacing between arguments is free. A message that does not start with a command word is
/// [`Command::Text`].
pub fn parse(text: &str) -> Result<Command, CommandError> {
    let Some(command) = bot_command(text) else {
        return Ok(Command::Text(text.trim().to_owned()));
    };
    let args = command.args;
    match command.name.as_str() {
        // Whatever follows /help, the list is the answer.
        "help" => Ok(Command::Help),
        "start" => Ok(Command::Start {
            payload: (!args.is_empty()).then(|| args.to_owned()),
        }),
        "today" if args.is_empty() => Ok(Command::Today),
        "today" => Err(usage(USAGE_TODAY, None)),
        "jobs" if args.is_empty() => Ok(Command::Jobs { status: None }),
        "jobs" => parse_status(args)
            .map(|status| Command::Jobs {
                status: Some(status),
            })
            .ok_or(usage(USAGE_JOBS, Some(STATUSES_LINE))),
        "job" => {
            let (number, rest) = number_then_rest(args, USAGE_JOB)?;
            if !rest.is_empty() {
                return Err(usage(USAGE_JOB, None));
            }
            Ok(Command::Job { number })
        }
        "customer" => {
            let query = args.split_whitespace().collect::<Vec<_>>().join(" ");
            if query.is_empty() {
                return Err(usage(USAGE_CUSTOMER, None));
            }
            Ok(Command::Customer { query })
        }
        "status" => {
            let (number, rest) = number_then_rest(args, USAGE_STATUS)?;
            if rest.is_empty() {
                return Err(usage(USAGE_STATUS, Some(STATUSES_LINE)));
            }
            let status = parse_status(rest).ok_or(usage(USAGE_STATUS, Some(STATUSES_LINE)))?;
            Ok(Command::Status { number, status })
        }
        "note" => {
            let (number, rest) = number_then_rest(args, USAGE_NOTE)?;
            if rest.is_empty() {
                return Err(usage(USAGE_NOTE, None));
            }
            Ok(Command::Note {
                number,
                text: rest.to_owned(),
            })
        }
        "move" => {
            let words: Vec<&str> = args.split_whitespace().collect();
            let [number, date, time] = words[..] else {
                return Err(usage(USAGE_MOVE, None));
            };
            let number = parse_number(number).ok_or(usage(USAGE_MOVE, Some(NUMBER_PROBLEM)))?;
            let at = parse_date_time(date, time).ok_or(usage(USAGE_MOVE, Some(DATE_PROBLEM)))?;
            Ok(Command::Move { number, at })
        }
        "arrive" | "done" => {
            let line = match command.name.as_str() {
                "arrive" => USAGE_ARRIVE,
                _ => USAGE_DONE,
            };
            let (number, rest) = number_then_rest(args, line)?;
            if !rest.is_empty() {
                return Err(usage(line, None));
            }
            let status = match command.name.as_str() {
                "arrive" => VisitStatus::InProgress,
                _ => VisitStatus::Completed,
            };
            Ok(Command::Visit { number, status })
        }
        "omw" => {
            let words: Vec<&str> = args.split_whitespace().collect();
            let [number, minutes] = words[..] else {
                return Err(usage(USAGE_OMW, None));
            };
            let number = parse_number(number).ok_or(usage(USAGE_OMW, Some(NUMBER_PROBLEM)))?;
            let minutes = minutes
                .parse::<i64>()
                .ok()
                .filter(|m| (1..=600).contains(m))
                .ok_or(usage(
                    USAGE_OMW,
                    Some("Minutes are a whole number from 1 to 600."),
                ))?;
            Ok(Command::OnMyWay { number, minutes })
        }
        "link" => parse_link_code(args)
            .map(|code| Command::Link {
                code: code.to_owned(),
            })
            .ok_or(usage(USAGE_LINK, None)),
        _ => Err(CommandError::Unknown { name: command.name }),
    }
}

fn usage(line: &'static str, problem: Option<&'static str>) -> CommandError {
    CommandError::Usage { line, problem }
}

/// The job number that starts `args`, and the rest trimmed. No number at all is a plain usage
/// error; a word that is not a number says what a number is.
fn number_then_rest<'a>(args: &'a str, line: &'static str) -> Result<(i64, &'a str), CommandError> {
    if args.is_empty() {
        return Err(usage(line, None));
    }
    let end = args.find(char::is_whitespace).unwrap_or(args.len());
    let (word, rest) = args.split_at(end);
    let number = parse_number(word).ok_or(usage(line, Some(NUMBER_PROBLEM)))?;
    Ok((number, rest.trim()))
}

/// A positive job number, `#` allowed in front since people write `#42`. Digits only: Rust's
/// integer parser would also take a sign.
fn parse_number(word: &str) -> Option<i64> {
    let digits = word.strip_prefix('#').unwrap_or(word);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i64>().ok().filter(|n| *n > 0)
}

/// A status as people type it: any case, words joined by spaces, dashes or underscores
/// (`in progress`, `On-Hold`), and the American `canceled`.
fn parse_status(words: &str) -> Option<JobStatus> {
    let name = words
        .split_whitespace()
        .collect::<Vec<_>>()
        .join("_")
        .replace('-', "_")
        .to_ascii_lowercase();
    match name.as_str() {
        "canceled" => Some(JobStatus::Cancelled),
        name => JobStatus::parse(name),
    }
}

/// `YYYY-MM-DD` and `HH:MM` (the hour may be one digit).
fn parse_date_time(date: &str, time: &str) -> Option<LocalDateTime> {
    let number = |text: &str, widths: std::ops::RangeInclusive<usize>| -> Option<u32> {
        let ok = widths.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| text.parse().ok()).flatten()
    };
    let mut parts = date.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let (hour, minute) = time.split_once(':')?;
    LocalDateTime::new(
        i64::from(number(year, 4..=4)?),
        number(month, 2..=2)?,
        number(day, 2..=2)?,
        number(hour, 1..=2)?,
        number(minute, 2..=2)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use JobStatus::*;

    fn at(year: i64, month: u32, day: u32, hour: u32, minute: u32) -> LocalDateTime {
        LocalDateTime::new(year, month, day, hour, minute).expect("a valid date and time")
    }

    fn usage_error(
        line: &'static str,
        problem: Option<&'static str>,
    ) -> Result<Command, CommandError> {
        Err(CommandError::Usage { line, problem })
    }

    #[test]
    fn on_my_way_takes_a_job_number_and_minutes() {
        assert_eq!(
            parse("/omw 42 20"),
            Ok(Command::OnMyWay {
                number: 42,
                minutes: 20
            })
        );
        for bad in [
            "/omw 42",
            "/omw 42 0",
            "/omw 42 601",
            "/omw x 20",
            "/omw 42 20 30",
        ] {
            assert!(
                matches!(
                    parse(bad),
                    Err(CommandError::Usage {
                        line: USAGE_OMW,
                        ..
                    })
                ),
                "{bad}"
            );
        }
        assert!(HELP_TEXT.contains("/omw 42 20"));
    }

    #[test]
    fn every_command_parses_in_its_documented_form() {
        let cases = [
            ("/help", Command::Help),
            ("/start", Command::Start { payload: None }),
            (
                "/start job-42",
                Command::Start {
                    payload: Some("job-42".into()),
                },
            ),
            ("/today", Command::Today),
            ("/jobs", Command::Jobs { status: None }),
            (
                "/jobs scheduled",
                Command::Jobs {
                    status: Some(Scheduled),
                },
            ),
            ("/job 42", Command::Job { number: 42 }),
            (
                "/arrive 42",
                Command::Visit {
                    number: 42,
                    status: VisitStatus::InProgress,
                },
            ),
            (
                "/done #7",
                Command::Visit {
                    number: 7,
                    status: VisitStatus::Completed,
                },
            ),
            (
                "/customer Ann Lee",
                Command::Customer {
                    query: "Ann Lee".into(),
                },
            ),
            (
                "/status 42 completed",
                Command::Status {
                    number: 42,
                    status: Completed,
                },
            ),
            (
                "/note 42 Replaced the washer.",
                Command::Note {
                    number: 42,
                    text: "Replaced the washer.".into(),
                },
            ),
            (
                "/move 42 2026-12-03 09:00",
                Command::Move {
                    number: 42,
                    at: at(2026, 12, 3, 9, 0),
                },
            ),
            (
                "/link AB12-CD34",
                Command::Link {
                    code: "AB12-CD34".into(),
                },
            ),
        ];
        for (text, command) in cases {
            assert_eq!(parse(text), Ok(command), "{text:?}");
        }
    }

    #[test]
    fn bot_suffixes_case_and_extra_whitespace_are_forgiven() {
        let cases = [
            ("/today@acme_bot", Command::Today),
            ("  /TODAY  ", Command::Today),
            ("/Job@Acme_Bot   #42 ", Command::Job { number: 42 }),
            ("/job 007", Command::Job { number: 7 }),
            (
                "/customer   Ann \t  Lee ",
                Command::Customer {
                    query: "Ann Lee".into(),
                },
            ),
            (
                "/STATUS   42   In Progress",
                Command::Status {
                    number: 42,
                    status: InProgress,
                },
            ),
            (
                "/status 42 on-hold",
                Command::Status {
                    number: 42,
                    status: OnHold,
                },
            ),
            (
                "/jobs CANCELED",
                Command::Jobs {
                    status: Some(Cancelled),
                },
            ),
            (
                "/note 42   Two lines:\n  tap and  valve  ",
                Command::Note {
                    number: 42,
                    text: "Two lines:\n  tap and  valve".into(),
                },
            ),
            (
                "/move\t42   2026-02-28   7:05",
                Command::Move {
                    number: 42,
                    at: at(2026, 2, 28, 7, 5),
                },
            ),
            ("/help me please", Command::Help),
        ];
        for (text, command) in cases {
            assert_eq!(parse(text), Ok(command), "{text:?}");
        }
    }

    #[test]
    fn every_status_name_is_accepted_as_stored() {
        for status in JobStatus::ALL {
            assert_eq!(
                parse(&format!("/status 1 {}", status.as_str())),
                Ok(Command::Status { number: 1, status }),
                "{status:?}"
            );
        }
    }

    #[test]
    fn plain_text_goes_to_the_agent_trimmed() {
        let cases = [
            ("When is my next job?", "When is my next job?"),
            ("  today  ", "today"),
            ("/path/to/file is broken", "/path/to/file is broken"),
            ("/ today", "/ today"),
            ("", ""),
        ];
        for (text, kept) in cases {
            assert_eq!(parse(text), Ok(Command::Text(kept.into())), "{text:?}");
        }
    }

    #[test]
    fn bad_arguments_are_answered_with_that_commands_usage_line() {
        let cases = [
            ("/today tomorrow", usage_error(USAGE_TODAY, None)),
            (
                "/jobs finished",
                usage_error(USAGE_JOBS, Some(STATUSES_LINE)),
            ),
            ("/job", usage_error(USAGE_JOB, None)),
            ("/job 42 43", usage_error(USAGE_JOB, None)),
            (
                "/job forty-two",
                usage_error(USAGE_JOB, Some(NUMBER_PROBLEM)),
            ),
            ("/job 0", usage_error(USAGE_JOB, Some(NUMBER_PROBLEM))),
            ("/job -3", usage_error(USAGE_JOB, Some(NUMBER_PROBLEM))),
            ("/job +3", usage_error(USAGE_JOB, Some(NUMBER_PROBLEM))),
            ("/job 4.2", usage_error(USAGE_JOB, Some(NUMBER_PROBLEM))),
            ("/job #", usage_error(USAGE_JOB, Some(NUMBER_PROBLEM))),
            (
                "/job 9223372036854775808",
                usage_error(USAGE_JOB, Some(NUMBER_PROBLEM)),
            ),
            ("/customer", usage_error(USAGE_CUSTOMER, None)),
            ("/customer   ", usage_error(USAGE_CUSTOMER, None)),
            ("/status", usage_error(USAGE_STATUS, None)),
            ("/status 42", usage_error(USAGE_STATUS, Some(STATUSES_LINE))),
            (
                "/status 42 done",
                usage_error(USAGE_STATUS, Some(STATUSES_LINE)),
            ),
            (
                "/status done 42",
                usage_error(USAGE_STATUS, Some(NUMBER_PROBLEM)),
            ),
            ("/note", usage_error(USAGE_NOTE, None)),
            ("/note 42", usage_error(USAGE_NOTE, None)),
            ("/note 42   ", usage_error(USAGE_NOTE, None)),
            (
                "/note fixed it",
                usage_error(USAGE_NOTE, Some(NUMBER_PROBLEM)),
            ),
            ("/move", usage_error(USAGE_MOVE, None)),
            ("/move 42 2026-12-03", usage_error(USAGE_MOVE, None)),
            (
                "/move 42 2026-12-03 09:00 10:00",
                usage_error(USAGE_MOVE, None),
            ),
            (
                "/move x 2026-12-03 09:00",
                usage_error(USAGE_MOVE, Some(NUMBER_PROBLEM)),
            ),
            ("/link", usage_error(USAGE_LINK, None)),
            ("/link ab", usage_error(USAGE_LINK, None)),
            ("/link AB12 CD34", usage_error(USAGE_LINK, None)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse(text), expected, "{text:?}");
        }
    }

    #[test]
    fn move_refuses_dates_and_times_that_do_not_exist_or_are_misspelt() {
        let refused = [
            ("2026-02-29", "09:00"),
            ("2028-02-30", "09:00"),
            ("2026-13-01", "09:00"),
            ("2026-00-10", "09:00"),
            ("2026-04-31", "09:00"),
            ("1969-12-31", "09:00"),
            ("2026-12-03", "24:00"),
            ("2026-12-03", "09:60"),
            ("2026-12-03", "9:5"),
            ("2026-12-03", "009:00"),
            ("2026-12-03", "09h00"),
            ("2026-12-03", "09:00pm"),
            ("2026-12-3", "09:00"),
            ("26-12-03", "09:00"),
            ("2026/12/03", "09:00"),
            ("2026-12-03-01", "09:00"),
            ("2026-+1-03", "09:00"),
            ("03-12-2026", "09:00"),
        ];
        for (date, time) in refused {
            let text = format!("/move 42 {date} {time}");
            assert_eq!(
                parse(&text),
                usage_error(USAGE_MOVE, Some(DATE_PROBLEM)),
                "{text}"
            );
        }
        let accepted = [
            ("2028-02-29", "00:00", at(2028, 2, 29, 0, 0)),
            ("2026-12-31", "23:59", at(2026, 12, 31, 23, 59)),
            ("9999-12-31", "9:30", at(9999, 12, 31, 9, 30)),
        ];
        for (date, time, expected) in accepted {
            assert_eq!(
                parse(&format!("/move 7 {date} {time}")),
                Ok(Command::Move {
                    number: 7,
                    at: expected
                })
            );
        }
    }

    #[test]
    fn unknown_commands_get_a_hint_towards_help() {
        let error = parse("/invoice@acme_bot 42").unwrap_err();
        assert_eq!(
            error,
            CommandError::Unknown {
                name: "invoice".into()
            }
        );
        assert_eq!(
            error.to_string(),
            "There is no /invoice command. Send /help for the list."
        );
    }

    #[test]
    fn usage_errors_read_as_replies() {
        assert_eq!(
            usage(USAGE_JOB, None).to_string(),
            "Usage: /job 42 - show job 42"
        );
        assert_eq!(
            parse("/status 42 done").unwrap_err().to_string(),
            format!("{STATUSES_LINE}\nUsage: {USAGE_STATUS}")
        );
    }

    #[test]
    fn the_help_text_lists_every_command_and_status_and_fits_an_sms() {
        let lines = [
            USAGE_TODAY,
            USAGE_JOBS,
            USAGE_JOB,
            USAGE_CUSTOMER,
            USAGE_STATUS,
            USAGE_NOTE,
            USAGE_MOVE,
            USAGE_ARRIVE,
            USAGE_DONE,
            USAGE_LINK,
            USAGE_HELP,
        ];
        for line in lines {
            assert!(HELP_TEXT.lines().any(|l| l == line), "{line}");
            // Each usage line's example parses, so the help never shows a wrong form.
            let example = line.split(" - ").next().unwrap();
            let example = example
                .replace("[status]", "scheduled")
                .replace("NAME", "Ann")
                .replace("TEXT", "Fixed")
                .replace("CODE", "AB12CD");
            assert!(parse(&example).is_ok(), "{example}");
            assert!(
                !matches!(parse(&example), Ok(Command::Text(_))),
                "{example}"
            );
        }
        assert!(HELP_TEXT.len() < 600, "{} characters", HELP_TEXT.len());
        assert!(HELP_TEXT.is_ascii());
        let names: Vec<&str> = JobStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(STATUSES_LINE, format!("Statuses: {}.", names.join(", ")));
        assert!(HELP_TEXT.ends_with(STATUSES_LINE));
    }

    #[test]
    fn a_local_date_time_counts_wall_clock_seconds_and_prints_as_typed() {
        let cases = [
            (at(1970, 1, 1, 0, 0), 0, "1970-01-01 00:00"),
            (at(2026, 12, 3, 9, 0), 1_796_288_400, "2026-12-03 09:00"),
            (at(2000, 2, 29, 23, 59), 951_868_740, "2000-02-29 23:59"),
        ];
        for (local, seconds, printed) in cases {
            assert_eq!(local.wall_clock_seconds(), seconds, "{printed}");
            assert_eq!(local.to_string(), printed);
        }
        let local = at(2026, 12, 3, 9, 5);
        assert_eq!(
            (
                local.year(),
                local.month(),
                local.day(),
                local.hour(),
                local.minute()
            ),
            (2026, 12, 3, 9, 5)
        );
        assert!(at(2026, 12, 3, 9, 0) < at(2026, 12, 3, 9, 1));
    }
}
