//! ZIP archives of stored (uncompressed) entries: what the exports hand over. Stored entries
//! need no compression code — the files are photos and PDFs, already compressed, and the JSON
//! is small — so the writer is the format's headers and a CRC-32, and nothing else. No ZIP64:
//! an archive stays under 4 GiB and 65 535 entries (the exports bound their size far below).

use crate::domain::time::{civil_from_days, Millis};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_DIRECTORY: u32 = 0x0605_4b50;
/// 2.0: the version every reader supports.
const VERSION: u16 = 20;
/// Bit 11: names are UTF-8.
const UTF8_NAMES: u16 = 0x0800;

/// The CRC-32 (IEEE 802.3, reflected, as ZIP and gzip use it) of `bytes`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// An instant as MS-DOS time and date (2-second steps, years 1980–2107), as ZIP stores them.
fn dos_time(at: Millis) -> (u16, u16) {
    let secs = at.0 / 1000;
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let in_day = secs % 86_400;
    let (hour, minute, second) = (in_day / 3600, in_day % 3600 / 60, in_day % 60);
    let year = year.clamp(1980, 2107) - 1980;
    let time = (hour << 11) | (minute << 5) | (second / 2);
    let date = ((year as u64) << 9) | (u64::from(month) << 5) | u64::from(day);
    (time as u16, date as u16)
}

/// An archive being written, entry by entry, in memory.
pub struct Writer {
    out: Vec<u8>,
    directory: Vec<u8>,
    entries: u16,
    time: u16,
    date: u16,
}

/// Why an entry could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TooBig {
    /// The archive would pass 4 GiB or 65 535 entries (ZIP without ZIP64).
    Archive,
}

impl Writer {
    /// An empty archive whose entries are dated `at`.
    pub fn new(at: Millis) -> Self {
        let (time, date) = dos_time(at);
        Self {
            out: Vec::new(),
            directory: Vec::new(),
            entries: 0,
            time,
            date,
        }
    }

    /// How many bytes the archive holds so far.
    pub fn len(&self) -> usize {
        self.out.len() + self.directory.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Adds `bytes` as the file `name` (a relative path with `/` separators).
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<(), TooBig> {
        let offset = u32::try_from(self.out.len()).map_err(|_| TooBig::Archive)?;
        let size = u32::try_from(bytes.len()).map_err(|_| TooBig::Archive)?;
        let name_len = u16::try_from(name.len()).map_err(|_| TooBig::Archive)?;
        let entries = self.entries.checked_add(1).ok_or(TooBig::Archive)?;
        if self.len() + bytes.len() + 2 * name.len() + 200 > u32::MAX as usize {
            return Err(TooBig::Archive);
        }
        let crc = crc32(bytes);
        // What the local header and the directory's entry share, from "version needed" on.
        let mut common = Vec::with_capacity(26);
        for half in [VERSION, UTF8_NAMES, 0, self.time, self.date] {
            common.extend_from_slice(&half.to_le_bytes());
        }
        for word in [crc, size, size] {
            common.extend_from_slice(&word.to_le_bytes());
        }
        common.extend_from_slice(&name_len.to_le_bytes());
        common.extend_from_slice(&0u16.to_le_bytes());

        self.out.extend_from_slice(&LOCAL_HEADER.to_le_bytes());
        self.out.extend_from_slice(&common);
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(bytes);

        self.directory
            .extend_from_slice(&CENTRAL_HEADER.to_le_bytes());
        self.directory.extend_from_slice(&VERSION.to_le_bytes());
        self.directory.extend_from_slice(&common);
        // Comment length, disk, internal and external attributes.
        self.directory.extend_from_slice(&[0; 10]);
        self.directory.extend_from_slice(&offset.to_le_bytes());
        self.directory.extend_from_slice(name.as_bytes());
        self.entries = entries;
        Ok(())
    }

    /// The finished archive: the entries, their directory, and its end record.
    pub fn finish(mut self) -> Vec<u8> {
        let directory_at = self.out.len() as u32;
        let directory_len = self.directory.len() as u32;
        self.out.append(&mut self.directory);
        self.out.extend_from_slice(&END_OF_DIRECTORY.to_le_bytes());
        self.out.extend_from_slice(&[0; 4]);
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&self.entries.to_le_bytes());
        self.out.extend_from_slice(&directory_len.to_le_bytes());
        self.out.extend_from_slice(&directory_at.to_le_bytes());
        self.out.extend_from_slice(&0u16.to_le_bytes());
        self.out
    }
}

/// The entries of an archive of stored entries (what [`Writer`] makes), by name, each checked
/// against its CRC-32; `None` for anything else. For the tests and for tools reading an export.
pub fn read(archive: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes(
            archive.get(at..at + 2)?.try_into().ok()?,
        ))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(
            archive.get(at..at + 4)?.try_into().ok()?,
        ))
    };
    let end = archive.len().checked_sub(22)?;
    if u32_at(end)? != END_OF_DIRECTORY {
        return None;
    }
    let count = usize::from(u16_at(end + 10)?);
    let mut at = u32_at(end + 16)? as usize;
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        if u32_at(at)? != CENTRAL_HEADER || u16_at(at + 10)? != 0 {
            return None;
        }
        let crc = u32_at(at + 16)?;
        let size = u32_at(at + 24)? as usize;
        let name_len = usize::from(u16_at(at + 28)?);
        let skip = usize::from(u16_at(at + 30)?) + usize::from(u16_at(at + 32)?);
        let local = u32_at(at + 42)? as usize;
        let name = String::from_utf8(archive.get(at + 46..at + 46 + name_len)?.to_vec()).ok()?;
        if u32_at(local)? != LOCAL_HEADER {
            return None;
        }
        let data_at =
            local + 30 + usize::from(u16_at(local + 26)?) + usize::from(u16_at(local + 28)?);
        let data = archive.get(data_at..data_at + size)?.to_vec();
        if crc32(&data) != crc {
            return None;
        }
        entries.push((name, data));
        at += 46 + name_len + skip;
    }
    Some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_matches_the_published_check_values() {
        assert_eq!(crc32(b""), 0);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(
            crc32(b"The quick brown fox jumps over the lazy dog"),
            0x414F_A339
        );
    }

    #[test]
    fn dos_time_counts_from_1980_in_two_second_steps() {
        // 2026-12-06 09:47:25 UTC.
        let at = Millis(1_796_550_445_000);
        let (time, date) = dos_time(at);
        assert_eq!(time >> 11, 9);
        assert_eq!((time >> 5) & 0x3f, 47);
        assert_eq!((time & 0x1f) * 2, 24);
        assert_eq!(date >> 9, 2026 - 1980);
        assert_eq!((date >> 5) & 0x0f, 12);
        assert_eq!(date & 0x1f, 6);
        assert_eq!(dos_time(Millis(0)).1 >> 9, 0, "before 1980 is 1980");
    }

    #[test]
    fn an_archive_reads_back_entry_by_entry() {
        let mut zip = Writer::new(Millis(1_796_550_445_000));
        assert!(zip.is_empty());
        zip.add("export.json", br#"{"customer":{}}"#).unwrap();
        zip.add("files/1-photo é.jpg", &[0xff, 0xd8, 0xff, 0x00])
            .unwrap();
        zip.add("empty", b"").unwrap();
        let bytes = zip.finish();
        let entries = read(&bytes).expect("a readable archive");
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["export.json", "files/1-photo é.jpg", "empty"]);
        assert_eq!(entries[0].1, br#"{"customer":{}}"#);
        assert_eq!(entries[1].1, [0xff, 0xd8, 0xff, 0x00]);
        assert!(entries[2].1.is_empty());
    }

    #[test]
    fn a_damaged_archive_does_not_read() {
        let mut zip = Writer::new(Millis(0));
        zip.add("a.txt", b"hello").unwrap();
        let mut bytes = zip.finish();
        assert!(read(&bytes).is_some());
        // The entry's data, changed: its CRC no longer matches.
        let at = bytes.windows(5).position(|w| w == b"hello").unwrap();
        bytes[at] = b'j';
        assert!(read(&bytes).is_none());
        assert!(read(b"not a zip at all, not even close").is_none());
    }
}
