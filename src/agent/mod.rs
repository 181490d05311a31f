//! The agent's pure core: what a Telegram or SMS message from a linked user asks for. Without an
//! AI model configured, [`commands`] is the whole language the bot understands and [`replies`]
//! its answers; with one, [`turn`] speaks the Messages API over the shared tool catalogue.

pub mod commands;
pub mod replies;
pub mod turn;
