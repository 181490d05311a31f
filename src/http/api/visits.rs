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
use crate::domain::auth::permissions::{Permission, Role};
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
        "technician_ids": row.technicians(),
        "version": row.version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    });
    if let (Some(number), Some(title)) = (row.job_number, &row.job_title) {
        view["job"] = json!({ "number": number, "title": title });
    }
    view
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
    match write::apply(&store, change, vec![]).await {
        Ok(_) => Ok(worker::ResponseBuilder::new().with_status(204).empty()),
        Err(Refusal::Guard) => match write::load::<_, VisitEntity>(&store, &id).await {
            Ok(now) => Err(write::conflict::<VisitEntity>(&now)),
            Err(gone) => Err(gone),
        },
        Err(other) => Err(other.into_error(|| AppError::not_found("visit"))),
    }
}
