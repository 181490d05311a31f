//! Messages to customers through the outbox (DESIGN.md §10). Queuing writes, in the batch of
//! whatever causes the message, its outbox row (unique per occasion: at most once), its line
//! in the customer's conversation, and the share link it carries (stored by its hash; the
//! token is derived again from the link's id when sending, so no token sits in the outbox).
//! Sending renders the link and, for automatic mail, the unsubscribe link, and re-checks that
//! the customer did not opt out meanwhile.

use crate::json;
use worker::Env;

use crate::db::messages::{self as store, Sending};
use crate::db::outbox::Claimed;
use crate::db::store::D1Store;
use crate::domain::audit::SealKey;
use crate::domain::auth::session::sha256_hex;
use crate::domain::customer_messages::kept_body;
use crate::domain::deliveries::{unsubscribe_token, Delivery};
use crate::domain::outbox::Attempt;
use crate::domain::personal::{customer_key, pending};
use crate::domain::share_links::{self, derived_token};
use crate::domain::templates::{with_link, Kind};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::api::new_id;
use crate::http::api::pdfs;
use crate::http::seal;
use crate::services::email::{self, Attachment, Email};
use crate::services::{setting, twilio};
use crate::sql;
use crate::views::messages::email_html;
use crate::write::{Results, Sql, Store};

/// Where unsubscribe links point: `/unsubscribe/{token}`.
pub const UNSUBSCRIBE_PATH: &str = "/unsubscribe/";
/// Automatic SMS end with this (carriers expect the way out to be said).
const SMS_OPT_OUT: &str = "Reply STOP to opt out.";

/// The document a message links to.
#[derive(Debug, Clone)]
pub struct LinkTo {
    pub document: &'static str,
    pub id: String,
    /// The button's words in the email.
    pub label: &'static str,
}

/// A message to a customer, rendered but for its link.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// What it is about and why: its unique key.
    pub occasion: String,
    pub delivery: Delivery,
    pub customer_id: String,
    /// The record whose timeline shows it.
    pub entity: &'static str,
    pub entity_id: String,
    pub subject: String,
    pub body: String,
    pub link: Option<LinkTo>,
    /// The automatic message it is, if any (opt-outs and quiet hours apply to those).
    pub template: Option<Kind>,
    pub send_at: i64,
    /// Too late to send after this (a reminder once its visit began).
    pub not_after: Option<i64>,
    /// The staff member who sent it, if one did.
    pub author: Option<String>,
}

impl Outgoing {
    /// `text`, the customer's personal data, as bound: sealed under their data key.
    pub fn sealed(&self, text: &str) -> String {
        pending(&customer_key(&self.customer_id), text)
    }
}

/// What the outbox row keeps for the sender (written by [`queue`]).
struct Data {
    subject: String,
    body: String,
    customer_id: String,
    template: Option<String>,
    link_id: Option<String>,
    link_label: Option<String>,
    not_after: Option<i64>,
}

impl Data {
    fn read(text: &str) -> Option<Data> {
        let value: serde_json::Value = serde_json::from_str(text).ok()?;
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        Some(Data {
            subject: text("subject")?,
            body: text("body")?,
            customer_id: text("customer_id")?,
            template: text("template"),
            link_id: text("link_id"),
            link_label: text("link_label"),
            not_after: value["not_after"].as_i64(),
        })
    }
}

/// The statements that queue `message` (outbox row, share link, conversation line); each
/// after the first is written only if the outbox row was (a repeated occasion writes nothing).
pub fn queue(key: &SealKey, message: &Outgoing, now: Millis) -> AppResult<Vec<Sql>> {
    let outbox_id = new_id()?;
    let link_id = match message.link {
        Some(_) => Some(new_id()?),
        None => None,
    };
    // The recipient, subject and body may name the customer: sealed under their key.
    let data = json!({
        "subject": message.sealed(&message.subject), "body": message.sealed(&message.body),
        "customer_id": message.customer_id,
        "template": message.template.map(Kind::as_str), "link_id": link_id,
        "link_label": message.link.as_ref().map(|l| l.label), "not_after": message.not_after,
    });
    let now_ms = now.0 as i64;
    let mut statements = vec![sql!(
        store::QUEUE,
        outbox_id.as_str(),
        message.occasion.as_str(),
        message.delivery.channel.as_str(),
        message.sealed(&message.delivery.to),
        data.to_string(),
        message.entity,
        message.entity_id.as_str(),
        message.send_at,
        now_ms,
    )];
    if let (Some(link), Some(link_id)) = (&message.link, &link_id) {
        let expires = share_links::expires_at(now, None)?.to_rfc3339();
        statements.push(sql!(
            store::SHARE_LINK,
            link_id.as_str(),
            sha256_hex(&derived_token(key, link_id)),
            link.document,
            link.id.as_str(),
            message.author.as_deref(),
            now.to_rfc3339(),
            expires,
            outbox_id.as_str(),
        ));
    }
    statements.push(sql!(
        store::CONVERSATION_LINE,
        new_id()?,
        message.customer_id.as_str(),
        message.delivery.channel.as_str(),
        message.sealed(&kept_body(with_link(&message.body, None).trim_end())),
        outbox_id.as_str(),
        message.author.as_deref(),
        now_ms,
    ));
    Ok(statements)
}

/// The key that derives share-link tokens and unsubscribe links.
pub fn key(env: &Env) -> AppResult<SealKey> {
    seal::keying(env)
        .map(|k| k.key)
        .ok_or_else(|| AppError::internal("AUDIT_KEY is not set: links in messages need it"))
}

fn refused(reason: impl Into<String>) -> Attempt {
    Attempt::NotSent {
        reason: reason.into(),
        permanent: true,
    }
}

/// The PDF an email about a quote or an invoice carries: the quote as it stands, the invoice
/// as it was issued (kept once, so every email sends the same document).
async fn document(env: &Env, message: &Claimed) -> AppResult<Option<(String, Vec<u8>)>> {
    match message.entity.as_str() {
        "invoice" => crate::http::documents::attachment(env, &message.entity_id).await,
        "quote" => {
            let d1 = D1Store::from_env(env)?;
            let results = d1
                .batch(pdfs::quote_reads(&message.entity_id))
                .await
                .map_err(|e| AppError::internal(format!("reading the quote: {e}")))?;
            let (_, name, bytes) = pdfs::quote_document(env, &results).await?;
            Ok(Some((name, bytes)))
        }
        _ => Ok(None),
    }
}

/// Sends one queued message to a customer.
pub async fn send(env: &Env, store: &D1Store, message: &Claimed, now: Millis) -> Attempt {
    let Some(data) = Data::read(&message.data) else {
        return refused("the queued message cannot be read");
    };
    if data.not_after.is_some_and(|t| t < now.0 as i64) {
        return refused("too late: the visit it was about has begun");
    }
    let sending = match store.batch(vec![store::sending(&data.customer_id)]).await {
        Ok(results) => match results
            .rows::<Sending>(0)
            .ok()
            .and_then(|r| r.into_iter().next())
        {
            Some(sending) => sending,
            None => return refused("the company settings are missing"),
        },
        Err(e) => {
            return Attempt::NotSent {
                reason: format!("reading the company: {e}"),
                permanent: false,
            }
        }
    };
    let automatic = data.template.is_some();
    if automatic && sending.opted_out != Some(0) {
        return refused("the customer opted out of automatic messages");
    }
    let Some(public) = setting(env, "PUBLIC_URL") else {
        return refused("PUBLIC_URL is not set: the message's links would lead nowhere");
    };
    let public = public.trim_end_matches('/');
    let key = match key(env) {
        Ok(key) => key,
        Err(_) => return refused("AUDIT_KEY is not set: the message's links need it"),
    };
    let link = data
        .link_id
        .as_deref()
        .map(|id| format!("{public}{}", share_links::url(&derived_token(&key, id))));
    let body = with_link(&data.body, link.as_deref());
    match message.channel.as_str() {
        "sms" => {
            let text = if automatic {
                format!("{} {SMS_OPT_OUT}", body.trim_end())
            } else {
                body
            };
            twilio::send(env, &message.recipient, &text).await
        }
        "email" => {
            let unsubscribe = automatic.then(|| {
                format!(
                    "{public}{UNSUBSCRIBE_PATH}{}",
                    unsubscribe_token(&key, &data.customer_id)
                )
            });
            let mut text = format!("{body}\n\n-- \n{}\n", sending.company);
            if let Some(url) = &unsubscribe {
                text.push_str(&format!("Unsubscribe from automatic messages: {url}\n"));
            }
            let label = data.link_label.as_deref().unwrap_or("Open");
            let html = email_html(
                &sending.company,
                &sending.brand_color,
                &data.subject,
                &body,
                link.as_deref().map(|url| (url, label)),
                unsubscribe.as_deref(),
            );
            // RFC 8058 one-click: mail providers POST to the link, no page in between.
            let list = unsubscribe.as_ref().map(|url| format!("<{url}>"));
            let headers: Vec<(&str, &str)> = match &list {
                Some(list) => vec![
                    ("List-Unsubscribe", list.as_str()),
                    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ],
                None => Vec::new(),
            };
            let document = match document(env, message).await {
                Ok(document) => document,
                Err(e) => {
                    return Attempt::NotSent {
                        reason: format!("making the document to attach: {e}"),
                        permanent: false,
                    }
                }
            };
            let attachments: Vec<Attachment<'_>> = document
                .iter()
                .map(|(name, bytes)| Attachment {
                    name,
                    content_type: "application/pdf",
                    bytes,
                })
                .collect();
            email::send(
                env,
                &Email {
                    from_name: &sending.company,
                    reply_to: sending.company_email.as_deref(),
                    to: &message.recipient,
                    subject: &data.subject,
                    text: &text,
                    html: &html,
                    headers: &headers,
                    attachments: &attachments,
                },
            )
            .await
        }
        other => refused(format!("no channel {other}")),
    }
}
