//! Pure domain code: no `worker` types, deterministic, unit-tested on the host.

pub mod audit;
pub mod auth;
pub mod automatic;
pub mod billing;
pub mod contact;
pub mod cursor;
pub mod customer_messages;
pub mod customers;
pub mod deliveries;
pub mod ids;
pub mod invoices;
pub mod jobs;
pub mod messaging;
pub mod money;
pub mod notices;
pub mod outbox;
pub mod quotes;
pub mod schema;
pub mod secrets;
pub mod selfcheck;
pub mod share_links;
pub mod signatures;
pub mod stripe;
pub mod templates;
pub mod time;
pub mod visits;
