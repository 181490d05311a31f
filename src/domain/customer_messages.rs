//! The conversation with a customer over SMS: the opt-out keywords a customer may text, what
//! Twilio's delivery reports say of a message and which report may replace which, where a
//! reply goes, and what a reply may say.

use std::fmt;

use crate::domain::messaging::{InboundError, MAX_SMS_REPLY_CHARS};

/// A keyword that changes whether a customer gets automatic texts. Twilio answers these on
/// the carrier side (and blocks further texts after an opt-out), so nothing is sent back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsKeyword {
    OptOut,
    OptIn,
}

/// Twilio's standard opt-out and opt-in keywords.
const OPT_OUT: [&str; 6] = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
const OPT_IN: [&str; 3] = ["START", "YES", "UNSTOP"];

/// The keyword a text is, if the whole text (trimmed, any case) is one: "stop" is, "please
/// stop calling" is not, as Twilio reads them.
pub fn sms_keyword(text: &str) -> Option<SmsKeyword> {
    let word = text.trim();
    let is = |words: &[&str]| words.iter().any(|w| w.eq_ignore_ascii_case(word));
    if is(&OPT_OUT) {
        Some(SmsKeyword::OptOut)
    } else if is(&OPT_IN) {
        Some(SmsKeyword::OptIn)
    } else {
        None
    }
}

/// Where a message stands by the provider's last word (Twilio's `MessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Accepted,
    Scheduled,
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Canceled,
    Read,
}

impl Delivery {
    const ALL: [Delivery; 10] = [
        Delivery::Accepted,
        Delivery::Scheduled,
        Delivery::Queued,
        Delivery::Sending,
        Delivery::Sent,
        Delivery::Delivered,
        Delivery::Undelivered,
        Delivery::Failed,
        Delivery::Canceled,
        Delivery::Read,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Scheduled => "scheduled",
            Self::Queued => "queued",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::Canceled => "canceled",
            Self::Read => "read",
        }
    }

    pub fn parse(value: &str) -> Option<Delivery> {
        Self::ALL.into_iter().find(|d| d.as_str() == value)
    }

    /// Whether nothing more will happen to the message.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Delivered | Self::Undelivered | Self::Failed | Self::Canceled | Self::Read
        )
    }

    /// How far along the message is: a report replaces only one of a lower step, so a late
    /// `sent` never undoes `delivered`, and a repeated report changes nothing.
    fn step(self) -> u8 {
        match self {
            Self::Accepted | Self::Scheduled => 0,
            Self::Queued => 1,
            Self::Sending => 2,
            Self::Sent => 3,
            _ => 4,
        }
    }

    /// The stored statuses this report replaces (besides none yet).
    pub fn replaces(self) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|d| d.step() < self.step())
            .map(Delivery::as_str)
            .collect()
    }
}

/// One delivery report: which message, and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReport {
    pub message_sid: String,
    /// `None`: a status this build does not know (Twilio adds them); nothing to record.
    pub status: Option<Delivery>,
    /// Twilio's error code, on a message that failed.
    pub error_code: Option<String>,
}

/// The report in a verified status-callback form: `MessageSid` and `MessageStatus` once each,
/// `ErrorCode` if there is one (digits).
pub fn delivery_report(params: &[(String, String)]) -> Result<DeliveryReport, InboundError> {
    let single = |name: &'static str| -> Result<Option<&str>, InboundError> {
        let mut values = params.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(InboundError::RepeatedField(name));
        }
        Ok(first)
    };
    let sid = single("MessageSid")?.ok_or(InboundError::MissingField("MessageSid"))?;
    if !(1..=64).contains(&sid.len()) || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(InboundError::BadMessageSid);
    }
    let status = single("MessageStatus")?.ok_or(InboundError::MissingField("MessageStatus"))?;
    let error_code = single("ErrorCode")?
        .map(str::trim)
        .filter(|c| !c.is_empty() && c.len() <= 16 && c.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_owned);
    Ok(DeliveryReport {
        message_sid: sid.to_owned(),
        status: Delivery::parse(&status.trim().to_ascii_lowercase()),
        error_code,
    })
}

/// What Twilio's most common delivery error codes mean, for the office.
pub fn error_reason(code: &str) -> Option<&'static str> {
    Some(match code {
        "21211" => "not a valid phone number",
        "21408" => "sending to this region is not enabled",
        "21610" => "the customer opted out (texted STOP)",
        "21614" => "not a mobile number",
        "30003" => "the phone is off or unreachable",
        "30004" => "the message was blocked",
        "30005" => "the number is unknown or no longer in service",
        "30006" => "a landline or an unreachable carrier",
        "30007" => "filtered by the carrier",
        "30008" => "an unknown error at the carrier",
        "30034" => "the sending number is not registered for texting",
        _ => return None,
    })
}

/// The number a reply goes to: the one the customer last wrote from while it is still one of
/// theirs, else their first.
pub fn reply_recipient(phones: &[String], last_from: Option<&str>) -> Option<String> {
    last_from
        .filter(|from| phones.iter().any(|p| p == from))
        .map(str::to_owned)
        .or_else(|| phones.first().cloned())
}

/// A reply's text: what staff typed, trimmed, within what one SMS message may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyBody(String);

/// Why a reply's text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyBodyError {
    Empty,
    TooLong { max: usize },
}

impl fmt::Display for ReplyBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Write something to send."),
            Self::TooLong { max } => write!(f, "A text message holds at most {max} characters."),
        }
    }
}

impl ReplyBody {
    pub fn parse(text: &str) -> Result<ReplyBody, ReplyBodyError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ReplyBodyError::Empty);
        }
        if text.chars().count() > MAX_SMS_REPLY_CHARS {
            return Err(ReplyBodyError::TooLong {
                max: MAX_SMS_REPLY_CHARS,
            });
        }
        Ok(ReplyBody(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A customer's text as kept in the conversation (the column holds 2000 characters; Twilio
/// delivers at most 1600).
pub fn kept_body(text: &str) -> String {
    text.chars().take(2000).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whole_text_in_any_case_is_a_keyword_and_nothing_else_is() {
        let cases: &[(&str, Option<SmsKeyword>)] = &[
            ("STOP", Some(SmsKeyword::OptOut)),
            ("  stop \n", Some(SmsKeyword::OptOut)),
            ("Unsubscribe", Some(SmsKeyword::OptOut)),
            ("stopall", Some(SmsKeyword::OptOut)),
            ("cancel", Some(SmsKeyword::OptOut)),
            ("End", Some(SmsKeyword::OptOut)),
            ("QUIT", Some(SmsKeyword::OptOut)),
            ("start", Some(SmsKeyword::OptIn)),
            ("Yes", Some(SmsKeyword::OptIn)),
            ("UNSTOP", Some(SmsKeyword::OptIn)),
            ("please stop", None),
            ("STOP.", None),
            ("yes please", None),
            ("", None),
            ("ſtop", None),
        ];
        for (text, expected) in cases {
            assert_eq!(sms_keyword(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn a_report_replaces_only_an_earlier_step_so_late_reports_never_undo_a_final_one() {
        assert!(Delivery::Delivered.replaces().contains(&"sent"));
        assert!(Delivery::Failed.replaces().contains(&"queued"));
        assert!(!Delivery::Delivered.replaces().contains(&"failed"));
        assert!(!Delivery::Delivered.replaces().contains(&"delivered"));
        assert!(Delivery::Sent.replaces().contains(&"queued"));
        assert!(!Delivery::Sent.replaces().contains(&"delivered"));
        assert!(!Delivery::Sent.replaces().contains(&"sent"));
        assert!(Delivery::Queued.replaces().contains(&"accepted"));
        for d in Delivery::ALL {
            assert_eq!(Delivery::parse(d.as_str()), Some(d));
            assert_eq!(d.is_final(), d.step() == 4, "{d:?}");
        }
    }

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_status_callback_names_its_message_and_status() {
        let report = delivery_report(&form(&[
            ("MessageSid", "SM0001"),
            ("MessageStatus", "undelivered"),
            ("ErrorCode", "30003"),
            ("AccountSid", "AC1"),
        ]))
        .unwrap();
        assert_eq!(report.message_sid, "SM0001");
        assert_eq!(report.status, Some(Delivery::Undelivered));
        assert_eq!(report.error_code.as_deref(), Some("30003"));
        let unknown = delivery_report(&form(&[
            ("MessageSid", "SM0001"),
            ("MessageStatus", "teleported"),
        ]))
        .unwrap();
        assert_eq!(unknown.status, None);
        assert_eq!(unknown.error_code, None);
        for (pairs, error) in [
            (
                vec![("MessageStatus", "sent")],
                InboundError::MissingField("MessageSid"),
            ),
            (
                vec![("MessageSid", "SM1")],
                InboundError::MissingField("MessageStatus"),
            ),
            (
                vec![("MessageSid", "SM 1"), ("MessageStatus", "sent")],
                InboundError::BadMessageSid,
            ),
            (
                vec![
                    ("MessageSid", "SM1"),
                    ("MessageStatus", "sent"),
                    ("MessageStatus", "failed"),
                ],
                InboundError::RepeatedField("MessageStatus"),
            ),
        ] {
            assert_eq!(delivery_report(&form(&pairs)), Err(error));
        }
    }

    #[test]
    fn a_reply_goes_where_the_customer_last_wrote_from_while_that_is_still_theirs() {
        let phones = vec!["+14155550100".to_owned(), "+14155550123".to_owned()];
        assert_eq!(
            reply_recipient(&phones, Some("+14155550123")).as_deref(),
            Some("+14155550123")
        );
        assert_eq!(
            reply_recipient(&phones, Some("+19995550000")).as_deref(),
            Some("+14155550100")
        );
        assert_eq!(
            reply_recipient(&phones, None).as_deref(),
            Some("+14155550100")
        );
        assert_eq!(reply_recipient(&[], Some("+14155550123")), None);
    }

    #[test]
    fn a_reply_is_some_text_that_fits_in_one_message() {
        assert_eq!(
            ReplyBody::parse("  On our way \n").unwrap().as_str(),
            "On our way"
        );
        assert_eq!(ReplyBody::parse(" \n "), Err(ReplyBodyError::Empty));
        assert!(ReplyBody::parse(&"é".repeat(MAX_SMS_REPLY_CHARS)).is_ok());
        assert_eq!(
            ReplyBody::parse(&"é".repeat(MAX_SMS_REPLY_CHARS + 1)),
            Err(ReplyBodyError::TooLong {
                max: MAX_SMS_REPLY_CHARS
            })
        );
        assert_eq!(kept_body(&"x".repeat(2500)).len(), 2000);
        assert_eq!(
            error_reason("21610"),
            Some("the customer opted out (texted STOP)")
        );
        assert_eq!(error_reason("1"), None);
    }
}
