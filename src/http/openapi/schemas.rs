//! The named schemas of what the API answers (`components/schemas`), as the views render them
//! (`src/views/`, the API handlers). The fuzz run in the tests holds every answer to them.

use crate::json;
use serde_json::{Map, Value};

use super::spec::*;

fn id() -> Value {
    json!({ "type": "string", "minLength": 1 })
}

fn nullable_id() -> Value {
    nullable(string())
}

fn nullable_time() -> Value {
    nullable(time())
}

fn money(description: &str) -> Value {
    integer(description)
}

/// A member that is sometimes left out (`skip_serializing_if`): listed, not required.
fn with_optional(mut schema: Value, optional: &[(&str, Value)]) -> Value {
    for (name, member) in optional {
        schema["properties"][*name] = member.clone();
    }
    schema
}

/// `base` with more members, all of them always there.
fn extend(base: &[(&str, Value)], more: &[(&str, Value)]) -> Value {
    let all: Vec<(&str, Value)> = base.iter().chain(more).cloned().collect();
    record(&all)
}

fn versioned() -> Vec<(&'static str, Value)> {
    vec![
        ("version", int_min(1)),
        ("created_at", time()),
        ("updated_at", time()),
    ]
}

fn user() -> Value {
    with_optional(
        record(&[
            ("id", id()),
            ("email", string()),
            ("name", string()),
            ("role", role()),
            ("active", boolean()),
            ("mfa_enabled", boolean()),
            ("deleted", boolean()),
            ("version", int_min(1)),
            ("created_at", time()),
            ("updated_at", time()),
        ]),
        &[("locked_until", time()), ("deleted_at", time())],
    )
}

fn customer() -> Value {
    let mut members = vec![
        ("id", id()),
        ("name", string()),
        ("company", nullable_string()),
        ("emails", strings()),
        ("phones", strings()),
        ("tags", strings()),
        ("notes", nullable_string()),
        ("preferred_contact", one_of(&["phone", "sms", "email"])),
        ("archived", boolean()),
    ];
    members.extend(versioned());
    with_optional(record(&members), &[("sites", array(r("Site")))])
}

fn site() -> Value {
    let mut members = vec![
        ("id", id()),
        ("customer_id", id()),
        ("label", nullable_string()),
        ("line1", string()),
        ("line2", nullable_string()),
        ("city", nullable_string()),
        ("region", nullable_string()),
        ("postal_code", nullable_string()),
        ("country", nullable_string()),
        ("access_notes", nullable_string()),
        ("is_primary", boolean()),
    ];
    members.extend(versioned());
    record(&members)
}

fn job_members() -> Vec<(&'static str, Value)> {
    let item = record(&[
        ("kind", one_of(&["work", "part"])),
        ("description", string()),
        ("quantity_milli", int()),
        ("unit", nullable_string()),
    ]);
    let mut members = vec![
        ("id", id()),
        ("number", int_min(1)),
        ("customer_id", id()),
        ("site_id", nullable_id()),
        ("title", string()),
        ("description", nullable_string()),
        ("priority", one_of(&["low", "normal", "high", "urgent"])),
        ("status", job_status()),
        ("technician_ids", strings()),
        ("worker_ids", strings()),
        ("items", array(item)),
    ];
    members.extend(versioned());
    members
}

fn visit() -> Value {
    let mut members = vec![
        ("id", id()),
        ("job_id", id()),
        ("start", time()),
        ("end", time()),
        ("status", visit_status()),
        ("technician_ids", strings()),
    ];
    members.extend(versioned());
    with_optional(
        record(&members),
        &[
            (
                "job",
                record(&[
                    ("number", int_min(1)),
                    ("title", string()),
                    ("status", job_status()),
                ]),
            ),
            (
                "customer",
                record(&[("name", string()), ("phone", nullable_string())]),
            ),
            (
                "site",
                record(&[
                    ("address", nullable_string()),
                    ("access_notes", nullable_string()),
                ]),
            ),
            ("offer_job_completion", boolean()),
        ],
    )
}

/// What a line of a quote or invoice comes to.
fn line_amount() -> Value {
    record(&[
        ("net", money("after discount, before tax")),
        ("discount", money("minor units")),
        ("tax", money("minor units")),
        ("gross", money("net plus tax")),
        ("tax_rate_ppm", int()),
    ])
}

fn tax_band() -> Value {
    record(&[("rate_ppm", int()), ("taxable", int()), ("tax", int())])
}

/// A document's sums.
fn sums(more: &[(&str, Value)]) -> Value {
    extend(
        &[
            ("subtotal", int()),
            ("discount_total", int()),
            ("tax_total", int()),
            ("total", int()),
        ],
        more,
    )
}

/// A quote's totals per option (`option` null: the quote without options).
fn option_totals() -> Value {
    array(sums(&[
        ("option", nullable_string()),
        ("taxes", array(tax_band())),
        ("deposit", int()),
    ]))
}

fn quote_line() -> Value {
    record(&[
        ("description", string()),
        ("quantity_milli", int()),
        ("unit_price", int()),
        ("tax_rate_ppm", int()),
        ("discount", json!({ "type": ["object", "null"] })),
        ("optional", boolean()),
        ("option", nullable_string()),
    ])
}

fn deposit_rule() -> Value {
    json!({ "type": ["object", "null"], "description": "{percent_ppm} or {amount}" })
}

fn quote_summary_members() -> Vec<(&'static str, Value)> {
    let acceptance = nullable(with_optional(
        record(&[
            ("accepted_at", time()),
            ("signer_name", string()),
            ("option", nullable_string()),
            ("optional_lines", array(int_min(0))),
            ("total", int()),
            ("deposit", int()),
        ]),
        &[
            ("ip", nullable_string()),
            ("recorded_by", nullable_id()),
            ("totals", any_object()),
        ],
    ));
    let mut members = vec![
        ("id", id()),
        ("number", int_min(1)),
        ("title", string()),
        (
            "status",
            one_of(&["draft", "sent", "viewed", "accepted", "declined", "expired"]),
        ),
        ("currency", string()),
        ("rounding", one_of(&["per_line", "per_document"])),
        ("customer_id", id()),
        ("site_id", nullable_id()),
        ("job_id", nullable_id()),
        ("invoice_id", nullable_id()),
        ("valid_until", time()),
        ("sent_at", nullable_time()),
        ("declined_at", nullable_time()),
        ("converted_at", nullable_time()),
        ("acceptance", acceptance),
        ("totals", option_totals()),
    ];
    members.extend(versioned());
    members
}

/// A quote's own fields priced now (what a preview shows too).
fn quote_priced() -> Vec<(&'static str, Value)> {
    vec![
        ("lines", array(quote_line())),
        ("line_amounts", array(line_amount())),
        ("options", strings()),
        ("notes", nullable_string()),
        ("terms", nullable_string()),
        ("deposit", deposit_rule()),
    ]
}

fn payment() -> Value {
    record(&[
        ("id", id()),
        ("invoice_id", id()),
        ("kind", one_of(&["payment", "refund"])),
        ("amount", int()),
        ("method", string()),
        ("at", time()),
        ("reference", nullable_string()),
        ("external_id", nullable_string()),
        ("recorded_by", nullable_id()),
    ])
}

fn invoice_summary_members() -> Vec<(&'static str, Value)> {
    let mut members = vec![
        ("id", id()),
        ("number", nullable_string()),
        ("kind", one_of(&["invoice", "credit_note"])),
        (
            "status",
            one_of(&[
                "draft",
                "issued",
                "partially_paid",
                "paid",
                "overdue",
                "void",
            ]),
        ),
        ("currency", string()),
        ("rounding", one_of(&["per_line", "per_document"])),
        ("customer_id", id()),
        ("site_id", nullable_id()),
        ("job_id", nullable_id()),
        ("quote_id", nullable_id()),
        ("credit_note_for", nullable_id()),
        ("credit_note_id", nullable_id()),
        ("issued_at", nullable_time()),
        ("due_at", nullable_time()),
        ("voided_at", nullable_time()),
        ("balance", nullable(int())),
        ("due_now", nullable(int())),
        ("paid", int()),
        ("refunded", int()),
        ("deposit", int()),
        ("payment_terms_days", int()),
    ];
    members.extend(versioned());
    members
}

/// An invoice's own fields priced now.
fn invoice_priced() -> Vec<(&'static str, Value)> {
    vec![
        ("lines", array(quote_line())),
        ("notes", nullable_string()),
        ("terms", nullable_string()),
        ("deposit", int()),
        (
            "totals",
            sums(&[
                ("taxes", array(tax_band())),
                ("lines", array(line_amount())),
            ]),
        ),
    ]
}

fn audit_event() -> Value {
    record(&[
        ("seq", int_min(1)),
        ("at", time()),
        ("actor_kind", string()),
        ("actor_id", nullable_string()),
        ("action", string()),
        ("entity", string()),
        ("entity_id", nullable_string()),
        (
            "before",
            json!({ "description": "the record's fields before, or null" }),
        ),
        (
            "after",
            json!({ "description": "the record's fields after, or null" }),
        ),
        ("ip", nullable_string()),
        ("request_id", nullable_string()),
        (
            "hash",
            json!({ "type": "string", "description": "legacy rows' hash; empty on keyed rows" }),
        ),
        (
            "seal",
            json!({ "type": ["string", "null"], "description": "the keyed seal; null until sealed" }),
        ),
    ])
}

fn session() -> Value {
    record(&[
        ("user", r("User")),
        ("csrf_token", string()),
        // true: the password was generated; the session opens nothing else until it changes.
        ("password_change_required", boolean()),
    ])
}

/// Every named schema.
pub fn components() -> Value {
    let mut schemas = Map::new();
    let mut add = |name: &str, schema: Value| {
        schemas.insert(name.to_owned(), schema);
    };
    add(
        "Problem",
        json!({
            "type": "object",
            "required": ["type", "title", "status"],
            "properties": {
                "type": string(), "title": string(), "status": { "type": "integer" },
                "detail": string(), "instance": string(), "request_id": string(),
                "errors": array(record(&[("field", string()), ("message", string())])),
            },
        }),
    );
    add(
        "JsonRpcError",
        record(&[
            ("jsonrpc", json!({ "const": "2.0" })),
            ("id", json!({ "type": ["string", "integer", "null"] })),
            ("error", record(&[("code", int()), ("message", string())])),
        ]),
    );
    add(
        "Health",
        record(&[
            ("status", string()),
            ("version", string()),
            ("schema_version", int()),
            ("expected_schema_version", int()),
        ]),
    );
    add(
        "ResourceMetadata",
        record(&[
            ("resource", string()),
            ("resource_name", string()),
            ("bearer_methods_supported", strings()),
        ]),
    );
    add(
        "AuthorizationServerMetadata",
        record(&[
            ("issuer", string()),
            ("authorization_endpoint", string()),
            ("token_endpoint", string()),
            ("registration_endpoint", string()),
            ("revocation_endpoint", string()),
            ("scopes_supported", strings()),
            ("code_challenge_methods_supported", strings()),
            ("grant_types_supported", strings()),
        ]),
    );
    add(
        "OAuthError",
        record(&[("error", string()), ("error_description", string())]),
    );
    add(
        "OAuthClient",
        record(&[
            ("client_id", string()),
            ("client_id_issued_at", int()),
            ("client_name", string()),
            ("redirect_uris", strings()),
            ("token_endpoint_auth_method", string()),
        ]),
    );
    add(
        "OAuthTokens",
        record(&[
            ("access_token", string()),
            ("token_type", string()),
            ("expires_in", int()),
            ("refresh_token", string()),
            ("scope", string()),
        ]),
    );
    add(
        "App",
        record(&[
            ("id", string()),
            ("client_id", string()),
            ("client_name", string()),
            ("user_id", string()),
            ("user_name", string()),
            ("scope", string()),
            ("granted_at", time()),
            ("last_used_at", nullable(time())),
            ("revoked_at", nullable(time())),
            ("version", int()),
        ]),
    );
    add("User", user());
    add(
        "Me",
        record(&[
            ("user", r("User")),
            ("role", role()),
            ("permissions", strings()),
            ("authenticated_by", string()),
            ("mfa_enrolment_required", boolean()),
            ("password_change_required", boolean()),
            ("recovery_codes_left", nullable(int())),
        ]),
    );
    add("Session", session());
    add(
        "SignIn",
        json!({ "anyOf": [
            r("Session"),
            record(&[("mfa_required", json!({ "const": true })), ("challenge", string())]),
        ] }),
    );
    add(
        "SessionWithRecoveryCodes",
        record(&[
            ("user", r("User")),
            ("csrf_token", string()),
            ("password_change_required", boolean()),
            ("recovery_codes", strings()),
        ]),
    );
    add(
        "MfaEnrolment",
        record(&[("secret", string()), ("otpauth_uri", string())]),
    );
    add(
        "Notification",
        record(&[
            ("id", id()),
            (
                "kind",
                one_of(&[
                    "account_locked",
                    "mfa_disabled",
                    "role_changed",
                    "token_created",
                    "owner_added",
                    "company_mfa_off",
                    "new_device",
                    "customer_message",
                    "file_rejected",
                    "owner_recovery",
                    "support_requested",
                    "support_started",
                    "support_ended",
                    "company_deletion_requested",
                    "company_deletion_cancelled",
                ]),
            ),
            ("title", string()),
            ("body", string()),
            ("data", any_object()),
            ("created_at", time()),
            ("read", boolean()),
        ]),
    );
    add(
        "Notifications",
        record(&[
            ("notifications", array(r("Notification"))),
            ("unread", int_min(0)),
        ]),
    );
    add(
        "Link",
        record(&[
            ("id", id()),
            ("channel", string()),
            ("address", string()),
            ("created_at", time()),
        ]),
    );
    add(
        "LinkCode",
        record(&[
            ("code", string()),
            ("expires_at", time()),
            ("instructions", string()),
        ]),
    );
    let token = [
        ("id", id()),
        ("user_id", id()),
        ("name", string()),
        ("created_at", time()),
        ("expires_at", nullable_time()),
        ("last_used_at", nullable_time()),
        ("revoked_at", nullable_time()),
        ("version", int_min(1)),
    ];
    add("Token", record(&token));
    add(
        "SupportSession",
        record(&[
            ("id", id()),
            ("person_name", string()),
            ("person_email", string()),
            ("reason", string()),
            ("ticket", string()),
            ("scope", array(one_of(&crate::domain::support::Kind::NAMES))),
            ("read_only", boolean()),
            ("duration_minutes", int_range(5, 240)),
            (
                "status",
                one_of(&["requested", "approved", "refused", "active", "ended"]),
            ),
            ("requested_at", time()),
            ("decided_by", nullable_string()),
            ("decided_at", nullable_time()),
            ("link_expires_at", nullable_time()),
            ("started_at", nullable_time()),
            ("ends_at", nullable_time()),
            ("ended_at", nullable_time()),
            ("ended_by", nullable_string()),
            ("version", int_min(1)),
        ]),
    );
    add(
        "CompanyDeletion",
        record(&[
            ("id", id()),
            ("status", one_of(&["pending", "cancelled", "completed"])),
            ("requested_by", id()),
            ("requested_by_name", nullable_string()),
            ("requested_at", time()),
            ("effective_at", time()),
            ("cancelled_by", nullable_string()),
            ("cancelled_at", nullable_time()),
            ("completed_at", nullable_time()),
            ("version", int_min(1)),
        ]),
    );
    add(
        "CompanyExport",
        record(&[
            ("id", id()),
            ("status", one_of(&["queued", "running", "ready", "failed"])),
            ("requested_by", id()),
            ("requested_by_name", nullable_string()),
            ("created_at", time()),
            ("tables_done", int_min(0)),
            ("finished_at", nullable_time()),
            ("size", nullable(int_min(0))),
            ("error", nullable_string()),
            ("download", nullable_string()),
            ("version", int_min(1)),
        ]),
    );
    add("TokenCreated", extend(&token, &[("token", string())]));
    add(
        "Invite",
        record(&[
            ("id", id()),
            ("email", string()),
            ("role", role()),
            ("expires_at", time()),
            ("token", string()),
            ("invite_url", string()),
        ]),
    );
    add(
        "Settings",
        record(&[
            ("name", string()),
            ("currency", string()),
            ("time_zone", string()),
            ("locale", string()),
            ("email", nullable_string()),
            ("phone", nullable_string()),
            ("address", nullable_string()),
            ("mfa_required", boolean()),
            ("default_tax_rate_ppm", int()),
            ("rounding", one_of(&["per_line", "per_document"])),
            ("invoice_prefix", string()),
            ("payment_terms_days", int()),
            ("brand_color", string()),
            ("max_upload_bytes", int()),
            ("require_signature", boolean()),
            ("complete_job_with_last_visit", boolean()),
            ("work_day_start", int_range(0, 1380)),
            ("work_day_end", int_range(60, 1440)),
            ("support_preapprove_read_only", boolean()),
            ("logo_file_id", nullable_string()),
            ("version", int_min(1)),
            ("updated_at", time()),
        ]),
    );
    add(
        "File",
        record(&[
            ("id", id()),
            (
                "parent",
                record(&[
                    (
                        "kind",
                        one_of(&[
                            "job", "visit", "customer", "site", "quote", "invoice", "company",
                        ]),
                    ),
                    ("id", nullable_string()),
                ]),
            ),
            (
                "purpose",
                one_of(&["attachment", "signature", "logo", "document"]),
            ),
            ("name", string()),
            (
                "content_type",
                one_of(&[
                    "image/jpeg",
                    "image/png",
                    "image/webp",
                    "image/heic",
                    "application/pdf",
                ]),
            ),
            ("size", int_min(1)),
            ("sha256", string()),
            ("status", one_of(&["pending", "clean", "rejected"])),
            (
                "scan",
                record(&[
                    ("detail", nullable_string()),
                    ("attempts", int_min(0)),
                    ("scanned_at", nullable_time()),
                ]),
            ),
            ("signer_name", nullable_string()),
            (
                "uploaded_by",
                nullable(record(&[("id", id()), ("name", nullable_string())])),
            ),
            (
                "source",
                one_of(&["dashboard", "api", "mcp", "telegram", "sms", "system"]),
            ),
            ("url", nullable_string()),
            ("created_at", time()),
            ("updated_at", time()),
            ("deleted_at", nullable_time()),
            ("version", int_min(1)),
        ]),
    );
    add(
        "Storage",
        record(&[
            ("files", int_min(0)),
            ("bytes", int_min(0)),
            ("pending", int_min(0)),
            ("rejected", int_min(0)),
            ("deleted_awaiting_purge", int_min(0)),
            ("max_upload_bytes", int()),
        ]),
    );
    add("AuditEvent", audit_event());
    add(
        "AuditVerification",
        record(&[
            ("ok", boolean()),
            ("full", boolean()),
            ("key", string()),
            ("legacy_rows", int()),
            ("rows_checked", int()),
            ("verified_from", int()),
            ("broken_at", nullable(int())),
            ("reason", nullable_string()),
            ("tip", json!({ "type": ["object", "null"] })),
            ("anchor", json!({ "type": ["object", "null"] })),
            (
                "unsealed",
                record(&[
                    ("count", int()),
                    ("oldest_at", nullable_time()),
                    ("oldest_age_ms", nullable(int())),
                ]),
            ),
        ]),
    );
    add("Customer", customer());
    add("Site", site());
    add(
        "CustomerMessage",
        record(&[
            ("id", id()),
            ("customer_id", id()),
            ("direction", one_of(&["in", "out"])),
            ("channel", one_of(&["sms", "email"])),
            ("body", string()),
            ("address", nullable_string()),
            ("author_id", nullable_id()),
            ("author_name", nullable_string()),
            ("created_at", time()),
            ("read_at", nullable_time()),
            (
                "delivery",
                nullable(record(&[
                    (
                        "status",
                        one_of(&["queued", "sent", "delivered", "failed", "unknown"]),
                    ),
                    ("reason", nullable_string()),
                ])),
            ),
        ]),
    );
    add(
        "Conversation",
        record(&[
            ("messages", array(r("CustomerMessage"))),
            ("sms_opted_out_at", nullable_time()),
        ]),
    );
    add("Job", record(&job_members()));
    add(
        "JobWithNotes",
        extend(
            &job_members(),
            &[
                ("notes", array(r("Note"))),
                (
                    "customer",
                    record(&[("name", string()), ("phone", nullable_string())]),
                ),
                (
                    "site",
                    record(&[("address", string()), ("access_notes", nullable_string())]),
                ),
                (
                    "next_visit",
                    nullable(record(&[
                        ("id", id()),
                        ("start", time()),
                        ("end", time()),
                        ("status", visit_status()),
                    ])),
                ),
                (
                    "workers",
                    array(record(&[("id", id()), ("name", string())])),
                ),
            ],
        ),
    );
    add(
        "Note",
        record(&[
            ("id", id()),
            ("author_id", nullable_id()),
            ("text", string()),
            ("created_at", time()),
        ]),
    );
    add(
        "TimelineEvent",
        record(&[
            ("at", time()),
            ("action", string()),
            ("actor_kind", string()),
            ("actor_id", nullable_string()),
            ("before", json!({})),
            ("after", json!({})),
        ]),
    );
    add("Visit", visit());
    add("QuoteSummary", record(&quote_summary_members()));
    add("Quote", extend(&quote_summary_members(), &quote_priced()));
    add(
        "QuotePreview",
        extend(
            &quote_priced(),
            &[("totals", option_totals()), ("valid_until", time())],
        ),
    );
    add("Payment", payment());
    add(
        "InvoiceSummary",
        extend(&invoice_summary_members(), &[("totals", sums(&[]))]),
    );
    add(
        "Invoice",
        extend(
            &invoice_summary_members(),
            &[invoice_priced(), vec![("payments", array(r("Payment")))]].concat(),
        ),
    );
    add(
        "InvoicePreview",
        extend(&invoice_priced(), &[("payment_terms_days", int())]),
    );
    add(
        "PaymentRecorded",
        record(&[("invoice", r("Invoice")), ("payment", r("Payment"))]),
    );
    add(
        "Conversion",
        record(&[
            ("quote", r("Quote")),
            ("invoice", r("Invoice")),
            ("job_id", id()),
            ("job_created", boolean()),
        ]),
    );
    add(
        "ShareLinkCreated",
        record(&[
            ("id", id()),
            ("document_kind", one_of(&["quote", "invoice"])),
            ("document_id", id()),
            ("token", string()),
            ("url", string()),
            ("expires_at", time()),
            ("created_at", time()),
            ("created_by", nullable_id()),
            ("last_used_at", nullable_time()),
            ("revoked_at", nullable_time()),
            ("version", int_min(1)),
        ]),
    );
    add(
        "MessageTiming",
        record(&[
            ("quiet_start", string()),
            ("quiet_end", string()),
            ("reminder_at", string()),
            ("overdue_days", array(int())),
            ("quote_follow_up_days", int()),
            ("version", int_min(1)),
            ("updated_at", string()),
        ]),
    );
    add(
        "MessageTemplate",
        record(&[
            (
                "kind",
                one_of(&[
                    "booking",
                    "reminder",
                    "on_my_way",
                    "job_completed",
                    "invoice_overdue",
                    "quote_follow_up",
                ]),
            ),
            ("title", string()),
            ("when", string()),
            ("enabled", boolean()),
            ("subject", string()),
            ("body", string()),
            ("customised", boolean()),
            ("placeholders", strings()),
            ("version", int_min(1)),
            ("updated_at", string()),
        ]),
    );
    add(
        "MessageSettings",
        record(&[
            ("timing", r("MessageTiming")),
            ("templates", array(r("MessageTemplate"))),
        ]),
    );
    add(
        "Delivery",
        record(&[
            ("id", id()),
            ("channel", one_of(&["email", "sms"])),
            ("to", string()),
            (
                "status",
                one_of(&["queued", "sending", "sent", "failed", "unknown"]),
            ),
            ("attempts", int()),
            ("error", nullable_string()),
            ("delivery", nullable_string()),
            ("delivery_error", nullable_string()),
            ("automatic", nullable_string()),
            ("created_at", time()),
            ("updated_at", time()),
        ]),
    );
    Value::Object(schemas)
}
