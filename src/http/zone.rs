//! The company's time zone, through the runtime's `Intl` (its IANA database), so the bundle
//! carries no zone tables. The arithmetic is pure (`domain::time`); only offsets come from here.

use wasm_bindgen::prelude::*;

use crate::domain::time::{local_day_bounds, wall_to_instant_ms, Millis};

#[wasm_bindgen(inline_js = r#"
const formats = new Map();
function format(timeZone) {
  let f = formats.get(timeZone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    if (formats.size >= 64) formats.clear();
    formats.set(timeZone, f);
  }
  return f;
}
export function zone_offset_minutes(timeZone, epochMs) {
  try {
    const parts = {};
    for (const p of format(timeZone).formatToParts(new Date(epochMs))) parts[p.type] = p.value;
    const wall = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
    return Math.round((wall - Math.floor(epochMs / 1000) * 1000) / 60000);
  } catch (e) {
    return 0;
  }
}
export function zone_canonical(timeZone) {
  try {
    return format(timeZone).resolvedOptions().timeZone;
  } catch (e) {
    return undefined;
  }
}
"#)]
extern "C" {
    fn zone_offset_minutes(time_zone: &str, epoch_ms: f64) -> f64;
    fn zone_canonical(time_zone: &str) -> Option<String>;
}

/// The runtime's own spelling of a zone name (`europe/berlin` is `Europe/Berlin`), or `None`
/// for a name it does not know.
pub fn canonical(name: &str) -> Option<String> {
    zone_canonical(name)
}

/// A zone by IANA name; an unknown name (stored before names were checked) behaves as UTC.
#[derive(Debug, Clone)]
pub struct Zone(pub String);

impl Zone {
    pub fn offset_minutes(&self, at_ms: i64) -> i64 {
        zone_offset_minutes(&self.0, at_ms as f64) as i64
    }

    /// The instant of a wall-clock time here (`wall_ms` counted as if the zone were UTC).
    pub fn instant_of(&self, wall_ms: i64) -> i64 {
        wall_to_instant_ms(wall_ms, |at| self.offset_minutes(at))
    }

    /// Today here, as instants `[start, end)`.
    pub fn today(&self, now: Millis) -> (i64, i64) {
        local_day_bounds(now.0 as i64, |at| self.offset_minutes(at))
    }

    /// `at_ms` as local wall-clock ms (for formatting with the UTC calendar functions).
    pub fn wall_of(&self, at_ms: i64) -> i64 {
        at_ms + self.offset_minutes(at_ms) * 60_000
    }
}
