//! What the journal keeps about each message, delivery and ack (transcript
//! entries are the transcript module's); public records are rendered from
//! these only when read.

use std::sync::Arc;
use std::time::Duration;

use super::bounded::Weigh;
use crate::journal::{
    AckKind, AckRecord, AuthFailure, ConnectionId, DeliveryRecord, ErrorRecord, MessageStatus,
    Origin, PermissionDenial, ProtocolWarning, PublishedMessage, Recipient, TransactionRecord,
};
use crate::protocol::frame::Frame;
use crate::protocol::message::{StoredMessage, message_id_text};

/// What any record costs besides the bytes it holds alone (its own size and
/// its place in a list), near enough.
pub(super) const RECORD: usize = 64;

/// Who a message was delivered to: most messages have one delivery, kept
/// without an allocation of its own.
#[derive(Debug, Default)]
pub(super) enum Recipients {
    #[default]
    None,
    One([(ConnectionId, Arc<str>, bool); 1]),
    Many(Vec<(ConnectionId, Arc<str>, bool)>),
}

impl Recipients {
    pub(super) fn push(&mut self, recipient: (ConnectionId, Arc<str>, bool)) {
        // Pushed in place: moving the list out and back, once per
        // subscriber of a topic, measured 5% fewer topic deliveries/s.
        match self {
            Recipients::Many(all) => all.push(recipient),
            Recipients::None => *self = Recipients::One([recipient]),
            Recipients::One(_) => {
                if let Recipients::One([first]) = std::mem::take(self) {
                    *self = Recipients::Many(vec![first, recipient]);
                }
            }
        }
    }

    /// Room for `count` recipients in one allocation (a topic's fan-out).
    pub(super) fn reserve(&mut self, count: usize) {
        if let Recipients::None = self {
            *self = Recipients::Many(Vec::with_capacity(count));
        }
    }

    pub(super) fn as_slice(&self) -> &[(ConnectionId, Arc<str>, bool)] {
        match self {
            Recipients::None => &[],
            Recipients::One(one) => one,
            Recipients::Many(all) => all,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.as_slice().len()
    }
}

/// A published message and what the journal tracks about it.
#[derive(Debug)]
pub(super) struct KeptMessage {
    pub(super) seq: u64,
    pub(super) stored: Arc<StoredMessage>,
    pub(super) origin: Arc<Origin>,
    pub(super) transaction: Option<String>,
    pub(super) at: Duration,
    pub(super) status: MessageStatus,
    /// On its queue, waiting for a consumer.
    pub(super) waiting: bool,
    /// Deliveries not yet settled.
    pub(super) awaiting_ack: u32,
    pub(super) deliveries: Recipients,
}

impl KeptMessage {
    pub(super) fn refresh_status(&mut self) {
        if matches!(
            self.status,
            MessageStatus::InTransaction
                | MessageStatus::Discarded
                | MessageStatus::RolledBack
                | MessageStatus::Dropped
                | MessageStatus::Expired
                | MessageStatus::DeadLettered
                | MessageStatus::Rejected
        ) {
            return;
        }
        self.status = if self.awaiting_ack > 0 {
            MessageStatus::Unacked
        } else if self.waiting {
            MessageStatus::Queued
        } else {
            MessageStatus::Consumed
        };
    }

    pub(super) fn render(&self) -> PublishedMessage {
        PublishedMessage {
            seq: self.seq,
            message_id: self.stored.message_id(),
            destination: self.stored.destination.to_string(),
            headers: self.stored.sent.clone(),
            body: self.stored.body.clone(),
            origin: (*self.origin).clone(),
            transaction: self.transaction.clone(),
            at: self.at,
            status: self.status,
            deliveries: self
                .deliveries
                .as_slice()
                .iter()
                .map(|(connection, subscription, redelivered)| Recipient {
                    connection: *connection,
                    subscription: subscription.to_string(),
                    redelivered: *redelivered,
                })
                .collect(),
        }
    }
}

impl Weigh for KeptMessage {
    fn weight(&self) -> usize {
        // The recipients are weighed with the delivery records.
        RECORD + self.stored.cost() + self.transaction.as_ref().map_or(0, String::len)
    }
}

/// A delivery as the journal keeps it: the message is named, not held (the
/// published record holds it, bounded).
#[derive(Debug)]
pub(super) struct KeptDelivery {
    pub(super) seq: u64,
    pub(super) message_id: u64,
    pub(super) destination: Arc<str>,
    pub(super) connection: ConnectionId,
    pub(super) subscription: Arc<str>,
    pub(super) redelivered: bool,
    pub(super) count: u32,
    pub(super) at: Duration,
}

impl KeptDelivery {
    pub(super) fn render(&self) -> DeliveryRecord {
        DeliveryRecord {
            seq: self.seq,
            message_id: message_id_text(self.message_id),
            destination: self.destination.to_string(),
            connection: self.connection,
            subscription: self.subscription.to_string(),
            redelivered: self.redelivered,
            delivery_count: self.count,
            at: self.at,
        }
    }
}

impl Weigh for KeptDelivery {
    fn weight(&self) -> usize {
        // Its entry among the message's recipients too.
        RECORD + 32
    }
}

/// An ACK or NACK as the journal keeps it.
#[derive(Debug)]
pub(super) struct KeptAck {
    pub(super) kind: AckKind,
    pub(super) seq: u64,
    pub(super) message_id: u64,
    pub(super) connection: ConnectionId,
    pub(super) subscription: Arc<str>,
    pub(super) transaction: Option<String>,
    pub(super) at: Duration,
}

impl KeptAck {
    pub(super) fn render(&self) -> AckRecord {
        AckRecord {
            kind: self.kind,
            seq: self.seq,
            message_id: message_id_text(self.message_id),
            connection: self.connection,
            subscription: self.subscription.to_string(),
            transaction: self.transaction.clone(),
            at: self.at,
        }
    }
}

impl Weigh for KeptAck {
    fn weight(&self) -> usize {
        RECORD + self.transaction.as_ref().map_or(0, String::len)
    }
}

impl Weigh for TransactionRecord {
    fn weight(&self) -> usize {
        RECORD + self.id.len() + self.frames.iter().map(Frame::size).sum::<usize>()
    }
}

impl Weigh for ProtocolWarning {
    fn weight(&self) -> usize {
        RECORD + self.warning.len()
    }
}

impl Weigh for ErrorRecord {
    fn weight(&self) -> usize {
        RECORD + self.message.len() + self.receipt_id.as_ref().map_or(0, String::len)
    }
}

impl Weigh for AuthFailure {
    fn weight(&self) -> usize {
        let text = |t: &Option<String>| t.as_ref().map_or(0, String::len);
        RECORD + text(&self.login) + text(&self.client_id) + self.reason.len()
    }
}

impl Weigh for PermissionDenial {
    fn weight(&self) -> usize {
        RECORD + self.principal.len() + self.destination.len() + self.topic.len()
    }
}
