//! The pages of an owner's recovery link, and its email's HTML.

use maud::{html, Markup};

use crate::views::pages::bare;

pub fn recover_page(email: &str, token: &str, problem: Option<&str>) -> Markup {
    bare(
        "Set a new password",
        "",
        html! {
            h1 { "Set a new password" }
            p { "For " strong { (email) } ". Two-factor sign-in is switched off for this account once the password is set: set it up again right after signing in." }
            @if let Some(problem) = problem { p.error role="alert" { (problem) } }
            form method="post" action=(format!("/recover/{token}")) {
                label { span.label { "New password" }
                    input type="password" name="password" autocomplete="new-password" required minlength="10"; }
                button type="submit" { "Set the password" }
            }
        },
    )
}

pub fn recovered_page() -> Markup {
    bare(
        "Password set",
        "",
        html! {
            h1 { "Your new password is set" }
            p { "Every other session was signed out. Sign in, then set up two-factor sign-in again." }
            p { a href="/login" { "Sign in" } }
        },
    )
}

/// The plain text as simple HTML (the link made clickable by mail clients either way).
pub fn mail_html(text: &str) -> String {
    html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; }
            body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 0 auto;" {
                @for paragraph in text.split("\n\n") {
                    @if paragraph.starts_with("http") { p { a href=(paragraph.trim()) { (paragraph.trim()) } } }
                    @else { p { (paragraph) } }
                }
            }
        }
    }
    .into_string()
}
