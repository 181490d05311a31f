//! Jobs and their notes as the API shows them.

use crate::json;
use serde_json::Value;

use crate::db::jobs::{JobRow, NoteRow};
use crate::domain::jobs::Job;

pub fn job_view(row: &JobRow) -> Value {
    json!({
        "id": row.id,
        "number": row.number,
        "customer_id": row.customer_id,
        "site_id": row.site_id,
        "title": row.title,
        "description": row.description,
        "priority": row.priority,
        "status": row.status,
        "technician_ids": row.technicians(),
        "worker_ids": row.workers(),
        "items": row.items(),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

pub fn note_view(row: &NoteRow) -> Value {
    json!({ "id": row.id, "author_id": row.author_id, "text": row.text, "created_at": row.created_at })
}

/// The audit trail's picture of a job's own fields.
pub fn job_audit(job: &Job) -> Value {
    json!({
        "title": job.title,
        "description": job.description,
        "priority": job.priority.as_str(),
        "technician_ids": job.technician_ids,
        "items": job.items,
    })
}
