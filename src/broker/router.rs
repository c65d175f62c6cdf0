//! Destinations, subscriptions and acknowledgements: who gets which message.
//!
//! One `Router` per broker, behind one lock. Queues hold messages until a
//! subscriber can take them and hand them out round-robin; topics copy each
//! message to every current subscriber. Deliveries in the `client` and
//! `client-individual` ack modes stay pending on their subscription until
//! acknowledged; a NACK, an UNSUBSCRIBE or the end of the connection returns
//! pending queue messages to the front of their queue, marked redelivered.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use super::message::{Delivery, Stored};
use super::outbox::{Outbound, Outbox};
use super::shared::{Config, ConnId};
use crate::journal::{AckKind, Journal, QueueSnapshot, QueuedMessage, Recorder};
use crate::{Ack, DestinationKind, DestinationRules, Headers};

/// Which delivery an ACK or NACK frame means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AckTarget {
    /// STOMP 1.2: the `id` header, equal to the MESSAGE's `ack` header.
    Tag(String),
    /// STOMP 1.0 and 1.1: `message-id`, and in 1.1 `subscription`.
    MessageId {
        message_id: String,
        subscription: Option<String>,
    },
}

impl fmt::Display for AckTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AckTarget::Tag(id) => write!(f, "ack id '{id}'"),
            AckTarget::MessageId {
                message_id,
                subscription: Some(sub),
            } => write!(f, "message '{message_id}' on subscription '{sub}'"),
            AckTarget::MessageId { message_id, .. } => write!(f, "message '{message_id}'"),
        }
    }
}

/// Why the router refused an operation; the text goes into an ERROR frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RouteError {
    DuplicateSubscription(String),
    UnknownSubscription(String),
    NotPending(AckTarget),
}

impl fmt::Display for RouteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RouteError::DuplicateSubscription(id) => {
                write!(
                    f,
                    "subscription id '{id}' is already in use on this connection"
                )
            }
            RouteError::UnknownSubscription(id) => {
                write!(f, "no subscription '{id}' on this connection")
            }
            RouteError::NotPending(target) => {
                write!(
                    f,
                    "{target} is not pending acknowledgement on this connection"
                )
            }
        }
    }
}

/// What a SUBSCRIBE frame asked for.
#[derive(Clone, Debug)]
pub(crate) struct SubscribeRequest {
    pub(crate) id: String,
    pub(crate) destination: String,
    pub(crate) ack: Ack,
    /// At most this many unacknowledged messages at once (queues only).
    pub(crate) prefetch: Option<usize>,
    /// The SUBSCRIBE frame's headers, for the journal.
    pub(crate) headers: Headers,
}

#[derive(Debug)]
struct Subscription {
    destination: String,
    kind: DestinationKind,
    ack: Ack,
    prefetch: Option<usize>,
    /// Deliveries awaiting ACK or NACK, by tag (delivery order).
    pending: BTreeMap<u64, Arc<Stored>>,
    /// `message-id` to tag, for STOMP 1.0 and 1.1 acknowledgements.
    tags_by_message_id: HashMap<String, u64>,
}

impl Subscription {
    fn take_pending(&mut self, tag: u64, cumulative: bool) -> Vec<Arc<Stored>> {
        let taken: Vec<(u64, Arc<Stored>)> = if cumulative {
            let rest = self.pending.split_off(&(tag + 1));
            std::mem::replace(&mut self.pending, rest)
                .into_iter()
                .collect()
        } else {
            self.pending
                .remove(&tag)
                .map(|m| (tag, m))
                .into_iter()
                .collect()
        };
        taken
            .into_iter()
            .map(|(_, message)| {
                self.tags_by_message_id.remove(&message.id);
                message
            })
            .collect()
    }
}

#[derive(Debug)]
struct Connection {
    outbox: Outbox,
    subscriptions: HashMap<Arc<str>, Subscription>,
    next_tag: u64,
    /// Overflowed or its writer has gone: deliver nothing more.
    closing: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SubKey {
    conn: ConnId,
    id: Arc<str>,
}

#[derive(Debug)]
struct Queued {
    message: Arc<Stored>,
    redelivered: bool,
}

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Queued>,
    consumers: Vec<SubKey>,
    next: usize,
}

impl Queue {
    /// Puts messages back at the front, keeping their order.
    fn return_front(&mut self, messages: impl DoubleEndedIterator<Item = Queued>) {
        for queued in messages.rev() {
            self.messages.push_front(queued);
        }
    }
}

/// Every destination and subscription of one broker.
#[derive(Debug)]
pub(crate) struct Router {
    journal: Arc<Recorder>,
    rules: DestinationRules,
    dispatch_watermark: usize,
    max_backlog: usize,
    queues: HashMap<String, Queue>,
    topics: HashMap<String, Vec<SubKey>>,
    connections: HashMap<ConnId, Connection>,
}

impl Router {
    pub(crate) fn new(config: &Config, journal: Arc<Recorder>) -> Router {
        Router {
            journal,
            rules: config.destinations.clone(),
            dispatch_watermark: config.dispatch_watermark,
            max_backlog: config.max_backlog,
            queues: HashMap::new(),
            topics: HashMap::new(),
            connections: HashMap::new(),
        }
    }

    pub(crate) fn add_connection(&mut self, conn: ConnId, outbox: Outbox) {
        let connection = Connection {
            outbox,
            subscriptions: HashMap::new(),
            next_tag: 1,
            closing: false,
        };
        self.connections.insert(conn, connection);
    }

    /// Ends every subscription of `conn`; its pending queue messages return
    /// to their queues.
    pub(crate) fn remove_connection(&mut self, conn: ConnId) {
        let Some(connection) = self.connections.remove(&conn) else {
            return;
        };
        let recorder = self.journal.clone();
        let mut journal = recorder.lock();
        let touched: Vec<String> = connection
            .subscriptions
            .into_iter()
            .filter_map(|(id, subscription)| {
                self.detach(&SubKey { conn, id }, subscription, &mut journal)
            })
            .collect();
        drop(journal);
        for queue in touched {
            self.dispatch_queue(&queue);
        }
    }

    pub(crate) fn subscribe(
        &mut self,
        conn: ConnId,
        request: SubscribeRequest,
    ) -> Result<(), RouteError> {
        let kind = self.rules.kind_of(&request.destination);
        let connection = self.connection(conn)?;
        let id: Arc<str> = Arc::from(request.id.as_str());
        if connection.subscriptions.contains_key(&id) {
            return Err(RouteError::DuplicateSubscription(request.id));
        }
        let subscription = Subscription {
            destination: request.destination.clone(),
            kind,
            ack: request.ack,
            prefetch: request.prefetch,
            pending: BTreeMap::new(),
            tags_by_message_id: HashMap::new(),
        };
        connection.subscriptions.insert(id.clone(), subscription);
        let key = SubKey { conn, id };
        match kind {
            DestinationKind::Queue => self
                .queues
                .entry(request.destination.clone())
                .or_default()
                .consumers
                .push(key),
            DestinationKind::Topic => self
                .topics
                .entry(request.destination.clone())
                .or_default()
                .push(key),
        }
        let SubscribeRequest {
            id,
            destination,
            ack,
            headers,
            ..
        } = request;
        self.journal
            .lock()
            .subscribed(conn, &id, &destination, ack, headers);
        if kind == DestinationKind::Queue {
            self.dispatch_queue(&destination);
        }
        Ok(())
    }

    pub(crate) fn unsubscribe(&mut self, conn: ConnId, id: &str) -> Result<(), RouteError> {
        let connection = self.connection(conn)?;
        let (id, subscription) = connection
            .subscriptions
            .remove_entry(id)
            .ok_or_else(|| RouteError::UnknownSubscription(id.to_owned()))?;
        let recorder = self.journal.clone();
        let detached = self.detach(&SubKey { conn, id }, subscription, &mut recorder.lock());
        if let Some(queue) = detached {
            self.dispatch_queue(&queue);
        }
        Ok(())
    }

    /// The id of `conn`'s subscription to `destination` (STOMP 1.0 UNSUBSCRIBE).
    pub(crate) fn subscription_to(&self, conn: ConnId, destination: &str) -> Option<String> {
        let connection = self.connections.get(&conn)?;
        connection
            .subscriptions
            .iter()
            .find(|(_, s)| s.destination == destination)
            .map(|(id, _)| id.to_string())
    }

    /// The destination of subscription `id` of connection `conn`.
    pub(crate) fn destination_of(&self, conn: ConnId, id: &str) -> Option<String> {
        let connection = self.connections.get(&conn)?;
        connection
            .subscriptions
            .get(id)
            .map(|s| s.destination.clone())
    }

    /// Whether `extra` more messages fit on `destination` when at most `max`
    /// may wait there; topics always have room.
    pub(crate) fn has_room(&self, destination: &str, extra: usize, max: usize) -> bool {
        if self.rules.kind_of(destination) != DestinationKind::Queue {
            return true;
        }
        let waiting = self.queues.get(destination).map_or(0, |q| q.messages.len());
        waiting + extra <= max
    }

    /// Routes a newly published message.
    pub(crate) fn publish(&mut self, message: Arc<Stored>) {
        match self.rules.kind_of(&message.destination) {
            DestinationKind::Queue => {
                let destination = message.destination.clone();
                self.journal
                    .lock()
                    .routed(message.journal_seq, DestinationKind::Queue, 0);
                let queue = self.queues.entry(destination.clone()).or_default();
                queue.messages.push_back(Queued {
                    message,
                    redelivered: false,
                });
                self.dispatch_queue(&destination);
            }
            DestinationKind::Topic => self.publish_to_topic(message),
        }
    }

    fn publish_to_topic(&mut self, message: Arc<Stored>) {
        let recorder = self.journal.clone();
        let mut journal = recorder.lock();
        let subscribers = self
            .topics
            .get(&message.destination)
            .map_or(&[][..], Vec::as_slice);
        journal.routed(
            message.journal_seq,
            DestinationKind::Topic,
            subscribers.len(),
        );
        for key in subscribers {
            let Some(connection) = self.connections.get_mut(&key.conn) else {
                continue;
            };
            if connection.closing {
                continue;
            }
            if deliver(connection, key, message.clone(), false, &mut journal).is_err() {
                connection.closing = true;
            } else if connection.outbox.backlog() > self.max_backlog {
                connection.closing = true;
                connection.outbox.overflow();
            }
        }
    }

    /// Whether `target` names a delivery pending on `conn`.
    pub(crate) fn is_pending(&self, conn: ConnId, target: &AckTarget) -> bool {
        self.connections
            .get(&conn)
            .is_some_and(|c| resolve(c, target).is_some())
    }

    /// Settles the delivery `target` names (cumulatively in `client` mode)
    /// with an ACK or NACK; on NACK, queue messages go back to their queue for
    /// redelivery. `transaction` is for the journal.
    pub(crate) fn settle(
        &mut self,
        conn: ConnId,
        target: &AckTarget,
        kind: AckKind,
        transaction: Option<&str>,
    ) -> Result<(), RouteError> {
        let recorder = self.journal.clone();
        let connection = self.connection(conn)?;
        let (id, tag) =
            resolve(connection, target).ok_or_else(|| RouteError::NotPending(target.clone()))?;
        let subscription = connection
            .subscriptions
            .get_mut(&id)
            .expect("resolve returns a live subscription");
        let settled = subscription.take_pending(tag, subscription.ack == Ack::Client);
        let requeue = kind == AckKind::Nack && subscription.kind == DestinationKind::Queue;
        let mut journal = recorder.lock();
        for message in &settled {
            journal.settled(conn, &id, message, kind, transaction, requeue);
        }
        drop(journal);
        if subscription.kind == DestinationKind::Topic {
            return Ok(());
        }
        let destination = subscription.destination.clone();
        if requeue {
            let queue = self.queues.entry(destination.clone()).or_default();
            queue.return_front(settled.into_iter().map(|message| Queued {
                message,
                redelivered: true,
            }));
        }
        self.dispatch_queue(&destination);
        Ok(())
    }

    /// A writer drained below the watermark: offer its queues more.
    pub(crate) fn dispatch_for(&mut self, conn: ConnId) {
        let Some(connection) = self.connections.get(&conn) else {
            return;
        };
        let queues: Vec<String> = connection
            .subscriptions
            .values()
            .filter(|s| s.kind == DestinationKind::Queue)
            .map(|s| s.destination.clone())
            .collect();
        for queue in queues {
            self.dispatch_queue(&queue);
        }
    }

    /// Auto-acknowledged queue deliveries a writer could not send.
    pub(crate) fn requeue(&mut self, unsent: Vec<Delivery>) {
        let mut by_queue: HashMap<String, Vec<Queued>> = HashMap::new();
        let mut journal = self.journal.lock();
        for delivery in unsent {
            journal.requeued(delivery.message.journal_seq, false);
            by_queue
                .entry(delivery.message.destination.clone())
                .or_default()
                .push(Queued {
                    message: delivery.message,
                    redelivered: delivery.redelivered,
                });
        }
        drop(journal);
        for (destination, messages) in by_queue {
            self.queues
                .entry(destination.clone())
                .or_default()
                .return_front(messages.into_iter());
            self.dispatch_queue(&destination);
        }
    }

    /// What is waiting on queue `name`, and what its consumers hold unacked.
    pub(crate) fn queue_snapshot(&self, name: &str) -> QueueSnapshot {
        let queued = |message: &Stored, redelivered, held_by| QueuedMessage {
            message_id: message.id.clone(),
            headers: message.carried().collect(),
            body: message.body.clone(),
            redelivered,
            held_by,
        };
        let waiting = self.queues.get(name).map_or_else(Vec::new, |q| {
            q.messages
                .iter()
                .map(|m| queued(&m.message, m.redelivered, None))
                .collect()
        });
        let mut unacked = Vec::new();
        for (conn, connection) in &self.connections {
            for (id, subscription) in &connection.subscriptions {
                if subscription.kind == DestinationKind::Queue && subscription.destination == name {
                    let holder = || Some((*conn, id.to_string()));
                    unacked.extend(
                        subscription
                            .pending
                            .values()
                            .map(|m| queued(m, false, holder())),
                    );
                }
            }
        }
        QueueSnapshot {
            destination: name.to_owned(),
            waiting,
            unacked,
        }
    }

    /// The names of queues that hold messages or have consumers, sorted.
    pub(crate) fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.queues.keys().cloned().collect();
        names.sort();
        names
    }

    /// Drops every message waiting on every queue (unacked ones stay with
    /// their consumers).
    pub(crate) fn clear_queues(&mut self) {
        for queue in self.queues.values_mut() {
            queue.messages.clear();
        }
        self.queues.retain(|_, q| !q.consumers.is_empty());
    }

    fn connection(&mut self, conn: ConnId) -> Result<&mut Connection, RouteError> {
        // The session removes its connection only as its last act, so a
        // missing one means a frame raced the end of its own connection.
        self.connections
            .get_mut(&conn)
            .ok_or_else(|| RouteError::UnknownSubscription("(connection closed)".into()))
    }

    /// Unhooks a subscription from its destination; returns the queue to
    /// re-dispatch, whose front now holds the subscription's pending messages.
    fn detach(
        &mut self,
        key: &SubKey,
        subscription: Subscription,
        journal: &mut Journal,
    ) -> Option<String> {
        journal.unsubscribed(key.conn, &key.id);
        match subscription.kind {
            DestinationKind::Topic => {
                if let Some(subscribers) = self.topics.get_mut(&subscription.destination) {
                    subscribers.retain(|k| k != key);
                    if subscribers.is_empty() {
                        self.topics.remove(&subscription.destination);
                    }
                }
                None
            }
            DestinationKind::Queue => {
                for message in subscription.pending.values() {
                    journal.requeued(message.journal_seq, true);
                }
                let queue = self
                    .queues
                    .entry(subscription.destination.clone())
                    .or_default();
                queue.consumers.retain(|k| k != key);
                queue.return_front(subscription.pending.into_values().map(|message| Queued {
                    message,
                    redelivered: true,
                }));
                Some(subscription.destination)
            }
        }
    }

    /// Hands queued messages to eligible consumers, round-robin.
    fn dispatch_queue(&mut self, name: &str) {
        let Some(queue) = self.queues.get_mut(name) else {
            return;
        };
        if queue.messages.is_empty() || queue.consumers.is_empty() {
            if queue.messages.is_empty() && queue.consumers.is_empty() {
                self.queues.remove(name);
            }
            return;
        }
        let mut journal = self.journal.lock();
        while !queue.messages.is_empty() {
            let Some(index) = next_consumer(queue, &self.connections, self.dispatch_watermark)
            else {
                break;
            };
            queue.next = (index + 1) % queue.consumers.len();
            let key = queue.consumers[index].clone();
            let queued = queue.messages.pop_front().expect("checked non-empty");
            let connection = self
                .connections
                .get_mut(&key.conn)
                .expect("eligible consumer exists");
            if let Err(message) = deliver(
                connection,
                &key,
                queued.message,
                queued.redelivered,
                &mut journal,
            ) {
                connection.closing = true;
                queue.messages.push_front(Queued {
                    message,
                    redelivered: queued.redelivered,
                });
            }
        }
    }
}

/// The first consumer from the round-robin position that can take a message.
fn next_consumer(
    queue: &Queue,
    connections: &HashMap<ConnId, Connection>,
    watermark: usize,
) -> Option<usize> {
    let count = queue.consumers.len();
    (0..count).map(|i| (queue.next + i) % count).find(|&index| {
        let key = &queue.consumers[index];
        let Some(connection) = connections.get(&key.conn) else {
            return false;
        };
        let Some(subscription) = connection.subscriptions.get(&key.id) else {
            return false;
        };
        if connection.closing
            || subscription
                .prefetch
                .is_some_and(|p| subscription.pending.len() >= p)
        {
            return false;
        }
        if connection.outbox.backlog() >= watermark {
            connection.outbox.mark_throttled();
            return false;
        }
        true
    })
}

/// Sends one message to one subscription and records it; it stays pending in
/// the client ack modes. Gives the message back if the writer has gone.
fn deliver(
    connection: &mut Connection,
    key: &SubKey,
    message: Arc<Stored>,
    redelivered: bool,
    journal: &mut Journal,
) -> Result<(), Arc<Stored>> {
    let Some(subscription) = connection.subscriptions.get_mut(&key.id) else {
        return Err(message);
    };
    let tag = connection.next_tag;
    let needs_ack = subscription.ack != Ack::Auto;
    let delivery = Delivery {
        message: message.clone(),
        subscription: key.id.clone(),
        ack: needs_ack.then_some(tag),
        redelivered,
        requeue_if_unsent: !needs_ack && subscription.kind == DestinationKind::Queue,
    };
    journal.delivered(&delivery, key.conn);
    if let Err(Outbound::Delivery(d)) = connection.outbox.push(Outbound::Delivery(delivery)) {
        journal.requeued(d.message.journal_seq, needs_ack);
        return Err(d.message);
    }
    if needs_ack {
        connection.next_tag += 1;
        subscription
            .tags_by_message_id
            .insert(message.id.clone(), tag);
        subscription.pending.insert(tag, message);
    }
    Ok(())
}

/// Finds the subscription and tag an ACK/NACK refers to.
fn resolve(connection: &Connection, target: &AckTarget) -> Option<(Arc<str>, u64)> {
    match target {
        AckTarget::Tag(text) => {
            let tag: u64 = text.parse().ok()?;
            connection
                .subscriptions
                .iter()
                .find(|(_, s)| s.pending.contains_key(&tag))
                .map(|(id, _)| (id.clone(), tag))
        }
        AckTarget::MessageId {
            message_id,
            subscription,
        } => connection
            .subscriptions
            .iter()
            .filter(|(id, _)| subscription.as_deref().is_none_or(|s| s == &***id))
            .find_map(|(id, s)| {
                s.tags_by_message_id
                    .get(message_id)
                    .map(|tag| (id.clone(), *tag))
            }),
    }
}
