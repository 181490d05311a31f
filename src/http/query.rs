//! Query strings parsed into typed structs. Each list declares its parameters once with
//! [`query!`]: the struct, its parser (one loop, here) and, on the host, the parameters of its
//! operation in the OpenAPI document all come from that declaration.
//!
//! The API refuses what it does not know (400: a misspelt filter must not silently list
//! everything); a repeated parameter is refused too. A bad value is a 422 naming the parameter.

use crate::domain::audit::Action;
use crate::domain::cursor;
use crate::domain::invoices::InvoiceStatus;
use crate::domain::jobs::JobStatus;
use crate::domain::quotes::QuoteStatus;
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};

/// One parameter's value type: how it is read from the text, and (host) its JSON schema.
pub trait Param: Sized {
    fn read(name: &str, value: &str) -> AppResult<Self>;
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value;
}

/// A field of a query struct: absent leaves its default, present is read once.
pub trait Field: Default {
    /// Whether the operation needs the parameter (checked once the whole query is read).
    const REQUIRED: bool = false;
    fn set(&mut self, name: &str, value: &str) -> AppResult<()>;
    /// Refuses a missing required parameter.
    fn finish(&self, _name: &str) -> AppResult<()> {
        Ok(())
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value;
}

impl<T: Param> Field for Option<T> {
    fn set(&mut self, name: &str, value: &str) -> AppResult<()> {
        *self = Some(T::read(name, value)?);
        Ok(())
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        T::schema()
    }
}

/// A parameter the operation cannot do without: a 422 naming it when it is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Required<T>(Option<T>);

impl<T> Default for Required<T> {
    fn default() -> Self {
        Required(None)
    }
}

impl<T: Param + Clone> Required<T> {
    /// The value, present once the query parsed.
    pub fn get(&self) -> AppResult<T> {
        self.0
            .clone()
            .ok_or_else(|| AppError::internal("a required query parameter was not checked"))
    }
}

impl<T: Param> Field for Required<T> {
    const REQUIRED: bool = true;
    fn set(&mut self, name: &str, value: &str) -> AppResult<()> {
        self.0 = Some(T::read(name, value)?);
        Ok(())
    }
    fn finish(&self, name: &str) -> AppResult<()> {
        match self.0 {
            Some(_) => Ok(()),
            None => Err(AppError::invalid_field(
                name,
                format!("{name} is required."),
            )),
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        T::schema()
    }
}

/// The longest free-text value a query takes (a search, a name), in characters.
pub const MAX_TEXT_PARAM: usize = 1000;

impl Param for String {
    fn read(name: &str, value: &str) -> AppResult<Self> {
        if value.chars().count() > MAX_TEXT_PARAM {
            return Err(AppError::invalid_field(
                name,
                format!("{name} is at most {MAX_TEXT_PARAM} characters."),
            ));
        }
        Ok(value.to_owned())
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        crate::json!({ "type": "string", "maxLength": MAX_TEXT_PARAM })
    }
}

/// `true` or `false`, nothing else.
impl Param for bool {
    fn read(name: &str, value: &str) -> AppResult<Self> {
        match value {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(AppError::invalid_field(
                name,
                format!("{name} is true or false."),
            )),
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        crate::json!({ "type": "boolean" })
    }
}

/// An instant written in RFC 3339 (`2026-11-23T10:00:00Z`, or with an offset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub Millis);

impl Time {
    /// The stored form (UTC, milliseconds), so comparisons are of like with like.
    pub fn stored(self) -> String {
        self.0.to_rfc3339()
    }
}

impl Param for Time {
    fn read(name: &str, value: &str) -> AppResult<Self> {
        Millis::parse_rfc3339(value).map(Time).ok_or_else(|| {
            AppError::invalid_field(
                name,
                format!("{name} must be an RFC 3339 time such as 2026-11-23T10:00:00Z."),
            )
        })
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        crate::json!({ "type": "string", "format": "date-time" })
    }
}

/// A whole number from 1 up: job numbers, the audit trail's positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positive(pub i64);

impl Param for Positive {
    fn read(name: &str, value: &str) -> AppResult<Self> {
        value
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .map(Positive)
            .ok_or_else(|| {
                AppError::invalid_field(name, format!("{name} must be a whole number from 1."))
            })
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        crate::json!({ "type": "integer", "minimum": 1, "maximum": i64::MAX })
    }
}

/// Where the previous page ended: the `next_cursor` it answered (see `domain::cursor`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub key: String,
    pub id: String,
}

impl Cursor {
    /// The sort key and id to continue after, both none on a first page.
    pub fn split(cursor: Option<Cursor>) -> (Option<String>, Option<String>) {
        cursor.map(|c| (c.key, c.id)).unzip()
    }
}

impl Param for Cursor {
    fn read(_: &str, value: &str) -> AppResult<Self> {
        let (key, id) = cursor::decode(value)?;
        Ok(Cursor { key, id })
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        crate::json!({ "type": "string", "description": "next_cursor of the previous page" })
    }
}

/// A page size from 1 to `MAX`, `DEFAULT` when not given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit<const DEFAULT: i64, const MAX: i64>(pub i64);

impl<const DEFAULT: i64, const MAX: i64> Default for Limit<DEFAULT, MAX> {
    fn default() -> Self {
        Limit(DEFAULT)
    }
}

impl<const DEFAULT: i64, const MAX: i64> Field for Limit<DEFAULT, MAX> {
    fn set(&mut self, name: &str, value: &str) -> AppResult<()> {
        self.0 = value
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX).contains(l))
            .ok_or_else(|| {
                AppError::invalid_field(name, format!("{name} must be between 1 and {MAX}."))
            })?;
        Ok(())
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        crate::json!({ "type": "integer", "minimum": 1, "maximum": MAX, "default": DEFAULT })
    }
}

impl<const DEFAULT: i64, const MAX: i64> Limit<DEFAULT, MAX> {
    /// The cursor of the page after `rows`: only when the page is full, after its last row.
    pub fn next_cursor<R>(self, rows: &[R], key: impl Fn(&R) -> String) -> Option<String> {
        (rows.len() as i64 == self.0)
            .then(|| rows.last().map(key))
            .flatten()
    }
}

/// The domain's named values a list can be filtered by (statuses, audit actions), read by the
/// domain's own parser.
macro_rules! enum_param {
    ($ty:ty) => {
        impl Param for $ty {
            fn read(name: &str, value: &str) -> AppResult<Self> {
                <$ty>::parse(value).ok_or_else(|| {
                    let names: Vec<&str> = <$ty>::ALL.iter().map(|s| s.as_str()).collect();
                    AppError::invalid_field(name, format!("One of {}.", names.join(", ")))
                })
            }
            #[cfg(not(target_arch = "wasm32"))]
            fn schema() -> serde_json::Value {
                let names: Vec<&str> = <$ty>::ALL.iter().map(|s| s.as_str()).collect();
                crate::json!({ "type": "string", "enum": names })
            }
        }
    };
}
enum_param!(JobStatus);
enum_param!(Action);
enum_param!(QuoteStatus);
enum_param!(InvoiceStatus);

/// Whether an invoice list shows invoices or credit notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceKind {
    Invoice,
    CreditNote,
}

impl InvoiceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceKind::Invoice => "invoice",
            InvoiceKind::CreditNote => "credit_note",
        }
    }
}

impl Param for InvoiceKind {
    fn read(name: &str, value: &str) -> AppResult<Self> {
        match value {
            "invoice" => Ok(InvoiceKind::Invoice),
            "credit_note" => Ok(InvoiceKind::CreditNote),
            _ => Err(AppError::invalid_field(
                name,
                "One of invoice, credit_note.",
            )),
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    fn schema() -> serde_json::Value {
        crate::json!({ "type": "string", "enum": ["invoice", "credit_note"] })
    }
}

/// A query struct's parser and description, made by [`query!`].
pub trait Query: Sized {
    /// Reads the query string of `url`, refusing unknown and repeated parameters.
    fn parse(url: &str) -> AppResult<Self>;
    /// [`Query::parse`] of `req`'s URL. Out of line, so that each route of the router's
    /// dispatch is one call (most share `NoQuery`'s), not the URL's read, parse and drop.
    #[inline(never)]
    fn of(req: &worker::Request) -> AppResult<Self> {
        Self::parse(&req.inner().url())
    }
    /// The OpenAPI parameter objects of the query.
    #[cfg(not(target_arch = "wasm32"))]
    fn describe() -> Vec<serde_json::Value>;
}

/// The struct of an operation's query parameters: each field is a [`Field`] (an `Option` of a
/// [`Param`], or a [`Limit`]); its doc comment becomes the parameter's description.
#[macro_export]
macro_rules! query {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[doc = $doc:literal])* $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default)]
        pub struct $name {
            $( $(#[doc = $doc])* pub $field: $ty, )*
        }

        impl $crate::http::query::Query for $name {
            // The same code serves structs without fields (`NoQuery`), where parts go unused.
            #[allow(unused_mut, unused_variables, unreachable_code, unused_imports)]
            fn parse(url: &str) -> $crate::error::AppResult<Self> {
                use $crate::http::query::Field;
                let mut out = Self::default();
                let mut seen: Vec<String> = Vec::new();
                for (key, value) in $crate::views::url::query_pairs(url) {
                    if seen.contains(&key) {
                        return Err($crate::error::AppError::bad_request(format!(
                            "The query parameter {key:?} is given more than once."
                        )));
                    }
                    match key.as_str() {
                        $( stringify!($field) => out.$field.set(stringify!($field), &value)?, )*
                        _ => return Err($crate::http::query::unknown(&key, &[$(stringify!($field)),*])),
                    }
                    seen.push(key);
                }
                $( out.$field.finish(stringify!($field))?; )*
                Ok(out)
            }

            #[cfg(not(target_arch = "wasm32"))]
            #[allow(unused_imports)]
            fn describe() -> Vec<serde_json::Value> {
                use $crate::http::query::Field;
                vec![$(
                    $crate::http::query::describe_param(
                        stringify!($field),
                        <$ty as Field>::REQUIRED,
                        &[$($doc),*],
                        <$ty as Field>::schema(),
                    ),
                )*]
            }
        }
    };
}

/// The OpenAPI parameter object of one query parameter; `docs` are its doc comment's lines.
#[cfg(not(target_arch = "wasm32"))]
pub fn describe_param(
    name: &str,
    required: bool,
    docs: &[&str],
    schema: serde_json::Value,
) -> serde_json::Value {
    let description: Vec<&str> = docs.iter().map(|line| line.trim()).collect();
    crate::json!({
        "name": name,
        "in": "query",
        "required": required,
        "description": description.join(" "),
        "schema": schema,
    })
}

/// The 400 for a parameter the operation does not take, naming those it does.
pub fn unknown(key: &str, known: &[&str]) -> AppError {
    let known = if known.is_empty() {
        "This operation takes no query parameters.".to_owned()
    } else {
        format!("It takes: {}.", known.join(", "))
    };
    AppError::bad_request(format!("Unknown query parameter {key:?}. {known}"))
}

crate::query! {
    /// For operations that take no query parameters.
    pub struct NoQuery {}
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::query! {
        pub struct Sample {
            /// A status.
            status: Option<JobStatus>,
            /// Free text.
            q: Option<String>,
            since: Option<Time>,
            archived: Option<bool>,
            cursor: Option<Cursor>,
            limit: Limit<50, 200>,
        }
    }

    fn parse(query: &str) -> AppResult<Sample> {
        Sample::parse(&format!("https://x.example/api/v1/jobs?{query}"))
    }

    #[test]
    fn free_text_is_held_to_its_documented_length_in_characters() {
        let most = "é".repeat(MAX_TEXT_PARAM);
        assert_eq!(
            parse(&format!("q={most}")).unwrap().q.as_deref(),
            Some(most.as_str())
        );
        let err = parse(&format!("q={most}x")).unwrap_err();
        assert_eq!(err.status(), 422, "{err}");
        assert!(
            format!("{err:?}").contains("q is at most 1000 characters"),
            "{err:?}"
        );
    }

    #[test]
    fn typed_values_are_read_and_defaults_kept() {
        let q = parse("status=on_hold&q=a+b%21&since=2026-11-23T10:00:00Z&archived=true").unwrap();
        assert_eq!(q.status, Some(JobStatus::OnHold));
        assert_eq!(q.q.as_deref(), Some("a b!"));
        assert_eq!(q.since.unwrap().stored(), "2026-11-23T10:00:00.000Z");
        assert_eq!(q.archived, Some(true));
        assert_eq!(q.limit, Limit(50));
        assert_eq!(parse("").unwrap().limit.0, 50);
        assert_eq!(parse("limit=200").unwrap().limit.0, 200);
    }

    #[test]
    fn unknown_and_repeated_parameters_are_refused_with_400() {
        let detail = |err: AppError| {
            err.to_problem("/", "r")["detail"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let err = parse("statu=open").unwrap_err();
        assert_eq!(err.status(), 400);
        assert!(detail(err).contains("It takes: status, q, since"));
        assert_eq!(parse("q=a&q=b").unwrap_err().status(), 400);
        let none = NoQuery::parse("https://x.example/a?x=1").unwrap_err();
        assert!(detail(none).contains("takes no query parameters"));
    }

    #[test]
    fn bad_values_are_422_naming_the_parameter() {
        for query in [
            "status=open",
            "since=aaa€xxxxT00000000Z",
            "archived=yes",
            "cursor=%%%",
            "limit=0",
            "limit=201",
            "limit=x",
        ] {
            let err = parse(query).unwrap_err();
            assert_eq!(err.status(), 422, "{query}");
            let field = query.split('=').next().unwrap();
            assert_eq!(err.extensions["errors"][0]["field"], field, "{query}");
        }
    }

    #[test]
    fn the_description_lists_every_parameter_with_its_schema() {
        let params = Sample::describe();
        let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["status", "q", "since", "archived", "cursor", "limit"]
        );
        assert_eq!(params[0]["description"], "A status.");
        assert_eq!(params[0]["schema"]["enum"][3], "completed");
        assert_eq!(params[5]["schema"]["maximum"], 200);
        assert!(NoQuery::describe().is_empty());
    }

    crate::query! {
        pub struct Range {
            from: Required<Time>,
            to: Option<Time>,
        }
    }

    #[test]
    fn a_missing_required_parameter_is_named() {
        let err = Range::parse("https://x.example/v?to=2026-01-01T00:00:00Z").unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(err.extensions["errors"][0]["field"], "from");
        let ok = Range::parse("https://x.example/v?from=2026-01-01T00:00:00Z").unwrap();
        assert_eq!(ok.from.get().unwrap().stored(), "2026-01-01T00:00:00.000Z");
        assert_eq!(Range::describe()[0]["required"], true);
        assert_eq!(Range::describe()[1]["required"], false);
    }

    #[test]
    fn a_full_page_has_a_next_cursor_and_a_short_one_none() {
        let limit: Limit<2, 10> = Limit(2);
        assert_eq!(
            limit.next_cursor(&[1, 2], |n| n.to_string()),
            Some("2".into())
        );
        assert_eq!(limit.next_cursor(&[1], |n| n.to_string()), None);
    }
}
