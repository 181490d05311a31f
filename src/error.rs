//! The one error type of the application and its RFC 9457 `application/problem+json` form.
//!
//! Handlers return `AppError`; the edge turns it into a response. The cause of an error is kept
//! for the log line and never sent to the client: a client sees a stable `type`, a title, and a
//! detail written for it.

use crate::json;
use serde_json::{Map, Value};

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What went wrong, as far as a client is concerned. Each kind has one status and one stable
/// `type` URI, so clients can branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    BadRequest,
    Unauthorized,
    Forbidden,
    /// Forbidden until the user changes a password generated for them.
    PasswordChangeRequired,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// The company was deleted: nothing here answers any more.
    Gone,
    PreconditionRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    Unprocessable,
    TooManyRequests,
    Internal,
    BadGateway,
    Unavailable,
}

impl ErrorKind {
    pub fn status(self) -> u16 {
        match self {
            Self::BadRequest => 400,
            Self::Unauthorized => 401,
            Self::Forbidden | Self::PasswordChangeRequired => 403,
            Self::NotFound => 404,
            Self::MethodNotAllowed => 405,
            Self::Conflict => 409,
            Self::Gone => 410,
            Self::PayloadTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::Unprocessable => 422,
            Self::PreconditionRequired => 428,
            Self::TooManyRequests => 429,
            Self::Internal => 500,
            Self::BadGateway => 502,
            Self::Unavailable => 503,
        }
    }

    /// The last segment of the problem `type` URI.
    pub fn slug(self) -> &'static str {
        match self {
            Self::BadRequest => "bad-request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::PasswordChangeRequired => "password-change-required",
            Self::NotFound => "not-found",
            Self::MethodNotAllowed => "method-not-allowed",
            Self::Conflict => "conflict",
            Self::Gone => "gone",
            Self::PayloadTooLarge => "payload-too-large",
            Self::UnsupportedMediaType => "unsupported-media-type",
            Self::Unprocessable => "unprocessable",
            Self::PreconditionRequired => "precondition-required",
            Self::TooManyRequests => "too-many-requests",
            Self::Internal => "internal",
            Self::BadGateway => "bad-gateway",
            Self::Unavailable => "unavailable",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::BadRequest => "Bad request",
            Self::Unauthorized => "Authentication required",
            Self::Forbidden => "Forbidden",
            Self::PasswordChangeRequired => "Password change required",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::Conflict => "Conflict",
            Self::Gone => "Gone",
            Self::PayloadTooLarge => "Payload too large",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::Unprocessable => "Unprocessable content",
            Self::PreconditionRequired => "Precondition required",
            Self::TooManyRequests => "Too many requests",
            Self::Internal => "Internal error",
            Self::BadGateway => "Upstream service failed",
            Self::Unavailable => "Service unavailable",
        }
    }

    pub fn type_uri(self) -> String {
        format!("{PROBLEM_TYPE_BASE}{}", self.slug())
    }
}

/// Problem types are URNs: stable identifiers that do not pretend to be web pages.
pub const PROBLEM_TYPE_BASE: &str = "urn:fieldworker:problem:";

/// An error on its way to becoming a problem response. Boxed: every `AppResult` in the
/// Worker (and every future holding one) then carries one pointer, not five fields, which
/// keeps the moves of each `?` small (see README, Where the bytes go).
#[derive(Debug, Clone, PartialEq)]
pub struct AppError(Box<Problem>);

/// What an [`AppError`] holds; read and changed through it (`err.kind`, `err.detail`).
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub kind: ErrorKind,
    /// Written for the client; never contains internals.
    pub detail: Option<String>,
    /// Extra members of the problem object (e.g. the current record on a conflict).
    pub extensions: Map<String, Value>,
    /// Extra response headers (e.g. `Allow`, `WWW-Authenticate`).
    pub headers: Vec<(&'static str, String)>,
    /// What really happened, for the log line only.
    pub cause: Option<String>,
}

impl std::ops::Deref for AppError {
    type Target = Problem;

    fn deref(&self) -> &Problem {
        &self.0
    }
}

impl std::ops::DerefMut for AppError {
    fn deref_mut(&mut self) -> &mut Problem {
        &mut self.0
    }
}

impl AppError {
    pub fn new(kind: ErrorKind) -> Self {
        Self(Box::new(Problem {
            kind,
            detail: None,
            extensions: Map::new(),
            headers: Vec::new(),
            cause: None,
        }))
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_cause(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    pub fn with_extension(mut self, key: &str, value: Value) -> Self {
        self.extensions.insert(key.to_owned(), value);
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest).with_detail(detail)
    }

    /// 422 naming the one field that is wrong; the message is written for the person who
    /// filled it in and repeated under `errors` so a form can show it beside the field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::new(ErrorKind::Unprocessable)
            .with_detail(message.clone())
            .with_extension("errors", json!([{ "field": field, "message": message }]))
    }

    /// 422 with several field errors (`[{field, message}]`) and a summary.
    pub fn invalid_fields(summary: impl Into<String>, errors: Vec<Value>) -> Self {
        Self::new(ErrorKind::Unprocessable)
            .with_detail(summary)
            .with_extension("errors", Value::Array(errors))
    }

    pub fn not_found_route(path: &str) -> Self {
        Self::new(ErrorKind::NotFound).with_detail(format!("No resource lives at {path}."))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorKind::NotFound).with_detail(format!("That {what} does not exist."))
    }

    pub fn method_not_allowed(method: &str, allowed: &[&str]) -> Self {
        let allow = allowed.join(", ");
        Self::new(ErrorKind::MethodNotAllowed)
            .with_detail(format!(
                "{method} is not allowed here; use {}.",
                allowed.join(" or ")
            ))
            .with_header("Allow", allow)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized).with_detail(detail)
    }

    /// Something broke on our side. The cause is logged; the client learns only that it failed.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::Internal)
            .with_detail("Something went wrong on our side. Quote the request id if you report it.")
            .with_cause(cause)
    }

    pub fn unavailable(detail: impl Into<String>, cause: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::Unavailable)
            .with_detail(detail)
            .with_cause(cause)
    }

    /// The RFC 9457 body. `instance` is the request path; the request id lets a user quote the
    /// failure and an operator find its log line.
    pub fn to_problem(&self, instance: &str, request_id: &str) -> Value {
        let mut body = Map::new();
        body.insert("type".into(), json!(self.kind.type_uri()));
        body.insert("title".into(), json!(self.kind.title()));
        body.insert("status".into(), json!(self.kind.status()));
        if let Some(detail) = &self.detail {
            body.insert("detail".into(), json!(detail));
        }
        body.insert("instance".into(), json!(instance));
        body.insert("request_id".into(), json!(request_id));
        for (key, value) in &self.extensions {
            // Extensions never overwrite the standard members.
            body.entry(key.clone()).or_insert_with(|| value.clone());
        }
        Value::Object(body)
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status(), self.kind.slug())?;
        if let Some(cause) = &self.cause {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl std::error::Error for AppError {}

/// Anything the Worker runtime throws at us is an internal error unless a handler said otherwise.
impl From<worker::Error> for AppError {
    fn from(err: worker::Error) -> Self {
        Self::internal(err)
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_distinct_status_and_type() {
        use ErrorKind::*;
        let kinds = [
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            MethodNotAllowed,
            Conflict,
            Gone,
            PreconditionRequired,
            PayloadTooLarge,
            UnsupportedMediaType,
            Unprocessable,
            TooManyRequests,
            Internal,
            BadGateway,
            Unavailable,
        ];
        let mut statuses: Vec<u16> = kinds.iter().map(|k| k.status()).collect();
        statuses.sort_unstable();
        statuses.dedup();
        assert_eq!(statuses.len(), kinds.len());
        for kind in kinds {
            assert!((400..600).contains(&kind.status()));
            assert!(kind.type_uri().starts_with(PROBLEM_TYPE_BASE));
        }
    }

    #[test]
    fn a_problem_carries_the_standard_members_and_the_request_id() {
        let problem = AppError::not_found("job").to_problem("/api/v1/jobs/9", "req-1");
        assert_eq!(problem["type"], "urn:fieldworker:problem:not-found");
        assert_eq!(problem["title"], "Not found");
        assert_eq!(problem["status"], 404);
        assert_eq!(problem["detail"], "That job does not exist.");
        assert_eq!(problem["instance"], "/api/v1/jobs/9");
        assert_eq!(problem["request_id"], "req-1");
    }

    #[test]
    fn an_internal_error_never_shows_its_cause() {
        let err = AppError::internal("D1_ERROR: no such table: secrets_of_the_company");
        let text = err.to_problem("/x", "r").to_string();
        assert!(!text.contains("secrets_of_the_company"));
        assert!(!text.contains("D1_ERROR"));
        assert_eq!(err.status(), 500);
        // The cause is still there for the log.
        assert!(err.to_string().contains("no such table"));
    }

    #[test]
    fn extensions_cannot_overwrite_standard_members() {
        let problem = AppError::bad_request("bad")
            .with_extension("status", json!(200))
            .with_extension("errors", json!([{"field": "name"}]))
            .to_problem("/x", "r");
        assert_eq!(problem["status"], 400);
        assert_eq!(problem["errors"][0]["field"], "name");
    }

    #[test]
    fn a_field_error_names_the_field_for_forms() {
        let problem = AppError::invalid_field("password", "Use at least 12 characters.")
            .to_problem("/x", "r");
        assert_eq!(problem["status"], 422);
        assert_eq!(problem["detail"], "Use at least 12 characters.");
        assert_eq!(problem["errors"][0]["field"], "password");
        assert_eq!(
            problem["errors"][0]["message"],
            "Use at least 12 characters."
        );
    }

    #[test]
    fn method_not_allowed_names_the_allowed_methods() {
        let err = AppError::method_not_allowed("DELETE", &["GET", "HEAD"]);
        assert_eq!(err.status(), 405);
        assert_eq!(err.headers, vec![("Allow", "GET, HEAD".to_owned())]);
        assert_eq!(
            err.detail.as_deref(),
            Some("DELETE is not allowed here; use GET or HEAD.")
        );
    }
}
