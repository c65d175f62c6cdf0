//! The broker's history: what was published, delivered, acknowledged and
//! refused; connections (closed ones included) and their transcripts; ended
//! transactions and ERROR frames. Bounded by [`JournalLimits`]; with
//! recording off only connections are kept.
//!
//! Written by the live state and the sessions in the same pass that changes
//! the live state, under the broker's one lock; read through
//! [`Journal`](super::Journal). The live state itself (subscriptions, open
//! transactions, queues) is not copied here.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::Sender;

use super::ids::IdMap;
use super::kept::{KeptAck, KeptDelivery, KeptMessage, Recipients, TranscriptItem};
use super::live::TxOp;
use super::transcript::Transcript;
use crate::destination::DestinationKind;
use crate::journal::{
    AckKind, AuthFailure, CloseReason, ConnectionId, ConnectionInfo, Direction, ErrorRecord, Event,
    JournalLimits, MessageStatus, Origin, PermissionDenial, TransactionOutcome, TransactionRecord,
};
use crate::protocol::frame::{Frame, Headers};
use crate::protocol::message::{Delivery, StoredMessage};
use crate::protocol::secrets::is_secret;
use crate::protocol::Version;

/// What the broker has seen, bounded.
#[derive(Debug)]
pub(crate) struct History {
    pub(super) started: Instant,
    /// The time of the current pass (see [`History::tick`]).
    clock: Duration,
    pub(super) recording: bool,
    pub(super) limits: JournalLimits,
    next_seq: u64,
    pub(super) published: VecDeque<KeptMessage>,
    body_bytes: usize,
    pub(super) evicted_messages: u64,
    pub(super) deliveries: VecDeque<KeptDelivery>,
    pub(super) acks: VecDeque<KeptAck>,
    pub(super) transactions: VecDeque<TransactionRecord>,
    pub(super) connections: BTreeMap<ConnectionId, ConnectionInfo>,
    origins: IdMap<Arc<Origin>>,
    closed_order: VecDeque<ConnectionId>,
    pub(super) transcripts: IdMap<Transcript>,
    pub(super) errors: VecDeque<ErrorRecord>,
    pub(super) auth_failures: VecDeque<AuthFailure>,
    pub(super) denials: VecDeque<PermissionDenial>,
    pub(super) listeners: Vec<Sender<Event>>,
}

impl History {
    pub(crate) fn new(limits: JournalLimits, recording: bool) -> History {
        History {
            started: Instant::now(),
            clock: Duration::ZERO,
            recording,
            limits,
            next_seq: 1,
            published: VecDeque::new(),
            body_bytes: 0,
            evicted_messages: 0,
            deliveries: VecDeque::new(),
            acks: VecDeque::new(),
            transactions: VecDeque::new(),
            connections: BTreeMap::new(),
            origins: IdMap::default(),
            closed_order: VecDeque::new(),
            transcripts: IdMap::default(),
            errors: VecDeque::new(),
            auth_failures: VecDeque::new(),
            denials: VecDeque::new(),
            listeners: Vec::new(),
        }
    }

    pub(crate) fn is_recording(&self) -> bool {
        self.recording
    }

    /// The time since the broker started, read from the clock now.
    pub(crate) fn now(&self) -> Duration {
        self.started.elapsed()
    }

    /// Reads the clock for the pass that is starting: everything it records
    /// carries this time (one clock read per pass, not one per record).
    pub(crate) fn tick(&mut self) {
        self.clock = self.started.elapsed();
    }

    /// The time of the current pass.
    pub(crate) fn pass_time(&self) -> Duration {
        self.clock
    }

    fn tracked(&mut self, seq: u64) -> Option<&mut KeptMessage> {
        let first = self.published.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.published.get_mut(index)
    }

    fn emit(&mut self, event: impl FnOnce(&History) -> Event) {
        if self.listeners.is_empty() {
            return;
        }
        let event = event(self);
        self.listeners.retain(|l| l.send(event.clone()).is_ok());
    }

    pub(crate) fn listen(&mut self, listener: Sender<Event>) {
        self.listeners.push(listener);
    }

    // ---- transcripts -----------------------------------------------------

    fn record(
        &mut self,
        conn: ConnectionId,
        direction: Direction,
        entry: TranscriptItem,
    ) -> Option<u64> {
        let at = self.clock;
        let transcript = self.transcripts.get_mut(&conn)?;
        Some(transcript.push(at, direction, entry))
    }

    /// Keeps the place of an incoming frame about to be handled, before
    /// the replies it causes; [`History::fill_in`] puts the frame there.
    pub(crate) fn reserve_in(&mut self, conn: ConnectionId) -> Option<u64> {
        if !self.recording {
            return None;
        }
        self.record(conn, Direction::In, TranscriptItem::Pending)
    }

    /// The frame whose place [`History::reserve_in`] kept.
    pub(crate) fn fill_in(&mut self, conn: ConnectionId, position: u64, frame: Frame) {
        if let Some(transcript) = self.transcripts.get_mut(&conn) {
            transcript.fill(position, TranscriptItem::Frame(frame));
        }
    }

    /// An incoming frame (or heart-beat, `None`) for the transcript.
    pub(crate) fn record_in(&mut self, conn: ConnectionId, frame: Option<&Frame>) {
        if self.recording {
            let entry = frame.map_or(TranscriptItem::HeartBeat, |f| {
                TranscriptItem::Frame(f.clone())
            });
            self.record(conn, Direction::In, entry);
        }
    }

    /// An outgoing frame, as it is queued for the writer.
    pub(crate) fn record_out(&mut self, conn: ConnectionId, frame: Frame) {
        if self.recording {
            self.record(conn, Direction::Out, TranscriptItem::Frame(frame));
        }
    }

    /// An outgoing heart-beat.
    pub(crate) fn record_heart_beat_out(&mut self, conn: ConnectionId) {
        if self.recording {
            self.record(conn, Direction::Out, TranscriptItem::HeartBeat);
        }
    }

    // ---- connections ---------------------------------------------------

    /// A connection was accepted.
    pub(crate) fn opened(
        &mut self,
        connection: ConnectionId,
        peer: SocketAddr,
        transport: &'static str,
    ) {
        let info = ConnectionInfo {
            id: connection,
            peer,
            transport,
            login: None,
            client_id: None,
            principal: None,
            headers: Headers::new(),
            version: None,
            heart_beat: (0, 0),
            opened_at: self.clock,
            closed: None,
        };
        self.connections.insert(connection, info);
        if self.recording {
            let transcript = Transcript::new(self.limits.frames_per_connection);
            self.transcripts.insert(connection, transcript);
        }
    }

    pub(crate) fn connected(
        &mut self,
        connection: ConnectionId,
        frame: &Frame,
        principal: String,
        version: Version,
        heart_beat: (u64, u64),
    ) {
        let Some(info) = self.connections.get_mut(&connection) else {
            return;
        };
        info.principal = Some(principal);
        info.headers = without_secrets(frame.headers());
        info.login = frame.header("login").map(str::to_owned);
        info.client_id = frame.header("client-id").map(str::to_owned);
        info.version = Some(version);
        info.heart_beat = heart_beat;
        let origin = Origin::Client {
            connection,
            login: info.login.clone(),
            client_id: info.client_id.clone(),
        };
        self.origins.insert(connection, Arc::new(origin));
        self.emit(|j| {
            let info = &j.connections[&connection];
            Event::Connected {
                connection,
                login: info.login.clone(),
                client_id: info.client_id.clone(),
            }
        });
    }

    pub(crate) fn closed(&mut self, connection: ConnectionId, reason: CloseReason) {
        let at = self.clock;
        if let Some(info) = self.connections.get_mut(&connection) {
            info.closed = Some((at, reason.clone()));
        }
        self.origins.remove(&connection);
        self.closed_order.push_back(connection);
        while self.closed_order.len() > self.limits.closed {
            if let Some(old) = self.closed_order.pop_front() {
                self.connections.remove(&old);
                self.transcripts.remove(&old);
            }
        }
        self.emit(|_| Event::Disconnected { connection, reason });
    }

    /// A CONNECT was refused.
    pub(crate) fn auth_failed(
        &mut self,
        connection: ConnectionId,
        frame: &Frame,
        reason: &str,
        simulated: bool,
    ) {
        let record = AuthFailure {
            connection,
            login: frame.header("login").map(str::to_owned),
            client_id: frame.header("client-id").map(str::to_owned),
            reason: reason.to_owned(),
            simulated,
            at: self.clock,
        };
        push_bounded(&mut self.auth_failures, record.clone(), self.limits.closed);
        self.emit(|_| Event::AuthenticationFailed(Box::new(record)));
    }

    /// A frame was refused for lack of permission.
    pub(crate) fn denied(&mut self, mut denial: PermissionDenial) {
        denial.at = self.clock;
        push_bounded(&mut self.denials, denial.clone(), self.limits.closed);
        self.emit(|_| Event::PermissionDenied(Box::new(denial)));
    }

    // ---- errors ----------------------------------------------------------

    pub(crate) fn error_sent(&mut self, connection: ConnectionId, error: &Frame) {
        let record = ErrorRecord {
            connection,
            message: error.header("message").unwrap_or_default().to_owned(),
            receipt_id: error.header("receipt-id").map(str::to_owned),
            at: self.clock,
        };
        push_bounded(&mut self.errors, record, self.limits.closed);
        self.emit(|j| Event::ErrorSent(Box::new(j.errors.back().expect("just pushed").clone())));
    }

    // ---- messages --------------------------------------------------------

    /// Records a SEND from `connection` (or an injected message when `None`):
    /// makes the stored message with the next `seq`, and puts the SEND in
    /// the connection's transcript.
    pub(crate) fn sent(
        &mut self,
        connection: Option<ConnectionId>,
        id: u64,
        destination: &str,
        headers: Headers,
        body: Bytes,
        transaction: Option<&str>,
    ) -> Arc<StoredMessage> {
        if !self.recording {
            return Arc::new(StoredMessage::from_send(id, 0, destination, headers, body));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let stored = Arc::new(StoredMessage::from_send(
            id,
            seq,
            destination,
            headers,
            body,
        ));
        if let Some(conn) = connection {
            self.record(conn, Direction::In, TranscriptItem::Send(stored.clone()));
        }
        let origin = match connection.and_then(|c| self.origins.get(&c)) {
            Some(origin) => origin.clone(),
            None => Arc::new(Origin::Injected),
        };
        self.body_bytes += stored.body.len();
        self.published.push_back(KeptMessage {
            seq,
            stored: stored.clone(),
            origin,
            transaction: transaction.map(str::to_owned),
            at: self.clock,
            status: MessageStatus::InTransaction,
            waiting: false,
            awaiting_ack: 0,
            deliveries: Recipients::None,
        });
        while self.published.len() > self.limits.messages
            || (self.body_bytes > self.limits.body_bytes && self.published.len() > 1)
        {
            if let Some(old) = self.published.pop_front() {
                self.body_bytes -= old.stored.body.len();
                self.evicted_messages += 1;
            }
        }
        stored
    }

    /// A message left the sender's hands: `subscribers` is how many topic
    /// subscribers it was copied to (ignored for queues).
    pub(crate) fn routed(&mut self, seq: u64, kind: DestinationKind, subscribers: usize) {
        let Some(tracked) = self.tracked(seq) else {
            return;
        };
        tracked.status = match kind {
            DestinationKind::Topic if subscribers == 0 => MessageStatus::Dropped,
            _ => MessageStatus::Consumed,
        };
        tracked.waiting = kind == DestinationKind::Queue;
        tracked.refresh_status();
        if subscribers > 1 {
            tracked.deliveries.reserve(subscribers);
        }
        if !self.listeners.is_empty() {
            let snapshot = self.tracked(seq).map(|t| t.render());
            self.emit(|_| Event::Published(Box::new(snapshot.expect("tracked above"))));
        }
    }

    pub(crate) fn subscribed(&mut self, connection: ConnectionId, id: &str, destination: &str) {
        self.emit(|_| Event::Subscribed {
            connection,
            id: id.to_owned(),
            destination: destination.to_owned(),
        });
    }

    pub(crate) fn unsubscribed(&mut self, connection: ConnectionId, id: &str, destination: &str) {
        self.emit(|_| Event::Unsubscribed {
            connection,
            id: id.to_owned(),
            destination: destination.to_owned(),
        });
    }

    pub(crate) fn delivered(&mut self, delivery: &Delivery, connection: ConnectionId) {
        let needs_ack = delivery.ack.is_some();
        if !self.recording {
            return;
        }
        self.record(
            connection,
            Direction::Out,
            TranscriptItem::Delivery(delivery.clone()),
        );
        let seq = delivery.message.journal_seq;
        let Some(tracked) = self.tracked(seq) else {
            return;
        };
        tracked.deliveries.push((
            connection,
            delivery.subscription.clone(),
            delivery.redelivered,
        ));
        tracked.waiting = false;
        tracked.awaiting_ack += u32::from(needs_ack);
        tracked.refresh_status();
        let count = u32::try_from(tracked.deliveries.len()).unwrap_or(u32::MAX);
        let entry = KeptDelivery {
            seq,
            stored: delivery.message.clone(),
            connection,
            subscription: delivery.subscription.clone(),
            redelivered: delivery.redelivered,
            count,
            at: self.clock,
        };
        self.deliveries.push_back(entry);
        if self.deliveries.len() > self.limits.messages {
            self.deliveries.pop_front();
        }
        self.emit(|j| {
            Event::Delivered(Box::new(j.deliveries.back().expect("just pushed").render()))
        });
    }

    /// A pending delivery was settled by ACK or NACK; `requeued` says whether
    /// the message went back to its queue.
    #[allow(clippy::too_many_arguments)] // one call site, each argument a different fact
    pub(crate) fn settled(
        &mut self,
        connection: ConnectionId,
        subscription: &Arc<str>,
        stored: &Arc<StoredMessage>,
        kind: AckKind,
        transaction: Option<&str>,
        requeued: bool,
    ) {
        if let Some(tracked) = self.tracked(stored.journal_seq) {
            tracked.awaiting_ack = tracked.awaiting_ack.saturating_sub(1);
            tracked.waiting |= requeued;
            tracked.refresh_status();
        }
        if !self.recording {
            return;
        }
        let entry = KeptAck {
            kind,
            stored: stored.clone(),
            connection,
            subscription: subscription.clone(),
            transaction: transaction.map(str::to_owned),
            at: self.clock,
        };
        self.acks.push_back(entry);
        if self.acks.len() > self.limits.messages {
            self.acks.pop_front();
        }
        self.emit(|j| {
            let record = Box::new(j.acks.back().expect("just pushed").render());
            match kind {
                AckKind::Ack => Event::Acked(record),
                AckKind::Nack => Event::Nacked(record),
            }
        });
    }

    /// A message went back to its queue without an ACK/NACK (its consumer
    /// left, unsubscribed, or could not be written to).
    pub(crate) fn requeued(&mut self, seq: u64, was_pending: bool) {
        if let Some(tracked) = self.tracked(seq) {
            if was_pending {
                tracked.awaiting_ack = tracked.awaiting_ack.saturating_sub(1);
            }
            tracked.waiting = true;
            tracked.refresh_status();
        }
    }

    // ---- transactions ----------------------------------------------------

    pub(crate) fn begun(&mut self, connection: ConnectionId, id: &str) {
        self.emit(|_| Event::TransactionBegun {
            connection,
            id: id.to_owned(),
        });
    }

    /// A transaction ended; `ops` are what it had buffered.
    pub(crate) fn ended(
        &mut self,
        connection: ConnectionId,
        id: &str,
        outcome: TransactionOutcome,
        ops: &[TxOp],
    ) {
        let status = match outcome {
            TransactionOutcome::Committed => None,
            TransactionOutcome::Aborted => Some(MessageStatus::Discarded),
            TransactionOutcome::RolledBack => Some(MessageStatus::RolledBack),
        };
        if let Some(status) = status {
            for op in ops {
                if let TxOp::Send(message) = op {
                    if let Some(tracked) = self.tracked(message.journal_seq) {
                        tracked.status = status;
                    }
                }
            }
        }
        let record = TransactionRecord {
            connection,
            id: id.to_owned(),
            outcome,
            frames: ops.iter().map(TxOp::frame).collect(),
            at: self.clock,
        };
        push_bounded(&mut self.transactions, record, self.limits.closed);
        self.emit(|_| match outcome {
            TransactionOutcome::Committed => Event::TransactionCommitted {
                connection,
                id: id.to_owned(),
            },
            _ => Event::TransactionAborted {
                connection,
                id: id.to_owned(),
                rolled_back: outcome == TransactionOutcome::RolledBack,
            },
        });
    }

    // ---- test controls ---------------------------------------------------

    /// Forgets the history; live connections, subscriptions and open
    /// transactions stay (their counters restart from zero).
    pub(crate) fn reset(&mut self) {
        self.published.clear();
        self.body_bytes = 0;
        self.evicted_messages = 0;
        self.deliveries.clear();
        self.acks.clear();
        self.transactions.clear();
        self.errors.clear();
        self.auth_failures.clear();
        self.denials.clear();
        for id in self.closed_order.drain(..) {
            self.connections.remove(&id);
            self.transcripts.remove(&id);
        }
        for transcript in self.transcripts.values_mut() {
            transcript.clear();
        }
    }
}

fn push_bounded<T>(list: &mut VecDeque<T>, item: T, limit: usize) {
    list.push_back(item);
    if list.len() > limit {
        list.pop_front();
    }
}

/// CONNECT headers as recorded: everything but the secrets.
fn without_secrets(headers: &Headers) -> Headers {
    let mut kept = Headers::new();
    for (name, value) in headers.iter().filter(|(name, _)| !is_secret(name)) {
        kept.push(name, value);
    }
    kept
}
