//! Visits: the scheduled appointments of a job. Booking a technician on two overlapping visits
//! is a 409 listing the conflicts unless the request says `allow_conflict: true`; the database
//! trigger makes that hold even when two schedulers race.

use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

use crate::db::jobs::{self as job_store, JobRow};
use crate::db::visits::{self as store, OverlapRow, VisitRow};
use crate::db::{self, audit::Step, last_row};
use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::time::Millis;
use crate::domain::visits::{conflicts, occurrences, ExistingVisit, Recurrence, VisitTime};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::jobs::check_assignable;
use crate::http::api::{conflict, event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, json_bytes, parse_json, MAX_JSON_BODY};
use crate::http::idempotency::{self, Plan};
use crate::http::router::Matched;
use crate::http::{respond, RequestCtx};
use crate::views::url::query_pairs;

const MAX_LIST: i64 = 500;

pub fn visit_view(row: &VisitRow) -> Value {
    let time = |ms: i64| Millis(u64::try_from(ms).unwrap_or(0)).to_rfc3339();
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
                    start: Millis(u64::try_from(r.start_ms).unwrap_or(0)),
                    end: Millis(u64::try_from(r.end_ms).unwrap_or(0)),
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
    let body: CreateBody = parse_json(&raw)?;
    let first = VisitTime::parse(&body.start, &body.end)?;
    let times = match &body.recurrence {
        Some(rule) => occurrences(&first, rule)?,
        None => vec![first],
    };
    let job_id = matched.param("id").unwrap_or_default().to_owned();
    let database = db::database(env)?;
    let job: JobRow = db::first(&database, job_store::SELECT_BY_ID, &[db::text(&job_id)])
        .await?
        .ok_or_else(|| AppError::not_found("job"))?;
    let keyed = match idempotency::plan(&req, &database, principal, &raw).await? {
        Plan::Replay { status, location } => {
            return booked(&database, status, &location).await;
        }
        Plan::Create(keyed) => keyed,
    };
    let technicians = body
        .technician_ids
        .clone()
        .unwrap_or_else(|| job.technicians());
    if body.technician_ids.is_some() {
        check_assignable(&database, &technicians).await?;
    }
    let stamp = now().to_rfc3339();
    let ids: Vec<String> = times.iter().map(|_| new_id()).collect::<AppResult<_>>()?;
    // What a keyed retry answers: the ids booked (a series has no single location).
    let booked_ids = Value::from(ids.clone()).to_string();
    let written = db::audit::write(&database, || {
        let mut steps = Vec::new();
        if let Some(k) = &keyed {
            steps.push(Step::Plain(db::idempotency::insert(
                &database,
                &k.user_id,
                &k.key,
                &k.fingerprint,
                201,
                &booked_ids,
                now().0,
            )?));
        }
        for (id, time) in ids.iter().zip(&times) {
            steps.push(Step::Plain(db::statement(
                &database,
                store::INSERT,
                &[
                    db::text(id),
                    db::text(&job_id),
                    db::int(time.start.0 as i64),
                    db::int(time.end.0 as i64),
                    db::text(&stamp),
                ],
            )?));
            let [clear, add] = store::technicians(
                &database,
                id,
                time,
                &technicians,
                body.allow_conflict,
                &stamp,
            )?;
            steps.extend([Step::Plain(clear), Step::Plain(add)]);
        }
        let created = event(
            rctx,
            Some(principal),
            "visit.created",
            "job",
            Some(&job_id),
            None,
            Some(json!({
                "visit_ids": ids,
                "visits": times.iter().map(|t| audit_view(t, &technicians)).collect::<Vec<_>>(),
                "allow_conflict": body.allow_conflict,
            })),
        );
        Ok((steps, vec![created]))
    })
    .await;
    if let Some(recorded) = idempotency::winner_of_race(&database, &written, &keyed).await? {
        return booked(&database, 201, &recorded).await;
    }
    match written {
        Err(err) if is_conflict(&err) => {
            Err(conflict_error(&database, &times, &technicians, None).await?)
        }
        Err(err) => Err(err),
        Ok(_) => booked(&database, 201, &booked_ids).await,
    }
}

/// The answer to a booking: the visits whose ids `ids` (a JSON array) names, as they are now.
async fn booked(database: &D1Database, status: u16, ids: &str) -> AppResult<Response> {
    let rows: Vec<VisitRow> = db::all(database, store::SELECT_BY_IDS, &[db::text(ids)]).await?;
    let views: Vec<Value> = rows.iter().map(visit_view).collect();
    respond::json(status, &json!({ "visits": views }))
}

/// `GET /api/v1/visits?from=&to=&technician=&job=`: by start time; technicians see their own.
pub async fn list(req: &Request, env: &Env, principal: &Principal) -> AppResult<Response> {
    let mut from = None;
    let mut to = None;
    let mut technician = None;
    let mut job = None;
    let time = |field: &str, value: &str| {
        Millis::parse_rfc3339(value).ok_or_else(|| {
            AppError::invalid_field(field, format!("{field} must be an RFC 3339 time."))
        })
    };
    for (key, value) in query_pairs(&req.inner().url()) {
        match key.as_str() {
            "from" => from = Some(time("from", &value)?),
            "to" => to = Some(time("to", &value)?),
            "technician" => technician = Some(value),
            "job" => job = Some(value),
            other => {
                return Err(AppError::bad_request(format!(
                    "Unknown query parameter {other:?}."
                )))
            }
        }
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::invalid_field(
            "from",
            "Give the range: from and to (RFC 3339).",
        ));
    };
    if to <= from || to.0 - from.0 > 62 * Millis::DAY {
        return Err(AppError::invalid_field(
            "to",
            "to must be after from, at most 62 days later.",
        ));
    }
    if principal.role == Role::Technician {
        technician = Some(principal.user.id.clone());
    }
    let rows: Vec<VisitRow> = db::all(
        &db::database(env)?,
        store::SELECT_RANGE,
        &[
            db::int(from.0 as i64),
            db::int(to.0 as i64),
            db::opt_text(technician.as_deref()),
            db::opt_text(job.as_deref()),
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
    let database = db::database(env)?;
    let current: VisitRow = db::first(&database, store::SELECT_BY_ID, &[db::text(&id)])
        .await?
        .filter(|v: &VisitRow| {
            principal.role.allows(Permission::ManageRecords)
                || v.technicians().contains(&principal.user.id)
        })
        .ok_or_else(|| AppError::not_found("visit"))?;
    if !principal.role.allows(Permission::ManageRecords) && body.technician_ids.is_some() {
        return Err(AppError::new(ErrorKind::Forbidden)
            .with_detail("Technicians may move their own visits, not change who works them."));
    }
    let old = VisitTime {
        start: Millis(u64::try_from(current.start_ms).unwrap_or(0)),
        end: Millis(u64::try_from(current.end_ms).unwrap_or(0)),
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
        check_assignable(&database, &technicians).await?;
    }
    let stamp = now().to_rfc3339();
    let written = db::audit::write(&database, || {
        let [clear, add] = store::technicians(
            &database,
            &id,
            &time,
            &technicians,
            body.allow_conflict,
            &stamp,
        )?;
        Ok((
            vec![
                Step::guarded(
                    db::statement(
                        &database,
                        store::MOVE,
                        &[
                            db::int(time.start.0 as i64),
                            db::int(time.end.0 as i64),
                            db::text(&stamp),
                            db::text(&id),
                            db::int(version),
                        ],
                    )?,
                    event(
                        rctx,
                        Some(principal),
                        "visit.updated",
                        "visit",
                        Some(&id),
                        Some(audit_view(&old, &current.technicians())),
                        Some(audit_view(&time, &technicians)),
                    ),
                ),
                Step::Plain(clear),
                Step::Plain(add),
                // The visit as the batch left it, in the same round trip.
                Step::Plain(db::statement(
                    &database,
                    store::SELECT_BY_ID,
                    &[db::text(&id)],
                )?),
            ],
            vec![],
        ))
    })
    .await;
    let results = match written {
        Err(err) if is_conflict(&err) => {
            return Err(conflict_error(&database, &[time], &technicians, Some(&id)).await?)
        }
        other => other?,
    };
    let row: VisitRow = last_row(&results)?.ok_or_else(|| AppError::not_found("visit"))?;
    if results.first().map(db::changes) != Some(1) {
        return Err(conflict(
            "The visit changed since you read it.",
            visit_view(&row),
        ));
    }
    Ok(with_etag(
        respond::json(200, &visit_view(&row))?,
        row.version,
    ))
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
    let database = db::database(env)?;
    let current: VisitRow = db::first(&database, store::SELECT_BY_ID, &[db::text(&id)])
        .await?
        .ok_or_else(|| AppError::not_found("visit"))?;
    let results = db::audit::write(&database, || {
        Ok((
            vec![
                Step::Plain(db::statement(
                    &database,
                    store::DELETE_TECHNICIANS,
                    &[db::text(&id), db::int(version)],
                )?),
                Step::guarded(
                    db::statement(&database, store::DELETE, &[db::text(&id), db::int(version)])?,
                    event(
                        rctx,
                        Some(principal),
                        "visit.deleted",
                        "visit",
                        Some(&id),
                        Some(visit_view(&current)),
                        None,
                    ),
                ),
            ],
            vec![],
        ))
    })
    .await?;
    if results.last().map(db::changes) != Some(1) {
        return Err(conflict(
            "The visit changed since you read it.",
            visit_view(&current),
        ));
    }
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}
