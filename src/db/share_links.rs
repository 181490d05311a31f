//! Share links: one document each, stored by the SHA-256 of their token.

use serde::Deserialize;

use crate::sql;
use crate::write::Sql;

/// A link for a document that is still as the handler found it shareable: a quote that is
/// no longer a draft, an invoice that is issued (the domain decides the finer rules).
/// ?1 id, ?2 token hash, ?3 kind, ?4 document id, ?5 created by, ?6 now, ?7 expires.
pub const INSERT: &str = "INSERT INTO share_links (id, token_hash, document_kind, document_id, \
    created_by, created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 \
    WHERE (?3 = 'quote' AND EXISTS (SELECT 1 FROM quotes WHERE id = ?4 AND status <> 'draft')) \
       OR (?3 = 'invoice' AND EXISTS (SELECT 1 FROM invoices WHERE id = ?4 AND status = 'issued'))";
pub const SELECT_BY_ID: &str = "SELECT id, document_kind, document_id, created_by, created_at, \
    expires_at, revoked_at, last_used_at, version FROM share_links WHERE id = ?1";
/// The links made for document ?2 of kind ?1, newest first (a page shows at most 20).
pub const SELECT_FOR_DOCUMENT: &str = "SELECT id, document_kind, document_id, created_by, \
    created_at, expires_at, revoked_at, last_used_at, version FROM share_links \
    WHERE document_kind = ?1 AND document_id = ?2 ORDER BY created_at DESC, id DESC LIMIT 20";
/// What the public page will look a token up by.
pub const SELECT_BY_HASH: &str = "SELECT id, document_kind, document_id, created_by, \
    created_at, expires_at, revoked_at, last_used_at, version FROM share_links \
    WHERE token_hash = ?1";
/// The customer a shared document is for (its page names them).
pub const SELECT_CUSTOMER_NAME: &str = "SELECT name FROM customers WHERE id = ?1";
/// The name of an invoice's customer, by the invoice's id: read in the invoice's own batch.
pub const SELECT_INVOICE_CUSTOMER_NAME: &str =
    "SELECT name FROM customers WHERE id = (SELECT customer_id FROM invoices WHERE id = ?1)";
/// The name of a quote's customer, by the quote's id.
pub const SELECT_QUOTE_CUSTOMER_NAME: &str =
    "SELECT name FROM customers WHERE id = (SELECT customer_id FROM quotes WHERE id = ?1)";
pub const REVOKE: &str = "UPDATE share_links SET revoked_at = ?1, version = version + 1 \
    WHERE id = ?2 AND version = ?3 AND revoked_at IS NULL";

#[derive(Debug, Clone, Deserialize)]
pub struct ShareLinkRow {
    pub id: String,
    pub document_kind: String,
    pub document_id: String,
    pub created_by: Option<String>,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
    pub version: i64,
}

pub fn load(id: &str) -> Sql {
    sql!(SELECT_BY_ID, id)
}

pub fn insert(
    id: &str,
    token_hash: &str,
    kind: &str,
    document_id: &str,
    created_by: &str,
    now: &str,
    expires_at: &str,
) -> Sql {
    sql!(
        INSERT,
        id,
        token_hash,
        kind,
        document_id,
        created_by,
        now,
        expires_at
    )
}

pub fn revoke(id: &str, version: i64, now: &str) -> Sql {
    sql!(REVOKE, now, id, version)
}
