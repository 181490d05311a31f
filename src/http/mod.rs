//! HTTP glue: every request passes through [`serve`], which names it, routes it, turns any error
//! into problem+json, adds the common headers and writes the request's log line.

pub mod access;
pub mod api;
pub mod auth;
pub mod clock;
pub mod conversation;
pub mod crypto;
pub mod extract;
pub mod health;
pub mod idempotency;
pub mod mcp;
pub mod openapi;
pub mod ops;
pub mod pages;
pub mod panics;
pub mod prefetch;
pub mod respond;
pub mod router;
pub mod seal;
pub mod share;
pub mod sweep;
pub mod tools;
pub mod webhooks;
pub mod zone;

use worker::{console_log, Context, Date, Env, Request, Response};

use crate::domain::ids::RequestId;
use crate::error::{AppError, AppResult};
use crate::views::request_log::{level_for, RequestLog};
use auth::Principal;
use router::{dispatch, Dispatch, Matched, Route};

/// What a handler knows about the request besides the request itself.
pub struct RequestCtx {
    pub id: RequestId,
    pub started_ms: u64,
    /// The client's IP as Cloudflare reports it; none locally.
    pub ip: Option<String>,
    /// The handler's first reads, when they came with the principal's batch.
    pub ahead: prefetch::Prefetched,
}

impl RequestCtx {
    pub fn new(id: RequestId, started_ms: u64, ip: Option<String>) -> Self {
        Self {
            id,
            started_ms,
            ip,
            ahead: prefetch::Prefetched::default(),
        }
    }
}

pub async fn serve(req: Request, env: Env, ctx: Context) -> Response {
    panics::install_hook();
    let started_ms = Date::now().as_millis();
    let rctx = RequestCtx::new(request_id(&req), started_ms, auth::client_ip(&req));
    // `Request::method` maps unknown methods to GET; the raw string keeps them unknown.
    let method = req.inner().method();
    let path = req.path();

    let (mut response, error) = match handle(req, &env, &ctx, &rctx, &method, &path).await {
        Ok(response) => (response, None),
        Err(err) => {
            let response = if is_page(&method, &path) {
                pages::error_response(&err, rctx.id.as_str())
            } else {
                respond::problem(&err, &path, rctx.id.as_str())
            };
            (response, Some(err.to_string()))
        }
    };
    respond::add_common_headers(&mut response, rctx.id.as_str());

    let status = response.status_code();
    let line = RequestLog {
        level: level_for(status),
        msg: "request",
        request_id: rctx.id.as_str(),
        method: &method,
        path: &path,
        status,
        duration_ms: Date::now().as_millis().saturating_sub(started_ms),
        error: error.as_deref(),
    }
    .to_line();
    console_log!("{line}");
    // Whatever a write appended to the audit trail is sealed right after the response.
    if !matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
        seal::after_write(&ctx, env);
    }
    response
}

async fn handle(
    req: Request,
    env: &Env,
    ctx: &Context,
    rctx: &RequestCtx,
    method: &str,
    path: &str,
) -> AppResult<Response> {
    let matched = match dispatch(method, path)? {
        Dispatch::Handle(matched) => matched,
        Dispatch::Options { allow } => return Ok(respond::options(&allow)),
    };
    // MCP authenticates itself: its refusals carry the OAuth resource metadata, and its tool
    // calls come back through `route` below.
    match matched.route {
        Route::Mcp => return mcp::post(req, env, rctx).await,
        Route::McpResourceMetadata => return mcp::resource_metadata(&req, env),
        // Webhooks finish their work after the response, so they need the context.
        Route::TelegramWebhook => return webhooks::telegram(req, env, rctx, ctx).await,
        Route::SmsWebhook => return webhooks::sms(req, env, rctx, ctx).await,
        Route::StripeWebhook => return webhooks::stripe(req, env, rctx).await,
        // Customer pages answer HTML, even for their errors.
        Route::SharePage => return share::view(&req, env, rctx, &matched).await,
        Route::ShareAccept => {
            return share::act(req, env, rctx, &matched, share::Action::Accept).await
        }
        Route::ShareDecline => {
            return share::act(req, env, rctx, &matched, share::Action::Decline).await
        }
        Route::SharePay => return share::act(req, env, rctx, &matched, share::Action::Pay).await,
        // Pages authenticate themselves: a visitor who is not signed in is sent to sign in.
        Route::Page(page) => return pages::serve(req, env, page, &matched).await,
        _ => {}
    }
    let principal = auth::check(&req, env, rctx, &matched, method).await?;
    route(req, env, rctx, &matched, principal.as_ref()).await
}

/// Runs the handler of a matched request whose guard was passed by `principal` (none for
/// public and operator routes). Tools call this too, with the request they build.
pub(crate) async fn route(
    req: Request,
    env: &Env,
    rctx: &RequestCtx,
    matched: &Matched,
    principal: Option<&Principal>,
) -> AppResult<Response> {
    // Guarded routes always have a principal; the match below relies on it.
    let me = || principal.ok_or_else(|| AppError::internal("guarded route without principal"));
    match matched.route {
        Route::Mcp
        | Route::McpResourceMetadata
        | Route::TelegramWebhook
        | Route::SmsWebhook
        | Route::StripeWebhook
        | Route::SharePage
        | Route::ShareAccept
        | Route::ShareDecline
        | Route::SharePay
        | Route::Page(_) => Err(AppError::internal("not reachable from a tool")),
        Route::ListLinks => api::links::list(env, me()?).await,
        Route::CreateLinkCode => api::links::create_code(env, rctx, me()?).await,
        Route::DeleteLink => api::links::delete(env, rctx, me()?, matched).await,
        Route::Health => health::get(env).await,
        Route::OpenApi => Ok(respond::json_string(200, openapi::DOCUMENT.to_owned())),
        Route::OpsSelfcheck => ops::selfcheck(req, env, rctx).await,
        Route::OpsPanic => ops::panic(&req, env),
        Route::OpsClock => ops::clock(req, env).await,
        Route::OpsCreateOwner => ops::create_owner(req, env, rctx).await,
        Route::Login => api::session::login(req, env, rctx).await,
        Route::LoginMfa => api::session::login_mfa(req, env, rctx).await,
        Route::Logout => api::session::logout(&req, env, me()?).await,
        Route::AcceptInvite => api::session::accept_invite(req, env, rctx).await,
        Route::Me => api::me::get(env, me()?).await,
        Route::MfaEnroll => api::me::mfa_enroll(env, rctx, me()?).await,
        Route::MfaConfirm => api::me::mfa_confirm(req, env, rctx, me()?).await,
        Route::MfaDisable => api::me::mfa_disable(req, env, rctx, me()?).await,
        Route::ChangePassword => api::me::change_password(req, env, rctx, me()?).await,
        Route::ListTokens => api::tokens::list(env, me()?).await,
        Route::CreateToken => api::tokens::create(req, env, rctx, me()?).await,
        Route::RevokeToken => api::tokens::revoke(&req, env, rctx, me()?, matched).await,
        Route::ListUsers => api::users::list(env).await,
        Route::InviteUser => api::users::invite(req, env, rctx, me()?).await,
        Route::UpdateUser => api::users::update(req, env, rctx, me()?, matched).await,
        Route::UnlockUser => api::users::unlock(env, rctx, me()?, matched).await,
        Route::GetSettings => api::settings::get(env).await,
        Route::UpdateSettings => api::settings::update(req, env, rctx, me()?).await,
        Route::ListAudit => api::audit::list(&req, env).await,
        Route::VerifyAudit => api::audit::verify(&req, env).await,
        Route::ListCustomers => api::customers::list(&req, env).await,
        Route::CreateCustomer => api::customers::create(req, env, rctx, me()?).await,
        Route::GetCustomer => api::customers::get(env, rctx, matched).await,
        Route::UpdateCustomer => api::customers::update(req, env, rctx, me()?, matched).await,
        Route::ArchiveCustomer => api::customers::archive(&req, env, rctx, me()?, matched).await,
        Route::CreateSite => api::customers::create_site(req, env, rctx, me()?, matched).await,
        Route::UpdateSite => api::customers::update_site(req, env, rctx, me()?, matched).await,
        Route::ListJobs => api::jobs::list(&req, env, rctx, me()?).await,
        Route::CreateJob => api::jobs::create(req, env, rctx, me()?).await,
        Route::GetJob => api::jobs::get(env, rctx, me()?, matched).await,
        Route::UpdateJob => api::jobs::update(req, env, rctx, me()?, matched).await,
        Route::SetJobStatus => api::jobs::set_status(req, env, rctx, me()?, matched).await,
        Route::AddJobNote => api::jobs::add_note(req, env, rctx, me()?, matched).await,
        Route::JobTimeline => api::jobs::timeline(env, rctx, me()?, matched).await,
        Route::ListVisits => api::visits::list(&req, env, me()?).await,
        Route::CreateVisits => api::visits::create(req, env, rctx, me()?, matched).await,
        Route::UpdateVisit => api::visits::update(req, env, rctx, me()?, matched).await,
        Route::DeleteVisit => api::visits::delete(&req, env, rctx, me()?, matched).await,
        // Money.
        Route::ListQuotes => api::quotes::list(&req, env).await,
        Route::CreateQuote => api::quotes::create(req, env, rctx, me()?).await,
        Route::GetQuote => api::quotes::get(env, rctx, matched).await,
        Route::UpdateQuote => api::quotes::update(req, env, rctx, me()?, matched).await,
        Route::DeleteQuote => api::quotes::delete(&req, env, rctx, me()?, matched).await,
        Route::SendQuote | Route::ReviseQuote | Route::DeclineQuote => {
            let step = match matched.route {
                Route::SendQuote => api::quotes::Move::Send,
                Route::ReviseQuote => api::quotes::Move::Revise,
                _ => api::quotes::Move::Decline,
            };
            api::quotes::move_status(&req, env, rctx, me()?, matched, step).await
        }
        Route::PreviewQuote => api::quotes::preview(req, env, matched).await,
        Route::AcceptQuote => api::quotes::accept(req, env, rctx, me()?, matched).await,
        Route::ConvertQuote => api::quotes::convert(&req, env, rctx, me()?, matched).await,
        Route::ListInvoices => api::invoices::list(&req, env).await,
        Route::CreateInvoice => api::invoices::create(req, env, rctx, me()?).await,
        Route::GetInvoice => api::invoices::get(env, rctx, matched).await,
        Route::UpdateInvoice => api::invoices::update(req, env, rctx, me()?, matched).await,
        Route::DeleteInvoice => api::invoices::delete(&req, env, rctx, me()?, matched).await,
        Route::PreviewInvoice => api::invoices::preview(req, env, matched).await,
        Route::IssueInvoice => api::invoices::issue(&req, env, rctx, me()?, matched).await,
        Route::VoidInvoice => api::invoices::void_invoice(&req, env, rctx, me()?, matched).await,
        Route::RecordPayment => api::invoices::record_payment(req, env, rctx, me()?, matched).await,
        Route::CreditInvoice => api::invoices::credit_note(&req, env, rctx, me()?, matched).await,
        Route::ShareQuote | Route::ShareInvoice => {
            let kind = match matched.route {
                Route::ShareQuote => crate::domain::share_links::DocumentKind::Quote,
                _ => crate::domain::share_links::DocumentKind::Invoice,
            };
            api::share_links::create(req, env, rctx, me()?, matched, kind).await
        }
        Route::RevokeShareLink => api::share_links::revoke(&req, env, rctx, me()?, matched).await,
    }
}

/// Whether an error on this request should be an HTML page (a browser asked for a page).
fn is_page(method: &str, path: &str) -> bool {
    matches!(
        dispatch(method, path),
        Ok(Dispatch::Handle(Matched { route: Route::Page(page), .. })) if page != router::Page::Asset
    )
}

/// Adopts a well-formed incoming `X-Request-Id`, otherwise makes a new random one.
fn request_id(req: &Request) -> RequestId {
    req.headers()
        .get("X-Request-Id")
        .ok()
        .flatten()
        .and_then(|value| RequestId::from_incoming(&value))
        .unwrap_or_else(|| {
            let mut bytes = [0u8; 16];
            // Without entropy a colliding id is the lesser harm: the request still runs.
            let _ = getrandom::fill(&mut bytes);
            RequestId::from_random(bytes)
        })
}
