//! Files sent in a chat (a Telegram photo or document, an MMS's media), after the webhook was
//! acknowledged: the job they go on (the caption's `/photo 42`, else the sender's current
//! visit), fetched from the provider within the company's limit, and put through the upload
//! pipeline as the sender (source `telegram` or `sms`). The reply says where each landed and
//! what the malware scanner said.

use serde_json::Value;
use worker::console_log;

use crate::agent::replies::{self, instant};
use crate::db::store::D1Store;
use crate::domain::chat_files::{
    ask_which_job, caption_is_bad_command, caption_job, current_visit, fetch_limit, landed_reply,
    noun, telegram_pick, too_large_reply, ChatFile, Landed, VisitSlot, FILE_COMMAND_HOW,
};
use crate::domain::files::{Parent, Purpose, Status};
use crate::error::{AppError, AppResult};
use crate::http::api::files::addable_parent;
use crate::http::api::{new_id, now};
use crate::http::conversation::Speaker;
use crate::http::files::{self as pipeline, Upload};
use crate::json;
use crate::services::clamd::Scanner;
use crate::services::{telegram, twilio, FetchError};

/// The job a file goes on, as the reply names it.
struct Job {
    id: String,
    label: String,
}

impl Job {
    fn of(value: &Value) -> Option<Job> {
        let id = value["id"].as_str()?.to_owned();
        let label = format!(
            "job #{} {}",
            value["number"],
            value["title"].as_str().unwrap_or_default()
        );
        Some(Job {
            id,
            label: label.trim_end().to_owned(),
        })
    }
}

/// Receives the files of the speaker's message; answers the reply. Errors are ours (D1, R2):
/// the caller says to try again.
pub(crate) async fn receive(speaker: &Speaker<'_>) -> AppResult<String> {
    let inbound = speaker.inbound;
    let Some(first) = inbound.files.first() else {
        return Ok(FILE_COMMAND_HOW.to_owned());
    };
    let caption = inbound.text.trim();
    if caption_is_bad_command(caption) {
        return Ok(FILE_COMMAND_HOW.to_owned());
    }
    let scanner = match pipeline::scanner(speaker.env) {
        Ok(scanner) => scanner,
        Err(e) => return Ok(refusal(speaker, &e)),
    };
    let job = match caption_job(caption) {
        Some(number) => match speaker.job(number).await {
            Ok(job) => Job::of(&job),
            Err(message) => return Ok(message),
        },
        None => match current_job(speaker).await {
            Ok(job) => job,
            Err(message) => return Ok(message),
        },
    };
    let Some(job) = job else {
        return Ok(ask_which_job(noun(first)));
    };
    let d1 = D1Store::from_env(speaker.env)?;
    let row = match addable_parent(&d1, speaker.rctx, speaker.principal, Parent::Job, &job.id).await
    {
        Ok(row) => row,
        Err(e) if e.status() < 500 => return Ok(refusal(speaker, &e)),
        Err(e) => return Err(e),
    };
    let company_limit = u64::try_from(row.max_upload_bytes).unwrap_or(0);
    let mut lines = Vec::with_capacity(inbound.files.len());
    for file in &inbound.files {
        lines.push(one(speaker, &d1, &scanner, &job, file, company_limit).await?);
    }
    Ok(lines.join("\n"))
}

/// The job of the speaker's current visit (under way, else today's nearest to now), if any.
/// `Err` is a reply (the schedule could not be read).
async fn current_job(speaker: &Speaker<'_>) -> Result<Option<Job>, String> {
    let (_, zone) = speaker.settings().await;
    let at = now();
    let today = zone.today(at);
    let arguments = json!({
        "from": crate::domain::time::Millis::from_ms(today.0).to_rfc3339(),
        "to": crate::domain::time::Millis::from_ms(today.1).to_rfc3339(),
        "technician_id": speaker.principal.user.id,
    });
    let visits = speaker
        .tool("list_visits", arguments)
        .await
        .map_err(|p| replies::refusal(&p))?;
    let slots: Vec<VisitSlot<Value>> = visits["visits"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| {
            Some(VisitSlot {
                start_ms: instant(&v["start"])?,
                end_ms: instant(&v["end"])?,
                job: json!({ "id": v["job_id"], "number": v["job"]["number"],
                             "title": v["job"]["title"] }),
            })
        })
        .collect();
    Ok(current_visit(&slots, at.0 as i64, today).and_then(Job::of))
}

/// One file: fetched within the limits, then stored, scanned and recorded on the job.
async fn one(
    speaker: &Speaker<'_>,
    d1: &D1Store,
    scanner: &Scanner,
    job: &Job,
    file: &ChatFile,
    company_limit: u64,
) -> AppResult<String> {
    let what = noun(file);
    let from_telegram = !matches!(file, ChatFile::Media { .. });
    let limit = fetch_limit(file, company_limit);
    let fetched = match file {
        ChatFile::Media { url, .. } => twilio::media(speaker.env, url, limit).await,
        _ => match telegram_pick(file, limit) {
            Ok(Some(picked)) => telegram::download(speaker.env, &picked.file_id, limit).await,
            Ok(None) => Err(FetchError::Failed("nothing to fetch".into())),
            Err(over) => Err(FetchError::TooLarge { size: over.size }),
        },
    };
    let bytes = match fetched {
        Ok(bytes) => bytes,
        Err(FetchError::TooLarge { size }) => {
            return Ok(too_large_reply(what, size, company_limit, from_telegram))
        }
        Err(FetchError::Failed(why)) => {
            console_log!(
                "{}",
                json!({ "level": "warn", "msg": "chat file not fetched",
                        "request_id": speaker.rctx.id.as_str(),
                        "channel": speaker.inbound.channel.as_str(), "why": why })
            );
            return Ok(format!(
                "I could not fetch the {what} from {}; please send it again.",
                if from_telegram { "Telegram" } else { "Twilio" }
            ));
        }
    };
    let name = match file {
        ChatFile::TelegramDocument { name, .. } => name.as_deref().unwrap_or_default(),
        _ => "",
    };
    let id = new_id()?;
    let upload = Upload {
        id: &id,
        parent: Parent::Job,
        parent_id: Some(&job.id),
        purpose: Purpose::Attachment,
        name,
        signer_name: None,
        source: pipeline::source_of(speaker.principal),
    };
    let stored = pipeline::store(
        speaker.env,
        d1,
        speaker.rctx,
        Some(speaker.principal),
        scanner,
        &upload,
        bytes,
        None,
        Vec::new(),
    )
    .await;
    let record = match stored {
        Ok(created) => created.record,
        Err(e) if e.status() < 500 => return Ok(refusal(speaker, &e)),
        Err(e) => return Err(e),
    };
    let outcome = match Status::parse(&record.status) {
        Some(Status::Clean) => Landed::Clean,
        Some(Status::Rejected) => Landed::Malware(record.scan_detail.as_deref()),
        _ => Landed::Waiting,
    };
    Ok(landed_reply(&record.name, &job.label, outcome))
}

/// A refusal from the API's own rules, as a reply.
fn refusal(speaker: &Speaker<'_>, error: &AppError) -> String {
    replies::refusal(&error.to_problem("", speaker.rctx.id.as_str()))
}
