//! The agent quotes a customer from a chat: it drafts the quote with its lines at once, and
//! marks it sent and texts it to the customer only after the user confirmed in a later
//! message. The model is the Anthropic stand-in, reading the tool results it is sent; the
//! customer's text goes through the Twilio stand-in.

use serde_json::{json, Value};

use crate::messaging::{final_text, link, say, tool_use, Channels};
use crate::people::*;
use crate::standin::{Recorded, Scripted};

const PHONE: &str = "+15005550123";

fn fixed(answer: (u16, Value)) -> Scripted {
    Box::new(move |_: &Recorded| answer)
}

/// The tool results of the model request `request`'s last message, by tool_use id.
fn tool_results(request: &Recorded) -> Vec<(String, bool, String)> {
    let body = request.json();
    let last = body["messages"].as_array().unwrap().last().unwrap().clone();
    last["content"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|block| block["type"] == "tool_result")
        .map(|block| {
            (
                block["tool_use_id"].as_str().unwrap().to_owned(),
                block["is_error"] == true,
                block["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A tool result's JSON, out of its `<untrusted>` marks.
fn data(text: &str) -> Value {
    let inner = text
        .strip_prefix("<untrusted>")
        .and_then(|t| t.strip_suffix("</untrusted>"))
        .unwrap_or_else(|| panic!("not marked as data: {text}"));
    serde_json::from_str(inner).unwrap_or_else(|e| panic!("{e}: {inner}"))
}

/// A model answer asking for several tools at once.
fn tool_uses(calls: &[(&str, &str, Value)]) -> (u16, Value) {
    let content: Vec<Value> = calls
        .iter()
        .map(|(id, name, input)| json!({ "type": "tool_use", "id": id, "name": name, "input": input }))
        .collect();
    (
        200,
        json!({
            "id": "msg_tools", "type": "message", "role": "assistant", "model": "claude-test",
            "content": content, "stop_reason": "tool_use",
            "usage": { "input_tokens": 1000, "output_tokens": 80 }
        }),
    )
}

/// The texts the Twilio stand-in was asked to send to `to`.
fn texts_to(channels: &Channels, to: &str) -> Vec<String> {
    channels
        .twilio
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/Messages.json") && r.form("To").as_deref() == Some(to))
        .map(|r| r.form("Body").unwrap_or_default())
        .collect()
}

#[test]
fn the_agent_drafts_a_quote_with_lines_and_texts_it_to_the_customer_once_the_user_confirms() {
    let channels = Channels::start();
    let tenant = channels.tenant(true);
    let owner = owner(&tenant);
    let made = owner.post(
        "/api/v1/customers",
        &json!({ "name": "Priya Patel", "phones": [PHONE], "preferred_contact": "sms" }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let customer_id = made.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{customer_id}/sites"),
        &json!({ "line1": "4 Elm Row" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    let chat = 5601;
    link(&channels, &tenant, &owner, 600, chat, 1);

    // "Quote Mrs Patel for a boiler service, 120 dollars, and text it to her": the draft is
    // made at once; marking it sent and texting it are proposed, even by an eager model that
    // calls one of them confirmed in the same message.
    let line =
        json!({ "description": "Boiler service", "quantity_milli": 1000, "unit_price": 12_000 });
    channels.model.script_with(vec![
        fixed(tool_use(
            "toolu_1",
            "search_customers",
            json!({ "query": "Patel" }),
        )),
        fixed(tool_use(
            "toolu_2",
            "create_quote",
            json!({ "customer_id": customer_id, "title": "Boiler service", "lines": [line] }),
        )),
        Box::new(|request: &Recorded| {
            let (id, failed, text) = tool_results(request).remove(0);
            assert_eq!((id.as_str(), failed), ("toolu_2", false), "{text}");
            let drafted = data(&text);
            tool_uses(&[
                (
                    "toolu_3",
                    "send_quote",
                    json!({ "quote_id": drafted["id"], "version": drafted["version"], "confirmed": true }),
                ),
                (
                    "toolu_4",
                    "email_or_text_quote",
                    json!({ "quote_id": drafted["id"], "via": "sms" }),
                ),
            ])
        }),
        fixed(final_text(
            "Drafted quote 1 for Priya Patel: boiler service, USD 120.00. Send it to her by \
             text? Reply yes.",
        )),
    ]);
    let asked = say(
        &channels,
        &tenant,
        601,
        chat,
        "quote Mrs Patel for a boiler service, 120 dollars, and text it to her",
        2,
    );
    assert!(asked.contains("Reply yes"), "{asked}");
    let calls = channels.model.wait_for(4);
    let proposed = tool_results(&calls[3]);
    assert_eq!(proposed.len(), 2, "{proposed:?}");
    for (id, failed, text) in &proposed {
        assert!(*failed && text.contains("confirm"), "{id}: {text}");
    }

    // The draft exists with its line; nothing reached the customer.
    let listed = owner
        .get(&format!("/api/v1/quotes?customer={customer_id}"))
        .json();
    let quotes = listed["quotes"].as_array().unwrap();
    assert_eq!(quotes.len(), 1, "{listed}");
    let quote_id = quotes[0]["id"].as_str().unwrap().to_owned();
    let quote = owner.get(&format!("/api/v1/quotes/{quote_id}")).json();
    assert_eq!(quote["status"], "draft", "{quote}");
    assert_eq!(quote["version"], 1);
    assert_eq!(quote["lines"].as_array().unwrap().len(), 1, "{quote}");
    assert_eq!(quote["lines"][0]["description"], "Boiler service");
    assert_eq!(quote["lines"][0]["unit_price"], 12_000);
    assert_eq!(quote["lines"][0]["quantity_milli"], 1_000);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        texts_to(&channels, PHONE).is_empty(),
        "not sent before the answer"
    );

    // "yes": the same calls, confirmed, now run: the quote is sent and texted to her.
    channels.model.script(vec![
        tool_use(
            "toolu_5",
            "send_quote",
            json!({ "quote_id": quote_id, "version": 1, "confirmed": true }),
        ),
        tool_use(
            "toolu_6",
            "email_or_text_quote",
            json!({ "quote_id": quote_id, "via": "sms", "confirmed": true }),
        ),
        final_text("Sent: Priya Patel has the quote by text."),
    ]);
    assert_eq!(
        say(&channels, &tenant, 602, chat, "yes", 3),
        "Sent: Priya Patel has the quote by text."
    );
    let calls = channels.model.wait_for(7);
    for (call, tool) in [(&calls[5], "toolu_5"), (&calls[6], "toolu_6")] {
        let (id, failed, text) = tool_results(call).remove(0);
        assert_eq!((id.as_str(), failed), (tool, false), "{text}");
    }
    // The text goes out when the agent's turn ends, before any other request reaches the
    // tenant (none is made until it arrived).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut texts = texts_to(&channels, PHONE);
    while texts.is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
        texts = texts_to(&channels, PHONE);
    }
    assert_eq!(texts.len(), 1, "{texts:?}\n{}", tenant.logs());
    // The outbox logs its run once Twilio answered, which is after the stand-in recorded the
    // text: wait for the line rather than read the log at once.
    tenant.log_line_with(&["\"msg\":\"outbox\"", "\"cause\":\"agent\""]);
    let runs = tenant.log_records("outbox");
    assert!(
        runs.iter()
            .any(|run| run["cause"] == "agent" && run["sent"] == 1),
        "sent by the turn's end: {runs:?}"
    );
    let quote = owner.get(&format!("/api/v1/quotes/{quote_id}")).json();
    assert_eq!(quote["status"], "sent", "{quote}");
    assert!(
        texts[0].contains("Q-0001") && texts[0].contains("120.00"),
        "{}",
        texts[0]
    );
    // Its link opens the quote for her.
    let link = texts[0]
        .split_whitespace()
        .find(|word| word.contains("/s/"))
        .unwrap_or_else(|| panic!("no link in {}", texts[0]));
    let path = &link[link.find("/s/").unwrap()..];
    let page = tenant.get(path.trim_end_matches(['.', ',']));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Boiler service"), "{}", page.body);

    // Every change is the owner's, made through the agent.
    for action in ["quote.created", "quote.sent"] {
        let audit = owner
            .get(&format!(
                "/api/v1/audit?action={action}&entity_id={quote_id}"
            ))
            .json();
        let events = audit["events"].as_array().unwrap();
        assert_eq!(events.len(), 1, "{action}: {audit}");
        assert_eq!(events[0]["actor_kind"], "agent", "{action}");
        assert_eq!(events[0]["actor_id"], owner.user["id"], "{action}");
    }
}
