//! A connection's outbound queue: everything it sends goes through its
//! [`Outbox`], an unbounded channel (whoever routes a message never blocks
//! on a slow socket) plus a count of the bytes queued.
//!
//! Queues stop dispatching to a connection whose backlog is over the
//! dispatch watermark (its writer wakes them when it has drained); topics
//! keep pushing, and a connection whose backlog passes the hard bound is
//! disconnected with an ERROR.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::frame::Frame;
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
    /// connection and the backlog is now under `watermark` (the caller
    /// re-dispatches).
    pub(crate) fn drained(&self, cost: usize, watermark: usize) -> bool {
        let before = self.bytes.fetch_sub(cost, Ordering::SeqCst);
        before.saturating_sub(cost) < watermark && self.throttled.swap(false, Ordering::SeqCst)
    }

    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Acquire)
    }
}

/// The sending half: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    tx: Sender<Outbound>,
    backlog: Arc<Backlog>,
}

impl Outbox {
    /// A new outbox, the receiver its writer drains, and their shared backlog.
    pub(crate) fn new() -> (Outbox, Receiver<Outbound>, Arc<Backlog>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let backlog = Arc::<Backlog>::default();
        let outbox = Outbox {
            tx,
            backlog: backlog.clone(),
        };
        (outbox, rx, backlog)
    }

    /// Queues `item`; hands it back if the writer has already exited.
    pub(crate) fn push(&self, item: Outbound) -> Result<(), Outbound> {
        self.backlog.bytes.fetch_add(item.cost(), Ordering::SeqCst);
        self.tx.send(item).map_err(|e| e.0)
    }

    pub(crate) fn backlog(&self) -> usize {
        self.backlog.bytes.load(Ordering::SeqCst)
    }

    pub(crate) fn mark_throttled(&self) {
        self.backlog.throttled.store(true, Ordering::SeqCst);
    }

    /// Tells the writer to abandon what is queued, say why, and close.
    pub(crate) fn overflow(&self) {
        self.backlog.overflowed.store(true, Ordering::Release);
        // Wake a writer that waits on an empty channel.
        let _ = self.tx.send(Outbound::Close);
    }
}
