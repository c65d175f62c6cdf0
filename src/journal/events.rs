//! Typed events, for tests that react as things happen.

use super::records::{
    AckRecord, AuthFailure, CloseReason, ConnectionId, DeliveryRecord, ErrorRecord,
    PermissionDenial, PublishedMessage,
};

/// Something that happened in the broker, as sent to every receiver from
/// [`Broker::events`](crate::Broker::events).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
/// use stompbox::journal::Event;
///
/// let broker = Broker::start()?;
/// let events = broker.events();
/// let _client = Client::connect(broker.addr())?;
/// match events.recv_timeout(Duration::from_secs(1)).unwrap() {
///     Event::Connected { connection, .. } => assert_eq!(connection, 1),
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A client completed CONNECT.
    Connected {
        /// Its connection.
        connection: ConnectionId,
        /// The `login` header.
        login: Option<String>,
        /// The `client-id` header.
        client_id: Option<String>,
    },
    /// A connection closed.
    Disconnected {
        /// The connection.
        connection: ConnectionId,
        /// Why.
        reason: CloseReason,
    },
    /// A subscription began.
    Subscribed {
        /// Its connection.
        connection: ConnectionId,
        /// Its id.
        id: String,
        /// Its destination.
        destination: String,
    },
    /// A subscription ended (UNSUBSCRIBE or the connection closing).
    Unsubscribed {
        /// Its connection.
        connection: ConnectionId,
        /// Its id.
        id: String,
        /// Its destination.
        destination: String,
    },
    /// A message was routed (sent outside a transaction, committed, or injected).
    Published(Box<PublishedMessage>),
    /// A MESSAGE frame was sent.
    Delivered(Box<DeliveryRecord>),
    /// A message was acknowledged.
    Acked(Box<AckRecord>),
    /// A message was rejected.
    Nacked(Box<AckRecord>),
    /// BEGIN.
    TransactionBegun {
        /// Its connection.
        connection: ConnectionId,
        /// Its id.
        id: String,
    },
    /// COMMIT.
    TransactionCommitted {
        /// Its connection.
        connection: ConnectionId,
        /// Its id.
        id: String,
    },
    /// ABORT, or rolled back because the connection closed.
    TransactionAborted {
        /// Its connection.
        connection: ConnectionId,
        /// Its id.
        id: String,
        /// True if the connection closed rather than the client aborting.
        rolled_back: bool,
    },
    /// The broker sent an ERROR frame.
    ErrorSent(Box<ErrorRecord>),
    /// A CONNECT was refused.
    AuthenticationFailed(Box<AuthFailure>),
    /// A SEND, SUBSCRIBE or UNSUBSCRIBE was refused for lack of permission.
    PermissionDenied(Box<PermissionDenial>),
    /// The broker restarted ([`Broker::restart`](crate::Broker::restart)):
    /// every connection closed; its queues were kept, or wiped.
    Restarted {
        /// Whether the queues' messages were kept.
        queues_kept: bool,
    },
}
