//! Which way a message reaches a customer: the channel asked for, else the customer's
//! preferred contact (`phone` and `sms` mean SMS), else the other channel when the preferred
//! one has no address; and whether an automatic message may reach them at all (a customer who
//! opted out, by STOP or the unsubscribe link, is never messaged automatically).

use crate::domain::audit::SealKey;
use crate::error::AppError;

const UNSUBSCRIBE: &str = "fieldworker unsubscribe v1";
const UNSUBSCRIBE_MAC_HEX: usize = 32;

/// The token of a customer's unsubscribe link: their id and a MAC of it under the Worker's
/// key, so a link opts out only the customer it was sent to and nobody can make one.
pub fn unsubscribe_token(key: &SealKey, customer_id: &str) -> String {
    let mut mac = key.mac(UNSUBSCRIBE, &[customer_id]);
    mac.truncate(UNSUBSCRIBE_MAC_HEX);
    format!("{customer_id}.{mac}")
}

/// The customer an unsubscribe token names, if it is genuine.
pub fn unsubscribing(key: &SealKey, token: &str) -> Option<String> {
    let (customer_id, _) = token.split_once('.')?;
    if customer_id.is_empty() || customer_id.len() > 64 {
        return None;
    }
    let expected = unsubscribe_token(key, customer_id);
    let same = expected.len() == token.len()
        && expected
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    same.then(|| customer_id.to_owned())
}

/// How staff asked for a document to go out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The customer's preferred contact, else the other one.
    Preferred,
    Email,
    Sms,
    Both,
}

impl Via {
    pub const NAMES: [&'static str; 4] = ["preferred", "email", "sms", "both"];

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "preferred" => Self::Preferred,
            "email" => Self::Email,
            "sms" => Self::Sms,
            "both" => Self::Both,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

/// A customer's addresses as stored: lower-cased emails, E.164 phones, the preference.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    pub emails: Vec<String>,
    pub phones: Vec<String>,
    pub preferred: String,
    /// When they opted out of automatic messages, on either channel.
    pub opted_out: bool,
}

impl Contact {
    /// Reads the stored JSON arrays (a malformed one counts as empty).
    pub fn from_stored(emails: &str, phones: &str, preferred: &str, opted_out: bool) -> Self {
        let list = |text: &str| serde_json::from_str::<Vec<String>>(text).unwrap_or_default();
        Self {
            emails: list(emails),
            phones: list(phones),
            preferred: preferred.to_owned(),
            opted_out,
        }
    }
}

/// One message to send: the channel and the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub channel: Channel,
    pub to: String,
}

/// Where a message asked for `via` goes. Refused (422) when the customer has no address for
/// what was asked.
pub fn plan(via: Via, contact: &Contact) -> Result<Vec<Delivery>, AppError> {
    let email = contact.emails.first().map(|to| Delivery {
        channel: Channel::Email,
        to: to.clone(),
    });
    let sms = contact.phones.first().map(|to| Delivery {
        channel: Channel::Sms,
        to: to.clone(),
    });
    let missing = |message: &str| AppError::invalid_field("via", message);
    match via {
        Via::Email => email
            .map(|d| vec![d])
            .ok_or_else(|| missing("The customer has no email address.")),
        Via::Sms => sms
            .map(|d| vec![d])
            .ok_or_else(|| missing("The customer has no phone number.")),
        Via::Both => {
            let both: Vec<Delivery> = email.into_iter().chain(sms).collect();
            if both.is_empty() {
                Err(missing(
                    "The customer has no email address or phone number.",
                ))
            } else {
                Ok(both)
            }
        }
        Via::Preferred => preferred(contact)
            .map(|d| vec![d])
            .ok_or_else(|| missing("The customer has no email address or phone number.")),
    }
}

/// The preferred way, else the other one; none without any address.
pub fn preferred(contact: &Contact) -> Option<Delivery> {
    let email = contact.emails.first().map(|to| Delivery {
        channel: Channel::Email,
        to: to.clone(),
    });
    let sms = contact.phones.first().map(|to| Delivery {
        channel: Channel::Sms,
        to: to.clone(),
    });
    if contact.preferred == "email" {
        email.or(sms)
    } else {
        sms.or(email)
    }
}

/// Where an automatic message goes: nowhere for a customer who opted out.
pub fn automatic(contact: &Contact) -> Option<Delivery> {
    if contact.opted_out {
        return None;
    }
    preferred(contact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(emails: &[&str], phones: &[&str], preferred: &str) -> Contact {
        Contact {
            emails: emails.iter().map(|s| s.to_string()).collect(),
            phones: phones.iter().map(|s| s.to_string()).collect(),
            preferred: preferred.into(),
            opted_out: false,
        }
    }

    fn channels(deliveries: &[Delivery]) -> Vec<&'static str> {
        deliveries.iter().map(|d| d.channel.as_str()).collect()
    }

    #[test]
    fn the_preferred_contact_decides_and_phone_means_sms() {
        let both = contact(&["a@x.example"], &["+15550001111"], "phone");
        assert_eq!(channels(&plan(Via::Preferred, &both).unwrap()), ["sms"]);
        let both = contact(&["a@x.example"], &["+15550001111"], "sms");
        assert_eq!(channels(&plan(Via::Preferred, &both).unwrap()), ["sms"]);
        let both = contact(&["a@x.example"], &["+15550001111"], "email");
        assert_eq!(channels(&plan(Via::Preferred, &both).unwrap()), ["email"]);
    }

    #[test]
    fn without_an_address_for_the_preferred_channel_the_other_is_used() {
        let only_email = contact(&["a@x.example"], &[], "phone");
        assert_eq!(
            plan(Via::Preferred, &only_email).unwrap(),
            vec![Delivery {
                channel: Channel::Email,
                to: "a@x.example".into()
            }]
        );
        let only_phone = contact(&[], &["+15550001111"], "email");
        assert_eq!(
            channels(&plan(Via::Preferred, &only_phone).unwrap()),
            ["sms"]
        );
    }

    #[test]
    fn a_channel_asked_for_needs_its_address() {
        let only_email = contact(&["a@x.example"], &[], "email");
        assert!(plan(Via::Sms, &only_email).is_err());
        assert_eq!(channels(&plan(Via::Both, &only_email).unwrap()), ["email"]);
        let nothing = contact(&[], &[], "phone");
        for via in [Via::Preferred, Via::Email, Via::Sms, Via::Both] {
            let refused = plan(via, &nothing).unwrap_err();
            assert_eq!(refused.status(), 422, "{via:?}");
        }
    }

    #[test]
    fn unsubscribe_links_name_one_customer_and_cannot_be_made_without_the_key() {
        let key = SealKey::new("a test key that is at least thirty-two bytes long").unwrap();
        let other = SealKey::new("another key, also at least thirty-two bytes long!").unwrap();
        let token = unsubscribe_token(&key, "c-1");
        assert_eq!(unsubscribing(&key, &token), Some("c-1".into()));
        assert_eq!(unsubscribing(&other, &token), None);
        let forged = token.replace("c-1", "c-2");
        assert_eq!(unsubscribing(&key, &forged), None);
        assert_eq!(unsubscribing(&key, "c-1"), None);
        assert_eq!(unsubscribing(&key, ".abc"), None);
    }

    #[test]
    fn a_customer_who_opted_out_gets_nothing_automatic() {
        let mut out = contact(&["a@x.example"], &["+15550001111"], "email");
        assert!(automatic(&out).is_some());
        out.opted_out = true;
        assert_eq!(automatic(&out), None);
        // Staff writing by hand still can.
        assert_eq!(channels(&plan(Via::Both, &out).unwrap()), ["email", "sms"]);
    }
}
