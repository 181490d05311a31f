//! Pure wire types: what the API sends and receives, built from domain values.

pub mod audit;
pub mod company;
pub mod customer_messages;
pub mod customers;
pub mod fields;
pub mod files;
pub mod health;
pub mod jobs;
pub mod json;
pub mod messages;
pub mod money;
pub mod notifications;
pub mod pages;
pub mod pdf;
pub mod recovery;
pub mod request_log;
pub mod selfcheck;
pub mod share;
pub mod support;
pub mod url;
pub mod users;
