//! The tools themselves. Descriptions are written for a model: what the tool is for, what to
//! call first to find the ids it needs, and what a conflict means.

use crate::json;
use serde_json::Value;

use super::{encode, ApiCall, ArgError, Args, Effect, Tool};
use crate::domain::auth::permissions::Permission::*;
use crate::domain::files::Parent;

const VERSION: &str = "The record's version as last read (from get_* or list_* results). \
    If someone changed the record since, the call fails with a conflict carrying the current \
    record: re-read, re-apply the change, retry with the new version.";

pub(super) fn path(template: &[&str], args: &Args, ids: &[&str]) -> Result<String, ArgError> {
    let mut out = String::new();
    let mut ids = ids.iter();
    for part in template {
        out.push_str(part);
        if let Some(name) = ids.next() {
            out.push_str(&encode(&args.id(name)?));
        }
    }
    Ok(out)
}

/// A call on one record named by the argument `id` (spliced between the `template`'s parts),
/// naming the version the caller read; the remaining arguments are the body when `body`.
pub(super) fn on_record(
    method: &'static str,
    template: &[&str],
    id: &str,
    args: &Args,
    body: bool,
) -> Result<ApiCall, ArgError> {
    let mut call = ApiCall::new(method, path(template, args, &[id])?);
    call.version = Some(args.version()?);
    if body {
        call.body = Some(args.body_without(&[id, "version"]));
    }
    Ok(call)
}

pub(super) fn id_property(what: &str, found_by: &str) -> Value {
    json!({ "type": "string", "description": format!("The {what}'s id, as returned by {found_by}. Never guess it.") })
}

pub(super) fn string(description: &str) -> Value {
    json!({ "type": "string", "description": description })
}

pub(super) fn nullable_string(description: &str) -> Value {
    json!({ "type": ["string", "null"], "description": description })
}

fn time(description: &str) -> Value {
    json!({ "type": "string", "format": "date-time", "description": description })
}

fn strings(description: &str) -> Value {
    json!({ "type": "array", "items": { "type": "string" }, "description": description })
}

pub(super) fn version() -> Value {
    json!({ "type": "integer", "minimum": 1, "description": VERSION })
}

fn limit() -> Value {
    json!({ "type": "integer", "minimum": 1, "maximum": 100, "description": "How many results at most (default 50)." })
}

fn cursor() -> Value {
    string("The next_cursor of a previous page, to continue the listing.")
}

fn customer_fields() -> serde_json::Map<String, Value> {
    let fields = json!({
        "name": string("The customer's name, e.g. \"Ann Lee\"."),
        "company": nullable_string("The customer's company, if a business."),
        "emails": strings("Email addresses; the first is the main one."),
        "phones": strings("Phone numbers in international E.164 form, e.g. \"+14155550123\"."),
        "tags": strings("Short labels, e.g. \"vip\", \"landlord\"."),
        "notes": nullable_string("Free notes about the customer."),
        "preferred_contact": string("How they like to be reached: \"email\", \"phone\" or \"sms\"."),
    });
    fields.as_object().cloned().unwrap_or_default()
}

fn site_fields() -> serde_json::Map<String, Value> {
    let fields = json!({
        "line1": string("Street address, e.g. \"12 Canal St\"."),
        "line2": nullable_string("Apartment, floor, unit."),
        "city": nullable_string("The town or city."),
        "region": nullable_string("State, province or county."),
        "postal_code": nullable_string("Postal or ZIP code."),
        "country": nullable_string("Two-letter country code, e.g. \"US\"."),
        "label": nullable_string("A name for the site, e.g. \"Rental flat\"."),
        "access_notes": nullable_string("How to get in: gate codes, keys, dogs."),
        "is_primary": { "type": "boolean", "description": "Make this the customer's primary site." },
    });
    fields.as_object().cloned().unwrap_or_default()
}

fn job_fields() -> serde_json::Map<String, Value> {
    let fields = json!({
        "title": string("A short title, e.g. \"Boiler service\"."),
        "description": nullable_string("What is to be done, in detail."),
        "priority": { "type": "string", "enum": ["low", "normal", "high", "urgent"], "description": "How urgent the job is (default normal)." },
        "technician_ids": strings("User ids of the technicians assigned (see list_team). Replaces the whole list."),
        "items": {
            "type": "array",
            "description": "Work done and parts used. Replaces the whole list: send it back edited.",
            "items": {
                "type": "object",
                "properties": {
                    "kind": { "type": "string", "enum": ["work", "part"] },
                    "description": { "type": "string" },
                    "quantity_milli": { "type": "integer", "description": "Quantity in thousandths: 1.5 hours is 1500." },
                    "unit": { "type": "string", "description": "e.g. \"h\", \"m\", \"pcs\"." }
                },
                "required": ["kind", "description", "quantity_milli"],
                "additionalProperties": false
            }
        },
    });
    fields.as_object().cloned().unwrap_or_default()
}

/// The most a file sent through a tool may weigh: its base64 travels in one JSON-RPC body,
/// held several times over while it is decoded and handed to the upload.
pub const MAX_TOOL_FILE_BYTES: usize = 10 * 1024 * 1024;

/// What files may be attached to, as a tool names it.
const FILE_PARENTS: [Parent; 6] = [
    Parent::Job,
    Parent::Visit,
    Parent::Customer,
    Parent::Site,
    Parent::Quote,
    Parent::Invoice,
];

fn parent_property() -> Value {
    let kinds: Vec<&str> = FILE_PARENTS.iter().map(|p| p.as_str()).collect();
    json!({ "type": "string", "enum": kinds, "description": "What kind of record the file is on." })
}

/// `/api/v1/{parent}s/{parent_id}/files`.
fn files_path(args: &Args) -> Result<String, ArgError> {
    let kind = args.id("parent")?;
    let parent = FILE_PARENTS
        .into_iter()
        .find(|p| p.as_str() == kind)
        .ok_or_else(|| {
            ArgError(
                "The argument parent must be one of job, visit, customer, site, quote, invoice."
                    .into(),
            )
        })?;
    path(
        &[&format!("/api/v1/{}s/", parent.as_str()), "/files"],
        args,
        &["parent_id"],
    )
}

/// A file's base64 content, within [`MAX_TOOL_FILE_BYTES`] (whitespace and line breaks
/// ignored, as encoders wrap lines).
fn decode_file(text: &str) -> Result<Vec<u8>, ArgError> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.len() > MAX_TOOL_FILE_BYTES.div_ceil(3) * 4 {
        return Err(ArgError(format!(
            "The file is over the {} MiB a tool can attach; upload it from the dashboard or the \
             API instead.",
            MAX_TOOL_FILE_BYTES >> 20
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| {
            ArgError(format!(
                "The argument content_base64 is not valid base64 ({e}): send the file's bytes \
                 base64-encoded with the standard alphabet and padding."
            ))
        })?;
    if bytes.len() > MAX_TOOL_FILE_BYTES {
        return Err(ArgError(format!(
            "The file is over the {} MiB a tool can attach.",
            MAX_TOOL_FILE_BYTES >> 20
        )));
    }
    Ok(bytes)
}

pub(super) fn with(mut base: serde_json::Map<String, Value>, extra: Value) -> Value {
    if let Value::Object(extra) = extra {
        base.extend(extra);
    }
    Value::Object(base)
}

pub static CATALOGUE: &[Tool] = &[
    Tool {
        name: "whoami",
        title: "Who am I",
        description: "Returns the signed-in user: id, name, email, role and permissions. Use it \
            to learn your own user id (e.g. to list your own visits) and what you may do.",
        permission: None,
        effect: Effect::Read,
        properties: || json!({}),
        required: &[],
        plan: |_| Ok(ApiCall::new("GET", "/api/v1/me".into())),
    },
    Tool {
        name: "list_team",
        title: "List the team",
        description: "Lists the company's users with their ids, names, roles and whether they \
            are active. Use it to find a technician's user id before assigning work.",
        permission: Some(ViewUsers),
        effect: Effect::Read,
        properties: || json!({}),
        required: &[],
        plan: |_| Ok(ApiCall::new("GET", "/api/v1/users".into())),
    },
    Tool {
        name: "search_customers",
        title: "Search customers",
        description: "Finds customers by name, company, email or phone (any part of it), \
            newest first. Returns each customer's id, contact details and version. Call this \
            before any tool that needs a customer_id.",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || {
            json!({
                "query": string("Text to look for in name, company, email or phone. Omit to list all."),
                "limit": limit(),
                "cursor": cursor(),
            })
        },
        required: &[],
        plan: |args| {
            let mut call = ApiCall::new("GET", "/api/v1/customers".into());
            call.query = args.query(&[("query", "q"), ("limit", "limit"), ("cursor", "cursor")])?;
            Ok(call)
        },
    },
    Tool {
        name: "get_customer",
        title: "Get a customer",
        description: "Returns one customer with all their sites (service addresses, the \
            primary one marked) and the version to name when changing it.",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || json!({ "customer_id": id_property("customer", "search_customers") }),
        required: &["customer_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/customers/"], args, &["customer_id"])?,
            ))
        },
    },
    Tool {
        name: "create_customer",
        title: "Create a customer",
        description: "Creates a customer. Search first (search_customers) so the same person \
            is not created twice. Add a service address with add_site before creating jobs.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || Value::Object(customer_fields()),
        required: &["name"],
        plan: |args| {
            let mut call = ApiCall::new("POST", "/api/v1/customers".into());
            call.body = Some(args.body_without(&[]));
            Ok(call)
        },
    },
    Tool {
        name: "update_customer",
        title: "Update a customer",
        description: "Changes a customer's details: only the fields given change (null clears \
            an optional one). Needs the version from get_customer or search_customers.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || {
            with(
                customer_fields(),
                json!({ "customer_id": id_property("customer", "search_customers"), "version": version() }),
            )
        },
        required: &["customer_id", "version"],
        plan: |args| on_record("PATCH", &["/api/v1/customers/"], "customer_id", args, true),
    },
    Tool {
        name: "add_site",
        title: "Add a service address",
        description: "Adds a service address (site) to a customer. The first site becomes the \
            primary one; jobs are done at a site.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || {
            with(
                site_fields(),
                json!({ "customer_id": id_property("customer", "search_customers") }),
            )
        },
        required: &["customer_id", "line1"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/customers/", "/sites"], args, &["customer_id"])?,
            );
            call.body = Some(args.body_without(&["customer_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "update_site",
        title: "Change a service address",
        description: "Changes a site's address, label or access notes, or makes it the \
            primary one: only the fields given change. Needs the site's id and version from \
            get_customer.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || {
            with(
                site_fields(),
                json!({ "site_id": id_property("site", "get_customer"), "version": version() }),
            )
        },
        required: &["site_id", "version"],
        plan: |args| on_record("PATCH", &["/api/v1/sites/"], "site_id", args, true),
    },
    Tool {
        name: "archive_customer",
        title: "Archive a customer",
        description: "Archives a customer: they leave the lists and searches, their history \
            stays. Confirm with the user first. Needs the version from get_customer.",
        permission: Some(ManageRecords),
        effect: Effect::Destructive,
        properties: || json!({ "customer_id": id_property("customer", "search_customers"), "version": version() }),
        required: &["customer_id", "version"],
        plan: |args| {
            on_record(
                "DELETE",
                &["/api/v1/customers/"],
                "customer_id",
                args,
                false,
            )
        },
    },
    Tool {
        name: "list_jobs",
        title: "List jobs",
        description: "Lists jobs, newest first, optionally by status, technician or customer. \
            Technicians see only jobs assigned to them. Returns ids, numbers, titles, \
            statuses and versions.",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || {
            json!({
                "status": { "type": "string", "enum": ["requested", "scheduled", "in_progress", "completed", "on_hold", "cancelled"], "description": "Only jobs in this status." },
                "technician_id": string("Only jobs assigned to this user id (see list_team)."),
                "customer_id": string("Only jobs of this customer id (see search_customers)."),
                "created_from": time("Only jobs created at or after this time (RFC 3339)."),
                "created_before": time("Only jobs created before this time (RFC 3339)."),
                "number": { "type": "integer", "minimum": 1, "description": "Only the job with this number (what people call \"job 42\")." },
                "limit": limit(),
                "cursor": cursor(),
            })
        },
        required: &[],
        plan: |args| {
            let mut call = ApiCall::new("GET", "/api/v1/jobs".into());
            call.query = args.query(&[
                ("status", "status"),
                ("technician_id", "technician"),
                ("customer_id", "customer"),
                ("created_from", "created_from"),
                ("created_before", "created_before"),
                ("number", "number"),
                ("limit", "limit"),
                ("cursor", "cursor"),
            ])?;
            Ok(call)
        },
    },
    Tool {
        name: "get_job",
        title: "Get a job",
        description: "Returns one job: customer, site, status, priority, technicians, work and \
            parts, notes, and the version to name when changing it.",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || json!({ "job_id": id_property("job", "list_jobs") }),
        required: &["job_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/jobs/"], args, &["job_id"])?,
            ))
        },
    },
    Tool {
        name: "create_job",
        title: "Create a job",
        description: "Creates a job (status requested) for a customer at one of their sites \
            (the primary site when site_id is omitted). Schedule it with schedule_visit.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || {
            with(
                job_fields(),
                json!({
                    "customer_id": id_property("customer", "search_customers"),
                    "site_id": string("The site's id (from get_customer); default: the primary site."),
                }),
            )
        },
        required: &["customer_id", "title"],
        plan: |args| {
            let mut call = ApiCall::new("POST", "/api/v1/jobs".into());
            call.body = Some(args.body_without(&[]));
            Ok(call)
        },
    },
    Tool {
        name: "update_job",
        title: "Update a job",
        description: "Changes a job's title, description, priority, technicians, or its work \
            and parts list. Only the fields given change. Technicians may change only items \
            (work and parts). Status changes go through change_job_status.",
        permission: Some(WorkOnJobs),
        effect: Effect::Write,
        properties: || {
            with(
                job_fields(),
                json!({ "job_id": id_property("job", "list_jobs"), "version": version() }),
            )
        },
        required: &["job_id", "version"],
        plan: |args| on_record("PATCH", &["/api/v1/jobs/"], "job_id", args, true),
    },
    Tool {
        name: "change_job_status",
        title: "Change a job's status",
        description: "Moves a job through its status machine: requested → scheduled → \
            in_progress → completed, plus on_hold and cancelled. An illegal move is refused \
            and the refusal names the statuses allowed from the current one.",
        permission: Some(WorkOnJobs),
        effect: Effect::Consequential,
        properties: || {
            json!({
                "job_id": id_property("job", "list_jobs"),
                "version": version(),
                "status": { "type": "string", "enum": ["requested", "scheduled", "in_progress", "completed", "on_hold", "cancelled"], "description": "The new status." },
            })
        },
        required: &["job_id", "version", "status"],
        plan: |args| on_record("POST", &["/api/v1/jobs/", "/status"], "job_id", args, true),
    },
    Tool {
        name: "add_job_note",
        title: "Add a note to a job",
        description: "Appends a note to a job (notes are never edited). Use it to record what \
            was found or agreed on site.",
        permission: Some(WorkOnJobs),
        effect: Effect::Write,
        properties: || {
            json!({
                "job_id": id_property("job", "list_jobs"),
                "text": string("The note, up to 5 000 characters."),
            })
        },
        required: &["job_id", "text"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/jobs/", "/notes"], args, &["job_id"])?,
            );
            call.body = Some(args.body_without(&["job_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "job_timeline",
        title: "A job's history",
        description: "Everything that happened to a job, oldest first: who created, changed, \
            moved, scheduled or noted it, and when.",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || json!({ "job_id": id_property("job", "list_jobs") }),
        required: &["job_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/jobs/", "/timeline"], args, &["job_id"])?,
            ))
        },
    },
    Tool {
        name: "list_files",
        title: "List a record's files",
        description: "Lists the photos and documents on a job, visit, customer, site, quote or \
            invoice, newest first: each file's id, name, type, size, who uploaded it and its \
            malware scan status (clean files have a url; pending ones wait for the scanner; \
            rejected ones are quarantined and never served).",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || {
            json!({
                "parent": parent_property(),
                "parent_id": string("The id of that record, as returned by its list_* or get_* tool. Never guess it."),
            })
        },
        required: &["parent", "parent_id"],
        plan: |args| Ok(ApiCall::new("GET", files_path(args)?)),
    },
    Tool {
        name: "get_file",
        title: "A file's record",
        description: "Returns one file's record: name, type (told by its bytes), size, SHA-256, \
            what it is attached to, who uploaded it and through what, and its malware scan \
            status. Call list_files first to find the file_id.",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || json!({ "file_id": id_property("file", "list_files or attach_file") }),
        required: &["file_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/files/"], args, &["file_id"])?,
            ))
        },
    },
    Tool {
        name: "attach_file",
        title: "Attach a file",
        description: "Attaches a photo (JPEG, PNG, WebP, HEIC) or a PDF to a job, visit, \
            customer, site, quote or invoice. The content is base64; its type is told by its \
            bytes, not its name. Every file is scanned for malware before anyone can open it: \
            the result's status is clean, pending (waiting for the scanner) or the call fails \
            because malware was found. At most 10 MiB here, and the company's upload limit.",
        permission: Some(WorkOnJobs),
        effect: Effect::Write,
        properties: || {
            json!({
                "parent": parent_property(),
                "parent_id": string("The id of that record, as returned by its list_* or get_* tool. Never guess it."),
                "name": string("The file's name, e.g. \"boiler.jpg\"."),
                "content_base64": string("The file's bytes, base64-encoded (standard alphabet, with padding)."),
            })
        },
        required: &["parent", "parent_id", "name", "content_base64"],
        plan: |args| {
            let mut call = ApiCall::new("POST", files_path(args)?);
            call.query = args.query(&[("name", "name")])?;
            call.bytes = Some(decode_file(&args.id("content_base64")?)?);
            Ok(call)
        },
    },
    Tool {
        name: "delete_file",
        title: "Delete a file",
        description: "Deletes a file from its record (kept 30 days, then purged). \
            Technicians may delete only what they attached. Needs the version from get_file \
            or list_files; confirm with the user first.",
        permission: Some(WorkOnJobs),
        effect: Effect::Destructive,
        properties: || json!({ "file_id": id_property("file", "list_files"), "version": version() }),
        required: &["file_id", "version"],
        plan: |args| on_record("DELETE", &["/api/v1/files/"], "file_id", args, false),
    },
    Tool {
        name: "list_customer_messages",
        title: "A customer's text conversation",
        description: "The texts exchanged with a customer, oldest first: theirs and the \
            company's replies with each one's delivery (queued, sent, delivered, failed), and \
            whether they opted out of automatic texts.",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || json!({ "customer_id": id_property("customer", "search_customers") }),
        required: &["customer_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/customers/", "/messages"], args, &["customer_id"])?,
            ))
        },
    },
    Tool {
        name: "text_customer",
        title: "Text a customer",
        description: "Sends the customer a text message (SMS) in the company's name, to the \
            number they last wrote from (else their first). It reaches the customer: confirm \
            the exact words with the user first. To send a quote or invoice, use \
            email_or_text_quote or email_or_text_invoice (they carry its link).",
        permission: Some(ManageRecords),
        effect: Effect::Sends,
        properties: || {
            json!({
                "customer_id": id_property("customer", "search_customers"),
                "body": string("The text, as the customer will read it."),
            })
        },
        required: &["customer_id", "body"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/customers/", "/messages"], args, &["customer_id"])?,
            );
            call.body = Some(args.body_without(&["customer_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "list_visits",
        title: "List visits (the schedule)",
        description: "Lists scheduled visits overlapping a time range, by start time, with \
            their job, technicians and version. The range is at most 62 days. For \"today\" pass \
            the day's start and end in the company's time zone as RFC 3339. Technicians see \
            only their own visits.",
        permission: Some(ViewRecords),
        effect: Effect::Read,
        properties: || {
            json!({
                "from": time("Start of the range (RFC 3339, e.g. 2026-12-03T00:00:00-05:00)."),
                "to": time("End of the range (RFC 3339)."),
                "technician_id": string("Only visits of this user id."),
                "job_id": string("Only visits of this job id."),
            })
        },
        required: &["from", "to"],
        plan: |args| {
            let mut call = ApiCall::new("GET", "/api/v1/visits".into());
            call.query = args.query(&[
                ("from", "from"),
                ("to", "to"),
                ("technician_id", "technician"),
                ("job_id", "job"),
            ])?;
            Ok(call)
        },
    },
    Tool {
        name: "schedule_visit",
        title: "Schedule a visit",
        description: "Books a visit (an appointment) for a job, with the job's technicians \
            unless others are named. Refused with the clashing visits if a technician is \
            already booked then, unless allow_conflict is true. A recurrence books a series.",
        permission: Some(ManageRecords),
        effect: Effect::Write,
        properties: || {
            json!({
                "job_id": id_property("job", "list_jobs"),
                "start": time("When the visit starts (RFC 3339 with offset)."),
                "end": time("When it ends (RFC 3339 with offset)."),
                "technician_ids": strings("Who goes (user ids); default: the job's technicians."),
                "allow_conflict": { "type": "boolean", "description": "Book even if a technician is double-booked (only when the user says so)." },
                "recurrence": {
                    "type": "object",
                    "description": "Repeat the visit: every interval days/weeks/months, until a time or for a count.",
                    "properties": {
                        "frequency": { "type": "string", "enum": ["daily", "weekly", "monthly"] },
                        "interval": { "type": "integer", "minimum": 1, "maximum": 365 },
                        "until": { "type": "string", "format": "date-time" },
                        "count": { "type": "integer", "minimum": 1, "maximum": 366 }
                    },
                    "required": ["frequency"],
                    "additionalProperties": false
                },
            })
        },
        required: &["job_id", "start", "end"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/jobs/", "/visits"], args, &["job_id"])?,
            );
            call.body = Some(args.body_without(&["job_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "reschedule_visit",
        title: "Reschedule a visit",
        description: "Moves a visit to a new start and end, and/or changes who works it. \
            Needs the visit's version from list_visits. Refused with the clashing visits if a \
            technician would be double-booked, unless allow_conflict is true. Technicians may \
            move their own visits but not change who works them.",
        permission: Some(WorkOnJobs),
        effect: Effect::Write,
        properties: || {
            json!({
                "visit_id": id_property("visit", "list_visits"),
                "version": version(),
                "start": time("The new start (RFC 3339 with offset)."),
                "end": time("The new end (RFC 3339 with offset)."),
                "technician_ids": strings("Who works it now (user ids)."),
                "allow_conflict": { "type": "boolean", "description": "Move even if a technician is double-booked (only when the user says so)." },
            })
        },
        required: &["visit_id", "version"],
        plan: |args| on_record("PATCH", &["/api/v1/visits/"], "visit_id", args, true),
    },
    Tool {
        name: "change_visit_status",
        title: "Change a visit's status",
        description: "Moves a visit along its day: en_route (on my way), in_progress \
            (arrived), completed, cancelled (kept on record; only those who manage the \
            schedule), or back to scheduled. The job follows: arriving starts it, cancelling \
            every visit of a scheduled job returns it to requested, and completing the last \
            open visit completes the job when the company says so — otherwise the answer's \
            offer_job_completion says to ask the user whether to complete the job \
            (change_job_status). Needs the visit's version from list_visits. A refused move \
            names the allowed ones.",
        permission: Some(WorkOnJobs),
        effect: Effect::Consequential,
        properties: || {
            json!({
                "visit_id": id_property("visit", "list_visits"),
                "version": version(),
                "status": { "type": "string", "enum": ["scheduled", "en_route", "in_progress", "completed", "cancelled"], "description": "The new status." },
            })
        },
        required: &["visit_id", "version", "status"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/visits/", "/status"], args, &["visit_id"])?,
            );
            call.version = Some(args.version()?);
            call.body = Some(args.body_without(&["visit_id", "version"]));
            Ok(call)
        },
    },
    Tool {
        name: "cancel_visit",
        title: "Delete a visit",
        description: "Deletes a visit booked by mistake (the audit trail keeps what it was). \
            To cancel a real appointment and keep it on record, use change_visit_status with \
            cancelled instead. Confirm with the user first. Needs the visit's version from \
            list_visits.",
        permission: Some(ManageRecords),
        effect: Effect::Destructive,
        properties: || json!({ "visit_id": id_property("visit", "list_visits"), "version": version() }),
        required: &["visit_id", "version"],
        plan: |args| on_record("DELETE", &["/api/v1/visits/"], "visit_id", args, false),
    },
    Tool {
        name: "list_quotes",
        title: "List quotes",
        description: "Lists quotes, newest first, optionally by status (draft, sent, viewed, \
            accepted, declined, expired) or customer. Returns ids, numbers, titles, totals and \
            versions.",
        permission: Some(ViewMoney),
        effect: Effect::Read,
        properties: || {
            json!({
                "status": { "type": "string", "enum": ["draft", "sent", "viewed", "accepted", "declined", "expired"], "description": "Only quotes in this status." },
                "customer_id": string("Only quotes of this customer id (see search_customers)."),
                "limit": limit(),
                "cursor": cursor(),
            })
        },
        required: &[],
        plan: |args| {
            let mut call = ApiCall::new("GET", "/api/v1/quotes".into());
            call.query = args.query(&[
                ("status", "status"),
                ("customer_id", "customer"),
                ("limit", "limit"),
                ("cursor", "cursor"),
            ])?;
            Ok(call)
        },
    },
    Tool {
        name: "get_quote",
        title: "Get a quote",
        description: "Returns one quote: lines (with options and extras), totals per option, \
            deposit, validity, status, the acceptance if any, and its version.",
        permission: Some(ViewMoney),
        effect: Effect::Read,
        properties: || json!({ "quote_id": id_property("quote", "list_quotes") }),
        required: &["quote_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/quotes/"], args, &["quote_id"])?,
            ))
        },
    },
    Tool {
        name: "send_quote",
        title: "Send a quote",
        description: "Marks a draft quote sent: its lines are then fixed and the customer can \
            accept it. It does not reach the customer by itself: email_or_text_quote does. \
            Needs the version from get_quote or create_quote.",
        permission: Some(ManageRecords),
        effect: Effect::Consequential,
        properties: || json!({ "quote_id": id_property("quote", "list_quotes"), "version": version() }),
        required: &["quote_id", "version"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/quotes/", "/send"],
                "quote_id",
                args,
                false,
            )
        },
    },
    Tool {
        name: "tell_customer_on_my_way",
        title: "Tell the customer you are on the way",
        description: "Sends the job's customer the company's \"on my way\" message with the \
            caller's name and ETA in minutes, by their preferred contact. Refused when that \
            message is switched off or the customer opted out of automatic messages.",
        permission: Some(WorkOnJobs),
        effect: Effect::Sends,
        properties: || {
            json!({
                "job_id": id_property("job", "list_jobs"),
                "eta_minutes": { "type": "integer", "minimum": 1, "maximum": 600, "description": "Minutes until arrival." },
            })
        },
        required: &["job_id", "eta_minutes"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/jobs/", "/on-my-way"], args, &["job_id"])?,
            );
            call.body = Some(args.body_without(&["job_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "email_or_text_quote",
        title: "Send a quote to the customer",
        description: "Sends a sent quote to its customer by email (with a link to view and \
            accept it) and/or SMS (the link): by their preferred contact unless `via` says. \
            A draft must be marked sent first (send_quote). It reaches the customer: confirm \
            with the user first. Each delivery's outcome shows in list_quote_deliveries.",
        permission: Some(ManageRecords),
        effect: Effect::Sends,
        properties: || {
            json!({
                "quote_id": id_property("quote", "list_quotes"),
                "via": { "type": "string", "enum": ["preferred", "email", "sms", "both"], "description": "How to send it; the customer's preferred contact when left out." },
            })
        },
        required: &["quote_id"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/quotes/", "/deliveries"], args, &["quote_id"])?,
            );
            call.body = Some(args.body_without(&["quote_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "list_quote_deliveries",
        title: "Deliveries of a quote",
        description: "Lists how a quote was sent to its customer: channel, address, and whether \
            each went out (queued, sent, failed with the reason, unknown).",
        permission: Some(ViewMoney),
        effect: Effect::Read,
        properties: || json!({ "quote_id": id_property("quote", "list_quotes") }),
        required: &["quote_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/quotes/", "/deliveries"], args, &["quote_id"])?,
            ))
        },
    },
    Tool {
        name: "email_or_text_invoice",
        title: "Send an invoice to the customer",
        description: "Sends an issued invoice to its customer by email (with a link to view and \
            pay it) and/or SMS (the link): by their preferred contact unless `via` says. It \
            reaches the customer: confirm with the user first. Each delivery's outcome shows \
            in list_invoice_deliveries.",
        permission: Some(ManageRecords),
        effect: Effect::Sends,
        properties: || {
            json!({
                "invoice_id": id_property("invoice", "list_invoices"),
                "via": { "type": "string", "enum": ["preferred", "email", "sms", "both"], "description": "How to send it; the customer's preferred contact when left out." },
            })
        },
        required: &["invoice_id"],
        plan: |args| {
            let mut call = ApiCall::new(
                "POST",
                path(&["/api/v1/invoices/", "/deliveries"], args, &["invoice_id"])?,
            );
            call.body = Some(args.body_without(&["invoice_id"]));
            Ok(call)
        },
    },
    Tool {
        name: "list_invoice_deliveries",
        title: "Deliveries of an invoice",
        description: "Lists how an invoice was sent to its customer: channel, address, and \
            whether each went out (queued, sent, failed with the reason, unknown).",
        permission: Some(ViewMoney),
        effect: Effect::Read,
        properties: || json!({ "invoice_id": id_property("invoice", "list_invoices") }),
        required: &["invoice_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/invoices/", "/deliveries"], args, &["invoice_id"])?,
            ))
        },
    },
    Tool {
        name: "list_invoices",
        title: "List invoices",
        description: "Lists invoices, newest first, optionally by status (draft, issued, \
            partially_paid, paid, overdue, void), customer or job. Returns ids, numbers, \
            totals, balances and versions.",
        permission: Some(ViewMoney),
        effect: Effect::Read,
        properties: || {
            json!({
                "status": { "type": "string", "enum": ["draft", "issued", "partially_paid", "paid", "overdue", "void"], "description": "Only invoices in this status." },
                "customer_id": string("Only invoices of this customer id (see search_customers)."),
                "job_id": string("Only invoices of this job id (see list_jobs)."),
                "limit": limit(),
                "cursor": cursor(),
            })
        },
        required: &[],
        plan: |args| {
            let mut call = ApiCall::new("GET", "/api/v1/invoices".into());
            call.query = args.query(&[
                ("status", "status"),
                ("customer_id", "customer"),
                ("job_id", "job"),
                ("limit", "limit"),
                ("cursor", "cursor"),
            ])?;
            Ok(call)
        },
    },
    Tool {
        name: "get_invoice",
        title: "Get an invoice",
        description: "Returns one invoice: lines, totals, payments, balance, what is due now, \
            due date, status and version.",
        permission: Some(ViewMoney),
        effect: Effect::Read,
        properties: || json!({ "invoice_id": id_property("invoice", "list_invoices") }),
        required: &["invoice_id"],
        plan: |args| {
            Ok(ApiCall::new(
                "GET",
                path(&["/api/v1/invoices/"], args, &["invoice_id"])?,
            ))
        },
    },
    Tool {
        name: "record_payment",
        title: "Record a payment",
        description: "Records money received against an issued invoice (cash, check, bank \
            transfer, card taken in person), or with kind refund money given back. At most \
            the balance (a refund: at most what was paid). Moves money on the books: \
            confirm the amount and method with the user first. Needs the invoice's version.",
        permission: Some(ManageRecords),
        effect: Effect::Destructive,
        properties: || {
            json!({
                "invoice_id": id_property("invoice", "list_invoices"),
                "version": version(),
                "kind": { "type": "string", "enum": ["payment", "refund"], "description": "A payment received (default) or money given back." },
                "amount": { "type": "integer", "minimum": 1, "description": "In the currency's minor units: $12.50 is 1250." },
                "method": { "type": "string", "enum": ["card", "cash", "check", "bank", "other"], "description": "How it was paid." },
                "reference": string("A check number, transfer reference or note."),
            })
        },
        required: &["invoice_id", "version", "amount", "method"],
        plan: |args| {
            on_record(
                "POST",
                &["/api/v1/invoices/", "/payments"],
                "invoice_id",
                args,
                true,
            )
        },
    },
    Tool {
        name: "list_audit_events",
        title: "Read the audit trail",
        description: "Lists audited changes, newest first: who (actor kind and user id), what \
            (action, entity, id), when, from where, with before/after values. Filter by \
            action (e.g. job.updated), entity (customer, job, visit, user…) or entity id.",
        permission: Some(ViewAudit),
        effect: Effect::Read,
        properties: || {
            json!({
                "action": string("Only this action, e.g. \"visit.moved\"."),
                "entity": string("Only this kind of record, e.g. \"job\"."),
                "entity_id": string("Only changes to this record id."),
                "actor_id": string("Only changes made by this user id."),
                "since": time("Only changes at or after this time (RFC 3339)."),
                "limit": limit(),
                "cursor": cursor(),
            })
        },
        required: &[],
        plan: |args| {
            let mut call = ApiCall::new("GET", "/api/v1/audit".into());
            call.query = args.query(&[
                ("action", "action"),
                ("entity", "entity"),
                ("entity_id", "entity_id"),
                ("actor_id", "actor_id"),
                ("since", "since"),
                ("limit", "limit"),
                ("cursor", "cursor"),
            ])?;
            Ok(call)
        },
    },
];
