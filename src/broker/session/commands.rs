//! The frames of an open session: SEND, SUBSCRIBE, UNSUBSCRIBE, ACK, NACK,
//! BEGIN, COMMIT and ABORT.

use std::sync::Arc;

use bytes::Bytes;

use super::{Failure, Session, TxOp};
use crate::broker::message::Stored;
use crate::broker::router::{AckTarget, RouteError, SubscribeRequest};
use crate::{Ack, Frame, Headers, Version};

impl Session {
    pub(super) fn send(&mut self, frame: Frame) -> Result<(), Failure> {
        let destination = required(&frame, "destination")?.to_owned();
        let transaction = frame.header("transaction").map(str::to_owned);
        let (_, headers, body) = frame.into_parts();
        match transaction {
            Some(tx) => self.transaction(&tx)?.push(TxOp::Send {
                destination,
                headers,
                body,
            }),
            None => self.publish(&destination, &headers, body),
        }
        Ok(())
    }

    fn publish(&self, destination: &str, headers: &Headers, body: Bytes) {
        let id = self.shared.next_message_id();
        let message = Arc::new(Stored::from_send(id, destination, headers, body));
        self.shared.router.lock().publish(message);
    }

    pub(super) fn subscribe(&mut self, frame: &Frame) -> Result<(), Failure> {
        let destination = required(frame, "destination")?;
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
        let result = self.shared.router.lock().unsubscribe(self.conn, &id);
        result.map_err(route_failure)
    }

    pub(super) fn acknowledge(&mut self, frame: &Frame, negative: bool) -> Result<(), Failure> {
        let target = self.ack_target(frame)?;
        if let Some(tx) = frame.header("transaction") {
            if !self.shared.router.lock().is_pending(self.conn, &target) {
                return Err(route_failure(RouteError::NotPending(target)));
            }
            let op = if negative {
                TxOp::Nack(target)
            } else {
                TxOp::Ack(target)
            };
            self.transaction(tx)?.push(op);
            return Ok(());
        }
        let mut router = self.shared.router.lock();
        let result = if negative {
            router.nack(self.conn, &target)
        } else {
            router.ack(self.conn, &target)
        };
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
        self.transactions.insert(tx.to_owned(), Vec::new());
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
            if let TxOp::Ack(target) | TxOp::Nack(target) = op {
                if !router.is_pending(self.conn, target) {
                    return Err(Failure::new(
                        format!("cannot commit transaction '{tx}': {target} is no longer pending"),
                        "Nothing of the transaction was applied.",
                    ));
                }
            }
        }
        for op in ops {
            // An acknowledgement already covered by an earlier cumulative ACK
            // of the same transaction has nothing left to do.
            match op {
                TxOp::Send {
                    destination,
                    headers,
                    body,
                } => {
                    let id = self.shared.next_message_id();
                    router.publish(Arc::new(Stored::from_send(
                        id,
                        &destination,
                        &headers,
                        body,
                    )));
                }
                TxOp::Ack(target) => {
                    let _ = router.ack(self.conn, &target);
                }
                TxOp::Nack(target) => {
                    let _ = router.nack(self.conn, &target);
                }
            }
        }
        Ok(())
    }

    pub(super) fn abort(&mut self, frame: &Frame) -> Result<(), Failure> {
        let tx = required(frame, "transaction")?;
        self.transactions
            .remove(tx)
            .map(drop)
            .ok_or_else(|| unknown_transaction(tx))
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
