//! Customers and their sites: listed and searched by everyone signed in, changed by owners and
//! dispatchers, every write versioned and audited in one batch.

use crate::json;
use serde_json::Value;
use worker::{Env, Request, Response};

use crate::db;
use crate::db::customers::{self as store, CustomerRow, SiteRow};
use crate::db::personal as personal_db;
use crate::db::store::D1Store;
use crate::domain::audit::Action;
use crate::domain::auth::permissions::Role;
use crate::domain::cursor;
use crate::domain::customers::{Customer, CustomerChanges, Site, SiteChanges};
use crate::domain::personal::{customer_key, query_terms};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::http::api::{event, if_match, new_id, now};
use crate::http::auth::Principal;
use crate::http::extract::{json_body, json_bytes, parse_json, MAX_JSON_BODY};
use crate::http::personal;
use crate::http::query::{Cursor, Limit};
use crate::http::router::Matched;
use crate::http::{idempotency, prefetch};
use crate::http::{respond, RequestCtx};
use crate::sql;
use crate::views::customers::{customer_audit, customer_view, site_audit, site_view};
use crate::write::{self, Change, Entity, Results, Sql};

const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 200;

pub(crate) fn id_param(matched: &Matched) -> String {
    matched.param("id").unwrap_or_default().to_owned()
}

/// A customer with its sites, as the engine reads and writes it.
pub struct CustomerEntity;

impl Entity for CustomerEntity {
    type Record = (CustomerRow, Vec<SiteRow>);
    const NAME: &'static str = "customer";
    const COLLECTION: &'static str = "/api/v1/customers";

    fn load(id: &str) -> Vec<Sql> {
        store::load(id)
    }

    fn parse(results: &impl Results, from: usize) -> AppResult<Option<Self::Record>> {
        let Some(customer) = write::first_row::<CustomerRow>(results, from)? else {
            return Ok(None);
        };
        Ok(Some((customer, results.rows::<SiteRow>(from + 1)?)))
    }

    fn version((customer, _): &Self::Record) -> i64 {
        customer.version
    }

    fn view((customer, sites): &Self::Record) -> Value {
        customer_view(customer, Some(sites))
    }
}

crate::row_entity!(
    /// A site, as the engine reads and writes it.
    SiteEntity,
    SiteRow,
    "site",
    "/api/v1/sites",
    |id| sql!(store::SELECT_SITE, id),
    site_view,
);

crate::query! {
    /// `GET /api/v1/customers`'s search and page.
    pub struct CustomersQuery {
        /// Words of a name or company (their first 3+ letters), a whole email address, or a phone
        /// number (whole, or its last 4+ digits).
        q: Option<String>,
        /// Archived customers instead of current ones.
        archived: Option<bool>,
        /// The `next_cursor` of the previous page.
        cursor: Option<Cursor>,
        /// Customers per page.
        limit: Limit<DEFAULT_LIMIT, MAX_LIMIT>,
    }
}

/// Technicians see the customers they work for only (see `db::customers::SELECT_PAGE`).
fn own_customers(principal: &Principal) -> Option<&str> {
    (principal.role == Role::Technician).then_some(principal.user.id.as_str())
}

/// The blinded terms of a search box's text, as the JSON array the page queries take; `None`
/// for no search. A search with nothing searchable in it (a word of two letters) matches no
/// one rather than everyone.
pub(crate) fn search_terms(env: &Env, q: Option<&str>) -> AppResult<Option<String>> {
    let Some(q) = q.map(str::trim).filter(|q| !q.is_empty()) else {
        return Ok(None);
    };
    let terms = query_terms(q).unwrap_or_else(|| vec![String::new()]);
    Ok(Some(personal::index_key(env)?.blind_all(&terms)))
}

/// A page of customers, in the order they were added, sorted by name within the page (names
/// are sealed, so SQL cannot order them); the cursor follows the added order.
pub(crate) fn by_name(mut rows: Vec<CustomerRow>) -> Vec<CustomerRow> {
    crate::domain::order::by_key(&mut rows, |r| crate::domain::order::by_text(&r.name, &r.id));
    rows
}

/// `GET /api/v1/customers`: in the order they were added (names sorted within a page);
/// technicians, those they work for.
pub async fn list(query: CustomersQuery, env: &Env, principal: &Principal) -> AppResult<Response> {
    let terms = search_terms(env, query.q.as_deref())?;
    let archived = query.archived.unwrap_or(false);
    let (after_at, after_id) = Cursor::split(query.cursor);
    let rows: Vec<CustomerRow> = db::all(
        &db::database(env)?,
        store::SELECT_PAGE,
        &[
            db::int(i64::from(archived)),
            db::opt_text(terms.as_deref()),
            db::opt_text(after_at.as_deref()),
            db::opt_text(after_id.as_deref()),
            db::int(query.limit.0),
            db::opt_text(own_customers(principal)),
        ],
    )
    .await?;
    let next_cursor = query
        .limit
        .next_cursor(&rows, |r| cursor::encode(&r.created_at, &r.id));
    let customers: Vec<_> = by_name(rows)
        .iter()
        .map(|r| customer_view(r, None))
        .collect();
    respond::json(
        200,
        &json!({ "customers": customers, "next_cursor": next_cursor }),
    )
}

/// Refuses a technician a customer they do not work for: not found, as their jobs are.
pub(crate) async fn visible(store: &D1Store, id: &str, principal: &Principal) -> AppResult<()> {
    if let Some(me) = own_customers(principal) {
        if !store::works_for(&store.db, id, me).await? {
            return Err(AppError::not_found("customer"));
        }
    }
    Ok(())
}

/// `GET /api/v1/customers/{id}`: the customer with its sites; to a technician, only one they
/// work for (anyone else's is not found, as their jobs are).
pub async fn get(
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
    matched: &Matched,
) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let id = id_param(matched);
    visible(&store, &id, principal).await?;
    let record = prefetch::load::<CustomerEntity>(&store, &rctx.ahead, &id).await?;
    respond::record::<CustomerEntity>(200, &record)
}

/// `POST /api/v1/customers` (honours `Idempotency-Key`).
pub async fn create(
    mut req: Request,
    env: &Env,
    rctx: &RequestCtx,
    principal: &Principal,
) -> AppResult<Response> {
    let body = json_bytes(&mut req, MAX_JSON_BODY).await?;
    let keyed = idempotency::keyed(&req, principal, &body)?;
    let customer = Customer::create(parse_json(&body)?)?;
    let id = new_id()?;
    let now = now();
    let index = personal::index_key(env)?;
    let change = Change::new()
        .first(personal_db::new_key(&customer_key(&id), now.0 as i64))
        .guarded(store::insert(&id, &customer, &now.to_rfc3339()))
        .then_all(store::index(&index, &id, &customer))
        .audit(event(
            rctx,
            Some(principal),
            Action::CustomerCreated,
            "customer",
            Some(&id),
            None,
            Some(customer_audit(&customer, &id)),
        ));
    let store = D1Store::from_env(env)?;
    let created = write::create::<_, CustomerEntity>(
        &store,
        &id,
        keyed.as_ref(),
        change,
        || AppError::internal("a customer insert has no condition to fail"),
        now.0 as i64,
    )
    .await?;
    respond::created::<CustomerEntity>(&created)
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
    let store = D1Store::from_env(env)?;
    let index = personal::index_key(env)?;
    let current = prefetch::load::<CustomerEntity>(&store, &rctx.ahead, &id).await?;
    let written =
        write::update_loaded::<_, CustomerEntity>(&store, &id, current, version, |(current, _)| {
            if current.archived == 1 {
                return Err(
                    AppError::new(ErrorKind::Conflict).with_detail("This customer is archived.")
                );
            }
            let before = current.to_domain()?;
            let after = before.clone().apply(changes)?;
            Ok(Change::new()
                .guarded(store::update(&id, version, &after, &now().to_rfc3339()))
                .then_all(store::index(&index, &id, &after))
                .audit(event(
                    rctx,
                    Some(principal),
                    Action::CustomerUpdated,
                    "customer",
                    Some(&id),
                    Some(customer_audit(&before, &id)),
                    Some(customer_audit(&after, &id)),
                )))
        })
        .await?;
    respond::record::<CustomerEntity>(200, &written)
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
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<CustomerEntity>(&store, &rctx.ahead, &id).await?;
    write::update_loaded::<_, CustomerEntity>(&store, &id, current, version, |(current, _)| {
        if current.archived == 1 {
            return Err(AppError::new(ErrorKind::Conflict)
                .with_detail("This customer is already archived.")
                .with_extension("current", CustomerEntity::view(&(current.clone(), vec![]))));
        }
        Ok(Change::new()
            .guarded(store::archive(&id, version, &now().to_rfc3339()))
            .audit(event(
                rctx,
                Some(principal),
                Action::CustomerArchived,
                "customer",
                Some(&id),
                Some(json!({ "archived": false })),
                Some(json!({ "archived": true })),
            )))
    })
    .await?;
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
    let store = D1Store::from_env(env)?;
    let (customer, sites) =
        prefetch::load::<CustomerEntity>(&store, &rctx.ahead, &customer_id).await?;
    if customer.archived == 1 {
        return Err(AppError::new(ErrorKind::Conflict).with_detail("This customer is archived."));
    }
    // A customer's first site is its primary one (the INSERT decides the same under a race).
    site.is_primary |= sites.is_empty();
    let id = new_id()?;
    let now = now();
    let stamp = now.to_rfc3339();
    let mut change = Change::new();
    if site.is_primary {
        change = change.then(store::clear_other_primary(&customer_id, &id, None, &stamp));
    }
    let change = change
        .guarded(store::insert_site(&id, &customer_id, &site, &stamp))
        .audit(event(
            rctx,
            Some(principal),
            Action::SiteCreated,
            "site",
            Some(&id),
            None,
            Some(site_audit(&site, &customer_id)),
        ));
    let created = write::create::<_, SiteEntity>(
        &store,
        &id,
        None,
        change,
        || AppError::new(ErrorKind::Conflict).with_detail("The customer was archived meanwhile."),
        now.0 as i64,
    )
    .await?;
    respond::created::<SiteEntity>(&created)
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
    let store = D1Store::from_env(env)?;
    let current = prefetch::load::<SiteEntity>(&store, &rctx.ahead, &id).await?;
    let written = write::update_loaded::<_, SiteEntity>(&store, &id, current, version, |current| {
        let before = current.to_domain();
        let after = before.clone().apply(changes)?;
        if before.is_primary && !after.is_primary {
            return Err(AppError::invalid_field(
                "is_primary",
                "Make another site primary instead; a customer keeps one primary site.",
            ));
        }
        let stamp = now().to_rfc3339();
        let mut change = Change::new();
        if after.is_primary && !before.is_primary {
            change = change.then(store::clear_other_primary(
                &current.customer_id,
                &id,
                Some(version),
                &stamp,
            ));
        }
        Ok(change
            .guarded(store::update_site(
                &id,
                &current.customer_id,
                version,
                &after,
                &stamp,
            ))
            .audit(event(
                rctx,
                Some(principal),
                Action::SiteUpdated,
                "site",
                Some(&id),
                Some(site_audit(&before, &current.customer_id)),
                Some(site_audit(&after, &current.customer_id)),
            )))
    })
    .await?;
    respond::record::<SiteEntity>(200, &written)
}
