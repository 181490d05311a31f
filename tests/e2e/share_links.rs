//! Share links' REST side: made for a sent quote or an issued invoice, answered once with a
//! 24-character token, never written to the audit trail, revoked with the version read.

use serde_json::json;

use crate::people::*;
use crate::quotes::{act, customer, fields};
use crate::spawn::Tenant;

#[test]
fn a_link_is_made_for_a_sent_quote_or_an_issued_invoice_and_revoked_once() {
    let tenant = Tenant::spawn();
    let owner = owner(&tenant);
    let (customer_id, _) = customer(&owner, "Ann Lee");
    let made = owner.post(
        "/api/v1/quotes",
        &json!({ "customer_id": customer_id, "title": "Boiler",
                 "lines": [{ "description": "Boiler", "quantity_milli": 1000, "unit_price": 250_000 }] }),
    );
    let quote = format!("/api/v1/quotes/{}", made.json()["id"].as_str().unwrap());
    let share = |path: &str| owner.request("POST", &format!("{path}/share")).send();
    let draft = share(&quote).problem(409);
    assert_eq!(draft["current_status"], "draft");
    assert_eq!(
        act(&owner, "POST", &format!("{quote}/send"), 1, None).status,
        200
    );

    let link = share(&quote);
    assert_eq!(link.status, 201, "{}", link.body);
    let link = link.json();
    let token = link["token"].as_str().unwrap();
    assert_eq!(token.len(), 24);
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric()), "{token}");
    assert_eq!(link["url"], format!("/s/{token}"));
    assert_eq!(link["document_kind"], "quote");
    assert_eq!(link["revoked_at"], serde_json::Value::Null);
    let other = share(&quote).json();
    assert_ne!(other["token"], link["token"], "each link has its own token");
    let longer = owner
        .request("POST", &format!("{quote}/share"))
        .json(&json!({ "expires_in_days": 7 }))
        .send();
    assert_eq!(longer.status, 201, "{}", longer.body);
    for (body, status, field) in [
        (json!({ "expires_in_days": 0 }), 422, "expires_in_days"),
        (json!({ "expires_in_days": "week" }), 422, "expires_in_days"),
        (json!({ "forever": true }), 400, "forever"),
    ] {
        let problem = owner
            .request("POST", &format!("{quote}/share"))
            .json(&body)
            .send()
            .problem(status);
        assert_eq!(fields(&problem), [field]);
    }
    // The token is shown once: it is in no audit row.
    let audit = owner.get("/api/v1/audit?action=share_link.created").json();
    assert_eq!(audit["events"].as_array().unwrap().len(), 3);
    assert!(!audit.to_string().contains(token));

    let revoke_path = format!("/api/v1/share-links/{}", link["id"].as_str().unwrap());
    owner.request("DELETE", &revoke_path).send().problem(428);
    act(&owner, "DELETE", &revoke_path, 9, None).problem(409);
    assert_eq!(act(&owner, "DELETE", &revoke_path, 1, None).status, 204);
    let again = act(&owner, "DELETE", &revoke_path, 2, None).problem(409);
    assert!(again["current"]["revoked_at"].is_string(), "{again}");
    act(&owner, "DELETE", "/api/v1/share-links/nope", 1, None).problem(404);

    // Invoices: once issued, and not once void.
    let invoice = owner.post(
        "/api/v1/invoices",
        &json!({ "customer_id": customer_id,
                 "lines": [{ "description": "Work", "quantity_milli": 1000, "unit_price": 100 }] }),
    );
    let invoice = format!(
        "/api/v1/invoices/{}",
        invoice.json()["id"].as_str().unwrap()
    );
    share(&invoice).problem(409);
    assert_eq!(
        act(&owner, "POST", &format!("{invoice}/issue"), 1, None).status,
        200
    );
    assert_eq!(share(&invoice).status, 201);
    assert_eq!(
        act(&owner, "POST", &format!("{invoice}/void"), 2, None).status,
        200
    );
    assert_eq!(share(&invoice).problem(409)["current_status"], "void");
    share("/api/v1/quotes/nope").problem(404);
}
