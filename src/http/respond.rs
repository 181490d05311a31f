//! Building responses. Nothing here can fail: a response that cannot be built from a value
//! becomes a problem response, and the problem response is built from bytes we control.

use serde::Serialize;
use worker::{Headers, Response, ResponseBuilder};

use crate::error::{AppError, AppResult, PROBLEM_JSON};
use crate::write::{self, Created, Entity};

/// A JSON response with `status`.
pub fn json<T: Serialize>(status: u16, value: &T) -> AppResult<Response> {
    let body = serde_json::to_vec(value).map_err(AppError::internal)?;
    Ok(with_body(status, "application/json", body))
}

/// A JSON document kept or put together as text (built ahead of time, or from parts that
/// are JSON already).
pub fn json_string(status: u16, text: String) -> Response {
    with_body(status, "application/json", text.into_bytes())
}

/// A record the engine read or wrote, with its version as the `ETag`.
pub fn record<E: Entity>(status: u16, record: &E::Record) -> AppResult<Response> {
    let response = json(status, &E::view(record))?;
    let _ = response
        .headers()
        .set("ETag", &format!("\"{}\"", E::version(record)));
    Ok(response)
}

/// What a create made (or, replayed, made the first time), with `Location`.
pub fn created<E: Entity>(created: &Created<E::Record>) -> AppResult<Response> {
    let response = record::<E>(created.status, &created.record)?;
    let _ = response
        .headers()
        .set("Location", &write::location::<E>(&created.id));
    Ok(response)
}

/// The problem+json response for `err`, with the headers it asks for.
pub fn problem(err: &AppError, instance: &str, request_id: &str) -> Response {
    let body = err
        .to_problem(instance, request_id)
        .to_string()
        .into_bytes();
    let response = with_body(err.status(), PROBLEM_JSON, body);
    for (name, value) in &err.headers {
        let _ = response.headers().set(name, value);
    }
    response
}

/// A PDF to save as `file_name` (letters, digits, `-`, `_` and `.` only: see
/// `views::pdf::file_name`). An attachment, not inline: the links say "Download", the name is
/// kept, and the browser does not render the file as a page of our origin. Never cached: it
/// shows money, and a payment changes it.
pub fn pdf(file_name: &str, body: Vec<u8>) -> Response {
    let response = with_body(200, "application/pdf", body);
    let headers = response.headers();
    let _ = headers.set(
        "Content-Disposition",
        &format!("attachment; filename=\"{file_name}\""),
    );
    let _ = headers.set("X-Content-Type-Options", "nosniff");
    let _ = headers.set("Cache-Control", "private, no-store");
    response
}

/// A ZIP archive to download (an export): never cached, it is someone's data.
pub fn zip(file_name: &str, body: Vec<u8>) -> Response {
    let response = with_body(200, "application/zip", body);
    let headers = response.headers();
    let _ = headers.set(
        "Content-Disposition",
        &format!("attachment; filename=\"{file_name}\""),
    );
    let _ = headers.set("X-Content-Type-Options", "nosniff");
    let _ = headers.set("Cache-Control", "private, no-store");
    response
}

/// `204` answering `OPTIONS` with the methods a path allows.
pub fn options(allow: &str) -> Response {
    let response = ResponseBuilder::new().with_status(204).empty();
    let _ = response.headers().set("Allow", allow);
    response
}

fn with_body(status: u16, content_type: &str, body: Vec<u8>) -> Response {
    let headers = Headers::new();
    let _ = headers.set("Content-Type", content_type);
    ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(body)
}

/// Headers every response carries: the request id, and defaults that keep API responses out
/// of caches and stop browsers from sniffing or framing them. Pages may override the CSP.
pub fn add_common_headers(response: &mut Response, request_id: &str) {
    let headers = response.headers_mut();
    let _ = headers.set("X-Request-Id", request_id);
    let defaults = [
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        (
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
        ),
        ("Strict-Transport-Security", "max-age=31536000"),
    ];
    for (name, value) in defaults {
        if !matches!(headers.has(name), Ok(true)) {
            let _ = headers.set(name, value);
        }
    }
}
