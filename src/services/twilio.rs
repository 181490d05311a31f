//! Twilio's Messages API: an SMS to a number. `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`
//! (secret), `TWILIO_FROM_NUMBER`, and for tests `TWILIO_API_BASE`
//! (default `https://api.twilio.com`).

use base64::Engine;
use worker::Env;

use super::{post, setting, OutboundError};
use crate::domain::messaging::MAX_SMS_REPLY_CHARS;
use crate::views::url::form_encode;

fn missing(name: &str) -> OutboundError {
    OutboundError {
        service: "twilio",
        status: None,
        detail: format!("{name} is not set"),
        attempts: 0,
    }
}

pub async fn send_sms(env: &Env, to: &str, body: &str) -> Result<(), OutboundError> {
    let sid = setting(env, "TWILIO_ACCOUNT_SID").ok_or_else(|| missing("TWILIO_ACCOUNT_SID"))?;
    let token = setting(env, "TWILIO_AUTH_TOKEN").ok_or_else(|| missing("TWILIO_AUTH_TOKEN"))?;
    let from = setting(env, "TWILIO_FROM_NUMBER").ok_or_else(|| missing("TWILIO_FROM_NUMBER"))?;
    let base = setting(env, "TWILIO_API_BASE").unwrap_or_else(|| "https://api.twilio.com".into());
    let url = format!(
        "{}/2010-04-01/Accounts/{sid}/Messages.json",
        base.trim_end_matches('/')
    );
    let text: String = body.chars().take(MAX_SMS_REPLY_CHARS).collect();
    let form = format!(
        "To={}&From={}&Body={}",
        form_encode(to),
        form_encode(&from),
        form_encode(&text)
    );
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"));
    let authorization = format!("Basic {credentials}");
    post(
        "twilio",
        &url,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &authorization),
        ],
        form,
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
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
