//! `Idempotency-Key` on creating POSTs. The key, the request's fingerprint and the created
//! resource's path are recorded in the create's own batch; a retry with the same key and the
//! same request answers the first status with the resource as it is now, and creates nothing.
//! The same key with a different request is refused.

use worker::{D1Database, Request};

use crate::db::idempotency;
use crate::domain::auth::session::sha256_hex;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::auth::Principal;
use crate::write;

/// A keyed request on its way.
pub struct Keyed {
    pub user_id: String,
    pub key: String,
    pub fingerprint: String,
}

/// What to do with a create.
pub enum Plan {
    /// No key, or a new key: create (recording `Keyed` in the batch when present).
    Create(Option<Keyed>),
    /// Seen before: answer `status` with the resource at `location`.
    Replay { status: u16, location: String },
}

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

/// Reads the key (if any) and decides. `body` is the raw request body.
pub async fn plan(
    req: &Request,
    database: &D1Database,
    principal: &Principal,
    body: &[u8],
) -> AppResult<Plan> {
    let Some(write::Keyed {
        user_id,
        key,
        fingerprint,
    }) = keyed(req, principal, body)?
    else {
        return Ok(Plan::Create(None));
    };
    match idempotency::find(database, &user_id, &key).await? {
        Some(recorded) if recorded.fingerprint == fingerprint => Ok(Plan::Replay {
            status: u16::try_from(recorded.status).unwrap_or(201),
            location: recorded.body,
        }),
        Some(_) => Err(AppError::new(ErrorKind::Unprocessable)
            .with_detail("This Idempotency-Key was already used for a different request.")),
        None => Ok(Plan::Create(Some(Keyed {
            user_id,
            key,
            fingerprint,
        }))),
    }
}

/// After a keyed create's batch failed on a unique constraint: if a concurrent retry with the
/// same key won the race, the path of what it created (answer that instead of the error).
pub async fn winner_of_race<T>(
    database: &D1Database,
    written: &AppResult<T>,
    keyed: &Option<Keyed>,
) -> AppResult<Option<String>> {
    match (written, keyed) {
        (Err(err), Some(k)) if err.kind == ErrorKind::Conflict => {
            Ok(idempotency::find(database, &k.user_id, &k.key)
                .await?
                .map(|recorded| recorded.body))
        }
        _ => Ok(None),
    }
}
