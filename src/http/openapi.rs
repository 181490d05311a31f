//! The API description served at `GET /api/v1/openapi.json`, built from the route table so it
//! cannot leave a route out: [`describe`] matches every [`Route`] exhaustively (a new route
//! does not compile until it is described), and a test compares the paths with the router.
//!
//! The document is the same for every request of a build, so it is built on the host and the
//! Worker serves it as text ([`DOCUMENT`], `openapi.json` beside this file): the code that
//! builds it stays out of the Wasm (14 KiB gzip). A test holds the file to what the route
//! table builds; `FIELDWORKER_WRITE_OPENAPI=1 cargo test --lib openapi` writes it anew.

/// The document as served: `openapi.json` with its whitespace taken out by `src/build.rs`.
pub const DOCUMENT: &str = include_str!(concat!(env!("OUT_DIR"), "/openapi.json"));

#[cfg(not(target_arch = "wasm32"))]
pub use build::*;

#[cfg(not(target_arch = "wasm32"))]
mod build {
    use serde_json::{json, Map, Value};

    use crate::error::PROBLEM_JSON;
    use crate::http::router::{Guard, Route, ROUTES};

    /// What the description says about one operation.
    pub struct Operation {
        pub summary: &'static str,
        /// The JSON schema of the request body, for operations that take one.
        pub body: Option<Value>,
        /// The status of a successful answer.
        pub success: u16,
    }

    fn op(summary: &'static str, body: Option<Value>, success: u16) -> Operation {
        Operation {
            summary,
            body,
            success,
        }
    }

    fn string() -> Value {
        json!({ "type": "string" })
    }

    fn nullable_string() -> Value {
        json!({ "type": ["string", "null"] })
    }

    fn strings() -> Value {
        json!({ "type": "array", "items": { "type": "string" } })
    }

    fn object(required: &[&str], properties: Value) -> Value {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": required,
            "properties": properties,
        })
    }

    fn customer_fields(required: &[&str]) -> Value {
        object(
            required,
            json!({
                "name": string(),
                "company": nullable_string(),
                "emails": strings(),
                "phones": { "type": "array", "items": { "type": "string", "description": "E.164, e.g. +12125550143" } },
                "tags": strings(),
                "notes": nullable_string(),
                "preferred_contact": { "enum": ["phone", "sms", "email"] },
            }),
        )
    }

    fn site_fields(required: &[&str]) -> Value {
        object(
            required,
            json!({
                "label": nullable_string(), "line1": string(), "line2": nullable_string(),
                "city": nullable_string(), "region": nullable_string(),
                "postal_code": nullable_string(),
                "country": { "type": ["string", "null"], "description": "ISO 3166 alpha-2" },
                "access_notes": nullable_string(), "is_primary": { "type": "boolean" },
            }),
        )
    }

    fn job_fields(required: &[&str], with_ids: bool) -> Value {
        let mut properties = json!({
            "title": string(),
            "description": nullable_string(),
            "priority": { "enum": ["low", "normal", "high", "urgent"] },
            "technician_ids": strings(),
            "items": { "type": "array", "items": object(&["kind", "description", "quantity_milli"], json!({
                "kind": { "enum": ["work", "part"] },
                "description": string(),
                "quantity_milli": { "type": "integer", "description": "thousandths of a unit" },
                "unit": nullable_string(),
            })) },
        });
        if with_ids {
            properties["customer_id"] = string();
            properties["site_id"] =
                json!({ "type": "string", "description": "default: the customer's primary site" });
        }
        object(required, properties)
    }

    fn time() -> Value {
        json!({ "type": "string", "format": "date-time" })
    }

    fn integer(description: &str) -> Value {
        json!({ "type": "integer", "description": description })
    }

    /// A priced line of a quote or invoice; amounts in minor units, rates in parts per million.
    fn lines() -> Value {
        json!({ "type": "array", "items": object(&["description", "quantity_milli", "unit_price"], json!({
        "description": string(),
        "quantity_milli": integer("thousandths of a unit"),
        "unit_price": integer("minor units per unit"),
        "tax_rate_ppm": integer("parts per million; default: the company's default rate"),
        "discount": { "oneOf": [
            object(&["percent_ppm"], json!({ "percent_ppm": integer("parts per million") })),
            object(&["amount"], json!({ "amount": integer("minor units") })),
        ] },
        "optional": { "type": "boolean", "description": "quotes: an extra the customer may tick" },
        "option": { "type": ["string", "null"], "description": "quotes: good/better/best option name" },
    })) })
    }

    fn quote_fields(required: &[&str], with_ids: bool) -> Value {
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

    fn invoice_fields(with_ids: bool) -> Value {
        let mut properties = json!({
            "lines": lines(), "notes": nullable_string(), "terms": nullable_string(),
            "deposit": integer("minor units asked for first"),
            "payment_terms_days": { "type": "integer", "minimum": 0, "maximum": 365 },
        });
        if with_ids {
            properties["customer_id"] =
                json!({ "type": "string", "description": "default: the job's customer" });
            properties["site_id"] = string();
            properties["job_id"] = string();
        }
        object(&[], properties)
    }

    /// Every route, described. Exhaustive on purpose.
    pub fn describe(route: Route) -> Operation {
        use Route::*;
        match route {
        Health => op("Liveness and schema version (one real D1 query)", None, 200),
        OpsSelfcheck => op(
            "Operator: write, read back, refuse, delete on D1, KV and R2",
            Some(object(&["probe"], json!({ "probe": string() }))),
            200,
        ),
        OpsPanic => op("Operator: panic on purpose, to check recovery", None, 500),
        OpsClock => op(
            "Operator, not in production: move the clock forward",
            Some(object(
                &["advance_ms"],
                json!({ "advance_ms": { "type": "integer", "minimum": 0 } }),
            )),
            200,
        ),
        OpsCreateOwner => op(
            "Operator: create an owner",
            Some(object(
                &["email", "password"],
                json!({ "email": string(), "password": string(), "name": string() }),
            )),
            201,
        ),
        Login => op(
            "Sign in with email and password",
            Some(object(
                &["email", "password"],
                json!({ "email": string(), "password": string() }),
            )),
            200,
        ),
        LoginMfa => op(
            "Second sign-in step: a TOTP or recovery code",
            Some(object(
                &["challenge"],
                json!({ "challenge": string(), "code": string(), "recovery_code": string() }),
            )),
            200,
        ),
        Logout => op("End this session", None, 204),
        AcceptInvite => op(
            "Accept an invitation and sign in",
            Some(object(
                &["token", "name", "password"],
                json!({ "token": string(), "name": string(), "password": string() }),
            )),
            201,
        ),
        Me => op("Who I am: user, role, permissions", None, 200),
        MfaEnroll => op(
            "Start two-factor enrolment: secret and otpauth URI",
            None,
            200,
        ),
        MfaConfirm => op(
            "Confirm enrolment with a first code; answers recovery codes once",
            Some(object(&["code"], json!({ "code": string() }))),
            200,
        ),
        MfaDisable => op(
            "Turn two-factor sign-in off",
            Some(object(&["code"], json!({ "code": string() }))),
            204,
        ),
        ChangePassword => op(
            "Change my password (ends my other sessions)",
            Some(object(
                &["current_password", "new_password"],
                json!({ "current_password": string(), "new_password": string() }),
            )),
            200,
        ),
        ListTokens => op("My personal access tokens", None, 200),
        CreateToken => op(
            "Create a personal access token (shown once)",
            Some(object(
                &["name"],
                json!({ "name": string(), "expires_in_days": { "type": "integer", "minimum": 1, "maximum": 366 } }),
            )),
            201,
        ),
        RevokeToken => op("Revoke one of my tokens (If-Match)", None, 204),
        ListUsers => op("The team", None, 200),
        InviteUser => op(
            "Invite someone (single-use link, 7 days)",
            Some(object(
                &["email", "role"],
                json!({ "email": string(), "role": { "enum": ["owner", "dispatcher", "technician", "viewer"] } }),
            )),
            201,
        ),
        UpdateUser => op(
            "Change a user's role or deactivate them (If-Match)",
            Some(object(
                &[],
                json!({ "role": { "enum": ["owner", "dispatcher", "technician", "viewer"] }, "active": { "type": "boolean" } }),
            )),
            200,
        ),
        UnlockUser => op("Clear a user's failed sign-ins", None, 204),
        GetSettings => op("Company settings", None, 200),
        UpdateSettings => op(
            "Change company settings (If-Match)",
            Some(object(
                &[],
                json!({
                    "name": string(), "currency": string(), "time_zone": string(), "locale": string(),
                    "email": nullable_string(), "phone": nullable_string(), "address": nullable_string(),
                    "mfa_required": { "type": "boolean" },
                    "default_tax_rate_ppm": { "type": "integer", "minimum": 0, "maximum": 1_000_000 },
                    "rounding": { "enum": ["per_line", "per_document"] },
                    "invoice_prefix": string(),
                    "payment_terms_days": { "type": "integer", "minimum": 0, "maximum": 365 },
                    "brand_color": { "type": "string", "pattern": "^#[0-9a-fA-F]{6}$" },
                }),
            )),
            200,
        ),
        ListAudit => op("The audit trail, newest first (filters, cursor)", None, 200),
        VerifyAudit => op(
            "Recompute the audit hash chain; the first broken link",
            None,
            200,
        ),
        ListCustomers => op(
            "Customers by name; search with q (name, email, phone)",
            None,
            200,
        ),
        CreateCustomer => op(
            "Create a customer (Idempotency-Key)",
            Some(customer_fields(&["name"])),
            201,
        ),
        GetCustomer => op("A customer with its sites", None, 200),
        UpdateCustomer => op(
            "Change a customer (If-Match)",
            Some(customer_fields(&[])),
            200,
        ),
        ArchiveCustomer => op("Archive a customer (If-Match)", None, 204),
        CreateSite => op(
            "Add a service site to a customer",
            Some(site_fields(&["line1"])),
            201,
        ),
        UpdateSite => op("Change a site (If-Match)", Some(site_fields(&[])), 200),
        ListJobs => op(
            "Jobs, newest first (status, technician, customer, created range, cursor)",
            None,
            200,
        ),
        CreateJob => op(
            "Create a job at a customer's site (Idempotency-Key)",
            Some(job_fields(&["customer_id", "title"], true)),
            201,
        ),
        GetJob => op("A job with its notes", None, 200),
        UpdateJob => op(
            "Change a job (If-Match; technicians: items only)",
            Some(job_fields(&[], false)),
            200,
        ),
        SetJobStatus => op(
            "Move a job through its status machine (If-Match)",
            Some(object(
                &["status"],
                json!({ "status": { "enum": ["requested", "scheduled", "in_progress", "completed", "on_hold", "cancelled"] } }),
            )),
            200,
        ),
        AddJobNote => op(
            "Add a note to a job",
            Some(object(&["text"], json!({ "text": string() }))),
            201,
        ),
        JobTimeline => op("Everything that happened to a job", None, 200),
        CreateVisits => op(
            "Book a visit, or a recurring series, for a job (409 on double-booking)",
            Some(object(
                &["start", "end"],
                json!({
                    "start": time(), "end": time(), "technician_ids": strings(),
                    "allow_conflict": { "type": "boolean" },
                    "recurrence": object(&["frequency"], json!({
                        "frequency": { "enum": ["daily", "weekly", "monthly"] },
                        "interval": { "type": "integer", "minimum": 1 },
                        "until": time(),
                        "count": { "type": "integer", "minimum": 1, "maximum": 366 },
                    })),
                }),
            )),
            201,
        ),
        ListVisits => op(
            "Visits in a time range (from, to; technician, job)",
            None,
            200,
        ),
        UpdateVisit => op(
            "Move a visit or change its technicians (If-Match)",
            Some(object(
                &[],
                json!({ "start": time(), "end": time(), "technician_ids": strings(), "allow_conflict": { "type": "boolean" } }),
            )),
            200,
        ),
        DeleteVisit => op("Take a visit off the calendar (If-Match)", None, 204),
        ListQuotes => op("Quotes, newest first (status, customer, cursor)", None, 200),
        CreateQuote => op(
            "Draft a quote (Idempotency-Key)",
            Some(quote_fields(&["title"], true)),
            201,
        ),
        GetQuote => op("A quote, priced per option", None, 200),
        UpdateQuote => op(
            "Change a draft quote (If-Match)",
            Some(quote_fields(&[], false)),
            200,
        ),
        DeleteQuote => op("Delete a never-sent draft quote (If-Match)", None, 204),
        PreviewQuote => op(
            "Price a change to a quote without saving it: the editor's live totals",
            Some(quote_fields(&[], false)),
            200,
        ),
        PreviewInvoice => op(
            "Price a change to a draft invoice without saving it",
            Some(invoice_fields(false)),
            200,
        ),
        SendQuote => op("Send a draft quote (If-Match)", None, 200),
        ReviseQuote => op(
            "Take a quote back to draft to change it (If-Match)",
            None,
            200,
        ),
        AcceptQuote => op(
            "Record the customer's acceptance: option, extras, signer (If-Match)",
            Some(object(
                &["signer_name"],
                json!({ "option": nullable_string(), "signer_name": string(),
                        "optional_lines": { "type": "array", "items": { "type": "integer", "minimum": 0 } } }),
            )),
            200,
        ),
        DeclineQuote => op("Record that the customer declined (If-Match)", None, 200),
        ConvertQuote => op(
            "Turn an accepted quote into a job (if it has none) and a draft invoice (If-Match)",
            None,
            201,
        ),
        ListInvoices => op(
            "Invoices and credit notes, newest first (status, customer, kind, job, cursor)",
            None,
            200,
        ),
        CreateInvoice => op(
            "Draft an invoice, blank or for a job (Idempotency-Key)",
            Some(invoice_fields(true)),
            201,
        ),
        GetInvoice => op(
            "An invoice with its payments, balance and status",
            None,
            200,
        ),
        UpdateInvoice => op(
            "Change a draft invoice (If-Match)",
            Some(invoice_fields(false)),
            200,
        ),
        DeleteInvoice => op("Delete a draft invoice (If-Match)", None, 204),
        IssueInvoice => op(
            "Issue a draft: the next gapless number (If-Match)",
            None,
            200,
        ),
        VoidInvoice => op(
            "Void an issued invoice that keeps no money (If-Match)",
            None,
            200,
        ),
        RecordPayment => op(
            "Record a payment or refund (If-Match, Idempotency-Key)",
            Some(object(
                &["amount", "method"],
                json!({ "kind": { "enum": ["payment", "refund"] }, "amount": integer("minor units"),
                        "method": { "enum": ["card", "cash", "check", "bank", "other"] },
                        "reference": nullable_string() }),
            )),
            201,
        ),
        CreditInvoice => op(
            "Reverse a paid invoice with a credit note (If-Match)",
            None,
            201,
        ),
        ShareQuote | ShareInvoice => op(
            "Make a link that shows the document to its customer: token and /s/{token} URL, \
             answered once",
            Some(object(
                &[],
                json!({ "expires_in_days": { "type": "integer", "minimum": 1, "maximum": 365 } }),
            )),
            201,
        ),
        RevokeShareLink => op("Revoke a share link (If-Match)", None, 204),
        OpenApi => op("This description", None, 200),
        Mcp => op(
            "Model Context Protocol (Streamable HTTP, JSON-RPC 2.0): the tool catalogue, with \
             a personal access token or Access JWT; answers application/json",
            Some(object(
                &["jsonrpc"],
                json!({ "jsonrpc": string(), "id": {}, "method": string(), "params": { "type": "object" } }),
            )),
            200,
        ),
        TelegramWebhook => op(
            "Telegram Bot API webhook (X-Telegram-Bot-Api-Secret-Token); 404 unless configured",
            None,
            200,
        ),
        SmsWebhook => op(
            "Twilio inbound SMS webhook (X-Twilio-Signature, form-encoded); 404 unless configured",
            None,
            200,
        ),
        StripeWebhook => op(
            "Stripe webhook (Stripe-Signature): records a paid Checkout Session once; 404 unless configured",
            None,
            200,
        ),
        SharePage => op("The customer's page of a shared quote or invoice (HTML)", None, 200),
        ShareAccept => op(
            "The customer accepts a shared quote: form option, extra, signer_name (HTML, 303)",
            None,
            303,
        ),
        ShareDecline => op("The customer declines a shared quote: form reason (HTML, 303)", None, 303),
        SharePay => op("The customer pays a shared invoice: 303 to Stripe Checkout", None, 303),
        ListLinks => op("Your linked Telegram chats and phone numbers", None, 200),
        CreateLinkCode => op(
            "A one-time code (15 minutes) to link a Telegram chat or phone: send /link CODE",
            None,
            201,
        ),
        DeleteLink => op("Unlink one of your chats or phone numbers", None, 204),
        McpResourceMetadata => op(
            "OAuth 2.0 Protected Resource Metadata (RFC 9728) of /mcp",
            None,
            200,
        ),
        // Pages are not part of the API and not in the document (`router::PAGES`).
        Page(_) => op("Dashboard page (HTML)", None, 200),
    }
    }

    /// The whole OpenAPI 3.1 document.
    pub fn document(version: &str) -> Value {
        let mut paths = Map::new();
        // operationId must be unique; a route served at two paths gets a numbered second id.
        let mut seen: Vec<String> = Vec::new();
        for entry in ROUTES {
            let mut item = Map::new();
            let parameters: Vec<Value> = entry
            .pattern
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
            for (method, route, guard) in entry.methods {
                let described = describe(*route);
                let mut operation_id = format!("{route:?}");
                let repeats = seen.iter().filter(|id| **id == operation_id).count();
                seen.push(operation_id.clone());
                if repeats > 0 {
                    operation_id = format!("{operation_id}{}", repeats + 1);
                }
                let mut operation = json!({
                    "operationId": operation_id,
                    "summary": described.summary,
                    "parameters": parameters,
                    "responses": {
                        described.success.to_string(): { "description": "Success" },
                        "default": {
                            "description": "An error (RFC 9457)",
                            "content": { PROBLEM_JSON: { "schema": { "$ref": "#/components/schemas/Problem" } } },
                        },
                    },
                });
                if let Some(body) = described.body {
                    operation["requestBody"] = json!({ "required": true, "content": { "application/json": { "schema": body } } });
                }
                operation["security"] = match guard {
                    Guard::Public => json!([]),
                    Guard::Operator => json!([{ "operatorToken": [] }]),
                    _ => {
                        json!([{ "session": [] }, { "accessToken": [] }, { "cloudflareAccess": [] }])
                    }
                };
                if let Guard::Needs(permission) = guard {
                    operation["x-permission"] = json!(permission);
                }
                item.insert(method.to_ascii_lowercase(), operation);
            }
            paths.insert(entry.pattern.to_owned(), Value::Object(item));
        }
        json!({
            "openapi": "3.1.0",
            "info": { "title": "fieldworker", "version": version },
            "paths": paths,
            "components": {
                "schemas": {
                    "Problem": {
                        "type": "object",
                        "required": ["type", "title", "status"],
                        "properties": {
                            "type": string(), "title": string(), "status": { "type": "integer" },
                            "detail": string(), "instance": string(), "request_id": string(),
                            "errors": { "type": "array", "items": object(&["field", "message"], json!({ "field": string(), "message": string() })) },
                        },
                    },
                },
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
    use serde_json::json;
    use std::collections::BTreeSet;

    #[test]
    fn the_served_document_is_the_one_the_route_table_builds() {
        let built = document(crate::VERSION);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/http/openapi.json");
        if std::env::var_os("FIELDWORKER_WRITE_OPENAPI").is_some() {
            let text = serde_json::to_string_pretty(&built).unwrap() + "\n";
            std::fs::write(path, text).unwrap();
            return;
        }
        let served: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
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
            .flat_map(|e| {
                e.methods
                    .iter()
                    .map(|(m, _, _)| (m.to_string(), e.pattern.to_string()))
            })
            .collect();
        assert_eq!(described, routed);
    }

    #[test]
    fn every_operation_has_a_summary_and_path_parameters_are_declared() {
        let doc = document("test");
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                assert!(
                    !operation["summary"].as_str().unwrap().is_empty(),
                    "{method} {path}"
                );
                let declared = operation["parameters"].as_array().unwrap().len();
                assert_eq!(declared, path.matches('{').count(), "{method} {path}");
            }
        }
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
