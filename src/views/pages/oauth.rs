//! The pages of the OAuth flow: the step that brings a visitor from another site back onto
//! ours (so the `SameSite=Strict` session cookie is sent), and the consent that names the app
//! and what it will be able to do.

use maud::{html, Markup, PreEscaped};

use super::bare;
use crate::domain::auth::permissions::Role;
use crate::domain::oauth::Scope;

/// Served by `/oauth/authorize`: a cross-site navigation arrives without the session cookie,
/// so the page moves on to `/oauth/consent` from this site (a same-site navigation, which
/// carries it), at once or by the link.
pub fn continue_page(next: &str) -> Markup {
    let refresh = format!("0;url={next}");
    html! {
        (PreEscaped("<!DOCTYPE html>"))
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta http-equiv="refresh" content=(refresh);
                link rel="icon" type="image/svg+xml" href=(super::assets::ICON.path());
                title { "Continue · fieldworker" }
            }
            body {
                main {
                    p { "Taking you to fieldworker to sign in and allow the app… " }
                    p { a href=(next) { "Continue" } }
                }
            }
        }
    }
}

/// What the consent form carries back, besides the user's decision.
pub struct ConsentForm<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub code_challenge: &'a str,
    pub state: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub csrf: &'a str,
}

/// The consent: the app's name and where it sends the user back, what it will be able to do
/// (`scope`, already capped at the user's role; `narrowed` when it asked for more), allow or
/// deny.
pub fn consent(
    client_name: &str,
    redirect_host: &str,
    user_email: &str,
    role: Role,
    scope: Scope,
    narrowed: bool,
    form: &ConsentForm<'_>,
) -> Markup {
    let body = html! {
        h1 { "Allow " (client_name) "?" }
        p { strong { (client_name) } " wants to use fieldworker as you ("
            (user_email) ", " (role.as_str()) ")." }
        section.card {
            h2 { "It will be able to" }
            p { (scope.describe()) }
            p.muted { "Never more than your own role allows. Access lasts until you revoke it \
                       under Settings → Connected apps." }
            @if narrowed {
                p.notice role="status" { "The app asked to make changes, which your role cannot \
                    do: allowing it gives read access only." }
            }
            p.muted { "You will be sent back to " code { (redirect_host) } "." }
        }
        form method="post" action="/oauth/consent" {
            input type="hidden" name="client_id" value=(form.client_id);
            input type="hidden" name="redirect_uri" value=(form.redirect_uri);
            input type="hidden" name="code_challenge" value=(form.code_challenge);
            input type="hidden" name="code_challenge_method" value="S256";
            input type="hidden" name="scope" value=(scope.as_str());
            @if let Some(state) = form.state { input type="hidden" name="state" value=(state); }
            @if let Some(resource) = form.resource { input type="hidden" name="resource" value=(resource); }
            input type="hidden" name="csrf" value=(form.csrf);
            div.actions {
                button type="submit" name="decision" value="allow" { "Allow" }
                " "
                button.secondary type="submit" name="decision" value="deny" { "Deny" }
            }
        }
    };
    bare("Allow an app", "", body)
}

/// A request that cannot be sent back to the app (unknown app, a redirect URI it did not
/// register): told to the user here, never redirected.
pub fn refused(detail: &str) -> Markup {
    bare(
        "Cannot connect the app",
        "",
        html! {
            h1 { "This app cannot be connected" }
            p { (detail) }
            p.muted { "Start again from the app; if it keeps happening, tell its developer." }
        },
    )
}
