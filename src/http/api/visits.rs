//! Visits: the scheduled appointments of a job. Booking a technician on two overlapping visits
//! is a 409 listing the conflicts unless the request says `allow_conflict: true`; the database
//! trigger makes that hold even when two schedulers race.

use crate::json;
use serde::Deserialize;
use serde_json::Value;
use worker::{D1Database, Env, Request, Response};

use crate::db;
use crate::db::settings;
use crate::db::store::D1Store;
use crate::db::visits::{self as store, OverlapRow, VisitRow};
use crate::domain::audit::Action;
use crate::domain::audit::AuditEvent;
use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::dispatch::{
    follows, may_move_visit, offers_completion, Follow, VisitEvent, VisitStatus,
};
use crate::domain::jobs::JobStatus;
use crate::domain::time::Millis;
use crate::domain::visits::{conflicts, occurrences, ExistingVisit, Recurrence, VisitTime};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::jobs::{check_assignable, JobEntity};
use crate::http::api::settings::SettingsEntity;
use crate::http::api::{event, if_match, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, json_bytes, parse_json, MAX_JSON_BODY};
use crate::http::idempotency;
use crate::http::query::{Required, Time};
use crate::http::router::Matched;
use crate::http::zone::Zone;
use crate::http::{prefetch, respond, RequestCtx};
use crate::sql;
use crate::write::{self, Change, Entity, Refusal, Results, Sql, Store};

const MAX_LIST: i64 = 500;

pub fn visit_view(row: &VisitRow) -> Value {
    let time = |ms: i64| Millis::from_ms(ms).to_rfc3339();
    let mut view = json!({
        "id": row.id,
        "job_id": row.job_id,
        "start": time(row.start_ms),
        "end": time(row.end_ms),
        "status": row.status,
        "technician_ids": row.technicians(),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    });
    if let (Some(number), Some(title)) = (row.job_number, &row.job_title) {
        view["job"] = json!({ "number": number, "title": title, "status": row.job_status });
    }
    if let Some(name) = &row.customer_name {
        view["customer"] = json!({ "name": name, "phone": row.customer_phone });
        view["site"] =
            json!({ "address": row.site_address, "access_notes": row.site_access_notes });
    }
    let statuses = (
        VisitStatus::parse(&row.status),
        row.job_status.as_deref().and_then(JobStatus::parse),
        row.other_open,
    );
    if let (Some(visit), Some(job), Some(other_open)) = statuses {
        view["offer_job_completion"] = json!(offers_completion(visit, job, other_open));
    }
    view
}

/// The statements that make a job follow `event` on visit `visit_id`: each move written (and
/// audited) only if its condition holds when the batch runs.
fn follow_job(
    change: Change,
    rctx: &RequestCtx,
    principal: &Principal,
    job_id: &str,
    visit_id: &str,
    job_status: Option<&str>,
    event: VisitEvent,
) -> Change {
    let Some(status) = job_status.and_then(JobStatus::parse) else {
        return change;
    };
    let stamp = now().to_rfc3339();
    follows(status, event)
        .iter()
        .fold(change, |change, follow| {
            change.then_audited(
                db::jobs::follow(job_id, visit_id, follow, &stamp),
                event_follow(rctx, principal, job_id, visit_id, follow),
            )
        })
}

fn event_follow(
    rctx: &RequestCtx,
    principal: &Principal,
    job_id: &str,
    visit_id: &str,
    follow: &Follow,
) -> AuditEvent {
    event(
        rctx,
        Some(principal),
        Action::JobStatusChanged,
        "job",
        Some(job_id),
        Some(json!({ "status": follow.from.as_str() })),
        Some(json!({ "status": follow.to.as_str(), "following_visit": visit_id })),
    )
}

fn audit_view(time: &VisitTime, technicians: &[String]) -> Value {
    json!({ "start": time.start.to_rfc3339(), "end": time.end.to_rfc3339(), "technician_ids": technicians })
}

/// The 409 for a booking that would double-book, with the visits in the way.
async fn conflict_error(
    database: &D1Database,
    times: &[VisitTime],
    technicians: &[String],
    ignore: Option<&str>,
) -> AppResult<AppError> {
    let list = Value::from(technicians.to_vec()).to_string();
    let mut found = Vec::new();
    for time in times {
        let rows: Vec<OverlapRow> = db::all(
            database,
            store::SELECT_OVERLAPPING,
            &[
                db::text(&list),
                db::int(time.start.0 as i64),
                db::int(time.end.0 as i64),
                db::text(ignore.unwrap_or("")),
            ],
        )
        .await?;
        let existing: Vec<ExistingVisit> = rows
            .iter()
            .map(|r| ExistingVisit {
                id: r.id.clone(),
                technician_ids: serde_json::from_str(&r.technician_ids).unwrap_or_default(),
                time: VisitTime {
                    start: Millis::from_ms(r.start_ms),
                    end: Millis::from_ms(r.end_ms),
                },
            })
            .collect();
        found.extend(conflicts(time, technicians, &existing, ignore));
    }
    Ok(AppError::new(ErrorKind::Conflict)
        .with_detail("A technician is already booked then. Send allow_conflict: true to double-book on purpose.")
        .with_extension("conflicts", json!(found)))
}

fn is_conflict(err: &AppError) -> bool {
    err.cause
        .as_deref()
        .is_some_and(|c| c.contains("visit_conflict"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    start: String,
    end: String,
    #[serde(default)]
    technician_ids: Option<Vec<String>>,
    #[serde(default)]
    allow_conflict: bool,
    #[serde(default)]
    recurrence: Option<Recurrence>,
    /// The job's version as the booker read it: of two bookings made on it, one is a 409.
    #[serde(default)]
    job_version: Option<i64>,
}

/// What booking visits reads: the job, and the company settings for the zone a series is
/// expanded in (its wall-clock time).
pub fn create_reads(job_id: &str) -> Vec<Sql> {
    let mut reads = JobEntity::load(job_id);
    reads.push(settings::load());
    reads
}

/// `POST /api/v1/jobs/{id}/visits` `{start, end, technician_ids?, allow_conflict?, recurrence?}`:
/// one visit, or the whole series of a recurring job, in one batch. Without technicians, the
/// job's. Honours `Idempotency-Key`: a retry answers the visits the first request booked.
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let raw = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let keyed = idempotency::keyed(&req, principal, &raw)?;
    let body: CreateBody = parse_json(&raw)?;
    let first = VisitTime::parse(&body.start, &body.end)?;
    let job_id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    let reads = create_reads(&job_id);
    let settings_at = reads.len() - 1;
    let results = prefetch::read(&store, &rctx.ahead, reads).await?;
    let times = match &body.recurrence {
        Some(rule) => {
            let zone = SettingsEntity::parse(&results, settings_at)?
                .map_or_else(|| Zone("UTC".to_owned()), |s| Zone(s.time_zone));
            occurrences(&first, rule, |at| zone.offset_minutes(at))?
        }
        None => vec![first],
    };
    let job = JobEntity::parse(&results, 0)?.ok_or_else(|| AppError::not_found("job"))?;
    let technicians = body
        .technician_ids
        .clone()
        .unwrap_or_else(|| job.technicians());
    if body.technician_ids.is_some() {
        check_assignable(&store.db, &technicians).await?;
    }
    let stamp = now().to_rfc3339();
    let ids: Vec<String> = times.iter().map(|_| new_id()).collect::<AppResult<_>>()?;
    // What a keyed retry answers: the ids booked (a series has no single location).
    let booked_ids = Value::from(ids.clone()).to_string();
    let mut change = Change::new();
    // Booking on the job's version: the job moves on (scheduled if it was requested) as the
    // guard, so a second booking on the same version is refused whole.
    let follow = JobStatus::parse(&job.status).map(|status| follows(status, VisitEvent::Booked));
    let first_id = ids.first().cloned().unwrap_or_default();
    if let Some(expected) = body.job_version {
        if job.version != expected {
            return Err(write::conflict::<JobEntity>(&job));
        }
        change = match follow.as_deref() {
            Some([step, ..]) => change
                .guarded(db::jobs::set_status(
                    &job_id,
                    expected,
                    step.from.as_str(),
                    step.to.as_str(),
                    &stamp,
                ))
                .audit(event_follow(rctx, principal, &job_id, &first_id, step)),
            _ => change.guarded(db::jobs::touch(&job_id, expected, &stamp)),
        };
    }
    for (id, time) in ids.iter().zip(&times) {
        change = change
            .then(store::insert(id, &job_id, time, &stamp))
            .then_all(store::technicians(
                id,
                time,
                &technicians,
                body.allow_conflict,
                &stamp,
            ));
    }
    if let Some(k) = &keyed {
        change = change.first(write::sql::remember_key(
            k,
            201,
            &booked_ids,
            now().0 as i64,
        ));
    }
    if body.job_version.is_none() {
        change = follow_job(
            change,
            rctx,
            principal,
            &job_id,
            &first_id,
            Some(&job.status),
            VisitEvent::Booked,
        );
    }
    let change = change.audit(event(
        rctx,
        Some(principal),
        Action::VisitCreated,
        "job",
        Some(&job_id),
        None,
        Some(json!({
            "visit_ids": ids,
            "visits": times.iter().map(|t| audit_view(t, &technicians)).collect::<Vec<_>>(),
            "allow_conflict": body.allow_conflict,
        })),
    ));
    match write::apply(
        &store,
        change,
        vec![sql!(store::SELECT_BY_IDS, booked_ids.as_str())],
    )
    .await
    {
        Ok(written) => booked(201, &written.results.rows(written.reads_from)?),
        Err(Refusal::RepeatedKey) => {
            let (status, recorded) = write::recall_repeated(&store, keyed.as_ref()).await?;
            let rows = store
                .batch(vec![sql!(store::SELECT_BY_IDS, recorded.as_str())])
                .await
                .map_err(AppError::internal)?
                .rows(0)?;
            booked(status, &rows)
        }
        Err(Refusal::Store(message)) if message.contains("visit_conflict") => {
            Err(conflict_error(&store.db, &times, &technicians, None).await?)
        }
        // Only a booking on the job's version has a guard: the job moved on since.
        Err(Refusal::Guard) => {
            Err(write::refused::<_, JobEntity>(&store, &job_id, Refusal::Guard).await)
        }
        Err(other) => Err(other.into_error(|| AppError::not_found("job"))),
    }
}

/// The answer to a booking: the visits booked, as they are now.
fn booked(status: u16, rows: &[VisitRow]) -> AppResult<Response> {
    let views: Vec<Value> = rows.iter().map(visit_view).collect();
    respond::json(status, &json!({ "visits": views }))
}

crate::query! {
    /// `GET /api/v1/visits`'s range and filters.
    pub struct VisitsQuery {
        /// The start of the range.
        from: Required<Time>,
        /// The end of the range: after `from`, at most 62 days later.
        to: Required<Time>,
        /// Only this user's visits (technicians always see their own).
        technician: Option<String>,
        /// Only this job's visits.
        job: Option<String>,
    }
}

/// `GET /api/v1/visits`: by start time; technicians see their own.
pub async fn list(query: VisitsQuery, env: &Env, principal: &Principal) -> AppResult<Response> {
    let (from, to) = (query.from.get()?.0, query.to.get()?.0);
    if to <= from || to.0 - from.0 > 62 * Millis::DAY {
        return Err(AppError::invalid_field(
            "to",
            "to must be after from, at most 62 days later.",
        ));
    }
    let technician = match principal.role {
        Role::Technician => Some(principal.user.id.clone()),
        _ => query.technician,
    };
    let rows: Vec<VisitRow> = db::all(
        &db::database(env)?,
        store::SELECT_RANGE,
        &[
            db::int(from.0 as i64),
            db::int(to.0 as i64),
            db::opt_text(technician.as_deref()),
            db::opt_text(query.job.as_deref()),
            db::int(MAX_LIST),
        ],
    )
    .await?;
    respond::json(
        200,
        &json!({ "visits": rows.iter().map(visit_view).collect::<Vec<_>>() }),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    start: Option<String>,
    end: Option<String>,
    technician_ids: Option<Vec<String>>,
    #[serde(default)]
    allow_conflict: bool,
}

crate::row_entity!(
    /// A visit, as the engine reads and writes it.
    VisitEntity,
    VisitRow,
    "visit",
    "/api/v1/visits",
    |id| sql!(store::SELECT_BY_ID, id),
    visit_view,
);

/// `PATCH /api/v1/visits/{id}` with `If-Match`: move it, or change who works it. Technicians
/// may move the visits they work, and nothing else.
pub async fn update(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let body: MoveBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<VisitEntity>(&store, &rctx.ahead, &id).await?;
    if !principal.role.allows(Permission::ManageRecords)
        && !current.technicians().contains(&principal.user.id)
    {
        return Err(AppError::not_found("visit"));
    }
    if !principal.role.allows(Permission::ManageRecords) && body.technician_ids.is_some() {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("Technicians may move their own visits, not change who works them."));
    }
    let old = VisitTime {
        start: Millis::from_ms(current.start_ms),
        end: Millis::from_ms(current.end_ms),
    };
    let time = VisitTime::parse(
        body.start.as_deref().unwrap_or(&old.start.to_rfc3339()),
        body.end.as_deref().unwrap_or(&old.end.to_rfc3339()),
    )?;
    let technicians = body
        .technician_ids
        .clone()
        .unwrap_or_else(|| current.technicians());
    if body.technician_ids.is_some() {
        check_assignable(&store.db, &technicians).await?;
    }
    let written = write::update_loaded::<_, VisitEntity>(&store, &id, current, version, |visit| {
        let stamp = now().to_rfc3339();
        Ok(Change::new()
            .guarded(store::move_to(&id, version, &time, &stamp))
            .then_all(store::technicians(
                &id,
                &time,
                &technicians,
                body.allow_conflict,
                &stamp,
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::VisitUpdated,
                "visit",
                Some(&id),
                Some(audit_view(&old, &visit.technicians())),
                Some(audit_view(&time, &technicians)),
            )))
    })
    .await;
    match written {
        Err(err) if is_conflict(&err) => {
            Err(conflict_error(&store.db, &[time], &technicians, Some(&id)).await?)
        }
        other => respond::record::<VisitEntity>(200, &other?),
    }
}

/// `DELETE /api/v1/visits/{id}` with `If-Match`: takes it off the calendar (the audit trail
/// keeps what it was).
pub async fn delete(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<VisitEntity>(&store, &rctx.ahead, &id).await?;
    if current.version != version {
        return Err(write::conflict::<VisitEntity>(&current));
    }
    let [technicians, visit] = store::delete(&id, version);
    let change = Change::new().then(technicians).guarded(visit).audit(event(
        rctx,
        Some(principal),
        Action::VisitDeleted,
        "visit",
        Some(&id),
        Some(visit_view(&current)),
        None,
    ));
    // A deleted visit that was still open may leave its job with nothing booked.
    let open = VisitStatus::parse(&current.status).is_some_and(VisitStatus::is_open);
    let change = match open {
        true => follow_job(
            change,
            rctx,
            principal,
            &current.job_id,
            &id,
            current.job_status.as_deref(),
            VisitEvent::Deleted,
        ),
        false => change,
    };
    match write::apply(&store, change, vec![]).await {
        Ok(_) => Ok(worker::ResponseBuilder::new().with_status(204).empty()),
        Err(Refusal::Guard) => match write::load::<_, VisitEntity>(&store, &id).await {
            Ok(now) => Err(write::conflict::<VisitEntity>(&now)),
            Err(gone) => Err(gone),
        },
        Err(other) => Err(other.into_error(|| AppError::not_found("visit"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

/// `POST /api/v1/visits/{id}/status` `{status}` with `If-Match`: the visit's status machine
/// (en route, in progress, completed, cancelled, back to scheduled), by a manager or one of
/// the visit's technicians; its job follows in the same batch (see `domain::dispatch`). The
/// answer is the visit with its job's status and `offer_job_completion`.
pub async fn set_status(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let body: StatusBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let to = VisitStatus::parse(&body.status).ok_or_else(|| {
        AppError::invalid_field(
            "status",
            "One of scheduled, en_route, in_progress, completed, cancelled.",
        )
    })?;
    let manages = principal.role.allows(Permission::ManageRecords);
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<VisitEntity>(&store, &rctx.ahead, &id).await?;
    if !manages && !current.technicians().contains(&principal.user.id) {
        return Err(AppError::not_found("visit"));
    }
    may_move_visit(to, manages)?;
    let time = VisitTime {
        start: Millis::from_ms(current.start_ms),
        end: Millis::from_ms(current.end_ms),
    };
    let technicians = current.technicians();
    let written = write::update_loaded::<_, VisitEntity>(&store, &id, current, version, |visit| {
        let from = VisitStatus::parse(&visit.status)
            .ok_or_else(|| AppError::internal(format!("visit {id} has status {}", visit.status)))?;
        from.transition(to)?;
        let stamp = now().to_rfc3339();
        let mut change = Change::new()
            .guarded(store::set_status(
                &id,
                version,
                from.as_str(),
                to.as_str(),
                &stamp,
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::VisitStatusChanged,
                "visit",
                Some(&id),
                Some(json!({ "status": from.as_str() })),
                Some(json!({ "status": to.as_str(), "job_id": visit.job_id })),
            ));
        // Back on the calendar: its technicians' time is checked again, as for a booking.
        if from == VisitStatus::Cancelled {
            change = change.then_all(store::technicians(&id, &time, &technicians, false, &stamp));
        }
        Ok(follow_job(
            change,
            rctx,
            principal,
            &visit.job_id,
            &id,
            visit.job_status.as_deref(),
            VisitEvent::Became(to),
        ))
    })
    .await;
    match written {
        Err(err) if is_conflict(&err) => {
            Err(conflict_error(&store.db, &[time], &technicians, Some(&id)).await?)
        }
        other => respond::record::<VisitEntity>(200, &other?),
    }
}
