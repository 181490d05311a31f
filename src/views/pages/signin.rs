//! Signing in (password, then a TOTP or recovery code when asked), accepting an invitation,
//! changing a password (first of all when it was generated), and two-factor enrolment with
//! its QR code drawn here as SVG.

use maud::{html, Markup, PreEscaped};
use std::fmt::Write;

use qrcodegen::{QrCode, QrCodeEcc};

use crate::views::pages::forms::{api_form, field, field_hint, password_again, submit, Api};
use crate::views::pages::{bare, shell, Section, Viewer};

const NO_SCRIPT: &str = "The dashboard needs JavaScript to sign in and to save changes.";

/// `GET /login`: the password step, and the second step the script reveals when the answer
/// says `mfa_required`. `next` has been made safe by the caller.
pub fn sign_in(next: &str) -> Markup {
    bare(
        "Sign in",
        "",
        html! {
            h1 { "Sign in" }
            noscript { p.form-error { (NO_SCRIPT) } }
            form.api id="signin" method="post" novalidate data-next=(next) {
                p.form-error role="alert" hidden {}
                (field("Email", "email", html! {
                    input type="email" name="email" autocomplete="username" autofocus required;
                }))
                (field("Password", "password", html! {
                    input type="password" name="password" autocomplete="current-password" required;
                }))
                div.actions { button type="submit" { "Sign in" } }
            }
            form.api id="signin-mfa" method="post" novalidate data-next=(next) hidden {
                p.form-error role="alert" hidden {}
                p { "Enter the 6-digit code from your authenticator app." }
                (field("Code", "code", html! {
                    input type="text" name="code" inputmode="numeric" autocomplete="one-time-code"
                        pattern="[0-9]*" maxlength="6";
                }))
                div.field data-field="recovery_code" hidden {
                    label { span.label { "Recovery code" }
                        input type="text" name="recovery_code" autocomplete="off"; }
                }
                div.actions {
                    button type="submit" { "Continue" }
                    button.link type="button" data-use-recovery { "Use a recovery code instead" }
                }
            }
        },
    )
}

/// `GET /invite/{token}`: choose a name and a password to join.
pub fn accept_invite(token: &str) -> Markup {
    bare(
        "Join your team",
        "",
        html! {
            h1 { "Join your team" }
            noscript { p.form-error { (NO_SCRIPT) } }
            form.api id="accept-invite" method="post" novalidate data-method="POST"
                data-action="/api/v1/auth/invites/accept" data-then="go:/" {
                p.form-error role="alert" hidden {}
                input type="hidden" name="token" value=(token);
                (field("Your name", "name", html! {
                    input type="text" name="name" autocomplete="name" required;
                }))
                (field_hint("Password", "password", html! {
                    input type="password" name="password" autocomplete="new-password" required;
                }, "At least 12 characters; a few unrelated words work well."))
                div.actions { button type="submit" { "Join" } }
            }
        },
    )
}

/// `GET /password`: the current password and a new one, then on to `next` (made safe by the
/// caller). `required` when the password was generated for the user: nothing else opens
/// until it is changed.
pub fn change_password(viewer: &Viewer<'_>, next: &str, required: bool) -> Markup {
    let then = format!("go:{next}");
    let body = html! {
        h1 { "Change your password" }
        @if required {
            p.notice role="status" {
                "Your password was generated for you. Choose your own to continue."
            }
        }
        noscript { p.form-error { (NO_SCRIPT) } }
        (api_form(&Api::new("POST", "/api/v1/me/password", &then), "password", html! {
            (field("Current password", "current_password", html! {
                input type="password" name="current_password" autocomplete="current-password" required;
            }))
            (field_hint("New password", "new_password", html! {
                input type="password" name="new_password" autocomplete="new-password" required;
            }, "At least 12 characters; a few unrelated words work well."))
            (submit("Change password"))
        }))
    };
    shell(viewer, Section::Settings, "Change your password", body)
}

/// What the enrolment page knows about the user's second factor.
pub enum MfaState<'a> {
    /// On, with this many unused recovery codes; `required` when the company insists.
    Enabled {
        recovery_codes_left: i64,
        required: bool,
    },
    /// Not on yet: the pending secret (base32) and its `otpauth://` URI.
    Enrolling {
        secret: &'a str,
        uri: &'a str,
        required: bool,
    },
}

/// `GET /mfa`.
pub fn mfa(viewer: &Viewer<'_>, state: &MfaState<'_>, next: &str, must_enrol: bool) -> Markup {
    let body = match state {
        MfaState::Enabled {
            recovery_codes_left,
            required,
        } => html! {
            h1 { "Two-factor sign-in" }
            p.ok { "Two-factor sign-in is on. " (recovery_codes_left) " recovery codes left." }
            @if *required {
                p.muted { "Your company requires it, so it cannot be turned off." }
            } @else {
                form.api method="post" novalidate data-method="POST"
                    data-action="/api/v1/me/mfa/disable" data-then="reload" {
                    p.form-error role="alert" hidden {}
                    (field("Code from your app, to turn it off", "code", html! {
                        input type="text" name="code" inputmode="numeric" autocomplete="one-time-code";
                    }))
                    (password_again())
                    div.actions { button.danger type="submit" { "Turn off two-factor sign-in" } }
                }
            }
        },
        MfaState::Enrolling {
            secret,
            uri,
            required,
        } => html! {
            h1 { "Set up two-factor sign-in" }
            section id="enrol" {
                @if must_enrol || *required {
                    p.notice role="status" {
                        "Your company requires two-factor sign-in. Set it up to continue."
                    }
                }
                ol.steps {
                    li {
                        "Scan this code with an authenticator app (1Password, Google Authenticator, Aegis…)."
                        div.qr role="img" aria-label="QR code of your two-factor key" { (qr_svg(uri)) }
                        "Or type this key: " code.secret data-secret=(secret) { (grouped(secret)) }
                    }
                    li {
                        "Enter the 6-digit code it shows."
                        form.api id="mfa-confirm" method="post" novalidate data-method="POST"
                            data-action="/api/v1/me/mfa/confirm" data-next=(next) {
                            p.form-error role="alert" hidden {}
                            (field("Code", "code", html! {
                                input type="text" name="code" inputmode="numeric"
                                    autocomplete="one-time-code" maxlength="6";
                            }))
                            (password_again())
                            div.actions {
                                button type="submit" { "Turn on" }
                            }
                        }
                    }
                }
                form.api.inline method="post" novalidate data-method="POST"
                    data-action="/api/v1/me/mfa/enroll" data-then="reload" {
                    p.form-error role="alert" hidden {}
                    button.link type="submit" { "Start over with a new key" }
                }
            }
            section id="recovery" hidden {
                h2 { "Your recovery codes" }
                p { "Each works once if you lose your phone. They are shown only now: "
                    "print them or keep them in your password manager." }
                ol.codes {}
                p { a.button href=(next) data-continue { "I have saved them, continue" } }
            }
        },
    };
    shell(viewer, Section::Settings, "Two-factor sign-in", body)
}

/// The key in groups of four, easier to type.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The QR code of `text` as inline SVG: one unit per module, a quiet zone of four, each run of
/// dark modules in a row one rectangle; scaled by CSS. The SVG holds only numbers and our own
/// markup, so it goes in unescaped; the text itself is never in it.
pub fn qr_svg(text: &str) -> Markup {
    const QUIET: i32 = 4;
    let Ok(code) = QrCode::encode_text(text, QrCodeEcc::Medium) else {
        return html! { p.form-error { "This key is too long for a QR code; type it instead." } };
    };
    let size = code.size();
    let mut path = String::new();
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < size && code.get_module(x, y) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(path, "M{} {}h{run}v1h-{run}z", start + QUIET, y + QUIET);
        }
    }
    let side = size + 2 * QUIET;
    PreEscaped(format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {side} {side}" shape-rendering="crispEdges"><rect width="{side}" height="{side}" fill="#fff"/><path d="{path}" fill="#000"/></svg>"##
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::permissions::Role;
    use crate::views::pages::tests::viewer;

    #[test]
    fn the_sign_in_page_carries_where_to_go_next_escaped() {
        let page = sign_in("/jobs?a=1&b=\"2\"").into_string();
        assert!(
            page.contains(r#"data-next="/jobs?a=1&amp;b=&quot;2&quot;""#),
            "{page}"
        );
        assert!(page.contains(r#"autocomplete="current-password""#));
        assert!(page.contains(r#"id="signin-mfa""#));
    }

    #[test]
    fn the_password_page_posts_the_change_and_goes_on_to_next() {
        let viewer = viewer(Role::Owner);
        let page = change_password(&viewer, "/jobs?status=open", true).into_string();
        assert!(
            page.contains(r#"data-action="/api/v1/me/password""#),
            "{page}"
        );
        assert!(
            page.contains(r#"data-then="go:/jobs?status=open""#),
            "{page}"
        );
        assert!(page.contains("generated for you"), "{page}");
        let chosen = change_password(&viewer, "/", false).into_string();
        assert!(!chosen.contains("generated for you"), "{chosen}");
    }

    #[test]
    fn enrolment_shows_the_key_and_a_qr_code_of_the_uri_only_as_svg() {
        let uri = "otpauth://totp/fieldworker:olive%40acme.example?secret=JBSWY3DPEHPK3PXP&issuer=fieldworker";
        let state = MfaState::Enrolling {
            secret: "JBSWY3DPEHPK3PXP",
            uri,
            required: true,
        };
        let page = mfa(&viewer(Role::Owner), &state, "/jobs", true).into_string();
        assert!(page.contains("JBSW Y3DP EHPK 3PXP"), "{page}");
        assert!(page.contains("<svg"));
        assert!(!page.contains("<?xml"));
        assert!(
            !page.contains("otpauth://"),
            "the URI is drawn, not written out"
        );
        assert!(page.contains("requires two-factor"));
        let svg = qr_svg(uri).into_string();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // <svg>, <rect/>, <path/>, </svg>: nothing else.
        assert_eq!(svg.matches('<').count(), 4, "{svg}");
    }

    #[test]
    fn the_svg_draws_exactly_the_dark_modules() {
        let text = "otpauth://totp/fieldworker:a%40b.example?secret=JBSWY3DPEHPK3PXP";
        let code = QrCode::encode_text(text, QrCodeEcc::Medium).unwrap();
        let svg = qr_svg(text).into_string();
        let path = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        let size = code.size();
        let mut drawn = vec![false; (size * size) as usize];
        for rect in path.split('z').filter(|r| !r.is_empty()) {
            // M{x} {y}h{run}v1h-{run}
            let (xy, rest) = rect[1..].split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let run: i32 = rest.split('v').next().unwrap().parse().unwrap();
            let (x, y): (i32, i32) = (x.parse::<i32>().unwrap() - 4, y.parse::<i32>().unwrap() - 4);
            for dx in 0..run {
                drawn[(y * size + x + dx) as usize] = true;
            }
        }
        for y in 0..size {
            for x in 0..size {
                assert_eq!(
                    drawn[(y * size + x) as usize],
                    code.get_module(x, y),
                    "({x}, {y})"
                );
            }
        }
        assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", size + 8)));
    }

    #[test]
    fn an_enabled_second_factor_can_be_turned_off_unless_required() {
        let on = |required| {
            mfa(
                &viewer(Role::Technician),
                &MfaState::Enabled {
                    recovery_codes_left: 7,
                    required,
                },
                "/",
                false,
            )
            .into_string()
        };
        assert!(on(false).contains("/api/v1/me/mfa/disable"));
        assert!(on(false).contains("7 recovery codes left"));
        assert!(!on(true).contains("/api/v1/me/mfa/disable"));
    }
}
