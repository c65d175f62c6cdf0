//! Header escaping: which rules apply to a frame, and applying them.
//!
//! STOMP 1.0 has no escaping. STOMP 1.1 escapes `\n` (LF), `\c` (colon) and
//! `\\`; STOMP 1.2 adds `\r` (CR). CONNECT, STOMP and CONNECTED frames are never
//! escaped, whatever the version, so that a client can connect before it knows
//! which version it will get. Any other backslash sequence is an error.

use std::borrow::Cow;

use super::{Command, FrameError};
use crate::protocol::version::Version;

/// The escaping rules in force for one frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Escaping {
    /// STOMP 1.0 and the connection frames: bytes are taken as they are.
    #[default]
    None,
    /// STOMP 1.1: `\n`, `\c`, `\\`.
    V1_1,
    /// STOMP 1.2: `\r`, `\n`, `\c`, `\\`.
    V1_2,
}

impl Escaping {
    /// The rules for a frame with `command` on a connection of `version`
    /// (`None` before the version is negotiated).
    pub(crate) fn for_frame(version: Option<Version>, command: &Command) -> Escaping {
        if matches!(
            command,
            Command::Connect | Command::Stomp | Command::Connected
        ) {
            return Escaping::None;
        }
        Escaping::for_version(version)
    }

    /// The rules for ordinary frames of a connection of `version`.
    pub(crate) fn for_version(version: Option<Version>) -> Escaping {
        match version {
            None | Some(Version::V1_0) => Escaping::None,
            Some(Version::V1_1) => Escaping::V1_1,
            Some(Version::V1_2) => Escaping::V1_2,
        }
    }

    /// A small index for per-escaping caches.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Decodes the escape sequences of one header name or value.
pub(crate) fn unescape(raw: &str, escaping: Escaping) -> Result<Cow<'_, str>, FrameError> {
    if escaping == Escaping::None || memchr::memchr(b'\\', raw.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(raw));
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('c') => out.push(':'),
            Some('\\') => out.push('\\'),
            Some('r') if escaping == Escaping::V1_2 => out.push('\r'),
            _ => return Err(FrameError::Escape),
        }
    }
    Ok(Cow::Owned(out))
}

/// Appends `text` to `out` with the escapes of `escaping` applied.
///
/// With [`Escaping::None`] a value cannot carry a line end or (in a name) a
/// colon, so those are replaced by a space or `_` rather than breaking the
/// frame apart: a 1.0 subscriber can receive headers set by a 1.2 producer.
///
/// A NUL would end the frame on the wire (and let what follows pass for
/// another frame), and no version can escape it: it is written as U+FFFD.
/// Nothing the broker receives can hold one; the broker's own entry points
/// refuse it first ([`check_header`]).
pub(crate) fn escape_into(text: &str, escaping: Escaping, is_name: bool, out: &mut Vec<u8>) {
    let needs_work = text
        .bytes()
        .any(|b| matches!(b, b'\n' | b'\r' | b':' | b'\\' | 0));
    if !needs_work {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    for b in text.bytes() {
        if b == 0 {
            out.extend_from_slice("\u{FFFD}".as_bytes());
            continue;
        }
        match (escaping, b) {
            (Escaping::None, b'\n' | b'\r') => out.push(b' '),
            (Escaping::None, b':') if is_name => out.push(b'_'),
            (Escaping::None, _) => out.push(b),
            (_, b'\n') => out.extend_from_slice(b"\\n"),
            (_, b':') => out.extend_from_slice(b"\\c"),
            (_, b'\\') => out.extend_from_slice(b"\\\\"),
            (Escaping::V1_2, b'\r') => out.extend_from_slice(b"\\r"),
            // STOMP 1.1 has no escape for CR; a space keeps the frame intact.
            (_, b'\r') => out.push(b' '),
            (_, _) => out.push(b),
        }
    }
}

/// Whether a header made by the broker's own API (not decoded from a
/// client) could travel in a frame: the rules a received header is held to,
/// with the same error.
pub(crate) fn check_header(name: &str, value: &str) -> Result<(), FrameError> {
    if name.is_empty() || name.contains('\0') || value.contains('\0') {
        return Err(FrameError::HeaderLine);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn a_nul_is_never_written_into_a_header() {
        for escaping in [Escaping::None, Escaping::V1_1, Escaping::V1_2] {
            let mut out = Vec::new();
            escape_into("a\0b", escaping, false, &mut out);
            assert!(!out.contains(&0), "{escaping:?}");
            assert_eq!(String::from_utf8(out).unwrap(), "a\u{FFFD}b");
        }
        assert_eq!(check_header("", "x"), Err(FrameError::HeaderLine));
        assert_eq!(check_header("x", "a\0"), Err(FrameError::HeaderLine));
        assert_eq!(check_header("x", "a:b\nc"), Ok(()));
    }

    #[rstest]
    #[case::none_is_verbatim(Escaping::None, r"a\nb", r"a\nb")]
    #[case::newline(Escaping::V1_1, r"a\nb", "a\nb")]
    #[case::colon(Escaping::V1_1, r"a\cb", "a:b")]
    #[case::backslash(Escaping::V1_2, r"a\\b", "a\\b")]
    #[case::carriage_return(Escaping::V1_2, r"a\rb", "a\rb")]
    fn unescapes_defined_sequences(#[case] e: Escaping, #[case] raw: &str, #[case] want: &str) {
        assert_eq!(unescape(raw, e).unwrap(), want);
    }

    #[rstest]
    #[case::cr_in_1_1(Escaping::V1_1, r"a\rb")]
    #[case::tab(Escaping::V1_2, r"a\tb")]
    #[case::trailing_backslash(Escaping::V1_2, "ab\\")]
    fn rejects_undefined_sequences(#[case] e: Escaping, #[case] raw: &str) {
        assert_eq!(unescape(raw, e), Err(FrameError::Escape));
    }

    #[rstest]
    #[case(Escaping::V1_2, "a:b\nc\\d\re", r"a\cb\nc\\d\re")]
    #[case(Escaping::V1_1, "a:b\nc\\d\re", r"a\cb\nc\\d e")]
    #[case(Escaping::None, "a:b\nc", "a:b c")]
    fn escapes_values(#[case] e: Escaping, #[case] text: &str, #[case] want: &str) {
        let mut out = Vec::new();
        escape_into(text, e, false, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}
