//! Opaque cursors for keyset pagination: the sort key and id of the last row of a page,
//! base64url-encoded, so the next page starts after it without OFFSET scans.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::AppError;

/// Encodes the position after (`key`, `id`).
pub fn encode(key: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{key}\u{0}{id}"))
}

/// Decodes a cursor made by [`encode`]; anything else is a 422 naming `cursor`.
pub fn decode(cursor: &str) -> Result<(String, String), AppError> {
    let bad = || {
        AppError::invalid_field(
            "cursor",
            "cursor must be a next_cursor from a previous page.",
        )
    };
    if cursor.len() > 1_000 {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (key, id) = text.split_once('\u{0}').ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((key.to_owned(), id.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = encode("Anna Smith", "c-1");
        assert_eq!(
            decode(&cursor).unwrap(),
            ("Anna Smith".to_owned(), "c-1".to_owned())
        );
        for bad in ["", "!!!", "bm9udWxs", &"A".repeat(2_000)] {
            assert_eq!(decode(bad).unwrap_err().status(), 422, "{bad:?}");
        }
    }
}
