//! Reading request bodies safely: the media type is checked, the size is bounded before and
//! after reading, and malformed JSON is a 400 that says what was wrong.

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use worker::Request;

use crate::error::{AppError, AppResult, ErrorKind};

/// The largest JSON body the API accepts.
pub const MAX_JSON_BODY: usize = 64 * 1024;

pub async fn json_body<T: DeserializeOwned>(req: &mut Request, max: usize) -> AppResult<T> {
    parse_json(&json_bytes(req, max).await?)
}

/// A JSON body that may be left out: nothing at all (no `Content-Type`, nothing or only
/// whitespace sent) is empty bytes; anything else must be JSON.
pub async fn optional_json_bytes(req: &mut Request, max: usize) -> AppResult<Vec<u8>> {
    if req.headers().get("Content-Type").ok().flatten().is_none() {
        let bytes = bounded_bytes(req, max).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Vec::new());
        }
        return Err(AppError::new(ErrorKind::UnsupportedMediaType)
            .with_detail("Send the body as application/json."));
    }
    json_bytes(req, max).await
}

/// [`optional_json_bytes`] parsed; no body at all is `T::default()`.
pub async fn optional_json_body<T: DeserializeOwned + Default>(
    req: &mut Request,
    max: usize,
) -> AppResult<T> {
    let bytes = optional_json_bytes(req, max).await?;
    if bytes.is_empty() {
        return Ok(T::default());
    }
    parse_json(&bytes)
}

/// The raw bytes of a JSON body, checked for media type and size (for callers that also need
/// the bytes themselves, e.g. to fingerprint an idempotent request).
pub async fn json_bytes(req: &mut Request, max: usize) -> AppResult<Vec<u8>> {
    let content_type = req.headers().get("Content-Type").ok().flatten();
    if !content_type.as_deref().is_some_and(is_json_media_type) {
        return Err(AppError::new(ErrorKind::UnsupportedMediaType)
            .with_detail("Send the body as application/json."));
    }
    bounded_bytes(req, max).await
}

/// The raw bytes of a body of any type, at most `max` of them: a declared length over the
/// bound is refused before reading, an undeclared one as soon as it passes it (413 either way).
pub async fn bounded_bytes(req: &mut Request, max: usize) -> AppResult<Vec<u8>> {
    let declared = req
        .headers()
        .get("Content-Length")
        .ok()
        .flatten()
        .and_then(|v| v.trim().parse::<usize>().ok());
    if declared.is_some_and(|len| len > max) {
        return Err(too_large(max));
    }
    // Chunk by chunk, so a body sent without a length is never held past the bound.
    let mut stream = match req.stream() {
        Ok(stream) => stream,
        // A request without a body has no stream.
        Err(worker::Error::RustError(message)) if message.contains("no body") => {
            return Ok(Vec::new())
        }
        Err(e) => {
            return Err(AppError::bad_request("The request body could not be read.").with_cause(e))
        }
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| {
            AppError::bad_request("The request body could not be read.").with_cause(e)
        })?;
        if bytes.len() + chunk.len() > max {
            return Err(too_large(max));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Parses a JSON body; the parser's message (position and expectation) goes to the client.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = T::deserialize(Object(&mut de));
    value
        .and_then(|value| de.end().map(|()| value))
        .map_err(|e| {
            AppError::bad_request(format!("The body is not valid JSON for this request: {e}."))
        })
}

/// A request body's deserializer that reads a struct only from a JSON object, as the API
/// describes every body. serde_json also reads a struct from an array of its fields in order;
/// that second reading (each body type's `visit_seq`, inlined into the router's future) is
/// not compiled in. Nested values are read by serde_json as before.
struct Object<'a, 'de>(&'a mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>);

/// Everything but a struct as serde_json reads it.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: serde::de::Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, serde_json::Error> {
                self.0.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de, 'a> serde::de::Deserializer<'de> for Object<'a, 'de> {
    type Error = serde_json::Error;
    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, serde_json::Error> {
        serde::de::Deserializer::deserialize_map(self.0, visitor)
    }
    forward! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
        deserialize_i64(); deserialize_u8(); deserialize_u16(); deserialize_u32(); deserialize_u64();
        deserialize_f32(); deserialize_f64(); deserialize_char(); deserialize_str(); deserialize_string();
        deserialize_bytes(); deserialize_byte_buf(); deserialize_option(); deserialize_unit();
        deserialize_unit_struct(name: &'static str); deserialize_newtype_struct(name: &'static str);
        deserialize_seq(); deserialize_tuple(len: usize); deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map(); deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier(); deserialize_ignored_any();
    }
}

/// `application/json`, optionally with parameters such as `charset=utf-8`.
pub fn is_json_media_type(value: &str) -> bool {
    value
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

fn too_large(max: usize) -> AppError {
    AppError::new(ErrorKind::PayloadTooLarge)
        .with_detail(format!("The body must be at most {max} bytes."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_are_recognised_with_parameters() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type("application/jsonx"));
        assert!(!is_json_media_type(
            "multipart/form-data; boundary=application/json"
        ));
    }

    #[test]
    fn malformed_json_is_a_bad_request_naming_the_problem() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Body {
            probe: String,
        }
        let err = parse_json::<Body>(b"{\"probe\": 5}").unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(err.detail.clone().unwrap().contains("expected a string"));
        assert_eq!(parse_json::<Body>(b"{").unwrap_err().status(), 400);
    }
}
