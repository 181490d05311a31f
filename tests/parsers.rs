//! Property tests of every hand-written parser: whatever a client, a provider or a stored row
//! hands them — arbitrary text (multi-byte characters, controls, very long), arbitrary bytes,
//! and valid shapes with one part mangled — they answer `Ok` or `Err` and never panic, since a
//! panic ends the Worker's instance and every request in flight on it. Where it is cheap, a
//! value also survives being written and read back.
//!
//! Private parsers are fuzzed by their own module's tests (`domain::auth::common_set`).

use std::collections::BTreeMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use serde_json::{json, Value};
use sha2::Sha256;

use fieldworker::agent::commands::{self, Command, LocalDateTime};
use fieldworker::agent::{replies, turn};
use fieldworker::domain::audit::{Action, SealKey};
use fieldworker::domain::auth::access::{AccessConfig, Jwks, UnverifiedJwt};
use fieldworker::domain::auth::device::Device;
use fieldworker::domain::auth::password::{
    check_new_password, PasswordHash, HASH_LEN, PBKDF2_ITERATIONS, SALT_LEN,
};
use fieldworker::domain::auth::permissions::Role;
use fieldworker::domain::auth::session::{
    cookie_value, looks_like_access_token, origin_allowed, SESSION_COOKIE,
};
use fieldworker::domain::auth::totp::{self, TotpSecret, RECOVERY_CODE_COUNT};
use fieldworker::domain::billing::{parse_brand_color, parse_rounding, pricing};
use fieldworker::domain::contact::{Email, Phone};
use fieldworker::domain::customer_messages::{delivery_report, sms_keyword};
use fieldworker::domain::customers::{search_pattern, LIKE_PATTERN_MAX_BYTES};
use fieldworker::domain::ids::RequestId;
use fieldworker::domain::invoices::{parse_prefix, InvoiceStatus, PaymentMethod};
use fieldworker::domain::jobs::{parse_note, JobStatus, Priority};
use fieldworker::domain::messaging::{
    bot_command, inbound_from_twilio, link_code, parse_form, parse_link_code,
    parse_telegram_update, parse_twilio_form, twiml_message, TelegramContent, MAX_SMS_REPLY_CHARS,
};
use fieldworker::domain::money::{parse_percent_ppm, Currency};
use fieldworker::domain::quotes::QuoteStatus;
use fieldworker::domain::secrets::bearer_token;
use fieldworker::domain::selfcheck::parse_probe;
use fieldworker::domain::share_links::looks_like_token;
use fieldworker::domain::signatures::{
    is_valid_telegram_secret_token, stripe_sign, stripe_verify, telegram_init_data_verify,
    telegram_secret_matches, telegram_webapp_secret_key, twilio_signature, twilio_verify,
    twilio_verify_request, StripeSignatureError, TwilioKeys, TwilioSharedKey,
    TwilioSignatureSettings,
};
use fieldworker::domain::time::Millis;
use fieldworker::domain::visits::{occurrences, Recurrence, VisitTime};
use fieldworker::domain::{cursor, stripe};
use fieldworker::http::api::audit::AuditQuery;
use fieldworker::http::extract::is_json_media_type;
use fieldworker::http::limits::Bucket;
use fieldworker::http::query::{Cursor, InvoiceKind, Limit, Positive, Query, Required, Time};
use fieldworker::http::router::dispatch;
use fieldworker::mcp;
use fieldworker::tools::CATALOGUE;
use fieldworker::views::fields::Body;
use fieldworker::views::money::StoredTotals;
use fieldworker::views::pages::{assets, label, parse_date, safe_next, sign_in_location};
use fieldworker::views::request_log::loggable_path;
use fieldworker::views::url::{form_encode, origin, parse_limit, query_pairs, scheme_and_host};

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

/// Pieces that trip hand-written parsers: the separators they split on, escapes good and bad,
/// characters of two to four bytes (a byte slice landing inside one panics), a combining mark,
/// controls, and the digits and signs of numbers at their limits.
#[rustfmt::skip] // Kept in rows: one entry a line would run to a hundred lines.
const FRAGMENTS: &[&str] = &[
    "", " ", "\t", "\n", "\r\n", "\0", "\u{7f}", "\u{85}", "=", "&", ";", ",", ".", "..", ":", "-",
    "+", "/", "//", "\\", "?", "#", "@", "%", "%2", "%ZZ", "%E2%82%AC", "%E2%82", "%FF", "%00",
    "%%", "€", "é", "e\u{301}", "İ", "ß", "𝄞", "\u{feff}", "\u{200b}", "\u{fffd}", "0", "1", "7",
    "9", "00", "12", "29", "31", "59", "60", "99", "2026", "9999", "-1", "9223372036854775807",
    "-9223372036854775808", "18446744073709551616", "T", "Z", "t", "z", "{", "}", "[", "]", "\"",
    "'", "<", ">", "a", "A", "_", "~", "*", "$", "v1", "t=", "i=", "Bearer ", "fw_session", "fwp_",
    "pbkdf2-sha256", "AAAA", "==", "null", "true", "1e400",
];

/// Arbitrary text: any characters (controls and every plane included), runs of the fragments
/// above, printable Unicode, and now and then something very long.
fn text() -> BoxedStrategy<String> {
    prop_oneof![
        4 => prop::collection::vec(any::<char>(), 0..40).prop_map(String::from_iter),
        4 => prop::collection::vec(select(FRAGMENTS), 0..24).prop_map(|parts| parts.concat()),
        2 => any::<String>(),
        1 => (select(FRAGMENTS), 500..5_000usize).prop_map(|(part, n)| part.repeat(n)),
    ]
    .boxed()
}

/// Arbitrary bytes, valid UTF-8 or not.
fn bytes() -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200),
        text().prop_map(String::into_bytes),
    ]
    .boxed()
}

/// `valid` with one part mangled: a character replaced by, or preceded by, a fragment or an
/// arbitrary character; a character dropped; or the text cut short.
fn mangle(valid: String, at: Index, how: u8, with: &str) -> String {
    let bounds: Vec<usize> = valid
        .char_indices()
        .map(|(i, _)| i)
        .chain([valid.len()])
        .collect();
    let i = bounds[at.index(bounds.len())];
    let next = bounds.iter().copied().find(|&b| b > i).unwrap_or(i);
    match how % 4 {
        0 => format!("{}{with}{}", &valid[..i], &valid[next..]),
        1 => format!("{}{with}{}", &valid[..i], &valid[i..]),
        2 => format!("{}{}", &valid[..i], &valid[next..]),
        _ => valid[..i].to_owned(),
    }
}

fn near_miss(valid: BoxedStrategy<String>) -> BoxedStrategy<String> {
    let with = prop_oneof![
        select(FRAGMENTS).prop_map(str::to_owned),
        any::<char>().prop_map(String::from)
    ];
    prop_oneof![
        1 => valid.clone(),
        3 => (valid, any::<Index>(), any::<u8>(), with)
            .prop_map(|(v, at, how, with)| mangle(v, at, how, &with)),
    ]
    .boxed()
}

/// One of `words`.
fn one_of(words: &'static [&'static str]) -> BoxedStrategy<String> {
    select(words).prop_map(str::to_owned).boxed()
}

/// Arbitrary text, or a valid shape with one part mangled.
fn text_or(valid: BoxedStrategy<String>) -> BoxedStrategy<String> {
    prop_oneof![1 => text(), 2 => near_miss(valid)].boxed()
}

/// Member names and string values the parsers look for, so random documents reach past their
/// first check.
#[rustfmt::skip] // Kept in rows: one entry a line would run to a hundred lines.
const KEYS: &[&str] = &[
    "update_id", "message", "date", "chat", "id", "type", "from", "first_name", "text", "jsonrpc",
    "method", "params", "result", "error", "_meta", "io.modelcontextprotocol/protocolVersion",
    "protocolVersion", "data", "object", "payment_status", "metadata", "invoice_id",
    "client_reference_id", "amount_total", "currency", "payment_intent", "keys", "kid", "kty",
    "alg", "use", "n", "e", "crit", "iss", "aud", "exp", "nbf", "iat", "email", "common_name",
    "content", "name", "input", "stop_reason", "usage", "output_tokens", "frequency", "interval",
    "until", "count", "description", "quantity_milli", "unit_price", "tax_rate_ppm", "discount",
    "optional", "option", "percent_ppm", "amount", "title", "detail", "errors", "field", "allowed",
    "current", "version", "lines", "status", "customer_id", "job_id", "query", "limit", "cursor",
];
#[rustfmt::skip] // Kept in rows: one entry a line would run to a hundred lines.
const WORDS: &[&str] = &[
    "private", "group", "2.0", "RS256", "HS256", "none", "RSA", "sig", "AQAB", "paid", "unpaid",
    "checkout.session.completed", "checkout.session.async_payment_succeeded", "tool_use", "text",
    "daily", "weekly", "monthly", "yearly", "2026-03-02T09:00:00Z", "2025-11-25", "2026-07-28",
    "initialize", "tools/call", "ping", "usd", "inv-1", "open", "",
];

/// Arbitrary JSON, nested a few levels, with numbers at their limits and the names above.
fn json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        select(&[i64::MIN, i64::MAX, -1, 0, 1][..]).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        select(WORDS).prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        let key = prop_oneof![3 => select(KEYS).prop_map(str::to_owned), 1 => text()];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key, inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
    .boxed()
}

/// One step from the root of a document to a member or element.
#[derive(Clone)]
enum Step {
    Key(String),
    At(usize),
}

/// The path of every node below the root of `value`, into `out`.
fn paths(value: &Value, prefix: &[Step], out: &mut Vec<Vec<Step>>) {
    let children: Vec<(Step, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (Step::Key(k.clone()), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (Step::At(i), v))
            .collect(),
        _ => Vec::new(),
    };
    for (step, child) in children {
        let mut path = prefix.to_vec();
        path.push(step);
        paths(child, &path, out);
        out.push(path);
    }
}

/// Replaces the node at `path` with `with`, or removes it when `with` is `None`.
fn edit(document: &mut Value, path: &[Step], with: Option<Value>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = document;
    for step in parents {
        node = match (step, node) {
            (Step::Key(k), Value::Object(map)) => match map.get_mut(k) {
                Some(child) => child,
                None => return,
            },
            (Step::At(i), Value::Array(items)) => match items.get_mut(*i) {
                Some(child) => child,
                None => return,
            },
            _ => return,
        };
    }
    match (last, node, with) {
        (Step::Key(k), Value::Object(map), Some(v)) => {
            map.insert(k.clone(), v);
        }
        (Step::Key(k), Value::Object(map), None) => {
            map.remove(k);
        }
        (Step::At(i), Value::Array(items), Some(v)) if *i < items.len() => items[*i] = v,
        (Step::At(i), Value::Array(items), None) if *i < items.len() => {
            items.remove(*i);
        }
        _ => {}
    }
}

/// A valid document with up to three members replaced by arbitrary JSON or removed.
fn perturbed(valid: Value) -> BoxedStrategy<Value> {
    let edits = prop::collection::vec((any::<Index>(), prop::option::weighted(0.8, json())), 0..4);
    edits
        .prop_map(move |edits| {
            let mut document = valid.clone();
            for (at, with) in edits {
                let mut all = Vec::new();
                paths(&document, &[], &mut all);
                if !all.is_empty() {
                    let path = &all[at.index(all.len())];
                    edit(&mut document, path, with);
                }
            }
            document
        })
        .boxed()
}

/// The bytes of a perturbed document, sometimes mangled into invalid JSON; or arbitrary bytes.
fn json_body(valid: Value) -> BoxedStrategy<Vec<u8>> {
    let text = perturbed(valid).prop_map(|v| v.to_string()).boxed();
    prop_oneof![
        1 => bytes(),
        1 => json().prop_map(|v| v.to_string().into_bytes()),
        4 => near_miss(text).prop_map(String::into_bytes),
    ]
    .boxed()
}

/// The last instant with a four-digit year, 9999-12-31T23:59:59.999Z.
const LAST_MS: u64 = 253_402_300_799_999;

/// RFC 3339 times: valid ones, ones with out-of-range or oddly wide fields, any offset.
fn rfc3339() -> BoxedStrategy<String> {
    let valid = (0..=LAST_MS).prop_map(|ms| Millis(ms).to_rfc3339());
    let odd = (
        (
            prop_oneof![0..=99_999u32, select(&[1969, 1970, 9999, 10_000][..])],
            prop_oneof![0..=13u32, Just(12)],
            prop_oneof![0..=32u32, Just(31)],
        ),
        (0..=25u32, 0..=61u32, 0..=61u32),
        prop::option::of("[0-9]{0,12}"),
        select(&["T", "t", " ", ""][..]),
        select(
            &[
                "Z", "z", "+00:00", "-00:00", "+23:59", "-23:59", "+24:00", "+05:60", "+5:00",
                "+0530", "",
            ][..],
        ),
    )
        .prop_map(|((y, mo, d), (h, mi, s), fraction, t, offset)| {
            let fraction = fraction.map(|f| format!(".{f}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}{t}{h:02}:{mi:02}:{s:02}{fraction}{offset}")
        });
    // The first and last days there are, with any offset: an offset may carry them out.
    let edge = (
        select(&["1970-01-01", "9999-12-31"][..]),
        (0..24u32, 0..60u32, 0..60u32),
        (select(&["+", "-"][..]), 0..24u32, 0..60u32),
    )
        .prop_map(|(date, (h, mi, s), (sign, oh, om))| {
            format!("{date}T{h:02}:{mi:02}:{s:02}{sign}{oh:02}:{om:02}")
        });
    prop_oneof![2 => text_or(prop_oneof![valid, odd].boxed()), 1 => edge].boxed()
}

/// URL-ish text: a scheme, credentials, a host (IPv6 too), a port, a path and a query.
fn url_like() -> BoxedStrategy<String> {
    let valid = (
        select(&["https", "http", "HTTPS", "ftp", ""][..]),
        select(&["", "user:pa:ss@", "@", "a@b@"][..]),
        select(
            &[
                "t.example",
                "[::1]",
                "[::1",
                "::1]",
                "",
                "xn--bcher-kva.example",
                "é.example",
            ][..],
        ),
        select(&["", ":443", ":80", ":8787", ":", ":99999", ":x"][..]),
        select(&["", "/", "/webhooks/sms", "/api/v1/jobs", "/s/abc/x", "//x"][..]),
        select(&["", "?", "?a=1&b=%ZZ", "?q=%E2%82%AC#x", "#frag", "?#"][..]),
    )
        .prop_map(|(scheme, user, host, port, path, query)| {
            format!("{scheme}://{user}{host}{port}{path}{query}")
        });
    text_or(valid.boxed())
}

// ---------------------------------------------------------------------------------------------
// Times and dates
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn rfc3339_parsing_never_panics_and_what_it_reads_prints_back(text in rfc3339()) {
        if let Some(at) = Millis::parse_rfc3339(&text) {
            prop_assert!(at.0 <= LAST_MS + 24 * 3_600_000, "{text:?} read as {at:?}");
            prop_assert_eq!(Millis::parse_rfc3339(&at.to_rfc3339()), Some(at));
        }
    }

    #[test]
    fn every_instant_to_year_9999_prints_and_parses_back(ms in 0..=LAST_MS) {
        prop_assert_eq!(Millis::parse_rfc3339(&Millis(ms).to_rfc3339()), Some(Millis(ms)));
    }

    #[test]
    fn visit_times_and_recurrences_never_panic(
        start in rfc3339(),
        end in rfc3339(),
        rule in perturbed(json!({ "frequency": "monthly", "interval": 1, "count": 12 })),
        until in rfc3339(),
    ) {
        let _ = VisitTime::parse(&start, &end);
        let first = VisitTime::parse("2028-02-29T09:00:00Z", "2028-02-29T10:00:00Z").unwrap();
        let mut rule = rule;
        if let Some(object) = rule.as_object_mut().filter(|o| o.contains_key("until")) {
            object.insert("until".into(), Value::from(until));
        }
        if let Ok(rule) = serde_json::from_value::<Recurrence>(rule) {
            if let Ok(series) = occurrences(&first, &rule, |_| 0) {
                prop_assert!(!series.is_empty() && series.len() <= 366);
                prop_assert!(series.windows(2).all(|w| w[0].start < w[1].start));
                prop_assert!(series.iter().all(|v| v.duration_ms() == first.duration_ms()));
            }
        }
    }

    #[test]
    fn dashboard_dates_never_panic_and_read_back(
        text in text_or("[0-9]{1,5}-[0-9]{1,2}-[0-9]{1,2}".boxed()),
    ) {
        if let Some(midnight) = parse_date(&text) {
            let at = Millis(u64::try_from(midnight).unwrap());
            let (y, m, d) = at.utc_date();
            prop_assert_eq!(parse_date(&format!("{y:04}-{m:02}-{d:02}")), Some(midnight));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Query strings, URLs and cursors
// ---------------------------------------------------------------------------------------------

fieldworker::query! {
    /// Every kind of query parameter at once.
    pub struct Everything {
        status: Option<JobStatus>,
        action: Option<Action>,
        quote_status: Option<QuoteStatus>,
        invoice_status: Option<InvoiceStatus>,
        kind: Option<InvoiceKind>,
        q: Option<String>,
        since: Option<Time>,
        archived: Option<bool>,
        number: Option<Positive>,
        cursor: Option<Cursor>,
        limit: Limit<50, 200>,
    }
}

fieldworker::query! {
    pub struct Range {
        from: Required<Time>,
        to: Option<Time>,
    }
}

/// What a parsed query promises: every value in its range, every name one of its kind's.
fn check_everything(query: Everything) -> Result<(), TestCaseError> {
    let Everything {
        status,
        action,
        quote_status,
        invoice_status,
        kind,
        q,
        since,
        archived: _,
        number,
        cursor,
        limit,
    } = query;
    let names = [
        status.map(JobStatus::as_str),
        action.map(Action::as_str),
        quote_status.map(QuoteStatus::as_str),
        invoice_status.map(InvoiceStatus::as_str),
        kind.map(InvoiceKind::as_str),
    ];
    prop_assert!(names.into_iter().flatten().all(|name| !name.is_empty()));
    prop_assert!(q.is_none_or(|q| q.chars().count() <= 1_000));
    prop_assert!(since.is_none_or(|t| Millis::parse_rfc3339(&t.stored()) == Some(t.0)));
    prop_assert!(number.is_none_or(|n| n.0 >= 1));
    prop_assert!(cursor.is_none_or(|c| !c.id.is_empty()));
    prop_assert!((1..=200).contains(&limit.0));
    Ok(())
}

/// A value as a query might carry one: a time, a number, a cursor, a name, or anything.
fn query_value() -> BoxedStrategy<String> {
    let cursor = (text(), text()).prop_map(|(key, id)| cursor::encode(&key, &id));
    let words = one_of(&[
        "open",
        "job.created",
        "true",
        "invoice",
        "credit_note",
        "draft",
    ]);
    prop_oneof![
        rfc3339(),
        text_or("-?[0-9]{1,25}".boxed()),
        text_or(cursor.boxed()),
        words,
        text(),
    ]
    .boxed()
}

/// A URL with a query of known and unknown names, values raw or form-encoded.
fn query_url() -> BoxedStrategy<String> {
    let name = prop_oneof![
        4 => one_of(&[
            "status", "action", "quote_status", "invoice_status", "kind", "q", "since", "archived",
            "number", "cursor", "limit", "from", "to", "entity", "entity_id", "actor_id", "until",
        ]),
        1 => text(),
    ];
    let pair = (name, query_value(), any::<bool>()).prop_map(|(name, value, encode)| {
        if encode {
            format!("{}={}", form_encode(&name), form_encode(&value))
        } else {
            format!("{name}={value}")
        }
    });
    (
        prop::collection::vec(pair, 0..5),
        select(&["&", "&&", ";"][..]),
        prop::option::of(text()),
    )
        .prop_map(|(pairs, joint, fragment)| {
            let fragment = fragment.map(|f| format!("#{f}")).unwrap_or_default();
            format!("https://t.example/api/v1/x?{}{fragment}", pairs.join(joint))
        })
        .boxed()
}

proptest! {
    #[test]
    fn query_strings_never_panic_and_refuse_with_400_or_422(
        url in prop_oneof![query_url(), url_like()],
    ) {
        match Everything::parse(&url) {
            Ok(query) => check_everything(query)?,
            Err(e) => prop_assert!(matches!(e.status(), 400 | 422), "{url:?}: {}", e.status()),
        }
        match Range::parse(&url) {
            Ok(range) => {
                let from = range.from.get().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
                prop_assert!(Millis::parse_rfc3339(&from.stored()).is_some());
                let to = range.to.map(|to| Millis::parse_rfc3339(&to.stored()));
                prop_assert!(to.is_none_or(|to| to.is_some()));
            }
            Err(e) => prop_assert!(matches!(e.status(), 400 | 422), "{url:?}: {}", e.status()),
        }
        if let Err(e) = AuditQuery::parse(&url) {
            prop_assert!(matches!(e.status(), 400 | 422), "{url:?}: {}", e.status());
        }
    }

    #[test]
    fn query_values_round_trip_through_form_encoding(
        q in text().prop_filter("at most 1000 characters", |q| q.chars().count() <= 1000),
        ms in 0..=LAST_MS,
        key in text().prop_filter("no NUL in a cursor's key", |k| !k.contains('\0')),
        id in text().prop_filter("a cursor's id is not empty", |id| !id.is_empty()),
    ) {
        let next = cursor::encode(&key, &id);
        prop_assume!(next.len() <= 1_000);
        let url = format!(
            "https://t.example/x?q={}&since={}&cursor={}",
            form_encode(&q),
            form_encode(&Millis(ms).to_rfc3339()),
            form_encode(&next),
        );
        let parsed = Everything::parse(&url).unwrap();
        prop_assert_eq!(parsed.q, Some(q));
        prop_assert_eq!(parsed.since, Some(Time(Millis(ms))));
        prop_assert_eq!(parsed.cursor, Some(Cursor { key, id }));
    }

    #[test]
    fn cursors_never_panic_and_round_trip(
        garbage in text_or(
            prop::collection::vec(any::<u8>(), 0..80)
                .prop_map(|b| URL_SAFE_NO_PAD.encode(b))
                .boxed()
        ),
        key in text().prop_filter("no NUL in a cursor's key", |k| !k.contains('\0')),
        id in text().prop_filter("a cursor's id is not empty", |id| !id.is_empty()),
    ) {
        if let Ok((key, id)) = cursor::decode(&garbage) {
            prop_assert!(!id.is_empty() && !key.contains('\0'));
        }
        let next = cursor::encode(&key, &id);
        if next.len() <= 1_000 {
            prop_assert_eq!(cursor::decode(&next).unwrap(), (key, id));
        } else {
            prop_assert!(cursor::decode(&next).is_err());
        }
    }

    #[test]
    fn urls_never_panic_and_their_parts_come_from_them(url in url_like(), max in 1..1_000i64) {
        if let Some(origin) = origin(&url) {
            prop_assert!(url.starts_with(origin));
        }
        if let Some((scheme, host)) = scheme_and_host(&url) {
            prop_assert!(url.starts_with(scheme) && url.contains(host));
        }
        let _ = query_pairs(&url);
        if let Ok(limit) = parse_limit(&url, max) {
            prop_assert!((1..=max).contains(&limit));
        }
        let _ = dispatch("GET", &url);
        let _ = loggable_path(&url);
        let _ = sign_in_location(&url);
        let next = safe_next(Some(&url));
        prop_assert!(next == "/" || next == url);
    }

    #[test]
    fn routes_never_panic_on_any_method_or_path(
        method in prop_oneof![
            one_of(&["GET", "HEAD", "POST", "PATCH", "PUT", "DELETE", "OPTIONS"]),
            text(),
        ],
        path in text_or(one_of(&[
            "/api/v1/jobs/{}", "/api/v1/customers/{}/sites/{}", "/s/{}", "/webhooks/stripe", "/",
        ])),
    ) {
        if let Err(e) = dispatch(&method, &path) {
            let status = e.status();
            prop_assert!(status == 404 || status == 405, "{method} {path:?}: {status}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Form bodies and webhook payloads
// ---------------------------------------------------------------------------------------------

/// `a=b&c=d` bodies built from escapes good and bad, separators and multi-byte characters.
fn form_body() -> BoxedStrategy<Vec<u8>> {
    let piece = prop::collection::vec(select(FRAGMENTS), 0..6).prop_map(|p| p.concat());
    let pair = (piece.clone(), prop::option::of(piece)).prop_map(|(name, value)| match value {
        Some(value) => format!("{name}={value}"),
        None => name,
    });
    let sms = "MessageSid=SM0123&From=%2B12125550143&Body=Hello+%E2%82%AC&To=%2B1".to_owned();
    prop_oneof![
        1 => bytes(),
        2 => prop::collection::vec(pair, 0..6).prop_map(|p| p.join("&").into_bytes()),
        2 => near_miss(Just(sms).boxed()).prop_map(String::into_bytes),
    ]
    .boxed()
}

fn telegram_update() -> Value {
    json!({
        "update_id": 10_000,
        "message": {
            "message_id": 1365,
            "date": 1_441_645_532,
            "chat": { "id": 1_111_111, "type": "private", "first_name": "Test" },
            "from": { "id": 1_111_111, "first_name": "Test", "is_bot": false },
            "text": "/start"
        }
    })
}

fn stripe_event() -> Value {
    json!({
        "id": "evt_1",
        "type": "checkout.session.completed",
        "data": { "object": {
            "id": "cs_1",
            "payment_status": "paid",
            "metadata": { "invoice_id": "inv-1" },
            "client_reference_id": "inv-1",
            "amount_total": 1250,
            "currency": "usd",
            "payment_intent": "pi_1"
        } }
    })
}

proptest! {
    #[test]
    fn form_bodies_never_panic_and_every_pair_round_trips(
        body in form_body(),
        pairs in prop::collection::vec((text(), text()), 0..6),
    ) {
        if let Ok(params) = parse_twilio_form(&body) {
            if let Ok(inbound) = inbound_from_twilio(&params) {
                prop_assert!(Phone::parse(&inbound.sender).is_ok());
                // A keyword is the whole text, so it never has inner spaces.
                if sms_keyword(&inbound.text).is_some() {
                    prop_assert!(!inbound.text.trim().contains(' '));
                }
            }
            if let Ok(report) = delivery_report(&params) {
                prop_assert!(report.message_sid.bytes().all(|b| b.is_ascii_alphanumeric()));
                prop_assert!(report
                    .error_code
                    .is_none_or(|c| c.bytes().all(|b| b.is_ascii_digit())));
            }
        }
        let _ = parse_form(&body);
        let encoded: Vec<String> = pairs
            .iter()
            .map(|(name, value)| format!("{}={}", form_encode(name), form_encode(value)))
            .collect();
        prop_assert_eq!(parse_form(encoded.join("&").as_bytes()).unwrap(), pairs);
    }

    #[test]
    fn telegram_updates_never_panic(body in json_body(telegram_update())) {
        if let Ok(update) = parse_telegram_update(&body) {
            if let TelegramContent::Message(inbound) = update.content {
                prop_assert_eq!(inbound.provider_id, update.update_id.to_string());
            }
        }
    }

    #[test]
    fn stripe_events_never_panic(body in json_body(stripe_event())) {
        let _ = stripe::parse_event(&body);
    }

    #[test]
    fn twiml_replies_never_panic_and_carry_a_non_blank_message_or_none(
        reply in prop::option::of(prop_oneof![text(), "[\u{0}-\u{1f} ]{1,4}"]),
    ) {
        let xml = twiml_message(reply.as_deref());
        prop_assert!(xml.chars().all(xml_char), "{xml:?}");
        let message = xml
            .strip_suffix("</Message></Response>")
            .and_then(|head| head.split_once("<Message>"))
            .map(|(_, message)| unescape_xml(message));
        if let Some(message) = message {
            // Twilio refuses an empty message, and so the whole answer.
            prop_assert!(!message.trim().is_empty(), "{xml:?}");
            prop_assert!(message.chars().count() <= MAX_SMS_REPLY_CHARS);
            let reply = reply.as_deref().unwrap_or_default().trim();
            if reply.chars().all(xml_char) && reply.chars().count() <= MAX_SMS_REPLY_CHARS {
                prop_assert_eq!(message, reply);
            }
        }
    }
}

/// XML 1.0's `Char`: one outside it makes Twilio reject the whole document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

fn unescape_xml(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

// ---------------------------------------------------------------------------------------------
// Webhook signatures
// ---------------------------------------------------------------------------------------------

/// `t=…,v1=…` headers with items repeated, dropped, reordered and spaced.
fn stripe_header() -> BoxedStrategy<String> {
    let item = prop_oneof![
        any::<i64>().prop_map(|t| format!("t={t}")),
        "[0-9a-f]{64}".prop_map(|sig| format!("v1={sig}")),
        one_of(&["v0=abc", "t=", "v1=", "=", "t", " t = 1 ", "t=1.5", "t=-0", "t=+1"]),
        text(),
    ];
    let valid = (any::<i64>(), bytes()).prop_map(|(t, body)| stripe_sign("whsec_test", t, &body));
    prop_oneof![
        near_miss(valid.boxed()),
        prop::collection::vec(item, 0..5).prop_map(|items| items.join(",")),
    ]
    .boxed()
}

fn twilio_settings() -> BoxedStrategy<String> {
    let valid = one_of(&[
        "key=SK1,algorithm=HMAC_SHA256",
        " algorithm = HMAC_SHA256 , key = SK1 ,x=y",
    ]);
    text_or(valid.boxed())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

proptest! {
    #[test]
    fn stripe_signatures_never_panic_and_a_fresh_one_verifies(
        header in stripe_header(),
        body in bytes(),
        now in any::<i64>(),
        tolerance in prop_oneof![Just(300i64), any::<i64>()],
    ) {
        let _ = stripe_verify("whsec_test", &header, &body, now, tolerance);
        let signed = stripe_sign("whsec_test", now, &body);
        prop_assert_eq!(stripe_verify("whsec_test", &signed, &body, now, 300), Ok(()));
        prop_assert_eq!(
            stripe_verify("whsec_other", &signed, &body, now, 300),
            Err(StripeSignatureError::Mismatch)
        );
    }

    #[test]
    fn twilio_signatures_never_panic_and_a_signed_request_verifies(
        url in url_like(),
        params in prop::collection::vec((text(), text()), 0..4),
        settings in prop::option::of(twilio_settings()),
        signature in prop::option::of(text()),
    ) {
        let _ = TwilioSignatureSettings::parse(settings.as_deref().unwrap_or(""));
        let keys = TwilioKeys {
            auth_token: Some("token"),
            shared_keys: &[TwilioSharedKey { id: "SK1", secret: "shared" }],
        };
        let settings = settings.as_deref();
        let _ = twilio_verify_request(&keys, settings, &url, &params, signature.as_deref());
        let signed = twilio_signature("token", &url, &params);
        prop_assert!(twilio_verify("token", &url, &params, Some(&signed)));
        prop_assert!(!twilio_verify("other", &url, &params, Some(&signed)));
    }

    #[test]
    fn telegram_init_data_never_panics_and_signed_data_verifies(
        garbage in prop_oneof![
            text(),
            form_body().prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        ],
        fields in prop::collection::btree_map(text(), text(), 0..4),
        now in 0..4_000_000_000i64,
        token in text(),
        header in prop::option::of(text()),
    ) {
        let _ = telegram_init_data_verify("123:bot", &garbage, now, 86_400);
        let _ = telegram_secret_matches(&token, header.as_deref());
        let _ = is_valid_telegram_secret_token(&token);

        let mut fields: BTreeMap<String, String> = fields;
        fields.remove("hash");
        fields.insert("auth_date".into(), now.to_string());
        let check = fields.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("\n");
        let key = telegram_webapp_secret_key("123:bot");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
        mac.update(check.as_bytes());
        let hash = hex(&mac.finalize().into_bytes());
        let mut pieces: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        pieces.push(format!("hash={hash}"));
        let init_data = pieces.join("&");
        prop_assume!(init_data.len() <= 16 * 1024);
        let verified = telegram_init_data_verify("123:bot", &init_data, now, 86_400).unwrap();
        prop_assert_eq!(verified.auth_date, now);
    }
}

// ---------------------------------------------------------------------------------------------
// Headers, cookies and credentials
// ---------------------------------------------------------------------------------------------

/// `Cookie` headers with `;` and `=` noise around a session cookie.
fn cookie_header() -> BoxedStrategy<String> {
    let valid = "[A-Za-z0-9]{1,40}".prop_map(|v| format!("a=b; {SESSION_COOKIE}={v};c=; =d;;e"));
    text_or(valid.boxed())
}

proptest! {
    #[test]
    fn credentials_in_headers_never_panic(
        cookie in cookie_header(),
        authorization in text_or(
            "[A-Za-z0-9._~+/=-]{1,60}".prop_map(|t| format!("Bearer {t}")).boxed()
        ),
        access in text(),
        host in text(),
        path in text(),
        ip in text(),
        value in "[A-Za-z0-9]{1,40}",
    ) {
        if let Some(session) = cookie_value(&cookie, SESSION_COOKIE) {
            prop_assert!(!session.is_empty() && !session.contains(';'));
        }
        if let Some(token) = bearer_token(&authorization) {
            prop_assert!(!token.is_empty() && !token.contains(' '));
        }
        let header = format!("x=1; {SESSION_COOKIE}={value}; y=2");
        prop_assert_eq!(cookie_value(&header, SESSION_COOKIE), Some(value.as_str()));
        let spaced = format!("bearer  {value} ");
        prop_assert_eq!(bearer_token(&spaced), Some(value.as_str()));
        let headers = (Some(authorization.as_str()), Some(access.as_str()));
        let _ = Bucket::of(&host, &path, headers.0, headers.1, Some(&cookie), Some(&ip));
        let _ = Bucket::of(&host, &path, None, None, Some(&cookie), None);
        let _ = origin_allowed(Some(&access), &host);
        let _ = looks_like_access_token(&authorization);
        let _ = looks_like_token(&access);
        let _ = is_json_media_type(&access);
        if let Some(id) = RequestId::from_incoming(&ip) {
            prop_assert_eq!(id.as_str(), ip.as_str());
        }
    }

    #[test]
    fn device_cookies_never_panic_and_a_remembered_account_reads_back(
        cookie in text_or("[A-Za-z0-9_-]{22}(\\.[0-9a-f]{32}){1,6}".boxed()),
        id in "[A-Za-z0-9_-]{22}",
        email in text(),
    ) {
        let _ = Device::parse(&cookie);
        let key = SealKey::new("0123456789abcdef0123456789abcdef").unwrap();
        let device = Device::new(id).remember(&key, &email);
        let read = Device::parse(&device.value()).unwrap();
        prop_assert!(read.knows(&key, &email));
        prop_assert_eq!(read, device);
    }
}

// ---------------------------------------------------------------------------------------------
// Passwords, TOTP and Cloudflare Access
// ---------------------------------------------------------------------------------------------

fn phc() -> BoxedStrategy<String> {
    let valid = (
        1..=20_000_000u32,
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(iterations, salt, hash)| {
            let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD_NO_PAD.encode(b);
            format!(
                "$pbkdf2-sha256$i={iterations}${}${}",
                b64(&salt),
                b64(&hash)
            )
        });
    text_or(valid.boxed())
}

/// Compact JWS of three base64url parts: JSON headers and claims near the real ones.
fn jwt() -> BoxedStrategy<String> {
    let header = perturbed(json!({ "alg": "RS256", "kid": "k1", "typ": "JWT" }));
    let claims = perturbed(json!({
        "iss": "https://acme.cloudflareaccess.com",
        "aud": ["aud-tag"],
        "exp": 2_000_000_000i64,
        "nbf": 1_000_000_000i64,
        "iat": 1_000_000_000i64,
        "email": "Ann@Example.com",
        "common_name": "svc"
    }));
    let part = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let valid =
        (header, claims, prop::collection::vec(any::<u8>(), 0..64)).prop_map(move |(h, c, sig)| {
            format!("{}.{}.{}", part(h), part(c), URL_SAFE_NO_PAD.encode(sig))
        });
    text_or(valid.boxed())
}

proptest! {
    #[test]
    fn password_hashes_never_panic_and_round_trip(
        stored in phc(),
        iterations in 1..=PBKDF2_ITERATIONS,
        salt in prop::collection::vec(any::<u8>(), SALT_LEN..48),
        hash in prop::collection::vec(any::<u8>(), HASH_LEN),
    ) {
        if let Ok(parsed) = PasswordHash::parse(&stored) {
            prop_assert_eq!(parsed.to_string(), stored);
        }
        let made = PasswordHash::new(iterations, salt, hash).unwrap();
        prop_assert!(PasswordHash::parse(&made.to_string()).unwrap() == made);
    }

    #[test]
    fn new_passwords_are_checked_without_panicking(
        password in text(),
        context in prop::collection::vec(text(), 0..3),
    ) {
        let context: Vec<&str> = context.iter().map(String::as_str).collect();
        let _ = check_new_password(&password, &context);
    }

    #[test]
    fn totp_secrets_codes_and_recovery_codes_never_panic_and_round_trip(
        secret in text_or("[A-Za-z2-7 =]{0,60}".boxed()),
        code in text_or("[0-9 ]{4,8}".boxed()),
        now in any::<u64>(),
        last in prop::option::of(any::<u64>()),
        random in prop::array::uniform20(any::<u8>()),
        recovery in prop::collection::vec(any::<u8>(), RECOVERY_CODE_COUNT * 8),
        typed in text_or("[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}".boxed()),
    ) {
        let _ = TotpSecret::from_base32(&secret);
        let generated = TotpSecret::from_random(random);
        let _ = totp::verify(&generated, &code, now, last);
        let read = TotpSecret::from_base32(&generated.to_base32().to_lowercase()).unwrap();
        prop_assert_eq!(read.as_bytes(), &random[..]);
        let _ = totp::normalize_recovery_code(&typed);
        let recovery: [u8; RECOVERY_CODE_COUNT * 8] = recovery.try_into().unwrap();
        for issued in totp::recovery_codes(&recovery) {
            let normal = totp::normalize_recovery_code(&issued.to_uppercase()).unwrap();
            prop_assert_eq!(normal.as_str(), issued.replace('-', ""));
        }
    }

    #[test]
    fn access_tokens_and_key_sets_never_panic(
        token in jwt(),
        certs in json_body(json!({ "keys": [
            { "kid": "k1", "kty": "RSA", "alg": "RS256", "use": "sig", "n": "AQAB", "e": "AQAB" }
        ], "public_cert": { "kid": "k1", "cert": "x" } })),
        now in any::<u64>(),
        domain in text_or(Just("acme.cloudflareaccess.com".to_owned()).boxed()),
        aud in text(),
    ) {
        let config = AccessConfig::new("acme.cloudflareaccess.com", "aud-tag").unwrap();
        if let Ok(jwt) = UnverifiedJwt::parse(&token) {
            let _ = jwt.decide(true, &config, now);
            prop_assert!(token.as_bytes().starts_with(jwt.signing_input()));
        }
        let _ = Jwks::parse(&String::from_utf8_lossy(&certs));
        let _ = AccessConfig::new(&domain, &aud);
    }
}

// ---------------------------------------------------------------------------------------------
// Money, contacts and settings
// ---------------------------------------------------------------------------------------------

/// Decimal amounts: signs, spaces, long digit runs, several points.
fn decimal() -> BoxedStrategy<String> {
    let valid = ("[ ]?-?[0-9]{0,25}", prop::option::of("[.][0-9]{0,6}"))
        .prop_map(|(whole, fraction)| format!("{whole}{}", fraction.unwrap_or_default()));
    text_or(valid.boxed())
}

/// `amount` minor units written as a plain decimal in `currency`'s major units.
fn plain_decimal(currency: Currency, amount: i64) -> String {
    let scale = currency.minor_per_major().unsigned_abs();
    let sign = if amount < 0 { "-" } else { "" };
    let magnitude = amount.unsigned_abs();
    match currency.exponent() as usize {
        0 => format!("{sign}{magnitude}"),
        width => format!("{sign}{}.{:0width$}", magnitude / scale, magnitude % scale),
    }
}

proptest! {
    #[test]
    fn amounts_and_percentages_never_panic_and_round_trip(
        text in decimal(),
        currency in select(Currency::ALL),
        amount in prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX)],
        ppm in 0..=1_000_000i64,
        code in text_or("[A-Z]{3}".boxed()),
    ) {
        let _ = currency.parse_amount(&text);
        let _ = parse_percent_ppm(&text);
        let _ = currency.format(amount);
        prop_assert_eq!(currency.parse_amount(&plain_decimal(currency, amount)), Ok(amount));
        let percent = format!("{}.{:04}", ppm / 10_000, ppm % 10_000);
        prop_assert_eq!(parse_percent_ppm(&percent), Ok(ppm));
        if let Ok(parsed) = Currency::parse(&code) {
            prop_assert_eq!(parsed.code(), code);
        }
    }

    #[test]
    fn emails_phones_and_searches_never_panic_and_normalise_once(
        email in text_or("[A-Za-z0-9._%+-]{1,20}@[a-z0-9-]{1,10}\\.[a-z]{2,4}".boxed()),
        phone in text_or("\\+[1-9][0-9 ().-]{7,20}".boxed()),
        search in text_or(prop_oneof!["\\+?[0-9 ().-]{0,30}", "[a-z%_\\\\]{0,60}"].boxed()),
    ) {
        if let Ok(parsed) = Email::parse(&email) {
            prop_assert_eq!(Email::parse(parsed.as_str()), Ok(parsed.clone()));
        }
        if let Ok(parsed) = Phone::parse(&phone) {
            prop_assert_eq!(Phone::parse(parsed.as_str()), Ok(parsed.clone()));
            prop_assert!(parsed.digits().bytes().all(|b| b.is_ascii_digit()));
        }
        if let Some(pattern) = search_pattern(&search) {
            prop_assert!(pattern.len() <= LIKE_PATTERN_MAX_BYTES, "{pattern:?}");
            prop_assert!(pattern.starts_with('%') && pattern.ends_with('%'));
        }
    }

    #[test]
    fn settings_names_and_notes_never_panic_and_names_round_trip(
        text in text(),
        rounding in text_or(one_of(&["per_line", "per_document"])),
        asset in text_or(one_of(&["app.js", "app.0123456789abcdef.css", "x.y.z", ".", "a."])),
    ) {
        let _ = parse_brand_color(&text);
        let _ = parse_rounding(&rounding);
        let _ = pricing(&text, &rounding);
        let _ = parse_note(&text);
        let _ = parse_probe(&text);
        let _ = label(&text);
        let _ = assets::find(&asset);
        if let Ok(prefix) = parse_prefix(&text) {
            prop_assert_eq!(parse_prefix(&prefix), Ok(prefix.clone()));
        }
        for status in JobStatus::ALL {
            prop_assert_eq!(JobStatus::parse(status.as_str()), Some(status));
        }
        for priority in Priority::ALL {
            prop_assert_eq!(Priority::parse(priority.as_str()), Some(priority));
        }
        for status in QuoteStatus::ALL {
            prop_assert_eq!(QuoteStatus::parse(status.as_str()), Some(status));
        }
        for status in InvoiceStatus::ALL {
            prop_assert_eq!(InvoiceStatus::parse(status.as_str()), Some(status));
        }
        for method in PaymentMethod::ALL {
            prop_assert_eq!(PaymentMethod::parse(method.as_str()), Some(method));
        }
        for role in Role::ALL {
            prop_assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        for action in Action::ALL {
            prop_assert_eq!(Action::parse(action.as_str()), Some(*action));
        }
        let parsed = [
            JobStatus::parse(&text).map(JobStatus::as_str),
            Priority::parse(&text).map(Priority::as_str),
            QuoteStatus::parse(&text).map(QuoteStatus::as_str),
            InvoiceStatus::parse(&text).map(InvoiceStatus::as_str),
            PaymentMethod::parse(&text).map(PaymentMethod::as_str),
            Role::parse(&text).map(Role::as_str),
            Action::parse(&text).map(Action::as_str),
        ];
        prop_assert!(parsed.into_iter().flatten().all(|name| name == text));
    }
}

// ---------------------------------------------------------------------------------------------
// Chat commands
// ---------------------------------------------------------------------------------------------

/// Messages shaped like commands: a slash or none, a name in any case, a bot suffix, and
/// arguments of numbers, dates and times with odd digits.
fn command_text() -> BoxedStrategy<String> {
    let name = select(
        &[
            "help",
            "start",
            "today",
            "jobs",
            "job",
            "customer",
            "status",
            "note",
            "move",
            "link",
            "LINK",
            "Move",
            "x",
            "",
            "abcdefghijklmnopqrstuvwxyzabcdefghijklmn",
        ][..],
    );
    let arg = prop_oneof![
        "#?-?[0-9]{0,20}",
        "[0-9]{1,5}-[0-9]{1,3}-[0-9]{1,3}",
        "[0-9]{1,3}:[0-9]{1,3}",
        one_of(&["in progress", "On-Hold", "canceled", "CODE-1234", "é€𝄞"]),
        text(),
    ];
    let valid = (
        select(&["/", "", " /", "//"][..]),
        name,
        select(&["", "@fieldworker_bot", "@", "@bad bot"][..]),
        prop::collection::vec(arg, 0..4),
    )
        .prop_map(|(slash, name, bot, args)| format!("{slash}{name}{bot} {}", args.join(" ")));
    text_or(valid.boxed())
}

proptest! {
    #[test]
    fn commands_never_panic_and_a_move_reads_back(
        text in command_text(),
        number in 1..=i64::MAX,
        (year, month, day) in (1970..=9999i64, 1..=12u32, 1..=28u32),
        (hour, minute) in (0..24u32, 0..60u32),
    ) {
        let _ = commands::parse(&text);
        if let Some(command) = bot_command(&text) {
            prop_assert!(!command.name.is_empty() && command.name.len() <= 32);
        }
        if let Some(code) = link_code(&text) {
            prop_assert_eq!(parse_link_code(code), Some(code));
        }
        let date = format!("{year:04}-{month:02}-{day:02}");
        let message = format!("/move@fieldworker_bot #{number}  {date} {hour}:{minute:02}");
        let at = LocalDateTime::new(year, month, day, hour, minute).unwrap();
        prop_assert_eq!(commands::parse(&message), Ok(Command::Move { number, at }));
    }
}

// ---------------------------------------------------------------------------------------------
// JSON documents: MCP, tools, model turns, request bodies
// ---------------------------------------------------------------------------------------------

fn rpc_request() -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "get_job",
            "arguments": { "job_id": "j-1" },
            "_meta": { "io.modelcontextprotocol/protocolVersion": "2026-07-28" }
        }
    })
}

fn model_turn() -> Value {
    json!({
        "content": [
            { "type": "text", "text": "Looking." },
            { "type": "tool_use", "id": "tu_1", "name": "list_jobs", "input": { "status": "open" } }
        ],
        "stop_reason": "tool_use",
        "usage": { "output_tokens": 12 }
    })
}

fn line_body() -> Value {
    json!({
        "title": "Boiler",
        "lines": [
            { "description": "Part", "quantity_milli": 1000, "unit_price": 1250,
              "tax_rate_ppm": 200_000,
              "discount": { "percent_ppm": 100_000 }, "optional": false, "option": "good" }
        ]
    })
}

proptest! {
    #[test]
    fn mcp_messages_never_panic(body in json_body(rpc_request()), problem in perturbed(json!({
        "title": "Conflict", "detail": "x", "errors": [{ "field": "f", "message": "m" }],
        "allowed": ["open"], "current": { "version": 3 }
    })), status in any::<u16>()) {
        if let Ok(message) = mcp::parse(&body) {
            let _ = message.meta_version();
            if let mcp::Message::Request { params, .. } = &message {
                let _ = mcp::initialize(params, "0.1.0");
            }
        }
        let _ = mcp::problem_message(status, &problem);
    }

    #[test]
    fn tool_arguments_never_panic_and_plans_stay_on_the_api(
        tool in 0..CATALOGUE.len(),
        arguments in prop_oneof![
            json(),
            perturbed(json!({
                "job_id": "j-1", "customer_id": "c-1", "site_id": "s-1", "visit_id": "v-1",
                "version": 1, "status": "open", "query": "ann", "limit": 10, "cursor": "x",
                "text": "note", "confirmed": true
            })),
        ],
    ) {
        let tool = &CATALOGUE[tool];
        if let Ok(call) = tool.plan(&arguments) {
            prop_assert!(call.path.starts_with("/api/v1/"), "{}: {}", tool.name, call.path);
            let target = call.target();
            prop_assert!(!target.contains('#') && target.matches('?').count() <= 1, "{target}");
        }
    }

    #[test]
    fn model_turns_and_request_bodies_never_panic(
        answer in perturbed(model_turn()),
        body in json_body(line_body()),
        stored in prop_oneof![text(), json().prop_map(|v| v.to_string())],
        instant in prop_oneof![json(), rfc3339().prop_map(Value::from)],
    ) {
        if let Ok(turn) = turn::parse_turn(&answer) {
            prop_assert!(!turn.wants_tools || !turn.tool_uses.is_empty());
        }
        if let Ok(mut parsed) = Body::parse(&body, &["title", "lines"]) {
            let _ = parsed.take::<String>("title", "text");
            let _ = parsed.take_lines("lines", 0);
            let _ = parsed.finish();
        }
        let _ = StoredTotals::parse(&stored);
        let _ = replies::instant(&instant);
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: inputs that once ended an instance
// ---------------------------------------------------------------------------------------------

/// `GET /api/v1/audit?since=aaa%E2%82%ACxxxx` sliced the time inside the euro sign.
#[test]
fn a_time_with_a_multi_byte_character_where_digits_belong_is_a_422() {
    let url = "https://t.example/api/v1/audit?since=aaa%E2%82%ACxxxx";
    assert_eq!(AuditQuery::parse(url).unwrap_err().status(), 422);
    assert_eq!(Millis::parse_rfc3339("aaa€xxxxT00000000Z"), None);
}

/// A negative offset on the last day of 9999 is an instant in 10000 UTC, whose stored form has
/// five digits and did not read back.
#[test]
fn a_time_an_offset_moves_past_the_year_9999_is_refused() {
    assert_eq!(Millis::parse_rfc3339("9999-12-31T23:59:59-01:00"), None);
    assert_eq!(
        Millis::parse_rfc3339("9999-12-31T23:59:59.999Z"),
        Some(Millis::LAST)
    );
}

/// A reply of nothing but characters XML cannot carry became an empty `<Message>`.
#[test]
fn a_reply_of_only_characters_xml_cannot_carry_is_no_message() {
    let empty = r#"<?xml version="1.0" encoding="UTF-8"?><Response/>"#;
    assert_eq!(twiml_message(Some("\u{1}")), empty);
    assert_eq!(twiml_message(Some("\u{1} \u{2}")), empty);
}

proptest! {
    /// OAuth's parsers (redirect URIs, loopback ports, PKCE, scopes, registration metadata)
    /// answer whatever a client sends, and a loopback URI still matches itself on another port.
    #[test]
    fn oauth_parsers_never_panic(
        uri in ".{0,80}",
        other in ".{0,80}",
        port in 0u32..100_000,
        scope in ".{0,40}",
        registration in perturbed(json!({
            "client_name": "App", "redirect_uris": ["http://127.0.0.1:3000/cb"],
            "grant_types": ["authorization_code"], "token_endpoint_auth_method": "none"
        })),
    ) {
        use fieldworker::domain::oauth;
        let _ = oauth::redirect_uri_refusal(&uri);
        let _ = oauth::redirect_matches(&uri, &other);
        let _ = oauth::check_pkce(Some(&uri), Some(&other));
        let _ = oauth::verifier_answers(&uri, &other);
        let _ = oauth::Scope::parse(Some(&scope));
        let _ = oauth::registration(&registration);
        let _ = oauth::resource_matches(&uri, &other);
        let _ = oauth::with_query(&uri, &[("state", &other)]);
        let registered = "http://127.0.0.1:3000/cb";
        let presented = format!("http://127.0.0.1:{port}/cb");
        prop_assert!(oauth::redirect_matches(registered, &presented), "{}", presented);
    }
}
