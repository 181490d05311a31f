//! Customers and their sites: listed and searched by everyone signed in, changed by owners and
//! dispatchers, every write versioned and audited in one batch.

use serde_json::json;
use worker::{D1Database, Env, Request, Response};

use crate::db::customers::{self as store, CustomerRow, SiteRow};
use crate::db::{self, audit::Step};
use crate::domain::cursor;
use crate::domain::customers::{search_pattern, Customer, CustomerChanges, Site, SiteChanges};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::{conflict, event, if_match, new_id, now, with_etag};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, json_bytes, parse_json, MAX_JSON_BODY};
use crate::http::idempotency::{self, Plan};
use crate::http::router::Matched;
use crate::http::{respond, RequestCtx};
use crate::views::customers::{customer_audit, customer_view, site_audit, site_view};
use crate::views::url::{parse_limit, query_pairs};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

fn id_param(matched: &Matched) -> String {
    matched.param("id").unwrap_or_default().to_owned()
}

/// The customer and its sites, in one round trip.
async fn load(database: &D1Database, id: &str) -> AppResult<(CustomerRow, Vec<SiteRow>)> {
    let results = database
        .batch(vec![
            db::statement(database, store::SELECT_BY_ID, &[db::text(id)])?,
            db::statement(database, store::SELECT_SITES, &[db::text(id)])?,
        ])
        .await
        .map_err(|e| AppError::internal(format!("loading customer: {e}")))?;
    let rows = |i: usize| {
        results
            .get(i)
            .ok_or_else(|| AppError::internal("customer batch answered short"))
    };
    let customer = rows(0)?
        .results::<CustomerRow>()
        .map_err(|e| AppError::internal(format!("customer row: {e}")))?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("customer"))?;
    let sites = rows(1)?
        .results::<SiteRow>()
        .map_err(|e| AppError::internal(format!("site rows: {e}")))?;
    Ok((customer, sites))
}

/// `GET /api/v1/customers?q=&archived=&limit=&cursor=`: by name, then id.
pub async fn list(req: &Request, env: &Env) -> AppResult<Response> {
    let mut pattern = None;
    let mut archived = false;
    let mut limit = DEFAULT_LIMIT;
    let mut after = None;
    for (key, value) in query_pairs(&req.inner().url()) {
        match key.as_str() {
            "q" => pattern = search_pattern(&value),
            "archived" => {
                archived = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(AppError::invalid_field(
                            "archived",
                            "archived is true or false.",
                        ))
                    }
                }
            }
            "limit" => limit = parse_limit(&value, MAX_LIMIT)?,
            "cursor" => after = Some(cursor::decode(&value)?),
            other => {
                return Err(AppError::bad_request(format!(
                    "Unknown query parameter {other:?}."
                )))
            }
        }
    }
    let (after_name, after_id) = after.unzip();
    let rows: Vec<CustomerRow> = db::all(
        &db::database(env)?,
        store::SELECT_PAGE,
        &[
            db::int(i64::from(archived)),
            db::opt_text(pattern.as_deref()),
            db::opt_text(after_name.as_deref()),
            db::opt_text(after_id.as_deref()),
            db::int(limit),
        ],
    )
    .await?;
    let next_cursor = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| cursor::encode(&r.name, &r.id)))
        .flatten();
    let customers: Vec<_> = rows.iter().map(|r| customer_view(r, None)).collect();
    respond::json(
        200,
        &json!({ "customers": customers, "next_cursor": next_cursor }),
    )
}

/// `GET /api/v1/customers/{id}`: the customer with its sites.
pub async fn get(env: &Env, matched: &Matched) -> AppResult<Response> {
    let (customer, sites) = load(&db::database(env)?, &id_param(matched)).await?;
    Ok(with_etag(
        respond::json(200, &customer_view(&customer, Some(&sites)))?,
        customer.version,
    ))
}

/// `POST /api/v1/customers` (honours `Idempotency-Key`).
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let body = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let changes: CustomerChanges = parse_json(&body)?;
    let database = db::database(env)?;
    let keyed = match idempotency::plan(&req, &database, principal, &body).await? {
        Plan::Replay { status, location } => return replay(&database, status, &location).await,
        Plan::Create(keyed) => keyed,
    };
    let customer = Customer::create(changes)?;
    let id = new_id()?;
    let location = format!("/api/v1/customers/{id}");
    let now = now();
    let stamp = now.to_rfc3339();
    let written = db::audit::write(&database, || {
        let mut steps = vec![Step::guarded(
            store::insert(&database, &id, &customer, &stamp)?,
            event(
                rctx,
                Some(principal),
                "customer.created",
                "customer",
                Some(&id),
                None,
                Some(customer_audit(&customer)),
            ),
        )];
        if let Some(k) = &keyed {
            steps.push(Step::Plain(db::idempotency::insert(
                &database,
                &k.user_id,
                &k.key,
                &k.fingerprint,
                201,
                &location,
                now.0,
            )?));
        }
        Ok((steps, vec![]))
    })
    .await;
    if let Some(location) = idempotency::winner_of_race(&database, &written, &keyed).await? {
        return replay(&database, 201, &location).await;
    }
    written?;
    replay(&database, 201, &location).await
}

/// Answers `status` with the customer at `location` as it is now.
async fn replay(database: &D1Database, status: u16, location: &str) -> AppResult<Response> {
    let id = location.rsplit('/').next().unwrap_or_default();
    let (row, sites) = load(database, id).await?;
    let response = with_etag(
        respond::json(status, &customer_view(&row, Some(&sites)))?,
        row.version,
    );
    let _ = response.headers().set("Location", location);
    Ok(response)
}

/// `PATCH /api/v1/customers/{id}` with `If-Match`.
pub async fn update(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let changes: CustomerChanges = json_body(&mut req, MAX_JSON_BODY).await?;
    let id = id_param(matched);
    let database = db::database(env)?;
    let (current, _) = load(&database, &id).await?;
    if current.archived == 1 {
        return Err(AppError::new(ErrorKind::Conflict).with_detail("This customer is archived."));
    }
    let before = current.to_domain()?;
    let after = before.clone().apply(changes)?;
    let stamp = now().to_rfc3339();
    let results = db::audit::write(&database, || {
        Ok((
            vec![Step::guarded(
                store::update(&database, &id, version, &after, &stamp)?,
                event(
                    rctx,
                    Some(principal),
                    "customer.updated",
                    "customer",
                    Some(&id),
                    Some(customer_audit(&before)),
                    Some(customer_audit(&after)),
                ),
            )],
            vec![],
        ))
    })
    .await?;
    let (row, sites) = load(&database, &id).await?;
    let view = customer_view(&row, Some(&sites));
    if results.first().map(db::changes) != Some(1) {
        return Err(conflict("The customer changed since you read it.", view));
    }
    Ok(with_etag(respond::json(200, &view)?, row.version))
}

/// `DELETE /api/v1/customers/{id}` with `If-Match`: archives (customers are never deleted:
/// their history stays).
pub async fn archive(
    req: &Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(req)?;
    let id = id_param(matched);
    let database = db::database(env)?;
    let (current, _) = load(&database, &id).await?;
    let stamp = now().to_rfc3339();
    let results = db::audit::write(&database, || {
        Ok((
            vec![Step::guarded(
                db::statement(
                    &database,
                    store::ARCHIVE,
                    &[db::text(&stamp), db::text(&id), db::int(version)],
                )?,
                event(
                    rctx,
                    Some(principal),
                    "customer.archived",
                    "customer",
                    Some(&id),
                    Some(json!({ "archived": current.archived == 1 })),
                    Some(json!({ "archived": true })),
                ),
            )],
            vec![],
        ))
    })
    .await?;
    let (row, sites) = load(&database, &id).await?;
    if results.first().map(db::changes) != Some(1) {
        return Err(conflict(
            "The customer changed since you read it, or is already archived.",
            customer_view(&row, Some(&sites)),
        ));
    }
    Ok(worker::ResponseBuilder::new().with_status(204).empty())
}

/// `POST /api/v1/customers/{id}/sites`: the first site becomes primary.
pub async fn create_site(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let changes: SiteChanges = json_body(&mut req, MAX_JSON_BODY).await?;
    let mut site = Site::create(changes)?;
    let customer_id = id_param(matched);
    let database = db::database(env)?;
    let (customer, sites) = load(&database, &customer_id).await?;
    // A customer's first site is its primary one (the INSERT decides the same under a race).
    site.is_primary |= sites.is_empty();
    if customer.archived == 1 {
        return Err(AppError::new(ErrorKind::Conflict).with_detail("This customer is archived."));
    }
    let id = new_id()?;
    let stamp = now().to_rfc3339();
    db::audit::write(&database, || {
        let insert = store::insert_site(&database, &id, &customer_id, &site, &stamp)?;
        let created = event(
            rctx,
            Some(principal),
            "site.created",
            "site",
            Some(&id),
            None,
            Some(site_audit(&site)),
        );
        let mut steps = Vec::new();
        if site.is_primary {
            steps.push(Step::Plain(store::clear_other_primary(
                &database,
                &customer_id,
                &id,
                None,
                &stamp,
            )?));
        }
        steps.push(Step::guarded(insert, created));
        Ok((steps, vec![]))
    })
    .await?;
    let row: SiteRow = db::first(&database, store::SELECT_SITE, &[db::text(&id)])
        .await?
        .ok_or_else(|| {
            AppError::new(ErrorKind::Conflict).with_detail("The customer was archived meanwhile.")
        })?;
    let response = with_etag(respond::json(201, &site_view(&row))?, row.version);
    let _ = response
        .headers()
        .set("Location", &format!("/api/v1/sites/{id}"));
    Ok(response)
}

/// `PATCH /api/v1/sites/{id}` with `If-Match`. Making a site primary demotes the other one in
/// the same batch; the primary site cannot be un-made primary (make another one primary).
pub async fn update_site(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let version = if_match(&req)?;
    let changes: SiteChanges = json_body(&mut req, MAX_JSON_BODY).await?;
    let id = id_param(matched);
    let database = db::database(env)?;
    let current: SiteRow = db::first(&database, store::SELECT_SITE, &[db::text(&id)])
        .await?
        .ok_or_else(|| AppError::not_found("site"))?;
    let before = current.to_domain();
    let after = before.clone().apply(changes)?;
    if before.is_primary && !after.is_primary {
        return Err(AppError::invalid_field(
            "is_primary",
            "Make another site primary instead; a customer keeps one primary site.",
        ));
    }
    let stamp = now().to_rfc3339();
    let results = db::audit::write(&database, || {
        let update = store::update_site(&database, &id, version, &after, &stamp)?;
        let changed = event(
            rctx,
            Some(principal),
            "site.updated",
            "site",
            Some(&id),
            Some(site_audit(&before)),
            Some(site_audit(&after)),
        );
        let mut steps = Vec::new();
        if after.is_primary && !before.is_primary {
            steps.push(Step::Plain(store::clear_other_primary(
                &database,
                &current.customer_id,
                &id,
                Some(version),
                &stamp,
            )?));
        }
        steps.push(Step::guarded(update, changed));
        Ok((steps, vec![]))
    })
    .await?;
    let row: SiteRow = db::first(&database, store::SELECT_SITE, &[db::text(&id)])
        .await?
        .ok_or_else(|| AppError::not_found("site"))?;
    if results.last().map(db::changes) != Some(1) {
        return Err(conflict(
            "The site changed since you read it.",
            site_view(&row),
        ));
    }
    Ok(with_etag(
        respond::json(200, &site_view(&row))?,
        row.version,
    ))
}
