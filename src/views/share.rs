//! The customer's pages behind a share link: a quote to read, choose an option of, and accept
//! or decline; an invoice to read and pay. Plain server-rendered HTML (every value escaped by
//! the templates), one small stylesheet allowed by a per-response nonce, no scripts and no
//! third-party assets; readable on a 375 px phone and printable.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::domain::money::{Currency, Line, Totals};
use crate::domain::pdf::Total;
use crate::domain::quotes::Quote;

/// Who the page is from.
pub struct Company<'a> {
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub address: Option<&'a str>,
    /// `#rrggbb`, checked where it is stored; anything else falls back to the default.
    pub brand_color: Option<&'a str>,
    /// The company has a logo (served at `/logo`, this origin: the policy's `img-src 'self'`).
    pub logo: bool,
}

const STYLE: &str = "
:root{--brand:BRAND;--ink:#1d2330;--muted:#5b6475;--line:#dde1e8}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);background:#f5f6f8}
main{max-width:760px;margin:0 auto;padding:16px}
header{border-top:6px solid var(--brand);background:#fff;padding:16px;margin-bottom:16px}
header h1{margin:0;font-size:1.3rem}header img{display:block;max-height:56px;max-width:200px;margin-bottom:8px}header p{margin:.25rem 0 0;color:var(--muted)}
section{background:#fff;padding:16px;margin-bottom:16px;border:1px solid var(--line);border-radius:6px}
h2{font-size:1.1rem;margin:0 0 .5rem}
table{width:100%;border-collapse:collapse}td,th{padding:6px 4px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
td.n,th.n{text-align:right;white-space:nowrap}tfoot td{border:0}tfoot tr.total td{font-weight:700;font-size:1.05rem}
.status{display:inline-block;padding:2px 8px;border-radius:999px;background:#eef0f4;font-size:.85rem}
.notice{padding:12px;border-radius:6px;background:#eef6ee;border:1px solid #b9dbb9}.error{background:#fbeeee;border-color:#e2b4b4}
label{display:block;margin:.5rem 0}input[type=text],textarea{width:100%;padding:10px;font:inherit;border:1px solid #b8bfcc;border-radius:6px}
.choice{display:flex;gap:8px;align-items:flex-start;padding:10px;border:1px solid var(--line);border-radius:6px;margin:.5rem 0}
button{font:inherit;padding:12px 18px;border-radius:6px;border:0;background:var(--brand);color:#fff;cursor:pointer;min-width:44px;min-height:44px}
button.secondary{background:#fff;color:var(--ink);border:1px solid #b8bfcc}
.muted{color:var(--muted)}footer{color:var(--muted);font-size:.9rem;padding:8px 16px}
@media print{body{background:#fff}form,button{display:none}section,header{border:0}}
";

/// The company's colour when it is a `#rrggbb`, else the product's.
pub(crate) fn brand(color: Option<&str>) -> &str {
    match color {
        Some(c)
            if c.len() == 7
                && c.starts_with('#')
                && c[1..].bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            c
        }
        _ => "#1f5fbf",
    }
}

fn page(company: &Company<'_>, title: &str, nonce: &str, body: Markup) -> String {
    let style = STYLE.replace("BRAND", brand(company.brand_color));
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                // No icon request (and so no 404 in the console).
                link rel="icon" href="data:,";
                title { (title) " · " (company.name) }
                style nonce=(nonce) { (PreEscaped(style)) }
            }
            body {
                main {
                    header {
                        // Decorative: the name follows.
                        @if company.logo { img src="/logo" alt=""; }
                        h1 { (company.name) }
                        p {
                            @if let Some(phone) = company.phone { (phone) " " }
                            @if let Some(email) = company.email { (email) }
                        }
                    }
                    (body)
                }
                footer { "This page is private to you: do not forward the link." }
            }
        }
    }
    .into_string()
}

/// A page with just a message (an unknown, expired or revoked link; a refused action).
pub fn message_page(company: &Company<'_>, title: &str, text: &str, nonce: &str) -> String {
    page(
        company,
        title,
        nonce,
        html! { section { h2 { (title) } p { (text) } } },
    )
}

/// The page an unsubscribe link opens: one button, so a mail scanner following the link does
/// not unsubscribe anyone (mail providers use the one-click POST of RFC 8058 instead).
pub fn unsubscribe_page(company: &Company<'_>, customer: &str, nonce: &str) -> String {
    page(
        company,
        "Unsubscribe",
        nonce,
        html! {
            section {
                h2 { "Stop automatic messages?" }
                p { "Hello " (customer) ". " (company.name) " sends appointment reminders, \
                    booking confirmations and payment reminders automatically. You can stop \
                    them; messages someone at " (company.name) " writes to you still reach you." }
                form method="post" {
                    button type="submit" { "Unsubscribe" }
                }
            }
        },
    )
}

/// The day of an RFC 3339 stamp, as the pages show dates: `2026-12-31`.
pub(crate) fn day(stamp: &str) -> &str {
    stamp.get(..10).unwrap_or(stamp)
}

/// A quantity as people write it: `1.5`, `2`.
pub(crate) fn quantity(milli: i64) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        let text = format!("{}.{:03}", milli / 1000, (milli % 1000).abs());
        text.trim_end_matches('0').to_owned()
    }
}

fn lines_table(currency: Currency, lines: &[(usize, &Line)], totals: &Totals) -> Markup {
    html! {
        table {
            thead { tr { th { "Item" } th class="n" { "Qty" } th class="n" { "Price" } th class="n" { "Amount" } } }
            tbody {
                @for (i, line) in lines {
                    tr {
                        td { (line.description) }
                        td class="n" { (quantity(line.quantity_milli)) }
                        td class="n" { (currency.format(line.unit_price)) }
                        td class="n" {
                            (totals.lines.get(*i).map(|a| currency.format(a.net)).unwrap_or_default())
                        }
                    }
                }
            }
        }
    }
}

/// The rows under a document's lines, worded: subtotal, discount, each tax, total (strong).
/// The share page and the PDF show the same.
pub(crate) fn total_rows(currency: Currency, totals: &Totals) -> Vec<Total> {
    let row = |label: String, amount: String, strong: bool| Total {
        label,
        amount,
        strong,
    };
    let mut rows = vec![row(
        "Subtotal".into(),
        currency.format(totals.subtotal),
        false,
    )];
    if totals.discount_total > 0 {
        let amount = format!("−{}", currency.format(totals.discount_total));
        rows.push(row("Discount".into(), amount, false));
    }
    for tax in totals.taxes.iter().filter(|t| t.rate_ppm > 0) {
        let label = format!("Tax {}", percent(tax.rate_ppm));
        rows.push(row(label, currency.format(tax.tax), false));
    }
    rows.push(row("Total".into(), currency.format(totals.total), true));
    rows
}

/// An invoice's account under its totals: what was paid (if anything) and the balance due.
pub(crate) fn balance_rows(currency: Currency, paid: i64, balance: i64) -> Vec<Total> {
    let mut rows = Vec::new();
    if paid > 0 {
        rows.push(Total {
            label: "Paid".into(),
            amount: currency.format(paid),
            strong: false,
        });
    }
    rows.push(Total {
        label: "Balance due".into(),
        amount: currency.format(balance),
        strong: true,
    });
    rows
}

fn rows_markup(rows: &[Total]) -> Markup {
    html! {
        table {
            tfoot {
                @for row in rows {
                    tr class=[row.strong.then_some("total")] { td { (row.label) } td class="n" { (row.amount) } }
                }
            }
        }
    }
}

fn totals_rows(currency: Currency, totals: &Totals) -> Markup {
    rows_markup(&total_rows(currency, totals))
}

/// A tax rate as people write it: `9.975%`.
pub(crate) fn percent(ppm: i64) -> String {
    let text = format!("{}.{:04}", ppm / 10_000, ppm % 10_000);
    format!("{}%", text.trim_end_matches('0').trim_end_matches('.'))
}

/// What a quote page shows besides the quote.
pub struct QuoteState<'a> {
    /// `Q-0007`-style number shown to the customer.
    pub number: &'a str,
    /// Who it is for.
    pub customer: Option<&'a str>,
    /// The status the customer sees: sent/viewed (open), accepted, declined, expired.
    pub status: &'a str,
    pub valid_until: &'a str,
    /// (signer, when, option) once accepted.
    pub accepted: Option<(&'a str, &'a str, Option<&'a str>)>,
    /// A notice above the quote (e.g. "Thank you" or why an action was refused).
    pub notice: Option<(&'a str, bool)>,
}

/// The quote: each option with its lines and totals, the extras to tick, and (while open) the
/// form to accept with a typed name, or to decline with a reason.
pub fn quote_page(
    company: &Company<'_>,
    quote: &Quote,
    // `None`: the totals of all lines, indexed like them; `Some(option)`: that option's.
    totals_for: &dyn Fn(Option<&str>) -> Option<Totals>,
    state: &QuoteState<'_>,
    action_base: &str,
    nonce: &str,
) -> String {
    let currency = quote.pricing.currency;
    let options = quote.options();
    let open = matches!(state.status, "sent" | "viewed");
    let indexed: Vec<(usize, &Line)> = quote.lines.iter().enumerate().collect();
    let common: Vec<(usize, &Line)> = indexed
        .iter()
        .copied()
        .filter(|(_, l)| l.option.is_none() && !l.optional)
        .collect();
    let extras: Vec<(usize, &Line)> = indexed
        .iter()
        .copied()
        .filter(|(_, l)| l.optional)
        .collect();
    let all_totals = totals_for(None);
    let body = html! {
        @if let Some((text, is_error)) = state.notice {
            p class=(if is_error { "notice error" } else { "notice" }) role="status" { (text) }
        }
        section {
            h2 { "Quote " (state.number) ": " (quote.title) }
            p { a href={ (action_base) "/pdf" } download { "Download PDF" } }
            @if let Some(customer) = state.customer { p { "Prepared for " strong { (customer) } } }
            p { span class="status" { (state.status) } " · valid until " (state.valid_until) }
            @if let Some((signer, at, option)) = state.accepted {
                p { "Accepted by " strong { (signer) } " on " (at)
                    @if let Some(option) = option { " (option: " (option) ")" } "." }
            }
        }
        @if !common.is_empty() {
            section {
                h2 { @if options.is_empty() { "Work" } @else { "Included in every option" } }
                @if let Some(t) = &all_totals { (lines_table(currency, &common, t)) }
            }
        }
        @for option in &options {
            @let lines: Vec<(usize, &Line)> = indexed.iter().copied().filter(|(_, l)| l.option.as_deref() == Some(option) && !l.optional).collect();
            section {
                h2 { "Option: " (option) }
                // Line amounts do not depend on the option: they come from the all-lines
                // totals (indexed like the quote's lines); the option's own totals follow.
                @if let Some(all) = &all_totals { (lines_table(currency, &lines, all)) }
                @if let Some(t) = totals_for(Some(option)) { (totals_rows(currency, &t)) }
            }
        }
        @if options.is_empty() {
            @if let Some(t) = &all_totals { section { (totals_rows(currency, t)) } }
        }
        @if !extras.is_empty() {
            section {
                h2 { "Optional extras" }
                @if let Some(t) = &all_totals { (lines_table(currency, &extras, t)) }
            }
        }
        @if let Some(notes) = &quote.notes { section { h2 { "Notes" } p { (notes) } } }
        @if let Some(terms) = &quote.terms { section { h2 { "Terms" } p { (terms) } } }
        @if open {
            section {
                h2 { "Accept this quote" }
                form method="post" action={ (action_base) "/accept" } {
                    @for option in &options {
                        label class="choice" {
                            input type="radio" name="option" value=(option) required;
                            span { (option)
                                @if let Some(t) = totals_for(Some(option)) { " — " (currency.format(t.total)) } }
                        }
                    }
                    @for (i, line) in &extras {
                        label class="choice" {
                            input type="checkbox" name="extra" value=(i);
                            span { "Add: " (line.description) }
                        }
                    }
                    label { "Your full name, as your signature"
                        input type="text" name="signer_name" required maxlength="200" autocomplete="name"; }
                    button type="submit" { "Accept quote" }
                }
            }
            section {
                h2 { "Decline" }
                form method="post" action={ (action_base) "/decline" } {
                    label { "Tell us why (optional)" textarea name="reason" rows="3" maxlength="1000" {} }
                    button type="submit" class="secondary" { "Decline quote" }
                }
            }
        }
    };
    page(company, &format!("Quote {}", state.number), nonce, body)
}

/// What an invoice page shows besides the lines.
pub struct InvoiceState<'a> {
    pub number: &'a str,
    pub customer: Option<&'a str>,
    pub status: &'a str,
    pub due_at: Option<&'a str>,
    pub paid: i64,
    pub balance: i64,
    /// What Pay asks for now (the deposit first, then the balance).
    pub due_now: i64,
    /// Card payment is offered (Stripe configured); otherwise payment instructions.
    pub can_pay_online: bool,
    pub notice: Option<(&'a str, bool)>,
}

pub fn invoice_page(
    company: &Company<'_>,
    currency: Currency,
    lines: &[Line],
    totals: &Totals,
    state: &InvoiceState<'_>,
    action_base: &str,
    nonce: &str,
) -> String {
    let indexed: Vec<(usize, &Line)> = lines.iter().enumerate().collect();
    let body = html! {
        @if let Some((text, is_error)) = state.notice {
            p class=(if is_error { "notice error" } else { "notice" }) role="status" { (text) }
        }
        section {
            h2 { "Invoice " (state.number) }
            p { a href={ (action_base) "/pdf" } download { "Download PDF" } }
            @if let Some(customer) = state.customer { p { "For " strong { (customer) } } }
            p { span class="status" { (state.status.replace('_', " ")) }
                @if let Some(due) = state.due_at { " · due " (due) } }
            (lines_table(currency, &indexed, totals))
            (totals_rows(currency, totals))
            (rows_markup(&balance_rows(currency, state.paid, state.balance)))
        }
        @if state.due_now > 0 {
            section {
                @if state.can_pay_online {
                    form method="post" action={ (action_base) "/pay" } {
                        button type="submit" { "Pay " (currency.format(state.due_now)) " by card" }
                    }
                } @else {
                    h2 { "How to pay" }
                    p { "Please pay " strong { (currency.format(state.due_now)) } " quoting "
                        strong { (state.number) } " as the reference." }
                    @if let Some(address) = company.address { p class="muted" { (address) } }
                    @if let Some(phone) = company.phone { p class="muted" { "Questions: " (phone) } }
                }
            }
        }
    };
    page(company, &format!("Invoice {}", state.number), nonce, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::money::{totals, Pricing, Rounding};
    use crate::domain::time::Millis;

    fn company() -> Company<'static> {
        Company {
            name: "Acme <Heating> & Sons",
            email: Some("office@acme.example"),
            phone: None,
            address: None,
            brand_color: Some("red;}body{display:none"),
            logo: true,
        }
    }

    fn line(description: &str, option: Option<&str>, optional: bool) -> Line {
        Line {
            description: description.into(),
            quantity_milli: 1500,
            unit_price: 10_000,
            tax_rate_ppm: 99_750,
            discount: None,
            optional,
            option: option.map(str::to_owned),
        }
    }

    #[test]
    fn everything_the_customer_or_staff_typed_is_escaped_and_the_style_carries_the_nonce() {
        let quote = Quote {
            title: "<script>alert(1)</script>".into(),
            pricing: Pricing {
                currency: Currency::parse("USD").unwrap(),
                rounding: Rounding::PerLine,
            },
            lines: vec![
                line("Valve \"<b>\"", Some("Good"), false),
                line("Flush", None, true),
            ],
            notes: Some("<img src=x onerror=alert(1)>".into()),
            terms: None,
            valid_until: Millis(0),
            deposit: None,
        };
        let lines = quote.lines.clone();
        let pricing = quote.pricing;
        let totals_for = move |_: Option<&str>| totals(&lines, pricing).ok();
        let state = QuoteState {
            number: "Q-0001",
            customer: Some("<script>alert('ann')</script>"),
            status: "sent",
            valid_until: "2026-12-31",
            accepted: None,
            notice: None,
        };
        let html = quote_page(&company(), &quote, &totals_for, &state, "/s/tok", "n0nce");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // The company's logo, from this origin, and no image the text brought.
        assert_eq!(html.matches("<img").count(), 1, "{html}");
        assert!(html.contains(r#"<img src="/logo" alt="">"#));
        assert!(html.contains("Acme &lt;Heating&gt; &amp; Sons"));
        assert!(html.contains(r#"<style nonce="n0nce">"#));
        // A brand colour that is not #rrggbb cannot inject CSS.
        assert!(!html.contains("red;}"));
        assert!(html.contains(r#"name="option" value="Good""#));
        assert!(html.contains(r#"name="extra" value="1""#));
        assert!(html.contains(r#"action="/s/tok/accept""#));
        assert!(html.contains("USD 150.00"), "{html}");
    }

    #[test]
    fn an_accepted_quote_shows_who_accepted_and_no_form() {
        let quote = Quote {
            title: "Boiler".into(),
            pricing: Pricing {
                currency: Currency::parse("USD").unwrap(),
                rounding: Rounding::PerLine,
            },
            lines: vec![line("Service", None, false)],
            notes: None,
            terms: None,
            valid_until: Millis(0),
            deposit: None,
        };
        let lines = quote.lines.clone();
        let pricing = quote.pricing;
        let totals_for = move |_: Option<&str>| totals(&lines, pricing).ok();
        let state = QuoteState {
            number: "Q-0002",
            customer: None,
            status: "accepted",
            valid_until: "2026-12-31",
            accepted: Some(("Ada Lee", "2026-12-01", None)),
            notice: None,
        };
        let html = quote_page(&company(), &quote, &totals_for, &state, "/s/tok", "n");
        assert!(html.contains("Accepted by <strong>Ada Lee</strong>"));
        assert!(!html.contains("<form"));
    }

    #[test]
    fn quantities_and_rates_read_as_people_write_them() {
        assert_eq!(quantity(1500), "1.5");
        assert_eq!(quantity(2000), "2");
        assert_eq!(quantity(1250), "1.25");
        assert_eq!(percent(99_750), "9.975%");
        assert_eq!(percent(50_000), "5%");
    }

    #[test]
    fn each_options_lines_show_their_amounts_whatever_their_place_in_the_quote() {
        let mut cheap = line("Basic filter", Some("Good"), false);
        cheap.unit_price = 2_000;
        let mut dear = line("HEPA filter", Some("Best"), false);
        dear.unit_price = 9_900;
        let quote = Quote {
            title: "Furnace".into(),
            pricing: Pricing {
                currency: Currency::parse("USD").unwrap(),
                rounding: Rounding::PerLine,
            },
            lines: vec![line("Service", None, false), cheap, dear],
            notes: None,
            terms: None,
            valid_until: Millis(0),
            deposit: None,
        };
        let q = quote.clone();
        let totals_for = move |option: Option<&str>| match option {
            None => totals(&q.lines, q.pricing).ok(),
            Some(o) => q
                .totals(&crate::domain::quotes::Choice {
                    option: Some(o.into()),
                    optional_lines: vec![],
                })
                .ok(),
        };
        let state = QuoteState {
            number: "Q-0003",
            customer: None,
            status: "sent",
            valid_until: "2026-12-31",
            accepted: None,
            notice: None,
        };
        let html = quote_page(&company(), &quote, &totals_for, &state, "/s/t", "n");
        let best = &html[html.find("Option: Best").unwrap()..];
        // 1.5 × 99.00 = 148.50, on the HEPA line of the Best section.
        assert!(best.contains("HEPA filter</td><td class=\"n\">1.5</td><td class=\"n\">USD 99.00</td><td class=\"n\">USD 148.50"), "{best}");
    }
}
