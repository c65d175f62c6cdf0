//! The live state: connections, subscriptions, queues, deliveries awaiting
//! acknowledgement and open transactions. This is the only copy of each;
//! inspection reads it here.
//!
//! Queues hold messages until a subscriber can take them and hand them out
//! round-robin; topics copy each message to every current subscriber.
//! Deliveries in the `client` and `client-individual` ack modes stay pending
//! on their subscription until acknowledged; a NACK, an UNSUBSCRIBE or the
//! end of the connection returns pending queue messages to the front of their
//! queue, marked redelivered. Every change is recorded in the [`History`] in
//! the same pass, under the same lock.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::history::History;
use super::ids::IdMap;
use super::outbox::{Outbound, Outbox};
use crate::ack::AckMode;
use crate::destination::{DestinationKind, DestinationRules};
use crate::dialect::{self, Expiry, Nack, Semantics};
use crate::journal::{
    AckKind, CloseReason, ConnectionId, DurableSubscription, MessageStatus, QueueSnapshot,
    QueuedMessage, SubscriptionInfo, TransactionInfo,
};
use crate::protocol::frame::{Frame, Headers};
use crate::protocol::message::{Delivery, IfUnsent, SharedTail, StoredMessage, parse_message_id};
use crate::selector::Selector;
use crate::transport::Transport;

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

/// Why the live state refused an operation; the text goes into an ERROR frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RouteError {
    DuplicateSubscription(String),
    UnknownSubscription(String),
    NotPending(AckTarget),
    DurableInUse(String),
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
            RouteError::DurableInUse(name) => {
                write!(
                    f,
                    "durable subscription '{name}' is in use by another connection"
                )
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
    /// Where it consumes from: the broker's names for what was named (one,
    /// or each part of a composite destination).
    pub(crate) destinations: Vec<String>,
    /// The destination as the client named it.
    pub(crate) named: String,
    pub(crate) ack: AckMode,
    /// At most this many unacknowledged messages at once (queues only).
    pub(crate) prefetch: Option<usize>,
    /// Only messages it selects are delivered.
    pub(crate) selector: Option<Arc<Selector>>,
    /// A durable topic subscription's name: messages published while its
    /// subscriber is away wait for it (on a queue of that name).
    pub(crate) durable: Option<String>,
    /// The only consumer of its queue while it is there
    /// (`activemq.exclusive`).
    pub(crate) exclusive: bool,
    /// The SUBSCRIBE frame's headers, for inspection.
    pub(crate) headers: Headers,
}

/// A durable topic subscription: a queue fed by its topic (or pattern),
/// which outlives its subscriber's connections.
#[derive(Debug)]
struct Durable {
    /// Its topic as the broker routes it.
    topic: Arc<str>,
    /// Its topic as the subscriber named it.
    named: Arc<str>,
    pattern: bool,
    selector: Option<Arc<Selector>>,
    /// The connection consuming it now, if any.
    active: Option<ConnectionId>,
}

/// One buffered operation of an open transaction.
#[derive(Debug)]
pub(crate) enum TxOp {
    Send(Arc<StoredMessage>),
    Settle {
        target: AckTarget,
        kind: AckKind,
        /// The ACK or NACK frame, for inspection.
        frame: Frame,
    },
}

impl TxOp {
    /// The frame that buffered this operation.
    pub(crate) fn frame(&self) -> Frame {
        match self {
            TxOp::Send(message) => message.send_frame(),
            TxOp::Settle { frame, .. } => frame.clone(),
        }
    }
}

/// An open transaction: what COMMIT will apply.
#[derive(Debug)]
pub(crate) struct Transaction {
    pub(crate) begun_at: Duration,
    pub(crate) ops: Vec<TxOp>,
    /// What its messages occupy.
    bytes: usize,
    messages: usize,
}

impl Transaction {
    /// Buffers one more operation.
    pub(crate) fn push(&mut self, op: TxOp) {
        if let TxOp::Send(message) = &op {
            self.bytes += message.cost();
            self.messages += 1;
        }
        self.ops.push(op);
    }

    /// What its messages occupy.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many messages it holds.
    pub(crate) fn messages(&self) -> usize {
        self.messages
    }
}

/// One destination a subscription consumes from.
#[derive(Clone, Debug)]
struct Source {
    kind: DestinationKind,
    /// The broker's name for it, or its pattern.
    name: Arc<str>,
    /// A name with wildcards: it consumes from every destination of its kind
    /// the pattern matches, those made later too.
    pattern: bool,
}

#[derive(Debug)]
struct Subscription {
    /// What it is known by: its one destination (a durable subscription's
    /// queue), or a composite destination as the client named it.
    destination: Arc<str>,
    /// Where its messages come from: one destination, or the parts of a
    /// composite one.
    sources: Vec<Source>,
    ack: AckMode,
    prefetch: Option<usize>,
    selector: Option<Arc<Selector>>,
    /// What it subscribed to as the client named it, when that is not its
    /// destination (a durable subscription's topic, a RabbitMQ name).
    shown: Option<Arc<str>>,
    /// It consumes a durable subscription's queue.
    durable: bool,
    exclusive: bool,
    headers: Headers,
    /// Its id as its deliveries carry it to the writer thread: an
    /// allocation of its own, so that the copies of the id the live state
    /// and the journal clone under the lock do not share a reference count
    /// with the writer dropping deliveries (a cache line between two cores,
    /// several times per MESSAGE).
    written_id: Arc<str>,
    /// Deliveries awaiting ACK or NACK, by tag (delivery order).
    pending: BTreeMap<u64, Arc<StoredMessage>>,
    /// Message id to tag, for STOMP 1.0 and 1.1 acknowledgements.
    tags_by_message_id: IdMap<u64>,
    delivered: u64,
    acked: u64,
    nacked: u64,
}

impl Subscription {
    /// Whether its selector (if any) selects `message`.
    fn selects(&self, message: &StoredMessage) -> bool {
        self.selector
            .as_ref()
            .is_none_or(|s| s.matches(|name| message.header(name)))
    }

    /// The queue a message it holds came from (where the message goes back
    /// to, or is dead-lettered from), or `None` if it came from a topic.
    fn queue_of(&self, message: &StoredMessage, rules: &DestinationRules) -> Option<Arc<str>> {
        match self.sources.as_slice() {
            [only] if !only.pattern => {
                (only.kind == DestinationKind::Queue).then(|| only.name.clone())
            }
            // Several sources, or a pattern: a message's own destination is
            // the queue or topic it was routed through.
            _ => (rules.kind_of(&message.destination) == DestinationKind::Queue)
                .then(|| message.destination.clone()),
        }
    }

    fn take_pending(&mut self, tag: u64, cumulative: bool) -> Vec<(u64, Arc<StoredMessage>)> {
        let taken: Vec<(u64, Arc<StoredMessage>)> = if cumulative {
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
        for (_, message) in &taken {
            self.tags_by_message_id.remove(&message.id);
        }
        taken
    }
}

/// One open connection as the broker's state sees it.
pub(crate) struct Connection {
    outbox: Outbox,
    transport: Arc<dyn Transport>,
    subscriptions: HashMap<Arc<str>, Subscription>,
    /// Which subscription holds each pending tag.
    pending_tags: IdMap<Arc<str>>,
    transactions: BTreeMap<String, Transaction>,
    next_tag: u64,
    /// Overflowed or its writer has gone: deliver nothing more.
    closing: bool,
    /// Its subscriptions and transactions have ended
    /// ([`Live::detach_connection`]; done once).
    detached: bool,
    /// A reason that wins over the one the session will give (the writer
    /// knows a client was too slow; the session only sees the socket close).
    close_reason: Option<CloseReason>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("subscriptions", &self.subscriptions.len())
            .field("transactions", &self.transactions.len())
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SubKey {
    conn: ConnectionId,
    id: Arc<str>,
}

#[derive(Debug)]
struct Queued {
    message: Arc<StoredMessage>,
    redelivered: bool,
}

#[derive(Debug, Default)]
struct Queue {
    messages: VecDeque<Queued>,
    /// What the waiting messages occupy.
    bytes: usize,
    consumers: Vec<SubKey>,
    /// How many consumers have a selector.
    selective: usize,
    /// How many consumers are exclusive.
    exclusive: usize,
    next: usize,
}

impl Queue {
    fn add_consumer(&mut self, key: SubKey, selective: bool, exclusive: bool) {
        self.consumers.push(key);
        self.selective += usize::from(selective);
        self.exclusive += usize::from(exclusive);
    }

    /// Removes the consumers `gone` names (it says whether each had a
    /// selector and was exclusive); true if there were any.
    fn remove_consumers(&mut self, gone: impl Fn(&SubKey) -> Option<(bool, bool)>) -> bool {
        let before = self.consumers.len();
        let (mut selective, mut exclusive) = (0, 0);
        self.consumers.retain(|key| match gone(key) {
            Some((s, e)) => {
                selective += usize::from(s);
                exclusive += usize::from(e);
                false
            }
            None => true,
        });
        self.selective -= selective;
        self.exclusive -= exclusive;
        self.consumers.len() != before
    }

    fn push_back(&mut self, queued: Queued) {
        self.bytes += queued.message.cost();
        self.messages.push_back(queued);
    }

    /// Puts messages back at the front, keeping their order.
    fn return_front(&mut self, messages: impl DoubleEndedIterator<Item = Queued>) {
        for queued in messages.rev() {
            self.bytes += queued.message.cost();
            self.messages.push_front(queued);
        }
    }

    fn remove(&mut self, index: usize) -> Option<Queued> {
        let queued = self.messages.remove(index)?;
        self.bytes -= queued.message.cost();
        Some(queued)
    }

    fn clear(&mut self) {
        self.messages.clear();
        self.bytes = 0;
    }
}

/// Every connection, destination and subscription of one broker.
#[derive(Debug)]
pub(crate) struct Live {
    rules: DestinationRules,
    semantics: Semantics,
    /// The broker's message ids, for the dead letters it makes.
    message_ids: Arc<AtomicU64>,
    dispatch_watermark: usize,
    max_backlog: usize,
    queues: HashMap<String, Queue>,
    topics: HashMap<String, Vec<SubKey>>,
    /// Topic subscriptions with wildcards, and their pattern.
    topic_patterns: Vec<(Arc<str>, SubKey)>,
    /// Queue subscriptions with wildcards (ActiveMQ's `/queue/a.>`), and
    /// their pattern: each is a consumer of every queue it matches.
    queue_patterns: Vec<(Arc<str>, SubKey)>,
    /// Durable topic subscriptions, by the name of their queue.
    durables: BTreeMap<Arc<str>, Durable>,
    /// RabbitMQ: queues declared (by a SEND or SUBSCRIBE), which outlive
    /// their messages and consumers.
    declared: HashSet<String>,
    connections: IdMap<Connection>,
    /// Connections whose outbox has items queued in this pass.
    unflushed: Vec<ConnectionId>,
    /// The subscribers a topic message goes to: kept (empty) between
    /// messages, so that a publish allocates no list of its own.
    fan_out: Vec<SubKey>,
}

impl Live {
    pub(crate) fn new(
        rules: DestinationRules,
        semantics: Semantics,
        message_ids: Arc<AtomicU64>,
        dispatch_watermark: usize,
        max_backlog: usize,
    ) -> Live {
        Live {
            rules,
            semantics,
            message_ids,
            dispatch_watermark,
            max_backlog,
            queues: HashMap::new(),
            topics: HashMap::new(),
            topic_patterns: Vec::new(),
            queue_patterns: Vec::new(),
            durables: BTreeMap::new(),
            declared: HashSet::new(),
            connections: IdMap::default(),
            unflushed: Vec::new(),
            fan_out: Vec::new(),
        }
    }

    /// Hands what this pass queued to each connection's writer. A writer
    /// that has gone cannot take it: its connection stops receiving, and
    /// auto-acknowledged queue messages go back to their queues (messages
    /// awaiting an ACK stay pending until the connection is detached).
    /// `own` is the connection whose reader ran the pass: its writer is not
    /// woken, as that reader writes its replies itself straight after.
    pub(crate) fn flush(&mut self, history: &mut History, own: Option<ConnectionId>) {
        while let Some(conn) = self.unflushed.pop() {
            let Some(connection) = self.connections.get_mut(&conn) else {
                continue;
            };
            let Err(items) = connection.outbox.flush(Some(conn) != own) else {
                continue;
            };
            connection.closing = true;
            let unsent: Vec<Delivery> = items
                .into_iter()
                .filter_map(|item| match item {
                    Outbound::Delivery(d) if d.returns_if_unsent() => Some(d),
                    _ => None,
                })
                .collect();
            if !unsent.is_empty() {
                self.requeue(unsent, history);
            }
        }
    }

    /// Queues `item` on `conn`'s outbox for the end of the pass.
    fn push(&mut self, conn: ConnectionId, item: Outbound) {
        if let Some(connection) = self.connections.get_mut(&conn) {
            push_to(&mut self.unflushed, conn, connection, item);
        }
    }

    // ---- connections -----------------------------------------------------

    pub(crate) fn add_connection(
        &mut self,
        conn: ConnectionId,
        outbox: Outbox,
        transport: Arc<dyn Transport>,
    ) {
        let connection = Connection {
            outbox,
            transport,
            subscriptions: HashMap::new(),
            pending_tags: IdMap::default(),
            transactions: BTreeMap::new(),
            next_tag: 1,
            closing: false,
            detached: false,
            close_reason: None,
        };
        self.connections.insert(conn, connection);
    }

    /// How many connections are open.
    pub(crate) fn connection_count(&self) -> usize {
        self.connections.len()
    }

    /// Ends connection `conn`'s part in the broker: its open transactions
    /// are rolled back, its subscriptions end and their pending queue
    /// messages return to their queues, and its writer is told to finish.
    /// The connection stays (closing, so shutdown can still abort it) until
    /// [`Live::remove_connection`]. A second call does nothing.
    pub(crate) fn detach_connection(&mut self, conn: ConnectionId, history: &mut History) {
        let Some(connection) = self.connections.get_mut(&conn).filter(|c| !c.detached) else {
            return;
        };
        connection.detached = true;
        connection.closing = true;
        push_to(&mut self.unflushed, conn, connection, Outbound::Close);
        let transactions = std::mem::take(&mut connection.transactions);
        let subscriptions = std::mem::take(&mut connection.subscriptions);
        connection.pending_tags.clear();
        for (id, transaction) in transactions {
            history.ended(
                conn,
                &id,
                crate::journal::TransactionOutcome::RolledBack,
                &transaction.ops,
            );
        }
        let subscriptions = subscriptions.into_iter().collect();
        let touched = self.release(conn, subscriptions, history);
        self.drop_temporary(conn, history);
        for queue in touched {
            self.dispatch_queue(&queue, history);
        }
    }

    /// Ends subscriptions of `conn`, already taken out of its connection:
    /// unhooked from their destinations (in one pass per destination, so a
    /// connection with many subscriptions leaves in linear time), their
    /// pending queue messages back on their queues, marked redelivered.
    /// Returns the queues that lost consumers or got messages back, to be
    /// offered to their other consumers.
    fn release(
        &mut self,
        conn: ConnectionId,
        mut ended: Vec<(Arc<str>, Subscription)>,
        history: &mut History,
    ) -> Vec<String> {
        ended.sort_by(|a, b| a.0.cmp(&b.0));
        // Each leaving consumer: whether it has a selector, is exclusive.
        let mut leaving: HashMap<Arc<str>, (bool, bool)> = HashMap::new();
        let mut queues: BTreeSet<String> = BTreeSet::new();
        let mut topics: HashSet<Arc<str>> = HashSet::new();
        let (mut queue_pattern, mut topic_pattern) = (false, false);
        let mut returned: BTreeMap<Arc<str>, Vec<Arc<StoredMessage>>> = BTreeMap::new();
        for (id, mut subscription) in ended {
            history.unsubscribed(conn, &id, &subscription.destination);
            if subscription.durable {
                if let Some(durable) = self.durables.get_mut(&subscription.destination) {
                    durable.active = None;
                }
            }
            for source in &subscription.sources {
                match (source.kind, source.pattern) {
                    (DestinationKind::Queue, false) => {
                        queues.insert(source.name.to_string());
                    }
                    (DestinationKind::Queue, true) => queue_pattern = true,
                    (DestinationKind::Topic, false) => {
                        topics.insert(source.name.clone());
                    }
                    (DestinationKind::Topic, true) => topic_pattern = true,
                }
            }
            for message in std::mem::take(&mut subscription.pending).into_values() {
                if let Some(queue) = subscription.queue_of(&message, &self.rules) {
                    history.requeued(message.journal_seq, true);
                    returned.entry(queue).or_default().push(message);
                }
            }
            let traits = (subscription.selector.is_some(), subscription.exclusive);
            leaving.insert(id, traits);
        }
        let gone = |k: &SubKey| {
            if k.conn == conn {
                leaving.get(&k.id).copied()
            } else {
                None
            }
        };
        if topic_pattern {
            self.topic_patterns.retain(|(_, k)| gone(k).is_none());
        }
        for topic in &topics {
            self.unhook_topic(topic, |k| gone(k).is_some());
        }
        if queue_pattern {
            self.queue_patterns.retain(|(_, k)| gone(k).is_none());
            for (name, queue) in &mut self.queues {
                if queue.remove_consumers(gone) {
                    queues.insert(name.clone());
                }
            }
        } else {
            for name in &queues {
                if let Some(queue) = self.queues.get_mut(name) {
                    queue.remove_consumers(gone);
                }
            }
        }
        for (queue, messages) in returned {
            queues.insert(queue.to_string());
            self.take_back(&queue, messages, history);
        }
        queues.into_iter().collect()
    }

    /// A connection's temporary queues end with it, and what waits on them.
    fn drop_temporary(&mut self, conn: ConnectionId, history: &mut History) {
        let owned: Vec<String> = self
            .queues
            .keys()
            .filter(|name| dialect::temp::owned_by(name, conn))
            .cloned()
            .collect();
        for name in owned {
            let Some(queue) = self.queues.remove(&name) else {
                continue;
            };
            for queued in queue.messages {
                history.ended_undelivered(queued.message.journal_seq, MessageStatus::Rejected);
            }
        }
    }

    /// Forgets connection `conn` (after [`Live::detach_connection`] and the
    /// end of its threads); returns the close reason its writer set, if any.
    pub(crate) fn remove_connection(&mut self, conn: ConnectionId) -> Option<CloseReason> {
        self.connections.remove(&conn)?.close_reason
    }

    /// Whether connection `conn` is closing (or gone).
    pub(crate) fn is_closing(&self, conn: ConnectionId) -> bool {
        self.connections.get(&conn).is_none_or(|c| c.closing)
    }

    /// The transport of connection `conn`, unless it is closing.
    pub(crate) fn transport_of(&self, conn: ConnectionId) -> Option<Arc<dyn Transport>> {
        self.connections
            .get(&conn)
            .filter(|c| !c.closing)
            .map(|c| c.transport.clone())
    }

    /// Closes every open connection (a FIN, not a reset) for `reason`;
    /// their threads then end them as usual.
    pub(crate) fn close_all(&mut self, reason: &CloseReason) {
        for connection in self.connections.values_mut() {
            if connection.close_reason.is_none() {
                connection.close_reason = Some(reason.clone());
            }
            connection.closing = true;
            connection.transport.close();
        }
    }

    /// Shuts down every open connection's transport, which ends its threads.
    pub(crate) fn abort_all(&self) {
        for connection in self.connections.values() {
            connection.transport.abort();
        }
    }

    /// Records that `conn` closes for `reason`, whatever its session says.
    pub(crate) fn set_close_reason(&mut self, conn: ConnectionId, reason: CloseReason) {
        if let Some(connection) = self.connections.get_mut(&conn) {
            connection.close_reason = Some(reason);
        }
    }

    /// Queues a frame for `conn` and puts it in the transcript; if the writer
    /// has gone the connection is closing and there is nobody left to tell.
    pub(crate) fn send_frame(&mut self, conn: ConnectionId, frame: Frame, history: &mut History) {
        if !self.connections.contains_key(&conn) {
            return;
        }
        if history.is_recording() {
            history.record_out(conn, frame.clone());
        }
        self.push(conn, Outbound::Frame(frame));
    }

    /// Delivers nothing more to `conn` (it has been sent an ERROR and is
    /// closing): its queues' messages go to other consumers, and what it
    /// holds unacked goes back when it is detached.
    pub(crate) fn stop_delivering(&mut self, conn: ConnectionId) {
        if let Some(connection) = self.connections.get_mut(&conn) {
            connection.closing = true;
        }
    }

    /// Queues a control item (negotiated settings, close) for `conn`'s writer.
    pub(crate) fn send_control(&mut self, conn: ConnectionId, item: Outbound) {
        self.push(conn, item);
    }

    // ---- subscriptions ---------------------------------------------------

    /// How many subscriptions `conn` holds.
    pub(crate) fn subscription_count(&self, conn: ConnectionId) -> usize {
        self.connections
            .get(&conn)
            .map_or(0, |c| c.subscriptions.len())
    }

    pub(crate) fn subscribe(
        &mut self,
        conn: ConnectionId,
        request: SubscribeRequest,
        history: &mut History,
    ) -> Result<(), RouteError> {
        let topic = match request.destinations.as_slice() {
            [one] => (self.rules.kind_of(one) == DestinationKind::Topic).then(|| one.clone()),
            _ => None,
        };
        // A durable subscription consumes its own queue, fed by the topic.
        let durable = request.durable.clone().filter(|_| topic.is_some());
        if let Some(name) = &durable {
            let active = self.durables.get(name.as_str()).and_then(|d| d.active);
            if active.is_some_and(|c| c != conn) {
                return Err(RouteError::DurableInUse(name.clone()));
            }
        }
        let sources: Vec<Source> = match &durable {
            Some(name) => vec![Source {
                kind: DestinationKind::Queue,
                name: Arc::from(name.as_str()),
                pattern: false,
            }],
            None => request
                .destinations
                .iter()
                .map(|name| self.source(name))
                .collect(),
        };
        let connection = connection_mut(&mut self.connections, conn)?;
        let id: Arc<str> = Arc::from(request.id.as_str());
        if connection.subscriptions.contains_key(&id) {
            return Err(RouteError::DuplicateSubscription(request.id));
        }
        let SubscribeRequest {
            destinations,
            named,
            ack,
            prefetch,
            selector,
            exclusive,
            headers,
            ..
        } = request;
        let destination: Arc<str> = match (&durable, destinations.as_slice()) {
            (Some(name), _) => Arc::from(name.as_str()),
            (None, [one]) => Arc::from(one.as_str()),
            (None, _) => Arc::from(named.as_str()),
        };
        let shown = (*named != *destination).then(|| Arc::from(named.as_str()));
        let selective = selector.is_some();
        let attached = sources.clone();
        let subscription = Subscription {
            destination,
            sources,
            ack,
            prefetch,
            selector: selector.clone(),
            shown,
            durable: durable.is_some(),
            exclusive,
            headers,
            written_id: Arc::from(&*id),
            pending: BTreeMap::new(),
            tags_by_message_id: IdMap::default(),
            delivered: 0,
            acked: 0,
            nacked: 0,
        };
        connection.subscriptions.insert(id.clone(), subscription);
        history.subscribed(conn, &id, &named, ack);
        if let (Some(name), Some(topic)) = (durable, topic) {
            let entry = Durable {
                pattern: self.source(&topic).pattern,
                topic: Arc::from(topic),
                named: Arc::from(named.as_str()),
                selector,
                active: Some(conn),
            };
            self.durables.insert(Arc::from(name.as_str()), entry);
        }
        let key = SubKey { conn, id };
        for source in &attached {
            self.attach(&key, source, (selective, exclusive), history);
        }
        Ok(())
    }

    /// What consuming from `name` means here: a queue or a topic, and
    /// whether it is a pattern (ActiveMQ's wildcards apply to queues and
    /// topics, RabbitMQ's to topic exchanges' keys).
    fn source(&self, name: &str) -> Source {
        let kind = self.rules.kind_of(name);
        let wildcards = match kind {
            DestinationKind::Queue => self.semantics.queue_wildcards,
            DestinationKind::Topic => self.semantics.wildcards_apply_to(name),
        };
        Source {
            kind,
            name: Arc::from(name),
            pattern: wildcards && dialect::is_pattern(self.semantics.wildcards, name),
        }
    }

    /// Makes consumer `key` (`traits`: whether it has a selector, is
    /// exclusive) take messages from `source`: a queue offers it what waits
    /// there at once, a queue pattern every queue it matches.
    fn attach(
        &mut self,
        key: &SubKey,
        source: &Source,
        (selective, exclusive): (bool, bool),
        history: &mut History,
    ) {
        let name = &*source.name;
        match (source.kind, source.pattern) {
            (DestinationKind::Queue, false) => {
                self.declare(name);
                self.queue_mut(name)
                    .add_consumer(key.clone(), selective, exclusive);
                self.dispatch_queue(name, history);
            }
            (DestinationKind::Queue, true) => {
                self.queue_patterns.push((source.name.clone(), key.clone()));
                let wildcards = self.semantics.wildcards;
                let mut matching: Vec<String> = Vec::new();
                for (queue_name, queue) in &mut self.queues {
                    if dialect::topic_matches(wildcards, name, queue_name) {
                        queue.add_consumer(key.clone(), selective, exclusive);
                        matching.push(queue_name.clone());
                    }
                }
                matching.sort();
                for queue_name in matching {
                    self.dispatch_queue(&queue_name, history);
                }
            }
            (DestinationKind::Topic, true) => {
                self.topic_patterns.push((source.name.clone(), key.clone()));
            }
            (DestinationKind::Topic, false) => {
                self.topics
                    .entry(name.to_owned())
                    .or_default()
                    .push(key.clone());
            }
        }
    }

    /// Queue `name`, made if it is new.
    fn queue_mut(&mut self, name: &str) -> &mut Queue {
        if !self.queues.contains_key(name) {
            let queue = self.new_queue(name);
            self.queues.insert(name.to_owned(), queue);
        }
        self.queues.get_mut(name).expect("made above")
    }

    /// A new queue `name`: the wildcard consumers whose pattern matches it
    /// consume it too, as on ActiveMQ.
    fn new_queue(&self, name: &str) -> Queue {
        let mut queue = Queue::default();
        for (pattern, key) in &self.queue_patterns {
            if !dialect::topic_matches(self.semantics.wildcards, pattern, name) {
                continue;
            }
            let subscription = self
                .connections
                .get(&key.conn)
                .and_then(|c| c.subscriptions.get(&key.id));
            if let Some(s) = subscription {
                queue.add_consumer(key.clone(), s.selector.is_some(), s.exclusive);
            }
        }
        queue
    }

    /// The connection consuming durable subscription `name`, if any.
    pub(crate) fn durable_consumer(&self, name: &str) -> Option<ConnectionId> {
        self.durables.get(name).and_then(|d| d.active)
    }

    /// Whether queue `name` exists (RabbitMQ's `/amq/queue/` needs it to).
    pub(crate) fn is_declared(&self, name: &str) -> bool {
        self.declared.contains(name) || self.queues.contains_key(name)
    }

    /// RabbitMQ declares a queue the first time it is named.
    fn declare(&mut self, name: &str) {
        if self.semantics.rabbitmq_destinations && !self.declared.contains(name) {
            self.declared.insert(name.to_owned());
        }
    }

    /// Removes durable subscription `name` and what waits for it; false if
    /// there is none. Its subscriber must have unsubscribed first.
    pub(crate) fn remove_durable(&mut self, name: &str, history: &mut History) -> bool {
        if self.durables.get(name).is_none_or(|d| d.active.is_some()) {
            return false;
        }
        self.durables.remove(name);
        if let Some(queue) = self.queues.remove(name) {
            for queued in queue.messages {
                history.ended_undelivered(queued.message.journal_seq, MessageStatus::Rejected);
            }
        }
        true
    }

    /// The durable topic subscriptions.
    pub(crate) fn durable_subscriptions(&self) -> Vec<DurableSubscription> {
        self.durables
            .iter()
            .map(|(name, d)| DurableSubscription {
                name: name.to_string(),
                topic: d.named.to_string(),
                selector: d.selector.as_ref().map(|s| s.text().to_owned()),
                active: d.active,
                waiting: self.queues.get(&**name).map_or(0, |q| q.messages.len()),
            })
            .collect()
    }

    /// Copies a topic message to the durable subscriptions that take it;
    /// how many did.
    fn feed_durables(&mut self, message: &Arc<StoredMessage>, history: &mut History) -> usize {
        let wildcards = self.semantics.wildcards;
        let takers: Vec<Arc<str>> = self
            .durables
            .iter()
            .filter(|(_, d)| {
                let matches = if d.pattern {
                    dialect::topic_matches(wildcards, &d.topic, &message.destination)
                } else {
                    *d.topic == *message.destination
                };
                matches
                    && d.selector
                        .as_ref()
                        .is_none_or(|s| s.matches(|n| message.header(n)))
            })
            .map(|(name, _)| name.clone())
            .collect();
        for name in &takers {
            history.requeued(message.journal_seq, false);
            self.queue_mut(name).push_back(Queued {
                message: message.clone(),
                redelivered: false,
            });
            self.dispatch_queue(name, history);
        }
        takers.len()
    }

    pub(crate) fn unsubscribe(
        &mut self,
        conn: ConnectionId,
        id: &str,
        history: &mut History,
    ) -> Result<(), RouteError> {
        let connection = connection_mut(&mut self.connections, conn)?;
        let (id, subscription) = connection
            .subscriptions
            .remove_entry(id)
            .ok_or_else(|| RouteError::UnknownSubscription(id.to_owned()))?;
        for tag in subscription.pending.keys() {
            connection.pending_tags.remove(tag);
        }
        for queue in self.release(conn, vec![(id, subscription)], history) {
            self.dispatch_queue(&queue, history);
        }
        Ok(())
    }

    fn unhook_topic(&mut self, destination: &str, gone: impl Fn(&SubKey) -> bool) {
        if let Some(subscribers) = self.topics.get_mut(destination) {
            subscribers.retain(|k| !gone(k));
            if subscribers.is_empty() {
                self.topics.remove(destination);
            }
        }
    }

    /// The id of `conn`'s subscription to `destination` (STOMP 1.0 UNSUBSCRIBE).
    pub(crate) fn subscription_to(&self, conn: ConnectionId, destination: &str) -> Option<String> {
        let connection = self.connections.get(&conn)?;
        let mut ids: Vec<&Arc<str>> = connection
            .subscriptions
            .iter()
            .filter(|(_, s)| {
                &*s.destination == destination || s.shown.as_deref() == Some(destination)
            })
            .map(|(id, _)| id)
            .collect();
        ids.sort();
        ids.first().map(|id| id.to_string())
    }

    /// The destination of subscription `id` of connection `conn`.
    pub(crate) fn destination_of(&self, conn: ConnectionId, id: &str) -> Option<String> {
        let connection = self.connections.get(&conn)?;
        connection
            .subscriptions
            .get(id)
            .map(|s| s.destination.to_string())
    }

    // ---- messages --------------------------------------------------------

    /// Whether `destination` has a subscriber.
    pub(crate) fn has_subscriber(&self, destination: &str) -> bool {
        let wildcards = self.semantics.wildcards;
        let (exact, patterns) = match self.rules.kind_of(destination) {
            DestinationKind::Queue => (
                self.queues
                    .get(destination)
                    .is_some_and(|q| !q.consumers.is_empty()),
                &self.queue_patterns,
            ),
            DestinationKind::Topic => (
                self.topics.get(destination).is_some_and(|t| !t.is_empty()),
                &self.topic_patterns,
            ),
        };
        exact
            || patterns
                .iter()
                .any(|(pattern, _)| dialect::topic_matches(wildcards, pattern, destination))
    }

    /// How many messages wait on `destination`, and what they occupy; a
    /// topic holds none.
    pub(crate) fn waiting_on(&self, destination: &str) -> Option<(usize, usize)> {
        if self.rules.kind_of(destination) != DestinationKind::Queue {
            return None;
        }
        let queue = self.queues.get(destination);
        Some(queue.map_or((0, 0), |q| (q.messages.len(), q.bytes)))
    }

    /// What the messages waiting on queues and those buffered in open
    /// transactions occupy.
    pub(crate) fn held_bytes(&self) -> (usize, usize) {
        let queued = self.queues.values().map(|q| q.bytes).sum();
        let in_transactions = self
            .connections
            .values()
            .flat_map(|c| c.transactions.values())
            .map(Transaction::bytes)
            .sum();
        (queued, in_transactions)
    }

    /// Routes a newly published message.
    pub(crate) fn publish(&mut self, message: Arc<StoredMessage>, history: &mut History) {
        self.set_expiry(&message);
        match self.rules.kind_of(&message.destination) {
            DestinationKind::Queue => {
                self.declare(&message.destination);
                history.routed(message.journal_seq, DestinationKind::Queue, 0);
                if message.expires() && message.expired_at(now_ms()) {
                    self.expire(message, history);
                    return;
                }
                let queue = match self.queues.get_mut(&*message.destination) {
                    Some(queue) => queue,
                    None => {
                        let queue = self.new_queue(&message.destination);
                        self.queues
                            .entry(message.destination.to_string())
                            .or_insert(queue)
                    }
                };
                // Without selectors, messages wait only while every consumer
                // is busy, so only the first can move; with selectors, a
                // waiting message may be one nobody selects.
                let idle = queue.messages.is_empty() || queue.selective > 0;
                queue.push_back(Queued {
                    message,
                    redelivered: false,
                });
                if idle {
                    // Skips the name lookup of dispatch_queue.
                    let expired = dispatch(
                        queue,
                        &mut self.connections,
                        &mut self.unflushed,
                        self.dispatch_watermark,
                        history,
                    );
                    for message in expired {
                        self.expire(message, history);
                    }
                }
            }
            DestinationKind::Topic => self.publish_to_topic(message, history),
        }
    }

    /// Reads the message's expiry header, as the dialect names it.
    fn set_expiry(&self, message: &StoredMessage) {
        let at = match self.semantics.expiry {
            Expiry::Expires => message
                .header("expires")
                .and_then(|v| v.parse::<u64>().ok()),
            Expiry::Expiration => message
                .header("expiration")
                .and_then(|v| v.parse::<u64>().ok())
                .map(|ttl| now_ms().saturating_add(ttl)),
        };
        if let Some(at) = at {
            message.expires_at.store(at, Ordering::Relaxed);
        }
    }

    /// An expired message: to the dead-letter queue (ActiveMQ: persistent
    /// ones only), else gone; the journal says expired either way.
    fn expire(&mut self, message: Arc<StoredMessage>, history: &mut History) {
        history.ended_undelivered(message.journal_seq, MessageStatus::Expired);
        let cause = format!(
            "java.lang.Throwable: Message Expired. Expiration:{}",
            message.expires_at.load(Ordering::Relaxed)
        );
        self.bury(&message, "expired", Some(&cause), history);
    }

    /// Queue messages that come back unacknowledged (NACK, UNSUBSCRIBE, the
    /// consumer gone): to the front of their queue, marked redelivered,
    /// unless they have been redelivered too often: those go to the
    /// dead-letter queue.
    fn take_back(
        &mut self,
        destination: &str,
        messages: Vec<Arc<StoredMessage>>,
        history: &mut History,
    ) {
        let mut back = Vec::with_capacity(messages.len());
        let mut dead = Vec::new();
        for message in messages {
            let times = message.redeliveries.fetch_add(1, Ordering::Relaxed) + 1;
            if self
                .semantics
                .max_redeliveries
                .is_some_and(|max| times > max)
            {
                dead.push(message);
            } else {
                back.push(Queued {
                    message,
                    redelivered: true,
                });
            }
        }
        if !back.is_empty() {
            self.queue_mut(destination).return_front(back.into_iter());
        }
        for message in dead {
            let times = message.redeliveries.load(Ordering::Relaxed) - 1;
            self.dead_letter(&message, &format!("redelivered {times} times"), history);
        }
    }

    /// A message given up on (a poison NACK, too many redeliveries).
    fn dead_letter(&mut self, message: &Arc<StoredMessage>, reason: &str, history: &mut History) {
        let cause = format!("Delivery[{reason}] exceeds redelivery policy limit");
        if self.bury(message, reason, Some(&cause), history) {
            history.ended_undelivered(message.journal_seq, MessageStatus::DeadLettered);
        } else {
            history.ended_undelivered(message.journal_seq, MessageStatus::Rejected);
        }
    }

    /// Publishes a copy of `message` on the dead-letter queue, as ActiveMQ
    /// makes it (`original-destination`, `originalExpiration`, persistent,
    /// `dlqDeliveryFailureCause`); false if the dialect has no dead-letter
    /// queue for it (none, or it is not persistent where only those go, or
    /// it was already on the dead-letter queue).
    fn bury(
        &mut self,
        message: &Arc<StoredMessage>,
        reason: &str,
        cause: Option<&str>,
        history: &mut History,
    ) -> bool {
        let Some(dlq) = self.semantics.dead_letter_queue.clone() else {
            return false;
        };
        if *message.destination == *dlq
            || (self.semantics.dead_letter_persistent_only && !message.is_persistent())
        {
            return false;
        }
        let mut headers = Headers::new();
        for (name, value) in message.sent.iter() {
            if !matches!(name, "destination" | "expires" | "persistent" | "receipt") {
                headers.push(name, value);
            }
        }
        headers.push("destination", &*dlq);
        headers.push("original-destination", &*message.destination);
        let expiration = message.expires_at.load(Ordering::Relaxed);
        headers.push("originalExpiration", expiration.to_string());
        headers.push("persistent", "true");
        if let Some(cause) = cause {
            headers.push("dlqDeliveryFailureCause", cause);
        }
        let id = self.message_ids.fetch_add(1, Ordering::Relaxed);
        let copy = history.dead_letter(
            id,
            dlq.clone(),
            headers,
            message.body.clone(),
            message.journal_seq,
            reason.to_owned(),
        );
        self.publish(copy, history);
        true
    }

    fn publish_to_topic(&mut self, message: Arc<StoredMessage>, history: &mut History) {
        if message.expires() && message.expired_at(now_ms()) {
            history.routed(message.journal_seq, DestinationKind::Topic, 0);
            self.expire(message, history);
            return;
        }
        let mut selected = std::mem::take(&mut self.fan_out);
        let exact = self
            .topics
            .get(&*message.destination)
            .map_or(&[][..], Vec::as_slice);
        let wildcards = self.semantics.wildcards;
        let matching = self
            .topic_patterns
            .iter()
            .filter(|(pattern, _)| dialect::topic_matches(wildcards, pattern, &message.destination))
            .map(|(_, key)| key);
        for key in exact.iter().chain(matching) {
            let selects = self
                .connections
                .get(&key.conn)
                .and_then(|c| c.subscriptions.get(&key.id))
                .is_some_and(|s| s.selects(&message));
            if selects {
                selected.push(key.clone());
            }
        }
        let subscribers = &selected[..];
        let durable = if self.durables.is_empty() {
            0
        } else {
            self.feed_durables(&message, history)
        };
        history.routed(
            message.journal_seq,
            DestinationKind::Topic,
            subscribers.len() + durable,
        );
        let shared = (subscribers.len() > 1).then(|| Arc::new(SharedTail::default()));
        for key in subscribers {
            let Some(connection) = self.connections.get_mut(&key.conn) else {
                continue;
            };
            if connection.closing {
                continue;
            }
            if deliver(
                connection,
                key,
                message.clone(),
                (false, false),
                shared.clone(),
                history,
            ) {
                self.unflushed.push(key.conn);
            }
            if connection.outbox.backlog() > self.max_backlog {
                connection.closing = true;
                connection.outbox.overflow();
            }
        }
        selected.clear();
        self.fan_out = selected;
    }

    /// Whether `target` names a delivery pending on `conn`.
    pub(crate) fn is_pending(&self, conn: ConnectionId, target: &AckTarget) -> bool {
        self.connections
            .get(&conn)
            .is_some_and(|c| resolve(c, target).is_some())
    }

    /// Settles the delivery `target` names (cumulatively in `client` mode)
    /// with an ACK or NACK; on NACK, queue messages go back to their queue for
    /// redelivery, or to the dead-letter queue, as the dialect says (`requeue`
    /// is RabbitMQ's header: false for `requeue:false`). `transaction` is for
    /// the journal.
    pub(crate) fn settle(
        &mut self,
        conn: ConnectionId,
        (target, kind): (&AckTarget, AckKind),
        requeue: bool,
        transaction: Option<&str>,
        history: &mut History,
    ) -> Result<(), RouteError> {
        let connection = connection_mut(&mut self.connections, conn)?;
        let (id, tag) =
            resolve(connection, target).ok_or_else(|| RouteError::NotPending(target.clone()))?;
        let subscription = connection
            .subscriptions
            .get_mut(&id)
            .expect("resolve returns a live subscription");
        let settled = subscription.take_pending(tag, subscription.ack == AckMode::Client);
        let requeue = kind == AckKind::Nack
            && match self.semantics.nack {
                Nack::Redeliver => true,
                Nack::Poison => false,
                Nack::Requeue => requeue,
            };
        // The queues the settled messages came from, and the NACKed ones.
        let mut queues: Vec<Arc<str>> = Vec::new();
        let mut nacked: Vec<(Arc<str>, Arc<StoredMessage>)> = Vec::new();
        for (tag, message) in settled {
            connection.pending_tags.remove(&tag);
            match kind {
                AckKind::Ack => subscription.acked += 1,
                AckKind::Nack => subscription.nacked += 1,
            }
            // A topic message settled is only counted.
            let queue = subscription.queue_of(&message, &self.rules);
            let requeue = requeue && queue.is_some();
            history.settled(conn, &id, &message, kind, transaction, requeue);
            let Some(queue) = queue else {
                continue;
            };
            if !queues.contains(&queue) {
                queues.push(queue.clone());
            }
            if kind == AckKind::Nack {
                nacked.push((queue, message));
            }
        }
        if requeue {
            for queue in &queues {
                let back = nacked
                    .iter()
                    .filter(|(q, _)| q == queue)
                    .map(|(_, m)| m.clone())
                    .collect();
                self.take_back(queue, back, history);
            }
        } else {
            for (_, message) in &nacked {
                self.dead_letter(message, "NACKed", history);
            }
        }
        for queue in queues {
            self.dispatch_queue(&queue, history);
        }
        Ok(())
    }

    /// A writer drained below the watermark: offer its queues more.
    pub(crate) fn dispatch_for(&mut self, conn: ConnectionId, history: &mut History) {
        let Some(connection) = self.connections.get(&conn) else {
            return;
        };
        let mut queues: BTreeSet<String> = BTreeSet::new();
        let mut patterns = false;
        for source in connection.subscriptions.values().flat_map(|s| &s.sources) {
            match (source.kind, source.pattern) {
                (DestinationKind::Queue, false) => {
                    queues.insert(source.name.to_string());
                }
                (DestinationKind::Queue, true) => patterns = true,
                (DestinationKind::Topic, _) => {}
            }
        }
        if patterns {
            let consumes = |q: &Queue| q.consumers.iter().any(|k| k.conn == conn);
            queues.extend(
                self.queues
                    .iter()
                    .filter(|(_, q)| consumes(q))
                    .map(|(name, _)| name.clone()),
            );
        }
        for queue in queues {
            self.dispatch_queue(&queue, history);
        }
    }

    /// Auto-acknowledged queue deliveries a writer could not send.
    pub(crate) fn requeue(&mut self, unsent: Vec<Delivery>, history: &mut History) {
        let mut by_queue: HashMap<String, Vec<Queued>> = HashMap::new();
        for delivery in unsent {
            history.requeued(delivery.message.journal_seq, false);
            let queue = match &delivery.if_unsent {
                IfUnsent::BackTo(queue) => queue,
                _ => &delivery.message.destination,
            };
            by_queue.entry(queue.to_string()).or_default().push(Queued {
                message: delivery.message,
                redelivered: delivery.redelivered,
            });
        }
        for (destination, messages) in by_queue {
            self.queue_mut(&destination)
                .return_front(messages.into_iter());
            self.dispatch_queue(&destination, history);
        }
    }

    /// Hands queued messages of `name` to eligible consumers, round-robin.
    fn dispatch_queue(&mut self, name: &str, history: &mut History) {
        let Some(queue) = self.queues.get_mut(name) else {
            return;
        };
        if queue.messages.is_empty() && queue.consumers.is_empty() {
            self.queues.remove(name);
            return;
        }
        let expired = dispatch(
            queue,
            &mut self.connections,
            &mut self.unflushed,
            self.dispatch_watermark,
            history,
        );
        for message in expired {
            self.expire(message, history);
        }
    }

    // ---- transactions ----------------------------------------------------

    /// How many transactions `conn` has open.
    pub(crate) fn open_transactions(&self, conn: ConnectionId) -> usize {
        self.connections
            .get(&conn)
            .map_or(0, |c| c.transactions.len())
    }

    /// Opens transaction `id`; false if it is already open.
    pub(crate) fn begin(&mut self, conn: ConnectionId, id: &str, at: Duration) -> bool {
        let Some(connection) = self.connections.get_mut(&conn) else {
            return false;
        };
        if connection.transactions.contains_key(id) {
            return false;
        }
        let transaction = Transaction {
            begun_at: at,
            ops: Vec::new(),
            bytes: 0,
            messages: 0,
        };
        connection.transactions.insert(id.to_owned(), transaction);
        true
    }

    /// Open transaction `id` of `conn`.
    pub(crate) fn transaction_mut(
        &mut self,
        conn: ConnectionId,
        id: &str,
    ) -> Option<&mut Transaction> {
        self.connections.get_mut(&conn)?.transactions.get_mut(id)
    }

    /// Closes open transaction `id` of `conn`, returning what it buffered.
    pub(crate) fn end_transaction(&mut self, conn: ConnectionId, id: &str) -> Option<Transaction> {
        self.connections.get_mut(&conn)?.transactions.remove(id)
    }

    // ---- inspection ------------------------------------------------------

    /// The active subscriptions, by connection then id.
    pub(crate) fn subscriptions(&self) -> Vec<SubscriptionInfo> {
        let mut all = Vec::new();
        for (conn, connection) in &self.connections {
            for (id, s) in &connection.subscriptions {
                all.push(SubscriptionInfo {
                    connection: *conn,
                    id: id.to_string(),
                    destination: s.shown.as_ref().unwrap_or(&s.destination).to_string(),
                    durable: s.durable.then(|| s.destination.to_string()),
                    ack: s.ack,
                    selector: s.selector.as_ref().map(|s| s.text().to_owned()),
                    headers: s.headers.clone(),
                    delivered: s.delivered,
                    acked: s.acked,
                    nacked: s.nacked,
                    unacked: s.pending.len() as u64,
                });
            }
        }
        all.sort_by(|a, b| (a.connection, &a.id).cmp(&(b.connection, &b.id)));
        all
    }

    /// The open transactions, by connection then id.
    pub(crate) fn transactions(&self) -> Vec<TransactionInfo> {
        let mut all = Vec::new();
        for (conn, connection) in &self.connections {
            for (id, transaction) in &connection.transactions {
                all.push(TransactionInfo {
                    connection: *conn,
                    id: id.clone(),
                    frames: transaction.ops.iter().map(TxOp::frame).collect(),
                    begun_at: transaction.begun_at,
                });
            }
        }
        all.sort_by(|a, b| (a.connection, &a.id).cmp(&(b.connection, &b.id)));
        all
    }

    /// What is waiting on queue `name`, and what its consumers hold unacked.
    pub(crate) fn queue_snapshot(&self, name: &str) -> QueueSnapshot {
        let queued = |message: &StoredMessage, redelivered, held_by| QueuedMessage {
            message_id: message.message_id(),
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
        let mut holders: Vec<(ConnectionId, &Arc<str>, &Subscription)> = Vec::new();
        for (conn, connection) in &self.connections {
            for (id, subscription) in &connection.subscriptions {
                holders.push((*conn, id, subscription));
            }
        }
        holders.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        let mut unacked = Vec::new();
        for (conn, id, subscription) in holders {
            let holder = || Some((conn, id.to_string()));
            let from_here = |m: &&Arc<StoredMessage>| {
                subscription
                    .queue_of(m, &self.rules)
                    .is_some_and(|q| *q == *name)
            };
            unacked.extend(
                subscription
                    .pending
                    .values()
                    .filter(from_here)
                    .map(|m| queued(m, false, holder())),
            );
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
            queue.clear();
        }
        self.queues.retain(|_, q| !q.consumers.is_empty());
    }

    /// Zeroes the subscriptions' counters (a journal reset).
    pub(crate) fn reset_counters(&mut self) {
        for connection in self.connections.values_mut() {
            for subscription in connection.subscriptions.values_mut() {
                subscription.delivered = 0;
                subscription.acked = 0;
                subscription.nacked = 0;
            }
        }
    }
}

fn connection_mut(
    connections: &mut IdMap<Connection>,
    conn: ConnectionId,
) -> Result<&mut Connection, RouteError> {
    // The session removes its connection only as its last act, so a missing
    // one means a frame raced the end of its own connection.
    connections
        .get_mut(&conn)
        .ok_or_else(|| RouteError::UnknownSubscription("(connection closed)".into()))
}

/// Hands `queue`'s messages to eligible consumers, round-robin, each to a
/// consumer whose selector (if any) selects it; returns the messages found
/// expired on the way, taken off the queue.
fn dispatch(
    queue: &mut Queue,
    connections: &mut IdMap<Connection>,
    unflushed: &mut Vec<ConnectionId>,
    watermark: usize,
    history: &mut History,
) -> Vec<Arc<StoredMessage>> {
    let mut expired = Vec::new();
    // The clock is read only for a message that can expire.
    let mut now = None;
    let mut index = 0;
    while index < queue.messages.len() {
        let candidate = &queue.messages[index].message;
        if candidate.expires() && candidate.expired_at(*now.get_or_insert_with(now_ms)) {
            expired.extend(queue.remove(index).map(|q| q.message));
            continue;
        }
        let message = &queue.messages[index].message;
        let Some(consumer) = next_consumer(queue, connections, watermark, message) else {
            // Nobody takes it now. Without selectors nobody takes any other
            // either; with them, a later message may suit someone with room.
            if queue.selective > 0 && next_consumer_at_all(queue, connections, watermark) {
                index += 1;
                continue;
            }
            break;
        };
        queue.next = (consumer + 1) % queue.consumers.len();
        let queued = queue.remove(index).expect("checked in range");
        let key = &queue.consumers[consumer];
        let connection = connections
            .get_mut(&key.conn)
            .expect("eligible consumer exists");
        if deliver(
            connection,
            key,
            queued.message,
            (true, queued.redelivered),
            None,
            history,
        ) {
            unflushed.push(key.conn);
        }
    }
    expired
}

/// The first consumer from the round-robin position that can take
/// `message` now (room for it, and its selector selects it).
fn next_consumer(
    queue: &Queue,
    connections: &IdMap<Connection>,
    watermark: usize,
    message: &StoredMessage,
) -> Option<usize> {
    if queue.exclusive > 0 {
        // The first exclusive consumer is the queue's only consumer.
        let index = first_exclusive(queue, connections)?;
        let key = &queue.consumers[index];
        let selects = connections
            .get(&key.conn)
            .and_then(|c| c.subscriptions.get(&key.id))
            .is_some_and(|s| s.selects(message));
        return (selects && can_take(key, connections, watermark)).then_some(index);
    }
    let count = queue.consumers.len();
    let selective = queue.selective > 0;
    (0..count).map(|i| (queue.next + i) % count).find(|&index| {
        let key = &queue.consumers[index];
        can_take(key, connections, watermark)
            && (!selective
                || connections
                    .get(&key.conn)
                    .and_then(|c| c.subscriptions.get(&key.id))
                    .is_some_and(|s| s.selects(message)))
    })
}

/// The first of `queue`'s consumers that is exclusive.
fn first_exclusive(queue: &Queue, connections: &IdMap<Connection>) -> Option<usize> {
    queue.consumers.iter().position(|key| {
        connections
            .get(&key.conn)
            .and_then(|c| c.subscriptions.get(&key.id))
            .is_some_and(|s| s.exclusive)
    })
}

/// Whether any consumer could take a message now, whatever it is.
fn next_consumer_at_all(queue: &Queue, connections: &IdMap<Connection>, watermark: usize) -> bool {
    if queue.exclusive > 0 {
        return first_exclusive(queue, connections)
            .is_some_and(|i| can_take(&queue.consumers[i], connections, watermark));
    }
    queue
        .consumers
        .iter()
        .any(|key| can_take(key, connections, watermark))
}

/// Whether consumer `key` has room for one more message.
fn can_take(key: &SubKey, connections: &IdMap<Connection>, watermark: usize) -> bool {
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
        // Marked before the second look: a writer that drains in between
        // either sees the mark (and re-dispatches) or drained before the
        // second look, which then finds room.
        connection.outbox.mark_throttled();
        if connection.outbox.backlog() >= watermark {
            return false;
        }
    }
    true
}

/// Milliseconds since the epoch, as `expires` headers count them.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Queues one message for one subscription and records it; it stays
/// pending in the client ack modes. True if it is the first item queued on
/// the connection's outbox in this pass (to be flushed).
fn deliver(
    connection: &mut Connection,
    key: &SubKey,
    message: Arc<StoredMessage>,
    (from_queue, redelivered): (bool, bool),
    shared: Option<Arc<SharedTail>>,
    history: &mut History,
) -> bool {
    let Some(subscription) = connection.subscriptions.get_mut(&key.id) else {
        debug_assert!(false, "a consumer without a subscription");
        return false;
    };
    let tag = connection.next_tag;
    let needs_ack = subscription.ack != AckMode::Auto;
    subscription.delivered += 1;
    if needs_ack {
        connection.next_tag += 1;
        subscription.tags_by_message_id.insert(message.id, tag);
        subscription.pending.insert(tag, message.clone());
        connection.pending_tags.insert(tag, key.id.clone());
    }
    let delivery = Delivery {
        message,
        subscription: subscription.written_id.clone(),
        ack: needs_ack.then_some(tag),
        redelivered,
        if_unsent: match (from_queue && !needs_ack, subscription.durable) {
            (false, _) => IfUnsent::Nothing,
            (true, false) => IfUnsent::BackToItsQueue,
            (true, true) => IfUnsent::BackTo(subscription.destination.clone()),
        },
        shared,
    };
    history.delivered(&delivery, &key.id, key.conn);
    connection.outbox.push(Outbound::Delivery(delivery))
}

/// Queues `item` on `connection`'s outbox, remembering to flush it.
fn push_to(
    unflushed: &mut Vec<ConnectionId>,
    conn: ConnectionId,
    connection: &mut Connection,
    item: Outbound,
) {
    if connection.outbox.push(item) {
        unflushed.push(conn);
    }
}

/// An `ack` header's tag, as the broker wrote it: digits only, no sign and
/// no leading zero (so `+1` and `01` name nothing).
fn parse_tag(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) || text.starts_with('0') {
        return None;
    }
    text.parse().ok()
}

/// Finds the subscription and tag an ACK/NACK refers to.
fn resolve(connection: &Connection, target: &AckTarget) -> Option<(Arc<str>, u64)> {
    match target {
        AckTarget::Tag(text) => {
            let tag = parse_tag(text)?;
            connection
                .pending_tags
                .get(&tag)
                .map(|id| (id.clone(), tag))
        }
        AckTarget::MessageId {
            message_id,
            subscription,
        } => {
            let message_id = parse_message_id(message_id)?;
            let mut candidates: Vec<(&Arc<str>, &Subscription)> = connection
                .subscriptions
                .iter()
                .filter(|(id, _)| subscription.as_deref().is_none_or(|s| s == &***id))
                .collect();
            candidates.sort_by(|a, b| a.0.cmp(b.0));
            candidates.into_iter().find_map(|(id, s)| {
                s.tags_by_message_id
                    .get(&message_id)
                    .map(|tag| (id.clone(), *tag))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_tag;

    #[test]
    fn ack_tags_parse_only_as_written() {
        assert_eq!(parse_tag("1"), Some(1));
        assert_eq!(parse_tag("120"), Some(120));
        for bad in ["", "+1", "01", "-1", " 1", "1 ", "x"] {
            assert_eq!(parse_tag(bad), None, "{bad:?}");
        }
    }
}
