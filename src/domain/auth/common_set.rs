//! The common-password list as a Golomb–Rice coded set: each entry becomes a hash in
//! `[0, n · 2^RICE_BITS)`, and the sorted hashes are stored as Rice-coded gaps, about
//! `RICE_BITS + 2` bits an entry (≈ 11 KiB for 4 200 entries, against 28 KiB for the list's
//! text gzipped). Every listed entry is found (no false negatives); an entry not on the list is
//! found with probability about 2^-RICE_BITS, one in a million.
//!
//! `build.rs` includes this file to encode the list at compile time, so it uses `std` only.

/// Low bits of each gap written as they are; the rest of the gap is written in unary. Also the
/// false-positive rate: one in 2^RICE_BITS.
pub const RICE_BITS: u32 = 20;

/// 64-bit FNV-1a, finished with MurmurHash3's `fmix64` so that the high bits (which
/// [`position`] keeps) depend on every byte.
fn hash(entry: &str) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64;
    for byte in entry.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Where `entry` falls in a set of `count` entries: its hash scaled to `[0, count · 2^RICE_BITS)`.
fn position(entry: &str, count: u32) -> u64 {
    let range = u128::from(count) << RICE_BITS;
    ((u128::from(hash(entry)) * range) >> 64) as u64
}

/// The set of `entries`: their count (4 bytes, little-endian), then the gaps between their
/// sorted positions, each as its quotient by 2^RICE_BITS in unary (that many 1 bits, then a
/// 0) and its remainder in RICE_BITS bits, most significant bit first.
#[cfg_attr(not(test), allow(dead_code))] // For build.rs and the tests: the Worker only reads.
pub fn encode<'a>(entries: impl IntoIterator<Item = &'a str>) -> Vec<u8> {
    let entries: Vec<&str> = entries.into_iter().collect();
    let count = u32::try_from(entries.len()).expect("fewer than 2^32 entries");
    let mut positions: Vec<u64> = entries.iter().map(|e| position(e, count)).collect();
    positions.sort_unstable();
    let mut out = count.to_le_bytes().to_vec();
    let mut bits = 0usize;
    let mut push = |bit: bool| {
        if bits.is_multiple_of(8) {
            out.push(0);
        }
        if bit {
            *out.last_mut().expect("a byte was pushed") |= 0x80 >> (bits % 8);
        }
        bits += 1;
    };
    let mut previous = 0;
    for p in positions {
        let gap = p - previous;
        previous = p;
        for _ in 0..gap >> RICE_BITS {
            push(true);
        }
        push(false);
        for i in (0..RICE_BITS).rev() {
            push((gap >> i) & 1 == 1);
        }
    }
    out
}

/// A set [`encode`] wrote, decoded for lookups: the sorted positions (8 bytes an entry, made
/// once per isolate by the caller).
pub struct Set {
    count: u32,
    positions: Vec<u64>,
}

impl Set {
    /// Reads what [`encode`] wrote. A malformed set (cut short) keeps the entries it can read
    /// rather than panic.
    pub fn decode(set: &[u8]) -> Self {
        let Some((count, gaps)) = set.split_first_chunk::<4>() else {
            return Self {
                count: 0,
                positions: Vec::new(),
            };
        };
        let count = u32::from_le_bytes(*count);
        let mut bits = (0..gaps.len() * 8).map(|i| gaps[i / 8] & (0x80 >> (i % 8)) != 0);
        let mut positions = Vec::with_capacity(gaps.len() * 8 / (RICE_BITS as usize + 1));
        let mut value = 0u64;
        'entries: while positions.len() < count as usize {
            let mut quotient = 0u64;
            loop {
                match bits.next() {
                    Some(true) => quotient += 1,
                    Some(false) => break,
                    None => break 'entries,
                }
            }
            let mut remainder = 0u64;
            for _ in 0..RICE_BITS {
                let Some(bit) = bits.next() else {
                    break 'entries;
                };
                remainder = (remainder << 1) | u64::from(bit);
            }
            value += (quotient << RICE_BITS) | remainder;
            positions.push(value);
        }
        Self { count, positions }
    }

    /// Whether `entry` is in the set: every entry that was encoded is.
    pub fn contains(&self, entry: &str) -> bool {
        self.count > 0
            && self
                .positions
                .binary_search(&position(entry, self.count))
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_is_found_and_others_are_not() {
        let entries: Vec<String> = (0..5_000).map(|i| format!("entry number {i}")).collect();
        let encoded = encode(entries.iter().map(String::as_str));
        // About RICE_BITS + 2 bits an entry.
        assert!(
            encoded.len() < 4 + 5_000 * (RICE_BITS as usize + 3) / 8,
            "{}",
            encoded.len()
        );
        let set = Set::decode(&encoded);
        assert!(entries.iter().all(|e| set.contains(e)));
        let others = (0..1_000_000)
            .filter(|i| set.contains(&format!("other number {i}")))
            .count();
        assert!(others <= 3, "{others} false positives in a million");
    }

    #[test]
    fn the_empty_set_and_malformed_sets_contain_nothing() {
        let contains = |set: &[u8], entry| Set::decode(set).contains(entry);
        assert!(!contains(&encode([]), "anything"));
        assert!(!contains(&[], "anything"));
        let set = encode(["alpha", "bravo", "charlie"]);
        assert!(["alpha", "bravo", "charlie"]
            .iter()
            .all(|e| contains(&set, e)));
        // Cut short: what it can no longer reach is not found, and nothing panics.
        assert!(!contains(&set[..5], "charlie"));
        assert!(!contains(&[0xff; 8], "charlie"));
    }

    proptest::proptest! {
        /// The set is built in, but its reader is a parser of bytes all the same: whatever it
        /// is given, it answers instead of panicking.
        #[test]
        fn any_bytes_decode_and_answer_without_panicking(
            set in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            entry in "\\PC{0,16}",
        ) {
            let _ = Set::decode(&set).contains(&entry);
        }
    }

    #[test]
    fn duplicates_and_the_same_position_twice_are_harmless() {
        let set = Set::decode(&encode(["same", "same", "other"]));
        assert!(set.contains("same"));
        assert!(set.contains("other"));
    }
}
