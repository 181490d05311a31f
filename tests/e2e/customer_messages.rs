//! Messages to customers end to end: a quote sent by email (read back from the local email
//! binding's files) and by SMS (the Twilio stand-in), its link opening the quote; the
//! day-before reminder once across cron runs, held through quiet hours, in the company's time
//! zone on the test clock, never to a customer who opted out; the unsubscribe link; "on my
//! way"; the templates' checks.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::people::*;
use crate::quotes::{act, etag};
use crate::spawn::{local_email, Options, Tenant, AFTER_RESPONSE_TIMEOUT};
use crate::standin::{Recorded, StandIn};

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// A tenant whose SMS go to a Twilio stand-in.
fn tenant_with_sms(twilio: &StandIn) -> Tenant {
    let vars = [
        ("TWILIO_AUTH_TOKEN", "twilio-auth-token-1".to_owned()),
        ("TWILIO_ACCOUNT_SID", "AC0123".to_owned()),
        ("TWILIO_FROM_NUMBER", "+15005550006".to_owned()),
        ("TWILIO_API_BASE", twilio.base.clone()),
    ];
    Tenant::spawn_with(Options {
        vars: vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        ..Options::default()
    })
}

fn new_customer(owner: &Browser<'_>, body: Value) -> String {
    let made = owner.post("/api/v1/customers", &body);
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{id}/sites"),
        &json!({ "line1": "1 Canal St" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    id
}

/// The SMS the stand-in got, as (To, Body, StatusCallback).
fn texts(twilio: &StandIn) -> Vec<(String, String, String)> {
    twilio
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/Messages.json"))
        .map(|r: &Recorded| {
            (
                r.form("To").unwrap_or_default(),
                r.form("Body").unwrap_or_default(),
                r.form("StatusCallback").unwrap_or_default(),
            )
        })
        .collect()
}

/// Waits until the stand-in has `count` texts (or the wait is over) and answers them.
fn wait_texts(twilio: &StandIn, count: usize) -> Vec<(String, String, String)> {
    let started = Instant::now();
    loop {
        let found = texts(twilio);
        if found.len() >= count || started.elapsed() > AFTER_RESPONSE_TIMEOUT {
            return found;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The provider ids the outbox reported sending, in order.
pub(crate) fn sent_ids(tenant: &Tenant) -> Vec<String> {
    tenant
        .log_records("outbox")
        .iter()
        .flat_map(|run| run["message_ids"].as_array().cloned().unwrap_or_default())
        .filter_map(|id| id.as_str().map(str::to_owned))
        .collect()
}

/// Waits for an email's id among those sent (not a Twilio sid).
pub(crate) fn wait_email_ids(tenant: &Tenant, count: usize) -> Vec<String> {
    let started = Instant::now();
    loop {
        let ids: Vec<String> = sent_ids(tenant)
            .into_iter()
            .filter(|id| !id.starts_with("SM"))
            .collect();
        if ids.len() >= count || started.elapsed() > AFTER_RESPONSE_TIMEOUT {
            assert!(
                ids.len() >= count,
                "{count} emails sent: {ids:?}\n{}",
                tenant.logs()
            );
            return ids;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn part<'a>(parts: &'a [(String, String)], name: &str) -> &'a str {
    parts
        .iter()
        .find(|(p, _)| p == name)
        .map(|(_, c)| c.as_str())
        .unwrap_or_else(|| panic!("no {name} in {parts:?}"))
}

/// The first `http://…` link in `text` that contains `path`.
fn link_in(text: &str, path: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '"' || c == '<' || c == '>')
        .find(|word| word.starts_with("http") && word.contains(path))
        .unwrap_or_else(|| panic!("no link to {path} in {text}"))
        .trim_end_matches(['.', ','])
        .to_owned()
}

#[test]
fn a_sent_quote_goes_out_by_email_and_sms_and_its_link_opens_the_quote() {
    let twilio = StandIn::start(201, r#"{"sid":"SM0001","status":"queued"}"#);
    let tenant = tenant_with_sms(&twilio);
    let owner = owner(&tenant);
    let customer = new_customer(
        &owner,
        json!({ "name": "Ada Lee", "emails": ["ada@lee.example"], "phones": ["+15005550100"],
                "preferred_contact": "email" }),
    );
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer, "title": "Boiler service",
                 "lines": [{ "description": "Service", "quantity_milli": 1000, "unit_price": 9_000 }] }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let quote = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());

    // A draft is not sent to anyone.
    let draft = owner.post(&format!("{quote}/deliveries"), &json!({}));
    assert_eq!(draft.status, 409, "{}", draft.body);
    assert_eq!(
        act(&owner, "POST", &format!("{quote}/send"), 1, None).status,
        200
    );
    let bad = owner.post(&format!("{quote}/deliveries"), &json!({ "via": "pigeon" }));
    assert_eq!(bad.status, 422, "{}", bad.body);

    let sent = owner.post(&format!("{quote}/deliveries"), &json!({ "via": "both" }));
    assert_eq!(sent.status, 202, "{}", sent.body);
    let deliveries = sent.json()["deliveries"].as_array().unwrap().clone();
    let channels: Vec<&str> = deliveries
        .iter()
        .map(|d| d["channel"].as_str().unwrap())
        .collect();
    assert_eq!(channels.len(), 2);
    assert!(
        channels.contains(&"email") && channels.contains(&"sms"),
        "{channels:?}"
    );

    // The SMS: to the customer's phone, with the link, and delivery reports asked for.
    let texts = wait_texts(&twilio, 1);
    assert_eq!(texts.len(), 1, "{texts:?}");
    let (to, body, callback) = &texts[0];
    assert_eq!(to, "+15005550100");
    assert!(
        body.contains("Q-0001") && body.contains("USD 90.00"),
        "{body}"
    );
    assert!(
        !body.contains("STOP"),
        "sent by staff, not automatic: {body}"
    );
    assert_eq!(callback, &format!("{}/webhooks/sms/status", tenant.base));
    let sms_link = link_in(body, "/s/");

    // The email: text and HTML parts, the same link, the subject in the local log.
    let email_id = wait_email_ids(&tenant, 1)[0].clone();
    let parts = local_email(&email_id, &["email-text", "email-html"]);
    let text = part(&parts, "email-text");
    let html = part(&parts, "email-html");
    assert!(
        text.contains("Hello Ada Lee") && text.contains("Q-0001"),
        "{text}"
    );
    assert!(
        !text.contains("/unsubscribe/"),
        "not automatic: no unsubscribe link"
    );
    let email_link = link_in(text, "/s/");
    assert_ne!(
        email_link, sms_link,
        "a link per message, so each can be told apart"
    );
    assert!(html.contains(&format!("href=\"{email_link}\"")), "{html}");
    assert!(html.contains("View the quote"));
    // The local email binding prints the message after it stored it: waited for, not read.
    tenant.log_line_with(&["Subject: Quote Q-0001 from"]);

    // Each link opens the quote for the customer, who sees it; nobody signed in.
    for link in [&sms_link, &email_link] {
        let page = tenant.get(link.trim_start_matches(&tenant.base));
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("Boiler service") && page.body.contains("Q-0001"));
    }

    // Both deliveries are on the quote's timeline, sent, with the provider's id.
    let started = Instant::now();
    loop {
        let listed = owner.get(&format!("{quote}/deliveries")).json();
        let statuses: Vec<String> = listed["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["status"].as_str().unwrap().to_owned())
            .collect();
        if statuses == ["sent", "sent"] {
            break;
        }
        assert!(started.elapsed() < AFTER_RESPONSE_TIMEOUT, "{statuses:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let page = owner.get(&quote.replace("/api/v1", ""));
    assert!(page.body.contains("Sent to the customer") && page.body.contains("ada@lee.example"));

    // A customer with no address for what is asked: refused, naming the field.
    let no_phone = new_customer(&owner, json!({ "name": "Bo", "emails": ["bo@x.example"] }));
    let quote2 = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": no_phone, "title": "Tap",
                 "lines": [{ "description": "Tap", "quantity_milli": 1000, "unit_price": 1_000 }] }),
    );
    let quote2 = format!("/api/v1/quotes/{}", quote2.json()["id"].as_str().unwrap());
    assert_eq!(
        act(&owner, "POST", &format!("{quote2}/send"), 1, None).status,
        200
    );
    let refused = owner
        .post(&format!("{quote2}/deliveries"), &json!({ "via": "sms" }))
        .problem(422);
    assert_eq!(refused["errors"][0]["field"], "via");
}

/// Moves the Worker's clock so that its now is `target` (ms), given the offset so far.
fn clock_to(tenant: &Tenant, offset: &mut i64, target: i64) {
    let now = host_now() + *offset;
    assert!(target > now, "the clock only moves forward");
    advance_clock(tenant, (target - now) as u64);
    *offset += target - now;
}

fn host_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn the_day_before_reminder_goes_once_after_quiet_hours_in_the_companys_zone_and_never_to_who_opted_out(
) {
    let twilio = StandIn::start(201, r#"{"sid":"SM0002","status":"queued"}"#);
    let tenant = tenant_with_sms(&twilio);
    let owner = owner(&tenant);
    // India: UTC+5:30 all year, so the test's arithmetic needs no zone tables.
    let settings = owner.get("/api/v1/settings");
    let set = act(
        &owner,
        "PATCH",
        "/api/v1/settings",
        etag(&settings),
        Some(json!({ "time_zone": "Asia/Kolkata", "name": "Acme Heating" })),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    // Booking confirmations off (their own switch), quiet hours around the reminder time.
    let messages = owner.get("/api/v1/settings/messages").json();
    assert_eq!(messages["templates"].as_array().unwrap().len(), 6);
    let booking = messages["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "booking")
        .unwrap()
        .clone();
    let off = act(
        &owner,
        "PATCH",
        "/api/v1/settings/messages/templates/booking",
        booking["version"].as_i64().unwrap(),
        Some(json!({ "enabled": false })),
    );
    assert_eq!(off.status, 200, "{}", off.body);
    let timing = act(
        &owner,
        "PATCH",
        "/api/v1/settings/messages",
        messages["timing"]["version"].as_i64().unwrap(),
        Some(json!({ "quiet_start": "16:30", "quiet_end": "17:30", "reminder_at": "17:00" })),
    );
    assert_eq!(timing.status, 200, "{}", timing.body);
    assert_eq!(timing.json()["quiet_start"], "16:30");

    // The next 17:00 in Kolkata at least 10 minutes away, and a visit the morning after.
    let offset_ms = 330 * 60_000;
    let local = host_now() + offset_ms;
    let mut five_pm = local.div_euclid(DAY) * DAY + 17 * HOUR;
    if local > five_pm - 10 * 60_000 {
        five_pm += DAY;
    }
    let reminder_time = five_pm - offset_ms;
    let visit_start = reminder_time + 17 * HOUR; // 10:00 the next day, local
    let book = |customer: &str| {
        let job = owner.post(
            "/api/v1/jobs",
            &json!({ "customer_id": customer, "title": "Boiler service" }),
        );
        assert_eq!(job.status, 201, "{}", job.body);
        let id = job.json()["id"].as_str().unwrap().to_owned();
        let start = fieldworker::domain::time::Millis(visit_start as u64).to_rfc3339();
        let end = fieldworker::domain::time::Millis((visit_start + 2 * HOUR) as u64).to_rfc3339();
        let visit = owner.post(
            &format!("/api/v1/jobs/{id}/visits"),
            &json!({ "start": start, "end": end, "allow_conflict": true }),
        );
        assert_eq!(visit.status, 201, "{}", visit.body);
    };
    let ann = new_customer(
        &owner,
        json!({ "name": "Ann Lee", "phones": ["+15005550111"], "preferred_contact": "sms" }),
    );
    let opted = new_customer(
        &owner,
        json!({ "name": "Otto Out", "phones": ["+15005550122"], "preferred_contact": "sms" }),
    );
    let cleo = new_customer(
        &owner,
        json!({ "name": "Cleo Mail", "emails": ["cleo@mail.example"], "preferred_contact": "email" }),
    );
    for customer in [&ann, &opted, &cleo] {
        book(customer);
    }
    // Otto replied STOP once (set here as the SMS webhook would: see the SMS tests).
    tenant.d1_execute(&format!(
        "UPDATE customers SET sms_opted_out_at = 1 WHERE id = '{opted}'"
    ));

    let mut offset = 0;
    // Before the reminder time: nothing.
    assert_eq!(tenant.cron().status, 200);
    std::thread::sleep(Duration::from_millis(500));
    assert!(texts(&twilio).is_empty(), "{:?}", texts(&twilio));

    // 17:01 local: due, but quiet hours hold it.
    clock_to(&tenant, &mut offset, reminder_time + 60_000);
    assert_eq!(tenant.cron().status, 200);
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        texts(&twilio).is_empty(),
        "held through quiet hours: {:?}",
        texts(&twilio)
    );

    // 17:31 local: quiet hours are over; it goes out, once, however often cron runs.
    clock_to(&tenant, &mut offset, reminder_time + 31 * 60_000);
    for _ in 0..3 {
        assert_eq!(tenant.cron().status, 200);
    }
    let sent = wait_texts(&twilio, 1);
    std::thread::sleep(Duration::from_millis(1_000));
    assert_eq!(tenant.cron().status, 200);
    let sent_again = texts(&twilio);
    assert_eq!(sent_again.len(), 1, "once: {sent_again:?}");
    let (to, body, _) = &sent[0];
    assert_eq!(to, "+15005550111", "Ann, never Otto");
    assert!(
        body.contains("Hello Ann Lee") && body.contains("Acme Heating"),
        "{body}"
    );
    assert!(
        body.contains("tomorrow") && body.contains("10:00"),
        "local time: {body}"
    );
    assert!(body.ends_with("Reply STOP to opt out."), "{body}");

    // Cleo's reminder came by email, with a one-click way out that works.
    let email_id = wait_email_ids(&tenant, 1)[0].clone();
    let parts = local_email(&email_id, &["email-text", "email-html"]);
    let text = part(&parts, "email-text");
    assert!(
        text.contains("Hello Cleo Mail") && text.contains("10:00"),
        "{text}"
    );
    let unsubscribe = link_in(text, "/unsubscribe/");
    assert!(part(&parts, "email-html").contains("Unsubscribe from automatic messages"));
    let path = unsubscribe.trim_start_matches(&tenant.base).to_owned();
    let page = tenant.get(&path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Stop automatic messages?"));
    // RFC 8058: the mail provider POSTs `List-Unsubscribe=One-Click`, no cookies, no Origin.
    let done = tenant
        .request("POST", &path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(b"List-Unsubscribe=One-Click".to_vec())
        .send();
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You are unsubscribed"));
    let opted_out = tenant.d1_execute(&format!(
        "SELECT email_opted_out_at FROM customers WHERE id = '{cleo}'"
    ));
    assert!(
        opted_out[0]["email_opted_out_at"].as_i64().is_some(),
        "{opted_out:?}"
    );
    // A forged link names nobody.
    let forged = format!("/unsubscribe/{ann}.{}", "0".repeat(32));
    assert_eq!(tenant.get(&forged).status, 404);
    // (A day passed on the test clock: the owner's session is over.)
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    let audit = owner
        .get("/api/v1/audit?action=customer.unsubscribed")
        .json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 1, "{audit}");
}

#[test]
fn on_my_way_tells_the_customer_and_templates_are_checked() {
    let twilio = StandIn::start(201, r#"{"sid":"SM0003","status":"queued"}"#);
    let tenant = tenant_with_sms(&twilio);
    let owner = owner(&tenant);
    let customer = new_customer(
        &owner,
        json!({ "name": "Ann Lee", "phones": ["+15005550133"], "preferred_contact": "phone" }),
    );
    let job = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer, "title": "Leaking tap" }),
    );
    let job = job.json()["id"].as_str().unwrap().to_owned();

    let bad = owner.post(
        &format!("/api/v1/jobs/{job}/on-my-way"),
        &json!({ "eta_minutes": 0 }),
    );
    assert_eq!(bad.status, 422, "{}", bad.body);
    let told = owner.post(
        &format!("/api/v1/jobs/{job}/on-my-way"),
        &json!({ "eta_minutes": 20 }),
    );
    assert_eq!(told.status, 202, "{}", told.body);
    let sent = wait_texts(&twilio, 1);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(
        sent[0].1.contains("on the way") && sent[0].1.contains("20 minutes"),
        "{:?}",
        sent[0]
    );
    assert!(sent[0].1.contains("Leaking tap"));

    // Templates: placeholders only, and only the kind's own.
    let messages = owner.get("/api/v1/settings/messages").json();
    let omw = messages["templates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "on_my_way")
        .unwrap()
        .clone();
    let version = omw["version"].as_i64().unwrap();
    let path = "/api/v1/settings/messages/templates/on_my_way";
    let wrong = act(
        &owner,
        "PATCH",
        path,
        version,
        Some(json!({ "body": "Pay {link} now" })),
    )
    .problem(422);
    assert_eq!(wrong["errors"][0]["field"], "body");
    let reworded = act(
        &owner,
        "PATCH",
        path,
        version,
        Some(json!({ "body": "{technician} is coming, about {eta} min. <b>See you</b>" })),
    );
    assert_eq!(reworded.status, 200, "{}", reworded.body);
    assert_eq!(reworded.json()["customised"], true);
    let stale = act(
        &owner,
        "PATCH",
        path,
        version,
        Some(json!({ "enabled": false })),
    );
    assert_eq!(stale.status, 409, "{}", stale.body);
    let told = owner.post(
        &format!("/api/v1/jobs/{job}/on-my-way"),
        &json!({ "eta_minutes": 5 }),
    );
    assert_eq!(told.status, 202, "{}", told.body);
    let sent = wait_texts(&twilio, 2);
    assert!(
        sent[1].1.contains("is coming, about 5 min. <b>See you</b>"),
        "the company's words, as text: {:?}",
        sent[1]
    );
    let off = act(
        &owner,
        "PATCH",
        path,
        version + 1,
        Some(json!({ "enabled": false })),
    );
    assert_eq!(off.status, 200, "{}", off.body);
    let refused = owner.post(
        &format!("/api/v1/jobs/{job}/on-my-way"),
        &json!({ "eta_minutes": 5 }),
    );
    assert_eq!(refused.status, 409, "switched off: {}", refused.body);

    // The settings page shows the card with a preview.
    let page = owner.get("/settings");
    assert!(page.body.contains("Messages to customers") && page.body.contains("Preview"));
    let bad_time = act(
        &owner,
        "PATCH",
        "/api/v1/settings/messages",
        messages["timing"]["version"].as_i64().unwrap(),
        Some(json!({ "quiet_start": "25:00", "overdue_days": [0] })),
    )
    .problem(422);
    assert_eq!(
        bad_time["errors"].as_array().unwrap().len(),
        2,
        "{bad_time}"
    );
}

#[test]
fn bursts_at_deliveries_and_templates_answer_no_5xx_and_one_template_edit_wins() {
    let twilio = StandIn::start(201, r#"{"sid":"SM0004","status":"queued"}"#);
    let tenant = tenant_with_sms(&twilio);
    let owner = owner(&tenant);
    let customer = new_customer(
        &owner,
        json!({ "name": "Ada Lee", "phones": ["+15005550144"], "preferred_contact": "sms" }),
    );
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer, "title": "Boiler service",
                 "lines": [{ "description": "Service", "quantity_milli": 1000, "unit_price": 9_000 }] }),
    );
    let quote = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    assert_eq!(
        act(&owner, "POST", &format!("{quote}/send"), 1, None).status,
        200
    );

    // 40 sends at once: each its own message, none lost, no 5xx.
    let sent = crate::load::burst(40, |_| {
        owner.post(&format!("{quote}/deliveries"), &json!({ "via": "sms" }))
    });
    let statuses: Vec<u16> = sent.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    let listed = owner.get(&format!("{quote}/deliveries")).json();
    assert_eq!(listed["deliveries"].as_array().unwrap().len(), 40);

    // 20 edits of one template naming the same version: one wins, the rest are 409.
    let path = "/api/v1/settings/messages/templates/reminder";
    let edits = crate::load::burst(20, |i| {
        act(
            &owner,
            "PATCH",
            path,
            1,
            Some(json!({ "body": format!("See you {{date}} ({i})") })),
        )
    });
    let mut statuses: Vec<u16> = edits.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        19,
        "{statuses:?}"
    );
    let audit = owner
        .get("/api/v1/audit?action=message_template.updated")
        .json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 1, "{audit}");
}
