//! A connection's outbound queue: everything it sends goes through its
//! [`Outbox`], an unbounded channel (whoever routes a message never blocks
//! on a slow socket) plus a count of the bytes queued.
//!
//! What one pass over the state queues for a connection is gathered and
//! handed to its writer at the end of the pass ([`Outbox::flush`]), so a
//! pass that delivers 500 messages wakes each writer once, not 500 times.
//!
//! Queues stop dispatching to a connection whose backlog is over the
//! dispatch watermark (its writer wakes them when it has drained); topics
//! keep pushing, and a connection whose backlog passes the hard bound is
//! disconnected with an ERROR.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::protocol::frame::Frame;
use crate::protocol::message::Delivery;
use crate::protocol::Version;

/// Something for a connection's writer to do.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// Send this frame.
    Frame(Frame),
    /// Send this MESSAGE.
    Delivery(Delivery),
    /// The version is negotiated; send heart-beats at this interval.
    Negotiated {
        version: Version,
        heart_beat: Option<Duration>,
    },
    /// Send what is queued, then close the connection's write side.
    Close,
    /// Several of the above, in order (what one pass queued).
    Batch(Vec<Outbound>),
}

impl Outbound {
    /// The bytes it will take on the wire (near enough: headers and body
    /// counted, escaping not).
    pub(crate) fn cost(&self) -> usize {
        match self {
            Outbound::Frame(frame) => {
                let headers: usize = frame
                    .headers()
                    .iter()
                    .map(|(n, v)| n.len() + v.len() + 2)
                    .sum();
                frame.command().as_str().len() + headers + frame.body().len() + 3
            }
            Outbound::Delivery(delivery) => delivery.message.cost(),
            Outbound::Batch(items) => items.iter().map(Outbound::cost).sum(),
            _ => 0,
        }
    }
}

/// What a connection has queued, shared by its outbox and its writer.
#[derive(Debug, Default)]
pub(crate) struct Backlog {
    bytes: AtomicUsize,
    /// A queue skipped this connection because of its backlog.
    throttled: AtomicBool,
    /// The backlog passed the hard bound: give up on this connection.
    overflowed: AtomicBool,
}

impl Backlog {
    /// Subtracts `cost` written bytes; true if a queue skipped this
    /// connection and the backlog is now under half of `watermark` (the
    /// caller re-dispatches). The half is hysteresis: a re-dispatch refills
    /// half a watermark's worth at once, and the writer still has the other
    /// half to write meanwhile, instead of taking the state's lock for every
    /// batch it writes.
    pub(crate) fn drained(&self, cost: usize, watermark: usize) -> bool {
        let before = self.bytes.fetch_sub(cost, Ordering::SeqCst);
        before.saturating_sub(cost) < watermark / 2 && self.throttled.swap(false, Ordering::SeqCst)
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

/// The sending half, owned by the broker's state; never blocks.
#[derive(Debug)]
pub(crate) struct Outbox {
    tx: Sender<Outbound>,
    backlog: Arc<Backlog>,
    /// Queued in the current pass, not yet handed to the writer.
    pending: Vec<Outbound>,
}

impl Outbox {
    /// A new outbox, the receiver its writer drains, and their shared backlog.
    pub(crate) fn new() -> (Outbox, Receiver<Outbound>, Arc<Backlog>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let backlog = Arc::<Backlog>::default();
        let outbox = Outbox {
            tx,
            backlog: backlog.clone(),
            pending: Vec::new(),
        };
        (outbox, rx, backlog)
    }

    /// Queues `item` for the end of the pass; true if it is the first this
    /// pass (the caller remembers to flush this outbox).
    pub(crate) fn push(&mut self, item: Outbound) -> bool {
        self.backlog.bytes.fetch_add(item.cost(), Ordering::SeqCst);
        self.pending.push(item);
        self.pending.len() == 1
    }

    /// Hands what this pass queued to the writer; gives it back if the
    /// writer has already exited.
    pub(crate) fn flush(&mut self) -> Result<(), Vec<Outbound>> {
        let item = match self.pending.len() {
            0 => return Ok(()),
            1 => self.pending.pop().expect("one item"),
            _ => Outbound::Batch(std::mem::take(&mut self.pending)),
        };
        self.tx.send(item).map_err(|e| match e.0 {
            Outbound::Batch(items) => items,
            item => vec![item],
        })
    }

    pub(crate) fn backlog(&self) -> usize {
        self.backlog.bytes.load(Ordering::SeqCst)
    }

    pub(crate) fn mark_throttled(&self) {
        self.backlog.throttled.store(true, Ordering::SeqCst);
    }

    /// Tells the writer, now, to abandon what is queued, say why, and close.
    pub(crate) fn overflow(&self) {
        self.backlog.overflowed.store(true, Ordering::Release);
        // Wake a writer that waits on an empty channel.
        let _ = self.tx.send(Outbound::Close);
    }
}
