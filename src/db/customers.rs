//! Customers and sites.

use serde::Deserialize;

use crate::db::personal;
use crate::domain::customers::{Customer, Site};
use crate::domain::personal::{customer_key, pending, pending_list, pending_opt, IndexKey, Kind};
use crate::error::{AppError, AppResult};
use crate::sql;
use crate::write::{Param, Sql};

/// The condition that a technician (`$who`, a parameter) works for the customer of the row
/// `customers`: assigned to one of its jobs or to a visit of one. Technicians see only those
/// customers (their sites hold gate and alarm codes).
macro_rules! works_for_customer {
    ($who:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM jobs j WHERE j.customer_id = customers.id AND (",
            "EXISTS (SELECT 1 FROM job_technicians t WHERE t.job_id = j.id AND t.user_id = ",
            $who,
            ") OR EXISTS (SELECT 1 FROM visits v JOIN visit_technicians vt ",
            "ON vt.visit_id = v.id WHERE v.job_id = j.id AND vt.user_id = ",
            $who,
            ")))"
        )
    };
}

/// One page in the order customers were added, after the cursor, optionally only those whose
/// blind-index terms include every term of a search (names are sealed, so they sort within a
/// page, in the handler). ?1 archived, ?2 a JSON array of blinded terms, ?3/?4 cursor
/// created_at/id, ?5 limit, ?6 a technician whose customers only (null: everyone's).
pub const SELECT_PAGE: &str = concat!(
    "SELECT id, name, company, emails, phones, tags, notes, ",
    "preferred_contact, archived, version, created_at, updated_at, erased_at FROM customers ",
    "WHERE archived = ?1 AND (?2 IS NULL OR id IN (SELECT id FROM personal_terms ",
    "WHERE kind = 'customer' AND term IN (SELECT value FROM json_each(?2)) ",
    "GROUP BY id HAVING count(*) = json_array_length(?2))) ",
    "AND (?3 IS NULL OR created_at > ?3 OR (created_at = ?3 AND id > ?4)) ",
    "AND (?6 IS NULL OR ",
    works_for_customer!("?6"),
    ") ORDER BY created_at, id LIMIT ?5"
);
/// One row (`n`) when technician ?2 works for customer ?1.
pub const SELECT_WORKS_FOR: &str = concat!(
    "SELECT 1 AS n FROM customers WHERE id = ?1 AND ",
    works_for_customer!("?2")
);
pub const SELECT_BY_ID: &str = "SELECT id, name, company, emails, phones, tags, notes, \
    preferred_contact, archived, version, created_at, updated_at, erased_at FROM customers \
    WHERE id = ?1";
pub const INSERT: &str = "INSERT INTO customers (id, name, company, emails, phones, tags, \
    notes, preferred_contact, search, created_at, updated_at) \
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)";
pub const UPDATE: &str = "UPDATE customers SET name = ?1, company = ?2, emails = ?3, \
    phones = ?4, tags = ?5, notes = ?6, preferred_contact = ?7, search = ?8, \
    version = version + 1, updated_at = ?9 WHERE id = ?10 AND version = ?11 AND archived = 0";
/// Erases customer ?2 (version ?3): the row keeps its id, dates and history, its personal
/// fields are emptied (their sealed values would read "[erased]" anyway once the data key is
/// gone), and it is archived. ?1 now (text), ?4 now (ms).
pub const ERASE: &str = "UPDATE customers SET name = 'Erased customer', company = NULL, \
    emails = '[]', phones = '[]', notes = NULL, search = '', archived = 1, erased_at = ?4, \
    version = version + 1, updated_at = ?1 WHERE id = ?2 AND version = ?3 AND erased_at IS NULL";
/// Customers written before personal data was sealed (their name is not a sealed token), as
/// stored; at most ?1. The seal step of a rollout (`http::personal::seal_existing`).
pub const SELECT_UNSEALED: &str = "/*stored*/ SELECT id, name, company, emails, phones, tags, \
    notes, preferred_contact, archived, version, created_at, updated_at, erased_at \
    FROM customers WHERE erased_at IS NULL AND substr(name, 1, 5) <> 'fwe1.' ORDER BY id LIMIT ?1";
/// Sites written before personal data was sealed, as stored; at most ?1.
pub const SELECT_UNSEALED_SITES: &str = "/*stored*/ SELECT id, customer_id, label, line1, line2, \
    city, region, postal_code, country, access_notes, is_primary, version, created_at, \
    updated_at FROM sites WHERE substr(line1, 1, 5) <> 'fwe1.' ORDER BY id LIMIT ?1";
/// Seals a customer's fields as they are (same values, so no new version), only if it has not
/// changed since read: ?1..?8 the fields as UPDATE takes them, ?9 id, ?10 version read.
pub const RESEAL: &str = "UPDATE customers SET name = ?1, company = ?2, emails = ?3, \
    phones = ?4, tags = ?5, notes = ?6, preferred_contact = ?7, search = ?8 \
    WHERE id = ?9 AND version = ?10";
/// Seals a site's fields as they are: ?1..?9 as UPDATE_SITE takes them, ?10 id, ?11 version.
pub const RESEAL_SITE: &str = "UPDATE sites SET label = ?1, line1 = ?2, line2 = ?3, city = ?4, \
    region = ?5, postal_code = ?6, country = ?7, access_notes = ?8, is_primary = ?9 \
    WHERE id = ?10 AND version = ?11";
/// An erasure replayed from the ledger after a restore: no version (the owner's decision was
/// taken before the restore point). ?1 now (text), ?2 the customer, ?3 when it was erased (ms).
pub const ERASE_REPLAYED: &str = "UPDATE customers SET name = 'Erased customer', \
    company = NULL, emails = '[]', phones = '[]', notes = NULL, search = '', archived = 1, \
    erased_at = ?3, version = version + 1, updated_at = ?1 WHERE id = ?2 AND erased_at IS NULL";
/// The issued invoices of customer ?1, with the company's retention period (years).
pub const ISSUED_INVOICES: &str = "SELECT i.number, i.issued_at, \
    (SELECT record_retention_years FROM company_settings WHERE id = 1) AS retention_years \
    FROM invoices i WHERE i.customer_id = ?1 AND i.issued_at IS NOT NULL ORDER BY i.issued_at";
pub const ARCHIVE: &str = "UPDATE customers SET archived = 1, version = version + 1, \
    updated_at = ?1 WHERE id = ?2 AND version = ?3 AND archived = 0";

pub const SELECT_SITES: &str = "SELECT id, customer_id, label, line1, line2, city, region, \
    postal_code, country, access_notes, is_primary, version, created_at, updated_at \
    FROM sites WHERE customer_id = ?1 ORDER BY is_primary DESC, created_at, id";
pub const SELECT_SITE: &str = "SELECT id, customer_id, label, line1, line2, city, region, \
    postal_code, country, access_notes, is_primary, version, created_at, updated_at \
    FROM sites WHERE id = ?1";
/// A new site is primary when asked to be, or when it is the customer's first.
/// Only for a customer that exists and is not archived.
pub const INSERT_SITE: &str = "INSERT INTO sites (id, customer_id, label, line1, line2, city, \
    region, postal_code, country, access_notes, is_primary, created_at, updated_at) \
    SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
        CASE WHEN ?11 = 1 OR NOT EXISTS (SELECT 1 FROM sites WHERE customer_id = ?2) \
             THEN 1 ELSE 0 END, ?12, ?12 \
    WHERE EXISTS (SELECT 1 FROM customers WHERE id = ?2 AND archived = 0)";
/// Before a site becomes primary, the customer's other primary site stops being one; only if
/// the same batch's write of that site will succeed (the customer is live and, for an update,
/// ?4 is still the site's version), so a refused write demotes nothing.
pub const CLEAR_OTHER_PRIMARY: &str = "UPDATE sites SET is_primary = 0, version = version + 1, \
    updated_at = ?3 WHERE customer_id = ?1 AND is_primary = 1 AND id <> ?2 \
    AND EXISTS (SELECT 1 FROM customers WHERE id = ?1 AND archived = 0) \
    AND (?4 IS NULL OR EXISTS (SELECT 1 FROM sites WHERE id = ?2 AND version = ?4))";
pub const UPDATE_SITE: &str = "UPDATE sites SET label = ?1, line1 = ?2, line2 = ?3, city = ?4, \
    region = ?5, postal_code = ?6, country = ?7, access_notes = ?8, is_primary = ?9, \
    version = version + 1, updated_at = ?10 WHERE id = ?11 AND version = ?12";

/// A row of `customers`; JSON arrays as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct CustomerRow {
    pub id: String,
    pub name: String,
    pub company: Option<String>,
    pub emails: String,
    pub phones: String,
    pub tags: String,
    pub notes: Option<String>,
    pub preferred_contact: String,
    pub archived: i64,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
    /// When the customer's personal data was erased (ms).
    pub erased_at: Option<i64>,
}

impl CustomerRow {
    fn list(json: &str) -> Vec<String> {
        serde_json::from_str(json).unwrap_or_default()
    }

    pub fn emails(&self) -> Vec<String> {
        Self::list(&self.emails)
    }

    pub fn phones(&self) -> Vec<String> {
        Self::list(&self.phones)
    }

    pub fn tags(&self) -> Vec<String> {
        Self::list(&self.tags)
    }

    /// Back to the domain type, to apply a change to it. Stored values were valid when
    /// written, so a row that no longer parses is our bug: a 500 with the cause logged.
    pub fn to_domain(&self) -> AppResult<Customer> {
        use crate::domain::contact::{Email, Phone};
        let emails = self
            .emails()
            .iter()
            .map(|e| Email::parse(e))
            .collect::<Result<Vec<_>, _>>();
        let phones = self
            .phones()
            .iter()
            .map(|p| Phone::parse(p))
            .collect::<Result<Vec<_>, _>>();
        match (emails, phones) {
            (Ok(emails), Ok(phones)) => Ok(Customer {
                name: self.name.clone(),
                company: self.company.clone(),
                emails,
                phones,
                tags: self.tags(),
                notes: self.notes.clone(),
                preferred_contact: self.preferred_contact.clone(),
            }),
            _ => Err(AppError::internal(format!(
                "customer {} holds invalid contacts",
                self.id
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct SiteRow {
    pub id: String,
    pub customer_id: String,
    pub label: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub access_notes: Option<String>,
    pub is_primary: i64,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl SiteRow {
    pub fn to_domain(&self) -> Site {
        Site {
            label: self.label.clone(),
            line1: self.line1.clone(),
            line2: self.line2.clone(),
            city: self.city.clone(),
            region: self.region.clone(),
            postal_code: self.postal_code.clone(),
            country: self.country.clone(),
            access_notes: self.access_notes.clone(),
            is_primary: self.is_primary == 1,
        }
    }
}

fn json_list<T: std::fmt::Display>(items: &[T]) -> String {
    serde_json::Value::from(items.iter().map(ToString::to_string).collect::<Vec<_>>()).to_string()
}

/// The customer and its sites: one record, read together.
/// Whether `technician` works for customer `id` (see [`SELECT_WORKS_FOR`]).
pub async fn works_for(db: &worker::D1Database, id: &str, technician: &str) -> AppResult<bool> {
    let row: Option<serde_json::Value> = crate::db::first(
        db,
        SELECT_WORKS_FOR,
        &[crate::db::text(id), crate::db::text(technician)],
    )
    .await?;
    Ok(row.is_some())
}

pub fn load(id: &str) -> Vec<Sql> {
    vec![sql!(SELECT_BY_ID, id), sql!(SELECT_SITES, id)]
}

/// The bound values of a customer's fields, in the order INSERT and UPDATE take them; the
/// personal ones sealed under the customer's data key `key`.
fn customer_values(key: &str, c: &Customer) -> Vec<Param> {
    let emails: Vec<String> = c.emails.iter().map(ToString::to_string).collect();
    let phones: Vec<String> = c.phones.iter().map(ToString::to_string).collect();
    vec![
        pending(key, &c.name).into(),
        pending_opt(key, c.company.as_deref()).into(),
        pending_list(key, &emails).into(),
        pending_list(key, &phones).into(),
        json_list(&c.tags).into(),
        pending_opt(key, c.notes.as_deref()).into(),
        c.preferred_contact.as_str().into(),
        "".into(),
    ]
}

pub fn insert(id: &str, c: &Customer, now: &str) -> Sql {
    let mut params = vec![id.into()];
    params.extend(customer_values(&customer_key(id), c));
    params.push(now.into());
    Sql::new(INSERT, params)
}

pub fn update(id: &str, version: i64, c: &Customer, now: &str) -> Sql {
    let mut params = customer_values(&customer_key(id), c);
    params.extend([now.into(), id.into(), version.into()]);
    Sql::new(UPDATE, params)
}

/// The statements that keep customer `id`'s blind index (see [`SELECT_PAGE`]) in step.
pub fn index(key: &IndexKey, id: &str, c: &Customer) -> [Sql; 2] {
    personal::index(key, Kind::Customer, id, &c.terms())
}

/// The statement sealing customer `id`'s fields as they are (see [`RESEAL`]).
pub fn reseal(id: &str, version: i64, c: &Customer) -> Sql {
    let mut params = customer_values(&customer_key(id), c);
    params.extend([id.into(), version.into()]);
    Sql::new(RESEAL, params)
}

/// The statement sealing site `row`'s fields as they are (see [`RESEAL_SITE`]).
pub fn reseal_site(row: &SiteRow) -> Sql {
    let mut params = site_values(&row.customer_id, &row.to_domain());
    params.extend([row.id.as_str().into(), row.version.into()]);
    Sql::new(RESEAL_SITE, params)
}

pub fn erase(id: &str, version: i64, now: &str, now_ms: i64) -> Sql {
    sql!(ERASE, now, id, version, now_ms)
}

pub fn archive(id: &str, version: i64, now: &str) -> Sql {
    sql!(ARCHIVE, now, id, version)
}

/// A site's bound values; its address and access notes sealed under its customer's key.
fn site_values(customer_id: &str, s: &Site) -> Vec<Param> {
    let key = customer_key(customer_id);
    vec![
        s.label.as_deref().into(),
        pending(&key, &s.line1).into(),
        pending_opt(&key, s.line2.as_deref()).into(),
        pending_opt(&key, s.city.as_deref()).into(),
        pending_opt(&key, s.region.as_deref()).into(),
        pending_opt(&key, s.postal_code.as_deref()).into(),
        s.country.as_deref().into(),
        pending_opt(&key, s.access_notes.as_deref()).into(),
        i64::from(s.is_primary).into(),
    ]
}

pub fn insert_site(id: &str, customer_id: &str, s: &Site, now: &str) -> Sql {
    // ?1 id, ?2 customer, ?3..?11 the fields (?11 the asked-for primary flag), ?12 now.
    let mut params = vec![id.into(), customer_id.into()];
    params.extend(site_values(customer_id, s));
    params.push(now.into());
    Sql::new(INSERT_SITE, params)
}

pub fn update_site(id: &str, customer_id: &str, version: i64, s: &Site, now: &str) -> Sql {
    let mut params = site_values(customer_id, s);
    params.extend([now.into(), id.into(), version.into()]);
    Sql::new(UPDATE_SITE, params)
}

/// `version`: the version the caller read of the site being updated; `None` for a new site.
pub fn clear_other_primary(
    customer_id: &str,
    site_id: &str,
    version: Option<i64>,
    now: &str,
) -> Sql {
    sql!(CLEAR_OTHER_PRIMARY, customer_id, site_id, now, version)
}
