//! The Model Context Protocol's JSON-RPC core, pure: parsing one message, the protocol
//! revisions we speak, and the results of `initialize`, `server/discover`, `tools/list` and
//! `tools/call`. The HTTP glue (`http::mcp`) authenticates, runs tools and sends the answers.
//!
//! Two generations are served on one endpoint: the handshake revisions (2024-11-05 to
//! 2025-11-25: `initialize` then requests) and the stateless 2026-07-28 revision (no handshake;
//! each request names its revision in `_meta`; `server/discover` instead of `initialize`).
//! We keep no session either way, so both are the same code with a different envelope.

use crate::json;
use serde_json::{Map, Value};

use crate::tools::{Effect, Tool};

/// The stateless revision.
pub const STATELESS: &str = "2026-07-28";
/// The newest handshake revision: what `initialize` offers a client asking for one we lack.
pub const LATEST_HANDSHAKE: &str = "2025-11-25";
/// Every revision we answer, newest first.
pub const SUPPORTED: [&str; 5] = [
    STATELESS,
    LATEST_HANDSHAKE,
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
];
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
pub const INTERNAL_ERROR: i64 = -32603;

pub const SERVER_NAME: &str = "fieldworker";
const INSTRUCTIONS: &str = "The back office of a trades business: customers and their sites, \
    jobs, the visits that carry them out, quotes and invoices. Look records up \
    (search_customers, list_jobs, list_visits, list_quotes) to get their ids and versions \
    before changing them; never invent an id. Every change names the version it read; a \
    conflict means someone else changed the record: re-read it and retry. Money is in minor \
    units, times are RFC 3339. Tools marked destructive cannot be taken back and those marked \
    open-world reach a customer: ask the user first.";

#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }
}

/// One incoming JSON-RPC message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    Request {
        id: Value,
        method: String,
        params: Map<String, Value>,
    },
    /// No id: nothing is answered but `202 Accepted`.
    Notification { method: String },
    /// A client's answer to a server request (we send none, so it is only acknowledged).
    Response,
}

impl Message {
    /// The revision a stateless request names in `_meta`, if any.
    pub fn meta_version(&self) -> Option<&str> {
        match self {
            Message::Request { params, .. } => params
                .get("_meta")
                .and_then(|m| m.get(META_VERSION))
                .and_then(Value::as_str),
            _ => None,
        }
    }
}

/// Parses one message. A failure carries the id to answer with (null when unknown).
pub fn parse(body: &[u8]) -> Result<Message, (Value, RpcError)> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        (
            Value::Null,
            RpcError::new(PARSE_ERROR, format!("Parse error: {e}")),
        )
    })?;
    let Value::Object(object) = value else {
        let message = if value.is_array() {
            "Batches are not supported: send one JSON-RPC message per request."
        } else {
            "A JSON-RPC message is an object."
        };
        return Err((Value::Null, RpcError::new(INVALID_REQUEST, message)));
    };
    let id = object.get("id").cloned();
    let invalid = |message: &str| {
        Err((
            id.clone().unwrap_or(Value::Null),
            RpcError::new(INVALID_REQUEST, message),
        ))
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid("\"jsonrpc\" must be \"2.0\".");
    }
    if let Some(id) = &id {
        if !(id.is_string() || id.is_i64() || id.is_u64()) {
            return Err((
                Value::Null,
                RpcError::new(INVALID_REQUEST, "\"id\" must be a string or an integer."),
            ));
        }
    }
    let Some(method) = object.get("method") else {
        return if id.is_some() && (object.contains_key("result") || object.contains_key("error")) {
            Ok(Message::Response)
        } else {
            invalid("A request needs a \"method\".")
        };
    };
    let Some(method) = method.as_str().map(str::to_owned) else {
        return invalid("\"method\" must be a string.");
    };
    let params = match object.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => {
            return Err((
                id.unwrap_or(Value::Null),
                RpcError::new(INVALID_PARAMS, "\"params\" must be an object."),
            ))
        }
    };
    Ok(match id {
        Some(id) => Message::Request { id, method, params },
        None => Message::Notification { method },
    })
}

pub fn success(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

pub fn failure(id: &Value, error: &RpcError) -> Value {
    let mut body = json!({ "code": error.code, "message": error.message });
    if let Some(data) = &error.data {
        body["data"] = data.clone();
    }
    json!({ "jsonrpc": "2.0", "id": id, "error": body })
}

pub fn is_supported(version: &str) -> bool {
    SUPPORTED.contains(&version)
}

/// The error for a stateless request naming a revision we do not speak.
pub fn unsupported_version(version: &str) -> RpcError {
    RpcError {
        code: INVALID_PARAMS,
        message: format!("Unsupported protocol version {version}."),
        data: Some(json!({ "supported": SUPPORTED, "requested": version })),
    }
}

fn capabilities() -> Value {
    json!({ "tools": { "listChanged": false } })
}

fn server_info(version: &str) -> Value {
    json!({ "name": SERVER_NAME, "title": "fieldworker", "version": version })
}

/// `initialize`: the client's revision if we speak it (a handshake one), else our newest.
pub fn initialize(params: &Map<String, Value>, server_version: &str) -> Result<Value, RpcError> {
    let requested = params
        .get("protocolVersion")
        .and_then(Value::as_str)
        .ok_or_else(|| RpcError::new(INVALID_PARAMS, "initialize needs a protocolVersion."))?;
    let chosen = if requested != STATELESS && is_supported(requested) {
        requested
    } else {
        LATEST_HANDSHAKE
    };
    Ok(json!({
        "protocolVersion": chosen,
        "capabilities": capabilities(),
        "serverInfo": server_info(server_version),
        "instructions": INSTRUCTIONS,
    }))
}

/// `server/discover` (stateless revision).
pub fn discover(server_version: &str) -> Value {
    json!({
        "supportedVersions": SUPPORTED,
        "capabilities": capabilities(),
        "serverInfo": server_info(server_version),
        "instructions": INSTRUCTIONS,
    })
}

/// One tool as `tools/list` describes it. The annotations let a client ask its user before
/// what cannot be taken back: `destructiveHint` marks status moves, sends, deletions and
/// money (creates and versioned edits are kept in the audit trail and can be edited back),
/// `openWorldHint` what reaches a customer.
pub fn describe(tool: &Tool) -> Value {
    json!({
        "name": tool.name,
        "title": tool.title,
        "description": tool.description,
        "inputSchema": tool.input_schema(),
        "annotations": {
            "title": tool.title,
            "readOnlyHint": tool.effect == Effect::Read,
            "destructiveHint": tool.effect.needs_confirmation(),
            "idempotentHint": tool.idempotent(),
            "openWorldHint": tool.effect == Effect::Sends,
        },
    })
}

pub fn tools_list<'a>(tools: impl Iterator<Item = &'a Tool>) -> Value {
    json!({ "tools": tools.map(describe).collect::<Vec<_>>() })
}

/// A tool that ran: its JSON as text (for any client) and as structured content.
pub fn tool_success(result: Value) -> Value {
    let text = serde_json::to_string_pretty(&result).unwrap_or_default();
    let structured = if result.is_object() {
        result
    } else {
        json!({ "result": result })
    };
    json!({
        "content": [{ "type": "text", "text": text }],
        "structuredContent": structured,
        "isError": false,
    })
}

/// A tool that was refused or failed: a message a model can act on, and the details.
pub fn tool_failure(message: &str, details: Option<Value>) -> Value {
    let mut result = json!({
        "content": [{ "type": "text", "text": message }],
        "isError": true,
    });
    if let Some(details) = details.filter(Value::is_object) {
        result["structuredContent"] = details;
    }
    result
}

/// The message a model reads for a refused API call: the problem's detail, each field error,
/// the allowed statuses or the conflicting visits, and for a version conflict the current
/// record's version.
pub fn problem_message(status: u16, problem: &Value) -> String {
    let title = problem["title"].as_str().unwrap_or("Refused");
    let mut message = match problem["detail"].as_str() {
        Some(detail) => format!("{title} ({status}): {detail}"),
        None => format!("{title} ({status})."),
    };
    if let Some(errors) = problem["errors"].as_array() {
        for error in errors {
            if let (Some(field), Some(text)) = (error["field"].as_str(), error["message"].as_str())
            {
                message.push_str(&format!("\n- {field}: {text}"));
            }
        }
    }
    // A refused status move's detail names the allowed moves; only a bare one gets them here.
    if let (Some(allowed), None) = (problem["allowed"].as_array(), problem["detail"].as_str()) {
        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        message.push_str(&format!("\nAllowed next: {}.", names.join(", ")));
    }
    if let Some(version) = problem["current"]["version"].as_i64() {
        message.push_str(&format!(
            "\nThe record is now at version {version}; its current state is in the structured \
             content. Re-read, re-apply, and retry with version {version}."
        ));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_notifications_and_responses_are_told_apart() {
        let cases: [(&str, Message); 4] = [
            (
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
                Message::Request {
                    id: json!(1),
                    method: "ping".into(),
                    params: Map::new(),
                },
            ),
            (
                r#"{"jsonrpc":"2.0","id":"a","method":"tools/list","params":{"cursor":null}}"#,
                Message::Request {
                    id: json!("a"),
                    method: "tools/list".into(),
                    params: json!({"cursor": null}).as_object().unwrap().clone(),
                },
            ),
            (
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
                Message::Notification {
                    method: "notifications/initialized".into(),
                },
            ),
            (r#"{"jsonrpc":"2.0","id":7,"result":{}}"#, Message::Response),
        ];
        for (body, expected) in cases {
            assert_eq!(parse(body.as_bytes()).unwrap(), expected, "{body}");
        }
    }

    #[test]
    fn malformed_messages_get_the_json_rpc_code_for_what_is_wrong() {
        let cases = [
            ("{not json", PARSE_ERROR, Value::Null),
            (
                r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
                INVALID_REQUEST,
                Value::Null,
            ),
            (r#""ping""#, INVALID_REQUEST, Value::Null),
            (r#"{"id":1,"method":"ping"}"#, INVALID_REQUEST, json!(1)),
            (
                r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
                INVALID_REQUEST,
                json!(1),
            ),
            (r#"{"jsonrpc":"2.0","id":1}"#, INVALID_REQUEST, json!(1)),
            (
                r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
                INVALID_REQUEST,
                json!(1),
            ),
            (
                r#"{"jsonrpc":"2.0","id":{"x":1},"method":"ping"}"#,
                INVALID_REQUEST,
                Value::Null,
            ),
            (
                r#"{"jsonrpc":"2.0","id":2,"method":"ping","params":[1]}"#,
                INVALID_PARAMS,
                json!(2),
            ),
        ];
        for (body, code, id) in cases {
            let (got_id, error) = parse(body.as_bytes()).unwrap_err();
            assert_eq!((error.code, got_id), (code, id), "{body}");
        }
    }

    #[test]
    fn initialize_echoes_a_revision_we_speak_and_offers_the_newest_otherwise() {
        let params = |v: &str| json!({ "protocolVersion": v }).as_object().unwrap().clone();
        let cases = [
            ("2025-11-25", "2025-11-25"),
            ("2025-06-18", "2025-06-18"),
            ("2024-11-05", "2024-11-05"),
            ("1999-01-01", LATEST_HANDSHAKE),
            // The stateless revision has no handshake: a client initializing speaks an old one.
            (STATELESS, LATEST_HANDSHAKE),
        ];
        for (asked, chosen) in cases {
            let result = initialize(&params(asked), "1.0.0").unwrap();
            assert_eq!(result["protocolVersion"], chosen, "{asked}");
            assert_eq!(result["serverInfo"]["name"], SERVER_NAME);
            assert!(result["capabilities"]["tools"].is_object());
        }
        assert_eq!(
            initialize(&Map::new(), "1").unwrap_err().code,
            INVALID_PARAMS
        );
    }

    #[test]
    fn a_stateless_request_names_its_revision_in_meta() {
        let message = parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{
                "io.modelcontextprotocol/protocolVersion":"2026-07-28",
                "io.modelcontextprotocol/clientCapabilities":{}}}}"#,
        )
        .unwrap();
        assert_eq!(message.meta_version(), Some(STATELESS));
        assert!(discover("1")["supportedVersions"]
            .as_array()
            .unwrap()
            .contains(&json!(STATELESS)));
    }

    #[test]
    fn a_refusal_reads_as_instructions_for_the_next_attempt() {
        let conflict = json!({
            "title": "Conflict", "detail": "The visit changed since you read it.",
            "current": { "id": "v1", "version": 5 }
        });
        let text = problem_message(409, &conflict);
        assert!(text.contains("Conflict (409)"), "{text}");
        assert!(text.contains("retry with version 5"), "{text}");

        let invalid = json!({
            "title": "Unprocessable", "detail": "Some fields are invalid.",
            "errors": [{ "field": "phones[0]", "message": "Use E.164." }]
        });
        assert!(problem_message(422, &invalid).contains("- phones[0]: Use E.164."));

        let status = json!({ "title": "Conflict", "allowed": ["scheduled", "on_hold"] });
        assert!(problem_message(409, &status).contains("Allowed next: scheduled, on_hold."));
    }

    #[test]
    fn annotations_say_what_a_client_should_ask_its_user_about() {
        let hints = |name: &str| {
            let a = describe(crate::tools::find(name).unwrap())["annotations"].clone();
            assert_eq!(a["title"], crate::tools::find(name).unwrap().title);
            [
                a["readOnlyHint"].clone(),
                a["destructiveHint"].clone(),
                a["idempotentHint"].clone(),
                a["openWorldHint"].clone(),
            ]
        };
        let (t, f) = (json!(true), json!(false));
        assert_eq!(
            hints("list_invoices"),
            [t.clone(), f.clone(), t.clone(), f.clone()]
        );
        assert_eq!(
            hints("create_invoice"),
            [f.clone(), f.clone(), f.clone(), f.clone()]
        );
        assert_eq!(
            hints("update_invoice"),
            [f.clone(), f.clone(), t.clone(), f.clone()]
        );
        assert_eq!(
            hints("issue_invoice"),
            [f.clone(), t.clone(), t.clone(), f.clone()]
        );
        assert_eq!(
            hints("text_customer"),
            [f.clone(), t.clone(), f.clone(), t.clone()]
        );
    }

    #[test]
    fn tool_results_carry_text_and_structured_content() {
        let ok = tool_success(json!({ "id": "c1" }));
        assert_eq!(ok["isError"], false);
        assert_eq!(ok["structuredContent"]["id"], "c1");
        assert!(ok["content"][0]["text"].as_str().unwrap().contains("c1"));
        let listed = tool_success(json!([1, 2]));
        assert_eq!(listed["structuredContent"]["result"], json!([1, 2]));
        let failed = tool_failure("Forbidden (403): no.", None);
        assert_eq!(failed["isError"], true);
        assert!(failed.get("structuredContent").is_none());
    }
}
