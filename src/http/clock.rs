//! The Worker's clock. Outside production an operator (the tests) may move it forward through
//! `POST /ops/clock`, to see sessions and locks expire without waiting; the offset lives in
//! the Wasm instance and is ignored when `ENVIRONMENT` is `production`.

use std::sync::atomic::{AtomicU64, Ordering};

use worker::{Date, Env};

use crate::domain::time::Millis;

static OFFSET_MS: AtomicU64 = AtomicU64::new(0);

pub fn now() -> Millis {
    Millis(
        Date::now()
            .as_millis()
            .saturating_add(OFFSET_MS.load(Ordering::Relaxed)),
    )
}

pub fn is_production(env: &Env) -> bool {
    env.var("ENVIRONMENT")
        .map(|v| v.to_string() == "production")
        .unwrap_or(true)
}

/// Moves the clock forward by `ms`; returns the new offset.
pub fn advance(ms: u64) -> u64 {
    OFFSET_MS
        .fetch_add(ms, Ordering::Relaxed)
        .saturating_add(ms)
}
