//! Proving it is still the account's holder before a security change: turning two-factor on or
//! off, making a personal access token, changing the password.
//!
//! Never through a personal access token or a linked chat (a stolen token must not be able
//! to switch two-factor off or mint more tokens). A browser session passes when it signed in
//! within `REAUTH_WINDOW_MS`; otherwise the request carries the current password. Through
//! Cloudflare Access the same window applies to the assertion's `iat` (when the person last
//! signed in to Access); past it, the current password if the account has one, else a fresh
//! sign-in through Access. Every check
//! of a password or a two-factor code is an attempt reserved against the account before it is
//! checked, exactly as at sign-in: 5 failures lock the account, a burst gets 429s.

use worker::Env;

use crate::db::store::D1Store;
use crate::domain::auth::session::REAUTH_WINDOW_MS;
use crate::domain::auth::totp::{self, TotpSecret};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::now;
use crate::http::api::session::{locked, password_matches, record_failure, Subjects};
use crate::http::auth::{Principal, Via};
use crate::http::personal::index_key;
use crate::http::RequestCtx;
use crate::write::{Change, Sql};

/// What a security change needs checked besides the caller's standing.
pub struct Proof<'a> {
    /// The current password, if the request gave one.
    pub password: Option<&'a str>,
    /// The body member that carries it, for the error naming it.
    pub password_field: &'static str,
    /// A two-factor code to check against the user's secret (turning two-factor off).
    pub code: Option<&'a str>,
}

impl<'a> Proof<'a> {
    /// The body's optional `password` member (needed once the session is no longer fresh).
    pub fn password(password: Option<&'a str>) -> Self {
        Proof {
            password,
            password_field: "password",
            code: None,
        }
    }

    /// The body's `current_password`, always given (changing the password).
    pub fn current_password(password: &'a str) -> Self {
        Proof {
            password: Some(password),
            password_field: "current_password",
            code: None,
        }
    }

    /// A two-factor code to check as well.
    pub fn with_code(mut self, code: &'a str) -> Self {
        self.code = Some(code);
        self
    }
}

/// A passed re-authentication: the statements that give its reservation back, for the
/// change's own batch.
pub struct Passed {
    release: Vec<Sql>,
}

impl Passed {
    /// `change` with the account's attempt counter reset (when an attempt was reserved).
    pub fn release_in(self, change: Change) -> Change {
        change.then_all(self.release)
    }
}

/// Refuses callers that may never make security changes: personal access tokens and chats.
pub fn session_only(principal: &Principal) -> AppResult<()> {
    match principal.via {
        Via::Token { .. } | Via::Linked { .. } | Via::OAuth { .. } => {
            Err(AppError::new(ErrorKind::Forbidden).with_detail(
                "Security changes (two-factor, tokens, password) need a signed-in session: \
                 a personal access token or a chat cannot make them.",
            ))
        }
        Via::Session { .. } | Via::Access { .. } => Ok(()),
    }
}

/// Whether the caller authenticated recently enough to skip the password.
fn recent(via: &Via) -> bool {
    match via {
        Via::Session { record, .. } => record.signed_in_recently(now()),
        Via::Access { issued_at } => issued_at
            .is_some_and(|at| now().0 <= at.saturating_mul(1_000).saturating_add(REAUTH_WINDOW_MS)),
        Via::Token { .. } | Via::Linked { .. } | Via::OAuth { .. } => false,
    }
}

/// Checks `proof` for `principal`'s security change; see the module's description.
pub async fn require(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    proof: Proof<'_>,
) -> AppResult<Passed> {
    session_only(principal)?;
    let needs_password = proof.password.is_some() || !recent(&principal.via);
    let passwordless = principal.user.password_hash.is_none();
    if needs_password && passwordless && matches!(principal.via, Via::Access { .. }) {
        // Someone who signs in only through Access proves it again there.
        return Err(AppError::new(ErrorKind::Forbidden).with_detail(format!(
            "Sign in through Cloudflare Access again (your Access sign-in is more than {} \
             minutes old), then repeat this change.",
            REAUTH_WINDOW_MS / 60_000
        )));
    }
    if needs_password && proof.password.is_none() {
        return Err(AppError::invalid_field(
            proof.password_field,
            format!(
                "Enter your password to confirm this change (you signed in more than {} \
                 minutes ago).",
                REAUTH_WINDOW_MS / 60_000
            ),
        ));
    }
    if !needs_password && proof.code.is_none() {
        return Ok(Passed { release: vec![] });
    }
    let store = D1Store::from_env(env)?;
    let user = &principal.user;
    let subjects = Subjects::new(&index_key(env)?, &user.email, rctx);
    subjects.reserve_with(&store, now(), vec![]).await?;
    let fail = |field: &'static str, detail: String| {
        let subjects = &subjects;
        let store = &store;
        async move {
            let reason = if field == "code" {
                "reauth_code"
            } else {
                "reauth_password"
            };
            match record_failure(store, rctx, subjects, &user.email, Some(user), reason).await? {
                Some(wait_ms) => Err(locked(wait_ms)),
                None => Err(AppError::invalid_field(field, detail)),
            }
        }
    };
    if let Some(password) = proof.password {
        if !password_matches(Some(user), password).await? {
            return fail(
                proof.password_field,
                "The password is not right.".to_owned(),
            )
            .await;
        }
    }
    if let Some(code) = proof.code {
        let secret = user
            .totp_secret
            .as_deref()
            .and_then(|s| TotpSecret::from_base32(s).ok())
            .ok_or_else(|| {
                AppError::new(ErrorKind::Conflict).with_detail("Two-factor sign-in is not on.")
            })?;
        let last = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
        if let Err(e) = totp::verify(&secret, code, now().as_secs(), last) {
            return fail("code", e.to_string()).await;
        }
    }
    Ok(Passed {
        release: subjects.release(),
    })
}
