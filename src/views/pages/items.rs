//! A job's work and parts: shown to everyone who sees the job, edited as one list by those who
//! may change it (the script adds and removes rows from a `<template>` and saves the whole
//! list with one versioned PATCH). Quantities are typed and shown as decimals and travel as
//! thousandths.

use maud::{html, Markup};

use crate::domain::jobs::LineItem;
use crate::views::pages::forms::{api_form, Api};
use crate::views::pages::label;

const KINDS: [(&str, &str); 2] = [("work", "Work"), ("part", "Part")];

/// `1500` thousandths as `1.5`, `2000` as `2`: no float, no trailing zeros.
pub fn quantity_text(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let (whole, part) = (milli.unsigned_abs() / 1000, milli.unsigned_abs() % 1000);
    if part == 0 {
        format!("{sign}{whole}")
    } else {
        let decimals = format!("{part:03}");
        format!("{sign}{whole}.{}", decimals.trim_end_matches('0'))
    }
}

/// The section: a list for reading, and for `editable` the form that changes it.
pub fn section(action: &str, version: i64, items: &[LineItem], editable: bool) -> Markup {
    html! {
        section.card id="items" aria-labelledby="items-title" {
            h2 id="items-title" { "Work and parts" }
            @if items.is_empty() {
                p.muted {
                    @if editable { "Nothing recorded yet: add the work done and the parts used, then save." }
                    @else { "Nothing recorded yet." }
                }
            }
            @if !editable && !items.is_empty() {
                ul.rows.items-list {
                    @for item in items {
                        li {
                            span.title { (item.description) }
                            span.meta {
                                span.badge { (label(&item.kind)) } " "
                                (quantity_text(item.quantity_milli))
                                @if let Some(unit) = &item.unit { " " (unit) }
                            }
                        }
                    }
                }
            }
            @if editable {
                (api_form(
                    &Api::new("PATCH", action, "reload").versioned(version).showing("items"),
                    "job-items",
                    html! {
                        div.field data-field="items" {}
                        ol.items data-rows {
                            @for (i, item) in items.iter().enumerate() { (row(Some(i), Some(item))) }
                        }
                        template id="item-row" { (row(None, None)) }
                        div.actions {
                            button.secondary type="button" data-add-item="work" { "Add work" }
                            button.secondary type="button" data-add-item="part" { "Add part" }
                            button type="submit" { "Save work and parts" }
                        }
                    },
                ))
            }
        }
    }
}

/// One editable line; the script numbers the `data-field`s (`items[2].description`) so the
/// server's errors land beside the row they are about.
fn row(index: Option<usize>, item: Option<&LineItem>) -> Markup {
    let at = index.map_or_else(|| "items[]".to_owned(), |i| format!("items[{i}]"));
    let kind = item.map_or("work", |i| i.kind.as_str());
    html! {
        li.item {
            div.field data-field=(format!("{at}.kind")) data-item-field="kind" {
                label { span.label { "Kind" }
                    select name="kind" {
                        @for (value, text) in KINDS { option value=(value) selected[value == kind] { (text) } }
                    }
                }
            }
            div.field.grow data-field=(format!("{at}.description")) data-item-field="description" {
                label { span.label { "Description" }
                    input type="text" name="description" value=(item.map_or("", |i| i.description.as_str()));
                }
            }
            div.field.narrow data-field=(format!("{at}.quantity_milli")) data-item-field="quantity_milli" {
                label { span.label { "Quantity" }
                    input type="text" name="quantity" inputmode="decimal" autocomplete="off"
                        value=(item.map_or_else(|| "1".to_owned(), |i| quantity_text(i.quantity_milli)));
                }
            }
            div.field.narrow data-field=(format!("{at}.unit")) data-item-field="unit" {
                label { span.label { "Unit" }
                    input type="text" name="unit" placeholder="h, m, pcs" value=(item.and_then(|i| i.unit.as_deref()).unwrap_or_default());
                }
            }
            button.link.danger type="button" data-remove-item { "Remove" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: &str, description: &str, quantity_milli: i64, unit: Option<&str>) -> LineItem {
        LineItem {
            kind: kind.into(),
            description: description.into(),
            quantity_milli,
            unit: unit.map(Into::into),
        }
    }

    #[test]
    fn quantities_read_as_decimals_without_trailing_zeros() {
        for (milli, text) in [
            (1500, "1.5"),
            (2000, "2"),
            (1250, "1.25"),
            (1, "0.001"),
            (10_010, "10.01"),
            (0, "0"),
            (-500, "-0.5"),
        ] {
            assert_eq!(quantity_text(milli), text, "{milli}");
        }
    }

    #[test]
    fn editors_get_one_numbered_row_per_item_and_a_template_readers_a_list() {
        let items = [
            item("work", "Labour <hot>", 1500, Some("h")),
            item("part", "Washer", 2000, None),
        ];
        let html = section("/api/v1/jobs/j-1", 7, &items, true).into_string();
        assert!(
            html.contains(r#"data-field="items[1].description""#),
            "{html}"
        );
        assert!(html.contains(r#"data-field="items[0].quantity_milli""#));
        assert!(html.contains(r#"value="1.5""#) && html.contains(r#"value="2""#));
        assert!(html.contains("Labour &lt;hot&gt;"));
        assert!(html.contains(r#"data-version="7""#));
        assert!(html.contains(r#"<template id="item-row">"#));
        assert!(html.contains(r#"<option value="part" selected>"#));
        let read = section("/api/v1/jobs/j-1", 7, &items, false).into_string();
        assert!(!read.contains("<form"));
        assert!(read.contains("1.5 h"), "{read}");
        assert!(read.contains("Washer"));
    }
}
