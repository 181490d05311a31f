//! Outbound calls to the services we do not run: Telegram's Bot API, Twilio's Messages API,
//! Stripe's Checkout and Anthropic's Messages API. Every base URL is configurable (tests point
//! them at local stand-ins speaking the same wire format). Transient failures (network errors, 429, 5xx)
//! are retried with growing pauses; anything else fails at once with the service's answer.
//! Besides HTTP: the virus scanner, clamd over a TCP socket (`clamd`), never retried here.

pub mod anthropic;
pub mod clamd;
pub mod email;
pub mod stripe;
pub mod telegram;
pub mod twilio;

use std::time::Duration;

use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

/// Pauses before the 2nd, 3rd and 4th attempts.
const BACKOFF_MS: [u64; 3] = [200, 800, 2_000];

/// An HTTP exchange that did not end in 2xx after the retries.
#[derive(Debug)]
pub struct OutboundError {
    pub service: &'static str,
    /// The last status, when there was an answer at all.
    pub status: Option<u16>,
    pub detail: String,
    pub attempts: usize,
}

impl std::fmt::Display for OutboundError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(status) => write!(
                f,
                "{} answered {status} after {} attempt(s): {}",
                self.service, self.attempts, self.detail
            ),
            None => write!(
                f,
                "{} unreachable after {} attempt(s): {}",
                self.service, self.attempts, self.detail
            ),
        }
    }
}

/// A POST whose answer is read as text; retried while the failure is transient.
pub async fn post(
    service: &'static str,
    url: &str,
    headers: &[(&str, &str)],
    body: String,
) -> Result<String, OutboundError> {
    let mut last = OutboundError {
        service,
        status: None,
        detail: String::new(),
        attempts: 0,
    };
    for attempt in 0..=BACKOFF_MS.len() {
        if attempt > 0 {
            worker::Delay::from(Duration::from_millis(BACKOFF_MS[attempt - 1])).await;
        }
        last.attempts = attempt + 1;
        match send(url, headers, &body).await {
            Ok((status, text)) if (200..300).contains(&status) => return Ok(text),
            Ok((status, text)) => {
                last.status = Some(status);
                last.detail = clip(&text);
                if !(status == 429 || status >= 500) {
                    break;
                }
            }
            Err(e) => {
                last.status = None;
                last.detail = clip(&e.to_string());
            }
        }
    }
    Err(last)
}

/// One POST, no retry: what the outbox uses, since a retried send could go out twice.
pub(crate) async fn send(
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> worker::Result<(u16, String)> {
    let h = Headers::new();
    for (name, value) in headers {
        h.set(name, value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_headers(h)
        .with_body(Some(body.into()));
    let request = Request::new_with_init(url, &init)?;
    let mut response = Fetch::Request(request).send().await?;
    let status = response.status_code();
    let text = response.text().await.unwrap_or_default();
    Ok((status, text))
}

/// Why a file could not be fetched.
#[derive(Debug)]
pub enum FetchError {
    /// Larger than the limit (what the answer said, or what arrived).
    TooLarge { size: u64 },
    /// Not answered 2xx, or not reached.
    Failed(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { size } => write!(f, "the file is {size} bytes, over the limit"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

/// One GET of a file's bytes, at most `max` of them: refused from its `Content-Length` before
/// the body is read when it says more, and checked again on what arrived. A redirect (Twilio
/// answers a media URL with a short-lived one elsewhere) is followed once, to HTTPS only and
/// without `headers`: credentials go only to the host they are for.
pub async fn get_bytes(
    url: &str,
    headers: &[(&str, &str)],
    max: u64,
) -> Result<Vec<u8>, FetchError> {
    let mut response = get(url, headers).await?;
    let status = response.status_code();
    if (300..400).contains(&status) {
        let location = response.headers().get("Location").ok().flatten();
        let location = location
            .filter(|l| l.starts_with("https://"))
            .ok_or_else(|| {
                FetchError::Failed(format!("answered {status} with no HTTPS Location"))
            })?;
        response = get(&location, &[]).await?;
    }
    let status = response.status_code();
    if !(200..300).contains(&status) {
        return Err(FetchError::Failed(format!("answered {status}")));
    }
    let declared = response
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|n| n.parse::<u64>().ok());
    if let Some(size) = declared.filter(|size| *size > max) {
        return Err(FetchError::TooLarge { size });
    }
    let bytes = response.bytes().await.map_err(failed)?;
    match bytes.len() as u64 {
        size if size > max => Err(FetchError::TooLarge { size }),
        _ => Ok(bytes),
    }
}

fn failed(e: worker::Error) -> FetchError {
    FetchError::Failed(clip(&e.to_string()))
}

/// One GET, redirects not followed.
async fn get(url: &str, headers: &[(&str, &str)]) -> Result<worker::Response, FetchError> {
    let h = Headers::new();
    for (name, value) in headers {
        h.set(name, value).map_err(failed)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get)
        .with_headers(h)
        .with_redirect(worker::RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(failed)?;
    Fetch::Request(request).send().await.map_err(failed)
}

fn clip(text: &str) -> String {
    text.chars().take(300).collect()
}

/// A configured value (var or secret), if set and not blank.
pub fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|v| v.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
        .filter(|v| !v.trim().is_empty())
}
