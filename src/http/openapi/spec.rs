//! The builders the route declarations describe themselves with (host only): an
//! [`Operation`] per route, and the JSON schemas of request bodies. The answers' schemas are
//! named components (`r("Job")`, see `schemas.rs`).

use crate::json;
use serde_json::{Map, Value};

use crate::http::query::Query;

/// How a successful answer comes back.
#[derive(Debug, Clone)]
pub enum Answer {
    Json(Value),
    /// No body (204).
    Empty,
    /// An HTML page.
    Html,
    /// A 303 to another page (forms of the customer's pages).
    Redirect,
    /// TwiML (`text/xml`), for Twilio.
    Xml,
    /// Bytes of the given media type (a file, a PDF).
    Bytes(&'static str),
    /// A PDF file to download.
    Pdf,
}

/// What the description says about one operation.
#[derive(Debug, Clone)]
pub struct Operation {
    pub summary: &'static str,
    /// The request body: its media type and schema.
    pub body: Option<(&'static str, Value)>,
    pub query: Vec<Value>,
    pub success: u16,
    pub answer: Answer,
    /// Statuses it can answer besides those every operation of its kind can.
    pub also: Vec<u16>,
    pub if_match: bool,
    pub idempotent: bool,
    /// Attempts are limited per address and IP (429 with Retry-After).
    pub limited: bool,
    /// A header that authenticates the caller (webhook signatures).
    pub secret_header: Option<&'static str>,
    /// Errors are HTML pages as well as problem+json (the customer's pages).
    pub html_errors: bool,
    /// Errors may be JSON-RPC error objects as well (MCP).
    pub rpc_errors: bool,
    /// Errors may be RFC 6749 JSON errors as well (the OAuth endpoints).
    pub oauth_errors: bool,
    /// An example request body.
    pub example: Option<Value>,
}

/// An operation with its summary; the rest is added by the builder methods.
pub fn op(summary: &'static str) -> Operation {
    Operation {
        summary,
        body: None,
        query: Vec::new(),
        success: 200,
        answer: Answer::Empty,
        also: Vec::new(),
        if_match: false,
        idempotent: false,
        limited: false,
        secret_header: None,
        html_errors: false,
        rpc_errors: false,
        oauth_errors: false,
        example: None,
    }
}

impl Operation {
    pub fn body(mut self, schema: Value) -> Self {
        self.body = Some(("application/json", schema));
        self
    }
    /// The request body is a file's bytes, of any type (the server tells the type itself).
    pub fn file_body(mut self) -> Self {
        self.body = Some((
            "application/octet-stream",
            json!({ "type": "string", "format": "binary" }),
        ));
        self
    }
    /// The answer is bytes of `media` (`*/*` for a stored file of any accepted type).
    pub fn bytes(mut self, media: &'static str) -> Self {
        self.success = 200;
        self.answer = Answer::Bytes(media);
        self
    }
    pub fn form(mut self, schema: Value) -> Self {
        self.body = Some(("application/x-www-form-urlencoded", schema));
        self
    }
    pub fn ok(mut self, status: u16, schema: Value) -> Self {
        self.success = status;
        self.answer = Answer::Json(schema);
        self
    }
    pub fn empty(mut self) -> Self {
        self.success = 204;
        self.answer = Answer::Empty;
        self
    }
    pub fn html(mut self, status: u16) -> Self {
        self.success = status;
        self.answer = Answer::Html;
        self.html_errors = true;
        self
    }
    pub fn pdf(mut self, status: u16) -> Self {
        self.success = status;
        self.answer = Answer::Pdf;
        self
    }
    pub fn xml(mut self, status: u16) -> Self {
        self.success = status;
        self.answer = Answer::Xml;
        self
    }
    pub fn redirect(mut self) -> Self {
        self.success = 303;
        self.answer = Answer::Redirect;
        self
    }
    pub fn html_errors(mut self) -> Self {
        self.html_errors = true;
        self
    }
    pub fn example(mut self, body: Value) -> Self {
        self.example = Some(body);
        self
    }
    pub fn rpc_errors(mut self) -> Self {
        self.rpc_errors = true;
        self
    }
    pub fn oauth_errors(mut self) -> Self {
        self.oauth_errors = true;
        self
    }
    pub fn also(mut self, statuses: &[u16]) -> Self {
        self.also.extend_from_slice(statuses);
        self
    }
    pub fn if_match(mut self) -> Self {
        self.if_match = true;
        self
    }
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
    pub fn limited(mut self) -> Self {
        self.limited = true;
        self
    }
    pub fn secret_header(mut self, name: &'static str) -> Self {
        self.secret_header = Some(name);
        self
    }
    /// The query parameters, from the route's query struct.
    pub fn query<Q: Query>(mut self) -> Self {
        self.query = Q::describe();
        self
    }
}

// Schemas.

/// A reference to a named schema of `components/schemas`.
pub fn r(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub fn string() -> Value {
    json!({ "type": "string" })
}

pub fn nullable(schema: Value) -> Value {
    match schema {
        Value::Object(mut map) => match map.get("type").cloned() {
            Some(Value::String(t)) => {
                map.insert("type".into(), json!([t, "null"]));
                Value::Object(map)
            }
            _ => json!({ "anyOf": [Value::Object(map), { "type": "null" }] }),
        },
        other => json!({ "anyOf": [other, { "type": "null" }] }),
    }
}

pub fn nullable_string() -> Value {
    nullable(string())
}

pub fn strings() -> Value {
    array(string())
}

pub fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

pub fn boolean() -> Value {
    json!({ "type": "boolean" })
}

pub fn int() -> Value {
    json!({ "type": "integer" })
}

pub fn integer(description: &str) -> Value {
    json!({ "type": "integer", "description": description })
}

pub fn int_min(min: i64) -> Value {
    json!({ "type": "integer", "minimum": min })
}

pub fn int_range(min: i64, max: i64) -> Value {
    json!({ "type": "integer", "minimum": min, "maximum": max })
}

pub fn time() -> Value {
    json!({ "type": "string", "format": "date-time" })
}

pub fn one_of(values: &[&str]) -> Value {
    json!({ "type": "string", "enum": values })
}

/// Any JSON object (what the document does not describe further).
pub fn any_object() -> Value {
    json!({ "type": "object" })
}

/// Properties from (name, schema) pairs.
pub fn props(pairs: &[(&str, Value)]) -> Value {
    let map: Map<String, Value> = pairs
        .iter()
        .map(|(name, schema)| ((*name).to_owned(), schema.clone()))
        .collect();
    Value::Object(map)
}

/// A request body object: the API refuses members it does not know, so the schema does too.
pub fn object(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": required,
        "properties": properties,
    })
}

/// An answer object: every member listed is always there (nullable ones as `null`); members
/// may be added in later versions, so others are allowed.
pub fn record(properties: &[(&str, Value)]) -> Value {
    let mut required: Vec<&str> = Vec::new();
    for (name, _) in properties {
        if !required.contains(name) {
            required.push(name);
        }
    }
    json!({ "type": "object", "required": required, "properties": props(properties) })
}

/// `{ <key>: [<Item>] }`.
pub fn list_of(key: &str, item: &str) -> Value {
    record(&[(key, array(r(item)))])
}

/// `{ <key>: [<Item>], next_cursor }`: one page of a list.
pub fn page_of(key: &str, item: &str) -> Value {
    record(&[
        (key, array(r(item))),
        (
            "next_cursor",
            json!({ "type": ["string", "null"], "description": "give as cursor for the next page; null on the last" }),
        ),
    ])
}

pub fn role() -> Value {
    one_of(&["owner", "dispatcher", "technician", "viewer"])
}

pub fn job_status() -> Value {
    one_of(&[
        "requested",
        "scheduled",
        "in_progress",
        "completed",
        "on_hold",
        "cancelled",
    ])
}

pub fn visit_status() -> Value {
    one_of(&[
        "scheduled",
        "en_route",
        "in_progress",
        "completed",
        "cancelled",
    ])
}

pub fn jsonrpc() -> Value {
    json!({
        "type": "object",
        "required": ["jsonrpc"],
        "properties": { "jsonrpc": { "const": "2.0" }, "id": {}, "method": string(), "params": any_object() },
    })
}

pub fn twilio_form() -> Value {
    json!({
        "type": "object",
        "required": ["From", "Body"],
        "properties": { "From": string(), "To": string(), "Body": string(), "MessageSid": string() },
    })
}

pub fn twilio_status_form() -> Value {
    json!({
        "type": "object",
        "required": ["MessageSid", "MessageStatus"],
        "properties": { "MessageSid": string(), "MessageStatus": string(), "ErrorCode": string(),
                        "AccountSid": string(), "To": string(), "From": string() },
    })
}

pub fn share_accept_form() -> Value {
    json!({
        "type": "object",
        "required": ["signer_name"],
        "properties": {
            "signer_name": string(),
            "option": { "type": "string", "description": "the chosen option, for quotes with options" },
            "extra": { "type": "string", "description": "an optional line ticked (repeatable)" },
        },
    })
}

pub fn share_decline_form() -> Value {
    json!({ "type": "object", "properties": { "reason": string() } })
}

/// The consent page's form (`/oauth/consent`).
pub fn oauth_consent_form() -> Value {
    object(
        &[
            "client_id",
            "redirect_uri",
            "code_challenge",
            "code_challenge_method",
            "scope",
            "csrf",
            "decision",
        ],
        props(&[
            ("client_id", string()),
            ("redirect_uri", string()),
            ("code_challenge", string()),
            ("code_challenge_method", one_of(&["S256"])),
            ("scope", one_of(&["read", "read write"])),
            ("state", string()),
            ("resource", string()),
            ("csrf", string()),
            ("decision", one_of(&["allow", "deny"])),
        ]),
    )
}

/// The token endpoint's form (RFC 6749 §4.1.3, §6).
pub fn oauth_token_form() -> Value {
    object(
        &["grant_type", "client_id"],
        props(&[
            (
                "grant_type",
                one_of(&["authorization_code", "refresh_token"]),
            ),
            ("client_id", string()),
            ("code", string()),
            ("redirect_uri", string()),
            ("code_verifier", string()),
            ("refresh_token", string()),
            ("scope", string()),
            ("resource", string()),
        ]),
    )
}

/// The revocation endpoint's form (RFC 7009).
pub fn oauth_revoke_form() -> Value {
    object(
        &["token"],
        props(&[
            ("token", string()),
            (
                "token_type_hint",
                one_of(&["access_token", "refresh_token"]),
            ),
            ("client_id", string()),
        ]),
    )
}

/// A dynamic registration request (RFC 7591), public clients.
pub fn oauth_registration() -> Value {
    object(
        &["redirect_uris"],
        props(&[
            ("redirect_uris", strings()),
            ("client_name", string()),
            ("token_endpoint_auth_method", one_of(&["none"])),
            ("grant_types", strings()),
            ("response_types", strings()),
            ("scope", string()),
        ]),
    )
}

pub fn empty_form() -> Value {
    json!({ "type": "object", "properties": {} })
}

pub fn customer_fields(required: &[&str]) -> Value {
    object(
        required,
        json!({
            "name": string(),
            "company": nullable_string(),
            "emails": strings(),
            "phones": { "type": "array", "items": { "type": "string", "description": "E.164, e.g. +12125550143" } },
            "tags": strings(),
            "notes": nullable_string(),
            "preferred_contact": one_of(&["phone", "sms", "email"]),
        }),
    )
}

pub fn site_fields(required: &[&str]) -> Value {
    object(
        required,
        json!({
            "label": nullable_string(), "line1": string(), "line2": nullable_string(),
            "city": nullable_string(), "region": nullable_string(),
            "postal_code": nullable_string(),
            "country": { "type": ["string", "null"], "description": "ISO 3166 alpha-2" },
            "access_notes": nullable_string(), "is_primary": boolean(),
        }),
    )
}

pub fn job_fields(required: &[&str], with_ids: bool) -> Value {
    let mut properties = json!({
        "title": string(),
        "description": nullable_string(),
        "priority": one_of(&["low", "normal", "high", "urgent"]),
        "technician_ids": strings(),
        "items": array(object(&["kind", "description", "quantity_milli"], json!({
            "kind": one_of(&["work", "part"]),
            "description": string(),
            "quantity_milli": integer("thousandths of a unit"),
            "unit": nullable_string(),
        }))),
    });
    if with_ids {
        properties["customer_id"] = string();
        properties["site_id"] =
            json!({ "type": "string", "description": "default: the customer's primary site" });
    }
    object(required, properties)
}

pub fn visit_booking() -> Value {
    object(
        &["start", "end"],
        json!({
            "start": time(), "end": time(), "technician_ids": strings(),
            "allow_conflict": boolean(), "job_version": int_min(1),
            "recurrence": object(&["frequency"], json!({
                "frequency": one_of(&["daily", "weekly", "monthly"]),
                "interval": int_min(1),
                "until": time(),
                "count": int_range(1, 366),
            })),
        }),
    )
}

pub fn visit_change() -> Value {
    object(
        &[],
        json!({ "start": time(), "end": time(), "technician_ids": strings(), "allow_conflict": boolean() }),
    )
}

/// A priced line of a quote or invoice; amounts in minor units, rates in parts per million.
pub fn lines() -> Value {
    array(object(
        &["description", "quantity_milli", "unit_price"],
        json!({
            "description": string(),
            "quantity_milli": integer("thousandths of a unit"),
            "unit_price": integer("minor units per unit"),
            "tax_rate_ppm": integer("parts per million; default: the company's default rate"),
            "discount": { "oneOf": [
                { "type": "null" },
                object(&["percent_ppm"], json!({ "percent_ppm": integer("parts per million") })),
                object(&["amount"], json!({ "amount": integer("minor units") })),
            ] },
            "optional": { "type": "boolean", "description": "quotes: an extra the customer may tick" },
            "option": { "type": ["string", "null"], "description": "quotes: good/better/best option name" },
        }),
    ))
}

pub fn quote_fields(required: &[&str], with_ids: bool) -> Value {
    let mut properties = json!({
        "title": string(), "lines": lines(), "notes": nullable_string(), "terms": nullable_string(),
        "valid_until": time(),
        "deposit": { "oneOf": [
            { "type": "null" },
            object(&["percent_ppm"], json!({ "percent_ppm": integer("share of the chosen total, ppm") })),
            object(&["amount"], json!({ "amount": integer("minor units") })),
        ] },
    });
    if with_ids {
        properties["customer_id"] = string();
        properties["site_id"] = json!({ "type": "string", "description": "default: the job's site, then the primary one" });
        properties["job_id"] = string();
    }
    object(required, properties)
}

pub fn invoice_fields(with_ids: bool) -> Value {
    let mut properties = json!({
        "lines": lines(), "notes": nullable_string(), "terms": nullable_string(),
        "deposit": integer("minor units asked for first"),
        "payment_terms_days": int_range(0, 365),
    });
    if with_ids {
        properties["customer_id"] =
            json!({ "type": "string", "description": "default: the job's customer" });
        properties["site_id"] = string();
        properties["job_id"] = string();
    }
    object(&[], properties)
}

pub fn acceptance() -> Value {
    object(
        &["signer_name"],
        json!({ "option": nullable_string(), "signer_name": string(),
                "optional_lines": array(int_min(0)) }),
    )
}

pub fn payment_fields() -> Value {
    object(
        &["amount", "method"],
        json!({ "kind": one_of(&["payment", "refund"]), "amount": integer("minor units"),
                "method": one_of(&["card", "cash", "check", "bank", "other"]),
                "reference": nullable_string() }),
    )
}

pub fn share_fields() -> Value {
    object(&[], json!({ "expires_in_days": int_range(1, 365) }))
}

pub fn message_timing_fields() -> Value {
    let clock = || json!({ "type": "string", "pattern": "^[0-2]?[0-9]:[0-5][0-9]$" });
    object(
        &[],
        json!({
            "quiet_start": clock(), "quiet_end": clock(), "reminder_at": clock(),
            "overdue_days": { "type": "array", "items": int_range(1, 365), "maxItems": 5 },
            "quote_follow_up_days": int_range(1, 60),
        }),
    )
}

pub fn message_template_fields() -> Value {
    object(
        &[],
        json!({
            "enabled": boolean(),
            "subject": nullable(json!({ "type": "string", "maxLength": 200 })),
            "body": nullable(json!({ "type": "string", "maxLength": 2000 })),
        }),
    )
}

pub fn delivery_fields() -> Value {
    object(
        &[],
        json!({ "via": one_of(&crate::domain::deliveries::Via::NAMES) }),
    )
}

pub fn settings_fields() -> Value {
    object(
        &[],
        json!({
            "name": string(), "currency": string(), "time_zone": string(), "locale": string(),
            "email": nullable_string(), "phone": nullable_string(), "address": nullable_string(),
            "mfa_required": boolean(),
            "default_tax_rate_ppm": int_range(0, 1_000_000),
            "rounding": one_of(&["per_line", "per_document"]),
            "invoice_prefix": string(),
            "payment_terms_days": int_range(0, 365),
            "brand_color": { "type": "string", "pattern": "^#[0-9a-fA-F]{6}$" },
            "max_upload_bytes": int_range(1_048_576, 26_214_400),
            "require_signature": boolean(),
            "complete_job_with_last_visit": boolean(),
            "work_day_start": int_range(0, 1380),
            "work_day_end": int_range(60, 1440),
            "support_preapprove_read_only": boolean(),
        }),
    )
}
