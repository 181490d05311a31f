//! Messages to customers: what a quote or invoice delivery reads, the rows a queued message
//! writes (its outbox row, its line in the customer's conversation, the share link it
//! carries), what the automatic messages' planner reads, and their templates and timing.

use serde::Deserialize;

use crate::sql;
use crate::write::Sql;

/// A quote to deliver, with its customer's addresses and the company's name. ?1 quote id.
pub const QUOTE_TO_SEND: &str = "SELECT 'quote' AS document, q.id, \
    'Q-' || printf('%04d', q.number) AS number, q.status, q.valid_until AS date, q.currency, \
    (SELECT MIN(CAST(json_extract(value, '$.total') AS INTEGER)) FROM json_each(q.totals)) AS amount, \
    (SELECT COUNT(*) FROM json_each(q.totals)) AS options, \
    c.id AS customer_id, c.name AS customer, c.emails, c.phones, c.preferred_contact, \
    s.name AS company \
    FROM quotes q JOIN customers c ON c.id = q.customer_id JOIN company_settings s ON s.id = 1 \
    WHERE q.id = ?1";
/// An invoice to deliver, its balance as the amount. ?1 invoice id.
pub const INVOICE_TO_SEND: &str = "SELECT 'invoice' AS document, i.id, \
    COALESCE(i.number, '') AS number, i.status, COALESCE(i.due_at, '') AS date, i.currency, \
    i.total - i.paid + i.refunded AS amount, 1 AS options, \
    c.id AS customer_id, c.name AS customer, c.emails, c.phones, c.preferred_contact, \
    s.name AS company \
    FROM invoices i JOIN customers c ON c.id = i.customer_id JOIN company_settings s ON s.id = 1 \
    WHERE i.id = ?1";

/// A message queued for the outbox; ignored when its occasion was queued before, so each
/// message goes out at most once whoever queues it. ?1 id, ?2 occasion, ?3 channel,
/// ?4 recipient, ?5 data, ?6 entity, ?7 entity id, ?8 when to send (ms), ?9 now (ms).
pub const QUEUE: &str = "INSERT OR IGNORE INTO outbox (id, occasion, channel, recipient, kind, \
    data, entity, entity_id, next_at, created_at, updated_at) \
    VALUES (?1, ?2, ?3, ?4, 'customer', ?5, ?6, ?7, ?8, ?9, ?9)";
/// The message's line in the customer's conversation, written only with its outbox row.
/// ?1 id, ?2 customer, ?3 channel, ?4 body (sealed, cut to length before: `kept_body`),
/// ?5 outbox id, ?6 author, ?7 now (ms).
pub const CONVERSATION_LINE: &str = "INSERT INTO customer_messages (id, customer_id, direction, \
    channel, body, outbox_id, author_id, created_at) \
    SELECT ?1, ?2, 'out', ?3, ?4, ?5, ?6, ?7 \
    WHERE EXISTS (SELECT 1 FROM outbox WHERE id = ?5)";
/// A share link made for a message, stored by its token's hash (the token is derived from the
/// link's id under the Worker's key when the message is sent, never stored). Made only with
/// its outbox row, and only for a document that can be shared (a quote no longer a draft, an
/// issued invoice). ?1 id, ?2 token hash, ?3 kind, ?4 document, ?5 made by, ?6 now,
/// ?7 expires, ?8 outbox id.
pub const SHARE_LINK: &str = "INSERT INTO share_links (id, token_hash, document_kind, \
    document_id, created_by, created_at, expires_at) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 \
    WHERE EXISTS (SELECT 1 FROM outbox WHERE id = ?8) \
    AND ((?3 = 'quote' AND EXISTS (SELECT 1 FROM quotes WHERE id = ?4 AND status <> 'draft')) \
      OR (?3 = 'invoice' AND EXISTS (SELECT 1 FROM invoices WHERE id = ?4 AND status = 'issued')))";

/// What an "on my way" message needs: the job's customer, the template, the company.
/// ?1 job id.
pub const ON_MY_WAY: &str = "SELECT c.id AS customer_id, c.name AS customer, c.emails, \
    c.phones, c.preferred_contact, \
    (c.sms_opted_out_at IS NOT NULL OR c.email_opted_out_at IS NOT NULL) AS opted_out, \
    j.title AS job, s.name AS company, t.enabled, t.subject, t.body \
    FROM jobs j JOIN customers c ON c.id = j.customer_id \
    JOIN company_settings s ON s.id = 1 JOIN message_templates t ON t.kind = 'on_my_way' \
    WHERE j.id = ?1";

/// A record's deliveries, for its timeline. ?1 entity, ?2 id.
pub const DELIVERIES: &str = "SELECT id, channel, recipient, status, attempts, error, \
    delivery, delivery_error, json_extract(data, '$.template') AS template, \
    created_at, updated_at FROM outbox \
    WHERE entity = ?1 AND entity_id = ?2 AND kind = 'customer' ORDER BY created_at, id";

/// What the sender needs besides the message: the company's name, address and colour, and
/// whether the customer opted out since it was queued. ?1 customer id.
pub const SENDING: &str = "SELECT s.name AS company, s.email AS company_email, s.brand_color, \
    (SELECT (sms_opted_out_at IS NOT NULL OR email_opted_out_at IS NOT NULL) \
     FROM customers WHERE id = ?1) AS opted_out \
    FROM company_settings s WHERE s.id = 1";

pub const TIMING: &str = "SELECT quiet_start, quiet_end, reminder_at, overdue_days, \
    quote_follow_up_days, version, updated_at FROM message_settings WHERE id = 1";
pub const UPDATE_TIMING: &str = "UPDATE message_settings SET quiet_start = ?1, quiet_end = ?2, \
    reminder_at = ?3, overdue_days = ?4, quote_follow_up_days = ?5, version = version + 1, \
    updated_at = ?6 WHERE id = 1 AND version = ?7";
pub const TEMPLATES: &str = "SELECT kind, enabled, subject, body, version, updated_at \
    FROM message_templates ORDER BY rowid";
pub const TEMPLATE: &str = "SELECT kind, enabled, subject, body, version, updated_at \
    FROM message_templates WHERE kind = ?1";
pub const UPDATE_TEMPLATE: &str = "UPDATE message_templates SET enabled = ?2, subject = ?3, \
    body = ?4, version = version + 1, updated_at = ?5 WHERE kind = ?1 AND version = ?6";
pub const COMPANY: &str = "SELECT name, time_zone, brand_color FROM company_settings WHERE id = 1";

/// The customer's addresses and consent, as every planner read below gives them.
macro_rules! customer_columns {
    () => {
        "c.id AS customer_id, c.name AS customer, c.emails, c.phones, c.preferred_contact, \
         (c.sms_opted_out_at IS NOT NULL OR c.email_opted_out_at IS NOT NULL) AS opted_out"
    };
}

/// Visits starting in `[?1, ?2)` with no reminder yet for that start (a visit moved to
/// another day is reminded again).
pub const DUE_REMINDERS: &str = concat!(
    "SELECT v.id AS visit_id, v.start_ms, j.title AS job, ",
    customer_columns!(),
    " FROM visits v JOIN jobs j ON j.id = v.job_id JOIN customers c ON c.id = j.customer_id \
     WHERE v.start_ms >= ?1 AND v.start_ms < ?2 AND j.status NOT IN ('cancelled', 'completed') \
     AND c.archived = 0 AND NOT EXISTS (SELECT 1 FROM outbox o \
         WHERE o.occasion = 'reminder:' || v.id || ':' || v.start_ms) \
     ORDER BY v.start_ms LIMIT 50"
);
/// Visits booked since ?1 (RFC 3339) that start after ?2 (ms), not yet confirmed.
pub const DUE_BOOKINGS: &str = concat!(
    "SELECT v.id AS visit_id, v.start_ms, j.title AS job, ",
    customer_columns!(),
    " FROM visits v JOIN jobs j ON j.id = v.job_id JOIN customers c ON c.id = j.customer_id \
     WHERE v.created_at >= ?1 AND v.start_ms > ?2 AND j.status NOT IN ('cancelled', 'completed') \
     AND c.archived = 0 AND NOT EXISTS (SELECT 1 FROM outbox o \
         WHERE o.occasion = 'booking:' || v.id) \
     ORDER BY v.created_at LIMIT 50"
);
/// Jobs completed since ?1 (RFC 3339), with their newest issued invoice, not yet told.
pub const DUE_COMPLETIONS: &str = concat!(
    "SELECT j.id AS job_id, j.title AS job, \
     (SELECT i.id FROM invoices i WHERE i.job_id = j.id AND i.status = 'issued' \
      AND i.kind = 'invoice' ORDER BY i.issued_at DESC LIMIT 1) AS invoice_id, ",
    customer_columns!(),
    " FROM jobs j JOIN customers c ON c.id = j.customer_id \
     WHERE j.status = 'completed' AND j.updated_at >= ?1 AND c.archived = 0 \
     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.occasion = 'job_completed:' || j.id) \
     ORDER BY j.updated_at LIMIT 50"
);
/// Issued invoices with a balance, due before ?1 (RFC 3339), with the last overdue step sent.
pub const OVERDUE_INVOICES: &str = concat!(
    "SELECT i.id AS invoice_id, i.number, i.due_at, i.currency, \
     i.total - i.paid + i.refunded AS balance, \
     (SELECT MAX(CAST(substr(o.occasion, length('invoice_overdue:' || i.id || ':') + 1) AS INTEGER)) \
      FROM outbox o WHERE o.entity = 'invoice' AND o.entity_id = i.id \
      AND o.occasion LIKE 'invoice_overdue:%') AS last_step, ",
    customer_columns!(),
    " FROM invoices i JOIN customers c ON c.id = i.customer_id \
     WHERE i.status = 'issued' AND i.kind = 'invoice' AND i.total - i.paid + i.refunded > 0 \
     AND i.due_at < ?1 AND c.archived = 0 ORDER BY i.due_at LIMIT 50"
);
/// Quotes sent and unanswered, still valid on ?1 (a date), not yet followed up.
pub const UNANSWERED_QUOTES: &str = concat!(
    "SELECT q.id AS quote_id, 'Q-' || printf('%04d', q.number) AS number, q.sent_at, \
     q.currency, \
     (SELECT MIN(CAST(json_extract(value, '$.total') AS INTEGER)) FROM json_each(q.totals)) AS amount, \
     (SELECT COUNT(*) FROM json_each(q.totals)) AS options, ",
    customer_columns!(),
    " FROM quotes q JOIN customers c ON c.id = q.customer_id \
     WHERE q.status IN ('sent', 'viewed') AND q.sent_at IS NOT NULL AND q.valid_until >= ?1 \
     AND c.archived = 0 \
     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.occasion = 'quote_follow_up:' || q.id) \
     ORDER BY q.sent_at LIMIT 50"
);

/// A document with what its delivery says and to whom.
#[derive(Debug, Clone, Deserialize)]
pub struct DocumentToSend {
    pub document: String,
    pub id: String,
    pub number: String,
    pub status: String,
    pub date: String,
    pub currency: String,
    pub amount: Option<i64>,
    pub options: i64,
    pub customer_id: String,
    pub customer: String,
    pub emails: String,
    pub phones: String,
    pub preferred_contact: String,
    pub company: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Sending {
    pub company: String,
    pub company_email: Option<String>,
    pub brand_color: String,
    pub opted_out: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub struct DeliveryRow {
    pub id: String,
    pub channel: String,
    pub recipient: String,
    pub status: String,
    pub attempts: i64,
    pub error: Option<String>,
    pub delivery: Option<String>,
    pub delivery_error: Option<String>,
    pub template: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct TimingRow {
    pub quiet_start: i64,
    pub quiet_end: i64,
    pub reminder_at: i64,
    pub overdue_days: String,
    pub quote_follow_up_days: i64,
    pub version: i64,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
pub struct TemplateRow {
    pub kind: String,
    pub enabled: i64,
    pub subject: Option<String>,
    pub body: Option<String>,
    pub version: i64,
    pub updated_at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Company {
    pub name: String,
    pub time_zone: String,
    pub brand_color: String,
}

/// A row of any planner read: the customer's addresses and consent, and what the message is
/// about (each read fills its own columns; the others stay `None`). One row type for every
/// read keeps one deserializer in the Worker.
#[derive(Debug, Clone, Deserialize)]
pub struct Due {
    pub customer_id: String,
    pub customer: String,
    pub emails: String,
    pub phones: String,
    pub preferred_contact: String,
    pub opted_out: i64,
    pub visit_id: Option<String>,
    pub start_ms: Option<i64>,
    pub job_id: Option<String>,
    pub job: Option<String>,
    pub invoice_id: Option<String>,
    pub quote_id: Option<String>,
    pub number: Option<String>,
    pub due_at: Option<String>,
    pub sent_at: Option<String>,
    pub currency: Option<String>,
    pub balance: Option<i64>,
    pub amount: Option<i64>,
    pub options: Option<i64>,
    pub last_step: Option<i64>,
}

/// What an "on my way" message needs.
#[derive(Debug, Clone, Deserialize)]
pub struct OnMyWay {
    pub customer_id: String,
    pub customer: String,
    pub emails: String,
    pub phones: String,
    pub preferred_contact: String,
    pub opted_out: i64,
    pub job: String,
    pub company: String,
    pub enabled: i64,
    pub subject: Option<String>,
    pub body: Option<String>,
}

pub fn document_to_send(document: &str, id: &str) -> Sql {
    if document == "invoice" {
        sql!(INVOICE_TO_SEND, id)
    } else {
        sql!(QUOTE_TO_SEND, id)
    }
}

pub fn deliveries(entity: &str, id: &str) -> Sql {
    sql!(DELIVERIES, entity, id)
}

pub fn sending(customer_id: &str) -> Sql {
    sql!(SENDING, customer_id)
}
