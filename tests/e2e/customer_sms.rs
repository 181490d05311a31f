//! Texting with customers: a customer's SMS lands in their conversation and tells the office,
//! STOP and START change their consent, a reply from the dashboard or the API goes out through
//! Twilio (a local stand-in) with a status callback, and the signed delivery reports are
//! recorded in order. Every Twilio request is signed as Twilio signs it.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Options, Reply, Tenant};
use crate::standin::StandIn;

const TWILIO_TOKEN: &str = "twilio-auth-token-1";
const ANN: &str = "+14155550123";
const ANN_MOBILE: &str = "+14155550177";
const STRANGER: &str = "+14155550999";

fn twilio() -> StandIn {
    StandIn::start(201, r#"{"sid":"SM0001","status":"queued"}"#)
}

fn tenant(twilio: &StandIn) -> Tenant {
    let vars = [
        ("TWILIO_AUTH_TOKEN", TWILIO_TOKEN.to_owned()),
        ("TWILIO_ACCOUNT_SID", "AC0123".to_owned()),
        ("TWILIO_FROM_NUMBER", "+15005550006".to_owned()),
        ("TWILIO_API_BASE", twilio.base.clone()),
    ];
    Tenant::spawn_with(Options {
        vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ..Options::default()
    })
}

/// A form POST to `path`, signed over `tenant.base + path` with `token`.
pub(crate) fn signed(tenant: &Tenant, path: &str, pairs: &[(&str, &str)], token: &str) -> Reply {
    let params: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let url = format!("{}{path}", tenant.base);
    let signature = fieldworker::domain::signatures::twilio_signature(token, &url, &params);
    let form: Vec<String> = params
        .iter()
        .map(|(k, v)| format!("{k}={}", fieldworker::views::url::form_encode(v)))
        .collect();
    tenant
        .request("POST", path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-Twilio-Signature", &signature)
        .body(form.join("&").into_bytes())
        .send()
}

/// A text from `from`, as Twilio delivers it.
pub(crate) fn text(tenant: &Tenant, sid: &str, from: &str, body: &str) -> Reply {
    let reply = signed(
        tenant,
        "/webhooks/sms",
        &[
            ("MessageSid", sid),
            ("AccountSid", "AC0123"),
            ("From", from),
            ("To", "+15005550006"),
            ("Body", body),
            ("NumMedia", "0"),
        ],
        TWILIO_TOKEN,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply
}

/// A delivery report on message `sid`, signed with `token`.
fn report(tenant: &Tenant, sid: &str, status: &str, token: &str) -> Reply {
    signed(
        tenant,
        "/webhooks/sms/status",
        &[
            ("MessageSid", sid),
            ("MessageStatus", status),
            ("AccountSid", "AC0123"),
            ("To", ANN),
            ("From", "+15005550006"),
        ],
        token,
    )
}

fn customer(owner: &Browser<'_>, phones: &[&str]) -> String {
    let created = owner.post(
        "/api/v1/customers",
        &json!({ "name": "Ann Lee", "phones": phones }),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    created.json()["id"].as_str().unwrap().to_owned()
}

fn conversation(owner: &Browser<'_>, id: &str) -> Value {
    let reply = owner.get(&format!("/api/v1/customers/{id}/messages"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn audit_of(owner: &Browser<'_>, action: &str) -> Vec<Value> {
    owner.get(&format!("/api/v1/audit?action={action}")).json()["events"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits until the newest message's delivery shows `status`.
fn wait_for_delivery(owner: &Browser<'_>, id: &str, status: &str) -> Value {
    let deadline = std::time::Instant::now() + crate::spawn::AFTER_RESPONSE_TIMEOUT;
    loop {
        let talk = conversation(owner, id);
        let last = talk["messages"]
            .as_array()
            .unwrap()
            .last()
            .cloned()
            .unwrap();
        if last["delivery"]["status"] == status || std::time::Instant::now() > deadline {
            assert_eq!(last["delivery"]["status"], status, "{talk}");
            return last;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

#[test]
fn a_customers_text_lands_in_their_conversation_and_tells_the_office_without_an_answer() {
    let twilio = twilio();
    let tenant = tenant(&twilio);
    let owner = owner(&tenant);
    let dee = member(
        &owner,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let id = customer(&owner, &[ANN]);

    let answered = text(&tenant, "SMin0001", ANN, "Is the <part> in yet?");
    assert!(
        answered
            .header("content-type")
            .unwrap()
            .starts_with("text/xml"),
        "TwiML"
    );
    assert!(answered.body.ends_with("<Response/>"), "{}", answered.body);
    // Twilio redelivers: recorded once.
    text(&tenant, "SMin0001", ANN, "Is the <part> in yet?");

    let talk = conversation(&owner, &id);
    let messages = talk["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 1, "{talk}");
    assert_eq!(messages[0]["direction"], "in");
    assert_eq!(messages[0]["body"], "Is the <part> in yet?");
    assert_eq!(messages[0]["address"], ANN);
    assert_eq!(messages[0]["read_at"], Value::Null);
    assert_eq!(talk["sms_opted_out_at"], Value::Null);

    // The owner and the dispatcher are told in the app; the technician is not.
    for (who, told) in [(&owner, true), (&dee, true), (&theo, false)] {
        let notices = who.get("/api/v1/me/notifications").json();
        let texted: Vec<&Value> = notices["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["kind"] == "customer_message")
            .collect();
        assert_eq!(texted.len(), usize::from(told), "{notices}");
        if told {
            assert!(
                texted[0]["body"]
                    .as_str()
                    .unwrap()
                    .contains("Ann Lee texted: \u{201c}Is the <part> in yet?\u{201d}"),
                "{}",
                texted[0]
            );
            assert_eq!(texted[0]["data"]["customer_id"], id.as_str());
        }
    }
    let received = audit_of(&owner, "customer.message_received");
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["actor_kind"], "customer");
    assert_eq!(received[0]["actor_id"], "SMin0001");
    assert_eq!(received[0]["entity_id"], id.as_str());

    // Opening the customer's page shows the text and marks it read; a viewer's look would not.
    let page = owner.get(&format!("/customers/{id}"));
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Is the &lt;part&gt; in yet?"),
        "{}",
        page.body
    );
    assert!(page
        .body
        .contains(&format!(r#"data-action="/api/v1/customers/{id}/messages""#)));
    assert!(conversation(&owner, &id)["messages"][0]["read_at"].is_string());

    // Nobody answered the customer; a number nobody has still gets today's answer.
    text(&tenant, "SMin0002", STRANGER, "hello?");
    let sent = twilio.wait_for(1);
    assert_eq!(sent.len(), 1, "only the stranger's answer: {sent:?}");
    assert_eq!(sent[0].form("To").as_deref(), Some(STRANGER));
    assert!(sent[0].form("Body").unwrap().contains("not linked"));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(twilio.requests().len(), 1);
    assert_eq!(
        conversation(&owner, &id)["messages"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn stop_opts_a_customer_out_start_opts_them_back_in_and_staff_can_still_write() {
    let twilio = twilio();
    let tenant = tenant(&twilio);
    let owner = owner(&tenant);
    let id = customer(&owner, &[ANN]);

    text(&tenant, "SMstop01", ANN, " Stop ");
    let talk = conversation(&owner, &id);
    let out_at = talk["sms_opted_out_at"].as_str().expect("opted out");
    assert!(out_at.ends_with('Z'), "{talk}");
    assert_eq!(talk["messages"][0]["body"], " Stop ");
    let opted = audit_of(&owner, "customer.sms_opted_out");
    assert_eq!(opted.len(), 1);
    assert_eq!(opted[0]["actor_kind"], "customer");
    assert_eq!(opted[0]["entity_id"], id.as_str());
    // A keyword tells nobody and is answered by Twilio, not by us.
    let notices = owner.get("/api/v1/me/notifications").json();
    assert!(
        notices["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["kind"] != "customer_message"),
        "{notices}"
    );
    // The page says so, and a reply by hand still goes out.
    let page = owner.get(&format!("/customers/{id}"));
    assert!(
        page.body.contains("Opted out of automatic texts"),
        "{}",
        page.body
    );
    let written = owner.post(
        &format!("/api/v1/customers/{id}/messages"),
        &json!({ "body": "Sorry to see you go. Call us any time." }),
    );
    assert_eq!(written.status, 201, "{}", written.body);
    let sent = twilio.wait_for(1);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].form("To").as_deref(), Some(ANN));

    // A second STOP changes nothing more; START clears it.
    text(&tenant, "SMstop02", ANN, "STOPALL");
    assert_eq!(
        conversation(&owner, &id)["sms_opted_out_at"].as_str(),
        Some(out_at)
    );
    assert_eq!(audit_of(&owner, "customer.sms_opted_out").len(), 1);
    text(&tenant, "SMstart1", ANN, "start");
    assert_eq!(conversation(&owner, &id)["sms_opted_out_at"], Value::Null);
    assert_eq!(audit_of(&owner, "customer.sms_opted_in").len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(twilio.requests().len(), 1, "no answer to any keyword");
}

#[test]
fn a_reply_reaches_twilio_and_its_signed_delivery_reports_are_recorded_in_order() {
    let twilio = twilio();
    let tenant = tenant(&twilio);
    let owner = owner(&tenant);
    let id = customer(&owner, &[ANN, ANN_MOBILE]);
    // The customer writes from their second number: the reply goes back there.
    text(&tenant, "SMin0100", ANN_MOBILE, "Can you come Thursday?");

    // From the dashboard: the page's form posts with the session's CSRF token; without it
    // the same call is refused.
    let path = format!("/api/v1/customers/{id}/messages");
    let forged = tenant
        .request("POST", &path)
        .header("Cookie", &owner.cookie)
        .header("Origin", &tenant.base)
        .json(&json!({ "body": "Thursday at 9?" }))
        .send();
    forged.problem(403);
    let written = owner.post(&path, &json!({ "body": "  Thursday at 9?\n" }));
    assert_eq!(written.status, 201, "{}", written.body);
    let message = written.json();
    assert_eq!(message["direction"], "out");
    assert_eq!(message["body"], "Thursday at 9?");
    assert_eq!(message["address"], ANN_MOBILE);
    assert_eq!(message["author_id"], owner.user["id"]);

    let sent = twilio.wait_for(1);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].path, "/2010-04-01/Accounts/AC0123/Messages.json");
    assert_eq!(sent[0].form("To").as_deref(), Some(ANN_MOBILE));
    assert_eq!(sent[0].form("Body").as_deref(), Some("Thursday at 9?"));
    assert_eq!(
        sent[0].form("StatusCallback"),
        Some(format!("{}/webhooks/sms/status", tenant.base))
    );
    wait_for_delivery(&owner, &id, "sent");

    // Twilio's reports: delivered, then a late 'sent' that must not undo it.
    assert_eq!(
        report(&tenant, "SM0001", "delivered", TWILIO_TOKEN).status,
        200
    );
    wait_for_delivery(&owner, &id, "delivered");
    assert_eq!(report(&tenant, "SM0001", "sent", TWILIO_TOKEN).status, 200);
    assert_eq!(
        report(&tenant, "SM0001", "delivered", TWILIO_TOKEN).status,
        200
    );
    let last = wait_for_delivery(&owner, &id, "delivered");
    assert_eq!(last["delivery"]["reason"], Value::Null);
    let reported = audit_of(&owner, "message.delivery");
    assert_eq!(reported.len(), 1, "one change, one audit row: {reported:?}");
    assert_eq!(reported[0]["actor_kind"], "webhook");

    // A forged report is refused; a report on a message we never sent is acknowledged; a
    // form that is not a report is a 400.
    let forged = report(&tenant, "SM0001", "failed", "not-the-token");
    assert_eq!(forged.problem(401)["status"], 401);
    assert_eq!(
        report(&tenant, "SMunknown", "failed", TWILIO_TOKEN).status,
        200
    );
    signed(
        &tenant,
        "/webhooks/sms/status",
        &[("MessageSid", "SM0001")],
        TWILIO_TOKEN,
    )
    .problem(400);
    wait_for_delivery(&owner, &id, "delivered");

    // The API: a second reply with an Idempotency-Key is made once; bad bodies are 422/400.
    let keyed = |body: &str| {
        owner
            .request("POST", &path)
            .header("Idempotency-Key", "reply-2")
            .json(&json!({ "body": body }))
            .send()
    };
    let first = keyed("See you then.");
    assert_eq!(first.status, 201, "{}", first.body);
    let again = keyed("See you then.");
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(twilio.wait_for(2).len(), 2);
    owner.post(&path, &json!({ "body": "   " })).problem(422);
    owner
        .post(&path, &json!({ "body": "x".repeat(1601) }))
        .problem(422);
    owner.post(&path, &json!({ "text": "hi" })).problem(400);
    owner
        .post(
            "/api/v1/customers/nobody/messages",
            &json!({ "body": "hi" }),
        )
        .problem(404);
    let talk = conversation(&owner, &id);
    let bodies: Vec<&str> = talk["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(
        bodies,
        ["Can you come Thursday?", "Thursday at 9?", "See you then."],
        "oldest first"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(twilio.requests().len(), 2, "nothing sent twice");

    // A customer without a phone cannot be texted.
    let mute = customer(&owner, &[]);
    owner
        .post(
            &format!("/api/v1/customers/{mute}/messages"),
            &json!({ "body": "hi" }),
        )
        .problem(409);
}
