//! Stripe's wire formats, pure: the form that creates a Checkout Session for an invoice's
//! balance, and the webhook events we act on. Signatures are `domain::signatures`.

use serde::Deserialize;

use crate::views::url::form_encode;

/// What a customer pays through Checkout: one line, the amount due now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout<'a> {
    pub invoice_id: &'a str,
    /// e.g. `INV-0042`, shown on Stripe's page.
    pub invoice_number: &'a str,
    pub company: &'a str,
    /// In the currency's minor units, as Stripe takes them.
    pub amount: i64,
    /// ISO 4217, any case (Stripe wants lower case).
    pub currency: &'a str,
    pub customer_email: Option<&'a str>,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
}

/// The `application/x-www-form-urlencoded` body of `POST /v1/checkout/sessions`. The invoice id
/// travels as `client_reference_id` and in the metadata of the session and of its payment, so
/// the webhook can find the invoice whichever object it reads.
pub fn checkout_form(c: &Checkout<'_>) -> String {
    let name = format!("{} invoice {}", c.company, c.invoice_number);
    let mut fields: Vec<(&str, String)> = vec![
        ("mode", "payment".into()),
        ("client_reference_id", c.invoice_id.into()),
        ("metadata[invoice_id]", c.invoice_id.into()),
        (
            "payment_intent_data[metadata][invoice_id]",
            c.invoice_id.into(),
        ),
        ("line_items[0][quantity]", "1".into()),
        (
            "line_items[0][price_data][currency]",
            c.currency.to_ascii_lowercase(),
        ),
        (
            "line_items[0][price_data][unit_amount]",
            c.amount.to_string(),
        ),
        ("line_items[0][price_data][product_data][name]", name),
        ("success_url", c.success_url.into()),
        ("cancel_url", c.cancel_url.into()),
    ];
    if let Some(email) = c.customer_email {
        fields.push(("customer_email", email.into()));
    }
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The Checkout Session Stripe created: where to send the customer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub id: String,
    pub url: String,
}

/// A webhook event, as far as we use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A paid Checkout Session: record the payment against its invoice.
    CheckoutPaid {
        event_id: String,
        session_id: String,
        invoice_id: String,
        amount: i64,
        currency: String,
        /// The payment's own id, kept as the payment's reference.
        payment_intent: Option<String>,
    },
    /// Anything else (acknowledged, nothing done).
    Other { event_id: String, kind: String },
}

#[derive(Deserialize)]
struct RawEvent {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: Option<RawData>,
}

#[derive(Deserialize)]
struct RawData {
    object: serde_json::Value,
}

/// Reads an event (after its signature was verified). A completed session that is not paid
/// yet (asynchronous methods) is `Other`: its `async_payment_succeeded` event pays it later.
pub fn parse_event(body: &[u8]) -> Result<Event, String> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|e| format!("not an event: {e}"))?;
    let paid_kinds = [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    ];
    let object = raw.data.map(|d| d.object).unwrap_or_default();
    if !paid_kinds.contains(&raw.kind.as_str()) || object["payment_status"] != "paid" {
        return Ok(Event::Other {
            event_id: raw.id,
            kind: raw.kind,
        });
    }
    let invoice_id = object["metadata"]["invoice_id"]
        .as_str()
        .or_else(|| object["client_reference_id"].as_str())
        .ok_or("a paid session without an invoice id")?
        .to_owned();
    Ok(Event::CheckoutPaid {
        event_id: raw.id,
        session_id: object["id"].as_str().unwrap_or_default().to_owned(),
        invoice_id,
        amount: object["amount_total"]
            .as_i64()
            .ok_or("a paid session without amount_total")?,
        currency: object["currency"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_uppercase(),
        payment_intent: object["payment_intent"].as_str().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::messaging::parse_form;

    #[test]
    fn a_checkout_form_asks_for_the_amount_due_in_minor_units_and_names_the_invoice() {
        let form = checkout_form(&Checkout {
            invoice_id: "inv-1",
            invoice_number: "INV-0042",
            company: "Acme & Sons",
            amount: 12_345,
            currency: "USD",
            customer_email: Some("ann@example.com"),
            success_url: "https://acme.example.com/s/abc?paid=1",
            cancel_url: "https://acme.example.com/s/abc",
        });
        let fields = parse_form(form.as_bytes()).unwrap();
        let get = |k: &str| {
            fields
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("mode"), Some("payment"));
        assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("12345"));
        assert_eq!(get("line_items[0][price_data][currency]"), Some("usd"));
        assert_eq!(
            get("line_items[0][price_data][product_data][name]"),
            Some("Acme & Sons invoice INV-0042")
        );
        assert_eq!(get("metadata[invoice_id]"), Some("inv-1"));
        assert_eq!(
            get("success_url"),
            Some("https://acme.example.com/s/abc?paid=1")
        );
        assert_eq!(get("customer_email"), Some("ann@example.com"));
    }

    #[test]
    fn only_a_paid_session_pays_an_invoice() {
        let paid = br#"{"id":"evt_1","object":"event","type":"checkout.session.completed",
            "data":{"object":{"id":"cs_1","object":"checkout.session","amount_total":5000,
            "currency":"usd","payment_status":"paid","payment_intent":"pi_1",
            "client_reference_id":"inv-1","metadata":{"invoice_id":"inv-1"}}}}"#;
        assert_eq!(
            parse_event(paid).unwrap(),
            Event::CheckoutPaid {
                event_id: "evt_1".into(),
                session_id: "cs_1".into(),
                invoice_id: "inv-1".into(),
                amount: 5000,
                currency: "USD".into(),
                payment_intent: Some("pi_1".into()),
            }
        );
        let unpaid = br#"{"id":"evt_2","type":"checkout.session.completed",
            "data":{"object":{"id":"cs_2","payment_status":"unpaid","amount_total":5000}}}"#;
        assert!(matches!(parse_event(unpaid).unwrap(), Event::Other { .. }));
        let other = br#"{"id":"evt_3","type":"customer.created","data":{"object":{}}}"#;
        assert_eq!(
            parse_event(other).unwrap(),
            Event::Other {
                event_id: "evt_3".into(),
                kind: "customer.created".into()
            }
        );
        let no_invoice = br#"{"id":"evt_4","type":"checkout.session.completed",
            "data":{"object":{"payment_status":"paid","amount_total":1}}}"#;
        assert!(parse_event(no_invoice).is_err());
        assert!(parse_event(b"[]").is_err());
    }
}
