//! What the broker saw: the journal a test reads, waits on and subscribes to.
//!
//! One [`Journal`] per broker, behind its own lock and condition variable.
//! The router records into it while holding the router's lock (lock order:
//! router, then journal; never the reverse), sessions and writers record
//! frames into it directly, and waits block on its condition variable, which
//! is notified on every change.
//!
//! The history (published messages, deliveries, acks, transcripts, ended
//! transactions, closed connections, errors) is bounded by [`JournalLimits`]
//! and can be switched off; the live state (connections, subscriptions, open
//! transactions) is always kept.

mod events;
mod recorder;
mod records;
mod report;
mod tracked;
mod transcript;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::Sender;

pub use events::Event;
pub use records::{
    AckKind, AckRecord, AuthFailure, CloseReason, ConnectionId, ConnectionInfo, DeliveryRecord,
    ErrorRecord, FrameRecord, MessageStatus, Origin, PermissionDenial, PublishedMessage,
    QueueSnapshot, QueuedMessage, Recipient, SubscriptionInfo, TransactionInfo, TransactionOutcome,
    TransactionRecord,
};

pub(crate) use recorder::Recorder;
pub(crate) use report::is_published;
pub(crate) use tracked::Entry;
use tracked::{AckEntry, DeliveryEntry, Tracked};
pub(crate) use transcript::Transcript;

use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Weak};

use crate::broker::message::{Delivery, Stored};
use crate::{Ack, DestinationKind, Direction, Frame, Headers, Version};

/// How much history the journal keeps; older entries are dropped first.
///
/// # Examples
/// ```
/// use stompbox::{Broker, JournalLimits};
///
/// let broker = Broker::builder()
///     .journal_limits(JournalLimits { messages: 1_000, ..JournalLimits::default() })
///     .start()?;
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalLimits {
    /// Published messages, deliveries and acks kept, each (default 100,000).
    pub messages: usize,
    /// Bytes of published bodies kept (default 256 MiB).
    pub body_bytes: usize,
    /// Transcript entries kept per connection (default 10,000).
    pub frames_per_connection: usize,
    /// Closed connections, ended transactions and errors kept (default 10,000).
    pub closed: usize,
}

impl Default for JournalLimits {
    fn default() -> Self {
        JournalLimits {
            messages: 100_000,
            body_bytes: 256 * 1024 * 1024,
            frames_per_connection: 10_000,
            closed: 10_000,
        }
    }
}

/// Everything the broker has seen, as a test reads it.
///
/// [`Broker::wait_until`](crate::Broker::wait_until) hands one to its
/// condition; the [`Broker`](crate::Broker)'s inspection methods return the
/// same data as owned values. Records of messages are built as they are read,
/// so reading is cheap for the broker and costs the reader a copy.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.send("/queue/a", "1")?;
/// client.send("/queue/b", "2")?;
/// broker.wait_until(|journal| journal.published().count() == 2, Duration::from_secs(1))?;
/// assert_eq!(broker.published_to("/queue/b")[0].body_text(), "2");
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Debug)]
pub struct Journal {
    started: Instant,
    recording: bool,
    limits: JournalLimits,
    next_seq: u64,
    published: VecDeque<Tracked>,
    body_bytes: usize,
    evicted_messages: u64,
    deliveries: VecDeque<DeliveryEntry>,
    acks: VecDeque<AckEntry>,
    subscriptions: BTreeMap<ConnectionId, BTreeMap<String, SubscriptionInfo>>,
    open_transactions: BTreeMap<(ConnectionId, String), (TransactionInfo, Vec<u64>)>,
    history: VecDeque<TransactionRecord>,
    connections: BTreeMap<ConnectionId, ConnectionInfo>,
    origins: HashMap<ConnectionId, Arc<Origin>>,
    closed_order: VecDeque<ConnectionId>,
    transcripts: HashMap<ConnectionId, Arc<Transcript>>,
    /// How many waits are blocked; transcripts wake them only if any.
    waiters: Arc<AtomicUsize>,
    recorder: Weak<Recorder>,
    errors: VecDeque<ErrorRecord>,
    auth_failures: VecDeque<AuthFailure>,
    denials: VecDeque<PermissionDenial>,
    close_reasons: HashMap<ConnectionId, CloseReason>,
    listeners: Vec<Sender<Event>>,
}

impl Journal {
    fn new(
        limits: JournalLimits,
        recording: bool,
        waiters: Arc<AtomicUsize>,
        recorder: Weak<Recorder>,
    ) -> Journal {
        Journal {
            waiters,
            recorder,
            started: Instant::now(),
            recording,
            limits,
            next_seq: 1,
            published: VecDeque::new(),
            body_bytes: 0,
            evicted_messages: 0,
            deliveries: VecDeque::new(),
            acks: VecDeque::new(),
            subscriptions: BTreeMap::new(),
            open_transactions: BTreeMap::new(),
            history: VecDeque::new(),
            connections: BTreeMap::new(),
            origins: HashMap::new(),
            closed_order: VecDeque::new(),
            transcripts: HashMap::new(),
            errors: VecDeque::new(),
            auth_failures: VecDeque::new(),
            denials: VecDeque::new(),
            close_reasons: HashMap::new(),
            listeners: Vec::new(),
        }
    }

    // ---- reading -------------------------------------------------------

    /// Whether history is being recorded (see [`BrokerBuilder::recording`](crate::BrokerBuilder::recording)).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().recording(false).start()?;
    /// assert!(!broker.inspect(|j| j.is_recording()));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn is_recording(&self) -> bool {
        self.recording
    }

    /// How many old published messages were dropped to stay within
    /// [`JournalLimits`].
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert_eq!(broker.inspect(|j| j.evicted_messages()), 0);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn evicted_messages(&self) -> u64 {
        self.evicted_messages
    }

    /// Every published message still in the journal, oldest first.
    ///
    /// # Examples
    /// See [`Journal`].
    pub fn published(&self) -> impl Iterator<Item = PublishedMessage> + '_ {
        self.published.iter().map(Tracked::render)
    }

    /// The published messages sent to `destination`, oldest first; messages
    /// of transactions that never committed are included, with their status.
    ///
    /// # Examples
    /// See [`Journal`].
    pub fn published_to<'a>(
        &'a self,
        destination: &'a str,
    ) -> impl Iterator<Item = PublishedMessage> + 'a {
        self.published
            .iter()
            .filter(move |t| t.stored.destination == destination)
            .map(Tracked::render)
    }

    /// How many messages `destination` received (sent outside a transaction,
    /// committed, or injected), without copying them.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/a", "x");
    /// assert_eq!(broker.inspect(|j| j.count_published_to("/queue/a")), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn count_published_to(&self, destination: &str) -> usize {
        self.published
            .iter()
            .filter(|t| t.stored.destination == destination && is_published(t.status))
            .count()
    }

    /// Every MESSAGE frame sent, oldest first.
    ///
    /// # Examples
    /// See [`DeliveryRecord`].
    pub fn deliveries(&self) -> impl Iterator<Item = DeliveryRecord> + '_ {
        self.deliveries.iter().map(DeliveryEntry::render)
    }

    /// Every message settled by ACK or NACK, oldest first.
    ///
    /// # Examples
    /// See [`AckRecord`].
    pub fn acks(&self) -> impl Iterator<Item = AckRecord> + '_ {
        self.acks.iter().map(AckEntry::render)
    }

    /// How many messages were settled by `kind`, without copying them.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert_eq!(broker.inspect(|j| j.count_acks(stompbox::AckKind::Ack)), 0);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn count_acks(&self, kind: AckKind) -> usize {
        self.acks.iter().filter(|a| a.kind == kind).count()
    }

    /// The active subscriptions, by connection then id.
    ///
    /// # Examples
    /// See [`SubscriptionInfo`].
    pub fn subscriptions(&self) -> impl Iterator<Item = &SubscriptionInfo> {
        self.subscriptions.values().flat_map(BTreeMap::values)
    }

    /// The open transactions, by connection then id.
    ///
    /// # Examples
    /// See [`TransactionInfo`].
    pub fn transactions(&self) -> impl Iterator<Item = &TransactionInfo> {
        self.open_transactions.values().map(|(info, _)| info)
    }

    /// Ended transactions (committed, aborted, rolled back), oldest first.
    ///
    /// # Examples
    /// See [`TransactionRecord`].
    pub fn transaction_history(&self) -> impl Iterator<Item = &TransactionRecord> {
        self.history.iter()
    }

    /// Every connection, open and closed, in the order they were accepted.
    ///
    /// # Examples
    /// See [`ConnectionInfo`].
    pub fn connections(&self) -> impl Iterator<Item = &ConnectionInfo> {
        self.connections.values()
    }

    /// A connection's frames in and out (heart-beats included), oldest first;
    /// `None` when recording is off or the journal knows no such connection.
    ///
    /// # Examples
    /// See [`FrameRecord`].
    pub fn frames(&self, connection: ConnectionId) -> Option<Vec<FrameRecord>> {
        if !self.recording {
            return None;
        }
        self.transcripts.get(&connection).map(|t| t.render())
    }

    /// The refused CONNECTs, oldest first.
    ///
    /// # Examples
    /// See [`AuthFailure`].
    pub fn auth_failures(&self) -> impl Iterator<Item = &AuthFailure> {
        self.auth_failures.iter()
    }

    /// The frames refused for lack of permission, oldest first.
    ///
    /// # Examples
    /// See [`PermissionDenial`].
    pub fn permission_denials(&self) -> impl Iterator<Item = &PermissionDenial> {
        self.denials.iter()
    }

    /// The ERROR frames sent, oldest first.
    ///
    /// # Examples
    /// See [`Broker::errors_sent`](crate::Broker::errors_sent).
    pub fn errors_sent(&self) -> impl Iterator<Item = &ErrorRecord> {
        self.errors.iter()
    }

    pub(crate) fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn tracked(&mut self, seq: u64) -> Option<&mut Tracked> {
        let first = self.published.front()?.seq;
        let index = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.published.get_mut(index)
    }

    fn subscription(
        &mut self,
        connection: ConnectionId,
        id: &str,
    ) -> Option<&mut SubscriptionInfo> {
        self.subscriptions.get_mut(&connection)?.get_mut(id)
    }

    fn emit(&mut self, event: impl FnOnce(&Journal) -> Event) {
        if self.listeners.is_empty() {
            return;
        }
        let event = event(self);
        self.listeners.retain(|l| l.send(event.clone()).is_ok());
    }

    // ---- connections ---------------------------------------------------

    /// A socket was accepted; returns its transcript when recording.
    pub(crate) fn opened(
        &mut self,
        connection: ConnectionId,
        peer: SocketAddr,
    ) -> Option<Arc<Transcript>> {
        let info = ConnectionInfo {
            id: connection,
            peer,
            login: None,
            client_id: None,
            principal: None,
            headers: Headers::new(),
            version: None,
            heart_beat: (0, 0),
            opened_at: self.now(),
            closed: None,
        };
        self.connections.insert(connection, info);
        if !self.recording {
            return None;
        }
        let transcript = Arc::new(Transcript::new(
            self.limits.frames_per_connection,
            self.started,
            self.waiters.clone(),
            self.recorder.clone(),
        ));
        self.transcripts.insert(connection, transcript.clone());
        Some(transcript)
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
        info.headers = without_passcode(frame.headers());
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

    /// A reason that wins over the one the session will give (the writer
    /// knows a client was too slow; the session only sees the socket close).
    pub(crate) fn set_close_reason(&mut self, connection: ConnectionId, reason: CloseReason) {
        self.close_reasons.insert(connection, reason);
    }

    pub(crate) fn closed(&mut self, connection: ConnectionId, reason: CloseReason) {
        let reason = self.close_reasons.remove(&connection).unwrap_or(reason);
        let at = self.now();
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
            at: self.now(),
        };
        push_bounded(&mut self.auth_failures, record.clone(), self.limits.closed);
        self.emit(|_| Event::AuthenticationFailed(Box::new(record)));
    }

    /// A frame was refused for lack of permission.
    pub(crate) fn denied(&mut self, mut denial: PermissionDenial) {
        denial.at = self.now();
        push_bounded(&mut self.denials, denial.clone(), self.limits.closed);
        self.emit(|_| Event::PermissionDenied(Box::new(denial)));
    }

    // ---- transcripts -----------------------------------------------------

    pub(crate) fn error_sent(&mut self, connection: ConnectionId, error: &Frame) {
        let record = ErrorRecord {
            connection,
            message: error.header("message").unwrap_or_default().to_owned(),
            receipt_id: error.header("receipt-id").map(str::to_owned),
            at: self.now(),
        };
        self.errors.push_back(record);
        if self.errors.len() > self.limits.closed {
            self.errors.pop_front();
        }
        self.emit(|j| Event::ErrorSent(Box::new(j.errors.back().expect("just pushed").clone())));
    }

    // ---- messages --------------------------------------------------------

    /// Records a SEND from `connection` (or an injected message when `None`):
    /// makes the [`Stored`] message with the next `seq`, and puts the SEND in
    /// the connection's transcript.
    pub(crate) fn sent(
        &mut self,
        connection: Option<ConnectionId>,
        id: String,
        destination: &str,
        headers: Headers,
        body: Bytes,
        transaction: Option<&str>,
    ) -> Arc<Stored> {
        if !self.recording {
            return Arc::new(Stored::from_send(id, 0, destination, headers, body));
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        let stored = Arc::new(Stored::from_send(id, seq, destination, headers, body));
        if let Some(transcript) = connection.and_then(|c| self.transcripts.get(&c)) {
            transcript.append(Direction::In, [Entry::Send(stored.clone())]);
        }
        let origin = match connection.and_then(|c| self.origins.get(&c)) {
            Some(origin) => origin.clone(),
            None => Arc::new(Origin::Injected),
        };
        self.body_bytes += stored.body.len();
        self.published.push_back(Tracked {
            seq,
            stored: stored.clone(),
            origin,
            transaction: transaction.map(str::to_owned),
            at: self.now(),
            status: MessageStatus::InTransaction,
            waiting: false,
            awaiting_ack: 0,
            deliveries: Vec::new(),
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
        ack: Ack,
        headers: Headers,
    ) {
        let info = SubscriptionInfo {
            connection,
            id: id.to_owned(),
            destination: destination.to_owned(),
            ack,
            headers,
            delivered: 0,
            acked: 0,
            nacked: 0,
            unacked: 0,
        };
        self.subscriptions
            .entry(connection)
            .or_default()
            .insert(id.to_owned(), info);
        self.emit(|_| Event::Subscribed {
            connection,
            id: id.to_owned(),
            destination: destination.to_owned(),
        });
    }

    pub(crate) fn unsubscribed(&mut self, connection: ConnectionId, id: &str) {
        let Some(subscriptions) = self.subscriptions.get_mut(&connection) else {
            return;
        };
        let removed = subscriptions.remove(id);
        if subscriptions.is_empty() {
            self.subscriptions.remove(&connection);
        }
        if let Some(info) = removed {
            self.emit(|_| Event::Unsubscribed {
                connection,
                id: info.id,
                destination: info.destination,
            });
        }
    }

    pub(crate) fn delivered(&mut self, delivery: &Delivery, connection: ConnectionId) {
        let needs_ack = delivery.ack.is_some();
        if let Some(info) = self.subscription(connection, &delivery.subscription) {
            info.delivered += 1;
            info.unacked += u64::from(needs_ack);
        }
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
        let entry = DeliveryEntry {
            seq,
            stored: delivery.message.clone(),
            connection,
            subscription: delivery.subscription.clone(),
            redelivered: delivery.redelivered,
            count,
            at: self.now(),
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
        stored: &Arc<Stored>,
        kind: AckKind,
        transaction: Option<&str>,
        requeued: bool,
    ) {
        if let Some(info) = self.subscription(connection, subscription) {
            info.unacked = info.unacked.saturating_sub(1);
            match kind {
                AckKind::Ack => info.acked += 1,
                AckKind::Nack => info.nacked += 1,
            }
        }
        if let Some(tracked) = self.tracked(stored.journal_seq) {
            tracked.awaiting_ack = tracked.awaiting_ack.saturating_sub(1);
            tracked.waiting |= requeued;
            tracked.refresh_status();
        }
        if !self.recording {
            return;
        }
        let entry = AckEntry {
            kind,
            stored: stored.clone(),
            connection,
            subscription: subscription.clone(),
            transaction: transaction.map(str::to_owned),
            at: self.now(),
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
        let info = TransactionInfo {
            connection,
            id: id.to_owned(),
            frames: Vec::new(),
            begun_at: self.now(),
        };
        self.open_transactions
            .insert((connection, id.to_owned()), (info, Vec::new()));
        self.emit(|_| Event::TransactionBegun {
            connection,
            id: id.to_owned(),
        });
    }

    /// A frame was buffered in a transaction; `seq` is its SEND's, if any.
    pub(crate) fn buffered(
        &mut self,
        connection: ConnectionId,
        id: &str,
        frame: Frame,
        seq: Option<u64>,
    ) {
        if let Some((info, seqs)) = self.open_transactions.get_mut(&(connection, id.to_owned())) {
            info.frames.push(frame);
            seqs.extend(seq.filter(|&s| s != 0));
        }
    }

    pub(crate) fn ended(
        &mut self,
        connection: ConnectionId,
        id: &str,
        outcome: TransactionOutcome,
    ) {
        let Some((info, seqs)) = self.open_transactions.remove(&(connection, id.to_owned())) else {
            return;
        };
        let status = match outcome {
            TransactionOutcome::Committed => None,
            TransactionOutcome::Aborted => Some(MessageStatus::Discarded),
            TransactionOutcome::RolledBack => Some(MessageStatus::RolledBack),
        };
        if let Some(status) = status {
            for seq in seqs {
                if let Some(tracked) = self.tracked(seq) {
                    tracked.status = status;
                }
            }
        }
        self.history.push_back(TransactionRecord {
            connection,
            id: id.to_owned(),
            outcome,
            frames: info.frames,
            at: self.now(),
        });
        if self.history.len() > self.limits.closed {
            self.history.pop_front();
        }
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
        self.history.clear();
        self.errors.clear();
        self.auth_failures.clear();
        self.denials.clear();
        for id in self.closed_order.drain(..) {
            self.connections.remove(&id);
            self.transcripts.remove(&id);
        }
        for transcript in self.transcripts.values() {
            transcript.clear();
        }
        for info in self
            .subscriptions
            .values_mut()
            .flat_map(BTreeMap::values_mut)
        {
            info.delivered = 0;
            info.acked = 0;
            info.nacked = 0;
            info.unacked = 0;
        }
    }
}

fn push_bounded<T>(list: &mut VecDeque<T>, item: T, limit: usize) {
    list.push_back(item);
    if list.len() > limit {
        list.pop_front();
    }
}

/// CONNECT headers as recorded: everything but the passcode.
fn without_passcode(headers: &Headers) -> Headers {
    let mut kept = Headers::new();
    for (name, value) in headers.iter().filter(|(name, _)| *name != "passcode") {
        kept.push(name, value);
    }
    kept
}
