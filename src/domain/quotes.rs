//! Quotes: priced lines with good/better/best options and optional extras, a deposit, the
//! status machine, and what the customer's acceptance is.
//!
//! A create and a PATCH carry the same [`QuoteChanges`], as jobs do. Status is not a field of a
//! change: it moves only through [`QuoteStatus::transition`], and to `accepted` only through
//! [`Quote::accept`], which also checks the validity date, the customer's choice and signature.
//!
//! Options: each line belongs to no option (always counted) or to one named option. When a
//! quote has options the customer chooses exactly one; optional lines count only when ticked,
//! and an optional line inside an option can only be ticked with that option. The lines a
//! choice counts are [`Quote::lines_for`], and they are exactly the invoice's lines later, so a
//! quote's price for a choice is the price of the invoice it becomes.

use crate::json;
use serde::{Deserialize, Serialize};

use crate::domain::customers::{nullable, FieldErrors};
use crate::domain::money::{check_line, div_round_half_up, totals, Line, Pricing, Totals, PPM};
use crate::domain::time::Millis;
use crate::error::{AppError, ErrorKind};

const MAX_TITLE: usize = 200;
const MAX_LINES: usize = 200;
const MAX_OPTIONS: usize = 10;
const MAX_NOTES: usize = 10_000;
const MAX_SIGNER_NAME: usize = 200;
/// How long a quote stays open when its author does not say.
pub const DEFAULT_VALIDITY_MS: u64 = 30 * Millis::DAY;

/// Where a quote is in its life. The strings are those stored in `quotes.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuoteStatus {
    Draft,
    Sent,
    Viewed,
    Accepted,
    Declined,
    Expired,
}

impl QuoteStatus {
    pub const ALL: [QuoteStatus; 6] = [
        QuoteStatus::Draft,
        QuoteStatus::Sent,
        QuoteStatus::Viewed,
        QuoteStatus::Accepted,
        QuoteStatus::Declined,
        QuoteStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Sent => "sent",
            Self::Viewed => "viewed",
            Self::Accepted => "accepted",
            Self::Declined => "declined",
            Self::Expired => "expired",
        }
    }

    pub fn parse(value: &str) -> Option<QuoteStatus> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == value)
    }

    /// The statuses a quote in this one may move to: the whole transition table, in one place.
    pub fn allowed_next(self) -> &'static [QuoteStatus] {
        use QuoteStatus::*;
        match self {
            Draft => &[Sent],
            // Accepted straight from sent when the customer says yes on the phone. Back to
            // draft to revise it: a changed quote must be sent again, so the customer never
            // accepts a version they were not shown.
            Sent => &[Viewed, Accepted, Declined, Expired, Draft],
            Viewed => &[Accepted, Declined, Expired, Draft],
            // Accepted is final: the acceptance is a signed agreement that invoices follow;
            // new work is a new quote.
            Accepted => &[],
            // A declined or expired quote may be revised and sent again.
            Declined => &[Draft],
            Expired => &[Draft],
        }
    }

    /// `to` if the table allows it, else a 409 naming where this quote may go instead.
    pub fn transition(self, to: QuoteStatus) -> Result<QuoteStatus, AppError> {
        let allowed = self.allowed_next();
        if allowed.contains(&to) {
            return Ok(to);
        }
        let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
        let current = self.as_str();
        let detail = if to == self {
            format!("The quote is already {current}.")
        } else {
            format!("A quote that is {current} cannot move to {}.", to.as_str())
        };
        let detail = match names.as_slice() {
            [] => format!("{detail} An {current} quote is final."),
            _ => format!("{detail} It can move to {}.", names.join(", ")),
        };
        Err(AppError::new(ErrorKind::Conflict)
            .with_detail(detail)
            .with_extension("allowed", json!(names))
            .with_extension("current_status", json!(current)))
    }

    /// The status as of `now`: a sent or viewed quote past its validity is expired, whether or
    /// not anything has stored that yet, so expiry needs no scheduled job to be enforced.
    /// `valid_until` itself is still valid.
    pub fn at(self, valid_until: Millis, now: Millis) -> QuoteStatus {
        match self {
            Self::Sent | Self::Viewed if now > valid_until => Self::Expired,
            other => other,
        }
    }

    /// The customer opened the share link: a sent quote becomes viewed. `None` when there is
    /// nothing to record (already viewed, or past that stage), so a reload writes nothing.
    pub fn on_view(self) -> Option<QuoteStatus> {
        (self == Self::Sent).then_some(Self::Viewed)
    }

    /// Only drafts are edited; a sent quote goes back to draft first (see `allowed_next`).
    pub fn is_editable(self) -> bool {
        self == Self::Draft
    }
}

/// The deposit a quote asks for on acceptance. On the wire `{"percent_ppm": 250000}` (25% of
/// the chosen total) or `{"amount": 5000}` (in minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Deposit {
    PercentPpm(i64),
    Amount(i64),
}

impl Deposit {
    /// The deposit on a document whose total is `total`: a share rounded half-up, or the fixed
    /// amount. Never more than the total: a share is at most 100%, and a fixed amount above
    /// the total is refused (quote validation already refuses one above the cheapest choice,
    /// so this only fires on data that bypassed it).
    pub fn amount_on(self, total: i64) -> Result<i64, AppError> {
        let amount = match self {
            Self::PercentPpm(ppm) => {
                div_round_half_up(i128::from(total) * i128::from(ppm), i128::from(PPM))
            }
            Self::Amount(amount) => i128::from(amount),
        };
        i64::try_from(amount)
            .ok()
            .filter(|amount| (0..=total).contains(amount))
            .ok_or_else(|| {
                AppError::invalid_field("deposit", "A deposit from zero up to the total.")
            })
    }
}

/// What the customer picks: one option when the quote has options, and the optional lines
/// they tick, by index into the quote's lines.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    #[serde(default)]
    pub option: Option<String>,
    #[serde(default)]
    pub optional_lines: Vec<usize>,
}

/// How a quote's number reads to people: `Q-0007`.
pub fn number_text(number: i64) -> String {
    format!("Q-{number:04}")
}

/// A quote's own fields, valid. Status, customer, site and version live beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub title: String,
    /// Copied from the tenant's settings when the quote is created.
    pub pricing: Pricing,
    pub lines: Vec<Line>,
    pub notes: Option<String>,
    pub terms: Option<String>,
    pub valid_until: Millis,
    pub deposit: Option<Deposit>,
}

/// A create or a change, as the client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuoteChanges {
    pub title: Option<String>,
    /// Replaces the whole list, as job items do.
    pub lines: Option<Vec<Line>>,
    #[serde(default, deserialize_with = "nullable")]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub terms: Option<Option<String>>,
    /// RFC 3339. A string so a bad one is reported against its field with the others.
    pub valid_until: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub deposit: Option<Option<Deposit>>,
}

/// The customer's signed acceptance, as [`Quote::accept`] decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acceptance {
    pub choice: Choice,
    /// Trimmed.
    pub signer_name: String,
    pub accepted_at: Millis,
    /// The total of the chosen lines.
    pub total: i64,
    /// What the customer is asked to pay now; it is applied to the first invoice.
    pub deposit: i64,
}

impl Quote {
    /// A new quote from a create request, priced in the tenant's currency and rounding, open
    /// for [`DEFAULT_VALIDITY_MS`] unless the request says otherwise.
    pub fn create(changes: QuoteChanges, pricing: Pricing, now: Millis) -> Result<Quote, AppError> {
        let blank = Quote {
            title: String::new(),
            pricing,
            lines: Vec::new(),
            notes: None,
            terms: None,
            valid_until: now.plus(DEFAULT_VALIDITY_MS),
            deposit: None,
        };
        let mut errors = FieldErrors::default();
        if changes.title.is_none() {
            errors.add("title", "A quote needs a title.");
        }
        let quote = blank.apply_collecting(changes, now, &mut errors);
        errors.into_result(quote, "The quote could not be saved.")
    }

    /// This quote with `changes` applied.
    pub fn apply(self, changes: QuoteChanges, now: Millis) -> Result<Quote, AppError> {
        let mut errors = FieldErrors::default();
        let quote = self.apply_collecting(changes, now, &mut errors);
        errors.into_result(quote, "The quote could not be saved.")
    }

    fn apply_collecting(
        mut self,
        changes: QuoteChanges,
        now: Millis,
        errors: &mut FieldErrors,
    ) -> Quote {
        if let Some(title) = changes.title {
            let title = title.trim().to_owned();
            if title.is_empty() || title.chars().count() > MAX_TITLE {
                errors.add("title", "A title of 1 to 200 characters.");
            }
            self.title = title;
        }
        let mut lines_valid = true;
        if let Some(lines) = changes.lines {
            if lines.len() > MAX_LINES {
                errors.add("lines", "At most 200 lines.");
            }
            let mut line_errors = FieldErrors::default();
            self.lines = lines
                .into_iter()
                .enumerate()
                .map(|(i, line)| {
                    check_line(
                        &mut line_errors,
                        &format!("lines[{i}]"),
                        line,
                        self.pricing.currency,
                    )
                })
                .collect();
            if let Err(err) = line_errors.into_result((), "") {
                lines_valid = false;
                carry(errors, &err);
            }
        }
        if let Some(notes) = changes.notes {
            self.notes = long_text(errors, "notes", notes);
        }
        if let Some(terms) = changes.terms {
            self.terms = long_text(errors, "terms", terms);
        }
        if let Some(valid_until) = changes.valid_until {
            match Millis::parse_rfc3339(valid_until.trim()) {
                Some(at) if at > now => self.valid_until = at,
                Some(_) => errors.add("valid_until", "A time in the future."),
                None => errors.add("valid_until", "A date and time like 2026-05-01T17:00:00Z."),
            }
        }
        if let Some(deposit) = changes.deposit {
            self.deposit = deposit;
        }
        // What depends on the lines as a whole is checked only once each line is valid.
        if lines_valid {
            self.check_whole(errors);
        }
        self
    }

    /// The rules that span lines: how many options, whether the largest possible document fits
    /// in an amount, and the deposit against the cheapest choice.
    fn check_whole(&self, errors: &mut FieldErrors) {
        if self.options().len() > MAX_OPTIONS {
            errors.add("lines", "At most 10 options.");
        }
        // All lines together are the largest document any choice can make (amounts are never
        // negative), so if they fit, every choice fits.
        if let Err(err) = totals(&self.lines, self.pricing) {
            carry(errors, &err);
            return;
        }
        let Some(deposit) = self.deposit else {
            return;
        };
        match deposit {
            Deposit::PercentPpm(ppm) if !(1..=PPM).contains(&ppm) => errors.add(
                "deposit",
                "A deposit share from 1 to 1000000 parts per million (100%).",
            ),
            Deposit::Amount(amount) if amount < 1 => {
                errors.add("deposit", "A deposit amount above zero.")
            }
            Deposit::Amount(amount) => {
                let cheapest = self.cheapest_total();
                if amount > cheapest {
                    errors.add(
                        "deposit",
                        &format!(
                            "At most {}, the total of the cheapest choice.",
                            self.pricing.currency.format(cheapest)
                        ),
                    );
                }
            }
            Deposit::PercentPpm(_) => {}
        }
    }

    /// The lowest total a customer can accept: each option without extras (extras only add).
    /// Called once the lines are known to price.
    fn cheapest_total(&self) -> i64 {
        let options = self.options();
        let choices: Vec<Option<String>> = if options.is_empty() {
            vec![None]
        } else {
            options.into_iter().map(|o| Some(o.to_owned())).collect()
        };
        choices
            .into_iter()
            .filter_map(|option| {
                let choice = Choice {
                    option,
                    optional_lines: Vec::new(),
                };
                totals(&self.lines_for(&choice), self.pricing).ok()
            })
            .map(|t| t.total)
            .min()
            .unwrap_or(0)
    }

    /// The option names, in the order their first lines appear.
    pub fn options(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for name in self.lines.iter().filter_map(|l| l.option.as_deref()) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    /// A 422 naming `option` or `optional_lines[k]` unless `choice` is one this quote offers.
    pub fn check_choice(&self, choice: &Choice) -> Result<(), AppError> {
        let mut errors = FieldErrors::default();
        self.check_choice_collecting(choice, &mut errors);
        errors.into_result((), "That choice is not one this quote offers.")
    }

    fn check_choice_collecting(&self, choice: &Choice, errors: &mut FieldErrors) {
        let options = self.options();
        let choose_one = || format!("Choose one of: {}.", options.join(", "));
        match &choice.option {
            None if !options.is_empty() => errors.add("option", &choose_one()),
            Some(_) if options.is_empty() => {
                errors.add("option", "This quote has no options to choose from.")
            }
            Some(name) if !options.contains(&name.as_str()) => errors.add("option", &choose_one()),
            _ => {}
        }
        for (k, &index) in choice.optional_lines.iter().enumerate() {
            match self.lines.get(index) {
                Some(line) if line.optional => {
                    if line.option.is_some() && line.option != choice.option {
                        errors.add(
                            format!("optional_lines[{k}]"),
                            "That extra belongs to another option.",
                        );
                    }
                }
                _ => errors.add(
                    format!("optional_lines[{k}]"),
                    "Not an optional line of this quote.",
                ),
            }
        }
    }

    /// The lines `choice` counts, in quote order: lines of no option, the chosen option's
    /// lines, and the ticked extras among them. Assumes a checked choice.
    pub fn lines_for(&self, choice: &Choice) -> Vec<Line> {
        self.lines
            .iter()
            .enumerate()
            .filter(|(i, line)| {
                let in_option = line.option.is_none() || line.option == choice.option;
                let ticked = !line.optional || choice.optional_lines.contains(i);
                in_option && ticked
            })
            .map(|(_, line)| line.clone())
            .collect()
    }

    /// The totals of the document `choice` makes. Line indexes in the result (and in any
    /// error) are indexes into [`Quote::lines_for`].
    pub fn totals(&self, choice: &Choice) -> Result<Totals, AppError> {
        self.check_choice(choice)?;
        totals(&self.lines_for(choice), self.pricing)
    }

    /// Sends a draft to the customer. It needs a line to price, and a validity still ahead:
    /// a draft revised after its date passed must be given a new `valid_until` first, or the
    /// customer would receive a quote that is already expired.
    pub fn send(&self, status: QuoteStatus, now: Millis) -> Result<QuoteStatus, AppError> {
        status.transition(QuoteStatus::Sent)?;
        let mut errors = FieldErrors::default();
        if self.lines.is_empty() {
            errors.add("lines", "A quote needs at least one line to be sent.");
        }
        if self.valid_until <= now {
            errors.add(
                "valid_until",
                "The quote's validity has passed: set a new valid_until first.",
            );
        }
        errors.into_result(QuoteStatus::Sent, "The quote cannot be sent yet.")
    }

    /// The customer accepts, signing as `signer_name`. Refused with a 409 unless the quote is
    /// sent or viewed and not expired at `now`; with a 422 naming each bad field of the choice
    /// and signature.
    pub fn accept(
        &self,
        status: QuoteStatus,
        choice: Choice,
        signer_name: &str,
        now: Millis,
    ) -> Result<Acceptance, AppError> {
        status
            .at(self.valid_until, now)
            .transition(QuoteStatus::Accepted)?;
        let mut errors = FieldErrors::default();
        self.check_choice_collecting(&choice, &mut errors);
        let signer_name = signer_name.trim().to_owned();
        if signer_name.is_empty() || signer_name.chars().count() > MAX_SIGNER_NAME {
            errors.add("signer_name", "The signer's name, 1 to 200 characters.");
        }
        errors.into_result((), "The quote could not be accepted.")?;
        let total = totals(&self.lines_for(&choice), self.pricing)?.total;
        let deposit = match self.deposit {
            Some(deposit) => deposit.amount_on(total)?,
            None => 0,
        };
        Ok(Acceptance {
            choice,
            signer_name,
            accepted_at: now,
            total,
            deposit,
        })
    }
}

/// Trims; empty becomes `None`; over 10 000 characters is an error.
pub(crate) fn long_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<String>,
) -> Option<String> {
    let value = value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    if value.chars().count() > MAX_NOTES {
        errors.add(field, "At most 10000 characters.");
    }
    Some(value)
}

/// Moves the `[{field, message}]` of a 422 into `errors`, so they are reported with the rest.
pub(crate) fn carry(errors: &mut FieldErrors, err: &AppError) {
    let listed = err.extensions.get("errors").and_then(|e| e.as_array());
    for entry in listed.into_iter().flatten() {
        let field = entry["field"].as_str().unwrap_or("lines");
        errors.add(field, entry["message"].as_str().unwrap_or_default());
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::money::tests::{error_fields, USD_PER_LINE};
    use crate::domain::money::{Currency, Rounding};
    use serde_json::Value;
    use QuoteStatus::*;

    pub(crate) const NOW: Millis = Millis(1_780_000_000_000);

    fn changes(value: Value) -> QuoteChanges {
        serde_json::from_value(value).expect("valid changes")
    }

    fn quote(value: Value) -> Quote {
        Quote::create(changes(value), USD_PER_LINE, NOW).expect("valid quote")
    }

    fn wire_line(
        description: &str,
        unit_price: i64,
        option: Option<&str>,
        optional: bool,
    ) -> Value {
        json!({"description": description, "quantity_milli": 1000, "unit_price": unit_price,
               "tax_rate_ppm": 50_000, "option": option, "optional": optional})
    }

    /// A furnace service with three filter options and two extras, all at 5% tax:
    /// good 10900 + 545 = 11445; better 13400 + 670 = 14070; best 18800 + 940 = 19740.
    pub(crate) fn good_better_best(deposit: Value) -> Quote {
        quote(json!({
            "title": "Furnace service",
            "lines": [
                wire_line("Service call", 8_900, None, false),
                wire_line("Basic filter", 2_000, Some("Good"), false),
                wire_line("Pleated filter", 4_500, Some("Better"), false),
                wire_line("HEPA filter", 9_900, Some("Best"), false),
                wire_line("Duct cleaning", 15_000, None, true),
                wire_line("UV lamp", 30_000, Some("Best"), true),
            ],
            "notes": "Parts in stock.",
            "terms": "Net 30.",
            "deposit": deposit,
        }))
    }

    pub(crate) fn choose(option: &str, optional_lines: &[usize]) -> Choice {
        Choice {
            option: Some(option.to_owned()),
            optional_lines: optional_lines.to_vec(),
        }
    }

    /// The table as the issue states it, written out independently of `allowed_next`.
    const TABLE: [(QuoteStatus, &[QuoteStatus]); 6] = [
        (Draft, &[Sent]),
        (Sent, &[Viewed, Accepted, Declined, Expired, Draft]),
        (Viewed, &[Accepted, Declined, Expired, Draft]),
        (Accepted, &[]),
        (Declined, &[Draft]),
        (Expired, &[Draft]),
    ];

    #[test]
    fn every_pair_of_statuses_is_allowed_or_refused_as_the_table_says() {
        for (from, allowed) in TABLE {
            assert_eq!(from.allowed_next(), allowed, "{from:?}");
            let allowed_names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            for to in QuoteStatus::ALL {
                let result = from.transition(to);
                if allowed.contains(&to) {
                    assert_eq!(result, Ok(to), "{from:?} -> {to:?}");
                    continue;
                }
                let err = result.expect_err("refused move");
                assert_eq!(err.kind, ErrorKind::Conflict, "{from:?} -> {to:?}");
                assert_eq!(err.extensions["allowed"], json!(allowed_names));
                assert_eq!(err.extensions["current_status"], json!(from.as_str()));
                let detail = err.detail.as_deref().unwrap_or_default();
                for name in &allowed_names {
                    assert!(detail.contains(name), "{detail} lacks {name}");
                }
            }
        }
    }

    #[test]
    fn a_move_to_the_same_status_is_a_conflict_that_says_so() {
        for status in QuoteStatus::ALL {
            let err = status.transition(status).unwrap_err();
            assert_eq!(err.status(), 409);
            assert!(err.detail.clone().unwrap().contains("already"));
        }
    }

    #[test]
    fn an_accepted_quote_is_final_and_closed_ones_reopen_as_drafts() {
        let err = Accepted.transition(Draft).unwrap_err();
        assert_eq!(
            err.detail.as_deref(),
            Some("A quote that is accepted cannot move to draft. An accepted quote is final.")
        );
        assert_eq!(Declined.transition(Draft), Ok(Draft));
        assert_eq!(Expired.transition(Draft), Ok(Draft));
        assert!(Draft.is_editable());
        assert!(QuoteStatus::ALL
            .iter()
            .filter(|s| s.is_editable())
            .eq([&Draft]));
    }

    #[test]
    fn a_quote_expires_only_once_now_is_past_its_validity() {
        let until = Millis(5_000);
        let cases = [
            (Sent, 4_999, Sent),
            (Sent, 5_000, Sent),
            (Sent, 5_001, Expired),
            (Viewed, 5_001, Expired),
            (Draft, 9_999, Draft),
            (Accepted, 9_999, Accepted),
            (Declined, 9_999, Declined),
            (Expired, 0, Expired),
        ];
        for (stored, now, seen) in cases {
            assert_eq!(stored.at(until, Millis(now)), seen, "{stored:?} at {now}");
        }
    }

    #[test]
    fn opening_the_link_marks_only_a_sent_quote_viewed() {
        for status in QuoteStatus::ALL {
            let expected = (status == Sent).then_some(Viewed);
            assert_eq!(status.on_view(), expected, "{status:?}");
        }
    }

    #[test]
    fn statuses_round_trip_through_their_strings() {
        let names: Vec<&str> = QuoteStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            ["draft", "sent", "viewed", "accepted", "declined", "expired"]
        );
        for status in QuoteStatus::ALL {
            assert_eq!(QuoteStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(QuoteStatus::parse("Accepted"), None);
    }

    #[test]
    fn a_quote_is_created_trimmed_with_thirty_days_of_validity() {
        let created = quote(json!({
            "title": "  New boiler ",
            "lines": [{"description": " Boiler ", "quantity_milli": 1000, "unit_price": 250_000,
                       "option": "  "}],
            "notes": "   ",
            "terms": " Net 30 ",
        }));
        assert_eq!(created.title, "New boiler");
        assert_eq!(created.lines[0].description, "Boiler");
        assert_eq!(created.lines[0].option, None);
        assert_eq!(created.notes, None);
        assert_eq!(created.terms.as_deref(), Some("Net 30"));
        assert_eq!(created.valid_until, Millis(NOW.0 + 30 * Millis::DAY));
        assert_eq!(created.pricing, USD_PER_LINE);
        assert_eq!(created.deposit, None);
        let err = Quote::create(changes(json!({})), USD_PER_LINE, NOW).unwrap_err();
        assert_eq!(error_fields(&err), ["title"]);
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_null_clears() {
        let original = good_better_best(json!({"percent_ppm": 250_000}));
        let untouched = original.clone().apply(changes(json!({})), NOW).unwrap();
        assert_eq!(untouched, original);

        let cleared = original
            .clone()
            .apply(
                changes(json!({"notes": null, "deposit": null, "terms": null})),
                NOW,
            )
            .unwrap();
        assert_eq!(
            (cleared.notes, cleared.terms, cleared.deposit),
            (None, None, None)
        );
        assert_eq!(cleared.lines, original.lines);

        let later = original
            .clone()
            .apply(
                changes(json!({"valid_until": "2026-12-31T17:00:00-05:00"})),
                NOW,
            )
            .unwrap();
        assert_eq!(later.valid_until.to_rfc3339(), "2026-12-31T22:00:00.000Z");
        assert_eq!(later.title, original.title);
    }

    #[test]
    fn every_bad_field_is_named() {
        let good = |price: i64| wire_line("Part", price, None, false);
        let cases: Vec<(&str, Value, Vec<&str>)> = vec![
            ("blank title", json!({"title": " "}), vec!["title"]),
            (
                "long title",
                json!({"title": "t".repeat(201)}),
                vec!["title"],
            ),
            (
                "a bad price on the third line",
                json!({"lines": [good(1), good(2), good(-3)]}),
                vec!["lines[2].unit_price"],
            ),
            (
                "a discount above its line",
                json!({"lines": [{"description": "Part", "quantity_milli": 1000,
                                  "unit_price": 100, "discount": {"amount": 101}}]}),
                vec!["lines[0].discount"],
            ),
            (
                "too many lines",
                json!({"lines": vec![good(1); 201]}),
                vec!["lines"],
            ),
            (
                "too many options",
                json!({"lines": (0..11)
                    .map(|i| wire_line("x", 1, Some(format!("o{i}").as_str()), false))
                    .collect::<Vec<_>>()}),
                vec!["lines"],
            ),
            (
                "long notes and terms",
                json!({"notes": "n".repeat(10_001), "terms": "t".repeat(10_001)}),
                vec!["notes", "terms"],
            ),
            (
                "a validity in the past",
                json!({"valid_until": NOW.to_rfc3339()}),
                vec!["valid_until"],
            ),
            (
                "a validity that is not a time",
                json!({"valid_until": "next tuesday"}),
                vec!["valid_until"],
            ),
            (
                "a zero deposit share",
                json!({"deposit": {"percent_ppm": 0}}),
                vec!["deposit"],
            ),
            (
                "a deposit share over 100%",
                json!({"deposit": {"percent_ppm": 1_000_001}}),
                vec!["deposit"],
            ),
            (
                "a zero deposit amount",
                json!({"deposit": {"amount": 0}}),
                vec!["deposit"],
            ),
            (
                "several at once",
                json!({"title": "", "lines": [good(1), {"description": "", "quantity_milli": 0,
                        "unit_price": 1}], "valid_until": "x"}),
                vec![
                    "title",
                    "lines[1].description",
                    "lines[1].quantity_milli",
                    "valid_until",
                ],
            ),
        ];
        let base = good_better_best(Value::Null);
        for (name, change, expected) in cases {
            let err = base.clone().apply(changes(change), NOW).unwrap_err();
            assert_eq!(err.status(), 422, "{name}");
            assert_eq!(error_fields(&err), expected, "{name}");
        }
    }

    #[test]
    fn a_fixed_deposit_is_never_more_than_the_cheapest_choice() {
        // The cheapest choice is "Good" at 11445.
        assert_eq!(
            good_better_best(json!({"amount": 11_445})).deposit,
            Some(Deposit::Amount(11_445))
        );
        let base = good_better_best(Value::Null);
        let err = base
            .apply(changes(json!({"deposit": {"amount": 11_446}})), NOW)
            .unwrap_err();
        assert_eq!(error_fields(&err), ["deposit"]);
        assert_eq!(
            err.extensions["errors"][0]["message"],
            "At most USD 114.45, the total of the cheapest choice."
        );
    }

    #[test]
    fn a_deposit_share_rounds_half_up_and_never_exceeds_the_total() {
        let cases = [
            (Deposit::PercentPpm(250_000), 14_070, Some(3_518)), // 3517.5 → 3518
            (Deposit::PercentPpm(PPM), 14_070, Some(14_070)),
            (Deposit::PercentPpm(1), 1, Some(0)),
            (Deposit::Amount(5_000), 14_070, Some(5_000)),
            (Deposit::Amount(14_070), 14_070, Some(14_070)),
            (Deposit::Amount(14_071), 14_070, None),
            (Deposit::Amount(-1), 14_070, None),
            (Deposit::PercentPpm(PPM + 1), 1_000_000, None),
            (Deposit::PercentPpm(-100_000), 14_070, None),
            (Deposit::PercentPpm(i64::MAX), i64::MAX, None),
        ];
        for (deposit, total, expected) in cases {
            assert_eq!(
                deposit.amount_on(total).ok(),
                expected,
                "{deposit:?} of {total}"
            );
        }
    }

    #[test]
    fn each_option_is_priced_with_the_shared_lines_and_its_ticked_extras() {
        let quote = good_better_best(Value::Null);
        assert_eq!(quote.options(), ["Good", "Better", "Best"]);
        let cases = [
            (choose("Good", &[]), 11_445),
            (choose("Better", &[]), 14_070),
            (choose("Best", &[]), 19_740),
            // Duct cleaning goes with any option.
            (choose("Good", &[4]), 11_445 + 15_750),
            // The UV lamp only with Best; ticking twice counts once.
            (choose("Best", &[4, 5, 5]), 19_740 + 15_750 + 31_500),
        ];
        for (choice, total) in cases {
            assert_eq!(quote.totals(&choice).unwrap().total, total, "{choice:?}");
        }
        let best = quote.lines_for(&choose("Best", &[5]));
        let names: Vec<&str> = best.iter().map(|l| l.description.as_str()).collect();
        assert_eq!(names, ["Service call", "HEPA filter", "UV lamp"]);
    }

    #[test]
    fn a_quote_without_options_is_chosen_with_no_option() {
        let plain = quote(json!({"title": "Tune-up", "lines": [
            wire_line("Tune-up", 10_000, None, false),
            wire_line("Filter", 2_000, None, true),
        ]}));
        assert!(plain.options().is_empty());
        assert_eq!(plain.totals(&Choice::default()).unwrap().total, 10_500);
        let with_filter = Choice {
            option: None,
            optional_lines: vec![1],
        };
        assert_eq!(plain.totals(&with_filter).unwrap().total, 12_600);
        let err = plain.totals(&choose("Good", &[])).unwrap_err();
        assert_eq!(error_fields(&err), ["option"]);
    }

    #[test]
    fn a_choice_names_one_offered_option_and_only_real_extras() {
        let quote = good_better_best(Value::Null);
        let cases: [(Choice, Vec<&str>, &str); 5] = [
            (
                Choice::default(),
                vec!["option"],
                "Choose one of: Good, Better, Best.",
            ),
            (
                choose("good", &[]),
                vec!["option"],
                "Choose one of: Good, Better, Best.",
            ),
            (
                choose("Good", &[5]),
                vec!["optional_lines[0]"],
                "That extra belongs to another option.",
            ),
            (
                choose("Good", &[4, 0]),
                vec!["optional_lines[1]"],
                "Not an optional line of this quote.",
            ),
            (
                choose("Best", &[99]),
                vec!["optional_lines[0]"],
                "Not an optional line of this quote.",
            ),
        ];
        for (choice, fields, message) in cases {
            let err = quote.check_choice(&choice).unwrap_err();
            assert_eq!(err.status(), 422);
            assert_eq!(error_fields(&err), fields, "{choice:?}");
            assert_eq!(err.extensions["errors"][0]["message"], message);
        }
        assert_eq!(quote.check_choice(&choose("Best", &[4, 5])), Ok(()));
    }

    #[test]
    fn an_acceptance_records_the_signer_the_total_and_the_deposit_due() {
        let quote = good_better_best(json!({"percent_ppm": 250_000}));
        for status in [Sent, Viewed] {
            let accepted = quote
                .accept(status, choose("Better", &[]), "  Ada Lovelace ", NOW)
                .unwrap();
            assert_eq!(
                accepted,
                Acceptance {
                    choice: choose("Better", &[]),
                    signer_name: "Ada Lovelace".into(),
                    accepted_at: NOW,
                    total: 14_070,
                    deposit: 3_518,
                }
            );
        }
        let no_deposit = good_better_best(Value::Null)
            .accept(Sent, choose("Good", &[]), "Ada", NOW)
            .unwrap();
        assert_eq!(no_deposit.deposit, 0);
    }

    #[test]
    fn acceptance_needs_a_choice_and_a_signer_reported_together() {
        let quote = good_better_best(Value::Null);
        let cases = [
            (Choice::default(), "Ada".to_owned(), vec!["option"]),
            (choose("Best", &[]), "   ".to_owned(), vec!["signer_name"]),
            (choose("Best", &[]), "s".repeat(201), vec!["signer_name"]),
            (
                choose("Nope", &[0]),
                String::new(),
                vec!["option", "optional_lines[0]", "signer_name"],
            ),
        ];
        for (choice, signer, fields) in cases {
            let err = quote.accept(Viewed, choice, &signer, NOW).unwrap_err();
            assert_eq!(err.status(), 422);
            assert_eq!(error_fields(&err), fields, "{signer:?}");
        }
        let longest = "s".repeat(200);
        assert!(quote
            .accept(Viewed, choose("Best", &[]), &longest, NOW)
            .is_ok());
    }

    #[test]
    fn acceptance_is_allowed_only_from_sent_or_viewed_and_not_after_expiry() {
        let quote = good_better_best(Value::Null);
        let at_expiry = quote.valid_until;
        let after = Millis(at_expiry.0 + 1);
        let cases = [
            (Draft, NOW, Some("draft")),
            (Accepted, NOW, Some("accepted")),
            (Declined, NOW, Some("declined")),
            (Expired, NOW, Some("expired")),
            (Sent, after, Some("expired")),
            (Viewed, after, Some("expired")),
            (Sent, at_expiry, None),
            (Viewed, at_expiry, None),
        ];
        for (status, now, refused_as) in cases {
            let result = quote.accept(status, choose("Good", &[]), "Ada", now);
            match refused_as {
                None => assert!(result.is_ok(), "{status:?}"),
                Some(current) => {
                    let err = result.unwrap_err();
                    assert_eq!(err.status(), 409, "{status:?}");
                    assert_eq!(err.extensions["current_status"], json!(current));
                }
            }
        }
    }

    #[test]
    fn a_quote_in_a_zero_decimal_currency_checks_deposits_in_its_own_units() {
        // JPY 12,345 at 10%, rounded per document: 1234.5 → 1235, total 13,580 yen.
        let yen = Pricing {
            currency: Currency::JPY,
            rounding: Rounding::PerDocument,
        };
        let body = |deposit: i64| {
            changes(json!({"title": "Repair", "lines": [
                {"description": "Repair", "quantity_milli": 1000, "unit_price": 12_345,
                 "tax_rate_ppm": 100_000}],
                "deposit": {"amount": deposit}}))
        };
        let err = Quote::create(body(13_581), yen, NOW).unwrap_err();
        assert_eq!(
            err.extensions["errors"][0]["message"],
            "At most JPY 13,580, the total of the cheapest choice."
        );
        let created = Quote::create(body(13_580), yen, NOW).unwrap();
        let taxes = created.totals(&Choice::default()).unwrap().taxes;
        assert_eq!((taxes[0].taxable, taxes[0].tax), (12_345, 1_235));
    }

    #[test]
    fn only_a_draft_with_lines_and_a_future_validity_is_sent() {
        let quote = good_better_best(Value::Null);
        assert_eq!(quote.send(Draft, NOW), Ok(Sent));
        for status in [Sent, Viewed, Accepted, Declined, Expired] {
            assert_eq!(
                quote.send(status, NOW).unwrap_err().status(),
                409,
                "{status:?}"
            );
        }
        let empty = Quote::create(changes(json!({"title": "Empty"})), USD_PER_LINE, NOW).unwrap();
        assert_eq!(
            error_fields(&empty.send(Draft, NOW).unwrap_err()),
            ["lines"]
        );
        let stale = quote.send(Draft, quote.valid_until).unwrap_err();
        assert_eq!(error_fields(&stale), ["valid_until"]);
    }

    #[test]
    fn unknown_fields_are_refused_by_the_wire_types() {
        let bodies = [
            json!({"titel": "x"}),
            json!({"title": "x", "status": "accepted"}),
            json!({"title": "x", "currency": "EUR"}),
            json!({"deposit": {"percent": 25}}),
            json!({"deposit": {"amount": 1, "percent_ppm": 1}}),
        ];
        for body in bodies {
            assert!(
                serde_json::from_value::<QuoteChanges>(body.clone()).is_err(),
                "{body}"
            );
        }
        assert!(serde_json::from_value::<Choice>(json!({"option": "Good", "extra": 1})).is_err());
        let choice: Choice = serde_json::from_value(json!({"option": "Best"})).unwrap();
        assert_eq!(choice, choose("Best", &[]));
    }
}
