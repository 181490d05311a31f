//! Telegram's Bot API: `sendMessage` to a chat. `TELEGRAM_BOT_TOKEN` (secret) and, for tests,
//! `TELEGRAM_API_BASE` (default `https://api.telegram.org`).

use crate::json;
use worker::Env;

use super::{post, setting, OutboundError};

/// Telegram refuses longer messages.
const MAX_TEXT: usize = 4096;

pub fn configured(env: &Env) -> bool {
    setting(env, "TELEGRAM_BOT_TOKEN").is_some()
}

pub async fn send_message(env: &Env, chat_id: &str, text: &str) -> Result<(), OutboundError> {
    let token = setting(env, "TELEGRAM_BOT_TOKEN").ok_or_else(|| OutboundError {
        service: "telegram",
        status: None,
        detail: "TELEGRAM_BOT_TOKEN is not set".into(),
        attempts: 0,
    })?;
    let base =
        setting(env, "TELEGRAM_API_BASE").unwrap_or_else(|| "https://api.telegram.org".into());
    let url = format!("{}/bot{token}/sendMessage", base.trim_end_matches('/'));
    let text: String = text.chars().take(MAX_TEXT).collect();
    // A numeric chat id goes out as a number, as Telegram's own clients send it.
    let chat = chat_id
        .parse::<i64>()
        .map(|id| json!(id))
        .unwrap_or_else(|_| json!(chat_id));
    let body = json!({ "chat_id": chat, "text": text }).to_string();
    post(
        "telegram",
        &url,
        &[("Content-Type", "application/json")],
        body,
    )
    .await
    .map(|_| ())
}
