//! Operator endpoints under `/ops`, for whoever runs the tenant (not its users).
//!
//! They are switched off unless the `OPS_TOKEN` secret is set, and then need it as a bearer
//! token. A switched-off endpoint answers 404 so a tenant does not advertise it.

use serde::Deserialize;
use worker::{console_error, Date, Env, Request, Response};

use crate::db::{self, probe};
use crate::domain::clamd;
use crate::domain::secrets::{bearer_token, secrets_match};
use crate::domain::selfcheck::{
    clean_probe, parse_probe, probe_key, Binding, BindingReport, ScannerCheck, ScannerReport, Step,
};
use crate::error::{AppError, AppResult};
use crate::http::extract::{json_body, MAX_JSON_BODY};
use crate::http::{respond, RequestCtx};
use crate::services::clamd::{Scanner, Unreachable};
use crate::views::selfcheck::selfcheck_view;

pub const OPS_TOKEN: &str = "OPS_TOKEN";

pub(crate) fn authorize(req: &Request, env: &Env) -> AppResult<()> {
    let expected = env
        .secret(OPS_TOKEN)
        .map(|s| s.to_string())
        .unwrap_or_default();
    if expected.is_empty() {
        return Err(AppError::not_found_route(&req.path()));
    }
    let presented = req
        .headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| bearer_token(&h).map(str::to_owned));
    match presented {
        Some(token) if secrets_match(token.as_bytes(), expected.as_bytes()) => Ok(()),
        _ => Err(
            AppError::unauthorized("Present the operator token as a bearer token.")
                .with_header("WWW-Authenticate", "Bearer realm=\"ops\""),
        ),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SelfcheckRequest {
    /// A value chosen by the caller, written to each binding and shown as read back.
    probe: String,
}

/// `POST /ops/selfcheck` `{"probe": "..."}`: runs the storage self-check on D1, KV and R2, and
/// checks the virus scanner. 200 when every binding passed and the scanner works or none is
/// configured (said in the report: uploads are then refused); 503 with the same report when a
/// binding failed or a configured scanner is unreachable, misconfigured or does not detect.
pub async fn selfcheck(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    authorize(&req, env)?;
    let body: SelfcheckRequest = json_body(&mut req, MAX_JSON_BODY).await?;
    let value = parse_probe(&body.probe)?;
    let key = probe_key(rctx.id.as_str());

    let mut reports = Vec::with_capacity(Binding::ALL.len());
    for binding in Binding::ALL {
        let started = Date::now().as_millis();
        let mut report = match binding {
            Binding::D1 => check_d1(env, &key, &value).await?,
            Binding::Kv => check_kv(env, &key, &value).await?,
            Binding::R2 => check_r2(env, &key, &value).await?,
        };
        report.elapsed_ms = Date::now().as_millis().saturating_sub(started);
        log_failures(rctx, report.failures());
        reports.push(report);
    }
    let scanner = check_scanner(env, &value).await;
    log_failures(rctx, scanner.failures());
    let status = if reports.iter().all(BindingReport::passed) && !scanner.failed() {
        200
    } else {
        503
    };
    respond::json(status, &selfcheck_view(&reports, &scanner))
}

fn log_failures(rctx: &RequestCtx, failures: Vec<String>) {
    for failure in failures {
        console_error!(
            "{}",
            crate::json!({
                "level": "error",
                "msg": "selfcheck step failed",
                "request_id": rctx.id.as_str(),
                "failure": failure,
            })
        );
    }
}

/// PING, then the EICAR test file (must be FOUND) and the caller's probe (must be OK).
async fn check_scanner(env: &Env, probe: &str) -> ScannerReport {
    let scanner = match Scanner::configured(env) {
        Ok(Some(scanner)) => scanner,
        Ok(None) => return ScannerReport::NotConfigured,
        Err(cause) => return ScannerReport::Misconfigured(cause),
    };
    let started = Date::now().as_millis();
    let cause = |e: Unreachable| format!("clamd at {}: {e}", scanner.address());
    let mut check = ScannerCheck::default();
    check.record_ping(scanner.ping().await.map_err(cause));
    if check.reachable() {
        check.record_test_file(scanner.scan(&clamd::eicar()).await.map_err(cause));
        check.record_clean(scanner.scan(&clean_probe(probe)).await.map_err(cause));
    }
    check.elapsed_ms = Date::now().as_millis().saturating_sub(started);
    ScannerReport::Checked(check)
}

async fn check_d1(env: &Env, key: &str, value: &str) -> AppResult<BindingReport> {
    let database = db::database(env)?;
    let now = Date::now().as_millis();
    let mut report = BindingReport::new(Binding::D1);
    report.record(
        Step::Write,
        probe::d1_insert(&database, key, value, now).await,
    );
    report.record_read_back(value, probe::d1_select(&database, key).await);
    // A second row under the same primary key must be refused by the constraint.
    report.record_refusal(probe::d1_insert(&database, key, "duplicate", now).await);
    report.record(Step::Delete, probe::d1_delete(&database, key).await);
    report.record_absence(probe::d1_select(&database, key).await.map(|v| v.is_some()));
    Ok(report)
}

async fn check_kv(env: &Env, key: &str, value: &str) -> AppResult<BindingReport> {
    let kv = db::sessions(env)?;
    let mut report = BindingReport::new(Binding::Kv);
    report.record(Step::Write, probe::kv_put(&kv, key, value).await);
    report.record_read_back(value, probe::kv_get(&kv, key).await);
    // KV refuses keys over its size limit.
    let oversized = format!("{key}/{}", "x".repeat(probe::KV_KEY_LIMIT));
    report.record_refusal(probe::kv_put(&kv, &oversized, value).await);
    report.record(Step::Delete, probe::kv_delete(&kv, key).await);
    report.record_absence(probe::kv_get(&kv, key).await.map(|v| v.is_some()));
    Ok(report)
}

async fn check_r2(env: &Env, key: &str, value: &str) -> AppResult<BindingReport> {
    let bucket = db::files(env)?;
    let mut report = BindingReport::new(Binding::R2);
    let written = probe::r2_put(&bucket, key, value).await;
    report.record(
        Step::Write,
        written.as_ref().map(|_| ()).map_err(Clone::clone),
    );
    report.record_read_back(value, probe::r2_get(&bucket, key).await);
    // A conditional write naming an etag the object does not have must be refused, the way
    // versioned writes of attachments will be.
    let stale_etag = format!("{}-stale", written.unwrap_or_default());
    report.record_refusal(probe::r2_put_if_match(&bucket, key, "overwrite", &stale_etag).await);
    report.record(Step::Delete, probe::r2_delete(&bucket, key).await);
    report.record_absence(probe::r2_exists(&bucket, key).await);
    Ok(report)
}

/// `POST /ops/panic`: panics on purpose, so an operator (and the tests) can see that a panic
/// becomes a clean 500 without internals and that the next request is served normally.
pub fn panic(req: &Request, env: &Env) -> AppResult<Response> {
    authorize(req, env)?;
    panic!("deliberate panic requested through /ops/panic");
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    /// Moves the clock forward by this much.
    advance_ms: Option<u64>,
    /// Sets the clock to this instant (Unix milliseconds), earlier or later than now.
    at_ms: Option<u64>,
}

/// `POST /ops/clock` `{"advance_ms": n}` or `{"at_ms": t}`: moves this instance's clock forward
/// by n, or sets it to the instant t (back in time too), not in production: the tests see
/// sessions, challenges and locks expire without waiting, the demo seed replays past weeks.
pub async fn clock(mut req: Request, env: &Env) -> AppResult<Response> {
    authorize(&req, env)?;
    if crate::http::clock::is_production(env) {
        return Err(AppError::not_found_route(&req.path()));
    }
    let body: ClockRequest = json_body(&mut req, MAX_JSON_BODY).await?;
    let offset = match (body.advance_ms, body.at_ms) {
        (Some(ms), None) => crate::http::clock::advance(ms),
        (None, Some(at)) => crate::http::clock::set(at),
        _ => {
            return Err(AppError::bad_request(
                "Give either advance_ms (forward) or at_ms (an instant), not both.",
            ))
        }
    };
    respond::json(
        200,
        &crate::json!({ "offset_ms": offset, "now_ms": crate::http::clock::now().0 }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OwnerRequest {
    email: String,
    password: String,
    name: Option<String>,
    /// The password was generated for the owner (`scripts/tenant create`), not chosen by
    /// them: it lies in the operator's files, so it must be changed at the first sign-in.
    #[serde(default)]
    password_change_required: bool,
}

/// `POST /ops/owners` `{email, password, name?, password_change_required?}`: creates the first
/// owner of a new tenant (`scripts/admin create-owner`), and refuses (409) once the company has
/// an owner: later owners are invited by an owner. The password rules apply; audited as
/// `system`.
pub async fn create_owner(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    use crate::db::{store::D1Store, users};
    use crate::domain::audit::{Action, ActorKind, AuditEvent};
    use crate::domain::auth::account;
    use crate::domain::auth::password::check_new_password;
    use crate::error::ErrorKind;
    use crate::http::api::session::{hash_new_password, normalize_email};
    use crate::write::{self, Change};

    authorize(&req, env)?;
    let body: OwnerRequest = json_body(&mut req, MAX_JSON_BODY).await?;
    let email = account::parse_email(&normalize_email(&body.email))
        .map_err(|message| AppError::invalid_field("email", message))?;
    let name = account::parse_name(body.name.as_deref().unwrap_or("Owner"))
        .map_err(|message| AppError::invalid_field("name", message))?;
    let local = email.split('@').next().unwrap_or_default().to_owned();
    check_new_password(&body.password, &[&email, &local, &name])
        .map_err(|e| AppError::invalid_field("password", e.to_string()))?;
    let database = db::database(env)?;
    let key = crate::http::personal::index_key(env)?;
    if users::by_email(&database, &key, &email).await?.is_some() {
        return Err(AppError::new(ErrorKind::Conflict)
            .with_detail("That address already has an account.")
            .with_extension("owner_exists", crate::json!(true)));
    }
    let hash = hash_new_password(&body.password).await?.to_string();
    let id = crate::http::api::new_id()?;
    let now = crate::http::clock::now();
    let stamp = now.to_rfc3339();
    let (sealed_email, sealed_name) = account::audit_fields(&id, &email, &name);
    let change = Change::new()
        .guarded(users::insert_owner(
            &key,
            &id,
            &email,
            &name,
            &hash,
            body.password_change_required,
            &stamp,
        ))
        .audit(AuditEvent {
            at: now,
            actor_kind: ActorKind::System,
            actor_id: None,
            action: Action::UserCreated,
            entity: "user",
            entity_id: Some(id.clone()),
            before: None,
            after: Some(crate::json!({
                "email": sealed_email,
                "name": sealed_name,
                "role": "owner",
                "password_change_required": body.password_change_required,
            })),
            ip: rctx.ip.clone(),
            request_id: rctx.id.as_str().to_owned(),
        });
    write::apply(&D1Store { db: database }, change, vec![])
        .await
        .map_err(|refusal| {
            refusal.into_error(|| {
                AppError::new(ErrorKind::Conflict)
                    .with_detail(
                        "This company already has an owner: further owners are invited from the \
                         dashboard, and a locked-out sole owner is recovered (scripts/admin \
                         recover-owner), never replaced.",
                    )
                    .with_extension("owner_exists", crate::json!(true))
            })
        })?;
    respond::json(
        201,
        &crate::json!({ "id": id, "email": email, "role": "owner" }),
    )
}

/// `POST /ops/owners/recover`: a sole owner's recovery link (`scripts/admin recover-owner`).
pub async fn recover_owner(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    authorize(&req, env)?;
    let ask = json_body(&mut req, MAX_JSON_BODY).await?;
    crate::http::api::recovery::request(ask, env, rctx).await
}

/// `POST /ops/support`: an operator asks for support access (`scripts/admin support-request`).
pub async fn support_request(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
) -> AppResult<Response> {
    authorize(&req, env)?;
    let ask = json_body(&mut req, MAX_JSON_BODY).await?;
    crate::http::api::support::request(ask, env, rctx).await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct UnlockRequest {
    email: String,
}

/// `POST /ops/unlock` `{email}`: clears an address's failed sign-ins and lock, for when nobody
/// who could unlock it can sign in (the only owner locked out); `scripts/admin unlock`.
/// Audited as `system`; 404 for an address without an account.
pub async fn unlock(mut req: Request, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    use crate::db::{store::D1Store, users};
    use crate::domain::audit::{Action, ActorKind, AuditEvent};
    use crate::http::api::session::normalize_email;
    use crate::write::{self, Change};

    authorize(&req, env)?;
    let body: UnlockRequest = json_body(&mut req, MAX_JSON_BODY).await?;
    let email = normalize_email(&body.email);
    let database = db::database(env)?;
    let key = crate::http::personal::index_key(env)?;
    let user = users::by_email(&database, &key, &email)
        .await?
        .ok_or_else(|| AppError::not_found("user"))?;
    let change = Change::new()
        .then(users::clear_attempts(&users::email_subject(&key, &email)))
        .audit(AuditEvent {
            at: crate::http::clock::now(),
            actor_kind: ActorKind::System,
            actor_id: None,
            action: Action::UserUnlocked,
            entity: "user",
            entity_id: Some(user.id.clone()),
            before: None,
            after: Some(crate::json!({
                "email": crate::domain::personal::pending(
                    &crate::domain::personal::user_key(&user.id),
                    &email,
                ),
                "by": "operator",
            })),
            ip: rctx.ip.clone(),
            request_id: rctx.id.as_str().to_owned(),
        });
    write::apply(&D1Store { db: database }, change, vec![])
        .await
        .map_err(|refused| refused.into_error(|| AppError::internal("an unlock has no guard")))?;
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
