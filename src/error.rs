//! The crate's one error type.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::protocol::frame::{Frame, FrameError};

/// Everything that can go wrong for a [`Broker`](crate::Broker) or a
/// [`Client`](crate::Client).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client, Error};
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.subscribe("/queue/empty", stompbox::AckMode::Auto)?;
/// match client.recv_timeout(Duration::from_millis(10)) {
///     Err(Error::Timeout { .. }) => {} // nothing was sent
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), Error>(())
/// ```
#[non_exhaustive]
pub enum Error {
    /// The socket failed.
    Io(io::Error),
    /// The peer sent bytes that are not a valid frame.
    Frame(FrameError),
    /// The broker answered with an ERROR frame (kept whole).
    Refused(Box<Frame>),
    /// Nothing arrived in time: what was awaited, for how long, and what
    /// happened instead.
    Timeout(Box<Timeout>),
    /// The peer closed the connection.
    Closed,
    /// The peer sent a frame that makes no sense at this point.
    Protocol(String),
    /// The broker was built with settings it cannot work with.
    Config(String),
}

impl Error {
    /// The ERROR frame, if this is [`Error::Refused`].
    ///
    /// # Examples
    /// ```
    /// use stompbox::Error;
    /// use stompbox::frame::{Command, Frame};
    ///
    /// let err = Error::Refused(Box::new(Frame::new(Command::Error).with_header("message", "no")));
    /// assert_eq!(err.error_frame().and_then(|f| f.header("message")), Some("no"));
    /// ```
    pub fn error_frame(&self) -> Option<&Frame> {
        match self {
            Error::Refused(frame) => Some(frame),
            _ => None,
        }
    }
}

/// The same text as [`Display`](fmt::Display), as `anyhow` and `eyre`
/// do: `.unwrap()` and a test returning `Result` print `Debug`, and a
/// timeout's multi-line report should read there as it reads anywhere.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o error: {e}"),
            Error::Frame(e) => write!(f, "bad frame: {e}"),
            Error::Refused(frame) => {
                let message = frame.header("message").unwrap_or("(no message header)");
                write!(f, "broker sent ERROR: {message}")
            }
            Error::Timeout(timeout) => timeout.fmt(f),
            Error::Closed => f.write_str("connection closed by peer"),
            Error::Protocol(what) => write!(f, "protocol error: {what}"),
            Error::Config(what) => write!(f, "invalid broker settings: {what}"),
        }
    }
}

/// A wait that ran out of time (in [`Error::Timeout`]).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::error::{Awaited, Error};
///
/// let broker = stompbox::Broker::start()?;
/// let Err(Error::Timeout(timeout)) = broker.wait_for_acks(1, Duration::from_millis(5)) else {
///     panic!("nothing was acked")
/// };
/// assert_eq!(timeout.awaited, Awaited::Acks { count: 1 });
/// assert!(timeout.to_string().starts_with("timed out after 5ms waiting for 1 ACK"));
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeout {
    /// What was being waited for.
    pub awaited: Awaited,
    /// How long.
    pub after: Duration,
    /// What did happen instead, as a report for a person (empty when there
    /// is nothing to say).
    pub saw: String,
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "timed out after {:?} waiting for {}",
            self.after, self.awaited
        )?;
        if !self.saw.is_empty() {
            write!(f, "\n{}", self.saw)?;
        }
        Ok(())
    }
}

/// What a wait was waiting for.
///
/// # Examples
/// ```
/// use stompbox::error::Awaited;
///
/// let awaited = Awaited::Messages { destination: "/queue/a".into(), count: 2 };
/// assert_eq!(awaited.to_string(), "2 messages published to /queue/a");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Awaited {
    /// [`Broker::wait_for_messages`](crate::Broker::wait_for_messages).
    Messages {
        /// Where.
        destination: String,
        /// How many.
        count: usize,
    },
    /// [`Broker::wait_for_subscription`](crate::Broker::wait_for_subscription).
    Subscription {
        /// To what.
        destination: String,
    },
    /// [`Broker::wait_for_connections`](crate::Broker::wait_for_connections).
    Connections {
        /// How many.
        count: usize,
    },
    /// [`Broker::wait_for_acks`](crate::Broker::wait_for_acks).
    Acks {
        /// How many.
        count: usize,
    },
    /// [`Broker::wait_until`](crate::Broker::wait_until).
    Condition,
    /// [`Broker::wait_for_reconnects`](crate::Broker::wait_for_reconnects).
    Reconnects {
        /// The client's identity.
        client: String,
        /// How many reconnects.
        count: usize,
    },
    /// [`FaultHandle::wait_fired`](crate::FaultHandle::wait_fired).
    Fault {
        /// Which fault (described).
        fault: String,
        /// How many times it was to act.
        count: usize,
    },
    /// A [`Client`](crate::Client) waiting for a frame from the broker
    /// (`"a MESSAGE frame"`, `"RECEIPT 'r-1'"`).
    Frame(String),
}

impl fmt::Display for Awaited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        match self {
            Awaited::Messages { destination, count } => write!(
                f,
                "{count} message{} published to {destination}",
                plural(*count)
            ),
            Awaited::Subscription { destination } => {
                write!(f, "a subscription to {destination}")
            }
            Awaited::Connections { count } => {
                write!(f, "{count} connected client{}", plural(*count))
            }
            Awaited::Acks { count } => write!(f, "{count} ACK{}", plural(*count)),
            Awaited::Condition => f.write_str("a condition on the journal"),
            Awaited::Reconnects { client, count } => write!(
                f,
                "{client:?} to reconnect {count} time{} and be connected",
                plural(*count)
            ),
            Awaited::Fault { fault, count } => {
                write!(f, "{fault} to act {count} time{}", plural(*count))
            }
            Awaited::Frame(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Frame(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<FrameError> for Error {
    fn from(e: FrameError) -> Self {
        Error::Frame(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_stays_small() {
        assert!(std::mem::size_of::<Error>() <= 72);
    }

    #[test]
    fn refused_display_quotes_the_message_header() {
        let frame =
            Frame::new(crate::protocol::frame::Command::Error).with_header("message", "bad thing");
        assert_eq!(
            Error::Refused(Box::new(frame)).to_string(),
            "broker sent ERROR: bad thing"
        );
    }
}
