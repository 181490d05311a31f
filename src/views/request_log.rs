//! The one structured log line written per request. Paths are logged without their query
//! string, and with the secrets some paths carry replaced ([`loggable_path`]): whoever reads
//! the logs must not be able to open a customer's share link or accept an invitation.

use std::borrow::Cow;

use serde::Serialize;

/// Path prefixes whose next segment is a credential: share links (`/s/{token}…`) and
/// invitations (`/invite/{token}`). `src/entry.mjs` applies the same rule to the lines it
/// writes itself.
const SECRET_SEGMENT_AFTER: &[&str] = &["/s/", "/invite/"];

/// `path` as it may be logged: the credential segment replaced by `{token}`.
pub fn loggable_path(path: &str) -> Cow<'_, str> {
    for prefix in SECRET_SEGMENT_AFTER {
        if let Some(rest) = path.strip_prefix(prefix) {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            return Cow::Owned(format!("{prefix}{{token}}{tail}"));
        }
    }
    Cow::Borrowed(path)
}

#[derive(Debug, Serialize)]
pub struct RequestLog<'a> {
    pub level: &'static str,
    pub msg: &'static str,
    pub request_id: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub status: u16,
    pub duration_ms: u64,
    /// Why a request failed, for the operator; absent on success.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'a str>,
}

impl RequestLog<'_> {
    pub fn to_line(&self) -> String {
        // Serializing a struct of strings and integers cannot fail; keep a line regardless.
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"msg\":\"request\"}"))
    }
}

/// 5xx are errors, 4xx warnings (a client mistake, but worth seeing), the rest info.
pub fn level_for(status: u16) -> &'static str {
    match status {
        500.. => "error",
        400..=499 => "warn",
        _ => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_paths_are_not_logged() {
        assert_eq!(loggable_path("/s/abc123"), "/s/{token}");
        assert_eq!(loggable_path("/s/abc123/accept"), "/s/{token}/accept");
        assert_eq!(loggable_path("/invite/xyz"), "/invite/{token}");
        assert_eq!(loggable_path("/s/"), "/s/{token}");
        assert_eq!(loggable_path("/api/v1/jobs/42"), "/api/v1/jobs/42");
        assert_eq!(loggable_path("/settings"), "/settings");
    }

    #[test]
    fn a_log_line_is_one_json_object_with_the_request_facts() {
        let line = RequestLog {
            level: level_for(404),
            msg: "request",
            request_id: "r-1",
            method: "GET",
            path: "/nope",
            status: 404,
            duration_ms: 3,
            error: None,
        }
        .to_line();
        assert!(!line.contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["level"], "warn");
        assert_eq!(value["request_id"], "r-1");
        assert_eq!(value["method"], "GET");
        assert_eq!(value["path"], "/nope");
        assert_eq!(value["status"], 404);
        assert_eq!(value["duration_ms"], 3);
        assert!(value.get("error").is_none());
    }

    #[test]
    fn levels_follow_the_status_class() {
        assert_eq!(level_for(200), "info");
        assert_eq!(level_for(302), "info");
        assert_eq!(level_for(429), "warn");
        assert_eq!(level_for(503), "error");
    }
}
