//! Quotes: their rows, numbering from the `quote` counter, the versioned status moves, and the
//! conversion of an accepted quote into a job and a draft invoice.

use serde::Deserialize;

use crate::domain::money::{Line, Pricing};
use crate::domain::quotes::{Deposit, Quote};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::sql;
use crate::write::Sql;

macro_rules! columns {
    () => {
        "id, number, customer_id, site_id, job_id, title, status, currency, rounding, lines, \
         totals, notes, terms, valid_until, deposit, sent_at, chosen_option, chosen_extras, \
         signer_name, accepted_at, accepted_ip, accepted_by, accepted_total, accepted_deposit, \
         declined_at, invoice_id, converted_at, version, created_at, updated_at"
    };
}

/// The status a quote shows at ?now: a sent or viewed quote past its validity is expired
/// (as `QuoteStatus::at` decides; `tests/sql.rs` holds the two to the same answers).
macro_rules! shown_status {
    ($now:literal) => {
        concat!(
            "CASE WHEN status IN ('sent', 'viewed') AND ",
            $now,
            " > valid_until THEN 'expired' ELSE status END"
        )
    };
}

pub const SELECT_BY_ID: &str = concat!("SELECT ", columns!(), " FROM quotes WHERE id = ?1");

/// Newest first; ?1 shown status, ?2 customer, ?3/?4 cursor (created_at, id), ?5 limit,
/// ?6 now (RFC 3339).
pub const SELECT_PAGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM quotes WHERE (?1 IS NULL OR ",
    shown_status!("?6"),
    " = ?1) AND (?2 IS NULL OR customer_id = ?2) \
     AND (?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND id < ?4)) \
     ORDER BY created_at DESC, id DESC LIMIT ?5"
);

/// A job's quotes ?1, oldest first (a job's page lists them).
pub const SELECT_FOR_JOB: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM quotes WHERE job_id = ?1 ORDER BY created_at, id LIMIT 50"
);

/// The status shown at ?1 for each quote: what the list filter computes, for the SQL test.
pub const SELECT_SHOWN_STATUS: &str = concat!(
    "SELECT id, ",
    shown_status!("?1"),
    " AS shown FROM quotes ORDER BY id"
);

/// The conditions under which a quote may be created: a site of the live customer, and a job
/// (if named) of the same customer. Shared by the counter bump and the insert, so the counter
/// moves exactly when a quote takes its number.
macro_rules! creatable {
    () => {
        "EXISTS (SELECT 1 FROM sites s JOIN customers c ON c.id = s.customer_id \
                 WHERE s.id = ?3 AND c.id = ?2 AND c.archived = 0) \
         AND (?4 IS NULL OR EXISTS (SELECT 1 FROM jobs WHERE id = ?4 AND customer_id = ?2))"
    };
}

/// ?1 is unused here but keeps the parameter numbers of [`INSERT`].
pub const BUMP_COUNTER: &str = concat!(
    "UPDATE counters SET value = value + 1 WHERE name = 'quote' AND ?1 IS NOT NULL AND ",
    creatable!()
);
pub const INSERT: &str = concat!(
    "INSERT INTO quotes (id, number, customer_id, site_id, job_id, title, currency, rounding, \
     lines, totals, notes, terms, valid_until, deposit, created_at, updated_at) \
     SELECT ?1, (SELECT value FROM counters WHERE name = 'quote'), ?2, ?3, ?4, ?5, ?6, ?7, ?8, \
     ?9, ?10, ?11, ?12, ?13, ?14, ?14 WHERE ",
    creatable!()
);

/// A draft's own fields.
pub const UPDATE: &str = "UPDATE quotes SET title = ?1, lines = ?2, totals = ?3, notes = ?4, \
    terms = ?5, valid_until = ?6, deposit = ?7, version = version + 1, updated_at = ?8 \
    WHERE id = ?9 AND version = ?10 AND status = 'draft'";

/// Send, decline, revise: ?1 the new status, ?2 now, ?3 id, ?4 version, ?5 the stored status
/// the move was decided from.
pub const SET_STATUS: &str = "UPDATE quotes SET status = ?1, \
    sent_at = CASE WHEN ?1 = 'sent' THEN ?2 ELSE sent_at END, \
    declined_at = CASE WHEN ?1 = 'declined' THEN ?2 ELSE declined_at END, \
    version = version + 1, updated_at = ?2 WHERE id = ?3 AND version = ?4 AND status = ?5";

/// The acceptance, only of a sent or viewed quote still valid at ?4.
pub const ACCEPT: &str = "UPDATE quotes SET status = 'accepted', chosen_option = ?1, \
    chosen_extras = ?2, signer_name = ?3, accepted_at = ?4, accepted_ip = ?5, accepted_by = ?6, \
    accepted_total = ?7, accepted_deposit = ?8, version = version + 1, updated_at = ?4 \
    WHERE id = ?9 AND version = ?10 AND status IN ('sent', 'viewed') AND valid_until >= ?4";

/// The conversion's own record on the quote; the job and invoice inserts before it in the
/// same batch hold the same conditions on the quote as it was read (?4 id, ?5 version).
pub const CONVERT: &str = "UPDATE quotes SET job_id = ?1, invoice_id = ?2, converted_at = ?3, \
    version = version + 1, updated_at = ?3 \
    WHERE id = ?4 AND version = ?5 AND status = 'accepted' AND invoice_id IS NULL";

/// A job for an accepted quote that has none: requested, at the quote's site, numbered as
/// `jobs::INSERT` numbers. ?1 job id, ?2 now, ?3 quote id, ?4 the quote's version.
pub const INSERT_JOB: &str = "INSERT INTO jobs (id, number, customer_id, site_id, title, \
    description, priority, items, created_at, updated_at) \
    SELECT ?1, (SELECT COALESCE(MAX(number), 0) + 1 FROM jobs), q.customer_id, q.site_id, \
    q.title, 'From quote ' || q.number || '.', 'normal', '[]', ?2, ?2 FROM quotes q \
    WHERE q.id = ?3 AND q.version = ?4 AND q.status = 'accepted' AND q.invoice_id IS NULL \
      AND q.job_id IS NULL";

/// Drafts only: a quote that was sent once is revised, declined or left to expire instead,
/// and an accepted one is never deleted (a trigger refuses it too).
pub const DELETE: &str = "DELETE FROM quotes WHERE id = ?1 AND version = ?2 AND status = 'draft'";

/// Who a new quote or invoice is for, checked in one read: the customer (?1, or the job's
/// when ?1 is NULL), whether it is archived, the site (?2 if it is the customer's; else the
/// job's site; else the primary one) and the job (?3 if it is the customer's).
pub const SELECT_PARTIES: &str = "SELECT c.id AS customer_id, c.archived, \
    (SELECT s.id FROM sites s WHERE s.customer_id = c.id AND s.id = COALESCE(?2, \
        (SELECT j.site_id FROM jobs j WHERE j.id = ?3 AND j.customer_id = c.id), \
        (SELECT p.id FROM sites p WHERE p.customer_id = c.id AND p.is_primary = 1))) AS site_id, \
    (SELECT j.id FROM jobs j WHERE j.id = ?3 AND j.customer_id = c.id) AS job_id \
    FROM customers c WHERE c.id = COALESCE(?1, (SELECT customer_id FROM jobs WHERE id = ?3))";

#[derive(Debug, Clone, Deserialize)]
pub struct PartiesRow {
    pub customer_id: String,
    pub archived: i64,
    pub site_id: Option<String>,
    pub job_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct QuoteRow {
    pub id: String,
    pub number: i64,
    pub customer_id: String,
    pub site_id: String,
    pub job_id: Option<String>,
    pub title: String,
    pub status: String,
    pub currency: String,
    pub rounding: String,
    pub lines: String,
    pub totals: String,
    pub notes: Option<String>,
    pub terms: Option<String>,
    pub valid_until: String,
    pub deposit: Option<String>,
    pub sent_at: Option<String>,
    pub chosen_option: Option<String>,
    pub chosen_extras: Option<String>,
    pub signer_name: Option<String>,
    pub accepted_at: Option<String>,
    pub accepted_ip: Option<String>,
    pub accepted_by: Option<String>,
    pub accepted_total: Option<i64>,
    pub accepted_deposit: Option<i64>,
    pub declined_at: Option<String>,
    pub invoice_id: Option<String>,
    pub converted_at: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl QuoteRow {
    /// Back to the domain type. Stored values were valid when written, so one that no longer
    /// parses is our bug: a 500 with the cause logged.
    pub fn to_domain(&self) -> AppResult<Quote> {
        let broken = |what: &str| AppError::internal(format!("quote {} has bad {what}", self.id));
        let pricing = crate::domain::billing::pricing(&self.currency, &self.rounding)
            .map_err(|_| broken("pricing"))?;
        let lines: Vec<Line> = serde_json::from_str(&self.lines).map_err(|_| broken("lines"))?;
        let deposit: Option<Deposit> = match &self.deposit {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| broken("deposit"))?),
            None => None,
        };
        Ok(Quote {
            title: self.title.clone(),
            pricing,
            lines,
            notes: self.notes.clone(),
            terms: self.terms.clone(),
            valid_until: Millis::parse_rfc3339(&self.valid_until)
                .ok_or_else(|| broken("valid_until"))?,
            deposit,
        })
    }

    /// The ticked extras of the acceptance, by line index.
    pub fn chosen_extras(&self) -> Vec<usize> {
        self.chosen_extras
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }
}

fn lines_json(lines: &[Line]) -> String {
    serde_json::to_string(lines).unwrap_or_else(|_| "[]".to_owned())
}

fn deposit_json(deposit: Option<Deposit>) -> Option<String> {
    deposit.and_then(|d| serde_json::to_string(&d).ok())
}

/// What a new quote is stored with besides its own fields.
pub struct NewQuote<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    pub site_id: &'a str,
    pub job_id: Option<&'a str>,
    pub quote: &'a Quote,
    /// The option totals, as `views::money::option_totals` computes them.
    pub totals: &'a str,
    pub now: &'a str,
}

/// The counter bump and the insert, in that order, for one batch (the insert is the guard:
/// it checks the parties, and the bump holds the same conditions).
pub fn insert(new: &NewQuote<'_>) -> [Sql; 2] {
    let Pricing { currency, rounding } = new.quote.pricing;
    let deposit = deposit_json(new.quote.deposit);
    let bump = sql!(
        BUMP_COUNTER,
        new.id,
        new.customer_id,
        new.site_id,
        new.job_id
    );
    let insert = sql!(
        INSERT,
        new.id,
        new.customer_id,
        new.site_id,
        new.job_id,
        new.quote.title.as_str(),
        currency.code(),
        rounding.as_str(),
        lines_json(&new.quote.lines),
        new.totals,
        new.quote.notes.as_deref(),
        new.quote.terms.as_deref(),
        new.quote.valid_until.to_rfc3339(),
        deposit,
        new.now,
    );
    [bump, insert]
}

pub fn update(id: &str, version: i64, quote: &Quote, totals: &str, now: &str) -> Sql {
    sql!(
        UPDATE,
        quote.title.as_str(),
        lines_json(&quote.lines),
        totals,
        quote.notes.as_deref(),
        quote.terms.as_deref(),
        quote.valid_until.to_rfc3339(),
        deposit_json(quote.deposit),
        now,
        id,
        version,
    )
}

/// Send, decline, revise: quote `id` at `version`, decided from stored status `from`.
pub fn set_status(id: &str, version: i64, from: &str, to: &str, now: &str) -> Sql {
    sql!(SET_STATUS, to, now, id, version, from)
}
