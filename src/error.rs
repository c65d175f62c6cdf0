//! The crate's one error type.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::{Frame, FrameError};

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
/// client.subscribe("/queue/empty", stompbox::Ack::Auto)?;
/// match client.recv_timeout(Duration::from_millis(10)) {
///     Err(Error::Timeout { .. }) => {} // nothing was sent
///     other => panic!("unexpected {other:?}"),
/// }
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The socket failed.
    Io(io::Error),
    /// The peer sent bytes that are not a valid frame.
    Frame(FrameError),
    /// The broker answered with an ERROR frame (kept whole).
    Refused(Box<Frame>),
    /// Nothing arrived in time.
    Timeout {
        /// What was being waited for.
        waiting_for: String,
        /// How long.
        after: Duration,
        /// What did happen instead (empty when there is nothing to say).
        saw: String,
    },
    /// The peer closed the connection.
    Closed,
    /// The peer sent a frame that makes no sense at this point.
    Protocol(String),
}

impl Error {
    /// The ERROR frame, if this is [`Error::Refused`].
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Command, Error, Frame};
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

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o error: {e}"),
            Error::Frame(e) => write!(f, "bad frame: {e}"),
            Error::Refused(frame) => {
                let message = frame.header("message").unwrap_or("(no message header)");
                write!(f, "broker sent ERROR: {message}")
            }
            Error::Timeout {
                waiting_for,
                after,
                saw,
            } => {
                write!(f, "timed out after {after:?} waiting for {waiting_for}")?;
                if !saw.is_empty() {
                    write!(f, "\n{saw}")?;
                }
                Ok(())
            }
            Error::Closed => f.write_str("connection closed by peer"),
            Error::Protocol(what) => write!(f, "protocol error: {what}"),
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
        let frame = Frame::new(crate::Command::Error).with_header("message", "bad thing");
        assert_eq!(
            Error::Refused(Box::new(frame)).to_string(),
            "broker sent ERROR: bad thing"
        );
    }
}
