//! The dashboard's static files. They are not compiled into the Worker: `scripts/build` writes
//! each under a name carrying a hash of its content, `/assets/<stem>.<hash>.<ext>`, and Workers
//! Static Assets serves them (cached for a year, since a new build has new names; headers in
//! `src/assets/_headers`). This module computes the same hash at compile time, so the pages
//! link to this build's names.

/// One static file.
pub struct Asset {
    pub stem: &'static str,
    pub ext: &'static str,
    pub content_type: &'static str,
    pub hash: u64,
}

/// FNV-1a: not for security, only to tell one build's file from another's. `scripts/build`
/// computes the same to name the files.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

macro_rules! asset {
    ($stem:literal, $ext:literal, $type:literal) => {
        Asset {
            stem: $stem,
            ext: $ext,
            content_type: $type,
            // Evaluated at compile time: only the hash reaches the Worker, not the bytes.
            hash: fnv1a(include_bytes!(concat!("../../assets/", $stem, ".", $ext))),
        }
    };
}

pub const APP_JS: Asset = asset!("app", "js", "text/javascript; charset=utf-8");
pub const APP_CSS: Asset = asset!("app", "css", "text/css; charset=utf-8");
pub const ICON: Asset = asset!("icon", "svg", "image/svg+xml");

const ALL: [&Asset; 3] = [&APP_JS, &APP_CSS, &ICON];

impl Asset {
    /// `/assets/app.0123456789abcdef.js`.
    pub fn path(&self) -> String {
        format!("/assets/{}.{:016x}.{}", self.stem, self.hash, self.ext)
    }
}

/// The asset a file name asks for, and whether it is this build's version (cache it for good)
/// or another (an old page after a deploy, or no hash: serve today's, not cached). Static Assets
/// answers this build's names before the Worker runs, so the Worker sees the others.
pub fn find(file: &str) -> Option<(&'static Asset, bool)> {
    let (stem, rest) = file.split_once('.')?;
    let (version, ext) = match rest.rsplit_once('.') {
        Some((version, ext)) => (Some(version), ext),
        None => (None, rest),
    };
    let asset = ALL.into_iter().find(|a| a.stem == stem && a.ext == ext)?;
    let current = version.is_some_and(|v| v == format!("{:016x}", asset.hash));
    Some((asset, current))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assets_are_found_by_versioned_or_plain_name() {
        let path = APP_JS.path();
        let file = path.trim_start_matches("/assets/");
        assert!(matches!(find(file), Some((a, true)) if a.ext == "js"));
        assert!(matches!(find("app.js"), Some((_, false))));
        assert!(matches!(find("app.0000000000000000.css"), Some((a, false)) if a.ext == "css"));
        assert!(find("app.exe").is_none());
        assert!(find("secrets.js").is_none());
        assert!(find("app").is_none());
    }

    #[test]
    fn a_change_of_content_is_a_change_of_name() {
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        assert_ne!(APP_JS.path(), APP_CSS.path());
    }
}
