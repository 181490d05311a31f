//! The tenant's personal-data secrets as the Worker reads them. Data keys and their sealing
//! live in `src/personal.mjs` (PII_KEYS); the blind-index key (PII_INDEX_KEY) is used here.

use worker::Env;

use crate::domain::personal::IndexKey;
use crate::error::{AppError, AppResult};
use crate::http::clock;

/// The Worker secret holding the blind-index key (at least 32 bytes; `scripts/dev` and
/// `scripts/tenant create` generate it). It never rotates: a new one would need every index
/// rebuilt from the sealed values.
pub const PII_INDEX_KEY: &str = "PII_INDEX_KEY";
/// Outside production, without the secret, a well-known key keeps local runs working.
const DEVELOPMENT_INDEX_KEY: &str = "fieldworker development blind-index key: not for production";

/// The blind-index key; in production a missing or short secret is a deployment mistake.
pub fn index_key(env: &Env) -> AppResult<IndexKey> {
    let secret = env.secret(PII_INDEX_KEY).map(|s| s.to_string()).ok();
    match secret.as_deref().and_then(IndexKey::new) {
        Some(key) => Ok(key),
        None if !clock::is_production(env) && secret.is_none() => {
            Ok(IndexKey::new(DEVELOPMENT_INDEX_KEY).expect("the development key is long enough"))
        }
        None => Err(AppError::internal(format!(
            "{PII_INDEX_KEY} is missing or shorter than 32 bytes"
        ))),
    }
}
