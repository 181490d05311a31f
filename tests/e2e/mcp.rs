//! MCP over Streamable HTTP: driven by the official TypeScript SDK client (through
//! `tests/mcp/bridge.mjs`) for the client's view, and by raw HTTP for the protocol's edges.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Reply, Tenant};

/// One SDK client session, held by a node process.
struct SdkClient {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The first line the bridge printed: connected or not, and why.
    hello: Value,
}

impl SdkClient {
    fn connect(tenant: &Tenant, token: Option<&str>) -> SdkClient {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut command = Command::new(root.join("node_modules/.bin/node"));
        command
            .arg(root.join("tests/mcp/bridge.mjs"))
            .arg(format!("{}/mcp", tenant.base))
            .current_dir(&root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(token) = token {
            command.arg(token);
        }
        let mut child = command.spawn().expect("node runs the MCP bridge");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let hello = read_line(&mut stdout);
        SdkClient {
            child,
            stdin,
            stdout,
            hello,
        }
    }

    fn send(&mut self, request: Value) -> Value {
        writeln!(self.stdin, "{request}").unwrap();
        self.stdin.flush().unwrap();
        let answer = read_line(&mut self.stdout);
        assert_eq!(answer["ok"], true, "{request} → {answer}");
        answer["result"].clone()
    }

    fn tools(&mut self) -> Vec<String> {
        self.send(json!({ "op": "list" }))["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// A tool call that must succeed; its structured content.
    fn call(&mut self, name: &str, arguments: Value) -> Value {
        let result = self.call_raw(name, arguments);
        assert_eq!(result["isError"], false, "{name}: {result}");
        result["structuredContent"].clone()
    }

    fn call_raw(&mut self, name: &str, arguments: Value) -> Value {
        self.send(json!({ "op": "call", "name": name, "arguments": arguments }))
    }
}

impl Drop for SdkClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_line(stdout: &mut BufReader<ChildStdout>) -> Value {
    let mut line = String::new();
    stdout.read_line(&mut line).expect("the bridge answers");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("bridge printed {line:?}: {e}"))
}

/// A personal access token of `browser`'s user.
fn token_of(browser: &Browser<'_>) -> String {
    let made = browser.post("/api/v1/tokens", &json!({ "name": "mcp" }));
    assert_eq!(made.status, 201, "{}", made.body);
    made.json()["token"].as_str().unwrap().to_owned()
}

fn rpc(tenant: &Tenant, token: Option<&str>, body: &str) -> Reply {
    let mut call = tenant
        .request("POST", "/mcp")
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(body.as_bytes().to_vec());
    if let Some(token) = token {
        call = call.bearer(token);
    }
    call.send()
}

#[test]
fn an_sdk_client_books_and_reschedules_work_and_the_audit_trail_names_mcp() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let token = token_of(&owner);
    let mut client = SdkClient::connect(&tenant, Some(&token));
    assert_eq!(client.hello["connected"], true, "{}", client.hello);
    assert_eq!(client.hello["server"]["name"], "fieldworker");
    assert!(client.hello["instructions"]
        .as_str()
        .is_some_and(|i| i.contains("version")));

    let tools = client.tools();
    for expected in [
        "create_customer",
        "create_job",
        "reschedule_visit",
        "list_audit_events",
    ] {
        assert!(
            tools.iter().any(|t| t == expected),
            "{expected} in {tools:?}"
        );
    }

    let customer = client.call(
        "create_customer",
        json!({ "name": "Ann Lee", "phones": ["+14155550123"] }),
    );
    let customer_id = customer["id"].as_str().unwrap().to_owned();
    client.call(
        "add_site",
        json!({ "customer_id": customer_id, "line1": "12 Canal St", "city": "Springfield" }),
    );
    let found = client.call("search_customers", json!({ "query": "ann" }));
    assert_eq!(found["customers"][0]["id"], customer_id.as_str(), "{found}");
    let job = client.call(
        "create_job",
        json!({ "customer_id": customer_id, "title": "Boiler service", "priority": "high",
                "technician_ids": [owner.user["id"]] }),
    );
    let job_id = job["id"].as_str().unwrap().to_owned();
    let booked = client.call(
        "schedule_visit",
        json!({ "job_id": job_id, "start": "2026-12-03T09:00:00Z", "end": "2026-12-03T10:00:00Z" }),
    );
    let visit = &booked["visits"][0];
    let visit_id = visit["id"].as_str().unwrap().to_owned();
    assert_eq!(visit["version"], 1);

    let moved = client.call(
        "reschedule_visit",
        json!({ "visit_id": visit_id, "version": 1,
                "start": "2026-12-04T09:00:00Z", "end": "2026-12-04T10:00:00Z" }),
    );
    assert_eq!(moved["version"], 2, "{moved}");
    assert_eq!(moved["start"], "2026-12-04T09:00:00.000Z");

    // The same move with the version it read before: a clean conflict result, not an error.
    let stale = client.call_raw(
        "reschedule_visit",
        json!({ "visit_id": visit_id, "version": 1,
                "start": "2026-12-05T09:00:00Z", "end": "2026-12-05T10:00:00Z" }),
    );
    assert_eq!(stale["isError"], true, "{stale}");
    let text = stale["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("409") && text.contains("version 2"), "{text}");
    assert_eq!(
        stale["structuredContent"]["current"]["version"], 2,
        "{stale}"
    );
    let unchanged = owner
        .get("/api/v1/visits?from=2026-12-01T00:00:00Z&to=2026-12-31T00:00:00Z")
        .json();
    assert_eq!(unchanged["visits"][0]["start"], "2026-12-04T09:00:00.000Z");

    // Bad arguments are a tool error the model can read, naming the argument.
    let bad = client.call_raw(
        "change_job_status",
        json!({ "job_id": job_id, "version": 1 }),
    );
    assert_eq!(bad["isError"], true);
    assert!(bad["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("status"));

    // Money tools are there for roles that see money.
    let invoices = client.call("list_invoices", json!({ "status": "issued" }));
    assert_eq!(invoices["invoices"], json!([]), "{invoices}");

    let audit = client.call("list_audit_events", json!({ "entity_id": visit_id }));
    let events = audit["events"].as_array().unwrap();
    assert!(!events.is_empty(), "{audit}");
    for event in events {
        assert_eq!(event["actor_kind"], "mcp", "{event}");
        assert_eq!(event["actor_id"], owner.user["id"], "{event}");
    }
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
}

#[test]
fn a_viewer_reads_through_mcp_but_cannot_write_and_no_token_gets_the_challenge() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let viewer = member(
        &owner,
        "vic@acme-heating.example",
        "viewer",
        "read-only-ledger-42",
    );
    let mut client = SdkClient::connect(&tenant, Some(&token_of(&viewer)));
    assert_eq!(client.hello["connected"], true, "{}", client.hello);
    let tools = client.tools();
    assert!(tools.iter().any(|t| t == "search_customers"), "{tools:?}");
    assert!(!tools.iter().any(|t| t == "create_customer"), "{tools:?}");
    let refused = client.call_raw("create_customer", json!({ "name": "Ann Lee" }));
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(refused["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("403"));
    assert!(owner.get("/api/v1/customers").json()["customers"]
        .as_array()
        .unwrap()
        .is_empty());

    let anonymous = SdkClient::connect(&tenant, None);
    assert_eq!(anonymous.hello["connected"], false, "{}", anonymous.hello);
    let challenge = rpc(&tenant, None, r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    assert_eq!(challenge.status, 401);
    let header = challenge.header("www-authenticate").unwrap();
    assert!(
        header.starts_with("Bearer resource_metadata=\"http://")
            && header.ends_with("/.well-known/oauth-protected-resource/mcp\""),
        "{header}"
    );
    let metadata = tenant
        .get("/.well-known/oauth-protected-resource/mcp")
        .json();
    assert_eq!(metadata["resource"], format!("{}/mcp", tenant.base));
    assert_eq!(metadata["bearer_methods_supported"], json!(["header"]));
    // A session cookie is not a credential here: no web page can drive MCP.
    let with_cookie = tenant
        .request("POST", "/mcp")
        .header("Cookie", &owner.cookie)
        .header("Content-Type", "application/json")
        .body(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#.to_vec())
        .send();
    assert_eq!(with_cookie.status, 401);
}

#[test]
fn protocol_edges_get_the_right_json_rpc_answers_and_never_a_500() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let token = token_of(&owner);
    let t = Some(token.as_str());
    let code = |reply: &Reply| reply.json()["error"]["code"].as_i64();

    let cases: [(&str, u16, Option<i64>); 7] = [
        ("{not json", 400, Some(-32700)),
        (
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            200,
            Some(-32600),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/list"}"#,
            200,
            Some(-32601),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope"}}"#,
            200,
            Some(-32602),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[]}"#,
            200,
            Some(-32602),
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            200,
            Some(-32602),
        ),
        (r#"{"id":1,"method":"ping"}"#, 200, Some(-32600)),
    ];
    for (body, status, expected) in cases {
        let reply = rpc(&tenant, t, body);
        assert_eq!(reply.status, status, "{body}: {}", reply.body);
        assert_eq!(code(&reply), expected, "{body}: {}", reply.body);
    }
    let ping = rpc(&tenant, t, r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#);
    assert_eq!(
        ping.json(),
        json!({ "jsonrpc": "2.0", "id": "p", "result": {} })
    );
    let notified = rpc(
        &tenant,
        t,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
    );
    assert_eq!((notified.status, notified.body.as_str()), (202, ""));

    let oversize = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"create_customer","arguments":{{"name":"{}"}}}}}}"#,
        // Over what a message may hold with attach_file's base64 content in it.
        "x".repeat(fieldworker::tools::MAX_TOOL_FILE_BYTES / 3 * 4 + 128 * 1024)
    );
    let reply = rpc(&tenant, t, &oversize);
    assert_eq!(
        (reply.status, code(&reply)),
        (413, Some(-32600)),
        "{}",
        reply.body
    );

    // The stateless revision: discovery, and results marked complete.
    let discovered = rpc(
        &tenant,
        t,
        r#"{"jsonrpc":"2.0","id":2,"method":"server/discover","params":{"_meta":{
            "io.modelcontextprotocol/protocolVersion":"2026-07-28",
            "io.modelcontextprotocol/clientCapabilities":{}}}}"#,
    )
    .json();
    assert_eq!(discovered["result"]["resultType"], "complete");
    assert!(discovered["result"]["supportedVersions"]
        .as_array()
        .unwrap()
        .contains(&json!("2026-07-28")));
    let listed = tenant
        .request("POST", "/mcp")
        .bearer(&token)
        .header("Content-Type", "application/json")
        .header("MCP-Protocol-Version", "2026-07-28")
        .header("Mcp-Method", "tools/list")
        .body(
            br#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{"_meta":{
                "io.modelcontextprotocol/protocolVersion":"2026-07-28",
                "io.modelcontextprotocol/clientCapabilities":{}}}}"#
                .to_vec(),
        )
        .send()
        .json();
    assert!(listed["result"]["tools"].as_array().unwrap().len() > 10);
    let unknown_version = tenant
        .request("POST", "/mcp")
        .bearer(&token)
        .header("Content-Type", "application/json")
        .header("MCP-Protocol-Version", "1999-01-01")
        .body(br#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#.to_vec())
        .send();
    assert_eq!(unknown_version.status, 400);

    // Another site's page may not call us; GET and DELETE are not served (no sessions).
    let foreign = tenant
        .request("POST", "/mcp")
        .bearer(&token)
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/json")
        .body(br#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#.to_vec())
        .send();
    assert_eq!(foreign.status, 403);
    assert_eq!(
        tenant.request("GET", "/mcp").bearer(&token).send().status,
        405
    );
    assert_eq!(
        tenant
            .request("DELETE", "/mcp")
            .bearer(&token)
            .send()
            .status,
        405
    );
}

/// A tool's hints as `tools/list` gave them: read-only, destructive, idempotent, open world.
fn hints(tools: &[Value], name: &str) -> (bool, bool, bool, bool) {
    let tool = tools
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("{name} is listed"));
    let a = &tool["annotations"];
    let hint = |key: &str| {
        a[key]
            .as_bool()
            .unwrap_or_else(|| panic!("{name}.{key}: {a}"))
    };
    (
        hint("readOnlyHint"),
        hint("destructiveHint"),
        hint("idempotentHint"),
        hint("openWorldHint"),
    )
}

#[test]
fn an_sdk_client_quotes_shares_invoices_and_voids_with_each_tool_annotated_and_roles_held() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let mut client = SdkClient::connect(&tenant, Some(&token_of(&owner)));
    assert_eq!(client.hello["connected"], true, "{}", client.hello);

    // Every tool says what it does, so a client knows what to ask its user about.
    let listed = client.send(json!({ "op": "list" }))["tools"]
        .as_array()
        .unwrap()
        .clone();
    for tool in &listed {
        assert!(
            tool["annotations"]["title"]
                .as_str()
                .is_some_and(|t| !t.is_empty()),
            "{tool}"
        );
        hints(&listed, tool["name"].as_str().unwrap());
    }
    let cases = [
        ("get_quote", (true, false, true, false)),
        ("create_quote", (false, false, false, false)),
        ("update_quote", (false, false, true, false)),
        ("send_quote", (false, true, true, false)),
        ("issue_invoice", (false, true, true, false)),
        ("void_invoice", (false, true, true, false)),
        ("revoke_share_link", (false, true, true, false)),
        ("email_or_text_quote", (false, true, false, true)),
        ("text_customer", (false, true, false, true)),
    ];
    for (name, expected) in cases {
        assert_eq!(hints(&listed, name), expected, "{name}");
    }

    let customer = client.call(
        "create_customer",
        json!({ "name": "Priya Patel", "phones": ["+15005550123"] }),
    );
    let customer_id = customer["id"].as_str().unwrap().to_owned();
    client.call(
        "add_site",
        json!({ "customer_id": customer_id, "line1": "4 Elm Row" }),
    );
    let service =
        json!({ "description": "Boiler service", "quantity_milli": 1000, "unit_price": 12_000 });
    let quote = client.call(
        "create_quote",
        json!({ "customer_id": customer_id, "title": "Boiler service", "lines": [service] }),
    );
    let quote_id = quote["id"].as_str().unwrap().to_owned();
    assert_eq!(
        (quote["status"].clone(), quote["version"].clone()),
        (json!("draft"), json!(1)),
        "{quote}"
    );
    // A line added: the whole list sent back, as the tool says.
    let filter =
        json!({ "description": "Magnetic filter", "quantity_milli": 1000, "unit_price": 15_000 });
    let edited = client.call(
        "update_quote",
        json!({ "quote_id": quote_id, "version": 1, "lines": [service, filter] }),
    );
    assert_eq!(edited["version"], 2, "{edited}");
    let read = owner.get(&format!("/api/v1/quotes/{quote_id}")).json();
    let names: Vec<&str> = read["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["description"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Boiler service", "Magnetic filter"]);
    let stale = client.call_raw(
        "update_quote",
        json!({ "quote_id": quote_id, "version": 1, "title": "Old" }),
    );
    assert_eq!(stale["isError"], true, "{stale}");
    assert!(stale["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("version 2"));

    let sent = client.call("send_quote", json!({ "quote_id": quote_id, "version": 2 }));
    assert_eq!(sent["status"], "sent", "{sent}");

    // A share link opens the quote until it is revoked.
    let link = client.call("share_quote", json!({ "quote_id": quote_id }));
    let url = link["url"].as_str().unwrap().to_owned();
    assert_eq!(tenant.get(&url).status, 200);
    client.call(
        "revoke_share_link",
        json!({ "share_link_id": link["id"], "version": link["version"] }),
    );
    assert_ne!(tenant.get(&url).status, 200, "revoked");

    // Opening the link marked it viewed: the version to name is read again, as a model would.
    let current = client.call("get_quote", json!({ "quote_id": quote_id }));
    assert_eq!(current["status"], "viewed", "{current}");
    assert!(current["version"].as_i64() > sent["version"].as_i64());
    // Accepted on the phone, converted, issued, paid and refunded, then voided.
    let accepted = client.call(
        "accept_quote",
        json!({ "quote_id": quote_id, "version": current["version"], "signer_name": "Priya Patel" }),
    );
    assert_eq!(accepted["status"], "accepted", "{accepted}");
    let converted = client.call(
        "convert_quote",
        json!({ "quote_id": quote_id, "version": accepted["version"] }),
    );
    let invoice = &converted["invoice"];
    let invoice_id = invoice["id"].as_str().unwrap().to_owned();
    assert_eq!(invoice["status"], "draft", "{converted}");
    let issued = client.call(
        "issue_invoice",
        json!({ "invoice_id": invoice_id, "version": invoice["version"] }),
    );
    assert_eq!(
        (issued["status"].clone(), issued["number"].clone()),
        (json!("issued"), json!("INV-0001")),
        "{issued}"
    );
    let paid = client.call(
        "record_payment",
        json!({ "invoice_id": invoice_id, "version": issued["version"], "amount": 5_000, "method": "cash" }),
    );
    assert_eq!(paid["invoice"]["status"], "partially_paid", "{paid}");
    let refunded = client.call(
        "record_payment",
        json!({ "invoice_id": invoice_id, "version": paid["invoice"]["version"], "kind": "refund",
                "amount": 5_000, "method": "cash" }),
    );
    let voided = client.call(
        "void_invoice",
        json!({ "invoice_id": invoice_id, "version": refunded["invoice"]["version"] }),
    );
    assert_eq!(voided["status"], "void", "{voided}");
    assert_eq!(
        owner.get(&format!("/api/v1/invoices/{invoice_id}")).json()["status"],
        "void"
    );

    // A blank draft, made and deleted.
    let blank = client.call(
        "create_invoice",
        json!({ "customer_id": customer_id, "lines": [service] }),
    );
    let blank_id = blank["id"].as_str().unwrap().to_owned();
    client.call(
        "delete_invoice",
        json!({ "invoice_id": blank_id, "version": blank["version"] }),
    );
    assert_eq!(
        owner.get(&format!("/api/v1/invoices/{blank_id}")).status,
        404
    );

    // A text to the customer, queued for Twilio, and her conversation read back.
    let texted = client.call(
        "text_customer",
        json!({ "customer_id": customer_id, "body": "Your quote is on its way." }),
    );
    assert_eq!(texted["body"], "Your quote is on its way.", "{texted}");
    let conversation = client.call(
        "list_customer_messages",
        json!({ "customer_id": customer_id }),
    );
    assert_eq!(
        conversation["messages"][0]["body"], "Your quote is on its way.",
        "{conversation}"
    );

    let audit = owner
        .get(&format!("/api/v1/audit?entity_id={quote_id}"))
        .json();
    let events = audit["events"].as_array().unwrap();
    assert!(events.len() >= 5, "{audit}");
    // The customer's own view of the link is theirs; every other change the token's user's.
    for event in events.iter().filter(|e| e["action"] != "quote.viewed") {
        assert_eq!(event["actor_kind"], "mcp", "{event}");
        assert_eq!(event["actor_id"], owner.user["id"], "{event}");
    }

    // Beyond a role: a technician is not shown money tools and is refused them; a viewer
    // reads quotes but may not issue or void.
    let tess = member(
        &owner,
        "tess@acme-heating.example",
        "technician",
        "flux-and-fittings-31",
    );
    let mut technician = SdkClient::connect(&tenant, Some(&token_of(&tess)));
    let tools = technician.tools();
    for hidden in [
        "create_quote",
        "get_quote",
        "issue_invoice",
        "text_customer",
    ] {
        assert!(!tools.iter().any(|t| t == hidden), "{hidden} in {tools:?}");
    }
    let refused = technician.call_raw(
        "create_quote",
        json!({ "customer_id": customer_id, "title": "Cheap", "lines": [service] }),
    );
    assert_eq!(refused["isError"], true, "{refused}");
    assert!(refused["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("403"));
    let vic = member(
        &owner,
        "vic@acme-heating.example",
        "viewer",
        "read-only-ledger-42",
    );
    let mut viewer = SdkClient::connect(&tenant, Some(&token_of(&vic)));
    let tools = viewer.tools();
    assert!(tools.iter().any(|t| t == "get_quote"), "{tools:?}");
    assert!(!tools.iter().any(|t| t == "void_invoice"), "{tools:?}");
    let refused = viewer.call_raw(
        "text_customer",
        json!({ "customer_id": customer_id, "body": "Hello" }),
    );
    assert_eq!(refused["isError"], true, "{refused}");
    let quotes = owner.get("/api/v1/quotes").json();
    assert_eq!(quotes["quotes"].as_array().unwrap().len(), 1, "{quotes}");
    let messages = owner
        .get(&format!("/api/v1/customers/{customer_id}/messages"))
        .json();
    assert_eq!(
        messages["messages"].as_array().unwrap().len(),
        1,
        "{messages}"
    );

    // Archived last: she leaves the search.
    let read = client.call("get_customer", json!({ "customer_id": customer_id }));
    client.call(
        "archive_customer",
        json!({ "customer_id": customer_id, "version": read["version"] }),
    );
    let found = client.call("search_customers", json!({ "query": "Patel" }));
    assert_eq!(found["customers"], json!([]), "{found}");
}
