//! Sessions driven with no socket: bytes or frames in, the frames each
//! connection's writer would send out, and the broker's state to look at.
//!
//! The unit tests of the session and the `session` fuzz target use it; it
//! goes through the same code as a real connection (the decoder, the
//! session, the state, the MESSAGE encoder), less the threads and the socket.

use std::sync::Arc;

#[cfg(test)]
use super::Flow;
use super::Session;
use crate::config::Config;
use crate::journal::{CloseReason, ConnectionId};
use crate::protocol::Version;
use crate::protocol::frame::escape::Escaping;
use crate::protocol::frame::{Command, Decoded, Decoder, Frame, Limits};
use crate::state::BrokerState;
use crate::state::outbox::{Conduit, Outbound, Outbox};
use crate::transport::Transport;
use crate::transport::detached::Detached;

/// One simulated client connection.
struct Peer {
    conn: ConnectionId,
    session: Session,
    decoder: Decoder,
    conduit: Arc<Conduit>,
    /// The version the writer encodes with (set by `Negotiated`).
    wire: Option<Version>,
    closed: Option<CloseReason>,
}

/// A broker's state and any number of sessions, driven by hand.
pub(crate) struct Harness {
    state: Arc<BrokerState>,
    peers: Vec<Peer>,
}

impl Harness {
    pub(crate) fn new(config: Config) -> Harness {
        Harness {
            state: BrokerState::new(config),
            peers: Vec::new(),
        }
    }

    pub(crate) fn state(&self) -> &Arc<BrokerState> {
        &self.state
    }

    /// Opens a connection; returns its index for the other calls.
    pub(crate) fn open(&mut self) -> usize {
        let conn = self.state.next_conn_id();
        let transport: Arc<dyn Transport> = Arc::new(Detached);
        let (outbox, conduit, _backlog) = Outbox::new();
        self.state.update(|j| {
            j.history.opened(conn, transport.peer(), transport.kind());
            j.live.add_connection(conn, outbox, transport);
        });
        self.peers.push(Peer {
            conn,
            session: Session::new(self.state.clone(), conn),
            decoder: Decoder::new(self.state.config.limits),
            conduit,
            wire: None,
            closed: None,
        });
        self.peers.len() - 1
    }

    /// Bytes from the client of `peer`; `Some` once the connection closes
    /// (it is then cleaned up as a real one would be).
    pub(crate) fn feed(&mut self, peer: usize, bytes: &[u8]) -> Option<CloseReason> {
        let p = &mut self.peers[peer];
        if p.closed.is_some() {
            return p.closed.clone();
        }
        p.decoder.feed(bytes);
        let reason = p.session.take_decoded(&mut p.decoder)?;
        self.finish(peer, reason.clone());
        Some(reason)
    }

    /// The client of `peer` closes its socket.
    pub(crate) fn hang_up(&mut self, peer: usize) {
        if self.peers[peer].closed.is_none() {
            let reason = self.peers[peer].session.on_closed();
            self.finish(peer, reason);
        }
    }

    /// Ends connection `peer` as its reader thread would.
    fn finish(&mut self, peer: usize, reason: CloseReason) {
        let conn = self.peers[peer].conn;
        self.state.update(|j| {
            j.live.detach_connection(conn, &mut j.history);
            let overridden = j.live.remove_connection(conn);
            j.history.closed(conn, overridden.unwrap_or(reason.clone()));
        });
        self.peers[peer].closed = Some(reason);
    }

    /// Every frame the writer of `peer` would have sent since the last call:
    /// each is encoded as the writer encodes it, then decoded again.
    ///
    /// # Panics
    /// If what the broker would write is not a well-formed frame.
    pub(crate) fn received(&mut self, peer: usize) -> Vec<Frame> {
        let p = &mut self.peers[peer];
        let items: Vec<Outbound> = p.conduit.lock().items.drain(..).collect();
        let mut frames = Vec::new();
        for item in items {
            let mut bytes = Vec::new();
            match item {
                Outbound::Raw(raw) => bytes.extend_from_slice(&raw),
                Outbound::Negotiated { version, .. } => {
                    p.wire = Some(version);
                    continue;
                }
                Outbound::Close | Outbound::Hangup => continue,
                Outbound::Frame(frame) => frame.encode_into(p.wire, &mut bytes),
                Outbound::Delivery(delivery) => {
                    delivery.encode_into(Escaping::for_version(p.wire), &mut bytes);
                }
            }
            frames.push(decode_whole(&bytes, p.wire));
        }
        frames
    }
}

/// What only the unit tests need.
#[cfg(test)]
impl Harness {
    /// Why connection `peer` closed, if it has.
    pub(crate) fn closed(&self, peer: usize) -> Option<&CloseReason> {
        self.peers[peer].closed.as_ref()
    }

    /// A frame from the client of `peer`, encoded for its version.
    pub(crate) fn send(&mut self, peer: usize, frame: &Frame) -> Option<CloseReason> {
        let bytes = frame.encode(self.peers[peer].session.version);
        self.feed(peer, &bytes)
    }

    /// A frame from the client of `peer`, applied as the decoder would hand
    /// it over.
    pub(crate) fn frame(&mut self, peer: usize, frame: Frame) -> Flow {
        let p = &mut self.peers[peer];
        let flow = p.session.on_frame(&mut self.state.lock(), frame);
        if let Flow::Close(reason) = &flow {
            self.finish(peer, reason.clone());
        }
        flow
    }

    /// A frame applied as [`Harness::frame`] does, but the connection is
    /// left as its reader leaves it between that pass and the next (when a
    /// closing connection is detached): others' traffic may run meanwhile.
    pub(crate) fn frame_before_detach(&mut self, peer: usize, frame: Frame) -> Flow {
        let p = &mut self.peers[peer];
        p.session.on_frame(&mut self.state.lock(), frame)
    }

    /// How long the reader of `peer` would wait for bytes now.
    pub(crate) fn read_timeout(&self, peer: usize) -> Option<std::time::Duration> {
        self.peers[peer]
            .session
            .read_timeout(std::time::Instant::now())
    }

    /// The read of `peer` timed out (see [`Session::read_timeout`]).
    pub(crate) fn silence(&mut self, peer: usize) -> CloseReason {
        let reason = self.peers[peer].session.on_silence(&mut self.state.lock());
        self.finish(peer, reason.clone());
        reason
    }
}

/// Decodes exactly one frame that fills `bytes`.
fn decode_whole(bytes: &[u8], version: Option<Version>) -> Frame {
    let mut decoder = Decoder::new(Limits {
        max_frame_size: usize::MAX / 2,
        max_headers: usize::MAX / 2,
        max_header_line: usize::MAX / 2,
    });
    decoder.set_version(version);
    decoder.feed(bytes);
    let item = decoder.next_item();
    let Ok(Some(Decoded::Frame(frame))) = item else {
        panic!("the broker would write a malformed frame ({item:?}): {bytes:?}");
    };
    assert_eq!(decoder.buffered(), 0, "one frame per item: {bytes:?}");
    frame
}

/// CONNECT frames the fuzz target may start a connection with.
const PREFIXES: [&[u8]; 4] = [
    b"",
    b"CONNECT\nhost:h\n\n\0",
    b"CONNECT\naccept-version:1.1\nhost:h\n\n\0",
    b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SUBSCRIBE\nid:0\ndestination:/queue/f\nack:client\n\n\0",
];

/// The `session` fuzz target: up to three connections to one broker state,
/// fed arbitrary bytes in arbitrary interleavings. Each output frame must be
/// well-formed, nothing may follow an ERROR, and once every connection has
/// closed the live state must hold no connection and no subscription.
///
/// The first byte picks how many connections (1 to 3) and their CONNECT
/// prefixes; then each segment is a control byte (low 2 bits: which
/// connection; the rest: length 1 to 64) and that many bytes.
pub(crate) fn fuzz(data: &[u8]) {
    let Some((&first, mut rest)) = data.split_first() else {
        return;
    };
    let config = Config {
        limits: Limits {
            max_frame_size: 4096,
            max_headers: 16,
            max_header_line: 256,
        },
        ..Config::default()
    };
    let mut harness = Harness::new(config);
    let count = usize::from(first % 3) + 1;
    for i in 0..count {
        let peer = harness.open();
        let prefix = PREFIXES[usize::from(first >> (2 + 2 * i)) % PREFIXES.len()];
        harness.feed(peer, prefix);
    }
    let mut saw_error = vec![false; count];
    let mut check = |harness: &mut Harness, peer: usize| {
        for frame in harness.received(peer) {
            assert!(!saw_error[peer], "a frame after ERROR: {frame}");
            saw_error[peer] = frame.command() == &Command::Error;
        }
    };
    for peer in 0..count {
        check(&mut harness, peer);
    }
    while let Some((&control, tail)) = rest.split_first() {
        let peer = usize::from(control & 3) % count;
        let len = (usize::from(control >> 2) + 1).min(tail.len());
        let (segment, after) = tail.split_at(len);
        rest = after;
        harness.feed(peer, segment);
        check(&mut harness, peer);
    }
    for peer in 0..count {
        harness.hang_up(peer);
        check(&mut harness, peer);
    }
    harness.state().read(|j| {
        assert_eq!(j.live.connection_count(), 0, "every connection was removed");
        assert!(
            j.subscriptions().is_empty(),
            "no subscription outlives its connection"
        );
        assert!(
            j.transactions().is_empty(),
            "no transaction outlives its connection"
        );
    });
}
