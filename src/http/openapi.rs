//! The API description served at `GET /api/v1/openapi.json`, built from the route
//! declarations (`routes.rs`: each route names its query type and describes its body and
//! answers with the builders of [`spec`]), so it cannot leave a route out.
//!
//! The document is the same for every request of a build, so it is built on the host and
//! kept as `openapi.json` beside this file (a test holds it to what the declarations build;
//! `FIELDWORKER_WRITE_OPENAPI=1 cargo test --lib openapi` writes it anew). `scripts/build`
//! compacts it into the static assets, which answer its path before the Worker runs: neither
//! the code that builds it nor the document is in the Wasm.

use worker::{Env, Request, Response};

use crate::error::{AppError, AppResult};

/// The document's path among the static assets, and its own path.
pub const PATH: &str = "/api/v1/openapi.json";

/// Answers the document from the assets binding, for a request that reached the Worker
/// anyway (a tool call, or a runtime that serves no assets first).
pub async fn serve(req: &Request, env: &Env) -> AppResult<Response> {
    let url = req.inner().url();
    let origin = crate::views::url::origin(&url).unwrap_or("https://assets.invalid");
    let mut fetched = env
        .assets("ASSETS")
        .map_err(|e| AppError::internal(format!("assets binding: {e}")))?
        .fetch(format!("{origin}{PATH}"), None)
        .await
        .map_err(|e| AppError::internal(format!("assets fetch: {e}")))?;
    if fetched.status_code() != 200 {
        return Err(AppError::internal(format!(
            "assets: {PATH} answered {}",
            fetched.status_code()
        )));
    }
    let text = fetched
        .text()
        .await
        .map_err(|e| AppError::internal(format!("assets body: {e}")))?;
    Ok(super::respond::json_string(200, text))
}

#[cfg(not(target_arch = "wasm32"))]
mod schemas;
#[cfg(not(target_arch = "wasm32"))]
pub mod spec;

#[cfg(not(target_arch = "wasm32"))]
pub use build::document;

#[cfg(not(target_arch = "wasm32"))]
mod build {
    use crate::json;
    use serde_json::{Map, Value};

    use super::spec::{r, Answer, Operation};
    use crate::error::PROBLEM_JSON;
    use crate::http::router::{Guard, Route, ROUTES};
    use crate::http::routes::operation;

    const TAGS: &[&str] = &[
        "sign-in",
        "me",
        "team",
        "settings",
        "audit",
        "customers",
        "jobs",
        "quotes",
        "invoices",
        "files",
        "customer pages",
        "webhooks",
        "operator",
        "service",
    ];

    /// The operation's group in the document: the first segment after `/api/v1/`, or what the
    /// path is for.
    fn tag(path: &str) -> &'static str {
        let rest = path.strip_prefix("/api/v1/").unwrap_or(path);
        match rest.split('/').next().unwrap_or_default() {
            "auth" => "sign-in",
            "me" | "tokens" => "me",
            "users" => "team",
            "settings" => "settings",
            "audit" => "audit",
            "customers" | "sites" => "customers",
            "jobs" | "visits" => "jobs",
            "quotes" => "quotes",
            "invoices" | "share-links" => "invoices",
            "files" => "files",
            _ if path.starts_with("/s/") => "customer pages",
            _ if path.starts_with("/webhooks/") => "webhooks",
            _ if path.starts_with("/ops/") => "operator",
            _ => "service",
        }
    }

    /// The media types an operation's errors come in.
    fn problem(op: &Operation) -> Value {
        let mut content = json!({ PROBLEM_JSON: { "schema": r("Problem") } });
        if op.html_errors {
            content["text/html"] = json!({ "schema": { "type": "string" } });
        }
        if op.rpc_errors {
            content["application/json"] = json!({ "schema": r("JsonRpcError") });
        }
        if op.oauth_errors {
            content["application/json"] = json!({ "schema": r("OAuthError") });
        }
        content
    }

    /// The statuses an operation can answer besides its success, with why.
    fn error_statuses(
        op: &Operation,
        route: Route,
        guard: Guard,
        has_path_params: bool,
    ) -> Vec<(u16, &'static str)> {
        let mut statuses = vec![(
            400,
            "The request is malformed (unknown query parameter, bad JSON)",
        )];
        if !matches!(guard, Guard::Public) {
            statuses.push((401, "Not signed in (no or bad credentials)"));
            statuses.push((
                403,
                "Signed in, but the role may not do this (or a password change or MFA enrolment is due)",
            ));
        }
        if has_path_params || op.secret_header.is_some() {
            statuses.push((404, "No such record (or the channel is not configured)"));
        }
        if op.if_match || op.idempotent || op.body.is_some() {
            statuses.push((
                409,
                "The record changed since it was read, or the change conflicts",
            ));
        }
        if op.if_match {
            statuses.push((412, "If-Match names a version that is not the current one"));
            statuses.push((428, "If-Match is required"));
        }
        if op.body.is_some() {
            statuses.push((413, "The body is too large"));
            statuses.push((415, "The body is not of the declared media type"));
        }
        statuses.push((422, "A value is not acceptable (errors name the fields)"));
        if op.limited || op.html_errors {
            statuses.push((429, "Too many attempts: wait for Retry-After seconds"));
        } else if route != Route::Health {
            // Every request but the health check counts against a rate limit (http::limits).
            statuses.push((429, "Too many requests: wait for Retry-After seconds"));
        }
        for status in &op.also {
            if !statuses.iter().any(|(s, _)| s == status) {
                statuses.push((*status, "See the summary"));
            }
        }
        statuses.retain(|(s, _)| *s != op.success);
        statuses
    }

    fn success(op: &Operation) -> Value {
        match &op.answer {
            Answer::Json(schema) => json!({
                "description": "Success",
                "content": { "application/json": { "schema": schema } },
            }),
            Answer::Empty => json!({ "description": "Done; no body" }),
            Answer::Html => json!({
                "description": "An HTML page",
                "content": { "text/html": { "schema": { "type": "string" } } },
            }),
            Answer::Xml => json!({
                "description": "TwiML",
                "content": { "text/xml": { "schema": { "type": "string" } } },
            }),
            Answer::Bytes(media) => json!({
                "description": "The bytes",
                "content": { *media: { "schema": { "type": "string", "format": "binary" } } },
            }),
            Answer::Pdf => json!({
                "description": "A PDF file, as an attachment",
                "headers": { "Content-Disposition": { "schema": { "type": "string" } } },
                "content": { "application/pdf": { "schema": { "type": "string", "format": "binary" } } },
            }),
            Answer::Redirect => json!({
                "description": "Done: see the page at Location",
                "headers": { "Location": { "schema": { "type": "string" } } },
            }),
        }
    }

    fn header(name: &str, required: bool, description: &str) -> Value {
        json!({ "name": name, "in": "header", "required": required, "description": description,
                "schema": { "type": "string" } })
    }

    /// The whole OpenAPI 3.1 document.
    pub fn document(version: &str) -> Value {
        let mut paths = Map::new();
        for decl in ROUTES {
            let op = operation(decl.route);
            let path_params: Vec<&str> = decl
                .pattern
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .collect();
            let mut parameters: Vec<Value> = path_params
                .iter()
                .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
                .collect();
            parameters.extend(op.query.iter().cloned());
            if op.if_match {
                parameters.push(header(
                    "If-Match",
                    true,
                    "The version read, as its ETag (\"3\"): the change applies only to that version",
                ));
            }
            if op.idempotent {
                parameters.push(header(
                    "Idempotency-Key",
                    false,
                    "A retry with the same key answers the first result instead of doing it twice",
                ));
            }
            if let Some(name) = op.secret_header {
                parameters.push(header(name, true, "The provider's signature or secret"));
            }
            let mut responses = Map::new();
            responses.insert(op.success.to_string(), success(&op));
            for (status, why) in
                error_statuses(&op, decl.route, decl.guard, !path_params.is_empty())
            {
                // Other successes (MCP's 202 for a notification) have no body.
                let mut answer = if status < 400 {
                    json!({ "description": why })
                } else {
                    json!({ "description": why, "content": problem(&op) })
                };
                if status == 429 {
                    answer["headers"] =
                        json!({ "Retry-After": { "schema": { "type": "integer" } } });
                }
                responses.insert(status.to_string(), answer);
            }
            responses.insert(
                "default".into(),
                json!({ "description": "An error (RFC 9457)", "content": problem(&op) }),
            );
            let mut operation = json!({
                "operationId": format!("{:?}", decl.route),
                "summary": op.summary,
                "tags": [tag(decl.pattern)],
                "parameters": parameters,
                "responses": responses,
            });
            if let Some((media, schema)) = &op.body {
                let mut content = json!({ "schema": schema });
                if let Some(example) = &op.example {
                    content["example"] = example.clone();
                }
                operation["requestBody"] =
                    json!({ "required": true, "content": { *media: content } });
            }
            operation["security"] = match decl.guard {
                Guard::Public => json!([]),
                Guard::Operator => json!([{ "operatorToken": [] }]),
                _ => json!([{ "session": [] }, { "accessToken": [] }, { "cloudflareAccess": [] }]),
            };
            if let Guard::Needs(permission) = decl.guard {
                operation["x-permission"] = json!(permission);
            }
            let item = paths
                .entry(decl.pattern.to_owned())
                .or_insert_with(|| json!({}));
            item[decl.method.to_ascii_lowercase()] = operation;
        }
        let tags: Vec<Value> = TAGS.iter().map(|name| json!({ "name": name })).collect();
        json!({
            "openapi": "3.1.0",
            "info": {
                "title": "fieldworker",
                "version": version,
                "description": "The back office of a trades business: customers, jobs and visits, \
                    quotes and invoices, the team. Each company has its own host; every record \
                    carries a version that writes name in If-Match.",
            },
            "servers": [{ "url": "/" }],
            "tags": tags,
            "paths": paths,
            "components": {
                "schemas": super::schemas::components(),
                "securitySchemes": {
                    "session": { "type": "apiKey", "in": "cookie", "name": "fw_session" },
                    "accessToken": { "type": "http", "scheme": "bearer" },
                    "cloudflareAccess": { "type": "apiKey", "in": "header", "name": "Cf-Access-Jwt-Assertion" },
                    "operatorToken": { "type": "http", "scheme": "bearer" },
                },
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::router::ROUTES;
    use crate::json;
    use serde_json::Value;
    use std::collections::BTreeSet;

    #[test]
    fn the_served_document_is_the_one_the_route_declarations_build() {
        let built = document(crate::VERSION);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/openapi.json");
        if std::env::var_os("FIELDWORKER_WRITE_OPENAPI").is_some() {
            let text = serde_json::to_string_pretty(&built).unwrap() + "\n";
            std::fs::write(path, text).unwrap();
            return;
        }
        let served: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert!(
            served == built,
            "src/http/openapi.json is stale: run FIELDWORKER_WRITE_OPENAPI=1 cargo test --lib openapi"
        );
    }

    #[test]
    fn the_description_has_exactly_the_routers_operations() {
        let doc = document("test");
        let described: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |method| (method.to_ascii_uppercase(), path.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = ROUTES
            .iter()
            .map(|d| (d.method.to_owned(), d.pattern.to_owned()))
            .collect();
        assert_eq!(described, routed);
    }

    /// Every `$ref` in `value`.
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(target)) = map.get("$ref") {
                    out.push(target.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_operation_is_complete_and_every_reference_resolves() {
        let doc = document("test");
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                let here = format!("{method} {path}");
                assert!(!operation["summary"].as_str().unwrap().is_empty(), "{here}");
                assert!(
                    ids.insert(operation["operationId"].as_str().unwrap().to_owned()),
                    "{here}"
                );
                let parameters = operation["parameters"].as_array().unwrap();
                let in_path = parameters.iter().filter(|p| p["in"] == "path").count();
                assert_eq!(in_path, path.matches('{').count(), "{here}");
                let responses = operation["responses"].as_object().unwrap();
                assert!(responses.contains_key("default"), "{here}");
                assert!(
                    responses
                        .keys()
                        .any(|s| s.starts_with('2') || s.starts_with('3') || s == "500"),
                    "{here}"
                );
                if path.starts_with("/api/v1/") && *method != "get" && path != "/api/v1/auth/login"
                {
                    assert!(
                        responses.contains_key("401") || operation["security"] == json!([]),
                        "{here}"
                    );
                }
            }
        }
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(!found.is_empty());
        for target in found {
            let name = target.strip_prefix("#/components/schemas/").unwrap();
            assert!(doc["components"]["schemas"].get(name).is_some(), "{target}");
        }
    }

    #[test]
    fn lists_declare_their_query_and_writes_their_headers() {
        let doc = document("test");
        let jobs = &doc["paths"]["/api/v1/jobs"]["get"]["parameters"];
        let names: Vec<&str> = jobs
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"status") && names.contains(&"cursor") && names.contains(&"limit"),
            "{names:?}"
        );
        let patch = &doc["paths"]["/api/v1/jobs/{id}"]["patch"];
        assert!(patch["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "If-Match" && p["required"] == true));
        assert!(patch["responses"].get("412").is_some() && patch["responses"].get("428").is_some());
        let create = &doc["paths"]["/api/v1/customers"]["post"];
        assert!(create["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "Idempotency-Key"));
        assert_eq!(
            create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Customer"
        );
        let job = &create["requestBody"]["content"]["application/json"];
        assert_eq!(job["example"]["name"], "Ada Lee");
        let share = &doc["paths"]["/s/{token}/accept"]["post"];
        assert!(share["requestBody"]["content"]
            .get("application/x-www-form-urlencoded")
            .is_some());
        assert!(
            doc["paths"]["/s/{token}"]["get"]["responses"]["200"]["content"]
                .get("text/html")
                .is_some()
        );
    }

    #[test]
    fn bodies_refuse_unknown_fields_as_the_api_does() {
        let doc = document("test");
        let body = &doc["paths"]["/api/v1/customers"]["post"]["requestBody"]["content"]
            ["application/json"]["schema"];
        assert_eq!(body["additionalProperties"], false);
        assert_eq!(body["required"], json!(["name"]));
    }
}
