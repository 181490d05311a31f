//! The conversation with a customer as the API and the customer's page show it: each message
//! with, for what went out, where its delivery stands by the outbox and Twilio's reports.

use serde::Serialize;

use crate::db::customer_messages::MessageRow;
use crate::domain::customer_messages::{error_reason, Delivery};
use crate::domain::time::Millis;

/// Where a message that went out stands, as staff are told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
    /// `queued`, `sent`, `delivered`, `failed` or `unknown` (it may or may not have gone out).
    pub status: &'static str,
    /// Why it failed or is unknown, or why it waits.
    pub reason: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MessageView<'a> {
    pub id: &'a str,
    pub customer_id: &'a str,
    /// `in`: from the customer; `out`: to them.
    pub direction: &'a str,
    pub channel: &'a str,
    pub body: &'a str,
    /// The number it came from or went to.
    pub address: Option<&'a str>,
    pub author_id: Option<&'a str>,
    pub author_name: Option<&'a str>,
    pub created_at: String,
    pub read_at: Option<String>,
    /// For a message that went out; `null` for one that came in.
    pub delivery: Option<DeliveryView>,
}

impl<'a> MessageView<'a> {
    pub fn new(row: &'a MessageRow) -> Self {
        Self {
            id: &row.id,
            customer_id: &row.customer_id,
            direction: &row.direction,
            channel: &row.channel,
            body: &row.body,
            address: row.address.as_deref(),
            author_id: row.author_id.as_deref(),
            author_name: row.author_name.as_deref(),
            created_at: at(row.created_at),
            read_at: row.read_at.map(at),
            delivery: (row.direction == "out").then(|| delivery(row)),
        }
    }
}

fn at(ms: i64) -> String {
    Millis::from_ms(ms).to_rfc3339()
}

/// A message's delivery: Twilio's report once there is one, else the outbox's own state.
pub fn delivery(row: &MessageRow) -> DeliveryView {
    let view = |status, reason: Option<String>| DeliveryView { status, reason };
    let report = row.delivery.as_deref().and_then(Delivery::parse);
    match (report, row.outbox_status.as_deref()) {
        (Some(Delivery::Delivered | Delivery::Read), _) => view("delivered", None),
        (Some(Delivery::Undelivered | Delivery::Failed | Delivery::Canceled), _) => {
            let reason = match row.delivery_error.as_deref() {
                Some(code) => match error_reason(code) {
                    Some(text) => format!("{text} (Twilio error {code})"),
                    None => format!("Twilio error {code}"),
                },
                None => "the carrier did not deliver it".to_owned(),
            };
            view("failed", Some(reason))
        }
        (Some(_), _) | (None, Some("sent")) => view("sent", None),
        (None, Some("queued" | "sending")) => view(
            "queued",
            row.outbox_error
                .as_ref()
                .map(|e| format!("will try again: {e}")),
        ),
        (None, Some("failed")) => view("failed", row.outbox_error.clone()),
        (None, Some(_)) => view("unknown", row.outbox_error.clone()),
        (None, None) => view("unknown", Some("no record of its sending".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn out(
        outbox: Option<&str>,
        error: Option<&str>,
        report: Option<&str>,
        code: Option<&str>,
    ) -> MessageRow {
        MessageRow {
            id: "m1".into(),
            customer_id: "c1".into(),
            direction: "out".into(),
            channel: "sms".into(),
            body: "On our way".into(),
            address: Some("+14155550123".into()),
            author_id: Some("u1".into()),
            author_name: Some("Dana".into()),
            created_at: 0,
            read_at: None,
            outbox_status: outbox.map(Into::into),
            outbox_error: error.map(Into::into),
            delivery: report.map(Into::into),
            delivery_error: code.map(Into::into),
        }
    }

    #[test]
    fn a_reply_shows_where_it_stands_from_the_outbox_and_twilios_reports() {
        let cases: &[(MessageRow, &str, Option<&str>)] = &[
            (out(Some("queued"), None, None, None), "queued", None),
            (
                out(Some("queued"), Some("Twilio answered 503"), None, None),
                "queued",
                Some("will try again: Twilio answered 503"),
            ),
            (out(Some("sent"), None, None, None), "sent", None),
            (out(Some("sent"), None, Some("sent"), None), "sent", None),
            (
                out(Some("sent"), None, Some("delivered"), None),
                "delivered",
                None,
            ),
            (
                out(Some("sent"), None, Some("undelivered"), Some("30003")),
                "failed",
                Some("the phone is off or unreachable (Twilio error 30003)"),
            ),
            (
                out(Some("sent"), None, Some("failed"), Some("99999")),
                "failed",
                Some("Twilio error 99999"),
            ),
            (
                out(Some("failed"), Some("Twilio error 21211: bad"), None, None),
                "failed",
                Some("Twilio error 21211: bad"),
            ),
            (
                out(Some("unknown"), Some("cut off"), None, None),
                "unknown",
                Some("cut off"),
            ),
        ];
        for (row, status, reason) in cases {
            let shown = delivery(row);
            assert_eq!(shown.status, *status, "{row:?}");
            assert_eq!(shown.reason.as_deref(), *reason, "{row:?}");
        }
    }

    #[test]
    fn a_text_that_came_in_has_no_delivery_and_times_are_rfc3339() {
        let row = MessageRow {
            direction: "in".into(),
            read_at: Some(1_767_225_600_000),
            ..out(None, None, None, None)
        };
        let view = MessageView::new(&row);
        assert!(view.delivery.is_none());
        assert_eq!(view.created_at, "1970-01-01T00:00:00.000Z");
        assert_eq!(view.read_at.as_deref(), Some("2026-01-01T00:00:00.000Z"));
    }
}
