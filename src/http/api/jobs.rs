//! Jobs: created and assigned by owners and dispatchers; worked by technicians, who see only
//! the jobs assigned to them and change only their status, notes and the work and parts used.

use serde::Deserialize;
use serde_json::{json, Value};
use worker::{D1Database, Env, Request, Response};

use crate::db::jobs::{self as store, IdRow, JobRow, NoteRow};
use crate::db::{self, audit::Step, last_row};
use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::cursor;
use crate::domain::jobs::{
    parse_note, technician_may_change, Job, JobChanges, JobStatus, Priority,
};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::api::{conflict, event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, json_bytes, parse_json, MAX_JSON_BODY};
use crate::http::idempotency::{self, Plan};
use crate::http::router::Matched;
use crate::http::{respond, RequestCtx};
use crate::views::audit::timeline_entry;
use crate::views::jobs::{job_audit, job_view, note_view};
use crate::views::url::{parse_limit, query_pairs};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

fn is_technician(principal: &Principal) -> bool {
    principal.role == Role::Technician
}

/// The job, if the caller may see it: technicians only see the jobs assigned to them, and
/// anyone else's job is "not found" to them rather than "forbidden" (no probing for ids).
async fn load(database: &D1Database, id: &str, principal: &Principal) -> AppResult<JobRow> {
    db::first::<JobRow>(database, store::SELECT_BY_ID, &[db::text(id)])
        .await?
        .filter(|job| !is_technician(principal) || job.is_assigned(&principal.user.id))
        .ok_or_else(|| AppError::not_found("job"))
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

/// `GET /api/v1/jobs?status=&technician=&customer=&created_from=&created_before=&cursor=&limit=`
pub async fn list(req: &Request, env: &Env, principal: &Principal) -> AppResult<Response> {
    let mut status = None;
    let mut technician = None;
    let mut customer = None;
    let mut from = None;
    let mut before = None;
    let mut after = None;
    let mut limit = DEFAULT_LIMIT;
    let mut number = None;
    let time = |field: &str, value: &str| {
        Millis::parse_rfc3339(value)
            .map(Millis::to_rfc3339)
            .ok_or_else(|| {
                AppError::invalid_field(field, format!("{field} must be an RFC 3339 time."))
            })
    };
    for (key, value) in query_pairs(&req.inner().url()) {
        match key.as_str() {
            "status" => {
                status = Some(
                    JobStatus::parse(&value)
                        .map(JobStatus::as_str)
                        .ok_or_else(|| {
                            AppError::invalid_field(
                        "status",
                        "One of requested, scheduled, in_progress, completed, on_hold, cancelled.",
                    )
                        })?,
                )
            }
            "technician" => technician = Some(value),
            "customer" => customer = Some(value),
            "created_from" => from = Some(time("created_from", &value)?),
            "created_before" => before = Some(time("created_before", &value)?),
            "cursor" => after = Some(cursor::decode(&value)?),
            "limit" => limit = parse_limit(&value, MAX_LIMIT)?,
            "number" => {
                number = Some(
                    value
                        .parse::<i64>()
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| {
                            AppError::invalid_field("number", "number must be a job number.")
                        })?,
                )
            }
            other => {
                return Err(AppError::bad_request(format!(
                    "Unknown query parameter {other:?}."
                )))
            }
        }
    }
    if is_technician(principal) {
        // Technicians see their own work, whatever they ask for.
        technician = Some(principal.user.id.clone());
    }
    let (after_at, after_id) = after.unzip();
    let rows: Vec<JobRow> = db::all(
        &db::database(env)?,
        store::SELECT_PAGE,
        &[
            db::opt_text(status),
            db::opt_text(technician.as_deref()),
            db::opt_text(customer.as_deref()),
            db::opt_text(from.as_deref()),
            db::opt_text(before.as_deref()),
            db::opt_text(after_at.as_deref()),
            db::opt_text(after_id.as_deref()),
            db::int(limit),
            db::opt_int(number),
        ],
    )
    .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| cursor::encode(&r.created_at, &r.id)))
        .flatten();
    let jobs: Vec<_> = rows.iter().map(job_view).collect();
    respond::json(200, &json!({ "jobs": jobs, "next_cursor": next_cursor }))
}

/// `GET /api/v1/jobs/{id}`: the job with its notes.
pub async fn get(env: &Env, principal: &Principal, matched: &Matched) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default();
    let database = db::database(env)?;
    let job = load(&database, id, principal).await?;
    let notes: Vec<NoteRow> = db::all(&database, store::SELECT_NOTES, &[db::text(id)]).await?;
    let mut view = job_view(&job);
    view["notes"] = Value::Array(notes.iter().map(note_view).collect());
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
    let keyed = match idempotency::plan(&req, &database, principal, &body).await? {
        Plan::Replay { status, location } => {
            return replay(&database, principal, status, &location).await
        }
        Plan::Create(keyed) => keyed,
    };
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
    let location = format!("/api/v1/jobs/{id}");
    let now = now();
    let stamp = now.to_rfc3339();
    let written = db::audit::write(&database, || {
        let [clear, add] = store::set_technicians(&database, &id, &job.technician_ids, &stamp)?;
        let mut steps = vec![Step::Plain(clear), Step::Plain(add)];
        if let Some(k) = &keyed {
            steps.push(Step::Plain(db::idempotency::insert(
                &database, &k.user_id, &k.key, &k.fingerprint, 201, &location, now.0,
            )?));
        }
        // The job insert is guarded (and its audit row last); the technician rows above are
        // written only once it exists, so they run after it: reorder by putting it first.
        steps.insert(
            0,
            Step::guarded(
                store::insert(&database, &id, &customer_id, &site_id, &job, &stamp)?,
                event(rctx, Some(principal), "job.created", "job", Some(&id), None,
                    Some(json!({ "customer_id": customer_id, "site_id": site_id, "job": job_audit(&job) }))),
            ),
        );
        Ok((steps, vec![]))
    })
    .await;
    if let Some(location) = idempotency::winner_of_race(&database, &written, &keyed).await? {
        return replay(&database, principal, 201, &location).await;
    }
    let results = written?;
    if results.first().map(db::changes) != Some(1) {
        return Err(AppError::invalid_field(
            "site_id",
            "No such site of a live customer: check customer_id and site_id.",
        ));
    }
    replay(&database, principal, 201, &location).await
}

async fn replay(
    database: &D1Database,
    principal: &Principal,
    status: u16,
    location: &str,
) -> AppResult<Response> {
    let id = location.rsplit('/').next().unwrap_or_default();
    let job = load(database, id, principal).await?;
    let response = with_etag(respond::json(status, &job_view(&job))?, job.version);
    let _ = response.headers().set("Location", location);
    Ok(response)
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
    let database = db::database(env)?;
    let current = load(&database, &id, principal).await?;
    let before = to_domain(&current)?;
    let technicians_change = changes.technician_ids.is_some();
    let after = before.clone().apply(changes)?;
    if technicians_change {
        check_assignable(&database, &after.technician_ids).await?;
    }
    let stamp = now().to_rfc3339();
    let results = db::audit::write(&database, || {
        let mut steps = vec![Step::guarded(
            store::update(&database, &id, version, &after, &stamp)?,
            event(
                rctx,
                Some(principal),
                "job.updated",
                "job",
                Some(&id),
                Some(job_audit(&before)),
                Some(job_audit(&after)),
            ),
        )];
        if technicians_change {
            let [clear, add] =
                store::set_technicians(&database, &id, &after.technician_ids, &stamp)?;
            steps.extend([Step::Plain(clear), Step::Plain(add)]);
        }
        // The job as the batch left it, read in the same round trip: the answer either way.
        steps.push(Step::Plain(db::statement(
            &database,
            store::SELECT_BY_ID,
            &[db::text(&id)],
        )?));
        Ok((steps, vec![]))
    })
    .await?;
    let row = last_row::<JobRow>(&results)?.ok_or_else(|| AppError::not_found("job"))?;
    if results.first().map(db::changes) != Some(1) {
        return Err(conflict(
            "The job changed since you read it.",
            job_view(&row),
        ));
    }
    Ok(with_etag(respond::json(200, &job_view(&row))?, row.version))
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
    let database = db::database(env)?;
    let current = load(&database, &id, principal).await?;
    let from = JobStatus::parse(&current.status)
        .ok_or_else(|| AppError::internal(format!("job {id} has status {}", current.status)))?;
    if current.version != version {
        return Err(conflict(
            "The job changed since you read it.",
            job_view(&current),
        ));
    }
    from.transition(to)?;
    let stamp = now().to_rfc3339();
    let results = db::audit::write(&database, || {
        Ok((
            vec![
                Step::guarded(
                    db::statement(
                        &database,
                        store::SET_STATUS,
                        &[
                            db::text(to.as_str()),
                            db::text(&stamp),
                            db::text(&id),
                            db::int(version),
                            db::text(from.as_str()),
                        ],
                    )?,
                    event(
                        rctx,
                        Some(principal),
                        "job.status_changed",
                        "job",
                        Some(&id),
                        Some(json!({ "status": from.as_str() })),
                        Some(json!({ "status": to.as_str() })),
                    ),
                ),
                Step::Plain(db::statement(
                    &database,
                    store::SELECT_BY_ID,
                    &[db::text(&id)],
                )?),
            ],
            vec![],
        ))
    })
    .await?;
    let row = last_row::<JobRow>(&results)?.ok_or_else(|| AppError::not_found("job"))?;
    if results.first().map(db::changes) != Some(1) {
        return Err(conflict(
            "The job changed since you read it.",
            job_view(&row),
        ));
    }
    Ok(with_etag(respond::json(200, &job_view(&row))?, row.version))
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
    let database = db::database(env)?;
    load(&database, &job_id, principal).await?;
    let id = new_id()?;
    let stamp = now().to_rfc3339();
    db::audit::write(&database, || {
        Ok((
            vec![Step::guarded(
                db::statement(
                    &database,
                    store::INSERT_NOTE,
                    &[
                        db::text(&id),
                        db::text(&job_id),
                        db::text(&principal.user.id),
                        db::text(&text),
                        db::text(&stamp),
                    ],
                )?,
                event(
                    rctx,
                    Some(principal),
                    "job.note_added",
                    "job",
                    Some(&job_id),
                    None,
                    Some(json!({ "note_id": id, "text": text })),
                ),
            )],
            vec![],
        ))
    })
    .await?;
    respond::json(
        201,
        &json!({ "id": id, "author_id": principal.user.id, "text": text, "created_at": stamp }),
    )
}

/// `GET /api/v1/jobs/{id}/timeline`: everything that happened to the job, newest first, from
/// the audit trail (creation, changes, status moves, notes) — for whoever may see the job.
pub async fn timeline(env: &Env, principal: &Principal, matched: &Matched) -> AppResult<Response> {
    let id = matched.param("id").unwrap_or_default().to_owned();
    let database = db::database(env)?;
    load(&database, &id, principal).await?;
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
