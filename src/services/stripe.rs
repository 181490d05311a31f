//! Stripe's API: a Checkout Session for an invoice's balance. `STRIPE_SECRET_KEY` (secret)
//! switches card payments on; `STRIPE_API_BASE` (default `https://api.stripe.com`) is for tests.

use worker::Env;

use super::{post, setting, OutboundError};
use crate::domain::stripe::{checkout_form, Checkout, Session};

pub fn configured(env: &Env) -> bool {
    setting(env, "STRIPE_SECRET_KEY").is_some()
}

pub async fn create_checkout(env: &Env, checkout: &Checkout<'_>) -> Result<Session, OutboundError> {
    let key = setting(env, "STRIPE_SECRET_KEY").ok_or_else(|| OutboundError {
        service: "stripe",
        status: None,
        detail: "STRIPE_SECRET_KEY is not set".into(),
        attempts: 0,
    })?;
    let base = setting(env, "STRIPE_API_BASE").unwrap_or_else(|| "https://api.stripe.com".into());
    let url = format!("{}/v1/checkout/sessions", base.trim_end_matches('/'));
    let authorization = format!("Bearer {key}");
    // The same session is not created twice for one retried request.
    let idempotency = format!("checkout-{}-{}", checkout.invoice_id, checkout.amount);
    let text = post(
        "stripe",
        &url,
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &authorization),
            ("Idempotency-Key", &idempotency),
        ],
        checkout_form(checkout),
    )
    .await?;
    serde_json::from_str(&text).map_err(|e| OutboundError {
        service: "stripe",
        status: Some(200),
        detail: format!("unreadable session: {e}"),
        attempts: 1,
    })
}
