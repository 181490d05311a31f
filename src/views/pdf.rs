//! Quotes, invoices and credit notes as the PDF shows them: the loaded records worded into a
//! [`Document`] with the share page's own rules (money, quantities, tax rates, dates, totals
//! rows), then rendered by `domain::pdf`. `invoice_pdf` and `quote_pdf` are plain functions of
//! loaded data, so an issued invoice's PDF can be written wherever it is stored.

use crate::db::invoices::{InvoiceRow, PaymentRow};
use crate::db::quotes::QuoteRow;
use crate::db::settings::Settings;
use crate::domain::invoices::{Account, Entry, InvoiceStatus};
use crate::domain::money::{totals, Currency, Line, Totals};
use crate::domain::pdf::{self, Company, Document, Item, Logo, Paper, Section};
use crate::domain::quotes::{number_text, Choice, QuoteStatus};
use crate::domain::time::Millis;
use crate::error::AppResult;
use crate::views::money::{invoice_status, quote_status};
use crate::views::share::{balance_rows, brand, day, percent, quantity, total_rows};

/// What the company block shows: its name, then its address (line by line), phone and email.
fn company(settings: &Settings) -> Company {
    let mut lines: Vec<String> = settings
        .address
        .as_deref()
        .unwrap_or_default()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    lines.extend(settings.phone.clone());
    lines.extend(settings.email.clone());
    let hex = brand(Some(&settings.brand_color));
    let channel = |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
    Company {
        name: settings.name.clone(),
        lines,
        brand: [channel(1), channel(3), channel(5)],
    }
}

fn items(currency: Currency, lines: &[(usize, &Line)], totals: &Totals) -> Vec<Item> {
    lines
        .iter()
        .map(|(i, line)| {
            let mut description = line.description.clone();
            if line.tax_rate_ppm > 0 && totals.taxes.iter().filter(|t| t.rate_ppm > 0).count() > 1 {
                // Several rates: each line says which it bears.
                description = format!("{description} (tax {})", percent(line.tax_rate_ppm));
            }
            Item {
                description,
                quantity: quantity(line.quantity_milli),
                unit_price: currency.format(line.unit_price),
                amount: totals
                    .lines
                    .get(*i)
                    .map(|a| currency.format(a.net))
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn notes(notes: &Option<String>, terms: &Option<String>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(text) = notes.as_deref().filter(|t| !t.trim().is_empty()) {
        out.push(("Notes".to_owned(), text.to_owned()));
    }
    if let Some(text) = terms.as_deref().filter(|t| !t.trim().is_empty()) {
        out.push(("Terms".to_owned(), text.to_owned()));
    }
    out
}

/// The small print of every page: what the document is, and from whom.
fn footer(title: &str, number: &str, settings: &Settings) -> String {
    format!("{} · {}", format!("{title} {number}").trim(), settings.name)
}

/// The file name a download gets: `invoice-INV-0042.pdf`, `quote-Q-0007.pdf`, and
/// `invoice-draft.pdf` before a number; only letters, digits, `-` and `_` from the number.
pub fn file_name(kind: &str, number: Option<&str>) -> String {
    let number: String = number
        .unwrap_or("draft")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
        .take(40)
        .collect();
    let number = if number.is_empty() {
        "draft".to_owned()
    } else {
        number
    };
    format!("{kind}-{number}.pdf")
}

/// The download name of a stored invoice or credit note.
pub fn invoice_file_name(row: &InvoiceRow) -> String {
    let kind = if row.is_credit_note() {
        "credit-note"
    } else {
        "invoice"
    };
    file_name(kind, row.number.as_deref())
}

/// An invoice or credit note as the share page shows it, with its payments' account, at
/// `now` (the shown status: paid, overdue, …). A draft is stamped DRAFT and a voided one VOID.
pub fn invoice_pdf(
    settings: &Settings,
    row: &InvoiceRow,
    payments: &[PaymentRow],
    customer: Option<&str>,
    now: Millis,
    logo: Option<&[u8]>,
) -> AppResult<Vec<u8>> {
    let invoice = row.to_domain()?;
    let entries = payments
        .iter()
        .map(PaymentRow::to_entry)
        .collect::<AppResult<Vec<Entry>>>()?;
    let account: Account = invoice.account(&entries)?;
    let shown = invoice_status(row, &account, now)?;
    let currency = invoice.pricing.currency;
    let totals = invoice.totals()?;
    let credit_note = row.is_credit_note();
    let payable = row.status == "issued" && !credit_note;
    let title = if credit_note {
        "Credit note"
    } else {
        "Invoice"
    };
    let number = row.number.clone().unwrap_or_default();

    let mut facts = Vec::new();
    if let Some(at) = &row.issued_at {
        facts.push(("Issued".to_owned(), day(at).to_owned()));
    }
    if let Some(at) = row.due_at.as_deref().filter(|_| !credit_note) {
        facts.push(("Due".to_owned(), day(at).to_owned()));
    }
    facts.push(("Status".to_owned(), shown.as_str().replace('_', " ")));

    let indexed: Vec<(usize, &Line)> = invoice.lines.iter().enumerate().collect();
    let mut rows = total_rows(currency, &totals);
    if !credit_note && shown != InvoiceStatus::Draft {
        let balance = if payable { account.balance() } else { 0 };
        rows.extend(balance_rows(currency, account.net_paid(), balance));
    }
    let mut notes = notes(&invoice.notes, &invoice.terms);
    let due_now = if payable { account.due_now() } else { 0 };
    if due_now > 0 {
        notes.push((
            "How to pay".to_owned(),
            format!(
                "Please pay {} quoting {number} as the reference.",
                currency.format(due_now)
            ),
        ));
    }
    let document = Document {
        title: title.to_owned(),
        number: number.clone(),
        stamp: match shown {
            InvoiceStatus::Draft => Some("DRAFT".to_owned()),
            InvoiceStatus::Void => Some("VOID".to_owned()),
            _ => None,
        },
        subject: None,
        facts,
        company: company(settings),
        customer_heading: if credit_note { "For" } else { "Bill to" }.to_owned(),
        customer: customer.map(str::to_owned).into_iter().collect(),
        sections: vec![Section {
            heading: None,
            items: items(currency, &indexed, &totals),
            totals: rows,
        }],
        notes,
        footer: footer(title, &number, settings),
        paper: Paper::for_currency(currency.code()),
    };
    Ok(pdf::render(
        &document,
        logo.and_then(Logo::from_bytes).as_ref(),
    ))
}

/// A quote as the share page shows it: the lines every option includes, each option's lines
/// and totals, the optional extras, and who accepted it. A draft is stamped DRAFT.
pub fn quote_pdf(
    settings: &Settings,
    row: &QuoteRow,
    customer: Option<&str>,
    now: Millis,
    logo: Option<&[u8]>,
) -> AppResult<Vec<u8>> {
    let quote = row.to_domain()?;
    let shown = quote_status(row, now)?;
    let currency = quote.pricing.currency;
    let all = totals(&quote.lines, quote.pricing)?;
    let options = quote.options();
    let indexed: Vec<(usize, &Line)> = quote.lines.iter().enumerate().collect();
    let pick = |keep: &dyn Fn(&Line) -> bool| -> Vec<(usize, &Line)> {
        indexed.iter().copied().filter(|(_, l)| keep(l)).collect()
    };

    let mut sections = Vec::new();
    let common = pick(&|l| l.option.is_none() && !l.optional);
    if !common.is_empty() || options.is_empty() {
        sections.push(Section {
            heading: Some(
                if options.is_empty() {
                    "Work"
                } else {
                    "Included in every option"
                }
                .to_owned(),
            ),
            items: items(currency, &common, &all),
            totals: if options.is_empty() {
                total_rows(currency, &all)
            } else {
                Vec::new()
            },
        });
    }
    for option in &options {
        let lines = pick(&|l| l.option.as_deref() == Some(*option) && !l.optional);
        let choice = Choice {
            option: Some((*option).to_owned()),
            optional_lines: Vec::new(),
        };
        sections.push(Section {
            heading: Some(format!("Option: {option}")),
            items: items(currency, &lines, &all),
            totals: total_rows(currency, &quote.totals(&choice)?),
        });
    }
    let extras = pick(&|l| l.optional);
    if !extras.is_empty() {
        sections.push(Section {
            heading: Some("Optional extras".to_owned()),
            items: items(currency, &extras, &all),
            totals: Vec::new(),
        });
    }

    let number = number_text(row.number);
    let valid_until = quote.valid_until.to_rfc3339();
    let mut facts = vec![
        ("Valid until".to_owned(), day(&valid_until).to_owned()),
        ("Status".to_owned(), shown.as_str().to_owned()),
    ];
    if let (Some(signer), Some(at)) = (&row.signer_name, &row.accepted_at) {
        facts.push(("Accepted by".to_owned(), signer.clone()));
        facts.push(("Accepted on".to_owned(), day(at).to_owned()));
        if let Some(option) = &row.chosen_option {
            facts.push(("Option".to_owned(), option.clone()));
        }
    }
    let document = Document {
        title: "Quote".to_owned(),
        number: number.clone(),
        stamp: (shown == QuoteStatus::Draft).then(|| "DRAFT".to_owned()),
        subject: Some(quote.title.clone()),
        facts,
        company: company(settings),
        customer_heading: "Prepared for".to_owned(),
        customer: customer.map(str::to_owned).into_iter().collect(),
        sections,
        notes: notes(&quote.notes, &quote.terms),
        footer: footer("Quote", &number, settings),
        paper: Paper::for_currency(currency.code()),
    };
    Ok(pdf::render(
        &document,
        logo.and_then(Logo::from_bytes).as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_names_keep_only_safe_characters() {
        assert_eq!(
            file_name("invoice", Some("INV-0042")),
            "invoice-INV-0042.pdf"
        );
        assert_eq!(file_name("invoice", None), "invoice-draft.pdf");
        assert_eq!(file_name("quote", Some("Q-0007")), "quote-Q-0007.pdf");
        assert_eq!(file_name("invoice", Some("\"; x=/../é")), "invoice-x.pdf");
        assert_eq!(file_name("invoice", Some("\"/")), "invoice-draft.pdf");
    }
}
