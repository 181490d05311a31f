//! Who wrote an inbound message, as far as its storage goes (DESIGN.md §9): the blind index of
//! its address, the user that address is linked to, and the data key its sender, text and
//! reply are sealed under — the linked user's, or the sender's own when nobody is linked.

use worker::Env;

use crate::db::{self, messaging as store};
use crate::domain::messaging::{address_term, sender_key, Channel};
use crate::domain::personal::user_key;
use crate::error::AppResult;
use crate::http::personal::index_key;

/// An inbound message's sender, resolved once when the message is recorded.
#[derive(Debug, Clone)]
pub struct Sender {
    /// The blind index of the channel and address: how links and confirmations find it.
    pub index: String,
    /// The data key the message's personal values are sealed under.
    pub key: String,
}

/// The blind index of `address` on `channel`.
pub fn index_of(env: &Env, channel: Channel, address: &str) -> AppResult<String> {
    Ok(index_key(env)?.blind(&address_term(channel, address)))
}

/// The sender of a message from `address` on `channel`: one read, of the link.
pub async fn resolve(env: &Env, channel: Channel, address: &str) -> AppResult<Sender> {
    let index = index_of(env, channel, address)?;
    let database = db::database(env)?;
    let linked: Option<store::LinkedUserId> = db::first(
        &database,
        store::SELECT_LINKED_USER_ID,
        &[
            db::text(&index),
            db::text(channel.as_str()),
            db::text(address),
        ],
    )
    .await?;
    let key = match linked {
        Some(link) => user_key(&link.user_id),
        None => sender_key(&index),
    };
    Ok(Sender { index, key })
}
