//! Every endpoint, declared once: method, path, guard, query type, handler and description.
//! The `Route` enum, the route table the router matches, the dispatch to handlers and (on the
//! host) the OpenAPI document all come from this list (`crate::routes!` in `router.rs`), so
//! adding an endpoint touches this file and its handler.
//!
//! `api` routes pass their guard first (`auth::check`) and are reachable from the tools;
//! `own` routes authenticate themselves (webhook signatures, share tokens, MCP's own
//! refusals) and get the execution context to finish work after the response.
//! The description (the last part) is host-only code: see `openapi::spec`.

#[cfg(not(target_arch = "wasm32"))]
use super::openapi::spec::*;
use super::query::NoQuery;
use super::router::Guard::*;
use super::{api, health, mcp, oauth, ops, share, unsubscribe, webhooks};
use crate::domain::auth::permissions::Permission::*;
use crate::domain::files::Parent;
use crate::domain::share_links::DocumentKind;
#[cfg(not(target_arch = "wasm32"))]
use crate::json;

crate::routes! {
    bind(req, env, ctx, rctx, matched, me, query);

    Health: GET "/healthz", Public, NoQuery => api health::get(env).await,
        op("Liveness and schema version (one real D1 query)").ok(200, r("Health"));
    OpenApi: GET "/api/v1/openapi.json", Public, NoQuery
        => api super::openapi::serve(&req, env).await,
        op("This description").ok(200, any_object());
    Mcp: POST "/mcp", Public, NoQuery => own mcp::post(req, env, rctx).await,
        op("Model Context Protocol (Streamable HTTP, JSON-RPC 2.0): the tool catalogue, with \
            an OAuth access token, a personal access token or an Access JWT")
            .body(jsonrpc()).ok(200, any_object()).rpc_errors().also(&[202, 401, 403, 406]);
    // RFC 9728: the metadata of the protected resource `/mcp`, at the root and path-suffixed.
    McpResourceMetadata: GET "/.well-known/oauth-protected-resource", Public, NoQuery
        => own mcp::resource_metadata(&req, env),
        op("OAuth 2.0 Protected Resource Metadata (RFC 9728) of /mcp").ok(200, r("ResourceMetadata"));
    McpResourceMetadataMcp: GET "/.well-known/oauth-protected-resource/mcp", Public, NoQuery
        => own mcp::resource_metadata(&req, env),
        op("OAuth 2.0 Protected Resource Metadata (RFC 9728) of /mcp, path-suffixed")
            .ok(200, r("ResourceMetadata"));
    // OAuth 2.1 for MCP clients, when Cloudflare Access is not configured (404 with it).
    OAuthMetadata: GET "/.well-known/oauth-authorization-server", Public, NoQuery
        => own oauth::metadata(&req, env),
        op("OAuth 2.0 Authorization Server Metadata (RFC 8414); 404 when Cloudflare Access is \
            the authorization server").ok(200, r("AuthorizationServerMetadata")).also(&[404]);
    OAuthRegister: POST "/oauth/register", Public, NoQuery
        => own oauth::register(req, env, rctx).await,
        op("Dynamic client registration (RFC 7591), public clients only; limited per address \
            and in clients not yet used, which expire after a day")
            .body(oauth_registration()).ok(201, r("OAuthClient")).oauth_errors().also(&[404, 429]);
    OAuthAuthorize: GET "/oauth/authorize", Public, NoQuery
        => own oauth::authorize(&req, env).await,
        op("Authorization request (code, PKCE S256): a page that continues to the consent on \
            this site; errors the client can be told go back to its redirect URI (303)")
            .html(200).also(&[303, 404]);
    OAuthDecide: POST "/oauth/consent", Public, NoQuery => own oauth::decide(req, env).await,
        op("The consent page's answer (the session cookie, this site's Origin and the session's \
            CSRF token): 303 back to the app with a code, or with access_denied")
            .form(oauth_consent_form()).redirect().html_errors().also(&[401, 403, 404]);
    OAuthToken: POST "/oauth/token", Public, NoQuery => own oauth::token(req, env, rctx).await,
        op("Token endpoint: an authorization code with its PKCE verifier, or a refresh token \
            (rotated: a second use revokes the grant)")
            .form(oauth_token_form()).ok(200, r("OAuthTokens")).oauth_errors().also(&[401, 404]);
    OAuthRevoke: POST "/oauth/revoke", Public, NoQuery => own oauth::revoke(req, env, rctx).await,
        op("Token revocation (RFC 7009): revokes the token's whole grant")
            .form(oauth_revoke_form()).ok(200, any_object()).oauth_errors().also(&[404]);
    TelegramWebhook: POST "/webhooks/telegram", Public, NoQuery
        => own webhooks::telegram(req, env, rctx, ctx).await,
        op("Telegram Bot API webhook (X-Telegram-Bot-Api-Secret-Token); 404 unless configured")
            .body(any_object()).ok(200, any_object()).secret_header("X-Telegram-Bot-Api-Secret-Token");
    SmsWebhook: POST "/webhooks/sms", Public, NoQuery
        => own webhooks::sms(req, env, rctx, ctx).await,
        op("Twilio inbound SMS webhook (X-Twilio-Signature, form-encoded); 404 unless configured")
            .form(twilio_form()).xml(200).secret_header("X-Twilio-Signature");
    SmsStatusWebhook: POST "/webhooks/sms/status", Public, NoQuery
        => own webhooks::sms_status(req, env, rctx).await,
        op("Twilio status callback (X-Twilio-Signature over PUBLIC_URL + path, form-encoded): \
            records the delivery of an SMS we sent; a report on an unknown message or older \
            than the recorded one changes nothing; 404 unless configured")
            .form(twilio_status_form()).xml(200).secret_header("X-Twilio-Signature");
    StripeWebhook: POST "/webhooks/stripe", Public, NoQuery
        => own webhooks::stripe(req, env, rctx).await,
        op("Stripe webhook (Stripe-Signature): records a paid Checkout Session once; 404 unless \
            configured")
            .body(any_object()).ok(200, any_object()).secret_header("Stripe-Signature");

    Logo: GET "/logo", Public, NoQuery => api api::files::public_logo(&req, env).await,
        op("The company's logo, once scanned clean (shown on share pages and emails)")
            .bytes("image/*").also(&[304, 404]);

    // The unsubscribe link of automatic emails: the token names the customer.
    UnsubscribePage: GET "/unsubscribe/{token}", Public, NoQuery
        => own unsubscribe::page(env, matched).await,
        op("The page of an automatic email's unsubscribe link").html(200).also(&[404]);
    Unsubscribe: POST "/unsubscribe/{token}", Public, NoQuery
        => own unsubscribe::post(env, rctx, matched).await,
        op("Stop automatic messages to the customer the link names (also RFC 8058 one-click)")
            .form(empty_form()).html(200).also(&[404]);
    // The support person's single-use link: the token is the credential.
    SupportLink: GET "/support/{token}", Public, NoQuery
        => own api::support::link(env, matched).await,
        op("The page of a support session's sign-in link").html(200).also(&[410]);
    SupportStart: POST "/support/{token}", Public, NoQuery
        => own api::support::start(&req, env, rctx, matched).await,
        op("Start the support session the link names (once, before the link expires): a \
            session cookie of support's own kind")
            .form(empty_form()).redirect().html_errors().also(&[410]);
    // A recovered owner's link (the token is the credential).
    RecoverPage: GET "/recover/{token}", Public, NoQuery
        => own api::recovery::page(env, matched).await,
        op("The page of an owner's recovery link").html(200).also(&[410]);
    Recover: POST "/recover/{token}", Public, NoQuery
        => own api::recovery::set(req, env, rctx, matched).await,
        op("Set the recovered owner's new password (form password)")
            .form(object(&["password"], props(&[("password", string())])))
            .html(200).also(&[410, 422]);
    // The customer's pages behind a share link: the token is the credential.
    SharePage: GET "/s/{token}", Public, NoQuery => own share::view(&req, env, rctx, matched).await,
        op("The customer's page of a shared quote or invoice").html(200).also(&[404, 409, 410, 429]);
    SharePdf: GET "/s/{token}/pdf", Public, NoQuery => own share::pdf(env, rctx, matched).await,
        op("The shared quote or invoice as a PDF to download (the page's own checks)")
            .pdf(200).html_errors().also(&[404, 409, 429]);
    ShareAccept: POST "/s/{token}/accept", Public, NoQuery
        => own share::act(req, env, rctx, matched, share::Action::Accept).await,
        op("The customer accepts a shared quote: form option, extra, signer_name")
            .form(share_accept_form()).redirect().html_errors().also(&[403, 409]);
    ShareDecline: POST "/s/{token}/decline", Public, NoQuery
        => own share::act(req, env, rctx, matched, share::Action::Decline).await,
        op("The customer declines a shared quote: form reason")
            .form(share_decline_form()).redirect().html_errors().also(&[403, 409]);
    SharePay: POST "/s/{token}/pay", Public, NoQuery
        => own share::act(req, env, rctx, matched, share::Action::Pay).await,
        op("The customer pays a shared invoice: 303 to Stripe Checkout")
            .form(empty_form()).redirect().html_errors().also(&[403, 409]);

    OpsSelfcheck: POST "/ops/selfcheck", Operator, NoQuery => api ops::selfcheck(req, env, rctx).await,
        op("Operator: write, read back, refuse, delete on D1, KV and R2")
            .body(object(&["probe"], props(&[("probe", string())]))).ok(200, any_object());
    OpsPanic: POST "/ops/panic", Operator, NoQuery => api ops::panic(&req, env),
        op("Operator: panic on purpose, to check recovery").ok(500, r("Problem"));
    OpsClock: POST "/ops/clock", Operator, NoQuery => api ops::clock(req, env).await,
        op("Operator, not in production: move the clock forward (advance_ms) or set it to an \
            instant, earlier too (at_ms)")
            .body(object(&[], props(&[("advance_ms", int_min(0)), ("at_ms", int_min(0))])))
            .ok(200, any_object());
    OpsCreateOwner: POST "/ops/owners", Operator, NoQuery => api ops::create_owner(req, env, rctx).await,
        op("Operator: create an owner; password_change_required when the password was generated \
            for them (it must be changed at the first sign-in)")
            .body(object(&["email", "password"], props(&[("email", string()), ("password", string()), ("name", string()), ("password_change_required", boolean())])))
            .ok(201, r("User"));
    OpsSupportRequest: POST "/ops/support", Operator, NoQuery
        => api ops::support_request(req, env, rctx).await,
        op("Operator: ask for support access to this company (the owners approve or refuse; a \
            company setting may pre-approve read-only requests)")
            .body(object(&["person_name", "person_email", "reason", "ticket", "duration_minutes"],
                props(&[("person_name", string()), ("person_email", string()), ("reason", string()),
                        ("ticket", string()), ("scope", array(one_of(&crate::domain::support::Kind::NAMES))),
                        ("duration_minutes", int_range(5, 240))])))
            .ok(201, r("SupportSession"));
    OpsRecoverOwner: POST "/ops/owners/recover", Operator, NoQuery
        => api ops::recover_owner(req, env, rctx).await,
        op("Operator: email the company's sole owner, who lost both password and authenticator, \
            a link to set a new password (two-factor sign-in off until set up again); every \
            owner is told; 409 when another active owner can help")
            .body(object(&["email"], props(&[("email", string())])))
            .ok(202, any_object()).also(&[404, 409]);
    OpsPersonalData: GET "/ops/personal-data", Operator, NoQuery
        => api crate::http::personal::status(req, env).await,
        op("Operator: the current tenant key and how many data keys each tenant key wraps")
            .ok(200, any_object());
    OpsRotateKeys: POST "/ops/personal-data/rotate", Operator, NoQuery
        => api crate::http::personal::rotate(req, env, rctx).await,
        op("Operator: re-wrap up to limit data keys under the current tenant key (repeat until \
            remaining is 0)")
            .body(object(&[], props(&[("limit", int_range(1, 100))]))).ok(200, any_object());
    OpsSealPersonalData: POST "/ops/personal-data/seal", Operator, NoQuery
        => api crate::http::personal::seal_existing(req, env, rctx).await,
        op("Operator, after deploying: seal up to limit customers and sites written in \
            plaintext before (repeat until remaining is none)")
            .body(object(&[], props(&[("limit", int_range(1, 100))]))).ok(200, any_object());
    OpsReplayErasures: POST "/ops/personal-data/replay-erasures", Operator, NoQuery
        => api crate::http::personal::replay_erasures(req, env, rctx).await,
        op("Operator, after a restore: redo every erasure recorded in the ledger")
            .ok(200, any_object());
    OpsMaintenance: POST "/ops/maintenance", Operator, NoQuery
        => api crate::http::maintenance::set(req, env).await,
        op("Operator: switch maintenance on (every request but /healthz and /ops answers 503 \
            with Retry-After, webhooks included) or off")
            .body(object(&["on"], props(&[("on", boolean()), ("retry_after", int_range(1, 86_400)), ("reason", string())])))
            .ok(200, any_object());
    OpsRestored: POST "/ops/restored", Operator, NoQuery
        => api crate::http::restore::restored(req, env, rctx).await,
        op("Operator, right after restoring the database: record the restore in the audit trail \
            (sealed, with the audit key's MAC), end every session, hold messages claimed after \
            the point restored to; 409 when the trail does not end at restored_to_seq")
            .body(object(&["restored_to_seq", "at"], props(&[("restored_to_seq", int_min(0)), ("at", string()), ("bookmark", string()), ("backup", string())])))
            .ok(200, any_object()).also(&[409]);
    OpsAuditVerify: GET "/ops/audit/verify", Operator, api::audit::VerifyQuery
        => api crate::http::api::audit::verify_for_operator(&req, query, env).await,
        op("Operator: the same check as /api/v1/audit/verify (a restore drill's, on a scratch \
            copy with no user signed in)")
            .ok(200, any_object());
    OpsUnlock: POST "/ops/unlock", Operator, NoQuery => api ops::unlock(req, env, rctx).await,
        op("Operator: clear an address's failed sign-ins and lock (the only owner locked out)")
            .body(object(&["email"], props(&[("email", string())]))).empty();

    Login: POST "/api/v1/auth/login", Public, NoQuery => api api::session::login(req, env, rctx).await,
        op("Sign in with email and password: a session, or an MFA challenge")
            .body(object(&["email", "password"], props(&[("email", string()), ("password", string())])))
            .example(json!({ "email": "dana@acme-heating.example", "password": "copper-pipes-and-valves" }))
            .ok(200, r("SignIn")).limited();
    LoginMfa: POST "/api/v1/auth/login/mfa", Public, NoQuery
        => api api::session::login_mfa(req, env, rctx).await,
        op("Second sign-in step: a TOTP or recovery code")
            .body(object(&["challenge"], props(&[("challenge", string()), ("code", string()), ("recovery_code", string())])))
            .ok(200, r("SignIn")).limited();
    Logout: POST "/api/v1/auth/logout", SignedIn, NoQuery
        => api api::session::logout(&req, env, rctx, me()?).await,
        op("End this session").empty();
    AcceptInvite: POST "/api/v1/auth/invites/accept", Public, NoQuery
        => api api::session::accept_invite(req, env, rctx).await,
        op("Accept an invitation and sign in")
            .body(object(&["token", "name", "password"], props(&[("token", string()), ("name", string()), ("password", string())])))
            .ok(201, r("SignIn")).limited();

    Me: GET "/api/v1/me", SignedIn, NoQuery => api api::me::get(env, me()?).await,
        op("Who I am: user, role, permissions").ok(200, r("Me"));
    MfaEnroll: POST "/api/v1/me/mfa/enroll", Enrolling, NoQuery
        => api api::me::mfa_enroll(req, env, rctx, me()?).await,
        op("Start two-factor enrolment: secret and otpauth URI (a session only; the password \
            unless signed in within 10 minutes)")
            .body(object(&[], props(&[("password", string())]))).ok(200, r("MfaEnrolment"));
    MfaConfirm: POST "/api/v1/me/mfa/confirm", Enrolling, NoQuery
        => api api::me::mfa_confirm(req, env, rctx, me()?).await,
        op("Confirm enrolment with a first code; answers recovery codes once")
            .body(object(&["code"], props(&[("code", string()), ("password", string())])))
            .ok(200, r("SessionWithRecoveryCodes")).limited();
    MfaDisable: POST "/api/v1/me/mfa/disable", Member, NoQuery
        => api api::me::mfa_disable(req, env, rctx, me()?).await,
        op("Turn two-factor sign-in off: a code (checked as a sign-in attempt), and the password \
            unless signed in within 10 minutes")
            .body(object(&["code"], props(&[("code", string()), ("password", string())]))).empty().limited();
    ChangePassword: POST "/api/v1/me/password", SignedIn, NoQuery
        => api api::me::change_password(req, env, rctx, me()?).await,
        op("Change my password (ends my other sessions; the one thing open, with who am I and \
            signing out, while a generated password awaits the user's own)")
            .body(object(&["current_password", "new_password"], props(&[("current_password", string()), ("new_password", string())])))
            .ok(200, r("Session")).limited();
    DeleteAccount: POST "/api/v1/me/delete", Member, NoQuery
        => api api::me::delete(req, env, rctx, me()?).await,
        op("Delete my account (a session only; the password, and a current code when two-factor \
            sign-in is on): my name, address and secrets are erased, my sessions, tokens, apps \
            and chat links stop, and what I did stays on record as \"Deleted user #n\"; 409 for \
            the company's last active owner")
            .body(object(&["password"], props(&[("password", string()), ("code", string())])))
            .ok(200, any_object()).also(&[409]).limited();
    ListNotifications: GET "/api/v1/me/notifications", SignedIn, NoQuery
        => api api::notifications::list(env, me()?).await,
        op("My in-app notices (the bell), newest first, and how many are unread")
            .ok(200, r("Notifications"));
    ReadNotifications: POST "/api/v1/me/notifications/read", SignedIn, NoQuery
        => api api::notifications::read_all(env, rctx, me()?).await,
        op("Mark all my notices read").empty();
    ListLinks: GET "/api/v1/me/links", Member, NoQuery => api api::links::list(env, me()?).await,
        op("Your linked Telegram chats and phone numbers").ok(200, list_of("links", "Link"));
    CreateLinkCode: POST "/api/v1/me/links", Member, NoQuery
        => api api::links::create_code(env, rctx, me()?).await,
        op("A one-time code (15 minutes) to link a Telegram chat or phone: send /link CODE")
            .ok(201, r("LinkCode"));
    DeleteLink: DELETE "/api/v1/me/links/{id}", Member, NoQuery
        => api api::links::delete(env, rctx, me()?, matched).await,
        op("Unlink one of your chats or phone numbers").empty();

    ListApps: GET "/api/v1/me/apps", Member, api::apps::AppsQuery
        => api api::apps::list(query, env, rctx, me()?).await,
        op("Apps connected through OAuth as me (with all=true, as anyone: those who manage the \
            team): name, scope, when granted, last used").ok(200, list_of("apps", "App"));
    RevokeApp: DELETE "/api/v1/me/apps/{id}", Member, NoQuery
        => api api::apps::revoke(&req, env, rctx, me()?, matched).await,
        op("Disconnect an app: its tokens stop working at once (anyone's, for those who manage \
            the team)").if_match().empty();

    ListTokens: GET "/api/v1/tokens", Member, api::tokens::TokensQuery
        => api api::tokens::list(query, env, me()?).await,
        op("My personal access tokens; with all=true, every user's (those who manage the team)")
            .ok(200, list_of("tokens", "Token"));
    CreateToken: POST "/api/v1/tokens", Member, NoQuery
        => api api::tokens::create(req, env, rctx, me()?).await,
        op("Create a personal access token (shown once; 90 days unless told): a session only, \
            with the password unless signed in within 10 minutes")
            .body(object(&["name"], props(&[("name", string()), ("expires_in_days", int_range(1, 366)), ("password", string())])))
            .ok(201, r("TokenCreated")).limited();
    RevokeToken: DELETE "/api/v1/tokens/{id}", Member, NoQuery
        => api api::tokens::revoke(&req, env, rctx, me()?, matched).await,
        op("Revoke one of my tokens (or anyone's, for those who manage the team)").if_match().empty();

    ListSupportSessions: GET "/api/v1/support-sessions", Needs(ManageUsers), NoQuery
        => api api::support::list(env, rctx).await,
        op("Support access: every request and session, newest first")
            .ok(200, list_of("support_sessions", "SupportSession"));
    ApproveSupport: POST "/api/v1/support-sessions/{id}/approve", Needs(ManageUsers), NoQuery
        => api api::support::decide(&req, env, rctx, me()?, matched, api::support::Decision::Approve).await,
        op("Approve a support request: the support person is emailed a single-use sign-in link")
            .if_match().ok(200, r("SupportSession"));
    RefuseSupport: POST "/api/v1/support-sessions/{id}/refuse", Needs(ManageUsers), NoQuery
        => api api::support::decide(&req, env, rctx, me()?, matched, api::support::Decision::Refuse).await,
        op("Refuse a support request").if_match().ok(200, r("SupportSession"));
    EndSupport: POST "/api/v1/support-sessions/{id}/end", Needs(ManageUsers), NoQuery
        => api api::support::decide(&req, env, rctx, me()?, matched, api::support::Decision::End).await,
        op("End a support session now (or withdraw a request or an unused approval)")
            .if_match().ok(200, r("SupportSession"));
    // The company as a whole, the owners': its export, and its deletion after a grace period.
    RequestCompanyExport: POST "/api/v1/company/export", Needs(ManageSettings), NoQuery
        => api api::exports::request(req, env, rctx, me()?).await,
        op("Export the whole company: every table as JSON and the index of its files, built in \
            the background into one ZIP archive (a session only, with the password unless \
            signed in within 10 minutes; one export at a time)")
            .body(object(&[], props(&[("password", string())])))
            .ok(202, r("CompanyExport")).also(&[409]).limited();
    ListCompanyExports: GET "/api/v1/company/exports", Needs(ManageSettings), NoQuery
        => api api::exports::list(env).await,
        op("The company's exports, newest first, and where each stands (one left unfinished \
            is taken up after the answer)").ok(200, list_of("company_exports", "CompanyExport"));
    DownloadCompanyExport: GET "/api/v1/company/exports/{id}/download", Needs(ManageSettings), NoQuery
        => api api::exports::download(env, rctx, me()?, matched).await,
        op("Download a ready export: a ZIP of manifest.json, tables/<table>.json and files.json \
            (409 until it is ready)").bytes("application/zip").also(&[409]);
    GetCompanyDeletion: GET "/api/v1/company/deletion", Needs(ManageSettings), NoQuery
        => api api::deletion::get(env).await,
        op("The company's pending deletion (404 when none is asked for)")
            .ok(200, r("CompanyDeletion"));
    RequestCompanyDeletion: POST "/api/v1/company/deletion", Needs(ManageSettings), NoQuery
        => api api::deletion::request(req, env, rctx, me()?).await,
        op("Ask for the whole company to be deleted in 7 days (a session only: the password, the \
            two-factor code when on, the company's name typed exactly); everyone is told, any \
            owner can cancel until then. Afterwards every request is answered 410")
            .body(object(&["company_name", "password"], props(&[("company_name", string()),
                ("password", string()), ("code", string())])))
            .ok(201, r("CompanyDeletion")).also(&[409]).limited();
    CancelCompanyDeletion: POST "/api/v1/company/deletion/cancel", Needs(ManageSettings), NoQuery
        => api api::deletion::cancel(&req, env, rctx, me()?).await,
        op("Cancel the company's pending deletion; everyone is told")
            .if_match().ok(200, r("CompanyDeletion"));
    ListUsers: GET "/api/v1/users", Needs(ViewUsers), NoQuery => api api::users::list(env).await,
        op("The team").ok(200, list_of("users", "User"));
    InviteUser: POST "/api/v1/users/invites", Needs(ManageUsers), NoQuery
        => api api::users::invite(req, env, rctx, me()?).await,
        op("Invite someone (single-use link, 7 days)")
            .body(object(&["email", "role"], props(&[("email", string()), ("role", role())])))
            .ok(201, r("Invite"));
    UpdateUser: PATCH "/api/v1/users/{id}", Needs(ManageUsers), NoQuery
        => api api::users::update(req, env, rctx, me()?, matched).await,
        op("Change a user's role or deactivate them")
            .body(object(&[], props(&[("role", role()), ("active", boolean())])))
            .if_match().ok(200, r("User"));
    UnlockUser: POST "/api/v1/users/{id}/unlock", Needs(ManageUsers), NoQuery
        => api api::users::unlock(env, rctx, me()?, matched).await,
        op("Clear a user's failed sign-ins").empty();

    GetSettings: GET "/api/v1/settings", Needs(ViewSettings), NoQuery => api api::settings::get(env).await,
        op("Company settings").ok(200, r("Settings"));
    UpdateSettings: PATCH "/api/v1/settings", Needs(ManageSettings), NoQuery
        => api api::settings::update(req, env, rctx, me()?).await,
        op("Change company settings").body(settings_fields()).if_match().ok(200, r("Settings"));
    GetMessageSettings: GET "/api/v1/settings/messages", Needs(ViewSettings), NoQuery
        => api api::message_settings::get(env).await,
        op("Automatic messages to customers: when they go out, and each one's switch and wording")
            .ok(200, r("MessageSettings"));
    UpdateMessageTiming: PATCH "/api/v1/settings/messages", Needs(ManageSettings), NoQuery
        => api api::message_settings::update_timing(req, env, rctx, me()?).await,
        op("Change when automatic messages go out: quiet hours, reminder time, overdue and \
            follow-up days").body(message_timing_fields()).if_match().ok(200, r("MessageTiming"));
    UpdateMessageTemplate: PATCH "/api/v1/settings/messages/templates/{kind}", Needs(ManageSettings), NoQuery
        => api api::message_settings::update_template(req, env, rctx, me()?, matched).await,
        op("Switch an automatic message on or off, or change its wording (placeholders only; \
            null for the product's wording)").body(message_template_fields()).if_match()
            .ok(200, r("MessageTemplate"));

    GetStorage: GET "/api/v1/settings/storage", Needs(ViewSettings), NoQuery
        => api api::files::storage(env).await,
        op("What the company keeps in R2: files, bytes, pending and rejected ones, and the \
            upload limit").ok(200, r("Storage"));
    PutLogo: PUT "/api/v1/settings/logo", Needs(ManageSettings), api::files::UploadQuery
        => api api::files::put_logo(req, env, rctx, me()?, query).await,
        op("Set the company's logo (PNG or JPEG, scanned like every file): shown on share \
            pages, emails and PDFs").query::<api::files::UploadQuery>().file_body()
            .ok(201, r("File")).also(&[202, 413, 415, 422, 503]);

    ListAudit: GET "/api/v1/audit", Needs(ViewAudit), api::audit::AuditQuery
        => api api::audit::list(query, env).await,
        op("The audit trail, newest first").ok(200, page_of("events", "AuditEvent"));
    VerifyAudit: GET "/api/v1/audit/verify", Needs(ViewAudit), api::audit::VerifyQuery
        => api api::audit::verify(query, env).await,
        op("Seal what is pending and verify the chain from the newest anchor (or the first row)")
            .ok(200, r("AuditVerification")).also(&[503]);

    ListCustomers: GET "/api/v1/customers", Needs(ViewRecords), api::customers::CustomersQuery
        => api api::customers::list(query, env, me()?).await,
        op("Customers in the order they were added (names sorted within a page); search with q: \
            name-word prefixes (3+ letters), a whole email address, a phone number or its last 4+ \
            digits; technicians see those they work for").ok(200, page_of("customers", "Customer"));
    CreateCustomer: POST "/api/v1/customers", Needs(ManageRecords), NoQuery
        => api api::customers::create(req, env, rctx, me()?).await,
        op("Create a customer").body(customer_fields(&["name"]))
            .example(json!({ "name": "Ada Lee", "emails": ["ada@example.com"], "phones": ["+12125550143"],
                             "tags": ["boiler"], "preferred_contact": "sms" }))
            .idempotent().ok(201, r("Customer"));
    GetCustomer: GET "/api/v1/customers/{id}", Needs(ViewRecords), NoQuery
        => api api::customers::get(env, rctx, me()?, matched).await,
        op("A customer with its sites (technicians: only customers they work for)").ok(200, r("Customer"));
    UpdateCustomer: PATCH "/api/v1/customers/{id}", Needs(ManageRecords), NoQuery
        => api api::customers::update(req, env, rctx, me()?, matched).await,
        op("Change a customer").body(customer_fields(&[])).if_match().ok(200, r("Customer"));
    ArchiveCustomer: DELETE "/api/v1/customers/{id}", Needs(ManageRecords), NoQuery
        => api api::customers::archive(&req, env, rctx, me()?, matched).await,
        op("Archive a customer").if_match().empty();
    PreviewCustomerErasure: GET "/api/v1/customers/{id}/erasure", Needs(ManagePersonalData), NoQuery
        => api api::erasure::preview(env, rctx, matched).await,
        op("What erasing a customer would erase now, and what the law makes the company keep \
            (issued invoices) and until when").ok(200, any_object());
    EraseCustomer: POST "/api/v1/customers/{id}/erase", Needs(ManagePersonalData), NoQuery
        => api api::erasure::erase(&req, env, rctx, me()?, matched).await,
        op("Erase a customer's personal data everywhere (their data key is destroyed; the audit \
            trail still verifies); issued invoices are kept for the retention period")
            .if_match().ok(200, r("Customer"));
    CreateSite: POST "/api/v1/customers/{id}/sites", Needs(ManageRecords), NoQuery
        => api api::customers::create_site(req, env, rctx, me()?, matched).await,
        op("Add a service site to a customer").body(site_fields(&["line1"]))
            .example(json!({ "line1": "12 Canal Street", "city": "New York", "region": "NY",
                             "postal_code": "10013", "country": "US", "access_notes": "Side gate" }))
            .ok(201, r("Site"));
    ListCustomerMessages: GET "/api/v1/customers/{id}/messages", Needs(ViewRecords), NoQuery
        => api api::customer_messages::list(env, rctx, me()?, matched).await,
        op("A customer's text conversation, oldest first: each reply's delivery, and when the \
            customer opted out of automatic texts (technicians: only customers they work for)")
            .ok(200, r("Conversation"));
    CreateCustomerMessage: POST "/api/v1/customers/{id}/messages", Needs(ManageRecords), NoQuery
        => api api::customer_messages::create(req, env, rctx, me()?, matched).await,
        op("Text the customer, to the number they last wrote from (else their first): queued \
            and sent after the response, even to a customer who opted out of automatic texts")
            .body(object(&["body"], props(&[("body", string())])))
            .example(json!({ "body": "We can come on Thursday at 9:00. Does that suit you?" }))
            .idempotent().ok(201, r("CustomerMessage"));
    UpdateSite: PATCH "/api/v1/sites/{id}", Needs(ManageRecords), NoQuery
        => api api::customers::update_site(req, env, rctx, me()?, matched).await,
        op("Change a site").body(site_fields(&[])).if_match().ok(200, r("Site"));

    ListJobs: GET "/api/v1/jobs", Needs(ViewRecords), api::jobs::JobsQuery
        => api api::jobs::list(&query, env, rctx, me()?).await,
        op("Jobs, newest first (technicians: their own)").ok(200, page_of("jobs", "Job"));
    CreateJob: POST "/api/v1/jobs", Needs(ManageRecords), NoQuery
        => api api::jobs::create(req, env, rctx, me()?).await,
        op("Create a job at a customer's site")
            .body(job_fields(&["customer_id", "title"], true))
            .example(json!({ "customer_id": "8e9a728e-94e8-4b2c-b93f-7d15deef4f3e", "title": "Annual boiler service",
                             "priority": "normal",
                             "items": [{ "kind": "work", "description": "Service", "quantity_milli": 1000 }] }))
            .idempotent().ok(201, r("Job"));
    GetJob: GET "/api/v1/jobs/{id}", Needs(ViewRecords), NoQuery
        => api api::jobs::get(env, rctx, me()?, matched).await,
        op("A job with its notes").ok(200, r("JobWithNotes"));
    UpdateJob: PATCH "/api/v1/jobs/{id}", Needs(WorkOnJobs), NoQuery
        => api api::jobs::update(req, env, rctx, me()?, matched).await,
        op("Change a job (technicians: items only)").body(job_fields(&[], false)).if_match().ok(200, r("Job"));
    SetJobStatus: POST "/api/v1/jobs/{id}/status", Needs(WorkOnJobs), NoQuery
        => api api::jobs::set_status(req, env, rctx, me()?, matched).await,
        op("Move a job through its status machine")
            .body(object(&["status"], props(&[("status", job_status())]))).if_match().ok(200, r("Job"));
    JobOnMyWay: POST "/api/v1/jobs/{id}/on-my-way", Needs(WorkOnJobs), NoQuery
        => api api::deliveries::on_my_way(req, env, rctx, me()?, matched).await,
        op("Tell the job's customer you are on the way, with your ETA (the \"on my way\" \
            message; refused when it is switched off or the customer opted out)")
            .body(object(&["eta_minutes"], json!({ "eta_minutes": int_range(1, 600) })))
            .ok(202, list_of("deliveries", "Delivery"));
    AddJobNote: POST "/api/v1/jobs/{id}/notes", Needs(WorkOnJobs), NoQuery
        => api api::jobs::add_note(req, env, rctx, me()?, matched).await,
        op("Add a note to a job").body(object(&["text"], props(&[("text", string())]))).ok(201, r("Note"));
    JobTimeline: GET "/api/v1/jobs/{id}/timeline", Needs(ViewRecords), NoQuery
        => api api::jobs::timeline(env, rctx, me()?, matched).await,
        op("Everything that happened to a job").ok(200, list_of("events", "TimelineEvent"));
    CreateVisits: POST "/api/v1/jobs/{id}/visits", Needs(ManageRecords), NoQuery
        => api api::visits::create(req, env, rctx, me()?, matched).await,
        op("Book a visit, or a recurring series, for a job (409 on double-booking)")
            .body(visit_booking())
            .example(json!({ "start": "2026-12-08T14:00:00Z", "end": "2026-12-08T16:00:00Z",
                             "technician_ids": ["140d93b8-9218-411f-a0e5-2c68856047ad"] }))
            .ok(201, list_of("visits", "Visit"));
    ListVisits: GET "/api/v1/visits", Needs(ViewRecords), api::visits::VisitsQuery
        => api api::visits::list(query, env, me()?).await,
        op("Visits in a time range (technicians: their own)").ok(200, list_of("visits", "Visit"));
    // Technicians may move their own visits (the handler checks whose).
    UpdateVisit: PATCH "/api/v1/visits/{id}", Needs(WorkOnJobs), NoQuery
        => api api::visits::update(req, env, rctx, me()?, matched).await,
        op("Move a visit or change its technicians").body(visit_change()).if_match().ok(200, r("Visit"));
    // Technicians may change the status of their own visits (the handler checks whose).
    SetVisitStatus: POST "/api/v1/visits/{id}/status", Needs(WorkOnJobs), NoQuery
        => api api::visits::set_status(req, env, rctx, me()?, matched).await,
        op("Move a visit through its status machine (en route, in progress, completed, \
            cancelled, back to scheduled); its job follows: arriving starts it, completing the \
            last open visit completes it when the company says so, cancelling every visit \
            returns a scheduled job to requested")
            .body(object(&["status"], props(&[("status", visit_status())]))).if_match().ok(200, r("Visit"));
    DeleteVisit: DELETE "/api/v1/visits/{id}", Needs(ManageRecords), NoQuery
        => api api::visits::delete(&req, env, rctx, me()?, matched).await,
        op("Take a visit off the calendar").if_match().empty();

    // Money: read by whoever may see money (not technicians), written by record managers.
    ListQuotes: GET "/api/v1/quotes", Needs(ViewMoney), api::quotes::QuotesQuery
        => api api::quotes::list(query, env).await,
        op("Quotes, newest first; status is the shown one (a sent quote past its date is expired)")
            .ok(200, page_of("quotes", "QuoteSummary"));
    CreateQuote: POST "/api/v1/quotes", Needs(ManageRecords), NoQuery
        => api api::quotes::create(req, env, rctx, me()?).await,
        op("Draft a quote").body(quote_fields(&["title"], true))
            .example(json!({ "customer_id": "8e9a728e-94e8-4b2c-b93f-7d15deef4f3e", "title": "New boiler",
                             "lines": [
                                 { "description": "Boiler", "quantity_milli": 1000, "unit_price": 240000, "option": "Good" },
                                 { "description": "Condensing boiler", "quantity_milli": 1000, "unit_price": 320000, "option": "Best" },
                                 { "description": "Labour", "quantity_milli": 8000, "unit_price": 9500 },
                                 { "description": "Magnetic filter", "quantity_milli": 1000, "unit_price": 15000, "optional": true }],
                             "deposit": { "percent_ppm": 250000 } }))
            .idempotent().ok(201, r("Quote"));
    GetQuote: GET "/api/v1/quotes/{id}", Needs(ViewMoney), NoQuery
        => api api::quotes::get(env, rctx, matched).await,
        op("A quote, priced per option").ok(200, r("Quote"));
    QuotePdf: GET "/api/v1/quotes/{id}/pdf", Needs(ViewMoney), NoQuery
        => api api::pdfs::quote(env, rctx, matched).await,
        op("The quote as a PDF to download (a draft stamped DRAFT)").pdf(200);
    UpdateQuote: PATCH "/api/v1/quotes/{id}", Needs(ManageRecords), NoQuery
        => api api::quotes::update(req, env, rctx, me()?, matched).await,
        op("Change a draft quote").body(quote_fields(&[], false)).if_match().ok(200, r("Quote"));
    DeleteQuote: DELETE "/api/v1/quotes/{id}", Needs(ManageRecords), NoQuery
        => api api::quotes::delete(&req, env, rctx, me()?, matched).await,
        op("Delete a never-sent draft quote").if_match().empty();
    PreviewQuote: POST "/api/v1/quotes/{id}/preview", Needs(ManageRecords), NoQuery
        => api api::quotes::preview(req, env, matched).await,
        op("Price a change to a quote without saving it: the editor's live totals")
            .body(quote_fields(&[], false)).ok(200, r("QuotePreview"));
    SendQuote: POST "/api/v1/quotes/{id}/send", Needs(ManageRecords), NoQuery
        => api api::quotes::move_status(&req, env, rctx, me()?, matched, api::quotes::Move::Send).await,
        op("Send a draft quote").if_match().ok(200, r("Quote"));
    ReviseQuote: POST "/api/v1/quotes/{id}/revise", Needs(ManageRecords), NoQuery
        => api api::quotes::move_status(&req, env, rctx, me()?, matched, api::quotes::Move::Revise).await,
        op("Take a quote back to draft to change it").if_match().ok(200, r("Quote"));
    AcceptQuote: POST "/api/v1/quotes/{id}/accept", Needs(ManageRecords), NoQuery
        => api api::quotes::accept(req, env, rctx, me()?, matched).await,
        op("Record the customer's acceptance: option, extras, signer")
            .body(acceptance()).if_match().ok(200, r("Quote"));
    DeclineQuote: POST "/api/v1/quotes/{id}/decline", Needs(ManageRecords), NoQuery
        => api api::quotes::move_status(&req, env, rctx, me()?, matched, api::quotes::Move::Decline).await,
        op("Record that the customer declined").if_match().ok(200, r("Quote"));
    ConvertQuote: POST "/api/v1/quotes/{id}/convert", Needs(ManageRecords), NoQuery
        => api api::quotes::convert(&req, env, rctx, me()?, matched).await,
        op("Turn an accepted quote into a job (if it has none) and a draft invoice")
            .if_match().ok(201, r("Conversion"));

    ListInvoices: GET "/api/v1/invoices", Needs(ViewMoney), api::invoices::InvoicesQuery
        => api api::invoices::list(query, env).await,
        op("Invoices and credit notes, newest first; status is the shown one (paid, overdue, …)")
            .ok(200, page_of("invoices", "InvoiceSummary"));
    CreateInvoice: POST "/api/v1/invoices", Needs(ManageRecords), NoQuery
        => api api::invoices::create(req, env, rctx, me()?).await,
        op("Draft an invoice, blank or for a job").body(invoice_fields(true))
            .example(json!({ "job_id": "deceda12-fc14-4ef0-a6f6-4b777a9661d3",
                             "lines": [{ "description": "Service call", "quantity_milli": 1000, "unit_price": 8900 }],
                             "payment_terms_days": 14 }))
            .idempotent().ok(201, r("Invoice"));
    GetInvoice: GET "/api/v1/invoices/{id}", Needs(ViewMoney), NoQuery
        => api api::invoices::get(env, rctx, matched).await,
        op("An invoice with its payments, balance and status").ok(200, r("Invoice"));
    InvoicePdf: GET "/api/v1/invoices/{id}/pdf", Needs(ViewMoney), NoQuery
        => api api::pdfs::invoice(env, rctx, matched).await,
        op("The invoice or credit note as a PDF to download: lines, taxes, totals, paid and \
            balance due (a draft stamped DRAFT, a voided one VOID)").pdf(200);
    UpdateInvoice: PATCH "/api/v1/invoices/{id}", Needs(ManageRecords), NoQuery
        => api api::invoices::update(req, env, rctx, me()?, matched).await,
        op("Change a draft invoice").body(invoice_fields(false)).if_match().ok(200, r("Invoice"));
    DeleteInvoice: DELETE "/api/v1/invoices/{id}", Needs(ManageRecords), NoQuery
        => api api::invoices::delete(&req, env, rctx, me()?, matched).await,
        op("Delete a draft invoice").if_match().empty();
    PreviewInvoice: POST "/api/v1/invoices/{id}/preview", Needs(ManageRecords), NoQuery
        => api api::invoices::preview(req, env, matched).await,
        op("Price a change to a draft invoice without saving it")
            .body(invoice_fields(false)).ok(200, r("InvoicePreview"));
    IssueInvoice: POST "/api/v1/invoices/{id}/issue", Needs(ManageRecords), NoQuery
        => api api::invoices::issue(&req, env, rctx, me()?, matched).await,
        op("Issue a draft: the next gapless number").if_match().ok(200, r("Invoice"));
    VoidInvoice: POST "/api/v1/invoices/{id}/void", Needs(ManageRecords), NoQuery
        => api api::invoices::void_invoice(&req, env, rctx, me()?, matched).await,
        op("Void an issued invoice that keeps no money").if_match().ok(200, r("Invoice"));
    RecordPayment: POST "/api/v1/invoices/{id}/payments", Needs(ManageRecords), NoQuery
        => api api::invoices::record_payment(req, env, rctx, me()?, matched).await,
        op("Record a payment or refund").body(payment_fields())
            .example(json!({ "amount": 8900, "method": "card", "reference": "terminal 0042" }))
            .if_match().idempotent()
            .ok(201, r("PaymentRecorded"));
    CreditInvoice: POST "/api/v1/invoices/{id}/credit-note", Needs(ManageRecords), NoQuery
        => api api::invoices::credit_note(&req, env, rctx, me()?, matched).await,
        op("Reverse a paid invoice with a credit note").if_match().ok(201, r("Invoice"));
    ShareQuote: POST "/api/v1/quotes/{id}/share", Needs(ManageRecords), NoQuery
        => api api::share_links::create(req, env, rctx, me()?, matched, DocumentKind::Quote).await,
        op("Make a link that shows the quote to its customer: token and /s/{token} URL, answered once")
            .body(share_fields()).ok(201, r("ShareLinkCreated"));
    ShareInvoice: POST "/api/v1/invoices/{id}/share", Needs(ManageRecords), NoQuery
        => api api::share_links::create(req, env, rctx, me()?, matched, DocumentKind::Invoice).await,
        op("Make a link that shows the invoice to its customer: token and /s/{token} URL, answered once")
            .body(share_fields()).ok(201, r("ShareLinkCreated"));
    DeliverQuote: POST "/api/v1/quotes/{id}/deliveries", Needs(ManageRecords), NoQuery
        => api api::deliveries::create(req, env, rctx, me()?, matched, "quote").await,
        op("Send the quote to its customer: by email with its link, by SMS with its link, or \
            both; by their preferred contact unless `via` says. Sent after the answer, at most once")
            .body(delivery_fields()).ok(202, list_of("deliveries", "Delivery"));
    QuoteDeliveries: GET "/api/v1/quotes/{id}/deliveries", Needs(ViewMoney), NoQuery
        => api api::deliveries::list(env, rctx, matched, "quote").await,
        op("The quote's deliveries to its customer and where each stands")
            .ok(200, list_of("deliveries", "Delivery"));
    DeliverInvoice: POST "/api/v1/invoices/{id}/deliveries", Needs(ManageRecords), NoQuery
        => api api::deliveries::create(req, env, rctx, me()?, matched, "invoice").await,
        op("Send the invoice to its customer: by email with its link, by SMS with its link, or \
            both; by their preferred contact unless `via` says. Sent after the answer, at most once")
            .body(delivery_fields()).ok(202, list_of("deliveries", "Delivery"));
    InvoiceDeliveries: GET "/api/v1/invoices/{id}/deliveries", Needs(ViewMoney), NoQuery
        => api api::deliveries::list(env, rctx, matched, "invoice").await,
        op("The invoice's deliveries to its customer and where each stands")
            .ok(200, list_of("deliveries", "Delivery"));

    // Files: attached to records, scanned for malware before anyone can open them.
    ListJobFiles: GET "/api/v1/jobs/{id}/files", Needs(ViewRecords), NoQuery
        => api api::files::list(env, rctx, me()?, matched, Parent::Job).await,
        op("The job's files, newest first, with their scan status (technicians: jobs they work on)")
            .ok(200, list_of("files", "File"));
    UploadJobFile: POST "/api/v1/jobs/{id}/files", Needs(WorkOnJobs), api::files::UploadQuery
        => api api::files::upload(req, env, rctx, me()?, matched, Parent::Job, query).await,
        op("Attach a file to the job (the body is the file; JPEG, PNG, WebP, HEIC or PDF, \
            told by its bytes): 201 clean, 202 waiting for the scanner, 422 malware found, \
            503 no scanner configured").query::<api::files::UploadQuery>().file_body()
            .idempotent().ok(201, r("File")).also(&[202, 413, 415, 422, 503]);
    ListVisitFiles: GET "/api/v1/visits/{id}/files", Needs(ViewRecords), NoQuery
        => api api::files::list(env, rctx, me()?, matched, Parent::Visit).await,
        op("The visit's files, newest first, with their scan status (technicians: visits they work on)")
            .ok(200, list_of("files", "File"));
    UploadVisitFile: POST "/api/v1/visits/{id}/files", Needs(WorkOnJobs), api::files::UploadQuery
        => api api::files::upload(req, env, rctx, me()?, matched, Parent::Visit, query).await,
        op("Attach a file to the visit (the body is the file; JPEG, PNG, WebP, HEIC or PDF, \
            told by its bytes): 201 clean, 202 waiting for the scanner, 422 malware found, \
            503 no scanner configured").query::<api::files::UploadQuery>().file_body()
            .idempotent().ok(201, r("File")).also(&[202, 413, 415, 422, 503]);
    ExportCustomer: GET "/api/v1/customers/{id}/export", Needs(ManageRecords), NoQuery
        => api api::exports::customer(env, rctx, me()?, matched).await,
        op("One customer's data (access and portability): a ZIP of export.json — the customer, \
            sites, jobs, visits, job notes, quotes, invoices, payments, messages and file \
            records — and their clean files (at most 10 MiB each, 50 MiB in all; the rest \
            listed, not embedded)").bytes("application/zip");
    ListCustomerFiles: GET "/api/v1/customers/{id}/files", Needs(ViewRecords), NoQuery
        => api api::files::list(env, rctx, me()?, matched, Parent::Customer).await,
        op("The customer's files, newest first, with their scan status (technicians: customers they work for)")
            .ok(200, list_of("files", "File"));
    UploadCustomerFile: POST "/api/v1/customers/{id}/files", Needs(ManageRecords), api::files::UploadQuery
        => api api::files::upload(req, env, rctx, me()?, matched, Parent::Customer, query).await,
        op("Attach a file to the customer (the body is the file; JPEG, PNG, WebP, HEIC or PDF, \
            told by its bytes): 201 clean, 202 waiting for the scanner, 422 malware found, \
            503 no scanner configured").query::<api::files::UploadQuery>().file_body()
            .idempotent().ok(201, r("File")).also(&[202, 413, 415, 422, 503]);
    ListSiteFiles: GET "/api/v1/sites/{id}/files", Needs(ViewRecords), NoQuery
        => api api::files::list(env, rctx, me()?, matched, Parent::Site).await,
        op("The site's files, newest first, with their scan status (technicians: sites of customers they work for)")
            .ok(200, list_of("files", "File"));
    UploadSiteFile: POST "/api/v1/sites/{id}/files", Needs(ManageRecords), api::files::UploadQuery
        => api api::files::upload(req, env, rctx, me()?, matched, Parent::Site, query).await,
        op("Attach a file to the site (the body is the file; JPEG, PNG, WebP, HEIC or PDF, \
            told by its bytes): 201 clean, 202 waiting for the scanner, 422 malware found, \
            503 no scanner configured").query::<api::files::UploadQuery>().file_body()
            .idempotent().ok(201, r("File")).also(&[202, 413, 415, 422, 503]);
    ListQuoteFiles: GET "/api/v1/quotes/{id}/files", Needs(ViewMoney), NoQuery
        => api api::files::list(env, rctx, me()?, matched, Parent::Quote).await,
        op("The quote's files, newest first, with their scan status")
            .ok(200, list_of("files", "File"));
    UploadQuoteFile: POST "/api/v1/quotes/{id}/files", Needs(ManageRecords), api::files::UploadQuery
        => api api::files::upload(req, env, rctx, me()?, matched, Parent::Quote, query).await,
        op("Attach a file to the quote (the body is the file; JPEG, PNG, WebP, HEIC or PDF, \
            told by its bytes): 201 clean, 202 waiting for the scanner, 422 malware found, \
            503 no scanner configured").query::<api::files::UploadQuery>().file_body()
            .idempotent().ok(201, r("File")).also(&[202, 413, 415, 422, 503]);
    ListInvoiceFiles: GET "/api/v1/invoices/{id}/files", Needs(ViewMoney), NoQuery
        => api api::files::list(env, rctx, me()?, matched, Parent::Invoice).await,
        op("The invoice's files, newest first, with their scan status")
            .ok(200, list_of("files", "File"));
    UploadInvoiceFile: POST "/api/v1/invoices/{id}/files", Needs(ManageRecords), api::files::UploadQuery
        => api api::files::upload(req, env, rctx, me()?, matched, Parent::Invoice, query).await,
        op("Attach a file to the invoice (the body is the file; JPEG, PNG, WebP, HEIC or PDF, \
            told by its bytes): 201 clean, 202 waiting for the scanner, 422 malware found, \
            503 no scanner configured").query::<api::files::UploadQuery>().file_body()
            .idempotent().ok(201, r("File")).also(&[202, 413, 415, 422, 503]);
    SignJob: POST "/api/v1/jobs/{id}/signature", Needs(WorkOnJobs), api::files::SignatureQuery
        => api api::files::signature(req, env, rctx, me()?, matched, query).await,
        op("The customer's signature on the job (the body is the PNG the signature pad made), \
            with the signer's name: on the job and its timeline")
            .query::<api::files::SignatureQuery>().file_body()
            .ok(201, r("File")).also(&[202, 413, 415, 422, 503]);
    GetFile: GET "/api/v1/files/{id}", Needs(ViewRecords), NoQuery
        => api api::files::get(env, rctx, me()?, matched).await,
        op("A file's record: type, size, SHA-256, scan status, parent (only to those who may \
            see the parent)").ok(200, r("File"));
    FileContent: GET "/api/v1/files/{id}/content", Needs(ViewRecords), NoQuery
        => api api::files::content(&req, env, rctx, me()?, matched).await,
        op("A clean file's bytes (409 while it waits for the scanner or after it was rejected)")
            .bytes("*/*").also(&[304, 409]);
    DeleteFile: DELETE "/api/v1/files/{id}", Needs(WorkOnJobs), NoQuery
        => api api::files::delete(&req, env, rctx, me()?, matched).await,
        op("Delete a file (kept 30 days, then purged; technicians: their own attachments)")
            .if_match().empty();

    RevokeShareLink: DELETE "/api/v1/share-links/{id}", Needs(ManageRecords), NoQuery
        => api api::share_links::revoke(&req, env, rctx, me()?, matched).await,
        op("Revoke a share link").if_match().empty();
}
