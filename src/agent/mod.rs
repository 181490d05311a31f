//! The agent's pure core: what a Telegram or SMS message from a linked user asks for. Without an
//! AI model configured, [`commands`] is the whole language the bot understands.

pub mod commands;
