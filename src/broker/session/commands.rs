//! The frames of an open session: SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK,
//! BEGIN, COMMIT and ABORT.

use super::{Failure, Session, TxOp};
use crate::broker::message::Stored;
use crate::broker::router::{AckTarget, RouteError, SubscribeRequest};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use crate::journal::{AckKind, PermissionDenial, TransactionOutcome};
use crate::{Access, Ack, Command, Frame, Version};

impl Session {
    /// SEND: the journal records it (the transcript entry shares the
    /// message), then it is routed or buffered in its transaction.
    pub(super) fn send(&mut self, frame: Frame) -> Result<(), Failure> {
        if let Err(failure) = self.check_send(&frame) {
            self.record_in(Some(&frame));
            return Err(failure);
        }
        match frame.header("transaction").map(str::to_owned) {
            Some(tx) => {
                let message = self.record_send(frame, Some(&tx));
                self.transaction(&tx)?.push(TxOp::Send(message));
            }
            None => match self.shared.config.max_queue_depth {
                None => {
                    let message = self.record_send(frame, None);
                    self.shared.router.lock().publish(message);
                }
                // Checked under the lock that routes, so concurrent producers
                // cannot overfill a queue.
                Some(max) => {
                    let mut router = self.shared.router.lock();
                    let destination = frame.header("destination").unwrap_or_default();
                    if !router.has_room(destination, 1, max) {
                        let failure = queue_full(destination, max);
                        drop(router);
                        self.record_in(Some(&frame));
                        return Err(failure);
                    }
                    router.publish(self.record_send(frame, None));
                }
            },
        }
        Ok(())
    }

    /// Makes the message of a SEND, recorded in the journal (with the frame
    /// buffered in its transaction, if any, in the same update).
    fn record_send(&self, frame: Frame, transaction: Option<&str>) -> Arc<Stored> {
        let destination = frame.header("destination").unwrap_or_default().to_owned();
        let buffered = transaction.map(|_| frame.clone());
        let (_, headers, body) = frame.into_parts();
        let id = self.shared.next_message_id();
        self.shared.journal.update(|j| {
            let message = j.sent(
                Some(self.conn),
                id,
                &destination,
                headers,
                body,
                transaction,
            );
            if let (Some(tx), Some(frame)) = (transaction, buffered) {
                j.buffered(self.conn, tx, frame, Some(message.journal_seq));
            }
            message
        })
    }

    /// Everything that may refuse a SEND, in order: the destination's name,
    /// permission, the transaction and its size, a failure the test armed.
    fn check_send(&mut self, frame: &Frame) -> Result<(), Failure> {
        let destination = required(frame, "destination")?;
        self.check_syntax(destination)?;
        self.permit(Command::Send, destination, Access::PUB)?;
        if let Some(tx) = frame.header("transaction") {
            let limit = self.shared.config.rules.max_messages_per_transaction;
            let held = self.transaction(tx)?;
            if let Some(max) = limit {
                let messages = held.iter().filter(|op| matches!(op, TxOp::Send(_))).count();
                if messages >= max {
                    return Err(Failure::new(
                        format!("too many messages in transaction '{tx}': at most {max}"),
                        format!("This broker allows at most {max} messages in one transaction."),
                    ));
                }
            }
        }
        if let Some(message) = self.shared.faults.take_send(destination) {
            return Err(Failure::new(
                message,
                "The test arranged for this SEND to fail.",
            ));
        }
        Ok(())
    }

    fn check_syntax(&self, destination: &str) -> Result<(), Failure> {
        let syntax = self.shared.config.rules.destination_syntax;
        syntax
            .check(destination)
            .map_err(|message| Failure::new(message, "This broker restricts destination names."))
    }

    /// Refuses (and records) `command` on `destination` unless the
    /// connection's principal has `needed` on its topic.
    fn permit(&self, command: Command, destination: &str, needed: Access) -> Result<(), Failure> {
        let principal = self.principal.as_deref().unwrap_or("anonymous");
        let checked = self
            .shared
            .permissions
            .check(principal, destination, needed);
        let Err(denial) = checked else {
            return Ok(());
        };
        let message = format!(
            "permission denied: {command} on '{destination}' needs {needed} on topic '{}', which principal '{principal}' lacks",
            denial.topic
        );
        self.shared.journal.update(|j| {
            j.denied(PermissionDenial {
                connection: self.conn,
                principal: denial.principal,
                command,
                destination: destination.to_owned(),
                topic: denial.topic,
                needed,
                at: Duration::ZERO,
            })
        });
        Err(Failure::new(message, "Nothing of the frame took effect."))
    }

    pub(super) fn subscribe(&mut self, frame: &Frame) -> Result<(), Failure> {
        let destination = required(frame, "destination")?;
        self.check_syntax(destination)?;
        if self.shared.config.rules.refuse_selectors && frame.header("selector").is_some() {
            return Err(Failure::new(
                "selectors are not supported",
                "This broker refuses SUBSCRIBE frames with a 'selector' header.",
            ));
        }
        self.permit(Command::Subscribe, destination, Access::SUB)?;
        let id = match (frame.header("id"), self.version) {
            (Some(id), _) => id,
            // STOMP 1.0 makes the id optional; the destination stands in for it.
            (None, Some(Version::V1_0)) => destination,
            (None, _) => return Err(Failure::missing("id", frame.command())),
        };
        let ack = match frame.header("ack") {
            None => Ack::Auto,
            Some(text) => Ack::parse(text).ok_or_else(|| {
                Failure::new(
                    format!("invalid ack mode '{text}'"),
                    "The ack header must be auto, client or client-individual.",
                )
            })?,
        };
        let request = SubscribeRequest {
            id: id.to_owned(),
            destination: destination.to_owned(),
            ack,
            prefetch: prefetch(frame)?,
            headers: frame.headers().clone(),
        };
        let result = self.shared.router.lock().subscribe(self.conn, request);
        result.map_err(route_failure)
    }

    pub(super) fn unsubscribe(&mut self, frame: &Frame) -> Result<(), Failure> {
        let id = match (
            frame.header("id"),
            frame.header("destination"),
            self.version,
        ) {
            (Some(id), _, _) => id.to_owned(),
            (None, Some(destination), Some(Version::V1_0)) => self
                .shared
                .router
                .lock()
                .subscription_to(self.conn, destination)
                .ok_or_else(|| {
                    route_failure(RouteError::UnknownSubscription(destination.to_owned()))
                })?,
            (None, _, _) => return Err(Failure::missing("id", frame.command())),
        };
        if self.shared.permissions.enforced() {
            let destination = self.shared.router.lock().destination_of(self.conn, &id);
            if let Some(destination) = destination {
                self.permit(Command::Unsubscribe, &destination, Access::SUB)?;
            }
        }
        let result = self.shared.router.lock().unsubscribe(self.conn, &id);
        result.map_err(route_failure)
    }

    pub(super) fn acknowledge(&mut self, frame: &Frame, kind: AckKind) -> Result<(), Failure> {
        let target = self.ack_target(frame)?;
        if let Some(tx) = frame.header("transaction") {
            self.transaction(tx)?;
            if !self.shared.router.lock().is_pending(self.conn, &target) {
                return Err(route_failure(RouteError::NotPending(target)));
            }
            self.shared
                .journal
                .update(|j| j.buffered(self.conn, tx, frame.clone(), None));
            self.transaction(tx)?.push(TxOp::Settle(target, kind));
            return Ok(());
        }
        let result = self
            .shared
            .router
            .lock()
            .settle(self.conn, &target, kind, None);
        result.map_err(route_failure)
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

    pub(super) fn begin(&mut self, frame: &Frame) -> Result<(), Failure> {
        let tx = required(frame, "transaction")?;
        if self.transactions.contains_key(tx) {
            return Err(Failure::new(
                format!("transaction '{tx}' is already open"),
                "BEGIN named a transaction that this connection has already begun and not yet committed or aborted.",
            ));
        }
        if let Some(max) = self.shared.config.rules.max_open_transactions {
            if self.transactions.len() >= max {
                return Err(Failure::new(
                    format!("too many open transactions: at most {max} per connection"),
                    format!("BEGIN '{tx}' while this connection already has {max} open."),
                ));
            }
        }
        self.transactions.insert(tx.to_owned(), Vec::new());
        self.shared.journal.update(|j| j.begun(self.conn, tx));
        Ok(())
    }

    /// Applies every buffered operation, or none: acknowledgements are checked
    /// first, under the same lock that applies them.
    pub(super) fn commit(&mut self, frame: &Frame) -> Result<(), Failure> {
        let tx = required(frame, "transaction")?;
        let ops = self
            .transactions
            .remove(tx)
            .ok_or_else(|| unknown_transaction(tx))?;
        let mut router = self.shared.router.lock();
        for op in &ops {
            if let TxOp::Settle(target, _) = op {
                if !router.is_pending(self.conn, target) {
                    drop(router);
                    self.shared
                        .journal
                        .update(|j| j.ended(self.conn, tx, TransactionOutcome::RolledBack));
                    return Err(Failure::new(
                        format!("cannot commit transaction '{tx}': {target} is no longer pending"),
                        "Nothing of the transaction was applied.",
                    ));
                }
            }
        }
        if let Some(max) = self.shared.config.max_queue_depth {
            let mut per_destination: HashMap<&str, usize> = HashMap::new();
            for op in &ops {
                if let TxOp::Send(message) = op {
                    *per_destination.entry(&message.destination).or_default() += 1;
                }
            }
            if let Some((full, _)) = per_destination
                .iter()
                .find(|(destination, count)| !router.has_room(destination, **count, max))
            {
                let failure = queue_full(full, max);
                drop(router);
                self.shared
                    .journal
                    .update(|j| j.ended(self.conn, tx, TransactionOutcome::RolledBack));
                return Err(failure);
            }
        }
        // Recorded first (under the router's lock, so nothing is routed in
        // between): events read "committed", then what the commit did.
        self.shared
            .journal
            .update(|j| j.ended(self.conn, tx, TransactionOutcome::Committed));
        for op in ops {
            // An acknowledgement already covered by an earlier cumulative ACK
            // of the same transaction has nothing left to do.
            match op {
                TxOp::Send(message) => router.publish(message),
                TxOp::Settle(target, kind) => {
                    let _ = router.settle(self.conn, &target, kind, Some(tx));
                }
            }
        }
        Ok(())
    }

    pub(super) fn abort(&mut self, frame: &Frame) -> Result<(), Failure> {
        let tx = required(frame, "transaction")?;
        self.transactions
            .remove(tx)
            .ok_or_else(|| unknown_transaction(tx))?;
        self.shared
            .journal
            .update(|j| j.ended(self.conn, tx, TransactionOutcome::Aborted));
        Ok(())
    }

    fn transaction(&mut self, tx: &str) -> Result<&mut Vec<TxOp>, Failure> {
        self.transactions
            .get_mut(tx)
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

fn queue_full(destination: &str, max: usize) -> Failure {
    Failure::new(
        format!(
            "queue '{destination}' is full: at most {max} message{} may wait",
            if max == 1 { "" } else { "s" }
        ),
        "Nothing of the frame took effect; consumers must take messages off the queue first.",
    )
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
