//! The D1 round trips of each route, held in one table: a read is one round trip (the
//! principal and the data in one batch), a write at most two (that read, then the write's own
//! batch). Counted where calls reach the D1 binding, by `src/personal.mjs` (`X-D1-Round-Trips`).

use serde_json::{json, Value};

use crate::people::*;
use crate::spawn::{Reply, Tenant};

fn trips(reply: &Reply) -> u32 {
    reply
        .header("x-d1-round-trips")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no round-trip count: {}", reply.body))
}

fn id_of(reply: &Reply) -> String {
    assert!(reply.status < 300, "{}: {}", reply.status, reply.body);
    reply.json()["id"].as_str().unwrap().to_owned()
}

#[test]
fn every_route_stays_within_its_round_trip_budget() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let token = owner
        .post("/api/v1/tokens", &json!({ "name": "trips" }))
        .json()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let call = |method: &str, path: &str, body: Option<Value>, version: Option<i64>| -> Reply {
        let mut call = tenant.request(method, path).bearer(&token);
        if let Some(v) = version {
            call = call.header("If-Match", &format!("\"{v}\""));
        }
        match body {
            Some(body) => call.json(&body).send(),
            None => call.send(),
        }
    };
    // Warm the token's once-a-minute last-use write out of the way.
    call("GET", "/api/v1/me", None, None);

    let customer = call(
        "POST",
        "/api/v1/customers",
        Some(json!({ "name": "Ann Lee", "phones": ["+14155550123"] })),
        None,
    );
    let customer_id = id_of(&customer);
    let site = call(
        "POST",
        &format!("/api/v1/customers/{customer_id}/sites"),
        Some(json!({ "line1": "1 Canal St" })),
        None,
    );
    let site_id = id_of(&site);
    let job = call(
        "POST",
        "/api/v1/jobs",
        Some(json!({ "customer_id": customer_id, "title": "Boiler" })),
        None,
    );
    let job_id = id_of(&job);
    let visits = call(
        "POST",
        &format!("/api/v1/jobs/{job_id}/visits"),
        Some(json!({ "start": "2026-12-10T09:00:00Z", "end": "2026-12-10T11:00:00Z" })),
        None,
    );
    assert_eq!(visits.status, 201, "{}", visits.body);
    let visit_id = visits.json()["visits"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let quote = call(
        "POST",
        "/api/v1/quotes",
        Some(json!({ "customer_id": customer_id, "title": "Boiler swap",
                     "lines": [{ "description": "Boiler", "quantity_milli": 1000, "unit_price": 250000 }] })),
        None,
    );
    let quote_id = id_of(&quote);
    let invoice = call(
        "POST",
        "/api/v1/invoices",
        Some(json!({ "customer_id": customer_id,
                     "lines": [{ "description": "Call-out", "quantity_milli": 1000, "unit_price": 9000 }] })),
        None,
    );
    let invoice_id = id_of(&invoice);

    // (what, the reply, the most round trips it may take)
    let uploaded = tenant
        .request(
            "POST",
            &format!("/api/v1/jobs/{job_id}/files?name=boiler.jpg"),
        )
        .bearer(&token)
        .body(crate::files::jpeg())
        .send();
    let file_id = uploaded.json()["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Erased at the end of the table: a customer of their own.
    let erased_id = id_of(&call(
        "POST",
        "/api/v1/customers",
        Some(json!({ "name": "Bo Erased", "emails": ["bo@example.com"] })),
        None,
    ));
    let table: Vec<(&str, Reply, u32)> = vec![
        ("POST /customers", customer, 2),
        ("POST /customers/{id}/sites", site, 2),
        ("POST /jobs", job, 3),
        ("POST /jobs/{id}/visits", visits, 2),
        ("GET /me", call("GET", "/api/v1/me", None, None), 1),
        (
            "GET /me/apps",
            call("GET", "/api/v1/me/apps", None, None),
            1,
        ),
        (
            "GET /customers",
            call("GET", "/api/v1/customers", None, None),
            2,
        ),
        (
            "GET /customers/{id}",
            call(
                "GET",
                &format!("/api/v1/customers/{customer_id}"),
                None,
                None,
            ),
            1,
        ),
        (
            "PATCH /customers/{id}",
            call(
                "PATCH",
                &format!("/api/v1/customers/{customer_id}"),
                Some(json!({ "notes": "gate code 1234" })),
                Some(1),
            ),
            2,
        ),
        (
            "POST /customers/{id}/messages",
            call(
                "POST",
                &format!("/api/v1/customers/{customer_id}/messages"),
                Some(json!({ "body": "Thursday at 9?" })),
                None,
            ),
            2,
        ),
        (
            "GET /customers/{id}/messages",
            call(
                "GET",
                &format!("/api/v1/customers/{customer_id}/messages"),
                None,
                None,
            ),
            1,
        ),
        (
            "PATCH /sites/{id}",
            call(
                "PATCH",
                &format!("/api/v1/sites/{site_id}"),
                Some(json!({ "label": "Home" })),
                Some(1),
            ),
            2,
        ),
        (
            "GET /jobs/{id}",
            call("GET", &format!("/api/v1/jobs/{job_id}"), None, None),
            1,
        ),
        (
            "GET /quotes/{id}",
            call("GET", &format!("/api/v1/quotes/{quote_id}"), None, None),
            1,
        ),
        (
            "GET /quotes/{id}/pdf",
            call("GET", &format!("/api/v1/quotes/{quote_id}/pdf"), None, None),
            1,
        ),
        (
            "POST /quotes/{id}/send",
            call(
                "POST",
                &format!("/api/v1/quotes/{quote_id}/send"),
                None,
                Some(1),
            ),
            2,
        ),
        (
            "POST /quotes/{id}/deliveries",
            call(
                "POST",
                &format!("/api/v1/quotes/{quote_id}/deliveries"),
                Some(json!({ "via": "preferred" })),
                None,
            ),
            2,
        ),
        (
            "GET /quotes/{id}/deliveries",
            call(
                "GET",
                &format!("/api/v1/quotes/{quote_id}/deliveries"),
                None,
                None,
            ),
            1,
        ),
        (
            "POST /jobs/{id}/on-my-way",
            call(
                "POST",
                &format!("/api/v1/jobs/{job_id}/on-my-way"),
                Some(json!({ "eta_minutes": 15 })),
                None,
            ),
            2,
        ),
        (
            "GET /invoices/{id}",
            call("GET", &format!("/api/v1/invoices/{invoice_id}"), None, None),
            1,
        ),
        (
            "GET /invoices/{id}/pdf",
            call(
                "GET",
                &format!("/api/v1/invoices/{invoice_id}/pdf"),
                None,
                None,
            ),
            1,
        ),
        (
            "DELETE /invoices/{id}",
            call(
                "DELETE",
                &format!("/api/v1/invoices/{invoice_id}"),
                None,
                Some(1),
            ),
            2,
        ),
        (
            "GET /jobs?status=",
            call("GET", "/api/v1/jobs?status=requested", None, None),
            1,
        ),
        (
            "PATCH /jobs/{id}",
            call(
                "PATCH",
                &format!("/api/v1/jobs/{job_id}"),
                Some(json!({ "title": "Boiler service" })),
                // Booking its visit scheduled the job (version 2).
                Some(2),
            ),
            2,
        ),
        (
            "POST /jobs/{id}/status",
            call(
                "POST",
                &format!("/api/v1/jobs/{job_id}/status"),
                Some(json!({ "status": "on_hold" })),
                Some(3),
            ),
            2,
        ),
        (
            "POST /jobs/{id}/notes",
            call(
                "POST",
                &format!("/api/v1/jobs/{job_id}/notes"),
                Some(json!({ "text": "Bring the long ladder." })),
                None,
            ),
            2,
        ),
        (
            "POST /visits/{id}/status",
            call(
                "POST",
                &format!("/api/v1/visits/{visit_id}/status"),
                Some(json!({ "status": "en_route" })),
                Some(1),
            ),
            2,
        ),
        (
            "PATCH /visits/{id}",
            call(
                "PATCH",
                &format!("/api/v1/visits/{visit_id}"),
                Some(json!({ "start": "2026-12-10T10:00:00Z", "end": "2026-12-10T12:00:00Z" })),
                Some(2),
            ),
            2,
        ),
        (
            "DELETE /visits/{id}",
            call(
                "DELETE",
                &format!("/api/v1/visits/{visit_id}"),
                None,
                Some(3),
            ),
            2,
        ),
        ("POST /jobs/{id}/files", uploaded, 2),
        (
            "GET /jobs/{id}/files",
            call("GET", &format!("/api/v1/jobs/{job_id}/files"), None, None),
            1,
        ),
        (
            "GET /files/{id}",
            call("GET", &format!("/api/v1/files/{file_id}"), None, None),
            1,
        ),
        (
            "GET /files/{id}/content",
            call(
                "GET",
                &format!("/api/v1/files/{file_id}/content"),
                None,
                None,
            ),
            1,
        ),
        (
            "DELETE /files/{id}",
            call("DELETE", &format!("/api/v1/files/{file_id}"), None, Some(1)),
            2,
        ),
        (
            "DELETE /customers/{id}",
            call(
                "DELETE",
                &format!("/api/v1/customers/{customer_id}"),
                None,
                Some(2),
            ),
            2,
        ),
        (
            "GET /customers/{id}/erasure",
            call(
                "GET",
                &format!("/api/v1/customers/{erased_id}/erasure"),
                None,
                None,
            ),
            1,
        ),
        (
            "POST /customers/{id}/erase",
            call(
                "POST",
                &format!("/api/v1/customers/{erased_id}/erase"),
                None,
                Some(1),
            ),
            2,
        ),
    ];
    let mut over = Vec::new();
    for (what, reply, budget) in &table {
        assert!(
            reply.status < 300,
            "{what}: {} {}",
            reply.status,
            reply.body
        );
        let took = trips(reply);
        if took > *budget {
            over.push(format!("{what}: {took} round trips, budget {budget}"));
        }
    }
    assert!(over.is_empty(), "over budget:\n{}", over.join("\n"));
}
