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

use crate::faults::{OutboundVerdict, Rng};
use crate::journal::{CloseReason, ConnectionId, Direction};
use crate::protocol::message::Delivery;
use crate::protocol::replies;
use crate::state::BrokerState;
use crate::state::outbox::{Backlog, Conduit, Outbound, Wire};
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
    /// It was a Hangup: close both ways after it.
    hangup: bool,
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
                if delivery.returns_if_unsent() {
                    batch.in_flight.push(delivery);
                }
            }
            Outbound::Negotiated {
                version,
                heart_beat,
            } => wire.negotiated(version, heart_beat),
            Outbound::Raw(bytes) => batch.bytes.extend_from_slice(&bytes),
            Outbound::Close => batch.closing = true,
            Outbound::Hangup => {
                batch.closing = true;
                batch.hangup = true;
            }
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
        let last = matches!(item, Outbound::Close | Outbound::Hangup);
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
                self.wait_out_black_hole();
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
            // With faults on outbound frames, one frame at a time, each judged.
            let faulted = self.state.faults.acts_outbound();
            let mut items = if faulted {
                queued.items.pop_front().into_iter().collect()
            } else {
                take_batch(&mut queued.items)
            };
            let mut wire = queued.wire;
            drop(queued);
            let verdict = if faulted {
                self.judge(&mut items, &mut batch)
            } else {
                OutboundVerdict::default()
            };
            encode(&self.state, self.conn, items, &mut wire, &mut batch);
            if self.backlog.overflowed() {
                let at_frame_boundary = batch.bytes.is_empty() && batch.parts.is_empty();
                self.abandon_overflowed(std::mem::take(&mut batch.in_flight), at_frame_boundary);
                return;
            }
            self.wait_out_black_hole();
            failed = if verdict.is_pass() {
                batch.parts.iter().any(|part| self.write_all(part).is_err())
                    || self.write_all(&batch.bytes).is_err()
            } else {
                self.write_judged(&mut batch, verdict).is_err()
            };
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
        if failed || batch.hangup {
            self.transport.close();
        } else {
            self.transport.close_write();
        }
        self.hand_back(batch.in_flight);
    }

    fn heart_beat(&self) -> std::io::Result<()> {
        let conn = self.conn;
        let state = &self.state;
        if state
            .faults
            .heart_beats_stopped(conn, &mut || state.identity(conn))
        {
            return Ok(());
        }
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

    /// Waits while a black-hole fault holds this connection.
    fn wait_out_black_hole(&self) {
        super::wait_out_black_hole(&self.state, self.conn);
    }

    /// What the faults make of the one item in `items`: a frame dropped,
    /// or replaced by an ERROR, leaves `items` (an auto-acknowledged queue
    /// delivery replaced goes back to its queue at the end); the rest of the
    /// verdict says how to write what stays.
    fn judge(&self, items: &mut Vec<Outbound>, batch: &mut Batch) -> OutboundVerdict {
        let (conn, state) = (self.conn, &self.state);
        let frame = match items.first() {
            Some(Outbound::Frame(frame)) => frame.clone(),
            Some(Outbound::Delivery(delivery)) => delivery.to_frame(),
            _ => return OutboundVerdict::default(),
        };
        let mut verdict = state
            .faults
            .outbound(&frame, conn, &mut || state.identity(conn));
        if let Some(message) = verdict.error.take() {
            let detail = "An injected fault sent this ERROR instead of the frame it was to send.";
            let receipt = frame.header("receipt-id").map(str::to_owned);
            let error = replies::error(&message, detail, receipt, &[]);
            state.update(|j| {
                j.history.record_out(conn, error.clone());
                j.history.error_sent(conn, &error);
                j.live.stop_delivering(conn);
                j.live
                    .set_close_reason(conn, CloseReason::ErrorSent(message));
            });
            self.set_aside(items, batch);
            items.push(Outbound::Frame(error));
            batch.closing = true;
            batch.hangup = true;
            verdict.drop = false;
        } else if verdict.drop {
            batch.cost += items.iter().map(Outbound::cost).sum::<usize>();
            items.clear();
        }
        verdict
    }

    /// Takes the item out of `items`, counted as sent; a queue delivery
    /// that would be lost unsent goes back to its queue at the end.
    fn set_aside(&self, items: &mut Vec<Outbound>, batch: &mut Batch) {
        for item in items.drain(..) {
            batch.cost += item.cost();
            if let Outbound::Delivery(delivery) = item {
                if delivery.returns_if_unsent() {
                    batch.in_flight.push(delivery);
                }
            }
        }
    }

    /// Writes `batch` (one frame, or none) as the faults' verdict says:
    /// later, twice, corrupted, in pieces, slowly; then closes if it says so.
    fn write_judged(&self, batch: &mut Batch, verdict: OutboundVerdict) -> std::io::Result<()> {
        let (conn, state) = (self.conn, &self.state);
        // A delay or a throttle ends early for a connection that is going
        // (kicked, restarted, the broker stopping).
        let stop = || {
            state.is_shutting_down()
                || self.backlog.overflowed()
                || state.read(|j| j.live.is_closing(conn))
        };
        if !verdict.delay.is_zero() {
            state.faults.sleep(verdict.delay, &stop);
        }
        let mut bytes: Vec<u8> = batch.parts.iter().flat_map(|p| p.iter().copied()).collect();
        bytes.extend_from_slice(&batch.bytes);
        if verdict.corrupt {
            corrupt(&mut bytes);
        }
        if verdict.duplicate {
            bytes.extend_from_slice(&bytes.clone());
        }
        let mut split = verdict.split;
        let piece = |split: &mut Option<(usize, Rng)>, left: usize| match split {
            Some((max, rng)) => rng.piece(*max).min(left),
            None => verdict.throttle.map_or(left, |rate| {
                usize::try_from(rate / 20)
                    .unwrap_or(usize::MAX)
                    .clamp(1, left)
            }),
        };
        let started = std::time::Instant::now();
        let mut written = 0;
        while written < bytes.len() {
            let n = piece(&mut split, bytes.len() - written);
            self.write_all(&bytes[written..written + n])?;
            written += n;
            if let Some(rate) = verdict.throttle {
                let due = std::time::Duration::from_secs_f64(written as f64 / rate as f64);
                state
                    .faults
                    .sleep(due.saturating_sub(started.elapsed()), &stop);
            }
        }
        if let Some((reset, fault)) = verdict.close {
            state.update(|j| {
                j.live.stop_delivering(self.conn);
                j.live
                    .set_close_reason(self.conn, CloseReason::Fault(fault));
            });
            if reset {
                self.transport.reset();
            }
            batch.closing = true;
            batch.hangup = true;
        }
        Ok(())
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
            Outbound::Delivery(d) if d.returns_if_unsent() => Some(d),
            _ => None,
        }));
        if !unsent.is_empty() {
            self.state
                .update(|j| j.live.requeue(unsent, &mut j.history));
        }
    }
}

/// Puts a header line with no colon after the command line of the frame
/// in `bytes` (a frame a client must reject).
fn corrupt(bytes: &mut Vec<u8>) {
    let start = bytes
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .unwrap_or(0);
    if let Some(eol) = bytes[start..].iter().position(|b| *b == b'\n') {
        let at = start + eol + 1;
        bytes.splice(at..at, b"this header line has no colon\n".iter().copied());
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
    if state.faults.acts_outbound() || state.faults.acts_on_connections() {
        conduit.wake(); // the writer judges each frame
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
