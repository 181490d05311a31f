// What the runtime's Intl says about time zones, for tests/e2e/zones.rs and the series tests
// in tests/e2e/visits.rs. Every answer is read off Intl.DateTimeFormat by brute force (minute
// by minute), not by the arithmetic under test:
//
//   node zones.mjs table             the zones, their changes and the expected conversions
//   node zones.mjs instant ZONE W…   the instant (Unix ms) of each wall time W (ms as if UTC)
//   node zones.mjs wall ZONE I…      each instant I as local "YYYY-MM-DDTHH:MM"
//
// Wall time to instant follows Temporal's "compatible" rule: of a repeated wall time the
// earlier instant; a skipped one is read with the offset in force before the gap.

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const formats = new Map();
function format(timeZone) {
  if (!formats.has(timeZone)) {
    formats.set(timeZone, new Intl.DateTimeFormat("en-US", {
      timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }));
  }
  return formats.get(timeZone);
}

/// The wall time Intl shows at `at`, as ms counted as if the zone were UTC.
function wallOf(zone, at) {
  const p = {};
  for (const part of format(zone).formatToParts(new Date(at))) p[part.type] = part.value;
  return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) + (at % 1000);
}

const offsetOf = (zone, at) => Math.round((wallOf(zone, at) - at) / MINUTE);

function instantOf(zone, wall) {
  for (let at = wall - 15 * HOUR; at <= wall + 15 * HOUR; at += MINUTE) {
    const shown = wallOf(zone, at);
    if (shown === wall) return at; // the first instant showing it: the earlier occurrence
    if (shown > wall) {
      // Never shown: skipped. Read with the offset just before the clocks jumped.
      return wall - offsetOf(zone, at - MINUTE) * MINUTE;
    }
  }
  throw new Error(`no instant for ${new Date(wall).toISOString()} in ${zone}`);
}

/// The first instant of local day `day` (ms of its midnight as if UTC).
function dayStart(zone, day) {
  let at = day - 15 * HOUR;
  while (wallOf(zone, at) < day) at += MINUTE;
  return at;
}

/// The instants (to the second) where the zone's offset changes within [from, to).
function changes(zone, from, to) {
  const found = [];
  for (let at = from; at + HOUR <= to; at += HOUR) {
    if (offsetOf(zone, at) === offsetOf(zone, at + HOUR)) continue;
    let [lo, hi] = [at, at + HOUR];
    while (hi - lo > 1000) {
      const mid = lo + Math.floor((hi - lo) / 2000) * 1000;
      if (offsetOf(zone, mid) === offsetOf(zone, lo)) lo = mid; else hi = mid;
    }
    found.push([hi, offsetOf(zone, hi)]);
  }
  return found;
}

const ZONES = [
  "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Beirut",
  "Australia/Lord_Howe", "Asia/Kathmandu",
];

function table() {
  const from = Date.UTC(2025, 11, 1);
  const to = Date.UTC(2027, 1, 1);
  const zones = [];
  const walls = [];
  const days = [];
  for (const zone of ZONES) {
    const zoneChanges = changes(zone, from, to);
    zones.push({ zone, initial: offsetOf(zone, from), changes: zoneChanges });
    const dates = [Date.UTC(2026, 0, 15), Date.UTC(2026, 6, 15)];
    const times = [];
    for (const [at, after] of zoneChanges) {
      if (at < Date.UTC(2026, 0, 1) || at >= Date.UTC(2027, 0, 1)) continue;
      const before = offsetOf(zone, at - 1000);
      // The wall times skipped or repeated: [lo, hi).
      const lo = at + Math.min(before, after) * MINUTE;
      const hi = at + Math.max(before, after) * MINUTE;
      times.push(lo - 30 * MINUTE, lo - MINUTE, lo, lo + (hi - lo) / 2, hi - MINUTE, hi, hi + 30 * MINUTE);
      const day = Math.floor(lo / DAY) * DAY;
      dates.push(day, day - DAY, day + DAY);
    }
    if (zoneChanges.length === 0) dates.push(Date.UTC(2026, 2, 29), Date.UTC(2026, 9, 25));
    for (const day of dates) times.push(day, day + 9 * HOUR, day + DAY - MINUTE);
    for (const wall of times) walls.push({ zone, wall, instant: instantOf(zone, wall) });
    for (const day of dates) {
      const start = dayStart(zone, day);
      const end = dayStart(zone, day + DAY);
      days.push({ zone, at: start + Math.floor((end - start) / 2), start, end });
      days.push({ zone, at: start, start, end });
      days.push({ zone, at: end - 1, start, end });
    }
  }
  return { zones, walls, days };
}

const [mode, zone, ...values] = process.argv.slice(2);
const iso = (wall) => new Date(wall).toISOString().slice(0, 16);
const answer = {
  table: () => table(),
  instant: () => values.map((wall) => instantOf(zone, Number(wall))),
  wall: () => values.map((at) => iso(wallOf(zone, Number(at)))),
}[mode];
if (!answer) throw new Error(`unknown mode ${mode}`);
process.stdout.write(JSON.stringify(answer()));
