//! Watching the frames that cross the broker's connections.

use std::fmt;
use std::sync::Arc;

use crate::journal::{CloseReason, ConnectionId, Direction};
use crate::protocol::frame::Frame;

/// One frame (or heart-beat) crossing a connection, as given to the callback
/// of [`BrokerBuilder::on_traffic`](crate::BrokerBuilder::on_traffic).
///
/// # Examples
/// ```
/// use std::sync::{Arc, Mutex};
/// use stompbox::{Broker, Client};
/// use stompbox::journal::Direction;
///
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let log = seen.clone();
/// let broker = Broker::builder()
///     .on_traffic(move |t| log.lock().unwrap().push((t.direction, t.to_string())))
///     .start()?;
/// Client::connect(broker.addr())?.disconnect()?;
/// drop(broker);
/// let seen = seen.lock().unwrap();
/// assert!(seen[0].1.contains("CONNECT"));
/// assert_eq!(seen[0].0, Direction::In);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Debug)]
pub struct Traffic<'a> {
    /// The connection's number (1 for the broker's first connection, and so on).
    pub connection: ConnectionId,
    /// Which way it went.
    pub direction: Direction,
    /// The frame, or `None` for a heart-beat (or a close).
    pub frame: Option<&'a Frame>,
    /// Set when the connection closed, for this reason: the last thing
    /// seen on it (`frame` is then `None`, and it is not a heart-beat).
    pub closed: Option<&'a CloseReason>,
}

impl Traffic<'_> {
    /// Whether this is a heart-beat.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Traffic, journal::{CloseReason, Direction}};
    ///
    /// let closed = Traffic { connection: 1, direction: Direction::In, frame: None, closed: Some(&CloseReason::PeerClosed) };
    /// assert!(!closed.is_heart_beat());
    /// assert_eq!(closed.to_string(), "conn 1 closed: closed by the client");
    /// ```
    pub fn is_heart_beat(&self) -> bool {
        self.frame.is_none() && self.closed.is_none()
    }
}

impl fmt::Display for Traffic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(reason) = self.closed {
            return write!(f, "conn {} closed: {reason}", self.connection);
        }
        write!(f, "conn {} {} ", self.connection, self.direction)?;
        match self.frame {
            Some(frame) => write!(f, "{frame}"),
            None => f.write_str("heart-beat"),
        }
    }
}

/// The callback type behind [`BrokerBuilder::on_traffic`](crate::BrokerBuilder::on_traffic).
pub(crate) type Observer = Arc<dyn Fn(&Traffic<'_>) + Send + Sync>;
