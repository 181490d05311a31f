//! Cloudflare Access glue: configuration, the team's JWK set (fetched and cached per
//! instance), and the WebCrypto signature check. The decisions are `domain::auth::access`.

use std::cell::RefCell;
use std::rc::Rc;

use worker::{Env, Fetch, Method, Request};

use crate::domain::auth::access::{AccessConfig, AccessIdentity, Jwks, UnverifiedJwt};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::auth::unauthenticated;
use crate::http::crypto;

/// Keys are re-fetched after this long, and sooner when a token names an unknown key (keys
/// rotate), but not more than once per `REFETCH_FLOOR_MS`.
const CACHE_MS: u64 = 10 * Millis::MINUTE;
const REFETCH_FLOOR_MS: u64 = 30 * Millis::SECOND;

struct Cached {
    url: String,
    keys: Rc<Jwks>,
    fetched_ms: u64,
}

thread_local! {
    static KEYS: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

fn var(env: &Env, name: &str) -> Option<String> {
    env.var(name)
        .ok()
        .map(|v| v.to_string())
        .filter(|v| !v.trim().is_empty())
}

/// Access is on when both `ACCESS_TEAM_DOMAIN` and `ACCESS_AUD` are set.
pub fn config(env: &Env) -> AppResult<Option<AccessConfig>> {
    match (var(env, "ACCESS_TEAM_DOMAIN"), var(env, "ACCESS_AUD")) {
        (Some(team), Some(aud)) => AccessConfig::new(&team, &aud)
            .map(Some)
            .map_err(|e| AppError::internal(format!("Access settings: {e}"))),
        _ => Ok(None),
    }
}

/// Verifies an Access assertion and returns the signed-in email.
pub async fn verify(
    config: &AccessConfig,
    env: &Env,
    assertion: &str,
    now: Millis,
) -> AppResult<(String, Option<u64>)> {
    let jwt = UnverifiedJwt::parse(assertion).map_err(unauthenticated)?;
    let url = config.certs_url(var(env, "ACCESS_CERTS_URL").as_deref());
    let mut keys = keys(&url, now, false).await?;
    if keys.key(jwt.kid()).is_none() {
        keys = keys_refreshed(&url, now).await?;
    }
    let jwk = keys.select(jwt.kid()).map_err(unauthenticated)?;
    let valid = crypto::verify_rs256(jwk.n(), jwk.e(), jwt.signing_input(), jwt.signature()).await;
    match jwt
        .decide(valid, config, now.as_secs())
        .map_err(unauthenticated)?
    {
        AccessIdentity::User { email } => Ok((
            email,
            jwt.claims().iat.and_then(|iat| u64::try_from(iat).ok()),
        )),
        AccessIdentity::Service { common_name } => Err(unauthenticated(format!(
            "Access service token {common_name:?} is not a user"
        ))),
    }
}

async fn keys_refreshed(url: &str, now: Millis) -> AppResult<Rc<Jwks>> {
    let recent = KEYS.with(|k| {
        k.borrow()
            .as_ref()
            .is_some_and(|c| c.url == url && now.0 < c.fetched_ms.saturating_add(REFETCH_FLOOR_MS))
    });
    if recent {
        return keys(url, now, false).await;
    }
    keys(url, now, true).await
}

async fn keys(url: &str, now: Millis, force: bool) -> AppResult<Rc<Jwks>> {
    let cached = KEYS.with(|k| {
        k.borrow().as_ref().and_then(|c| {
            (!force && c.url == url && now.0 < c.fetched_ms.saturating_add(CACHE_MS))
                .then(|| c.keys.clone())
        })
    });
    if let Some(keys) = cached {
        return Ok(keys);
    }
    let request = Request::new(url, Method::Get)
        .map_err(|e| AppError::internal(format!("certs url {url}: {e}")))?;
    let unavailable = |cause: String| {
        AppError::unavailable(
            "Sign-in through Cloudflare Access is unavailable right now.",
            cause,
        )
    };
    let mut response = Fetch::Request(request)
        .send()
        .await
        .map_err(|e| unavailable(format!("fetching {url}: {e}")))?;
    if response.status_code() != 200 {
        return Err(unavailable(format!(
            "{url} answered {}",
            response.status_code()
        )));
    }
    let body = response
        .text()
        .await
        .map_err(|e| unavailable(format!("reading {url}: {e}")))?;
    let keys = Rc::new(Jwks::parse(&body).map_err(|e| unavailable(e.to_string()))?);
    KEYS.with(|k| {
        *k.borrow_mut() = Some(Cached {
            url: url.to_owned(),
            keys: keys.clone(),
            fetched_ms: now.0,
        });
    });
    Ok(keys)
}
