//! [`Journal`]: the broker's live state and history as a test reads them.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use bytes::Bytes;

use super::history::History;
use super::kept::{KeptAck, KeptDelivery, KeptMessage};
use super::live::Live;
use super::report::is_published;
use super::waits::Waits;
use crate::config::Config;
use crate::journal::{
    AckKind, AckRecord, AuthFailure, ConnectionId, ConnectionInfo, DeliveryRecord,
    DurableSubscription, ErrorRecord, FrameRecord, PermissionDenial, ProtocolWarning,
    PublishedMessage, QueueSnapshot, SubscriptionInfo, TransactionInfo, TransactionRecord,
};
use crate::protocol::frame::Headers;

/// Everything the broker knows, as a test reads it: the live state
/// (connections, subscriptions, queues, open transactions) and the history
/// (published messages, deliveries, acks, transcripts, ended transactions,
/// closed connections, errors).
///
/// [`Broker::wait_until`](crate::Broker::wait_until) and
/// [`Broker::inspect`](crate::Broker::inspect) hand one to a closure, under
/// the broker's lock (keep the closure short); the
/// [`Broker`](crate::Broker)'s other readers return the same data as owned
/// values. Records are built as they are read, so reading is cheap for the
/// broker and costs the reader a copy.
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
/// assert_eq!(broker.published_to("/queue/b").unwrap()[0].body_text(), "2");
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Debug)]
pub struct Journal {
    pub(crate) live: Live,
    pub(crate) history: History,
    pub(crate) waits: Waits,
}

impl Journal {
    pub(crate) fn new(config: &Config, message_ids: Arc<AtomicU64>) -> Journal {
        Journal {
            live: Live::new(
                config.destinations.clone(),
                config.semantics.clone(),
                message_ids,
                config.dispatch_watermark,
                config.max_backlog,
            ),
            history: History::new(
                config.journal_limits,
                config.recording,
                config.memory_budget,
            ),
            waits: Waits::default(),
        }
    }

    /// Whether history is being recorded (see [`BrokerBuilder::recording`](crate::BrokerBuilder::recording)).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().recording(false).start()?;
    /// assert!(!broker.inspect(|j| j.is_recording()));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn is_recording(&self) -> bool {
        self.history.recording
    }

    /// How many old published messages were dropped to stay within
    /// [`JournalLimits`](crate::journal::JournalLimits).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert_eq!(broker.inspect(|j| j.evicted_messages()), 0);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn evicted_messages(&self) -> u64 {
        self.history.evicted_messages
    }

    /// Every published message still in the journal, oldest first:
    /// published means sent outside a transaction, committed, or injected
    /// (what the waits and [`Expectation::published`](crate::Expectation::published)
    /// count too). Messages of transactions that have not committed are
    /// [`Journal::uncommitted`].
    ///
    /// # Examples
    /// See [`Journal`].
    pub fn published(&self) -> impl Iterator<Item = PublishedMessage> + '_ {
        self.history
            .published
            .iter()
            .filter(|m| is_published(m.status))
            .map(KeptMessage::render)
    }

    /// The messages sent inside transactions that have not committed:
    /// still open, aborted, or rolled back when their connection closed,
    /// each with its [`status`](PublishedMessage::status); oldest first.
    /// Nothing of them was published.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client, journal::MessageStatus};
    ///
    /// let broker = Broker::start()?;
    /// let mut client = Client::connect(broker.addr())?;
    /// client.begin("t1")?;
    /// client.send_in("t1", "/queue/a", "not yet")?;
    /// client.send_with_receipt("/queue/a", "now")?;
    /// broker.inspect(|j| {
    ///     assert_eq!(j.published().count(), 1);
    ///     let pending: Vec<_> = j.uncommitted().collect();
    ///     assert_eq!(pending[0].status, MessageStatus::InTransaction);
    /// });
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn uncommitted(&self) -> impl Iterator<Item = PublishedMessage> + '_ {
        self.history
            .published
            .iter()
            .filter(|m| !is_published(m.status))
            .map(KeptMessage::render)
    }

    /// The published messages after `seq` (their
    /// [`seq`](PublishedMessage::seq) is greater), oldest first: a page of a
    /// long journal starts where the last ended, without reading what came
    /// before.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// for body in ["1", "2", "3"] {
    ///     broker.publish("/queue/a", body);
    /// }
    /// let page: Vec<_> = broker.inspect(|j| j.published_after(1).take(1).collect());
    /// assert_eq!((page[0].seq, page[0].body_text()), (2, "2".into()));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn published_after(&self, seq: u64) -> impl Iterator<Item = PublishedMessage> + '_ {
        let first = self.history.published.front().map_or(0, |m| m.seq);
        let skip = usize::try_from((seq + 1).saturating_sub(first)).unwrap_or(usize::MAX);
        self.history
            .published
            .iter()
            .skip(skip)
            .filter(|m| is_published(m.status))
            .map(KeptMessage::render)
    }

    /// The messages published to `destination`, oldest first (see
    /// [`Journal::published`]).
    ///
    /// # Examples
    /// See [`Journal`].
    pub fn published_to<'a>(
        &'a self,
        destination: &'a str,
    ) -> impl Iterator<Item = PublishedMessage> + 'a {
        self.history
            .published
            .iter()
            .filter(move |t| *t.stored.destination == *destination && is_published(t.status))
            .map(KeptMessage::render)
    }

    /// How many messages `destination` received (sent outside a transaction,
    /// committed, or injected) since the broker started or the journal was
    /// last reset, evicted ones included: a running count, read without
    /// scanning the journal (what waits check on every change).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/a", "x");
    /// assert_eq!(broker.inspect(|j| j.count_published_to("/queue/a")), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn count_published_to(&self, destination: &str) -> usize {
        let counts = &self.history.counts.published;
        counts.get(destination).copied().unwrap_or(0)
    }

    /// Every MESSAGE frame sent, oldest first.
    ///
    /// # Examples
    /// See [`DeliveryRecord`].
    pub fn deliveries(&self) -> impl Iterator<Item = DeliveryRecord> + '_ {
        self.history.deliveries.iter().map(KeptDelivery::render)
    }

    /// Every message settled by ACK or NACK, oldest first.
    ///
    /// # Examples
    /// See [`AckRecord`].
    pub fn acks(&self) -> impl Iterator<Item = AckRecord> + '_ {
        self.history.acks.iter().map(KeptAck::render)
    }

    /// How many messages were settled by `kind` since the broker started or
    /// the journal was last reset: a running count, read without scanning.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert_eq!(broker.inspect(|j| j.count_acks(stompbox::journal::AckKind::Ack)), 0);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn count_acks(&self, kind: AckKind) -> usize {
        match kind {
            AckKind::Ack => self.history.counts.acks,
            AckKind::Nack => self.history.counts.nacks,
        }
    }

    /// How many clients are connected now (CONNECT done, not closed): a
    /// running count, read without scanning.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let _client = stompbox::Client::connect(broker.addr())?;
    /// assert_eq!(broker.inspect(|j| j.count_connected()), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn count_connected(&self) -> usize {
        self.history.counts.connected
    }

    /// Whether `destination` has a subscriber now, read without scanning.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.subscribe("/topic/t", stompbox::AckMode::Auto)?;
    /// assert!(broker.inspect(|j| j.has_subscriber("/topic/t")));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn has_subscriber(&self, destination: &str) -> bool {
        self.live.has_subscriber(destination)
    }

    /// The active subscriptions, by connection then id (read from the live
    /// state, whether or not history is recorded).
    ///
    /// # Examples
    /// See [`SubscriptionInfo`].
    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        self.live.subscriptions()
    }

    /// The open transactions, by connection then id, with the frames each
    /// has buffered (read from the live state).
    ///
    /// # Examples
    /// See [`TransactionInfo`].
    pub fn transactions(&self) -> Vec<TransactionInfo> {
        self.live.transactions()
    }

    /// What queue `destination` holds: messages waiting, and messages its
    /// consumers have not acknowledged yet.
    ///
    /// # Examples
    /// See [`QueueSnapshot`].
    pub fn queue(&self, destination: &str) -> QueueSnapshot {
        self.live.queue_snapshot(destination)
    }

    /// Every queue that holds messages or has consumers, by name.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/a", "x");
    /// assert_eq!(broker.inspect(|j| j.queues())[0].destination, "/queue/a");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn queues(&self) -> Vec<QueueSnapshot> {
        self.live
            .queue_names()
            .iter()
            .map(|name| self.live.queue_snapshot(name))
            .collect()
    }

    /// Ended transactions (committed, aborted, rolled back), oldest first.
    ///
    /// # Examples
    /// See [`TransactionRecord`].
    pub fn transaction_history(&self) -> impl Iterator<Item = &TransactionRecord> {
        self.history.transactions.iter()
    }

    /// Every connection, open and closed, in the order they were accepted.
    ///
    /// # Examples
    /// See [`ConnectionInfo`].
    pub fn connections(&self) -> impl Iterator<Item = &ConnectionInfo> {
        self.history.connections.values()
    }

    /// A connection's frames in and out (heart-beats included), oldest first;
    /// `None` when recording is off or the journal knows no such connection.
    ///
    /// # Examples
    /// See [`FrameRecord`].
    pub fn frames(&self, connection: ConnectionId) -> Option<Vec<FrameRecord>> {
        if !self.history.recording {
            return None;
        }
        self.history.frames_of(connection)
    }

    /// The refused CONNECTs, oldest first.
    ///
    /// # Examples
    /// See [`AuthFailure`].
    pub fn auth_failures(&self) -> impl Iterator<Item = &AuthFailure> {
        self.history.auth_failures.iter()
    }

    /// The frames refused for lack of permission, oldest first.
    ///
    /// # Examples
    /// See [`PermissionDenial`].
    pub fn permission_denials(&self) -> impl Iterator<Item = &PermissionDenial> {
        self.history.denials.iter()
    }

    /// When the broker restarted, oldest first (times since it started).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.restart()?;
    /// assert_eq!(broker.inspect(|j| j.restarts().len()), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn restarts(&self) -> &[std::time::Duration] {
        &self.history.restarts
    }

    /// The ERROR frames sent, oldest first.
    ///
    /// # Examples
    /// See [`Broker::errors_sent`](crate::Broker::errors_sent).
    pub fn errors_sent(&self) -> impl Iterator<Item = &ErrorRecord> {
        self.history.errors.iter()
    }

    /// The durable topic subscriptions, by name.
    ///
    /// # Examples
    /// See [`DurableSubscription`](crate::journal::DurableSubscription).
    pub fn durable_subscriptions(&self) -> Vec<DurableSubscription> {
        self.live.durable_subscriptions()
    }

    /// What clients did that STOMP does not allow but the real brokers
    /// accept (stompbox accepts it too), oldest first.
    ///
    /// # Examples
    /// See [`ProtocolWarning`](crate::journal::ProtocolWarning).
    pub fn protocol_warnings(&self) -> impl Iterator<Item = &ProtocolWarning> {
        self.history.warnings.iter()
    }

    /// The time since the broker started, as records give it.
    pub(crate) fn now(&self) -> std::time::Duration {
        self.history.now()
    }

    /// Publishes a message made by the broker's own API (no connection):
    /// recorded as [`Origin::Injected`](crate::journal::Origin::Injected), then routed.
    pub(crate) fn inject(&mut self, id: u64, destination: &str, headers: Headers, body: Bytes) {
        let message = self
            .history
            .sent(None, id, Arc::from(destination), headers, body, None);
        self.live.publish(message, &mut self.history);
    }

    /// Forgets the history; live connections, subscriptions and open
    /// transactions stay (their counters restart from zero).
    pub(crate) fn reset(&mut self) {
        self.history.reset();
        self.live.reset_counters();
    }
}
