//! A published message as the broker keeps it, and one delivery of it.
//!
//! The part of a MESSAGE frame that is the same for every subscriber (the
//! carried headers, `content-length` and the body) is encoded once per
//! escaping rule and shared; each delivery only writes its own few headers.
//! The journal shares the same value rather than copying it.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use crate::frame::escape::Escaping;
use crate::frame::{encode_header, encode_headers};
use crate::{Command, Frame, Headers};

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

/// A message on its way through the broker.
#[derive(Debug)]
pub(crate) struct Stored {
    pub(crate) id: String,
    /// Its `seq` in the journal (0 when recording is off).
    pub(crate) journal_seq: u64,
    pub(crate) destination: String,
    /// The SEND frame's headers, complete and in order.
    pub(crate) sent: Headers,
    pub(crate) body: Bytes,
    /// The shared tail of the MESSAGE frame, per [`Escaping`].
    tails: [OnceLock<Bytes>; 3],
}

impl Stored {
    /// A message from the headers and body of a SEND frame.
    pub(crate) fn from_send(
        id: String,
        journal_seq: u64,
        destination: &str,
        sent: Headers,
        body: Bytes,
    ) -> Stored {
        Stored {
            id,
            journal_seq,
            destination: destination.to_owned(),
            sent,
            body,
            tails: Default::default(),
        }
    }

    /// The headers carried into a MESSAGE frame.
    pub(crate) fn carried(&self) -> impl Iterator<Item = (&str, &str)> {
        self.sent
            .iter()
            .filter(|(name, _)| !NOT_CARRIED.contains(name))
    }

    /// The SEND frame it came from, as it was received.
    pub(crate) fn send_frame(&self) -> Frame {
        Frame::from_parts(Command::Send, self.sent.clone(), self.body.clone())
    }

    /// A rough count of the bytes one delivery occupies, for back-pressure.
    pub(crate) fn cost(&self) -> usize {
        let headers: usize = self.sent.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
        self.body.len() + headers + 96
    }

    /// Carried headers, `content-length`, blank line, body and NUL.
    fn tail(&self, escaping: Escaping) -> &Bytes {
        self.tails[escaping.index()].get_or_init(|| {
            let mut out = Vec::with_capacity(self.cost());
            encode_headers(self.carried(), escaping, &mut out);
            out.extend_from_slice(b"content-length:");
            out.extend_from_slice(self.body.len().to_string().as_bytes());
            out.extend_from_slice(b"\n\n");
            out.extend_from_slice(&self.body);
            out.push(0);
            Bytes::from(out)
        })
    }
}

/// One delivery of a [`Stored`] message to one subscription.
#[derive(Clone, Debug)]
pub(crate) struct Delivery {
    pub(crate) message: Arc<Stored>,
    pub(crate) subscription: Arc<str>,
    /// The `ack` header (STOMP 1.2, client ack modes): the delivery's tag.
    pub(crate) ack: Option<u64>,
    pub(crate) redelivered: bool,
    /// Auto-acknowledged queue delivery: if it is never written, it goes back
    /// to its queue rather than being lost.
    pub(crate) requeue_if_unsent: bool,
}

impl Delivery {
    /// Appends the MESSAGE frame's bytes.
    pub(crate) fn encode_into(&self, escaping: Escaping, out: &mut Vec<u8>) {
        out.extend_from_slice(b"MESSAGE\n");
        encode_header("message-id", &self.message.id, escaping, out);
        encode_header("subscription", &self.subscription, escaping, out);
        if let Some(tag) = self.ack {
            out.extend_from_slice(b"ack:");
            out.extend_from_slice(tag.to_string().as_bytes());
            out.push(b'\n');
        }
        if self.redelivered {
            out.extend_from_slice(b"redelivered:true\n");
        }
        out.extend_from_slice(self.message.tail(escaping));
    }

    /// The MESSAGE frame as a value (for the journal and observers; the
    /// writer never needs it).
    pub(crate) fn to_frame(&self) -> Frame {
        let mut frame = Frame::new(Command::Message)
            .with_header("message-id", self.message.id.clone())
            .with_header("subscription", self.subscription.to_string());
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
