//! The route table: the only place URL paths appear. Pure, so matching is tested on the host
//! and the table can be compared with the published API description.

use crate::error::AppError;

use crate::domain::auth::permissions::Permission;

/// Every endpoint the Worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Health,
    OpsSelfcheck,
    OpsPanic,
    OpsClock,
    OpsCreateOwner,
    Login,
    LoginMfa,
    Logout,
    AcceptInvite,
    Me,
    MfaEnroll,
    MfaConfirm,
    MfaDisable,
    ChangePassword,
    ListTokens,
    CreateToken,
    RevokeToken,
    ListUsers,
    InviteUser,
    UpdateUser,
    UnlockUser,
    GetSettings,
    UpdateSettings,
    ListAudit,
    VerifyAudit,
    ListCustomers,
    CreateCustomer,
    GetCustomer,
    UpdateCustomer,
    ArchiveCustomer,
    CreateSite,
    UpdateSite,
    ListJobs,
    CreateJob,
    GetJob,
    UpdateJob,
    SetJobStatus,
    AddJobNote,
    JobTimeline,
    ListVisits,
    CreateVisits,
    UpdateVisit,
    DeleteVisit,
    // Money: quotes, invoices, payments.
    ListQuotes,
    CreateQuote,
    GetQuote,
    UpdateQuote,
    DeleteQuote,
    SendQuote,
    PreviewQuote,
    PreviewInvoice,
    ReviseQuote,
    AcceptQuote,
    DeclineQuote,
    ConvertQuote,
    ListInvoices,
    CreateInvoice,
    GetInvoice,
    UpdateInvoice,
    DeleteInvoice,
    IssueInvoice,
    VoidInvoice,
    RecordPayment,
    CreditInvoice,
    ShareQuote,
    ShareInvoice,
    RevokeShareLink,
    OpenApi,
    Mcp,
    McpResourceMetadata,
    TelegramWebhook,
    SmsWebhook,
    StripeWebhook,
    SharePage,
    ShareAccept,
    ShareDecline,
    SharePay,
    ListLinks,
    CreateLinkCode,
    DeleteLink,
    /// A dashboard page or asset (`PAGES`), served by `http::pages`.
    Page(Page),
}

/// The dashboard's pages: server-rendered HTML for people in a browser. A page's guard is the
/// one its API routes need; a visitor who is not signed in is sent to sign in, not given a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    SignIn,
    AcceptInvite,
    Mfa,
    Schedule,
    Jobs,
    NewJob,
    Job,
    Customers,
    NewCustomer,
    Customer,
    Money,
    Quote,
    Invoice,
    Team,
    Settings,
    Audit,
    /// `app.js`, `app.css` and the icon under a name that is not this build's (Workers Static
    /// Assets serves this build's names before the Worker runs).
    Asset,
}

/// Who may call a route; checked before the handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Anyone (the handler may still authenticate, e.g. a share token or a password).
    Public,
    /// The operator token (`OPS_TOKEN`), checked by the handler.
    Operator,
    /// Any signed-in user, even one who must still enrol in MFA: what enrolment itself needs.
    SignedIn,
    /// A signed-in user whose role has the permission (and who has MFA if the company requires it).
    Needs(Permission),
    /// Any signed-in user who has MFA if the company requires it.
    Member,
}

/// One path pattern and the methods it answers. `{name}` segments capture a parameter.
pub struct RouteEntry {
    pub pattern: &'static str,
    pub methods: &'static [(&'static str, Route, Guard)],
}

use Guard::*;
use Permission::*;

pub const ROUTES: &[RouteEntry] = &[
    RouteEntry {
        pattern: "/healthz",
        methods: &[("GET", Route::Health, Public)],
    },
    RouteEntry {
        pattern: "/api/v1/openapi.json",
        methods: &[("GET", Route::OpenApi, Public)],
    },
    RouteEntry {
        pattern: "/mcp",
        methods: &[("POST", Route::Mcp, Public)],
    },
    // RFC 9728: the metadata of the protected resource `/mcp`, at the root and path-suffixed.
    RouteEntry {
        pattern: "/.well-known/oauth-protected-resource",
        methods: &[("GET", Route::McpResourceMetadata, Public)],
    },
    RouteEntry {
        pattern: "/.well-known/oauth-protected-resource/mcp",
        methods: &[("GET", Route::McpResourceMetadata, Public)],
    },
    RouteEntry {
        pattern: "/webhooks/telegram",
        methods: &[("POST", Route::TelegramWebhook, Public)],
    },
    RouteEntry {
        pattern: "/webhooks/sms",
        methods: &[("POST", Route::SmsWebhook, Public)],
    },
    RouteEntry {
        pattern: "/webhooks/stripe",
        methods: &[("POST", Route::StripeWebhook, Public)],
    },
    // The customer's pages behind a share link: the token is the credential.
    RouteEntry {
        pattern: "/s/{token}",
        methods: &[("GET", Route::SharePage, Public)],
    },
    RouteEntry {
        pattern: "/s/{token}/accept",
        methods: &[("POST", Route::ShareAccept, Public)],
    },
    RouteEntry {
        pattern: "/s/{token}/decline",
        methods: &[("POST", Route::ShareDecline, Public)],
    },
    RouteEntry {
        pattern: "/s/{token}/pay",
        methods: &[("POST", Route::SharePay, Public)],
    },
    RouteEntry {
        pattern: "/ops/selfcheck",
        methods: &[("POST", Route::OpsSelfcheck, Operator)],
    },
    RouteEntry {
        pattern: "/ops/panic",
        methods: &[("POST", Route::OpsPanic, Operator)],
    },
    RouteEntry {
        pattern: "/ops/clock",
        methods: &[("POST", Route::OpsClock, Operator)],
    },
    RouteEntry {
        pattern: "/ops/owners",
        methods: &[("POST", Route::OpsCreateOwner, Operator)],
    },
    RouteEntry {
        pattern: "/api/v1/auth/login",
        methods: &[("POST", Route::Login, Public)],
    },
    RouteEntry {
        pattern: "/api/v1/auth/login/mfa",
        methods: &[("POST", Route::LoginMfa, Public)],
    },
    RouteEntry {
        pattern: "/api/v1/auth/logout",
        methods: &[("POST", Route::Logout, SignedIn)],
    },
    RouteEntry {
        pattern: "/api/v1/auth/invites/accept",
        methods: &[("POST", Route::AcceptInvite, Public)],
    },
    RouteEntry {
        pattern: "/api/v1/me",
        methods: &[("GET", Route::Me, SignedIn)],
    },
    RouteEntry {
        pattern: "/api/v1/me/mfa/enroll",
        methods: &[("POST", Route::MfaEnroll, SignedIn)],
    },
    RouteEntry {
        pattern: "/api/v1/me/mfa/confirm",
        methods: &[("POST", Route::MfaConfirm, SignedIn)],
    },
    RouteEntry {
        pattern: "/api/v1/me/mfa/disable",
        methods: &[("POST", Route::MfaDisable, Member)],
    },
    RouteEntry {
        pattern: "/api/v1/me/password",
        methods: &[("POST", Route::ChangePassword, Member)],
    },
    RouteEntry {
        pattern: "/api/v1/me/links",
        methods: &[
            ("GET", Route::ListLinks, Member),
            ("POST", Route::CreateLinkCode, Member),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/me/links/{id}",
        methods: &[("DELETE", Route::DeleteLink, Member)],
    },
    RouteEntry {
        pattern: "/api/v1/tokens",
        methods: &[
            ("GET", Route::ListTokens, Member),
            ("POST", Route::CreateToken, Member),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/tokens/{id}",
        methods: &[("DELETE", Route::RevokeToken, Member)],
    },
    RouteEntry {
        pattern: "/api/v1/users",
        methods: &[("GET", Route::ListUsers, Needs(ViewUsers))],
    },
    RouteEntry {
        pattern: "/api/v1/users/invites",
        methods: &[("POST", Route::InviteUser, Needs(ManageUsers))],
    },
    RouteEntry {
        pattern: "/api/v1/users/{id}",
        methods: &[("PATCH", Route::UpdateUser, Needs(ManageUsers))],
    },
    RouteEntry {
        pattern: "/api/v1/users/{id}/unlock",
        methods: &[("POST", Route::UnlockUser, Needs(ManageUsers))],
    },
    RouteEntry {
        pattern: "/api/v1/settings",
        methods: &[
            ("GET", Route::GetSettings, Needs(ViewSettings)),
            ("PATCH", Route::UpdateSettings, Needs(ManageSettings)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/audit",
        methods: &[("GET", Route::ListAudit, Needs(ViewAudit))],
    },
    RouteEntry {
        pattern: "/api/v1/audit/verify",
        methods: &[("GET", Route::VerifyAudit, Needs(ViewAudit))],
    },
    RouteEntry {
        pattern: "/api/v1/customers",
        methods: &[
            ("GET", Route::ListCustomers, Needs(ViewRecords)),
            ("POST", Route::CreateCustomer, Needs(ManageRecords)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/customers/{id}",
        methods: &[
            ("GET", Route::GetCustomer, Needs(ViewRecords)),
            ("PATCH", Route::UpdateCustomer, Needs(ManageRecords)),
            ("DELETE", Route::ArchiveCustomer, Needs(ManageRecords)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/customers/{id}/sites",
        methods: &[("POST", Route::CreateSite, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/sites/{id}",
        methods: &[("PATCH", Route::UpdateSite, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/jobs",
        methods: &[
            ("GET", Route::ListJobs, Needs(ViewRecords)),
            ("POST", Route::CreateJob, Needs(ManageRecords)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/jobs/{id}",
        methods: &[
            ("GET", Route::GetJob, Needs(ViewRecords)),
            ("PATCH", Route::UpdateJob, Needs(WorkOnJobs)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/jobs/{id}/status",
        methods: &[("POST", Route::SetJobStatus, Needs(WorkOnJobs))],
    },
    RouteEntry {
        pattern: "/api/v1/jobs/{id}/notes",
        methods: &[("POST", Route::AddJobNote, Needs(WorkOnJobs))],
    },
    RouteEntry {
        pattern: "/api/v1/jobs/{id}/timeline",
        methods: &[("GET", Route::JobTimeline, Needs(ViewRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/jobs/{id}/visits",
        methods: &[("POST", Route::CreateVisits, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/visits",
        methods: &[("GET", Route::ListVisits, Needs(ViewRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/visits/{id}",
        methods: &[
            // Technicians may move their own visits (the handler checks whose).
            ("PATCH", Route::UpdateVisit, Needs(WorkOnJobs)),
            ("DELETE", Route::DeleteVisit, Needs(ManageRecords)),
        ],
    },
    // Money: read by whoever may see money (not technicians), written by record managers.
    RouteEntry {
        pattern: "/api/v1/quotes",
        methods: &[
            ("GET", Route::ListQuotes, Needs(ViewMoney)),
            ("POST", Route::CreateQuote, Needs(ManageRecords)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/quotes/{id}",
        methods: &[
            ("GET", Route::GetQuote, Needs(ViewMoney)),
            ("PATCH", Route::UpdateQuote, Needs(ManageRecords)),
            ("DELETE", Route::DeleteQuote, Needs(ManageRecords)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/quotes/{id}/preview",
        methods: &[("POST", Route::PreviewQuote, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/invoices/{id}/preview",
        methods: &[("POST", Route::PreviewInvoice, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/quotes/{id}/send",
        methods: &[("POST", Route::SendQuote, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/quotes/{id}/revise",
        methods: &[("POST", Route::ReviseQuote, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/quotes/{id}/accept",
        methods: &[("POST", Route::AcceptQuote, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/quotes/{id}/decline",
        methods: &[("POST", Route::DeclineQuote, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/quotes/{id}/convert",
        methods: &[("POST", Route::ConvertQuote, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/invoices",
        methods: &[
            ("GET", Route::ListInvoices, Needs(ViewMoney)),
            ("POST", Route::CreateInvoice, Needs(ManageRecords)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/invoices/{id}",
        methods: &[
            ("GET", Route::GetInvoice, Needs(ViewMoney)),
            ("PATCH", Route::UpdateInvoice, Needs(ManageRecords)),
            ("DELETE", Route::DeleteInvoice, Needs(ManageRecords)),
        ],
    },
    RouteEntry {
        pattern: "/api/v1/invoices/{id}/issue",
        methods: &[("POST", Route::IssueInvoice, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/invoices/{id}/void",
        methods: &[("POST", Route::VoidInvoice, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/invoices/{id}/payments",
        methods: &[("POST", Route::RecordPayment, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/invoices/{id}/credit-note",
        methods: &[("POST", Route::CreditInvoice, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/quotes/{id}/share",
        methods: &[("POST", Route::ShareQuote, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/invoices/{id}/share",
        methods: &[("POST", Route::ShareInvoice, Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/api/v1/share-links/{id}",
        methods: &[("DELETE", Route::RevokeShareLink, Needs(ManageRecords))],
    },
];

/// The dashboard, apart from the API table so the API description and the permission matrix
/// stay about the API. Matched after `ROUTES`.
pub const PAGES: &[RouteEntry] = &[
    RouteEntry {
        pattern: "/",
        methods: &[("GET", Route::Page(Page::Home), Member)],
    },
    RouteEntry {
        pattern: "/login",
        methods: &[("GET", Route::Page(Page::SignIn), Public)],
    },
    RouteEntry {
        pattern: "/invite/{token}",
        methods: &[("GET", Route::Page(Page::AcceptInvite), Public)],
    },
    RouteEntry {
        pattern: "/mfa",
        methods: &[("GET", Route::Page(Page::Mfa), SignedIn)],
    },
    RouteEntry {
        pattern: "/schedule",
        methods: &[("GET", Route::Page(Page::Schedule), Needs(ViewRecords))],
    },
    RouteEntry {
        pattern: "/jobs",
        methods: &[("GET", Route::Page(Page::Jobs), Needs(ViewRecords))],
    },
    // Before `/jobs/{id}`, which would otherwise take "new" for an id.
    RouteEntry {
        pattern: "/jobs/new",
        methods: &[("GET", Route::Page(Page::NewJob), Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/jobs/{id}",
        methods: &[("GET", Route::Page(Page::Job), Needs(ViewRecords))],
    },
    RouteEntry {
        pattern: "/customers",
        methods: &[("GET", Route::Page(Page::Customers), Needs(ViewRecords))],
    },
    RouteEntry {
        pattern: "/money",
        methods: &[("GET", Route::Page(Page::Money), Needs(ViewMoney))],
    },
    RouteEntry {
        pattern: "/quotes/{id}",
        methods: &[("GET", Route::Page(Page::Quote), Needs(ViewMoney))],
    },
    RouteEntry {
        pattern: "/invoices/{id}",
        methods: &[("GET", Route::Page(Page::Invoice), Needs(ViewMoney))],
    },
    RouteEntry {
        pattern: "/customers/new",
        methods: &[("GET", Route::Page(Page::NewCustomer), Needs(ManageRecords))],
    },
    RouteEntry {
        pattern: "/customers/{id}",
        methods: &[("GET", Route::Page(Page::Customer), Needs(ViewRecords))],
    },
    RouteEntry {
        pattern: "/team",
        methods: &[("GET", Route::Page(Page::Team), Needs(ViewUsers))],
    },
    RouteEntry {
        pattern: "/settings",
        methods: &[("GET", Route::Page(Page::Settings), Member)],
    },
    RouteEntry {
        pattern: "/audit",
        methods: &[("GET", Route::Page(Page::Audit), Needs(ViewAudit))],
    },
    RouteEntry {
        pattern: "/assets/{file}",
        methods: &[("GET", Route::Page(Page::Asset), Public)],
    },
];

/// A matched request: the route and the captured path parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    pub route: Route,
    pub guard: Guard,
    pub params: Vec<(&'static str, String)>,
}

impl Matched {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What the router decided about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Dispatch {
    Handle(Matched),
    /// `OPTIONS` on a known path: answered with the allowed methods and no body.
    Options {
        allow: String,
    },
}

/// Finds the route for `method` and `path`. `HEAD` is served wherever `GET` is.
pub fn dispatch(method: &str, path: &str) -> Result<Dispatch, AppError> {
    let Some((entry, params)) = ROUTES
        .iter()
        .chain(PAGES)
        .find_map(|entry| match_pattern(entry.pattern, path).map(|params| (entry, params)))
    else {
        return Err(AppError::not_found_route(path));
    };
    let lookup = if method == "HEAD" { "GET" } else { method };
    if let Some((_, route, guard)) = entry.methods.iter().find(|(m, _, _)| *m == lookup) {
        return Ok(Dispatch::Handle(Matched {
            route: *route,
            guard: *guard,
            params,
        }));
    }
    let allowed = allowed_methods(entry);
    if method == "OPTIONS" {
        return Ok(Dispatch::Options {
            allow: allowed.join(", "),
        });
    }
    Err(AppError::method_not_allowed(method, &allowed))
}

fn allowed_methods(entry: &RouteEntry) -> Vec<&'static str> {
    let mut allowed: Vec<&'static str> = entry.methods.iter().map(|(m, _, _)| *m).collect();
    if allowed.contains(&"GET") {
        allowed.push("HEAD");
    }
    allowed.push("OPTIONS");
    allowed
}

/// Matches `path` against `pattern` segment by segment; `{name}` captures one non-empty,
/// percent-decoded-free segment.
fn match_pattern(pattern: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let mut params = Vec::new();
    let mut pattern_segments = pattern.split('/');
    let mut path_segments = path.split('/');
    loop {
        match (pattern_segments.next(), path_segments.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) => {
                if let Some(name) = p.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if s.is_empty() {
                        return None;
                    }
                    params.push((name, s.to_owned()));
                } else if p != s {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route_of(method: &str, path: &str) -> Route {
        match dispatch(method, path) {
            Ok(Dispatch::Handle(m)) => m.route,
            other => panic!("{method} {path}: {other:?}"),
        }
    }

    #[test]
    fn known_paths_reach_their_routes() {
        assert_eq!(route_of("GET", "/healthz"), Route::Health);
        assert_eq!(route_of("HEAD", "/healthz"), Route::Health);
        assert_eq!(route_of("POST", "/ops/selfcheck"), Route::OpsSelfcheck);
        assert_eq!(route_of("POST", "/ops/panic"), Route::OpsPanic);
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in ["/nope", "/healthz/", "/healthz/x", "//healthz", "/HEALTHZ"] {
            let err = dispatch("GET", path).unwrap_err();
            assert_eq!(err.status(), 404, "{path}");
        }
    }

    #[test]
    fn a_wrong_method_is_refused_with_the_allowed_ones() {
        let err = dispatch("DELETE", "/healthz").unwrap_err();
        assert_eq!(err.status(), 405);
        assert_eq!(
            err.headers,
            vec![("Allow", "GET, HEAD, OPTIONS".to_owned())]
        );
        let err = dispatch("GET", "/ops/selfcheck").unwrap_err();
        assert_eq!(err.headers, vec![("Allow", "POST, OPTIONS".to_owned())]);
    }

    #[test]
    fn options_lists_the_allowed_methods() {
        assert_eq!(
            dispatch("OPTIONS", "/healthz").unwrap(),
            Dispatch::Options {
                allow: "GET, HEAD, OPTIONS".to_owned()
            }
        );
    }

    #[test]
    fn parameters_are_captured_by_name() {
        let params = match_pattern("/api/v1/jobs/{id}/notes/{note}", "/api/v1/jobs/42/notes/7");
        assert_eq!(
            params,
            Some(vec![("id", "42".to_owned()), ("note", "7".to_owned())])
        );
        assert_eq!(match_pattern("/api/v1/jobs/{id}", "/api/v1/jobs/"), None);
        assert_eq!(match_pattern("/api/v1/jobs/{id}", "/api/v1/jobs/1/x"), None);
    }

    #[test]
    fn pages_are_matched_after_the_api_and_new_is_not_an_id() {
        assert_eq!(route_of("GET", "/"), Route::Page(Page::Home));
        assert_eq!(route_of("GET", "/jobs/new"), Route::Page(Page::NewJob));
        assert_eq!(route_of("GET", "/jobs/42"), Route::Page(Page::Job));
        assert_eq!(route_of("HEAD", "/assets/app.js"), Route::Page(Page::Asset));
        assert_eq!(dispatch("POST", "/jobs").unwrap_err().status(), 405);
        for entry in PAGES {
            assert!(!entry.pattern.starts_with("/api/"), "{}", entry.pattern);
            for (method, _, _) in entry.methods {
                assert_eq!(*method, "GET", "pages only read; writes go through the API");
            }
        }
    }

    #[test]
    fn every_pattern_is_unique_and_every_method_is_upper_case() {
        let mut patterns: Vec<_> = ROUTES.iter().chain(PAGES).map(|r| r.pattern).collect();
        patterns.sort_unstable();
        patterns.dedup();
        assert_eq!(patterns.len(), ROUTES.len() + PAGES.len());
        for entry in ROUTES.iter().chain(PAGES) {
            assert!(entry.pattern.starts_with('/'));
            for (method, _, _) in entry.methods {
                assert_eq!(*method, method.to_ascii_uppercase());
            }
        }
    }
}
