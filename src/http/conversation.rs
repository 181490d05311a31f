//! Answering one inbound Telegram or SMS message, after its webhook was acknowledged: who sent
//! it (a linked user, or nobody), what it asks (a command, a link code, or free text for the
//! agent, or a photo or file for a job: `http::chat_files`), running the tools as that user
//! (audited with actor kind `agent`), replying through the channel, and recording how it
//! ended on the message's row.

use crate::json;
use serde_json::Value;
use worker::{console_log, Env};

use crate::agent::commands::{self, Command, HELP_TEXT};
use crate::agent::replies::{self, instant};
use crate::agent::turn::{self, Context as TurnContext};
use crate::db::store::D1Store;
use crate::db::{self, messaging as store, users::User};
use crate::domain::audit::Action;
use crate::domain::auth::permissions::Permission;
use crate::domain::auth::session::sha256_hex;
use crate::domain::chat_files::is_file_command;
use crate::domain::dispatch::VisitStatus;
use crate::domain::messaging::{link_code, Channel, Inbound};
use crate::domain::personal::{pending, user_key};
use crate::domain::time::Millis;
use crate::error::{AppError, AppResult};
use crate::http::api::{event, new_id, now};
use crate::http::auth::{principal_for, Principal, Surface, Via};
use crate::http::senders::Sender;
use crate::http::tools::{run, Outcome};
use crate::http::zone::Zone;
use crate::http::{chat_files, RequestCtx};
use crate::services::{anthropic, telegram, twilio};
use crate::sql;
use crate::tools::find;
use crate::write::{self, Change};

/// How long a link code works.
pub const LINK_CODE_TTL_MS: u64 = 15 * Millis::MINUTE;
/// A tool's JSON result is clipped to this before it goes back to the model.
const MAX_TOOL_RESULT: usize = 6_000;

/// How handling a message ended.
struct Handled {
    reply: String,
    user_id: Option<String>,
    /// Set when something failed on our side (the reply then says to try again).
    error: Option<String>,
}

/// Handles `inbound` (already recorded as received, sealed under `sender`'s key) and finishes
/// its row. Runs after the webhook's answer, so it owns what it needs.
pub async fn process(env: Env, origin: String, rctx: RequestCtx, inbound: Inbound, sender: Sender) {
    let handled = match answer(&env, &origin, &rctx, &inbound, &sender).await {
        Ok(handled) => handled,
        Err(e) => Handled {
            reply: replies::TRY_AGAIN.to_owned(),
            user_id: None,
            error: Some(e.to_string()),
        },
    };
    let sent = match inbound.channel {
        Channel::Telegram => telegram::send_message(&env, &inbound.sender, &handled.reply).await,
        Channel::Sms => twilio::send_sms(&env, &inbound.sender, &handled.reply).await,
    };
    let error = match (&handled.error, &sent) {
        (Some(e), _) => Some(e.clone()),
        (None, Err(e)) => Some(format!("reply not sent: {e}")),
        (None, Ok(())) => None,
    };
    let state = if error.is_some() { "failed" } else { "done" };
    // Recorded once more if the first try fails: a message left `received` after its answer
    // went out would later be swept as cut off, and its sender told so on top of the answer.
    let finished = match finish(&env, &inbound, &sender, state, &handled, error.as_deref()).await {
        Ok(()) => Ok(()),
        Err(_) => finish(&env, &inbound, &sender, state, &handled, error.as_deref()).await,
    };
    // Every message also looks for earlier ones whose handling was cut off, so they are
    // answered even where no cron trigger runs the sweep.
    crate::http::sweep::run(&env, "after a message").await;
    console_log!(
        "{}",
        json!({
            "level": if error.is_some() || finished.is_err() { "error" } else { "info" },
            "msg": "message",
            "request_id": rctx.id.as_str(),
            "channel": inbound.channel.as_str(),
            "provider_id": inbound.provider_id,
            "user_id": handled.user_id,
            "state": state,
            "error": error.or_else(|| finished.err().map(|e| e.to_string())),
        })
    );
}

async fn finish(
    env: &Env,
    inbound: &Inbound,
    sender: &Sender,
    state: &str,
    handled: &Handled,
    error: Option<&str>,
) -> AppResult<()> {
    let database = db::database(env)?;
    db::statement(
        &database,
        store::FINISH_INBOUND,
        &[
            db::text(inbound.channel.as_str()),
            db::text(&inbound.provider_id),
            db::text(state),
            db::opt_text(handled.user_id.as_deref()),
            db::text(&pending(&sender.key, &handled.reply)),
            db::opt_text(error),
            db::int(now().0 as i64),
        ],
    )?
    .run()
    .await
    .map(|_| ())
    .map_err(|e| AppError::internal(format!("finishing inbound message: {e}")))
}

async fn answer(
    env: &Env,
    origin: &str,
    rctx: &RequestCtx,
    inbound: &Inbound,
    sender: &Sender,
) -> AppResult<Handled> {
    let database = db::database(env)?;
    let channel = inbound.channel.as_str();
    let user: Option<User> = db::first(
        &database,
        store::SELECT_LINKED_USER,
        &[
            db::text(&sender.index),
            db::text(channel),
            db::text(&inbound.sender),
        ],
    )
    .await?;
    // A deactivated user's chat is as good as unlinked, from their very next message.
    let Some(user) = user.filter(User::is_active) else {
        let reply = match link_code(&inbound.text) {
            Some(code) => link(env, rctx, inbound, sender, code).await?,
            None => {
                console_log!(
                    "{}",
                    json!({ "level": "warn", "msg": "unlinked sender", "request_id": rctx.id.as_str(),
                            "channel": channel, "provider_id": inbound.provider_id })
                );
                replies::UNLINKED.to_owned()
            }
        };
        return Ok(Handled {
            reply,
            user_id: None,
            error: None,
        });
    };
    let user_id = user.id.clone();
    let mut principal = principal_for(
        user,
        Via::Linked {
            channel: inbound.channel,
        },
    )?;
    principal.surface = Surface::Agent;
    let speaker = Speaker {
        env,
        origin,
        rctx,
        principal: &principal,
        inbound,
        sender,
    };
    if !inbound.files.is_empty() || is_file_command(&inbound.text) {
        let (reply, error) = match chat_files::receive(&speaker).await {
            Ok(reply) => (reply, None),
            Err(e) => (replies::TRY_AGAIN.to_owned(), Some(e.to_string())),
        };
        return Ok(Handled {
            reply,
            user_id: Some(user_id),
            error,
        });
    }
    let (reply, error) = match commands::parse(&inbound.text) {
        Ok(Command::Help | Command::Start { .. }) => (HELP_TEXT.to_owned(), None),
        Ok(Command::Link { .. }) => (replies::ALREADY_LINKED.to_owned(), None),
        Ok(Command::Text(text)) => match anthropic::api_key(env) {
            Some(key) => speaker.converse(&key, &text).await,
            None => (replies::NO_AGENT.to_owned(), None),
        },
        Ok(command) => (speaker.command(command).await?, None),
        Err(usage) => (usage.to_string(), None),
    };
    Ok(Handled {
        reply,
        user_id: Some(user_id),
        error,
    })
}

/// `/link CODE` from an unlinked chat: links it to the code's user, once, in one batch. The
/// address is sealed under the user's data key and found by its blind index.
async fn link(
    env: &Env,
    rctx: &RequestCtx,
    inbound: &Inbound,
    sender: &Sender,
    code: &str,
) -> AppResult<String> {
    let database = db::database(env)?;
    let hash = sha256_hex(&code.to_ascii_uppercase());
    let at = now();
    let owner: Option<User> = db::first(
        &database,
        store::SELECT_CODE_USER,
        &[db::text(&hash), db::int(at.0 as i64)],
    )
    .await?;
    let Some(user) = owner.filter(User::is_active) else {
        return Ok(replies::LINK_FAILED.to_owned());
    };
    let mut principal = principal_for(
        user,
        Via::Linked {
            channel: inbound.channel,
        },
    )?;
    principal.surface = Surface::Agent;
    let id = new_id()?;
    let stamp = at.to_rfc3339();
    let channel = inbound.channel.as_str();
    let address = pending(&user_key(&principal.user.id), &inbound.sender);
    let change = Change::new()
        .then(sql!(store::CONSUME_LINK_CODE, hash.as_str(), at.0 as i64))
        .guarded(sql!(
            store::INSERT_LINK_FROM_CODE,
            id.as_str(),
            channel,
            address.as_str(),
            stamp,
            hash.as_str(),
            at.0 as i64,
            sender.index.as_str()
        ))
        .audit(event(
            rctx,
            Some(&principal),
            Action::ChannelLinked,
            "user",
            Some(&principal.user.id),
            None,
            Some(json!({ "link_id": id, "channel": channel, "address": address })),
        ));
    let written = write::apply(&D1Store { db: database }, change, vec![]).await;
    Ok(match written {
        Ok(_) => replies::LINKED.to_owned(),
        // Used or expired in between, or this address is linked already (unique).
        _ => replies::LINK_FAILED.to_owned(),
    })
}

/// A linked user talking: runs tools as them.
pub(crate) struct Speaker<'a> {
    pub(crate) env: &'a Env,
    origin: &'a str,
    pub(crate) rctx: &'a RequestCtx,
    pub(crate) principal: &'a Principal,
    pub(crate) inbound: &'a Inbound,
    pub(crate) sender: &'a Sender,
}

impl Speaker<'_> {
    pub(crate) async fn tool(&self, name: &str, arguments: Value) -> Result<Value, Value> {
        let Some(tool) = find(name) else {
            return Err(json!({ "detail": format!("no tool {name}") }));
        };
        match run(
            tool,
            &arguments,
            self.origin,
            self.env,
            self.rctx,
            self.principal,
        )
        .await
        {
            Outcome::Done(value) => Ok(value),
            Outcome::Refused { problem, .. } => Err(problem),
        }
    }

    pub(crate) async fn settings(&self) -> (String, Zone) {
        let settings = match db::database(self.env) {
            Ok(database) => db::settings::get(&database).await.ok().flatten(),
            Err(_) => None,
        };
        match settings {
            Some(s) => (s.name, Zone(s.time_zone)),
            None => ("the company".to_owned(), Zone("UTC".to_owned())),
        }
    }

    /// The job numbered `number`, as the caller may see it.
    pub(crate) async fn job(&self, number: i64) -> Result<Value, String> {
        let found = self
            .tool("list_jobs", json!({ "number": number, "limit": 1 }))
            .await
            .map_err(|p| replies::refusal(&p))?;
        found["jobs"]
            .as_array()
            .and_then(|jobs| jobs.first())
            .cloned()
            .ok_or_else(|| format!("There is no job #{number} you can see."))
    }

    /// The command language, through the same tools the agent and MCP use.
    async fn command(&self, command: Command) -> AppResult<String> {
        let (_, zone) = self.settings().await;
        let wall = |ms: i64| zone.wall_of(ms);
        let refused = |p: Value| replies::refusal(&p);
        Ok(match command {
            Command::Today => {
                let (from, to) = zone.today(now());
                let visits = self
                    .tool(
                        "list_visits",
                        json!({ "from": rfc3339(from), "to": rfc3339(to) }),
                    )
                    .await;
                match visits {
                    Ok(v) => replies::schedule(&replies::day_label(wall(from)), &v, wall),
                    Err(p) => refused(p),
                }
            }
            Command::Jobs { status } => {
                let mut arguments = json!({ "limit": 20 });
                if let Some(status) = status {
                    arguments["status"] = json!(status.as_str());
                }
                match self.tool("list_jobs", arguments).await {
                    Ok(list) => replies::jobs(&list),
                    Err(p) => refused(p),
                }
            }
            Command::Job { number } => match self.job(number).await {
                Ok(job) => {
                    let id = job["id"].as_str().unwrap_or_default();
                    match self.tool("get_job", json!({ "job_id": id })).await {
                        Ok(full) => replies::job(&full, wall),
                        Err(p) => refused(p),
                    }
                }
                Err(message) => message,
            },
            Command::Visit { number, status } => match self.job(number).await {
                Ok(job) => self.move_visit_along(&job, status).await,
                Err(message) => message,
            },
            Command::Customer { query } => {
                match self
                    .tool("search_customers", json!({ "query": query, "limit": 10 }))
                    .await
                {
                    Ok(list) => replies::customers(&list),
                    Err(p) => refused(p),
                }
            }
            Command::Status { number, status } => match self.job(number).await {
                Ok(job) => {
                    let arguments = json!({ "job_id": job["id"], "version": job["version"],
                                            "status": status.as_str() });
                    match self.tool("change_job_status", arguments).await {
                        Ok(done) => format!("Done: {}", replies::job_line(&done)),
                        Err(p) => refused(p),
                    }
                }
                Err(message) => message,
            },
            Command::Note { number, text } => match self.job(number).await {
                Ok(job) => {
                    let arguments = json!({ "job_id": job["id"], "text": text });
                    match self.tool("add_job_note", arguments).await {
                        Ok(_) => format!("Note added to #{number}."),
                        Err(p) => refused(p),
                    }
                }
                Err(message) => message,
            },
            Command::Move { number, at } => match self.job(number).await {
                Ok(job) => self.move_next_visit(&job, at, &zone).await,
                Err(message) => message,
            },
            Command::OnMyWay { number, minutes } => match self.job(number).await {
                Ok(job) => {
                    let arguments = json!({ "job_id": job["id"], "eta_minutes": minutes });
                    match self.tool("tell_customer_on_my_way", arguments).await {
                        Ok(sent) => {
                            let to = sent["deliveries"]
                                .as_array()
                                .and_then(|d| d.last())
                                .map(|d| d["to"].as_str().unwrap_or_default().to_owned())
                                .unwrap_or_default();
                            format!("Told the customer of #{number} you arrive in about {minutes} min ({to}).")
                        }
                        Err(p) => refused(p),
                    }
                }
                Err(message) => message,
            },
            Command::Help | Command::Start { .. } => HELP_TEXT.to_owned(),
            Command::Link { .. } => replies::ALREADY_LINKED.to_owned(),
            Command::Text(_) => replies::NO_AGENT.to_owned(),
        })
    }

    /// `/arrive 42`, `/done 42`: the sender's visit of the job that is under way (else the
    /// earliest still open) moves to `status`; the job follows as it does from the dashboard.
    async fn move_visit_along(&self, job: &Value, status: VisitStatus) -> String {
        let number = &job["number"];
        let current = now().0 as i64;
        // Open visits from the past week on, so one begun yesterday and never closed is found.
        let window = json!({
            "job_id": job["id"],
            "from": rfc3339(current - 7 * 86_400_000),
            "to": rfc3339(current + 55 * 86_400_000),
        });
        let visits = match self.tool("list_visits", window).await {
            Ok(v) => v,
            Err(p) => return replies::refusal(&p),
        };
        let list = visits["visits"].as_array().cloned().unwrap_or_default();
        let mine: Vec<&Value> = list
            .iter()
            .filter(|v| {
                self.principal.role.allows(Permission::ManageRecords)
                    || v["technician_ids"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|id| id == &json!(self.principal.user.id)))
            })
            .collect();
        let Some(visit) = replies::visit_to_move(&mine) else {
            return format!("Job #{number} has no open visit of yours.");
        };
        let arguments = json!({ "visit_id": visit["id"], "version": visit["version"],
                                "status": status.as_str() });
        match self.tool("change_visit_status", arguments).await {
            Ok(done) => replies::visit_moved(job, &done),
            Err(p) => replies::refusal(&p),
        }
    }

    /// `/move 42 2026-12-03 09:00`: the job's next visit (or the one under way) moves to that
    /// local time, keeping its length.
    async fn move_next_visit(
        &self,
        job: &Value,
        at: commands::LocalDateTime,
        zone: &Zone,
    ) -> String {
        let number = &job["number"];
        let current = now().0 as i64;
        let window = json!({
            "job_id": job["id"],
            "from": rfc3339(current),
            "to": rfc3339(current + 62 * 86_400_000),
        });
        let visits = match self.tool("list_visits", window).await {
            Ok(v) => v,
            Err(p) => return replies::refusal(&p),
        };
        let Some(visit) = visits["visits"].as_array().and_then(|v| v.first()).cloned() else {
            return format!("Job #{number} has no upcoming visit to move.");
        };
        let (Some(start), Some(end)) = (instant(&visit["start"]), instant(&visit["end"])) else {
            return replies::TRY_AGAIN.to_owned();
        };
        let new_start = zone.instant_of(at.wall_clock_seconds() * 1_000);
        let new_end = new_start + (end - start);
        let arguments = json!({
            "visit_id": visit["id"], "version": visit["version"],
            "start": rfc3339(new_start), "end": rfc3339(new_end),
        });
        match self.tool("reschedule_visit", arguments).await {
            Ok(_) => format!(
                "Moved #{number} {} to {} {}-{}.",
                job["title"].as_str().unwrap_or(""),
                replies::day_label(zone.wall_of(new_start)),
                replies::hhmm(zone.wall_of(new_start)),
                replies::hhmm(zone.wall_of(new_end)),
            ),
            Err(p) => replies::refusal(&p),
        }
    }

    /// Free text, with a model: the Messages API loop over the caller's tools, within the
    /// round and token limits; the exchange is remembered per chat.
    async fn converse(&self, key: &str, text: &str) -> (String, Option<String>) {
        match self.converse_inner(key, text).await {
            Ok(reply) => (reply, None),
            Err(e) => (replies::TRY_AGAIN.to_owned(), Some(e.to_string())),
        }
    }

    async fn converse_inner(&self, key: &str, text: &str) -> AppResult<String> {
        let database = db::database(self.env)?;
        let channel = self.inbound.channel.as_str();
        // The history follows the user, not the chat's address: a number or chat linked to
        // someone else later starts afresh, and nobody reads another user's exchanges.
        let owner = format!("user:{}", self.principal.user.id);
        let address = owner.as_str();
        let at = now().0 as i64;
        let rows: Vec<store::TurnRow> = db::all(
            &database,
            store::SELECT_TURNS,
            &[
                db::text(channel),
                db::text(address),
                db::int(at - turn::HISTORY_AGE_MS),
                db::int(turn::HISTORY_TURNS),
            ],
        )
        .await?;
        let past: Vec<(String, String)> = rows.into_iter().map(|r| (r.role, r.content)).collect();
        let mut messages = turn::history(&past);
        if messages.last().is_some_and(|m| m["role"] == "user") {
            // The model must answer a user turn: a dangling one (its answer was lost) goes.
            messages.pop();
        }
        messages.push(json!({ "role": "user", "content": text }));

        let (company, zone) = self.settings().await;
        let wall_now = zone.wall_of(at);
        let local_now = format!(
            "{} {}",
            replies::day_label(wall_now),
            replies::hhmm(wall_now)
        );
        let system = turn::system_prompt(&TurnContext {
            company: &company,
            user_name: &self.principal.user.name,
            role: self.principal.role,
            local_now: &local_now,
            time_zone: &zone.0,
        });
        let tools = turn::tool_definitions(self.principal.role);
        let model = anthropic::model(self.env);
        let mut spent = 0;
        let mut reply = None;
        for _ in 0..turn::MAX_ROUNDS {
            let body = turn::request(&model, &system, &tools, &messages);
            let answer = anthropic::messages(self.env, key, &body)
                .await
                .map_err(|e| AppError::internal(e.to_string()))?;
            let step = turn::parse_turn(&answer).map_err(AppError::internal)?;
            spent += step.output_tokens;
            if !step.wants_tools {
                reply = Some(step.text);
                break;
            }
            messages.push(json!({ "role": "assistant", "content": step.content }));
            let mut results = Vec::with_capacity(step.tool_uses.len());
            for call in &step.tool_uses {
                let (text, is_error) = self.agent_tool(call).await?;
                results.push(turn::tool_result(&call.id, &text, is_error));
            }
            messages.push(json!({ "role": "user", "content": results }));
            if spent >= turn::TOKEN_BUDGET {
                break;
            }
        }
        let reply = reply.filter(|r| !r.is_empty()).unwrap_or_else(|| {
            "I could not finish that in one go. Please ask again more simply, or use the \
             dashboard."
                .to_owned()
        });
        // The exchange is remembered (user text and final answer), and the chat trimmed.
        let stamp = now().0 as i64;
        // What was said is the user's personal data, sealed under their key.
        let key = user_key(&self.principal.user.id);
        let remember = |role: &str, content: &str, at: i64| {
            db::statement(
                &database,
                store::INSERT_TURN,
                &[
                    db::text(channel),
                    db::text(address),
                    db::text(role),
                    db::text(&pending(&key, content)),
                    db::int(at),
                ],
            )
        };
        database
            .batch(vec![
                remember("user", text, at)?,
                remember("assistant", &reply, stamp)?,
                db::statement(
                    &database,
                    store::TRIM_TURNS,
                    &[
                        db::text(channel),
                        db::text(address),
                        db::int(stamp - turn::KEEP_AGE_MS),
                        db::int(turn::KEEP_TURNS),
                    ],
                )?,
            ])
            .await
            .map_err(|e| AppError::internal(format!("saving the conversation: {e}")))?;
        Ok(reply)
    }

    /// One tool the model asked for: the text it gets back and whether that is an error.
    /// Destructive tools run only when confirmed in answer to a later message than the one
    /// that proposed them.
    async fn agent_tool(&self, call: &turn::ToolUse) -> AppResult<(String, bool)> {
        let Some(tool) = find(&call.name) else {
            return Ok((format!("There is no tool named {}.", call.name), true));
        };
        let mut arguments = call.input.clone();
        if tool.effect.needs_confirmation() {
            let (rest, confirmed) = turn::split_confirmation(&call.input);
            arguments = rest;
            let database = db::database(self.env)?;
            // Bound to the chat (its address's blind index), the tool, its exact arguments and
            // the user who was asked: another user of the same address cannot confirm it.
            let bound = format!("{}\n{}", self.principal.user.id, arguments);
            let key = [
                db::text(self.inbound.channel.as_str()),
                db::text(&self.sender.index),
                db::text(tool.name),
                db::text(&sha256_hex(&bound)),
            ];
            let proposed: Option<Value> = if confirmed {
                let mut params = key.to_vec();
                params.push(db::int(self.started_ms()));
                params.push(db::int(self.started_ms() - turn::CONFIRMATION_TTL_MS));
                db::first(&database, store::SELECT_CONFIRMATION, &params).await?
            } else {
                None
            };
            if proposed.is_none() {
                let mut params = key.to_vec();
                params.push(db::int(self.started_ms()));
                db::statement(&database, store::INSERT_CONFIRMATION, &params)?
                    .run()
                    .await
                    .map_err(|e| AppError::internal(format!("storing a confirmation: {e}")))?;
                return Ok((turn::ASK_FIRST.to_owned(), true));
            }
            db::statement(&database, store::DELETE_CONFIRMATION, &key)?
                .run()
                .await
                .map_err(|e| AppError::internal(format!("using a confirmation: {e}")))?;
        }
        Ok(
            match run(
                tool,
                &arguments,
                self.origin,
                self.env,
                self.rctx,
                self.principal,
            )
            .await
            {
                Outcome::Done(value) => {
                    let text: String = value.to_string().chars().take(MAX_TOOL_RESULT).collect();
                    (turn::untrusted(&text), false)
                }
                Outcome::Refused { status, problem } => {
                    (crate::mcp::problem_message(status, &problem), true)
                }
            },
        )
    }

    /// When this message's handling began: confirmations older than it came from earlier
    /// messages.
    fn started_ms(&self) -> i64 {
        self.rctx.started_ms as i64
    }
}

fn rfc3339(ms: i64) -> String {
    Millis::from_ms(ms).to_rfc3339()
}
