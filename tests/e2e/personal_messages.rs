//! Personal data in messages (DESIGN.md §9, §10): after a workload through the real webhooks
//! and APIs — a Telegram chat linked and used, a stranger writing in, a job note, a text to
//! and from a customer, the office's notice of it — the database holds none of the personal
//! values in plaintext, while the API reads every one of them back and a linked chat is
//! still found by its address.

use serde_json::{json, Value};

use crate::customer_sms::text;
use crate::messaging::{job_for, link, say, Channels};
use crate::people::*;
use crate::spawn::Tenant;

const ANN: &str = "+14155550123";
const THEO_CHAT: i64 = 5_551_234_567;
const STRANGER_CHAT: i64 = 9_001_876_543;

/// The rows of `sql`, as one text to search.
fn raw(tenant: &Tenant, sql: &str) -> String {
    Value::from(tenant.d1_execute(sql)).to_string()
}

/// `sql`'s rows hold none of `values` in plaintext, and hold something (so the check is real).
fn sealed(tenant: &Tenant, sql: &str, values: &[&str]) {
    let rows = raw(tenant, sql);
    assert_ne!(rows, "[]", "{sql} found no rows");
    for value in values {
        assert!(
            !rows.contains(value),
            "{value:?} in plaintext in {sql}: {rows}"
        );
    }
    assert!(rows.contains("fwe1."), "{sql}: nothing sealed in {rows}");
}

#[test]
fn messages_notes_and_notices_are_stored_sealed_read_back_whole_and_found_by_address() {
    let channels = Channels::start();
    let tenant = channels.tenant(false);
    let owner = owner(&tenant);
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let theo_id = theo.user["id"].as_str().unwrap().to_owned();
    let (job_id, number) = job_for(&owner, &theo.user["id"]);

    // A stranger writes in: their message is kept, sealed under a key of their own.
    let stranger = say(
        &channels,
        &tenant,
        100,
        STRANGER_CHAT,
        "Hello from Zebediah",
        1,
    );
    assert!(stranger.contains("not linked"), "{stranger}");

    // Theo links his chat and works through it; the link is found by its address each time.
    link(&channels, &tenant, &theo, 101, THEO_CHAT, 1);
    let noted = say(
        &channels,
        &tenant,
        102,
        THEO_CHAT,
        &format!("/note {number} Mrs Quincebottom says the valve leaks"),
        2,
    );
    assert_eq!(noted, format!("Note added to #{number}."));
    let jobs = say(&channels, &tenant, 103, THEO_CHAT, "/jobs", 3);
    assert!(
        jobs.contains(&format!("#{number} Boiler service")),
        "{jobs}"
    );

    // The office texts a customer, and the customer texts back.
    let customer = owner.post(
        "/api/v1/customers",
        &json!({ "name": "Ann Lee", "phones": [ANN] }),
    );
    assert_eq!(customer.status, 201, "{}", customer.body);
    let customer_id = customer.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/customers/{customer_id}/messages");
    let written = owner.post(&path, &json!({ "body": "Thursday at nine, Ann?" }));
    assert_eq!(written.status, 201, "{}", written.body);
    let sent = channels.twilio.wait_for(1);
    assert_eq!(
        sent[0].form("To").as_deref(),
        Some(ANN),
        "sent in plaintext"
    );
    assert_eq!(
        sent[0].form("Body").as_deref(),
        Some("Thursday at nine, Ann?")
    );
    text(&tenant, "SMin0001", ANN, "Yes, the gate code is 4711");

    // Raw rows: nothing personal in plaintext.
    let chat = THEO_CHAT.to_string();
    let stranger_chat = STRANGER_CHAT.to_string();
    sealed(
        &tenant,
        "SELECT address, address_index FROM channel_links",
        &[&chat],
    );
    sealed(
        &tenant,
        "SELECT sender, text, reply FROM inbound_messages WHERE text IS NOT ''",
        &[
            &chat,
            &stranger_chat,
            "Zebediah",
            "Quincebottom",
            ANN,
            "gate code",
        ],
    );
    sealed(&tenant, "SELECT text FROM job_notes", &["Quincebottom"]);
    sealed(
        &tenant,
        "SELECT body, address FROM customer_messages",
        &["Thursday at nine", "gate code", ANN],
    );
    sealed(
        &tenant,
        "SELECT recipient, data FROM outbox WHERE kind = 'reply'",
        &[ANN],
    );
    sealed(
        &tenant,
        "SELECT data FROM notifications WHERE kind = 'customer_message'",
        &["gate code"],
    );
    sealed(
        &tenant,
        "SELECT after FROM audit_log WHERE action IN ('job.note_added', 'channel.linked', \
         'customer.message_queued')",
        &["Quincebottom", &chat, ANN],
    );

    // Each sealed under the right person's key.
    let keys = tenant.d1_execute(
        "SELECT provider_id, dk FROM inbound_messages WHERE text IS NOT '' ORDER BY provider_id",
    );
    let key_of = |provider_id: &str| {
        keys.iter()
            .find(|row| row["provider_id"] == provider_id)
            .map(|row| row["dk"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    assert!(key_of("100").starts_with("s-"), "{keys:?}");
    assert_eq!(key_of("102"), format!("u-{theo_id}"));
    assert_eq!(key_of("SMin0001"), format!("c-{customer_id}"));
    let link_row = raw(&tenant, "SELECT address FROM channel_links");
    assert!(
        link_row.contains(&format!("fwe1.u-{theo_id}.")),
        "{link_row}"
    );
    let note = raw(
        &tenant,
        "SELECT j.customer_id, n.text FROM job_notes n JOIN jobs j ON j.id = n.job_id",
    );
    let note: Vec<Value> = serde_json::from_str(&note).unwrap();
    let job_customer = note[0]["customer_id"].as_str().unwrap();
    assert!(
        note[0]["text"]
            .as_str()
            .unwrap()
            .starts_with(&format!("fwe1.c-{job_customer}.")),
        "{note:?}"
    );

    // Through the API, everything reads back whole.
    let links = theo.get("/api/v1/me/links").json();
    assert_eq!(links["links"][0]["address"], chat, "{links}");
    let job = owner.get(&format!("/api/v1/jobs/{job_id}")).json();
    assert!(
        job.to_string()
            .contains("Mrs Quincebottom says the valve leaks"),
        "{job}"
    );
    let talk = owner.get(&path).json();
    let bodies: Vec<&str> = talk["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        bodies,
        ["Thursday at nine, Ann?", "Yes, the gate code is 4711"],
        "{talk}"
    );
    assert_eq!(talk["messages"][1]["address"], ANN, "{talk}");
    let notices = owner.get("/api/v1/me/notifications").json();
    assert!(
        notices.to_string().contains("gate code is 4711"),
        "{notices}"
    );
    assert!(notices.to_string().contains("Ann Lee"), "{notices}");

    // The stranger, found again by their address's blind index, stays unlinked; Theo stays
    // linked.
    let again = say(&channels, &tenant, 104, STRANGER_CHAT, "/jobs", 2);
    assert!(again.contains("not linked"), "{again}");
    let help = say(&channels, &tenant, 105, THEO_CHAT, "/help", 4);
    assert!(help.contains("/move"), "{help}");
}

#[test]
fn a_quotes_signer_is_stored_sealed_under_the_customers_key_whatever_the_names_length() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = crate::quotes::customer(&owner, "Ann Lee");
    let made = owner.post(
        "/api/v1/quotes",
        &json!({
            "customer_id": customer_id, "title": "Boiler swap",
            "lines": [{ "description": "Boiler", "quantity_milli": 1000, "unit_price": 90_000 }],
        }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let path = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    let sent = crate::quotes::act(
        &owner,
        "POST",
        &format!("{path}/send"),
        crate::quotes::etag(&made),
        None,
    );
    assert_eq!(sent.status, 200, "{}", sent.body);
    // 200 characters, the most the domain allows: far longer once sealed.
    let signer = format!("Annabel Quincebottom-{}", "Lee".repeat(59));
    assert_eq!(signer.chars().count(), 198);
    let accepted = crate::quotes::act(
        &owner,
        "POST",
        &format!("{path}/accept"),
        crate::quotes::etag(&sent),
        Some(json!({ "signer_name": signer })),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(
        accepted.json()["acceptance"]["signer_name"],
        signer.as_str()
    );

    sealed(&tenant, "SELECT signer_name FROM quotes", &["Quincebottom"]);
    sealed(
        &tenant,
        "SELECT after FROM audit_log WHERE action = 'quote.accepted'",
        &["Quincebottom"],
    );
    let stored = raw(&tenant, "SELECT signer_name FROM quotes");
    assert!(
        stored.contains(&format!("fwe1.c-{customer_id}.")),
        "{stored}"
    );
    let read = owner.get(&path).json();
    assert_eq!(read["acceptance"]["signer_name"], signer.as_str(), "{read}");
}
