//! Telegram and SMS: authenticated webhooks, linking, the command language, and the agent over
//! a scripted Anthropic stand-in. Telegram's Bot API, Twilio's API and Anthropic's API are
//! local stand-ins that record what the Worker sent them.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Options, Reply, Tenant};
use crate::standin::StandIn;

pub(crate) const SECRET: &str = "hook-secret_0123456789";
pub(crate) const BOT_TOKEN: &str = "42:TEST";
pub(crate) const TWILIO_TOKEN: &str = "twilio-auth-token-1";

pub(crate) struct Channels {
    pub(crate) bot: StandIn,
    pub(crate) twilio: StandIn,
    pub(crate) model: StandIn,
}

impl Channels {
    pub(crate) fn start() -> Channels {
        Channels {
            bot: StandIn::start(200, r#"{"ok":true,"result":{"message_id":1}}"#),
            twilio: StandIn::start(201, r#"{"sid":"SM0001","status":"queued"}"#),
            model: StandIn::start(500, r#"{"type":"error","error":{"type":"api_error"}}"#),
        }
    }

    pub(crate) fn tenant(&self, with_model: bool) -> Tenant {
        let mut vars = vec![
            ("TELEGRAM_WEBHOOK_SECRET", SECRET.to_owned()),
            ("TELEGRAM_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("TELEGRAM_API_BASE", self.bot.base.clone()),
            ("TWILIO_AUTH_TOKEN", TWILIO_TOKEN.to_owned()),
            ("TWILIO_ACCOUNT_SID", "AC0123".to_owned()),
            ("TWILIO_FROM_NUMBER", "+15005550006".to_owned()),
            ("TWILIO_API_BASE", self.twilio.base.clone()),
        ];
        if with_model {
            vars.push(("ANTHROPIC_API_KEY", "sk-ant-test".to_owned()));
            vars.push(("ANTHROPIC_BASE_URL", self.model.base.clone()));
        }
        Tenant::spawn_with(Options {
            vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            ..Options::default()
        })
    }

    /// The texts the bot sent to `chat`, in order, once there are `count` of them.
    pub(crate) fn sent_to(&self, chat: i64, count: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let texts: Vec<String> = self
                .bot
                .requests()
                .iter()
                .filter(|r| r.method == "POST" && r.path == format!("/bot{BOT_TOKEN}/sendMessage"))
                .map(|r| r.json())
                .filter(|b| b["chat_id"] == chat)
                .map(|b| b["text"].as_str().unwrap_or_default().to_owned())
                .collect();
            if texts.len() >= count || std::time::Instant::now() > deadline {
                assert!(texts.len() >= count, "{count} replies to {chat}: {texts:?}");
                return texts;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

fn update(update_id: i64, chat: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": 1_700_000_000,
            "from": { "id": chat, "is_bot": false, "first_name": "Theo" },
            "chat": { "id": chat, "type": "private", "first_name": "Theo" },
            "text": text
        }
    })
}

pub(crate) fn deliver(tenant: &Tenant, secret: Option<&str>, body: &Value) -> Reply {
    let mut call = tenant.request("POST", "/webhooks/telegram").json(body);
    if let Some(secret) = secret {
        call = call.header("X-Telegram-Bot-Api-Secret-Token", secret);
    }
    call.send()
}

/// Sends `text` from `chat` and returns the bot's reply (the `nth` message to that chat).
pub(crate) fn say(
    channels: &Channels,
    tenant: &Tenant,
    id: i64,
    chat: i64,
    text: &str,
    nth: usize,
) -> String {
    let reply = deliver(tenant, Some(SECRET), &update(id, chat, text));
    assert_eq!(reply.status, 200, "{}", reply.body);
    channels.sent_to(chat, nth)[nth - 1].clone()
}

/// Links `chat` to `who` with a fresh code; `nth` as in `say`.
pub(crate) fn link(
    channels: &Channels,
    tenant: &Tenant,
    who: &Browser<'_>,
    id: i64,
    chat: i64,
    nth: usize,
) {
    let code = who.post("/api/v1/me/links", &json!({}));
    assert_eq!(code.status, 201, "{}", code.body);
    let code = code.json()["code"].as_str().unwrap().to_owned();
    let answer = say(channels, tenant, id, chat, &format!("/link {code}"), nth);
    assert!(answer.starts_with("Linked"), "{answer}");
}

/// A customer with a site and a job assigned to `technician`; returns (job id, job number).
pub(crate) fn job_for(owner: &Browser<'_>, technician: &Value) -> (String, i64) {
    let customer = owner
        .post("/api/v1/customers", &json!({ "name": "Ann Lee" }))
        .json();
    let id = customer["id"].as_str().unwrap();
    owner.post(
        &format!("/api/v1/customers/{id}/sites"),
        &json!({ "line1": "1 Canal St" }),
    );
    let job = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": id, "title": "Boiler service", "technician_ids": [technician] }),
    );
    assert_eq!(job.status, 201, "{}", job.body);
    let job = job.json();
    (
        job["id"].as_str().unwrap().to_owned(),
        job["number"].as_i64().unwrap(),
    )
}

pub(crate) fn book(owner: &Browser<'_>, job: &str, start: &str, end: &str) -> Value {
    let booked = owner.post(
        &format!("/api/v1/jobs/{job}/visits"),
        &json!({ "start": start, "end": end }),
    );
    assert_eq!(booked.status, 201, "{}", booked.body);
    booked.json()["visits"][0].clone()
}

/// An RFC 3339 day `days` from today (UTC), at `hhmm`.
fn day(days: u64, hhmm: &str) -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + days * 86_400;
    let date = fieldworker::domain::time::Millis(secs * 1000).to_rfc3339();
    format!("{}T{hhmm}:00Z", &date[..10])
}

#[test]
fn forged_or_missing_secrets_and_signatures_are_refused_and_change_nothing() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let owner = owner(&tenant);
    let body = update(1, 777, "/help");
    assert_eq!(deliver(&tenant, None, &body).status, 401);
    assert_eq!(deliver(&tenant, Some("wrong-secret"), &body).status, 401);
    let sms = tenant
        .request("POST", "/webhooks/sms")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        .body(
            b"MessageSid=SM1&AccountSid=AC0123&From=%2B14155550123&To=%2B15005550006&Body=%2Fhelp"
                .to_vec(),
        )
        .send();
    assert_eq!(sms.status, 401, "{}", sms.body);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(channels.bot.requests().is_empty());
    assert!(channels.twilio.requests().is_empty());
    let audit = owner.get("/api/v1/audit").json();
    assert!(audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor_kind"] != "agent"));

    // Bad input behind a valid secret is a clear 4xx, recorded nowhere.
    let garbled = tenant
        .request("POST", "/webhooks/telegram")
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .header("Content-Type", "application/json")
        .body(b"{not json".to_vec())
        .send();
    garbled.problem(400);
    let huge = tenant
        .request("POST", "/webhooks/telegram")
        .header("X-Telegram-Bot-Api-Secret-Token", SECRET)
        .header("Content-Type", "application/json")
        .body(vec![b' '; 300 * 1024])
        .send();
    huge.problem(413);
    let bad_form = tenant
        .request("POST", "/webhooks/sms")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(b"Body=%ZZ".to_vec())
        .send();
    bad_form.problem(400);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(channels.bot.requests().is_empty());

    // A tenant without the channels configured has no such endpoints.
    let bare = Tenant::spawn();
    assert_eq!(deliver(&bare, Some(SECRET), &body).status, 404);
}

#[test]
fn an_unlinked_sender_learns_nothing_and_a_linked_user_uses_the_command_language() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    // Today's visit (00:10-00:40 UTC) must be over, so that `/move` takes the one in three
    // days: in the first minutes of a UTC day the Worker's clock is moved past it
    // (before anyone signs in, so no session outlives its idle time).
    let since_midnight = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 86_400;
    if since_midnight < 41 * 60 {
        advance_clock(&tenant, (41 * 60 - since_midnight + 5) * 1000);
    }
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let (job_id, number) = job_for(&owner, &theo.user["id"]);
    book(&owner, &job_id, &day(0, "00:10"), &day(0, "00:40"));
    let upcoming = book(&owner, &job_id, &day(3, "10:00"), &day(3, "11:30"));

    // Unlinked: one short reply that reveals nothing, and nothing else.
    let stranger = say(&channels, &tenant, 100, 9001, "/jobs", 1);
    assert!(stranger.contains("not linked"), "{stranger}");
    assert!(!stranger.contains("Boiler"), "{stranger}");
    let bad_code = say(&channels, &tenant, 101, 9001, "/link NOTACODE22", 2);
    assert!(bad_code.contains("not valid"), "{bad_code}");

    link(&channels, &tenant, &theo, 102, 5551, 1);
    let help = say(&channels, &tenant, 103, 5551, "/help", 2);
    assert!(help.contains("/move"), "{help}");
    let today = say(&channels, &tenant, 104, 5551, "/today", 3);
    assert!(
        today.contains(&format!("00:10-00:40 #{number} Boiler service")),
        "{today}"
    );
    // Booking its visits scheduled the job.
    let jobs = say(&channels, &tenant, 105, 5551, "/jobs", 4);
    assert!(
        jobs.contains(&format!("#{number} Boiler service - scheduled")),
        "{jobs}"
    );
    let moved = say(
        &channels,
        &tenant,
        106,
        5551,
        &format!("/status {number} on_hold"),
        5,
    );
    assert!(moved.contains("on hold"), "{moved}");
    let noted = say(
        &channels,
        &tenant,
        107,
        5551,
        &format!("/note {number} Valve seized, part ordered"),
        6,
    );
    assert_eq!(noted, format!("Note added to #{number}."));
    let target = day(5, "09:00");
    let rescheduled = say(
        &channels,
        &tenant,
        108,
        5551,
        &format!("/move {number} {} 09:00", &target[..10]),
        7,
    );
    assert!(rescheduled.contains("09:00-10:30"), "{rescheduled}");
    let visits = owner
        .get(&format!(
            "/api/v1/visits?job={job_id}&from={}&to={}",
            day(0, "00:00"),
            day(10, "00:00")
        ))
        .json();
    let after = visits["visits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == upcoming["id"])
        .cloned()
        .unwrap();
    assert_eq!(after["start"], target.replace(":00Z", ":00.000Z"));
    assert_eq!(after["version"], 2);
    let usage = say(&channels, &tenant, 109, 5551, "/move soon", 8);
    assert!(usage.contains("Usage: /move"), "{usage}");

    // Every change is audited as Theo, through the agent.
    let events = owner
        .get(&format!(
            "/api/v1/audit?actor_id={}",
            theo.user["id"].as_str().unwrap()
        ))
        .json();
    let actions: Vec<(&str, &str)> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["actor_kind"].as_str().unwrap(),
            )
        })
        .collect();
    for action in [
        "job.status_changed",
        "job.note_added",
        "visit.updated",
        "channel.linked",
    ] {
        assert!(
            actions.contains(&(action, "agent")),
            "{action} in {actions:?}"
        );
    }

    // A deactivated user's chat stops working at once.
    let theo_now = owner.get("/api/v1/users").json();
    let version = theo_now["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == theo.user["id"])
        .map(|u| u["version"].as_i64().unwrap())
        .unwrap();
    let off = owner
        .request(
            "PATCH",
            &format!("/api/v1/users/{}", theo.user["id"].as_str().unwrap()),
        )
        .header("If-Match", &format!("\"{version}\""))
        .json(&json!({ "active": false }))
        .send();
    assert_eq!(off.status, 200, "{}", off.body);
    let after_off = say(&channels, &tenant, 110, 5551, "/jobs", 9);
    assert!(after_off.contains("not linked"), "{after_off}");
}

#[test]
fn a_redelivered_update_is_answered_once_and_changes_once() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let (_, number) = job_for(&owner, &theo.user["id"]);
    link(&channels, &tenant, &theo, 200, 5552, 1);
    let body = update(201, 5552, &format!("/note {number} Arrived on site"));
    for _ in 0..3 {
        assert_eq!(deliver(&tenant, Some(SECRET), &body).status, 200);
    }
    channels.sent_to(5552, 2);
    std::thread::sleep(std::time::Duration::from_millis(1_000));
    assert_eq!(channels.sent_to(5552, 2).len(), 2, "one reply to the note");
    let notes = owner.get("/api/v1/audit?action=job.note_added").json();
    assert_eq!(notes["events"].as_array().unwrap().len(), 1);
}

#[test]
fn sms_from_a_linked_number_is_verified_answered_through_twilio_and_deduplicated() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let (_, number) = job_for(&owner, &theo.user["id"]);
    let url = format!("{}/webhooks/sms", tenant.base);
    let send = |sid: &str, body: &str| {
        let params: Vec<(String, String)> = [
            ("MessageSid", sid),
            ("AccountSid", "AC0123"),
            ("From", "+14155550123"),
            ("To", "+15005550006"),
            ("Body", body),
            ("NumMedia", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature =
            fieldworker::domain::signatures::twilio_signature(TWILIO_TOKEN, &url, &params);
        let form: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", fieldworker::views::url::form_encode(v)))
            .collect();
        tenant
            .request("POST", "/webhooks/sms")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", &signature)
            .body(form.join("&").into_bytes())
            .send()
    };
    let sms_replies = |count: usize| -> Vec<String> {
        channels
            .twilio
            .wait_for(count)
            .iter()
            .map(|r| {
                assert_eq!(r.path, "/2010-04-01/Accounts/AC0123/Messages.json");
                assert!(r
                    .header("authorization")
                    .is_some_and(|a| a.starts_with("Basic ")));
                assert_eq!(r.form("To").as_deref(), Some("+14155550123"));
                r.form("Body").unwrap_or_default()
            })
            .collect()
    };
    let first = send("SM0001", "/jobs");
    assert_eq!(first.status, 200, "{}", first.body);
    assert!(first.body.contains("<Response"), "{}", first.body);
    assert!(sms_replies(1)[0].contains("not linked"));

    let code = theo.post("/api/v1/me/links", &json!({})).json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    send("SM0002", &format!("link {code}"));
    assert!(sms_replies(2)[1].starts_with("Linked"));
    let links = theo.get("/api/v1/me/links").json();
    assert_eq!(links["links"][0]["address"], "+14155550123");
    send("SM0003", "/jobs");
    send("SM0003", "/jobs");
    let replies = sms_replies(3);
    assert!(
        replies[2].contains(&format!("#{number} Boiler service")),
        "{replies:?}"
    );
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(
        channels.twilio.requests().len(),
        3,
        "the redelivery is not answered again"
    );
}

/// A scripted model answer that asks for one tool.
pub(crate) fn tool_use(id: &str, name: &str, input: Value) -> (u16, Value) {
    (
        200,
        json!({
            "id": format!("msg_{id}"), "type": "message", "role": "assistant",
            "model": "claude-test",
            "content": [{ "type": "tool_use", "id": id, "name": name, "input": input }],
            "stop_reason": "tool_use",
            "usage": { "input_tokens": 1000, "output_tokens": 50 }
        }),
    )
}

pub(crate) fn final_text(text: &str) -> (u16, Value) {
    (
        200,
        json!({
            "id": "msg_end", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{ "type": "text", "text": text }],
            "stop_reason": "end_turn",
            "usage": { "input_tokens": 1200, "output_tokens": 20 }
        }),
    )
}

#[test]
fn a_technician_reschedules_through_the_agent_once_even_when_the_webhook_comes_twice() {
    let channels = Channels::start();
    let tenant = channels.tenant(true);
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let (job_id, number) = job_for(&owner, &theo.user["id"]);
    let visit = book(&owner, &job_id, &day(1, "10:00"), &day(1, "11:00"));
    let visit_id = visit["id"].as_str().unwrap();
    link(&channels, &tenant, &theo, 300, 5553, 1);

    let (start, end) = (day(3, "09:00"), day(3, "10:00"));
    channels.model.script(vec![
        tool_use("toolu_1", "list_jobs", json!({ "number": number })),
        tool_use(
            "toolu_2",
            "list_visits",
            json!({ "job_id": job_id, "from": day(0, "00:00"), "to": day(7, "00:00") }),
        ),
        tool_use(
            "toolu_3",
            "reschedule_visit",
            json!({ "visit_id": visit_id, "version": 1, "start": start, "end": end }),
        ),
        final_text("Done: the boiler service is now on Thursday at 09:00."),
    ]);
    let message = update(301, 5553, "move tomorrow's boiler service to Thursday 9am");
    assert_eq!(deliver(&tenant, Some(SECRET), &message).status, 200);
    assert_eq!(deliver(&tenant, Some(SECRET), &message).status, 200);
    let replies = channels.sent_to(5553, 2);
    assert_eq!(
        replies[1],
        "Done: the boiler service is now on Thursday at 09:00."
    );

    let calls = channels.model.wait_for(4);
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(
        channels.model.requests().len(),
        4,
        "the redelivery reached no model"
    );
    let first = calls[0].json();
    assert_eq!(calls[0].header("x-api-key"), Some("sk-ant-test"));
    assert!(calls[0].header("anthropic-version").is_some());
    assert_eq!(
        first["messages"][0]["content"],
        "move tomorrow's boiler service to Thursday 9am"
    );
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        tools.contains(&"reschedule_visit") && !tools.contains(&"create_customer"),
        "{tools:?}"
    );
    // Each tool's result went back to the model, paired with its tool_use.
    let third = calls[2].json();
    let messages = third["messages"].as_array().unwrap();
    let result = &messages[messages.len() - 1]["content"][0];
    assert_eq!(result["type"], "tool_result");
    assert_eq!(result["tool_use_id"], "toolu_2");
    assert!(result["content"].as_str().unwrap().contains(visit_id));
    let fourth = calls[3].json();
    let moved = &fourth["messages"].as_array().unwrap().last().unwrap()["content"][0];
    assert_eq!(moved["is_error"], false, "{moved}");

    let audit = owner
        .get(&format!(
            "/api/v1/audit?action=visit.updated&entity_id={visit_id}"
        ))
        .json();
    let events = audit["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor_kind"], "agent");
    assert_eq!(events[0]["actor_id"], theo.user["id"]);
    assert_eq!(
        events[0]["after"]["start"],
        start.replace(":00Z", ":00.000Z")
    );
}

#[test]
fn a_viewers_agent_cannot_write_and_cancelling_waits_for_the_users_confirmation() {
    let channels = Channels::start();
    let tenant = channels.tenant(true);
    let owner = owner(&tenant);
    let vic = member(
        &owner,
        "vic@acme-heating.example",
        "viewer",
        "looking-not-touching-5",
    );
    link(&channels, &tenant, &vic, 400, 5554, 1);
    channels.model.script(vec![
        tool_use("toolu_1", "create_customer", json!({ "name": "Bo Chen" })),
        final_text("I can't create customers with your role."),
    ]);
    let answer = say(&channels, &tenant, 401, 5554, "add a customer Bo Chen", 2);
    assert_eq!(answer, "I can't create customers with your role.");
    let calls = channels.model.wait_for(2);
    let tools = calls[0].json()["tools"].clone();
    assert!(tools
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["name"] != "create_customer"));
    let refused = calls[1].json()["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["content"][0]
        .clone();
    assert_eq!(refused["is_error"], true, "{refused}");
    assert!(
        refused["content"].as_str().unwrap().contains("403"),
        "{refused}"
    );
    assert!(owner.get("/api/v1/customers").json()["customers"]
        .as_array()
        .unwrap()
        .is_empty());

    // An owner's agent proposes a cancellation; it runs only after the next message confirms.
    let dana_chat = 5555;
    link(&channels, &tenant, &owner, 402, dana_chat, 1);
    let dee = member(
        &owner,
        "dee@acme-heating.example",
        "technician",
        "schedule-the-boilers-9",
    );
    let (job_id, _) = job_for(&owner, &dee.user["id"]);
    let visit = book(&owner, &job_id, &day(2, "10:00"), &day(2, "11:00"));
    let cancel = json!({ "visit_id": visit["id"], "version": 1, "confirmed": true });
    channels.model.script(vec![
        tool_use("toolu_2", "cancel_visit", cancel.clone()),
        final_text("Shall I cancel Ann Lee's visit? Reply yes to confirm."),
    ]);
    let asked = say(&channels, &tenant, 403, dana_chat, "cancel Ann's visit", 2);
    assert!(asked.contains("confirm"), "{asked}");
    let still = owner
        .get(&format!(
            "/api/v1/visits?job={job_id}&from={}&to={}",
            day(0, "00:00"),
            day(7, "00:00")
        ))
        .json();
    assert_eq!(
        still["visits"].as_array().unwrap().len(),
        1,
        "not cancelled before the answer"
    );
    channels.model.script(vec![
        tool_use("toolu_3", "cancel_visit", cancel),
        final_text("Cancelled."),
    ]);
    assert_eq!(
        say(&channels, &tenant, 404, dana_chat, "yes", 3),
        "Cancelled."
    );
    let gone = owner
        .get(&format!(
            "/api/v1/visits?job={job_id}&from={}&to={}",
            day(0, "00:00"),
            day(7, "00:00")
        ))
        .json();
    assert!(gone["visits"].as_array().unwrap().is_empty(), "{gone}");
    let deleted = owner.get("/api/v1/audit?action=visit.deleted").json();
    assert_eq!(deleted["events"][0]["actor_kind"], "agent");

    // A proposal waits ten minutes for its answer, no longer: a late "yes" is asked again.
    let visit = book(&owner, &job_id, &day(3, "10:00"), &day(3, "11:00"));
    let cancel = json!({ "visit_id": visit["id"], "version": 1, "confirmed": true });
    channels.model.script(vec![
        tool_use("toolu_4", "cancel_visit", cancel.clone()),
        final_text("Shall I cancel it? Reply yes to confirm."),
    ]);
    say(
        &channels,
        &tenant,
        405,
        dana_chat,
        "cancel the other visit",
        4,
    );
    advance_clock(&tenant, 11 * MINUTE);
    channels.model.script(vec![
        tool_use("toolu_5", "cancel_visit", cancel),
        final_text("I need you to confirm again."),
    ]);
    say(&channels, &tenant, 406, dana_chat, "yes", 5);
    let calls = channels.model.wait_for(10);
    let answered = calls[9].json()["messages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["content"][0]
        .clone();
    assert_eq!(answered["is_error"], true, "{answered}");
    let kept = owner
        .get(&format!(
            "/api/v1/visits?job={job_id}&from={}&to={}",
            day(0, "00:00"),
            day(7, "00:00")
        ))
        .json();
    assert_eq!(kept["visits"].as_array().unwrap().len(), 1, "{kept}");
}

#[test]
fn the_webhook_script_registers_the_tenant_url_and_a_secret_with_telegram() {
    let bot = StandIn::start(
        200,
        r#"{"ok":true,"result":true,"description":"Webhook was set"}"#,
    );
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("bash")
        .arg(root.join("scripts/telegram-webhook"))
        .args(["--url", "https://acme.example.com/"])
        .env("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
        .env("TELEGRAM_API_BASE", &bot.base)
        .output()
        .expect("bash runs the script");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let secret = stdout
        .lines()
        .find_map(|l| l.strip_prefix("TELEGRAM_WEBHOOK_SECRET="))
        .expect("the new secret is printed");
    let requests = bot.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, format!("/bot{BOT_TOKEN}/setWebhook"));
    let body = requests[0].json();
    assert_eq!(body["url"], "https://acme.example.com/webhooks/telegram");
    assert_eq!(body["secret_token"], secret);
    assert!(fieldworker::domain::signatures::is_valid_telegram_secret_token(secret));

    // Telegram's refusal is a failure, not a silent success.
    let refusing = StandIn::start(
        400,
        r#"{"ok":false,"description":"Bad Request: bad webhook"}"#,
    );
    let refused = std::process::Command::new("bash")
        .arg(root.join("scripts/telegram-webhook"))
        .args([
            "--url",
            "https://acme.example.com",
            "--secret",
            "abc_DEF-123",
        ])
        .env("TELEGRAM_BOT_TOKEN", BOT_TOKEN)
        .env("TELEGRAM_API_BASE", &refusing.base)
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

#[test]
fn outbound_failures_are_retried_and_a_runaway_agent_is_stopped_at_its_cap() {
    let channels = Channels::start();
    let tenant = channels.tenant(true);
    let owner = owner(&tenant);
    link(&channels, &tenant, &owner, 500, 5556, 1);

    // Telegram fails twice (5xx), then takes the reply: one message, three attempts.
    channels.bot.script(vec![
        (502, json!({ "ok": false, "description": "Bad Gateway" })),
        (
            500,
            json!({ "ok": false, "description": "Internal Server Error" }),
        ),
    ]);
    let help = say(&channels, &tenant, 501, 5556, "/help", 4);
    let attempts = channels.sent_to(5556, 4);
    assert_eq!(attempts[1], help);
    assert_eq!(attempts[2], help);

    // A model that never stops asking for tools is cut off after its rounds.
    channels.model.script(
        (0..8)
            .map(|i| tool_use(&format!("toolu_{i}"), "whoami", json!({})))
            .collect(),
    );
    let stopped = say(&channels, &tenant, 502, 5556, "who am I, really?", 5);
    assert!(stopped.contains("could not finish"), "{stopped}");
    assert_eq!(
        channels.model.requests().len(),
        8,
        "at most 8 model calls per message"
    );

    // The model's API down (500 on every attempt): a short apology, and the message is kept
    // as failed, not lost.
    let sorry = say(&channels, &tenant, 503, 5556, "hello?", 6);
    assert_eq!(sorry, fieldworker::agent::replies::TRY_AGAIN);
    let line = tenant.log_line_with(&["\"msg\":\"message\"", "\"state\":\"failed\""]);
    assert!(line.contains("\"provider_id\":\"503\""), "{line}");
    assert!(line.contains("anthropic answered 500"), "{line}");
}

/// A message `age_ms` old still marked received, as one whose handling was cut off leaves it.
fn stuck(tenant: &Tenant, provider_id: &str, chat: i64, text: &str, age_ms: u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    tenant.d1_execute(&format!(
        "INSERT INTO inbound_messages (channel, provider_id, sender, text, received_at, state) \
         VALUES ('telegram', '{provider_id}', '{chat}', '{text}', {}, 'received')",
        now - age_ms
    ));
}

fn state_of(tenant: &Tenant, provider_id: &str) -> Value {
    tenant
        .d1_execute(&format!(
            "SELECT state, error, reply FROM inbound_messages WHERE provider_id = '{provider_id}'"
        ))
        .into_iter()
        .next()
        .unwrap_or(Value::Null)
}

#[test]
fn a_message_whose_handling_was_cut_off_is_not_run_again_but_its_sender_is_told_once() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    stuck(
        &tenant,
        "900",
        7001,
        "/move 4 2030-06-11 09:00",
        10 * 60_000,
    );
    // Still within what handling may take: left alone.
    stuck(&tenant, "901", 7002, "/note 4 on my way", 30_000);

    // The cron trigger's sweep tells the first sender, once, quoting their message.
    assert_eq!(tenant.cron().status, 200);
    let told = channels.sent_to(7001, 1);
    assert!(
        told[0].contains("interrupted") && told[0].contains("\"/move 4 2030-06-11 09:00\""),
        "{told:?}"
    );
    let row = state_of(&tenant, "900");
    assert_eq!(row["state"], "failed", "{row}");
    assert!(row["error"]
        .as_str()
        .unwrap_or_default()
        .starts_with("interrupted"));
    assert_eq!(state_of(&tenant, "901")["state"], "received");
    // A second run finds nothing more to say.
    assert_eq!(tenant.cron().status, 200);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(channels.sent_to(7001, 1).len(), 1, "told once");
    assert!(
        !channels
            .bot
            .requests()
            .iter()
            .any(|r| r.body.contains("7002")),
        "the recent message is not touched"
    );

    // Without the trigger, the next message handled sweeps too.
    stuck(&tenant, "902", 7003, "/today", 6 * 60_000);
    let answer = say(&channels, &tenant, 903, 7004, "hello", 1);
    assert!(answer.contains("not linked"), "{answer}");
    let told = channels.sent_to(7003, 1);
    assert!(told[0].contains("\"/today\""), "{told:?}");
    assert_eq!(state_of(&tenant, "902")["state"], "failed");
}

#[test]
fn a_chat_linked_to_someone_else_does_not_carry_the_previous_users_conversation() {
    let channels = Channels::start();
    let tenant = channels.tenant(true);
    let owner = owner(&tenant);
    let chat = 6001;
    link(&channels, &tenant, &owner, 500, chat, 1);
    channels
        .model
        .script(vec![final_text("The gate code for Ann Lee is 4711.")]);
    say(&channels, &tenant, 501, chat, "what is Ann's gate code?", 2);
    // The owner unlinks the chat; a viewer links the same chat.
    let links = owner.get("/api/v1/me/links").json();
    let id = links["links"][0]["id"].as_str().unwrap().to_owned();
    let unlinked = owner
        .request("DELETE", &format!("/api/v1/me/links/{id}"))
        .send();
    assert_eq!(unlinked.status, 204, "{}", unlinked.body);
    let vic = member(
        &owner,
        "vic@acme-heating.example",
        "viewer",
        "looking-not-touching-5",
    );
    link(&channels, &tenant, &vic, 502, chat, 3);
    channels.model.script(vec![final_text("Hello Vic.")]);
    say(&channels, &tenant, 503, chat, "hello", 4);
    let calls = channels.model.wait_for(2);
    let messages = calls[1].json()["messages"].clone();
    let text = messages.to_string();
    assert!(!text.contains("4711"), "{text}");
    assert!(!text.contains("gate code"), "{text}");
    assert_eq!(messages.as_array().unwrap().len(), 1, "{messages}");
}
