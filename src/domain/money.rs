//! Money: ISO 4217 currencies, exact decimal parsing and display, priced lines, and the totals
//! of a quote or invoice under either rounding rule.
//!
//! Every amount is an `i64` count of the document's minor unit (cents, yen, fils); rates and
//! percentages are integer parts per million (9.975% is 99 750). Products are taken in `i128`
//! and every step that could overflow is checked, so a huge input is a 422, never a panic and
//! never a wrapped number.
//!
//! ## Rounding
//! One rule, half-up, applied in one helper ([`div_round_half_up`]). "Half-up" here means half
//! away from zero: 997.5 becomes 998 and -997.5 becomes -998. Amounts on a valid document are
//! never negative, so the sign rarely matters; choosing the symmetric rule means that if an
//! amount is ever computed on negated inputs (a reversal) it comes out as the exact negation,
//! instead of drifting by a minor unit as half-towards-positive-infinity would.
//!
//! A line is priced in this order, rounding after each step:
//! `gross = round(quantity_milli × unit_price / 1000)`, `discount` (a fixed amount, or
//! `round(gross × ppm / 1 000 000)`), `net = gross − discount`. Tax then follows the tenant's
//! [`Rounding`]:
//! - **per line** (the default): `tax = round(net × rate / 1 000 000)` on each line; a rate
//!   group's tax is the sum of its lines' taxes.
//! - **per document**: lines sharing a rate form a group whose tax is
//!   `round(Σ net × rate / 1 000 000)`, rounded once. That is the sum of the lines' unrounded
//!   taxes, exactly: every line in the group has the same rate, so `Σ(netᵢ × r) = (Σ netᵢ) × r`
//!   in integers and no fractions need carrying. Lines then carry no tax of their own
//!   (`LineAmounts::tax` is `None`): the tax lives on the rate groups, which is what is stored
//!   and shown, so what is stored still adds up exactly.
//!
//! Either way [`Totals`] is built only by adding up the computed lines and groups: `subtotal`
//! is the sum of gross amounts, `discount_total` the sum of discounts, `tax_total` the sum of
//! the groups' tax, and `total = subtotal − discount_total + tax_total`.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::customers::FieldErrors;
use crate::error::AppError;

/// A million units in thousandths, as for job items.
pub const MAX_QUANTITY_MILLI: i64 = 1_000_000_000;
/// Ten billion dollars in cents. With the largest quantity a line's gross stays below 10^18,
/// inside `i64`; only the sum of many such lines can overflow, and that is checked.
pub const MAX_UNIT_PRICE: i64 = 1_000_000_000_000;
/// Parts per million in one whole: a 100% rate or discount.
pub const PPM: i64 = 1_000_000;
const MAX_LINE_DESCRIPTION: usize = 1_000;
const MAX_OPTION_NAME: usize = 40;

/// An ISO 4217 currency this product supports, with the number of decimal places its minor
/// unit has. Only the constants below exist, so holding a `Currency` means holding a known one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u32,
}

/// Declares each supported currency once: a constant named by its code, and its place in `ALL`.
macro_rules! currencies {
    ($($code:ident $exponent:literal),* $(,)?) => {
        impl Currency {
            $(pub const $code: Currency = Currency { code: stringify!($code), exponent: $exponent };)*
            pub const ALL: &'static [Currency] = &[$(Currency::$code),*];
        }
    };
}

currencies! {
    USD 2, EUR 2, GBP 2, CAD 2, AUD 2, NZD 2, CHF 2, SEK 2, NOK 2, DKK 2, PLN 2, MXN 2, BRL 2,
    ZAR 2, INR 2, SGD 2, HKD 2,
    JPY 0, KRW 0, ISK 0, CLP 0, VND 0,
    KWD 3, BHD 3, OMR 3, JOD 3, TND 3,
}

impl Currency {
    /// Strict: three capital ASCII letters naming a supported currency. `usd` and ` USD` are
    /// refused rather than fixed up, because a currency is a setting typed once and stored.
    pub fn parse(code: &str) -> Result<Currency, &'static str> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err("A currency code of three capital letters, like USD.");
        }
        Self::ALL
            .iter()
            .copied()
            .find(|currency| currency.code == code)
            .ok_or("That currency is not supported.")
    }

    pub fn code(self) -> &'static str {
        self.code
    }

    /// Decimal places of the minor unit: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u32 {
        self.exponent
    }

    /// Minor units in one major unit: 100, 1 or 1000.
    pub fn minor_per_major(self) -> i64 {
        10_i64.pow(self.exponent)
    }

    /// `USD 1,234.56`, `USD -0.05`, `JPY 1,234`, `KWD 1.234`: the code, a space, a minus sign
    /// when negative, the major units grouped by threes with commas, and exactly as many
    /// decimals as the minor unit has. One rule for every currency and locale, chosen because it
    /// cannot be misread: no symbol is shared between currencies ($ is USD, CAD, AUD, …) and
    /// the decimal point is always a point.
    pub fn format(self, amount: i64) -> String {
        let scale = self.minor_per_major().unsigned_abs();
        let magnitude = amount.unsigned_abs();
        let sign = if amount < 0 { "-" } else { "" };
        let major = group_thousands(magnitude / scale);
        if self.exponent == 0 {
            format!("{} {sign}{major}", self.code)
        } else {
            let width = self.exponent as usize;
            format!("{} {sign}{major}.{:0width$}", self.code, magnitude % scale)
        }
    }

    /// A decimal string in major units to minor units, exactly: `"12.5"` USD is 1250. Accepts an
    /// optional leading `-`, digits, and at most as many decimals as the currency has
    /// (`"12.345"` USD and `"1.5"` JPY are refused, not rounded: a price typed with more
    /// precision than the currency holds is a mistake to show, not to guess at). Thousands
    /// separators are refused: `1,234` means different things in different countries.
    pub fn parse_amount(self, text: &str) -> Result<i64, &'static str> {
        let amount =
            parse_decimal(text.trim(), self.exponent).map_err(|problem| match problem {
                DecimalProblem::Malformed => "An amount like 12.34, without thousands separators.",
                DecimalProblem::TooPrecise => "Too many decimal places for this currency.",
                DecimalProblem::TooLarge => "That amount is too large.",
            })?;
        i64::try_from(amount).map_err(|_| "That amount is too large.")
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::parse(&code).map_err(serde::de::Error::custom)
    }
}

/// `1234567` → `1,234,567`.
fn group_thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

enum DecimalProblem {
    Malformed,
    TooPrecise,
    TooLarge,
}

/// `[-]digits[.digits]` scaled by 10^places, exactly, or why not.
fn parse_decimal(text: &str, places: u32) -> Result<i128, DecimalProblem> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(whole) || fraction.is_some_and(|f| !all_digits(f)) {
        return Err(DecimalProblem::Malformed);
    }
    let fraction = fraction.unwrap_or("");
    let fraction_len = u32::try_from(fraction.len()).map_err(|_| DecimalProblem::TooPrecise)?;
    if fraction_len > places {
        return Err(DecimalProblem::TooPrecise);
    }
    // Nineteen digits already exceed i64, the widest amount anything here stores.
    if whole.trim_start_matches('0').len() > 19 {
        return Err(DecimalProblem::TooLarge);
    }
    let number = |s: &str| {
        s.bytes()
            .fold(0_i128, |acc, b| acc * 10 + i128::from(b - b'0'))
    };
    let scaled =
        number(whole) * 10_i128.pow(places) + number(fraction) * 10_i128.pow(places - fraction_len);
    Ok(if negative { -scaled } else { scaled })
}

/// A percentage typed as a decimal (`"9.975"`) to parts per million (99 750), exactly: at most
/// four decimals, from 0 to 100.
pub fn parse_percent_ppm(text: &str) -> Result<i64, &'static str> {
    const MESSAGE: &str = "A percentage from 0 to 100 with at most 4 decimals, like 9.975.";
    match parse_decimal(text.trim(), 4) {
        Ok(ppm) if (0..=i128::from(PPM)).contains(&ppm) => i64::try_from(ppm).map_err(|_| MESSAGE),
        _ => Err(MESSAGE),
    }
}

/// `numerator / denominator` rounded half away from zero (see the module note for why).
/// `denominator` must be positive; every caller passes a constant (1000 or a million).
pub fn div_round_half_up(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    // Compared as `2r ≥ d` in u128 so no remainder can overflow the doubling.
    if remainder.unsigned_abs() * 2 >= denominator.unsigned_abs() {
        quotient + numerator.signum()
    } else {
        quotient
    }
}

/// Where tax is rounded: a tenant setting, copied onto each document when it is created so a
/// later change of setting does not change the amounts of documents already sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    #[default]
    PerLine,
    PerDocument,
}

impl Rounding {
    pub const ALL: [Rounding; 2] = [Rounding::PerLine, Rounding::PerDocument];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PerLine => "per_line",
            Self::PerDocument => "per_document",
        }
    }

    pub fn parse(value: &str) -> Option<Rounding> {
        Self::ALL.into_iter().find(|r| r.as_str() == value)
    }
}

/// How a document is priced: the tenant's currency and rounding rule, copied onto the document
/// when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pricing {
    pub currency: Currency,
    pub rounding: Rounding,
}

/// A discount on one line. On the wire `{"percent_ppm": 100000}` (10% of the line) or
/// `{"amount": 500}` (5.00 off, in minor units).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Discount {
    /// A share of the line's gross amount; 1 000 000 is the whole line.
    PercentPpm(i64),
    /// A fixed amount off, in minor units.
    Amount(i64),
}

/// One priced line of a quote or invoice. The same shape is sent by clients and stored in the
/// document's JSON column, hence both serde directions; it is valid only once it has passed
/// [`check_line`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub description: String,
    /// Thousandths of a unit: 1.5 h is 1500.
    pub quantity_milli: i64,
    /// Minor units per whole unit.
    pub unit_price: i64,
    /// Parts per million: 9.975% is 99 750.
    #[serde(default)]
    pub tax_rate_ppm: i64,
    #[serde(default)]
    pub discount: Option<Discount>,
    /// An extra the customer may tick or leave; on a quote it counts only when chosen.
    #[serde(default)]
    pub optional: bool,
    /// The quote option (good/better/best) this line belongs to; `None` is always counted.
    #[serde(default)]
    pub option: Option<String>,
}

/// The line trimmed and checked, its problems named under `field` (`lines[2]`), all at once.
pub fn check_line(errors: &mut FieldErrors, field: &str, line: Line, currency: Currency) -> Line {
    let description = line.description.trim().to_owned();
    if description.is_empty() || description.chars().count() > MAX_LINE_DESCRIPTION {
        errors.add(
            format!("{field}.description"),
            "A description of 1 to 1000 characters.",
        );
    }
    let option = line
        .option
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty());
    if option
        .as_ref()
        .is_some_and(|o| o.chars().count() > MAX_OPTION_NAME)
    {
        errors.add(
            format!("{field}.option"),
            "An option name of at most 40 characters.",
        );
    }
    let line = Line {
        description,
        option,
        ..line
    };
    for (name, message) in amount_problems(&line, currency) {
        errors.add(format!("{field}.{name}"), &message);
    }
    line
}

/// What is wrong with the numbers of a line, by field name. Shared by [`check_line`] and
/// [`totals`], so the arithmetic only ever sees lines inside the bounds that keep it exact.
fn amount_problems(line: &Line, currency: Currency) -> Vec<(&'static str, String)> {
    let mut problems = Vec::new();
    let quantity_ok = (1..=MAX_QUANTITY_MILLI).contains(&line.quantity_milli);
    if !quantity_ok {
        problems.push((
            "quantity_milli",
            "A quantity in thousandths, from 1 to 1000000000.".to_owned(),
        ));
    }
    let price_ok = (0..=MAX_UNIT_PRICE).contains(&line.unit_price);
    if !price_ok {
        problems.push((
            "unit_price",
            format!("A unit price in minor units, from 0 to {MAX_UNIT_PRICE}."),
        ));
    }
    if !(0..=PPM).contains(&line.tax_rate_ppm) {
        problems.push((
            "tax_rate_ppm",
            "A tax rate in parts per million, from 0 to 1000000 (100%).".to_owned(),
        ));
    }
    match line.discount {
        Some(Discount::PercentPpm(ppm)) if !(0..=PPM).contains(&ppm) => problems.push((
            "discount",
            "A discount in parts per million, from 0 to 1000000 (100%).".to_owned(),
        )),
        Some(Discount::Amount(amount)) if amount < 0 => {
            problems.push(("discount", "A discount amount of zero or more.".to_owned()))
        }
        // Refused rather than clamped to the line: a discount bigger than what it discounts
        // is almost always a typo (an amount typed where a percentage was meant), and clamping
        // would hide it behind a plausible-looking zero.
        Some(Discount::Amount(amount)) if quantity_ok && price_ok => {
            let gross = gross_of(line);
            if i128::from(amount) > gross {
                problems.push((
                    "discount",
                    format!(
                        "At most {}, the line's amount before discount.",
                        currency.format(i64::try_from(gross).unwrap_or(i64::MAX))
                    ),
                ));
            }
        }
        _ => {}
    }
    problems
}

/// `round(quantity_milli × unit_price / 1000)`, in `i128` so no product can overflow.
fn gross_of(line: &Line) -> i128 {
    div_round_half_up(
        i128::from(line.quantity_milli) * i128::from(line.unit_price),
        1_000,
    )
}

/// A line's computed amounts. `gross − discount = net` always.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LineAmounts {
    pub gross: i64,
    pub discount: i64,
    pub net: i64,
    pub tax_rate_ppm: i64,
    /// The line's own tax when rounding per line; `None` per document, where tax exists only
    /// on the rate groups (see the module note).
    pub tax: Option<i64>,
}

/// The tax of all lines sharing one rate (read back from a quote's stored option totals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxGroup {
    pub rate_ppm: i64,
    /// The sum of the group's line nets.
    pub taxable: i64,
    pub tax: i64,
}

/// A document's amounts, each the exact sum of the parts beneath it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub rounding: Rounding,
    /// One per line given, in the same order.
    pub lines: Vec<LineAmounts>,
    /// Sum of the lines' gross amounts.
    pub subtotal: i64,
    /// Sum of the lines' discounts.
    pub discount_total: i64,
    /// One per distinct rate, lowest rate first, zero-rated lines included.
    pub taxes: Vec<TaxGroup>,
    /// Sum of the groups' tax.
    pub tax_total: i64,
    /// `subtotal − discount_total + tax_total`.
    pub total: i64,
}

/// The totals of `lines`, every one of which counts (choosing which lines count is the
/// document's business: see `Quote::lines_for`). A line outside its bounds is a 422 naming
/// `lines[i].field`, with `i` an index into `lines`; a document too large for `i64` is a 422
/// on `lines`.
pub fn totals(lines: &[Line], pricing: Pricing) -> Result<Totals, AppError> {
    let mut errors = FieldErrors::default();
    for (i, line) in lines.iter().enumerate() {
        for (name, message) in amount_problems(line, pricing.currency) {
            errors.add(format!("lines[{i}].{name}"), &message);
        }
    }
    errors.into_result((), "The lines cannot be priced.")?;

    let ppm = i128::from(PPM);
    let mut amounts = Vec::with_capacity(lines.len());
    // rate → (taxable, tax of the lines when rounding per line); ordered so output is stable.
    let mut groups: BTreeMap<i64, (i128, i128)> = BTreeMap::new();
    let (mut subtotal, mut discount_total) = (0_i128, 0_i128);
    for line in lines {
        let gross = gross_of(line);
        let discount = match line.discount {
            None => 0,
            Some(Discount::PercentPpm(share)) => div_round_half_up(gross * i128::from(share), ppm),
            Some(Discount::Amount(amount)) => i128::from(amount),
        };
        let net = gross - discount;
        let rate = line.tax_rate_ppm;
        let line_tax = div_round_half_up(net * i128::from(rate), ppm);
        let group = groups.entry(rate).or_insert((0, 0));
        group.0 += net;
        group.1 += line_tax;
        subtotal += gross;
        discount_total += discount;
        amounts.push(LineAmounts {
            gross: to_amount(gross)?,
            discount: to_amount(discount)?,
            net: to_amount(net)?,
            tax_rate_ppm: rate,
            tax: match pricing.rounding {
                Rounding::PerLine => Some(to_amount(line_tax)?),
                Rounding::PerDocument => None,
            },
        });
    }

    let mut taxes = Vec::with_capacity(groups.len());
    let mut tax_total = 0_i128;
    for (rate, (taxable, lines_tax)) in groups {
        let tax = match pricing.rounding {
            Rounding::PerLine => lines_tax,
            Rounding::PerDocument => div_round_half_up(taxable * i128::from(rate), ppm),
        };
        tax_total += tax;
        taxes.push(TaxGroup {
            rate_ppm: rate,
            taxable: to_amount(taxable)?,
            tax: to_amount(tax)?,
        });
    }
    Ok(Totals {
        rounding: pricing.rounding,
        lines: amounts,
        subtotal: to_amount(subtotal)?,
        discount_total: to_amount(discount_total)?,
        taxes,
        tax_total: to_amount(tax_total)?,
        total: to_amount(subtotal - discount_total + tax_total)?,
    })
}

/// An `i128` sum back to a stored amount. The `i128` sums themselves cannot overflow: each line
/// is below 2^61 and a document has at most a few hundred lines.
fn to_amount(value: i128) -> Result<i64, AppError> {
    i64::try_from(value)
        .map_err(|_| AppError::invalid_field("lines", "The document's total is too large."))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::json;
    use proptest::prelude::*;

    /// The `[{field, message}]` list of a 422, reduced to its field names.
    pub(crate) fn error_fields(err: &AppError) -> Vec<String> {
        err.extensions["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A plain line: `quantity_milli` of `unit_price` at `tax_rate_ppm`.
    pub(crate) fn line(quantity_milli: i64, unit_price: i64, tax_rate_ppm: i64) -> Line {
        Line {
            description: "Labour".into(),
            quantity_milli,
            unit_price,
            tax_rate_ppm,
            discount: None,
            optional: false,
            option: None,
        }
    }

    fn discounted(discount: Discount, quantity_milli: i64, unit_price: i64) -> Line {
        Line {
            discount: Some(discount),
            ..line(quantity_milli, unit_price, 0)
        }
    }

    pub(crate) const USD_PER_LINE: Pricing = Pricing {
        currency: Currency::USD,
        rounding: Rounding::PerLine,
    };
    const USD_PER_DOCUMENT: Pricing = Pricing {
        currency: Currency::USD,
        rounding: Rounding::PerDocument,
    };

    #[test]
    fn currencies_know_their_minor_units() {
        let cases = [
            ("USD", 2),
            ("EUR", 2),
            ("CAD", 2),
            ("HKD", 2),
            ("JPY", 0),
            ("KRW", 0),
            ("ISK", 0),
            ("CLP", 0),
            ("VND", 0),
            ("KWD", 3),
            ("BHD", 3),
            ("OMR", 3),
            ("JOD", 3),
            ("TND", 3),
        ];
        for (code, exponent) in cases {
            let currency = Currency::parse(code).unwrap();
            assert_eq!(currency.code(), code);
            assert_eq!(currency.exponent(), exponent, "{code}");
            assert_eq!(currency.minor_per_major(), 10_i64.pow(exponent), "{code}");
        }
        assert_eq!(Currency::ALL.len(), 27);
        for currency in Currency::ALL {
            assert_eq!(Currency::parse(currency.code()), Ok(*currency));
        }
    }

    #[test]
    fn currency_codes_are_parsed_strictly() {
        for bad in ["usd", "Usd", "US", "USDD", " USD", "USD ", "", "ÜSD", "US1"] {
            assert_eq!(
                Currency::parse(bad),
                Err("A currency code of three capital letters, like USD."),
                "{bad:?}"
            );
        }
        for unknown in ["XXX", "ABC", "XAU"] {
            assert_eq!(
                Currency::parse(unknown),
                Err("That currency is not supported.")
            );
        }
        assert_eq!(serde_json::to_value(Currency::KWD).unwrap(), json!("KWD"));
        assert_eq!(
            serde_json::from_value::<Currency>(json!("JPY")).unwrap(),
            Currency::JPY
        );
        assert!(serde_json::from_value::<Currency>(json!("jpy")).is_err());
    }

    #[test]
    fn amounts_are_shown_with_the_code_the_sign_and_the_right_decimals() {
        let cases = [
            (Currency::USD, 1234, "USD 12.34"),
            (Currency::USD, 5, "USD 0.05"),
            (Currency::USD, 0, "USD 0.00"),
            (Currency::USD, -5, "USD -0.05"),
            (Currency::USD, 123_456_789, "USD 1,234,567.89"),
            (Currency::EUR, 100_000, "EUR 1,000.00"),
            (Currency::JPY, 1234, "JPY 1,234"),
            (Currency::JPY, 999, "JPY 999"),
            (Currency::JPY, -1_000_000, "JPY -1,000,000"),
            (Currency::KWD, 1234, "KWD 1.234"),
            (Currency::KWD, 1_000_005, "KWD 1,000.005"),
            (Currency::KWD, -7, "KWD -0.007"),
            (Currency::USD, i64::MIN, "USD -92,233,720,368,547,758.08"),
        ];
        for (currency, amount, shown) in cases {
            assert_eq!(currency.format(amount), shown, "{currency} {amount}");
        }
    }

    #[test]
    fn decimal_strings_become_minor_units_exactly() {
        let cases = [
            (Currency::USD, "12.5", 1250),
            (Currency::USD, "12.50", 1250),
            (Currency::USD, "12", 1200),
            (Currency::USD, " 0.01 ", 1),
            (Currency::USD, "-3.1", -310),
            (Currency::USD, "007.00", 700),
            (Currency::JPY, "1234", 1234),
            (Currency::KWD, "1.234", 1234),
            (Currency::KWD, "1.2", 1200),
            (Currency::USD, "92233720368547758.07", i64::MAX),
        ];
        for (currency, text, minor) in cases {
            assert_eq!(currency.parse_amount(text), Ok(minor), "{currency} {text}");
        }
    }

    #[test]
    fn too_many_decimals_and_malformed_amounts_are_refused() {
        let too_precise = "Too many decimal places for this currency.";
        let malformed = "An amount like 12.34, without thousands separators.";
        let too_large = "That amount is too large.";
        let cases = [
            (Currency::USD, "12.345", too_precise),
            (Currency::USD, "0.001", too_precise),
            (Currency::JPY, "12.5", too_precise),
            (Currency::JPY, "12.0", too_precise),
            (Currency::KWD, "1.2345", too_precise),
            (Currency::USD, "", malformed),
            (Currency::USD, "1,234.00", malformed),
            (Currency::USD, ".5", malformed),
            (Currency::USD, "5.", malformed),
            (Currency::USD, "+5", malformed),
            (Currency::USD, "1e3", malformed),
            (Currency::USD, "--1", malformed),
            (Currency::USD, "1.2.3", malformed),
            (Currency::USD, "12 .5", malformed),
            (Currency::USD, "92233720368547758.08", too_large),
            (Currency::USD, "99999999999999999999999", too_large),
        ];
        for (currency, text, message) in cases {
            assert_eq!(
                currency.parse_amount(text),
                Err(message),
                "{currency} {text:?}"
            );
        }
    }

    #[test]
    fn percentages_become_parts_per_million_exactly() {
        let cases = [
            ("9.975", Some(99_750)),
            ("5", Some(50_000)),
            ("14.975", Some(149_750)),
            ("0", Some(0)),
            ("100", Some(PPM)),
            ("0.0001", Some(1)),
            ("0.00001", None),
            ("100.0001", None),
            ("-5", None),
            ("9,975", None),
            ("", None),
        ];
        for (text, ppm) in cases {
            assert_eq!(parse_percent_ppm(text).ok(), ppm, "{text:?}");
        }
    }

    #[test]
    fn rounding_is_half_up_away_from_zero() {
        let cases = [
            (9_975, 10, 998),
            (9_974, 10, 997),
            (9_965, 10, 997),
            (15, 10, 2),
            (14, 10, 1),
            (0, 10, 0),
            (-15, 10, -2),
            (-14, 10, -1),
            (-9_975, 10, -998),
            (997_500_000, 1_000_000, 998),
            (499_999, 1_000_000, 0),
            (500_000, 1_000_000, 1),
        ];
        for (numerator, denominator, rounded) in cases {
            assert_eq!(
                div_round_half_up(numerator, denominator),
                rounded,
                "{numerator}/{denominator}"
            );
        }
    }

    #[test]
    fn quebec_sales_tax_at_9_975_percent_is_exact() {
        // (net in cents, tax in cents): 10000 × 0.09975 = 997.5 → 998, and so on.
        let cases = [
            (10_000, 998),
            (100, 10),
            (1, 0),
            (5, 0),
            (6, 1),
            (2_005, 200),
            (5_013, 500),
            (123_456, 12_315),
            (1_000_000, 99_750),
        ];
        for (net, tax) in cases {
            let totals = totals(&[line(1_000, net, 99_750)], USD_PER_LINE).unwrap();
            assert_eq!(totals.lines[0].tax, Some(tax), "{net}");
            assert_eq!(totals.tax_total, tax, "{net}");
            assert_eq!(totals.total, net + tax, "{net}");
        }
    }

    #[test]
    fn per_line_and_per_document_rounding_give_the_documented_totals() {
        // Three lines of 0.10 at 5%: each line's tax is 0.5 cent. Per line each rounds up to 1
        // (3 in all); per document the group's 1.5 cents rounds once, to 2.
        let lines = vec![line(1_000, 10, 50_000); 3];
        let per_line = totals(&lines, USD_PER_LINE).unwrap();
        assert_eq!(
            per_line.lines.iter().map(|l| l.tax).collect::<Vec<_>>(),
            [Some(1), Some(1), Some(1)]
        );
        assert_eq!(
            per_line.taxes,
            [TaxGroup {
                rate_ppm: 50_000,
                taxable: 30,
                tax: 3
            }]
        );
        assert_eq!((per_line.tax_total, per_line.total), (3, 33));

        let per_document = totals(&lines, USD_PER_DOCUMENT).unwrap();
        assert!(per_document.lines.iter().all(|l| l.tax.is_none()));
        assert_eq!(
            per_document.taxes,
            [TaxGroup {
                rate_ppm: 50_000,
                taxable: 30,
                tax: 2
            }]
        );
        assert_eq!((per_document.tax_total, per_document.total), (2, 32));
        // Everything but the tax is the same either way.
        assert_eq!(per_line.subtotal, per_document.subtotal);
        assert_eq!(per_line.discount_total, per_document.discount_total);
    }

    #[test]
    fn tax_is_broken_down_by_rate_lowest_first() {
        let lines = [
            line(1_000, 10_000, 99_750),
            line(2_000, 2_500, 50_000),
            line(1_000, 700, 0),
            line(500, 3_001, 99_750),
        ];
        let totals = totals(&lines, USD_PER_LINE).unwrap();
        // 500 × 30.01 = 15.005 → 1501 (half-up), whose QST is 149.72 → 150.
        assert_eq!(totals.lines[3].gross, 1_501);
        assert_eq!(
            totals.taxes,
            [
                TaxGroup {
                    rate_ppm: 0,
                    taxable: 700,
                    tax: 0
                },
                TaxGroup {
                    rate_ppm: 50_000,
                    taxable: 5_000,
                    tax: 250
                },
                TaxGroup {
                    rate_ppm: 99_750,
                    taxable: 11_501,
                    tax: 998 + 150
                },
            ]
        );
        assert_eq!(totals.subtotal, 10_000 + 5_000 + 700 + 1_501);
        assert_eq!(totals.tax_total, 250 + 998 + 150);
        assert_eq!(totals.total, totals.subtotal + totals.tax_total);
    }

    #[test]
    fn a_full_discount_makes_a_line_exactly_zero() {
        for discount in [Discount::PercentPpm(PPM), Discount::Amount(3_333)] {
            let lines = [Line {
                tax_rate_ppm: 99_750,
                ..discounted(discount, 3_000, 1_111)
            }];
            for rounding in Rounding::ALL {
                let pricing = Pricing {
                    rounding,
                    ..USD_PER_LINE
                };
                let totals = totals(&lines, pricing).unwrap();
                assert_eq!(totals.lines[0].gross, 3_333);
                assert_eq!(totals.lines[0].discount, 3_333);
                assert_eq!(totals.lines[0].net, 0);
                assert_eq!((totals.tax_total, totals.total), (0, 0), "{discount:?}");
            }
        }
    }

    #[test]
    fn percentage_discounts_round_half_up_and_fixed_ones_are_exact() {
        // (discount, gross 1005, expected discount)
        let cases = [
            (Discount::PercentPpm(100_000), 101), // 100.5 → 101
            (Discount::PercentPpm(333_333), 335), // 334.999665 → 335
            (Discount::PercentPpm(0), 0),
            (Discount::Amount(5), 5),
            (Discount::Amount(0), 0),
        ];
        for (discount, expected) in cases {
            let totals = totals(&[discounted(discount, 1_000, 1_005)], USD_PER_LINE).unwrap();
            assert_eq!(totals.lines[0].discount, expected, "{discount:?}");
            assert_eq!(totals.discount_total, expected);
            assert_eq!(totals.total, 1_005 - expected);
        }
    }

    #[test]
    fn a_discount_larger_than_its_line_is_refused_naming_the_field() {
        let lines = [
            line(1_000, 500, 0),
            discounted(Discount::Amount(1_001), 1_000, 1_000),
        ];
        let err = totals(&lines, USD_PER_LINE).unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(error_fields(&err), ["lines[1].discount"]);
        assert_eq!(
            err.extensions["errors"][0]["message"],
            "At most USD 10.00, the line's amount before discount."
        );
        // Exactly the line is fine.
        let lines = [discounted(Discount::Amount(1_000), 1_000, 1_000)];
        assert_eq!(totals(&lines, USD_PER_LINE).unwrap().total, 0);
    }

    #[test]
    fn zero_and_three_decimal_currencies_total_in_their_own_minor_units() {
        // 1.5 nights at JPY 12,345 with 10% tax: 18517.5 → 18518 yen, tax 1851.8 → 1852.
        let jpy = Pricing {
            currency: Currency::JPY,
            rounding: Rounding::PerLine,
        };
        let totals_jpy = totals(&[line(1_500, 12_345, 100_000)], jpy).unwrap();
        assert_eq!(totals_jpy.subtotal, 18_518);
        assert_eq!(totals_jpy.tax_total, 1_852);
        assert_eq!(jpy.currency.format(totals_jpy.total), "JPY 20,370");

        // 2.5 units at KWD 1.234 (1234 fils) with 5%: 3085 fils, tax 154.25 → 154.
        let kwd = Pricing {
            currency: Currency::KWD,
            rounding: Rounding::PerLine,
        };
        let totals_kwd = totals(&[line(2_500, 1_234, 50_000)], kwd).unwrap();
        assert_eq!(totals_kwd.subtotal, 3_085);
        assert_eq!(totals_kwd.tax_total, 154);
        assert_eq!(kwd.currency.format(totals_kwd.total), "KWD 3.239");
        assert_eq!(kwd.currency.parse_amount("3.239"), Ok(totals_kwd.total));
    }

    #[test]
    fn a_quantity_in_thousandths_rounds_the_gross_half_up() {
        let cases = [
            (1_500, 3, 5), // 4.5 → 5
            (1_499, 3, 4), // 4.497 → 4
            (333, 1, 0),   // 0.333 → 0
            (500, 1, 1),   // 0.5 → 1
            (1, MAX_UNIT_PRICE, 1_000_000_000),
        ];
        for (quantity_milli, unit_price, gross) in cases {
            let totals = totals(&[line(quantity_milli, unit_price, 0)], USD_PER_LINE).unwrap();
            assert_eq!(
                totals.lines[0].gross, gross,
                "{quantity_milli} × {unit_price}"
            );
        }
    }

    #[test]
    fn every_bad_line_field_is_named() {
        let cases: Vec<(&str, Line, Vec<&str>)> = vec![
            (
                "blank description",
                Line {
                    description: "  ".into(),
                    ..line(1_000, 1, 0)
                },
                vec!["lines[0].description"],
            ),
            (
                "long description",
                Line {
                    description: "d".repeat(1_001),
                    ..line(1_000, 1, 0)
                },
                vec!["lines[0].description"],
            ),
            (
                "zero quantity",
                line(0, 1, 0),
                vec!["lines[0].quantity_milli"],
            ),
            (
                "huge quantity",
                line(MAX_QUANTITY_MILLI + 1, 1, 0),
                vec!["lines[0].quantity_milli"],
            ),
            (
                "negative price",
                line(1_000, -1, 0),
                vec!["lines[0].unit_price"],
            ),
            (
                "huge price",
                line(1_000, MAX_UNIT_PRICE + 1, 0),
                vec!["lines[0].unit_price"],
            ),
            (
                "negative rate",
                line(1_000, 1, -1),
                vec!["lines[0].tax_rate_ppm"],
            ),
            (
                "rate over 100%",
                line(1_000, 1, PPM + 1),
                vec!["lines[0].tax_rate_ppm"],
            ),
            (
                "discount over 100%",
                discounted(Discount::PercentPpm(PPM + 1), 1_000, 1),
                vec!["lines[0].discount"],
            ),
            (
                "negative discount",
                discounted(Discount::Amount(-1), 1_000, 1),
                vec!["lines[0].discount"],
            ),
            (
                "long option name",
                Line {
                    option: Some("o".repeat(41)),
                    ..line(1_000, 1, 0)
                },
                vec!["lines[0].option"],
            ),
            (
                "several at once",
                Line {
                    description: String::new(),
                    discount: Some(Discount::Amount(5)),
                    ..line(0, -1, PPM * 2)
                },
                vec![
                    "lines[0].description",
                    "lines[0].quantity_milli",
                    "lines[0].unit_price",
                    "lines[0].tax_rate_ppm",
                ],
            ),
        ];
        for (name, bad, expected) in cases {
            let mut errors = FieldErrors::default();
            check_line(&mut errors, "lines[0]", bad, Currency::USD);
            let err = errors.into_result((), "bad").unwrap_err();
            assert_eq!(error_fields(&err), expected, "{name}");
        }
    }

    #[test]
    fn a_checked_line_is_trimmed_and_a_blank_option_is_none() {
        let mut errors = FieldErrors::default();
        let checked = check_line(
            &mut errors,
            "lines[0]",
            Line {
                description: "  Heat pump ".into(),
                option: Some("   ".into()),
                ..line(1_000, 1, 0)
            },
            Currency::USD,
        );
        assert!(errors.into_result((), "bad").is_ok());
        assert_eq!(checked.description, "Heat pump");
        assert_eq!(checked.option, None);
    }

    #[test]
    fn an_overflowing_document_is_an_error_not_a_panic() {
        let biggest = line(MAX_QUANTITY_MILLI, MAX_UNIT_PRICE, PPM);
        let one = totals(std::slice::from_ref(&biggest), USD_PER_LINE).unwrap();
        assert_eq!(one.total, 2_000_000_000_000_000_000);
        let err = totals(&vec![biggest; 5], USD_PER_LINE).unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(error_fields(&err), ["lines"]);
    }

    #[test]
    fn lines_and_discounts_have_a_compact_wire_form() {
        let parsed: Line = serde_json::from_value(json!({
            "description": "Filter",
            "quantity_milli": 2000,
            "unit_price": 1999,
            "discount": {"percent_ppm": 100000},
        }))
        .unwrap();
        assert_eq!(parsed.discount, Some(Discount::PercentPpm(100_000)));
        assert_eq!(
            (parsed.tax_rate_ppm, parsed.optional, parsed.option),
            (0, false, None)
        );
        let fixed: Discount = serde_json::from_value(json!({"amount": 500})).unwrap();
        assert_eq!(fixed, Discount::Amount(500));
        for bad in [
            json!({"description": "x", "quantity_milli": 1, "unit_price": 1, "price": 1}),
            json!({"description": "x", "quantity_milli": 1, "unit_price": 1.5}),
            json!({"description": "x", "quantity_milli": 1, "unit_price": 1,
                   "discount": {"percent": 10}}),
        ] {
            assert!(
                serde_json::from_value::<Line>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        assert_eq!(Rounding::parse("per_document"), Some(Rounding::PerDocument));
        assert_eq!(Rounding::parse("per-line"), None);
        assert_eq!(Rounding::default(), Rounding::PerLine);
    }

    /// Lines inside their bounds, with small values often so that rounding at .5 is common,
    /// and prices capped so twenty lines cannot overflow (overflow has its own property).
    pub(crate) fn valid_line() -> impl Strategy<Value = Line> {
        let quantity = prop_oneof![1_i64..=5_000, 1_i64..=MAX_QUANTITY_MILLI];
        let price = prop_oneof![0_i64..=2_000, 0_i64..=1_000_000_000];
        let rate = prop_oneof![Just(0), Just(50_000), Just(99_750), 0_i64..=PPM];
        // A fixed discount is drawn as a share of the line so it never exceeds it.
        let discount = prop_oneof![
            Just(None),
            (0_i64..=PPM).prop_map(|ppm| Some((true, ppm))),
            (0_i64..=PPM).prop_map(|share| Some((false, share))),
        ];
        (quantity, price, rate, discount).prop_map(|(quantity_milli, unit_price, rate, d)| {
            let plain = line(quantity_milli, unit_price, rate);
            let gross = gross_of(&plain);
            let discount = d.map(|(percent, ppm)| {
                if percent {
                    Discount::PercentPpm(ppm)
                } else {
                    let amount = gross * i128::from(ppm) / i128::from(PPM);
                    Discount::Amount(i64::try_from(amount).unwrap())
                }
            });
            Line { discount, ..plain }
        })
    }

    fn any_rounding() -> impl Strategy<Value = Rounding> {
        prop_oneof![Just(Rounding::PerLine), Just(Rounding::PerDocument)]
    }

    proptest! {
        #[test]
        fn totals_are_always_the_sum_of_their_lines(
            lines in prop::collection::vec(valid_line(), 0..20),
            rounding in any_rounding(),
        ) {
            let t = totals(&lines, Pricing { currency: Currency::USD, rounding }).unwrap();
            prop_assert_eq!(t.lines.len(), lines.len());
            prop_assert_eq!(t.subtotal, t.lines.iter().map(|l| l.gross).sum::<i64>());
            prop_assert_eq!(t.discount_total, t.lines.iter().map(|l| l.discount).sum::<i64>());
            prop_assert_eq!(t.tax_total, t.taxes.iter().map(|g| g.tax).sum::<i64>());
            prop_assert_eq!(t.total, t.subtotal - t.discount_total + t.tax_total);
            for amounts in &t.lines {
                prop_assert_eq!(amounts.gross - amounts.discount, amounts.net);
            }
            for group in &t.taxes {
                let in_group = t.lines.iter().filter(|l| l.tax_rate_ppm == group.rate_ppm);
                let (taxable, tax): (Vec<i64>, Vec<Option<i64>>) =
                    in_group.map(|l| (l.net, l.tax)).unzip();
                prop_assert_eq!(group.taxable, taxable.iter().sum::<i64>());
                match rounding {
                    // The group is exactly the sum of the stored line taxes…
                    Rounding::PerLine => prop_assert_eq!(
                        group.tax,
                        tax.iter().map(|t| t.unwrap()).sum::<i64>()
                    ),
                    // …or the one rounding of the group, with no tax stored on the lines.
                    Rounding::PerDocument => {
                        prop_assert!(tax.iter().all(Option::is_none));
                        let exact = i128::from(group.taxable) * i128::from(group.rate_ppm);
                        prop_assert_eq!(
                            i128::from(group.tax),
                            div_round_half_up(exact, i128::from(PPM))
                        );
                    }
                }
            }
            // The two rules differ by less than one minor unit per line of a group.
            let other = Pricing {
                currency: Currency::USD,
                rounding: match rounding {
                    Rounding::PerLine => Rounding::PerDocument,
                    Rounding::PerDocument => Rounding::PerLine,
                },
            };
            let o = totals(&lines, other).unwrap();
            prop_assert!((t.tax_total - o.tax_total).unsigned_abs() <= lines.len() as u64);
        }

        #[test]
        fn totals_are_never_negative(
            lines in prop::collection::vec(valid_line(), 0..20),
            rounding in any_rounding(),
        ) {
            let t = totals(&lines, Pricing { currency: Currency::USD, rounding }).unwrap();
            for amounts in &t.lines {
                prop_assert!(amounts.net >= 0 && amounts.discount >= 0);
                prop_assert!(amounts.tax.unwrap_or(0) >= 0);
            }
            prop_assert!(t.subtotal >= 0 && t.discount_total >= 0 && t.tax_total >= 0);
            prop_assert!(t.total >= 0);
            prop_assert!(t.discount_total <= t.subtotal);
        }

        #[test]
        fn a_zero_rate_line_has_zero_tax(
            plain in valid_line(),
            rounding in any_rounding(),
        ) {
            let zero_rated = Line { tax_rate_ppm: 0, ..plain };
            let t = totals(&[zero_rated], Pricing { currency: Currency::USD, rounding }).unwrap();
            prop_assert_eq!(t.tax_total, 0);
            prop_assert_eq!(t.lines[0].tax.unwrap_or(0), 0);
            prop_assert_eq!(t.total, t.lines[0].net);
        }

        #[test]
        fn any_numbers_at_all_give_totals_or_an_error_never_a_panic(
            raw in prop::collection::vec(
                (any::<i64>(), any::<i64>(), any::<i64>(), any::<i64>(), any::<bool>()),
                1..8,
            ),
            rounding in any_rounding(),
        ) {
            let lines: Vec<Line> = raw
                .into_iter()
                .map(|(quantity_milli, unit_price, rate, off, percent)| Line {
                    discount: Some(if percent {
                        Discount::PercentPpm(off)
                    } else {
                        Discount::Amount(off)
                    }),
                    ..line(quantity_milli, unit_price, rate)
                })
                .collect();
            if let Ok(t) = totals(&lines, Pricing { currency: Currency::USD, rounding }) {
                prop_assert!(t.total >= 0);
            }
        }

        #[test]
        fn rounding_is_symmetric_around_zero(
            numerator in -(1_i128 << 100)..(1_i128 << 100),
            denominator in prop_oneof![Just(1_000_i128), Just(1_000_000_i128), 1_i128..1_000_000],
        ) {
            prop_assert_eq!(
                div_round_half_up(-numerator, denominator),
                -div_round_half_up(numerator, denominator)
            );
            // And never more than half a unit away from the exact quotient.
            let rounded = div_round_half_up(numerator, denominator);
            prop_assert!((rounded * denominator - numerator).abs() * 2 <= denominator);
        }

        #[test]
        fn a_formatted_amount_parses_back_to_itself(
            amount in any::<i64>(),
            index in 0..Currency::ALL.len(),
        ) {
            let currency = Currency::ALL[index];
            let shown = currency.format(amount);
            let number = shown[4..].replace(',', "");
            prop_assert_eq!(currency.parse_amount(&number), Ok(amount));
        }
    }
}
