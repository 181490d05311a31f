//! Quotes and invoices at a glance: the newest of each with their status and amounts, for the
//! roles that see money. Documents are written through the API (and their customers answer
//! them through share links); this page is the office's overview.

use maud::{html, Markup};
use serde_json::Value;

use crate::domain::money::Currency;
use crate::views::pages::{shell, Section, Viewer};

fn amount(currency: &Value, minor: &Value) -> String {
    match (
        currency.as_str().and_then(|c| Currency::parse(c).ok()),
        minor.as_i64(),
    ) {
        (Some(currency), Some(minor)) => currency.format(minor),
        _ => "—".to_owned(),
    }
}

fn status(text: &Value) -> String {
    text.as_str().unwrap_or("?").replace('_', " ")
}

/// `quotes` and `invoices` are the API's list views (`quote_summary`, `invoice_summary`).
pub fn overview(viewer: &Viewer<'_>, quotes: &[Value], invoices: &[Value]) -> Markup {
    let body = html! {
        div.page-head { h1 { "Quotes and invoices" } }
        section.card {
            h2 { "Quotes" }
            @if quotes.is_empty() {
                p.muted { "No quotes yet." }
            } @else {
                ul.rows.quotes {
                    @for q in quotes {
                        li {
                            span.title { "Q-" (format!("{:04}", q["number"].as_i64().unwrap_or(0))) " " (q["title"].as_str().unwrap_or("")) }
                            span.meta {
                                (status(&q["status"]))
                                @if let Some(total) = q["acceptance"]["total"].as_i64() {
                                    " · accepted " (amount(&q["currency"], &Value::from(total)))
                                    @if let Some(signer) = q["acceptance"]["signer_name"].as_str() { " by " (signer) }
                                } @else if let Some(options) = q["totals"].as_array() {
                                    " ·"
                                    @for (i, option) in options.iter().enumerate() {
                                        @if i > 0 { " /" }
                                        " " @if let Some(name) = option["option"].as_str() { (name) " " }
                                        (amount(&q["currency"], &option["total"]))
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "Invoices" }
            @if invoices.is_empty() {
                p.muted { "No invoices yet." }
            } @else {
                ul.rows.invoices {
                    @for i in invoices {
                        li {
                            span.title { (i["number"].as_str().unwrap_or("Draft")) }
                            span.meta {
                                (status(&i["status"])) " · total " (amount(&i["currency"], &i["totals"]["total"]))
                                @if i["balance"].as_i64().is_some_and(|b| b > 0) {
                                    " · balance " (amount(&i["currency"], &i["balance"]))
                                }
                                @if let Some(due) = i["due_at"].as_str() { " · due " (due.get(..10).unwrap_or(due)) }
                            }
                        }
                    }
                }
            }
        }
    };
    shell(viewer, Section::Money, "Quotes and invoices", body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::auth::permissions::Role;
    use crate::views::pages::FixedOffset;
    use serde_json::json;

    #[test]
    fn documents_show_their_numbers_statuses_and_amounts_escaped() {
        let local = FixedOffset(0);
        let viewer = Viewer {
            user_id: "u",
            name: "Dana",
            role: Role::Owner,
            csrf: "c",
            company: "Acme",
            zone: "UTC",
            local: &local,
        };
        let quotes = [
            json!({ "number": 7, "title": "<b>Boiler</b>", "status": "sent", "currency": "USD",
            "acceptance": null, "totals": [{ "option": "Good", "total": 10_900 }, { "option": "Best", "total": 18_800 }] }),
        ];
        let invoices = [
            json!({ "number": "INV-0001", "status": "partially_paid", "currency": "USD",
            "totals": { "total": 12_000 }, "balance": 2_000, "due_at": "2026-12-24T00:00:00.000Z" }),
        ];
        let html = overview(&viewer, &quotes, &invoices).into_string();
        assert!(html.contains("Q-0007 &lt;b&gt;Boiler&lt;/b&gt;"), "{html}");
        assert!(
            html.contains("sent · Good USD 109.00 / Best USD 188.00"),
            "{html}"
        );
        assert!(html.contains("INV-0001"));
        assert!(
            html.contains("partially paid · total USD 120.00 · balance USD 20.00 · due 2026-12-24"),
            "{html}"
        );
    }
}
