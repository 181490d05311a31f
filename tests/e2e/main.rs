//! End-to-end tests: each starts a fresh local tenant on the real Workers runtime and talks to
//! it over HTTP. They need the built Worker (`scripts/build`, run by `scripts/test`).

mod people;
mod spawn;
mod standin;

mod access;
mod account_deletion;
mod agent_quotes;
mod audit;
mod chat_files;
mod customer_messages;
mod customer_sms;
mod customers;
mod dashboard;
mod demo_seed;
mod dispatch;
mod errors;
mod files;
mod fuzz;
mod health;
mod invoices;
mod jobs;
mod limits;
mod load;
mod mcp;
mod messaging;
mod mfa;
mod notices;
mod oauth;
mod panics;
mod password_change;
mod pdfs;
mod quotes;
mod roles;
mod round_trips;
mod scanner;
mod settings;
mod share_links;
mod share_pages;
mod signin;
mod storage;
mod support;
mod tenancy;
mod tokens;
mod visits;
mod zones;
