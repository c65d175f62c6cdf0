//! STOMP over WebSocket (RFC 6455), as a byte stream: the payloads of the
//! client's data messages, text or binary, in order, are the STOMP bytes (a
//! frame may span several messages, and a message hold several frames, as
//! RabbitMQ and Spring treat it); what the broker writes goes out as text
//! messages by default ([`WebSocketReplies`] chooses). Pings are answered
//! with pongs, a close with a close.
//!
//! [`Framing`] is the protocol without a socket (the TCP transport uses it
//! once a connection has upgraded); [`encode`] writes one server frame.

use std::collections::VecDeque;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// The most STOMP bytes one WebSocket message carries.
const MAX_MESSAGE: usize = 256 * 1024;

/// The largest payload a client frame may declare: far over any STOMP
/// frame the broker accepts, far under what would exhaust memory.
pub(crate) const MAX_PAYLOAD: u64 = 64 * 1024 * 1024;

/// Close codes the broker sends.
pub(crate) const NORMAL: u16 = 1000;
pub(crate) const PROTOCOL_ERROR: u16 = 1002;
pub(crate) const TOO_BIG: u16 = 1009;

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// Which WebSocket message type carries what the broker writes. See
/// [`BrokerBuilder::websocket_replies`](crate::BrokerBuilder::websocket_replies).
///
/// # Examples
/// ```
/// use stompbox::{Broker, WebSocketReplies};
///
/// let broker = Broker::builder().websocket_replies(WebSocketReplies::Binary).start()?;
/// # drop(broker);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebSocketReplies {
    /// Text messages (what browsers and stompjs expect), except for bytes
    /// that are not UTF-8, which a text message cannot carry: binary.
    #[default]
    Text,
    /// Binary messages, always.
    Binary,
    /// The type of the client's latest data message (text until it sends
    /// one), as a client that sends binary may expect binary back.
    Mirror,
}

/// What reading the client's frames produced, besides STOMP bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// Answer this: a pong, or the close that answers the client's (after
    /// which [`Framing::is_closed`]).
    Reply(Vec<u8>),
    /// The client broke the protocol: close with this code.
    Violation(u16, &'static str),
}

/// The client side of one connection's WebSocket framing.
#[derive(Debug, Default)]
pub(crate) struct Framing {
    /// Bytes read from the socket, not yet parsed.
    raw: Vec<u8>,
    /// STOMP bytes ready to be read.
    payload: VecDeque<u8>,
    closed: bool,
    /// Whether the client's latest data message was binary.
    binary: bool,
    replies: WebSocketReplies,
}

impl Framing {
    /// Framing that starts with `bytes` already read (what followed the
    /// handshake's request).
    pub(crate) fn with_bytes(bytes: &[u8], replies: WebSocketReplies) -> Framing {
        Framing {
            raw: bytes.to_vec(),
            replies,
            ..Framing::default()
        }
    }

    /// Adds bytes read from the socket.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
    }

    /// Copies STOMP bytes into `buf`; 0 when none are ready.
    pub(crate) fn take(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.payload.len());
        for (slot, byte) in buf.iter_mut().zip(self.payload.drain(..n)) {
            *slot = byte;
        }
        n
    }

    /// Parses the complete frames read so far: their data goes to the
    /// STOMP bytes; the first control event is returned (call again for
    /// more).
    pub(crate) fn parse(&mut self) -> Option<Event> {
        while !self.closed {
            let frame = match parse_frame(&self.raw) {
                Ok(Some(frame)) => frame,
                Ok(None) => return None,
                Err((code, why)) => {
                    self.closed = true;
                    return Some(Event::Violation(code, why));
                }
            };
            let (opcode, payload, used) = frame;
            self.raw.drain(..used);
            match opcode {
                CONTINUATION => self.payload.extend(payload),
                TEXT | BINARY => {
                    self.binary = opcode == BINARY;
                    self.payload.extend(payload);
                }
                PING => return Some(Event::Reply(encode(PONG, &payload))),
                PONG => {}
                CLOSE => {
                    self.closed = true;
                    // Echo the code, as RFC 6455 asks.
                    let code = payload
                        .get(..2)
                        .map_or(NORMAL, |c| u16::from_be_bytes([c[0], c[1]]));
                    return Some(Event::Reply(close_frame(code)));
                }
                _ => {
                    self.closed = true;
                    return Some(Event::Violation(PROTOCOL_ERROR, "unknown opcode"));
                }
            }
        }
        None
    }

    /// Whether the client's close (or a violation) ended the framing.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether STOMP bytes are ready.
    pub(crate) fn has_payload(&self) -> bool {
        !self.payload.is_empty()
    }
}

/// The byte stream WebSocket framing runs over: plain TCP, or TLS.
pub(crate) trait RawIo {
    /// Reads some bytes, waiting at most `timeout`; `Ok(0)`: closed.
    fn read_some(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize>;
    /// Writes some of `bytes`; an error of kind `WouldBlock`/`TimedOut`
    /// after a short while when it cannot progress.
    fn write_some(&self, bytes: &[u8]) -> io::Result<usize>;
}

/// A WebSocket connection's framing over its byte stream, each side under
/// its own lock: the reader's (the client's frames) and the writer's
/// (whole frames only; the reader writes pongs and closes there too).
#[derive(Debug)]
pub(crate) struct WebSocketSide {
    incoming: Mutex<Framing>,
    outgoing: Mutex<Outgoing>,
    close_sent: AtomicBool,
    replies: WebSocketReplies,
    /// Whether the client's latest data message was binary (for
    /// [`WebSocketReplies::Mirror`]).
    client_binary: AtomicBool,
}

#[derive(Debug, Default)]
struct Outgoing {
    frame: Vec<u8>,
    written: usize,
    /// How many STOMP bytes `frame` carries.
    carries: usize,
}

impl WebSocketSide {
    pub(crate) fn new(framing: Framing) -> WebSocketSide {
        WebSocketSide {
            replies: framing.replies,
            client_binary: AtomicBool::new(framing.binary),
            incoming: Mutex::new(framing),
            outgoing: Mutex::new(Outgoing::default()),
            close_sent: AtomicBool::new(false),
        }
    }

    /// Reads the STOMP bytes of the client's messages, answering pings and
    /// a close on the way.
    pub(crate) fn read(
        &self,
        io: &dyn RawIo,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let mut incoming = self.incoming.lock();
        loop {
            let n = incoming.take(buf);
            if n > 0 {
                self.client_binary.store(incoming.binary, Ordering::Relaxed);
                return Ok(n);
            }
            match incoming.parse() {
                Some(Event::Reply(frame)) => {
                    let _ = self.write_control(io, &frame);
                    continue;
                }
                Some(Event::Violation(code, _)) => {
                    self.send_close(io, code);
                    return Ok(0);
                }
                None if incoming.has_payload() => continue,
                None if incoming.is_closed() => return Ok(0),
                None => {}
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = io.read_some(&mut chunk, timeout)?;
            if n == 0 {
                return Ok(0);
            }
            incoming.feed(&chunk[..n]);
        }
    }

    /// Writes STOMP bytes as one message (at most [`MAX_MESSAGE`] of them);
    /// a write that times out part-way keeps the rest of the frame, and the
    /// caller's next call (with the same bytes) finishes it.
    pub(crate) fn write(&self, io: &dyn RawIo, bytes: &[u8]) -> io::Result<usize> {
        let mut out = self.outgoing.lock();
        if out.frame.is_empty() {
            let carries = bytes.len().min(MAX_MESSAGE);
            let binary = match self.replies {
                WebSocketReplies::Text => false,
                WebSocketReplies::Binary => true,
                WebSocketReplies::Mirror => self.client_binary.load(Ordering::Relaxed),
            };
            out.frame = data(&bytes[..carries], binary);
            out.written = 0;
            out.carries = carries;
        }
        finish(io, &mut out)?;
        Ok(std::mem::take(&mut *out).carries)
    }

    /// Writes a whole control frame, after any frame in progress (which is
    /// left in place: the writer's next call returns what it carried).
    fn write_control(&self, io: &dyn RawIo, frame: &[u8]) -> io::Result<()> {
        let mut out = self.outgoing.lock();
        finish(io, &mut out)?;
        let mut written = 0;
        while written < frame.len() {
            match io.write_some(&frame[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Sends a close frame with `code`, once.
    pub(crate) fn send_close(&self, io: &dyn RawIo, code: u16) {
        if !self.close_sent.swap(true, Ordering::SeqCst) {
            let _ = self.write_control(io, &close_frame(code));
        }
    }
}

/// Writes the rest of the frame in progress.
fn finish(io: &dyn RawIo, out: &mut Outgoing) -> io::Result<()> {
    while out.written < out.frame.len() {
        match io.write_some(&out.frame[out.written..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => out.written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One complete client frame: opcode, unmasked payload, bytes used.
type Parsed = (u8, Vec<u8>, usize);

fn parse_frame(raw: &[u8]) -> Result<Option<Parsed>, (u16, &'static str)> {
    let [first, second, ..] = *raw else {
        return Ok(None);
    };
    if first & 0x70 != 0 {
        return Err((
            PROTOCOL_ERROR,
            "reserved bits set (no extension was agreed)",
        ));
    }
    let opcode = first & 0x0F;
    if second & 0x80 == 0 {
        return Err((PROTOCOL_ERROR, "a client frame must be masked"));
    }
    let (length, mut at) = match second & 0x7F {
        126 => match raw.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match raw.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode >= CLOSE && (length > 125 || first & 0x80 == 0) {
        return Err((PROTOCOL_ERROR, "a control frame must be whole and short"));
    }
    if length > MAX_PAYLOAD {
        return Err((TOO_BIG, "a frame over the size limit"));
    }
    let Some(mask) = raw.get(at..at + 4) else {
        return Ok(None);
    };
    let mask = [mask[0], mask[1], mask[2], mask[3]];
    at += 4;
    let length = usize::try_from(length).expect("under MAX_PAYLOAD");
    let Some(masked) = raw.get(at..at + length) else {
        return Ok(None);
    };
    let payload = masked
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ mask[i % 4])
        .collect();
    Ok(Some((opcode, payload, at + length)))
}

/// One unmasked server frame, whole (FIN set).
pub(crate) fn encode(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A message carrying STOMP bytes: binary when asked, or when they are not
/// UTF-8 (which a text message must be); text otherwise.
pub(crate) fn data(payload: &[u8], binary: bool) -> Vec<u8> {
    let opcode = if !binary && std::str::from_utf8(payload).is_ok() {
        TEXT
    } else {
        BINARY
    };
    encode(opcode, payload)
}

/// A close frame with `code`.
pub(crate) fn close_frame(code: u16) -> Vec<u8> {
    encode(CLOSE, &code.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame, masked as a client must.
    fn client(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        match payload.len() {
            n if n < 126 => out.push(0x80 | n as u8),
            n if n <= 65535 => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn read_all(framing: &mut Framing) -> Vec<u8> {
        let mut got = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = framing.take(&mut buf);
            if n == 0 {
                return got;
            }
            got.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn messages_are_a_byte_stream_whatever_their_boundaries() {
        let mut framing = Framing::default();
        let mut wire = client(TEXT, false, b"SEND\ndestina");
        wire.extend(client(CONTINUATION, true, b"tion:/q\n\nhi\0SEND"));
        wire.extend(client(BINARY, true, &vec![b'x'; 70_000]));
        // Fed a byte at a time: frames complete across reads.
        for byte in &wire {
            framing.feed(std::slice::from_ref(byte));
            assert_eq!(framing.parse(), None);
        }
        let got = read_all(&mut framing);
        assert!(got.starts_with(b"SEND\ndestination:/q\n\nhi\0SEND"));
        assert_eq!(got.len(), 28 + 70_000);
    }

    #[test]
    fn a_ping_is_answered_and_a_close_echoed() {
        let mut framing = Framing::with_bytes(
            &client(PING, true, b"are you there"),
            WebSocketReplies::Text,
        );
        assert_eq!(
            framing.parse(),
            Some(Event::Reply(encode(PONG, b"are you there")))
        );
        framing.feed(&client(CLOSE, true, &1001u16.to_be_bytes()));
        assert_eq!(framing.parse(), Some(Event::Reply(close_frame(1001))));
        assert!(framing.is_closed());
    }

    #[test]
    fn protocol_violations_close_with_their_code() {
        for (wire, code) in [
            (vec![0x81, 0x02, b'h', b'i'], PROTOCOL_ERROR), // unmasked
            (client(PING, false, b""), PROTOCOL_ERROR),     // fragmented control
            (
                [&[0x81u8, 0xFF][..], &u64::MAX.to_be_bytes()].concat(),
                TOO_BIG,
            ),
            (client(0x3, true, b""), PROTOCOL_ERROR), // reserved opcode
        ] {
            let mut framing = Framing::with_bytes(&wire, WebSocketReplies::Text);
            assert!(
                matches!(framing.parse(), Some(Event::Violation(c, _)) if c == code),
                "{wire:?}"
            );
        }
    }

    #[test]
    fn server_frames_use_the_shortest_length() {
        assert_eq!(data(b"hi", false), [0x81, 2, b'h', b'i']);
        assert_eq!(data(b"hi", true), [0x82, 2, b'h', b'i']);
        assert_eq!(&data(&[0; 200], false)[..4], &[0x81, 126, 0, 200]);
        assert_eq!(&data(&vec![0; 70_000], false)[..2], &[0x81, 127]);
        let not_utf8 = data(&[0xFF, 0xFE], false);
        assert_eq!(&not_utf8[..2], &[0x82, 2], "not UTF-8: binary");
        assert_eq!(close_frame(1000), [0x88, 2, 0x03, 0xE8]);
    }

    /// A byte stream in memory: what the client sent, and what was written.
    #[derive(Default)]
    struct Wire {
        from_client: Mutex<VecDeque<u8>>,
        written: Mutex<Vec<u8>>,
    }

    impl RawIo for Wire {
        fn read_some(&self, buf: &mut [u8], _: Option<Duration>) -> io::Result<usize> {
            let mut from = self.from_client.lock();
            let n = buf.len().min(from.len());
            for (slot, byte) in buf.iter_mut().zip(from.drain(..n)) {
                *slot = byte;
            }
            Ok(n)
        }

        fn write_some(&self, bytes: &[u8]) -> io::Result<usize> {
            self.written.lock().extend_from_slice(bytes);
            Ok(bytes.len())
        }
    }

    /// The opcode of the message the broker writes after the client sent
    /// `sent` (or nothing), under `replies`.
    fn reply_opcode(replies: WebSocketReplies, sent: Option<u8>) -> u8 {
        let wire = Wire::default();
        let side = WebSocketSide::new(Framing::with_bytes(b"", replies));
        if let Some(opcode) = sent {
            wire.from_client
                .lock()
                .extend(client(opcode, true, b"SEND\n\n\0"));
            let mut buf = [0u8; 64];
            assert_eq!(side.read(&wire, &mut buf, None).unwrap(), 7);
        }
        side.write(&wire, b"RECEIPT\n\n\0").unwrap();
        let written = wire.written.lock();
        written[0] & 0x0F
    }

    #[test]
    fn replies_are_text_binary_or_mirror_the_client() {
        use WebSocketReplies::{Binary, Mirror, Text};
        assert_eq!(reply_opcode(Text, Some(BINARY)), TEXT);
        assert_eq!(reply_opcode(Binary, Some(TEXT)), BINARY);
        assert_eq!(reply_opcode(Binary, None), BINARY);
        assert_eq!(
            reply_opcode(Mirror, None),
            TEXT,
            "text until the client sends"
        );
        assert_eq!(reply_opcode(Mirror, Some(BINARY)), BINARY);
        assert_eq!(reply_opcode(Mirror, Some(TEXT)), TEXT);
    }
}
