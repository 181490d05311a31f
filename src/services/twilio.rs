//! Twilio's Messages API: an SMS to a number, and an MMS's media fetched. `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`
//! (secret), `TWILIO_FROM_NUMBER`, and for tests `TWILIO_API_BASE`
//! (default `https://api.twilio.com`).

use base64::Engine;
use worker::Env;

use super::{get_bytes, post, setting, FetchError, OutboundError};
use crate::domain::chat_files::media_url_allowed;
use crate::domain::messaging::MAX_SMS_REPLY_CHARS;
use crate::domain::outbox::Attempt;
use crate::views::url::form_encode;

/// `Authorization` for the account: HTTP Basic with its SID and auth token.
fn basic(sid: &str, token: &str) -> String {
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    format!("Basic {credentials}")
}

/// An MMS's media item (at most `max` bytes), fetched with the account's credentials as
/// Twilio requires when media authentication is on. Only a media URL of this account on the
/// configured API (`domain::chat_files::media_url_allowed`) is fetched at all.
pub async fn media(env: &Env, url: &str, max: u64) -> Result<Vec<u8>, FetchError> {
    let (Some(sid), Some(token)) = (
        setting(env, "TWILIO_ACCOUNT_SID"),
        setting(env, "TWILIO_AUTH_TOKEN"),
    ) else {
        return Err(FetchError::Failed(
            "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set".into(),
        ));
    };
    let base = setting(env, "TWILIO_API_BASE").unwrap_or_else(|| "https://api.twilio.com".into());
    if !media_url_allowed(url, &base, &sid) {
        return Err(FetchError::Failed(format!(
            "not a media URL of this account on {base}"
        )));
    }
    get_bytes(url, &[("Authorization", &basic(&sid, &token))], max).await
}

/// A Messages API call: where it goes, its form and its `Authorization`.
struct Call {
    url: String,
    form: String,
    authorization: String,
}

impl Call {
    /// The call that sends `body` (cut to what Twilio accepts) to `to`, or the name of the
    /// setting that is missing.
    fn new(env: &Env, to: &str, body: &str) -> Result<Call, &'static str> {
        let sid = setting(env, "TWILIO_ACCOUNT_SID").ok_or("TWILIO_ACCOUNT_SID")?;
        let token = setting(env, "TWILIO_AUTH_TOKEN").ok_or("TWILIO_AUTH_TOKEN")?;
        let from = setting(env, "TWILIO_FROM_NUMBER").ok_or("TWILIO_FROM_NUMBER")?;
        let base =
            setting(env, "TWILIO_API_BASE").unwrap_or_else(|| "https://api.twilio.com".into());
        let text: String = body.chars().take(MAX_SMS_REPLY_CHARS).collect();
        Ok(Call {
            url: format!(
                "{}/2010-04-01/Accounts/{sid}/Messages.json",
                base.trim_end_matches('/')
            ),
            form: format!(
                "To={}&From={}&Body={}",
                form_encode(to),
                form_encode(&from),
                form_encode(&text)
            ),
            authorization: basic(&sid, &token),
        })
    }

    fn headers(&self) -> [(&str, &str); 2] {
        [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", self.authorization.as_str()),
        ]
    }
}

/// A reply to a chat, retried on 429 and 5xx (see `services::post`).
pub async fn send_sms(env: &Env, to: &str, body: &str) -> Result<(), OutboundError> {
    let call = Call::new(env, to, body).map_err(|name| OutboundError {
        service: "twilio",
        status: None,
        detail: format!("{name} is not set"),
        attempts: 0,
    })?;
    post("twilio", &call.url, &call.headers(), call.form.clone())
        .await
        .map(|_| ())
}

/// Where Twilio posts a message's delivery reports (`POST /webhooks/sms/status`).
pub const STATUS_PATH: &str = "/webhooks/sms/status";

/// Sends one SMS from the outbox: a single call, since Twilio takes no idempotency key and a
/// retried call could send twice (the outbox decides about retries). Twilio reports the
/// delivery later to [`STATUS_PATH`] when the tenant's `PUBLIC_URL` is set.
pub async fn send(env: &Env, to: &str, body: &str) -> Attempt {
    let Ok(mut call) = Call::new(env, to, body) else {
        return Attempt::NotSent {
            reason:
                "SMS is not set up: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM_NUMBER"
                    .into(),
            permanent: true,
        };
    };
    if let Some(public) = setting(env, "PUBLIC_URL") {
        let callback = format!("{}{STATUS_PATH}", public.trim_end_matches('/'));
        call.form
            .push_str(&format!("&StatusCallback={}", form_encode(&callback)));
    }
    match super::send(&call.url, &call.headers(), &call.form).await {
        Ok((status, answer)) => sent_or_not(status, &answer),
        Err(e) => Attempt::Unclear {
            reason: format!("the call to Twilio broke off: {e}"),
        },
    }
}

/// What Twilio's answer to a Messages API call means for the message.
fn sent_or_not(status: u16, answer: &str) -> Attempt {
    let json: serde_json::Value = serde_json::from_str(answer).unwrap_or_default();
    if (200..300).contains(&status) {
        return match json["sid"].as_str() {
            Some(sid) => Attempt::Sent {
                provider_id: sid.to_owned(),
            },
            None => Attempt::Unclear {
                reason: format!("Twilio answered {status} without a message sid"),
            },
        };
    }
    let reason = match (json["code"].as_i64(), json["message"].as_str()) {
        (Some(code), Some(message)) => format!("Twilio error {code}: {message}"),
        _ => format!("Twilio answered {status}"),
    };
    // Busy or broken on Twilio's side: it refused before taking the message; try later.
    let permanent = !(status == 429 || status >= 500);
    Attempt::NotSent { reason, permanent }
}

#[cfg(test)]
mod tests {
    use super::sent_or_not;
    use crate::domain::outbox::Attempt;

    #[test]
    fn twilio_answers_decide_whether_a_message_went() {
        assert_eq!(
            sent_or_not(201, r#"{"sid":"SM1","status":"queued"}"#),
            Attempt::Sent {
                provider_id: "SM1".into()
            }
        );
        assert_eq!(
            sent_or_not(
                400,
                r#"{"code":21610,"message":"Attempt to send to unsubscribed recipient"}"#
            ),
            Attempt::NotSent {
                reason: "Twilio error 21610: Attempt to send to unsubscribed recipient".into(),
                permanent: true
            }
        );
        assert!(matches!(
            sent_or_not(503, "busy"),
            Attempt::NotSent {
                permanent: false,
                ..
            }
        ));
        assert!(matches!(sent_or_not(200, "{}"), Attempt::Unclear { .. }));
    }

    use crate::domain::messaging::parse_form;
    use crate::views::url::form_encode;

    #[test]
    fn form_encoding_round_trips_through_the_form_parser() {
        for value in [
            "+14155550123",
            "Moved to Thu 9:00 — ok? 100% & done",
            "é\nü",
        ] {
            let body = format!("Body={}", form_encode(value));
            let parsed = parse_form(body.as_bytes()).unwrap();
            assert_eq!(parsed, vec![("Body".to_owned(), value.to_owned())]);
        }
    }
}
