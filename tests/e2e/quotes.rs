//! Quotes over the API: options, sending, acceptance recorded by staff, conversion into a job
//! and a draft invoice, and the invoice's life after it; bad input, stale versions, roles.

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Reply, Tenant};

/// A customer with a primary site; returns (customer id, site id).
pub(crate) fn customer(owner: &Browser<'_>, name: &str) -> (String, String) {
    let made = owner.post("/api/v1/customers", &json!({ "name": name }));
    assert_eq!(made.status, 201, "{}", made.body);
    let id = made.json()["id"].as_str().unwrap().to_owned();
    let site = owner.post(
        &format!("/api/v1/customers/{id}/sites"),
        &json!({ "line1": "1 Canal St" }),
    );
    assert_eq!(site.status, 201, "{}", site.body);
    (id, site.json()["id"].as_str().unwrap().to_owned())
}

/// A versioned call: `If-Match` with `version`, and a JSON body when given.
pub(crate) fn act(
    browser: &Browser<'_>,
    method: &str,
    path: &str,
    version: i64,
    body: Option<Value>,
) -> Reply {
    let call = browser
        .request(method, path)
        .header("If-Match", &format!("\"{version}\""));
    match body {
        Some(body) => call.json(&body).send(),
        None => call.send(),
    }
}

/// The version a response's `ETag` names.
pub(crate) fn etag(reply: &Reply) -> i64 {
    reply
        .header("etag")
        .and_then(|t| t.trim_matches('"').parse().ok())
        .unwrap_or_else(|| panic!("no ETag: {} {}", reply.status, reply.body))
}

pub(crate) fn trips(reply: &Reply) -> u32 {
    reply
        .header("x-d1-round-trips")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no round-trip count: {}", reply.body))
}

/// The field names of a problem's `errors`.
pub(crate) fn fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn line(description: &str, unit_price: i64, option: Option<&str>, optional: bool) -> Value {
    json!({ "description": description, "quantity_milli": 1000, "unit_price": unit_price,
            "option": option, "optional": optional })
}

/// A furnace service with good/better/best filters and two extras, a 25% deposit; the lines
/// carry no tax rate, so they take the company's default.
fn furnace_quote(customer_id: &str) -> Value {
    json!({
        "customer_id": customer_id,
        "title": "Furnace service",
        "lines": [
            line("Service call", 8_900, None, false),
            line("Basic filter", 2_000, Some("Good"), false),
            line("Pleated filter", 4_500, Some("Better"), false),
            line("HEPA filter", 9_900, Some("Best"), false),
            line("Duct cleaning", 15_000, None, true),
            line("UV lamp", 30_000, Some("Best"), true),
        ],
        "notes": "Parts in stock.",
        "terms": "Payment due within 30 days.",
        "deposit": { "percent_ppm": 250_000 },
    })
}

/// The company charges 5% tax by default.
pub(crate) fn five_percent_tax(owner: &Browser<'_>) {
    let version = etag(&owner.get("/api/v1/settings"));
    let set = act(
        owner,
        "PATCH",
        "/api/v1/settings",
        version,
        Some(json!({ "default_tax_rate_ppm": 50_000 })),
    );
    assert_eq!(set.status, 200, "{}", set.body);
}

#[test]
fn a_quote_with_options_is_accepted_once_converted_invoiced_paid_and_refunded() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    five_percent_tax(&owner);
    let (customer_id, site_id) = customer(&owner, "Ann Lee");

    let made = owner.post("/api/v1/quotes", &furnace_quote(&customer_id));
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(trips(&made), 3, "POST quote: the user, one read, one write");
    let quote = made.json();
    let id = quote["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/quotes/{id}");
    assert_eq!(made.header("location"), Some(path.as_str()));
    assert_eq!(quote["number"], 1);
    assert_eq!(quote["status"], "draft");
    assert_eq!(quote["site_id"], site_id.as_str(), "the primary site");
    assert_eq!(
        quote["lines"][0]["tax_rate_ppm"], 50_000,
        "the company default"
    );
    assert_eq!(quote["options"], json!(["Good", "Better", "Best"]));
    let priced: Vec<(Value, Value, Value)> = quote["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["option"].clone(),
                t["total"].clone(),
                t["deposit"].clone(),
            )
        })
        .collect();
    assert_eq!(
        priced,
        [
            (json!("Good"), json!(11_445), json!(2_861)),
            (json!("Better"), json!(14_070), json!(3_518)),
            (json!("Best"), json!(19_740), json!(4_935)),
        ]
    );

    // Sent, then accepted by phone: Best with the duct cleaning.
    let sent = act(&owner, "POST", &format!("{path}/send"), etag(&made), None);
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(sent.json()["status"], "sent");
    let edit = act(
        &owner,
        "PATCH",
        &path,
        etag(&sent),
        Some(json!({ "title": "x" })),
    );
    assert_eq!(edit.problem(409)["current_status"], "sent");
    let acceptance = json!({ "option": "Best", "optional_lines": [4], "signer_name": " Ada Lee " });
    let accepted = act(
        &owner,
        "POST",
        &format!("{path}/accept"),
        etag(&sent),
        Some(acceptance.clone()),
    );
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    // The signer is sealed under the customer's data key: the sealing layer reads that key
    // once when this isolate has not used it lately (here, the first time it is used at all).
    assert!(
        (2..=3).contains(&trips(&accepted)),
        "POST accept: the user with the quote, then one write (and the data key's read): {}",
        trips(&accepted)
    );
    let taken = accepted.json()["acceptance"].clone();
    assert_eq!(taken["signer_name"], "Ada Lee");
    assert_eq!(taken["option"], "Best");
    assert_eq!(taken["optional_lines"], json!([4]));
    // 19740 + duct cleaning 15750; a quarter of 35490 is 8872.5, rounded half-up.
    assert_eq!(
        (taken["total"].clone(), taken["deposit"].clone()),
        (json!(35_490), json!(8_873))
    );
    assert_eq!(taken["totals"]["total"], 35_490);
    assert_eq!(taken["recorded_by"], owner.user["id"]);
    assert_eq!(accepted.json()["status"], "accepted");
    // A second acceptance, with the current version, is refused: accepted is final.
    let again = act(
        &owner,
        "POST",
        &format!("{path}/accept"),
        etag(&accepted),
        Some(acceptance),
    )
    .problem(409);
    assert_eq!(again["current_status"], "accepted");
    assert_eq!(again["allowed"], json!([]));

    // Converted: a job at the quote's site and a draft invoice with the chosen lines.
    let converted = act(
        &owner,
        "POST",
        &format!("{path}/convert"),
        etag(&accepted),
        None,
    );
    assert_eq!(converted.status, 201, "{}", converted.body);
    assert_eq!(
        trips(&converted),
        3,
        "POST convert: the user, one read, one write"
    );
    let result = converted.json();
    assert_eq!(result["job_created"], true);
    let job_id = result["job_id"].as_str().unwrap();
    let invoice = &result["invoice"];
    let invoice_path = format!("/api/v1/invoices/{}", invoice["id"].as_str().unwrap());
    assert_eq!(converted.header("location"), Some(invoice_path.as_str()));
    assert_eq!(result["quote"]["invoice_id"], invoice["id"]);
    assert_eq!(result["quote"]["job_id"], job_id);
    let job = owner.get(&format!("/api/v1/jobs/{job_id}")).json();
    assert_eq!(
        (
            job["status"].clone(),
            job["site_id"].clone(),
            job["title"].clone()
        ),
        (json!("requested"), json!(site_id), json!("Furnace service"))
    );
    assert_eq!(invoice["status"], "draft");
    assert_eq!(invoice["number"], Value::Null);
    assert_eq!(invoice["quote_id"], id.as_str());
    assert_eq!(invoice["job_id"], job_id);
    let names: Vec<&str> = invoice["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["description"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Service call", "HEPA filter", "Duct cleaning"]);
    assert_eq!(invoice["totals"]["total"], 35_490);
    assert_eq!(invoice["deposit"], 8_873);
    assert_eq!(invoice["notes"], "Parts in stock.");
    assert_eq!(invoice["terms"], "Payment due within 30 days.");
    assert_eq!(invoice["payment_terms_days"], 30);
    let quote_version = result["quote"]["version"].as_i64().unwrap();
    let twice = act(
        &owner,
        "POST",
        &format!("{path}/convert"),
        quote_version,
        None,
    )
    .problem(409);
    assert_eq!(twice["invoice_id"], invoice["id"]);

    // Issued: the first number.
    let issued = act(
        &owner,
        "POST",
        &format!("{invoice_path}/issue"),
        invoice["version"].as_i64().unwrap(),
        None,
    );
    assert_eq!(issued.status, 200, "{}", issued.body);
    assert_eq!(
        trips(&issued),
        3,
        "POST issue: the user, one read, one write"
    );
    let issued_json = issued.json();
    assert_eq!(issued_json["number"], "INV-0001");
    assert_eq!(issued_json["status"], "issued");
    assert_eq!(issued_json["due_now"], 8_873, "the deposit first");

    let pay = |version: i64, body: Value| {
        act(
            &owner,
            "POST",
            &format!("{invoice_path}/payments"),
            version,
            Some(body),
        )
    };
    let deposit = pay(
        etag(&issued),
        json!({ "amount": 8_873, "method": "card", "reference": "auth 1234" }),
    );
    assert_eq!(deposit.status, 201, "{}", deposit.body);
    assert_eq!(
        trips(&deposit),
        3,
        "POST payment: the user, one read, one write"
    );
    let after_deposit = deposit.json()["invoice"].clone();
    assert_eq!(after_deposit["status"], "partially_paid");
    assert_eq!(after_deposit["balance"], 35_490 - 8_873);
    assert_eq!(deposit.json()["payment"]["reference"], "auth 1234");
    let rest = pay(
        etag(&deposit),
        json!({ "amount": 26_617, "method": "bank" }),
    );
    assert_eq!(rest.status, 201, "{}", rest.body);
    let paid = rest.json()["invoice"].clone();
    assert_eq!(
        (paid["status"].clone(), paid["balance"].clone()),
        (json!("paid"), json!(0))
    );
    pay(etag(&rest), json!({ "amount": 1, "method": "cash" })).problem(409);
    let refund = pay(
        etag(&rest),
        json!({ "kind": "refund", "amount": 5_000, "method": "card" }),
    );
    assert_eq!(refund.status, 201, "{}", refund.body);
    let refunded = refund.json()["invoice"].clone();
    assert_eq!(refunded["status"], "partially_paid");
    assert_eq!(
        (
            refunded["paid"].clone(),
            refunded["refunded"].clone(),
            refunded["balance"].clone()
        ),
        (json!(35_490), json!(5_000), json!(5_000))
    );
    let read = owner.get(&invoice_path);
    assert_eq!(
        trips(&read),
        1,
        "GET invoice: the user, the invoice and its payments in one batch"
    );
    let payments: Vec<(Value, Value)> = read.json()["payments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["kind"].clone(), p["amount"].clone()))
        .collect();
    assert_eq!(
        payments,
        [
            (json!("payment"), json!(8_873)),
            (json!("payment"), json!(26_617)),
            (json!("refund"), json!(5_000)),
        ]
    );

    // Every step is in the audit trail, whose chain still verifies.
    let audit = owner.get(&format!("/api/v1/audit?entity_id={id}")).json();
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "quote.converted",
            "quote.accepted",
            "quote.sent",
            "quote.created"
        ]
    );
    let invoice_id = invoice["id"].as_str().unwrap();
    let audit = owner
        .get(&format!("/api/v1/audit?entity_id={invoice_id}"))
        .json();
    let actions: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "invoice.refund_recorded",
            "invoice.payment_recorded",
            "invoice.payment_recorded",
            "invoice.issued",
            "invoice.created"
        ]
    );
    // The job the conversion made starts its own trail there, naming the quote.
    let created = owner
        .get(&format!("/api/v1/audit?entity_id={job_id}"))
        .json();
    let first = &created["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(first["action"], "job.created", "{created}");
    assert_eq!(first["after"]["from_quote"], id, "{first}");
    assert_eq!(audit["events"][3]["after"]["number"], "INV-0001");
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
    let quote_read = owner.get(&path);
    assert_eq!(
        trips(&quote_read),
        1,
        "GET quote: the user and the quote in one batch"
    );
}

#[test]
fn bad_quote_input_is_refused_naming_each_field() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let post = |body: Value| owner.post("/api/v1/quotes", &body);
    let good = |extra: Value| {
        let mut body = json!({ "customer_id": customer_id, "title": "Boiler",
            "lines": [{ "description": "Boiler", "quantity_milli": 1000, "unit_price": 250_000 }] });
        for (key, value) in extra.as_object().unwrap() {
            body[key] = value.clone();
        }
        body
    };
    assert_eq!(post(good(json!({}))).status, 201);

    let cases: Vec<(&str, Value, u16, Vec<&str>)> = vec![
        (
            "an unknown field",
            good(json!({ "colour": "red" })),
            400,
            vec!["colour"],
        ),
        (
            "a currency on the quote",
            good(json!({ "currency": "EUR" })),
            400,
            vec!["currency"],
        ),
        (
            "an unknown line field",
            good(
                json!({ "lines": [{ "description": "x", "quantity_milli": 1000,
                                     "unit_price": 1, "price": 5 }] }),
            ),
            422,
            vec!["lines[0].price"],
        ),
        (
            "wrong types",
            good(
                json!({ "title": 5, "lines": [{ "description": "x", "quantity_milli": "ten",
                                                  "unit_price": 1.5 }] }),
            ),
            422,
            vec!["title", "lines[0].quantity_milli", "lines[0].unit_price"],
        ),
        (
            "a negative quantity",
            good(
                json!({ "lines": [{ "description": "x", "quantity_milli": -1000,
                                     "unit_price": 100 }] }),
            ),
            422,
            vec!["lines[0].quantity_milli"],
        ),
        (
            "a 101% discount",
            good(
                json!({ "lines": [{ "description": "x", "quantity_milli": 1000,
                                     "unit_price": 100,
                                     "discount": { "percent_ppm": 1_010_000 } }] }),
            ),
            422,
            vec!["lines[0].discount"],
        ),
        (
            "a deposit above the cheapest choice",
            good(json!({ "deposit": { "amount": 250_001 } })),
            422,
            vec!["deposit"],
        ),
        (
            "no title",
            json!({ "customer_id": customer_id }),
            422,
            vec!["title"],
        ),
        (
            "no customer",
            json!({ "title": "Boiler" }),
            422,
            vec!["customer_id"],
        ),
        (
            "an unknown customer",
            good(json!({ "customer_id": "nobody" })),
            422,
            vec!["customer_id"],
        ),
        (
            "an unknown site",
            good(json!({ "site_id": "nowhere" })),
            422,
            vec!["site_id"],
        ),
        (
            "a past validity",
            good(json!({ "valid_until": "2001-01-01T00:00:00Z" })),
            422,
            vec!["valid_until"],
        ),
    ];
    for (name, body, status, expected) in cases {
        let problem = post(body).problem(status);
        assert_eq!(fields(&problem), expected, "{name}: {problem}");
    }
    owner
        .request("POST", "/api/v1/quotes")
        .body(b"{}".to_vec())
        .send()
        .problem(415);

    // The company currency is one documents can be priced in.
    let version = etag(&owner.get("/api/v1/settings"));
    for currency in ["XXX", "usd"] {
        let refused = act(
            &owner,
            "PATCH",
            "/api/v1/settings",
            version,
            Some(json!({ "currency": currency })),
        )
        .problem(422);
        assert_eq!(fields(&refused), ["currency"], "{currency}");
    }
    let listed = owner.get("/api/v1/quotes").json();
    assert_eq!(
        listed["quotes"].as_array().unwrap().len(),
        1,
        "nothing else was made"
    );
}

#[test]
fn a_stale_version_gets_the_current_quote_and_a_missing_one_is_required() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer_id, "title": "Boiler" }),
    );
    let path = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    let changed = act(
        &owner,
        "PATCH",
        &path,
        1,
        Some(json!({ "title": "New boiler" })),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(etag(&changed), 2);
    let stale = act(
        &owner,
        "PATCH",
        &path,
        1,
        Some(json!({ "title": "Old tab" })),
    )
    .problem(409);
    assert_eq!(stale["current"]["title"], "New boiler");
    assert_eq!(stale["current"]["version"], 2);
    owner
        .request("PATCH", &path)
        .json(&json!({ "title": "x" }))
        .send()
        .problem(428);
    owner
        .request("POST", &format!("{path}/send"))
        .send()
        .problem(428);
    act(&owner, "POST", &format!("{path}/send"), 1, None).problem(409);
    // A quote without lines is not sent.
    let empty = act(&owner, "POST", &format!("{path}/send"), 2, None).problem(422);
    assert_eq!(fields(&empty), ["lines"]);
    act(
        &owner,
        "POST",
        &format!("{path}/accept"),
        2,
        Some(json!({ "signer_name": "Ada" })),
    )
    .problem(409);
    act(&owner, "POST", &format!("{path}/convert"), 2, None).problem(409);
    // A draft never sent can be deleted; then it is gone.
    assert_eq!(act(&owner, "DELETE", &path, 2, None).status, 204);
    owner.get(&path).problem(404);
}

#[test]
fn a_sent_quote_expires_by_itself_is_listed_by_shown_status_and_is_revised_to_change() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (ann, _) = customer(&owner, "Ann Lee");
    let (bo, _) = customer(&owner, "Bo Chen");
    let mut ids = Vec::new();
    for (i, customer) in [&ann, &bo, &ann].iter().enumerate() {
        let made = owner.post(
            "/api/v1/quotes",
            &json!({ "customer_id": customer, "title": format!("Quote {i}"),
                     "lines": [{ "description": "Work", "quantity_milli": 1000, "unit_price": 100 }],
                     "valid_until": "2099-01-01T00:00:00Z" }),
        );
        assert_eq!(made.status, 201, "{}", made.body);
        ids.push(made.json()["id"].as_str().unwrap().to_owned());
    }
    let short = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": ann, "title": "Short-lived",
                 "lines": [{ "description": "Work", "quantity_milli": 1000, "unit_price": 100 }] }),
    );
    let short_path = format!("/api/v1/quotes/{}", short.json()["id"].as_str().unwrap());
    let sent = act(&owner, "POST", &format!("{short_path}/send"), 1, None);
    assert_eq!(sent.status, 200, "{}", sent.body);
    let titles = |reply: Reply| -> Vec<String> {
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["quotes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["title"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        titles(owner.get("/api/v1/quotes?status=sent")),
        ["Short-lived"]
    );
    let page = owner.get("/api/v1/quotes?limit=2").json();
    assert_eq!(page["quotes"].as_array().unwrap().len(), 2);
    let cursor = page["next_cursor"].as_str().unwrap();
    assert_eq!(
        titles(owner.get(&format!("/api/v1/quotes?limit=2&cursor={cursor}"))),
        ["Quote 1", "Quote 0"]
    );
    assert_eq!(
        titles(owner.get(&format!("/api/v1/quotes?customer={bo}"))),
        ["Quote 1"]
    );

    // 31 days on, the sent quote shows as expired and cannot be accepted.
    advance_clock(&tenant, 31 * 24 * 60 * MINUTE);
    // Sessions last hours, not weeks: sign in again.
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(
        titles(owner.get("/api/v1/quotes?status=expired")),
        ["Short-lived"]
    );
    assert!(titles(owner.get("/api/v1/quotes?status=sent")).is_empty());
    let late = act(
        &owner,
        "POST",
        &format!("{short_path}/accept"),
        2,
        Some(json!({ "signer_name": "Ada" })),
    )
    .problem(409);
    assert_eq!(late["current_status"], "expired");
    // Revised back to a draft, given a new date, and sent again.
    let revised = act(&owner, "POST", &format!("{short_path}/revise"), 2, None);
    assert_eq!(revised.json()["status"], "draft", "{}", revised.body);
    act(&owner, "POST", &format!("{short_path}/send"), 3, None).problem(422);
    let redated = act(
        &owner,
        "PATCH",
        &short_path,
        3,
        Some(json!({ "valid_until": "2099-06-01T00:00:00Z" })),
    );
    assert_eq!(redated.status, 200, "{}", redated.body);
    let resent = act(&owner, "POST", &format!("{short_path}/send"), 4, None);
    assert_eq!(resent.json()["status"], "sent");
    // Once sent, a quote is not deleted: it is declined.
    act(&owner, "DELETE", &short_path, 5, None).problem(409);
    let declined = act(&owner, "POST", &format!("{short_path}/decline"), 5, None);
    assert_eq!(declined.json()["status"], "declined");
    for (query, code) in [
        ("status=done", 422),
        ("cursor=x", 422),
        ("limit=0", 422),
        ("order=asc", 400),
    ] {
        owner.get(&format!("/api/v1/quotes?{query}")).problem(code);
    }
}

#[test]
fn viewers_read_money_but_change_nothing_and_technicians_see_none_of_it() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let viewer = member(
        &owner,
        "vic@acme-heating.example",
        "viewer",
        "looking-not-touching-5",
    );
    let theo = member(
        &owner,
        "theo@acme-heating.example",
        "technician",
        "wrench-and-solder-77",
    );
    let dee = member(
        &owner,
        "dee@acme-heating.example",
        "dispatcher",
        "schedule-the-boilers-9",
    );
    let (customer_id, _) = customer(&owner, "Ann Lee");
    // Dispatchers write quotes and invoices.
    let made = dee.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer_id, "title": "Boiler" }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let path = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    let invoice = dee.post("/api/v1/invoices", &json!({ "customer_id": customer_id }));
    assert_eq!(invoice.status, 201, "{}", invoice.body);
    let invoice_path = format!(
        "/api/v1/invoices/{}",
        invoice.json()["id"].as_str().unwrap()
    );

    assert_eq!(viewer.get(&path).status, 200);
    assert_eq!(viewer.get("/api/v1/quotes").status, 200);
    assert_eq!(viewer.get(&invoice_path).status, 200);
    assert_eq!(viewer.get("/api/v1/invoices").status, 200);
    act(&viewer, "PATCH", &path, 1, Some(json!({ "title": "x" }))).problem(403);
    act(&viewer, "POST", &format!("{path}/send"), 1, None).problem(403);
    viewer
        .post(
            "/api/v1/quotes",
            &json!({ "customer_id": customer_id, "title": "x" }),
        )
        .problem(403);
    act(&viewer, "POST", &format!("{invoice_path}/issue"), 1, None).problem(403);

    for reply in [
        theo.get(&path),
        theo.get("/api/v1/quotes"),
        theo.get(&invoice_path),
        theo.get("/api/v1/invoices"),
        theo.post(
            "/api/v1/quotes",
            &json!({ "customer_id": customer_id, "title": "x" }),
        ),
        act(
            &theo,
            "POST",
            &format!("{invoice_path}/payments"),
            1,
            Some(json!({ "amount": 1, "method": "cash" })),
        ),
    ] {
        let problem = reply.problem(403);
        assert!(
            problem["detail"].as_str().unwrap().contains("technician"),
            "{problem}"
        );
    }
    let me = theo.get("/api/v1/me").json();
    assert!(!me["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("view_money")));
}

#[test]
fn a_retried_create_with_the_same_idempotency_key_makes_one_quote() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let body = json!({ "customer_id": customer_id, "title": "Boiler" });
    let send = |key: &str, body: &Value| {
        owner
            .request("POST", "/api/v1/quotes")
            .header("Idempotency-Key", key)
            .json(body)
            .send()
    };
    let first = send("quote-1", &body);
    assert_eq!(first.status, 201, "{}", first.body);
    let again = send("quote-1", &body);
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.json()["id"], first.json()["id"]);
    send(
        "quote-1",
        &json!({ "customer_id": customer_id, "title": "Other" }),
    )
    .problem(422);
    let listed = owner.get("/api/v1/quotes").json();
    assert_eq!(listed["quotes"].as_array().unwrap().len(), 1);
    let second = send("quote-2", &body);
    assert_eq!(second.json()["number"], 2, "numbers follow the counter");
}

#[test]
fn a_preview_prices_an_edit_as_the_save_would_and_stores_nothing() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ada");
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer_id, "title": "Boiler" }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    let path = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    let lines = json!([
        { "description": "Call-out", "quantity_milli": 1500, "unit_price": 9_000, "tax_rate_ppm": 130_000 },
        { "description": "Valve", "quantity_milli": 1000, "unit_price": 2_000, "tax_rate_ppm": 130_000,
          "option": "Good", "discount": { "percent_ppm": 100_000 } },
    ]);
    let priced = owner.post(
        &format!("{path}/preview"),
        &json!({ "lines": lines, "deposit": { "percent_ppm": 250_000 } }),
    );
    assert_eq!(priced.status, 200, "{}", priced.body);
    assert_eq!(trips(&priced), 2, "the user, then the quote and settings");
    let view = priced.json();
    // 13 500 + (2 000 − 200) = 15 300, tax 1 755 + 234 = 1 989; a quarter of 17 289 is 4 322.
    assert_eq!(view["totals"][0]["option"], "Good");
    assert_eq!(view["totals"][0]["total"], 17_289, "{view}");
    assert_eq!(view["totals"][0]["deposit"], 4_322);
    assert_eq!(view["line_amounts"][1]["net"], 1_800);
    // The same body saved gives the same totals; the preview itself changed nothing.
    let stored = owner.get(&path).json();
    assert_eq!(
        (stored["version"].clone(), stored["lines"].clone()),
        (json!(1), json!([]))
    );
    let saved = act(
        &owner,
        "PATCH",
        &path,
        1,
        Some(json!({ "lines": lines, "deposit": { "percent_ppm": 250_000 } })),
    );
    assert_eq!(saved.status, 200, "{}", saved.body);
    assert_eq!(saved.json()["totals"], view["totals"]);

    // Bad input is refused as the PATCH refuses it, naming each field.
    let bad = owner.post(
        &format!("{path}/preview"),
        &json!({ "lines": [{ "description": "", "quantity_milli": 1000, "unit_price": -1 }] }),
    );
    let problem = bad.problem(422);
    assert!(
        fields(&problem).iter().any(|f| f == "lines[0].description"),
        "{problem}"
    );
    let unknown = owner
        .post(&format!("{path}/preview"), &json!({ "colour": "red" }))
        .problem(400);
    assert_eq!(fields(&unknown), ["colour"]);
    owner
        .request("POST", &format!("{path}/preview"))
        .header("Content-Type", "application/json")
        .body(b"{\"lines\": [".to_vec())
        .send()
        .problem(400);
    owner
        .post("/api/v1/quotes/no-such-quote/preview", &json!({}))
        .problem(404);

    // An invoice's preview: its totals and payment terms, checked the same way.
    let invoice = owner.post("/api/v1/invoices", &json!({ "customer_id": customer_id }));
    assert_eq!(invoice.status, 201, "{}", invoice.body);
    let invoice_path = format!(
        "/api/v1/invoices/{}",
        invoice.json()["id"].as_str().unwrap()
    );
    let priced = owner.post(
        &format!("{invoice_path}/preview"),
        &json!({ "lines": [lines[0]], "payment_terms_days": 30 }),
    );
    assert_eq!(priced.status, 200, "{}", priced.body);
    assert_eq!(priced.json()["totals"]["total"], 15_255, "{}", priced.body);
    assert_eq!(priced.json()["payment_terms_days"], 30);
    assert_eq!(owner.get(&invoice_path).json()["version"], 1);
    owner
        .post(
            &format!("{invoice_path}/preview"),
            &json!({ "payment_terms_days": 9_999 }),
        )
        .problem(422);
}
