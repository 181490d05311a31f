//! Anthropic's Messages API, for the agent. `ANTHROPIC_API_KEY` (secret) switches the agent on;
//! `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`) and `ANTHROPIC_MODEL` are
//! configurable.

use serde_json::Value;
use worker::Env;

use super::{post, setting, OutboundError};

pub const DEFAULT_MODEL: &str = "claude-sonnet-4-5";
const API_VERSION: &str = "2023-06-01";

pub fn api_key(env: &Env) -> Option<String> {
    setting(env, "ANTHROPIC_API_KEY")
}

pub fn model(env: &Env) -> String {
    setting(env, "ANTHROPIC_MODEL").unwrap_or_else(|| DEFAULT_MODEL.into())
}

/// One Messages API call; the parsed JSON answer.
pub async fn messages(env: &Env, key: &str, body: &Value) -> Result<Value, OutboundError> {
    let base =
        setting(env, "ANTHROPIC_BASE_URL").unwrap_or_else(|| "https://api.anthropic.com".into());
    let url = format!("{}/v1/messages", base.trim_end_matches('/'));
    let text = post(
        "anthropic",
        &url,
        &[
            ("Content-Type", "application/json"),
            ("x-api-key", key),
            ("anthropic-version", API_VERSION),
        ],
        body.to_string(),
    )
    .await?;
    serde_json::from_str(&text).map_err(|e| OutboundError {
        service: "anthropic",
        status: Some(200),
        detail: format!("unreadable answer: {e}"),
        attempts: 1,
    })
}
