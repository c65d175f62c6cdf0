//! What the broker saw, as a test reads it: the [`Journal`] (live state and
//! history together, behind the broker's one lock), the records it hands
//! out, the [`Event`]s it streams, and the [`JournalLimits`] that bound it.
//!
//! The records are plain owned values: [`PublishedMessage`],
//! [`DeliveryRecord`], [`AckRecord`], [`SubscriptionInfo`],
//! [`TransactionInfo`], [`TransactionRecord`], [`ConnectionInfo`],
//! [`FrameRecord`], [`ErrorRecord`], [`AuthFailure`], [`PermissionDenial`],
//! [`QueueSnapshot`].

mod events;
mod records;

use std::fmt;

// The view is defined with the state it reads (state/view.rs), and so are
// the records of recovery it derives (state/clients.rs).
pub use crate::state::Journal;
pub use crate::state::clients::{ClientRecord, HeartBeatRecord};
pub use events::Event;
pub use records::{
    AckKind, AckRecord, AuthFailure, CloseReason, ConnectionId, ConnectionInfo, DeliveryRecord,
    DurableSubscription, ErrorRecord, FrameRecord, MemoryUsage, MessageStatus, Origin,
    PermissionDenial, ProtocolWarning, PublishedMessage, QueueSnapshot, QueuedMessage, Recipient,
    SubscriptionInfo, TransactionInfo, TransactionOutcome, TransactionRecord, WebSocketInfo,
};

/// How much history the journal keeps; older entries are dropped first.
///
/// # Examples
/// ```
/// use stompbox::Broker;
/// use stompbox::journal::JournalLimits;
///
/// let broker = Broker::builder()
///     .journal_limits(JournalLimits { messages: 1_000, ..JournalLimits::default() })
///     .start()?;
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JournalLimits {
    /// Published messages, deliveries and acks kept, each (default 100,000).
    pub messages: usize,
    /// Bytes the journal holds, all told (default 256 MiB): kept messages
    /// (headers and body, each message once however many records name it),
    /// transcripts (every frame's headers and body), connection records and
    /// every other record. Past it the oldest records of the kind that holds
    /// the most go first, closed connections before open ones; a transcript
    /// entry whose message has gone shows only the broker's own headers
    /// ([`FrameRecord::message_evicted`]).
    pub bytes: usize,
    /// Transcript entries kept per connection (default 10,000; 0 keeps
    /// none). The transcript shows the last this many; up to an eighth more
    /// are held out of sight, counted in `bytes`, so that the oldest go
    /// together rather than one per frame.
    pub frames_per_connection: usize,
    /// Closed connections, ended transactions and errors kept (default 10,000).
    pub closed: usize,
}

impl Default for JournalLimits {
    fn default() -> Self {
        JournalLimits {
            messages: 100_000,
            bytes: 256 * 1024 * 1024,
            frames_per_connection: 10_000,
            closed: 10_000,
        }
    }
}

/// Which way a frame crossed a connection.
///
/// # Examples
/// ```
/// use stompbox::journal::Direction;
///
/// assert_eq!(Direction::In.to_string(), "<-");
/// assert_eq!(Direction::Out.to_string(), "->");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From the client to the broker.
    In,
    /// From the broker to the client.
    Out,
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Direction::In => "<-",
            Direction::Out => "->",
        })
    }
}
