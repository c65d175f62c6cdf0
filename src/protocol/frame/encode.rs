//! Writing frames to bytes.

use super::Frame;
use super::escape::{Escaping, escape_into};
use crate::protocol::version::Version;

impl Frame {
    /// The frame's wire bytes for a connection of `version` (`None` before
    /// negotiation, which means no escaping).
    ///
    /// Headers are written exactly as they are: add `content-length` yourself
    /// when the body may contain NUL (the broker does on every frame it sends).
    ///
    /// # Examples
    /// ```
    /// use stompbox::Version;
    /// use stompbox::frame::{Command, Frame};
    ///
    /// let frame = Frame::new(Command::Send).with_header("k", "a:b");
    /// assert_eq!(frame.encode(Some(Version::V1_2)), b"SEND\nk:a\\cb\n\n\0");
    /// assert_eq!(frame.encode(Some(Version::V1_0)), b"SEND\nk:a:b\n\n\0");
    /// ```
    pub fn encode(&self, version: Option<Version>) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body().len());
        self.encode_into(version, &mut out);
        out
    }

    /// Appends the frame's wire bytes to `out`; see [`Frame::encode`].
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    ///
    /// let mut out = Vec::new();
    /// Frame::new(Command::Disconnect).encode_into(None, &mut out);
    /// assert_eq!(out, b"DISCONNECT\n\n\0");
    /// ```
    pub fn encode_into(&self, version: Option<Version>, out: &mut Vec<u8>) {
        let escaping = Escaping::for_frame(version, self.command());
        out.extend_from_slice(self.command().as_str().as_bytes());
        out.push(b'\n');
        encode_headers(self.headers().iter(), escaping, out);
        out.push(b'\n');
        out.extend_from_slice(self.body());
        out.push(0);
    }
}

/// Appends `name:value\n` for each header, escaped for `escaping`.
pub(crate) fn encode_headers<'a>(
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    escaping: Escaping,
    out: &mut Vec<u8>,
) {
    for (name, value) in headers {
        encode_header(name, value, escaping, out);
    }
}

/// Appends one `name:value\n` line, escaped for `escaping`.
pub(crate) fn encode_header(name: &str, value: &str, escaping: Escaping, out: &mut Vec<u8>) {
    escape_into(name, escaping, true, out);
    out.push(b':');
    escape_into(value, escaping, false, out);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::super::{Command, Decoded, Decoder, Headers, Limits};
    use super::*;
    use proptest::prelude::*;

    fn command() -> impl Strategy<Value = Command> {
        prop::sample::select(vec![
            Command::Send,
            Command::Subscribe,
            Command::Message,
            Command::Ack,
            Command::Error,
            Command::Other("CUSTOM".into()),
        ])
    }

    /// Header names and values that every version can carry: in 1.0 there is
    /// no escaping, so line ends (and colons in names) cannot be represented.
    fn text(version: Version, is_name: bool) -> BoxedStrategy<String> {
        match version {
            Version::V1_2 => "(\\PC|\n|\r|:|\\\\)*".boxed(),
            Version::V1_1 => "(\\PC|\n|:|\\\\)*".boxed(),
            Version::V1_0 if is_name => "[^\\x00-\\x1f:]*".boxed(),
            Version::V1_0 => "[^\\x00-\\x1f]*".boxed(),
        }
    }

    fn frame(version: Version) -> impl Strategy<Value = Frame> {
        let header = (
            text(version, true).prop_filter("non-empty name", |n| !n.is_empty()),
            text(version, false),
        );
        (
            command(),
            prop::collection::vec(header, 0..8),
            prop::collection::vec(any::<u8>(), 0..256),
        )
            .prop_map(|(command, headers, body)| {
                let mut headers: Headers = headers
                    .into_iter()
                    .filter(|(n, _)| n != "content-length")
                    .collect();
                headers.push("content-length", body.len().to_string());
                Frame::from_parts(command, headers, body.into())
            })
    }

    fn round_trip(frame: &Frame, version: Version, chunk: usize) -> Frame {
        let bytes = frame.encode(Some(version));
        let mut decoder = Decoder::new(Limits::default());
        decoder.set_version(Some(version));
        let mut got = None;
        for piece in bytes.chunks(chunk.max(1)) {
            decoder.feed(piece);
            while let Some(item) = decoder.next_item().expect("encoded frame decodes") {
                if let Decoded::Frame(f) = item {
                    assert!(got.replace(f).is_none(), "one frame in, one frame out");
                }
            }
        }
        got.expect("a complete frame")
    }

    proptest! {
        #[test]
        fn round_trips_in_1_0(f in frame(Version::V1_0), chunk in 1usize..64) {
            prop_assert_eq!(round_trip(&f, Version::V1_0, chunk), f);
        }

        #[test]
        fn round_trips_in_1_1(f in frame(Version::V1_1), chunk in 1usize..64) {
            prop_assert_eq!(round_trip(&f, Version::V1_1, chunk), f);
        }

        #[test]
        fn round_trips_in_1_2(f in frame(Version::V1_2), chunk in 1usize..64) {
            prop_assert_eq!(round_trip(&f, Version::V1_2, chunk), f);
        }

        /// The size a frame is weighed at is its unescaped encoding's.
        #[test]
        fn size_is_the_1_0_encoding_length(f in frame(Version::V1_0)) {
            prop_assert_eq!(f.size(), f.encode(Some(Version::V1_0)).len());
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let mut decoder = Decoder::new(Limits { max_frame_size: 64, max_headers: 4, max_header_line: 32 });
            decoder.set_version(Some(Version::V1_2));
            decoder.feed(&bytes);
            while let Ok(Some(_)) = decoder.next_item() {}
        }
    }
}
