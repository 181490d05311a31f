//! Customers and sites as the API shows them.

use crate::json;
use serde_json::Value;

use crate::db::customers::{CustomerRow, SiteRow};
use crate::domain::customers::{Customer, Site};

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

/// The audit trail's picture of a customer: its fields, without bookkeeping.
pub fn customer_audit(c: &Customer) -> Value {
    json!({
        "name": c.name,
        "company": c.company,
        "emails": c.emails.iter().map(|e| e.as_str()).collect::<Vec<_>>(),
        "phones": c.phones.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        "tags": c.tags,
        "notes": c.notes,
        "preferred_contact": c.preferred_contact,
    })
}

pub fn site_audit(s: &Site) -> Value {
    json!({
        "label": s.label,
        "line1": s.line1,
        "line2": s.line2,
        "city": s.city,
        "region": s.region,
        "postal_code": s.postal_code,
        "country": s.country,
        "access_notes": s.access_notes,
        "is_primary": s.is_primary,
    })
}
