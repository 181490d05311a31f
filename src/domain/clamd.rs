//! clamd's TCP protocol, without the socket: the `zINSTREAM` request a file is scanned with,
//! the reply line and what it means, `zPING`, and the scanner's address from its settings.
//!
//! A scan is one connection: `zINSTREAM\0`, then the file in chunks, each behind its length as
//! 4 bytes big-endian, then a zero length; clamd answers one line ending in `\0`:
//! `stream: OK`, `stream: <signature> FOUND`, or `… ERROR` (e.g. `INSTREAM size limit
//! exceeded. ERROR` past its `StreamMaxLength`). The glue is `services::clamd`.

/// Asks a live clamd for `PONG`.
pub const PING: &[u8] = b"zPING\0";
/// Starts a scan of the bytes that follow.
pub const INSTREAM: &[u8] = b"zINSTREAM\0";
/// The largest chunk sent at once: a 25 MiB upload goes out as 400 of them, each built when it
/// is sent, so the file is never copied whole.
pub const CHUNK_LEN: usize = 64 * 1024;
/// clamd's replies are one short line; anything longer is not clamd.
pub const MAX_REPLY_LEN: usize = 1024;

/// What clamd made of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// `stream: OK`.
    Clean,
    /// `stream: <signature> FOUND`: the signature's name, e.g.
    /// `Eicar-Test-Signature.UNOFFICIAL`.
    Infected(String),
    /// `… ERROR`: clamd could not scan the file (too large for its `StreamMaxLength`, out of
    /// memory, …); its message without the trailing `ERROR`.
    Error(String),
}

/// The whole `zINSTREAM` request for `file`, as the pieces to send in order: the command, each
/// chunk of at most [`CHUNK_LEN`] bytes behind its length, and the zero-length terminator.
pub fn instream(file: &[u8]) -> impl Iterator<Item = Vec<u8>> + '_ {
    std::iter::once(INSTREAM.to_vec())
        .chain(file.chunks(CHUNK_LEN).map(frame))
        .chain(std::iter::once(frame(&[])))
}

/// One chunk behind its length (4 bytes, big-endian).
fn frame(chunk: &[u8]) -> Vec<u8> {
    // A chunk is at most CHUNK_LEN bytes, so its length fits in 32 bits.
    let length = chunk.len() as u32;
    let mut out = Vec::with_capacity(4 + chunk.len());
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(chunk);
    out
}

/// Whether `received` holds a whole reply (clamd ends each with `\0`).
pub fn reply_complete(received: &[u8]) -> bool {
    received.contains(&0)
}

/// Reads a scan's reply line. `Err` when it is not one of clamd's answers (nothing at all, not
/// text, another command's reply): then whatever answered is not a working clamd.
pub fn parse_reply(reply: &[u8]) -> Result<Verdict, String> {
    let line = reply_line(reply)?;
    if line == "stream: OK" {
        return Ok(Verdict::Clean);
    }
    if let Some(signature) = line
        .strip_prefix("stream: ")
        .and_then(|rest| rest.strip_suffix(" FOUND"))
        .map(str::trim)
        .filter(|name| !name.is_empty())
    {
        return Ok(Verdict::Infected(signature.to_owned()));
    }
    if let Some(message) = line.strip_suffix(" ERROR") {
        let message = message.strip_prefix("stream: ").unwrap_or(message).trim();
        return Ok(Verdict::Error(message.to_owned()));
    }
    Err(format!("not a scan reply: {line:?}"))
}

/// Reads the reply to [`PING`].
pub fn parse_pong(reply: &[u8]) -> Result<(), String> {
    match reply_line(reply)? {
        "PONG" => Ok(()),
        other => Err(format!("not PONG: {other:?}")),
    }
}

/// The reply's text, without its terminator; at most [`MAX_REPLY_LEN`] bytes of text.
fn reply_line(reply: &[u8]) -> Result<&str, String> {
    let end = reply.iter().position(|&b| b == 0).unwrap_or(reply.len());
    let bytes = &reply[..end];
    if bytes.is_empty() {
        return Err("no reply".to_owned());
    }
    if bytes.len() > MAX_REPLY_LEN {
        return Err(format!("a reply of more than {MAX_REPLY_LEN} bytes"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "a reply that is not text".to_owned())?;
    Ok(text.trim_end())
}

/// The scanner's address from `CLAMD_HOST` and `CLAMD_PORT`: `None` when neither is set (no
/// scanner configured), `Err` when they do not name an address together.
pub fn address(host: Option<&str>, port: Option<&str>) -> Result<Option<(String, u16)>, String> {
    let host = host.map(str::trim).filter(|h| !h.is_empty());
    let port = port.map(str::trim).filter(|p| !p.is_empty());
    match (host, port) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err("CLAMD_PORT is set but CLAMD_HOST is not".to_owned()),
        (Some(_), None) => Err("CLAMD_HOST is set but CLAMD_PORT is not".to_owned()),
        (Some(host), Some(port)) => {
            if host.contains(|c: char| c.is_whitespace() || c == '/') {
                return Err(format!(
                    "CLAMD_HOST is not a host name or address: {host:?}"
                ));
            }
            match port.parse::<u16>() {
                Ok(number) if number > 0 => Ok(Some((host.to_owned(), number))),
                _ => Err(format!("CLAMD_PORT is not a port number: {port:?}")),
            }
        }
    }
}

/// The EICAR antivirus test file (68 bytes): every scanner reports it, none is harmed by it.
/// Kept in two halves so that neither this source nor the Worker's Wasm holds it whole (some
/// scanners flag files that merely contain it).
pub fn eicar() -> Vec<u8> {
    const FIRST: &str = r"X5O!P%@AP[4\PZX54(P^)7CC)7}$";
    const SECOND: &str = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
    [FIRST, SECOND].concat().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The request as one buffer, for checking its bytes.
    fn whole(file: &[u8]) -> Vec<u8> {
        instream(file).flatten().collect()
    }

    #[test]
    fn a_small_file_is_the_command_one_chunk_and_the_terminator() {
        let mut expected = b"zINSTREAM\0".to_vec();
        expected.extend_from_slice(&[0, 0, 0, 5]);
        expected.extend_from_slice(b"hello");
        expected.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(whole(b"hello"), expected);
    }

    #[test]
    fn an_empty_file_is_the_command_and_the_terminator() {
        assert_eq!(whole(b""), b"zINSTREAM\0\0\0\0\0");
    }

    #[test]
    fn a_large_file_goes_in_chunks_of_at_most_64_kib_with_big_endian_lengths() {
        let file: Vec<u8> = (0..CHUNK_LEN * 2 + 3).map(|i| (i % 251) as u8).collect();
        let pieces: Vec<Vec<u8>> = instream(&file).collect();
        // Command, two whole chunks, the rest, the terminator.
        assert_eq!(pieces.len(), 5);
        assert_eq!(pieces[0], INSTREAM);
        assert_eq!(pieces[1][..4], [0, 1, 0, 0]);
        assert_eq!(pieces[2].len(), 4 + CHUNK_LEN);
        assert_eq!(pieces[3][..4], [0, 0, 0, 3]);
        assert_eq!(pieces[4], [0, 0, 0, 0]);
        let data: Vec<u8> = pieces[1..4].iter().flat_map(|p| p[4..].to_vec()).collect();
        assert_eq!(data, file);
    }

    #[test]
    fn a_file_of_exactly_one_chunk_is_not_followed_by_an_empty_chunk_before_the_terminator() {
        let file = vec![7u8; CHUNK_LEN];
        let lengths: Vec<usize> = instream(&file).skip(1).map(|p| p.len()).collect();
        assert_eq!(lengths, [4 + CHUNK_LEN, 4]);
    }

    #[test]
    fn replies_read_as_verdicts() {
        let cases: [(&[u8], Verdict); 7] = [
            (b"stream: OK\0", Verdict::Clean),
            (b"stream: OK", Verdict::Clean),
            (b"stream: OK\n\0", Verdict::Clean),
            (
                b"stream: Eicar-Test-Signature.UNOFFICIAL FOUND\0",
                Verdict::Infected("Eicar-Test-Signature.UNOFFICIAL".into()),
            ),
            (
                b"stream: Win.Test.EICAR_HDB-1 FOUND\0",
                Verdict::Infected("Win.Test.EICAR_HDB-1".into()),
            ),
            (
                b"INSTREAM size limit exceeded. ERROR\0",
                Verdict::Error("INSTREAM size limit exceeded.".into()),
            ),
            (
                b"stream: Can't allocate memory ERROR\0",
                Verdict::Error("Can't allocate memory".into()),
            ),
        ];
        for (reply, verdict) in cases {
            assert_eq!(
                parse_reply(reply),
                Ok(verdict),
                "{}",
                String::from_utf8_lossy(reply)
            );
        }
    }

    #[test]
    fn anything_else_is_not_a_scan_reply() {
        let long = vec![b'a'; MAX_REPLY_LEN + 1];
        let cases: [&[u8]; 9] = [
            b"",
            b"\0",
            b"PONG\0",
            b"UNKNOWN COMMAND\0",
            b"stream: FOUND\0",
            b"stream:  FOUND\0",
            b"HTTP/1.1 400 Bad Request\r\n\r\n",
            b"stream: \xff FOUND\0",
            &long,
        ];
        for reply in cases {
            assert!(
                parse_reply(reply).is_err(),
                "{}",
                String::from_utf8_lossy(reply)
            );
        }
    }

    #[test]
    fn only_pong_answers_a_ping() {
        assert_eq!(parse_pong(b"PONG\0"), Ok(()));
        assert_eq!(parse_pong(b"PONG"), Ok(()));
        for reply in [&b""[..], b"\0", b"stream: OK\0", b"PING\0"] {
            assert!(parse_pong(reply).is_err());
        }
    }

    #[test]
    fn a_reply_is_complete_at_its_nul() {
        assert!(!reply_complete(b"stream: O"));
        assert!(reply_complete(b"stream: OK\0"));
    }

    #[test]
    fn the_address_needs_both_settings_or_neither() {
        // (CLAMD_HOST, CLAMD_PORT, the address, or None for a misconfiguration)
        let cases = [
            (None, None, Some(None)),
            (Some(""), Some("  "), Some(None)),
            (
                Some("127.0.0.1"),
                Some("3310"),
                Some(Some(("127.0.0.1", 3310))),
            ),
            (
                Some(" clamd.example.com "),
                Some("3310 "),
                Some(Some(("clamd.example.com", 3310))),
            ),
            (Some("127.0.0.1"), None, None),
            (None, Some("3310"), None),
            (Some("127.0.0.1"), Some("0"), None),
            (Some("127.0.0.1"), Some("65536"), None),
            (Some("tcp://host"), Some("3310"), None),
        ];
        for (host, port, expected) in cases {
            let got = address(host, port).ok();
            let got = got
                .as_ref()
                .map(|a| a.as_ref().map(|(h, p)| (h.as_str(), *p)));
            assert_eq!(got, expected, "{host:?} {port:?}");
        }
    }

    #[test]
    fn the_test_file_is_the_68_bytes_of_eicar() {
        let file = eicar();
        assert_eq!(file.len(), 68);
        assert!(file.starts_with(b"X5O!P%@AP[4\\PZX54"));
        assert!(file.ends_with(b"-TEST-FILE!$H+H*"));
    }
}
