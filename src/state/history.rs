//! The broker's history: what was published, delivered, acknowledged and
//! refused; connections (closed ones included) and their transcripts; ended
//! transactions and ERROR frames. Bounded by [`JournalLimits`]; with
//! recording off only connections are kept.
//!
//! Written by the live state and the sessions in the same pass that changes
//! the live state, under the broker's one lock; read through
//! [`Journal`](super::Journal). The live state itself (subscriptions, open
//! transactions, queues) is not copied here.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::Sender;

use super::bounded::Bounded;
use super::ids::IdMap;
use super::kept::{KeptAck, KeptDelivery, KeptMessage, RECORD, Recipients};
use super::live::TxOp;
use super::transcript::{Transcript, TranscriptItem};
use super::waits::Changes;
use crate::destination::DestinationKind;
use crate::journal::{
    AckKind, AuthFailure, CloseReason, ConnectionId, ConnectionInfo, Direction, ErrorRecord, Event,
    FrameRecord, JournalLimits, MessageStatus, Origin, PermissionDenial, ProtocolWarning,
    TransactionOutcome, TransactionRecord, WebSocketInfo,
};
use crate::protocol::Version;
use crate::protocol::frame::{Frame, Headers};
use crate::protocol::message::{Delivery, MessageMeter, StoredMessage};
use crate::protocol::secrets::is_secret;

/// What the broker has seen, bounded in count per kind of record and in
/// bytes all told ([`JournalLimits::bytes`]): past the byte bound the
/// oldest records of the kind that holds the most go first (closed
/// connections' transcripts before open ones').
#[derive(Debug)]
pub(crate) struct History {
    pub(super) started: Instant,
    /// The time of the current pass (see [`History::tick`]).
    clock: Duration,
    pub(super) recording: bool,
    pub(super) limits: JournalLimits,
    /// Where every message's bytes are counted while it is alive.
    pub(super) meter: Arc<MessageMeter>,
    /// What messages and the journal may occupy, all told.
    pub(super) budget: usize,
    next_seq: u64,
    pub(super) published: Bounded<KeptMessage>,
    pub(super) evicted_messages: u64,
    pub(super) deliveries: Bounded<KeptDelivery>,
    pub(super) acks: Bounded<KeptAck>,
    pub(super) transactions: Bounded<TransactionRecord>,
    pub(super) connections: BTreeMap<ConnectionId, ConnectionInfo>,
    origins: IdMap<Arc<Origin>>,
    closed_order: VecDeque<ConnectionId>,
    pub(super) transcripts: IdMap<Transcript>,
    /// What the transcripts and the connection records hold.
    transcript_bytes: usize,
    pub(super) errors: Bounded<ErrorRecord>,
    pub(super) warnings: Bounded<ProtocolWarning>,
    pub(super) auth_failures: Bounded<AuthFailure>,
    pub(super) denials: Bounded<PermissionDenial>,
    /// When the broker restarted ([`crate::Broker::restart`]), oldest first.
    pub(super) restarts: Vec<Duration>,
    pub(super) listeners: Vec<Sender<Event>>,
    /// Running counts, so that waits read a number instead of scanning.
    pub(super) counts: Counts,
    /// Whether a wait is blocked: only then are changes noted.
    pub(super) watched: bool,
    /// What this pass changed, for the waits.
    pub(super) changes: Changes,
}

/// What waits and counts read in O(1): kept up to date as things happen,
/// from the start or the last reset (records evicted since still count).
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Messages published to each destination (outside a transaction,
    /// committed, or injected).
    pub(super) published: HashMap<Arc<str>, usize>,
    pub(super) acks: usize,
    pub(super) nacks: usize,
    /// Connections with their CONNECT done and not closed (not reset).
    pub(super) connected: usize,
}

impl History {
    pub(crate) fn new(limits: JournalLimits, recording: bool, budget: usize) -> History {
        History {
            started: Instant::now(),
            clock: Duration::ZERO,
            recording,
            limits,
            meter: Arc::default(),
            budget,
            next_seq: 1,
            published: Bounded::new(limits.messages),
            evicted_messages: 0,
            deliveries: Bounded::new(limits.messages),
            acks: Bounded::new(limits.messages),
            transactions: Bounded::new(limits.closed),
            connections: BTreeMap::new(),
            origins: IdMap::default(),
            closed_order: VecDeque::new(),
            transcripts: IdMap::default(),
            transcript_bytes: 0,
            errors: Bounded::new(limits.closed),
            warnings: Bounded::new(limits.closed),
            auth_failures: Bounded::new(limits.closed),
            denials: Bounded::new(limits.closed),
            restarts: Vec::new(),
            listeners: Vec::new(),
            counts: Counts::default(),
            watched: false,
            changes: Changes::default(),
        }
    }

    /// The bytes the journal holds: its records, transcripts and the
    /// messages it keeps (headers and bodies, each once).
    pub(crate) fn bytes(&self) -> usize {
        self.published.bytes()
            + self.deliveries.bytes()
            + self.acks.bytes()
            + self.transactions.bytes()
            + self.errors.bytes()
            + self.auth_failures.bytes()
            + self.denials.bytes()
            + self.warnings.bytes()
            + self.transcript_bytes
    }

    /// What the broker holds: every message alive, and what the journal
    /// holds besides its messages.
    pub(crate) fn in_use(&self) -> usize {
        let own = self.bytes() - self.published.bytes();
        self.meter.bytes() + own
    }

    /// Keeps the journal within its byte bound and the broker within its
    /// budget (the journal gives way to live messages), the oldest records
    /// going first; `current` is the connection whose transcript is growing.
    fn trim(&mut self, current: Option<ConnectionId>) {
        while self.bytes() > self.limits.bytes || self.in_use() > self.budget {
            if !self.evict_one(current) {
                return;
            }
        }
    }

    /// Lets go of the oldest record of the kind that holds the most bytes.
    pub(super) fn evict_one(&mut self, current: Option<ConnectionId>) -> bool {
        let heaviest = [
            self.published.bytes(),
            self.deliveries.bytes(),
            self.acks.bytes(),
            self.transactions.bytes(),
            self.errors.bytes(),
            self.auth_failures.bytes(),
            self.denials.bytes(),
            self.warnings.bytes(),
            self.transcript_bytes,
        ]
        .into_iter()
        .enumerate()
        .max_by_key(|(_, bytes)| *bytes);
        match heaviest {
            Some((_, 0)) | None => false,
            Some((0, _)) => {
                self.evicted_messages += 1;
                self.published.pop_front().is_some()
            }
            Some((1, _)) => self.deliveries.pop_front().is_some(),
            Some((2, _)) => self.acks.pop_front().is_some(),
            Some((3, _)) => self.transactions.pop_front().is_some(),
            Some((4, _)) => self.errors.pop_front().is_some(),
            Some((5, _)) => self.auth_failures.pop_front().is_some(),
            Some((6, _)) => self.denials.pop_front().is_some(),
            Some((7, _)) => self.warnings.pop_front().is_some(),
            Some(_) => self.evict_transcript_entry(current),
        }
    }

    /// A closed connection's record and transcript, the oldest first; then
    /// the oldest entry of the growing transcript, or of the largest.
    fn evict_transcript_entry(&mut self, current: Option<ConnectionId>) -> bool {
        if let Some(old) = self.closed_order.pop_front() {
            self.forget_connection(old);
            return true;
        }
        let growing = current.filter(|c| self.transcripts.get(c).is_some_and(|t| t.len() > 0));
        let largest = || {
            self.transcripts
                .iter()
                .max_by_key(|(_, t)| t.bytes())
                .map(|(id, _)| *id)
        };
        let Some(conn) = growing.or_else(largest) else {
            return false;
        };
        self.in_transcript(conn, Transcript::drop_oldest)
            .unwrap_or(false)
    }

    /// Forgets a closed connection: its record and its transcript.
    fn forget_connection(&mut self, conn: ConnectionId) {
        if let Some(info) = self.connections.remove(&conn) {
            self.transcript_bytes -= info_weight(&info);
        }
        if let Some(transcript) = self.transcripts.remove(&conn) {
            self.transcript_bytes -= transcript.bytes();
        }
    }

    /// Changes `conn`'s transcript, keeping count of its bytes.
    fn in_transcript<R>(
        &mut self,
        conn: ConnectionId,
        change: impl FnOnce(&mut Transcript) -> R,
    ) -> Option<R> {
        let transcript = self.transcripts.get_mut(&conn)?;
        let before = transcript.bytes();
        let result = change(transcript);
        self.transcript_bytes = self.transcript_bytes + transcript.bytes() - before;
        Some(result)
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

    /// The message with journal `seq`, while the journal keeps it.
    pub(super) fn message(&self, seq: u64) -> Option<Arc<StoredMessage>> {
        let first = self.published.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.published.get(index).map(|kept| kept.stored.clone())
    }

    /// `conn`'s transcript, oldest first.
    pub(super) fn frames_of(&self, conn: ConnectionId) -> Option<Vec<FrameRecord>> {
        let transcript = self.transcripts.get(&conn)?;
        Some(transcript.render(&|seq| self.message(seq)))
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
        entry: TranscriptItem<'_>,
    ) -> Option<u64> {
        let at = self.clock;
        let position = self.in_transcript(conn, |t| t.push(at, direction, entry))?;
        self.trim(Some(conn));
        Some(position)
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
        self.in_transcript(conn, |t| t.fill(position, TranscriptItem::Frame(frame)));
        self.trim(Some(conn));
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
            websocket: None,
            login: None,
            client_id: None,
            principal: None,
            headers: Headers::new(),
            version: None,
            heart_beat: (0, 0),
            subscribed: Vec::new(),
            opened_at: self.clock,
            closed: None,
        };
        self.transcript_bytes += info_weight(&info);
        self.connections.insert(connection, info);
        if self.recording {
            let transcript = Transcript::new(self.limits.frames_per_connection);
            self.transcripts.insert(connection, transcript);
        }
    }

    /// A connection's HTTP request upgraded it to WebSocket.
    pub(crate) fn upgraded(
        &mut self,
        connection: ConnectionId,
        transport: &'static str,
        handshake: WebSocketInfo,
    ) {
        let Some(info) = self.connections.get_mut(&connection) else {
            return;
        };
        self.transcript_bytes -= info_weight(info);
        info.transport = transport;
        info.websocket = Some(handshake);
        self.transcript_bytes += info_weight(info);
    }

    /// Who connection `conn` is, as far as the journal knows.
    pub(crate) fn identity(&self, conn: ConnectionId) -> crate::faults::Identity {
        let info = self.connections.get(&conn);
        crate::faults::Identity {
            connection: conn,
            login: info.and_then(|i| i.login.clone()),
            client_id: info.and_then(|i| i.client_id.clone()),
            principal: info.and_then(|i| i.principal.clone()),
            connected: info.is_some_and(|i| i.version.is_some()),
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
        self.counts.connected += 1;
        if self.watched {
            self.changes.connections();
        }
        self.transcript_bytes -= info_weight(info);
        info.principal = Some(principal);
        info.headers = without_secrets(frame.headers());
        info.login = frame.header("login").map(str::to_owned);
        info.client_id = frame.header("client-id").map(str::to_owned);
        info.version = Some(version);
        info.heart_beat = heart_beat;
        self.transcript_bytes += info_weight(info);
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
            if info.version.is_some() && info.closed.is_none() {
                self.counts.connected -= 1;
                if self.watched {
                    self.changes.connections();
                }
            }
            info.closed = Some((at, reason.clone()));
        }
        self.origins.remove(&connection);
        self.closed_order.push_back(connection);
        while self.closed_order.len() > self.limits.closed {
            if let Some(old) = self.closed_order.pop_front() {
                self.forget_connection(old);
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
        self.auth_failures.push(record.clone());
        self.trim(Some(connection));
        self.emit(|_| Event::AuthenticationFailed(Box::new(record)));
    }

    /// A frame was refused for lack of permission.
    pub(crate) fn denied(&mut self, mut denial: PermissionDenial) {
        denial.at = self.clock;
        let connection = denial.connection;
        self.denials.push(denial.clone());
        self.trim(Some(connection));
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
        if !self.listeners.is_empty() {
            let event = Event::ErrorSent(Box::new(record.clone()));
            self.emit(|_| event);
        }
        self.errors.push(record);
        self.trim(Some(connection));
    }

    /// A client did something the real brokers accept though STOMP does not.
    pub(crate) fn warn(&mut self, connection: ConnectionId, warning: impl Into<String>) {
        if !self.recording {
            return;
        }
        let record = ProtocolWarning {
            connection,
            warning: warning.into(),
            at: self.clock,
        };
        self.warnings.push(record);
        self.trim(Some(connection));
    }

    // ---- messages --------------------------------------------------------

    /// Records a SEND from `connection` (or an injected message when `None`):
    /// makes the stored message with the next `seq`, and puts the SEND in
    /// the connection's transcript.
    pub(crate) fn sent(
        &mut self,
        connection: Option<ConnectionId>,
        id: u64,
        destination: Arc<str>,
        headers: Headers,
        body: Bytes,
        transaction: Option<&str>,
    ) -> Arc<StoredMessage> {
        let stored = self.make_message(id, destination, headers, body);
        if let (true, Some(conn)) = (self.recording, connection) {
            let entry = TranscriptItem::Send(&stored);
            self.record(conn, Direction::In, entry);
        }
        self.kept(stored, connection, transaction)
    }

    /// The message of one part of a composite SEND (`/queue/a,/queue/b`):
    /// kept as [`History::sent`] keeps one, but not transcribed (the
    /// transcript holds the SEND itself, once).
    pub(crate) fn sent_part(
        &mut self,
        connection: ConnectionId,
        id: u64,
        destination: Arc<str>,
        headers: Headers,
        body: Bytes,
        transaction: Option<&str>,
    ) -> Arc<StoredMessage> {
        let stored = self.make_message(id, destination, headers, body);
        self.kept(stored, Some(connection), transaction)
    }

    /// `stored`, kept in the journal (when it records) with its origin.
    fn kept(
        &mut self,
        stored: Arc<StoredMessage>,
        connection: Option<ConnectionId>,
        transaction: Option<&str>,
    ) -> Arc<StoredMessage> {
        if !self.recording {
            return stored;
        }
        let origin = match connection.and_then(|c| self.origins.get(&c)) {
            Some(origin) => origin.clone(),
            None => Arc::new(Origin::Injected),
        };
        self.keep(&stored, origin, transaction, connection);
        stored
    }

    /// A new message, counted by the broker's meter, with the `seq` the
    /// journal will give it (0 when it records nothing).
    fn make_message(
        &self,
        id: u64,
        destination: Arc<str>,
        headers: Headers,
        body: Bytes,
    ) -> Arc<StoredMessage> {
        let seq = if self.recording { self.next_seq } else { 0 };
        Arc::new(StoredMessage::from_send(
            id,
            seq,
            destination,
            headers,
            body,
            Some(&self.meter),
        ))
    }

    /// Keeps a new message in the published list, with the next `seq`.
    fn keep(
        &mut self,
        stored: &Arc<StoredMessage>,
        origin: Arc<Origin>,
        transaction: Option<&str>,
        connection: Option<ConnectionId>,
    ) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let evicted = self.published.push(KeptMessage {
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
        self.evicted_messages += evicted as u64;
        self.trim(connection);
    }

    /// The broker's copy of message `of` for the dead-letter queue
    /// `destination`, recorded with its origin.
    pub(crate) fn dead_letter(
        &mut self,
        id: u64,
        destination: Arc<str>,
        headers: Headers,
        body: Bytes,
        of: u64,
        reason: String,
    ) -> Arc<StoredMessage> {
        let stored = self.make_message(id, destination, headers, body);
        if self.recording {
            let origin = Arc::new(Origin::DeadLetter { of, reason });
            self.keep(&stored, origin, None, None);
        }
        stored
    }

    /// A message ended without (another) delivery: expired, moved to the
    /// dead-letter queue, or rejected.
    pub(crate) fn ended_undelivered(&mut self, seq: u64, status: MessageStatus) {
        if let Some(tracked) = self.tracked(seq) {
            tracked.waiting = false;
            tracked.status = status;
        }
    }

    /// A message left the sender's hands: `subscribers` is how many topic
    /// subscribers it was copied to (ignored for queues).
    pub(crate) fn routed(&mut self, seq: u64, kind: DestinationKind, subscribers: usize) {
        let Some(tracked) = self.tracked(seq) else {
            return;
        };
        let destination = tracked.stored.destination.clone();
        tracked.status = match kind {
            DestinationKind::Topic if subscribers == 0 => MessageStatus::Dropped,
            _ => MessageStatus::Consumed,
        };
        tracked.waiting = kind == DestinationKind::Queue;
        tracked.refresh_status();
        if subscribers > 1 {
            tracked.deliveries.reserve(subscribers);
        }
        if self.watched {
            self.changes.published(&destination);
        }
        match self.counts.published.get_mut(&destination) {
            Some(count) => *count += 1,
            None => {
                self.counts.published.insert(destination, 1);
            }
        }
        if !self.listeners.is_empty() {
            let snapshot = self.tracked(seq).map(|t| t.render());
            self.emit(|_| Event::Published(Box::new(snapshot.expect("tracked above"))));
        }
    }

    pub(crate) fn subscribed(
        &mut self,
        connection: ConnectionId,
        id: &str,
        destination: &str,
        ack: crate::AckMode,
    ) {
        if self.watched {
            self.changes.subscriptions();
        }
        if let Some(info) = self.connections.get_mut(&connection) {
            self.transcript_bytes += destination.len() + 8;
            info.subscribed.push((destination.to_owned(), ack));
        }
        self.emit(|_| Event::Subscribed {
            connection,
            id: id.to_owned(),
            destination: destination.to_owned(),
        });
    }

    pub(crate) fn unsubscribed(&mut self, connection: ConnectionId, id: &str, destination: &str) {
        if self.watched {
            self.changes.subscriptions();
        }
        self.emit(|_| Event::Unsubscribed {
            connection,
            id: id.to_owned(),
            destination: destination.to_owned(),
        });
    }

    /// `delivery` was queued for `connection`'s writer; `subscription` is
    /// its subscription's id as the broker's state holds it (the journal
    /// keeps that one, not the delivery's own: see `Subscription::written_id`).
    pub(crate) fn delivered(
        &mut self,
        delivery: &Delivery,
        subscription: &Arc<str>,
        connection: ConnectionId,
    ) {
        let needs_ack = delivery.ack.is_some();
        if !self.recording {
            return;
        }
        self.record(
            connection,
            Direction::Out,
            TranscriptItem::Delivery(delivery, subscription),
        );
        let seq = delivery.message.journal_seq;
        let Some(tracked) = self.tracked(seq) else {
            return;
        };
        tracked
            .deliveries
            .push((connection, subscription.clone(), delivery.redelivered));
        tracked.waiting = false;
        tracked.awaiting_ack += u32::from(needs_ack);
        tracked.refresh_status();
        let count = u32::try_from(tracked.deliveries.len()).unwrap_or(u32::MAX);
        let entry = KeptDelivery {
            seq,
            message_id: delivery.message.id,
            destination: delivery.message.destination.clone(),
            connection,
            subscription: subscription.clone(),
            redelivered: delivery.redelivered,
            count,
            at: self.clock,
        };
        if !self.listeners.is_empty() {
            let event = Event::Delivered(Box::new(entry.render()));
            self.emit(|_| event);
        }
        self.deliveries.push(entry);
        self.trim(Some(connection));
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
        match kind {
            AckKind::Ack => self.counts.acks += 1,
            AckKind::Nack => self.counts.nacks += 1,
        }
        if self.watched {
            self.changes.acks();
        }
        let entry = KeptAck {
            kind,
            seq: stored.journal_seq,
            message_id: stored.id,
            connection,
            subscription: subscription.clone(),
            transaction: transaction.map(str::to_owned),
            at: self.clock,
        };
        if !self.listeners.is_empty() {
            let record = Box::new(entry.render());
            let event = match kind {
                AckKind::Ack => Event::Acked(record),
                AckKind::Nack => Event::Nacked(record),
            };
            self.emit(|_| event);
        }
        self.acks.push(entry);
        self.trim(Some(connection));
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
        self.transactions.push(record);
        self.trim(Some(connection));
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
    /// The broker restarted: every connection has closed, its queues were
    /// kept or wiped.
    pub(crate) fn restarted(&mut self, queues_kept: bool) {
        let at = self.clock;
        self.restarts.push(at);
        self.emit(|_| Event::Restarted { queues_kept });
    }

    pub(crate) fn reset(&mut self) {
        self.published.clear();
        self.restarts.clear();
        self.evicted_messages = 0;
        self.counts = Counts {
            connected: self.counts.connected,
            ..Counts::default()
        };
        self.deliveries.clear();
        self.acks.clear();
        self.transactions.clear();
        self.errors.clear();
        self.warnings.clear();
        self.auth_failures.clear();
        self.denials.clear();
        while let Some(id) = self.closed_order.pop_front() {
            self.forget_connection(id);
        }
        for transcript in self.transcripts.values_mut() {
            self.transcript_bytes -= transcript.bytes();
            transcript.clear();
        }
    }
}

/// What a connection's record holds.
fn info_weight(info: &ConnectionInfo) -> usize {
    let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
    let headers: usize = info
        .headers
        .iter()
        .map(|(n, v)| n.len() + v.len() + 2)
        .sum();
    let handshake = info.websocket.as_ref().map_or(0, |w| {
        w.path.len()
            + w.headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    });
    2 * RECORD
        + headers
        + handshake
        + text(&info.login)
        + text(&info.client_id)
        + text(&info.principal)
        + info
            .subscribed
            .iter()
            .map(|(d, _)| d.len() + 8)
            .sum::<usize>()
}

/// CONNECT headers as recorded: everything but the secrets.
fn without_secrets(headers: &Headers) -> Headers {
    let mut kept = Headers::new();
    for (name, value) in headers.iter().filter(|(name, _)| !is_secret(name)) {
        kept.push(name, value);
    }
    kept
}
