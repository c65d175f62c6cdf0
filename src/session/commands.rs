//! The frames of an open session: SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK,
//! BEGIN, COMMIT and ABORT.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use super::room::message_size;
use super::{Failure, Session};
use crate::ack::AckMode;
use crate::destination::DestinationKind;
use crate::dialect::{self, Dialect, Selectors, TempNames, temp};
use crate::journal::{AckKind, PermissionDenial, TransactionOutcome};
use crate::permissions::Access;
use crate::protocol::Version;
use crate::protocol::frame::{Command, Frame};
use crate::protocol::message::StoredMessage;
use crate::selector::Selector;
use crate::state::Journal;
use crate::state::live::{AckTarget, RouteError, SubscribeRequest, Transaction, TxOp};

impl Session {
    /// SEND: the journal records it (the transcript entry shares the
    /// message), then it is routed or buffered in its transaction.
    pub(super) fn send(&mut self, journal: &mut Journal, frame: Frame) -> Result<(), Failure> {
        if self.state.config.semantics.composite_destinations {
            if let Some(parts) = frame
                .header("destination")
                .and_then(dialect::composite_parts)
            {
                return self.send_composite(journal, frame, parts);
            }
        }
        if let Err(failure) = self.check_send(journal, &frame) {
            journal.history.record_in(self.conn, Some(&frame));
            return Err(failure);
        }
        let transaction = frame.header("transaction").map(str::to_owned);
        let reply_to_temp = frame
            .header("reply-to")
            .filter(|r| temp::is_temp(r))
            .map(str::to_owned);
        let message = self.record_send(journal, frame, transaction.as_deref());
        if reply_to_temp.is_some() || temp::owner(&message.destination).is_some() {
            self.rewrite_temp_names(&message);
        }
        if let Some(reply_to) = reply_to_temp {
            self.listen_for_replies(journal, &reply_to);
        }
        match transaction {
            Some(tx) => self.transaction(journal, &tx)?.push(TxOp::Send(message)),
            None => journal.live.publish(message, &mut journal.history),
        }
        Ok(())
    }

    /// ActiveMQ's composite destination: the SEND goes to each part as if
    /// sent there, its `destination` the part's and `original-destination`
    /// the composite (in ActiveMQ's notation). Every part is checked (permission, room, ...) before
    /// any is sent, so a refusal sends none; the transcript holds the SEND
    /// once.
    fn send_composite(
        &mut self,
        journal: &mut Journal,
        frame: Frame,
        parts: Result<Vec<String>, String>,
    ) -> Result<(), Failure> {
        let checked = parts
            .map_err(|message| {
                Failure::new(
                    message,
                    "Each part of a composite destination names a destination.",
                )
            })
            .and_then(|parts| {
                let composite = dialect::composite_original(&parts);
                let frames: Vec<Frame> = parts
                    .iter()
                    .map(|part| {
                        let mut one = frame.clone();
                        one.headers_mut().set("destination", part);
                        one.headers_mut().set("original-destination", &composite);
                        one
                    })
                    .collect();
                for part in &frames {
                    self.check_send(journal, part)?;
                }
                Ok(frames)
            });
        journal.history.record_in(self.conn, Some(&frame));
        let transaction = frame.header("transaction").map(str::to_owned);
        for part in checked? {
            let (_, headers, body) = part.into_parts();
            let destination = self.shared_name(headers.get("destination").unwrap_or_default());
            let id = self.state.next_message_id();
            let message = journal.history.sent_part(
                self.conn,
                id,
                destination,
                headers,
                body,
                transaction.as_deref(),
            );
            match &transaction {
                Some(tx) => self.transaction(journal, tx)?.push(TxOp::Send(message)),
                None => journal.live.publish(message, &mut journal.history),
            }
        }
        Ok(())
    }

    /// Makes the message of a SEND, recorded in the journal.
    fn record_send(
        &mut self,
        journal: &mut Journal,
        frame: Frame,
        transaction: Option<&str>,
    ) -> Arc<StoredMessage> {
        let (_, headers, body) = frame.into_parts();
        let destination = self.shared_name(headers.get("destination").unwrap_or_default());
        let id = self.state.next_message_id();
        journal
            .history
            .sent(Some(self.conn), id, destination, headers, body, transaction)
    }

    /// The broker's name for `destination`: a temporary destination's
    /// carries its owner.
    fn broker_name<'d>(&self, destination: &'d str) -> Cow<'d, str> {
        let semantics = &self.state.config.semantics;
        if let Some(name) = temp::resolve(semantics.temp_names, self.conn, destination) {
            return Cow::Owned(name);
        }
        if semantics.rabbitmq_destinations {
            // Checked (check_route) before any frame gets here.
            if let Ok(route) =
                dialect::rabbitmq_route(destination, false, &semantics.exchanges, "/")
            {
                return Cow::Owned(route);
            }
        }
        Cow::Borrowed(destination)
    }

    /// [`Session::broker_name`] as the name a message holds: the one the
    /// last SEND's message holds if it is the same (a producer mostly sends
    /// to one destination), not a copy per message.
    fn shared_name(&mut self, destination: &str) -> Arc<str> {
        let name = self.broker_name(destination);
        match &self.last_destination {
            Some(last) if **last == *name => last.clone(),
            _ => {
                let name: Arc<str> = Arc::from(&*name);
                self.last_destination = Some(name.clone());
                name
            }
        }
    }

    /// RabbitMQ: the exchange a destination names must exist; `/amq/queue/`
    /// names a queue that must exist (declared by a SEND or SUBSCRIBE to
    /// `/queue/`). Returns the routing name.
    fn check_route<'d>(
        &self,
        journal: &Journal,
        destination: &'d str,
        subscribing: bool,
    ) -> Result<Cow<'d, str>, Failure> {
        let semantics = &self.state.config.semantics;
        if !semantics.rabbitmq_destinations || temp::is_temp(destination) {
            return Ok(self.broker_name(destination));
        }
        let vhost = self.vhost.as_deref().unwrap_or("/");
        let route = dialect::rabbitmq_route(destination, subscribing, &semantics.exchanges, vhost)
            .map_err(|(message, detail)| Failure::new(message, detail))?;
        if let Some(name) = destination.strip_prefix("/amq/queue/") {
            if !journal.live.is_declared(&route) {
                return Err(Failure::new(
                    "not_found",
                    format!("NOT_FOUND - no queue '{name}' in vhost '{vhost}'"),
                ));
            }
        }
        Ok(Cow::Owned(route))
    }

    /// What the receiver of `message` sees in place of temporary names: a
    /// `reply-to` it can send to, and the `destination` as its owner named it.
    fn rewrite_temp_names(&self, message: &StoredMessage) {
        let mut rewritten = Vec::new();
        if let Some(reply_to) = message.header("reply-to").filter(|r| temp::is_temp(r)) {
            rewritten.push((
                "reply-to".to_owned(),
                self.broker_name(reply_to).into_owned(),
            ));
        }
        if let Some((_, shown)) = temp::owner(&message.destination) {
            rewritten.push(("destination".to_owned(), shown));
        }
        if !rewritten.is_empty() {
            let _ = message.rewritten.set(rewritten);
        }
    }

    /// RabbitMQ: a SEND whose `reply-to` is `/temp-queue/NAME` subscribes
    /// its connection to the replies (subscription id `/temp-queue/NAME`).
    fn listen_for_replies(&self, journal: &mut Journal, reply_to: &str) {
        if self.state.config.semantics.temp_names != TempNames::RabbitMq
            || journal.live.destination_of(self.conn, reply_to).is_some()
        {
            return;
        }
        let request = SubscribeRequest {
            id: reply_to.to_owned(),
            destinations: vec![self.broker_name(reply_to).into_owned()],
            named: reply_to.to_owned(),
            ack: AckMode::Auto,
            prefetch: None,
            selector: None,
            durable: None,
            exclusive: false,
            headers: Default::default(),
        };
        let _ = journal
            .live
            .subscribe(self.conn, request, &mut journal.history);
    }

    /// Everything that may refuse a SEND, in order: the destination's name,
    /// permission, the transaction, room for the message (its queue or
    /// transaction, the memory budget), a failure the test armed.
    fn check_send(&mut self, journal: &mut Journal, frame: &Frame) -> Result<(), Failure> {
        let destination = required(frame, "destination")?;
        self.check_syntax(destination)?;
        if let Some((owner, shown)) = temp::owner(destination) {
            if journal.live.is_closing(owner) {
                return Err(Failure::new(
                    format!("Cannot publish to a deleted Destination: {destination}"),
                    format!(
                        "The connection that made {shown} has closed, and its temporary destinations with it."
                    ),
                ));
            }
        }
        self.permit(journal, Command::Send, destination, Access::PUB)?;
        self.check_route(journal, destination, false)?;
        let transaction = frame.header("transaction");
        if let Some(tx) = transaction {
            self.transaction(journal, tx)?;
        }
        self.check_room(journal, destination, transaction, message_size(frame))?;
        if let Some(message) = self.state.refusals.take_send(destination) {
            return Err(Failure::new(
                message,
                "The test arranged for this SEND to fail.",
            ));
        }
        Ok(())
    }

    fn check_syntax(&self, destination: &str) -> Result<(), Failure> {
        if self.state.config.semantics.rabbitmq_destinations {
            dialect::rabbitmq_destination(destination)
                .map_err(|(message, detail)| Failure::new(message, detail))?;
        }
        let syntax = self.state.config.rules.destination_syntax;
        syntax
            .check(destination)
            .map_err(|message| Failure::new(message, "This broker restricts destination names."))
    }

    /// Refuses (and records) `command` on `destination` unless the
    /// connection's principal has `needed` on its topic.
    fn permit(
        &self,
        journal: &mut Journal,
        command: Command,
        destination: &str,
        needed: Access,
    ) -> Result<(), Failure> {
        let principal = self.principal.as_deref().unwrap_or("anonymous");
        let checked = self.state.permissions.check(principal, destination, needed);
        let Err(denial) = checked else {
            return Ok(());
        };
        let message = format!(
            "permission denied: {command} on '{destination}' needs {needed} on topic '{}', which principal '{principal}' lacks",
            denial.topic
        );
        journal.history.denied(PermissionDenial {
            connection: self.conn,
            principal: denial.principal,
            command,
            destination: destination.to_owned(),
            topic: denial.topic,
            needed,
            at: Duration::ZERO,
        });
        Err(Failure::new(message, "Nothing of the frame took effect."))
    }

    pub(super) fn subscribe(
        &mut self,
        journal: &mut Journal,
        frame: &Frame,
    ) -> Result<(), Failure> {
        let destination = required(frame, "destination")?;
        let (parts, warning) = self.subscribed_parts(destination)?;
        for part in &parts {
            self.check_syntax(part)?;
        }
        if temp::is_temp(destination)
            && self.state.config.semantics.temp_names == TempNames::RabbitMq
        {
            return Err(Failure::new(
                "Invalid destination",
                format!("'{destination}' is not a valid destination for 'SUBSCRIBE'"),
            ));
        }
        let selector = self.selector(frame)?;
        for part in &parts {
            self.permit(journal, Command::Subscribe, part, Access::SUB)?;
        }
        let id = match (frame.header("id"), self.version) {
            (Some(id), _) => id,
            // STOMP 1.0 makes the id optional; the destination stands in for it.
            (None, Some(Version::V1_0)) => destination,
            (None, _) => return Err(Failure::missing("id", frame.command())),
        };
        let ack = match frame.header("ack") {
            None => AckMode::Auto,
            Some(text) => AckMode::parse(text).ok_or_else(|| {
                Failure::new(
                    format!("invalid ack mode '{text}'"),
                    "The ack header must be auto, client or client-individual.",
                )
            })?,
        };
        let max = self.state.config.max_subscriptions;
        if journal.live.subscription_count(self.conn) >= max
            && journal.live.destination_of(self.conn, id).is_none()
        {
            return Err(Failure::new(
                format!("too many subscriptions on this connection: at most {max}"),
                "UNSUBSCRIBE some first, or open another connection.",
            ));
        }
        let request = SubscribeRequest {
            id: id.to_owned(),
            destinations: parts
                .iter()
                .map(|part| self.check_route(journal, part, true).map(Cow::into_owned))
                .collect::<Result<_, _>>()?,
            named: destination.to_owned(),
            ack,
            prefetch: prefetch(frame)?,
            selector,
            durable: self.durable_name(journal, frame, id, parts.len())?,
            exclusive: frame.header("activemq.exclusive") == Some("true"),
            headers: frame.headers().clone(),
        };
        journal
            .live
            .subscribe(self.conn, request, &mut journal.history)
            .map_err(route_failure)?;
        if let Some(warning) = warning {
            journal.history.warn(self.conn, warning);
        }
        Ok(())
    }

    /// The destinations a SUBSCRIBE consumes from: the one it names, or the
    /// parts of an ActiveMQ composite destination (`/queue/a,/queue/b`),
    /// each once. As on ActiveMQ, a composite consumer takes from the parts
    /// of its first part's kind (queue or topic) only; the warning for the
    /// journal names the others.
    fn subscribed_parts(
        &self,
        destination: &str,
    ) -> Result<(Vec<String>, Option<String>), Failure> {
        let parts = match self.state.config.semantics.composite_destinations {
            true => dialect::composite_parts(destination),
            false => None,
        };
        let Some(parts) = parts else {
            return Ok((vec![destination.to_owned()], None));
        };
        let mut parts = parts.map_err(|message| {
            Failure::new(
                message,
                "Each part of a composite destination names a destination.",
            )
        })?;
        let mut seen = std::collections::HashSet::new();
        parts.retain(|p| seen.insert(p.clone()));
        let rules = &self.state.config.destinations;
        let kind = rules.kind_of(&parts[0]);
        let (taken, ignored): (Vec<String>, Vec<String>) =
            parts.into_iter().partition(|p| rules.kind_of(p) == kind);
        let warning = (!ignored.is_empty()).then(|| {
            format!(
                "SUBSCRIBE to the composite destination '{destination}' consumes from its {} parts only, as ActiveMQ does: not from {}",
                match kind {
                    DestinationKind::Queue => "queue",
                    DestinationKind::Topic => "topic",
                },
                ignored.join(", ")
            )
        });
        Ok((taken, warning))
    }

    /// The name of the durable subscription a SUBSCRIBE (or UNSUBSCRIBE)
    /// names, by its broker's headers: ActiveMQ's `activemq.subscriptionName`
    /// with the CONNECT's `client-id`, RabbitMQ's `durable:true` (or
    /// `persistent:true`) with `auto-delete:false` and the `id`.
    fn durable_name(
        &self,
        journal: &Journal,
        frame: &Frame,
        id: &str,
        parts: usize,
    ) -> Result<Option<String>, Failure> {
        if self.state.config.semantics.dialect == Dialect::RabbitMq {
            let durable = frame.header("durable") == Some("true")
                || frame.header("persistent") == Some("true");
            let kept = frame.header("auto-delete") == Some("false");
            return Ok((durable && kept).then(|| format!("durable:{id}")));
        }
        let Some(name) = frame.header("activemq.subscriptionName") else {
            return Ok(None);
        };
        if parts > 1 {
            return Err(Failure::new(
                "a durable subscription to a composite destination is not supported",
                "Make a durable subscription to each topic.",
            ));
        }
        let client_id = journal.history.identity(self.conn).client_id;
        match client_id {
            Some(client) => Ok(Some(format!("durable:{client}:{name}"))),
            None => Err(Failure::new(
                "a durable subscription needs a client-id",
                "SUBSCRIBE with activemq.subscriptionName requires the CONNECT frame's client-id header, as ActiveMQ does.",
            )),
        }
    }

    /// The SUBSCRIBE's selector, parsed, if the dialect applies selectors.
    fn selector(&self, frame: &Frame) -> Result<Option<Arc<Selector>>, Failure> {
        let Some(text) = frame.header("selector") else {
            return Ok(None);
        };
        if self.state.config.rules.refuse_selectors {
            return Err(Failure::new(
                "selectors are not supported",
                "This broker refuses SUBSCRIBE frames with a 'selector' header.",
            ));
        }
        if self.state.config.semantics.selectors == Selectors::Ignore {
            return Ok(None);
        }
        match Selector::parse(text) {
            Ok(selector) => Ok(Some(Arc::new(selector))),
            Err(error) => Err(Failure::new(
                error.to_string(),
                "The selector header must be a JMS message selector (SQL-92 conditions on message headers).",
            )),
        }
    }

    pub(super) fn unsubscribe(
        &mut self,
        journal: &mut Journal,
        frame: &Frame,
    ) -> Result<(), Failure> {
        let id = match (
            frame.header("id"),
            frame.header("destination"),
            self.version,
        ) {
            (Some(id), _, _) => id.to_owned(),
            (None, Some(destination), Some(Version::V1_0)) => journal
                .live
                .subscription_to(self.conn, destination)
                .ok_or_else(|| {
                    route_failure(RouteError::UnknownSubscription(destination.to_owned()))
                })?,
            (None, _, _) => return Err(Failure::missing("id", frame.command())),
        };
        if self.state.permissions.enforced() {
            if let Some(destination) = journal.live.destination_of(self.conn, &id) {
                self.permit(journal, Command::Unsubscribe, &destination, Access::SUB)?;
            }
        }
        let durable = self.durable_name(journal, frame, &id, 1)?;
        if let Some(name) = &durable {
            // ActiveMQ removes a durable subscription only while nobody
            // consumes it (and keeps the connection after saying so).
            let rabbitmq = self.state.config.semantics.dialect == Dialect::RabbitMq;
            if !rabbitmq && journal.live.durable_consumer(name).is_some() {
                return Err(Failure::new(
                    "Durable consumer is in use",
                    "UNSUBSCRIBE with activemq.subscriptionName removes a durable subscription once it is inactive: disconnect (or UNSUBSCRIBE without the header) first.",
                )
                .keeping_open());
            }
        }
        let unsubscribed = journal
            .live
            .unsubscribe(self.conn, &id, &mut journal.history);
        // With its broker's durable headers, UNSUBSCRIBE also removes the
        // durable subscription, even one not consumed on this connection.
        if let Some(name) = durable {
            if journal.live.remove_durable(&name, &mut journal.history) {
                return Ok(());
            }
        }
        unsubscribed.map_err(route_failure)
    }

    pub(super) fn acknowledge(
        &mut self,
        journal: &mut Journal,
        frame: &Frame,
        kind: AckKind,
    ) -> Result<(), Failure> {
        let target = self.ack_target(frame)?;
        if let Some(tx) = frame.header("transaction") {
            self.transaction(journal, tx)?;
            if !journal.live.is_pending(self.conn, &target) {
                return Err(route_failure(RouteError::NotPending(target)));
            }
            let op = TxOp::Settle {
                target,
                kind,
                frame: frame.clone(),
            };
            self.transaction(journal, tx)?.push(op);
            return Ok(());
        }
        // RabbitMQ's `requeue` header matters to a NACK only.
        let requeue = kind != AckKind::Nack || frame.header("requeue") != Some("false");
        let settled = journal.live.settle(
            self.conn,
            (&target, kind),
            requeue,
            None,
            &mut journal.history,
        );
        match settled {
            Err(RouteError::NotPending(AckTarget::MessageId {
                message_id,
                subscription: Some(named),
            })) => self.ack_on_another_subscription(journal, (message_id, named), kind, requeue),
            other => other.map_err(route_failure),
        }
    }

    /// A 1.1 ACK or NACK whose `subscription` is not the one the message
    /// was delivered on: an ERROR that closes the connection by default;
    /// ActiveMQ's ERROR leaves it open; RabbitMQ ignores the header (and
    /// the journal records the client's mistake).
    fn ack_on_another_subscription(
        &mut self,
        journal: &mut Journal,
        (message_id, named): (String, String),
        kind: AckKind,
        requeue: bool,
    ) -> Result<(), Failure> {
        let anywhere = AckTarget::MessageId {
            message_id: message_id.clone(),
            subscription: None,
        };
        let wrong = AckTarget::MessageId {
            message_id: message_id.clone(),
            subscription: Some(named.clone()),
        };
        let failure = route_failure(RouteError::NotPending(wrong));
        if !journal.live.is_pending(self.conn, &anywhere) {
            return Err(failure);
        }
        match self.state.config.semantics.dialect {
            Dialect::RabbitMq => {
                journal.history.warn(
                    self.conn,
                    format!(
                        "{kind} of message '{message_id}' names subscription '{named}', which it was not delivered on (RabbitMQ ignores the header, and so did stompbox)"
                    ),
                );
                journal
                    .live
                    .settle(
                        self.conn,
                        (&anywhere, kind),
                        requeue,
                        None,
                        &mut journal.history,
                    )
                    .map_err(route_failure)
            }
            Dialect::ActiveMq => Err(failure.keeping_open()),
            _ => Err(failure),
        }
    }

    /// Which delivery an ACK/NACK names, by the rules of the session's version.
    fn ack_target(&self, frame: &Frame) -> Result<AckTarget, Failure> {
        match self.version {
            Some(Version::V1_2) => Ok(AckTarget::Tag(required(frame, "id")?.to_owned())),
            Some(Version::V1_1) => Ok(AckTarget::MessageId {
                message_id: required(frame, "message-id")?.to_owned(),
                subscription: Some(required(frame, "subscription")?.to_owned()),
            }),
            _ => Ok(AckTarget::MessageId {
                message_id: required(frame, "message-id")?.to_owned(),
                subscription: frame.header("subscription").map(str::to_owned),
            }),
        }
    }

    pub(super) fn begin(&mut self, journal: &mut Journal, frame: &Frame) -> Result<(), Failure> {
        let tx = required(frame, "transaction")?;
        if journal.live.transaction_mut(self.conn, tx).is_some() {
            return Err(Failure::new(
                format!("transaction '{tx}' is already open"),
                "BEGIN named a transaction that this connection has already begun and not yet committed or aborted.",
            ));
        }
        if let Some(max) = self.state.config.rules.max_open_transactions {
            if journal.live.open_transactions(self.conn) >= max {
                return Err(Failure::new(
                    format!("too many open transactions: at most {max} per connection"),
                    format!("BEGIN '{tx}' while this connection already has {max} open."),
                ));
            }
        }
        let at = journal.history.pass_time();
        journal.live.begin(self.conn, tx, at);
        journal.history.begun(self.conn, tx);
        Ok(())
    }

    /// Applies every buffered operation, or none: acknowledgements and queue
    /// room are checked first, in the same pass that applies them.
    pub(super) fn commit(&mut self, journal: &mut Journal, frame: &Frame) -> Result<(), Failure> {
        let tx = required(frame, "transaction")?;
        let transaction = journal
            .live
            .end_transaction(self.conn, tx)
            .ok_or_else(|| unknown_transaction(tx))?;
        if let Err(failure) = self.check_commit(journal, tx, &transaction.ops) {
            let outcome = TransactionOutcome::RolledBack;
            journal
                .history
                .ended(self.conn, tx, outcome, &transaction.ops);
            return Err(failure);
        }
        // Recorded first: events read "committed", then what the commit did.
        journal.history.ended(
            self.conn,
            tx,
            TransactionOutcome::Committed,
            &transaction.ops,
        );
        for op in transaction.ops {
            // An acknowledgement already covered by an earlier cumulative ACK
            // of the same transaction has nothing left to do.
            match op {
                TxOp::Send(message) => journal.live.publish(message, &mut journal.history),
                TxOp::Settle {
                    target,
                    kind,
                    frame,
                } => {
                    let requeue = frame.header("requeue") != Some("false");
                    let _ = journal.live.settle(
                        self.conn,
                        (&target, kind),
                        requeue,
                        Some(tx),
                        &mut journal.history,
                    );
                }
            }
        }
        Ok(())
    }

    /// Whether every operation of a transaction can still be applied.
    fn check_commit(&self, journal: &Journal, tx: &str, ops: &[TxOp]) -> Result<(), Failure> {
        for op in ops {
            if let TxOp::Settle { target, .. } = op {
                if !journal.live.is_pending(self.conn, target) {
                    return Err(Failure::new(
                        format!("cannot commit transaction '{tx}': {target} is no longer pending"),
                        "Nothing of the transaction was applied.",
                    ));
                }
            }
        }
        self.check_commit_room(journal, ops)
    }

    pub(super) fn abort(&mut self, journal: &mut Journal, frame: &Frame) -> Result<(), Failure> {
        let tx = required(frame, "transaction")?;
        let transaction = journal
            .live
            .end_transaction(self.conn, tx)
            .ok_or_else(|| unknown_transaction(tx))?;
        journal
            .history
            .ended(self.conn, tx, TransactionOutcome::Aborted, &transaction.ops);
        Ok(())
    }

    fn transaction<'j>(
        &self,
        journal: &'j mut Journal,
        tx: &str,
    ) -> Result<&'j mut Transaction, Failure> {
        journal
            .live
            .transaction_mut(self.conn, tx)
            .ok_or_else(|| unknown_transaction(tx))
    }
}

/// A header that must be present and not empty.
fn required<'f>(frame: &'f Frame, name: &str) -> Result<&'f str, Failure> {
    match frame.header(name) {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(Failure::missing(name, frame.command())),
    }
}

fn unknown_transaction(tx: &str) -> Failure {
    Failure::new(
        format!("unknown transaction '{tx}'"),
        "The frame named a transaction that this connection has not begun, or has already committed or aborted.",
    )
}

fn route_failure(error: RouteError) -> Failure {
    let detail = match &error {
        RouteError::DuplicateSubscription(_) => "Each SUBSCRIBE on a connection needs its own id.",
        RouteError::UnknownSubscription(_) => "UNSUBSCRIBE named no active subscription.",
        RouteError::NotPending(_) => {
            "Only messages delivered in the client or client-individual ack modes, and not yet acknowledged, can be acknowledged."
        }
        RouteError::DurableInUse(_) => {
            "A durable subscription has one subscriber at a time: the same client-id is consuming it on another connection."
        }
    };
    Failure::new(error.to_string(), detail)
}

/// `activemq.prefetchSize` or `prefetch-count`: the most unacknowledged
/// messages a queue subscription holds at once; 0 or absent means no limit.
fn prefetch(frame: &Frame) -> Result<Option<usize>, Failure> {
    let Some((name, text)) = ["activemq.prefetchSize", "prefetch-count"]
        .into_iter()
        .find_map(|name| frame.header(name).map(|v| (name, v)))
    else {
        return Ok(None);
    };
    match text.trim().parse::<usize>() {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(_) => Err(Failure::new(
            format!("invalid {name} '{text}'"),
            format!("{name} must be a non-negative integer."),
        )),
    }
}
