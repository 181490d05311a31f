//! The dashboard's glue: authenticate from the cookie (a visitor who is not signed in is sent
//! to sign in and brought back; one who must enrol in two-factor is sent to enrol), read
//! everything the page shows in ONE D1 batch (with the company settings), render it with
//! `views::pages`, and answer HTML under the pages' strict Content-Security-Policy.
//!
//! Pages never write, except the enrolment page, which keeps one pending key per user, and a
//! customer's page, which marks the customer's texts read when someone who answers customers
//! opens it (not audited: a read receipt, like opening an email). Writes go through the REST
//! API, from the page's script.

use maud::Markup;
use serde::de::DeserializeOwned;
use worker::{D1Database, D1PreparedStatement, D1Result, Env, Headers, Request, Response};

use crate::db::customer_messages::{self as conversation_db, MessageRow, SmsState};
use crate::db::customers::{self as customers_db, CustomerRow, SiteRow};
use crate::db::invoices::{self as invoices_db, InvoiceRow, PaymentRow};
use crate::db::jobs::{self as jobs_db, JobRow, NoteRow};
use crate::db::messages::{self as messages_db, DeliveryRow, TemplateRow, TimingRow};
use crate::db::messaging::{self as messaging_db, LinkRow};
use crate::db::notifications as notifications_db;
use crate::db::pages::{self as pages_db, DocParties, JobLine, Person, VisitLine, WaitingJob};
use crate::db::quotes::{self as quotes_db, QuoteRow};
use crate::db::settings::{self as settings_db, Settings};
use crate::db::share_links::{self as share_links_db, ShareLinkRow};
use crate::db::store::D1Store;
use crate::db::tokens::{self as tokens_db, AccessToken};
use crate::db::users::{self as users_db, User};
use crate::db::{self, audit as audit_db};
use crate::domain::audit::AuditRow;
use crate::domain::auth::permissions::{Permission, Role};
use crate::domain::auth::totp::{self, TotpSecret};
use crate::domain::cursor;
use crate::domain::customers::search_pattern;
use crate::domain::jobs::JobStatus;
use crate::domain::money::Currency;
use crate::domain::share_links::DocumentKind;
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::api::customers::{by_name, search_terms};
use crate::http::api::me::TOTP_ISSUER;
use crate::http::auth::{self, Principal, Via};
use crate::http::router::{Guard, Matched, Page};
use crate::http::zone::Zone;
use crate::http::{clock, crypto};
use crate::views::money::{InvoiceSummary, InvoiceView, QuoteSummary, QuoteView};
use crate::views::pages::admin::{self, AuditFilter, Mine};
use crate::views::pages::invoices;
use crate::views::pages::jobs::{JobFilter, JobPage};
use crate::views::pages::money::DocPage;
use crate::views::pages::quotes;
use crate::views::pages::schedule::{self, week_start, Schedule, Span, WaitingFilter};
use crate::views::pages::signin::{self, MfaState};
use crate::views::pages::slots::work_day;
use crate::views::pages::{
    assets, customers, encode_component, error_page, jobs, message_settings, parse_date, safe_next,
    sign_in_location, LocalTime, People, Viewer, PAGE_CSP,
};
use crate::views::support::Banner;
use crate::views::url::query_pairs;

const DAY_MS: i64 = 86_400_000;
/// The furthest any time zone is from UTC: a local day lies within its UTC day ± this.
const MAX_ZONE_OFFSET_MS: i64 = 14 * 3_600_000;
/// Instants far enough apart to hold every visit of a job.
const ALL_TIME: (i64, i64) = (0, 253_402_300_800_000);
const LIST_LIMIT: i64 = 50;

impl LocalTime for Zone {
    fn wall(&self, at_ms: i64) -> i64 {
        self.wall_of(at_ms)
    }
    fn instant(&self, wall_ms: i64) -> i64 {
        self.instant_of(wall_ms)
    }
}

/// Serves a page: `matched.guard` is the permission its API routes need.
pub async fn serve(
    req: Request,
    env: &Env,
    rctx: &crate::http::RequestCtx,
    page: Page,
    matched: &Matched,
) -> AppResult<Response> {
    match page {
        Page::Asset => return asset(&req, env, matched).await,
        Page::SignIn => return sign_in(&req, env).await,
        Page::AcceptInvite => {
            return html(
                200,
                signin::accept_invite(matched.param("token").unwrap_or_default()),
            )
        }
        _ => {}
    }
    let url = req.inner().url();
    let target = path_and_query(&url);
    let principal = match auth::authenticate(&req, env).await {
        Ok(principal) => principal,
        Err(err) if err.status() == 401 => return Ok(redirect(&sign_in_location(target))),
        Err(err) => return Err(err),
    };
    // What the user still owes comes first, in the order `auth::authorize` asks for it.
    if principal.must_change_password && matched.guard != Guard::SignedIn {
        let next = encode_component(safe_next(Some(target)));
        return Ok(redirect(&format!("/password?next={next}")));
    }
    if principal.must_enrol_mfa && !matches!(matched.guard, Guard::SignedIn | Guard::Enrolling) {
        let next = encode_component(safe_next(Some(target)));
        return Ok(redirect(&format!("/mfa?next={next}")));
    }
    if let Some(grant) = &principal.support {
        auth::support_may(env, rctx, grant, &req, matched, "GET").await?;
    }
    auth::authorize(&principal, matched.guard)?;
    let query = Query(query_pairs(&url));
    let id = matched.param("id").unwrap_or_default();
    match page {
        Page::Home => Ok(redirect("/schedule")),
        Page::Mfa => mfa(env, &principal, &query).await,
        Page::Password => {
            let (settings, _) = load(&db::database(env)?, vec![]).await?;
            let zone = Zone(settings.time_zone.clone());
            html(
                200,
                signin::change_password(
                    &viewer(&principal, &settings, &zone),
                    safe_next(query.get("next")),
                    principal.must_change_password,
                ),
            )
        }
        Page::Schedule => schedule_page(env, &principal, &query).await,
        Page::Jobs => jobs_page(env, &principal, &query).await,
        Page::NewJob => new_job_page(env, &principal, &query).await,
        Page::Job => job_page(env, &principal, id).await,
        Page::Customers => customers_page(env, &principal, &query).await,
        Page::NewCustomer => {
            let (settings, _) = load(&db::database(env)?, vec![]).await?;
            let zone = Zone(settings.time_zone.clone());
            html(
                200,
                customers::new_customer(&viewer(&principal, &settings, &zone)),
            )
        }
        Page::Customer => customer_page(env, &principal, id).await,
        Page::Money => money_page(env, &principal).await,
        Page::Quote => document_page(env, &principal, DocumentKind::Quote, id).await,
        Page::Invoice => document_page(env, &principal, DocumentKind::Invoice, id).await,
        Page::Team => team_page(env, &principal).await,
        Page::Settings => settings_page(env, &principal).await,
        Page::DeleteAccount => delete_account_page(env, &principal).await,
        Page::Audit => audit_page(env, &principal, &query).await,
        Page::Notifications => notifications_page(env, &principal).await,
        Page::Consent => crate::http::oauth::consent_page(&req, env, &principal).await,
        Page::SignIn | Page::AcceptInvite | Page::Asset => {
            Err(AppError::internal("page served above"))
        }
    }
}

/// The HTML page an error becomes on a page route (the log line keeps the cause).
pub fn error_response(err: &AppError, request_id: &str) -> Response {
    let title = err.kind.title();
    let detail = match err.status() {
        403 => err
            .detail
            .clone()
            .unwrap_or_else(|| "Your role does not allow this page.".to_owned()),
        404 => "There is nothing here, or it is not yours to see.".to_owned(),
        _ => err.detail.clone().unwrap_or_default(),
    };
    let response = html(
        err.status(),
        error_page(err.status(), title, &detail, request_id),
    )
    .unwrap_or_else(|_| crate::http::respond::problem(err, "", request_id));
    // The error's own headers (Retry-After during maintenance, say) go with the page too.
    for (name, value) in &err.headers {
        let _ = response.headers().set(name, value);
    }
    response
}

/// The query string's values by name (the first of each).
struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }
}

fn path_and_query(url: &str) -> &str {
    let origin_len = crate::views::url::origin(url).map_or(0, str::len);
    let rest = &url[origin_len..];
    rest.split('#').next().unwrap_or("/")
}

pub(crate) fn html(status: u16, markup: Markup) -> AppResult<Response> {
    let headers = Headers::new();
    let set = |name: &str, value: &str| {
        headers
            .set(name, value)
            .map_err(|e| AppError::internal(format!("header {name}: {e}")))
    };
    set("Content-Type", "text/html; charset=utf-8")?;
    set("Content-Security-Policy", PAGE_CSP)?;
    Ok(worker::ResponseBuilder::new()
        .with_status(status)
        .with_headers(headers)
        .fixed(markup.into_string().into_bytes()))
}

fn redirect(location: &str) -> Response {
    let response = worker::ResponseBuilder::new().with_status(303).empty();
    let _ = response.headers().set("Location", location);
    response
}

/// `GET /assets/{file}` for a name Workers Static Assets does not have (it serves this build's
/// names itself, before the Worker runs): another build's name (an old page after a deploy) or
/// a plain one gets today's file from the assets binding, not cached.
async fn asset(req: &Request, env: &Env, matched: &Matched) -> AppResult<Response> {
    let file = matched.param("file").unwrap_or_default();
    let (asset, current) =
        assets::find(file).ok_or_else(|| AppError::not_found_route(&format!("/assets/{file}")))?;
    let url = req.inner().url();
    let origin = crate::views::url::origin(&url).unwrap_or("https://assets.invalid");
    let mut fetched = env
        .assets("ASSETS")
        .map_err(|e| AppError::internal(format!("assets binding: {e}")))?
        .fetch(format!("{origin}{}", asset.path()), None)
        .await
        .map_err(|e| AppError::internal(format!("assets fetch: {e}")))?;
    if fetched.status_code() != 200 {
        return Err(AppError::internal(format!(
            "assets: {} answered {}",
            asset.path(),
            fetched.status_code()
        )));
    }
    let body = fetched
        .bytes()
        .await
        .map_err(|e| AppError::internal(format!("assets body: {e}")))?;
    let headers = Headers::new();
    let cache = if current {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    for (name, value) in [
        ("Content-Type", asset.content_type),
        ("Cache-Control", cache),
    ] {
        headers
            .set(name, value)
            .map_err(|e| AppError::internal(format!("header {name}: {e}")))?;
    }
    Ok(worker::ResponseBuilder::new()
        .with_status(200)
        .with_headers(headers)
        .fixed(body))
}

/// `GET /login?next=`: someone already signed in goes straight on.
async fn sign_in(req: &Request, env: &Env) -> AppResult<Response> {
    let query = Query(query_pairs(&req.inner().url()));
    let next = safe_next(query.get("next"));
    let has_cookie = req
        .headers()
        .get("Cookie")
        .ok()
        .flatten()
        .is_some_and(|c| c.contains(crate::domain::auth::session::SESSION_COOKIE));
    if has_cookie && auth::authenticate(req, env).await.is_ok() {
        return Ok(redirect(next));
    }
    html(200, signin::sign_in(next))
}

// ---- reading ------------------------------------------------------------------------------

/// Runs the company settings query and `statements` as one batch: the settings, and the other
/// results in order.
async fn load(
    database: &D1Database,
    statements: Vec<D1PreparedStatement>,
) -> AppResult<(Settings, Vec<D1Result>)> {
    let mut batch = vec![db::statement(database, settings_db::SELECT, &[])?];
    batch.extend(statements);
    let mut results = database
        .batch(batch)
        .await
        .map_err(|e| AppError::internal(format!("page batch: {e}")))?;
    if results.is_empty() {
        return Err(AppError::internal("page batch answered nothing"));
    }
    let settings = first::<Settings>(&results.remove(0))?
        .ok_or_else(|| AppError::internal("no company settings row"))?;
    Ok((settings, results))
}

fn rows<T: DeserializeOwned>(results: &[D1Result], i: usize) -> AppResult<Vec<T>> {
    results
        .get(i)
        .ok_or_else(|| AppError::internal("page batch answered short"))
        .and_then(|result| {
            db::rows::<T>(result).map_err(|e| AppError::internal(format!("page row {i}: {e}")))
        })
}

fn first<T: DeserializeOwned>(result: &D1Result) -> AppResult<Option<T>> {
    db::rows::<T>(result)
        .map(|rows| rows.into_iter().next())
        .map_err(|e| AppError::internal(format!("page row: {e}")))
}

fn viewer<'a>(principal: &'a Principal, settings: &'a Settings, zone: &'a Zone) -> Viewer<'a> {
    let csrf = match &principal.via {
        Via::Session { record, .. } => record.csrf.as_str(),
        _ => "",
    };
    Viewer {
        user_id: &principal.user.id,
        name: &principal.user.name,
        role: principal.role,
        csrf,
        company: &settings.name,
        zone: &settings.time_zone,
        local: zone,
        unread: principal.user.unread_notifications.unwrap_or(0),
        support: support_banner(principal, settings),
        deletion: deletion_banner(settings),
    }
}

/// The banner of the company's pending deletion, from the settings row's read.
fn deletion_banner(settings: &Settings) -> Option<crate::views::company::DeletionBanner> {
    let pending: serde_json::Value =
        serde_json::from_str(settings.deletion_pending.as_deref()?).ok()?;
    Some(crate::views::company::DeletionBanner {
        effective_at: pending["effective_at"].as_i64()?,
        version: pending["version"].as_i64()?,
    })
}

/// The banner of the support session running now: the viewer's own, or the one the settings
/// row found (shown until its deadline, whatever the row still says).
fn support_banner(principal: &Principal, settings: &Settings) -> Option<Banner> {
    let stamp = |ms: i64| crate::domain::time::Millis::from_ms(ms).to_rfc3339();
    if let Some(grant) = &principal.support {
        return Some(Banner {
            session_id: grant.session_id.clone(),
            person: grant.person_name.clone(),
            ends_at: stamp(grant.ends_at),
            version: principal.user.version,
            own: true,
        });
    }
    let open: serde_json::Value = serde_json::from_str(settings.support_open.as_deref()?).ok()?;
    let ends_at = open["ends_at"].as_i64()?;
    (ends_at > clock::now().0 as i64).then(|| Banner {
        session_id: open["id"].as_str().unwrap_or_default().to_owned(),
        person: open["person"].as_str().unwrap_or_default().to_owned(),
        ends_at: stamp(ends_at),
        version: open["version"].as_i64().unwrap_or_default(),
        own: false,
    })
}

/// Technicians see their own work only, whatever they ask for.
fn own_work(principal: &Principal) -> Option<&str> {
    (principal.role == Role::Technician).then_some(principal.user.id.as_str())
}

fn people_statement(database: &D1Database) -> AppResult<D1PreparedStatement> {
    db::statement(database, pages_db::PEOPLE, &[])
}

/// The people [`people_statement`] read (result `i`), by name.
fn people(results: &[D1Result], i: usize) -> AppResult<Vec<Person>> {
    let mut people: Vec<Person> = rows(results, i)?;
    pages_db::sort_people(&mut people);
    Ok(people)
}

fn visits_statement(
    database: &D1Database,
    (from, to): (i64, i64),
    technician: Option<&str>,
    job: Option<&str>,
) -> AppResult<D1PreparedStatement> {
    db::statement(
        database,
        pages_db::VISITS,
        &[
            db::int(from),
            db::int(to),
            db::opt_text(technician),
            db::opt_text(job),
            db::int(2_000),
        ],
    )
}

// ---- pages --------------------------------------------------------------------------------

async fn mfa(env: &Env, principal: &Principal, query: &Query) -> AppResult<Response> {
    let next = safe_next(query.get("next"));
    let user = &principal.user;
    let database = db::database(env)?;
    let mut statements = Vec::new();
    // One pending key per user: shown again on reload (so a scanned code stays valid), made
    // anew only when there is none or on "start over".
    let pending = match (&user.totp_pending, user.mfa_enabled()) {
        (_, true) => {
            statements.push(db::statement(
                &database,
                users_db::COUNT_RECOVERY_CODES,
                &[db::text(&user.id)],
            )?);
            None
        }
        (Some(pending), false) => Some(
            TotpSecret::from_base32(pending)
                .map_err(|e| AppError::internal(format!("stored pending secret: {e}")))?,
        ),
        (None, false) => {
            let secret = TotpSecret::from_random(crypto::random_bytes::<20>()?);
            statements.push(db::statement(
                &database,
                users_db::SET_TOTP_PENDING,
                &[
                    // Sealed under the user's key, as every TOTP secret is.
                    db::text(&crate::domain::auth::account::sealed_secret(
                        &user.id,
                        &secret.to_base32(),
                    )),
                    db::text(&clock::now().to_rfc3339()),
                    db::text(&user.id),
                ],
            )?);
            Some(secret)
        }
    };
    let (settings, results) = load(&database, statements).await?;
    let zone = Zone(settings.time_zone.clone());
    let viewer = viewer(principal, &settings, &zone);
    let required = settings.mfa_required == 1;
    match pending {
        None => {
            #[derive(serde::Deserialize)]
            struct Remaining {
                remaining: i64,
            }
            let left = rows::<Remaining>(&results, 0)?
                .first()
                .map_or(0, |r| r.remaining);
            html(
                200,
                signin::mfa(
                    &viewer,
                    &MfaState::Enabled {
                        recovery_codes_left: left,
                        required,
                    },
                    next,
                    false,
                ),
            )
        }
        Some(secret) => {
            let encoded = secret.to_base32();
            let uri = totp::otpauth_uri(TOTP_ISSUER, &user.email, &secret);
            html(
                200,
                signin::mfa(
                    &viewer,
                    &MfaState::Enrolling {
                        secret: &encoded,
                        uri: &uri,
                        required,
                    },
                    next,
                    principal.must_enrol_mfa,
                ),
            )
        }
    }
}

async fn schedule_page(env: &Env, principal: &Principal, query: &Query) -> AppResult<Response> {
    let span = match query.get("view") {
        Some("week") => Span::Week,
        _ => Span::Day,
    };
    let first_of = |day: i64| match span {
        Span::Day => day,
        Span::Week => week_start(day),
    };
    let now = clock::now().0 as i64;
    let asked = query.get("date").and_then(parse_date);
    // The zone comes in the same batch as the visits, so read every visit the local range
    // could hold in any zone, and keep the right ones once the zone is known.
    let candidates: Vec<i64> = match asked {
        Some(day) => vec![day],
        None => {
            let utc_today = now.div_euclid(DAY_MS) * DAY_MS;
            vec![utc_today - DAY_MS, utc_today, utc_today + DAY_MS]
        }
    };
    let earliest = candidates.iter().map(|d| first_of(*d)).min().unwrap_or(0);
    let latest = candidates.iter().map(|d| first_of(*d)).max().unwrap_or(0);
    let wide = (
        earliest - MAX_ZONE_OFFSET_MS,
        latest + span.days() * DAY_MS + MAX_ZONE_OFFSET_MS,
    );
    let database = db::database(env)?;
    let mut statements = vec![
        visits_statement(&database, wide, own_work(principal), None)?,
        people_statement(&database)?,
    ];
    let books = principal.role.allows(Permission::ManageRecords);
    if books {
        statements.push(db::statement(
            &database,
            pages_db::UNSCHEDULED,
            &[db::int(now), db::int(200)],
        )?);
    }
    let (settings, results) = load(&database, statements).await?;
    let zone = Zone(settings.time_zone.clone());
    let today = zone.wall_of(now).div_euclid(DAY_MS) * DAY_MS;
    let first_day = first_of(asked.unwrap_or(today));
    let (from, to) = (
        zone.instant_of(first_day),
        zone.instant_of(first_day + span.days() * DAY_MS),
    );
    let visits: Vec<VisitLine> = rows::<VisitLine>(&results, 0)?
        .into_iter()
        .filter(|v| v.start_ms < to && v.end_ms > from)
        .collect();
    let people_rows = people(&results, 1)?;
    let people = People(&people_rows);
    let waiting: Vec<WaitingJob> = match books {
        true => rows(&results, 2)?,
        false => Vec::new(),
    };
    let filter = WaitingFilter {
        priority: query.get("priority").filter(|p| !p.is_empty()),
        customer: query.get("customer").filter(|c| !c.is_empty()),
    };
    html(
        200,
        schedule::page(
            &viewer(principal, &settings, &zone),
            &Schedule {
                first_day,
                span,
                today,
                visits: &visits,
                people: &people,
                work_day: work_day(settings.work_day_start, settings.work_day_end),
                waiting: &waiting,
                filter,
            },
        ),
    )
}

async fn jobs_page(env: &Env, principal: &Principal, query: &Query) -> AppResult<Response> {
    let status = query
        .get("status")
        .and_then(JobStatus::parse)
        .map(JobStatus::as_str);
    let q = query.get("q").unwrap_or_default();
    let number = q
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 1);
    let pattern = search_pattern(q.trim_start_matches('#'));
    let terms = search_terms(env, Some(q.trim_start_matches('#')))?;
    let after = query.get("cursor").and_then(|c| cursor::decode(c).ok());
    let (after_at, after_id) = after.unzip();
    let database = db::database(env)?;
    let (settings, results) = load(
        &database,
        vec![
            db::statement(
                &database,
                pages_db::JOBS,
                &[
                    db::opt_text(status),
                    db::opt_text(own_work(principal)),
                    db::opt_text(None),
                    db::opt_text(pattern.as_deref()),
                    db::opt_int(number),
                    db::opt_text(after_at.as_deref()),
                    db::opt_text(after_id.as_deref()),
                    db::int(LIST_LIMIT),
                    db::opt_text(terms.as_deref()),
                ],
            )?,
            people_statement(&database)?,
        ],
    )
    .await?;
    let zone = Zone(settings.time_zone.clone());
    let jobs: Vec<JobLine> = rows(&results, 0)?;
    let people_rows = people(&results, 1)?;
    let next_cursor = (jobs.len() as i64 == LIST_LIMIT)
        .then(|| jobs.last().map(|j| cursor::encode(&j.created_at, &j.id)))
        .flatten();
    html(
        200,
        jobs::list(
            &viewer(principal, &settings, &zone),
            &JobFilter { status, q },
            &jobs,
            &People(&people_rows),
            next_cursor.as_deref(),
        ),
    )
}

async fn job_page(env: &Env, principal: &Principal, id: &str) -> AppResult<Response> {
    let database = db::database(env)?;
    let by_id = |sql: &str| db::statement(&database, sql, &[db::text(id)]);
    let mut statements = vec![
        by_id(jobs_db::SELECT_BY_ID)?,
        by_id(jobs_db::SELECT_NOTES)?,
        visits_statement(&database, ALL_TIME, None, Some(id))?,
        timeline_statement(&database, id)?,
        by_id(pages_db::CUSTOMER_OF_JOB)?,
        by_id(pages_db::SITE_OF_JOB)?,
        people_statement(&database)?,
    ];
    statements.extend(money_statements(&database, principal, DocFilter::Job(id))?);
    let (settings, results) = load(&database, statements).await?;
    // Anyone else's job is "not found" to a technician, as in the API.
    let job: JobRow = rows::<JobRow>(&results, 0)?
        .into_iter()
        .next()
        .filter(|job| own_work(principal).is_none_or(|me| job.is_assigned(me)))
        .ok_or_else(|| AppError::not_found("job"))?;
    let notes: Vec<NoteRow> = rows(&results, 1)?;
    let visits: Vec<VisitLine> = rows(&results, 2)?;
    let timeline: Vec<AuditRow> = rows(&results, 3)?;
    let customer: Option<CustomerRow> = rows(&results, 4)?.into_iter().next();
    let site: Option<SiteRow> = rows(&results, 5)?.into_iter().next();
    let people_rows = people(&results, 6)?;
    let people = People(&people_rows);
    let (quotes, invoices) = money_of(&results, 7)?;
    let zone = Zone(settings.time_zone.clone());
    html(
        200,
        jobs::page(
            &viewer(principal, &settings, &zone),
            &JobPage {
                job: &job,
                customer: customer.as_ref(),
                site: site.as_ref(),
                notes: &notes,
                visits: &visits,
                timeline: &timeline,
                people: &people,
                quotes: &quotes,
                invoices: &invoices,
                require_signature: settings.require_signature == 1,
            },
        ),
    )
}

async fn new_job_page(env: &Env, principal: &Principal, query: &Query) -> AppResult<Response> {
    let database = db::database(env)?;
    let chosen = query.get("customer");
    let mut statements = vec![
        db::statement(
            &database,
            customers_db::SELECT_PAGE,
            &[
                db::int(0),
                db::opt_text(None),
                db::opt_text(None),
                db::opt_text(None),
                db::int(200),
                db::opt_text(own_work(principal)),
            ],
        )?,
        people_statement(&database)?,
    ];
    if let Some(id) = chosen {
        statements.push(db::statement(
            &database,
            customers_db::SELECT_BY_ID,
            &[db::text(id)],
        )?);
        statements.push(db::statement(
            &database,
            customers_db::SELECT_SITES,
            &[db::text(id)],
        )?);
    }
    let (settings, results) = load(&database, statements).await?;
    let all: Vec<CustomerRow> = by_name(rows(&results, 0)?);
    let people_rows = people(&results, 1)?;
    let customer: Option<CustomerRow> = match chosen {
        Some(_) => Some(
            rows::<CustomerRow>(&results, 2)?
                .into_iter()
                .next()
                .filter(|c| c.archived == 0)
                .ok_or_else(|| AppError::not_found("customer"))?,
        ),
        None => None,
    };
    let sites: Vec<SiteRow> = match chosen {
        Some(_) => rows(&results, 3)?,
        None => Vec::new(),
    };
    let zone = Zone(settings.time_zone.clone());
    html(
        200,
        jobs::new_job(
            &viewer(principal, &settings, &zone),
            &all,
            customer.as_ref().map(|c| (c, sites.as_slice())),
            &People(&people_rows),
        ),
    )
}

async fn customers_page(env: &Env, principal: &Principal, query: &Query) -> AppResult<Response> {
    let q = query.get("q").unwrap_or_default();
    let terms = search_terms(env, Some(q))?;
    let after = query.get("cursor").and_then(|c| cursor::decode(c).ok());
    let (after_at, after_id) = after.unzip();
    let database = db::database(env)?;
    let (settings, results) = load(
        &database,
        vec![db::statement(
            &database,
            customers_db::SELECT_PAGE,
            &[
                db::int(0),
                db::opt_text(terms.as_deref()),
                db::opt_text(after_at.as_deref()),
                db::opt_text(after_id.as_deref()),
                db::int(LIST_LIMIT),
                db::opt_text(own_work(principal)),
            ],
        )?],
    )
    .await?;
    let list: Vec<CustomerRow> = rows(&results, 0)?;
    let next_cursor = (list.len() as i64 == LIST_LIMIT)
        .then(|| list.last().map(|c| cursor::encode(&c.created_at, &c.id)))
        .flatten();
    let list = by_name(list);
    let zone = Zone(settings.time_zone.clone());
    html(
        200,
        customers::list(
            &viewer(principal, &settings, &zone),
            q,
            &list,
            next_cursor.as_deref(),
        ),
    )
}

/// `/money`: the newest quotes and invoices, in the page's one batch.
async fn money_page(env: &Env, principal: &Principal) -> AppResult<Response> {
    let database = db::database(env)?;
    let mut statements = vec![active_customers(&database)?];
    statements.extend(money_statements(&database, principal, DocFilter::All)?);
    let (settings, results) = load(&database, statements).await?;
    let customers: Vec<CustomerRow> = by_name(rows(&results, 0)?);
    let (quotes, invoices) = money_of(&results, 1)?;
    let zone = Zone(settings.time_zone.clone());
    html(
        200,
        crate::views::pages::money::overview(
            &viewer(principal, &settings, &zone),
            &quotes,
            &invoices,
            &customers,
        ),
    )
}

/// Active customers by name, for choosing whom a new record is for (record managers only).
fn active_customers(database: &D1Database) -> AppResult<D1PreparedStatement> {
    db::statement(
        database,
        customers_db::SELECT_PAGE,
        &[
            db::int(0),
            db::opt_text(None),
            db::opt_text(None),
            db::opt_text(None),
            db::int(200),
            db::opt_text(None),
        ],
    )
}

/// Whose quotes and invoices a page lists: everyone's (newest first), a job's or a customer's.
enum DocFilter<'a> {
    All,
    Job(&'a str),
    Customer(&'a str),
}

/// Quotes and invoices, for those who see money only (nothing is read for the others). They go last in the page's batch, where [`money_of`] finds them.
fn money_statements(
    database: &D1Database,
    principal: &Principal,
    filter: DocFilter<'_>,
) -> AppResult<Vec<D1PreparedStatement>> {
    if !principal.role.allows(Permission::ViewMoney) {
        return Ok(Vec::new());
    }
    let stamp = clock::now().to_rfc3339();
    let (customer, job) = match filter {
        DocFilter::All => (None, None),
        DocFilter::Job(id) => (None, Some(id)),
        DocFilter::Customer(id) => (Some(id), None),
    };
    let quotes = match filter {
        DocFilter::Job(id) => db::statement(database, quotes_db::SELECT_FOR_JOB, &[db::text(id)])?,
        DocFilter::All | DocFilter::Customer(_) => db::statement(
            database,
            quotes_db::SELECT_PAGE,
            &[
                db::opt_text(None),
                db::opt_text(customer),
                db::opt_text(None),
                db::opt_text(None),
                db::int(LIST_LIMIT),
                db::text(&stamp),
            ],
        )?,
    };
    let invoices = db::statement(
        database,
        invoices_db::SELECT_PAGE,
        &[
            db::opt_text(None),
            db::opt_text(customer),
            db::opt_text(None),
            db::opt_text(job),
            db::opt_text(None),
            db::opt_text(None),
            db::int(LIST_LIMIT),
            db::text(&stamp),
        ],
    )?;
    Ok(vec![quotes, invoices])
}

/// The quotes and invoices [`money_statements`] read from `at` on (none when it read nothing),
/// as the API lists them.
fn money_of(
    results: &[D1Result],
    at: usize,
) -> AppResult<(Vec<QuoteSummary>, Vec<InvoiceSummary>)> {
    if results.len() < at + 2 {
        return Ok((Vec::new(), Vec::new()));
    }
    let now = clock::now();
    let quotes = rows::<QuoteRow>(results, at)?
        .iter()
        .map(|q| QuoteSummary::new(q, now))
        .collect::<AppResult<Vec<_>>>()?;
    let invoices = rows::<InvoiceRow>(results, at + 1)?
        .iter()
        .map(|i| InvoiceSummary::new(i, now))
        .collect::<AppResult<Vec<_>>>()?;
    Ok((quotes, invoices))
}

/// A record's recent audit events (its timeline), newest first.
fn timeline_statement(database: &D1Database, id: &str) -> AppResult<D1PreparedStatement> {
    db::statement(
        database,
        audit_db::SELECT_RECENT,
        &[
            db::opt_text(None),
            db::opt_text(None),
            db::text(id),
            db::opt_text(None),
            db::opt_text(None),
            db::opt_int(None),
            db::int(200),
            db::opt_text(None),
        ],
    )
}

/// `/quotes/{id}` and `/invoices/{id}`: the document (an invoice with its payments), its
/// customer, site and job, its share links, timeline and the people they name, in one batch.
async fn document_page(
    env: &Env,
    principal: &Principal,
    kind: DocumentKind,
    id: &str,
) -> AppResult<Response> {
    let database = db::database(env)?;
    let by_id = |sql: &str| db::statement(&database, sql, &[db::text(id)]);
    let (mut statements, parties) = match kind {
        DocumentKind::Quote => (
            vec![by_id(quotes_db::SELECT_BY_ID)?],
            pages_db::QUOTE_PARTIES,
        ),
        DocumentKind::Invoice => (
            vec![
                by_id(invoices_db::SELECT_BY_ID)?,
                by_id(invoices_db::SELECT_PAYMENTS)?,
            ],
            pages_db::INVOICE_PARTIES,
        ),
    };
    let own = statements.len();
    statements.extend([
        by_id(parties)?,
        db::statement(
            &database,
            share_links_db::SELECT_FOR_DOCUMENT,
            &[db::text(kind.as_str()), db::text(id)],
        )?,
        timeline_statement(&database, id)?,
        people_statement(&database)?,
        db::statement(
            &database,
            messages_db::DELIVERIES,
            &[db::text(kind.as_str()), db::text(id)],
        )?,
    ]);
    let (settings, results) = load(&database, statements).await?;
    let parties: Option<DocParties> = rows(&results, own)?.into_iter().next();
    let links: Vec<ShareLinkRow> = rows(&results, own + 1)?;
    let timeline: Vec<AuditRow> = rows(&results, own + 2)?;
    let people_rows = people(&results, own + 3)?;
    let deliveries: Vec<DeliveryRow> = rows(&results, own + 4)?;
    let zone = Zone(settings.time_zone.clone());
    let viewer = viewer(principal, &settings, &zone);
    let people = People(&people_rows);
    let now = clock::now();
    let page = |currency: &str| -> AppResult<DocPage<'_, ()>> {
        Ok(DocPage {
            view: &(),
            currency: Currency::parse(currency)
                .map_err(|e| AppError::internal(format!("stored currency {currency}: {e}")))?,
            default_tax_ppm: settings.default_tax_rate_ppm,
            parties: parties.as_ref(),
            links: &links,
            deliveries: &deliveries,
            timeline: &timeline,
            people: &people,
        })
    };
    let markup = match kind {
        DocumentKind::Quote => {
            let row: QuoteRow = rows::<QuoteRow>(&results, 0)?
                .into_iter()
                .next()
                .ok_or_else(|| AppError::not_found("quote"))?;
            let view = QuoteView::new(&row, now)?;
            quotes::page(&viewer, &page(&row.currency)?.showing(&view))
        }
        DocumentKind::Invoice => {
            let row: InvoiceRow = rows::<InvoiceRow>(&results, 0)?
                .into_iter()
                .next()
                .ok_or_else(|| AppError::not_found("invoice"))?;
            let payments: Vec<PaymentRow> = rows(&results, 1)?;
            let view = InvoiceView::new(&row, &payments, now)?;
            invoices::page(&viewer, &page(&row.currency)?.showing(&view))
        }
    };
    html(200, markup)
}

async fn customer_page(env: &Env, principal: &Principal, id: &str) -> AppResult<Response> {
    let store = D1Store::from_env(env)?;
    let database = &store.db;
    if let Some(me) = own_work(principal) {
        if !customers_db::works_for(database, id, me).await? {
            return Err(AppError::not_found("customer"));
        }
    }
    let mut statements = vec![
        db::statement(database, customers_db::SELECT_BY_ID, &[db::text(id)])?,
        db::statement(database, customers_db::SELECT_SITES, &[db::text(id)])?,
        db::statement(
            database,
            pages_db::JOBS,
            &[
                db::opt_text(None),
                db::opt_text(own_work(principal)),
                db::text(id),
                db::opt_text(None),
                db::opt_int(None),
                db::opt_text(None),
                db::opt_text(None),
                db::int(LIST_LIMIT),
                db::opt_text(None),
            ],
        )?,
    ];
    // The conversation is read before its texts are marked read (by those who answer
    // customers), so the page still shows which are new.
    let prepare = |statement: &crate::write::Sql| store.prepare(statement);
    statements.push(prepare(&conversation_db::conversation(id))?);
    statements.push(prepare(&conversation_db::sms_state(id))?);
    if principal.role.allows(Permission::ManageRecords) {
        statements.push(prepare(&conversation_db::mark_read(id, clock::now()))?);
    }
    let erasable = principal.role.allows(Permission::ManagePersonalData);
    let issued_at = statements.len();
    if erasable {
        statements.push(db::statement(
            database,
            customers_db::ISSUED_INVOICES,
            &[db::text(id)],
        )?);
    }
    let money_from = statements.len();
    statements.extend(money_statements(
        database,
        principal,
        DocFilter::Customer(id),
    )?);
    let (settings, results) = load(database, statements).await?;
    let erasure = if erasable {
        Some(crate::http::api::erasure::plan_of(rows(
            &results, issued_at,
        )?))
    } else {
        None
    };
    let customer: CustomerRow = rows::<CustomerRow>(&results, 0)?
        .into_iter()
        .next()
        .ok_or_else(|| AppError::not_found("customer"))?;
    let sites: Vec<SiteRow> = rows(&results, 1)?;
    let jobs: Vec<JobLine> = rows(&results, 2)?;
    let messages: Vec<MessageRow> = rows(&results, 3)?;
    let sms_state: Option<SmsState> = rows::<SmsState>(&results, 4)?.into_iter().next();
    let (quotes, invoices) = money_of(&results, money_from)?;
    let zone = Zone(settings.time_zone.clone());
    html(
        200,
        customers::page(
            &viewer(principal, &settings, &zone),
            &customer,
            &sites,
            &jobs,
            &customers::Documents {
                quotes: &quotes,
                invoices: &invoices,
                erasure: erasure.as_ref(),
            },
            &customers::Conversation {
                messages: &messages,
                sms_opted_out_at: sms_state.and_then(|s| s.sms_opted_out_at),
            },
        ),
    )
}

async fn team_page(env: &Env, principal: &Principal) -> AppResult<Response> {
    let database = db::database(env)?;
    let (settings, results) = load(
        &database,
        vec![
            db::statement(&database, users_db::SELECT_ALL, &[])?,
            db::statement(&database, crate::db::support::SELECT_RECENT, &[])?,
        ],
    )
    .await?;
    let mut users: Vec<User> = rows(&results, 0)?;
    users_db::sort_by_name(&mut users);
    let zone = Zone(settings.time_zone.clone());
    let viewer = viewer(principal, &settings, &zone);
    let now = clock::now();
    // Support requests are the owners' to decide; support itself never sees the card.
    let support = (viewer.can(Permission::ManageUsers) && principal.support.is_none())
        .then(|| rows(&results, 1))
        .transpose()?
        .map(|sessions: Vec<crate::db::support::SupportRow>| {
            crate::views::support::card(&viewer, &sessions, &settings, now)
        });
    html(200, admin::team(&viewer, &users, now.0 as i64, support))
}

/// The bell's page: the caller's notices, newest first.
async fn notifications_page(env: &Env, principal: &Principal) -> AppResult<Response> {
    let database = db::database(env)?;
    let (settings, results) = load(
        &database,
        vec![db::statement(
            &database,
            notifications_db::SELECT_FOR_USER,
            &[
                db::text(&principal.user.id),
                db::int(notifications_db::LIST_LIMIT),
            ],
        )?],
    )
    .await?;
    let notices: Vec<notifications_db::Notification> = rows(&results, 0)?;
    let zone = Zone(settings.time_zone.clone());
    html(
        200,
        admin::notifications(&viewer(principal, &settings, &zone), &notices),
    )
}

async fn settings_page(env: &Env, principal: &Principal) -> AppResult<Response> {
    let database = db::database(env)?;
    let me = [db::text(&principal.user.id)];
    let (settings, results) = load(
        &database,
        vec![
            db::statement(&database, tokens_db::SELECT_FOR_USER, &me)?,
            db::statement(&database, messaging_db::SELECT_LINKS_OF_USER, &me)?,
            db::statement(&database, users_db::COUNT_RECOVERY_CODES, &me)?,
            db::statement(&database, messages_db::TIMING, &[])?,
            db::statement(&database, messages_db::TEMPLATES, &[])?,
            if principal.role.allows(Permission::ManageUsers) {
                db::statement(&database, crate::db::oauth::SELECT_GRANTS_ALL, &[])?
            } else {
                db::statement(&database, crate::db::oauth::SELECT_GRANTS_OF_USER, &me)?
            },
            db::statement(&database, crate::db::deletion::SELECT_OPEN, &[])?,
            db::statement(&database, crate::db::exports::SELECT_RECENT, &[])?,
        ],
    )
    .await?;
    let deletion: Option<crate::db::deletion::DeletionRow> = rows(&results, 6)?
        .into_iter()
        .find(|row: &crate::db::deletion::DeletionRow| row.status == "pending");
    let exports: Vec<crate::db::exports::ExportRow> = rows(&results, 7)?;
    let apps: Vec<crate::db::oauth::GrantRow> = rows(&results, 5)?;
    let timing: Option<TimingRow> = rows(&results, 3)?.into_iter().next();
    let templates: Vec<TemplateRow> = rows(&results, 4)?;
    let tokens: Vec<AccessToken> = rows(&results, 0)?;
    let links: Vec<LinkRow> = rows(&results, 1)?;
    #[derive(serde::Deserialize)]
    struct Remaining {
        remaining: i64,
    }
    let left = rows::<Remaining>(&results, 2)?
        .first()
        .map_or(0, |r| r.remaining);
    let zone = Zone(settings.time_zone.clone());
    let viewer = viewer(principal, &settings, &zone);
    let messages = timing
        .map(|timing| message_settings::card(&viewer, &timing, &templates))
        .unwrap_or_default();
    // The company as a whole (owners only): its export and its deletion, after the rest.
    let messages = maud::html! {
        (messages)
        (crate::views::company::cards(&viewer, deletion.as_ref(), &exports))
    };
    html(
        200,
        admin::settings(
            &viewer,
            &settings,
            &Mine {
                mfa_enabled: principal.user.mfa_enabled(),
                recovery_codes_left: left,
                links: &links,
                tokens: &tokens,
                apps: &apps,
            },
            messages,
        ),
    )
}

/// The confirmation before deleting one's own account (`POST /api/v1/me/delete`).
async fn delete_account_page(env: &Env, principal: &Principal) -> AppResult<Response> {
    #[derive(serde::Deserialize)]
    struct Owners {
        owners: i64,
    }
    let database = db::database(env)?;
    let (settings, results) = load(
        &database,
        vec![db::statement(
            &database,
            users_db::COUNT_ACTIVE_OWNERS,
            &[],
        )?],
    )
    .await?;
    let owners = rows::<Owners>(&results, 0)?.first().map_or(0, |o| o.owners);
    let user = &principal.user;
    let standing = crate::domain::auth::account::Standing {
        role: principal.role,
        active: user.is_active(),
        deleted: user.is_deleted(),
        active_owners: owners,
        last_deleted_number: 0,
    };
    let last_owner = crate::domain::auth::account::deletion(&standing)
        == Err(crate::domain::auth::account::Refused::LastOwner);
    let zone = Zone(settings.time_zone.clone());
    html(
        200,
        admin::delete_account(
            &viewer(principal, &settings, &zone),
            &admin::Deletion {
                mfa_enabled: user.mfa_enabled(),
                last_owner,
            },
        ),
    )
}

async fn audit_page(env: &Env, principal: &Principal, query: &Query) -> AppResult<Response> {
    let filter = AuditFilter {
        action: query.get("action").unwrap_or_default(),
        entity: query.get("entity").unwrap_or_default(),
        entity_id: query.get("entity_id").unwrap_or_default(),
        actor_id: query.get("actor_id").unwrap_or_default(),
        since: query.get("since").unwrap_or_default(),
        support: query.get("support").unwrap_or_default(),
    };
    let since_day = parse_date(filter.since);
    // The day starts at local midnight; the zone arrives with the rows, so ask for the widest
    // start any zone could have and drop the rows before the real one below.
    let wide_since = since_day.map(|day| Millis::from_ms(day - MAX_ZONE_OFFSET_MS).to_rfc3339());
    let before_seq = query
        .get("cursor")
        .and_then(|c| c.parse::<i64>().ok())
        .filter(|s| *s > 0);
    let given = |value: &str| db::opt_text(Some(value).filter(|v| !v.is_empty()));
    let database = db::database(env)?;
    let (settings, results) = load(
        &database,
        vec![
            db::statement(
                &database,
                audit_db::SELECT_RECENT,
                &[
                    given(filter.action),
                    given(filter.entity),
                    given(filter.entity_id),
                    given(filter.actor_id),
                    db::opt_text(wide_since.as_deref()),
                    db::opt_int(before_seq),
                    db::int(LIST_LIMIT),
                    given(filter.support),
                ],
            )?,
            people_statement(&database)?,
        ],
    )
    .await?;
    let zone = Zone(settings.time_zone.clone());
    let all: Vec<AuditRow> = rows(&results, 0)?;
    let next_cursor = (all.len() as i64 == LIST_LIMIT)
        .then(|| all.last().map(|r| r.seq))
        .flatten();
    let since = since_day.map(|day| zone.instant_of(day));
    let shown: Vec<AuditRow> = all
        .into_iter()
        .filter(|row| {
            since.is_none_or(|since| {
                Millis::parse_rfc3339(&row.at).is_some_and(|at| at.0 as i64 >= since)
            })
        })
        .collect();
    let people_rows = people(&results, 1)?;
    html(
        200,
        admin::audit(
            &viewer(principal, &settings, &zone),
            &filter,
            &shown,
            &People(&people_rows),
            next_cursor,
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_to_come_back_to_is_the_path_and_query() {
        assert_eq!(
            path_and_query("http://127.0.0.1:8787/jobs?status=x#frag"),
            "/jobs?status=x"
        );
        assert_eq!(path_and_query("https://acme.example.com/"), "/");
    }
}
