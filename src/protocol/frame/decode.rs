//! The incremental frame decoder.
//!
//! Bytes go in with [`Decoder::feed`] as they arrive; [`Decoder::next_item`]
//! hands out complete frames and heart-beats, or `None` when it needs more.
//! Each stage remembers how far it has scanned, so a frame that arrives one
//! byte at a time costs no more than one that arrives whole, and every limit is
//! checked before the bytes that would break it are buffered further.
//!
//! The grammar (STOMP 1.2, section "Augmented BNF"):
//! ```text
//! frame   = command EOL *( header EOL ) EOL *OCTET NULL *( EOL )
//! EOL     = [CR] LF
//! header  = header-name ":" header-value
//! ```

use bytes::{Buf, Bytes, BytesMut};

use super::escape::{Escaping, unescape};
use super::{Command, Frame, FrameError, Headers};
use crate::protocol::version::Version;

/// Size limits that keep a hostile peer from making the decoder allocate
/// without bound. Going over one is a [`FrameError`], never a panic.
///
/// # Examples
/// ```
/// use stompbox::frame::Limits;
///
/// let limits = Limits { max_frame_size: 64 * 1024, ..Limits::default() };
/// assert_eq!(limits.max_headers, Limits::default().max_headers);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest body a frame may carry, in bytes (default 100 MiB, as
    /// ActiveMQ; the memory budget bounds what many such bodies cost). The header
    /// section is bounded separately by the two other limits.
    pub max_frame_size: usize,
    /// The most header lines in one frame (default 1,000, as ActiveMQ).
    pub max_headers: usize,
    /// The longest command or header line, in bytes (default 10 KiB, as ActiveMQ).
    pub max_header_line: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            // ActiveMQ's default (its MAX_DATA_LENGTH); RabbitMQ takes
            // 16 MiB messages with its defaults.
            max_frame_size: 100 * 1024 * 1024,
            max_headers: 1000,
            max_header_line: 10 * 1024,
        }
    }
}

/// One item read off the wire.
///
/// # Examples
/// ```
/// use stompbox::frame::{Decoded, Decoder, Limits};
///
/// let mut decoder = Decoder::new(Limits::default());
/// decoder.feed(b"\n");
/// assert_eq!(decoder.next_item(), Ok(Some(Decoded::HeartBeat)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A complete frame.
    Frame(Frame),
    /// An end-of-line between frames: a heart-beat.
    HeartBeat,
}

/// Where the decoder is inside the current frame.
#[derive(Debug)]
enum Stage {
    /// Between frames.
    Start,
    /// Reading the command and header lines.
    Head {
        scanned: usize,
        line_start: usize,
        lines: usize,
    },
    /// Headers parsed; waiting for the body and its NUL.
    Body {
        head_len: usize,
        command: Command,
        headers: Headers,
        content_length: Option<usize>,
        scanned: usize,
    },
}

/// An incremental STOMP frame decoder for one connection.
///
/// After it returns an error the stream cannot be resynchronised; the caller
/// should report the error and close the connection.
///
/// # Examples
/// ```
/// use stompbox::frame::{Command, Decoded, Decoder, Limits};
///
/// let mut decoder = Decoder::new(Limits::default());
/// decoder.feed(b"SEND\ndestination:/queue/a\n\nhel");
/// assert_eq!(decoder.next_item(), Ok(None)); // not complete yet
/// decoder.feed(b"lo\0");
/// let Some(Decoded::Frame(frame)) = decoder.next_item()? else { panic!() };
/// assert_eq!(frame.command(), &Command::Send);
/// assert_eq!(frame.body(), b"hello");
/// # Ok::<(), stompbox::frame::FrameError>(())
/// ```
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    limits: Limits,
    version: Option<Version>,
    stage: Stage,
    /// NUL bytes skipped between frames, not yet taken.
    stray_nuls: usize,
}

impl Decoder {
    /// A decoder for a connection whose version is not negotiated yet
    /// (no header escaping until [`Decoder::set_version`]).
    ///
    /// # Examples
    /// ```
    /// let decoder = stompbox::frame::Decoder::new(stompbox::frame::Limits::default());
    /// assert_eq!(decoder.buffered(), 0);
    /// ```
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            buf: BytesMut::with_capacity(8 * 1024),
            limits,
            version: None,
            stage: Stage::Start,
            stray_nuls: 0,
        }
    }

    /// Sets the negotiated version, which decides header escaping from the
    /// next frame on.
    ///
    /// # Examples
    /// ```
    /// use stompbox::Version;
    /// use stompbox::frame::{Decoded, Decoder, Limits};
    ///
    /// let mut decoder = Decoder::new(Limits::default());
    /// decoder.set_version(Some(Version::V1_2));
    /// decoder.feed(b"SEND\nx:a\\cb\n\n\0");
    /// let Some(Decoded::Frame(f)) = decoder.next_item()? else { panic!() };
    /// assert_eq!(f.header("x"), Some("a:b"));
    /// # Ok::<(), stompbox::frame::FrameError>(())
    /// ```
    pub fn set_version(&mut self, version: Option<Version>) {
        self.version = version;
    }

    /// How many NUL bytes between frames were skipped since the last call
    /// (STOMP has none there; the real brokers skip them, and so does this
    /// decoder).
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Decoded, Decoder, Limits};
    /// let mut decoder = Decoder::new(Limits::default());
    /// decoder.feed(b"\n\0SEND\ndestination:/queue/a\n\n\0");
    /// assert_eq!(decoder.next_item(), Ok(Some(Decoded::HeartBeat)));
    /// assert!(matches!(decoder.next_item(), Ok(Some(Decoded::Frame(_)))));
    /// assert_eq!(decoder.take_stray_nuls(), 1);
    /// assert_eq!(decoder.take_stray_nuls(), 0);
    /// ```
    pub fn take_stray_nuls(&mut self) -> usize {
        std::mem::take(&mut self.stray_nuls)
    }

    /// Appends bytes read from the connection.
    ///
    /// # Examples
    /// ```
    /// let mut decoder = stompbox::frame::Decoder::new(stompbox::frame::Limits::default());
    /// decoder.feed(b"SEN");
    /// assert_eq!(decoder.buffered(), 3);
    /// ```
    pub fn feed(&mut self, bytes: &[u8]) {
        if let Stage::Body {
            head_len,
            content_length: Some(body_len),
            ..
        } = self.stage
        {
            // The body has passed the room made up front: make room for all
            // of it, once, rather than let the buffer double.
            let frame_len = head_len + body_len + 1;
            if self.buf.len() + bytes.len() > self.buf.capacity() {
                self.make_room_for(frame_len.max(self.buf.len() + bytes.len()));
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    /// How many bytes are held that are not yet part of a returned item.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::frame::Decoder::new(Default::default()).buffered(), 0);
    /// ```
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete item, `Ok(None)` if more bytes are needed.
    ///
    /// # Errors
    /// A [`FrameError`] naming what is malformed or over a limit.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Decoder, FrameError, Limits};
    ///
    /// let mut decoder = Decoder::new(Limits::default());
    /// decoder.feed(b"SEND\nno colon here\n\n\0");
    /// assert_eq!(decoder.next_item(), Err(FrameError::HeaderLine));
    /// ```
    pub fn next_item(&mut self) -> Result<Option<Decoded>, FrameError> {
        loop {
            match self.stage {
                Stage::Start => match self.start()? {
                    Some(item) => return Ok(Some(item)),
                    None if matches!(self.stage, Stage::Start) => return Ok(None),
                    None => {}
                },
                Stage::Head { .. } => match self.scan_head()? {
                    Some(head_len) => self.parse_head(head_len)?,
                    None => return Ok(None),
                },
                Stage::Body { .. } => return self.finish_body(),
            }
        }
    }

    /// Between frames: an EOL is a heart-beat; a NUL is skipped (counted:
    /// ActiveMQ and RabbitMQ skip it too); anything else starts a frame.
    fn start(&mut self) -> Result<Option<Decoded>, FrameError> {
        let nuls = self.buf.iter().take_while(|&&b| b == 0).count();
        if nuls > 0 {
            self.buf.advance(nuls);
            self.stray_nuls += nuls;
        }
        match self.buf.first() {
            None => Ok(None),
            Some(b'\n') => {
                self.buf.advance(1);
                Ok(Some(Decoded::HeartBeat))
            }
            Some(b'\r') => match self.buf.get(1) {
                None => Ok(None),
                Some(b'\n') => {
                    self.buf.advance(2);
                    Ok(Some(Decoded::HeartBeat))
                }
                Some(_) => Err(FrameError::Command),
            },
            Some(_) => {
                self.stage = Stage::Head {
                    scanned: 0,
                    line_start: 0,
                    lines: 0,
                };
                Ok(None)
            }
        }
    }

    /// Finds the blank line that ends the headers; returns its end offset.
    fn scan_head(&mut self) -> Result<Option<usize>, FrameError> {
        let Stage::Head {
            scanned,
            line_start,
            lines,
        } = &mut self.stage
        else {
            unreachable!("scan_head is only called in the Head stage")
        };
        let limits = self.limits;
        while let Some(offset) = memchr::memchr2(b'\n', 0, &self.buf[*scanned..]) {
            let end = *scanned + offset;
            // The length check comes first so that the error does not depend
            // on how the bytes were split into reads (found by fuzzing).
            let line = strip_cr(&self.buf[*line_start..end]);
            if line.len() > limits.max_header_line {
                return Err(FrameError::HeaderTooLong);
            }
            if self.buf[end] == 0 {
                // A NUL before the blank line: in the command line, or
                // headers cut short or NUL in a header.
                return Err(if *lines == 0 {
                    FrameError::Command
                } else {
                    FrameError::HeaderLine
                });
            }
            *scanned = end + 1;
            *line_start = end + 1;
            if line.is_empty() {
                return Ok(Some(end + 1));
            }
            *lines += 1;
            if *lines > limits.max_headers.saturating_add(1) {
                return Err(FrameError::TooManyHeaders);
            }
        }
        *scanned = self.buf.len();
        // One more byte is allowed for a CR that may precede the LF.
        if self.buf.len() - *line_start > limits.max_header_line.saturating_add(1) {
            return Err(FrameError::HeaderTooLong);
        }
        Ok(None)
    }

    /// Parses the command and headers of `head_len` bytes; moves to Body.
    fn parse_head(&mut self, head_len: usize) -> Result<(), FrameError> {
        let raw = &self.buf[..head_len];
        let head = std::str::from_utf8(raw).map_err(|e| {
            // Bad bytes before the first LF are in the command line.
            let valid = &raw[..e.valid_up_to()];
            if valid.contains(&b'\n') {
                FrameError::Utf8
            } else {
                FrameError::Command
            }
        })?;
        let mut lines = Lines { head, at: 0 };
        let command_line = lines.next().unwrap_or_default();
        if command_line.is_empty() {
            return Err(FrameError::Command);
        }
        let command = Command::parse(command_line);
        let mut escaping = Escaping::for_frame(self.version, &command);
        if escaping != Escaping::None && memchr::memchr(b'\\', raw).is_none() {
            // Nothing to undo: each header is taken as it is.
            escaping = Escaping::None;
        }
        let mut headers = Headers::with_capacity(head.len(), 8);
        for line in lines.take_while(|l| !l.is_empty()) {
            let colon = memchr::memchr(b':', line.as_bytes()).ok_or(FrameError::HeaderLine)?;
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            if name.is_empty() {
                return Err(FrameError::HeaderLine);
            }
            if escaping == Escaping::None {
                headers.push(name, value);
            } else {
                headers.push(unescape(name, escaping)?, unescape(value, escaping)?);
            }
        }
        let content_length = match headers.get("content-length") {
            Some(text) => Some(self.parse_content_length(text)?),
            None => None,
        };
        if let Some(body_len) = content_length.filter(|&n| n > COPIED_BODY) {
            // Room for the frame up front, up to a bound: a client that only
            // declares a large body gets no large allocation for it.
            self.make_room_for((head_len + body_len + 1).min(UPFRONT));
        }
        self.stage = Stage::Body {
            head_len,
            command,
            headers,
            content_length,
            scanned: head_len,
        };
        Ok(())
    }

    /// Gives the buffer room for a whole frame of `frame_len` bytes, in one
    /// allocation of that size: the body is kept as a slice of it, and a
    /// buffer grown by doubling would pin up to twice the body's size for as
    /// long as the message lives.
    fn make_room_for(&mut self, frame_len: usize) {
        if self.buf.capacity() >= frame_len {
            return;
        }
        let mut exact = BytesMut::with_capacity(frame_len.max(self.buf.len()));
        exact.extend_from_slice(&self.buf);
        self.buf = exact;
    }

    fn parse_content_length(&self, text: &str) -> Result<usize, FrameError> {
        let digits = text.trim_matches(' ');
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(FrameError::ContentLength);
        }
        match digits.parse::<usize>() {
            Ok(n) if n <= self.limits.max_frame_size => Ok(n),
            _ => Err(FrameError::TooLarge),
        }
    }

    /// Waits for the body and its NUL; returns the frame when complete.
    fn finish_body(&mut self) -> Result<Option<Decoded>, FrameError> {
        let Stage::Body {
            head_len,
            content_length,
            scanned,
            ..
        } = &mut self.stage
        else {
            unreachable!("finish_body is only called in the Body stage")
        };
        let head_len = *head_len;
        let body_len = match *content_length {
            Some(n) => {
                if self.buf.len() < head_len + n + 1 {
                    return Ok(None);
                }
                if self.buf[head_len + n] != 0 {
                    return Err(FrameError::MissingNul);
                }
                n
            }
            None => match self.buf[*scanned..].iter().position(|&b| b == 0) {
                Some(offset) => *scanned + offset - head_len,
                None => {
                    *scanned = self.buf.len();
                    if self.buf.len() - head_len > self.limits.max_frame_size {
                        return Err(FrameError::TooLarge);
                    }
                    return Ok(None);
                }
            },
        };
        if body_len > self.limits.max_frame_size {
            return Err(FrameError::TooLarge);
        }
        let Stage::Body {
            command, headers, ..
        } = std::mem::replace(&mut self.stage, Stage::Start)
        else {
            unreachable!()
        };
        let frame_len = head_len + body_len + 1;
        let body = if body_len <= COPIED_BODY {
            // Copied out, so the read buffer is reused rather than pinned by
            // every small body kept downstream.
            let body = Bytes::copy_from_slice(&self.buf[head_len..head_len + body_len]);
            self.buf.advance(frame_len);
            body
        } else {
            let frame_bytes: Bytes = self.buf.split_to(frame_len).freeze();
            frame_bytes.slice(head_len..head_len + body_len)
        };
        Ok(Some(Decoded::Frame(Frame::from_parts(
            command, headers, body,
        ))))
    }
}

/// Bodies up to this size are copied out of the read buffer; larger ones
/// share it (no copy of a big body, and it fills most of its buffer anyway).
const COPIED_BODY: usize = 16 * 1024;

/// The most room made for a frame before its body arrives.
const UPFRONT: usize = 16 * 1024 * 1024;

/// The lines of a frame's head, each without its EOL.
struct Lines<'a> {
    head: &'a str,
    at: usize,
}

impl<'a> Iterator for Lines<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let rest = self.head.get(self.at..)?;
        let end = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
        self.at += end + 1;
        let line = &rest[..end];
        Some(line.strip_suffix('\r').unwrap_or(line))
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn decode_all(bytes: &[u8], version: Option<Version>) -> Result<Vec<Decoded>, FrameError> {
        let mut decoder = Decoder::new(Limits::default());
        decoder.set_version(version);
        decoder.feed(bytes);
        let mut items = Vec::new();
        while let Some(item) = decoder.next_item()? {
            items.push(item);
        }
        Ok(items)
    }

    fn only_frame(bytes: &[u8], version: Option<Version>) -> Frame {
        match decode_all(bytes, version).unwrap().as_slice() {
            [Decoded::Frame(f)] => f.clone(),
            other => panic!("expected one frame, got {other:?}"),
        }
    }

    #[test]
    fn decodes_a_frame_with_lf_line_ends() {
        let f = only_frame(b"SEND\ndestination:/queue/a\n\nhello\0", None);
        assert_eq!(f.command(), &Command::Send);
        assert_eq!(f.header("destination"), Some("/queue/a"));
        assert_eq!(f.body(), b"hello");
    }

    #[test]
    fn decodes_a_frame_with_crlf_line_ends() {
        let f = only_frame(b"SEND\r\ndestination:/queue/a\r\n\r\nhello\0", None);
        assert_eq!(f.header("destination"), Some("/queue/a"));
        assert_eq!(f.body(), b"hello");
    }

    #[test]
    fn content_length_body_may_contain_nul() {
        let f = only_frame(b"SEND\ncontent-length:3\n\na\0b\0", None);
        assert_eq!(f.body(), b"a\0b");
    }

    #[test]
    fn body_without_content_length_ends_at_first_nul() {
        let items = decode_all(b"SEND\n\nab\0SEND\n\ncd\0", None).unwrap();
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn eols_between_frames_are_heart_beats() {
        let items = decode_all(b"\n\r\nSEND\n\n\0\n\n", None).unwrap();
        let beats = items.iter().filter(|i| **i == Decoded::HeartBeat).count();
        assert_eq!((items.len(), beats), (5, 4));
    }

    #[test]
    fn first_of_repeated_headers_wins_and_values_may_hold_colons() {
        let f = only_frame(b"SEND\nfoo:a:b\nfoo:c\n\n\0", Some(Version::V1_2));
        assert_eq!(f.header("foo"), Some("a:b"));
    }

    #[rstest]
    #[case::v1_0(Some(Version::V1_0), r"a\nb")]
    #[case::v1_1(Some(Version::V1_1), "a\nb")]
    #[case::v1_2(Some(Version::V1_2), "a\nb")]
    fn escaping_follows_the_version(#[case] version: Option<Version>, #[case] want: &str) {
        let f = only_frame(b"SEND\nx:a\\nb\n\n\0", version);
        assert_eq!(f.header("x"), Some(want));
    }

    #[test]
    fn connect_frames_are_never_unescaped() {
        let f = only_frame(b"CONNECT\npasscode:a\\tb\n\n\0", Some(Version::V1_2));
        assert_eq!(f.header("passcode"), Some(r"a\tb"));
    }

    #[test]
    fn unknown_commands_decode_as_other() {
        let f = only_frame(b"FLY\nreceipt:1\n\n\0", None);
        assert_eq!(f.command(), &Command::Other("FLY".into()));
        assert_eq!(f.header("receipt"), Some("1"));
    }

    #[rstest]
    #[case::bad_escape(b"SEND\nx:\\t\n\n\0".as_slice(), FrameError::Escape)]
    #[case::no_colon(b"SEND\nxyz\n\n\0", FrameError::HeaderLine)]
    #[case::empty_name(b"SEND\n:v\n\n\0", FrameError::HeaderLine)]
    #[case::negative_length(b"SEND\ncontent-length:-1\n\n\0", FrameError::ContentLength)]
    #[case::word_length(b"SEND\ncontent-length:ten\n\n\0", FrameError::ContentLength)]
    #[case::huge_length(
        b"SEND\ncontent-length:99999999999999999999\n\n\0",
        FrameError::TooLarge
    )]
    #[case::no_nul_after_length(b"SEND\ncontent-length:1\n\nab\0", FrameError::MissingNul)]
    #[case::nul_in_header(b"SEND\nx:a\0b\n\n\0", FrameError::HeaderLine)]
    #[case::bad_utf8(b"SEND\nx:\xff\n\n\0", FrameError::Utf8)]
    #[case::cr_then_garbage(b"\rX", FrameError::Command)]
    #[case::command_not_utf8(b"\xff\xfe\n\n\0", FrameError::Command)]
    #[case::nul_in_command(b"SE\0ND\n\n\0", FrameError::Command)]
    fn rejects_malformed_frames(#[case] bytes: &[u8], #[case] want: FrameError) {
        assert_eq!(decode_all(bytes, Some(Version::V1_2)), Err(want));
    }

    fn small_limits() -> Limits {
        Limits {
            max_frame_size: 16,
            max_headers: 2,
            max_header_line: 20,
        }
    }

    fn decode_with(limits: Limits, bytes: &[u8]) -> Result<Option<Decoded>, FrameError> {
        let mut decoder = Decoder::new(limits);
        decoder.feed(bytes);
        decoder.next_item()
    }

    #[rstest]
    #[case::body_over_limit(b"SEND\n\n01234567890123456\0".as_slice(), FrameError::TooLarge)]
    #[case::unterminated_body_over_limit(b"SEND\n\n01234567890123456789", FrameError::TooLarge)]
    #[case::length_over_limit(b"SEND\ncontent-length:17\n\n", FrameError::TooLarge)]
    #[case::too_many_headers(b"SEND\na:1\nb:2\nc:3\n\n\0", FrameError::TooManyHeaders)]
    #[case::long_line(b"SEND\nname:0123456789abcdefgh\n", FrameError::HeaderTooLong)]
    #[case::long_unterminated_line(b"SEND\nname:0123456789abcdefgh", FrameError::HeaderTooLong)]
    fn limits_are_enforced(#[case] bytes: &[u8], #[case] want: FrameError) {
        assert_eq!(decode_with(small_limits(), bytes), Err(want));
    }

    #[test]
    fn a_body_of_exactly_the_limit_is_accepted() {
        let item = decode_with(small_limits(), b"SEND\n\n0123456789abcdef\0").unwrap();
        assert!(matches!(item, Some(Decoded::Frame(f)) if f.body().len() == 16));
    }

    #[test]
    fn an_over_long_line_ending_in_nul_is_too_long_however_it_is_split() {
        let mut bytes = b"SEND\nk:".to_vec();
        bytes.extend_from_slice(&[b'v'; 30]);
        bytes.push(0);
        assert_eq!(
            decode_with(small_limits(), &bytes),
            Err(FrameError::HeaderTooLong)
        );
        let mut decoder = Decoder::new(small_limits());
        let mut result = Ok(None);
        for b in &bytes {
            decoder.feed(std::slice::from_ref(b));
            result = decoder.next_item();
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(FrameError::HeaderTooLong));
    }

    const VALID: &[u8] = b"SEND\r\ndestination:/queue/a\r\ncontent-length:4\r\nx:y\r\n\r\nab\0c\0";

    #[test]
    fn every_prefix_of_a_valid_frame_is_incomplete() {
        for cut in 0..VALID.len() {
            let mut decoder = Decoder::new(Limits::default());
            decoder.feed(&VALID[..cut]);
            assert_eq!(decoder.next_item(), Ok(None), "prefix of {cut} bytes");
        }
    }

    #[test]
    fn byte_at_a_time_gives_the_same_frame() {
        let whole = only_frame(VALID, None);
        let mut decoder = Decoder::new(Limits::default());
        let mut got = None;
        for b in VALID {
            decoder.feed(std::slice::from_ref(b));
            if let Some(item) = decoder.next_item().unwrap() {
                got = Some(item);
            }
        }
        assert_eq!(got, Some(Decoded::Frame(whole)));
    }
}

#[cfg(test)]
mod unbounded {
    use super::*;

    #[test]
    fn the_largest_limits_do_not_overflow() {
        let mut decoder = Decoder::new(Limits {
            max_frame_size: usize::MAX,
            max_headers: usize::MAX,
            max_header_line: usize::MAX,
        });
        decoder.feed(b"SEND\ndestination:/queue/a\n\nx\0");
        let Ok(Some(Decoded::Frame(frame))) = decoder.next_item() else {
            panic!("one frame")
        };
        assert_eq!(frame.body(), b"x");
    }
}
