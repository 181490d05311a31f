//! The `files` table: one row per file kept in R2, the people of its parent (for who may see
//! it), what the sweep scans again and purges, and the storage a company uses.

use serde::Deserialize;

use crate::domain::personal::{file_key, pending_opt};

use crate::domain::files::{Parent, Purpose, Scanned};
use crate::sql;
use crate::write::Sql;

/// How many files one record lists at most (the newest).
pub const LIST_LIMIT: i64 = 200;
/// How many pending files one sweep scans, and deleted ones it purges.
pub const SWEEP_BATCH: i64 = 10;

/// The people who work on a parent (a JSON array of user ids), for a technician's view of
/// its files: a job's technicians; a visit's own and its job's; for a customer (and its
/// sites) everyone on any of its jobs or their visits — the same rules as the records'.
/// `$kind` and `$id` are SQL expressions.
macro_rules! workers_of {
    ($kind:literal, $id:literal) => {
        concat!(
            "(CASE ",
            $kind,
            " WHEN 'job' THEN (SELECT json_group_array(user_id) FROM job_technicians \
               WHERE job_id = ",
            $id,
            ")",
            " WHEN 'visit' THEN (SELECT json_group_array(user_id) FROM (\
               SELECT vt.user_id FROM visit_technicians vt WHERE vt.visit_id = ",
            $id,
            "  UNION SELECT jt.user_id FROM visits v JOIN job_technicians jt \
               ON jt.job_id = v.job_id WHERE v.id = ",
            $id,
            "))",
            " WHEN 'customer' THEN (SELECT json_group_array(user_id) FROM (",
            customer_workers!($id),
            "))",
            " WHEN 'site' THEN (SELECT json_group_array(user_id) FROM (",
            customer_workers!(concat!(
                "(SELECT customer_id FROM sites WHERE id = ",
                $id,
                ")"
            )),
            "))",
            " ELSE '[]' END)"
        )
    };
}

/// Everyone on a customer's jobs or their visits (`$customer` a SQL expression).
macro_rules! customer_workers {
    ($customer:expr) => {
        concat!(
            "SELECT jt.user_id FROM jobs j JOIN job_technicians jt ON jt.job_id = j.id \
             WHERE j.customer_id = ",
            $customer,
            " UNION SELECT vt.user_id FROM jobs j JOIN visits v ON v.job_id = j.id \
             JOIN visit_technicians vt ON vt.visit_id = v.id WHERE j.customer_id = ",
            $customer
        )
    };
}

/// Whether the parent `$kind`/`$id` exists (SQL expressions).
macro_rules! parent_exists {
    ($kind:literal, $id:literal) => {
        concat!(
            "(CASE ",
            $kind,
            " WHEN 'job' THEN EXISTS (SELECT 1 FROM jobs WHERE id = ",
            $id,
            ")",
            " WHEN 'visit' THEN EXISTS (SELECT 1 FROM visits WHERE id = ",
            $id,
            ")",
            " WHEN 'customer' THEN EXISTS (SELECT 1 FROM customers WHERE id = ",
            $id,
            ")",
            " WHEN 'site' THEN EXISTS (SELECT 1 FROM sites WHERE id = ",
            $id,
            ")",
            " WHEN 'quote' THEN EXISTS (SELECT 1 FROM quotes WHERE id = ",
            $id,
            ")",
            " WHEN 'invoice' THEN EXISTS (SELECT 1 FROM invoices WHERE id = ",
            $id,
            ")",
            " WHEN 'company' THEN 1 ELSE 0 END)"
        )
    };
}

macro_rules! file_columns {
    () => {
        "f.id, f.parent_kind, f.parent_id, f.purpose, f.name, f.content_type, f.size, \
         f.sha256, f.status, f.scan_detail, f.scan_attempts, f.scanned_at, f.signer_name, \
         f.uploaded_by, u.name AS uploader_name, f.source, f.created_at, f.updated_at, \
         f.deleted_at, f.version"
    };
}

/// One file with its parent's people. ?1 id.
pub const SELECT_BY_ID: &str = concat!(
    "SELECT ",
    file_columns!(),
    ", ",
    workers_of!("f.parent_kind", "f.parent_id"),
    " AS workers FROM files f LEFT JOIN users u ON u.id = f.uploaded_by WHERE f.id = ?1"
);

/// A parent, as an upload or a listing needs it: whether it exists, its people, and the
/// company's upload limit. ?1 kind, ?2 id.
pub const SELECT_PARENT: &str = concat!(
    "SELECT ",
    parent_exists!("?1", "?2"),
    " AS found, ",
    workers_of!("?1", "?2"),
    " AS workers, s.max_upload_bytes FROM company_settings s WHERE s.id = 1"
);

/// A parent's files, newest first. ?1 kind, ?2 id, ?3 how many.
pub const SELECT_BY_PARENT: &str = concat!(
    "SELECT ",
    file_columns!(),
    ", '[]' AS workers FROM files f LEFT JOIN users u ON u.id = f.uploaded_by \
     WHERE f.parent_kind = ?1 AND f.parent_id IS ?2 AND f.deleted_at IS NULL \
     ORDER BY f.created_at DESC, f.id DESC LIMIT ?3"
);

/// A new file, only on a parent that exists (the guard). ?1 id, ?2 parent kind, ?3 parent id,
/// ?4 purpose, ?5 name, ?6 type, ?7 size, ?8 sha256, ?9 R2 key, ?10 status, ?11 scan detail,
/// ?12 scans so far, ?13 scanned at, ?14 next scan, ?15 signer, ?16 uploader, ?17 source,
/// ?18 now (ms).
pub const INSERT: &str = concat!(
    "INSERT INTO files (id, parent_kind, parent_id, purpose, name, content_type, size, sha256, \
     r2_key, status, scan_detail, scan_attempts, scanned_at, next_scan_at, signer_name, \
     uploaded_by, source, created_at, updated_at) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?18 \
     WHERE ",
    parent_exists!("?2", "?3")
);

/// A scan's outcome on a pending file at version ?6. ?1 id, ?2 status, ?3 detail, ?4 scans so
/// far, ?5 next scan, ?7 now (ms).
pub const RECORD_SCAN: &str = "UPDATE files SET status = ?2, scan_detail = ?3, \
    scan_attempts = ?4, next_scan_at = ?5, scanned_at = ?7, updated_at = ?7, \
    version = version + 1 WHERE id = ?1 AND version = ?6 AND status = 'pending'";

/// A soft delete: kept until ?3, then purged. ?1 id, ?2 version, ?3 purge after, ?4 now.
pub const DELETE: &str = "UPDATE files SET deleted_at = ?4, purge_after = ?3, updated_at = ?4, \
    version = version + 1 WHERE id = ?1 AND version = ?2 AND deleted_at IS NULL";

/// Pending files whose next scan is due. ?1 now (ms), ?2 how many.
pub const SELECT_DUE_SCANS: &str = "SELECT id, r2_key, scan_attempts, version, uploaded_by, \
    name FROM files WHERE status = 'pending' AND next_scan_at <= ?1 AND deleted_at IS NULL \
    ORDER BY next_scan_at LIMIT ?2";
/// Deleted files whose bytes may go. ?1 now (ms), ?2 how many.
pub const SELECT_DUE_PURGES: &str = "SELECT id, r2_key, scan_attempts, version, uploaded_by, \
    name FROM files WHERE purged_at IS NULL AND purge_after <= ?1 ORDER BY purge_after LIMIT ?2";
/// The bytes are gone from R2. ?1 id, ?2 now.
pub const MARK_PURGED: &str = "UPDATE files SET purged_at = ?2, updated_at = ?2, \
    version = version + 1 WHERE id = ?1 AND purged_at IS NULL";

/// What the company keeps in R2: files and bytes, by status, deleted ones until purged.
pub const SELECT_STORAGE: &str = "SELECT count(*) AS files, COALESCE(sum(size), 0) AS bytes, \
    COALESCE(sum(status = 'pending'), 0) AS pending, \
    COALESCE(sum(status = 'rejected'), 0) AS rejected, \
    COALESCE(sum(deleted_at IS NOT NULL), 0) AS deleted \
    FROM files WHERE purged_at IS NULL";

/// The kept document of invoice ?1 (`purpose` `document`), if made.
pub const SELECT_INVOICE_DOCUMENT: &str = concat!(
    "SELECT ",
    file_columns!(),
    ", '[]' AS workers FROM files f LEFT JOIN users u ON u.id = f.uploaded_by \
     WHERE f.parent_kind = 'invoice' AND f.parent_id = ?1 AND f.purpose = 'document'"
);

/// The company's current logo (served only if clean).
pub const SELECT_LOGO_FILE: &str = concat!(
    "SELECT ",
    file_columns!(),
    ", '[]' AS workers FROM company_settings s JOIN files f ON f.id = s.logo_file_id \
     LEFT JOIN users u ON u.id = f.uploaded_by WHERE s.id = 1 AND f.deleted_at IS NULL"
);
/// Makes logo ?1 the company's, once it is clean and unless a logo uploaded after it already
/// is (a logo scanned late by the sweep does not replace a newer one). ?2 now (rfc3339).
pub const SET_LOGO: &str = "UPDATE company_settings SET logo_file_id = ?1, \
    version = version + 1, updated_at = ?2 WHERE id = 1 \
    AND EXISTS (SELECT 1 FROM files f WHERE f.id = ?1 AND f.purpose = 'logo' \
                AND f.status = 'clean' AND f.deleted_at IS NULL) \
    AND (logo_file_id IS NULL OR NOT EXISTS (SELECT 1 FROM files n WHERE n.id = logo_file_id \
         AND n.created_at > (SELECT created_at FROM files WHERE id = ?1)))";
/// Takes logo ?1 off, if it is the current one. ?2 now (rfc3339).
pub const CLEAR_LOGO: &str = "UPDATE company_settings SET logo_file_id = NULL, \
    version = version + 1, updated_at = ?2 WHERE id = 1 AND logo_file_id = ?1";

#[derive(Debug, Clone, Deserialize)]
pub struct FileRow {
    pub id: String,
    pub parent_kind: String,
    pub parent_id: Option<String>,
    pub purpose: String,
    pub name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub status: String,
    pub scan_detail: Option<String>,
    pub scan_attempts: i64,
    pub scanned_at: Option<i64>,
    pub signer_name: Option<String>,
    pub uploaded_by: Option<String>,
    pub uploader_name: Option<String>,
    pub source: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub deleted_at: Option<i64>,
    pub version: i64,
    /// The parent's people (JSON array), where read.
    pub workers: String,
}

impl FileRow {
    pub fn parent(&self) -> Option<Parent> {
        Parent::parse(&self.parent_kind)
    }

    pub fn purpose(&self) -> Option<Purpose> {
        Purpose::parse(&self.purpose)
    }

    pub fn workers(&self) -> Vec<String> {
        serde_json::from_str(&self.workers).unwrap_or_default()
    }
}

/// An upload's parent as [`SELECT_PARENT`] reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct ParentRow {
    pub found: i64,
    pub workers: String,
    pub max_upload_bytes: i64,
}

impl ParentRow {
    pub fn workers(&self) -> Vec<String> {
        serde_json::from_str(&self.workers).unwrap_or_default()
    }
}

/// A file the sweep works on.
#[derive(Debug, Clone, Deserialize)]
pub struct SweepRow {
    pub id: String,
    pub r2_key: String,
    pub scan_attempts: i64,
    pub version: i64,
    pub uploaded_by: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StorageRow {
    pub files: i64,
    pub bytes: i64,
    pub pending: i64,
    pub rejected: i64,
    pub deleted: i64,
}

pub fn by_id(id: &str) -> Sql {
    sql!(SELECT_BY_ID, id)
}

pub fn parent(kind: Parent, id: Option<&str>) -> Sql {
    sql!(SELECT_PARENT, kind.as_str(), id)
}

pub fn by_parent(kind: Parent, id: Option<&str>) -> Sql {
    sql!(SELECT_BY_PARENT, kind.as_str(), id, LIST_LIMIT)
}

/// Where a file's bytes live in R2: written once, never moved (R2 has no rename); whether
/// they may be served is the record's status.
pub fn r2_key(id: &str) -> String {
    format!("files/{id}")
}

/// A new file's row, as [`INSERT`] writes it.
pub struct NewFile<'a> {
    pub id: &'a str,
    pub parent: Parent,
    pub parent_id: Option<&'a str>,
    pub purpose: Purpose,
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: &'a str,
    pub scanned: &'a Scanned,
    pub signer_name: Option<&'a str>,
    pub uploaded_by: Option<&'a str>,
    pub source: &'a str,
    pub now_ms: i64,
}

pub fn insert(file: &NewFile<'_>) -> Sql {
    let scanned_at = (file.scanned.next_scan_at.is_none()).then_some(file.now_ms);
    sql!(
        INSERT,
        file.id,
        file.parent.as_str(),
        file.parent_id,
        file.purpose.as_str(),
        file.name,
        file.content_type,
        file.size,
        file.sha256,
        r2_key(file.id),
        file.scanned.status.as_str(),
        file.scanned.detail.as_deref(),
        file.scanned.attempts,
        scanned_at,
        file.scanned.next_scan_at,
        pending_opt(&file_key(file.id), file.signer_name),
        file.uploaded_by,
        file.source,
        file.now_ms,
    )
}

pub fn record_scan(id: &str, version: i64, scanned: &Scanned, now_ms: i64) -> Sql {
    sql!(
        RECORD_SCAN,
        id,
        scanned.status.as_str(),
        scanned.detail.as_deref(),
        scanned.attempts,
        scanned.next_scan_at,
        version,
        now_ms,
    )
}

pub fn delete(id: &str, version: i64, purge_after: i64, now_ms: i64) -> Sql {
    sql!(DELETE, id, version, purge_after, now_ms)
}
