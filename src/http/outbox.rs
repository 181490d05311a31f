//! Sending what the outbox holds (DESIGN.md §10): after the response of a request that queued
//! something (`wait_until`), and on cron as a backstop. Each message is claimed by one sender,
//! rendered from its kind and data, sent, and finished once with its audit row; a message
//! claimed but never finished (the Worker was stopped mid-send) is marked unknown by the next
//! run and never resent by itself.

use std::cell::Cell;

use crate::json;
use worker::{console_error, console_log, Env};

use crate::db::customer_messages;
use crate::db::outbox::{self as store, Claimed, Due, NoticeMail};
use crate::db::store::D1Store;
use crate::domain::audit::{Action, AuditEvent};
use crate::domain::outbox::{after, After, Attempt, CUT_OFF};
use crate::error::{AppError, AppResult};
use crate::http::clock;
use crate::http::zone::Zone;
use crate::services::email::{self, Email};
use crate::views::notifications::notice_email;
use crate::views::pages::when_local;
use crate::write::{self, Change, Results, Store};

/// Messages sent per run at most; the next run takes the rest.
const MAX_PER_RUN: usize = 20;

thread_local! {
    /// Whether this request queued a message (an instance runs one request at a time).
    static QUEUED: Cell<bool> = const { Cell::new(false) };
}

/// Notes that the current request queued a message, so it is sent after the response.
pub fn queued() {
    QUEUED.with(|q| q.set(true));
}

/// After a response: sends what the request queued, and plans the automatic messages when
/// this instance is due to (so a tenant without a cron trigger still sends them).
pub fn after_response(ctx: &worker::Context, env: Env) {
    let queued = QUEUED.with(|q| q.replace(false));
    let plan = crate::http::automatic::due(clock::now());
    if !(plan || queued) {
        return;
    }
    ctx.wait_until(async move {
        crate::http::after_the_response().await;
        if plan {
            crate::http::automatic::run_logged(&env, "request").await;
        } else {
            run_logged(&env, "request").await;
        }
    });
}

/// Sends what work done after a response queued (the agent's tools run once the webhook has
/// answered, so no `after_response` follows them); the caller seals what it appended.
pub async fn send_queued(env: &Env, cause: &str) {
    if QUEUED.with(|q| q.replace(false)) {
        drain_logged(env, cause).await;
    }
}

/// One run, then the audit rows it appended are sealed at once: nothing else may write (and
/// so seal) for a while after a run in the background.
pub async fn run_logged(env: &Env, cause: &str) {
    if drain_logged(env, cause).await {
        crate::http::seal::run_logged(env, cause).await;
    }
}

/// One run, logged when it did something or failed (the next run retries). Answers whether
/// it changed any message (and so may have appended audit rows).
pub async fn drain_logged(env: &Env, cause: &str) -> bool {
    match drain(env).await {
        Ok(ran) if ran.sent + ran.retried + ran.failed + ran.orphaned == 0 => false,
        Ok(ran) => {
            let line = json!({
                "level": if ran.failed + ran.orphaned > 0 { "warn" } else { "info" },
                "msg": "outbox", "cause": cause, "sent": ran.sent, "retried": ran.retried,
                "failed": ran.failed, "unknown": ran.orphaned, "message_ids": ran.provider_ids,
            });
            console_log!("{line}");
            true
        }
        Err(e) => {
            let line = json!({ "level": "error", "msg": "outbox", "cause": cause, "error": e.to_string() });
            console_error!("{line}");
            // It may have finished some messages before failing.
            true
        }
    }
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Ran {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub orphaned: usize,
    /// The providers' ids of what went out (the local email files are named by them).
    pub provider_ids: Vec<String>,
}

/// Marks what was cut off mid-send unknown, then sends what is due, one claim at a time.
pub async fn drain(env: &Env) -> AppResult<Ran> {
    // During a restore nothing is sent: what was sent is reconciled first (`http::restore`).
    if crate::http::maintenance::is_on(env).await {
        return Ok(Ran::default());
    }
    let store = D1Store::from_env(env)?;
    let now = clock::now();
    let results = store
        .batch(vec![store::orphans(now), store::count_due(now)])
        .await
        .map_err(|e| AppError::internal(format!("outbox: {e}")))?;
    let mut ran = Ran::default();
    for orphan in results.rows::<Claimed>(0)? {
        let unknown = After::Unknown {
            reason: CUT_OFF.to_owned(),
        };
        finish(&store, &orphan, &unknown).await?;
        ran.orphaned += 1;
    }
    let due = results.rows::<Due>(1)?.first().map_or(0, |d| d.due);
    for _ in 0..due.min(MAX_PER_RUN as i64) {
        let claimed = store
            .batch(vec![store::claim(clock::now())])
            .await
            .map_err(|e| AppError::internal(format!("outbox claim: {e}")))?;
        let Some(message) = claimed.rows::<Claimed>(0)?.into_iter().next() else {
            break;
        };
        // The claim is marked outside D1 before the send, so a restore of D1 to a point
        // before it does not send the message again (`http::restore`). No mark, no send.
        let attempt = match mark_claimed(env, &message.id).await {
            Ok(()) => send(env, &store, &message).await,
            Err(err) => Attempt::NotSent {
                reason: format!("marking the claim: {err}"),
                permanent: false,
            },
        };
        let attempts = u32::try_from(message.attempts).unwrap_or(u32::MAX);
        let outcome = after(attempt, attempts, clock::now());
        match &outcome {
            After::Sent { provider_id } => {
                ran.sent += 1;
                ran.provider_ids.push(provider_id.clone());
            }
            After::Retry { .. } => ran.retried += 1,
            After::Failed { .. } | After::Unknown { .. } => ran.failed += 1,
        }
        finish(&store, &message, &outcome).await?;
    }
    Ok(ran)
}

/// Writes `outbox/claimed/<id>` (the claim's time) to the tenant's bucket.
async fn mark_claimed(env: &Env, id: &str) -> AppResult<()> {
    let bucket = crate::db::files(env)?;
    bucket
        .put(
            format!("{}{id}", store::CLAIM_MARKER_PREFIX),
            clock::now().to_rfc3339(),
        )
        .execute()
        .await
        .map(|_| ())
        .map_err(|e| AppError::internal(format!("R2: {e}")))
}

/// Records the outcome with its audit row (written only if this sender still held the claim).
async fn finish(store: &D1Store, message: &Claimed, outcome: &After) -> AppResult<()> {
    let now = clock::now();
    let (action, detail) = match outcome {
        After::Sent { provider_id } => (Action::MessageSent, json!({ "provider_id": provider_id })),
        After::Retry { reason, at } => (
            Action::MessageRetried,
            json!({ "error": reason, "next_at": at }),
        ),
        After::Failed { reason } => (Action::MessageFailed, json!({ "error": reason })),
        After::Unknown { reason } => (Action::MessageUnknown, json!({ "error": reason })),
    };
    // Not a request's work: the sender's own name stands in for the request id.
    let event = AuditEvent::by_system(
        now,
        action,
        "message",
        Some(&message.id),
        None,
        Some(json!({
            "channel": message.channel, "kind": message.kind, "about": format!("{}:{}", message.entity, message.entity_id),
            "attempts": message.attempts, "outcome": detail,
        })),
        "outbox",
    );
    let change = Change::new().then_audited(store::finish(&message.id, outcome, now), event);
    write::apply(store, change, vec![])
        .await
        .map(|_| ())
        .map_err(|refusal| refusal.into_error(|| AppError::internal("outbox finish")))
}

/// Renders and sends one message.
async fn send(env: &Env, store: &D1Store, message: &Claimed) -> Attempt {
    match (message.channel.as_str(), message.kind.as_str()) {
        ("email", "notice") => match notice(store, message).await {
            Ok(Some(mail)) => {
                let zone = Zone(mail.time_zone.clone());
                let parts = notice_email(&mail, &|ms| {
                    format!("{} ({})", when_local(&zone, ms), mail.time_zone)
                });
                email::send(
                    env,
                    &Email {
                        from_name: &mail.company,
                        reply_to: mail.company_email.as_deref(),
                        to: &message.recipient,
                        subject: &parts.subject,
                        text: &parts.text,
                        html: &parts.html,
                        headers: &[],
                        attachments: &[],
                    },
                )
                .await
            }
            Ok(None) => Attempt::NotSent {
                reason: "the notice is gone".into(),
                permanent: true,
            },
            Err(e) => Attempt::NotSent {
                reason: format!("reading the notice: {e}"),
                permanent: false,
            },
        },
        ("email", "support_link") => support_link(env, message).await,
        ("email", "owner_recovery") => owner_recovery(env, message).await,
        (_, "customer") => crate::http::messages::send(env, store, message, clock::now()).await,
        ("sms", "reply") => match reply_body(store, message).await {
            Ok(Some(body)) => crate::services::twilio::send(env, &message.recipient, &body).await,
            Ok(None) => Attempt::NotSent {
                reason: "the message is gone".into(),
                permanent: true,
            },
            Err(e) => Attempt::NotSent {
                reason: format!("reading the message: {e}"),
                permanent: false,
            },
        },
        (channel, kind) => Attempt::NotSent {
            reason: format!("no {channel} message of kind {kind}"),
            permanent: true,
        },
    }
}

/// A sole owner's recovery link (see `api::recovery::mail`).
async fn owner_recovery(env: &Env, message: &Claimed) -> Attempt {
    match crate::http::api::recovery::mail(env, &message.data).await {
        Ok(Some((company, subject, text))) => {
            email::send(
                env,
                &Email {
                    from_name: &company,
                    reply_to: None,
                    to: &message.recipient,
                    subject: &subject,
                    text: &text,
                    html: &crate::views::recovery::mail_html(&text),
                    headers: &[],
                    attachments: &[],
                },
            )
            .await
        }
        Ok(None) => Attempt::NotSent {
            reason: "the account is gone".into(),
            permanent: true,
        },
        Err(e) => Attempt::NotSent {
            reason: format!("the recovery link: {e}"),
            permanent: false,
        },
    }
}

/// The support person's sign-in link (see `api::support::link_mail`).
async fn support_link(env: &Env, message: &Claimed) -> Attempt {
    let session_id = serde_json::from_str::<serde_json::Value>(&message.data)
        .ok()
        .and_then(|data| data["session_id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    match crate::http::api::support::link_mail(env, &session_id).await {
        Ok(Some(mail)) => {
            email::send(
                env,
                &Email {
                    from_name: &mail.company,
                    reply_to: None,
                    to: &message.recipient,
                    subject: &mail.subject,
                    text: &mail.text,
                    html: &mail.html,
                    headers: &[],
                    attachments: &[],
                },
            )
            .await
        }
        Ok(None) => Attempt::NotSent {
            reason: "the support request is no longer approved".into(),
            permanent: true,
        },
        Err(e) => Attempt::NotSent {
            reason: format!("the support link: {e}"),
            permanent: false,
        },
    }
}

/// The text of a staff reply to a customer (`customer_messages`).
async fn reply_body(store: &D1Store, message: &Claimed) -> AppResult<Option<String>> {
    let data: serde_json::Value = serde_json::from_str(&message.data).unwrap_or_default();
    let id = data["customer_message_id"].as_str().unwrap_or_default();
    let results = store
        .batch(vec![customer_messages::body(id)])
        .await
        .map_err(|e| AppError::internal(format!("outbox reply: {e}")))?;
    Ok(results
        .rows::<customer_messages::Body>(0)?
        .into_iter()
        .next()
        .map(|row| row.body))
}

async fn notice(store: &D1Store, message: &Claimed) -> AppResult<Option<NoticeMail>> {
    let data: serde_json::Value = serde_json::from_str(&message.data).unwrap_or_default();
    let id = data["notification_id"].as_str().unwrap_or_default();
    let results = store
        .batch(vec![store::notice_mail(id)])
        .await
        .map_err(|e| AppError::internal(format!("outbox notice: {e}")))?;
    Ok(results.rows::<NoticeMail>(0)?.into_iter().next())
}
