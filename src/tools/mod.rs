//! The tool catalogue: what an MCP client or the messaging agent may do, each tool a name, a
//! description a model can act on without guessing, a JSON schema for its arguments, the
//! permission it needs, and how its arguments become one call of the REST API.
//!
//! Tools run through the API's own handlers (see `http::tools`), so validation, role rules,
//! versions and audit are exactly the API's: a tool cannot do what its caller could not do
//! over REST, and there is one implementation of every rule.

mod args;
mod catalogue;
mod documents;

pub use args::{ArgError, Args};
pub use catalogue::{CATALOGUE, MAX_TOOL_FILE_BYTES};
pub use documents::DOCUMENTS;

use crate::json;
use serde_json::Value;

use crate::domain::auth::permissions::{Permission, Role};

/// What running a tool does to the business's data: the agent asks before anything that
/// [`Effect::needs_confirmation`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Read,
    Write,
    /// Moves a record through its statuses (a job's status, a quote marked sent, an invoice
    /// issued): nothing is lost, but a person would want to confirm first.
    Consequential,
    /// Reaches someone outside the company (a text or email to a customer): it cannot be
    /// taken back, so a person would want to confirm first.
    Sends,
    /// Removes or cancels something, or moves money: a person would want to confirm first.
    Destructive,
}

impl Effect {
    /// Whether the agent runs it only once the user confirmed it in a later message.
    pub fn needs_confirmation(self) -> bool {
        !matches!(self, Effect::Read | Effect::Write)
    }
}

/// One REST call a tool makes: the handler behind `method` and `path` runs with the caller's
/// identity; `version` becomes `If-Match`.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiCall {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    /// A file's bytes as the body, instead of JSON (an upload).
    pub bytes: Option<Vec<u8>>,
    pub version: Option<i64>,
}

impl ApiCall {
    fn new(method: &'static str, path: String) -> Self {
        Self {
            method,
            path,
            query: Vec::new(),
            body: None,
            bytes: None,
            version: None,
        }
    }

    /// The path with its query string, each value percent-encoded.
    pub fn target(&self) -> String {
        if self.query.is_empty() {
            return self.path.clone();
        }
        let query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        format!("{}?{}", self.path, query.join("&"))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// One tool of the catalogue.
pub struct Tool {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    /// `None`: any signed-in member may run it.
    pub permission: Option<Permission>,
    pub effect: Effect,
    /// The JSON schema's `properties` and `required`; the object wrapper is added here.
    properties: fn() -> Value,
    required: &'static [&'static str],
    plan: fn(&Args) -> Result<ApiCall, ArgError>,
}

impl Tool {
    /// The arguments' JSON schema (an object that admits no other properties).
    pub fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": (self.properties)(),
            "required": self.required,
            "additionalProperties": false,
        })
    }

    pub fn allowed_for(&self, role: Role) -> bool {
        self.permission.is_none_or(|p| role.allows(p))
    }

    /// Whether calling it again with the same arguments changes nothing more: reads, and
    /// writes that name the version they read (a repeat meets the next version: a conflict).
    pub fn idempotent(&self) -> bool {
        self.effect == Effect::Read || self.required.contains(&"version")
    }

    /// Checks the arguments against the schema's names and required fields, then maps them to
    /// the API call. Types and values are checked by the API itself, field by field.
    pub fn plan(&self, arguments: &Value) -> Result<ApiCall, ArgError> {
        let schema = self.input_schema();
        let known: Vec<&str> = schema["properties"]
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let args = Args::parse(arguments, &known, self.required)?;
        (self.plan)(&args)
    }
}

/// Every tool, in catalogue order.
pub fn all() -> impl Iterator<Item = &'static Tool> {
    CATALOGUE.iter().chain(DOCUMENTS)
}

/// The tool called `name`.
pub fn find(name: &str) -> Option<&'static Tool> {
    all().find(|tool| tool.name == name)
}

/// The tools `role` may run, in catalogue order.
pub fn for_role(role: Role) -> impl Iterator<Item = &'static Tool> {
    all().filter(move |tool| tool.allowed_for(role))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::router::{dispatch, Dispatch, Guard};

    /// Arguments that satisfy a tool's required fields, with plausible values by name.
    fn sample_arguments(tool: &Tool) -> Value {
        let mut object = serde_json::Map::new();
        for name in tool.required {
            let value = match *name {
                "version" => json!(3),
                "technician_ids" | "emails" | "phones" => json!(["x"]),
                "parent" => json!("job"),
                "content_base64" => json!("aGk="),
                _ => json!("abc-123"),
            };
            object.insert((*name).to_owned(), value);
        }
        Value::Object(object)
    }

    #[test]
    fn every_tool_maps_to_a_route_guarded_by_the_permission_it_declares() {
        for tool in all() {
            let call = tool
                .plan(&sample_arguments(tool))
                .unwrap_or_else(|e| panic!("{}: {e:?}", tool.name));
            let Ok(Dispatch::Handle(matched)) = dispatch(call.method, &call.path) else {
                panic!(
                    "{}: {} {} is not a route",
                    tool.name, call.method, call.path
                );
            };
            let expected = match tool.permission {
                Some(p) => Guard::Needs(p),
                None => Guard::SignedIn,
            };
            let guard_ok = matched.guard == expected
                || (tool.permission.is_none() && matched.guard == Guard::Member);
            assert!(guard_ok, "{}: route guard {:?}", tool.name, matched.guard);
            let writes = call.method != "GET";
            assert_eq!(
                writes,
                tool.effect != Effect::Read,
                "{}: effect vs method",
                tool.name
            );
            if matches!(call.method, "PATCH" | "DELETE") || call.path.ends_with("/status") {
                assert!(
                    call.version.is_some(),
                    "{}: writes name a version",
                    tool.name
                );
                assert!(tool.required.contains(&"version"), "{}", tool.name);
            }
        }
    }

    #[test]
    fn tool_names_are_unique_and_in_the_mcp_name_alphabet() {
        let mut names: Vec<&str> = all().map(|t| t.name).collect();
        for name in &names {
            assert!(
                !name.is_empty()
                    && name.len() <= 64
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{name}"
            );
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all().count());
    }

    #[test]
    fn every_schema_is_a_closed_object_whose_required_fields_are_described() {
        for tool in all() {
            let schema = tool.input_schema();
            let properties = schema["properties"].as_object().unwrap();
            for name in tool.required {
                assert!(properties.contains_key(*name), "{}: {name}", tool.name);
            }
            for (name, property) in properties {
                assert!(
                    property["description"]
                        .as_str()
                        .is_some_and(|d| d.len() > 10),
                    "{}.{name} needs a description",
                    tool.name
                );
                assert!(property.get("type").is_some(), "{}.{name}", tool.name);
            }
            assert!(tool.description.len() > 40, "{}", tool.name);
        }
    }

    /// The routes of the business's records that no tool calls, each with why.
    const NOT_TOOLS: &[(&str, &str, &str)] = &[
        (
            "GET",
            "/api/v1/quotes/{id}/pdf",
            "bytes, not JSON: the share link shows it",
        ),
        (
            "GET",
            "/api/v1/invoices/{id}/pdf",
            "bytes, not JSON: the share link shows it",
        ),
        (
            "GET",
            "/api/v1/files/{id}/content",
            "bytes, not JSON: get_file gives its url",
        ),
        (
            "POST",
            "/api/v1/quotes/{id}/preview",
            "the editor's live totals: create and update answer them",
        ),
        (
            "POST",
            "/api/v1/invoices/{id}/preview",
            "the editor's live totals: create and update answer them",
        ),
        (
            "POST",
            "/api/v1/jobs/{id}/signature",
            "the customer draws it on the signature pad",
        ),
        (
            "GET",
            "/api/v1/customers/{id}/export",
            "a ZIP archive to hand to the customer, not an answer for a chat",
        ),
    ];

    #[test]
    fn every_route_of_the_records_has_a_tool_or_a_reason() {
        use crate::domain::auth::permissions::Permission::*;
        use crate::http::router::ROUTES;
        let mut called = Vec::new();
        for tool in all() {
            // A file tool reaches one route per kind of parent.
            let kinds = tool.input_schema()["properties"]["parent"]["enum"].clone();
            let kinds = kinds
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![json!("job")]);
            for kind in kinds {
                let mut arguments = sample_arguments(tool);
                if arguments.get("parent").is_some() {
                    arguments["parent"] = kind;
                }
                let call = tool.plan(&arguments).unwrap();
                match dispatch(call.method, &call.path) {
                    Ok(Dispatch::Handle(matched)) => called.push(matched.route),
                    _ => panic!("{}", tool.name),
                }
            }
        }
        for decl in ROUTES {
            let records = matches!(
                decl.guard,
                Guard::Needs(ViewRecords | ManageRecords | WorkOnJobs | ViewMoney)
            );
            let excused = NOT_TOOLS
                .iter()
                .any(|(m, p, _)| *m == decl.method && *p == decl.pattern);
            if records && !excused {
                assert!(
                    called.contains(&decl.route),
                    "{} {} has no tool",
                    decl.method,
                    decl.pattern
                );
            }
            assert!(
                !(excused && called.contains(&decl.route)),
                "{}",
                decl.pattern
            );
        }
    }

    #[test]
    fn quotes_and_invoices_are_drafted_edited_and_moved_with_the_version_read() {
        let lines = json!([{ "description": "Boiler service", "quantity_milli": 1000, "unit_price": 12000 }]);
        let call = find("create_quote")
            .unwrap()
            .plan(&json!({ "customer_id": "c1", "title": "Boiler service", "lines": lines }))
            .unwrap();
        assert_eq!(
            (call.method, call.path.as_str()),
            ("POST", "/api/v1/quotes")
        );
        assert_eq!(call.body.unwrap()["lines"], lines);
        let call = find("update_quote")
            .unwrap()
            .plan(&json!({ "quote_id": "q1", "version": 2, "lines": lines }))
            .unwrap();
        assert_eq!((call.method, call.version), ("PATCH", Some(2)));
        assert_eq!(call.body, Some(json!({ "lines": lines })));
        let call = find("issue_invoice")
            .unwrap()
            .plan(&json!({ "invoice_id": "i 1", "version": 3 }))
            .unwrap();
        assert_eq!(call.target(), "/api/v1/invoices/i%201/issue");
        assert_eq!((call.version, call.body), (Some(3), None));
        let missing = find("void_invoice")
            .unwrap()
            .plan(&json!({ "invoice_id": "i1" }));
        assert!(missing.unwrap_err().0.contains("version"));
    }

    #[test]
    fn what_cannot_be_taken_back_needs_confirming_and_what_reaches_a_customer_says_so() {
        for name in [
            "send_quote",
            "issue_invoice",
            "void_invoice",
            "create_credit_note",
            "delete_quote",
            "revoke_share_link",
            "text_customer",
            "email_or_text_quote",
            "accept_quote",
        ] {
            assert!(find(name).unwrap().effect.needs_confirmation(), "{name}");
        }
        for name in [
            "create_quote",
            "update_quote",
            "create_invoice",
            "share_quote",
        ] {
            assert!(!find(name).unwrap().effect.needs_confirmation(), "{name}");
        }
        let mut sends: Vec<&str> = all()
            .filter(|t| t.effect == Effect::Sends)
            .map(|t| t.name)
            .collect();
        sends.sort_unstable();
        assert_eq!(
            sends,
            [
                "email_or_text_invoice",
                "email_or_text_quote",
                "tell_customer_on_my_way",
                "text_customer"
            ]
        );
        assert!(find("update_quote").unwrap().idempotent());
        assert!(find("list_quotes").unwrap().idempotent());
        assert!(!find("create_quote").unwrap().idempotent());
        assert!(!find("text_customer").unwrap().idempotent());
    }

    #[test]
    fn viewers_get_only_reading_tools_and_owners_get_all() {
        assert!(for_role(Role::Viewer).all(|t| t.effect == Effect::Read));
        assert_eq!(for_role(Role::Owner).count(), all().count());
        let technician: Vec<&str> = for_role(Role::Technician).map(|t| t.name).collect();
        assert!(technician.contains(&"change_job_status"));
        assert!(!technician.contains(&"create_customer"));
    }

    #[test]
    fn arguments_become_the_calls_a_client_of_the_api_would_make() {
        let call = find("reschedule_visit")
            .unwrap()
            .plan(&json!({
                "visit_id": "v/1",
                "version": 4,
                "start": "2026-12-03T09:00:00Z",
                "end": "2026-12-03T10:00:00Z",
            }))
            .unwrap();
        assert_eq!(call.method, "PATCH");
        assert_eq!(call.path, "/api/v1/visits/v%2F1");
        assert_eq!(call.version, Some(4));
        assert_eq!(
            call.body,
            Some(json!({ "start": "2026-12-03T09:00:00Z", "end": "2026-12-03T10:00:00Z" }))
        );

        let call = find("list_jobs")
            .unwrap()
            .plan(&json!({ "status": "scheduled", "technician_id": "u 1" }))
            .unwrap();
        assert_eq!(
            call.target(),
            "/api/v1/jobs?status=scheduled&technician=u%201"
        );
    }

    #[test]
    fn attach_file_sends_the_decoded_bytes_to_the_parents_upload_route() {
        let tool = find("attach_file").unwrap();
        let call = tool
            .plan(
                &json!({ "parent": "visit", "parent_id": "v 1", "name": "a b.jpg",
                           "content_base64": "/9j/\n4A==" }),
            )
            .unwrap();
        assert_eq!(call.method, "POST");
        assert_eq!(call.target(), "/api/v1/visits/v%201/files?name=a%20b.jpg");
        assert_eq!(call.bytes, Some(vec![0xFF, 0xD8, 0xFF, 0xE0]));
        assert_eq!(call.body, None);
        let refused = |arguments: Value| tool.plan(&arguments).unwrap_err().to_string();
        let args = |parent: &str, content: &str| json!({ "parent": parent, "parent_id": "j", "name": "x", "content_base64": content });
        assert!(refused(args("job", "not base64!")).contains("not valid base64"));
        assert!(refused(args("company", "aGk=")).contains("must be one of job"));
        let huge = "A".repeat((MAX_TOOL_FILE_BYTES / 3 + 1) * 4);
        assert!(refused(args("job", &huge)).contains("10 MiB"));
        let listing = find("list_files")
            .unwrap()
            .plan(&json!({ "parent": "quote", "parent_id": "q1" }))
            .unwrap();
        assert_eq!(listing.target(), "/api/v1/quotes/q1/files");
    }

    #[test]
    fn unknown_missing_and_mistyped_arguments_are_refused_by_name() {
        let tool = find("change_job_status").unwrap();
        let cases = [
            (json!({ "job_id": "j", "version": 1 }), "status"),
            (
                json!({ "job_id": "j", "version": 1, "status": "completed", "colour": 1 }),
                "colour",
            ),
            (
                json!({ "job_id": "j", "version": "one", "status": "completed" }),
                "version",
            ),
            (
                json!({ "job_id": 7, "version": 1, "status": "completed" }),
                "job_id",
            ),
            (
                json!({ "job_id": "j", "version": 0, "status": "completed" }),
                "version",
            ),
            (json!([1, 2]), ""),
        ];
        for (arguments, field) in cases {
            let err = tool.plan(&arguments).unwrap_err();
            assert!(err.to_string().contains(field), "{arguments}: {err}");
        }
    }
}
