//! The quote and invoice tools, end to end: draft with lines, change a draft, move it through
//! its statuses, share it, and (in `catalogue`) send it to the customer and take payments.
//! Each is one call of the REST route behind it; the version argument becomes `If-Match`.

use crate::json;
use serde_json::Value;

use super::catalogue::{id_property, nullable_string, on_record, path, string, version, with};
use super::{ApiCall, Effect, Tool};
use crate::domain::auth::permissions::Permission::*;

/// A document's lines, as the model writes them.
fn lines(quote: bool) -> Value {
    let mut line = json!({
        "description": { "type": "string", "description": "What it is, e.g. \"Boiler service\"." },
        "quantity_milli": { "type": "integer", "description": "Quantity in thousandths: 1 is 1000, 1.5 hours is 1500." },
        "unit_price": { "type": "integer", "description": "Price per unit in the currency's minor units: $120 is 12000." },
        "tax_rate_ppm": { "type": "integer", "description": "Tax in parts per million (8.875% is 88750); default: the company's rate." },
        "discount": { "type": ["object", "null"], "description": "A discount on the line: {\"percent_ppm\": 100000} (10%) or {\"amount\": 500} (minor units)." },
    });
    if quote {
        line["option"] = json!({ "type": ["string", "null"], "description": "For good/better/best quotes: the option this line belongs to; the customer picks one." });
        line["optional"] =
            json!({ "type": "boolean", "description": "An extra the customer may tick." });
    }
    json!({
        "type": "array",
        "description": "The lines, in order. Replaces the whole list: to edit one line, send every line back with that one changed.",
        "items": {
            "type": "object",
            "properties": line,
            "required": ["description", "quantity_milli", "unit_price"],
            "additionalProperties": false
        }
    })
}

fn quote_fields() -> serde_json::Map<String, Value> {
    let fields = json!({
        "title": string("A short title, e.g. \"Boiler service\"."),
        "lines": lines(true),
        "notes": nullable_string("Notes shown to the customer."),
        "terms": nullable_string("Terms shown to the customer."),
        "valid_until": { "type": "string", "format": "date-time", "description": "Until when the customer may accept it (RFC 3339); default: 30 days." },
        "deposit": { "type": ["object", "null"], "description": "A deposit asked on acceptance: {\"percent_ppm\": 250000} (25%) or {\"amount\": 5000} (minor units)." },
    });
    fields.as_object().cloned().unwrap_or_default()
}

fn invoice_fields() -> serde_json::Map<String, Value> {
    let fields = json!({
        "lines": lines(false),
        "notes": nullable_string("Notes shown to the customer."),
        "terms": nullable_string("Terms shown to the customer."),
        "deposit": { "type": "integer", "minimum": 0, "description": "What is asked for first, in minor units." },
        "payment_terms_days": { "type": "integer", "minimum": 0, "maximum": 365, "description": "Days from issue until due; default: the company's terms." },
    });
    fields.as_object().cloned().unwrap_or_default()
}

fn quote_and_version() -> Value {
    json!({ "quote_id": id_property("quote", "list_quotes or create_quote"), "version": version() })
}

fn invoice_and_version() -> Value {
    json!({ "invoice_id": id_property("invoice", "list_invoices or create_invoice"), "version": version() })
}

fn expiry() -> Value {
    json!({ "type": "integer", "minimum": 1, "maximum": 365, "description": "Days until the link stops opening (default 30)." })
}

pub static DOCUMENTS: &[Tool] = &[
    Tool {
        name: "create_quote",
        title: "Draft a quote",
        description: "Drafts a quote for a customer (or a job of theirs), with its lines. \
            Prices are in minor units ($120 is 12000), quantities in thousandths (1 is 1000). \
            The draft is only seen by staff: send_quote marks it sent, then \
            email_or_text_quote sends it to the customer.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || {
            with(
                quote_fields(),
                json!({
                    "customer_id": id_property("customer", "search_customers"),
                    "job_id": string("A job of the customer's this quote is for (see list_jobs); its customer and site are used."),
                    "site_id": string("The site's id (from get_customer); default: the job's site, then the primary one."),
                }),
            )
        },
        required: &["title"],
        plan: |args| {
            let mut call = ApiCall::new("POST", "/api/v1/quotes".into());
            call.body = Some(args.body_without(&[]));
            Ok(call)
        },
    },
    Tool {
        name: "update_quote",
        title: "Change a draft quote",
        description: "Changes a draft quote: title, lines, notes, terms, validity, deposit; \
            only the fields given change. A sent quote must be taken back first \
            (revise_quote). Needs the version from get_quote.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || with(quote_fields(), quote_and_version()),
        required: &["quote_id", "version"],
        plan: |args| on_record("PATCH", &["/api/v1/quotes/"], "quote_id", args, true),
    },
    Tool {
        name: "revise_quote",
        title: "Take a quote back to draft",
        description: "Takes a sent or declined quote back to draft so it can be changed; the \
            customer's link stops offering acceptance until it is sent again.",
        permission: Some(ManageRecords),
        effect: Effect::Consequential,
        properties: quote_and_version,
        required: &["quote_id", "version"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/quotes/", "/revise"],
                "quote_id",
                args,
                false,
            )
        },
    },
    Tool {
        name: "accept_quote",
        title: "Record a quote's acceptance",
        description: "Records that the customer accepted a sent quote (e.g. on the phone), \
            with the option and extras they chose and who accepted. Confirm with the user \
            first. Then convert_quote makes the job and the invoice.",
        permission: Some(ManageRecords),
        effect: Effect::Consequential,
        properties: || with(acceptance_fields(), quote_and_version()),
        required: &["quote_id", "version", "signer_name"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/quotes/", "/accept"],
                "quote_id",
                args,
                true,
            )
        },
    },
    Tool {
        name: "decline_quote",
        title: "Record a quote's refusal",
        description: "Records that the customer declined a sent quote. Confirm with the user \
            first.",
        permission: Some(ManageRecords),
        effect: Effect::Consequential,
        properties: quote_and_version,
        required: &["quote_id", "version"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/quotes/", "/decline"],
                "quote_id",
                args,
                false,
            )
        },
    },
    Tool {
        name: "convert_quote",
        title: "Turn a quote into a job and invoice",
        description: "Turns an accepted quote into a job (unless it has one) and a draft \
            invoice with the chosen lines. Once per quote.",
        permission: Some(ManageRecords),
        effect: Effect::Consequential,
        properties: quote_and_version,
        required: &["quote_id", "version"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/quotes/", "/convert"],
                "quote_id",
                args,
                false,
            )
        },
    },
    Tool {
        name: "delete_quote",
        title: "Delete a draft quote",
        description: "Deletes a draft quote that was never sent. Cannot be undone: confirm \
            with the user first.",
        permission: Some(ManageRecords),
        effect: Effect::Destructive,
        properties: quote_and_version,
        required: &["quote_id", "version"],
        plan: |args| on_record("DELETE", &["/api/v1/quotes/"], "quote_id", args, false),
    },
    Tool {
        name: "share_quote",
        title: "Make a quote's share link",
        description: "Makes a link that shows a sent quote to its customer, where they can \
            accept or decline it. The link (url) is answered once; the result's id and \
            version revoke it (revoke_share_link). To send it, prefer email_or_text_quote.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || json!({ "quote_id": id_property("quote", "list_quotes"), "expires_in_days": expiry() }),
        required: &["quote_id"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/quotes/", "/share"], args, &["quote_id"])?,
            );
            call.body = Some(args.body_without(&["quote_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "create_invoice",
        title: "Draft an invoice",
        description: "Drafts an invoice, for a job (its customer and site are used) or a \
            customer, with its lines in minor units. Issue it with issue_invoice (which \
            gives it its number), then send it with email_or_text_invoice.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || {
            with(
                invoice_fields(),
                json!({
                    "job_id": string("The job invoiced (see list_jobs)."),
                    "customer_id": string("The customer's id (see search_customers); default: the job's customer."),
                    "site_id": string("The site's id (from get_customer)."),
                }),
            )
        },
        required: &[],
        plan: |args| {
            let mut call = ApiCall::new("POST", "/api/v1/invoices".into());
            call.body = Some(args.body_without(&[]));
            Ok(call)
        },
    },
    Tool {
        name: "update_invoice",
        title: "Change a draft invoice",
        description: "Changes a draft invoice's lines, notes, terms, deposit or payment terms; \
            only the fields given change. Issued invoices do not change. Needs the version \
            from get_invoice.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || with(invoice_fields(), invoice_and_version()),
        required: &["invoice_id", "version"],
        plan: |args| on_record("PATCH", &["/api/v1/invoices/"], "invoice_id", args, true),
    },
    Tool {
        name: "issue_invoice",
        title: "Issue an invoice",
        description: "Issues a draft invoice: it takes the next invoice number, is dated now \
            and falls due after its payment terms. It can then only be voided: confirm with \
            the user first.",
        permission: Some(ManageRecords),
        effect: Effect::Consequential,
        properties: invoice_and_version,
        required: &["invoice_id", "version"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/invoices/", "/issue"],
                "invoice_id",
                args,
                false,
            )
        },
    },
    Tool {
        name: "void_invoice",
        title: "Void an invoice",
        description: "Voids an issued invoice that keeps no money (its number stays used). A \
            paid one is reversed with create_credit_note instead. Confirm with the user first.",
        permission: Some(ManageRecords),
        effect: Effect::Destructive,
        properties: invoice_and_version,
        required: &["invoice_id", "version"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/invoices/", "/void"],
                "invoice_id",
                args,
                false,
            )
        },
    },
    Tool {
        name: "create_credit_note",
        title: "Credit a paid invoice",
        description: "Reverses a paid invoice in full with a credit note (numbered on its own, \
            issued at once). Once per invoice. Moves money on the books: confirm with the \
            user first.",
        permission: Some(ManageRecords),
        effect: Effect::Destructive,
        properties: invoice_and_version,
        required: &["invoice_id", "version"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/invoices/", "/credit-note"],
                "invoice_id",
                args,
                false,
            )
        },
    },
    Tool {
        name: "delete_invoice",
        title: "Delete a draft invoice",
        description: "Deletes a draft invoice (issued ones are voided instead). Cannot be \
            undone: confirm with the user first.",
        permission: Some(ManageRecords),
        effect: Effect::Destructive,
        properties: invoice_and_version,
        required: &["invoice_id", "version"],
        plan: |args| on_record("DELETE", &["/api/v1/invoices/"], "invoice_id", args, false),
    },
    Tool {
        name: "share_invoice",
        title: "Make an invoice's share link",
        description: "Makes a link that shows an issued invoice to its customer, where they \
            can pay it. The link (url) is answered once; the result's id and version revoke \
            it (revoke_share_link). To send it, prefer email_or_text_invoice.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || json!({ "invoice_id": id_property("invoice", "list_invoices"), "expires_in_days": expiry() }),
        required: &["invoice_id"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/invoices/", "/share"], args, &["invoice_id"])?,
            );
            call.body = Some(args.body_without(&["invoice_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "revoke_share_link",
        title: "Revoke a share link",
        description: "Stops a share link from opening, at once. Needs the link's id and \
            version from share_quote or share_invoice.",
        permission: Some(ManageRecords),
        effect: Effect::Destructive,
        properties: || json!({ "share_link_id": id_property("share link", "share_quote or share_invoice"), "version": version() }),
        required: &["share_link_id", "version"],
        plan: |args| {
            on_record(
                "DELETE",
                &["/api/v1/share-links/"],
                "share_link_id",
                args,
                false,
            )
        },
    },
];

/// What `accept_quote` takes besides the quote and its version.
fn acceptance_fields() -> serde_json::Map<String, Value> {
    let fields = json!({
        "signer_name": string("Who accepted, e.g. \"Priya Patel\"."),
        "option": nullable_string("The option chosen, for a quote with options (its name, as in get_quote)."),
        "optional_lines": { "type": "array", "items": { "type": "integer", "minimum": 0 }, "description": "The extras ticked: their line indexes (0-based, as in get_quote)." },
    });
    fields.as_object().cloned().unwrap_or_default()
}
