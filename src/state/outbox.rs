//! A connection's outbound queue: everything it sends goes through its
//! [`Outbox`] into a [`Conduit`] (an unbounded queue: whoever routes a
//! message never blocks on a slow socket) plus a count of the bytes queued.
//!
//! What one pass over the state queues for a connection is gathered and
//! handed over at the end of the pass ([`Outbox::flush`]), so a pass that
//! delivers 500 messages wakes the writer once, not 500 times. Whoever
//! writes claims the conduit first ([`Conduit::claim`]): the writer thread
//! or, for its own replies, the connection's reader thread, which then
//! sends a RECEIPT at once instead of waking the writer for it.
//!
//! Queues stop dispatching to a connection whose backlog is over the
//! dispatch watermark (its writer wakes them when it has drained); topics
//! keep pushing, and a connection whose backlog passes the hard bound is
//! disconnected with an ERROR.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::protocol::Version;
use crate::protocol::frame::Frame;
use crate::protocol::frame::escape::Escaping;
use crate::protocol::message::Delivery;

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
    /// Send what is queued, then close the connection both ways (the
    /// reader's read ends too): a connection the broker drops.
    Hangup,
    /// Bytes already encoded (the rest of a write the reader began).
    Raw(Bytes),
}

impl Outbound {
    /// The bytes it will take on the wire (near enough: headers and body
    /// counted, escaping not).
    pub(crate) fn cost(&self) -> usize {
        match self {
            Outbound::Frame(frame) => frame.size(),
            Outbound::Delivery(delivery) => delivery.message.cost(),
            _ => 0,
        }
    }
}

/// What the negotiation decided about the wire, for whoever encodes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Wire {
    pub(crate) version: Option<Version>,
    pub(crate) escaping: Escaping,
    pub(crate) heart_beat: Option<Duration>,
}

impl Wire {
    /// Takes in a `Negotiated` item.
    pub(crate) fn negotiated(&mut self, version: Version, heart_beat: Option<Duration>) {
        self.version = Some(version);
        self.escaping = Escaping::for_version(self.version);
        self.heart_beat = heart_beat;
    }
}

/// What is queued for one connection, and who is writing it.
#[derive(Debug, Default)]
pub(crate) struct Queued {
    pub(crate) items: VecDeque<Outbound>,
    /// How to encode: updated by whoever holds the claim.
    pub(crate) wire: Wire,
    /// Someone has claimed the conduit and is writing.
    pub(crate) busy: bool,
    /// The writer thread has exited: nothing more is taken.
    pub(crate) writer_gone: bool,
    /// The state dropped its outbox: nothing more will come.
    pub(crate) senders_gone: bool,
    /// The reader changed `wire` (the heart-beat interval): the writer
    /// looks at it again.
    pub(crate) rewired: bool,
}

/// The queue between a connection's outbox and whoever writes it.
#[derive(Debug, Default)]
pub(crate) struct Conduit {
    queued: Mutex<Queued>,
    ready: Condvar,
}

impl Conduit {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Queued> {
        self.queued.lock()
    }

    /// Waits (up to `deadline`) until there is something to write and
    /// nobody is writing, the senders are gone, or the wire changed;
    /// `false` on timeout.
    pub(crate) fn wait(
        &self,
        queued: &mut MutexGuard<'_, Queued>,
        deadline: Option<Instant>,
    ) -> bool {
        while (queued.items.is_empty() || queued.busy) && !queued.senders_gone && !queued.rewired {
            match deadline {
                Some(deadline) => {
                    if self.ready.wait_until(queued, deadline).timed_out() {
                        return false;
                    }
                }
                None => self.ready.wait(queued),
            }
        }
        true
    }

    /// Wakes the writer.
    pub(crate) fn wake(&self) {
        self.ready.notify_one();
    }

    /// Ends a claim; wakes the writer if more arrived meanwhile.
    pub(crate) fn release(&self, queued: &mut MutexGuard<'_, Queued>) {
        queued.busy = false;
        if !queued.items.is_empty() || queued.senders_gone || queued.rewired {
            self.ready.notify_one();
        }
    }

    fn push(&self, items: &mut Vec<Outbound>, wake: bool) -> Result<(), Vec<Outbound>> {
        let mut queued = self.queued.lock();
        if queued.writer_gone {
            return Err(std::mem::take(items));
        }
        queued.items.extend(items.drain(..));
        if wake && !queued.busy {
            self.ready.notify_one();
        }
        Ok(())
    }

    fn senders_gone(&self) {
        self.queued.lock().senders_gone = true;
        self.ready.notify_one();
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
    conduit: Arc<Conduit>,
    backlog: Arc<Backlog>,
    /// Queued in the current pass, not yet handed over.
    pending: Vec<Outbound>,
    /// What `pending` costs, added to the shared count when it is handed
    /// over (one atomic add per pass, not one per item: the writer's
    /// subtractions touch the same cache line).
    pending_cost: usize,
}

impl Outbox {
    /// A new outbox, the conduit its writer drains, and their shared backlog.
    pub(crate) fn new() -> (Outbox, Arc<Conduit>, Arc<Backlog>) {
        let conduit = Arc::<Conduit>::default();
        let backlog = Arc::<Backlog>::default();
        let outbox = Outbox {
            conduit: conduit.clone(),
            backlog: backlog.clone(),
            pending: Vec::new(),
            pending_cost: 0,
        };
        (outbox, conduit, backlog)
    }

    /// Queues `item` for the end of the pass; true if it is the first this
    /// pass (the caller remembers to flush this outbox).
    pub(crate) fn push(&mut self, item: Outbound) -> bool {
        self.pending_cost += item.cost();
        self.pending.push(item);
        self.pending.len() == 1
    }

    /// Hands what this pass queued over, waking the writer unless `wake` is
    /// false (the connection's own reader will write it); gives it back if
    /// the writer has already exited.
    pub(crate) fn flush(&mut self, wake: bool) -> Result<(), Vec<Outbound>> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let cost = std::mem::take(&mut self.pending_cost);
        self.backlog.bytes.fetch_add(cost, Ordering::SeqCst);
        self.conduit.push(&mut self.pending, wake)
    }

    /// The bytes queued and not yet written, this pass's included.
    pub(crate) fn backlog(&self) -> usize {
        self.backlog.bytes.load(Ordering::SeqCst) + self.pending_cost
    }

    pub(crate) fn mark_throttled(&self) {
        self.backlog.throttled.store(true, Ordering::SeqCst);
    }

    /// Tells the writer, now, to abandon what is queued, say why, and close.
    pub(crate) fn overflow(&self) {
        self.backlog.overflowed.store(true, Ordering::Release);
        let _ = self.conduit.push(&mut vec![Outbound::Close], true);
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        let _ = self.flush(true);
        self.conduit.senders_gone();
    }
}
