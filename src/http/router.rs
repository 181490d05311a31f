//! The route table: the only place URL paths appear. Pure, so matching is tested on the host
//! and the table can be compared with the published API description.

use crate::domain::auth::permissions::Permission;
use crate::error::AppError;

pub use super::routes::{Route, ROUTES};

/// The dashboard's pages: server-rendered HTML for people in a browser. A page's guard is the
/// one its API routes need; a visitor who is not signed in is sent to sign in, not given a 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    SignIn,
    AcceptInvite,
    Mfa,
    Password,
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
    /// The confirmation before a user deletes their own account.
    DeleteAccount,
    Audit,
    Notifications,
    /// The OAuth consent (`http::oauth`): behind the sign-in like every page.
    Consent,
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
    /// Any signed-in user, even one who must still change a generated password or enrol in
    /// MFA: who am I, signing out, changing the password.
    SignedIn,
    /// A signed-in user who may still lack the MFA the company requires (what enrolment
    /// itself needs), once any generated password is changed.
    Enrolling,
    /// A signed-in user whose role has the permission (and who has MFA if the company requires it).
    Needs(Permission),
    /// Any signed-in user who has MFA if the company requires it.
    Member,
}

/// One method on one path pattern, and who may call it. `{name}` segments capture a parameter.
#[derive(Debug, Clone, Copy)]
pub struct RouteDecl {
    pub method: &'static str,
    pub pattern: &'static str,
    pub route: Route,
    pub guard: Guard,
}

use Guard::*;
use Permission::*;

/// The dashboard, apart from the API table so the API description and the permission matrix
/// stay about the API. Matched after `ROUTES`.
pub const PAGES: &[RouteDecl] = &[
    RouteDecl {
        method: "GET",
        pattern: "/",
        route: Route::Page(Page::Home),
        guard: Member,
    },
    RouteDecl {
        method: "GET",
        pattern: "/login",
        route: Route::Page(Page::SignIn),
        guard: Public,
    },
    RouteDecl {
        method: "GET",
        pattern: "/invite/{token}",
        route: Route::Page(Page::AcceptInvite),
        guard: Public,
    },
    RouteDecl {
        method: "GET",
        pattern: "/mfa",
        route: Route::Page(Page::Mfa),
        guard: Enrolling,
    },
    RouteDecl {
        method: "GET",
        pattern: "/password",
        route: Route::Page(Page::Password),
        guard: SignedIn,
    },
    RouteDecl {
        method: "GET",
        pattern: "/schedule",
        route: Route::Page(Page::Schedule),
        guard: Needs(ViewRecords),
    },
    RouteDecl {
        method: "GET",
        pattern: "/jobs",
        route: Route::Page(Page::Jobs),
        guard: Needs(ViewRecords),
    },
    // Before `/jobs/{id}`, which would otherwise take "new" for an id.
    RouteDecl {
        method: "GET",
        pattern: "/jobs/new",
        route: Route::Page(Page::NewJob),
        guard: Needs(ManageRecords),
    },
    RouteDecl {
        method: "GET",
        pattern: "/jobs/{id}",
        route: Route::Page(Page::Job),
        guard: Needs(ViewRecords),
    },
    RouteDecl {
        method: "GET",
        pattern: "/customers",
        route: Route::Page(Page::Customers),
        guard: Needs(ViewRecords),
    },
    RouteDecl {
        method: "GET",
        pattern: "/money",
        route: Route::Page(Page::Money),
        guard: Needs(ViewMoney),
    },
    RouteDecl {
        method: "GET",
        pattern: "/quotes/{id}",
        route: Route::Page(Page::Quote),
        guard: Needs(ViewMoney),
    },
    RouteDecl {
        method: "GET",
        pattern: "/invoices/{id}",
        route: Route::Page(Page::Invoice),
        guard: Needs(ViewMoney),
    },
    RouteDecl {
        method: "GET",
        pattern: "/customers/new",
        route: Route::Page(Page::NewCustomer),
        guard: Needs(ManageRecords),
    },
    RouteDecl {
        method: "GET",
        pattern: "/customers/{id}",
        route: Route::Page(Page::Customer),
        guard: Needs(ViewRecords),
    },
    RouteDecl {
        method: "GET",
        pattern: "/team",
        route: Route::Page(Page::Team),
        guard: Needs(ViewUsers),
    },
    RouteDecl {
        method: "GET",
        pattern: "/settings",
        route: Route::Page(Page::Settings),
        guard: Member,
    },
    RouteDecl {
        method: "GET",
        pattern: "/settings/delete-account",
        route: Route::Page(Page::DeleteAccount),
        guard: Member,
    },
    RouteDecl {
        method: "GET",
        pattern: "/audit",
        route: Route::Page(Page::Audit),
        guard: Needs(ViewAudit),
    },
    RouteDecl {
        method: "GET",
        pattern: "/notifications",
        route: Route::Page(Page::Notifications),
        guard: SignedIn,
    },
    RouteDecl {
        method: "GET",
        pattern: "/oauth/consent",
        route: Route::Page(Page::Consent),
        guard: Member,
    },
    RouteDecl {
        method: "GET",
        pattern: "/assets/{file}",
        route: Route::Page(Page::Asset),
        guard: Public,
    },
];

/// A matched request: the route and the captured path parameters.
#[derive(Debug, PartialEq, Eq)]
pub struct Matched {
    pub route: Route,
    pub guard: Guard,
    /// The declared path (`/api/v1/jobs/{id}`): what support's restrictions read.
    pub pattern: &'static str,
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

/// Finds the route for `method` and `path`. `HEAD` is served wherever `GET` is. The first
/// pattern that matches the path decides; its methods are the ones declared with it.
pub fn dispatch(method: &str, path: &str) -> Result<Dispatch, AppError> {
    let table = || ROUTES.iter().chain(PAGES);
    let Some((pattern, params)) =
        table().find_map(|d| match_pattern(d.pattern, path).map(|params| (d.pattern, params)))
    else {
        return Err(AppError::not_found_route(path));
    };
    let same_path = || table().filter(move |d| d.pattern == pattern);
    let lookup = if method == "HEAD" { "GET" } else { method };
    if let Some(decl) = same_path().find(|d| d.method == lookup) {
        return Ok(Dispatch::Handle(Matched {
            route: decl.route,
            guard: decl.guard,
            pattern,
            params,
        }));
    }
    let mut allowed: Vec<&'static str> = same_path().map(|d| d.method).collect();
    if allowed.contains(&"GET") {
        allowed.push("HEAD");
    }
    allowed.push("OPTIONS");
    if method == "OPTIONS" {
        return Ok(Dispatch::Options {
            allow: allowed.join(", "),
        });
    }
    Err(AppError::method_not_allowed(method, &allowed))
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

/// Declares every route (see `routes.rs`): each line is
/// `Name: METHOD "/path/{param}", guard, QueryType => api|own handler-expression, description;`.
/// It makes the `Route` enum (plus `Page`), the `ROUTES` table, `route` (the guarded `api`
/// handlers, also what tools call), `route_own` (the `own` handlers, before any guard) and on
/// the host `operation` (the description of each route). `bind(...)` names the variables the
/// handler expressions use: the request, `Env`, `Context`, `RequestCtx`, `Matched`, a closure
/// giving the principal, and the parsed query.
#[macro_export]
macro_rules! routes {
    (
        bind($req:ident, $env:ident, $ctx:ident, $rctx:ident, $matched:ident, $me:ident, $query:ident);
        $( $name:ident : $method:ident $path:literal, $guard:expr, $q:ty
            => $mode:ident $run:expr, $doc:expr; )*
    ) => {
        /// Every endpoint the Worker serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Route {
            $( $name, )*
            /// A dashboard page or asset (`router::PAGES`), served by `http::pages`.
            Page($crate::http::router::Page),
        }

        /// The API's routes, in matching order (before the dashboard's `PAGES`).
        pub const ROUTES: &[$crate::http::router::RouteDecl] = &[
            $( $crate::http::router::RouteDecl {
                method: stringify!($method),
                pattern: $path,
                route: Route::$name,
                guard: $guard,
            }, )*
        ];

        /// Whether `route` authenticates itself (`own`), so no guard runs before it.
        pub fn is_own(route: Route) -> bool {
            match route {
                $( Route::$name => $crate::routes!(@is_own $mode), )*
                Route::Page(_) => true,
            }
        }

        /// Runs an `own` route's handler.
        pub(crate) async fn route_own(
            $req: worker::Request,
            $env: &worker::Env,
            $ctx: &worker::Context,
            $rctx: &$crate::http::RequestCtx,
            $matched: &$crate::http::router::Matched,
        ) -> $crate::error::AppResult<worker::Response> {
            match $matched.route {
                $( Route::$name => $crate::routes!(@own $mode $run), )*
                Route::Page(_) => Err($crate::error::AppError::internal("pages are served apart")),
            }
        }

        /// Runs the handler of a matched `api` route whose guard `principal` passed (none for
        /// public and operator routes), after parsing its query. Tools call this too.
        pub(crate) async fn route(
            $req: worker::Request,
            $env: &worker::Env,
            $rctx: &$crate::http::RequestCtx,
            $matched: &$crate::http::router::Matched,
            principal: Option<&$crate::http::auth::Principal>,
        ) -> $crate::error::AppResult<worker::Response> {
            // Guarded routes always have a principal; handlers rely on it.
            let $me = || {
                principal.ok_or_else(|| {
                    $crate::error::AppError::internal("guarded route without principal")
                })
            };
            match $matched.route {
                $( Route::$name => $crate::routes!(@api $mode $req $query $q; $run), )*
                Route::Page(_) => Err($crate::error::AppError::internal("not reachable from a tool")),
            }
        }

        /// What the API description says about `route`.
        #[cfg(not(target_arch = "wasm32"))]
        pub fn operation(route: Route) -> $crate::http::openapi::spec::Operation {
            match route {
                $( Route::$name => ($doc).query::<$q>(), )*
                Route::Page(_) => $crate::http::openapi::spec::op("Dashboard page").html(200),
            }
        }
    };
    (@is_own own) => { true };
    (@is_own api) => { false };
    (@own own $run:expr) => { $run };
    (@own api $run:expr) => { Err($crate::error::AppError::internal("a guarded route")) };
    (@api own $req:ident $query:ident $q:ty; $run:expr) => {
        Err($crate::error::AppError::internal("not reachable from a tool"))
    };
    (@api api $req:ident $query:ident $q:ty; $run:expr) => {{
        #[allow(unused_variables)]
        let $query = <$q as $crate::http::query::Query>::of(&$req)?;
        $run
    }};
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
        for decl in PAGES {
            assert!(!decl.pattern.starts_with("/api/"), "{}", decl.pattern);
            assert_eq!(
                decl.method, "GET",
                "pages only read; writes go through the API"
            );
        }
    }

    #[test]
    fn every_method_and_path_is_declared_once_in_upper_case() {
        let mut pairs: Vec<_> = ROUTES
            .iter()
            .chain(PAGES)
            .map(|d| (d.method, d.pattern))
            .collect();
        let declared = pairs.len();
        pairs.sort_unstable();
        pairs.dedup();
        assert_eq!(pairs.len(), declared);
        for decl in ROUTES.iter().chain(PAGES) {
            assert!(decl.pattern.starts_with('/'));
            assert_eq!(decl.method, decl.method.to_ascii_uppercase());
        }
    }

    #[test]
    fn a_path_declared_apart_from_its_siblings_still_lists_them_all() {
        // `/api/v1/customers/{id}` answers three methods declared on three lines.
        assert_eq!(
            dispatch("OPTIONS", "/api/v1/customers/1").unwrap(),
            Dispatch::Options {
                allow: "GET, PATCH, DELETE, HEAD, OPTIONS".to_owned()
            }
        );
    }
}
