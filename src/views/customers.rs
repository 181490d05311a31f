//! Customers and sites as the API shows them.

use crate::json;
use serde_json::Value;

use crate::db::customers::{CustomerRow, SiteRow};
use crate::domain::customers::{Customer, Site};
use crate::domain::personal::{customer_key, pending, pending_opt};

pub fn customer_view(row: &CustomerRow, sites: Option<&[SiteRow]>) -> Value {
    let mut view = json!({
        "id": row.id,
        "name": row.name,
        "company": row.company,
        "emails": row.emails(),
        "phones": row.phones(),
        "tags": row.tags(),
        "notes": row.notes,
        "preferred_contact": row.preferred_contact,
        "archived": row.archived == 1,
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    });
    if let Some(sites) = sites {
        view["sites"] = Value::Array(sites.iter().map(site_view).collect());
    }
    view
}

pub fn site_view(row: &SiteRow) -> Value {
    json!({
        "id": row.id,
        "customer_id": row.customer_id,
        "label": row.label,
        "line1": row.line1,
        "line2": row.line2,
        "city": row.city,
        "region": row.region,
        "postal_code": row.postal_code,
        "country": row.country,
        "access_notes": row.access_notes,
        "is_primary": row.is_primary == 1,
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    })
}

/// The audit trail's picture of a customer: its fields, without bookkeeping; the personal
/// ones sealed under the customer's data key, so an erasure reaches the trail too.
pub fn customer_audit(c: &Customer, customer_id: &str) -> Value {
    let key = customer_key(customer_id);
    let emails: Vec<String> = c.emails.iter().map(|e| pending(&key, e.as_str())).collect();
    let phones: Vec<String> = c.phones.iter().map(|p| pending(&key, p.as_str())).collect();
    json!({
        "name": pending(&key, &c.name),
        "company": pending_opt(&key, c.company.as_deref()),
        "emails": emails,
        "phones": phones,
        "tags": c.tags,
        "notes": pending_opt(&key, c.notes.as_deref()),
        "preferred_contact": c.preferred_contact,
    })
}

/// The audit trail's picture of a site; its address sealed under its customer's key.
pub fn site_audit(s: &Site, customer_id: &str) -> Value {
    let key = customer_key(customer_id);
    json!({
        "label": s.label,
        "line1": pending(&key, &s.line1),
        "line2": pending_opt(&key, s.line2.as_deref()),
        "city": pending_opt(&key, s.city.as_deref()),
        "region": pending_opt(&key, s.region.as_deref()),
        "postal_code": pending_opt(&key, s.postal_code.as_deref()),
        "country": s.country,
        "access_notes": pending_opt(&key, s.access_notes.as_deref()),
        "is_primary": s.is_primary,
    })
}
