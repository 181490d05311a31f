//! Email addresses and phone numbers, parsed once at the edge so the rest of the code only
//! ever holds valid ones.

use std::fmt;

/// A lower-cased email address of a plausible shape (one `@`, a dotted domain, no spaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, &'static str> {
        let value = input.trim().to_lowercase();
        let Some((local, domain)) = value.split_once('@') else {
            return Err("An email address needs an @.");
        };
        let plausible = !local.is_empty()
            && local.len() <= 64
            && value.len() <= 254
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if plausible {
            Ok(Email(value))
        } else {
            Err("That is not a valid email address.")
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A phone number in E.164 form: `+`, a country code, at most 15 digits in all.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

impl Phone {
    /// Accepts the usual separators people type (spaces, dashes, dots, parentheses) around an
    /// international number; national numbers without `+` are refused rather than guessed.
    pub fn parse(input: &str) -> Result<Phone, &'static str> {
        let trimmed = input.trim();
        let Some(rest) = trimmed.strip_prefix('+') else {
            return Err("Phone numbers are international: start with + and the country code.");
        };
        let mut digits = String::with_capacity(15);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => return Err("A phone number may hold only digits after the +."),
            }
        }
        if !(8..=15).contains(&digits.len()) || digits.starts_with('0') {
            return Err("That is not a valid international phone number.");
        }
        Ok(Phone(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits alone, for search.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked_for_shape() {
        assert_eq!(
            Email::parse(" Ann@Example.COM ").unwrap().as_str(),
            "ann@example.com"
        );
        for bad in [
            "",
            "ann",
            "ann@",
            "@example.com",
            "ann@example",
            "ann@@example.com",
            "an n@example.com",
            "ann@.example.com",
            "ann@example..com",
            "ann@example.com.",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn phones_are_normalised_to_e164() {
        let cases = [
            ("+1 (212) 555-0143", Some("+12125550143")),
            ("+44 20 7946 0958", Some("+442079460958")),
            ("+33.1.23.45.67.89", Some("+33123456789")),
            ("2125550143", None),
            ("+0 212 555 0143", None),
            ("+1 212 555 0143 ext 5", None),
            ("+1234567", None),
            ("+1234567890123456", None),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Phone::parse(input).ok().as_ref().map(Phone::as_str),
                expected,
                "{input}"
            );
        }
        assert_eq!(
            Phone::parse("+12125550143").unwrap().digits(),
            "12125550143"
        );
    }
}
