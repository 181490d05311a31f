//! What the exports read: one customer's records (every column: an export is the record as
//! kept, whatever later migrations add, so these queries name no columns), the schema's
//! tables and their rows page by page, and the company exports' own rows (`company_exports`),
//! each step of a run a guarded update under its lease.

use std::borrow::Cow;

use serde::Deserialize;

use crate::domain::time::Millis;
use crate::sql;
use crate::write::{Param, Sql};

/// The customer's jobs, by which the visits and notes are found. ?1 customer.
macro_rules! of_jobs {
    ($table:literal) => {
        concat!(
            "SELECT * FROM ",
            $table,
            " WHERE job_id IN (SELECT id FROM jobs WHERE customer_id = ?1) ORDER BY created_at"
        )
    };
}

// One customer's data, ?1 the customer.
pub const CUSTOMER: &str = "SELECT * FROM customers WHERE id = ?1";
pub const CUSTOMER_SITES: &str = "SELECT * FROM sites WHERE customer_id = ?1 ORDER BY created_at";
pub const CUSTOMER_JOBS: &str = "SELECT * FROM jobs WHERE customer_id = ?1 ORDER BY number";
pub const CUSTOMER_VISITS: &str = of_jobs!("visits");
pub const CUSTOMER_JOB_NOTES: &str = of_jobs!("job_notes");
pub const CUSTOMER_QUOTES: &str = "SELECT * FROM quotes WHERE customer_id = ?1 ORDER BY number";
pub const CUSTOMER_INVOICES: &str =
    "SELECT * FROM invoices WHERE customer_id = ?1 ORDER BY created_at";
pub const CUSTOMER_PAYMENTS: &str = "SELECT * FROM payments WHERE invoice_id IN \
    (SELECT id FROM invoices WHERE customer_id = ?1) ORDER BY at";
/// The messages between the office and the customer (texts and emails, both ways).
pub const CUSTOMER_MESSAGES: &str =
    "SELECT * FROM customer_messages WHERE customer_id = ?1 ORDER BY created_at";
/// The files of the customer and of everything of theirs that has files (not deleted ones),
/// with where their bytes are.
pub const CUSTOMER_FILES: &str = "SELECT id, parent_kind, parent_id, purpose, name, \
    content_type, size, sha256, status, signer_name, created_at, r2_key FROM files \
    WHERE deleted_at IS NULL AND (\
      (parent_kind = 'customer' AND parent_id = ?1) \
      OR (parent_kind = 'site' AND parent_id IN (SELECT id FROM sites WHERE customer_id = ?1)) \
      OR (parent_kind = 'job' AND parent_id IN (SELECT id FROM jobs WHERE customer_id = ?1)) \
      OR (parent_kind = 'visit' AND parent_id IN (SELECT v.id FROM visits v \
          JOIN jobs j ON j.id = v.job_id WHERE j.customer_id = ?1)) \
      OR (parent_kind = 'quote' AND parent_id IN (SELECT id FROM quotes WHERE customer_id = ?1)) \
      OR (parent_kind = 'invoice' AND parent_id IN \
          (SELECT id FROM invoices WHERE customer_id = ?1))) \
    ORDER BY created_at, id";

/// The sections of a customer's export document, in the order of [`customer`]'s statements
/// after the customer itself.
pub const CUSTOMER_SECTIONS: &[&str] = &[
    "sites",
    "jobs",
    "visits",
    "job_notes",
    "quotes",
    "invoices",
    "payments",
    "messages",
];

/// The statements of a customer's export, answered together: the customer, then each of
/// [`CUSTOMER_SECTIONS`], then the files.
pub fn customer(id: &str) -> Vec<Sql> {
    [
        CUSTOMER,
        CUSTOMER_SITES,
        CUSTOMER_JOBS,
        CUSTOMER_VISITS,
        CUSTOMER_JOB_NOTES,
        CUSTOMER_QUOTES,
        CUSTOMER_INVOICES,
        CUSTOMER_PAYMENTS,
        CUSTOMER_MESSAGES,
        CUSTOMER_FILES,
    ]
    .into_iter()
    .map(|query| sql!(query, id))
    .collect()
}

/// A customer's file as the export reads it.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct ExportedFile {
    pub id: String,
    pub parent_kind: String,
    pub parent_id: Option<String>,
    pub purpose: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub status: String,
    pub signer_name: Option<String>,
    pub created_at: i64,
    #[serde(skip_serializing)]
    pub r2_key: String,
}

/// The schema's tables (the export keeps those `domain::exports` allows).
pub const TABLES: &str = "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";

#[derive(Debug, Deserialize)]
pub struct TableName {
    pub name: String,
}

/// A page of `table`'s rows, every column, in the table's own order (rowid or primary key:
/// SQLite reads a table without `ORDER BY` in its storage order, so pages do not overlap while
/// it is not written to). `table` must be a plain identifier (`domain::exports`).
/// ?1 how many, ?2 from which row.
pub fn table_page(table: &str, limit: i64, offset: i64) -> Sql {
    Sql {
        sql: Cow::Owned(format!("SELECT * FROM \"{table}\" LIMIT ?1 OFFSET ?2")),
        params: vec![Param::from(limit), Param::from(offset)],
    }
}

macro_rules! export_select {
    ($rest:literal) => {
        concat!(
            "SELECT id, status, requested_by, \
             (SELECT name FROM users WHERE users.id = requested_by) AS requested_by_name, \
             created_at, tables_done, lease_until, finished_at, object_key, size, error, \
             version FROM company_exports ",
            $rest
        )
    };
}

pub const SELECT_BY_ID: &str = export_select!("WHERE id = ?1");
pub const SELECT_RECENT: &str = export_select!("ORDER BY created_at DESC, id DESC LIMIT 20");
/// The oldest export still to build whose lease (if any) is over. ?1 now.
pub const SELECT_RESUMABLE: &str = export_select!(
    "WHERE status IN ('queued', 'running') AND (lease_until IS NULL OR lease_until <= ?1) \
     ORDER BY created_at LIMIT 1"
);
/// A new export, unless one is being built. ?1 id, ?2 owner, ?3 now.
pub const INSERT: &str = "INSERT INTO company_exports (id, status, requested_by, created_at) \
    SELECT ?1, 'queued', ?2, ?3 WHERE NOT EXISTS \
    (SELECT 1 FROM company_exports WHERE status IN ('queued', 'running'))";
/// A run takes the export: only one holds it until the lease ends.
/// ?1 id, ?2 version, ?3 now, ?4 lease until.
pub const TAKE: &str = "UPDATE company_exports SET status = 'running', lease_until = ?4, \
    version = version + 1 WHERE id = ?1 AND version = ?2 AND status IN ('queued', 'running') \
    AND (lease_until IS NULL OR lease_until <= ?3)";
/// A run wrote one more table; its lease goes on. ?1 id, ?2 version, ?3 tables done,
/// ?4 lease until.
pub const PROGRESS: &str = "UPDATE company_exports SET tables_done = ?3, lease_until = ?4, \
    version = version + 1 WHERE id = ?1 AND version = ?2 AND status = 'running'";
/// The archive is written. ?1 id, ?2 version, ?3 now, ?4 object key, ?5 size.
pub const FINISH: &str = "UPDATE company_exports SET status = 'ready', finished_at = ?3, \
    object_key = ?4, size = ?5, lease_until = NULL, version = version + 1 \
    WHERE id = ?1 AND version = ?2 AND status = 'running'";
/// The export cannot be built (the archive would be too large). ?1 id, ?2 version, ?3 now,
/// ?4 why.
pub const FAIL: &str = "UPDATE company_exports SET status = 'failed', finished_at = ?3, \
    error = ?4, lease_until = NULL, version = version + 1 \
    WHERE id = ?1 AND version = ?2 AND status = 'running'";

#[derive(Debug, Clone, Deserialize)]
pub struct ExportRow {
    pub id: String,
    pub status: String,
    pub requested_by: String,
    pub requested_by_name: Option<String>,
    pub created_at: i64,
    pub tables_done: i64,
    pub lease_until: Option<i64>,
    pub finished_at: Option<i64>,
    pub object_key: Option<String>,
    pub size: Option<i64>,
    pub error: Option<String>,
    pub version: i64,
}

pub fn resumable(now: Millis) -> Sql {
    sql!(SELECT_RESUMABLE, now.0 as i64)
}

pub fn recent() -> Sql {
    sql!(SELECT_RECENT)
}

pub fn by_id(id: &str) -> Sql {
    sql!(SELECT_BY_ID, id)
}

pub fn insert(id: &str, owner: &str, now: Millis) -> Sql {
    sql!(INSERT, id, owner, now.0 as i64)
}

pub fn take(id: &str, version: i64, now: Millis, lease_until: i64) -> Sql {
    sql!(TAKE, id, version, now.0 as i64, lease_until)
}

pub fn progress(id: &str, version: i64, tables_done: i64, lease_until: i64) -> Sql {
    sql!(PROGRESS, id, version, tables_done, lease_until)
}

pub fn finish(id: &str, version: i64, now: Millis, key: &str, size: i64) -> Sql {
    sql!(FINISH, id, version, now.0 as i64, key, size)
}

pub fn fail(id: &str, version: i64, now: Millis, why: &str) -> Sql {
    sql!(FAIL, id, version, now.0 as i64, why)
}
