//! Invoices over the API: gapless numbers under concurrent issues, what may be deleted and
//! what only voided, payments and refunds by the account rules, credit notes, overdue by the
//! clock, and the company's billing defaults.

use serde_json::{json, Value};

use crate::people::*;
use crate::quotes::{act, customer, etag, fields, five_percent_tax, trips};
use crate::spawn::Tenant;

fn work(unit_price: i64) -> Value {
    json!([{ "description": "Work", "quantity_milli": 1000, "unit_price": unit_price }])
}

/// A draft for `customer_id` of one line at `unit_price`; returns its path.
fn draft(owner: &Browser<'_>, customer_id: &str, unit_price: i64) -> String {
    let made = owner.post(
        "/api/v1/invoices",
        &json!({ "customer_id": customer_id, "lines": work(unit_price) }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    format!("/api/v1/invoices/{}", made.json()["id"].as_str().unwrap())
}

/// Issues the draft at `path` (version 1) and returns the issued invoice.
fn issued(owner: &Browser<'_>, path: &str) -> Value {
    let reply = act(owner, "POST", &format!("{path}/issue"), 1, None);
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()
}

fn pay(owner: &Browser<'_>, path: &str, version: i64, body: Value) -> crate::spawn::Reply {
    act(
        owner,
        "POST",
        &format!("{path}/payments"),
        version,
        Some(body),
    )
}

#[test]
fn twenty_concurrent_issues_of_twenty_drafts_take_exactly_the_numbers_one_to_twenty() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let paths: Vec<String> = (0..20)
        .map(|i| draft(&owner, &customer_id, 1_000 + i))
        .collect();
    let replies: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let issuers: Vec<_> = paths
            .iter()
            .map(|path| {
                let owner = &owner;
                scope.spawn(move || {
                    let reply = act(owner, "POST", &format!("{path}/issue"), 1, None);
                    (
                        reply.status,
                        serde_json::from_str(&reply.body).unwrap_or(Value::Null),
                    )
                })
            })
            .collect();
        issuers.into_iter().map(|i| i.join().unwrap()).collect()
    });
    for (status, body) in &replies {
        assert_eq!(*status, 200, "{body}");
    }
    let mut numbers: Vec<String> = replies
        .iter()
        .map(|(_, body)| body["number"].as_str().unwrap().to_owned())
        .collect();
    numbers.sort();
    let expected: Vec<String> = (1..=20).map(|n| format!("INV-{n:04}")).collect();
    assert_eq!(numbers, expected);
    // What each answer said is what is stored, and each was audited once with its number.
    let audit = owner
        .get("/api/v1/audit?action=invoice.issued&limit=50")
        .json();
    let mut audited: Vec<String> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["after"]["number"].as_str().unwrap().to_owned())
        .collect();
    audited.sort();
    assert_eq!(audited, expected);
    for (path, (_, body)) in paths.iter().zip(&replies) {
        assert_eq!(owner.get(path).json()["number"], body["number"]);
    }
    assert_eq!(owner.get("/api/v1/audit/verify").json()["ok"], true);
    // The next one follows on.
    let next = draft(&owner, &customer_id, 5);
    assert_eq!(issued(&owner, &next)["number"], "INV-0021");
}

#[test]
fn drafts_are_deleted_but_issued_invoices_are_only_voided_and_only_while_they_keep_no_money() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let gone = draft(&owner, &customer_id, 1_000);
    act(&owner, "DELETE", &gone, 7, None).problem(409);
    owner.request("DELETE", &gone).send().problem(428);
    assert_eq!(act(&owner, "DELETE", &gone, 1, None).status, 204);
    owner.get(&gone).problem(404);

    let path = draft(&owner, &customer_id, 10_000);
    // A draft takes no payment and cannot be voided.
    pay(&owner, &path, 1, json!({ "amount": 100, "method": "cash" })).problem(409);
    act(&owner, "POST", &format!("{path}/void"), 1, None).problem(409);
    let invoice = issued(&owner, &path);
    assert_eq!(
        invoice["number"], "INV-0001",
        "the deleted draft used no number"
    );
    let deleted = act(&owner, "DELETE", &path, 2, None).problem(409);
    assert_eq!(deleted["current_status"], "issued");
    act(&owner, "PATCH", &path, 2, Some(json!({ "notes": "x" }))).problem(409);
    act(&owner, "POST", &format!("{path}/issue"), 2, None).problem(409);

    // Part paid: voiding is refused until the money goes back.
    let part = pay(
        &owner,
        &path,
        2,
        json!({ "amount": 4_000, "method": "cash" }),
    );
    assert_eq!(part.status, 201, "{}", part.body);
    let refused = act(&owner, "POST", &format!("{path}/void"), 3, None).problem(409);
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("refund"),
        "{refused}"
    );
    let back = pay(
        &owner,
        &path,
        3,
        json!({ "kind": "refund", "amount": 4_000, "method": "cash" }),
    );
    assert_eq!(back.json()["invoice"]["status"], "issued", "{}", back.body);
    let voided = act(&owner, "POST", &format!("{path}/void"), 4, None);
    assert_eq!(voided.status, 200, "{}", voided.body);
    let voided = voided.json();
    assert_eq!(
        (voided["status"].clone(), voided["number"].clone()),
        (json!("void"), json!("INV-0001"))
    );
    act(&owner, "DELETE", &path, 5, None).problem(409);
    pay(&owner, &path, 5, json!({ "amount": 100, "method": "cash" })).problem(409);
    act(&owner, "POST", &format!("{path}/void"), 5, None).problem(409);

    // Paid in full: reversed with a credit note, never voided.
    let paid_path = draft(&owner, &customer_id, 2_000);
    issued(&owner, &paid_path);
    let paid = pay(
        &owner,
        &paid_path,
        2,
        json!({ "amount": 2_000, "method": "card" }),
    );
    assert_eq!(paid.json()["invoice"]["status"], "paid");
    let refused = act(&owner, "POST", &format!("{paid_path}/void"), 3, None).problem(409);
    assert!(
        refused["detail"].as_str().unwrap().contains("credit note"),
        "{refused}"
    );
    let note = act(&owner, "POST", &format!("{paid_path}/credit-note"), 3, None);
    assert_eq!(note.status, 201, "{}", note.body);
    let note_json = note.json();
    assert_eq!(note_json["kind"], "credit_note");
    assert_eq!(note_json["number"], "CN-0001");
    assert_eq!(
        note_json["credit_note_for"],
        paid_path.rsplit('/').next().unwrap()
    );
    assert_eq!(note_json["totals"]["total"], 2_000);
    assert_eq!(note_json["notes"], "Reverses invoice INV-0002.");
    let original = owner.get(&paid_path);
    assert_eq!(original.json()["credit_note_id"], note_json["id"]);
    let again = act(
        &owner,
        "POST",
        &format!("{paid_path}/credit-note"),
        etag(&original),
        None,
    )
    .problem(409);
    assert_eq!(again["credit_note_id"], note_json["id"]);
    let note_path = format!("/api/v1/invoices/{}", note_json["id"].as_str().unwrap());
    let note_version = note_json["version"].as_i64().unwrap();
    pay(
        &owner,
        &note_path,
        note_version,
        json!({ "amount": 1, "method": "cash" }),
    )
    .problem(409);
    act(
        &owner,
        "POST",
        &format!("{note_path}/void"),
        note_version,
        None,
    )
    .problem(409);
    act(&owner, "DELETE", &note_path, note_version, None).problem(409);
    let notes = owner.get("/api/v1/invoices?kind=credit_note").json();
    assert_eq!(notes["invoices"].as_array().unwrap().len(), 1);
}

#[test]
fn payments_follow_the_account_rules_and_a_retried_payment_is_recorded_once() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let path = draft(&owner, &customer_id, 10_000);
    issued(&owner, &path);
    let cases: Vec<(Value, u16, Vec<&str>)> = vec![
        (
            json!({ "amount": 10_001, "method": "cash" }),
            422,
            vec!["amount"],
        ),
        (
            json!({ "amount": 0, "method": "cash" }),
            422,
            vec!["amount"],
        ),
        (
            json!({ "amount": 100, "method": "bitcoin" }),
            422,
            vec!["method"],
        ),
        (
            json!({ "amount": "100", "method": "cash" }),
            422,
            vec!["amount"],
        ),
        (
            json!({ "amount": 100, "method": "cash", "tip": 5 }),
            400,
            vec!["tip"],
        ),
        (
            json!({ "kind": "gift", "amount": 100, "method": "cash" }),
            422,
            vec!["kind"],
        ),
        (
            json!({ "kind": "refund", "amount": 1, "method": "cash" }),
            422,
            vec!["amount"],
        ),
    ];
    for (body, status, expected) in cases {
        let problem = pay(&owner, &path, 2, body.clone()).problem(status);
        assert_eq!(fields(&problem), expected, "{body}: {problem}");
    }
    let keyed = |key: &str, version: i64, amount: i64| {
        owner
            .request("POST", &format!("{path}/payments"))
            .header("If-Match", &format!("\"{version}\""))
            .header("Idempotency-Key", key)
            .json(&json!({ "amount": amount, "method": "check", "reference": "No. 1001" }))
            .send()
    };
    let first = keyed("pay-1", 2, 3_000);
    assert_eq!(first.status, 201, "{}", first.body);
    // The retry names the version it first sent; it gets the same payment, not a second one.
    let retry = keyed("pay-1", 2, 3_000);
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.json()["payment"]["id"], first.json()["payment"]["id"]);
    let read = owner.get(&path).json();
    assert_eq!(read["payments"].as_array().unwrap().len(), 1);
    assert_eq!(read["balance"], 7_000);
    // Another payment with the old version is a conflict carrying the current invoice.
    let stale = pay(&owner, &path, 2, json!({ "amount": 100, "method": "cash" })).problem(409);
    assert_eq!(stale["current"]["balance"], 7_000);
    assert_eq!(stale["current"]["version"], 3);
    owner
        .request("POST", &format!("{path}/payments"))
        .json(&json!({ "amount": 100, "method": "cash" }))
        .send()
        .problem(428);
}

#[test]
fn an_invoice_for_a_job_takes_the_jobs_customer_and_site_and_the_company_defaults() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    five_percent_tax(&owner);
    let version = etag(&owner.get("/api/v1/settings"));
    let bad = act(
        &owner,
        "PATCH",
        "/api/v1/settings",
        version,
        Some(
            json!({ "invoice_prefix": "INV 2026", "payment_terms_days": 400,
                     "rounding": "sideways", "brand_color": "blue",
                     "default_tax_rate_ppm": 1_000_001 }),
        ),
    )
    .problem(422);
    assert_eq!(
        fields(&bad),
        [
            "default_tax_rate_ppm",
            "rounding",
            "invoice_prefix",
            "payment_terms_days",
            "brand_color"
        ]
    );
    let set = act(
        &owner,
        "PATCH",
        "/api/v1/settings",
        version,
        Some(json!({ "invoice_prefix": "2026/", "payment_terms_days": 14,
                     "brand_color": "#C0FFEE", "rounding": "per_document" })),
    );
    assert_eq!(set.status, 200, "{}", set.body);
    let settings = set.json();
    assert_eq!(settings["brand_color"], "#c0ffee");
    assert_eq!(settings["default_tax_rate_ppm"], 50_000);

    let (customer_id, _) = customer(&owner, "Ann Lee");
    let site = owner.post(
        &format!("/api/v1/customers/{customer_id}/sites"),
        &json!({ "line1": "9 Dock Rd" }),
    );
    let site_id = site.json()["id"].as_str().unwrap().to_owned();
    let job = owner.post(
        "/api/v1/jobs",
        &json!({ "customer_id": customer_id, "site_id": site_id, "title": "Leak" }),
    );
    let job_id = job.json()["id"].as_str().unwrap().to_owned();
    let made = owner.post(
        "/api/v1/invoices",
        &json!({ "job_id": job_id,
                 "lines": [{ "description": "Labour", "quantity_milli": 1500, "unit_price": 8_000 },
                           { "description": "Seal", "quantity_milli": 1000, "unit_price": 333,
                             "tax_rate_ppm": 0 }] }),
    );
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(
        trips(&made),
        3,
        "POST invoice: the user, one read, one write"
    );
    let invoice = made.json();
    assert_eq!(
        (
            invoice["customer_id"].clone(),
            invoice["site_id"].clone(),
            invoice["job_id"].clone()
        ),
        (json!(customer_id), json!(site_id), json!(job_id))
    );
    assert_eq!(invoice["rounding"], "per_document");
    assert_eq!(invoice["payment_terms_days"], 14);
    // 1.5 h at 80.00 is 120.00 with 5% (6.00); the seal 3.33 untaxed.
    assert_eq!(invoice["totals"]["total"], 12_000 + 600 + 333);
    assert_eq!(invoice["lines"][0]["tax_rate_ppm"], 50_000);
    let listed = owner.get(&format!("/api/v1/invoices?job={job_id}")).json();
    assert_eq!(listed["invoices"].as_array().unwrap().len(), 1);
    owner
        .post(
            "/api/v1/invoices",
            &json!({ "job_id": job_id, "customer_id": "someone-else" }),
        )
        .problem(422);
    let lines_with_options = owner
        .post(
            "/api/v1/invoices",
            &json!({ "customer_id": customer_id,
                     "lines": [{ "description": "x", "quantity_milli": 1000, "unit_price": 1,
                                 "option": "Best" }] }),
        )
        .problem(422);
    assert_eq!(fields(&lines_with_options), ["lines[0].option"]);

    let path = format!("/api/v1/invoices/{}", invoice["id"].as_str().unwrap());
    let changed = act(
        &owner,
        "PATCH",
        &path,
        1,
        Some(json!({ "payment_terms_days": 7, "deposit": 1_000 })),
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    let out = act(&owner, "POST", &format!("{path}/issue"), 2, None);
    assert_eq!(out.status, 200, "{}", out.body);
    let out = out.json();
    assert_eq!(out["number"], "2026/0001");
    assert_eq!(out["due_now"], 1_000, "the deposit first");
    // A week and a day later it is overdue, and listed so; paying it all makes it paid.
    advance_clock(&tenant, 8 * 24 * 60 * MINUTE);
    // Sessions last hours, not days: sign in again.
    let owner = sign_in(&tenant, OWNER_EMAIL, OWNER_PASSWORD);
    assert_eq!(owner.get(&path).json()["status"], "overdue");
    let overdue = owner.get("/api/v1/invoices?status=overdue").json();
    assert_eq!(overdue["invoices"][0]["id"], invoice["id"]);
    let paid = pay(
        &owner,
        &path,
        3,
        json!({ "amount": 12_933, "method": "bank" }),
    );
    assert_eq!(paid.json()["invoice"]["status"], "paid", "{}", paid.body);
    assert!(
        owner.get("/api/v1/invoices?status=overdue").json()["invoices"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
