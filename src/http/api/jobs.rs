//! Jobs: created and assigned by owners and dispatchers; worked by technicians, who see only
//! the jobs assigned to them and change only their status, notes and the work and parts used.

use crate::json;
use serde::Deserialize;
use serde_json::Value;
use worker::{D1Database, Env, Request, Response};

use crate::db::jobs::{
    self as store, IdRow, JobRow, NextVisitRow, NoteRow, PageRow, PlaceRow, WorkerRow,
};
use crate::db::{self, store::D1Store};
use crate::domain::audit::Action;
use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::cursor;
use crate::domain::jobs::{
    parse_note, technician_may_change, Job, JobChanges, JobStatus, Priority,
};
use crate::domain::personal::{customer_key, pending};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::api::{event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, json_bytes, parse_json, MAX_JSON_BODY};
use crate::http::idempotency;
use crate::http::prefetch;
use crate::http::query::{Cursor, Limit, Positive, Time};
use crate::http::router::Matched;
use crate::http::{respond, RequestCtx};
use crate::sql;
use crate::views::audit::timeline_entry;
use crate::views::jobs::{job_audit, job_view, note_view};
use crate::write::{self, Change, Entity, Results, Sql};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

fn is_technician(principal: &Principal) -> bool {
    principal.role == Role::Technician
}

crate::row_entity!(
    /// A job, as the engine reads and writes it.
    JobEntity,
    JobRow,
    "job",
    "/api/v1/jobs",
    |id| sql!(store::SELECT_BY_ID, id),
    job_view,
);

/// Technicians only see the jobs assigned to them, and anyone else's job is "not found" to
/// them rather than "forbidden" (no probing for ids).
pub fn visible(job: JobRow, principal: &Principal) -> AppResult<JobRow> {
    if is_technician(principal) && !job.is_assigned(&principal.user.id) {
        return Err(AppError::not_found("job"));
    }
    Ok(job)
}

/// The job, if the caller may see it (read ahead with the principal when it was).
async fn load(
    store: &D1Store,
    rctx: &RequestCtx,
    id: &str,
    principal: &Principal,
) -> AppResult<JobRow> {
    visible(
        prefetch::load::<JobEntity>(store, &rctx.ahead, id).await?,
        principal,
    )
}

fn to_domain(row: &JobRow) -> AppResult<Job> {
    Ok(Job {
        title: row.title.clone(),
        description: row.description.clone(),
        priority: Priority::parse(&row.priority).ok_or_else(|| {
            AppError::internal(format!("job {} has priority {}", row.id, row.priority))
        })?,
        technician_ids: row.technicians(),
        items: row.items(),
    })
}

/// Refuses technician ids that are not active, assignable users, naming each.
pub(crate) async fn check_assignable(database: &D1Database, ids: &[String]) -> AppResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = Value::from(ids.to_vec()).to_string();
    let found: Vec<IdRow> = db::all(database, store::SELECT_ASSIGNABLE, &[db::text(&list)]).await?;
    let errors: Vec<Value> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !found.iter().any(|f| &f.id == *id))
        .map(|(i, _)| {
            json!({ "field": format!("technician_ids[{i}]"),
                    "message": "No active team member who can be assigned has this id." })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid_fields(
            "The job could not be saved.",
            errors,
        ))
    }
}

crate::query! {
    /// `GET /api/v1/jobs`'s filters and page.
    pub struct JobsQuery {
        /// Only jobs in this status.
        status: Option<JobStatus>,
        /// Only jobs assigned to this user (technicians always see their own).
        technician: Option<String>,
        /// Only this customer's jobs.
        customer: Option<String>,
        /// Only jobs created at or after this time.
        created_from: Option<Time>,
        /// Only jobs created before this time.
        created_before: Option<Time>,
        /// The job with this number.
        number: Option<Positive>,
        /// The `next_cursor` of the previous page.
        cursor: Option<Cursor>,
        /// Jobs per page.
        limit: Limit<DEFAULT_LIMIT, MAX_LIMIT>,
    }
}

/// The page `GET /api/v1/jobs` reads; technicians see their own work, whatever they ask for
/// (`own`: their id).
pub fn list_reads(query: &JobsQuery, own: Option<&str>) -> Vec<Sql> {
    let technician = own.map(str::to_owned).or_else(|| query.technician.clone());
    let (after_at, after_id) = Cursor::split(query.cursor.clone());
    vec![sql!(
        store::SELECT_PAGE,
        query.status.map(JobStatus::as_str),
        technician,
        query.customer.clone(),
        query.created_from.map(Time::stored),
        query.created_before.map(Time::stored),
        after_at,
        after_id,
        query.limit.0,
        query.number.map(|n| n.0)
    )]
}
/// `GET /api/v1/jobs`: newest first, one page (see [`list_reads`]).
pub async fn list(
    query: &JobsQuery,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let own = is_technician(principal).then_some(principal.user.id.as_str());
    let reads = list_reads(query, own);
    let store = D1Store::from_env(env)?;
    let rows: Vec<PageRow> = prefetch::read(&store, &rctx.ahead, reads).await?.rows(0)?;
    let next_cursor = query
        .limit
        .next_cursor(&rows, |r| cursor::encode(&r.created_at, &r.id));
    // The views come rendered (see `store::SELECT_PAGE`): the page is put together as text.
    let views: Vec<&str> = rows.iter().map(|r| r.view.as_str()).collect();
    let body = format!(
        "{{\"jobs\":[{}],\"next_cursor\":{}}}",
        views.join(","),
        Value::from(next_cursor)
    );
    Ok(respond::json_string(200, body))
}

/// What `GET /api/v1/jobs/{id}` reads: the job, its notes, where it happens, its next open
/// visit and the names of those who work it.
pub fn get_reads(id: &str) -> Vec<Sql> {
    let mut reads = JobEntity::load(id);
    reads.push(sql!(store::SELECT_NOTES, id));
    reads.push(sql!(store::SELECT_PLACE, id));
    reads.push(sql!(store::SELECT_NEXT_VISIT, id));
    reads.push(sql!(store::SELECT_WORKERS, id));
    reads
}

/// `GET /api/v1/jobs/{id}`: the job with its notes, in one round trip.
pub async fn get(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default();
    let store = D1Store::from_env(env)?;
    let results = prefetch::read(&store, &rctx.ahead, get_reads(id)).await?;
    let job = JobEntity::parse(&results, 0)?.ok_or_else(|| AppError::not_found("job"))?;
    let job = visible(job, principal)?;
    let notes: Vec<NoteRow> = results.rows(1)?;
    let place: Option<PlaceRow> = results.rows(2)?.into_iter().next();
    let next: Option<NextVisitRow> = results.rows(3)?.into_iter().next();
    let mut workers: Vec<WorkerRow> = results.rows(4)?;
    // Names are sealed: the order by name is made here.
    crate::domain::order::by_key(&mut workers, |w| {
        crate::domain::order::by_text(&w.name, &w.id)
    });
    let mut view = job_view(&job);
    view["notes"] = Value::Array(notes.iter().map(note_view).collect());
    if let Some(place) = place {
        view["customer"] = json!({ "name": place.customer_name, "phone": place.customer_phone });
        view["site"] =
            json!({ "address": place.site_address, "access_notes": place.site_access_notes });
    }
    let time = |ms: i64| Millis::from_ms(ms).to_rfc3339();
    view["next_visit"] = match next {
        Some(v) => json!({ "id": v.id, "start": time(v.start_ms), "end": time(v.end_ms),
                           "status": v.status }),
        None => Value::Null,
    };
    view["workers"] = json!(workers
        .iter()
        .map(|w| json!({ "id": w.id, "name": w.name }))
        .collect::<Vec<_>>());
    Ok(with_etag(respond::json(200, &view)?, job.version))
}

/// `POST /api/v1/jobs` `{customer_id, site_id?, title, …}` (honours `Idempotency-Key`); without
/// a site, at the customer's primary site.
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let body = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let keyed = idempotency::keyed(&req, principal, &body)?;
    let mut value: Value = parse_json(&body)?;
    let object = value
        .as_object_mut()
        .ok_or_else(|| AppError::bad_request("The body must be a JSON object."))?;
    let take =
        |object: &mut serde_json::Map<String, Value>, field: &str| -> AppResult<Option<String>> {
            match object.remove(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s)),
                Some(_) => Err(AppError::invalid_field(
                    field,
                    format!("{field} must be a string id."),
                )),
            }
        };
    let customer_id = take(object, "customer_id")?
        .ok_or_else(|| AppError::invalid_field("customer_id", "A job belongs to a customer."))?;
    let site_id = take(object, "site_id")?;
    let changes: JobChanges = serde_json::from_value(value).map_err(|e| {
        AppError::bad_request(format!("The body is not valid JSON for this request: {e}."))
    })?;
    let database = db::database(env)?;
    let job = Job::create(changes)?;
    check_assignable(&database, &job.technician_ids).await?;
    let site_id = match site_id {
        Some(site) => site,
        None => db::first::<IdRow>(
            &database,
            store::SELECT_PRIMARY_SITE,
            &[db::text(&customer_id)],
        )
        .await?
        .map(|r| r.id)
        .ok_or_else(|| {
            AppError::invalid_field(
                "site_id",
                "The customer has no site yet: add one, or name the site.",
            )
        })?,
    };
    let id = new_id()?;
    let now = now();
    let stamp = now.to_rfc3339();
    let change = Change::new()
        .guarded(store::insert(&id, &customer_id, &site_id, &job, &stamp))
        .then_all(store::set_technicians(&id, &job.technician_ids, &stamp))
        .audit(event(
            rctx,
            Some(principal),
            Action::JobCreated,
            "job",
            Some(&id),
            None,
            Some(json!({ "customer_id": customer_id, "site_id": site_id, "job": job_audit(&job) })),
        ));
    let created = write::create::<_, JobEntity>(
        &D1Store { db: database },
        &id,
        keyed.as_ref(),
        change,
        || {
            AppError::invalid_field(
                "site_id",
                "No such site of a live customer: check customer_id and site_id.",
            )
        },
        now.0 as i64,
    )
    .await?;
    respond::created::<JobEntity>(&created)
}

/// `PATCH /api/v1/jobs/{id}` with `If-Match`. Technicians may send only `items`.
pub async fn update(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let changes: JobChanges = json_body(&mut req, MAX_JSON_BODY).await?;
    if !principal.role.allows(Permission::ManageRecords) {
        technician_may_change(&changes)?;
    }
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    let current = load(&store, rctx, &id, principal).await?;
    let before = to_domain(&current)?;
    let technicians_change = changes.technician_ids.is_some();
    let after = before.clone().apply(changes)?;
    if technicians_change {
        check_assignable(&store.db, &after.technician_ids).await?;
    }
    let written = write::update_loaded::<_, JobEntity>(&store, &id, current, version, |_| {
        let stamp = now().to_rfc3339();
        let mut change = Change::new()
            .guarded(store::update(&id, version, &after, &stamp))
            .audit(event(
                rctx,
                Some(principal),
                Action::JobUpdated,
                "job",
                Some(&id),
                Some(job_audit(&before)),
                Some(job_audit(&after)),
            ));
        if technicians_change {
            change = change.then_all(store::set_technicians(&id, &after.technician_ids, &stamp));
        }
        Ok(change)
    })
    .await?;
    respond::record::<JobEntity>(200, &written)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    status: String,
}

/// `POST /api/v1/jobs/{id}/status` `{status}` with `If-Match`: only the transitions the status
/// machine allows; a refused one names the allowed ones.
pub async fn set_status(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let body: StatusBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let to = JobStatus::parse(&body.status).ok_or_else(|| {
        AppError::invalid_field(
            "status",
            "One of requested, scheduled, in_progress, completed, on_hold, cancelled.",
        )
    })?;
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    let current = load(&store, rctx, &id, principal).await?;
    let written = write::update_loaded::<_, JobEntity>(&store, &id, current, version, |job| {
        let from = JobStatus::parse(&job.status)
            .ok_or_else(|| AppError::internal(format!("job {id} has status {}", job.status)))?;
        from.transition(to)?;
        Ok(Change::new()
            .guarded(store::set_status(
                &id,
                version,
                from.as_str(),
                to.as_str(),
                &now().to_rfc3339(),
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::JobStatusChanged,
                "job",
                Some(&id),
                Some(json!({ "status": from.as_str() })),
                Some(json!({ "status": to.as_str() })),
            )))
    })
    .await?;
    respond::record::<JobEntity>(200, &written)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoteBody {
    text: String,
}

/// `POST /api/v1/jobs/{id}/notes` `{text}`: notes are appended, never edited.
pub async fn add_note(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let body: NoteBody = json_body(&mut req, MAX_JSON_BODY).await?;
    let text = parse_note(&body.text)?;
    let job_id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    let job = load(&store, rctx, &job_id, principal).await?;
    let id = new_id()?;
    let stamp = now().to_rfc3339();
    // A note may name people at the customer's: sealed under the customer's data key.
    let sealed = pending(&customer_key(&job.customer_id), &text);
    let change = Change::new()
        .guarded(store::insert_note(
            &id,
            &job_id,
            &principal.user.id,
            &sealed,
            &stamp,
        ))
        .audit(event(
            rctx,
            Some(principal),
            Action::JobNoteAdded,
            "job",
            Some(&job_id),
            None,
            Some(json!({ "note_id": id, "text": sealed })),
        ));
    write::apply(&store, change, vec![])
        .await
        .map_err(|refusal| refusal.into_error(|| AppError::not_found("job")))?;
    respond::json(
        201,
        &json!({ "id": id, "author_id": principal.user.id, "text": text, "created_at": stamp }),
    )
}

/// `GET /api/v1/jobs/{id}/timeline`: everything that happened to the job, newest first, from
/// the audit trail (creation, changes, status moves, notes) — for whoever may see the job.
pub async fn timeline(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default().to_owned();
    let store = D1Store::from_env(env)?;
    load(&store, rctx, &id, principal).await?;
    let database = store.db;
    let filter = db::audit::Filter {
        entity_id: Some(id),
        limit: 500,
        ..db::audit::Filter::default()
    };
    let events: Vec<Value> = db::audit::recent(&database, &filter)
        .await?
        .iter()
        .map(timeline_entry)
        .collect();
    respond::json(200, &json!({ "events": events }))
}
