//! The Worker's clock. Outside production an operator may move it through `POST /ops/clock`:
//! forward, for the tests to see sessions and locks expire without waiting, or to a given
//! instant (earlier too), for the demo seed to replay past weeks through the API. The offset
//! lives in the Wasm instance and is ignored when `ENVIRONMENT` is `production`.

use std::sync::atomic::{AtomicI64, Ordering};

use worker::{Date, Env};

use crate::domain::time::Millis;

static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

pub fn now() -> Millis {
    shifted(Date::now().as_millis(), OFFSET_MS.load(Ordering::Relaxed))
}

/// The real instant `real_ms` moved by `offset_ms`, never before the epoch.
fn shifted(real_ms: u64, offset_ms: i64) -> Millis {
    let real = i64::try_from(real_ms).unwrap_or(i64::MAX);
    Millis::from_ms(real.saturating_add(offset_ms))
}

/// The offset that makes the clock read `at_ms` when the real clock reads `real_ms`.
fn offset_to(at_ms: u64, real_ms: u64) -> i64 {
    let at = i64::try_from(at_ms).unwrap_or(i64::MAX);
    let real = i64::try_from(real_ms).unwrap_or(i64::MAX);
    at.saturating_sub(real)
}

pub fn is_production(env: &Env) -> bool {
    env.var("ENVIRONMENT")
        .map(|v| v.to_string() == "production")
        .unwrap_or(true)
}

/// Moves the clock forward by `ms`; returns the new offset.
pub fn advance(ms: u64) -> i64 {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    OFFSET_MS
        .fetch_add(ms, Ordering::Relaxed)
        .saturating_add(ms)
}

/// Sets the clock to read `at_ms` now (earlier or later than the real clock); returns the new
/// offset.
pub fn set(at_ms: u64) -> i64 {
    let offset = offset_to(at_ms, Date::now().as_millis());
    OFFSET_MS.store(offset, Ordering::Relaxed);
    offset
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_moves_the_clock_either_way() {
        assert_eq!(shifted(1_000, 0), Millis(1_000));
        assert_eq!(shifted(1_000, 500), Millis(1_500));
        assert_eq!(shifted(1_000, -400), Millis(600));
        // Never before the epoch.
        assert_eq!(shifted(1_000, -5_000), Millis(0));
    }

    #[test]
    fn setting_an_instant_is_an_offset_from_the_real_clock() {
        let real = 1_800_000_000_000;
        let three_weeks = 21 * 86_400_000;
        let offset = offset_to(real - three_weeks, real);
        assert_eq!(offset, -(three_weeks as i64));
        assert_eq!(shifted(real, offset), Millis(real - three_weeks));
        assert_eq!(shifted(real, offset_to(real + 5, real)), Millis(real + 5));
    }
}
