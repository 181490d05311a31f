//! Messaging: linked chats and numbers, link codes, inbound messages (deduplicated on the
//! provider's id), the agent's conversation history and pending confirmations.
//!
//! Addresses, texts and replies are personal (migration 0020): they are bound as pending
//! tokens (`domain::personal`) and found by the address's blind index, never by the address.

use serde::Deserialize;

use crate::sql;
use crate::write::Sql;

/// Records a message once: `changes() = 0` means the provider delivered it before. ?3 and ?4
/// (sender, text) are sealed under ?7, the data key recorded for the reply.
pub const INSERT_INBOUND: &str = "INSERT OR IGNORE INTO inbound_messages (channel, provider_id, \
    sender, text, received_at, state, dk) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
pub const FINISH_INBOUND: &str = "UPDATE inbound_messages SET state = ?3, user_id = ?4, \
    reply = ?5, error = ?6, finished_at = ?7 WHERE channel = ?1 AND provider_id = ?2";
pub const SELECT_INBOUND: &str = "SELECT channel, provider_id, sender, text, received_at, state, \
    user_id, reply, error FROM inbound_messages WHERE channel = ?1 AND provider_id = ?2";

/// Messages still `received` since before ?1 (ms): their handling was cut off.
pub const SELECT_STUCK: &str = "SELECT channel, provider_id, sender, text, received_at, state, \
    user_id, reply, error, dk FROM inbound_messages WHERE state = 'received' AND received_at < ?1 \
    ORDER BY received_at LIMIT ?2";
/// Gives up on a stuck message, once: only while it is still `received` (a later sweep, or the
/// handling itself finishing late, leaves it alone). ?3 reply, ?4 error, ?5 now.
pub const ABANDON_INBOUND: &str = "UPDATE inbound_messages SET state = 'failed', reply = ?3, \
    error = ?4, finished_at = ?5 WHERE channel = ?1 AND provider_id = ?2 AND state = 'received'";

/// Which links an address is: ?1 its blind index, or, for a link made before addresses were
/// sealed (no index yet), ?2 the channel and ?3 the address.
macro_rules! link_of_address {
    () => {
        "(l.address_index = ?1 OR (l.address_index IS NULL AND l.channel = ?2 AND l.address = ?3))"
    };
}

/// The user a chat or number is linked to, with the company's MFA policy (as every user read).
pub const SELECT_LINKED_USER: &str = concat!(
    "SELECT u.id, u.email, u.name, u.role, u.password_hash, \
    u.active, u.totp_secret, u.totp_pending, u.totp_last_step, u.session_epoch, u.version, \
    u.created_at, u.updated_at, \
    (SELECT mfa_required FROM company_settings WHERE id = 1) AS company_mfa_required \
    FROM channel_links l JOIN users u ON u.id = l.user_id WHERE ",
    link_of_address!()
);
/// The id of the user an address is linked to: whose data key its messages are sealed under.
pub const SELECT_LINKED_USER_ID: &str = concat!(
    "SELECT l.user_id FROM channel_links l WHERE ",
    link_of_address!()
);

pub const INSERT_LINK_CODE: &str = "INSERT INTO link_codes (code_hash, user_id, expires_at, \
    created_at) VALUES (?1, ?2, ?3, ?4)";
/// The active code's user (`?2` is now), with the company's MFA policy.
pub const SELECT_CODE_USER: &str = "SELECT id, email, name, role, password_hash, active, \
    totp_secret, totp_pending, totp_last_step, session_epoch, version, created_at, updated_at, \
    password_change_required, \
    (SELECT mfa_required FROM company_settings WHERE id = 1) AS company_mfa_required \
    FROM users WHERE id = (SELECT user_id FROM link_codes \
                           WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2)";
/// Uses a code: only once, only before it expires (`?2` is now).
pub const CONSUME_LINK_CODE: &str = "UPDATE link_codes SET used_at = ?2 \
    WHERE code_hash = ?1 AND used_at IS NULL AND expires_at > ?2";
/// Links the address to the code's user, only if this batch just consumed the code. ?3 the
/// address (sealed under the user's key), ?7 its blind index.
pub const INSERT_LINK_FROM_CODE: &str = "INSERT INTO channel_links (id, user_id, channel, \
    address, created_at, address_index) SELECT ?1, user_id, ?2, ?3, ?4, ?7 FROM link_codes \
    WHERE code_hash = ?5 AND used_at = ?6";
pub const SELECT_LINKS_OF_USER: &str = "SELECT id, channel, address, created_at \
    FROM channel_links WHERE user_id = ?1 ORDER BY created_at";
pub const DELETE_LINK: &str = "DELETE FROM channel_links WHERE id = ?1 AND user_id = ?2";
/// What the agent remembers of user ?1 (their conversations follow them: `user:<id>`, and
/// pending confirmations of their chats), forgotten with the account.
pub const FORGET_TURNS_OF_USER: &str = "DELETE FROM conversation_turns \
    WHERE address = 'user:' || ?1 \
       OR (channel, address) IN (SELECT channel, address FROM channel_links WHERE user_id = ?1)";
pub const FORGET_CONFIRMATIONS_OF_USER: &str = "DELETE FROM agent_confirmations \
    WHERE address = 'user:' || ?1 \
       OR (channel, address) IN (SELECT channel, address FROM channel_links WHERE user_id = ?1)";
/// Every chat and phone linked to user ?1, and their codes not used yet.
pub const DELETE_LINKS_OF_USER: &str = "DELETE FROM channel_links WHERE user_id = ?1";
pub const DELETE_CODES_OF_USER: &str = "DELETE FROM link_codes WHERE user_id = ?1";

/// A conversation's recent turns (contents sealed under the user's key), newest first: `?2` whose (`user:<id>`, see
/// `http::conversation`), `?3` the oldest time kept, `?4` how many at most.
pub const SELECT_TURNS: &str = "SELECT role, content FROM conversation_turns \
    WHERE channel = ?1 AND address = ?2 AND at >= ?3 ORDER BY id DESC LIMIT ?4";
pub const INSERT_TURN: &str = "INSERT INTO conversation_turns (channel, address, role, content, \
    at) VALUES (?1, ?2, ?3, ?4, ?5)";
/// Forgets what is older than `?3`, and all but the newest `?4` turns of the chat.
pub const TRIM_TURNS: &str = "DELETE FROM conversation_turns WHERE channel = ?1 AND address = ?2 \
    AND (at < ?3 OR id NOT IN (SELECT id FROM conversation_turns \
         WHERE channel = ?1 AND address = ?2 ORDER BY id DESC LIMIT ?4))";

/// Confirmations are kept by chat: ?2 is the address's blind index.
pub const INSERT_CONFIRMATION: &str = "INSERT OR REPLACE INTO agent_confirmations (channel, \
    address, tool, arguments_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
/// A confirmation proposed before `?5` (an earlier message of the chat) and not before `?6`
/// (it expires).
pub const SELECT_CONFIRMATION: &str = "SELECT created_at FROM agent_confirmations \
    WHERE channel = ?1 AND address = ?2 AND tool = ?3 AND arguments_hash = ?4 \
      AND created_at < ?5 AND created_at >= ?6";
pub const DELETE_CONFIRMATION: &str = "DELETE FROM agent_confirmations WHERE channel = ?1 \
    AND address = ?2 AND tool = ?3 AND arguments_hash = ?4";

#[derive(Debug, Deserialize)]
pub struct LinkRow {
    pub id: String,
    pub channel: String,
    pub address: String,
    pub created_at: String,
}

#[derive(Debug, Deserialize)]
pub struct TurnRow {
    pub role: String,
    pub content: String,
}

#[derive(Debug, Deserialize)]
pub struct InboundRow {
    pub channel: String,
    pub provider_id: String,
    pub sender: String,
    pub text: String,
    pub received_at: i64,
    pub state: String,
    pub user_id: Option<String>,
    pub reply: Option<String>,
    pub error: Option<String>,
    /// The data key the row is sealed under (none for a row written before 0020).
    #[serde(default)]
    pub dk: Option<String>,
}

/// A linked user's id.
#[derive(Debug, Deserialize)]
pub struct LinkedUserId {
    pub user_id: String,
}

pub fn insert_link_code(code_hash: &str, user_id: &str, expires_at: i64, now: &str) -> Sql {
    sql!(INSERT_LINK_CODE, code_hash, user_id, expires_at, now)
}

/// The statements that unlink every chat of a deleted account and forget its conversations.
pub fn forget_user(user_id: &str) -> [Sql; 4] {
    [
        sql!(FORGET_TURNS_OF_USER, user_id),
        sql!(FORGET_CONFIRMATIONS_OF_USER, user_id),
        sql!(DELETE_LINKS_OF_USER, user_id),
        sql!(DELETE_CODES_OF_USER, user_id),
    ]
}

pub fn delete_link(id: &str, user_id: &str) -> Sql {
    sql!(DELETE_LINK, id, user_id)
}

/// The address ?1 (a blind index; `channel` and `address` find a link made before addresses
/// were sealed) as every lookup of a linked sender binds it.
pub fn linked(query: &'static str, index: &str, channel: &str, address: &str) -> Sql {
    sql!(query, index, channel, address)
}
