//! The sweep, run by a cron trigger every five minutes and after each message is handled. A
//! message is answered after its webhook was acknowledged, in `wait_until`; if the runtime
//! ends the Worker first (an instance evicted, a deploy, the time limit of work after a
//! response), its row stays `received` and its sender waits for an answer that never comes.
//!
//! Such a message is not handled again: its tools may already have changed records, and a
//! second run could move a visit twice or record a payment twice. It is marked failed, once
//! (the update only takes a row still `received`), and its sender is told to check and resend.

use crate::json;
use worker::{console_log, Env};

use crate::agent::replies;
use crate::db::{self, messaging as store};
use crate::domain::messaging::Channel;
use crate::domain::personal::pending;
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::{clock, senders};
use crate::services::{telegram, twilio};

/// Older than this, a `received` message is no longer being handled: work after a response
/// is cut off long before (30 s on Workers).
pub const STUCK_AFTER_MS: u64 = 5 * Millis::MINUTE;
/// At most this many are given up on per run (each costs a write and a reply); the next run
/// takes the rest.
const BATCH: i64 = 10;
const INTERRUPTED: &str = "interrupted: the Worker stopped before answering";

/// What a run did, for its log line.
#[derive(Debug, Default)]
pub struct Swept {
    pub abandoned: usize,
    pub notified: usize,
    pub notify_failures: usize,
}

/// Runs the sweep and logs what it did (a run that found nothing stays quiet); errors are
/// logged, not raised (the next run retries). `cause` names what started it.
pub async fn run(env: &Env, cause: &str) {
    let outcome = abandon_stuck(env).await;
    if outcome.as_ref().is_ok_and(|s| s.abandoned == 0) {
        return;
    }
    let line = match &outcome {
        Ok(s) => json!({
            "level": if s.notify_failures > 0 { "warn" } else { "info" },
            "msg": "sweep", "cause": cause, "abandoned": s.abandoned,
            "notified": s.notified, "notify_failures": s.notify_failures,
        }),
        Err(e) => {
            json!({ "level": "error", "msg": "sweep", "cause": cause, "error": e.to_string() })
        }
    };
    console_log!("{line}");
}

/// Gives up on the messages stuck in `received`, one at a time: the guarded update, then the
/// reply, so a sweep that is itself cut off leaves at most one message marked and untold (the
/// others stay `received` for the next run). One D1 round trip for the read, one per message.
pub async fn abandon_stuck(env: &Env) -> AppResult<Swept> {
    let database = db::database(env)?;
    let now = clock::now();
    let cutoff = now.0.saturating_sub(STUCK_AFTER_MS);
    let stuck: Vec<store::InboundRow> = db::all(
        &database,
        store::SELECT_STUCK,
        &[db::int(i64::try_from(cutoff).unwrap_or(0)), db::int(BATCH)],
    )
    .await?;
    let mut swept = Swept::default();
    for message in &stuck {
        let reply = replies::interrupted(&message.text);
        // The reply quotes the message: sealed under the key the message is.
        let key = match &message.dk {
            Some(key) => key.clone(),
            None => legacy_key(env, message).await?,
        };
        let result = db::statement(
            &database,
            store::ABANDON_INBOUND,
            &[
                db::text(&message.channel),
                db::text(&message.provider_id),
                db::text(&pending(&key, &reply)),
                db::text(INTERRUPTED),
                db::int(now.0 as i64),
            ],
        )?
        .run()
        .await
        .map_err(|e| AppError::internal(format!("abandoning a stuck message: {e}")))?;
        // Another run, or the handling itself, finished it meanwhile: nothing to say.
        if db::changes(&result) != 1 {
            continue;
        }
        swept.abandoned += 1;
        let sent = match message.channel.as_str() {
            "telegram" => telegram::send_message(env, &message.sender, &reply)
                .await
                .map_err(|e| e.to_string()),
            "sms" => twilio::send_sms(env, &message.sender, &reply)
                .await
                .map_err(|e| e.to_string()),
            other => Err(format!("unknown channel {other}")),
        };
        match sent {
            Ok(()) => swept.notified += 1,
            Err(e) => {
                swept.notify_failures += 1;
                console_log!(
                    "{}",
                    json!({
                        "level": "warn", "msg": "sweep notify", "channel": message.channel,
                        "provider_id": message.provider_id, "error": e,
                    })
                );
            }
        }
    }
    Ok(swept)
}

/// The data key of a message recorded before messages were sealed (migration 0020): its
/// sender's, as a new message from them would be.
async fn legacy_key(env: &Env, message: &store::InboundRow) -> AppResult<String> {
    let channel = match message.channel.as_str() {
        "sms" => Channel::Sms,
        _ => Channel::Telegram,
    };
    Ok(senders::resolve(env, channel, &message.sender).await?.key)
}
