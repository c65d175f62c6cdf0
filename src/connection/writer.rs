//! A connection's writer thread: drains its outbox onto the transport.
//!
//! What it writes was recorded in the journal when it was queued; the writer
//! takes the state's lock only on rare edges: a heart-beat it sends (for the
//! transcript), a backlog that falls under the dispatch watermark after a
//! queue skipped this connection, a client too slow to keep, and at the end
//! to return auto-acknowledged queue messages it never wrote.

use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use std::collections::VecDeque;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use crate::journal::{CloseReason, ConnectionId, Direction};
use crate::protocol::frame::escape::Escaping;
use crate::protocol::message::Delivery;
use crate::protocol::{replies, Version};
use crate::state::outbox::{Backlog, Outbound};
use crate::state::BrokerState;
use crate::transport::Transport;

/// How much the writer gathers before one `write` call.
const BATCH_BYTES: usize = 64 * 1024;

/// The thread that writes one connection's outbound frames.
pub(crate) struct Writer {
    pub(crate) state: Arc<BrokerState>,
    pub(crate) conn: ConnectionId,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) rx: Receiver<Outbound>,
    pub(crate) backlog: Arc<Backlog>,
    /// Items of a batch received but not yet written.
    pub(crate) queued: VecDeque<Outbound>,
}

impl Writer {
    pub(crate) fn run(mut self) {
        let mut wire = Wire::default();
        let mut batch = Batch::default();
        let mut failed = false;
        while !batch.closing && !failed {
            let first = match self.next(wire.heart_beat) {
                Next::Item(item) => item,
                Next::HeartBeat => {
                    failed = self.write_all(b"\n").is_err();
                    self.state.notify(self.conn, Direction::Out, None);
                    if self.state.config.recording {
                        self.state
                            .update(|j| j.history.record_heart_beat_out(self.conn));
                    }
                    continue;
                }
                Next::Disconnected => break,
            };
            self.gather(first, &mut wire, &mut batch);
            if self.backlog.overflowed() {
                let at_frame_boundary = batch.bytes.is_empty();
                self.abandon_overflowed(std::mem::take(&mut batch.in_flight), at_frame_boundary);
                return;
            }
            failed = self.write_all(&batch.bytes).is_err();
            if failed {
                break;
            }
            batch.bytes.clear();
            batch.in_flight.clear();
            let cost = std::mem::take(&mut batch.cost);
            if self
                .backlog
                .drained(cost, self.state.config.dispatch_watermark)
            {
                self.state
                    .update(|j| j.live.dispatch_for(self.conn, &mut j.history));
            }
        }
        if failed {
            self.transport.close();
        } else {
            self.transport.close_write();
        }
        self.hand_back(batch.in_flight);
    }

    /// Encodes `first` and whatever else is queued, up to [`BATCH_BYTES`].
    fn gather(&mut self, first: Outbound, wire: &mut Wire, batch: &mut Batch) {
        let observed = self.state.observed();
        let mut item = Some(first);
        while let Some(current) = item.take() {
            if !matches!(current, Outbound::Batch(_)) {
                batch.cost += current.cost();
            }
            match current {
                Outbound::Frame(frame) => {
                    self.state.notify(self.conn, Direction::Out, Some(&frame));
                    frame.encode_into(wire.version, &mut batch.bytes);
                }
                Outbound::Delivery(delivery) => {
                    if observed {
                        let frame = delivery.to_frame();
                        self.state.notify(self.conn, Direction::Out, Some(&frame));
                    }
                    delivery.encode_into(wire.escaping, &mut batch.bytes);
                    if delivery.requeue_if_unsent {
                        batch.in_flight.push(delivery);
                    }
                }
                Outbound::Negotiated {
                    version,
                    heart_beat,
                } => {
                    wire.version = Some(version);
                    wire.escaping = Escaping::for_version(wire.version);
                    wire.heart_beat = heart_beat;
                }
                Outbound::Close => batch.closing = true,
                // Counted item by item as each is taken.
                Outbound::Batch(items) => self.queued.extend(items),
            }
            if !batch.closing && batch.bytes.len() < BATCH_BYTES {
                item = self.try_next();
            }
        }
    }

    /// The next item already received or waiting in the channel.
    fn try_next(&mut self) -> Option<Outbound> {
        self.queued.pop_front().or_else(|| self.rx.try_recv().ok())
    }

    fn next(&mut self, heart_beat: Option<Duration>) -> Next {
        if let Some(item) = self.queued.pop_front() {
            return Next::Item(item);
        }
        match heart_beat {
            Some(every) => match self.rx.recv_timeout(every) {
                Ok(item) => Next::Item(item),
                Err(RecvTimeoutError::Timeout) => Next::HeartBeat,
                Err(RecvTimeoutError::Disconnected) => Next::Disconnected,
            },
            None => self.rx.recv().map_or(Next::Disconnected, Next::Item),
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
            let _ = self.write_all(&error.encode(None::<Version>));
        }
        self.transport.close();
        self.hand_back(in_flight);
    }

    /// Returns auto-acknowledged queue deliveries that were never written.
    fn hand_back(mut self, mut unsent: Vec<Delivery>) {
        for delivery in &mut unsent {
            delivery.redelivered = true;
        }
        let mut left: Vec<Outbound> = self.queued.drain(..).collect();
        left.extend(self.rx.try_iter());
        let mut flat = Vec::new();
        for item in left {
            match item {
                Outbound::Batch(items) => flat.extend(items),
                item => flat.push(item),
            }
        }
        unsent.extend(flat.into_iter().filter_map(|item| match item {
            Outbound::Delivery(d) if d.requeue_if_unsent => Some(d),
            _ => None,
        }));
        if !unsent.is_empty() {
            self.state
                .update(|j| j.live.requeue(unsent, &mut j.history));
        }
    }
}

/// What the negotiation decided about the wire.
#[derive(Default)]
struct Wire {
    version: Option<Version>,
    escaping: Escaping,
    heart_beat: Option<Duration>,
}

/// One write's worth of outbound frames.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// Auto-ack queue deliveries in `bytes`, handed back if never written.
    in_flight: Vec<Delivery>,
    /// Backlog bytes to subtract once written.
    cost: usize,
    /// A Close was seen: this is the last batch.
    closing: bool,
}

enum Next {
    Item(Outbound),
    HeartBeat,
    Disconnected,
}
