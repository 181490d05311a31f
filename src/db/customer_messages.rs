//! The conversation with a customer (`customer_messages`): texts in from a customer's number,
//! replies out through the outbox, the customers a number belongs to and their SMS consent,
//! and Twilio's delivery reports on the outbox row a reply went out as.
//!
//! Bodies and numbers are the customer's personal data: bound as pending tokens under their
//! data key (`domain::personal`); a number's customers are found by its blind index.

use serde::Deserialize;

use crate::domain::customer_messages::Delivery;
use crate::domain::personal::{customer_key, pending, IndexKey};
use crate::domain::time::Millis;
use crate::sql;
use crate::write::Sql;

/// How many messages a conversation shows (the newest).
pub const CONVERSATION_LIMIT: i64 = 100;
/// How many customers one number is looked up in at most.
const SHARED_NUMBER_LIMIT: i64 = 20;

/// The customers whose phones' blind index has ?1 (the number's whole digits), live ones
/// first, with their phones to tell a whole number from an ending of a longer one
/// ([`NumberOwner::has`]). A customer not sealed yet (its name is not a sealed token) is found
/// by its plain phones: ?2 the number, ?3 it in JSON quotes (`instr` passes over most rows
/// cheaply).
pub const SELECT_BY_PHONE: &str = "SELECT id, name, archived, sms_opted_out_at, phones \
    FROM customers \
    WHERE id IN (SELECT id FROM personal_terms WHERE kind = 'customer' AND term = ?1) \
       OR (substr(name, 1, 5) <> 'fwe1.' AND instr(phones, ?3) > 0 \
           AND EXISTS (SELECT 1 FROM json_each(customers.phones) WHERE value = ?2)) \
    ORDER BY archived, created_at, id LIMIT ?4";
/// A text from a customer, recorded once on Twilio's id together with what it caused: a
/// plain insert, so a redelivery fails the whole batch on the primary key. ?1 MessageSid,
/// ?2 sender, ?3 text (both sealed under ?5), ?4 now (ms), ?5 the data key.
pub const INSERT_INBOUND_DONE: &str = "INSERT INTO inbound_messages (channel, provider_id, \
    sender, text, received_at, state, finished_at, dk) \
    VALUES ('sms', ?1, ?2, ?3, ?4, 'done', ?4, ?5)";
/// ?1 id, ?2 customer, ?3 body, ?4 the number it came from, ?5 now (ms).
pub const INSERT_IN: &str = "INSERT INTO customer_messages (id, customer_id, direction, \
    channel, body, address, created_at) VALUES (?1, ?2, 'in', 'sms', ?3, ?4, ?5)";
/// A reply, only to a customer who is not archived (the guard). ?1 id, ?2 customer, ?3 body,
/// ?4 its outbox row, ?5 author, ?6 the number, ?7 now (ms).
pub const INSERT_OUT: &str = "INSERT INTO customer_messages (id, customer_id, direction, \
    channel, body, outbox_id, author_id, address, created_at) \
    SELECT ?1, ?2, 'out', 'sms', ?3, ?4, ?5, ?6, ?7 \
    WHERE EXISTS (SELECT 1 FROM customers WHERE id = ?2 AND archived = 0)";
/// The reply's outbox row, due now; once per message (its occasion). ?1 outbox id, ?2 the
/// message's id, ?3 the number, ?4 customer, ?5 now (ms).
pub const QUEUE_REPLY: &str = "INSERT INTO outbox (id, occasion, channel, recipient, kind, \
    data, entity, entity_id, next_at, created_at, updated_at) \
    VALUES (?1, 'reply:' || ?2, 'sms', ?3, 'reply', json_object('customer_message_id', ?2), \
            'customer', ?4, ?5, ?5, ?5)";
/// Opts a customer out of automatic texts, if they were not already. ?1 customer, ?2 now.
pub const OPT_OUT: &str = "UPDATE customers SET sms_opted_out_at = ?2 \
    WHERE id = ?1 AND sms_opted_out_at IS NULL";
/// Opts a customer back in, if they were out. ?1 customer.
pub const OPT_IN: &str = "UPDATE customers SET sms_opted_out_at = NULL \
    WHERE id = ?1 AND sms_opted_out_at IS NOT NULL";
/// A conversation, newest first (shown oldest first), each reply with its outbox row's
/// status and Twilio's delivery report. ?1 customer, ?2 how many.
pub const SELECT_CONVERSATION: &str = "SELECT m.id, m.customer_id, m.direction, m.channel, \
    m.body, m.address, m.author_id, u.name AS author_name, m.created_at, m.read_at, \
    o.status AS outbox_status, o.error AS outbox_error, o.delivery, o.delivery_error \
    FROM customer_messages m LEFT JOIN outbox o ON o.id = m.outbox_id \
    LEFT JOIN users u ON u.id = m.author_id \
    WHERE m.customer_id = ?1 ORDER BY m.created_at DESC, m.id DESC LIMIT ?2";
/// One message, as [`SELECT_CONVERSATION`] reads it. ?1 id.
pub const SELECT_MESSAGE: &str = "SELECT m.id, m.customer_id, m.direction, m.channel, \
    m.body, m.address, m.author_id, u.name AS author_name, m.created_at, m.read_at, \
    o.status AS outbox_status, o.error AS outbox_error, o.delivery, o.delivery_error \
    FROM customer_messages m LEFT JOIN outbox o ON o.id = m.outbox_id \
    LEFT JOIN users u ON u.id = m.author_id WHERE m.id = ?1";
/// The customer's SMS consent and the number they last texted from. ?1 customer.
pub const SELECT_SMS_STATE: &str = "SELECT c.sms_opted_out_at, \
    (SELECT m.address FROM customer_messages m WHERE m.customer_id = c.id \
       AND m.direction = 'in' AND m.channel = 'sms' AND m.address IS NOT NULL \
     ORDER BY m.created_at DESC, m.id DESC LIMIT 1) AS last_from \
    FROM customers c WHERE c.id = ?1";
/// The customer's texts are read. ?1 customer, ?2 now (ms).
pub const MARK_READ: &str = "UPDATE customer_messages SET read_at = ?2 \
    WHERE customer_id = ?1 AND direction = 'in' AND read_at IS NULL";
/// A reply's text, for its send. ?1 id.
pub const SELECT_BODY: &str = "SELECT body FROM customer_messages WHERE id = ?1";
/// The SMS Twilio knows as ?1.
pub const SELECT_BY_PROVIDER_ID: &str = "SELECT id, delivery FROM outbox \
    WHERE provider_id = ?1 AND channel = 'sms'";
/// Records a delivery report, only over a status it replaces (?6, a JSON array; see
/// `Delivery::replaces`), so reports arriving out of order never undo a final one.
/// ?1 outbox id, ?2 status, ?3 error code, ?4 when delivered, ?5 now.
pub const RECORD_DELIVERY: &str = "UPDATE outbox SET delivery = ?2, delivery_error = ?3, \
    delivered_at = ?4, updated_at = ?5 \
    WHERE id = ?1 AND (delivery IS NULL OR delivery IN (SELECT value FROM json_each(?6)))";

/// A customer a number belongs to.
#[derive(Debug, Clone, Deserialize)]
pub struct NumberOwner {
    pub id: String,
    pub name: String,
    pub archived: i64,
    pub sms_opted_out_at: Option<i64>,
    /// A JSON array of E.164 numbers.
    pub phones: String,
}

impl NumberOwner {
    /// Whether `number` is one of the customer's numbers (not merely the ending of one).
    pub fn has(&self, number: &str) -> bool {
        serde_json::from_str::<Vec<String>>(&self.phones)
            .is_ok_and(|phones| phones.iter().any(|p| p == number))
    }
}

/// A message of a conversation, with its delivery when it went out.
#[derive(Debug, Clone, Deserialize)]
pub struct MessageRow {
    pub id: String,
    pub customer_id: String,
    pub direction: String,
    pub channel: String,
    pub body: String,
    pub address: Option<String>,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub created_at: i64,
    pub read_at: Option<i64>,
    pub outbox_status: Option<String>,
    pub outbox_error: Option<String>,
    pub delivery: Option<String>,
    pub delivery_error: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SmsState {
    pub sms_opted_out_at: Option<i64>,
    pub last_from: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Body {
    pub body: String,
}

/// An outbox row found by the provider's id.
#[derive(Debug, Clone, Deserialize)]
pub struct Reported {
    pub id: String,
    pub delivery: Option<String>,
}

/// The customers with number `phone` (E.164), by its blind index under `index`.
pub fn by_phone(index: &IndexKey, phone: &str) -> Sql {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    sql!(
        SELECT_BY_PHONE,
        index.blind(&format!("phone:{digits}")),
        phone,
        format!("\"{phone}\""),
        SHARED_NUMBER_LIMIT
    )
}

/// A customer's text, its sender and text sealed under data key `key`.
pub fn inbound_done(message_sid: &str, key: &str, sender: &str, text: &str, now: Millis) -> Sql {
    sql!(
        INSERT_INBOUND_DONE,
        message_sid,
        pending(key, sender),
        pending(key, text),
        now.0 as i64,
        key
    )
}

pub fn insert_in(id: &str, customer_id: &str, body: &str, from: &str, now: Millis) -> Sql {
    let key = customer_key(customer_id);
    sql!(
        INSERT_IN,
        id,
        customer_id,
        pending(&key, body),
        pending(&key, from),
        now.0 as i64
    )
}

/// A staff reply, and the outbox row it goes out as.
pub struct NewReply<'a> {
    pub id: &'a str,
    pub outbox_id: &'a str,
    pub customer_id: &'a str,
    pub body: &'a str,
    pub author_id: &'a str,
    pub to: &'a str,
    pub now: Millis,
}

/// The guarded insert of the reply, then its outbox row.
pub fn insert_reply(r: &NewReply<'_>) -> [Sql; 2] {
    let now = r.now.0 as i64;
    let key = customer_key(r.customer_id);
    let to = pending(&key, r.to);
    [
        sql!(
            INSERT_OUT,
            r.id,
            r.customer_id,
            pending(&key, r.body),
            r.outbox_id,
            r.author_id,
            to.as_str(),
            now
        ),
        sql!(
            QUEUE_REPLY,
            r.outbox_id,
            r.id,
            to.as_str(),
            r.customer_id,
            now
        ),
    ]
}

pub fn opt_out(customer_id: &str, now: Millis) -> Sql {
    sql!(OPT_OUT, customer_id, now.0 as i64)
}

pub fn opt_in(customer_id: &str) -> Sql {
    sql!(OPT_IN, customer_id)
}

pub fn conversation(customer_id: &str) -> Sql {
    sql!(SELECT_CONVERSATION, customer_id, CONVERSATION_LIMIT)
}

pub fn message(id: &str) -> Sql {
    sql!(SELECT_MESSAGE, id)
}

pub fn sms_state(customer_id: &str) -> Sql {
    sql!(SELECT_SMS_STATE, customer_id)
}

pub fn mark_read(customer_id: &str, now: Millis) -> Sql {
    sql!(MARK_READ, customer_id, now.0 as i64)
}

pub fn body(id: &str) -> Sql {
    sql!(SELECT_BODY, id)
}

pub fn by_provider_id(message_sid: &str) -> Sql {
    sql!(SELECT_BY_PROVIDER_ID, message_sid)
}

/// Records `status` on outbox row `id`, if it replaces what is there.
pub fn record_delivery(id: &str, status: Delivery, error_code: Option<&str>, now: Millis) -> Sql {
    let at = now.0 as i64;
    let delivered_at = (status == Delivery::Delivered).then_some(at);
    let replaces = serde_json::Value::from(status.replaces()).to_string();
    sql!(
        RECORD_DELIVERY,
        id,
        status.as_str(),
        error_code,
        delivered_at,
        at,
        replaces
    )
}
