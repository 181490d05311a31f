//! The OAuth 2.1 authorization server MCP clients use when Cloudflare Access is not configured
//! (with Access, Access is the authorization server and these routes answer 404): metadata
//! (RFC 8414), dynamic registration of public clients (RFC 7591), the authorization code flow
//! with PKCE S256 behind the dashboard's own sign-in and a consent page, tokens with refresh
//! rotation and reuse detection, and revocation (RFC 7009). The rules are `domain::oauth`;
//! storage `db::oauth`; the connected apps' API `api::apps`.

use crate::json;
use serde_json::Value;
use worker::{Env, Request, Response, ResponseBuilder};

use crate::db::oauth::{self as store_db, ClientRow, CodeRow, NewCode, RefreshRow};
use crate::db::store::{D1Results, D1Store};
use crate::domain::audit::{Action, ActorKind, AuditEvent};
use crate::domain::auth::session::{origin_allowed, sha256_hex};
use crate::domain::messaging::parse_form;
use crate::domain::oauth::{self, OAuthError, Scope};
use crate::domain::secrets::secrets_match;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::apps::GrantEntity;
use crate::http::api::new_id;
use crate::http::auth::{self, Principal, Via};
use crate::http::extract::{bounded_bytes, json_bytes, MAX_JSON_BODY};
use crate::http::router::Guard;
use crate::http::{access, clock, crypto, respond, RequestCtx};
use crate::sql;
use crate::views::pages::oauth as pages;
use crate::views::pages::sign_in_location;
use crate::views::url::{origin, query_pairs};
use crate::write::{self, Change, Refusal, Results, Store};

const MAX_FORM: usize = 16 * 1024;

fn own_origin(req: &Request) -> String {
    origin(&req.inner().url()).unwrap_or_default().to_owned()
}

/// With Cloudflare Access configured, Access is the authorization server: none of ours.
fn available(env: &Env) -> AppResult<()> {
    match access::config(env)? {
        Some(_) => Err(AppError::not_found_route("/oauth")),
        None => Ok(()),
    }
}

/// A JSON answer of the token, registration or revocation endpoints (never cached: the
/// common headers add `Cache-Control: no-store`).
fn answer(status: u16, body: &Value) -> AppResult<Response> {
    respond::json(status, body)
}

/// An RFC 6749 error answer.
fn refuse(error: &OAuthError) -> AppResult<Response> {
    answer(error.status(), &error.to_json())
}

fn redirect(location: &str) -> AppResult<Response> {
    let response = ResponseBuilder::new().with_status(303).empty();
    response
        .headers()
        .set("Location", location)
        .map_err(|e| AppError::internal(format!("location: {e}")))?;
    Ok(response)
}

/// An HTML page of the flow; `form_to` is the origin (or scheme) the consent form may end up
/// at, for the CSP's `form-action` (browsers apply it to the redirect after the post too).
fn page(status: u16, markup: maud::Markup, form_to: Option<&str>) -> AppResult<Response> {
    let csp = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         form-action 'self'{}{}; frame-ancestors 'none'; base-uri 'none'",
        if form_to.is_some() { " " } else { "" },
        form_to.unwrap_or_default()
    );
    let response = ResponseBuilder::new()
        .with_status(status)
        .fixed(markup.into_string().into_bytes());
    let headers = response.headers();
    let set = |k: &str, v: &str| {
        headers
            .set(k, v)
            .map_err(|e| AppError::internal(format!("header {k}: {e}")))
    };
    set("Content-Type", "text/html; charset=utf-8")?;
    set("Content-Security-Policy", &csp)?;
    // same-origin: with no-referrer the consent form's post would say `Origin: null`.
    set("Referrer-Policy", "same-origin")?;
    Ok(response)
}

/// The CSP source of a redirect URI: its origin, or its private-use scheme.
fn csp_source(uri: &str) -> String {
    match origin(uri) {
        Some(o) if uri.starts_with("http") => o.to_owned(),
        _ => format!("{}:", uri.split(':').next().unwrap_or_default()),
    }
}

// ---- metadata -------------------------------------------------------------------------------

/// `GET /.well-known/oauth-authorization-server` (RFC 8414).
pub fn metadata(req: &Request, env: &Env) -> AppResult<Response> {
    available(env)?;
    answer(200, &oauth::server_metadata(&own_origin(req)))
}

// ---- registration ---------------------------------------------------------------------------

/// `POST /oauth/register` (RFC 7591): a public client with its redirect URIs. Limited per
/// address an hour and in clients still waiting for a first grant; each registration also
/// sweeps what expired (clients that never completed a grant, codes, tokens).
pub async fn register(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    available(env)?;
    let body = match json_bytes(&mut req, MAX_JSON_BODY).await {
        Ok(bytes) => bytes,
        Err(e) if e.status() < 500 => {
            return refuse(&OAuthError::new(
                "invalid_client_metadata",
                e.detail
                    .clone()
                    .unwrap_or_else(|| "the body must be JSON".into()),
            ))
        }
        Err(e) => return Err(e),
    };
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return refuse(&OAuthError::new(
            "invalid_client_metadata",
            "the body is not JSON",
        ));
    };
    let registration = match oauth::registration(&body) {
        Ok(r) => r,
        Err(e) => return refuse(&e),
    };
    let id = crypto::random_string(32)?;
    let now = clock::now();
    let uris = serde_json::to_string(&registration.redirect_uris)
        .map_err(|e| AppError::internal(format!("redirect uris: {e}")))?;
    let change = Change::new()
        .then_all(store_db::sweep(now.0 as i64))
        .guarded(store_db::register(
            &id,
            &registration.name,
            &uris,
            rctx.ip.as_deref(),
            (now.0 as i64, now.plus(oauth::UNUSED_CLIENT_TTL_MS).0 as i64),
            (oauth::REGISTRATIONS_PER_IP_HOUR, oauth::PENDING_CLIENTS_MAX),
        ));
    match write::apply(&D1Store::from_env(env)?, change, vec![]).await {
        Ok(_) => answer(201, &oauth::registered(&id, now.0, &registration)),
        Err(Refusal::Guard) => Err(AppError::new(ErrorKind::TooManyRequests)
            .with_detail("Too many app registrations: try again in an hour.")
            .with_header("Retry-After", "3600")),
        Err(refusal) => Err(refusal.into_error(|| AppError::internal("registration guard"))),
    }
}

// ---- the authorization request --------------------------------------------------------------

/// An authorization request's parameters, as sent (query or consent form).
struct Asked {
    pairs: Vec<(String, String)>,
}

impl Asked {
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// A request checked against its client: where to send the user back, and what is asked.
struct Checked {
    client: ClientRow,
    redirect_uri: String,
    challenge: String,
    state: Option<String>,
    scope: Option<Scope>,
    resource: Option<String>,
}

/// Why a request is refused: on a page of ours (the client or its redirect URI cannot be
/// trusted) or sent back to the client.
enum Refused {
    Page(String),
    Back(String),
}

impl Refused {
    fn respond(self) -> AppResult<Response> {
        match self {
            Refused::Page(detail) => page(400, pages::refused(&detail), None),
            Refused::Back(location) => redirect(&location),
        }
    }
}

/// `redirect_uri` with an OAuth error (and the state and issuer, RFC 9207).
fn back_with_error(
    redirect_uri: &str,
    state: Option<&str>,
    issuer: &str,
    e: &OAuthError,
) -> Refused {
    let mut pairs = vec![
        ("error", e.error),
        ("error_description", e.description.as_str()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    Refused::Back(oauth::with_query(redirect_uri, &pairs))
}

/// Checks an authorization request against its client (`None`: not registered). Pure.
fn check(asked: &Asked, client: Option<ClientRow>, issuer: &str) -> Result<Checked, Refused> {
    let client = client.ok_or_else(|| {
        Refused::Page("The app is not registered here (or its registration expired).".into())
    })?;
    let registered = client.redirect_uris();
    let redirect_uri = match asked.get("redirect_uri") {
        Some(uri) if registered.iter().any(|r| oauth::redirect_matches(r, uri)) => uri.to_owned(),
        Some(_) => {
            return Err(Refused::Page(
                "The app asked to send you back to an address it did not register.".into(),
            ))
        }
        None if registered.len() == 1 => registered[0].clone(),
        None => {
            return Err(Refused::Page(
                "The app did not say where to send you back.".into(),
            ))
        }
    };
    let state = asked.get("state").map(str::to_owned);
    let back = |e: OAuthError| back_with_error(&redirect_uri, state.as_deref(), issuer, &e);
    if asked.get("response_type") != Some("code") {
        return Err(back(OAuthError::new(
            "unsupported_response_type",
            "response_type must be code",
        )));
    }
    oauth::check_pkce(
        asked.get("code_challenge"),
        asked.get("code_challenge_method"),
    )
    .map_err(back)?;
    let scope = Scope::parse(asked.get("scope")).map_err(back)?;
    let resource = asked.get("resource").map(str::to_owned);
    if resource
        .as_deref()
        .is_some_and(|r| !oauth::resource_matches(r, issuer))
    {
        return Err(back(OAuthError::new(
            "invalid_target",
            "resource must be this server's /mcp",
        )));
    }
    Ok(Checked {
        challenge: asked.get("code_challenge").unwrap_or_default().to_owned(),
        client,
        redirect_uri,
        state,
        scope,
        resource,
    })
}

async fn client(env: &Env, id: Option<&str>) -> AppResult<Option<ClientRow>> {
    let Some(id) = id else { return Ok(None) };
    let results = D1Store::from_env(env)?
        .batch(vec![sql!(store_db::SELECT_CLIENT, id)])
        .await
        .map_err(|e| AppError::internal(format!("oauth client: {e}")))?;
    Ok(results.rows::<ClientRow>(0)?.into_iter().next())
}

/// The consent page's address for a checked request.
fn consent_path(checked: &Checked) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", checked.client.id.as_str()),
        ("redirect_uri", checked.redirect_uri.as_str()),
        ("code_challenge", checked.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    if let Some(scope) = checked.scope {
        pairs.push(("scope", scope.as_str()));
    }
    if let Some(state) = &checked.state {
        pairs.push(("state", state));
    }
    if let Some(resource) = &checked.resource {
        pairs.push(("resource", resource));
    }
    oauth::with_query("/oauth/consent", &pairs)
}

/// `GET /oauth/authorize`: checks the request, then continues to the consent page through a
/// same-site step (this navigation came from the app, so it carries no `SameSite=Strict`
/// session cookie; the next one, from our own page, does).
pub async fn authorize(req: &Request, env: &Env) -> AppResult<Response> {
    available(env)?;
    let issuer = own_origin(req);
    let asked = Asked {
        pairs: query_pairs(&req.inner().url()),
    };
    let found = client(env, asked.get("client_id")).await?;
    match check(&asked, found, &issuer) {
        Ok(checked) => page(200, pages::continue_page(&consent_path(&checked)), None),
        Err(refused) => refused.respond(),
    }
}

/// The session's CSRF token, for a principal signed in with the dashboard's cookie only (a
/// person's: support holds no account an app could act as).
fn session_csrf(principal: &Principal) -> AppResult<&str> {
    if principal.support.is_some() {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("Support cannot connect apps: there is no account to connect them to."));
    }
    match &principal.via {
        Via::Session { record, .. } => Ok(record.csrf.as_str()),
        _ => Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("Allowing an app needs the dashboard's sign-in.")),
    }
}

/// The widest scope the user may give for what was asked: none asked is all the role allows;
/// more than the role allows is narrowed to reading (`true`).
fn offered(asked: Option<Scope>, principal: &Principal) -> (Scope, bool) {
    let widest = Scope::widest_for(principal.role);
    match asked {
        None => (widest, false),
        Some(scope) if scope.within(principal.role) => (scope, false),
        Some(_) => (Scope::Read, true),
    }
}

/// `GET /oauth/consent` (a dashboard page: the visitor is signed in, or sent to sign in and
/// brought back): names the app and what it will be able to do.
pub async fn consent_page(req: &Request, env: &Env, principal: &Principal) -> AppResult<Response> {
    available(env)?;
    let issuer = own_origin(req);
    let asked = Asked {
        pairs: query_pairs(&req.inner().url()),
    };
    let found = client(env, asked.get("client_id")).await?;
    let checked = match check(&asked, found, &issuer) {
        Ok(checked) => checked,
        Err(refused) => return refused.respond(),
    };
    let csrf = session_csrf(principal)?;
    let (scope, narrowed) = offered(checked.scope, principal);
    let redirect_host = origin(&checked.redirect_uri)
        .unwrap_or(&checked.redirect_uri)
        .to_owned();
    let markup = pages::consent(
        &checked.client.name,
        &redirect_host,
        &principal.user.email,
        principal.role,
        scope,
        narrowed,
        &pages::ConsentForm {
            client_id: &checked.client.id,
            redirect_uri: &checked.redirect_uri,
            code_challenge: &checked.challenge,
            state: checked.state.as_deref(),
            resource: checked.resource.as_deref(),
            csrf,
        },
    );
    page(200, markup, Some(&csp_source(&checked.redirect_uri)))
}

/// `POST /oauth/consent` (the consent page's form): with the session's cookie, this site's
/// Origin and the session's CSRF token; allowing issues a code (5 minutes, single use, bound
/// to the client, redirect URI, PKCE challenge, user and scope) and sends the user back.
pub async fn decide(mut req: Request, env: &Env) -> AppResult<Response> {
    available(env)?;
    let issuer = own_origin(&req);
    let bytes = bounded_bytes(&mut req, MAX_FORM).await?;
    let pairs =
        parse_form(&bytes).map_err(|e| AppError::bad_request(format!("Not a form: {e}")))?;
    let mut asked = Asked { pairs };
    asked.pairs.push(("response_type".into(), "code".into()));
    let client_id = asked.get("client_id").unwrap_or_default().to_owned();
    let (principal, ahead) = match auth::authenticate_reading(
        &req,
        env,
        vec![sql!(store_db::SELECT_CLIENT, client_id.as_str())],
    )
    .await
    {
        Ok(found) => found,
        Err(e) if e.status() == 401 => {
            // The session ended on the consent page: sign in, then see it again.
            let asked_again = Asked {
                pairs: asked.pairs.clone(),
            };
            let next = match check(&asked_again, client(env, Some(&client_id)).await?, &issuer) {
                Ok(checked) => consent_path(&checked),
                Err(refused) => return refused.respond(),
            };
            return redirect(&sign_in_location(&next));
        }
        Err(e) => return Err(e),
    };
    let csrf = session_csrf(&principal)?;
    let sent_origin = req.headers().get("Origin").ok().flatten();
    let sent_csrf = asked.get("csrf").unwrap_or_default();
    if !origin_allowed(sent_origin.as_deref(), &issuer)
        || !secrets_match(sent_csrf.as_bytes(), csrf.as_bytes())
    {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("This request did not come from the consent page.")
            .with_cause(format!(
                "oauth consent: origin {sent_origin:?} or csrf mismatch"
            )));
    }
    auth::authorize(&principal, Guard::Member)?;
    let found = match ahead {
        Some(results) => results.rows::<ClientRow>(0)?.into_iter().next(),
        None => None,
    };
    let checked = match check(&asked, found, &issuer) {
        Ok(checked) => checked,
        Err(refused) => return refused.respond(),
    };
    let state = checked.state.as_deref();
    let back = |e: OAuthError| back_with_error(&checked.redirect_uri, state, &issuer, &e).respond();
    if asked.get("decision") != Some("allow") {
        return back(OAuthError::new(
            "access_denied",
            "the user did not allow the app",
        ));
    }
    let scope = match checked.scope {
        Some(scope) if scope.within(principal.role) => scope,
        Some(_) => {
            return back(OAuthError::new(
                "invalid_scope",
                format!(
                    "write is beyond the user's role ({})",
                    principal.role.as_str()
                ),
            ))
        }
        None => return back(OAuthError::new("invalid_scope", "no scope was allowed")),
    };
    let code = crypto::random_string(oauth::CODE_LEN)?;
    let now = clock::now();
    let hash = sha256_hex(&code);
    let change = Change::new().guarded(store_db::insert_code(
        &NewCode {
            hash: &hash,
            client_id: &checked.client.id,
            user_id: &principal.user.id,
            redirect_uri: &checked.redirect_uri,
            challenge: &checked.challenge,
            scope: scope.as_str(),
            resource: checked.resource.as_deref(),
        },
        now.0 as i64,
        now.plus(oauth::CODE_TTL_MS).0 as i64,
    ));
    if let Err(refusal) = write::apply(&D1Store::from_env(env)?, change, vec![]).await {
        return match refusal {
            // The client was swept away between the read and the write.
            Refusal::Guard => {
                Refused::Page("The app's registration expired: start again from the app.".into())
                    .respond()
            }
            other => Err(other.into_error(|| AppError::internal("code guard"))),
        };
    }
    let mut pairs = vec![("code", code.as_str())];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer.as_str()));
    redirect(&oauth::with_query(&checked.redirect_uri, &pairs))
}

// ---- tokens ---------------------------------------------------------------------------------

/// A form's values by name (the first of each, empty ones as absent).
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

async fn form(req: &mut Request) -> Result<Form, OAuthError> {
    let bytes = bounded_bytes(req, MAX_FORM).await.map_err(|e| {
        OAuthError::invalid_request(e.detail.clone().unwrap_or_else(|| e.to_string()))
    })?;
    parse_form(&bytes)
        .map(Form)
        .map_err(|e| OAuthError::invalid_request(format!("the body must be a form: {e}")))
}

/// A new access and refresh token pair for `grant_id`, and their answer.
struct Issued {
    statements: [crate::write::Sql; 2],
    body: Value,
}

fn issue(grant_id: &str, scope: &str, now: crate::domain::time::Millis) -> AppResult<Issued> {
    let access = format!(
        "{}{}",
        oauth::ACCESS_PREFIX,
        crypto::random_string(oauth::TOKEN_RANDOM_LEN)?
    );
    let refresh = format!(
        "{}{}",
        oauth::REFRESH_PREFIX,
        crypto::random_string(oauth::TOKEN_RANDOM_LEN)?
    );
    let at = now.0 as i64;
    Ok(Issued {
        statements: [
            store_db::insert_token(
                &sha256_hex(&access),
                grant_id,
                "access",
                at,
                now.plus(oauth::ACCESS_TTL_MS).0 as i64,
            ),
            store_db::insert_token(
                &sha256_hex(&refresh),
                grant_id,
                "refresh",
                at,
                now.plus(oauth::REFRESH_TTL_MS).0 as i64,
            ),
        ],
        body: json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": oauth::ACCESS_TTL_MS / 1000,
            "refresh_token": refresh,
            "scope": scope,
        }),
    })
}

/// An audit event of the OAuth server: `actor` is who acted (the user who consented, the
/// app acting for them, or the server itself).
fn grant_event(
    rctx: &RequestCtx,
    actor: (ActorKind, Option<&str>),
    action: Action,
    grant_id: &str,
    after: Value,
) -> AuditEvent {
    AuditEvent {
        at: clock::now(),
        actor_kind: actor.0,
        actor_id: actor.1.map(str::to_owned),
        action,
        entity: "oauth_grant",
        entity_id: Some(grant_id.to_owned()),
        before: None,
        after: Some(after),
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    }
}

/// `POST /oauth/token`: the authorization code (with its PKCE verifier) or a refresh token
/// for a new pair. Errors are RFC 6749's JSON.
pub async fn token(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    available(env)?;
    let issuer = own_origin(&req);
    let form = match form(&mut req).await {
        Ok(form) => form,
        Err(e) => return refuse(&e),
    };
    let Some(client_id) = form.get("client_id") else {
        return refuse(&OAuthError::new(
            "invalid_client",
            "client_id is required (public clients)",
        ));
    };
    if let Some(resource) = form.get("resource") {
        if !oauth::resource_matches(resource, &issuer) {
            return refuse(&OAuthError::new(
                "invalid_target",
                "resource must be this server's /mcp",
            ));
        }
    }
    let store = D1Store::from_env(env)?;
    let outcome = match form.get("grant_type") {
        Some("authorization_code") => exchange_code(&form, client_id, &store, rctx).await?,
        Some("refresh_token") => rotate(&form, client_id, &store, rctx).await?,
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "grant_type must be authorization_code or refresh_token",
        )),
        None => Err(OAuthError::invalid_request("grant_type is required")),
    };
    match outcome {
        Ok(body) => answer(200, &body),
        Err(e) => refuse(&e),
    }
}

/// The code, taken (deleted) in the first round trip whatever comes next, so it is used at
/// most once; then the grant, its first tokens and its audit row in one batch.
async fn exchange_code(
    form: &Form,
    client_id: &str,
    store: &D1Store,
    rctx: &RequestCtx,
) -> AppResult<Result<Value, OAuthError>> {
    let Some(code) = form.get("code") else {
        return Ok(Err(OAuthError::invalid_request("code is required")));
    };
    let Some(verifier) = form.get("code_verifier") else {
        return Ok(Err(OAuthError::invalid_request(
            "code_verifier is required (PKCE)",
        )));
    };
    let D1Results(results) = store
        .batch(vec![sql!(store_db::TAKE_CODE, sha256_hex(code))])
        .await
        .map_err(|e| AppError::internal(format!("taking a code: {e}")))?;
    let taken = D1Results(results).rows::<CodeRow>(0)?.into_iter().next();
    let now = clock::now();
    let invalid = |d: &str| Ok(Err(OAuthError::invalid_grant(d)));
    let Some(code) = taken else {
        return invalid("the code is unknown or was used already");
    };
    if code.expires_at <= now.0 as i64 {
        return invalid("the code expired");
    }
    if code.client_id != client_id {
        return invalid("the code was issued to another client");
    }
    if form.get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return invalid("redirect_uri differs from the authorization request's");
    }
    if !oauth::verifier_answers(verifier, &code.code_challenge) {
        return invalid("code_verifier does not match the code_challenge");
    }
    let grant_id = new_id()?;
    let issued = issue(&grant_id, &code.scope, now)?;
    let [access, refresh] = issued.statements;
    let change = Change::new()
        .guarded(store_db::insert_grant(
            &grant_id,
            &code.client_id,
            &code.user_id,
            &code.scope,
            code.resource.as_deref(),
            now.0 as i64,
        ))
        .then(access)
        .then(refresh)
        .then(sql!(store_db::KEEP_CLIENT, code.client_id.as_str()))
        .audit(grant_event(
            rctx,
            (ActorKind::User, Some(&code.user_id)),
            Action::OAuthGranted,
            &grant_id,
            json!({ "client_id": code.client_id, "user_id": code.user_id, "scope": code.scope }),
        ));
    match write::create::<_, GrantEntity>(
        store,
        &grant_id,
        None,
        change,
        || AppError::new(ErrorKind::Conflict),
        now.0 as i64,
    )
    .await
    {
        Ok(_) => Ok(Ok(issued.body)),
        // The user was deactivated, or the client swept, since the consent.
        Err(e) if e.kind == ErrorKind::Conflict => invalid("the grant can no longer be made"),
        Err(e) => Err(e),
    }
}

/// A refresh token for a new pair: the first use marks it used (one conditional statement,
/// so of two parallel uses one wins); any later use is a reuse — a copy in someone else's
/// hands, or a replay — and revokes the whole grant.
async fn rotate(
    form: &Form,
    client_id: &str,
    store: &D1Store,
    rctx: &RequestCtx,
) -> AppResult<Result<Value, OAuthError>> {
    let Some(token) = form
        .get("refresh_token")
        .filter(|t| oauth::looks_like(t, oauth::REFRESH_PREFIX))
    else {
        return Ok(Err(OAuthError::invalid_grant(
            "refresh_token is missing or malformed",
        )));
    };
    let now = clock::now();
    let hash = sha256_hex(token);
    let results = store
        .batch(vec![
            sql!(store_db::SELECT_REFRESH, hash.as_str()),
            sql!(store_db::USE_REFRESH, now.0 as i64, hash.as_str()),
        ])
        .await
        .map_err(|e| AppError::internal(format!("refresh lookup: {e}")))?;
    let invalid = |d: &str| Ok(Err(OAuthError::invalid_grant(d)));
    let Some(row) = results.rows::<RefreshRow>(0)?.into_iter().next() else {
        return invalid("the refresh token is unknown");
    };
    if row.revoked_at.is_some() || row.active != 1 {
        return invalid("the grant was revoked");
    }
    if results.changes(1) == 0 {
        if row.expires_at <= now.0 as i64 {
            return invalid("the refresh token expired");
        }
        // Used before: revoke the grant, every token of it with it.
        let change = Change::new()
            .guarded(store_db::revoke_grant_now(
                &row.grant_id,
                "refresh token reused",
                now.0 as i64,
            ))
            .then(store_db::delete_grant_tokens(&row.grant_id))
            .audit(grant_event(
                rctx,
                (ActorKind::System, None),
                Action::OAuthRevoked,
                &row.grant_id,
                json!({ "reason": "refresh token reused", "user_id": row.user_id,
                        "client_id": row.client_id }),
            ));
        match write::apply(store, change, vec![]).await {
            Ok(_) | Err(Refusal::Guard) => {}
            Err(other) => return Err(other.into_error(|| AppError::internal("revoke guard"))),
        }
        return invalid("the refresh token was used already: the grant is revoked");
    }
    if row.client_id != client_id {
        return invalid("the refresh token was issued to another client");
    }
    if let Some(asked) = form.get("scope") {
        let granted = Scope::from_stored(&row.scope);
        match Scope::parse(Some(asked)) {
            Ok(Some(scope)) if scope == granted || scope == Scope::Read => {}
            Ok(_) => {
                return Ok(Err(OAuthError::new(
                    "invalid_scope",
                    "a refresh cannot widen the grant's scope",
                )))
            }
            Err(e) => return Ok(Err(e)),
        }
    }
    let issued = issue(&row.grant_id, &row.scope, now)?;
    let [access, refresh] = issued.statements;
    match write::apply(store, Change::new().guarded(access).then(refresh), vec![]).await {
        Ok(_) => Ok(Ok(issued.body)),
        Err(Refusal::Guard) => invalid("the grant was revoked"),
        Err(other) => Err(other.into_error(|| AppError::internal("rotation guard"))),
    }
}

/// `POST /oauth/revoke` (RFC 7009): an access or refresh token revokes its whole grant (the
/// connected app). Unknown or already revoked tokens are answered 200 alike.
pub async fn revoke(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    available(env)?;
    let form = match form(&mut req).await {
        Ok(form) => form,
        Err(e) => return refuse(&e),
    };
    let Some(token) = form.get("token") else {
        return refuse(&OAuthError::invalid_request("token is required"));
    };
    let store = D1Store::from_env(env)?;
    let results = store
        .batch(vec![sql!(store_db::SELECT_TOKEN_GRANT, sha256_hex(token))])
        .await
        .map_err(|e| AppError::internal(format!("revocation lookup: {e}")))?;
    let Some(row) = results
        .rows::<store_db::TokenGrantRow>(0)?
        .into_iter()
        .next()
        .filter(|row| row.revoked_at.is_none())
    else {
        return answer(200, &json!({}));
    };
    if form.get("client_id").is_some_and(|id| id != row.client_id) {
        return refuse(&OAuthError::new(
            "unauthorized_client",
            "the token was issued to another client",
        ));
    }
    let change = Change::new()
        .guarded(store_db::revoke_grant_now(
            &row.grant_id,
            "revoked by the app",
            clock::now().0 as i64,
        ))
        .then(store_db::delete_grant_tokens(&row.grant_id))
        .audit(grant_event(
            rctx,
            (ActorKind::Mcp, Some(&row.user_id)),
            Action::OAuthRevoked,
            &row.grant_id,
            json!({ "reason": "revoked by the app", "user_id": row.user_id,
                    "client_id": row.client_id }),
        ));
    match write::apply(&store, change, vec![]).await {
        Ok(_) | Err(Refusal::Guard) => answer(200, &json!({})),
        Err(other) => Err(other.into_error(|| AppError::internal("revoke guard"))),
    }
}

/// The cron's backstop of the sweep every registration runs: expired codes and tokens, and
/// clients that never completed a grant. Errors are logged; the next run retries.
pub async fn sweep_logged(env: &Env) {
    let outcome = match D1Store::from_env(env) {
        Ok(store) => store
            .batch(store_db::sweep(clock::now().0 as i64))
            .await
            .map(|_| ()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = outcome {
        worker::console_log!(
            "{}",
            json!({ "level": "error", "msg": "oauth sweep", "error": error })
        );
    }
}
