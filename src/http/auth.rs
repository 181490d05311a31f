//! Who is calling: a personal access token, a Cloudflare Access JWT, or a session cookie, in
//! that order. Every request re-reads the user from D1, so a deactivated user or a revoked
//! session is refused on the very next request. Cookie requests that change state must also
//! pass the CSRF checks (Origin and the per-session token).

use worker::{Env, Request};

use crate::db::store::{D1Results, D1Store};
use crate::db::{self, tokens, users, users::User};
use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::auth::session::{
    cookie_value, looks_like_access_token, origin_allowed, session_kv_key, sha256_hex,
    SessionRecord, SessionState, SESSION_COOKIE,
};
use crate::domain::oauth;
use crate::domain::secrets::{bearer_token, secrets_match};
use crate::domain::support::{self, Status};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::router::{Guard, Matched};
use crate::http::{access, clock, prefetch, RequestCtx};
use crate::sql;
use crate::write::{Results, Sql, Store};

/// How the caller proved who they are.
#[derive(Debug, Clone)]
pub enum Via {
    Session {
        id: String,
        record: SessionRecord,
    },
    Token {
        id: String,
    },
    /// Cloudflare Access: when Access issued the assertion (seconds), i.e. when the person
    /// last signed in through it.
    Access {
        issued_at: Option<u64>,
    },
    /// A Telegram chat or phone number linked to the user.
    Linked {
        channel: crate::domain::messaging::Channel,
    },
    /// An OAuth access token of a grant the user consented to (MCP clients, `/mcp` only).
    OAuth {
        grant_id: String,
        scope: crate::domain::oauth::Scope,
    },
}

impl Via {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Session { .. } => "session",
            Self::Token { .. } => "token",
            Self::Access { .. } => "access",
            Self::Linked { .. } => "linked",
            Self::OAuth { .. } => "oauth",
        }
    }
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: User,
    pub role: Role,
    pub via: Via,
    /// The company requires MFA and this user has none yet: only enrolment is open to them.
    pub must_enrol_mfa: bool,
    /// The password was generated for the user (by an operator's script) and is not yet
    /// changed: only who-am-I, signing out and changing it are open to them.
    pub must_change_password: bool,
    /// Through what the user acts: the API directly, or a tool run by MCP or the agent.
    pub surface: Surface,
    /// Set for a support session: `user` is then made from the session (no user row), and
    /// [`support::refusal`] restricts what it may do whatever its role allows.
    pub support: Option<Support>,
}

/// The support session a principal acts in.
#[derive(Debug, Clone)]
pub struct Support {
    pub session_id: String,
    pub person_name: String,
    pub person_email: String,
    pub scope: Vec<support::Kind>,
    pub ends_at: i64,
}

impl Principal {
    /// Whether the credential lets the caller change anything: an OAuth grant of the read
    /// scope does not, whatever the user's role.
    pub fn may_write(&self) -> bool {
        !matches!(&self.via, Via::OAuth { scope, .. } if !scope.allows_write())
    }
}

/// What a change was made through, as the audit trail records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Api,
    Mcp,
    Agent,
}

impl Principal {
    pub fn permissions(&self) -> &'static [Permission] {
        self.role.permissions()
    }
}

/// The refusal every failed authentication gets: the reason goes to the log only.
pub fn unauthenticated(cause: impl std::fmt::Display) -> AppError {
    AppError::unauthorized("Sign in, or present a valid access token.")
        .with_header("WWW-Authenticate", "Bearer realm=\"fieldworker\"")
        .with_cause(cause)
}

/// Applies the route's guard to the request: `Ok(None)` for public routes. The route's first
/// reads travel in the principal's own batch and wait in `rctx.ahead` for the handler.
pub async fn check(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    matched: &Matched,
    method: &str,
) -> AppResult<Option<Principal>> {
    let guard = matched.guard;
    if matches!(guard, Guard::Public | Guard::Operator) {
        return Ok(None);
    }
    let reads = prefetch::reads(req, matched);
    let (principal, ahead) = authenticate_with(req, env, reads.clone()).await?;
    // An OAuth token's audience is `/mcp` (RFC 8707): the API takes none.
    if matches!(principal.via, Via::OAuth { .. }) {
        return Err(unauthenticated(
            "an OAuth access token presented outside /mcp",
        ));
    }
    if !matches!(method, "GET" | "HEAD" | "OPTIONS") {
        match &principal.via {
            Via::Session { record, .. } => check_csrf(req, record)?,
            Via::Access { .. } => check_access_origin(req)?,
            Via::Token { .. } | Via::Linked { .. } | Via::OAuth { .. } => {}
        }
    }
    // Support's request is recorded first, whatever follows (a refusal included).
    if let Some(grant) = &principal.support {
        support_may(env, rctx, grant, req, matched, method).await?;
    }
    authorize(&principal, guard)?;
    if let Some(results) = ahead {
        rctx.ahead.keep(reads, results);
    }
    Ok(Some(principal))
}

/// Whether an authenticated `principal` may pass `guard`: a generated password changed first,
/// then MFA enrolment when the company requires it, then the role's permission. Tools and
/// pages run through this too.
pub fn authorize(principal: &Principal, guard: Guard) -> AppResult<()> {
    let needed = match guard {
        Guard::Public | Guard::SignedIn | Guard::Enrolling | Guard::Member => None,
        Guard::Needs(permission) => Some(permission),
        Guard::Operator => {
            return Err(AppError::new(ErrorKind::Forbidden)
                .with_detail("Operator routes take the operator token only."))
        }
    };
    if principal.must_change_password && guard != Guard::SignedIn {
        return Err(password_change_required());
    }
    if principal.must_enrol_mfa && !matches!(guard, Guard::SignedIn | Guard::Enrolling) {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail(
                "Your company requires two-factor sign-in: enrol at /api/v1/me/mfa/enroll first.",
            )
            .with_extension("mfa_enrolment_required", crate::json!(true)));
    }
    if let Some(permission) = needed {
        if !principal.may_write() && !crate::domain::oauth::is_read(permission) {
            return Err(AppError::new(ErrorKind::Forbidden)
                .with_detail("This app was granted the read scope only: it cannot make changes."));
        }
        if !principal.role.allows(permission) {
            return Err(AppError::new(ErrorKind::Forbidden).with_detail(format!(
                "Your role ({}) does not allow this.",
                principal.role.as_str()
            )));
        }
    }
    Ok(())
}

/// The refusal of everything but who-am-I, signing out and changing the password, while a
/// generated password awaits the user's own.
pub fn password_change_required() -> AppError {
    AppError::new(ErrorKind::PasswordChangeRequired)
        .with_detail("Your password was generated for you: change it at /api/v1/me/password first.")
        .with_extension("password_change_required", crate::json!(true))
}

/// Who is calling, from an access token, an Access JWT or a session cookie (no CSRF check:
/// callers that accept cookies on writes go through [`check`]).
pub async fn authenticate(req: &Request, env: &Env) -> AppResult<Principal> {
    authenticate_with(req, env, Vec::new())
        .await
        .map(|(principal, _)| principal)
}

/// [`authenticate`], reading `extra` in the same round trip as the user (answered apart).
pub async fn authenticate_reading(
    req: &Request,
    env: &Env,
    extra: Vec<Sql>,
) -> AppResult<(Principal, Option<D1Results>)> {
    authenticate_with(req, env, extra).await
}

/// [`authenticate`], reading `extra` in the same round trip as the user (their results are
/// answered apart; none through Access, whose user is found by email after the JWT).
async fn authenticate_with(
    req: &Request,
    env: &Env,
    extra: Vec<Sql>,
) -> AppResult<(Principal, Option<D1Results>)> {
    let store = D1Store::from_env(env)?;
    let database = &store.db;
    let ahead = extra.len();
    let now = clock::now();
    let header = |name: &str| req.headers().get(name).ok().flatten();

    if let Some(authorization) = header("Authorization") {
        if let Some(token) =
            bearer_token(&authorization).filter(|t| oauth::looks_like(t, oauth::ACCESS_PREFIX))
        {
            return oauth_principal(&store, token, now, extra).await;
        }
        let token = bearer_token(&authorization)
            .filter(|t| looks_like_access_token(t))
            .ok_or_else(|| unauthenticated("malformed Authorization header"))?;
        // The token and its user in one round trip.
        let hash = sha256_hex(token);
        let mut batch = vec![
            sql!(tokens::SELECT_BY_HASH, hash.as_str()),
            sql!(users::SELECT_BY_TOKEN_HASH, hash.as_str()),
            sql!(tokens::TOUCH, now.0 as i64, hash.as_str()),
        ];
        batch.extend(extra);
        let D1Results(mut results) = store
            .batch(batch)
            .await
            .map_err(|e| AppError::internal(format!("token lookup: {e}")))?;
        let extra = D1Results(results.split_off(3));
        let results = D1Results(results);
        let row = results
            .rows::<tokens::AccessToken>(0)?
            .into_iter()
            .next()
            .ok_or_else(|| unauthenticated("unknown access token"))?;
        if row.revoked_at.is_some() {
            return Err(unauthenticated("revoked access token"));
        }
        if row.expires_at.is_some_and(|at| at <= now.0 as i64) {
            return Err(unauthenticated("expired access token"));
        }
        let user = results
            .rows::<User>(1)?
            .into_iter()
            .next()
            .filter(User::is_active)
            .ok_or_else(|| unauthenticated("the token's user is gone or deactivated"))?;
        let principal = principal_for(user, Via::Token { id: row.id })?;
        return Ok((principal, (ahead > 0).then_some(extra)));
    }

    if let Some(assertion) = header("Cf-Access-Jwt-Assertion") {
        if let Some(config) = access::config(env)? {
            let (email, issued_at) = access::verify(&config, env, &assertion, now).await?;
            let key = crate::http::personal::index_key(env)?;
            let user = users::by_email(database, &key, &email)
                .await?
                .ok_or_else(|| unauthenticated(format!("Access user {email} has no account")))?;
            if !user.is_active() {
                return Err(unauthenticated("deactivated user"));
            }
            return Ok((principal_for(user, Via::Access { issued_at })?, None));
        }
    }

    let cookie = header("Cookie").unwrap_or_default();
    let session_id = cookie_value(&cookie, SESSION_COOKIE)
        .ok_or_else(|| unauthenticated("no credentials"))?
        .to_owned();
    let kv = db::sessions(env)?;
    let key = session_kv_key(&session_id);
    let record: SessionRecord = kv
        .get(&key)
        .json()
        .await
        .map_err(|e| AppError::internal(format!("reading session: {e}")))?
        .ok_or_else(|| unauthenticated("unknown session"))?;
    match record.state(now) {
        SessionState::Valid => {}
        state => {
            let _ = kv.delete(&key).await;
            return Err(unauthenticated(format!("session ended: {state:?}")));
        }
    }
    if let Some(support_id) = record.support.clone() {
        return support_principal(&store, session_id, record, &support_id, extra, now).await;
    }
    let mut batch = vec![sql!(users::SELECT_BY_ID, record.user_id.as_str())];
    batch.extend(extra);
    let D1Results(mut results) = store
        .batch(batch)
        .await
        .map_err(|e| AppError::internal(format!("session user: {e}")))?;
    let extra = D1Results(results.split_off(1));
    let user = D1Results(results)
        .rows::<User>(0)?
        .into_iter()
        .next()
        .ok_or_else(|| unauthenticated("user no longer exists"))?;
    if !user.is_active() {
        return Err(unauthenticated("deactivated user"));
    }
    if user.session_epoch != record.epoch {
        let _ = kv.delete(&key).await;
        return Err(unauthenticated("session revoked"));
    }
    let record = if record.needs_touch(now) {
        let touched = SessionRecord {
            last_seen_ms: now.0,
            ..record
        };
        store_session(env, &session_id, &touched, now).await?;
        touched
    } else {
        record
    };
    let principal = principal_for(
        user,
        Via::Session {
            id: session_id,
            record,
        },
    )?;
    Ok((principal, (ahead > 0).then_some(extra)))
}

/// The caller of an OAuth access token: the token, its grant and its user in one round trip
/// (with `extra`); refused once expired, its grant revoked or its user deactivated.
async fn oauth_principal(
    store: &D1Store,
    token: &str,
    now: Millis,
    extra: Vec<Sql>,
) -> AppResult<(Principal, Option<D1Results>)> {
    let ahead = extra.len();
    let hash = sha256_hex(token);
    let mut batch = vec![
        sql!(db::oauth::SELECT_ACCESS, hash.as_str()),
        sql!(users::SELECT_BY_OAUTH_HASH, hash.as_str()),
        sql!(db::oauth::TOUCH_GRANT, now.0 as i64, hash.as_str()),
    ];
    batch.extend(extra);
    let D1Results(mut results) = store
        .batch(batch)
        .await
        .map_err(|e| AppError::internal(format!("oauth token lookup: {e}")))?;
    let extra = D1Results(results.split_off(3));
    let results = D1Results(results);
    let row = results
        .rows::<db::oauth::AccessRow>(0)?
        .into_iter()
        .next()
        .ok_or_else(|| unauthenticated("unknown oauth access token"))?;
    if row.revoked_at.is_some() {
        return Err(unauthenticated("oauth grant revoked"));
    }
    if row.expires_at <= now.0 as i64 {
        return Err(unauthenticated("expired oauth access token"));
    }
    let user = results
        .rows::<User>(1)?
        .into_iter()
        .next()
        .filter(User::is_active)
        .ok_or_else(|| unauthenticated("the grant's user is gone or deactivated"))?;
    let via = Via::OAuth {
        grant_id: row.grant_id,
        scope: oauth::Scope::from_stored(&row.scope),
    };
    Ok((principal_for(user, via)?, (ahead > 0).then_some(extra)))
}

/// The principal a user is when they act through `via` (outside an HTTP request too).
pub fn principal_for(user: User, via: Via) -> AppResult<Principal> {
    let role = user.role()?;
    let must_enrol_mfa = !user.mfa_enabled()
        && !matches!(via, Via::Access { .. })
        && user.company_mfa_required == Some(1);
    // Access signs its users in with its own identity provider, not the password; the
    // password itself is still refused until changed.
    let must_change_password = user.must_change_password() && !matches!(via, Via::Access { .. });
    Ok(Principal {
        user,
        role,
        via,
        must_enrol_mfa,
        must_change_password,
        surface: Surface::Api,
        support: None,
    })
}

/// The principal of a support session: the session row read with the route's own reads, and
/// refused (its cookie forgotten) unless it is active and before its deadline. A session
/// found past its deadline is written down as ended there and then.
async fn support_principal(
    store: &D1Store,
    session_id: String,
    record: SessionRecord,
    support_id: &str,
    extra: Vec<Sql>,
    now: Millis,
) -> AppResult<(Principal, Option<D1Results>)> {
    let ahead = extra.len();
    let mut batch = vec![crate::db::support::by_id(support_id)];
    batch.extend(extra);
    let D1Results(mut results) = store
        .batch(batch)
        .await
        .map_err(|e| AppError::internal(format!("support session: {e}")))?;
    let extra = D1Results(results.split_off(1));
    let row = D1Results(results)
        .rows::<crate::db::support::SupportRow>(0)?
        .into_iter()
        .next()
        .ok_or_else(|| unauthenticated("support session gone"))?;
    match support::status_at(&row.status, row.ends_at, now) {
        Some(Status::Active) => {}
        status => {
            if row.status == "active" {
                crate::http::api::support::end_at_deadline(store, &row, now).await;
            }
            return Err(unauthenticated(format!("support session is {status:?}")));
        }
    }
    let user = User {
        id: format!("support:{}", row.id),
        email: row.person_email.clone(),
        name: format!("{} (support)", row.person_name),
        role: Role::Dispatcher.as_str().to_owned(),
        password_hash: None,
        active: 1,
        totp_secret: None,
        totp_pending: None,
        totp_last_step: None,
        session_epoch: record.epoch,
        version: row.version,
        created_at: String::new(),
        updated_at: String::new(),
        locked_until: None,
        password_change_required: 0,
        company_mfa_required: None,
        unread_notifications: Some(0),
        ..User::default()
    };
    let principal = Principal {
        user,
        // Sees the company as the office does; `support::refusal` narrows what it may change.
        role: Role::Dispatcher,
        via: Via::Session {
            id: session_id,
            record,
        },
        must_enrol_mfa: false,
        must_change_password: false,
        surface: Surface::Api,
        support: Some(Support {
            session_id: row.id.clone(),
            person_name: row.person_name,
            person_email: row.person_email,
            scope: support::parse_scope(&row.scope),
            ends_at: row.ends_at.unwrap_or_default(),
        }),
    };
    Ok((principal, (ahead > 0).then_some(extra)))
}

/// Support's restrictions on one request, and the request itself in the audit trail (every
/// action of a support session is recorded, reads included; a refusal too).
pub async fn support_may(
    env: &Env,
    rctx: &RequestCtx,
    grant: &Support,
    req: &Request,
    matched: &Matched,
    method: &str,
) -> AppResult<()> {
    let needs = match matched.guard {
        Guard::Needs(permission) => Some(permission),
        _ => None,
    };
    let refused = support::refusal(&grant.scope, method, matched.pattern, needs);
    crate::http::api::support::record_action(env, rctx, grant, method, &req.path(), refused)
        .await?;
    match refused {
        None => Ok(()),
        Some(why) => Err(AppError::new(ErrorKind::Forbidden)
            .with_detail(why)
            .with_extension("support_session", crate::json!(grant.session_id))),
    }
}

/// Writes a session record to KV, kept until it would time out anyway.
pub async fn store_session(
    env: &Env,
    session_id: &str,
    record: &SessionRecord,
    now: Millis,
) -> AppResult<()> {
    db::sessions(env)?
        .put(&session_kv_key(session_id), record)
        .map_err(|e| AppError::internal(format!("session put: {e}")))?
        .expiration_ttl(record.kv_ttl_secs(now))
        .execute()
        .await
        .map_err(|e| AppError::internal(format!("session put: {e}")))
}

fn check_csrf(req: &Request, record: &SessionRecord) -> AppResult<()> {
    let url = req.inner().url();
    let own_origin = crate::views::url::origin(&url)
        .ok_or_else(|| AppError::internal(format!("request url without origin: {url}")))?;
    let origin = req.headers().get("Origin").ok().flatten();
    if !origin_allowed(origin.as_deref(), own_origin) {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("This request did not come from this site.")
            .with_cause(format!("csrf: origin {origin:?} is not {own_origin}")));
    }
    let token = req
        .headers()
        .get("X-CSRF-Token")
        .ok()
        .flatten()
        .unwrap_or_default();
    if !secrets_match(token.as_bytes(), record.csrf.as_bytes()) {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("Send the session's CSRF token in X-CSRF-Token.")
            .with_cause("csrf: token mismatch"));
    }
    Ok(())
}

/// A state-changing request signed in through Cloudflare Access: Access's cookie rides along
/// on any request the browser makes to us, so another site's page must not be able to post
/// here. A browser names the page's origin on every cross-site or scripted POST: another
/// origin (or `null`, a sandboxed frame) is refused; no Origin at all is a service or script
/// calling with its own Access token, which no web page can make a browser do.
fn check_access_origin(req: &Request) -> AppResult<()> {
    let Some(origin) = req.headers().get("Origin").ok().flatten() else {
        return Ok(());
    };
    let url = req.inner().url();
    let own_origin = crate::views::url::origin(&url)
        .ok_or_else(|| AppError::internal(format!("request url without origin: {url}")))?;
    if origin_allowed(Some(&origin), own_origin) {
        return Ok(());
    }
    Err(AppError::new(ErrorKind::Forbidden)
        .with_detail("This request did not come from this site.")
        .with_cause(format!(
            "access csrf: origin {origin:?} is not {own_origin}"
        )))
}

/// The caller's IP as Cloudflare reports it (`CF-Connecting-IP`); locally there is none.
pub fn client_ip(req: &Request) -> Option<String> {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .filter(|ip| !ip.is_empty() && ip.len() <= 64)
}
