//! The few things the Worker reads from a request URL, without a URL parser: the `url` crate
//! brings IDNA tables that would more than double the size of the Worker for them.
//! The runtime hands us absolute, already-normalised URLs (`https://host[:port]/path?query`).

/// `scheme://host[:port]` of an absolute URL.
pub fn origin(url: &str) -> Option<&str> {
    let after_scheme = url.find("://")? + 3;
    let end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    (end > after_scheme).then(|| &url[..end])
}

/// The scheme and the host (without port) of an absolute URL.
pub fn scheme_and_host(url: &str) -> Option<(&str, &str)> {
    let origin = origin(url)?;
    let (scheme, authority) = origin.split_once("://")?;
    let host = if authority.starts_with('[') {
        authority.split_inclusive(']').next().unwrap_or(authority)
    } else {
        authority.split(':').next().unwrap_or(authority)
    };
    Some((scheme, host))
}

/// The decoded `key=value` pairs of the query string, in order.
pub fn query_pairs(url: &str) -> Vec<(String, String)> {
    let Some(start) = url.find('?') else {
        return Vec::new();
    };
    let query = &url[start + 1..];
    let query = query.split('#').next().unwrap_or_default();
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(key), decode(value))
        })
        .collect()
}

/// A page size from the query string: an integer from 1 to `max`, else a 422 naming `limit`.
pub fn parse_limit(value: &str, max: i64) -> Result<i64, crate::error::AppError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|l| (1..=max).contains(l))
        .ok_or_else(|| {
            crate::error::AppError::invalid_field(
                "limit",
                format!("limit must be between 1 and {max}."),
            )
        })
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; invalid escapes
/// are kept as written, invalid UTF-8 replaced.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `application/x-www-form-urlencoded`: unreserved characters as they are, space as `+`.
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_is_scheme_host_and_port() {
        let cases = [
            (
                "https://acme.example.com/api/v1/me?x=1",
                Some("https://acme.example.com"),
            ),
            (
                "http://127.0.0.1:8787/healthz",
                Some("http://127.0.0.1:8787"),
            ),
            ("http://127.0.0.1:8787", Some("http://127.0.0.1:8787")),
            ("https://h.example?q", Some("https://h.example")),
            ("/relative", None),
            ("https:///nohost", None),
        ];
        for (url, expected) in cases {
            assert_eq!(origin(url), expected, "{url}");
        }
    }

    #[test]
    fn scheme_and_host_drop_the_port() {
        assert_eq!(
            scheme_and_host("http://127.0.0.1:8787/x"),
            Some(("http", "127.0.0.1"))
        );
        assert_eq!(
            scheme_and_host("https://acme.example.com/"),
            Some(("https", "acme.example.com"))
        );
        assert_eq!(
            scheme_and_host("http://[::1]:8787/"),
            Some(("http", "[::1]"))
        );
    }

    #[test]
    fn limits_are_integers_within_their_bounds() {
        assert_eq!(parse_limit("50", 200).unwrap(), 50);
        for bad in ["0", "201", "-1", "ten", ""] {
            assert_eq!(parse_limit(bad, 200).unwrap_err().status(), 422, "{bad:?}");
        }
    }

    #[test]
    fn query_pairs_are_decoded_in_order() {
        assert_eq!(
            query_pairs("https://h/p?action=auth.login&limit=5&q=a+b%20c&empty=&flag#frag"),
            vec![
                ("action".to_owned(), "auth.login".to_owned()),
                ("limit".to_owned(), "5".to_owned()),
                ("q".to_owned(), "a b c".to_owned()),
                ("empty".to_owned(), String::new()),
                ("flag".to_owned(), String::new()),
            ]
        );
        assert!(query_pairs("https://h/p").is_empty());
        assert_eq!(query_pairs("https://h/p?x=%zz%4")[0].1, "%zz%4");
        assert_eq!(query_pairs("https://h/p?x=%C3%A9")[0].1, "é");
    }
}
