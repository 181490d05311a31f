//! Linking a Telegram chat or a phone number to yourself: a one-time code made here (shown
//! once, stored hashed, valid 15 minutes) is sent to the bot as `/link CODE`. Links are listed
//! and removed here; a removed link stops working on the next message.

use crate::json;
use worker::{Env, Response, ResponseBuilder};

use crate::db::store::D1Store;
use crate::db::{self, messaging as store};
use crate::domain::audit::Action;
use crate::domain::auth::session::sha256_hex;
use crate::error::{AppError, AppResult};
use crate::http::api::{event, now};
use crate::http::auth::Principal;
use crate::http::conversation::LINK_CODE_TTL_MS;
use crate::http::router::Matched;
use crate::http::{crypto, respond, RequestCtx};
use crate::write::{self, Change, Refusal};

/// Easy to read out and type on a phone: no 0/O or 1/I. 32 symbols, so a byte maps to one
/// without bias; 10 of them are 50 bits, against a code that works once for 15 minutes.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;

fn new_code() -> AppResult<String> {
    let bytes = crypto::random_bytes::<CODE_LEN>()?;
    Ok(bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(b % 32)] as char)
        .collect())
}

/// `GET /api/v1/me/links`.
pub async fn list(env: &Env, principal: &Principal) -> AppResult<Response> {
    let rows: Vec<store::LinkRow> = db::all(
        &db::database(env)?,
        store::SELECT_LINKS_OF_USER,
        &[db::text(&principal.user.id)],
    )
    .await?;
    let links: Vec<_> = rows
        .iter()
        .map(|r| json!({ "id": r.id, "channel": r.channel, "address": r.address, "created_at": r.created_at }))
        .collect();
    respond::json(200, &json!({ "links": links }))
}

/// `POST /api/v1/me/links`: a new code for the caller.
pub async fn create_code(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let code = new_code()?;
    let at = now();
    let expires_at = at.plus(LINK_CODE_TTL_MS);
    let change = Change::new()
        .then(store::insert_link_code(
            &sha256_hex(&code),
            &principal.user.id,
            expires_at.0 as i64,
            &at.to_rfc3339(),
        ))
        // The code itself is never written anywhere but the answer.
        .audit(event(
            rctx,
            Some(principal),
            Action::LinkCodeIssued,
            "user",
            Some(&principal.user.id),
            None,
            Some(json!({ "expires_at": expires_at.to_rfc3339() })),
        ));
    write::apply(&D1Store::from_env(env)?, change, vec![])
        .await
        .map_err(|refused| refused.into_error(|| AppError::internal("a link code has no guard")))?;
    respond::json(
        201,
        &json!({
            "code": code,
            "expires_at": expires_at.to_rfc3339(),
            "instructions": format!("Send this to the company's Telegram bot or SMS number: /link {code}"),
        }),
    )
}

/// `DELETE /api/v1/me/links/{id}`: one of the caller's own links.
pub async fn delete(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default().to_owned();
    let change = Change::new()
        .guarded(store::delete_link(&id, &principal.user.id))
        .audit(event(
            rctx,
            Some(principal),
            Action::ChannelUnlinked,
            "user",
            Some(&principal.user.id),
            Some(json!({ "link_id": id })),
            None,
        ));
    match write::apply(&D1Store::from_env(env)?, change, vec![]).await {
        Ok(_) => Ok(ResponseBuilder::new().with_status(204).empty()),
        Err(Refusal::Guard) => Err(AppError::not_found("link")),
        Err(other) => Err(other.into_error(|| AppError::not_found("link"))),
    }
}
