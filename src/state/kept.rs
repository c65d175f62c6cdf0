//! What the journal keeps about each message, delivery, ack and transcript
//! entry; public records are rendered from these only when read.

use std::sync::Arc;
use std::time::Duration;

use crate::journal::{
    AckKind, AckRecord, ConnectionId, DeliveryRecord, MessageStatus, Origin, PublishedMessage,
    Recipient,
};
use crate::protocol::frame::Frame;
use crate::protocol::message::{Delivery, StoredMessage};

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
        *self = match std::mem::take(self) {
            Recipients::None => Recipients::One([recipient]),
            Recipients::One([first]) => Recipients::Many(vec![first, recipient]),
            Recipients::Many(mut all) => {
                all.push(recipient);
                Recipients::Many(all)
            }
        };
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
            destination: self.stored.destination.clone(),
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

#[derive(Debug)]
pub(super) struct KeptDelivery {
    pub(super) seq: u64,
    pub(super) stored: Arc<StoredMessage>,
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
            message_id: self.stored.message_id(),
            destination: self.stored.destination.clone(),
            connection: self.connection,
            subscription: self.subscription.to_string(),
            redelivered: self.redelivered,
            delivery_count: self.count,
            at: self.at,
        }
    }
}

#[derive(Debug)]
pub(super) struct KeptAck {
    pub(super) kind: AckKind,
    pub(super) stored: Arc<StoredMessage>,
    pub(super) connection: ConnectionId,
    pub(super) subscription: Arc<str>,
    pub(super) transaction: Option<String>,
    pub(super) at: Duration,
}

impl KeptAck {
    pub(super) fn render(&self) -> AckRecord {
        AckRecord {
            kind: self.kind,
            seq: self.stored.journal_seq,
            message_id: self.stored.message_id(),
            connection: self.connection,
            subscription: self.subscription.to_string(),
            transaction: self.transaction.clone(),
            at: self.at,
        }
    }
}

/// A transcript entry as kept: frames the broker made itself are rendered
/// only when read.
#[derive(Debug)]
pub(crate) enum TranscriptItem {
    Frame(Frame),
    Send(Arc<StoredMessage>),
    Delivery(Delivery),
    HeartBeat,
    /// The place of an incoming frame still being handled.
    Pending,
}

impl TranscriptItem {
    pub(super) fn render(&self) -> Option<Frame> {
        match self {
            TranscriptItem::Frame(frame) => Some(frame.clone()),
            TranscriptItem::Send(stored) => Some(stored.send_frame()),
            TranscriptItem::Delivery(delivery) => Some(delivery.to_frame()),
            TranscriptItem::HeartBeat | TranscriptItem::Pending => None,
        }
    }
}
