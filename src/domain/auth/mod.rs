//! Identity and access: pure parts (no `worker` types). The Worker glue derives keys and checks
//! signatures through WebCrypto (`http::crypto`); everything decided about them lives here.

pub mod access;
pub mod account;
mod common_set;
pub mod device;
pub mod password;
pub mod permissions;
pub mod session;
pub mod totp;
