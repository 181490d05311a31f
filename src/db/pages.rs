//! The dashboard's reads that join aggregates, so each page is one batch: a visit with its
//! job, customer and site; a job with its customer's name; the people who can be named.
//! Pages also use the aggregates' own queries; these are only what those do not cover.

use serde::Deserialize;

use crate::db::jobs::job_workers;

/// Everyone on the team: enough to show who works what, nothing secret. Names are sealed, so
/// [`sort_people`] orders them.
pub const PEOPLE: &str = "SELECT id, name, role, active FROM users";

/// Visits overlapping [?1, ?2) (ms) with their job, customer and site, by start; ?3 only this
/// technician's, ?4 only this job's, ?5 at most this many.
pub const VISITS: &str = "SELECT v.id, v.job_id, v.start_ms, v.end_ms, v.status, v.version, \
    (SELECT json_group_array(t.user_id) FROM visit_technicians t WHERE t.visit_id = v.id) \
        AS technician_ids, \
    j.number AS job_number, j.title AS job_title, j.status AS job_status, \
    c.name AS customer_name, json_extract(c.phones, '$[0]') AS customer_phone, \
    s.line1 AS site_line1, s.city AS site_city, s.access_notes AS site_access_notes \
    FROM visits v JOIN jobs j ON j.id = v.job_id \
    JOIN customers c ON c.id = j.customer_id JOIN sites s ON s.id = j.site_id \
    WHERE v.start_ms < ?2 AND v.end_ms > ?1 \
      AND (?3 IS NULL OR EXISTS (SELECT 1 FROM visit_technicians t \
                                 WHERE t.visit_id = v.id AND t.user_id = ?3)) \
      AND (?4 IS NULL OR v.job_id = ?4) \
    ORDER BY v.start_ms, v.id LIMIT ?5";

/// Jobs newest first with their customer's name. ?1 status, ?2 technician, ?3 customer,
/// ?4 a LIKE pattern over the title, ?9 the blinded terms of the same search (a JSON array)
/// that the customer's blind index must all hold, ?5 a job number that also matches, ?6/?7
/// cursor (created_at, id), ?8 limit.
pub const JOBS: &str = concat!(
    "SELECT j.id, j.number, j.title, j.status, j.priority, j.customer_id, ",
    "c.name AS customer_name, j.created_at, ",
    "(SELECT json_group_array(user_id) FROM (",
    job_workers!("j.id"),
    ")) AS technician_ids ",
    "FROM jobs j JOIN customers c ON c.id = j.customer_id ",
    "WHERE (?1 IS NULL OR j.status = ?1) ",
    "AND (?2 IS NULL OR ?2 IN (",
    job_workers!("j.id"),
    ")) ",
    "AND (?3 IS NULL OR j.customer_id = ?3) ",
    "AND (?4 IS NULL OR j.number = ?5 OR j.title LIKE ?4 ESCAPE '\\' ",
    "OR j.customer_id IN (SELECT id FROM personal_terms WHERE kind = 'customer' ",
    "AND term IN (SELECT value FROM json_each(?9)) ",
    "GROUP BY id HAVING count(*) = json_array_length(?9))) ",
    "AND (?6 IS NULL OR j.created_at < ?6 OR (j.created_at = ?6 AND j.id < ?7)) ",
    "ORDER BY j.created_at DESC, j.id DESC LIMIT ?8"
);

/// Jobs that need a visit (the rule of `domain::dispatch::needs_visit`): requested ones, and
/// scheduled or started ones with no open visit ending after ?1 (ms). Most urgent first, then
/// oldest; at most ?2. Each with its customer's name and assigned technicians.
pub const UNSCHEDULED: &str = "SELECT j.id, j.number, j.title, j.status, j.priority, \
    j.version, j.customer_id, c.name AS customer_name, \
    (SELECT json_group_array(t.user_id) FROM job_technicians t WHERE t.job_id = j.id) \
        AS technician_ids \
    FROM jobs j JOIN customers c ON c.id = j.customer_id \
    WHERE j.status = 'requested' \
       OR (j.status IN ('scheduled', 'in_progress') AND NOT EXISTS ( \
           SELECT 1 FROM visits v WHERE v.job_id = j.id AND v.end_ms > ?1 \
             AND v.status IN ('scheduled', 'en_route', 'in_progress'))) \
    ORDER BY CASE j.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 \
             ELSE 3 END, j.created_at, j.id LIMIT ?2";

/// The customer a job ?1 is for.
pub const CUSTOMER_OF_JOB: &str = "SELECT id, name, company, emails, phones, tags, notes, \
    preferred_contact, archived, version, created_at, updated_at FROM customers \
    WHERE id = (SELECT customer_id FROM jobs WHERE id = ?1)";

/// The site a job ?1 is at.
pub const SITE_OF_JOB: &str = "SELECT id, customer_id, label, line1, line2, city, region, \
    postal_code, country, access_notes, is_primary, version, created_at, updated_at \
    FROM sites WHERE id = (SELECT site_id FROM jobs WHERE id = ?1)";

/// Who a quote ?1 is for and what it is about: its customer, site and job, one row.
pub const QUOTE_PARTIES: &str = "SELECT c.id AS customer_id, c.name AS customer_name, \
    j.id AS job_id, j.number AS job_number, j.title AS job_title, \
    s.line1 AS site_line1, s.city AS site_city \
    FROM quotes d JOIN customers c ON c.id = d.customer_id \
    LEFT JOIN jobs j ON j.id = d.job_id LEFT JOIN sites s ON s.id = d.site_id WHERE d.id = ?1";

/// The same for an invoice ?1.
pub const INVOICE_PARTIES: &str = "SELECT c.id AS customer_id, c.name AS customer_name, \
    j.id AS job_id, j.number AS job_number, j.title AS job_title, \
    s.line1 AS site_line1, s.city AS site_city \
    FROM invoices d JOIN customers c ON c.id = d.customer_id \
    LEFT JOIN jobs j ON j.id = d.job_id LEFT JOIN sites s ON s.id = d.site_id WHERE d.id = ?1";

/// A document's customer, site and job, for its page.
#[derive(Debug, Clone, Deserialize)]
pub struct DocParties {
    pub customer_id: String,
    pub customer_name: String,
    pub job_id: Option<String>,
    pub job_number: Option<i64>,
    pub job_title: Option<String>,
    pub site_line1: Option<String>,
    pub site_city: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub role: String,
    pub active: i64,
}

/// People by name, case-insensitively, then id.
pub fn sort_people(people: &mut [Person]) {
    crate::domain::order::by_key(people, |p| crate::domain::order::by_text(&p.name, &p.id));
}

#[derive(Debug, Clone, Deserialize)]
pub struct VisitLine {
    pub id: String,
    pub job_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub status: String,
    pub version: i64,
    pub technician_ids: String,
    pub job_number: i64,
    pub job_title: String,
    pub job_status: String,
    pub customer_name: String,
    #[serde(default)]
    pub customer_phone: Option<String>,
    pub site_line1: String,
    pub site_city: Option<String>,
    #[serde(default)]
    pub site_access_notes: Option<String>,
}

impl VisitLine {
    pub fn technicians(&self) -> Vec<String> {
        serde_json::from_str(&self.technician_ids).unwrap_or_default()
    }
}

/// A job waiting for a visit, as the schedule lists it (see [`UNSCHEDULED`]).
#[derive(Debug, Clone, Deserialize)]
pub struct WaitingJob {
    pub id: String,
    pub number: i64,
    pub title: String,
    pub status: String,
    pub priority: String,
    pub version: i64,
    pub customer_id: String,
    pub customer_name: String,
    pub technician_ids: String,
}

impl WaitingJob {
    pub fn technicians(&self) -> Vec<String> {
        serde_json::from_str(&self.technician_ids).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct JobLine {
    pub id: String,
    pub number: i64,
    pub title: String,
    pub status: String,
    pub priority: String,
    pub customer_id: String,
    pub customer_name: String,
    pub created_at: String,
    pub technician_ids: String,
}

impl JobLine {
    pub fn technicians(&self) -> Vec<String> {
        serde_json::from_str(&self.technician_ids).unwrap_or_default()
    }
}
