//! Files (DESIGN.md §8), the pure part: what a file is attached to, which types are accepted
//! (told by their bytes, never by the name or the declared type), who may see, add and remove
//! them, the scanner's verdict as the record keeps it, and the names they are served under.

use crate::domain::auth::permissions::{Permission, Role};

/// The product's upload limit: a company may set a lower one. clamd's `StreamMaxLength` must
/// be above it (scripts/lib/clamd.sh), else files at the limit come back as scanner errors.
pub const MAX_UPLOAD_BYTES: i64 = 25 * 1024 * 1024;
/// The lowest limit a company may set.
pub const MIN_UPLOAD_LIMIT: i64 = 1024 * 1024;
/// How long a deleted file's bytes stay in R2 before the sweep purges them.
pub const PURGE_AFTER_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// Scans of a pending file before it is rejected for an owner's review.
pub const MAX_SCAN_ATTEMPTS: i64 = 6;
/// The longest name kept (characters).
const MAX_NAME_CHARS: usize = 200;

/// A company's upload limit, if it is one the product allows.
pub fn check_upload_limit(bytes: i64) -> Result<(), &'static str> {
    if (MIN_UPLOAD_LIMIT..=MAX_UPLOAD_BYTES).contains(&bytes) {
        Ok(())
    } else {
        Err("Between 1 MiB (1048576) and 25 MiB (26214400) bytes.")
    }
}

/// What a file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    Job,
    Visit,
    Customer,
    Site,
    Quote,
    Invoice,
    /// The company itself: its logo.
    Company,
}

impl Parent {
    pub const ALL: [Parent; 7] = [
        Parent::Job,
        Parent::Visit,
        Parent::Customer,
        Parent::Site,
        Parent::Quote,
        Parent::Invoice,
        Parent::Company,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Parent::Job => "job",
            Parent::Visit => "visit",
            Parent::Customer => "customer",
            Parent::Site => "site",
            Parent::Quote => "quote",
            Parent::Invoice => "invoice",
            Parent::Company => "company",
        }
    }

    pub fn parse(text: &str) -> Option<Parent> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    /// Quotes and invoices: only those who may see money see their files.
    pub fn is_money(self) -> bool {
        matches!(self, Parent::Quote | Parent::Invoice)
    }

    /// Technicians add photos and signatures to the work they do, nothing else.
    fn is_work(self) -> bool {
        matches!(self, Parent::Job | Parent::Visit)
    }
}

/// What a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A photo or document someone attached.
    Attachment,
    /// The customer's signature, captured on site (PNG).
    Signature,
    /// The company's logo (PNG or JPEG).
    Logo,
    /// A document the product made and keeps as sent: an issued invoice's PDF.
    Document,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Attachment => "attachment",
            Purpose::Signature => "signature",
            Purpose::Logo => "logo",
            Purpose::Document => "document",
        }
    }

    pub fn parse(text: &str) -> Option<Purpose> {
        [
            Purpose::Attachment,
            Purpose::Signature,
            Purpose::Logo,
            Purpose::Document,
        ]
        .into_iter()
        .find(|p| p.as_str() == text)
    }
}

/// The types a file may have, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileType {
    Jpeg,
    Png,
    Webp,
    Heic,
    Pdf,
}

impl FileType {
    pub fn mime(self) -> &'static str {
        match self {
            FileType::Jpeg => "image/jpeg",
            FileType::Png => "image/png",
            FileType::Webp => "image/webp",
            FileType::Heic => "image/heic",
            FileType::Pdf => "application/pdf",
        }
    }

    pub fn from_mime(mime: &str) -> Option<FileType> {
        [
            FileType::Jpeg,
            FileType::Png,
            FileType::Webp,
            FileType::Heic,
            FileType::Pdf,
        ]
        .into_iter()
        .find(|t| t.mime() == mime)
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileType::Jpeg => "jpg",
            FileType::Png => "png",
            FileType::Webp => "webp",
            FileType::Heic => "heic",
            FileType::Pdf => "pdf",
        }
    }

    /// Browsers show these in an `<img>`; HEIC mostly not (it is offered as a download).
    pub fn is_web_image(self) -> bool {
        matches!(self, FileType::Jpeg | FileType::Png | FileType::Webp)
    }
}

/// Why bytes were refused before they were stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    Empty,
    /// Not one of the accepted types; what it looks like, when that can be told.
    Unsupported(Option<&'static str>),
}

impl Refused {
    pub fn message(&self) -> String {
        let accepted = "Only JPEG, PNG, WebP and HEIC images and PDF documents can be uploaded";
        match self {
            Refused::Empty => "The file is empty.".to_owned(),
            Refused::Unsupported(Some(what)) => format!("{accepted}; this looks like {what}."),
            Refused::Unsupported(None) => format!("{accepted}."),
        }
    }
}

/// HEIF brands of HEIC images (an AVIF, also HEIF, is not among them).
const HEIC_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
];

/// The file's type from its bytes alone.
pub fn sniff(bytes: &[u8]) -> Result<FileType, Refused> {
    if bytes.is_empty() {
        return Err(Refused::Empty);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(FileType::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(FileType::Png);
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(FileType::Webp);
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(FileType::Pdf);
    }
    if is_heic(bytes) {
        return Ok(FileType::Heic);
    }
    Err(Refused::Unsupported(looks_like(bytes)))
}

/// An ISO base media file whose `ftyp` box names a HEIC brand, as its major brand or among
/// its compatible ones (phones write `mif1` with `heic` compatible).
fn is_heic(bytes: &[u8]) -> bool {
    if bytes.len() < 16 || &bytes[4..8] != b"ftyp" {
        return false;
    }
    let size = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let end = size.clamp(16, 4096).min(bytes.len());
    let major = &bytes[8..12];
    let compatible = bytes[16..end].chunks_exact(4);
    std::iter::once(major)
        .chain(compatible)
        .any(|brand| HEIC_BRANDS.iter().any(|b| b.as_slice() == brand))
}

/// A name for the refusal of a few common types, so the message can say what was sent.
fn looks_like(bytes: &[u8]) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(512)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.starts_with("<svg") || (text.starts_with("<?xml") && text.contains("<svg")) {
        Some("an SVG image")
    } else if text.starts_with("<!doctype html") || text.starts_with("<html") {
        Some("an HTML page")
    } else if text.starts_with("<?xml") {
        Some("an XML document")
    } else if bytes.starts_with(b"GIF8") {
        Some("a GIF image")
    } else if bytes.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive or an Office document")
    } else if bytes.starts_with(b"MZ") || bytes.starts_with(b"\x7fELF") {
        Some("a program")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        Some("a video or an image type that is not accepted")
    } else {
        None
    }
}

/// The name a file is kept under: its last path segment, without control characters, at
/// most 200 characters; `fallback` when nothing is left.
pub fn clean_name(name: &str, fallback: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .chars()
        .take(MAX_NAME_CHARS)
        .collect();
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned
    }
}

/// The name a file is downloaded under: its own, with the extension of its real type (a PNG
/// someone named `.pdf` downloads as `.png`, so nothing opens it as what it is not).
pub fn download_name(name: &str, file_type: FileType) -> String {
    let ext = file_type.extension();
    let (stem, current) = name.rsplit_once('.').unwrap_or((name, ""));
    let same = current.eq_ignore_ascii_case(ext)
        || (file_type == FileType::Jpeg && current.eq_ignore_ascii_case("jpeg"));
    if same {
        name.to_owned()
    } else if stem.is_empty() {
        format!("file.{ext}")
    } else {
        format!("{name}.{ext}")
    }
}

/// `Content-Disposition` for `name` (RFC 6266): an ASCII fallback and the UTF-8 name.
pub fn content_disposition(disposition: &str, name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{disposition}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// Where a file stands with the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Stored, not yet scanned (or the scanner could not be reached): never served.
    Pending,
    /// Scanned and found clean: served to those who may see its parent.
    Clean,
    /// Infected, or never scannable: kept in quarantine for good, never served.
    Rejected,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Clean => "clean",
            Status::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        [Status::Pending, Status::Clean, Status::Rejected]
            .into_iter()
            .find(|s| s.as_str() == text)
    }
}

/// What one scan found, as the pipeline uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    Clean,
    /// The scanner named a signature.
    Infected(String),
    /// No verdict: the scanner answered an error or could not be reached.
    Failed(String),
}

/// A file's scan state after a scan: its status, the detail kept, when to try again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub status: Status,
    pub detail: Option<String>,
    pub attempts: i64,
    pub next_scan_at: Option<i64>,
}

/// The state after scan number `attempts` (1 for the first) at `now_ms`: a failure is tried
/// again later (1, 5, 15, 60, 240 minutes), and after [`MAX_SCAN_ATTEMPTS`] the file is
/// rejected for an owner's review rather than left waiting forever.
pub fn after_scan(scan: Scan, attempts: i64, now_ms: i64) -> Scanned {
    match scan {
        Scan::Clean => Scanned {
            status: Status::Clean,
            detail: None,
            attempts,
            next_scan_at: None,
        },
        Scan::Infected(signature) => Scanned {
            status: Status::Rejected,
            detail: Some(signature),
            attempts,
            next_scan_at: None,
        },
        Scan::Failed(reason) if attempts >= MAX_SCAN_ATTEMPTS => Scanned {
            status: Status::Rejected,
            detail: Some(format!(
                "Not scanned after {attempts} tries ({reason}): an owner must review it."
            )),
            attempts,
            next_scan_at: None,
        },
        Scan::Failed(reason) => {
            const MINUTES: [i64; 5] = [1, 5, 15, 60, 240];
            let index = usize::try_from(attempts.max(1) - 1).unwrap_or(0);
            let wait = MINUTES[index.min(MINUTES.len() - 1)];
            Scanned {
                status: Status::Pending,
                detail: Some(reason),
                attempts,
                next_scan_at: Some(now_ms + wait * 60_000),
            }
        }
    }
}

/// Who is asking, as the file rules need them: a role, and the user's id.
pub struct Asker<'a> {
    pub role: Role,
    pub user_id: &'a str,
}

impl Asker<'_> {
    /// A technician sees only what they work on (`workers`: the parent's people).
    fn sees(&self, parent: Parent, workers: &[String]) -> bool {
        if parent.is_money() {
            return self.role.allows(Permission::ViewMoney);
        }
        if parent == Parent::Company {
            return true;
        }
        self.role.allows(Permission::ViewRecords)
            && (self.role != Role::Technician || workers.iter().any(|w| w == self.user_id))
    }

    /// May see a file of `parent` (whose people are `workers`).
    pub fn may_see(&self, parent: Parent, workers: &[String]) -> bool {
        self.sees(parent, workers)
    }

    /// May attach a file to `parent`: technicians to the jobs and visits they work on,
    /// record managers to any record, owners the company's logo.
    pub fn may_add(&self, parent: Parent, workers: &[String]) -> bool {
        if !self.sees(parent, workers) {
            return false;
        }
        match parent {
            Parent::Company => self.role.allows(Permission::ManageSettings),
            p if p.is_work() => {
                self.role.allows(Permission::WorkOnJobs)
                    || self.role.allows(Permission::ManageRecords)
            }
            _ => self.role.allows(Permission::ManageRecords),
        }
    }

    /// May delete a file: record managers any they see; technicians the attachments they
    /// added themselves. Signatures only by record managers; a kept document never; the logo
    /// by owners.
    pub fn may_delete(
        &self,
        parent: Parent,
        workers: &[String],
        purpose: Purpose,
        uploaded_by: Option<&str>,
    ) -> bool {
        if !self.sees(parent, workers) {
            return false;
        }
        match purpose {
            Purpose::Document => false,
            Purpose::Logo => self.role.allows(Permission::ManageSettings),
            Purpose::Signature => self.role.allows(Permission::ManageRecords),
            Purpose::Attachment => {
                self.role.allows(Permission::ManageRecords)
                    || (parent.is_work()
                        && self.role.allows(Permission::WorkOnJobs)
                        && uploaded_by == Some(self.user_id))
            }
        }
    }
}

/// A signer's name: trimmed, 1 to 200 characters.
pub fn signer_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err("The signer's name: 1 to 200 characters.");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
    const JPEG: &[u8] = &[0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'];

    #[test]
    fn types_are_told_by_their_bytes() {
        assert_eq!(sniff(JPEG), Ok(FileType::Jpeg));
        assert_eq!(sniff(PNG), Ok(FileType::Png));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Ok(FileType::Webp));
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3"), Ok(FileType::Pdf));
        let mut heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic".to_vec();
        assert_eq!(sniff(&heic), Ok(FileType::Heic));
        // Phones: `mif1` first, `heic` among the compatible brands.
        heic[8..12].copy_from_slice(b"mif1");
        assert_eq!(sniff(&heic), Ok(FileType::Heic));
        let avif = b"\0\0\0\x18ftypavif\0\0\0\0mif1avif";
        assert!(matches!(sniff(avif), Err(Refused::Unsupported(_))));
    }

    #[test]
    fn svg_html_and_others_are_refused_and_named() {
        let svg = br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>"#;
        assert_eq!(sniff(svg), Err(Refused::Unsupported(Some("an SVG image"))));
        assert_eq!(
            sniff(b"  <svg onload=alert(1)>"),
            Err(Refused::Unsupported(Some("an SVG image")))
        );
        assert_eq!(
            sniff(b"<!DOCTYPE html><html>"),
            Err(Refused::Unsupported(Some("an HTML page")))
        );
        assert_eq!(
            sniff(b"GIF89a"),
            Err(Refused::Unsupported(Some("a GIF image")))
        );
        assert_eq!(sniff(b"hello"), Err(Refused::Unsupported(None)));
        assert_eq!(sniff(b""), Err(Refused::Empty));
        // A PDF marker later in the file is not a PDF: the bytes must start with it.
        assert!(sniff(b"<html>%PDF-1.4").is_err());
        assert!(Refused::Unsupported(Some("an SVG image"))
            .message()
            .contains("SVG"));
    }

    #[test]
    fn names_lose_paths_and_control_characters() {
        assert_eq!(clean_name("../../etc/passwd", "file"), "passwd");
        assert_eq!(
            clean_name("C:\\Users\\a\\photo 1.jpg", "file"),
            "photo 1.jpg"
        );
        assert_eq!(clean_name("a\u{0}b\nc.png", "file"), "abc.png");
        assert_eq!(clean_name("   ", "photo.jpg"), "photo.jpg");
        assert_eq!(clean_name(".htaccess", "file"), "htaccess");
        assert_eq!(clean_name(&"é".repeat(300), "f").chars().count(), 200);
    }

    #[test]
    fn downloads_carry_the_real_type_s_extension() {
        assert_eq!(download_name("shot.pdf", FileType::Png), "shot.pdf.png");
        assert_eq!(download_name("shot.PNG", FileType::Png), "shot.PNG");
        assert_eq!(download_name("boiler.jpeg", FileType::Jpeg), "boiler.jpeg");
        assert_eq!(download_name("scan", FileType::Pdf), "scan.pdf");
        let header = content_disposition("attachment", "Rechnung Müller \"1\".pdf");
        assert_eq!(
            header,
            "attachment; filename=\"Rechnung M_ller _1_.pdf\"; \
             filename*=UTF-8''Rechnung%20M%C3%BCller%20%221%22.pdf"
        );
    }

    #[test]
    fn failed_scans_wait_longer_then_go_to_review() {
        let now = 1_000_000;
        let first = after_scan(Scan::Failed("refused".into()), 1, now);
        assert_eq!(first.status, Status::Pending);
        assert_eq!(first.next_scan_at, Some(now + 60_000));
        let third = after_scan(Scan::Failed("refused".into()), 3, now);
        assert_eq!(third.next_scan_at, Some(now + 15 * 60_000));
        let last = after_scan(Scan::Failed("refused".into()), MAX_SCAN_ATTEMPTS, now);
        assert_eq!(last.status, Status::Rejected);
        assert!(last.detail.unwrap().contains("review"));
        let infected = after_scan(Scan::Infected("Eicar-Test-Signature".into()), 1, now);
        assert_eq!(infected.status, Status::Rejected);
        assert_eq!(infected.detail.as_deref(), Some("Eicar-Test-Signature"));
        assert_eq!(after_scan(Scan::Clean, 2, now).status, Status::Clean);
    }

    #[test]
    fn technicians_see_and_add_only_to_their_work() {
        let me = "u-tech";
        let tech = Asker {
            role: Role::Technician,
            user_id: me,
        };
        let mine = vec![me.to_owned()];
        let theirs = vec!["u-other".to_owned()];
        assert!(tech.may_see(Parent::Job, &mine));
        assert!(!tech.may_see(Parent::Job, &theirs));
        assert!(tech.may_add(Parent::Visit, &mine));
        assert!(!tech.may_add(Parent::Customer, &mine));
        assert!(!tech.may_see(Parent::Invoice, &[]));
        assert!(tech.may_delete(Parent::Job, &mine, Purpose::Attachment, Some(me)));
        assert!(!tech.may_delete(Parent::Job, &mine, Purpose::Attachment, Some("u-other")));
        assert!(!tech.may_delete(Parent::Job, &mine, Purpose::Signature, Some(me)));
        let owner = Asker {
            role: Role::Owner,
            user_id: "u-owner",
        };
        assert!(owner.may_see(Parent::Job, &theirs));
        assert!(owner.may_add(Parent::Company, &[]));
        assert!(!owner.may_delete(Parent::Invoice, &[], Purpose::Document, None));
        let viewer = Asker {
            role: Role::Viewer,
            user_id: "u-viewer",
        };
        assert!(viewer.may_see(Parent::Invoice, &[]));
        assert!(!viewer.may_add(Parent::Job, &[]));
        let dispatcher = Asker {
            role: Role::Dispatcher,
            user_id: "u-d",
        };
        assert!(!dispatcher.may_add(Parent::Company, &[]));
        assert!(dispatcher.may_add(Parent::Invoice, &[]));
    }

    #[test]
    fn upload_limits_stay_within_the_product_s() {
        assert!(check_upload_limit(MAX_UPLOAD_BYTES).is_ok());
        assert!(check_upload_limit(MAX_UPLOAD_BYTES + 1).is_err());
        assert!(check_upload_limit(MIN_UPLOAD_LIMIT - 1).is_err());
        assert_eq!(signer_name("  Ada Lee "), Ok("Ada Lee".to_owned()));
        assert!(signer_name(" ").is_err());
    }
}
