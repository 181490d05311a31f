//! Visits and who works them. Double-booking is refused by the `visit_technicians_no_overlap`
//! trigger inside the writing batch; the queries here find the conflicts to report.

use serde::Deserialize;

use crate::domain::visits::VisitTime;
use crate::sql;
use crate::write::Sql;

/// Visits with their technicians (JSON array), job, customer and site (what a technician's day
/// shows: address, access notes, a phone to call), by start time.
/// ?1 from (ms), ?2 to (ms), ?3 technician, ?4 job, ?5 limit.
pub const SELECT_RANGE: &str = "SELECT v.id, v.job_id, v.start_ms, v.end_ms, v.status, \
    v.version, v.created_at, v.updated_at, \
    (SELECT json_group_array(t.user_id) FROM visit_technicians t WHERE t.visit_id = v.id) \
        AS technician_ids, j.number AS job_number, j.title AS job_title, \
    j.status AS job_status, c.name AS customer_name, \
    json_extract(c.phones, '$[0]') AS customer_phone, \
    s.line1 || COALESCE(', ' || s.line2, '') || COALESCE(', ' || s.city, '') || \
        COALESCE(', ' || s.region, '') || COALESCE(', ' || s.postal_code, '') AS site_address, \
    s.access_notes AS site_access_notes \
    FROM visits v JOIN jobs j ON j.id = v.job_id \
    JOIN customers c ON c.id = j.customer_id JOIN sites s ON s.id = j.site_id \
    WHERE v.start_ms < ?2 AND v.end_ms > ?1 \
      AND (?3 IS NULL OR EXISTS (SELECT 1 FROM visit_technicians t \
                                 WHERE t.visit_id = v.id AND t.user_id = ?3)) \
      AND (?4 IS NULL OR v.job_id = ?4) \
    ORDER BY v.start_ms, v.id LIMIT ?5";
/// A visit with what a change of its status decides by: its job's status and how many of the
/// job's other visits are still open.
pub const SELECT_BY_ID: &str = "SELECT v.id, v.job_id, v.start_ms, v.end_ms, v.status, \
    v.version, v.created_at, v.updated_at, \
    (SELECT json_group_array(t.user_id) FROM visit_technicians t WHERE t.visit_id = v.id) \
        AS technician_ids, j.number AS job_number, j.title AS job_title, \
    j.status AS job_status, \
    (SELECT COUNT(*) FROM visits o WHERE o.job_id = v.job_id AND o.id <> v.id \
       AND o.status IN ('scheduled', 'en_route', 'in_progress')) AS other_open \
    FROM visits v JOIN jobs j ON j.id = v.job_id WHERE v.id = ?1";
/// The visits whose ids the JSON array ?1 names, by start time: a booking's answer in one read.
pub const SELECT_BY_IDS: &str = "SELECT v.id, v.job_id, v.start_ms, v.end_ms, v.status, \
    v.version, v.created_at, v.updated_at, \
    (SELECT json_group_array(t.user_id) FROM visit_technicians t WHERE t.visit_id = v.id) \
        AS technician_ids, j.number AS job_number, j.title AS job_title, \
    j.status AS job_status \
    FROM visits v JOIN jobs j ON j.id = v.job_id WHERE v.id IN (SELECT value FROM json_each(?1)) ORDER BY v.start_ms, v.id";
/// The visits of the technicians in ?1 (a JSON array) overlapping [?2, ?3), except ?4 and the
/// cancelled ones (as the `visit_technicians_no_overlap` trigger counts them).
pub const SELECT_OVERLAPPING: &str = "SELECT t.visit_id AS id, \
    json_group_array(t.user_id) AS technician_ids, MIN(t.start_ms) AS start_ms, \
    MIN(t.end_ms) AS end_ms \
    FROM visit_technicians t JOIN visits v ON v.id = t.visit_id \
    WHERE t.user_id IN (SELECT value FROM json_each(?1)) \
      AND t.start_ms < ?3 AND t.end_ms > ?2 AND t.visit_id <> ?4 AND v.status <> 'cancelled' \
    GROUP BY t.visit_id";
pub const INSERT: &str = "INSERT INTO visits (id, job_id, start_ms, end_ms, created_at, \
    updated_at) SELECT ?1, ?2, ?3, ?4, ?5, ?5 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?2)";
pub const MOVE: &str = "UPDATE visits SET start_ms = ?1, end_ms = ?2, version = version + 1, \
    updated_at = ?3 WHERE id = ?4 AND version = ?5";
/// Technician rows follow their visit's write: only if the visit carries this batch's stamp.
pub const CLEAR_TECHNICIANS: &str = "DELETE FROM visit_technicians WHERE visit_id = ?1 \
    AND EXISTS (SELECT 1 FROM visits WHERE id = ?1 AND updated_at = ?2)";
pub const ADD_TECHNICIANS: &str = "INSERT INTO visit_technicians (visit_id, user_id, start_ms, \
    end_ms, allow_conflict) SELECT ?1, value, ?2, ?3, ?4 FROM json_each(?5) \
    WHERE EXISTS (SELECT 1 FROM visits WHERE id = ?1 AND updated_at = ?6)";
pub const SET_STATUS: &str = "UPDATE visits SET status = ?1, version = version + 1, \
    updated_at = ?2 WHERE id = ?3 AND version = ?4 AND status = ?5";
pub const DELETE_TECHNICIANS: &str = "DELETE FROM visit_technicians WHERE visit_id = ?1 \
    AND EXISTS (SELECT 1 FROM visits WHERE id = ?1 AND version = ?2)";
pub const DELETE: &str = "DELETE FROM visits WHERE id = ?1 AND version = ?2";

#[derive(Debug, Clone, Deserialize)]
pub struct VisitRow {
    pub id: String,
    pub job_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub status: String,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    pub technician_ids: String,
    /// The job's number, title and status, where the query brings them.
    #[serde(default)]
    pub job_number: Option<i64>,
    #[serde(default)]
    pub job_title: Option<String>,
    #[serde(default)]
    pub job_status: Option<String>,
    /// Where the visit happens and whom to call, where the query brings them (the range does).
    #[serde(default)]
    pub customer_name: Option<String>,
    #[serde(default)]
    pub customer_phone: Option<String>,
    #[serde(default)]
    pub site_address: Option<String>,
    #[serde(default)]
    pub site_access_notes: Option<String>,
    /// How many of the job's other visits are still open, where the query counts them.
    #[serde(default)]
    pub other_open: Option<i64>,
}

impl VisitRow {
    pub fn technicians(&self) -> Vec<String> {
        serde_json::from_str(&self.technician_ids).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct OverlapRow {
    pub id: String,
    pub technician_ids: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

pub fn insert(id: &str, job_id: &str, time: &VisitTime, stamp: &str) -> Sql {
    sql!(
        INSERT,
        id,
        job_id,
        time.start.0 as i64,
        time.end.0 as i64,
        stamp
    )
}

pub fn move_to(id: &str, version: i64, time: &VisitTime, stamp: &str) -> Sql {
    sql!(
        MOVE,
        time.start.0 as i64,
        time.end.0 as i64,
        stamp,
        id,
        version
    )
}

pub fn set_status(id: &str, version: i64, from: &str, to: &str, stamp: &str) -> Sql {
    sql!(SET_STATUS, to, stamp, id, version, from)
}

pub fn delete(id: &str, version: i64) -> [Sql; 2] {
    [
        sql!(DELETE_TECHNICIANS, id, version),
        sql!(DELETE, id, version),
    ]
}

/// The statements that write one visit's technicians (after the visit row in the same batch).
pub fn technicians(
    visit_id: &str,
    time: &VisitTime,
    ids: &[String],
    allow_conflict: bool,
    stamp: &str,
) -> [Sql; 2] {
    let list = serde_json::Value::from(ids.to_vec()).to_string();
    [
        sql!(CLEAR_TECHNICIANS, visit_id, stamp),
        sql!(
            ADD_TECHNICIANS,
            visit_id,
            time.start.0 as i64,
            time.end.0 as i64,
            i64::from(allow_conflict),
            list,
            stamp
        ),
    ]
}
