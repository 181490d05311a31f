//! Jobs, their technicians and notes.

use serde::Deserialize;

use crate::domain::jobs::{Job, LineItem};
use crate::sql;
use crate::write::Sql;

/// Everyone who works job `$job` (an SQL expression), as a subquery of `user_id`s: those
/// assigned to it and those on its visits that are not cancelled. The one rule for "the job's
/// technicians": the API, the pages, the tools and what a technician may see all read it.
macro_rules! job_workers {
    ($job:literal) => {
        concat!(
            "SELECT jt.user_id FROM job_technicians jt WHERE jt.job_id = ",
            $job,
            " UNION SELECT vt.user_id FROM visits wv JOIN visit_technicians vt ",
            "ON vt.visit_id = wv.id WHERE wv.job_id = ",
            $job,
            " AND wv.status <> 'cancelled'"
        )
    };
}
pub(crate) use job_workers;

/// A job with its assigned technicians and everyone who works it (JSON arrays).
pub const SELECT_BY_ID: &str = concat!(
    "SELECT j.id, j.number, j.customer_id, j.site_id, j.title, ",
    "j.description, j.priority, j.status, j.items, j.version, j.created_at, j.updated_at, ",
    "(SELECT json_group_array(t.user_id) FROM job_technicians t WHERE t.job_id = j.id) ",
    "AS technician_ids, (SELECT json_group_array(user_id) FROM (",
    job_workers!("j.id"),
    ")) AS worker_ids FROM jobs j WHERE j.id = ?1"
);

/// Newest first, filtered; ?1 status, ?2 technician, ?3 customer, ?4 created from (RFC 3339),
/// ?5 created before, ?6/?7 cursor (created_at, id), ?8 limit, ?9 the job's number.
/// Each row comes with its wire form rendered by SQLite (`view`, the fields and order of
/// `views::jobs::job_view`, held equal by the jobs tests), so a page of 50 jobs costs the
/// Worker no per-field work: the list is the hot read.
pub const SELECT_PAGE: &str = concat!(
    "SELECT j.created_at, j.id, json_object(",
    "'id', j.id, 'number', j.number, 'customer_id', j.customer_id, 'site_id', j.site_id, ",
    "'title', j.title, 'description', j.description, 'priority', j.priority, ",
    "'status', j.status, ",
    "'technician_ids', json((SELECT json_group_array(t.user_id) FROM job_technicians t ",
    "WHERE t.job_id = j.id)), ",
    "'worker_ids', json((SELECT json_group_array(user_id) FROM (",
    job_workers!("j.id"),
    "))), ",
    "'items', json(j.items), 'version', j.version, 'created_at', j.created_at, ",
    "'updated_at', j.updated_at) AS view ",
    "FROM jobs j ",
    "WHERE (?1 IS NULL OR j.status = ?1) ",
    "AND (?2 IS NULL OR ?2 IN (",
    job_workers!("j.id"),
    ")) ",
    "AND (?3 IS NULL OR j.customer_id = ?3) ",
    "AND (?4 IS NULL OR j.created_at >= ?4) AND (?5 IS NULL OR j.created_at < ?5) ",
    "AND (?6 IS NULL OR j.created_at < ?6 OR (j.created_at = ?6 AND j.id < ?7)) ",
    "AND (?9 IS NULL OR j.number = ?9) ",
    "ORDER BY j.created_at DESC, j.id DESC LIMIT ?8"
);

/// A row of [`SELECT_PAGE`]: the cursor's columns and the job as JSON text.
#[derive(Debug, Deserialize)]
pub struct PageRow {
    pub created_at: String,
    pub id: String,
    pub view: String,
}

/// Only at a site of the (live) customer; the number is the next one, in the same statement.
pub const INSERT: &str = "INSERT INTO jobs (id, number, customer_id, site_id, title, \
    description, priority, items, created_at, updated_at) \
    SELECT ?1, (SELECT COALESCE(MAX(number), 0) + 1 FROM jobs), ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8 \
    WHERE EXISTS (SELECT 1 FROM sites s JOIN customers c ON c.id = s.customer_id \
                  WHERE s.id = ?3 AND c.id = ?2 AND c.archived = 0)";
pub const UPDATE: &str = "UPDATE jobs SET title = ?1, description = ?2, priority = ?3, \
    items = ?4, version = version + 1, updated_at = ?5 WHERE id = ?6 AND version = ?7";
pub const SET_STATUS: &str = "UPDATE jobs SET status = ?1, version = version + 1, \
    updated_at = ?2 WHERE id = ?3 AND version = ?4 AND status = ?5";
/// A job following its visit (`domain::dispatch::Follow`): ?1 to, ?2 stamp, ?3 job, ?4 from;
/// ?5 when no other visit than ?6 is open; ?7 when the company completes jobs with their last
/// visit and no required signature is missing (so the signature trigger never refuses it).
pub const FOLLOW: &str = "UPDATE jobs SET status = ?1, version = version + 1, updated_at = ?2 \
    WHERE id = ?3 AND status = ?4 \
      AND (?5 = 0 OR NOT EXISTS (SELECT 1 FROM visits o WHERE o.job_id = ?3 AND o.id <> ?6 \
                                 AND o.status IN ('scheduled', 'en_route', 'in_progress'))) \
      AND (?7 = 0 OR ((SELECT complete_job_with_last_visit FROM company_settings \
                       WHERE id = 1) = 1 \
           AND ((SELECT require_signature FROM company_settings WHERE id = 1) = 0 \
                OR EXISTS (SELECT 1 FROM files f WHERE f.parent_kind = 'job' \
                           AND f.parent_id = ?3 AND f.purpose = 'signature' \
                           AND f.status <> 'rejected' AND f.deleted_at IS NULL))))";
/// A booking that names the job's version: the job moves on a version, so of two bookings
/// made on the same version one is refused.
pub const TOUCH: &str = "UPDATE jobs SET version = version + 1, updated_at = ?1 \
    WHERE id = ?2 AND version = ?3";
/// Replaces the technicians, only if this batch's write of the job took effect (the job now
/// carries this batch's own timestamp).
pub const CLEAR_TECHNICIANS: &str = "DELETE FROM job_technicians WHERE job_id = ?1 \
    AND EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND updated_at = ?2)";
pub const ADD_TECHNICIANS: &str = "INSERT INTO job_technicians (job_id, user_id) \
    SELECT ?1, value FROM json_each(?2) \
    WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1 AND updated_at = ?3)";
/// The ids among ?1 (a JSON array) that may be assigned: active, and not read-only viewers.
pub const SELECT_ASSIGNABLE: &str = "SELECT id FROM users \
    WHERE id IN (SELECT value FROM json_each(?1)) AND active = 1 AND role <> 'viewer'";
pub const SELECT_PRIMARY_SITE: &str = "SELECT id FROM sites \
    WHERE customer_id = ?1 AND is_primary = 1";

/// Where job ?1 happens and whom to call: its customer's name and first phone, its site.
pub const SELECT_PLACE: &str = "SELECT c.name AS customer_name, \
    json_extract(c.phones, '$[0]') AS customer_phone, \
    s.line1 || COALESCE(', ' || s.line2, '') || COALESCE(', ' || s.city, '') || \
        COALESCE(', ' || s.region, '') || COALESCE(', ' || s.postal_code, '') AS site_address, \
    s.access_notes AS site_access_notes \
    FROM jobs j JOIN customers c ON c.id = j.customer_id JOIN sites s ON s.id = j.site_id \
    WHERE j.id = ?1";
/// Job ?1's earliest visit still open (scheduled, en route, in progress).
pub const SELECT_NEXT_VISIT: &str = "SELECT id, start_ms, end_ms, status FROM visits \
    WHERE job_id = ?1 AND status IN ('scheduled', 'en_route', 'in_progress') \
    ORDER BY start_ms, id LIMIT 1";
/// The names of everyone who works job ?1 (see [`job_workers`]); sealed, so sorted by the
/// reader.
pub const SELECT_WORKERS: &str = concat!(
    "SELECT u.id, u.name FROM users u WHERE u.id IN (",
    job_workers!("?1"),
    ")"
);

pub const INSERT_NOTE: &str = "INSERT INTO job_notes (id, job_id, author_id, text, created_at) \
    SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?2)";
pub const SELECT_NOTES: &str = "SELECT id, author_id, text, created_at FROM job_notes \
    WHERE job_id = ?1 ORDER BY created_at, id";

#[derive(Debug, Clone, Deserialize)]
pub struct JobRow {
    pub id: String,
    pub number: i64,
    pub customer_id: String,
    pub site_id: String,
    pub title: String,
    pub description: Option<String>,
    pub priority: String,
    pub status: String,
    pub items: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub technician_ids: String,
    /// Everyone who works the job (see [`job_workers`]).
    pub worker_ids: String,
}

impl JobRow {
    /// Those assigned to the job (what a PATCH of `technician_ids` writes).
    pub fn technicians(&self) -> Vec<String> {
        serde_json::from_str(&self.technician_ids).unwrap_or_default()
    }

    /// Those assigned and those on its visits.
    pub fn workers(&self) -> Vec<String> {
        serde_json::from_str(&self.worker_ids).unwrap_or_default()
    }

    pub fn items(&self) -> Vec<LineItem> {
        serde_json::from_str(&self.items).unwrap_or_default()
    }

    /// Whether `user_id` works the job: assigned to it or on one of its visits.
    pub fn is_assigned(&self, user_id: &str) -> bool {
        self.workers().iter().any(|t| t == user_id)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct NoteRow {
    pub id: String,
    pub author_id: String,
    pub text: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlaceRow {
    pub customer_name: String,
    pub customer_phone: Option<String>,
    pub site_address: String,
    pub site_access_notes: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NextVisitRow {
    pub id: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub status: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WorkerRow {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct IdRow {
    pub id: String,
}

fn items_json(items: &[LineItem]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

pub fn insert(id: &str, customer_id: &str, site_id: &str, job: &Job, now: &str) -> Sql {
    sql!(
        INSERT,
        id,
        customer_id,
        site_id,
        job.title.as_str(),
        job.description.as_deref(),
        job.priority.as_str(),
        items_json(&job.items),
        now
    )
}

pub fn update(id: &str, version: i64, job: &Job, now: &str) -> Sql {
    sql!(
        UPDATE,
        job.title.as_str(),
        job.description.as_deref(),
        job.priority.as_str(),
        items_json(&job.items),
        now,
        id,
        version
    )
}

pub fn set_status(id: &str, version: i64, from: &str, to: &str, now: &str) -> Sql {
    sql!(SET_STATUS, to, now, id, version, from)
}

pub fn follow(
    job_id: &str,
    visit_id: &str,
    follow: &crate::domain::dispatch::Follow,
    stamp: &str,
) -> Sql {
    use crate::domain::dispatch::When;
    sql!(
        FOLLOW,
        follow.to.as_str(),
        stamp,
        job_id,
        follow.from.as_str(),
        i64::from(follow.when != When::Always),
        visit_id,
        i64::from(follow.when == When::LastVisitCompletesJob)
    )
}

pub fn touch(job_id: &str, version: i64, stamp: &str) -> Sql {
    sql!(TOUCH, stamp, job_id, version)
}

pub fn insert_note(id: &str, job_id: &str, author_id: &str, text: &str, now: &str) -> Sql {
    sql!(INSERT_NOTE, id, job_id, author_id, text, now)
}

/// The two statements that make the job's technicians exactly `ids`, if the job write took.
pub fn set_technicians(job_id: &str, ids: &[String], now: &str) -> [Sql; 2] {
    let list = serde_json::Value::from(ids.to_vec()).to_string();
    [
        sql!(CLEAR_TECHNICIANS, job_id, now),
        sql!(ADD_TECHNICIANS, job_id, list, now),
    ]
}
