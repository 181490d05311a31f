//! What the exports hold (access and portability): which tables a company export carries and
//! which of their columns it withholds, which of a customer's files are embedded in their
//! archive, and the names entries get inside an archive.

/// A customer's archive embeds a file up to this size; a larger one is listed, not embedded.
pub const MAX_EMBEDDED_FILE: i64 = 10 * 1024 * 1024;
/// And at most this much in all: files past it are listed, not embedded (the archive is built
/// in the Worker's memory).
pub const MAX_EMBEDDED_TOTAL: i64 = 50 * 1024 * 1024;

/// Rows read per query when a company export copies a table.
pub const PAGE_ROWS: i64 = 500;

/// The value a withheld column carries in a company export.
pub const WITHHELD: &str = "[withheld]";

/// Tables a company export leaves out besides the platform's own (`_cf_*`, `sqlite_*`,
/// `d1_migrations`): the wrapped data keys (key material, no one's data), the keyed blind
/// indexes (hashes of personal data, not the data) and the write engine's guard (always empty).
const LEFT_OUT: &[&str] = &["data_keys", "personal_terms", "write_guard"];

/// Columns whose values are credentials: an export is the company's data, not a way to sign
/// in as its people. Named the same wherever they appear.
const CREDENTIALS: &[&str] = &[
    "password_hash",
    "totp_secret",
    "totp_pending",
    "token_hash",
    "code_hash",
    "code_challenge",
];

/// The tables of `names` (the schema's, from `sqlite_master`) a company export carries, in name
/// order. Only plain identifiers pass: the name is quoted into the statement that reads it.
pub fn exported_tables(names: &[String]) -> Vec<String> {
    let mut tables: Vec<String> = names
        .iter()
        .filter(|name| {
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && !name.starts_with("_cf_")
                && !name.starts_with("sqlite_")
                && name.as_str() != "d1_migrations"
                && !LEFT_OUT.contains(&name.as_str())
        })
        .cloned()
        .collect();
    super::order::by_key(&mut tables, |t| (0, t.clone(), String::new()));
    tables
}

/// Whether a column's values are left out of a company export (see [`CREDENTIALS`]).
pub fn withheld(column: &str) -> bool {
    CREDENTIALS.contains(&column)
}

/// Why a customer's file is listed in their archive but not embedded in it.
pub fn not_embedded(status: &str, size: i64, embedded_so_far: i64) -> Option<&'static str> {
    if status != "clean" {
        return Some("not scanned clean: never served");
    }
    if size > MAX_EMBEDDED_FILE {
        return Some("larger than 10 MiB: download it from the dashboard");
    }
    if embedded_so_far + size > MAX_EMBEDDED_TOTAL {
        return Some("the archive holds 50 MiB of files at most: download it from the dashboard");
    }
    None
}

/// The name of a file inside an archive: under `files/`, its id first (names repeat), then its
/// own name with anything that could leave the folder or confuse an unzipper replaced.
pub fn entry_name(file_id: &str, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    let safe = safe.trim_start_matches('.');
    let safe = if safe.is_empty() { "file" } else { safe };
    format!("files/{file_id}-{safe}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_company_export_carries_the_company_tables_only() {
        let names: Vec<String> = [
            "users",
            "_cf_KV",
            "sqlite_sequence",
            "d1_migrations",
            "data_keys",
            "customers",
            "personal_terms",
            "audit_log",
            "write_guard",
            "bad name",
            "x\"; DROP",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(exported_tables(&names), ["audit_log", "customers", "users"]);
    }

    #[test]
    fn credentials_are_withheld_and_data_is_not() {
        for column in ["password_hash", "totp_secret", "token_hash", "code_hash"] {
            assert!(withheld(column), "{column}");
        }
        for column in ["email", "name", "notes", "hash", "seal"] {
            assert!(!withheld(column), "{column}");
        }
    }

    #[test]
    fn only_clean_files_within_the_bounds_are_embedded() {
        assert_eq!(not_embedded("clean", 1_000, 0), None);
        assert!(not_embedded("pending", 1_000, 0).is_some());
        assert!(not_embedded("rejected", 1_000, 0).is_some());
        assert!(not_embedded("clean", MAX_EMBEDDED_FILE + 1, 0).is_some());
        assert_eq!(not_embedded("clean", MAX_EMBEDDED_FILE, 0), None);
        assert!(not_embedded("clean", 1_000, MAX_EMBEDDED_TOTAL - 999).is_some());
    }

    #[test]
    fn entry_names_stay_inside_the_files_folder() {
        let cases = [
            ("photo.jpg", "files/f1-photo.jpg"),
            ("../../etc/passwd", "files/f1-_.._etc_passwd"),
            ("C:\\boot.ini", "files/f1-C__boot.ini"),
            ("...", "files/f1-file"),
            ("a\nb.pdf", "files/f1-a_b.pdf"),
        ];
        for (name, expected) in cases {
            assert_eq!(entry_name("f1", name), expected, "{name:?}");
        }
    }
}
