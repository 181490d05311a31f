//! Cloudflare Email Service through the Worker's `send_email` binding (`EMAIL`): no provider
//! secret in the Worker; mail is DKIM-signed from the operator's onboarded sending domain.
//! `MAIL_FROM` is the sending address on that domain (e.g. `notifications@mail.example.com`);
//! the company's name is the sender's name and its own address the `Reply-To`. Locally,
//! `wrangler dev` writes each message's parts under `.wrangler/tmp/email/`.

use js_sys::{JsString, Object, Reflect};
use wasm_bindgen::JsCast;
use worker::{EmailAddress, EmailAttachment, Env, SendEmailBuilder};

use super::setting;
use crate::domain::outbox::Attempt;

pub const BINDING: &str = "EMAIL";

/// One message: plain text and HTML of the same content.
pub struct Email<'a> {
    pub from_name: &'a str,
    pub reply_to: Option<&'a str>,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub attachments: &'a [Attachment<'a>],
}

/// A file sent with an email (a quote's or invoice's PDF).
pub struct Attachment<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
}

fn not_sent(reason: String, permanent: bool) -> Attempt {
    Attempt::NotSent { reason, permanent }
}

/// Sends `email`. A missing binding or sending address is a setting to fix, not something a
/// retry mends; the binding refusing is retried (it answers before anything went out).
pub async fn send(env: &Env, email: &Email<'_>) -> Attempt {
    let Some(from) = setting(env, "MAIL_FROM") else {
        return not_sent("email is not set up: MAIL_FROM is not set".into(), true);
    };
    let binding = match env.send_email(BINDING) {
        Ok(binding) => binding,
        Err(e) => return not_sent(format!("email is not set up: {e}"), true),
    };
    let builder = SendEmailBuilder::new_with_email_address_and_str(
        &EmailAddress::new(email.from_name, &from),
        email.to,
        email.subject,
    );
    builder.set_text(email.text);
    builder.set_html(email.html);
    if let Some(reply_to) = email.reply_to {
        builder.set_reply_to(reply_to);
    }
    if !email.headers.is_empty() {
        let headers = Object::new();
        for (name, value) in email.headers {
            let _ = Reflect::set(&headers, &(*name).into(), &(*value).into());
        }
        builder.set_headers(headers.unchecked_ref::<Object<JsString>>());
    }
    if !email.attachments.is_empty() {
        let attachments: Vec<EmailAttachment> = email
            .attachments
            .iter()
            .map(|a| {
                EmailAttachment::new_attachment_with_typed_array(
                    a.name,
                    a.content_type,
                    &js_sys::Uint8Array::from(a.bytes),
                )
            })
            .collect();
        builder.set_attachments(&attachments);
    }
    match binding.send_with_builder(&builder).await {
        Ok(result) => Attempt::Sent {
            provider_id: result.message_id(),
        },
        Err(e) => not_sent(
            format!(
                "the email service refused it: {}",
                e.as_string().unwrap_or_else(|| format!("{e:?}"))
            ),
            false,
        ),
    }
}
