//! The customer's side of share links: the quote page (viewed, accepted once, declined) and the
//! invoice page (paid through Stripe Checkout, the payment recorded once from Stripe's signed
//! webhook). Stripe's API is a local stand-in; the webhook is signed as Stripe signs it.

use serde_json::{json, Value};

use crate::people::*;
use crate::quotes::{act, customer};
use crate::spawn::{Options, Reply, Tenant};
use crate::standin::StandIn;

pub(crate) fn share(owner: &Browser<'_>, path: &str) -> String {
    let link = owner.request("POST", &format!("{path}/share")).send();
    assert_eq!(link.status, 201, "{}", link.body);
    link.json()["token"].as_str().unwrap().to_owned()
}

/// A form POST as the customer's browser sends it from the page.
fn submit(tenant: &Tenant, path: &str, form: &str) -> Reply {
    tenant
        .request("POST", path)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", &tenant.base)
        .body(form.as_bytes().to_vec())
        .send()
}

/// A one-line quote for a new customer, sent (version 2): its API path.
pub(crate) fn sent_quote(owner: &Browser<'_>) -> String {
    let (customer_id, _) = customer(owner, "Ada Lee");
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer_id, "title": "Boiler service",
                 "lines": [{ "description": "Service", "quantity_milli": 1000, "unit_price": 9_000 }] }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let quote = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    assert_eq!(
        act(owner, "POST", &format!("{quote}/send"), 1, None).status,
        200
    );
    quote
}

#[test]
fn share_and_invite_tokens_never_reach_the_request_log() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let quote = sent_quote(&owner);
    let token = share(&owner, &quote);
    assert_eq!(tenant.get(&format!("/s/{token}")).status, 200);
    assert_eq!(
        submit(&tenant, &format!("/s/{token}/decline"), "reason=later").status,
        303
    );
    // Unknown paths below a token are 404s whose errors quote the path.
    assert_eq!(tenant.get(&format!("/s/{token}/nothing/here")).status, 404);
    let invite = owner.post(
        "/api/v1/users/invites",
        &json!({ "email": "new@acme-heating.example", "role": "owner" }),
    );
    assert_eq!(invite.status, 201, "{}", invite.body);
    let invite_token = invite.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(tenant.get(&format!("/invite/{invite_token}")).status, 200);

    // The Worker's own lines (wrangler's "[wrangler:info] GET /s/…" lines are the local
    // counterpart of Cloudflare's invocation logs, which show URLs: see the README).
    // A 4xx line goes out through console.warn, on the runtime's stderr, which may reach the
    // log a moment after the lines on stdout: wait for both kinds.
    tenant.log_line_with(&["\"path\":\"/invite/{token}\""]);
    tenant.log_line_with(&["\"level\":\"warn\"", "/s/{token}/nothing/here"]);
    let logs: String = tenant
        .logs()
        .lines()
        .filter(|line| !line.contains("[wrangler:"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(logs.contains("\"path\":\"/s/{token}/decline\""), "{logs}");
    assert!(logs.contains("\"path\":\"/invite/{token}\""), "{logs}");
    assert!(!logs.contains(&token), "the share token is in the logs");
    assert!(
        !logs.contains(&invite_token),
        "the invite token is in the logs"
    );
}

#[test]
fn a_quote_taken_back_to_draft_is_not_shown_through_its_old_link_until_sent_again() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let quote = sent_quote(&owner);
    let token = share(&owner, &quote);
    let page = format!("/s/{token}");
    assert_eq!(tenant.get(&page).status, 200);
    // Viewed (version 3), then revised to a draft.
    let revised = act(&owner, "POST", &format!("{quote}/revise"), 3, None);
    assert_eq!(revised.json()["status"], "draft", "{}", revised.body);
    let hidden = tenant.get(&page);
    assert_eq!(hidden.status, 409, "{}", hidden.body);
    assert!(hidden.body.contains("being updated"), "{}", hidden.body);
    assert!(!hidden.body.contains("Accept quote"));
    let refused = submit(&tenant, &format!("{page}/accept"), "signer_name=Ada");
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(owner.get(&quote).json()["status"], "draft");
    assert_eq!(
        act(&owner, "POST", &format!("{quote}/send"), 4, None).status,
        200
    );
    assert_eq!(tenant.get(&page).status, 200);
}

#[test]
fn a_customer_views_chooses_and_accepts_a_quote_once_and_misses_are_limited() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ada <script>alert(1)</script> Lee");
    let line = |d: &str, price: i64, option: Option<&str>, optional: bool| {
        json!({ "description": d, "quantity_milli": 1000, "unit_price": price,
                "option": option, "optional": optional })
    };
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer_id, "title": "Furnace <service>",
                 "lines": [line("Service call", 8_900, None, false),
                           line("Basic filter", 2_000, Some("Good"), false),
                           line("HEPA filter", 9_900, Some("Best"), false),
                           line("Duct cleaning", 15_000, None, true)] }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let quote = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    assert_eq!(
        act(&owner, "POST", &format!("{quote}/send"), 1, None).status,
        200
    );
    let token = share(&owner, &quote);
    let page_path = format!("/s/{token}");

    let page = tenant.get(&page_path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("style-src 'nonce-"),
        "{csp}"
    );
    assert!(
        page.body.contains("Furnace &lt;service&gt;"),
        "escaped title"
    );
    assert!(
        page.body
            .contains("Ada &lt;script&gt;alert(1)&lt;/script&gt; Lee"),
        "escaped name"
    );
    assert!(
        !page.body.contains("<script"),
        "no script on the page at all"
    );
    assert!(page.body.contains("Option: Good") && page.body.contains("Option: Best"));
    assert!(page.body.contains("Accept quote"));
    let viewed = owner.get(&quote).json();
    assert_eq!(
        viewed["status"], "viewed",
        "opening the page marks it viewed"
    );

    // Another site's page cannot post the form.
    let foreign = tenant
        .request("POST", &format!("{page_path}/accept"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Origin", "https://evil.example")
        .body(b"option=Best&signer_name=Mallory".to_vec())
        .send();
    assert_eq!(foreign.status, 403);
    // Nor can a sandboxed frame (`Origin: null`) or a client that names no origin: our own
    // pages send their origin (their referrer policy is same-origin).
    assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    for origin in [Some("null"), None] {
        let mut call = tenant
            .request("POST", &format!("{page_path}/accept"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(b"option=Best&signer_name=Mallory".to_vec());
        if let Some(origin) = origin {
            call = call.header("Origin", origin);
        }
        assert_eq!(call.send().status, 403, "Origin {origin:?}");
    }
    // A missing name is refused with the reason, on the page.
    let unnamed = submit(
        &tenant,
        &format!("{page_path}/accept"),
        "option=Best&signer_name=",
    );
    assert_eq!(unnamed.status, 422, "{}", unnamed.body);
    // A form far larger than any the page makes is refused as too large, and changes nothing.
    let padded = format!("option=Best&signer_name=Ada&pad={}", "x".repeat(20_000));
    let oversize = submit(&tenant, &format!("{page_path}/accept"), &padded);
    assert_eq!(oversize.status, 413, "{}", oversize.body);

    let accepted = submit(
        &tenant,
        &format!("{page_path}/accept"),
        "option=Best&extra=3&signer_name=Ada+Lee",
    );
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    assert_eq!(
        accepted.header("location"),
        Some(format!("{page_path}?accepted=1").as_str())
    );
    let after = tenant.get(&format!("{page_path}?accepted=1"));
    assert!(
        after.body.contains("Accepted by <strong>Ada Lee</strong>"),
        "{}",
        after.body
    );
    assert!(!after.body.contains("<form"));
    // A second tab's accept is refused; so is a decline after it.
    let again = submit(
        &tenant,
        &format!("{page_path}/accept"),
        "option=Good&signer_name=Ada+Lee",
    );
    assert_eq!(again.status, 409, "{}", again.body);
    assert_eq!(
        submit(&tenant, &format!("{page_path}/decline"), "reason=no").status,
        409
    );

    let stored: Value = owner.get(&quote).json();
    assert_eq!(stored["status"], "accepted");
    // The office sees it on the dashboard's money page.
    let money = owner.get("/money");
    assert_eq!(money.status, 200, "{}", money.body);
    assert!(
        money.body.contains("Q-0001 Furnace &lt;service&gt;") && money.body.contains("accepted"),
        "{}",
        money.body
    );
    let audit = owner.get("/api/v1/audit?action=quote.accepted").json();
    let event = &audit["events"][0];
    assert_eq!(event["actor_kind"], "customer");
    assert_eq!(event["after"]["signer_name"], "Ada Lee");
    assert_eq!(event["after"]["option"], "Best");
    assert_eq!(event["after"]["optional_lines"], json!([3]));
    assert!(event["ip"].is_string(), "{event}");

    // A revoked link is as unknown as a wrong one: 404 pages; after enough misses from one
    // address, 429.
    let second = owner
        .request("POST", &format!("{quote}/share"))
        .send()
        .json();
    let second_page = format!("/s/{}", second["token"].as_str().unwrap());
    assert_eq!(tenant.get(&second_page).status, 200);
    let revoked = act(
        &owner,
        "DELETE",
        &format!("/api/v1/share-links/{}", second["id"].as_str().unwrap()),
        1,
        None,
    );
    assert_eq!(revoked.status, 204, "{}", revoked.body);
    assert_eq!(tenant.get(&second_page).status, 404);
    assert_eq!(tenant.get("/s/AAAAAAAAAAAAAAAAAAAAAAAA").status, 404);
    assert_eq!(tenant.get("/s/short").status, 404);
    let statuses: Vec<u16> = (0..25)
        .map(|_| tenant.get("/s/BBBBBBBBBBBBBBBBBBBBBBBB").status)
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
}

#[test]
fn an_invoice_is_paid_through_stripe_checkout_and_recorded_once_from_the_signed_webhook() {
    let stripe = StandIn::start(
        200,
        r#"{"id":"cs_test_1","object":"checkout.session","url":"https://checkout.stripe.com/c/pay/cs_test_1"}"#,
    );
    let tenant = Tenant::spawn_with(Options {
        vars: vec![
            ("STRIPE_SECRET_KEY".to_owned(), "sk_test_local".to_owned()),
            ("STRIPE_API_BASE".to_owned(), stripe.base.clone()),
            (
                "STRIPE_WEBHOOK_SECRET".to_owned(),
                "whsec_test_secret".to_owned(),
            ),
        ],
        ..Options::default()
    });
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ada Lee");
    let made = owner.post(
        "/api/v1/invoices",
        &json!({ "customer_id": customer_id,
                 "lines": [{ "description": "Boiler service", "quantity_milli": 1000, "unit_price": 12_000 }] }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let invoice = format!("/api/v1/invoices/{id}");
    let issued = act(&owner, "POST", &format!("{invoice}/issue"), 1, None);
    assert_eq!(issued.status, 200, "{}", issued.body);
    let total = issued.json()["totals"]["total"].as_i64().unwrap();
    let token = share(&owner, &invoice);

    let page = tenant.get(&format!("/s/{token}"));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Balance due") && page.body.contains("by card"),
        "{}",
        page.body
    );

    let pay = submit(&tenant, &format!("/s/{token}/pay"), "");
    assert_eq!(pay.status, 303, "{}", pay.body);
    assert_eq!(
        pay.header("location"),
        Some("https://checkout.stripe.com/c/pay/cs_test_1")
    );
    let sessions = stripe.requests();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].path, "/v1/checkout/sessions");
    assert_eq!(
        sessions[0].header("authorization"),
        Some("Bearer sk_test_local")
    );
    assert_eq!(
        sessions[0].form("line_items[0][price_data][unit_amount]"),
        Some(total.to_string())
    );
    assert_eq!(
        sessions[0].form("metadata[invoice_id]").as_deref(),
        Some(id.as_str())
    );

    // Stripe confirms the payment; the event arrives twice, and once forged.
    let event = json!({
        "id": "evt_paid_1", "object": "event", "type": "checkout.session.completed",
        "data": { "object": { "id": "cs_test_1", "object": "checkout.session",
            "amount_total": total, "currency": "usd", "payment_status": "paid",
            "payment_intent": "pi_1", "client_reference_id": id, "metadata": { "invoice_id": id } } }
    })
    .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let signature =
        fieldworker::domain::signatures::stripe_sign("whsec_test_secret", now, event.as_bytes());
    let deliver = |signature: &str| {
        tenant
            .request("POST", "/webhooks/stripe")
            .header("Content-Type", "application/json")
            .header("Stripe-Signature", signature)
            .body(event.as_bytes().to_vec())
            .send()
    };
    assert_eq!(deliver("t=1,v1=00").status, 400);
    assert_eq!(deliver(&signature).status, 200);
    assert_eq!(deliver(&signature).status, 200);

    let paid = owner.get(&invoice).json();
    assert_eq!(paid["status"], "paid", "{paid}");
    let payments = paid["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{payments:?}");
    assert_eq!(payments[0]["method"], "card");
    assert_eq!(payments[0]["external_id"], "evt_paid_1");
    assert_eq!(payments[0]["reference"], "pi_1");
    let audit = owner
        .get("/api/v1/audit?action=invoice.payment_recorded")
        .json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 1);
    assert_eq!(audit["events"][0]["actor_kind"], "webhook");
    // Nothing is left to pay on the page.
    let settled = tenant.get(&format!("/s/{token}"));
    assert!(!settled.body.contains("by card"), "{}", settled.body);
}

#[test]
fn in_a_real_browser_the_customer_accepts_once_and_a_second_tab_is_refused() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ada <script>alert('x')</script> Lee");
    let line = |d: &str, price: i64, option: Option<&str>| json!({ "description": d, "quantity_milli": 1000, "unit_price": price, "option": option });
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer_id, "title": "Furnace service",
                 "lines": [line("Service call", 8_900, None),
                           line("Basic filter", 2_000, Some("Good")),
                           line("HEPA filter", 9_900, Some("Best"))] }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let quote = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    assert_eq!(
        act(&owner, "POST", &format!("{quote}/send"), 1, None).status,
        200
    );
    let token = share(&owner, &quote);

    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new(root.join("node_modules/.bin/node"))
        .arg(root.join("tests/browser/share.mjs"))
        .args([&tenant.base, &token])
        .current_dir(&root)
        .output()
        .expect("node runs the browser scenario");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "share.mjs failed:\n{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert_eq!(
        result["shown_name"], "Ada <script>alert('x')</script> Lee",
        "shown as text"
    );
    assert_eq!(result["second_status"], 409);
    let stored = owner.get(&quote).json();
    assert_eq!(stored["status"], "accepted");
    assert_eq!(stored["acceptance"]["option"], "Best", "{stored}");
    assert_eq!(
        owner.get("/api/v1/audit?action=quote.accepted").json()["events"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
