//! STOMP frames: the [`Frame`] value, its [`Command`] and [`Headers`], and the
//! wire codec ([`Decoder`], [`Frame::encode`]).

mod decode;
mod encode;
pub(crate) use encode::{encode_header, encode_headers};
pub(crate) mod escape;

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

pub use decode::{Decoded, Decoder, Limits};

/// The first line of a frame.
///
/// Commands the broker does not know are kept as [`Command::Other`] so that it
/// can answer with an ERROR naming them.
///
/// # Examples
/// ```
/// use stompbox::frame::Command;
///
/// assert_eq!(Command::parse("SEND"), Command::Send);
/// assert_eq!(Command::parse("PUBLISH"), Command::Other("PUBLISH".into()));
/// assert_eq!(Command::Nack.as_str(), "NACK");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Command {
    /// Client: open a session.
    Connect,
    /// Client: open a session (STOMP 1.1+ spelling of CONNECT).
    Stomp,
    /// Server: the session is open.
    Connected,
    /// Client: publish a message.
    Send,
    /// Client: start receiving from a destination.
    Subscribe,
    /// Client: stop receiving.
    Unsubscribe,
    /// Client: open a transaction.
    Begin,
    /// Client: apply a transaction.
    Commit,
    /// Client: drop a transaction.
    Abort,
    /// Client: acknowledge a message.
    Ack,
    /// Client: reject a message (STOMP 1.1+).
    Nack,
    /// Client: close the session.
    Disconnect,
    /// Server: a message for a subscription.
    Message,
    /// Server: a frame asking for a receipt has taken effect.
    Receipt,
    /// Server: something went wrong; the connection closes.
    Error,
    /// Any other command line.
    Other(String),
}

impl Command {
    /// Reads a command line; unknown text becomes [`Command::Other`].
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::frame::Command::parse("ACK"), stompbox::frame::Command::Ack);
    /// ```
    pub fn parse(line: &str) -> Command {
        match line {
            "CONNECT" => Command::Connect,
            "STOMP" => Command::Stomp,
            "CONNECTED" => Command::Connected,
            "SEND" => Command::Send,
            "SUBSCRIBE" => Command::Subscribe,
            "UNSUBSCRIBE" => Command::Unsubscribe,
            "BEGIN" => Command::Begin,
            "COMMIT" => Command::Commit,
            "ABORT" => Command::Abort,
            "ACK" => Command::Ack,
            "NACK" => Command::Nack,
            "DISCONNECT" => Command::Disconnect,
            "MESSAGE" => Command::Message,
            "RECEIPT" => Command::Receipt,
            "ERROR" => Command::Error,
            other => Command::Other(other.to_owned()),
        }
    }

    /// The command as written on the wire.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::frame::Command::Subscribe.as_str(), "SUBSCRIBE");
    /// ```
    pub fn as_str(&self) -> &str {
        match self {
            Command::Connect => "CONNECT",
            Command::Stomp => "STOMP",
            Command::Connected => "CONNECTED",
            Command::Send => "SEND",
            Command::Subscribe => "SUBSCRIBE",
            Command::Unsubscribe => "UNSUBSCRIBE",
            Command::Begin => "BEGIN",
            Command::Commit => "COMMIT",
            Command::Abort => "ABORT",
            Command::Ack => "ACK",
            Command::Nack => "NACK",
            Command::Disconnect => "DISCONNECT",
            Command::Message => "MESSAGE",
            Command::Receipt => "RECEIPT",
            Command::Error => "ERROR",
            Command::Other(s) => s,
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The headers of a frame, in wire order.
///
/// A name may appear more than once; as the STOMP 1.2 specification says,
/// the first occurrence is the one that counts, and [`Headers::get`] returns it.
///
/// # Examples
/// ```
/// use stompbox::frame::Headers;
///
/// let mut headers = Headers::new();
/// headers.push("foo", "first");
/// headers.push("foo", "second");
/// assert_eq!(headers.get("foo"), Some("first"));
/// assert_eq!(headers.len(), 2);
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Headers {
    /// Every name and value, back to back, in order.
    text: String,
    /// Where each header's name and value end in `text`; each starts where
    /// the one before it ended. Two allocations hold any number of headers.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    /// No headers.
    ///
    /// # Examples
    /// ```
    /// assert!(stompbox::frame::Headers::new().is_empty());
    /// ```
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Room for `count` headers of `bytes` bytes in all.
    pub(crate) fn with_capacity(bytes: usize, count: usize) -> Headers {
        Headers {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    /// The value of the first header called `name`.
    ///
    /// # Examples
    /// ```
    /// let mut h = stompbox::frame::Headers::new();
    /// h.push("destination", "/queue/a");
    /// assert_eq!(h.get("destination"), Some("/queue/a"));
    /// assert_eq!(h.get("receipt"), None);
    /// ```
    pub fn get(&self, name: &str) -> Option<&str> {
        // Compares lengths before bytes and slices only the value found:
        // a SEND or an ACK is asked for a dozen headers it mostly lacks.
        let text = self.text.as_bytes();
        let mut start = 0;
        for &(name_end, value_end) in &self.ends {
            if name_end - start == name.len() && &text[start..name_end] == name.as_bytes() {
                return Some(&self.text[name_end..value_end]);
            }
            start = value_end;
        }
        None
    }

    /// Appends a header (after any others of the same name).
    ///
    /// # Examples
    /// ```
    /// let mut h = stompbox::frame::Headers::new();
    /// h.push("a", "1");
    /// assert_eq!(h.get("a"), Some("1"));
    /// ```
    pub fn push(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        self.text.push_str(name.as_ref());
        let name_end = self.text.len();
        self.text.push_str(value.as_ref());
        self.ends.push((name_end, self.text.len()));
    }

    /// Replaces every header called `name` by one with `value`.
    ///
    /// # Examples
    /// ```
    /// let mut h = stompbox::frame::Headers::new();
    /// h.push("a", "1");
    /// h.push("a", "2");
    /// h.set("a", "3");
    /// assert_eq!((h.get("a"), h.len()), (Some("3"), 1));
    /// ```
    pub fn set(&mut self, name: impl AsRef<str>, value: impl AsRef<str>) {
        self.remove(name.as_ref());
        self.push(name, value);
    }

    /// Removes every header called `name`.
    ///
    /// # Examples
    /// ```
    /// let mut h = stompbox::frame::Headers::new();
    /// h.push("a", "1");
    /// h.remove("a");
    /// assert!(h.is_empty());
    /// ```
    pub fn remove(&mut self, name: &str) {
        if self.get(name).is_none() {
            return;
        }
        let mut kept = Headers::with_capacity(self.text.len(), self.ends.len());
        for (n, v) in self.iter().filter(|(n, _)| *n != name) {
            kept.push(n, v);
        }
        *self = kept;
    }

    /// Every header, repeated names included, in order.
    ///
    /// # Examples
    /// ```
    /// let mut h = stompbox::frame::Headers::new();
    /// h.push("a", "1");
    /// assert_eq!(h.iter().collect::<Vec<_>>(), [("a", "1")]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, value_end)| {
            let name = &self.text[start..name_end];
            start = value_end;
            (name, &self.text[name_end..value_end])
        })
    }

    /// How many header lines there are.
    ///
    /// # Examples
    /// ```
    /// assert_eq!(stompbox::frame::Headers::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    ///
    /// # Examples
    /// ```
    /// assert!(stompbox::frame::Headers::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<N: AsRef<str>, V: AsRef<str>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut headers = Headers::new();
        for (name, value) in iter {
            headers.push(name, value);
        }
        headers
    }
}

/// One STOMP frame: a command, headers and a body.
///
/// # Examples
/// ```
/// use stompbox::Version;
/// use stompbox::frame::{Command, Frame};
///
/// let frame = Frame::new(Command::Send)
///     .with_header("destination", "/queue/a")
///     .with_body("hi");
/// assert_eq!(frame.header("destination"), Some("/queue/a"));
/// assert_eq!(frame.body(), b"hi");
/// assert_eq!(frame.encode(Some(Version::V1_2)), b"SEND\ndestination:/queue/a\n\nhi\0");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    command: Command,
    headers: Headers,
    body: Bytes,
}

impl Frame {
    /// A frame with no headers and an empty body.
    ///
    /// # Examples
    /// ```
    /// let f = stompbox::frame::Frame::new(stompbox::frame::Command::Disconnect);
    /// assert!(f.headers().is_empty() && f.body().is_empty());
    /// ```
    pub fn new(command: Command) -> Frame {
        Frame {
            command,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// A frame from its three parts.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame, Headers};
    /// let f = Frame::from_parts(Command::Send, Headers::new(), "x".into());
    /// assert_eq!(f.body(), b"x");
    /// ```
    pub fn from_parts(command: Command, headers: Headers, body: Bytes) -> Frame {
        Frame {
            command,
            headers,
            body,
        }
    }

    /// Adds a header and returns the frame (for building).
    ///
    /// # Examples
    /// ```
    /// let f = stompbox::frame::Frame::new(stompbox::frame::Command::Begin).with_header("transaction", "t1");
    /// assert_eq!(f.header("transaction"), Some("t1"));
    /// ```
    #[must_use]
    pub fn with_header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Frame {
        self.headers.push(name, value);
        self
    }

    /// Sets the body and returns the frame (for building).
    ///
    /// No `content-length` header is added; add one if the body may hold NUL.
    ///
    /// # Examples
    /// ```
    /// let f = stompbox::frame::Frame::new(stompbox::frame::Command::Send).with_body(vec![1u8, 0, 2]);
    /// assert_eq!(f.body(), [1, 0, 2]);
    /// ```
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Frame {
        self.body = body.into();
        self
    }

    /// The command.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// assert_eq!(Frame::new(Command::Ack).command(), &Command::Ack);
    /// ```
    pub fn command(&self) -> &Command {
        &self.command
    }

    /// The headers.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// assert_eq!(Frame::new(Command::Ack).with_header("id", "1").headers().len(), 1);
    /// ```
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, for changing.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// let mut f = Frame::new(Command::Ack);
    /// f.headers_mut().push("id", "7");
    /// assert_eq!(f.header("id"), Some("7"));
    /// ```
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The first value of header `name`.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// assert_eq!(Frame::new(Command::Ack).header("id"), None);
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body bytes.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// assert_eq!(Frame::new(Command::Send).with_body("b").body(), b"b");
    /// ```
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as shared bytes (cheap to clone).
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// let body = Frame::new(Command::Send).with_body("b").body_bytes();
    /// assert_eq!(&body[..], b"b");
    /// ```
    pub fn body_bytes(&self) -> Bytes {
        self.body.clone()
    }

    /// The body as text, with invalid UTF-8 replaced by `U+FFFD`.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// assert_eq!(Frame::new(Command::Send).with_body("héllo").body_text(), "héllo");
    /// ```
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Splits the frame into its parts.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// let (command, headers, body) = Frame::new(Command::Send).into_parts();
    /// assert_eq!((command, headers.len(), body.len()), (Command::Send, 0, 0));
    /// ```
    pub fn into_parts(self) -> (Command, Headers, Bytes) {
        (self.command, self.headers, self.body)
    }

    /// The bytes it takes on the wire, near enough (command, headers and
    /// body; escaping not counted): what a frame costs a connection's
    /// backlog or the journal.
    pub(crate) fn size(&self) -> usize {
        // Each header's name and value lie back to back in `text`; a `:` and
        // a line end go with each.
        let headers = self.headers.text.len() + 2 * self.headers.ends.len();
        self.command.as_str().len() + headers + self.body.len() + 3
    }
}

/// One line: the command, its headers, and the body cut to 64 characters.
///
/// # Examples
/// ```
/// use stompbox::frame::{Command, Frame};
///
/// let frame = Frame::new(Command::Send).with_header("k", "a\nb").with_body("hi");
/// assert_eq!(frame.to_string(), r#"SEND k:a\nb body(2 bytes)="hi""#);
/// ```
/// Text as a log line may show it: control characters (line ends, ESC,
/// BEL...) escaped, so a frame stays on one line and cannot drive a
/// terminal; everything else as it is.
struct Shown<'a>(&'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Runs of plain text in one write each (the log formats every frame).
        let mut rest = self.0;
        while let Some(at) = rest.find(char::is_control) {
            f.write_str(&rest[..at])?;
            let c = rest[at..].chars().next().expect("found at a char boundary");
            write!(f, "{}", c.escape_default())?;
            rest = &rest[at + c.len_utf8()..];
        }
        f.write_str(rest)
    }
}

impl fmt::Display for Frame {
    /// One line: the command, the headers, the body cut to 64 characters;
    /// control characters escaped.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    ///
    /// let frame = Frame::new(Command::Error).with_header("message", "missing 'id'\x1b[2J");
    /// assert_eq!(frame.to_string(), "ERROR message:missing 'id'\\u{1b}[2J");
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Shown(self.command.as_str()))?;
        for (name, value) in self.headers.iter() {
            write!(f, " {}:{}", Shown(name), Shown(value))?;
        }
        if !self.body.is_empty() {
            let text = self.body_text();
            let cut: String = text.chars().take(64).collect();
            let more = if cut.len() < text.len() { "..." } else { "" };
            write!(f, " body({} bytes)={cut:?}{more}", self.body.len())?;
        }
        Ok(())
    }
}

/// What was wrong with the bytes of a frame.
///
/// Small and comparable, as it names the part of the grammar that failed;
/// [`Display`](fmt::Display) gives the text the broker puts in its ERROR frame.
///
/// # Examples
/// ```
/// use stompbox::frame::FrameError;
/// assert_eq!(FrameError::Escape.to_string(), "undefined escape sequence in a header");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// The command line was empty or not text.
    Command,
    /// A header line had no `:` or an empty name.
    HeaderLine,
    /// A header used a backslash escape its version does not define.
    Escape,
    /// Header or command bytes were not UTF-8.
    Utf8,
    /// `content-length` was not a non-negative whole number.
    ContentLength,
    /// The body was not followed by a NUL byte.
    MissingNul,
    /// The frame is longer than [`Limits::max_frame_size`].
    TooLarge,
    /// The frame has more headers than [`Limits::max_headers`].
    TooManyHeaders,
    /// A header line is longer than [`Limits::max_header_line`].
    HeaderTooLong,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FrameError::Command => "malformed command line",
            FrameError::HeaderLine => "malformed header line (expected name:value)",
            FrameError::Escape => "undefined escape sequence in a header",
            FrameError::Utf8 => "header is not valid UTF-8",
            FrameError::ContentLength => "content-length is not a non-negative integer",
            FrameError::MissingNul => "frame body is not terminated by NUL",
            FrameError::TooLarge => "frame exceeds the maximum frame size",
            FrameError::TooManyHeaders => "frame has too many headers",
            FrameError::HeaderTooLong => "header line exceeds the maximum length",
        })
    }
}

impl std::error::Error for FrameError {}
