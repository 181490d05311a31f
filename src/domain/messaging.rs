//! Inbound messages off the wire: Telegram updates and Twilio SMS form posts, parsed into one
//! [`Inbound`] type; TwiML replies; and the recognition of bot commands such as `/link CODE`
//! that must work before a sender is linked to a user.
//!
//! Parsing happens after the signature check (see `signatures`), on the raw body that was
//! checked. Providers retry until they get a 2xx, so every parse keeps the provider's id for
//! dedupe even when the content is of no interest.

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

use crate::domain::chat_files::{twilio_media, ChatFile, TelegramFile};
use crate::domain::contact::Phone;

/// The largest Telegram update we read. A text message is at most 4096 characters; with its
/// entities and the sender's details an update stays far below this.
pub const MAX_TELEGRAM_BODY: usize = 256 * 1024;
/// The largest Twilio form we read: an SMS body is at most 1600 characters, and the other fields
/// (ten media URLs at most) add a few kilobytes.
pub const MAX_TWILIO_BODY: usize = 64 * 1024;
/// Twilio refuses a message body longer than this, so a longer reply is cut rather than lost.
pub const MAX_SMS_REPLY_CHARS: usize = 1600;
/// Link codes are issued by the dashboard; anything longer is not one of ours.
const MAX_LINK_CODE: usize = 64;
/// Telegram caps command names at 32 characters.
const MAX_COMMAND_NAME: usize = 32;

/// Where a message came from, and where the reply goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    Telegram,
    Sms,
}

impl Channel {
    /// The name stored with a linked sender and a dedupe row.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Telegram => "telegram",
            Channel::Sms => "sms",
        }
    }
}

/// The blind-index term of an address on a channel (DESIGN.md §9): the channel and the
/// address as a sender is stored (a Telegram chat id in decimal, an E.164 number), so a linked
/// sender is found by `IndexKey::blind` of it without the address being stored readable.
pub fn address_term(channel: Channel, address: &str) -> String {
    format!("{}:{}", channel.as_str(), address.trim())
}

/// The data key of a sender nobody is linked to, named after their address's blind index
/// (`s-` and its first 22 characters, all of a 16-byte index): what they wrote can be erased
/// without anyone knowing who they are, and their next message finds the same key.
pub fn sender_key(address_index: &str) -> String {
    format!("s-{}", address_index.chars().take(22).collect::<String>())
}

/// A text message from a person, whichever channel brought it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    pub channel: Channel,
    /// The provider's id of this delivery, for dedupe: Telegram's `update_id` in decimal, or
    /// Twilio's `MessageSid`.
    pub provider_id: String,
    /// Who sent it, as a linked sender is stored: the Telegram chat id in decimal (a private
    /// chat's id is the user's), or an E.164 phone number.
    pub sender: String,
    /// The name the person goes by on Telegram, to address them; SMS has none.
    pub sender_name: Option<String>,
    pub text: String,
    /// When the provider says it was sent (Telegram's `date`); SMS webhooks carry no time.
    pub sent_at_unix: Option<i64>,
    /// The photo, document or MMS media it carries (`text` is then the caption), not yet
    /// fetched.
    pub files: Vec<ChatFile>,
}

/// Why an inbound body could not be read. For logs; the glue answers 400 (or 413).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundError {
    TooLarge {
        len: usize,
        max: usize,
    },
    NotJson(String),
    /// A Telegram body without an integer `update_id`: nothing to dedupe on.
    NoUpdateId,
    Form(FormError),
    MissingField(&'static str),
    /// A field that must be single given more than once: which one counts cannot be told.
    RepeatedField(&'static str),
    /// A `MessageSid` that is empty, too long or has characters no Twilio id has.
    BadMessageSid,
    /// `From` is not an E.164 number (a WhatsApp or short-code sender, say).
    SenderNotAPhone,
}

impl fmt::Display for InboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { len, max } => write!(f, "body of {len} bytes is over {max}"),
            Self::NotJson(cause) => write!(f, "body is not JSON: {cause}"),
            Self::NoUpdateId => f.write_str("Telegram update has no integer update_id"),
            Self::Form(error) => error.fmt(f),
            Self::MissingField(name) => write!(f, "form has no {name}"),
            Self::RepeatedField(name) => write!(f, "form repeats {name}"),
            Self::BadMessageSid => f.write_str("MessageSid is not a Twilio id"),
            Self::SenderNotAPhone => f.write_str("From is not an E.164 phone number"),
        }
    }
}

impl std::error::Error for InboundError {}

impl From<FormError> for InboundError {
    fn from(error: FormError) -> Self {
        InboundError::Form(error)
    }
}

// ---------------------------------------------------------------------------------------------
// Telegram
// ---------------------------------------------------------------------------------------------

/// One Telegram update: its id, always, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelegramUpdate {
    /// Telegram resends an update with the same id until it gets a 2xx: record it even when
    /// the update is ignored, so a retry is recognised.
    pub update_id: i64,
    pub content: TelegramContent,
}

impl TelegramUpdate {
    /// The message to act on, if there is one.
    pub fn into_inbound(self) -> Option<Inbound> {
        match self.content {
            TelegramContent::Message(inbound) => Some(inbound),
            TelegramContent::Ignored(_) => None,
        }
    }
}

/// What an update holds: a message to act on, or the reason there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelegramContent {
    Message(Inbound),
    Ignored(Ignored),
}

/// Why an update carries nothing to act on. Each is answered 200, so Telegram stops resending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// An edit, a callback, a channel post, a membership change: anything but a new message.
    NotANewMessage,
    /// A sticker, location or the like: neither text nor a photo or document.
    NoText,
    /// A group or channel. Replies would show a linked user's data to everyone in it, and a
    /// link belongs to one person, so only private chats are served.
    NotPrivateChat,
    /// A `message` that lacks what the Bot API promises (a chat, an integer id, a date).
    MalformedMessage,
}

#[derive(Deserialize)]
struct WireMessage {
    date: i64,
    chat: WireChat,
    #[serde(default)]
    from: Option<WireUser>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
}

#[derive(Deserialize)]
struct WireChat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
struct WireUser {
    /// Required by the Bot API, but a name is only for greeting: its absence is no reason to
    /// drop the message.
    #[serde(default)]
    first_name: Option<String>,
}

/// Reads a Telegram update. Unknown fields are ignored (the Bot API adds them often). The body
/// fails only when it is too large, is not JSON, or has no `update_id`; anything else yields
/// the id with either a message or the reason it was ignored.
pub fn parse_telegram_update(body: &[u8]) -> Result<TelegramUpdate, InboundError> {
    check_size(body, MAX_TELEGRAM_BODY)?;
    let value: Value =
        serde_json::from_slice(body).map_err(|e| InboundError::NotJson(e.to_string()))?;
    let update_id = value
        .get("update_id")
        .and_then(Value::as_i64)
        .ok_or(InboundError::NoUpdateId)?;
    let content = match value.get("message") {
        None => TelegramContent::Ignored(Ignored::NotANewMessage),
        Some(message) => match WireMessage::deserialize(message) {
            Err(_) => TelegramContent::Ignored(Ignored::MalformedMessage),
            Ok(wire) => match telegram_files(message) {
                Some(files) => telegram_content(update_id, wire, files),
                None => TelegramContent::Ignored(Ignored::MalformedMessage),
            },
        },
    };
    Ok(TelegramUpdate { update_id, content })
}

/// The photo or document a message carries (read off the JSON: derived parsers for them
/// would cost the Worker more code); `None` when one is there without a `file_id`.
fn telegram_files(message: &Value) -> Option<Vec<ChatFile>> {
    let file = |v: &Value| {
        Some(TelegramFile {
            file_id: v.get("file_id")?.as_str()?.to_owned(),
            file_size: v.get("file_size").and_then(Value::as_u64),
            width: v.get("width").and_then(Value::as_u64),
            height: v.get("height").and_then(Value::as_u64),
        })
    };
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    if let Some(sizes) = message.get("photo").and_then(Value::as_array) {
        if !sizes.is_empty() {
            let sizes: Option<Vec<TelegramFile>> = sizes.iter().map(file).collect();
            return Some(vec![ChatFile::TelegramPhoto(sizes?)]);
        }
    }
    match message.get("document") {
        Some(document) => Some(vec![ChatFile::TelegramDocument {
            file: file(document)?,
            name: text(document, "file_name"),
            mime_type: text(document, "mime_type"),
        }]),
        None => Some(Vec::new()),
    }
}

fn telegram_content(update_id: i64, message: WireMessage, files: Vec<ChatFile>) -> TelegramContent {
    if message.chat.kind != "private" {
        return TelegramContent::Ignored(Ignored::NotPrivateChat);
    }
    let text = match (message.text, files.is_empty()) {
        (Some(text), _) => text,
        (None, false) => message.caption.unwrap_or_default(),
        (None, true) => return TelegramContent::Ignored(Ignored::NoText),
    };
    TelegramContent::Message(Inbound {
        channel: Channel::Telegram,
        provider_id: update_id.to_string(),
        sender: message.chat.id.to_string(),
        sender_name: message.from.and_then(|from| from.first_name),
        text,
        sent_at_unix: Some(message.date),
        files,
    })
}

// ---------------------------------------------------------------------------------------------
// Twilio
// ---------------------------------------------------------------------------------------------

/// Why a form body could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormError {
    /// A `%` not followed by two hex digits, at this byte offset of the body.
    BadPercentEscape { at: usize },
    /// A name or value that is not UTF-8 once decoded; `pair` counts from 0.
    NotUtf8 { pair: usize },
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadPercentEscape { at } => write!(f, "bad percent escape at byte {at}"),
            Self::NotUtf8 { pair } => write!(f, "form pair {pair} is not UTF-8 once decoded"),
        }
    }
}

impl std::error::Error for FormError {}

/// Decodes an `application/x-www-form-urlencoded` body into its pairs, every one in order
/// (repeats included), as a signature check needs them. `+` is a space and `%XX` a byte; unlike
/// a browser's lenient decoder, a bad escape or bytes that are not UTF-8 are errors, because a
/// body we would have to guess at is not one a provider signed. Empty pieces (`a=1&&b=2`) are
/// skipped and a piece without `=` is a name with an empty value, as the WHATWG URL standard
/// reads them.
pub fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, FormError> {
    let mut pairs = Vec::new();
    let mut offset = 0;
    for piece in body.split(|&b| b == b'&') {
        let start = offset;
        offset += piece.len() + 1;
        if piece.is_empty() {
            continue;
        }
        let (name, value, value_start) = match piece.iter().position(|&b| b == b'=') {
            Some(eq) => (&piece[..eq], &piece[eq + 1..], start + eq + 1),
            None => (piece, &piece[piece.len()..], start + piece.len()),
        };
        let index = pairs.len();
        let name = percent_decode(name, start, index)?;
        let value = percent_decode(value, value_start, index)?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

/// [`parse_form`] with the size limit for a Twilio webhook.
pub fn parse_twilio_form(body: &[u8]) -> Result<Vec<(String, String)>, InboundError> {
    check_size(body, MAX_TWILIO_BODY)?;
    Ok(parse_form(body)?)
}

/// The SMS in a verified Twilio form: `MessageSid`, `From` and `Body` are required (Body may be
/// empty, as for a picture message) and must each appear once; other fields are left to the
/// signature check. `From` is normalised to E.164 so it matches the stored link.
pub fn inbound_from_twilio(params: &[(String, String)]) -> Result<Inbound, InboundError> {
    let message_sid = single(params, "MessageSid")?;
    let from = single(params, "From")?;
    let body = single(params, "Body")?;
    // Twilio ids are two letters and 32 hex digits; we check only what keeps the id safe as a
    // dedupe key and in a log line, so a stand-in's ids need not imitate the exact shape.
    let sid_ok = (1..=64).contains(&message_sid.len())
        && message_sid.bytes().all(|b| b.is_ascii_alphanumeric());
    if !sid_ok {
        return Err(InboundError::BadMessageSid);
    }
    let phone = Phone::parse(from).map_err(|_| InboundError::SenderNotAPhone)?;
    Ok(Inbound {
        channel: Channel::Sms,
        provider_id: message_sid.to_owned(),
        sender: phone.as_str().to_owned(),
        sender_name: None,
        text: body.to_owned(),
        sent_at_unix: None,
        files: twilio_media(params),
    })
}

/// The TwiML answer to an inbound SMS: one `<Message>` with the reply, XML-escaped, or an empty
/// `<Response/>` when there is nothing to say (blank counts as nothing: Twilio refuses an empty
/// message). Characters XML 1.0 cannot carry are dropped, since one would make Twilio reject
/// the whole document, and a reply over [`MAX_SMS_REPLY_CHARS`] is cut with an ellipsis.
pub fn twiml_message(reply: Option<&str>) -> String {
    const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
    // Characters are dropped before the blank check: a reply of only controls would otherwise
    // become an empty `<Message>`, which Twilio refuses.
    let allowed: String = reply
        .unwrap_or_default()
        .chars()
        .filter(|&c| xml_char_allowed(c))
        .collect();
    let kept: Vec<char> = allowed.trim().chars().collect();
    if kept.is_empty() {
        return format!("{DECLARATION}<Response/>");
    }
    let cut: String = if kept.len() > MAX_SMS_REPLY_CHARS {
        kept[..MAX_SMS_REPLY_CHARS - 1]
            .iter()
            .chain(['…'].iter())
            .collect()
    } else {
        kept.into_iter().collect()
    };
    format!(
        "{DECLARATION}<Response><Message>{}</Message></Response>",
        xml_escape(&cut)
    )
}

// ---------------------------------------------------------------------------------------------
// Bot commands
// ---------------------------------------------------------------------------------------------

/// A message that starts with a command word: `/name[@bot] args…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotCommand<'a> {
    /// Lower-cased, without the slash or the `@bot` suffix.
    pub name: String,
    /// The rest of the message, trimmed; inner spacing and newlines as typed.
    pub args: &'a str,
}

/// The command a message starts with, if it starts with one. The first word must be `/` and 1 to
/// 32 of `A-Z a-z 0-9 _` (Telegram's command syntax), optionally followed by `@` and a bot's
/// username, as Telegram clients append in menus and groups. Anything else, such as
/// `/path/to/file` or a lone `/`, is plain text.
pub fn bot_command(text: &str) -> Option<BotCommand<'_>> {
    let text = text.trim();
    let rest = text.strip_prefix('/')?;
    let word_end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let (word, args) = rest.split_at(word_end);
    let (name, bot) = match word.split_once('@') {
        Some((name, bot)) => (name, Some(bot)),
        None => (word, None),
    };
    let is_identifier = |s: &str, max: usize| {
        (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    };
    if !is_identifier(name, MAX_COMMAND_NAME) || bot.is_some_and(|bot| !is_identifier(bot, 64)) {
        return None;
    }
    Some(BotCommand {
        name: name.to_ascii_lowercase(),
        args: args.trim(),
    })
}

/// A code as typed after `/link`: 4 to 64 of `A-Z a-z 0-9 _ -`, kept as typed. How codes are
/// compared (case, dashes) belongs to whoever issues them.
pub fn parse_link_code(text: &str) -> Option<&str> {
    let code = text.trim();
    let ok = (4..=MAX_LINK_CODE).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then_some(code)
}

/// The code of a `/link CODE` (or `link CODE`) message, the one command an unlinked sender may
/// use. Any other
/// message, or a `/link` without a well-formed code, gives `None`: the glue answers an unknown
/// sender the same short way in every such case.
pub fn link_code(text: &str) -> Option<&str> {
    if let Some(command) = bot_command(text) {
        return (command.name == "link")
            .then(|| parse_link_code(command.args))
            .flatten();
    }
    // By SMS the slash is often left out: "LINK CODE" works too.
    let (word, rest) = text.trim().split_once(char::is_whitespace)?;
    word.eq_ignore_ascii_case("link")
        .then(|| parse_link_code(rest))
        .flatten()
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn check_size(body: &[u8], max: usize) -> Result<(), InboundError> {
    if body.len() > max {
        return Err(InboundError::TooLarge {
            len: body.len(),
            max,
        });
    }
    Ok(())
}

/// The value of a field that must appear exactly once.
fn single<'a>(params: &'a [(String, String)], name: &'static str) -> Result<&'a str, InboundError> {
    let mut values = params.iter().filter(|(key, _)| key == name);
    let value = values.next().ok_or(InboundError::MissingField(name))?;
    if values.next().is_some() {
        return Err(InboundError::RepeatedField(name));
    }
    Ok(&value.1)
}

/// Decodes one name or value; `at` is its offset in the body, for the error.
fn percent_decode(bytes: &[u8], at: usize, pair: usize) -> Result<String, FormError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let high = bytes.get(i + 1).copied().and_then(hex_value);
                let low = bytes.get(i + 2).copied().and_then(hex_value);
                let (Some(high), Some(low)) = (high, low) else {
                    return Err(FormError::BadPercentEscape { at: at + i });
                };
                out.push(high << 4 | low);
                i += 2;
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| FormError::NotUtf8 { pair })
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The characters XML 1.0 allows in a document.
fn xml_char_allowed(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    /// The update of PROTOCOLS.md.
    const START_UPDATE: &str = r#"{"update_id":10000,"message":{"message_id":1365,"date":1700000000,
        "from":{"id":1111111,"is_bot":false,"first_name":"Ann","username":"ann"},
        "chat":{"id":1111111,"type":"private","first_name":"Ann"},
        "text":"/start job-42","entities":[{"offset":0,"length":6,"type":"bot_command"}]}}"#;

    // -- Telegram -----------------------------------------------------------------------------

    #[test]
    fn the_documented_telegram_update_becomes_an_inbound_message() {
        let update = parse_telegram_update(START_UPDATE.as_bytes()).unwrap();
        assert_eq!(update.update_id, 10000);
        assert_eq!(
            update.into_inbound(),
            Some(Inbound {
                channel: Channel::Telegram,
                provider_id: "10000".into(),
                sender: "1111111".into(),
                sender_name: Some("Ann".into()),
                text: "/start job-42".into(),
                sent_at_unix: Some(1_700_000_000),
                files: Vec::new(),
            })
        );
    }

    #[test]
    fn a_telegram_photo_or_document_is_a_message_whose_text_is_its_caption() {
        // As the Bot API sends them: a photo's sizes smallest first; a document's own fields.
        let photo = json!({"update_id": 11, "message": {"message_id": 2, "date": 5,
        "chat": {"id": 9, "type": "private"}, "caption": "/photo 42",
        "photo": [
            {"file_id": "AgAD-s", "file_unique_id": "u1", "file_size": 1433, "width": 90, "height": 67},
            {"file_id": "AgAD-x", "file_unique_id": "u2", "file_size": 64210, "width": 1280, "height": 960}
        ]}});
        let inbound = parse_telegram_update(photo.to_string().as_bytes())
            .unwrap()
            .into_inbound()
            .expect("a message");
        assert_eq!(inbound.text, "/photo 42");
        let ChatFile::TelegramPhoto(sizes) = &inbound.files[0] else {
            panic!("{:?}", inbound.files)
        };
        assert_eq!(sizes.len(), 2);
        assert_eq!(sizes[1].file_id, "AgAD-x");
        assert_eq!(sizes[1].file_size, Some(64210));

        let document = json!({"update_id": 12, "message": {"message_id": 3, "date": 5,
            "chat": {"id": 9, "type": "private"},
            "document": {"file_id": "BQAD", "file_unique_id": "u3", "file_name": "report.pdf",
                         "mime_type": "application/pdf", "file_size": 2048}}});
        let inbound = parse_telegram_update(document.to_string().as_bytes())
            .unwrap()
            .into_inbound()
            .expect("a message");
        assert_eq!(inbound.text, "");
        assert_eq!(
            inbound.files,
            vec![ChatFile::TelegramDocument {
                file: TelegramFile {
                    file_id: "BQAD".into(),
                    file_size: Some(2048),
                    width: None,
                    height: None,
                },
                name: Some("report.pdf".into()),
                mime_type: Some("application/pdf".into()),
            }]
        );
        // A document without a file id is not one the bot could fetch.
        let broken = json!({"update_id": 13, "message": {"message_id": 4, "date": 5,
            "chat": {"id": 9, "type": "private"}, "document": {"file_name": "x"}}});
        assert_eq!(
            parse_telegram_update(broken.to_string().as_bytes())
                .unwrap()
                .content,
            TelegramContent::Ignored(Ignored::MalformedMessage)
        );
    }

    #[test]
    fn a_telegram_message_needs_only_the_required_fields_and_tolerates_unknown_ones() {
        let body = json!({
            "update_id": 7,
            "brand_new_field": {"x": 1},
            "message": {"message_id": 1, "date": 5, "chat": {"id": -1, "type": "private",
                        "is_forum": false}, "text": "hi", "link_preview_options": {}},
        });
        let inbound = parse_telegram_update(body.to_string().as_bytes())
            .unwrap()
            .into_inbound()
            .expect("a message");
        assert_eq!(inbound.sender, "-1");
        assert_eq!(inbound.sender_name, None);
        assert_eq!(inbound.text, "hi");
    }

    #[test]
    fn updates_without_a_usable_message_keep_their_id_and_say_why() {
        let message = |chat_type: &str, text: Option<&str>| {
            let mut m = json!({"message_id": 1, "date": 5,
                               "chat": {"id": 9, "type": chat_type}});
            if let Some(text) = text {
                m["text"] = json!(text);
            }
            m
        };
        let cases = [
            (
                json!({"update_id": 1, "edited_message": message("private", Some("x"))}),
                Ignored::NotANewMessage,
            ),
            (
                json!({"update_id": 2, "callback_query": {"id": "q", "data": "d"}}),
                Ignored::NotANewMessage,
            ),
            (
                json!({"update_id": 3, "message": message("private", None)}),
                Ignored::NoText,
            ),
            (
                json!({"update_id": 4, "message": message("group", Some("/today"))}),
                Ignored::NotPrivateChat,
            ),
            (
                json!({"update_id": 5, "message": message("supergroup", Some("x"))}),
                Ignored::NotPrivateChat,
            ),
            (
                json!({"update_id": 6, "message": {"message_id": 1, "date": 5, "text": "x"}}),
                Ignored::MalformedMessage,
            ),
            (
                json!({"update_id": 7, "message": {"date": 5, "text": 1,
                                                   "chat": {"id": 9, "type": "private"}}}),
                Ignored::MalformedMessage,
            ),
            (
                json!({"update_id": 8, "message": "text"}),
                Ignored::MalformedMessage,
            ),
        ];
        for (body, reason) in cases {
            let update = parse_telegram_update(body.to_string().as_bytes()).unwrap();
            assert_eq!(update.update_id, body["update_id"].as_i64().unwrap());
            assert_eq!(update.content, TelegramContent::Ignored(reason), "{body}");
        }
    }

    #[test]
    fn a_telegram_body_fails_only_when_oversized_not_json_or_without_update_id() {
        type Check = fn(&InboundError) -> bool;
        let oversized = format!(
            r#"{{"update_id":1,"pad":"{}"}}"#,
            "x".repeat(MAX_TELEGRAM_BODY)
        );
        let cases: [(&[u8], Check); 6] = [
            (b"", |e| matches!(e, InboundError::NotJson(_))),
            (b"{\"update_id\":", |e| {
                matches!(e, InboundError::NotJson(_))
            }),
            (b"{}", |e| *e == InboundError::NoUpdateId),
            (b"{\"update_id\":\"1\"}", |e| *e == InboundError::NoUpdateId),
            (b"[1]", |e| *e == InboundError::NoUpdateId),
            (oversized.as_bytes(), |e| {
                matches!(
                    e,
                    InboundError::TooLarge {
                        max: MAX_TELEGRAM_BODY,
                        ..
                    }
                )
            }),
        ];
        for (body, expected) in cases {
            let error = parse_telegram_update(body).unwrap_err();
            assert!(expected(&error), "{error:?}");
        }
        let at_limit = format!(
            r#"{{"update_id":1,"pad":"{}"}}"#,
            "x".repeat(MAX_TELEGRAM_BODY - 24)
        );
        assert_eq!(at_limit.len(), MAX_TELEGRAM_BODY);
        assert!(parse_telegram_update(at_limit.as_bytes()).is_ok());
    }

    // -- Forms and Twilio ---------------------------------------------------------------------

    #[test]
    fn form_bodies_decode_plus_percent_and_keep_every_pair_in_order() {
        let cases: [(&str, &[(&str, &str)]); 8] = [
            ("", &[]),
            ("a=1", &[("a", "1")]),
            (
                "Body=Hello+world%21&From=%2B14158675309",
                &[("Body", "Hello world!"), ("From", "+14158675309")],
            ),
            ("a=1&a=2&a=1", &[("a", "1"), ("a", "2"), ("a", "1")]),
            ("a=&=b&c", &[("a", ""), ("", "b"), ("c", "")]),
            ("a=1&&b=2&", &[("a", "1"), ("b", "2")]),
            ("x=%C3%A9t%C3%A9+%e2%9c%93", &[("x", "été ✓")]),
            ("k%3Dv=a%26b%3Dc", &[("k=v", "a&b=c")]),
        ];
        for (body, expected) in cases {
            assert_eq!(parse_form(body.as_bytes()), Ok(pairs(expected)), "{body:?}");
        }
        // A literal '+' arrives as %2B; a raw one is a space.
        assert_eq!(parse_form(b"p=+1"), Ok(pairs(&[("p", " 1")])));
    }

    #[test]
    fn bad_percent_escapes_and_invalid_utf8_are_errors_not_guesses() {
        let cases: [(&[u8], FormError); 7] = [
            (b"a=%", FormError::BadPercentEscape { at: 2 }),
            (b"a=%4", FormError::BadPercentEscape { at: 2 }),
            (b"a=%zz", FormError::BadPercentEscape { at: 2 }),
            (b"ok=1&b%g0=1", FormError::BadPercentEscape { at: 6 }),
            (b"a=1&b=%%41", FormError::BadPercentEscape { at: 6 }),
            (b"a=1&b=%C3", FormError::NotUtf8 { pair: 1 }),
            (b"a=\xff", FormError::NotUtf8 { pair: 0 }),
        ];
        for (body, error) in cases {
            assert_eq!(parse_form(body), Err(error), "{body:?}");
        }
    }

    #[test]
    fn a_twilio_form_over_the_limit_is_refused_before_decoding() {
        let body = format!("Body={}", "a".repeat(MAX_TWILIO_BODY));
        assert_eq!(
            parse_twilio_form(body.as_bytes()),
            Err(InboundError::TooLarge {
                len: MAX_TWILIO_BODY + 5,
                max: MAX_TWILIO_BODY
            })
        );
        assert_eq!(
            parse_twilio_form(b"Body=%zz"),
            Err(InboundError::Form(FormError::BadPercentEscape { at: 5 }))
        );
    }

    fn sms_form() -> Vec<(String, String)> {
        let body = "ToCountry=US&MessageSid=SM0123456789abcdef0123456789abcdef\
            &AccountSid=AC0123456789abcdef0123456789abcdef&From=%2B14158675309\
            &To=%2B18005551212&Body=%2Fjob+42&NumMedia=0&ApiVersion=2010-04-01";
        parse_twilio_form(body.as_bytes()).unwrap()
    }

    #[test]
    fn an_mms_carries_its_media_and_its_body_as_the_caption() {
        let body = "MessageSid=MM1&From=%2B14158675309&To=%2B18005551212&Body=%2Fphoto+7\
            &NumMedia=1&MediaContentType0=image%2Fjpeg\
            &MediaUrl0=https%3A%2F%2Fapi.twilio.com%2F2010-04-01%2FAccounts%2FAC1%2FMessages%2FMM1%2FMedia%2FME1";
        let inbound = inbound_from_twilio(&parse_twilio_form(body.as_bytes()).unwrap()).unwrap();
        assert_eq!(inbound.text, "/photo 7");
        assert_eq!(
            inbound.files,
            vec![ChatFile::Media {
                url: "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1".into(),
                content_type: Some("image/jpeg".into()),
            }]
        );
    }

    #[test]
    fn a_twilio_sms_form_becomes_an_inbound_message() {
        assert_eq!(
            inbound_from_twilio(&sms_form()),
            Ok(Inbound {
                channel: Channel::Sms,
                provider_id: "SM0123456789abcdef0123456789abcdef".into(),
                sender: "+14158675309".into(),
                sender_name: None,
                text: "/job 42".into(),
                sent_at_unix: None,
                files: Vec::new(),
            })
        );
    }

    /// One change to the sample SMS form.
    #[derive(Debug, Clone, Copy)]
    enum Edit {
        Drop(&'static str),
        Repeat(&'static str),
        Set(&'static str, &'static str),
    }

    /// One character more than a `MessageSid` may have.
    const SID_65: &str = "SM0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";

    fn edited_sms(edit: Edit) -> Result<Inbound, InboundError> {
        let mut form = sms_form();
        match edit {
            Edit::Drop(name) => form.retain(|(key, _)| key != name),
            Edit::Repeat(name) => form.push((name.into(), "x".into())),
            Edit::Set(name, value) => {
                for (key, v) in form.iter_mut() {
                    if key == name {
                        *v = value.into();
                    }
                }
            }
        }
        inbound_from_twilio(&form)
    }

    #[test]
    fn a_twilio_form_needs_one_sid_one_phone_sender_and_one_body() {
        use Edit::*;
        let cases = [
            (Drop("MessageSid"), InboundError::MissingField("MessageSid")),
            (Drop("From"), InboundError::MissingField("From")),
            (Drop("Body"), InboundError::MissingField("Body")),
            (
                Repeat("MessageSid"),
                InboundError::RepeatedField("MessageSid"),
            ),
            (Repeat("From"), InboundError::RepeatedField("From")),
            (Repeat("Body"), InboundError::RepeatedField("Body")),
            (Set("MessageSid", ""), InboundError::BadMessageSid),
            (Set("MessageSid", "SM 1"), InboundError::BadMessageSid),
            (Set("MessageSid", "SM../x"), InboundError::BadMessageSid),
            (Set("MessageSid", SID_65), InboundError::BadMessageSid),
            (
                Set("From", "whatsapp:+14158675309"),
                InboundError::SenderNotAPhone,
            ),
            (Set("From", "4158675309"), InboundError::SenderNotAPhone),
            (Set("From", ""), InboundError::SenderNotAPhone),
        ];
        for (edit, error) in cases {
            assert_eq!(edited_sms(edit), Err(error), "{edit:?}");
        }
        // An empty body (a picture message) is a message with no text; a typed phone number
        // is normalised.
        assert_eq!(edited_sms(Set("Body", "")).unwrap().text, "");
        assert_eq!(
            edited_sms(Set("From", "+1 (415) 867-5309")).unwrap().sender,
            "+14158675309"
        );
    }

    #[test]
    fn twiml_replies_are_escaped_and_an_empty_reply_is_an_empty_response() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>"#;
        let cases = [
            (None, format!("{xml}<Response/>")),
            (Some(""), format!("{xml}<Response/>")),
            (Some(" \n "), format!("{xml}<Response/>")),
            // Nothing XML can carry is nothing to say, not an empty message.
            (Some("\u{0}"), format!("{xml}<Response/>")),
            (Some("\u{1} \u{FFFF}\n"), format!("{xml}<Response/>")),
            (
                Some("Job 42: done"),
                format!("{xml}<Response><Message>Job 42: done</Message></Response>"),
            ),
            (
                Some(r#"<b>Tom & "Jerry's"</b>"#),
                format!(
                    "{xml}<Response><Message>&lt;b&gt;Tom &amp; &quot;Jerry&apos;s&quot;\
                     &lt;/b&gt;</Message></Response>"
                ),
            ),
            (
                Some("a\u{0}b\u{1b}c\td\u{FFFE}é"),
                format!("{xml}<Response><Message>abc\td\u{e9}</Message></Response>"),
            ),
        ];
        for (reply, expected) in cases {
            assert_eq!(twiml_message(reply), expected, "{reply:?}");
        }
    }

    #[test]
    fn a_twiml_reply_is_cut_to_what_twilio_accepts() {
        let fits = "é".repeat(MAX_SMS_REPLY_CHARS);
        assert!(twiml_message(Some(&fits)).contains(&fits));
        let long = "é".repeat(MAX_SMS_REPLY_CHARS + 1);
        let xml = twiml_message(Some(&long));
        let message = xml
            .split("<Message>")
            .nth(1)
            .and_then(|rest| rest.split("</Message>").next())
            .unwrap();
        assert_eq!(message.chars().count(), MAX_SMS_REPLY_CHARS);
        assert!(message.ends_with("é…"));
    }

    // -- Commands -----------------------------------------------------------------------------

    #[test]
    fn bot_commands_are_recognised_with_bot_suffixes_case_and_spacing() {
        let cases = [
            ("/today", Some(("today", ""))),
            ("  /TODAY@acme_bot  ", Some(("today", ""))),
            ("/job 42", Some(("job", "42"))),
            (
                "/note@Acme_Bot  42  fixed\n  the tap ",
                Some(("note", "42  fixed\n  the tap")),
            ),
            ("/link\tAB12-CD", Some(("link", "AB12-CD"))),
            ("/a_b_9", Some(("a_b_9", ""))),
            ("today", None),
            ("/", None),
            ("/ today", None),
            ("/path/to/file", None),
            ("/today@", None),
            ("/today@bad-bot", None),
            ("/tést", None),
            ("//today", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let parsed = bot_command(text);
            assert_eq!(
                parsed.as_ref().map(|c| (c.name.as_str(), c.args)),
                expected,
                "{text:?}"
            );
        }
        let name = "c".repeat(32);
        assert!(bot_command(&format!("/{name}")).is_some());
        assert!(bot_command(&format!("/{name}c")).is_none());
    }

    #[test]
    fn a_link_code_is_found_only_in_a_well_formed_link_command() {
        let cases = [
            ("/link AB12CD", Some("AB12CD")),
            ("/link@acme_bot  ab-12_cd ", Some("ab-12_cd")),
            ("/LINK wxyz", Some("wxyz")),
            ("/link", None),
            ("/link abc", None),
            ("/link AB12 CD34", None),
            ("/link AB12.CD", None),
            ("/linker AB12CD", None),
            ("/start AB12CD", None),
        ];
        for (text, expected) in cases {
            assert_eq!(link_code(text), expected, "{text:?}");
        }
        assert!(parse_link_code(&"a".repeat(64)).is_some());
        assert!(parse_link_code(&"a".repeat(65)).is_none());
    }

    #[test]
    fn channels_have_stable_names() {
        assert_eq!(Channel::Telegram.as_str(), "telegram");
        assert_eq!(Channel::Sms.as_str(), "sms");
    }

    #[test]
    fn a_link_code_comes_with_or_without_the_slash() {
        let cases = [
            ("/link ABCD2345", Some("ABCD2345")),
            ("LINK abcd2345", Some("abcd2345")),
            ("  link   ABCD2345 ", Some("ABCD2345")),
            ("/jobs ABCD2345", None),
            ("linking ABCD2345", None),
            ("link", None),
            ("link AB", None),
        ];
        for (text, expected) in cases {
            assert_eq!(link_code(text), expected, "{text:?}");
        }
    }

    #[test]
    fn an_address_is_indexed_with_its_channel_and_an_unknown_sender_has_a_key_of_its_own() {
        assert_eq!(address_term(Channel::Telegram, "1234"), "telegram:1234");
        assert_eq!(
            address_term(Channel::Sms, " +15145550123 "),
            "sms:+15145550123"
        );
        assert_ne!(
            address_term(Channel::Telegram, "15145550123"),
            address_term(Channel::Sms, "15145550123")
        );
        let index = "AbCdEfGhIjKlMnOpQrStUv";
        assert_eq!(sender_key(index), "s-AbCdEfGhIjKlMnOpQrStUv");
        assert_eq!(sender_key(&format!("{index}xyz")), sender_key(index));
    }
}
