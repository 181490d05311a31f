//! Files that arrive in a chat, the pure part: a Telegram photo or document and an MMS's media
//! as the webhooks carry them, which of a photo's sizes to fetch, which Twilio media URLs the
//! Worker may fetch at all, the job a caption names, and the technician's current visit.

/// Bots download files of up to 20 MB through `getFile` (Bot API, "getFile").
pub const TELEGRAM_DOWNLOAD_LIMIT: u64 = 20 * 1024 * 1024;
/// Twilio sends at most 10 media with one MMS.
pub const MAX_MEDIA: usize = 10;

/// One file a message carries, as the provider describes it (nothing is fetched yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatFile {
    /// A Telegram photo: the sizes Telegram made of it, in the order it sent them.
    TelegramPhoto(Vec<TelegramFile>),
    /// A file sent as a document, with the name and type the sender's app gave it.
    TelegramDocument {
        file: TelegramFile,
        name: Option<String>,
        mime_type: Option<String>,
    },
    /// One MMS media item: Twilio's URL of it and the type it declares.
    Media {
        url: String,
        content_type: Option<String>,
    },
}

/// A file Telegram keeps for the bot (a `PhotoSize` or a `Document`'s own fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramFile {
    pub file_id: String,
    pub file_size: Option<u64>,
    pub width: Option<u64>,
    pub height: Option<u64>,
}

/// Why a file is not fetched: it is larger than `limit` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub size: u64,
    pub limit: u64,
}

/// What a chat file may weigh: the company's limit, and Telegram's own for bots.
pub fn fetch_limit(file: &ChatFile, company_limit: u64) -> u64 {
    match file {
        ChatFile::Media { .. } => company_limit,
        _ => company_limit.min(TELEGRAM_DOWNLOAD_LIMIT),
    }
}

/// The Telegram file to fetch: a document if it fits, or the largest size of a photo that
/// fits (a size Telegram gave no weight for counts as fitting; the download checks it).
pub fn telegram_pick(file: &ChatFile, limit: u64) -> Result<Option<&TelegramFile>, TooLarge> {
    let fits = |f: &TelegramFile| f.file_size.is_none_or(|size| size <= limit);
    match file {
        ChatFile::TelegramDocument { file, .. } => match file.file_size {
            Some(size) if size > limit => Err(TooLarge { size, limit }),
            _ => Ok(Some(file)),
        },
        ChatFile::TelegramPhoto(sizes) => {
            let area = |f: &TelegramFile| f.width.unwrap_or(0) * f.height.unwrap_or(0);
            match sizes
                .iter()
                .filter(|f| fits(f))
                .max_by_key(|f| (area(f), f.file_size.unwrap_or(0)))
            {
                Some(best) => Ok(Some(best)),
                None => Err(TooLarge {
                    size: sizes.iter().filter_map(|f| f.file_size).min().unwrap_or(0),
                    limit,
                }),
            }
        }
        ChatFile::Media { .. } => Ok(None),
    }
}

/// The media of a verified Twilio form: `MediaUrl{N}` with `MediaContentType{N}` for N below
/// `NumMedia` (at most [`MAX_MEDIA`]); a number without its URL is skipped.
pub fn twilio_media(params: &[(String, String)]) -> Vec<ChatFile> {
    let field = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
    };
    let count = field("NumMedia")
        .and_then(|n| n.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_MEDIA);
    (0..count)
        .filter_map(|n| {
            let url = field(&format!("MediaUrl{n}")).filter(|u| !u.is_empty())?;
            Some(ChatFile::Media {
                url,
                content_type: field(&format!("MediaContentType{n}")).filter(|t| !t.is_empty()),
            })
        })
        .collect()
}

/// Whether the Worker may fetch `url` as an MMS's media (with the account's credentials):
/// only a media resource of this account's messages on Twilio's API (`base`, which tests
/// point at a stand-in), so a forged webhook could not send it anywhere else.
pub fn media_url_allowed(url: &str, base: &str, account_sid: &str) -> bool {
    let prefix = format!(
        "{}/2010-04-01/Accounts/{account_sid}/Messages/",
        base.trim_end_matches('/')
    );
    let Some(rest) = url.strip_prefix(&prefix) else {
        return false;
    };
    let secure = base.starts_with("https://") || base.starts_with("http://127.0.0.1:");
    // `…/Messages/MM…/Media/ME…`: ids only, nothing that could step out of the path.
    let parts: Vec<&str> = rest.split('/').collect();
    secure
        && !account_sid.is_empty()
        && parts.len() == 3
        && parts[1] == "Media"
        && [parts[0], parts[2]]
            .iter()
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The job a caption names: `/photo 42` (or `/file 42`, `#` allowed), or a caption that starts
/// with `#42`. Anything else names none (the current job is used).
pub fn caption_job(caption: &str) -> Option<i64> {
    let text = caption.trim();
    let word = match crate::domain::messaging::bot_command(text) {
        Some(command) if matches!(command.name.as_str(), "photo" | "file" | "doc") => {
            command.args.split_whitespace().next()?
        }
        Some(_) => return None,
        None => text
            .split_whitespace()
            .next()
            .filter(|w| w.starts_with('#'))?,
    };
    let digits = word.strip_prefix('#').unwrap_or(word);
    (!digits.is_empty() && digits.len() <= 12 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse::<i64>().ok())
        .flatten()
        .filter(|n| *n > 0)
}

/// Whether a caption is a `/photo` command without a usable job number (the reply says how).
pub fn caption_is_bad_command(caption: &str) -> bool {
    is_file_command(caption) && caption_job(caption).is_none()
}

/// One of the technician's visits, as the current-job rule needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisitSlot<T> {
    pub start_ms: i64,
    pub end_ms: i64,
    pub job: T,
}

/// The technician's current visit: the one under way at `now_ms` (the latest started, if
/// several), else the one of `today` (`[start, end)` instants) nearest to now. `None` when
/// neither: the reply asks which job.
pub fn current_visit<T>(visits: &[VisitSlot<T>], now_ms: i64, today: (i64, i64)) -> Option<&T> {
    let under_way = visits
        .iter()
        .filter(|v| v.start_ms <= now_ms && now_ms < v.end_ms)
        .max_by_key(|v| v.start_ms);
    let distance = |v: &VisitSlot<T>| {
        if now_ms < v.start_ms {
            v.start_ms - now_ms
        } else {
            now_ms - v.end_ms
        }
    };
    under_way
        .or_else(|| {
            visits
                .iter()
                .filter(|v| v.start_ms < today.1 && v.end_ms > today.0)
                .min_by_key(|v| (distance(v), v.start_ms))
        })
        .map(|v| &v.job)
}

/// Megabytes for a reply ("20 MB"), rounded up to a tenth.
pub fn megabytes(bytes: u64) -> String {
    let tenths = bytes.div_ceil(104_858);
    if tenths.is_multiple_of(10) {
        format!("{} MB", tenths / 10)
    } else {
        format!("{}.{} MB", tenths / 10, tenths % 10)
    }
}

/// Whether a text starts with the command that captions a file (`/photo`, `/file`, `/doc`).
pub fn is_file_command(text: &str) -> bool {
    crate::domain::messaging::bot_command(text)
        .is_some_and(|c| matches!(c.name.as_str(), "photo" | "file" | "doc"))
}

/// What the file is called in a reply.
pub fn noun(file: &ChatFile) -> &'static str {
    match file {
        ChatFile::TelegramPhoto(_) => "photo",
        ChatFile::Media {
            content_type: Some(t),
            ..
        } if t.starts_with("image/") => "photo",
        _ => "file",
    }
}

/// The answer to a file when no job could be told.
pub fn ask_which_job(noun: &str) -> String {
    format!(
        "Which job is this {noun} for? You have no visit under way or today. Send it again \
         with the caption /photo 42 (the job's number)."
    )
}

/// The answer to a `/photo` caption without a job number, or a `/photo` without a file.
pub const FILE_COMMAND_HOW: &str = "Send the photo or file itself with the caption \
    /photo 42 (the job's number); without a caption it goes on the job you are at.";

/// How the scanner's verdict reads in a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Landed<'a> {
    Clean,
    Waiting,
    /// The signature the scanner found, when it named one.
    Malware(Option<&'a str>),
}

/// The answer to a file that went through the pipeline: where it landed and the scan outcome.
pub fn landed_reply(name: &str, job: &str, outcome: Landed<'_>) -> String {
    match outcome {
        Landed::Clean => format!("Added {name} to {job}. Scanned for malware: clean."),
        Landed::Waiting => format!(
            "Added {name} to {job}. It is waiting for the malware scanner and shows on the \
             job once it is scanned."
        ),
        Landed::Malware(found) => format!(
            "Not added to {job}: the malware scanner found {} in {name}. It is kept in \
             quarantine and never shown.",
            found.unwrap_or("malware")
        ),
    }
}

/// The answer to a file over a limit: Telegram's own for bots, or the company's.
pub fn too_large_reply(noun: &str, size: u64, company_limit: u64, from_telegram: bool) -> String {
    if from_telegram && size > TELEGRAM_DOWNLOAD_LIMIT && company_limit > TELEGRAM_DOWNLOAD_LIMIT {
        format!(
            "This {noun} is {}: Telegram lets bots fetch files of up to 20 MB. Upload it from \
             the dashboard instead.",
            megabytes(size)
        )
    } else {
        format!(
            "This {noun} is {}, over the company's upload limit of {}.",
            megabytes(size),
            megabytes(company_limit)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(id: &str, bytes: Option<u64>, side: u64) -> TelegramFile {
        TelegramFile {
            file_id: id.into(),
            file_size: bytes,
            width: Some(side),
            height: Some(side),
        }
    }

    #[test]
    fn a_photo_is_fetched_at_its_largest_size_that_fits_the_limit() {
        let photo = ChatFile::TelegramPhoto(vec![
            size("s", Some(1_500), 90),
            size("m", Some(20_000), 320),
            size("x", Some(3_000_000), 1280),
        ]);
        let pick = |limit| telegram_pick(&photo, limit).map(|f| f.map(|f| f.file_id.as_str()));
        let cases = [
            (5_000_000, Ok(Some("x"))),
            (3_000_000, Ok(Some("x"))),
            (2_999_999, Ok(Some("m"))),
            (1_500, Ok(Some("s"))),
            (
                1_000,
                Err(TooLarge {
                    size: 1_500,
                    limit: 1_000,
                }),
            ),
        ];
        for (limit, expected) in cases {
            assert_eq!(pick(limit), expected, "{limit}");
        }
        // A size without a weight is taken by its area; the download checks its bytes.
        let unweighed =
            ChatFile::TelegramPhoto(vec![size("a", Some(10), 90), size("b", None, 800)]);
        assert_eq!(telegram_pick(&unweighed, 5).unwrap().unwrap().file_id, "b");
    }

    #[test]
    fn a_document_over_the_limit_is_refused_with_its_size() {
        let document = |bytes| ChatFile::TelegramDocument {
            file: TelegramFile {
                file_id: "d".into(),
                file_size: bytes,
                width: None,
                height: None,
            },
            name: Some("report.pdf".into()),
            mime_type: Some("application/pdf".into()),
        };
        assert!(telegram_pick(&document(Some(10)), 10).unwrap().is_some());
        assert!(telegram_pick(&document(None), 10).unwrap().is_some());
        assert_eq!(
            telegram_pick(&document(Some(11)), 10),
            Err(TooLarge {
                size: 11,
                limit: 10
            })
        );
    }

    #[test]
    fn telegram_files_are_held_to_the_lower_of_the_company_and_bot_api_limits() {
        let photo = ChatFile::TelegramPhoto(vec![]);
        let media = ChatFile::Media {
            url: "u".into(),
            content_type: None,
        };
        assert_eq!(fetch_limit(&photo, 25 << 20), TELEGRAM_DOWNLOAD_LIMIT);
        assert_eq!(fetch_limit(&photo, 5 << 20), 5 << 20);
        assert_eq!(fetch_limit(&media, 25 << 20), 25 << 20);
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn twilio_media_fields_become_one_file_each_up_to_num_media() {
        let params = form(&[
            ("NumMedia", "2"),
            ("MediaUrl0", "https://api.twilio.com/a"),
            ("MediaContentType0", "image/jpeg"),
            ("MediaUrl1", "https://api.twilio.com/b"),
            ("MediaUrl2", "https://api.twilio.com/not-counted"),
        ]);
        assert_eq!(
            twilio_media(&params),
            vec![
                ChatFile::Media {
                    url: "https://api.twilio.com/a".into(),
                    content_type: Some("image/jpeg".into())
                },
                ChatFile::Media {
                    url: "https://api.twilio.com/b".into(),
                    content_type: None
                },
            ]
        );
        for none in [
            form(&[("NumMedia", "0")]),
            form(&[("MediaUrl0", "https://api.twilio.com/a")]),
            form(&[("NumMedia", "x"), ("MediaUrl0", "https://api.twilio.com/a")]),
        ] {
            assert!(twilio_media(&none).is_empty(), "{none:?}");
        }
        let many: Vec<(String, String)> = std::iter::once(("NumMedia".into(), "99".into()))
            .chain((0..20).map(|n| (format!("MediaUrl{n}"), format!("https://x/{n}"))))
            .collect();
        assert_eq!(twilio_media(&many).len(), MAX_MEDIA);
    }

    #[test]
    fn only_this_accounts_media_on_twilios_api_may_be_fetched() {
        let base = "https://api.twilio.com";
        let good = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME3";
        assert!(media_url_allowed(good, base, "AC1"));
        assert!(media_url_allowed(good, "https://api.twilio.com/", "AC1"));
        for bad in [
            "https://api.twilio.com/2010-04-01/Accounts/AC9/Messages/MM2/Media/ME3",
            "http://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME3",
            "https://api.twilio.com.evil.example/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME3",
            "https://evil.example/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME3",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM2/Media/../../x",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME3?x=1",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME3/more",
            "https://api.twilio.com/2010-04-01/Accounts/AC1/Calls/CA2/Media/ME3",
        ] {
            assert!(!media_url_allowed(bad, base, "AC1"), "{bad}");
        }
        assert!(!media_url_allowed(good, base, ""));
        // A local stand-in (tests) is plain HTTP on the loopback address only.
        let local = "http://127.0.0.1:9000/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME3";
        assert!(media_url_allowed(local, "http://127.0.0.1:9000", "AC1"));
        assert!(!media_url_allowed(
            "http://10.0.0.1:9000/2010-04-01/Accounts/AC1/Messages/MM2/Media/ME3",
            "http://10.0.0.1:9000",
            "AC1"
        ));
    }

    #[test]
    fn a_caption_names_a_job_by_photo_command_or_leading_number_sign() {
        let cases = [
            ("/photo 42", Some(42)),
            ("/photo #42 boiler plate", Some(42)),
            ("/PHOTO@fieldbot 7", Some(7)),
            ("/file 9", Some(9)),
            ("#12 the meter", Some(12)),
            ("  #12", Some(12)),
            ("/photo", None),
            ("/photo x", None),
            ("/photo 0", None),
            ("/photo -3", None),
            ("/note 42 hi", None),
            ("the boiler after 42 minutes", None),
            ("#", None),
            ("#abc", None),
            ("", None),
        ];
        for (caption, expected) in cases {
            assert_eq!(caption_job(caption), expected, "{caption:?}");
        }
        assert!(caption_is_bad_command("/photo"));
        assert!(caption_is_bad_command("/photo x"));
        assert!(!caption_is_bad_command("/photo 4"));
        assert!(!caption_is_bad_command("the boiler"));
    }

    fn slot(start: i64, end: i64, job: &'static str) -> VisitSlot<&'static str> {
        VisitSlot {
            start_ms: start,
            end_ms: end,
            job,
        }
    }

    /// Why, the visits, the job chosen.
    type Case = (
        &'static str,
        Vec<VisitSlot<&'static str>>,
        Option<&'static str>,
    );

    #[test]
    fn the_current_job_is_the_visit_under_way_else_todays_nearest_to_now() {
        let today = (0, 1_000);
        let now = 500;
        let cases: [Case; 7] = [
            ("nothing booked", vec![], None),
            (
                "under way wins over a nearer one",
                vec![slot(100, 510, "a"), slot(505, 600, "b")],
                Some("a"),
            ),
            (
                "two under way: the latest started",
                vec![slot(100, 900, "a"), slot(400, 600, "b")],
                Some("b"),
            ),
            (
                "none under way: the nearest, before or after",
                vec![slot(100, 420, "early"), slot(560, 600, "soon")],
                Some("soon"),
            ),
            (
                "ended a moment ago",
                vec![slot(100, 490, "just"), slot(600, 700, "later")],
                Some("just"),
            ),
            (
                "only another day's",
                vec![
                    slot(1_200, 1_300, "tomorrow"),
                    slot(-300, -100, "yesterday"),
                ],
                None,
            ),
            (
                "the end is exclusive",
                vec![slot(100, 500, "ended"), slot(950, 990, "evening")],
                Some("ended"),
            ),
        ];
        for (why, visits, expected) in cases {
            assert_eq!(
                current_visit(&visits, now, today).copied(),
                expected,
                "{why}"
            );
        }
    }

    #[test]
    fn replies_say_where_a_file_landed_and_what_the_scanner_said() {
        let job = "job #42 Boiler service";
        let clean = landed_reply("boiler.jpg", job, Landed::Clean);
        assert!(clean.contains("Added boiler.jpg to job #42") && clean.contains("clean"));
        assert!(
            landed_reply("a.jpg", job, Landed::Waiting).contains("waiting for the malware scanner")
        );
        let rejected = landed_reply("x.pdf", job, Landed::Malware(Some("Eicar-Test-Signature")));
        assert!(
            rejected.starts_with("Not added") && rejected.contains("found Eicar-Test-Signature")
        );
        assert!(ask_which_job("photo").contains("/photo 42"));
        let big = 21 * 1024 * 1024;
        assert!(too_large_reply("file", big, 25 << 20, true).contains("up to 20 MB"));
        assert!(too_large_reply("file", big, 10 << 20, true).contains("limit of 10 MB"));
        assert!(too_large_reply("photo", big, 10 << 20, false).contains("limit of 10 MB"));
        assert_eq!(noun(&ChatFile::TelegramPhoto(vec![])), "photo");
        let media = |t: &str| ChatFile::Media {
            url: String::new(),
            content_type: Some(t.into()),
        };
        assert_eq!(noun(&media("image/jpeg")), "photo");
        assert_eq!(noun(&media("application/pdf")), "file");
        assert!(
            is_file_command("/photo 4") && is_file_command("/doc") && !is_file_command("photo")
        );
    }

    #[test]
    fn sizes_read_in_megabytes_rounded_up() {
        assert_eq!(megabytes(20 * 1024 * 1024), "20 MB");
        assert_eq!(megabytes(25 * 1024 * 1024), "25 MB");
        assert_eq!(megabytes(1), "0.1 MB");
        assert_eq!(megabytes(31_500_000), "30.1 MB");
    }
}
