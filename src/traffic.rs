//! Watching the frames that cross the broker's connections.

use std::fmt;
use std::sync::Arc;

use crate::journal::{ConnectionId, Direction};
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
    /// The frame, or `None` for a heart-beat.
    pub frame: Option<&'a Frame>,
}

impl fmt::Display for Traffic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn {} {} ", self.connection, self.direction)?;
        match self.frame {
            Some(frame) => write!(f, "{frame}"),
            None => f.write_str("heart-beat"),
        }
    }
}

/// The callback type behind [`BrokerBuilder::on_traffic`](crate::BrokerBuilder::on_traffic).
pub(crate) type Observer = Arc<dyn Fn(&Traffic<'_>) + Send + Sync>;
