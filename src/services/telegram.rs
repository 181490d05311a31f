//! Telegram's Bot API: `sendMessage` to a chat, and `getFile` with the download of a file a
//! user sent. `TELEGRAM_BOT_TOKEN` (secret) and, for tests, `TELEGRAM_API_BASE` (default
//! `https://api.telegram.org`).

use crate::json;
use worker::Env;

use super::{get_bytes, post, setting, FetchError, OutboundError};

/// Telegram refuses longer messages.
const MAX_TEXT: usize = 4096;

pub fn configured(env: &Env) -> bool {
    setting(env, "TELEGRAM_BOT_TOKEN").is_some()
}

/// The bot's token and the API's base URL (without a trailing slash).
fn bot(env: &Env) -> Result<(String, String), OutboundError> {
    let token = setting(env, "TELEGRAM_BOT_TOKEN").ok_or_else(|| OutboundError {
        service: "telegram",
        status: None,
        detail: "TELEGRAM_BOT_TOKEN is not set".into(),
        attempts: 0,
    })?;
    let base =
        setting(env, "TELEGRAM_API_BASE").unwrap_or_else(|| "https://api.telegram.org".into());
    Ok((token, base.trim_end_matches('/').to_owned()))
}

pub async fn send_message(env: &Env, chat_id: &str, text: &str) -> Result<(), OutboundError> {
    let (token, base) = bot(env)?;
    let url = format!("{base}/bot{token}/sendMessage");
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

/// A file the bot may download: `getFile`'s answer.
struct FileInfo {
    path: String,
    size: Option<u64>,
}

/// Downloads the file `file_id` (at most `max` bytes): `getFile` for its path, then
/// `GET {base}/file/bot{token}/{path}`.
pub async fn download(env: &Env, file_id: &str, max: u64) -> Result<Vec<u8>, FetchError> {
    let (token, base) = bot(env).map_err(|e| FetchError::Failed(e.to_string()))?;
    let info = get_file(&base, &token, file_id).await?;
    if let Some(size) = info.size.filter(|size| *size > max) {
        return Err(FetchError::TooLarge { size });
    }
    let url = format!("{base}/file/bot{token}/{}", info.path);
    get_bytes(&url, &[], max).await
}

async fn get_file(base: &str, token: &str, file_id: &str) -> Result<FileInfo, FetchError> {
    let url = format!("{base}/bot{token}/getFile");
    let body = json!({ "file_id": file_id }).to_string();
    let answer = post(
        "telegram",
        &url,
        &[("Content-Type", "application/json")],
        body,
    )
    .await
    .map_err(|e| FetchError::Failed(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&answer).unwrap_or_default();
    let result = &value["result"];
    match (value["ok"].as_bool(), result["file_path"].as_str()) {
        (Some(true), Some(path)) if !path.is_empty() => Ok(FileInfo {
            path: path.to_owned(),
            size: result["file_size"].as_u64(),
        }),
        _ => Err(FetchError::Failed(format!(
            "getFile answered without a file_path: {}",
            answer.chars().take(200).collect::<String>()
        ))),
    }
}
