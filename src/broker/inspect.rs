//! What a test asks the broker: snapshots of the journal, waits that block
//! on its changes, events, and messages injected by the test.

use std::time::Duration;

use bytes::Bytes;
use crossbeam_channel::Receiver;

use super::Broker;
use crate::error::Error;
use crate::error::{Awaited, Timeout};
use crate::journal::{
    AckKind, AckRecord, ConnectionId, ConnectionInfo, DeliveryRecord, DurableSubscription,
    ErrorRecord, Event, FrameRecord, Journal, MemoryUsage, ProtocolWarning, PublishedMessage,
    QueueSnapshot, SubscriptionInfo, TransactionInfo, TransactionRecord,
};
use crate::protocol::frame::escape::check_header;
use crate::protocol::frame::{FrameError, Headers};
use crate::protocol::message::{StoredMessage, message_id_text};
use crate::state::{BrokerState, Watch};

impl Broker {
    /// Runs `read` on the journal, under its lock (keep it short).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/a", "x");
    /// assert_eq!(broker.inspect(|j| j.published().count()), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn inspect<R>(&self, read: impl FnOnce(&Journal) -> R) -> R {
        self.state.read(read)
    }

    /// Every published message still in the journal (sent outside a
    /// transaction, committed, or injected: the meaning the waits and
    /// expectations use), oldest first; see [`PublishedMessage::status`] for
    /// what became of each. `None` when recording is off (so "off" never
    /// reads as "nothing was published"). Messages of transactions that
    /// have not committed are [`Broker::uncommitted`].
    ///
    /// # Examples
    /// See [`PublishedMessage`]. With recording off:
    /// ```
    /// let broker = stompbox::Broker::builder().recording(false).start()?;
    /// broker.publish("/queue/a", "x");
    /// assert!(broker.published().is_none());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn published(&self) -> Option<Vec<PublishedMessage>> {
        self.recorded(|j| j.published().collect())
    }

    /// The messages published to `destination`, oldest first; `None` when
    /// recording is off.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/a", "x");
    /// broker.publish("/queue/b", "y");
    /// let published = broker.published_to("/queue/b").expect("recording is on");
    /// assert_eq!(published[0].body_text(), "y");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn published_to(&self, destination: &str) -> Option<Vec<PublishedMessage>> {
        self.recorded(|j| j.published_to(destination).collect())
    }

    /// The messages sent in transactions that have not committed (open,
    /// aborted, rolled back), with their status, oldest first; `None` when
    /// recording is off.
    ///
    /// # Examples
    /// See [`Journal::uncommitted`].
    pub fn uncommitted(&self) -> Option<Vec<PublishedMessage>> {
        self.recorded(|j| j.uncommitted().collect())
    }

    /// Every MESSAGE frame sent, oldest first; `None` when recording is off.
    ///
    /// # Examples
    /// See [`DeliveryRecord`].
    pub fn deliveries(&self) -> Option<Vec<DeliveryRecord>> {
        self.recorded(|j| j.deliveries().collect())
    }

    /// Every message settled by ACK or NACK, oldest first; `None` when
    /// recording is off.
    ///
    /// # Examples
    /// See [`AckRecord`].
    pub fn acks(&self) -> Option<Vec<AckRecord>> {
        self.recorded(|j| j.acks().collect())
    }

    /// `read` of the journal when it records history, else `None`.
    fn recorded<R>(&self, read: impl FnOnce(&Journal) -> R) -> Option<R> {
        self.inspect(|j| j.is_recording().then(|| read(j)))
    }

    /// The active subscriptions.
    ///
    /// # Examples
    /// See [`SubscriptionInfo`].
    pub fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        self.inspect(Journal::subscriptions)
    }

    /// The open transactions, with the frames buffered in each.
    ///
    /// # Examples
    /// See [`TransactionInfo`].
    pub fn transactions(&self) -> Vec<TransactionInfo> {
        self.inspect(Journal::transactions)
    }

    /// Ended transactions: committed, aborted, rolled back.
    ///
    /// # Examples
    /// See [`TransactionRecord`].
    pub fn transaction_history(&self) -> Vec<TransactionRecord> {
        self.inspect(|j| j.transaction_history().cloned().collect())
    }

    /// Every connection, open and closed, oldest first.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let client = stompbox::Client::connect(broker.addr())?;
    /// assert!(broker.connections()[0].is_connected());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        self.inspect(|j| j.connections().cloned().collect())
    }

    /// A connection's transcript: every frame in and out, heart-beats
    /// included. `None` when recording is off or there is no such connection.
    ///
    /// # Examples
    /// See [`FrameRecord`].
    pub fn frames(&self, connection: ConnectionId) -> Option<Vec<FrameRecord>> {
        self.inspect(|j| j.frames(connection))
    }

    /// A connection's frames as their directions and commands, oldest
    /// first, heart-beats left out: the shape of a conversation, for an
    /// `assert_eq!`. `None` when recording is off or there is no such
    /// connection.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client};
    ///
    /// let broker = Broker::start()?;
    /// let mut client = Client::builder().header("client-id", "svc").connect(broker.addr())?;
    /// client.send_with_receipt("/queue/a", "x")?;
    /// let id = broker.connection_by_client_id("svc").unwrap().id;
    /// assert_eq!(
    ///     broker.commands(id).unwrap(),
    ///     ["<- CONNECT", "-> CONNECTED", "<- SEND", "-> RECEIPT"]
    /// );
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn commands(&self, connection: ConnectionId) -> Option<Vec<String>> {
        let frames = self.frames(connection)?;
        Some(
            frames
                .iter()
                .filter_map(|f| {
                    let frame = f.frame.as_ref()?;
                    Some(format!("{} {}", f.direction, frame.command()))
                })
                .collect(),
        )
    }

    /// The latest connection whose CONNECT had `client-id` `client_id`.
    ///
    /// # Examples
    /// See [`Broker::commands`].
    pub fn connection_by_client_id(&self, client_id: &str) -> Option<ConnectionInfo> {
        self.inspect(|j| {
            j.connections()
                .filter(|c| c.client_id.as_deref() == Some(client_id))
                .last()
                .cloned()
        })
    }

    /// The latest connection whose CONNECT had `login` `login`.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let _alice = stompbox::Client::builder().login("alice", "pw").connect(broker.addr())?;
    /// assert!(broker.connection_by_login("alice").unwrap().is_connected());
    /// assert!(broker.connection_by_login("bob").is_none());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn connection_by_login(&self, login: &str) -> Option<ConnectionInfo> {
        self.inspect(|j| {
            j.connections()
                .filter(|c| c.login.as_deref() == Some(login))
                .last()
                .cloned()
        })
    }

    /// The ERROR frames the broker sent.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{Broker, Client};
    /// use stompbox::frame::{Command, Frame};
    ///
    /// let broker = Broker::start()?;
    /// let mut client = Client::connect(broker.addr())?;
    /// client.send_frame(&Frame::new(Command::Send))?; // no destination
    /// broker.wait_until(|j| j.errors_sent().count() == 1, Duration::from_secs(1))?;
    /// assert_eq!(broker.errors_sent()[0].message, "missing 'destination' header");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn errors_sent(&self) -> Vec<ErrorRecord> {
        self.inspect(|j| j.errors_sent().cloned().collect())
    }

    /// The durable topic subscriptions, with what waits for each.
    ///
    /// # Examples
    /// See [`DurableSubscription`](crate::journal::DurableSubscription).
    pub fn durable_subscriptions(&self) -> Vec<DurableSubscription> {
        self.inspect(|j| j.durable_subscriptions())
    }

    /// What clients did that STOMP does not allow but ActiveMQ and RabbitMQ
    /// accept, so stompbox accepted it too: a test can assert that its client
    /// does not rely on leniency.
    ///
    /// # Examples
    /// See [`ProtocolWarning`](crate::journal::ProtocolWarning).
    pub fn protocol_warnings(&self) -> Vec<ProtocolWarning> {
        self.inspect(|j| j.protocol_warnings().cloned().collect())
    }

    /// What queue `destination` holds: messages waiting, and messages its
    /// consumers have not acknowledged yet.
    ///
    /// # Examples
    /// See [`QueueSnapshot`].
    pub fn queue(&self, destination: &str) -> QueueSnapshot {
        self.inspect(|j| j.queue(destination))
    }

    /// Every queue that holds messages or has consumers.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/a", "x");
    /// assert_eq!(broker.queues()[0].destination, "/queue/a");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn queues(&self) -> Vec<QueueSnapshot> {
        self.inspect(Journal::queues)
    }

    /// What the broker holds in memory, against its budget
    /// ([`BrokerBuilder::memory_budget`](crate::BrokerBuilder::memory_budget)).
    ///
    /// # Examples
    /// See [`MemoryUsage`].
    pub fn memory(&self) -> MemoryUsage {
        self.inspect(Journal::memory)
    }

    /// A new receiver of [`Event`]s from now on. Any number may exist; each
    /// gets every event. Events queue up unread until the receiver is read
    /// or dropped.
    ///
    /// # Examples
    /// See [`Event`].
    pub fn events(&self) -> Receiver<Event> {
        let (tx, rx) = crossbeam_channel::unbounded();
        self.state.update(|j| j.history.listen(tx));
        rx
    }

    /// Publishes a message as if a producer had sent it (marked
    /// [`Origin::Injected`](crate::journal::Origin::Injected) in the journal); returns
    /// its `message-id`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{AckMode, Broker, Client};
    ///
    /// let broker = Broker::start()?;
    /// let mut consumer = Client::connect(broker.addr())?;
    /// consumer.subscribe("/queue/jobs", AckMode::Auto)?;
    /// broker.publish("/queue/jobs", "job from the test");
    /// assert_eq!(consumer.recv_timeout(Duration::from_secs(1))?.body_text(), "job from the test");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn publish(&self, destination: &str, body: impl Into<Bytes>) -> String {
        self.publish_with(destination, body, &[])
    }

    /// Publishes a message with headers (`content-type`, custom ones...).
    ///
    /// # Panics
    /// If the message could not travel in a frame (see
    /// [`Broker::try_publish_with`], which returns the reason instead).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish_with("/queue/a", "{}", &[("content-type", "application/json")]);
    /// assert_eq!(broker.queue("/queue/a").waiting[0].headers.get("content-type"), Some("application/json"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    #[track_caller]
    pub fn publish_with(
        &self,
        destination: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> String {
        match self.try_publish_with(destination, body, headers) {
            Ok(id) => id,
            Err(Error::Protocol(what)) => panic!("Broker::publish_with: {what}"),
            Err(e) => panic!("Broker::publish_with: {e}"),
        }
    }

    /// Publishes a message with headers, held to the rules a received SEND
    /// is held to, with the same error texts: a destination, header names
    /// that are not empty, no NUL in a name or value (it would end the frame
    /// on the wire and let the rest pass for another frame), a body within
    /// the frame size limit, room in the broker's memory budget (queue
    /// bounds do not apply to the test's own messages). Returns its
    /// `message-id`.
    ///
    /// # Errors
    /// [`Error::Protocol`] saying what is wrong; nothing is published.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let err = broker.try_publish_with("/queue/a", "x", &[("evil", "a\0ERROR")]).unwrap_err();
    /// assert_eq!(err.to_string(), "protocol error: malformed header line (expected name:value)");
    /// assert!(broker.queue("/queue/a").waiting.is_empty());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn try_publish_with(
        &self,
        destination: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> Result<String, Error> {
        let body = body.into();
        let refuse = |what: String| Err(Error::Protocol(what));
        if destination.is_empty() {
            return refuse("missing 'destination' header".to_owned());
        }
        if body.len() > self.state.config.limits.max_frame_size {
            return refuse(FrameError::TooLarge.to_string());
        }
        let mut all = Headers::new();
        all.push("destination", destination);
        for (name, value) in headers {
            if let Err(e) = check_header(name, value) {
                return refuse(e.to_string());
            }
            all.push(*name, *value);
        }
        let id = self.state.next_message_id();
        let size = StoredMessage::cost_of(&all, body.len());
        self.state.update(|j| {
            j.make_room(size, None).map_err(|memory| {
                Error::Protocol(format!(
                    "the broker's memory budget is exhausted: a message of {size} bytes does not fit ({memory})"
                ))
            })?;
            j.inject(id, destination, all, body);
            Ok(message_id_text(id))
        })
    }

    /// Forgets the journal's history (published messages, deliveries, acks,
    /// transcripts, ended transactions, closed connections, errors), for a new
    /// phase of a test. Open connections, subscriptions and transactions stay;
    /// queues keep their messages (see [`Broker::clear_queues`]).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/a", "old");
    /// broker.reset();
    /// assert!(broker.published().unwrap().is_empty());
    /// assert_eq!(broker.queue("/queue/a").waiting.len(), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn reset(&self) {
        self.state.update(Journal::reset);
    }

    /// What the broker saw, as text for a person: its connections, the
    /// messages published per destination, the subscriptions, the ERROR
    /// frames, then every connection's frames in order (the last 200 of
    /// each). A failed test prints it (the pytest plugin and the npm
    /// package attach it to a failure through `GET /report`).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.send_with_receipt("/queue/jobs", "job 1")?;
    /// let report = broker.report();
    /// assert!(report.contains("/queue/jobs: 1"), "{report}");
    /// assert!(report.contains("frames of connection 1 (4 in all):"), "{report}");
    /// assert!(report.contains("<- SEND destination:/queue/jobs"), "{report}");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn report(&self) -> String {
        self.inspect(Journal::report)
    }

    /// Drops every message waiting on every queue. Messages delivered and not
    /// yet acknowledged stay with their consumers.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/a", "old");
    /// broker.clear_queues();
    /// assert!(broker.queue("/queue/a").waiting.is_empty());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn clear_queues(&self) {
        self.state.update(|j| j.live.clear_queues());
    }

    /// Blocks until `condition` holds for the journal, re-checking on every
    /// change; returns at once if it already holds.
    ///
    /// # Errors
    /// [`Error::Timeout`] after `timeout`, saying what the broker did see.
    ///
    /// # Examples
    /// See [`Journal`].
    pub fn wait_until(
        &self,
        condition: impl FnMut(&Journal) -> bool,
        timeout: Duration,
    ) -> Result<(), Error> {
        if self.state.wait(timeout, Watch::Anything, condition) {
            return Ok(());
        }
        Err(self.timeout(Awaited::Condition, timeout, Journal::summary))
    }

    /// Blocks until `count` messages have been published to `destination`
    /// (sent outside a transaction, committed, or injected); returns them.
    ///
    /// # Errors
    /// [`Error::Timeout`] after `timeout`; its text lists what was published
    /// where, and the last frames of each connection.
    ///
    /// # Examples
    /// See [`PublishedMessage`]. On timeout:
    /// ```
    /// use std::time::Duration;
    ///
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/other", "wrong place");
    /// let err = broker.wait_for_messages("/queue/orders", 1, Duration::from_millis(10)).unwrap_err();
    /// let text = err.to_string();
    /// assert!(text.contains("waiting for 1 message published to /queue/orders"), "{text}");
    /// assert!(text.contains("/queue/other: 1"), "{text}");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn wait_for_messages(
        &self,
        destination: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<PublishedMessage>, Error> {
        if !self
            .state
            .wait(timeout, Watch::Published(destination.into()), |j| {
                j.count_published_to(destination) >= count
            })
        {
            let what = Awaited::Messages {
                destination: destination.to_owned(),
                count,
            };
            return Err(self.timeout(what, timeout, |j| j.message_summary(destination)));
        }
        Ok(self.inspect(|j| j.published_to(destination).collect()))
    }

    /// Blocks until something subscribes to `destination`; returns the
    /// subscription.
    ///
    /// # Errors
    /// [`Error::Timeout`] after `timeout`, listing the subscriptions there are.
    ///
    /// # Examples
    /// See [`SubscriptionInfo`].
    pub fn wait_for_subscription(
        &self,
        destination: &str,
        timeout: Duration,
    ) -> Result<SubscriptionInfo, Error> {
        let find = |j: &Journal| {
            j.subscriptions()
                .into_iter()
                .find(|s| s.destination == destination)
        };
        let mut found = None;
        if self.state.wait(timeout, Watch::Subscriptions, |j| {
            // The check on every change is O(1); the copy only once it holds.
            if j.has_subscriber(destination) {
                found = find(j);
            }
            found.is_some()
        }) {
            return Ok(found.expect("the condition held"));
        }
        let what = Awaited::Subscription {
            destination: destination.to_owned(),
        };
        Err(self.timeout(what, timeout, Journal::summary))
    }

    /// Blocks until `count` clients are connected (CONNECT done, not closed);
    /// returns them.
    ///
    /// # Errors
    /// [`Error::Timeout`] after `timeout`, listing the connections seen.
    ///
    /// # Examples
    /// See [`ConnectionInfo`].
    pub fn wait_for_connections(
        &self,
        count: usize,
        timeout: Duration,
    ) -> Result<Vec<ConnectionInfo>, Error> {
        if !self.state.wait(timeout, Watch::Connections, |j| {
            j.count_connected() >= count
        }) {
            let what = Awaited::Connections { count };
            return Err(self.timeout(what, timeout, Journal::summary));
        }
        Ok(self.inspect(|j| {
            j.connections()
                .filter(|c| c.is_connected())
                .cloned()
                .collect()
        }))
    }

    /// Blocks until the client known as `client` (its `client-id`, else
    /// `login@address`: see [`ClientRecord`](crate::journal::ClientRecord))
    /// has reconnected `count` times in all and is connected; returns its
    /// record.
    ///
    /// # Errors
    /// [`Error::Timeout`] after `timeout`, with the clients seen and the
    /// journal's summary.
    ///
    /// # Examples
    /// See [`ClientRecord`](crate::journal::ClientRecord).
    #[track_caller]
    pub fn wait_for_reconnects(
        &self,
        client: &str,
        count: usize,
        timeout: Duration,
    ) -> Result<crate::journal::ClientRecord, Error> {
        let back = |j: &Journal| {
            j.client(client).filter(|c| {
                c.reconnects() >= count
                    && c.connections.last().is_some_and(|last| {
                        j.connections()
                            .any(|info| info.id == *last && info.is_connected())
                    })
            })
        };
        if self
            .state
            .wait(timeout, Watch::Connections, |j| back(j).is_some())
        {
            if let Some(record) = self.inspect(back) {
                return Ok(record);
            }
        }
        let what = Awaited::Reconnects {
            client: client.to_owned(),
            count,
        };
        Err(self.timeout(what, timeout, |j| {
            let clients: Vec<String> = j
                .clients()
                .iter()
                .map(|c| format!("{:?}: connections {:?}", c.identity, c.connections))
                .collect();
            format!("clients: {}\n{}", clients.join("; "), j.summary())
        }))
    }

    /// Blocks until `count` messages have been acknowledged (ACK, not NACK);
    /// returns those acknowledgements.
    ///
    /// # Errors
    /// [`Error::Timeout`] after `timeout`, listing deliveries and acks seen.
    ///
    /// # Examples
    /// See [`AckRecord`].
    pub fn wait_for_acks(&self, count: usize, timeout: Duration) -> Result<Vec<AckRecord>, Error> {
        if !self.state.wait(timeout, Watch::Acks, |j| {
            j.count_acks(AckKind::Ack) >= count
        }) {
            let what = Awaited::Acks { count };
            return Err(self.timeout(what, timeout, Journal::summary));
        }
        Ok(self.inspect(|j| j.acks().filter(|a| a.kind == AckKind::Ack).collect()))
    }

    fn timeout(
        &self,
        awaited: Awaited,
        after: Duration,
        describe: impl FnOnce(&Journal) -> String,
    ) -> Error {
        let mut error = timeout_error(&self.state, awaited, after, describe);
        if let (Error::Timeout(timeout), Some(hint)) = (&mut error, super::waiting::blocking_hint())
        {
            timeout.saw.push_str(hint);
        }
        error
    }
}

/// The error of a wait that timed out: what it waited for, and what the
/// broker saw (the journal as `describe` tells it, the faults armed).
pub(super) fn timeout_error(
    state: &BrokerState,
    awaited: Awaited,
    after: Duration,
    describe: impl FnOnce(&Journal) -> String,
) -> Error {
    let mut saw = state.read(describe);
    if state.faults.ever_armed() {
        saw.push_str(&state.faults.report());
    }
    state.write_html_report(
        &format!("timed out after {after:?} waiting for {awaited}"),
        &mut saw,
    );
    Error::Timeout(Box::new(Timeout {
        awaited,
        after,
        saw,
    }))
}
