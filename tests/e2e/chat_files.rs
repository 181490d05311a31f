//! Files from chat and MCP: a technician's Telegram photo or document, or an MMS, lands on their
//! current job (or the one its caption names) through the upload pipeline and its real clamd;
//! MCP attaches and lists files. Telegram's Bot API (`getFile` and the download) and Twilio's
//! media are local stand-ins serving the bytes the test registered.

use base64::Engine;
use serde_json::{json, Value};

use crate::files::{eicar, jpeg, png};
use crate::messaging::{book, deliver, job_for, link, Channels, BOT_TOKEN, SECRET, TWILIO_TOKEN};
use crate::people::*;
use crate::spawn::{Reply, Tenant};

const CHAT: i64 = 5_001;

/// RFC 3339 of now plus `minutes` (negative: ago).
fn minutes_from_now(minutes: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    fieldworker::domain::time::Millis::from_ms(now + minutes * 60_000).to_rfc3339()
}

/// A private Telegram message from `CHAT` with `content` (photo, document, caption…).
fn message(update_id: i64, content: Value) -> Value {
    let mut message = json!({
        "message_id": update_id, "date": 1_700_000_000,
        "from": { "id": CHAT, "is_bot": false, "first_name": "Theo" },
        "chat": { "id": CHAT, "type": "private", "first_name": "Theo" },
    });
    for (key, value) in content.as_object().unwrap() {
        message[key] = value.clone();
    }
    json!({ "update_id": update_id, "message": message })
}

/// A photo as Telegram sends it: a thumbnail and the full size (only the full size is
/// registered with the stand-in, so fetching the thumbnail would fail).
fn photo(channels: &Channels, update_id: i64, caption: Option<&str>, bytes: &[u8]) -> Value {
    let full = format!("AgAD-full-{update_id}");
    channels.bot.telegram_file(
        BOT_TOKEN,
        &full,
        &format!("photos/file_{update_id}.jpg"),
        bytes,
    );
    let mut content = json!({ "photo": [
        { "file_id": format!("AgAD-thumb-{update_id}"), "file_unique_id": "t", "file_size": 900,
          "width": 90, "height": 67 },
        { "file_id": full, "file_unique_id": "f", "file_size": bytes.len(),
          "width": 1280, "height": 960 },
    ]});
    if let Some(caption) = caption {
        content["caption"] = json!(caption);
    }
    message(update_id, content)
}

/// Delivers `update` and answers the bot's `nth` reply to `CHAT`.
fn send(channels: &Channels, tenant: &Tenant, update: &Value, nth: usize) -> String {
    let reply = deliver(tenant, Some(SECRET), update);
    assert_eq!(reply.status, 200, "{}", reply.body);
    channels.sent_to(CHAT, nth)[nth - 1].clone()
}

fn files_of(browser: &Browser<'_>, job: &str) -> Vec<Value> {
    let listed = browser.get(&format!("/api/v1/jobs/{job}/files"));
    assert_eq!(listed.status, 200, "{}", listed.body);
    listed.json()["files"].as_array().unwrap().clone()
}

/// A linked technician (Theo) with a job; answers (owner, theo, job id, job number).
fn linked_technician<'a>(
    channels: &Channels,
    tenant: &'a Tenant,
) -> (Browser<'a>, Browser<'a>, String, i64) {
    let owner = owner(tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let (job, number) = job_for(&owner, &theo.user["id"]);
    link(channels, tenant, &theo, 1, CHAT, 1);
    (owner, theo, job, number)
}

#[test]
fn a_telegram_photo_lands_on_the_visit_under_way_clean_audited_and_the_reply_says_so() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let (owner, theo, job, number) = linked_technician(&channels, &tenant);
    book(&owner, &job, &minutes_from_now(-30), &minutes_from_now(60));

    let answer = send(&channels, &tenant, &photo(&channels, 2, None, &jpeg()), 2);
    assert!(
        answer.contains(&format!("to job #{number} Boiler service")) && answer.contains("clean"),
        "{answer}"
    );
    // The largest size was asked for, then downloaded from the file path getFile named.
    let requests = channels.bot.requests();
    let get_file = requests
        .iter()
        .find(|r| r.path == format!("/bot{BOT_TOKEN}/getFile"))
        .expect("a getFile call");
    assert_eq!(get_file.json()["file_id"], "AgAD-full-2");
    assert!(requests
        .iter()
        .any(|r| r.method == "GET" && r.path == format!("/file/bot{BOT_TOKEN}/photos/file_2.jpg")));

    let files = files_of(&owner, &job);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = &files[0];
    assert_eq!(file["status"], "clean");
    assert_eq!(file["source"], "telegram");
    assert_eq!(file["content_type"], "image/jpeg");
    assert_eq!(file["size"], jpeg().len());
    assert_eq!(file["uploaded_by"]["id"], theo.user["id"]);
    let id = file["id"].as_str().unwrap();
    let served = owner.get(&format!("/api/v1/files/{id}/content"));
    assert_eq!((served.status, served.bytes.clone()), (200, jpeg()));

    // Audited with Theo as the actor, through the agent, with the source.
    let audit = owner.get("/api/v1/audit?entity=file").json();
    let uploaded = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "file.uploaded" && e["entity_id"] == id)
        .cloned()
        .expect("the upload is audited");
    assert_eq!(uploaded["actor_kind"], "agent", "{uploaded}");
    assert_eq!(uploaded["actor_id"], theo.user["id"], "{uploaded}");
    assert_eq!(uploaded["after"]["source"], "telegram", "{uploaded}");

    // A redelivery of the same update adds nothing and is not answered again.
    deliver(&tenant, Some(SECRET), &photo(&channels, 2, None, &jpeg()));
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert_eq!(files_of(&owner, &job).len(), 1);
    assert_eq!(channels.sent_to(CHAT, 2).len(), 2);
}

#[test]
fn without_a_visit_today_the_reply_asks_which_job_and_a_photo_caption_names_it() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let (owner, _theo, job, number) = linked_technician(&channels, &tenant);
    // Tomorrow's visit is not today's.
    book(
        &owner,
        &job,
        &minutes_from_now(26 * 60),
        &minutes_from_now(27 * 60),
    );

    let asked = send(&channels, &tenant, &photo(&channels, 2, None, &jpeg()), 2);
    assert!(
        asked.contains("Which job is this photo for?") && asked.contains("/photo 42"),
        "{asked}"
    );
    assert!(files_of(&owner, &job).is_empty());

    let caption = format!("/photo {number}");
    let landed = send(
        &channels,
        &tenant,
        &photo(&channels, 3, Some(&caption), &png()),
        3,
    );
    assert!(landed.contains(&format!("job #{number}")), "{landed}");
    assert_eq!(files_of(&owner, &job)[0]["content_type"], "image/png");

    // A job Theo does not work on is not his to add to (nor to see).
    let tess = member(
        &owner,
        "tess@acme-heating.example",
        "technician",
        "pliers-and-flux-88",
    );
    let (other, other_number) = job_for(&owner, &tess.user["id"]);
    let caption = format!("/photo {other_number}");
    let refused = send(
        &channels,
        &tenant,
        &photo(&channels, 4, Some(&caption), &png()),
        4,
    );
    assert!(
        refused.contains(&format!("no job #{other_number}")),
        "{refused}"
    );
    assert!(files_of(&owner, &other).is_empty());

    // A /photo caption without a number says how.
    let how = send(
        &channels,
        &tenant,
        &photo(&channels, 5, Some("/photo"), &png()),
        5,
    );
    assert!(how.contains("/photo 42"), "{how}");
}

#[test]
fn an_eicar_document_is_rejected_and_the_reply_says_malware_was_found() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let (owner, _theo, job, number) = linked_technician(&channels, &tenant);
    channels
        .bot
        .telegram_file(BOT_TOKEN, "BQAD-eicar", "documents/file_9.pdf", &eicar());
    let document = message(
        2,
        json!({ "caption": format!("/photo {number}"), "document": {
            "file_id": "BQAD-eicar", "file_unique_id": "e", "file_name": "invoice.pdf",
            "mime_type": "application/pdf", "file_size": eicar().len() } }),
    );
    let answer = send(&channels, &tenant, &document, 2);
    assert!(
        answer.starts_with("Not added") && answer.contains("malware scanner found"),
        "{answer}"
    );
    let files = files_of(&owner, &job);
    assert_eq!(files[0]["status"], "rejected", "{files:?}");
    assert_eq!(files[0]["name"], "invoice.pdf");

    // Over Telegram's 20 MB for bots: refused before anything is fetched.
    let before = channels.bot.requests().len();
    let huge = message(
        3,
        json!({ "caption": format!("/photo {number}"), "document": {
            "file_id": "BQAD-huge", "file_unique_id": "h", "file_name": "scan.pdf",
            "file_size": 30 * 1024 * 1024 } }),
    );
    let answer = send(&channels, &tenant, &huge, 3);
    assert!(answer.contains("MB"), "{answer}");
    assert!(channels.bot.requests()[before..]
        .iter()
        .all(|r| !r.path.ends_with("/getFile")));
}

/// Posts a signed Twilio form to `/webhooks/sms`.
fn twilio(tenant: &Tenant, params: &[(&str, String)]) -> Reply {
    let url = format!("{}/webhooks/sms", tenant.base);
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let signature = fieldworker::domain::signatures::twilio_signature(TWILIO_TOKEN, &url, &params);
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
}

#[test]
fn an_mms_with_a_jpeg_lands_on_the_job_fetched_with_the_accounts_credentials() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let (job, number) = job_for(&owner, &theo.user["id"]);
    book(&owner, &job, &minutes_from_now(-10), &minutes_from_now(50));
    let phone = "+14155550123";
    let sms = |sid: &str, body: &str, media: Option<&str>| {
        let mut params = vec![
            ("MessageSid", sid.to_owned()),
            ("AccountSid", "AC0123".to_owned()),
            ("From", phone.to_owned()),
            ("To", "+15005550006".to_owned()),
            ("Body", body.to_owned()),
            (
                "NumMedia",
                if media.is_some() { "1" } else { "0" }.to_owned(),
            ),
        ];
        if let Some(url) = media {
            params.push(("MediaUrl0", url.to_owned()));
            params.push(("MediaContentType0", "image/jpeg".to_owned()));
        }
        let reply = twilio(&tenant, &params);
        assert_eq!(reply.status, 200, "{}", reply.body);
    };
    let replies = |count: usize| -> Vec<String> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let sent: Vec<String> = channels
                .twilio
                .requests()
                .iter()
                .filter(|r| r.method == "POST")
                .map(|r| r.form("Body").unwrap_or_default())
                .collect();
            if sent.len() >= count || std::time::Instant::now() > deadline {
                assert!(sent.len() >= count, "{sent:?}");
                return sent;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    };
    let code = theo.post("/api/v1/me/links", &json!({})).json()["code"]
        .as_str()
        .unwrap()
        .to_owned();
    sms("SM0001", &format!("link {code}"), None);
    assert!(replies(1)[0].starts_with("Linked"));

    let media = "/2010-04-01/Accounts/AC0123/Messages/MM0002/Media/ME0001";
    channels.twilio.serve_file(media, "image/jpeg", &jpeg());
    sms(
        "MM0002",
        "",
        Some(&format!("{}{media}", channels.twilio.base)),
    );
    // The media GET and the reply: two more requests.
    let answer = replies(2).last().cloned().unwrap();
    assert!(
        answer.contains(&format!("job #{number}")) && answer.contains("clean"),
        "{answer}"
    );
    let fetched = channels
        .twilio
        .requests()
        .into_iter()
        .find(|r| r.method == "GET" && r.path == media)
        .expect("the media was fetched");
    let basic = base64::engine::general_purpose::STANDARD.encode("AC0123:twilio-auth-token-1");
    assert_eq!(
        fetched.header("authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    let files = files_of(&owner, &job);
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(
        (&files[0]["source"], &files[0]["status"]),
        (&json!("sms"), &json!("clean"))
    );

    // A signed form naming media elsewhere is not fetched.
    let before = channels.twilio.requests().len();
    sms(
        "MM0003",
        "",
        Some("http://127.0.0.1:9/2010-04-01/Accounts/AC0123/Messages/MM3/Media/ME1"),
    );
    let answer = replies(3).last().cloned().unwrap();
    assert!(answer.contains("could not fetch"), "{answer}");
    assert_eq!(
        channels.twilio.requests().len(),
        before + 1,
        "only the reply"
    );
    assert_eq!(files_of(&owner, &job).len(), 1);
}

#[test]
fn mcp_attach_file_and_list_files_round_trip_through_the_pipeline() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let (job, _) = job_for(&owner, &theo.user["id"]);
    let made = theo.post("/api/v1/tokens", &json!({ "name": "mcp" }));
    assert_eq!(made.status, 201, "{}", made.body);
    let token = made.json()["token"].as_str().unwrap().to_owned();
    let call = |name: &str, arguments: Value| -> Value {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/call",
                           "params": { "name": name, "arguments": arguments } });
        let reply = tenant
            .request("POST", "/mcp")
            .header("Accept", "application/json, text/event-stream")
            .bearer(&token)
            .json(&body)
            .send();
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["result"].clone()
    };
    let text = |result: &Value| -> Value {
        serde_json::from_str(result["content"][0]["text"].as_str().unwrap())
            .unwrap_or_else(|_| json!(result["content"][0]["text"]))
    };
    let encoded = base64::engine::general_purpose::STANDARD.encode(png());
    let attached = call(
        "attach_file",
        json!({ "parent": "job", "parent_id": job, "name": "meter.png",
                "content_base64": encoded }),
    );
    assert_eq!(attached["isError"], false, "{attached}");
    let file = text(&attached);
    assert_eq!(file["status"], "clean", "{file}");
    assert_eq!(file["source"], "mcp", "{file}");

    let listed = call("list_files", json!({ "parent": "job", "parent_id": job }));
    assert_eq!(listed["isError"], false, "{listed}");
    let files = text(&listed)["files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["id"], file["id"]);
    assert_eq!(files[0]["name"], "meter.png");
    let got = call("get_file", json!({ "file_id": file["id"] }));
    assert_eq!(text(&got)["sha256"], file["sha256"]);

    // Bad base64 and malware are tool errors that say what happened.
    let garbled = call(
        "attach_file",
        json!({ "parent": "job", "parent_id": job, "name": "x.png", "content_base64": "@@@" }),
    );
    assert_eq!(garbled["isError"], true);
    assert!(
        garbled["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("base64"),
        "{garbled}"
    );
    let infected = call(
        "attach_file",
        json!({ "parent": "job", "parent_id": job, "name": "x.pdf",
                "content_base64": base64::engine::general_purpose::STANDARD.encode(eicar()) }),
    );
    assert_eq!(infected["isError"], true);
    assert!(
        infected["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("Eicar"),
        "{infected}"
    );
}
