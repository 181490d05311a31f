//! `Idempotency-Key` on creating POSTs. The key, the request's fingerprint and the created
//! resource's path are recorded in the create's own batch; a retry with the same key and the
//! same request answers the first status with the resource as it is now, and creates nothing.
//! The same key with a different request is refused.

use worker::Request;

use crate::domain::auth::session::sha256_hex;
use crate::error::{AppError, AppResult};
use crate::http::auth::Principal;
use crate::write;

/// The request's `Idempotency-Key` with its fingerprint, if it has one. The engine records it
/// in the create's own batch and replays on a repeat (`write::create`): no read up front.
pub fn keyed(req: &Request, principal: &Principal, body: &[u8]) -> AppResult<Option<write::Keyed>> {
    let Some(key) = req.headers().get("Idempotency-Key").ok().flatten() else {
        return Ok(None);
    };
    let key = key.trim().to_owned();
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::bad_request(
            "Idempotency-Key must be 1 to 255 visible ASCII characters.",
        ));
    }
    let mut material = format!("{} {}\n", req.inner().method(), req.path()).into_bytes();
    material.extend_from_slice(body);
    Ok(Some(write::Keyed {
        user_id: principal.user.id.clone(),
        key,
        fingerprint: sha256_hex(&String::from_utf8_lossy(&material)),
    }))
}
