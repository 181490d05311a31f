//! LZW compression as PDF's `LZWDecode` reads it (ISO 32000-1 §7.4.4, `EarlyChange` 1): the
//! page contents and a logo's split colour and alpha, compressed by a few hundred bytes of
//! code where a Deflate encoder would add 8.6 KiB gzip to the Worker (README, "PDFs").

const CLEAR: u16 = 256;
const END: u16 = 257;
const FIRST: u16 = 258;
/// The table is cleared before a code would need 13 bits.
const FULL: u16 = 4094;
const SLOTS: usize = 8192;

/// Bits of a code while `next` is the next free entry: the width grows one code early.
fn width(next: u16) -> u32 {
    16 - next.leading_zeros()
}

struct Bits {
    out: Vec<u8>,
    acc: u32,
    len: u32,
}

impl Bits {
    fn put(&mut self, code: u16, width: u32) {
        self.acc = (self.acc << width) | u32::from(code);
        self.len += width;
        while self.len >= 8 {
            self.len -= 8;
            self.out.push((self.acc >> self.len) as u8);
        }
        self.acc &= (1 << self.len) - 1;
    }
}

/// `data` LZW-compressed, starting with a clear code and ending with end-of-data.
pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut bits = Bits {
        out: Vec::with_capacity(data.len() / 2 + 8),
        acc: 0,
        len: 0,
    };
    // (prefix code << 8 | byte) + 1 → code; 0 is an empty slot.
    let mut keys = vec![0u32; SLOTS];
    let mut codes = vec![0u16; SLOTS];
    let mut next = FIRST;
    bits.put(CLEAR, width(next));
    let Some((&first, rest)) = data.split_first() else {
        bits.put(END, width(next));
        return finish(bits);
    };
    let mut prefix = u16::from(first);
    for &byte in rest {
        let key = ((u32::from(prefix) << 8) | u32::from(byte)) + 1;
        let mut slot = (key.wrapping_mul(2_654_435_761) >> 19) as usize % SLOTS;
        while keys[slot] != 0 && keys[slot] != key {
            slot = (slot + 1) % SLOTS;
        }
        if keys[slot] == key {
            prefix = codes[slot];
            continue;
        }
        bits.put(prefix, width(next));
        keys[slot] = key;
        codes[slot] = next;
        next += 1;
        if next == FULL {
            bits.put(CLEAR, width(next));
            keys.fill(0);
            next = FIRST;
        }
        prefix = u16::from(byte);
    }
    bits.put(prefix, width(next));
    // The reader has added an entry for the last code by now.
    bits.put(END, width(next + 1));
    finish(bits)
}

fn finish(mut bits: Bits) -> Vec<u8> {
    if bits.len > 0 {
        let pad = 8 - bits.len;
        bits.put(0, pad);
    }
    bits.out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A reader written as PDF readers do it (after pdf.js's `LZWStream`), to check against.
    pub(crate) fn decompress(data: &[u8]) -> Vec<u8> {
        let mut table: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
        table.push(vec![]);
        table.push(vec![]);
        let (mut acc, mut len, mut at) = (0u32, 0u32, 0usize);
        let mut code_len = 9;
        let mut previous: Option<Vec<u8>> = None;
        let mut out = Vec::new();
        loop {
            while len < code_len {
                let Some(&b) = data.get(at) else { return out };
                acc = (acc << 8) | u32::from(b);
                len += 8;
                at += 1;
            }
            len -= code_len;
            let code = ((acc >> len) & ((1 << code_len) - 1)) as usize;
            acc &= (1 << len) - 1;
            if code == 256 {
                table.truncate(258);
                code_len = 9;
                previous = None;
                continue;
            }
            if code == 257 {
                return out;
            }
            let entry = match (&previous, table.get(code)) {
                (_, Some(entry)) if !(256..258).contains(&code) => entry.clone(),
                (Some(p), None) if code == table.len() => {
                    let mut e = p.clone();
                    e.push(p[0]);
                    e
                }
                _ => panic!("bad code {code} at {at}"),
            };
            if let Some(p) = previous {
                let mut added = p;
                added.push(entry[0]);
                table.push(added);
            }
            out.extend_from_slice(&entry);
            previous = Some(entry);
            let next = table.len() as u32;
            if (next + 1).is_power_of_two() {
                code_len = (32 - (next + 1).leading_zeros()).min(12);
            }
        }
    }

    #[test]
    fn compressed_data_reads_back_as_a_pdf_reader_reads_it() {
        let text: Vec<u8> = (0..3000)
            .flat_map(|i| format!("BT /F1 9.5 Tf 48 {i} Td (Line {i}) Tj ET\n").into_bytes())
            .collect();
        let noise: Vec<u8> = (0..20_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        let cases: [&[u8]; 6] = [b"", b"a", b"abababababababab", &[0; 10_000], &text, &noise];
        for data in cases {
            assert_eq!(decompress(&compress(data)), data, "{} bytes", data.len());
        }
        // Text compresses: page contents shrink to well under half.
        assert!(compress(&text).len() * 3 < text.len());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_round_trip(data in proptest::collection::vec(0u8..4, 0..9000)) {
            proptest::prop_assert_eq!(decompress(&compress(&data)), data);
        }
    }
}
