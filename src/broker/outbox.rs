//! A connection's outbound queue and the writer thread that drains it.
//!
//! Everything a connection sends goes through its [`Outbox`]: an unbounded
//! channel, so that whoever routes a message never blocks on a slow socket,
//! plus a byte count of what is queued. Queues stop dispatching to a
//! connection whose backlog is over the dispatch watermark (the writer wakes
//! them when it has drained); topics keep pushing, and a connection whose
//! backlog passes the hard bound is disconnected with an ERROR.

use std::io::{ErrorKind, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::message::Delivery;
use super::shared::{ConnId, Shared};
use super::traffic::Direction;
use crate::frame::escape::Escaping;
use crate::journal::{CloseReason, Entry, Transcript};
use crate::{Command, Frame, Version};

/// How much the writer gathers before one `write` call.
const BATCH_BYTES: usize = 64 * 1024;
/// How long a blocked write waits before checking whether to give up.
const WRITE_POLL: Duration = Duration::from_millis(250);

/// Something for the writer to do.
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
    fn cost(&self) -> usize {
        match self {
            Outbound::Frame(frame) => frame.body().len() + 128,
            Outbound::Delivery(delivery) => delivery.message.cost(),
            _ => 0,
        }
    }
}

#[derive(Debug, Default)]
struct Backlog {
    bytes: AtomicUsize,
    /// A queue skipped this connection because of its backlog.
    throttled: AtomicBool,
    /// The backlog passed the hard bound: give up on this connection.
    overflowed: AtomicBool,
}

/// The sending half: cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub(crate) struct Outbox {
    tx: Sender<Outbound>,
    backlog: Arc<Backlog>,
}

impl Outbox {
    pub(crate) fn new() -> (Outbox, Receiver<Outbound>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let outbox = Outbox {
            tx,
            backlog: Arc::default(),
        };
        (outbox, rx)
    }

    /// Queues `item`; hands it back if the writer has already exited.
    pub(crate) fn push(&self, item: Outbound) -> Result<(), Outbound> {
        self.backlog.bytes.fetch_add(item.cost(), Ordering::Relaxed);
        self.tx.send(item).map_err(|e| e.0)
    }

    /// Queues a frame; if the writer has exited the connection is closing
    /// and there is nobody left to tell.
    pub(crate) fn frame(&self, frame: Frame) {
        let _ = self.push(Outbound::Frame(frame));
    }

    pub(crate) fn backlog(&self) -> usize {
        self.backlog.bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn mark_throttled(&self) {
        self.backlog.throttled.store(true, Ordering::Relaxed);
    }

    /// Tells the writer to abandon what is queued, say why, and close.
    pub(crate) fn overflow(&self) {
        self.backlog.overflowed.store(true, Ordering::Release);
        // Wake a writer that waits on an empty channel.
        let _ = self.tx.send(Outbound::Close);
    }
}

/// The thread that writes one connection's outbound frames.
pub(crate) struct Writer {
    shared: Arc<Shared>,
    conn: ConnId,
    /// The connection's transcript, when recording.
    transcript: Option<Arc<Transcript>>,
    stream: TcpStream,
    rx: Receiver<Outbound>,
    backlog: Arc<Backlog>,
}

impl Writer {
    pub(crate) fn new(
        shared: Arc<Shared>,
        conn: ConnId,
        stream: TcpStream,
        outbox: &Outbox,
        rx: Receiver<Outbound>,
        transcript: Option<Arc<Transcript>>,
    ) -> Writer {
        Writer {
            shared,
            conn,
            transcript,
            stream,
            rx,
            backlog: outbox.backlog.clone(),
        }
    }

    pub(crate) fn run(mut self) {
        let _ = self.stream.set_write_timeout(Some(WRITE_POLL));
        let mut wire = Wire::default();
        let mut batch = Batch::default();
        let mut failed = false;
        while !batch.closing && !failed {
            let first = match self.next(wire.heart_beat) {
                Next::Item(item) => item,
                Next::HeartBeat => {
                    failed = self.write_all(b"\n").is_err();
                    self.shared.notify(self.conn, Direction::Out, None);
                    self.record([Entry::HeartBeat]);
                    continue;
                }
                Next::Disconnected => break,
            };
            self.gather(first, &mut wire, &mut batch);
            if self.backlog.overflowed.load(Ordering::Acquire) {
                let at_frame_boundary = batch.bytes.is_empty();
                self.abandon_overflowed(batch.in_flight, at_frame_boundary);
                return;
            }
            failed = self.write_all(&batch.bytes).is_err();
            if failed {
                break;
            }
            self.record(batch.transcript.drain(..));
            batch.bytes.clear();
            batch.in_flight.clear();
            self.drained(std::mem::take(&mut batch.cost));
        }
        let _ = self.stream.shutdown(if failed {
            Shutdown::Both
        } else {
            Shutdown::Write
        });
        self.hand_back(batch.in_flight);
    }

    /// Encodes `first` and whatever else is queued, up to [`BATCH_BYTES`].
    fn gather(&self, first: Outbound, wire: &mut Wire, batch: &mut Batch) {
        let recording = self.shared.config.recording;
        let mut item = Some(first);
        while let Some(current) = item.take() {
            batch.cost += current.cost();
            match current {
                Outbound::Frame(frame) => {
                    self.shared.notify(self.conn, Direction::Out, Some(&frame));
                    frame.encode_into(wire.version, &mut batch.bytes);
                    if recording {
                        batch.transcript.push(Entry::Frame(frame));
                    }
                }
                Outbound::Delivery(delivery) => {
                    if self.shared.config.observer.is_some() {
                        self.shared
                            .notify(self.conn, Direction::Out, Some(&delivery.to_frame()));
                    }
                    delivery.encode_into(wire.escaping, &mut batch.bytes);
                    if delivery.requeue_if_unsent {
                        batch.in_flight.push(delivery.clone());
                    }
                    if recording {
                        batch.transcript.push(Entry::Delivery(delivery));
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
            }
            if !batch.closing && batch.bytes.len() < BATCH_BYTES {
                item = self.rx.try_recv().ok();
            }
        }
    }

    /// Adds outbound entries to the connection's transcript.
    fn record(&self, entries: impl IntoIterator<Item = Entry>) {
        if let Some(transcript) = &self.transcript {
            transcript.push(Direction::Out, entries);
        }
    }

    fn next(&self, heart_beat: Option<Duration>) -> Next {
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
    fn write_all(&mut self, mut bytes: &[u8]) -> std::io::Result<()> {
        while !bytes.is_empty() {
            match self.stream.write(bytes) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if self.backlog.overflowed.load(Ordering::Acquire)
                        || self.shared.is_shutting_down()
                    {
                        return Err(e);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Subtracts what was written; wakes queues that skipped this connection.
    fn drained(&self, cost: usize) {
        let before = self.backlog.bytes.fetch_sub(cost, Ordering::Relaxed);
        let now = before.saturating_sub(cost);
        if now < self.shared.config.dispatch_watermark
            && self.backlog.throttled.swap(false, Ordering::Relaxed)
        {
            self.shared.router.lock().dispatch_for(self.conn);
        }
    }

    /// The client fell too far behind: drop its backlog (queue messages go
    /// back to their queues), tell it why if the socket still takes bytes, close.
    fn abandon_overflowed(mut self, in_flight: Vec<Delivery>, at_frame_boundary: bool) {
        self.shared
            .journal
            .update(|j| j.set_close_reason(self.conn, CloseReason::SlowConsumer));
        if at_frame_boundary || in_flight.is_empty() {
            let limit = self.shared.config.max_backlog;
            let body = format!(
                "The client did not read its frames fast enough: more than {limit} bytes \
                 were waiting to be sent. Unacknowledged queue messages were returned to \
                 their queues."
            );
            let error = Frame::new(Command::Error)
                .with_header("message", "slow consumer: outbound backlog exceeded")
                .with_header("content-type", "text/plain")
                .with_header("content-length", body.len().to_string())
                .with_body(body);
            self.shared.notify(self.conn, Direction::Out, Some(&error));
            self.record([Entry::Frame(error.clone())]);
            self.shared
                .journal
                .update(|j| j.error_sent(self.conn, &error));
            let _ = self.write_all(&error.encode(None));
        }
        let _ = self.stream.shutdown(Shutdown::Both);
        self.hand_back(in_flight);
    }

    /// Returns auto-acknowledged queue deliveries that were never written.
    fn hand_back(self, mut unsent: Vec<Delivery>) {
        for delivery in &mut unsent {
            delivery.redelivered = true;
        }
        unsent.extend(self.rx.try_iter().filter_map(|item| match item {
            Outbound::Delivery(d) if d.requeue_if_unsent => Some(d),
            _ => None,
        }));
        if !unsent.is_empty() {
            self.shared.router.lock().requeue(unsent);
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
    /// What the transcript gets once `bytes` is written.
    transcript: Vec<Entry>,
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
