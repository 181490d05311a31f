//! Personal data (DESIGN.md §9): how a personal value is marked for sealing, whose data key it
//! belongs to, and the terms of the keyed blind indexes that find it.
//!
//! The Rust side never encrypts: it binds a personal value as a *pending token* naming its
//! subject's data key, and the layer between the Worker and D1 (`src/personal.mjs`) seals it
//! before the statement runs and opens it in every result. A subject's data key id follows
//! from the subject (`c-<customer id>`, `u-<user id>`), so a write never reads it first.
//!
//! Blind indexes: a term is `kind:value`, stored as HMAC-SHA256 under the tenant's index key
//! (16 bytes, base64url). What someone holding the database learns from them: which subjects
//! share an email address, a phone number or its last digits, or a name word (and its
//! prefixes), and how many words and digits those have — never the values themselves, which
//! would take the index key (a Worker secret) to test guesses against.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Prefix of a value waiting to be sealed.
pub const PENDING: &str = "fwp1.";
/// Prefix of a sealed value as stored.
pub const SEALED: &str = "fwe1.";
/// What a value whose data key was erased reads as.
pub const ERASED: &str = "[erased]";
/// The shortest name prefix (and word) that can be searched.
pub const MIN_PREFIX: usize = 3;
/// Longer prefixes of a word are not indexed: a search term is cut to this many letters.
pub const MAX_PREFIX: usize = 16;
/// The fewest digits a phone search needs.
pub const MIN_PHONE_DIGITS: usize = 4;

/// The data key of a customer (and of everything personal about them: sites, notes, messages).
pub fn customer_key(customer_id: &str) -> String {
    format!("c-{customer_id}")
}

/// The data key of a user.
pub fn user_key(user_id: &str) -> String {
    format!("u-{user_id}")
}

/// The data key of what is personal in one file: an on-site signature's signer, a person of
/// their own (not always the customer).
pub fn file_key(file_id: &str) -> String {
    format!("f-{file_id}")
}

/// `text`, personal data of the subject whose data key is `key`, as bound to a statement.
pub fn pending(key: &str, text: &str) -> String {
    format!("{PENDING}{key}.{}", URL_SAFE_NO_PAD.encode(text))
}

/// [`pending`] of an optional value.
pub fn pending_opt(key: &str, text: Option<&str>) -> Option<String> {
    text.map(|t| pending(key, t))
}

/// A list of personal values (email addresses, phone numbers) as the JSON array stored.
pub fn pending_list(key: &str, items: &[String]) -> String {
    serde_json::Value::from(
        items
            .iter()
            .map(|item| pending(key, item))
            .collect::<Vec<_>>(),
    )
    .to_string()
}

/// What a pending or sealed token was written from; for host tests, where no layer seals.
pub fn pending_text(value: &str) -> Option<String> {
    let rest = value.strip_prefix(PENDING)?;
    let (_, encoded) = rest.split_once('.')?;
    String::from_utf8(URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()
}

/// Whether a stored value is sealed (what the seal step of a backfill skips).
pub fn is_sealed(value: &str) -> bool {
    value.starts_with(SEALED)
}

/// The kinds of subject with blind indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Customer,
    User,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Customer => "customer",
            Kind::User => "user",
        }
    }
}

/// Lower-cased words of a name (letters and digits), in order, without repeats.
fn words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_lowercase();
        if !out.contains(&word) {
            out.push(word);
        }
    }
    out
}

/// The index terms of a name (or company name): each word's prefixes from [`MIN_PREFIX`] to
/// [`MAX_PREFIX`] letters.
pub fn name_terms(name: &str) -> Vec<String> {
    let mut terms = Vec::new();
    for word in words(name) {
        let letters: Vec<char> = word.chars().collect();
        for len in MIN_PREFIX..=letters.len().min(MAX_PREFIX) {
            let term = format!("name:{}", letters[..len].iter().collect::<String>());
            if !terms.contains(&term) {
                terms.push(term);
            }
        }
    }
    terms
}

/// The index term of an email address (exact, case-insensitive).
pub fn email_term(email: &str) -> String {
    format!("email:{}", email.trim().to_lowercase())
}

/// The index terms of a phone number: its digits, and every ending of [`MIN_PHONE_DIGITS`]
/// digits or more (so `+1 212 555 0123` is found by `2125550123` and by `0123`).
pub fn phone_terms(phone: &str) -> Vec<String> {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    (MIN_PHONE_DIGITS..=digits.len())
        .map(|len| format!("phone:{}", &digits[digits.len() - len..]))
        .collect()
}

/// What a search box's text asks for: the terms a match must have, all of them. An email
/// address is looked up whole, a phone number (digits and `+ -().`) by its digits, anything
/// else by its words' prefixes; `None` when nothing searchable is left (words of fewer than
/// three letters, fewer than four digits).
pub fn query_terms(query: &str) -> Option<Vec<String>> {
    let query = query.trim();
    if query.contains('@') {
        return (!query.contains(char::is_whitespace)).then(|| vec![email_term(query)]);
    }
    let looks_like_phone = !query.is_empty()
        && query
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && query.chars().any(|c| c.is_ascii_digit());
    if looks_like_phone {
        let digits: String = query.chars().filter(char::is_ascii_digit).collect();
        return (digits.len() >= MIN_PHONE_DIGITS).then(|| vec![format!("phone:{digits}")]);
    }
    let terms: Vec<String> = words(query)
        .into_iter()
        .filter(|w| w.chars().count() >= MIN_PREFIX)
        .map(|w| format!("name:{}", w.chars().take(MAX_PREFIX).collect::<String>()))
        .collect();
    (!terms.is_empty()).then_some(terms)
}

/// The tenant's blind-index key.
pub struct IndexKey(Vec<u8>);

impl IndexKey {
    /// A key of at least 32 bytes.
    pub fn new(secret: &str) -> Option<Self> {
        (secret.len() >= 32).then(|| Self(secret.as_bytes().to_vec()))
    }

    /// A term as stored: HMAC-SHA256(key, term), its first 16 bytes.
    pub fn blind(&self, term: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(term.as_bytes());
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..16])
    }

    /// Terms as stored, as the JSON array the index statements take.
    pub fn blind_all(&self, terms: &[String]) -> String {
        serde_json::Value::from(terms.iter().map(|t| self.blind(t)).collect::<Vec<_>>()).to_string()
    }
}

/// The id of the current tenant key in a key ring secret (`id:base64` entries separated by
/// spaces or commas, the first current); `src/personal.mjs` reads the same secret.
pub fn current_key_id(ring: &str) -> Option<&str> {
    let first = ring.split([' ', ',', '\n', '\t']).find(|e| !e.is_empty())?;
    first
        .split_once(':')
        .map(|(id, _)| id)
        .filter(|id| !id.is_empty())
}

/// What erasing a customer does, said to the owner before they confirm it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ErasurePlan {
    /// Erased at once, everywhere (records, the audit trail's snapshots, later exports).
    pub erased: Vec<&'static str>,
    /// Kept because the law requires it, until `kept_until`.
    pub kept: Vec<String>,
    /// The day (YYYY-MM-DD) what is kept may go too; `None` when nothing is kept.
    pub kept_until: Option<String>,
}

/// What is erased now: everything sealed under the customer's data key.
const ERASED_NOW: [&str; 6] = [
    "name, company, email addresses and phone numbers",
    "service addresses and access notes",
    "notes, job notes, and the names of those who accepted their quotes",
    "messages to and from them",
    "the same values in the audit trail",
    "their entries in the search index",
];

/// The erasure of a customer whose issued invoices are `issued` (their numbers as shown,
/// "INV-0012", and RFC 3339 issue times),
/// under a retention of `retention_years`: issued invoices (their numbers, amounts and lines)
/// and their PDFs, which carry the name and billing address, stay until that many years after
/// the last one; everything else goes now.
pub fn erasure_plan(issued: &[(String, String)], retention_years: i64) -> ErasurePlan {
    let last = issued.iter().map(|(_, at)| at.as_str()).max();
    let kept_until = match (last, retention_years) {
        (Some(at), years) if years > 0 => add_years(at, years),
        _ => None,
    };
    let kept = match &kept_until {
        Some(_) => {
            let numbers: Vec<&str> = issued.iter().map(|(n, _)| n.as_str()).collect();
            vec![format!(
                "issued invoices {} (numbers, dates, amounts, lines) and their PDFs, which \
                 show the customer's name and billing address",
                numbers.join(", ")
            )]
        }
        None => Vec::new(),
    };
    ErasurePlan {
        erased: ERASED_NOW.to_vec(),
        kept,
        kept_until,
    }
}

/// The date `years` after an RFC 3339 time (29 February becomes 28 February).
fn add_years(at: &str, years: i64) -> Option<String> {
    let year: i64 = at.get(..4)?.parse().ok()?;
    let month_day = at.get(5..10)?;
    let month_day = if month_day == "02-29" {
        "02-28"
    } else {
        month_day
    };
    Some(format!("{:04}-{month_day}", year + years))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_tokens_carry_their_key_and_text() {
        let token = pending("c-42", "Ann O'Neil \"Jr\" é");
        assert!(token.starts_with("fwp1.c-42."));
        assert!(token[5..]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)));
        assert_eq!(pending_text(&token).as_deref(), Some("Ann O'Neil \"Jr\" é"));
        let list = pending_list("c-1", &["a@b.co".to_owned()]);
        let parsed: Vec<String> = serde_json::from_str(&list).unwrap();
        assert_eq!(pending_text(&parsed[0]).as_deref(), Some("a@b.co"));
    }

    #[test]
    fn names_are_indexed_by_word_prefixes() {
        let terms = name_terms("Ann-Marie Smith");
        assert!(terms.contains(&"name:ann".to_owned()));
        assert!(terms.contains(&"name:mar".to_owned()));
        assert!(terms.contains(&"name:marie".to_owned()));
        assert!(terms.contains(&"name:smit".to_owned()));
        assert!(!terms.iter().any(|t| t == "name:an" || t == "name:sm"));
        let long = name_terms("Abcdefghijklmnopqrstuvwxyz");
        assert_eq!(long.len(), MAX_PREFIX - MIN_PREFIX + 1);
        assert_eq!(
            query_terms("SMI ann"),
            Some(vec!["name:smi".into(), "name:ann".into()])
        );
        assert_eq!(query_terms("Al"), None);
    }

    #[test]
    fn phones_are_found_whole_or_by_their_last_digits() {
        let terms = phone_terms("+12125550123");
        assert!(terms.contains(&"phone:12125550123".to_owned()));
        assert!(terms.contains(&"phone:2125550123".to_owned()));
        assert!(terms.contains(&"phone:0123".to_owned()));
        assert!(!terms.contains(&"phone:123".to_owned()));
        assert_eq!(
            query_terms("(212) 555-0123"),
            Some(vec!["phone:2125550123".into()])
        );
        assert_eq!(query_terms("+1 21"), None);
        assert_eq!(
            query_terms(" Ann@Example.COM "),
            Some(vec!["email:ann@example.com".into()])
        );
    }

    #[test]
    fn an_erasure_keeps_issued_invoices_for_the_retention_period() {
        let plan = erasure_plan(
            &[
                ("INV-0007".into(), "2024-02-29T10:00:00Z".into()),
                ("INV-0003".into(), "2023-05-01T10:00:00Z".into()),
            ],
            7,
        );
        assert_eq!(plan.kept_until.as_deref(), Some("2031-02-28"));
        assert!(plan.kept[0].contains("INV-0007, INV-0003"), "{plan:?}");
        assert!(!plan.erased.is_empty());
        let nothing = erasure_plan(&[], 7);
        assert_eq!(nothing.kept_until, None);
        assert!(nothing.kept.is_empty());
        assert_eq!(
            erasure_plan(&[("INV-0001".into(), "2020-01-01T00:00:00Z".into())], 0).kept_until,
            None
        );
    }

    #[test]
    fn the_first_key_of_the_ring_is_current() {
        assert_eq!(current_key_id("k2:AAAA k1:BBBB"), Some("k2"));
        assert_eq!(current_key_id(" ,k3:AAAA,k2:BBBB"), Some("k3"));
        assert_eq!(current_key_id(""), None);
        assert_eq!(current_key_id("nokey"), None);
    }

    #[test]
    fn blind_terms_depend_on_the_key() {
        let a = IndexKey::new("a".repeat(32).as_str()).unwrap();
        let b = IndexKey::new("b".repeat(32).as_str()).unwrap();
        assert_eq!(a.blind("name:ann"), a.blind("name:ann"));
        assert_ne!(a.blind("name:ann"), b.blind("name:ann"));
        assert_ne!(a.blind("name:ann"), a.blind("name:anne"));
        assert_eq!(a.blind("name:ann").len(), 22);
        assert!(IndexKey::new("short").is_none());
    }
}
