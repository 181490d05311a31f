//! Customers and their service sites: what a valid one is, and how a change applies to one.
//!
//! A create and a PATCH carry the same [`CustomerChanges`]: on create the required fields must
//! be there; on PATCH only the fields present change (`null` clears an optional one). Every
//! problem is reported against its field, all at once.

use crate::domain::personal;
use crate::json;
use serde::Deserialize;
use serde_json::Value;

use crate::domain::contact::{Email, Phone};
use crate::error::AppError;

const MAX_EMAILS: usize = 10;
const MAX_PHONES: usize = 10;
const MAX_TAGS: usize = 20;

/// How the customer prefers to be reached.
pub const CONTACT_METHODS: [&str; 3] = ["phone", "sms", "email"];

/// A customer's fields, valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub name: String,
    pub company: Option<String>,
    pub emails: Vec<Email>,
    pub phones: Vec<Phone>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
    pub preferred_contact: String,
}

/// A create or a change, as the client sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomerChanges {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub company: Option<Option<String>>,
    pub emails: Option<Vec<String>>,
    pub phones: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub notes: Option<Option<String>>,
    pub preferred_contact: Option<String>,
}

/// Tells a missing field (`None`) from an explicit `null` (`Some(None)`).
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Collects field errors so a form can show all of them at once.
#[derive(Default)]
pub struct FieldErrors(Vec<Value>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: &str) {
        self.0
            .push(json!({ "field": field.into(), "message": message }));
    }

    pub fn into_result<T>(self, value: T, summary: &str) -> Result<T, AppError> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(AppError::invalid_fields(summary, self.0))
        }
    }
}

/// Trims; empty becomes `None`; over `max` characters is an error.
fn optional_text(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<String>,
    max: usize,
) -> Option<String> {
    let value = value
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())?;
    if value.chars().count() > max {
        errors.add(field, &format!("At most {max} characters."));
    }
    Some(value)
}

impl Customer {
    /// A new customer from a create request.
    pub fn create(changes: CustomerChanges) -> Result<Customer, AppError> {
        let blank = Customer {
            name: String::new(),
            company: None,
            emails: Vec::new(),
            phones: Vec::new(),
            tags: Vec::new(),
            notes: None,
            preferred_contact: "phone".to_owned(),
        };
        let mut errors = FieldErrors::default();
        if changes.name.is_none() {
            errors.add("name", "A customer needs a name.");
        }
        let customer = blank.apply_collecting(changes, &mut errors);
        errors.into_result(customer, "The customer could not be saved.")
    }

    /// This customer with `changes` applied.
    pub fn apply(self, changes: CustomerChanges) -> Result<Customer, AppError> {
        let mut errors = FieldErrors::default();
        let customer = self.apply_collecting(changes, &mut errors);
        errors.into_result(customer, "The customer could not be saved.")
    }

    fn apply_collecting(mut self, changes: CustomerChanges, errors: &mut FieldErrors) -> Customer {
        if let Some(name) = changes.name {
            let name = name.trim().to_owned();
            if name.is_empty() || name.chars().count() > 200 {
                errors.add("name", "A name of 1 to 200 characters.");
            }
            self.name = name;
        }
        if let Some(company) = changes.company {
            self.company = optional_text(errors, "company", company, 200);
        }
        if let Some(notes) = changes.notes {
            self.notes = optional_text(errors, "notes", notes, 10_000);
        }
        if let Some(emails) = changes.emails {
            if emails.len() > MAX_EMAILS {
                errors.add("emails", &format!("At most {MAX_EMAILS} addresses."));
            }
            self.emails = Vec::new();
            for (i, email) in emails.iter().enumerate() {
                match Email::parse(email) {
                    Ok(e) if !self.emails.contains(&e) => self.emails.push(e),
                    Ok(_) => {}
                    Err(message) => errors.add(format!("emails[{i}]"), message),
                }
            }
        }
        if let Some(phones) = changes.phones {
            if phones.len() > MAX_PHONES {
                errors.add("phones", &format!("At most {MAX_PHONES} numbers."));
            }
            self.phones = Vec::new();
            for (i, phone) in phones.iter().enumerate() {
                match Phone::parse(phone) {
                    Ok(p) if !self.phones.contains(&p) => self.phones.push(p),
                    Ok(_) => {}
                    Err(message) => errors.add(format!("phones[{i}]"), message),
                }
            }
        }
        if let Some(tags) = changes.tags {
            if tags.len() > MAX_TAGS {
                errors.add("tags", &format!("At most {MAX_TAGS} tags."));
            }
            self.tags = Vec::new();
            for (i, tag) in tags.iter().enumerate() {
                let tag = tag.trim().to_lowercase();
                if tag.is_empty() || tag.chars().count() > 40 {
                    errors.add(format!("tags[{i}]"), "Tags are 1 to 40 characters.");
                } else if !self.tags.contains(&tag) {
                    self.tags.push(tag);
                }
            }
        }
        if let Some(method) = changes.preferred_contact {
            if !CONTACT_METHODS.contains(&method.as_str()) {
                errors.add("preferred_contact", "One of phone, sms, email.");
            }
            self.preferred_contact = method;
        }
        if self.preferred_contact == "email" && self.emails.is_empty() {
            errors.add("preferred_contact", "Add an email address to prefer email.");
        }
        if matches!(self.preferred_contact.as_str(), "sms") && self.phones.is_empty() {
            errors.add(
                "preferred_contact",
                "Add a phone number to prefer text messages.",
            );
        }
        self
    }

    /// The blind-index terms search finds the customer by: the words of the name and company
    /// (prefixes of three letters or more), each email address, each phone number and its
    /// endings (`domain::personal`).
    pub fn terms(&self) -> Vec<String> {
        let mut terms = personal::name_terms(&self.name);
        if let Some(company) = &self.company {
            terms.extend(personal::name_terms(company));
        }
        terms.extend(self.emails.iter().map(|e| personal::email_term(e.as_str())));
        for phone in &self.phones {
            terms.extend(personal::phone_terms(phone.as_str()));
        }
        super::order::by_key(&mut terms, |t| (0, t.clone(), String::new()));
        terms.dedup();
        terms
    }
}

/// The longest LIKE pattern D1 accepts, in bytes (SQLite's default is 50 000; D1 refuses more
/// than 50 with "LIKE or GLOB pattern too complex").
pub const LIKE_PATTERN_MAX_BYTES: usize = 50;

/// Turns what a user types into a search into a LIKE pattern: lower-cased, with a typed phone
/// number reduced to its digits (so "+1 212-555" finds "+12125550143"), and LIKE's wildcards
/// escaped (with `\`). A search longer than D1 allows is searched for by its beginning.
pub fn search_pattern(query: &str) -> Option<String> {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return None;
    }
    let looks_like_phone = query.starts_with('+')
        || query
            .chars()
            .all(|c| c.is_ascii_digit() || " -().".contains(c));
    let needle: String = if looks_like_phone {
        query.chars().filter(char::is_ascii_digit).collect()
    } else {
        query
    };
    if needle.is_empty() {
        return None;
    }
    let mut escaped = String::new();
    for c in needle.chars() {
        let width = c.len_utf8() + usize::from(matches!(c, '\\' | '%' | '_'));
        // Two bytes for the surrounding `%`.
        if escaped.len() + width + 2 > LIKE_PATTERN_MAX_BYTES {
            break;
        }
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    Some(format!("%{escaped}%"))
}

/// An optional text field of a change: its name, the change, where it goes, its length limit.
type OptionalField<'a> = (
    &'a str,
    Option<Option<String>>,
    &'a mut Option<String>,
    usize,
);

/// A site's fields, valid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Site {
    pub label: Option<String>,
    pub line1: String,
    pub line2: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub access_notes: Option<String>,
    pub is_primary: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteChanges {
    #[serde(default, deserialize_with = "nullable")]
    pub label: Option<Option<String>>,
    pub line1: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub line2: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub city: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub region: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub postal_code: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub country: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub access_notes: Option<Option<String>>,
    pub is_primary: Option<bool>,
}

impl Site {
    pub fn create(changes: SiteChanges) -> Result<Site, AppError> {
        let mut errors = FieldErrors::default();
        if changes.line1.is_none() {
            errors.add("line1", "A site needs its street address.");
        }
        let site = Site::default().apply_collecting(changes, &mut errors);
        errors.into_result(site, "The site could not be saved.")
    }

    pub fn apply(self, changes: SiteChanges) -> Result<Site, AppError> {
        let mut errors = FieldErrors::default();
        let site = self.apply_collecting(changes, &mut errors);
        errors.into_result(site, "The site could not be saved.")
    }

    fn apply_collecting(mut self, changes: SiteChanges, errors: &mut FieldErrors) -> Site {
        if let Some(line1) = changes.line1 {
            let line1 = line1.trim().to_owned();
            if line1.is_empty() || line1.chars().count() > 200 {
                errors.add("line1", "A street address of 1 to 200 characters.");
            }
            self.line1 = line1;
        }
        let fields: [OptionalField<'_>; 6] = [
            ("label", changes.label, &mut self.label, 100),
            ("line2", changes.line2, &mut self.line2, 200),
            ("city", changes.city, &mut self.city, 100),
            ("region", changes.region, &mut self.region, 100),
            (
                "postal_code",
                changes.postal_code,
                &mut self.postal_code,
                20,
            ),
            (
                "access_notes",
                changes.access_notes,
                &mut self.access_notes,
                2_000,
            ),
        ];
        for (field, change, slot, max) in fields {
            if let Some(value) = change {
                *slot = optional_text(errors, field, value, max);
            }
        }
        if let Some(country) = changes.country {
            let country = country
                .map(|c| c.trim().to_uppercase())
                .filter(|c| !c.is_empty());
            if country
                .as_deref()
                .is_some_and(|c| c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()))
            {
                errors.add("country", "A two-letter ISO 3166 country code such as US.");
            }
            self.country = country;
        }
        if let Some(primary) = changes.is_primary {
            self.is_primary = primary;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changes(value: Value) -> CustomerChanges {
        serde_json::from_value(value).expect("valid changes")
    }

    #[test]
    fn a_customer_is_created_with_normalised_contacts() {
        let customer = Customer::create(changes(json!({
            "name": "  Ann Lee ",
            "emails": ["Ann@Example.com", "ann@example.com"],
            "phones": ["+1 (212) 555-0143"],
            "tags": ["VIP", "vip", "boiler"],
            "preferred_contact": "sms",
        })))
        .unwrap();
        assert_eq!(customer.name, "Ann Lee");
        assert_eq!(
            customer.emails,
            vec![Email::parse("ann@example.com").unwrap()]
        );
        assert_eq!(customer.phones[0].as_str(), "+12125550143");
        assert_eq!(customer.tags, vec!["vip", "boiler"]);
        let terms = customer.terms();
        for term in [
            "name:ann",
            "name:lee",
            "email:ann@example.com",
            "phone:12125550143",
        ] {
            assert!(terms.contains(&term.to_owned()), "{term} in {terms:?}");
        }
        assert!(terms.contains(&"phone:0143".to_owned()));
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let err = Customer::create(changes(json!({
            "emails": ["ok@example.com", "nope"],
            "phones": ["555-0143"],
            "preferred_contact": "pigeon",
        })))
        .unwrap_err();
        assert_eq!(err.status(), 422);
        let fields: Vec<String> = err.extensions["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            fields,
            ["name", "emails[1]", "phones[0]", "preferred_contact"]
        );
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_null_clears() {
        let customer =
            Customer::create(changes(json!({"name": "Ann", "company": "Lee & Co"}))).unwrap();
        let patched = customer
            .clone()
            .apply(changes(json!({"company": null})))
            .unwrap();
        assert_eq!(patched.company, None);
        assert_eq!(patched.name, "Ann");
        let untouched = customer.clone().apply(changes(json!({}))).unwrap();
        assert_eq!(untouched, customer);
    }

    #[test]
    fn preferring_a_channel_needs_its_address() {
        let err = Customer::create(changes(
            json!({"name": "Ann", "preferred_contact": "email"}),
        ));
        assert_eq!(err.unwrap_err().status(), 422);
    }

    #[test]
    fn unknown_fields_are_refused_by_the_wire_type() {
        assert!(serde_json::from_value::<CustomerChanges>(json!({"nmae": "x"})).is_err());
    }

    #[test]
    fn a_long_search_is_cut_to_what_d1_accepts_on_a_character_boundary() {
        let pattern = search_pattern(&"\u{99}".repeat(400)).unwrap();
        assert!(pattern.len() <= LIKE_PATTERN_MAX_BYTES, "{}", pattern.len());
        assert_eq!(pattern, format!("%{}%", "\u{99}".repeat(24)));
        let pattern = search_pattern(&"_".repeat(100)).unwrap();
        assert_eq!(pattern, format!("%{}%", "\\_".repeat(24)));
    }

    #[test]
    fn search_patterns_match_phone_digits_and_escape_wildcards() {
        assert_eq!(search_pattern(" Ann "), Some("%ann%".to_owned()));
        assert_eq!(search_pattern("+1 212-555"), Some("%1212555%".to_owned()));
        assert_eq!(
            search_pattern("100%_off"),
            Some("%100\\%\\_off%".to_owned())
        );
        assert_eq!(search_pattern("   "), None);
        assert_eq!(search_pattern("()"), None);
    }

    #[test]
    fn sites_need_a_street_and_a_proper_country_code() {
        let site: SiteChanges =
            serde_json::from_value(json!({"line1": "1 Main St", "country": "us"})).unwrap();
        let site = Site::create(site).unwrap();
        assert_eq!(site.country.as_deref(), Some("US"));
        let bad: SiteChanges = serde_json::from_value(json!({"country": "USA"})).unwrap();
        assert_eq!(Site::create(bad).unwrap_err().status(), 422);
    }
}
