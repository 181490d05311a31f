//! Text in the standard PDF fonts: Unicode to WinAnsiEncoding (Windows-1252, the Western
//! European set every PDF reader has Helvetica in, so no font is embedded), and Helvetica's
//! advance widths from Adobe's AFM files, to right-align amounts and wrap descriptions.

/// The two faces a document uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    Regular,
    Bold,
}

impl Face {
    /// The resource name the page's font dictionary gives the face.
    pub fn resource(self) -> &'static [u8] {
        match self {
            Face::Regular => b"F1",
            Face::Bold => b"F2",
        }
    }

    /// The standard 14 font behind the face.
    pub fn base_font(self) -> &'static [u8] {
        match self {
            Face::Regular => b"Helvetica",
            Face::Bold => b"Helvetica-Bold",
        }
    }

    fn widths(self) -> &'static [u16; 224] {
        match self {
            Face::Regular => &widths::REGULAR,
            Face::Bold => &widths::BOLD,
        }
    }
}

/// What a character outside WinAnsi becomes: a visible question mark, as a reader would show
/// a character the font lacks, rather than a silent gap.
pub const REPLACEMENT: u8 = b'?';

/// The Windows-1252 byte of `c`, if it has one.
pub fn win_ansi(c: char) -> Option<u8> {
    let code = c as u32;
    match code {
        0x20..=0x7E | 0xA0..=0xFF => Some(code as u8),
        _ => HIGH
            .iter()
            .position(|&u| u != 0 && u as u32 == code)
            .map(|i| 0x80 + i as u8),
    }
}

/// The code points of 0x80–0x9F in Windows-1252 (0: unassigned there).
const HIGH: [u16; 32] = [
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0, 0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC,
    0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
];

/// `text` as WinAnsi bytes: tabs and line breaks become spaces, other control characters are
/// dropped, anything else outside the set becomes `?`.
pub fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .filter_map(|c| match c {
            '\t' | '\n' | '\r' => Some(b' '),
            c if c.is_control() => None,
            // Typed minus signs and non-breaking hyphens read as the hyphen they look like.
            '\u{2212}' | '\u{2011}' => Some(b'-'),
            c => Some(win_ansi(c).unwrap_or(REPLACEMENT)),
        })
        .collect()
}

/// The advance width of WinAnsi `bytes` in `face` at `size` points.
pub fn width_of(bytes: &[u8], face: Face, size: f32) -> f32 {
    let table = face.widths();
    let units: u32 = bytes
        .iter()
        .map(|&b| match b {
            0x20..=0xFF => u32::from(table[usize::from(b - 0x20)]),
            _ => 0,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// The width of `text` as it will be shown.
pub fn width(text: &str, face: Face, size: f32) -> f32 {
    width_of(&encode(text), face, size)
}

/// `text` broken into lines no wider than `max` points: at spaces where it can, inside a word
/// only when the word alone is too wide; the writer's own line breaks are kept. Always at least
/// one line (empty for empty text).
pub fn wrap(text: &str, face: Face, size: f32, max: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        for word in paragraph.split_whitespace() {
            let candidate = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if width(&candidate, face, size) <= max {
                line = candidate;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // A word wider than the column is cut where it overflows.
            for c in word.chars() {
                let mut longer = line.clone();
                longer.push(c);
                if !line.is_empty() && width(&longer, face, size) > max {
                    lines.push(std::mem::replace(&mut line, c.to_string()));
                } else {
                    line = longer;
                }
            }
        }
        lines.push(line);
    }
    lines
}

/// Helvetica's widths (1/1000 em) of WinAnsi codes 0x20–0xFF, from Adobe's AFM files
/// (Helvetica and Helvetica-Bold, version 003.001); 0 where the code is unassigned.
mod widths {
    pub(super) const REGULAR: [u16; 224] = [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 584, 278,
        278, // 0x20
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584,
        556, // 0x30
        1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722,
        778, // 0x40
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
        556, // 0x50
        333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556,
        556, // 0x60
        556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584, 0, // 0x70
        556, 0, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 0x80
        0, 222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 0, 500, 667, // 0x90
        278, 333, 556, 556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737,
        333, // 0xa0
        400, 584, 333, 333, 333, 556, 537, 278, 333, 333, 365, 556, 834, 834, 834,
        611, // 0xb0
        667, 667, 667, 667, 667, 667, 1000, 722, 667, 667, 667, 667, 278, 278, 278,
        278, // 0xc0
        722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667,
        611, // 0xd0
        556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278,
        278, // 0xe0
        556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556,
        500, // 0xf0
    ];
    pub(super) const BOLD: [u16; 224] = [
        278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 584, 278,
        278, // 0x20
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584,
        611, // 0x30
        975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722,
        778, // 0x40
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584,
        556, // 0x50
        333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611,
        611, // 0x60
        611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584, 0, // 0x70
        556, 0, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 0, 611, 0, // 0x80
        0, 278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 0, 500, 667, // 0x90
        278, 333, 556, 556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737,
        333, // 0xa0
        400, 584, 333, 333, 333, 611, 556, 278, 333, 333, 365, 556, 834, 834, 834,
        611, // 0xb0
        722, 722, 722, 722, 722, 722, 1000, 722, 667, 667, 667, 667, 278, 278, 278,
        278, // 0xc0
        722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722, 722, 667, 667,
        611, // 0xd0
        556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278,
        278, // 0xe0
        611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611,
        556, // 0xf0
    ];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn western_european_text_encodes_to_its_windows_1252_bytes() {
        let cases: [(&str, &[u8]); 8] = [
            ("Café", b"Caf\xE9"),
            ("Straße", b"Stra\xDFe"),
            ("Œuvre cœur", b"\x8Cuvre c\x9Cur"),
            ("€ 12 £ 3", b"\x80 12 \xA3 3"),
            (
                "“quoted” – dash — long",
                b"\x93quoted\x94 \x96 dash \x97 long",
            ),
            ("Ÿ š ž …", b"\x9F \x9A \x9E \x85"),
            ("naïve façade ñ", b"na\xEFve fa\xE7ade \xF1"),
            ("a\tb\nc\u{7}d", b"a b cd"),
        ];
        for (text, bytes) in cases {
            assert_eq!(encode(text), bytes, "{text}");
        }
    }

    #[test]
    fn characters_outside_winansi_become_question_marks() {
        assert_eq!(encode("Ωμέγα"), b"?????");
        assert_eq!(encode("Привет"), b"??????");
        assert_eq!(encode("東京 ok"), b"?? ok");
        assert_eq!(encode("😀"), b"?");
        // Unassigned 0x81 is not a way in: U+0081 is a control character, dropped.
        assert_eq!(encode("\u{81}"), b"");
        assert_eq!(win_ansi('\u{81}'), None);
    }

    #[test]
    fn widths_come_from_the_afm_tables() {
        // "Total" in Helvetica: T 611 o 556 t 278 a 556 l 222 = 2223 units.
        assert!((width("Total", Face::Regular, 10.0) - 22.23).abs() < 1e-3);
        // Bold is wider: T 611 o 611 t 333 a 556 l 278 = 2389.
        assert!((width("Total", Face::Bold, 10.0) - 23.89).abs() < 1e-3);
        // Digits are all 556, so amounts line up.
        assert_eq!(
            width("1,234.56", Face::Regular, 10.0),
            width("9,999.99", Face::Regular, 10.0)
        );
        assert!((width("€", Face::Regular, 1000.0) - 556.0).abs() < 1e-3);
        assert!((width("é", Face::Regular, 1000.0) - 556.0).abs() < 1e-3);
        assert_eq!(width("", Face::Bold, 12.0), 0.0);
    }

    #[test]
    fn text_wraps_at_spaces_within_the_width_and_keeps_its_line_breaks() {
        let text = "Remplacement du chauffe-eau électrique de 200 litres";
        let lines = wrap(text, Face::Regular, 10.0, 120.0);
        assert!(lines.len() > 1, "{lines:?}");
        for line in &lines {
            assert!(width(line, Face::Regular, 10.0) <= 120.0, "{line}");
        }
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("one\ntwo", Face::Regular, 10.0, 500.0), ["one", "two"]);
        assert_eq!(wrap("", Face::Regular, 10.0, 500.0), [""]);
    }

    #[test]
    fn a_word_wider_than_the_column_is_cut_not_overflowed() {
        let word = "Donaudampfschifffahrtsgesellschaftskapitän";
        let lines = wrap(word, Face::Regular, 10.0, 60.0);
        assert!(lines.len() > 2, "{lines:?}");
        for line in &lines {
            assert!(width(line, Face::Regular, 10.0) <= 60.0, "{line}");
        }
        assert_eq!(lines.concat(), word);
    }
}
