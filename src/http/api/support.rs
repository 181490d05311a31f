//! Support access: the operator's request (`POST /ops/support`), the owners' decision and
//! their "end it now" (`/api/v1/support-sessions…`), the single-use link that starts a session
//! (`/support/{token}`), the record of every action a session takes, and its end at the
//! deadline (found by the next request, the dashboard, or the cron sweep).

use serde::Deserialize;
use serde_json::Value;
use worker::{console_error, Env, Request, Response};

use crate::db::store::D1Store;
use crate::db::support::{self as store, SupportRow};
use crate::db::{self, settings::Settings};
use crate::domain::audit::{Action, ActorKind, AuditEvent, SealKey};
use crate::domain::auth::session::{session_cookie, SessionRecord};
use crate::domain::notices::Notice;
use crate::domain::personal::pending;
use crate::domain::support::{self, Kind, Status};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::notifications::tell_owners;
use crate::http::api::{event, if_match, new_id, now, secure_cookies, with_etag};
use crate::http::auth::{store_session, Principal, Support};
use crate::http::router::Matched;
use crate::http::{clock, crypto, prefetch, respond, RequestCtx};
use crate::json;
use crate::views::support::{link_page, link_refused, session_view, session_view_at};
use crate::write::{self, Change, Entity, Results, Store};

crate::row_entity!(
    /// A support session, as the engine reads and writes it.
    SupportEntity,
    SupportRow,
    "support_session",
    "/api/v1/support-sessions",
    store::by_id,
    session_view,
);

/// What the operator asks for.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ask {
    person_name: String,
    person_email: String,
    reason: String,
    ticket: String,
    #[serde(default)]
    scope: Vec<String>,
    duration_minutes: i64,
}

fn system_event(
    rctx: &RequestCtx,
    action: Action,
    id: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> AuditEvent {
    AuditEvent {
        at: clock::now(),
        actor_kind: ActorKind::System,
        actor_id: None,
        action,
        entity: SupportEntity::NAME,
        entity_id: Some(id.to_owned()),
        before,
        after,
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    }
}

fn scope_names(scope: &[Kind]) -> Vec<&'static str> {
    scope.iter().map(|k| k.as_str()).collect()
}

/// `POST /ops/support` (the operator token, checked by `ops`): records the request and tells
/// every owner. A read-only request is approved at once when the company pre-approves those,
/// and its sign-in link goes out.
pub async fn request(ask: Ask, env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    let ask = support::request(
        &ask.person_name,
        &ask.person_email,
        &ask.reason,
        &ask.ticket,
        &ask.scope,
        ask.duration_minutes,
    )
    .map_err(|invalid| AppError::invalid_field(invalid.field, invalid.message))?;
    let d1 = D1Store::from_env(env)?;
    let preapproves = d1
        .batch(vec![crate::sql!(store::SELECT_PREAPPROVE)])
        .await
        .map_err(|e| AppError::internal(format!("support setting: {e}")))?
        .rows::<store::Preapprove>(0)?
        .first()
        .is_some_and(|s| s.preapprove == 1);
    let preapproved = ask.read_only() && preapproves;
    let id = new_id()?;
    let now = now();
    let link = preapproved.then(|| link_expiry(now));
    let notice = Notice::SupportRequested {
        session_id: id.clone(),
        person: format!("{} <{}>", ask.person_name, ask.person_email),
        reason: ask.reason.clone(),
        ticket: ask.ticket.clone(),
        scope: scope_names(&ask.scope),
        minutes: ask.duration_minutes,
        preapproved,
    };
    let mut change = Change::new()
        .guarded(store::insert(&id, &ask, now, link))
        .then(tell_owners(rctx, &notice, None))
        .audit(system_event(
            rctx,
            Action::SupportRequested,
            &id,
            None,
            Some(json!({
                "person_name": pending(&support::person_key(&id), &ask.person_name),
                "person_email": pending(&support::person_key(&id), &ask.person_email),
                "reason": pending(&support::person_key(&id), &ask.reason), "ticket": ask.ticket, "scope": scope_names(&ask.scope),
                "duration_minutes": ask.duration_minutes,
            })),
        ));
    if preapproved {
        change = change
            .then(store::queue_link(&new_id()?, &id, &ask.person_email, now))
            .audit(system_event(
                rctx,
                Action::SupportApproved,
                &id,
                None,
                Some(json!({ "by": "preapproved", "link_expires_at": link })),
            ));
    }
    let created = write::create::<_, SupportEntity>(
        &d1,
        &id,
        None,
        change,
        || AppError::internal("a support request insert has no condition to fail"),
        now.0 as i64,
    )
    .await?;
    respond::created::<SupportEntity>(&created)
}

fn link_expiry(now: Millis) -> i64 {
    now.0 as i64 + (support::LINK_MINUTES * Millis::MINUTE) as i64
}

/// `GET /api/v1/support-sessions`: every request, newest first, as of now.
pub async fn list(env: &Env, rctx: &RequestCtx) -> AppResult<Response> {
    let d1 = D1Store::from_env(env)?;
    let reads = vec![crate::sql!(store::SELECT_RECENT)];
    let rows = prefetch::read(&d1, &rctx.ahead, reads)
        .await?
        .rows::<SupportRow>(0)?;
    let now = now();
    let sessions: Vec<Value> = rows.iter().map(|r| session_view_at(r, now)).collect();
    respond::json(200, &json!({ "support_sessions": sessions }))
}

/// What an owner does to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Refuse,
    End,
}

/// `POST /api/v1/support-sessions/{id}/{approve,refuse,end}` with `If-Match`: an owner's
/// decision on a request, or the end of a session (or of a request or unused link) at once.
pub async fn decide(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
    decision: Decision,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = matched.param("id").unwrap_or_default().to_owned();
    let d1 = D1Store::from_env(env)?;
    let now = now();
    let owner = principal.user.id.clone();
    let current = prefetch::load::<SupportEntity>(&d1, &rctx.ahead, &id).await?;
    let row = write::update_loaded::<_, SupportEntity>(&d1, &id, current, version, |current| {
        let status = support::status_at(&current.status, current.ends_at, now);
        let person = format!("{} <{}>", current.person_name, current.person_email);
        let before = Some(json!({ "status": current.status }));
        match decision {
            Decision::Approve | Decision::Refuse => {
                if status != Some(Status::Requested) {
                    return Err(AppError::new(ErrorKind::Conflict)
                        .with_detail(format!("This request was already {}.", current.status)));
                }
                let approve = decision == Decision::Approve;
                let link = link_expiry(now);
                let mut change = Change::new()
                    .guarded(store::decide(&id, version, approve, &owner, now, link))
                    .audit(event(
                        rctx,
                        Some(principal),
                        if approve {
                            Action::SupportApproved
                        } else {
                            Action::SupportRefused
                        },
                        SupportEntity::NAME,
                        Some(&id),
                        before,
                        Some(json!({
                            "status": if approve { "approved" } else { "refused" },
                            "link_expires_at": approve.then_some(link),
                        })),
                    ));
                if approve {
                    change = change.then(store::queue_link(
                        &new_id()?,
                        &id,
                        &current.person_email,
                        now,
                    ));
                    crate::http::outbox::queued();
                }
                Ok(change)
            }
            Decision::End => {
                if !matches!(
                    status,
                    Some(Status::Requested | Status::Approved | Status::Active)
                ) {
                    return Err(AppError::new(ErrorKind::Conflict)
                        .with_detail("This support session has already ended."));
                }
                Ok(Change::new()
                    .guarded(store::end(&id, version, &owner, now))
                    .then(tell_owners(
                        rctx,
                        &Notice::SupportEnded {
                            session_id: id.clone(),
                            person,
                            by: owner.clone(),
                        },
                        None,
                    ))
                    .audit(event(
                        rctx,
                        Some(principal),
                        Action::SupportEnded,
                        SupportEntity::NAME,
                        Some(&id),
                        before,
                        Some(json!({ "status": "ended", "by": owner })),
                    )))
            }
        }
    })
    .await?;
    Ok(with_etag(
        respond::json(200, &session_view_at(&row, now))?,
        row.version,
    ))
}

/// The support person signs out: the session ends for good (the link was single-use).
pub async fn end_own(env: &Env, rctx: &RequestCtx, grant: &Support) -> AppResult<()> {
    let d1 = D1Store::from_env(env)?;
    let row = write::load::<_, SupportEntity>(&d1, &grant.session_id).await?;
    let change = Change::new()
        .guarded(store::end(&row.id, row.version, "support", now()))
        .then(tell_owners(
            rctx,
            &Notice::SupportEnded {
                session_id: row.id.clone(),
                person: format!("{} <{}>", row.person_name, row.person_email),
                by: "support".into(),
            },
            None,
        ))
        .audit(support_event(
            rctx,
            grant,
            Action::SupportEnded,
            json!({ "status": "ended", "by": "support" }),
        ));
    match write::apply(&d1, change, vec![]).await {
        Ok(_) | Err(write::Refusal::Guard) => Ok(()),
        Err(other) => Err(other.into_error(|| AppError::internal("support end"))),
    }
}

fn support_event(rctx: &RequestCtx, grant: &Support, action: Action, after: Value) -> AuditEvent {
    AuditEvent {
        at: clock::now(),
        actor_kind: ActorKind::Support,
        actor_id: Some(grant.session_id.clone()),
        action,
        entity: SupportEntity::NAME,
        entity_id: Some(grant.session_id.clone()),
        before: None,
        after: Some(after),
        ip: rctx.ip.clone(),
        request_id: rctx.id.as_str().to_owned(),
    }
}

/// Records one request of a support session (reads included) before it runs; a refused one
/// with why. Failing to record refuses the request: nothing support does goes unrecorded.
pub async fn record_action(
    env: &Env,
    rctx: &RequestCtx,
    grant: &Support,
    method: &str,
    path: &str,
    refused: Option<&str>,
) -> AppResult<()> {
    let event = support_event(
        rctx,
        grant,
        Action::SupportAction,
        json!({
            "method": method,
            "path": path,
            "person": pending(&support::person_key(&grant.session_id), &grant.person_email),
            "refused": refused,
        }),
    );
    write::apply(&D1Store::from_env(env)?, Change::new().audit(event), vec![])
        .await
        .map(drop)
        .map_err(|refusal| refusal.into_error(|| AppError::internal("support action record")))
}

/// Writes down that `row`'s session reached its deadline (once, whoever finds it first) and
/// tells the owners. Failures are logged: the deadline holds whether or not it is written.
pub async fn end_at_deadline(d1: &D1Store, row: &SupportRow, now: Millis) {
    let Some(ends_at) = row.ends_at else { return };
    let event = AuditEvent::by_system(
        Millis::from_ms(ends_at),
        Action::SupportEnded,
        SupportEntity::NAME,
        Some(&row.id),
        Some(json!({ "status": "active" })),
        Some(json!({ "status": "ended", "by": "deadline" })),
        &format!("support-deadline-{}", row.id),
    );
    let notice = Notice::SupportEnded {
        session_id: row.id.clone(),
        person: format!("{} <{}>", row.person_name, row.person_email),
        by: "deadline".into(),
    };
    crate::http::outbox::queued();
    let change = Change::new()
        .guarded(store::end_at_deadline(&row.id, now))
        .then(crate::db::notifications::notify_owners(
            &notice, None, &row.id, now,
        ))
        .audit(event);
    match write::apply(d1, change, vec![]).await {
        Ok(_) | Err(write::Refusal::Guard) => {}
        Err(other) => console_error!("support deadline {}: {other:?}", row.id),
    }
}

/// The cron's part: sessions past their deadline that nobody has touched since.
pub async fn sweep(env: &Env) -> AppResult<usize> {
    let d1 = D1Store::from_env(env)?;
    let now = clock::now();
    let rows = d1
        .batch(vec![crate::sql!(store::SELECT_OVERDUE, now.0 as i64)])
        .await
        .map_err(|e| AppError::internal(format!("overdue support sessions: {e}")))?
        .rows::<SupportRow>(0)?;
    for row in &rows {
        end_at_deadline(&d1, row, now).await;
    }
    Ok(rows.len())
}

fn link_key(env: &Env) -> AppResult<SealKey> {
    crate::http::messages::key(env)
}

/// The session a link names, if the link is genuine (made for this session and expiry).
async fn linked(env: &Env, token: &str) -> AppResult<Option<SupportRow>> {
    let Some(id) = support::link_id(token) else {
        return Ok(None);
    };
    let row = D1Store::from_env(env)?
        .batch(vec![store::by_id(id)])
        .await
        .map_err(|e| AppError::internal(format!("support link: {e}")))?
        .rows::<SupportRow>(0)?
        .into_iter()
        .next();
    let key = link_key(env)?;
    Ok(row.filter(|row| {
        row.link_expires_at
            .is_some_and(|expires| support::link_matches(&key, token, &row.id, expires))
    }))
}

const LINK_USED: &str = "This support link was already used, has expired, or its request was \
    ended. Ask the company's owner for a new approval.";

/// `GET /support/{token}`: the page that starts the session on a button press.
pub async fn link(env: &Env, matched: &Matched) -> AppResult<Response> {
    let token = matched.param("token").unwrap_or_default();
    let usable = linked(env, token).await?.filter(|row| {
        row.status == "approved" && row.link_expires_at.is_some_and(|at| at > now().0 as i64)
    });
    let Some(row) = usable else {
        return crate::http::pages::html(410, link_refused(LINK_USED));
    };
    let settings = company(env).await?;
    crate::http::pages::html(200, link_page(&settings.name, &row, token))
}

async fn company(env: &Env) -> AppResult<Settings> {
    let database = db::database(env)?;
    crate::db::settings::get(&database)
        .await?
        .ok_or_else(|| AppError::internal("the company has no settings row"))
}

/// `POST /support/{token}`: starts the session (once, before the link expires), tells the
/// owners, and signs the support person in with a session cookie of its own kind.
pub async fn start(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    matched: &Matched,
) -> AppResult<Response> {
    let token = matched.param("token").unwrap_or_default();
    let Some(row) = linked(env, token).await? else {
        return crate::http::pages::html(410, link_refused(LINK_USED));
    };
    let now = now();
    let grant = Support {
        session_id: row.id.clone(),
        person_name: row.person_name.clone(),
        person_email: row.person_email.clone(),
        scope: support::parse_scope(&row.scope),
        ends_at: support::deadline(now, row.duration_minutes),
    };
    let change = Change::new()
        .guarded(store::start(&row.id, now))
        .then(tell_owners(
            rctx,
            &Notice::SupportStarted {
                session_id: row.id.clone(),
                person: format!("{} <{}>", row.person_name, row.person_email),
                ends_at: grant.ends_at,
            },
            None,
        ))
        .audit(support_event(
            rctx,
            &grant,
            Action::SupportStarted,
            json!({ "status": "active",
                    "person_name": pending(&support::person_key(&row.id), &row.person_name),
                    "person_email": pending(&support::person_key(&row.id), &row.person_email),
                    "ends_at": grant.ends_at }),
        ));
    match write::apply(&D1Store::from_env(env)?, change, vec![]).await {
        Ok(_) => {}
        Err(write::Refusal::Guard) => {
            return crate::http::pages::html(410, link_refused(LINK_USED))
        }
        Err(other) => return Err(other.into_error(|| AppError::internal("support start"))),
    }
    let session_id = crypto::random_string(43)?;
    let record = SessionRecord {
        user_id: String::new(),
        epoch: 0,
        created_ms: now.0,
        last_seen_ms: now.0,
        csrf: crypto::random_string(32)?,
        support: Some(row.id.clone()),
    };
    store_session(env, &session_id, &record, now).await?;
    let response = worker::ResponseBuilder::new().with_status(303).empty();
    let _ = response.headers().set("Location", "/schedule");
    let _ = response.headers().append(
        "Set-Cookie",
        &session_cookie(&session_id, secure_cookies(req, env)),
    );
    Ok(response)
}

/// The sign-in link's email, rendered when the outbox sends it: the link is made from the
/// key now (nothing secret waited in the outbox), for the session's current expiry.
pub async fn link_mail(env: &Env, session_id: &str) -> AppResult<Option<LinkMail>> {
    let d1 = D1Store::from_env(env)?;
    let row = d1
        .batch(vec![store::by_id(session_id)])
        .await
        .map_err(|e| AppError::internal(format!("support link mail: {e}")))?
        .rows::<SupportRow>(0)?
        .into_iter()
        .next();
    let Some(row) = row.filter(|r| r.status == "approved") else {
        return Ok(None);
    };
    let Some(expires) = row.link_expires_at else {
        return Ok(None);
    };
    let public = crate::services::setting(env, "PUBLIC_URL")
        .ok_or_else(|| AppError::internal("PUBLIC_URL is not set: the link would lead nowhere"))?;
    let token = support::link_token(&link_key(env)?, &row.id, expires);
    let link = format!("{}/support/{token}", public.trim_end_matches('/'));
    let settings = company(env).await?;
    let (subject, text, html) = crate::views::support::link_email(
        &settings.name,
        &row,
        &link,
        &Millis::from_ms(expires).to_rfc3339(),
    );
    Ok(Some(LinkMail {
        company: settings.name,
        subject,
        text,
        html,
    }))
}

/// The sign-in link's email, ready to send.
pub struct LinkMail {
    pub company: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}
