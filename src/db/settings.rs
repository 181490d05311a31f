//! The company settings row.

use serde::Deserialize;
use worker::D1Database;

use crate::db::first;
use crate::error::AppResult;
use crate::sql;
use crate::write::Sql;

pub const SELECT: &str = "SELECT name, currency, time_zone, locale, email, phone, address, \
    mfa_required, default_tax_rate_ppm, rounding, invoice_prefix, payment_terms_days, \
    brand_color, max_upload_bytes, require_signature, complete_job_with_last_visit, \
    work_day_start, work_day_end, logo_file_id, support_preapprove_read_only, \
    (SELECT json_object('id', id, 'person', person_name, 'ends_at', ends_at, \
            'version', version) FROM support_sessions WHERE status = 'active' \
     ORDER BY started_at DESC LIMIT 1) AS support_open, \
    (SELECT json_object('effective_at', effective_at, 'version', version) \
     FROM company_deletion WHERE status = 'pending') AS deletion_pending, version, updated_at \
    FROM company_settings WHERE id = 1";
pub const UPDATE: &str = "UPDATE company_settings SET name = ?1, currency = ?2, time_zone = ?3, \
    locale = ?4, email = ?5, phone = ?6, address = ?7, mfa_required = ?8, \
    version = version + 1, updated_at = ?9, default_tax_rate_ppm = ?11, rounding = ?12, \
    invoice_prefix = ?13, payment_terms_days = ?14, brand_color = ?15, \
    max_upload_bytes = ?16, require_signature = ?17, complete_job_with_last_visit = ?18, \
    work_day_start = ?19, work_day_end = ?20, support_preapprove_read_only = ?21 \
    WHERE id = 1 AND version = ?10";

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct Settings {
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub locale: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub mfa_required: i64,
    /// Billing defaults, copied onto new quotes and invoices (see `domain::billing`).
    pub default_tax_rate_ppm: i64,
    pub rounding: String,
    pub invoice_prefix: String,
    pub payment_terms_days: i64,
    pub brand_color: String,
    /// The company's upload limit in bytes (at most `domain::files::MAX_UPLOAD_BYTES`).
    pub max_upload_bytes: i64,
    /// Whether completing a job needs the customer's signature (a trigger enforces it).
    pub require_signature: i64,
    /// Whether completing a job's last open visit completes the job (`domain::dispatch`).
    pub complete_job_with_last_visit: i64,
    /// The schedule's visible hours, in minutes after local midnight.
    pub work_day_start: i64,
    pub work_day_end: i64,
    /// The current logo (a file with purpose `logo`), set through its own route.
    pub logo_file_id: Option<String>,
    /// Whether read-only support requests are approved without asking an owner.
    pub support_preapprove_read_only: i64,
    /// The support session running now, as JSON (id, person, ends_at, version): every page's
    /// banner. Its deadline is checked when shown.
    pub support_open: Option<String>,
    /// The company's pending deletion, as JSON (effective_at, version): every page's banner.
    #[serde(default)]
    pub deletion_pending: Option<String>,
    pub version: i64,
    pub updated_at: String,
}

pub async fn get(db: &D1Database) -> AppResult<Option<Settings>> {
    first(db, SELECT, &[]).await
}

pub fn load() -> Sql {
    sql!(SELECT)
}

pub fn update(next: &Settings, version: i64, now: &str) -> Sql {
    sql!(
        UPDATE,
        next.name.as_str(),
        next.currency.as_str(),
        next.time_zone.as_str(),
        next.locale.as_str(),
        next.email.as_deref(),
        next.phone.as_deref(),
        next.address.as_deref(),
        next.mfa_required,
        now,
        version,
        next.default_tax_rate_ppm,
        next.rounding.as_str(),
        next.invoice_prefix.as_str(),
        next.payment_terms_days,
        next.brand_color.as_str(),
        next.max_upload_bytes,
        next.require_signature,
        next.complete_job_with_last_visit,
        next.work_day_start,
        next.work_day_end,
        next.support_preapprove_read_only
    )
}
