//! A published message as the broker carries it, one delivery of it, and
//! the one MESSAGE encoder.
//!
//! The part of a MESSAGE frame that is the same for every subscriber (the
//! carried headers, `content-length` and the body) is encoded once per
//! escaping rule and shared; each delivery only writes its own few headers.
//! [`Delivery::to_frame`] decodes what [`Delivery::encode_into`] wrote, so
//! the frame a transcript or an observer shows is, byte for byte, the one
//! the client got.

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

#[cfg(test)]
use crate::protocol::Version;
use crate::protocol::frame::escape::Escaping;
use crate::protocol::frame::{Command, Frame, Headers, encode_header, encode_headers};

/// Headers of a SEND that are not carried into the MESSAGE: they belong to
/// the SEND itself, or the broker sets them per delivery.
const NOT_CARRIED: [&str; 7] = [
    "transaction",
    "receipt",
    "content-length",
    "message-id",
    "subscription",
    "ack",
    "redelivered",
];

/// The prefix of every `message-id` this broker assigns (`m-1`, `m-2`, ...).
const ID_PREFIX: &str = "m-";

/// A message id as the wire shows it.
pub(crate) fn message_id_text(id: u64) -> String {
    format!("{ID_PREFIX}{id}")
}

/// The number behind a `message-id` this broker assigned, if it is one.
pub(crate) fn parse_message_id(text: &str) -> Option<u64> {
    let digits = text.strip_prefix(ID_PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// Appends the decimal digits of `n` without allocating.
fn push_decimal(mut n: u64, out: &mut Vec<u8>) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Counts the bytes of the messages alive, for the broker's memory budget:
/// a message adds its size when it is made and takes it away when its last
/// holder (a queue, a transaction, an outbox, the journal) lets go of it, so
/// a message held in several places is counted once.
#[derive(Debug, Default)]
pub(crate) struct MessageMeter {
    bytes: AtomicUsize,
}

impl MessageMeter {
    /// The bytes of all messages alive.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A message on its way through the broker.
#[derive(Debug)]
pub(crate) struct StoredMessage {
    /// Unique within the broker; on the wire `m-<id>`.
    pub(crate) id: u64,
    /// Its `seq` in the journal (0 when recording is off).
    pub(crate) journal_seq: u64,
    pub(crate) destination: Arc<str>,
    /// The SEND frame's headers, complete and in order.
    pub(crate) sent: Headers,
    pub(crate) body: Bytes,
    /// What the message occupies (see [`StoredMessage::cost`]).
    cost: usize,
    /// Where its bytes are counted while it is alive.
    meter: Option<Arc<MessageMeter>>,
    /// Times it went back to its queue unacknowledged.
    pub(crate) redeliveries: AtomicU32,
    /// When it expires, in ms since the epoch (0: never); set when routed.
    pub(crate) expires_at: AtomicU64,
    /// Headers the receiver sees with another value than the sender gave
    /// (a temporary destination's `reply-to`); the journal keeps the SEND's.
    pub(crate) rewritten: OnceLock<Vec<(String, String)>>,
}

impl Drop for StoredMessage {
    fn drop(&mut self) {
        if let Some(meter) = &self.meter {
            meter.bytes.fetch_sub(self.cost, Ordering::Relaxed);
        }
    }
}

impl StoredMessage {
    /// A message from the headers and body of a SEND frame, counted by
    /// `meter` while it is alive.
    pub(crate) fn from_send(
        id: u64,
        journal_seq: u64,
        destination: Arc<str>,
        sent: Headers,
        body: Bytes,
        meter: Option<&Arc<MessageMeter>>,
    ) -> StoredMessage {
        let cost = Self::cost_of(&sent, body.len());
        if let Some(meter) = meter {
            meter.bytes.fetch_add(cost, Ordering::Relaxed);
        }
        StoredMessage {
            id,
            journal_seq,
            destination,
            cost,
            sent,
            body,
            meter: meter.cloned(),
            redeliveries: AtomicU32::new(0),
            expires_at: AtomicU64::new(0),
            rewritten: OnceLock::new(),
        }
    }

    /// The value of the SEND's header `name`.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.sent.get(name)
    }

    /// Whether the sender asked for it to be kept on disk
    /// (`persistent:true`).
    pub(crate) fn is_persistent(&self) -> bool {
        self.header("persistent") == Some("true")
    }

    /// Whether it has an expiry time at all.
    pub(crate) fn expires(&self) -> bool {
        self.expires_at.load(Ordering::Relaxed) != 0
    }

    /// Whether it has expired at `now_ms` (ms since the epoch).
    pub(crate) fn expired_at(&self, now_ms: u64) -> bool {
        let at = self.expires_at.load(Ordering::Relaxed);
        at != 0 && at <= now_ms
    }

    /// What a message with these headers and body occupies (see
    /// [`StoredMessage::cost`]).
    pub(crate) fn cost_of(headers: &Headers, body: usize) -> usize {
        let headers: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
        body + headers + 96
    }

    /// The `message-id` header's value.
    pub(crate) fn message_id(&self) -> String {
        message_id_text(self.id)
    }

    /// The headers carried into a MESSAGE frame.
    pub(crate) fn carried(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sent
            .iter()
            .filter(|(name, _)| !NOT_CARRIED.contains(name))
            .map(|(name, value)| {
                let rewritten = self
                    .rewritten
                    .get()
                    .and_then(|r| r.iter().find(|(n, _)| n == name));
                (name, rewritten.map_or(value, |(_, v)| v.as_str()))
            })
    }

    /// The SEND frame it came from, as it was received.
    pub(crate) fn send_frame(&self) -> Frame {
        Frame::from_parts(Command::Send, self.sent.clone(), self.body.clone())
    }

    /// The bytes the message occupies, and one delivery of it on the wire,
    /// near enough (headers and body, plus room for the per-delivery
    /// headers): for back-pressure and the memory budget.
    pub(crate) fn cost(&self) -> usize {
        self.cost
    }

    /// Appends the tail of the MESSAGE frame: carried headers,
    /// `content-length`, blank line, body and NUL.
    fn encode_tail(&self, escaping: Escaping, out: &mut Vec<u8>) {
        encode_headers(self.carried(), escaping, out);
        out.extend_from_slice(b"content-length:");
        push_decimal(self.body.len() as u64, out);
        out.extend_from_slice(b"\n\n");
        out.extend_from_slice(&self.body);
        out.push(0);
    }
}

/// One delivery of a [`StoredMessage`] to one subscription.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) message: Arc<StoredMessage>,
    pub(crate) subscription: Arc<str>,
    /// The `ack` header (client ack modes): the delivery's tag.
    pub(crate) ack: Option<u64>,
    pub(crate) redelivered: bool,
    /// What becomes of it if it is never written.
    pub(crate) if_unsent: IfUnsent,
    /// The encoded tail the deliveries of one fan-out share (a topic with
    /// several subscribers); otherwise the tail is written straight out.
    pub(crate) shared: Option<Arc<SharedTail>>,
}

/// What becomes of a delivery its writer never writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IfUnsent {
    /// Nothing: it came from a topic, or it awaits an ACK (its subscription
    /// returns it to its queue when it ends).
    Nothing,
    /// An auto-acknowledged queue delivery goes back to its message's queue
    /// rather than being lost.
    BackToItsQueue,
    /// The same, to this queue: a durable subscription's, which its
    /// message (published on the topic) does not name.
    BackTo(Arc<str>),
}

impl Delivery {
    /// Whether it goes back to a queue if it is never written.
    pub(crate) fn returns_if_unsent(&self) -> bool {
        self.if_unsent != IfUnsent::Nothing
    }
}

/// The tail of a MESSAGE frame (see [`StoredMessage::encode_tail`]),
/// encoded once per escaping for the deliveries of one fan-out and dropped
/// with the last of them: it never outlives the delivery.
#[derive(Debug, Default)]
pub(crate) struct SharedTail([OnceLock<Bytes>; 3]);

impl SharedTail {
    fn get(&self, message: &StoredMessage, escaping: Escaping) -> &Bytes {
        self.0[escaping.index()].get_or_init(|| {
            let mut out = Vec::with_capacity(message.cost());
            message.encode_tail(escaping, &mut out);
            Bytes::from(out)
        })
    }
}

/// Bodies larger than this are never copied to be written: the writer sends
/// the shared body itself (so 200 subscribers of one 10 MiB message hold one
/// copy of it, not 200).
pub(crate) const SHARED_BODY: usize = 16 * 1024;

impl Delivery {
    /// The MESSAGE frame's bytes, for a writer: appended to `out`, except
    /// that a body over [`SHARED_BODY`] is not copied: `out` so far and then
    /// the body itself are pushed to `parts` (to be written in order, before
    /// what `out` holds after). The bytes are those of
    /// [`Delivery::encode_into`].
    pub(crate) fn encode_parts(
        &self,
        escaping: Escaping,
        out: &mut Vec<u8>,
        parts: &mut Vec<Bytes>,
    ) {
        let body = &self.message.body;
        if body.len() <= SHARED_BODY {
            self.encode_into(escaping, out);
            return;
        }
        self.encode_head(escaping, out);
        encode_headers(self.message.carried(), escaping, out);
        out.extend_from_slice(b"content-length:");
        push_decimal(body.len() as u64, out);
        out.extend_from_slice(b"\n\n");
        parts.push(Bytes::from(std::mem::take(out)));
        parts.push(body.clone());
        out.push(0);
    }

    /// Appends the MESSAGE frame's bytes: the only MESSAGE encoder.
    pub(crate) fn encode_into(&self, escaping: Escaping, out: &mut Vec<u8>) {
        self.encode_head(escaping, out);
        match &self.shared {
            Some(tail) if self.message.body.len() <= SHARED_BODY => {
                out.extend_from_slice(tail.get(&self.message, escaping));
            }
            _ => self.message.encode_tail(escaping, out),
        }
    }

    /// The command and the headers that differ per delivery.
    fn encode_head(&self, escaping: Escaping, out: &mut Vec<u8>) {
        out.extend_from_slice(b"MESSAGE\nmessage-id:");
        out.extend_from_slice(ID_PREFIX.as_bytes());
        push_decimal(self.message.id, out);
        out.push(b'\n');
        encode_header("subscription", &self.subscription, escaping, out);
        if let Some(tag) = self.ack {
            out.extend_from_slice(b"ack:");
            push_decimal(tag, out);
            out.push(b'\n');
        }
        if self.redelivered {
            out.extend_from_slice(b"redelivered:true\n");
        }
    }

    /// The MESSAGE frame as a value (for the journal and observers; the
    /// writer never needs it): the frame a 1.2 client decodes from what
    /// [`Delivery::encode_into`] writes (the tests check both give the same
    /// frame), put together from the parts rather than encoded and decoded
    /// again.
    pub(crate) fn to_frame(&self) -> Frame {
        self.assembled()
    }

    /// The MESSAGE frame put together header by header.
    fn assembled(&self) -> Frame {
        let mut frame = Frame::new(Command::Message)
            .with_header("message-id", self.message.message_id())
            .with_header("subscription", &*self.subscription);
        if let Some(tag) = self.ack {
            frame = frame.with_header("ack", tag.to_string());
        }
        if self.redelivered {
            frame = frame.with_header("redelivered", "true");
        }
        for (name, value) in self.message.carried() {
            frame = frame.with_header(name, value);
        }
        frame
            .with_header("content-length", self.message.body.len().to_string())
            .with_body(self.message.body.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::frame::{Decoded, Decoder, FrameError, Limits};

    /// Decodes a single complete frame of `version`.
    fn decode_one(bytes: &[u8], version: Version) -> Result<Frame, FrameError> {
        let limits = Limits {
            max_frame_size: usize::MAX / 2,
            max_headers: usize::MAX / 2,
            max_header_line: usize::MAX / 2,
        };
        let mut decoder = Decoder::new(limits);
        decoder.set_version(Some(version));
        decoder.feed(bytes);
        match decoder.next_item()? {
            Some(Decoded::Frame(frame)) => Ok(frame),
            _ => Err(FrameError::MissingNul),
        }
    }
    use rstest::rstest;

    fn message(headers: &[(&str, &str)], body: &str) -> Arc<StoredMessage> {
        let mut sent = Headers::new();
        for (name, value) in headers {
            sent.push(*name, *value);
        }
        Arc::new(StoredMessage::from_send(
            42,
            1,
            Arc::from("/queue/a"),
            sent,
            Bytes::from(body.to_owned()),
            None,
        ))
    }

    #[rstest]
    #[case::auto(None, false)]
    #[case::client_ack(Some(7), false)]
    #[case::redelivered(Some(8), true)]
    fn the_frame_is_what_the_encoder_wrote(#[case] ack: Option<u64>, #[case] redelivered: bool) {
        let stored = message(
            &[
                ("destination", "/queue/a"),
                ("receipt", "r"),
                ("weird", "a:b\nc"),
            ],
            "body\0with nul",
        );
        let delivery = Delivery {
            message: stored,
            subscription: Arc::from("sub:1"),
            ack,
            redelivered,
            if_unsent: IfUnsent::Nothing,
            shared: redelivered.then(Default::default),
        };
        let frame = delivery.to_frame();
        assert_eq!(frame.command(), &Command::Message);
        assert_eq!(frame.header("message-id"), Some("m-42"));
        assert_eq!(frame.header("subscription"), Some("sub:1"));
        assert_eq!(frame.header("weird"), Some("a:b\nc"));
        assert_eq!(frame.header("receipt"), None);
        assert_eq!(frame.header("ack"), ack.map(|t| t.to_string()).as_deref());
        assert_eq!(frame.header("redelivered").is_some(), redelivered);
        assert_eq!(frame.body(), b"body\0with nul");
        let mut wire = Vec::new();
        delivery.encode_into(Escaping::for_version(Some(Version::V1_2)), &mut wire);
        assert_eq!(
            frame,
            decode_one(&wire, Version::V1_2).unwrap(),
            "the frame is what a 1.2 client decodes from the wire"
        );
        // Re-encoding the frame gives the encoder's bytes back.
        let mut fast = Vec::new();
        delivery.encode_into(Escaping::for_version(Some(Version::V1_2)), &mut fast);
        assert_eq!(frame.encode(Some(Version::V1_2)), fast);
    }

    #[rstest]
    #[case::small(100, false)]
    #[case::small_shared(100, true)]
    #[case::big(SHARED_BODY + 1, false)]
    #[case::big_shared(SHARED_BODY * 3, true)]
    fn the_parts_are_the_encoders_bytes(#[case] size: usize, #[case] shared: bool) {
        let stored = message(
            &[("destination", "/topic/t"), ("k", "v")],
            &"b".repeat(size),
        );
        let delivery = Delivery {
            message: stored.clone(),
            subscription: Arc::from("s"),
            ack: Some(3),
            redelivered: false,
            if_unsent: IfUnsent::Nothing,
            shared: shared.then(Default::default),
        };
        let escaping = Escaping::for_version(Some(Version::V1_2));
        let mut whole = Vec::new();
        delivery.encode_into(escaping, &mut whole);
        let (mut out, mut parts) = (b"before|".to_vec(), Vec::new());
        delivery.encode_parts(escaping, &mut out, &mut parts);
        let mut joined: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
        joined.extend_from_slice(&out);
        assert_eq!(&joined[..7], b"before|");
        assert_eq!(&joined[7..], &whole[..]);
        if size > SHARED_BODY {
            // The body goes out as the message's own bytes, not a copy.
            assert_eq!(parts[1].as_ptr(), stored.body.as_ptr());
        }
    }

    #[rstest]
    #[case("m-1", Some(1))]
    #[case("m-18446744073709551615", Some(u64::MAX))]
    #[case("m-01", None)]
    #[case("m-+1", None)]
    #[case("m-", None)]
    #[case("1", None)]
    #[case("m-99999999999999999999", None)]
    fn message_ids_parse_only_as_written(#[case] text: &str, #[case] want: Option<u64>) {
        assert_eq!(parse_message_id(text), want);
        if let Some(id) = want {
            assert_eq!(message_id_text(id), text);
        }
    }

    #[test]
    fn decimals_are_written_without_allocating() {
        for n in [0, 9, 10, 12345, u64::MAX] {
            let mut out = Vec::new();
            push_decimal(n, &mut out);
            assert_eq!(out, n.to_string().as_bytes());
        }
    }
}
