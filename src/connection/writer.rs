//! A connection's writer thread: drains its conduit onto the transport; and
//! the reader's shortcut, which writes the connection's own replies at once.
//!
//! What is written was recorded in the journal when it was queued; the
//! writer takes the state's lock only on rare edges: a heart-beat it sends
//! (for the transcript), a backlog that falls under half the dispatch
//! watermark after a queue skipped this connection, a client too slow to
//! keep, and at the end to return auto-acknowledged queue messages it never
//! wrote.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Instant;

use crate::journal::{CloseReason, ConnectionId, Direction};
use crate::protocol::message::Delivery;
use crate::protocol::replies;
use crate::state::outbox::{Backlog, Conduit, Outbound, Wire};
use crate::state::BrokerState;
use crate::transport::Transport;

/// How much the writer gathers before one `write` call.
const BATCH_BYTES: usize = 64 * 1024;

/// One write's worth of outbound frames.
#[derive(Default)]
struct Batch {
    /// Written first, in order: what `bytes` held before a large body, and
    /// the body itself (shared, never copied).
    parts: Vec<bytes::Bytes>,
    bytes: Vec<u8>,
    /// Auto-ack queue deliveries in `bytes`, handed back if never written.
    in_flight: Vec<Delivery>,
    /// Backlog bytes to subtract once written.
    cost: usize,
    /// A Close was seen: this is the last batch.
    closing: bool,
}

/// Encodes `items` into `batch` with `wire` (which a `Negotiated` item
/// changes), telling the traffic observer.
fn encode(
    state: &BrokerState,
    conn: ConnectionId,
    items: Vec<Outbound>,
    wire: &mut Wire,
    batch: &mut Batch,
) {
    let observed = state.observed();
    for item in items {
        batch.cost += item.cost();
        match item {
            Outbound::Frame(frame) => {
                state.notify(conn, Direction::Out, Some(&frame));
                frame.encode_into(wire.version, &mut batch.bytes);
            }
            Outbound::Delivery(delivery) => {
                if observed {
                    let frame = delivery.to_frame();
                    state.notify(conn, Direction::Out, Some(&frame));
                }
                delivery.encode_parts(wire.escaping, &mut batch.bytes, &mut batch.parts);
                if delivery.requeue_if_unsent {
                    batch.in_flight.push(delivery);
                }
            }
            Outbound::Negotiated {
                version,
                heart_beat,
            } => wire.negotiated(version, heart_beat),
            Outbound::Raw(bytes) => batch.bytes.extend_from_slice(&bytes),
            Outbound::Close => batch.closing = true,
        }
    }
}

/// Takes items from the front of `queued` up to about [`BATCH_BYTES`].
fn take_batch(items: &mut std::collections::VecDeque<Outbound>) -> Vec<Outbound> {
    let mut taken = Vec::new();
    let mut cost = 0;
    while cost < BATCH_BYTES {
        let Some(item) = items.pop_front() else {
            break;
        };
        cost += item.cost().max(1);
        let last = matches!(item, Outbound::Close);
        taken.push(item);
        if last {
            break;
        }
    }
    taken
}

/// The thread that writes one connection's outbound frames.
pub(crate) struct Writer {
    pub(crate) state: Arc<BrokerState>,
    pub(crate) conn: ConnectionId,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) conduit: Arc<Conduit>,
    pub(crate) backlog: Arc<Backlog>,
}

impl Writer {
    pub(crate) fn run(self) {
        let mut batch = Batch::default();
        let mut failed = false;
        loop {
            let mut queued = self.conduit.lock();
            let deadline = queued.wire.heart_beat.map(|every| Instant::now() + every);
            if !self.conduit.wait(&mut queued, deadline) {
                if queued.busy {
                    continue; // the reader is writing: the line is not idle
                }
                queued.busy = true;
                drop(queued);
                failed = self.heart_beat().is_err();
                self.conduit.release(&mut self.conduit.lock());
                if failed {
                    break;
                }
                continue;
            }
            if queued.busy {
                continue; // woken while the reader writes: wait for its release
            }
            if queued.rewired {
                queued.rewired = false;
                continue; // a new heart-beat interval: wait again with it
            }
            if queued.items.is_empty() {
                break; // the state dropped its outbox: nothing more comes
            }
            queued.busy = true;
            let items = take_batch(&mut queued.items);
            let mut wire = queued.wire;
            drop(queued);
            encode(&self.state, self.conn, items, &mut wire, &mut batch);
            if self.backlog.overflowed() {
                let at_frame_boundary = batch.bytes.is_empty() && batch.parts.is_empty();
                self.abandon_overflowed(std::mem::take(&mut batch.in_flight), at_frame_boundary);
                return;
            }
            failed = batch.parts.iter().any(|part| self.write_all(part).is_err())
                || self.write_all(&batch.bytes).is_err();
            let mut queued = self.conduit.lock();
            queued.wire = wire;
            self.conduit.release(&mut queued);
            drop(queued);
            if failed || batch.closing {
                break;
            }
            batch.bytes.clear();
            batch.parts.clear();
            batch.in_flight.clear();
            self.drained(std::mem::take(&mut batch.cost));
        }
        if failed {
            self.transport.close();
        } else {
            self.transport.close_write();
        }
        self.hand_back(batch.in_flight);
    }

    fn heart_beat(&self) -> std::io::Result<()> {
        let written = self.write_all(b"\n");
        self.state.notify(self.conn, Direction::Out, None);
        if self.state.config.recording {
            self.state
                .update(|j| j.history.record_heart_beat_out(self.conn));
        }
        written
    }

    /// Subtracts what was written; refills queues that skipped us.
    fn drained(&self, cost: usize) {
        if self
            .backlog
            .drained(cost, self.state.config.dispatch_watermark)
        {
            self.state
                .update(|j| j.live.dispatch_for(self.conn, &mut j.history));
        }
    }

    /// Writes all of `bytes`; a stalled write gives up once the connection
    /// overflowed or the broker is shutting down.
    fn write_all(&self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            match self.transport.write(bytes) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if self.backlog.overflowed() || self.state.is_shutting_down() {
                        return Err(e);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The client fell too far behind: drop its backlog (queue messages go
    /// back to their queues), tell it why if the transport still takes
    /// bytes, close.
    fn abandon_overflowed(self, in_flight: Vec<Delivery>, at_frame_boundary: bool) {
        let limit = self.state.config.max_backlog;
        let body = format!(
            "The client did not read its frames fast enough: more than {limit} bytes \
             were waiting to be sent. Unacknowledged queue messages were returned to \
             their queues."
        );
        let error = replies::error("slow consumer: outbound backlog exceeded", body, None, &[]);
        let tell = at_frame_boundary || in_flight.is_empty();
        self.state.update(|j| {
            j.live
                .set_close_reason(self.conn, CloseReason::SlowConsumer);
            if tell {
                j.history.record_out(self.conn, error.clone());
                j.history.error_sent(self.conn, &error);
            }
        });
        if tell {
            self.state.notify(self.conn, Direction::Out, Some(&error));
            let _ = self.write_all(&error.encode(None));
        }
        self.transport.close();
        self.hand_back(in_flight);
    }

    /// Returns auto-acknowledged queue deliveries that were never written;
    /// from now on the state's pushes are handed back to it.
    fn hand_back(self, mut unsent: Vec<Delivery>) {
        for delivery in &mut unsent {
            delivery.redelivered = true;
        }
        let left: Vec<Outbound> = {
            let mut queued = self.conduit.lock();
            queued.writer_gone = true;
            queued.items.drain(..).collect()
        };
        unsent.extend(left.into_iter().filter_map(|item| match item {
            Outbound::Delivery(d) if d.requeue_if_unsent => Some(d),
            _ => None,
        }));
        if !unsent.is_empty() {
            self.state
                .update(|j| j.live.requeue(unsent, &mut j.history));
        }
    }
}

/// The reader's shortcut: if nobody is writing and what is queued is only
/// replies (no MESSAGE, no close), write it now without waiting, from the
/// reader's own thread, so a RECEIPT does not wait for the writer to wake.
/// Whatever does not fit at once is left, already encoded, for the writer.
pub(crate) fn reply_directly(
    state: &BrokerState,
    conn: ConnectionId,
    transport: &dyn Transport,
    conduit: &Conduit,
    backlog: &Backlog,
) {
    let mut queued = conduit.lock();
    if queued.busy || queued.items.is_empty() {
        return;
    }
    let replies_only = queued.items.len() <= 64
        && queued
            .items
            .iter()
            .all(|i| matches!(i, Outbound::Frame(_) | Outbound::Negotiated { .. }));
    if !replies_only {
        conduit.wake();
        return;
    }
    queued.busy = true;
    let items: Vec<Outbound> = queued.items.drain(..).collect();
    let mut wire = queued.wire;
    drop(queued);
    let mut batch = Batch::default();
    encode(state, conn, items, &mut wire, &mut batch);
    let written = transport.try_write(&batch.bytes).unwrap_or(0);
    let mut queued = conduit.lock();
    queued.rewired |= queued.wire.heart_beat != wire.heart_beat;
    queued.wire = wire;
    if written < batch.bytes.len() {
        let rest = bytes::Bytes::copy_from_slice(&batch.bytes[written..]);
        queued.items.push_front(Outbound::Raw(rest));
    }
    conduit.release(&mut queued);
    drop(queued);
    if backlog.drained(batch.cost, state.config.dispatch_watermark) {
        state.update(|j| j.live.dispatch_for(conn, &mut j.history));
    }
}
