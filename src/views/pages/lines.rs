//! The priced lines of a quote or invoice on a page: a read-only table, and the editor whose
//! rows `app.js` adds, removes and reads (amounts are typed as decimals and travel as integers:
//! minor units, thousandths, parts per million). Live totals come from the API's `preview`,
//! which prices the edit with the same domain code that will store it; the panel that shows
//! them is rendered here first, and `app.js` redraws it in the same shape.

use crate::domain::money::{Currency, Discount, Line, LineAmounts};
use crate::views::money::OptionTotals;
use maud::{html, Markup};

/// Which document the lines belong to: a quote's lines may belong to an option and be extras.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Quote,
    Invoice,
}

/// `value / 10^places` as a decimal without trailing zeros: 1500, 3 → `1.5`; 99 750, 4 → `9.975`.
pub fn decimal(value: i64, places: u32) -> String {
    let scale = 10_i64.pow(places).unsigned_abs();
    let magnitude = value.unsigned_abs();
    let sign = if value < 0 { "-" } else { "" };
    let whole = magnitude / scale;
    let fraction = magnitude % scale;
    if fraction == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{fraction:0width$}", width = places as usize);
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

/// Minor units as typed in a form: every decimal the currency has (`89.00`, `1200` for JPY).
pub fn amount_input(currency: Currency, minor: i64) -> String {
    let places = currency.exponent();
    if places == 0 {
        return minor.to_string();
    }
    let scale = currency.minor_per_major().unsigned_abs();
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        magnitude / scale,
        magnitude % scale,
        width = places as usize
    )
}

/// A discount as typed: `10%` or an amount.
pub fn discount_input(currency: Currency, discount: Option<Discount>) -> String {
    match discount {
        None => String::new(),
        Some(Discount::PercentPpm(ppm)) => format!("{}%", decimal(ppm, 4)),
        Some(Discount::Amount(minor)) => amount_input(currency, minor),
    }
}

fn money(currency: Currency, minor: Option<i64>) -> String {
    minor.map_or_else(|| "—".to_owned(), |m| currency.format(m))
}

/// The lines as a table, with each line's amount before tax (`amounts` from the domain).
pub fn table(kind: Kind, currency: Currency, lines: &[Line], amounts: &[LineAmounts]) -> Markup {
    html! {
        @if lines.is_empty() {
            p.muted { "No lines yet." }
        } @else {
            div.table-wrap tabindex="0" role="region" aria-label="Lines" {
                table.lines-table {
                    thead {
                        tr {
                            th scope="col" { "Description" }
                            @if kind == Kind::Quote { th scope="col" { "Option" } }
                            th scope="col" .num { "Qty" }
                            th scope="col" .num { "Unit price" }
                            th scope="col" .num { "Tax" }
                            th scope="col" .num { "Discount" }
                            th scope="col" .num { "Amount" }
                        }
                    }
                    tbody {
                        @for (i, line) in lines.iter().enumerate() {
                            tr {
                                td {
                                    (line.description)
                                    @if line.optional { " " span.tag { "extra" } }
                                }
                                @if kind == Kind::Quote { td { (line.option.as_deref().unwrap_or("All")) } }
                                td.num { (decimal(line.quantity_milli, 3)) }
                                td.num { (currency.format(line.unit_price)) }
                                td.num { (decimal(line.tax_rate_ppm, 4)) "%" }
                                td.num { (discount_input(currency, line.discount)) }
                                td.num { (money(currency, amounts.get(i).map(|a| a.net))) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One editable row; `line` is `None` for the blank row the "Add line" button copies.
fn row(
    kind: Kind,
    currency: Currency,
    line: Option<&Line>,
    default_tax_ppm: i64,
    net: Option<i64>,
) -> Markup {
    let text = |f: fn(&Line) -> String| line.map(f).unwrap_or_default();
    let quantity = line.map_or_else(|| "1".to_owned(), |l| decimal(l.quantity_milli, 3));
    let tax = decimal(line.map_or(default_tax_ppm, |l| l.tax_rate_ppm), 4);
    html! {
        div.line.field data-field="lines[]" data-line {
            label.description {
                span.label { "Description" }
                input type="text" data-l="description" maxlength="1000" value=(text(|l| l.description.clone()));
            }
            @if kind == Kind::Quote {
                label.option {
                    span.label { "Option" }
                    input type="text" data-l="option" maxlength="60" placeholder="All options"
                        value=(text(|l| l.option.clone().unwrap_or_default()));
                }
                label.check.extra {
                    input type="checkbox" data-l="optional" checked[line.is_some_and(|l| l.optional)];
                    " Extra"
                }
            }
            label.qty {
                span.label { "Qty" }
                input type="text" inputmode="decimal" data-l="quantity" value=(quantity);
            }
            label.price {
                span.label { "Unit price" }
                input type="text" inputmode="decimal" data-l="unit_price"
                    value=(line.map(|l| amount_input(currency, l.unit_price)).unwrap_or_default());
            }
            label.tax {
                span.label { "Tax %" }
                input type="text" inputmode="decimal" data-l="tax" value=(tax);
            }
            label.discount {
                span.label { "Discount" }
                input type="text" data-l="discount" placeholder="10% or 5.00"
                    value=(line.map(|l| discount_input(currency, l.discount)).unwrap_or_default());
            }
            output.amount data-l-amount { (money(currency, net)) }
            button.link.danger type="button" data-remove-line { "Remove" }
        }
    }
}

/// The lines as editable rows, the blank row to copy, and the button that adds one. Row
/// problems (`lines[2].unit_price`) are shown in the row (its `data-field` is renumbered
/// as rows come and go).
pub fn editor(
    kind: Kind,
    currency: Currency,
    lines: &[Line],
    amounts: &[LineAmounts],
    default_tax_ppm: i64,
) -> Markup {
    html! {
        fieldset.lines.field data-field="lines" {
            legend { "Lines" }
            p.hint {
                "Prices in " (currency.code()) " before tax. Quantities may have decimals (1.5 hours)."
                @if kind == Kind::Quote {
                    " Lines with an option are priced only in that option; extras only when the customer ticks them."
                }
            }
            div.line-rows data-lines {
                @for (i, line) in lines.iter().enumerate() {
                    (row(kind, currency, Some(line), default_tax_ppm, amounts.get(i).map(|a| a.net)))
                }
            }
            template data-line-template { (row(kind, currency, None, default_tax_ppm, None)) }
            button.secondary type="button" data-add-line { "Add line" }
        }
    }
}

/// The totals panel: one block per option (or one for the document), as the API prices them.
pub fn totals_panel(currency: Currency, totals: &[OptionTotals]) -> Markup {
    let amount = |minor: i64| currency.format(minor);
    html! {
        div.totals data-totals aria-live="polite" {
            @for t in totals {
                section.total {
                    h3 { (t.option.as_deref().unwrap_or("Total")) }
                    dl.sums {
                        @let sums = &t.sums.amounts;
                        dt { "Subtotal" } dd { (amount(sums.subtotal)) }
                        @if sums.discount_total != 0 {
                            dt { "Discounts" } dd { "−" (amount(sums.discount_total)) }
                        }
                        dt { "Tax" } dd { (amount(sums.tax_total)) }
                        dt.grand { "Total" } dd.grand { (amount(sums.total)) }
                        @if t.deposit > 0 {
                            dt { "Deposit" } dd { (amount(t.deposit)) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::money::{Amounts, Sums};

    fn line() -> Line {
        Line {
            description: "Labour <2h>".into(),
            quantity_milli: 1_500,
            unit_price: 8_950,
            tax_rate_ppm: 99_750,
            discount: Some(Discount::PercentPpm(100_000)),
            optional: true,
            option: Some("Best".into()),
        }
    }

    fn option_totals(option: Option<&str>, sums: [i64; 4], deposit: i64) -> OptionTotals {
        let [subtotal, discount_total, tax_total, total] = sums;
        OptionTotals {
            option: option.map(str::to_owned),
            sums: Sums {
                amounts: Amounts {
                    subtotal,
                    discount_total,
                    tax_total,
                    total,
                },
                taxes: Vec::new(),
            },
            deposit,
        }
    }

    #[test]
    fn decimals_are_written_exactly_without_trailing_zeros() {
        assert_eq!(decimal(1_500, 3), "1.5");
        assert_eq!(decimal(1_000, 3), "1");
        assert_eq!(decimal(99_750, 4), "9.975");
        assert_eq!(decimal(130_000, 4), "13");
        assert_eq!(decimal(1, 3), "0.001");
        assert_eq!(decimal(-2_050, 3), "-2.05");
        assert_eq!(amount_input(Currency::USD, 8_900), "89.00");
        assert_eq!(amount_input(Currency::USD, -5), "-0.05");
        assert_eq!(amount_input(Currency::JPY, 1_200), "1200");
        assert_eq!(amount_input(Currency::KWD, 1_234), "1.234");
        assert_eq!(
            discount_input(Currency::USD, Some(Discount::Amount(500))),
            "5.00"
        );
        assert_eq!(
            discount_input(Currency::USD, Some(Discount::PercentPpm(125_000))),
            "12.5%"
        );
    }

    #[test]
    fn what_the_editor_shows_parses_back_to_the_same_line() {
        let l = line();
        let currency = Currency::USD;
        assert_eq!(
            currency.parse_amount(&amount_input(currency, l.unit_price)),
            Ok(l.unit_price)
        );
        assert_eq!(
            crate::domain::money::parse_percent_ppm(&decimal(l.tax_rate_ppm, 4)),
            Ok(l.tax_rate_ppm)
        );
    }

    #[test]
    fn the_editor_escapes_and_fills_each_row_and_keeps_a_blank_one_to_copy() {
        let html = editor(
            Kind::Quote,
            Currency::USD,
            &[line()],
            &[LineAmounts {
                gross: 13_425,
                discount: 1_342,
                net: 12_083,
                tax_rate_ppm: 99_750,
                tax: None,
            }],
            130_000,
        )
        .into_string();
        assert!(html.contains(r#"value="Labour &lt;2h&gt;""#), "{html}");
        assert!(html.contains(r#"data-l="quantity" value="1.5""#), "{html}");
        assert!(html.contains(r#"value="89.50""#));
        assert!(html.contains(r#"value="9.975""#));
        assert!(html.contains(r#"value="10%""#));
        assert!(html.contains(r#"value="Best""#));
        assert!(html.contains("USD 120.83"));
        // The template row starts at quantity 1 and the company's tax rate.
        let template = html.split("<template").nth(1).unwrap_or_default();
        assert!(
            template.contains(r#"data-l="quantity" value="1""#),
            "{template}"
        );
        assert!(
            template.contains(r#"data-l="tax" value="13""#),
            "{template}"
        );
        let invoice = editor(Kind::Invoice, Currency::USD, &[], &[], 0).into_string();
        assert!(!invoice.contains(r#"data-l="option""#));
    }

    #[test]
    fn the_totals_panel_names_each_option_and_shows_discounts_and_deposits_only_when_there() {
        let html = totals_panel(
            Currency::USD,
            &[
                option_totals(Some("Good"), [10_000, 0, 1_300, 11_300], 0),
                option_totals(None, [10_000, 500, 1_235, 10_735], 2_684),
            ],
        )
        .into_string();
        assert!(html.contains("<h3>Good</h3>"));
        assert!(html.contains("<h3>Total</h3>"));
        assert!(html.contains("USD 113.00"));
        assert_eq!(html.matches("Discounts").count(), 1);
        assert_eq!(html.matches("Deposit").count(), 1);
        assert!(html.contains("USD 26.84"));
    }
}
