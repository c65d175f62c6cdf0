//! A connection's reader thread: reads bytes, decodes frames, hands them to
//! the session, and cleans up when the connection ends.

use std::io::ErrorKind;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::opening::{self, Opening};
use super::writer;
use crate::journal::{CloseReason, ConnectionId};
use crate::protocol::frame::Decoder;
use crate::session::Session;
use crate::state::BrokerState;
use crate::state::outbox::{Backlog, Conduit};
use crate::transport::Transport;

/// How long a connection keeps reading (and discarding) after an ERROR, so
/// the client's unread bytes do not turn the close into a reset that loses it.
const LINGER: Duration = Duration::from_secs(1);
/// The most a read takes at once.
const READ_CHUNK: usize = 64 * 1024;
/// The read buffer a connection starts with (an idle connection costs little).
const FIRST_READ_CHUNK: usize = 2 * 1024;

/// One connection's reading side.
pub(crate) struct Reader {
    pub(crate) state: Arc<BrokerState>,
    pub(crate) conn: ConnectionId,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) session: Session,
    pub(crate) writer: JoinHandle<()>,
    pub(crate) conduit: Arc<Conduit>,
    pub(crate) backlog: Arc<Backlog>,
}

impl Reader {
    /// Serves the connection to its end, then cleans up after it.
    pub(crate) fn run(mut self) {
        let reason = self.serve();
        if self.session.wants_reset() {
            self.transport.reset();
        }
        self.state
            .update(|j| j.live.detach_connection(self.conn, &mut j.history));
        // What the last pass queued for this connection's own writer is
        // left for the reader to hand over (see `reply_directly`); a
        // DISCONNECT's RECEIPT and close are queued in that pass.
        self.conduit.wake();
        if matches!(
            reason,
            CloseReason::ErrorSent(_) | CloseReason::HeartBeatTimeout
        ) {
            self.linger();
        }
        let _ = self.writer.join();
        // Removed first, so that once the journal says "closed" the
        // connection no longer counts against `max_connections`.
        let reason = self.state.update(|j| {
            let overridden = j.live.remove_connection(self.conn);
            let reason = overridden.unwrap_or(reason);
            j.history.closed(self.conn, reason.clone());
            reason
        });
        self.state.notify_closed(self.conn, &reason);
    }

    fn serve(&mut self) -> CloseReason {
        let mut decoder = Decoder::new(self.state.config.limits);
        let opening = opening::open(&self.state, self.conn, &*self.transport, &self.session);
        // The TLS handshake is done once the first bytes are read.
        if let Some(der) = self.transport.peer_certificate() {
            let name = self.state.issued_certificates.name_of(&der);
            self.session.set_certificate_principal(name);
        }
        match opening {
            Opening::Stomp(first) => decoder.feed(&first),
            Opening::WebSocket(upgraded) => {
                self.session.set_http_credentials(upgraded.credentials);
                self.session.set_highest_version(upgraded.highest);
            }
            Opening::Answered(reason) => return reason,
            Opening::Closed => return self.session.on_closed(),
            Opening::Silent => return self.session.on_silence(&mut self.state.lock()),
        }
        let mut chunk = vec![0u8; FIRST_READ_CHUNK];
        loop {
            if let Some(reason) = self.session.take_decoded(&mut decoder) {
                return reason;
            }
            writer::reply_directly(
                &self.state,
                self.conn,
                &*self.transport,
                &self.conduit,
                &self.backlog,
            );
            self.wait_out_black_hole();
            let timeout = self.session.read_timeout(Instant::now());
            match self.transport.read(&mut chunk, timeout) {
                Ok(0) => return self.session.on_closed(),
                Ok(n) => {
                    // Bytes read as a black hole began wait with it.
                    self.wait_out_black_hole();
                    decoder.feed(&chunk[..n]);
                    // Doubled up to READ_CHUNK while reads fill it.
                    if n == chunk.len() && n < READ_CHUNK {
                        chunk.resize(n * 2, 0);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if self.heart_beats_stopped() {
                        continue; // a fault: the client's silence goes unnoticed
                    }
                    let mut journal = self.state.lock();
                    return self.session.on_silence(&mut journal);
                }
                Err(_) => return self.session.on_closed(),
            }
        }
    }

    /// Waits while a black-hole fault holds this connection.
    fn wait_out_black_hole(&self) {
        super::wait_out_black_hole(&self.state, self.conn);
    }

    /// Whether a fault has stopped heart-beats on this connection.
    fn heart_beats_stopped(&self) -> bool {
        let (conn, state) = (self.conn, &self.state);
        self.session.is_connected()
            && state
                .faults
                .heart_beats_stopped(conn, &mut || state.identity(conn))
    }

    /// Reads and drops input until the client closes or [`LINGER`] passes.
    fn linger(&self) {
        let deadline = Instant::now() + LINGER;
        let mut sink = [0u8; 4096];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            match self.transport.read(&mut sink, Some(left)) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }
}
