//! The company's billing defaults — tax rate, rounding rule, invoice number prefix, payment
//! terms, brand colour — and what valid ones are. They live in the company settings and are
//! copied onto each quote and invoice when it is made, so changing a default never changes a
//! document already written.

use crate::json;

use crate::domain::money::{Currency, Pricing, Rounding, PPM};
use crate::error::{AppError, ErrorKind};

/// Payment terms run from 0 (due on receipt) to a year.
pub const MAX_PAYMENT_TERMS_DAYS: i64 = 365;

/// A default tax rate in parts per million: 0 to 1 000 000 (100%).
pub fn check_tax_rate_ppm(ppm: i64) -> Result<i64, &'static str> {
    if (0..=PPM).contains(&ppm) {
        Ok(ppm)
    } else {
        Err("A tax rate in parts per million, from 0 to 1000000 (100%).")
    }
}

pub fn parse_rounding(text: &str) -> Result<Rounding, &'static str> {
    Rounding::parse(text).ok_or("One of per_line, per_document.")
}

/// Days from issue to the due date.
pub fn check_payment_terms_days(days: i64) -> Result<i64, &'static str> {
    if (0..=MAX_PAYMENT_TERMS_DAYS).contains(&days) {
        Ok(days)
    } else {
        Err("A number of days from 0 (due on receipt) to 365.")
    }
}

/// `#1F6FEB` or `#1f6feb` → `#1f6feb`: six hex digits, stored lower-case so equal colours
/// compare equal. Short forms and names are refused: the colour goes into documents and
/// e-mails as is.
pub fn parse_brand_color(text: &str) -> Result<String, &'static str> {
    let text = text.trim();
    match text.strip_prefix('#') {
        Some(hex) if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(text.to_ascii_lowercase())
        }
        _ => Err("A colour as # and six hex digits, like #1f6feb."),
    }
}

/// The pricing new documents get from the settings' currency and rounding. A stored currency
/// this build cannot price (set before currencies were checked) is a 409 saying what to fix.
pub fn pricing(currency: &str, rounding: &str) -> Result<Pricing, AppError> {
    let unusable = |setting: &str, what: String| {
        AppError::new(ErrorKind::Conflict)
            .with_detail(format!(
                "{what} Change it in the company settings before making quotes or invoices."
            ))
            .with_extension("setting", json!(setting))
    };
    let currency = Currency::parse(currency).map_err(|_| {
        unusable(
            "currency",
            format!("The company currency {currency:?} is not supported."),
        )
    })?;
    let rounding = Rounding::parse(rounding).ok_or_else(|| {
        unusable(
            "rounding",
            format!("The company rounding {rounding:?} is unknown."),
        )
    })?;
    Ok(Pricing { currency, rounding })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tax_rates_and_payment_terms_are_bounded() {
        for (ppm, ok) in [
            (0, true),
            (99_750, true),
            (PPM, true),
            (-1, false),
            (PPM + 1, false),
        ] {
            assert_eq!(check_tax_rate_ppm(ppm).is_ok(), ok, "{ppm}");
        }
        for (days, ok) in [
            (0, true),
            (30, true),
            (365, true),
            (-1, false),
            (366, false),
        ] {
            assert_eq!(check_payment_terms_days(days).is_ok(), ok, "{days}");
        }
        assert_eq!(parse_rounding("per_document"), Ok(Rounding::PerDocument));
        assert!(parse_rounding("per-line").is_err());
    }

    #[test]
    fn brand_colours_are_six_hex_digits_stored_lower_case() {
        let cases = [
            ("#1F6FEB", Some("#1f6feb")),
            (" #00ff00 ", Some("#00ff00")),
            ("#fff", None),
            ("1f6feb", None),
            ("#1f6fe", None),
            ("#1f6febb", None),
            ("#1g6feb", None),
            ("red", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_brand_color(text).ok().as_deref(),
                expected,
                "{text:?}"
            );
        }
    }

    #[test]
    fn documents_are_priced_only_in_a_supported_currency() {
        assert_eq!(
            pricing("JPY", "per_document").unwrap(),
            Pricing {
                currency: Currency::JPY,
                rounding: Rounding::PerDocument
            }
        );
        let err = pricing("XXX", "per_line").unwrap_err();
        assert_eq!(err.status(), 409);
        assert_eq!(err.extensions["setting"], "currency");
        assert_eq!(
            pricing("USD", "sideways").unwrap_err().extensions["setting"],
            "rounding"
        );
    }
}
