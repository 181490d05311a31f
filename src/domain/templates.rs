//! What messages to customers say: the automatic messages' templates (each company may switch
//! one off or reword it), the fixed wording of a quote or invoice sent by staff, and the one
//! renderer. Templates hold plain text with `{placeholders}` only — no markup, no logic — so
//! what a company writes can never become HTML or script: the email's HTML
//! (`views::messages`) is built from the rendered text, escaped, with the link the only anchor.

/// The automatic messages, in the order the settings page lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Booking,
    Reminder,
    OnMyWay,
    JobCompleted,
    InvoiceOverdue,
    QuoteFollowUp,
}

/// A message's wording: a subject (email only) and a body (the SMS is the body alone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    pub subject: String,
    pub body: String,
}

/// Where the link to the document goes in a rendered body, until the sender knows the URL.
pub const LINK: &str = "{link}";

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Booking,
        Kind::Reminder,
        Kind::OnMyWay,
        Kind::JobCompleted,
        Kind::InvoiceOverdue,
        Kind::QuoteFollowUp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Booking => "booking",
            Kind::Reminder => "reminder",
            Kind::OnMyWay => "on_my_way",
            Kind::JobCompleted => "job_completed",
            Kind::InvoiceOverdue => "invoice_overdue",
            Kind::QuoteFollowUp => "quote_follow_up",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The settings page's name for it.
    pub fn title(self) -> &'static str {
        match self {
            Kind::Booking => "Booking confirmation",
            Kind::Reminder => "Reminder the day before a visit",
            Kind::OnMyWay => "On my way",
            Kind::JobCompleted => "Job completed",
            Kind::InvoiceOverdue => "Overdue invoice reminder",
            Kind::QuoteFollowUp => "Quote follow-up",
        }
    }

    /// When it goes out, for the settings page.
    pub fn when(self) -> &'static str {
        match self {
            Kind::Booking => "When a visit is booked.",
            Kind::Reminder => "The day before each visit, at the reminder time.",
            Kind::OnMyWay => "When a technician says they are on the way, with their ETA.",
            Kind::JobCompleted => {
                "When a job is completed, with the invoice's link once it is issued."
            }
            Kind::InvoiceOverdue => "The set days after an unpaid invoice's due date.",
            Kind::QuoteFollowUp => "The set days after a quote was sent without an answer.",
        }
    }

    /// The placeholders its template may use.
    pub fn placeholders(self) -> &'static [&'static str] {
        match self {
            Kind::Booking | Kind::Reminder => &["customer", "company", "job", "date", "time"],
            Kind::OnMyWay => &["customer", "company", "job", "technician", "eta"],
            Kind::JobCompleted => &["customer", "company", "job", "link"],
            Kind::InvoiceOverdue => &["customer", "company", "number", "amount", "days", "link"],
            Kind::QuoteFollowUp => &["customer", "company", "number", "amount", "link"],
        }
    }

    /// The product's wording, used until a company writes its own.
    pub fn default_wording(self) -> Wording {
        let (subject, body) = match self {
            Kind::Booking => (
                "Your visit with {company} is booked",
                "Hello {customer}, your visit for {job} is booked for {date} at {time}. \
                 Reply to this message if that does not suit you. {company}",
            ),
            Kind::Reminder => (
                "Reminder: {company} visits you tomorrow",
                "Hello {customer}, a reminder that {company} will be with you tomorrow, \
                 {date} at {time}, for {job}.",
            ),
            Kind::OnMyWay => (
                "{technician} is on the way",
                "Hello {customer}, {technician} from {company} is on the way for {job} and \
                 should arrive in about {eta} minutes.",
            ),
            Kind::JobCompleted => (
                "{job}: work completed",
                "Hello {customer}, we have completed {job}. Thank you for choosing {company}.\n\
                 Your invoice: {link}",
            ),
            Kind::InvoiceOverdue => (
                "Invoice {number} is overdue",
                "Hello {customer}, invoice {number} for {amount} was due {days} days ago. \
                 You can view and pay it here: {link}",
            ),
            Kind::QuoteFollowUp => (
                "Your quote {number} from {company}",
                "Hello {customer}, did you have a chance to look at quote {number} for \
                 {amount}? You can view and accept it here: {link}",
            ),
        };
        Wording {
            subject: subject.to_owned(),
            body: body.to_owned(),
        }
    }
}

/// The wording of a quote or invoice sent by staff (not automatic, not editable).
pub fn document_wording(document: &str) -> Wording {
    let (subject, body) = if document == "invoice" {
        (
            "Invoice {number} from {company}",
            "Hello {customer}, {company} sent you invoice {number} for {amount}, due {date}. \
             You can view and pay it here: {link}",
        )
    } else {
        (
            "Quote {number} from {company}",
            "Hello {customer}, {company} sent you quote {number} for {amount}. \
             You can view and accept it here: {link}",
        )
    };
    Wording {
        subject: subject.to_owned(),
        body: body.to_owned(),
    }
}

/// A quote's `{amount}`: its price, or "from" its cheapest option's when it offers several.
pub fn quote_amount(formatted: String, options: i64) -> String {
    if options > 1 {
        format!("from {formatted}")
    } else {
        formatted
    }
}

/// The placeholders `text` uses, or why it cannot be a template: an unknown name, or a brace
/// that opens no placeholder.
pub fn check(text: &str, allowed: &[&str]) -> Result<(), String> {
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("A '}' closes no placeholder.".into());
        }
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("A '{' is never closed.".into());
        };
        let name = &after[..close];
        if !allowed.contains(&name) {
            let known: Vec<String> = allowed.iter().map(|n| format!("{{{n}}}")).collect();
            return Err(format!(
                "{{{}}} is not a placeholder here; these are: {}.",
                name.chars().take(40).collect::<String>(),
                known.join(", ")
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// `template` with each `{name}` replaced by its value; `{link}` is kept for the sender, and a
/// line holding `{link}` is left out when there is no link to give.
pub fn render(template: &str, values: &[(&str, &str)], has_link: bool) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    for (i, line) in template.split('\n').enumerate() {
        if !has_link && line.contains(LINK) {
            continue;
        }
        if i > 0 && !out.is_empty() {
            out.push('\n');
        }
        let mut rest = line;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => {
                    let name = &after[..close];
                    match values.iter().find(|(n, _)| *n == name) {
                        Some((_, value)) => out.push_str(value),
                        None if name == "link" => out.push_str(LINK),
                        None => {}
                    }
                    rest = &after[close + 1..];
                }
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
    }
    out
}

/// The message's text with the link in place.
pub fn with_link(text: &str, url: Option<&str>) -> String {
    text.replace(LINK, url.unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_uses_only_its_own_placeholders() {
        for kind in Kind::ALL {
            let wording = kind.default_wording();
            assert_eq!(
                check(&wording.subject, kind.placeholders()),
                Ok(()),
                "{kind:?}"
            );
            assert_eq!(
                check(&wording.body, kind.placeholders()),
                Ok(()),
                "{kind:?}"
            );
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        for document in ["quote", "invoice"] {
            let wording = document_wording(document);
            let allowed = ["customer", "company", "number", "amount", "date", "link"];
            assert_eq!(check(&wording.body, &allowed), Ok(()));
        }
    }

    #[test]
    fn unknown_placeholders_and_stray_braces_are_refused() {
        let allowed = Kind::Reminder.placeholders();
        assert!(check("See you {date}", allowed).is_ok());
        assert!(check("Pay {link}", allowed).unwrap_err().contains("{link}"));
        assert!(check("Hi {customer", allowed).is_err());
        assert!(check("Hi customer}", allowed).is_err());
        assert!(check("{}", allowed).is_err());
    }

    #[test]
    fn rendering_fills_values_and_keeps_the_link_for_the_sender() {
        let text = render(
            "Hello {customer}, pay {amount}: {link}",
            &[("customer", "Ann"), ("amount", "$10.00")],
            true,
        );
        assert_eq!(text, "Hello Ann, pay $10.00: {link}");
        assert_eq!(
            with_link(&text, Some("https://x.example/s/abc")),
            "Hello Ann, pay $10.00: https://x.example/s/abc"
        );
    }

    #[test]
    fn a_quote_with_options_is_priced_from_its_cheapest() {
        assert_eq!(quote_amount("USD 90.00".into(), 1), "USD 90.00");
        assert_eq!(quote_amount("USD 90.00".into(), 3), "from USD 90.00");
    }

    #[test]
    fn a_line_with_the_link_is_left_out_when_there_is_none() {
        let text = render(
            "Done: {job}.\nYour invoice: {link}\nThanks",
            &[("job", "Boiler")],
            false,
        );
        assert_eq!(text, "Done: Boiler.\nThanks");
    }
}
