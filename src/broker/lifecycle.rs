//! A broker that goes away and comes back: pausing and resuming the
//! listeners, and restarts on the same ports.

use std::time::Duration;

use super::Broker;
use crate::error::Error;
use crate::journal::CloseReason;
use crate::state::waits::Watch;

/// How long a restart waits for the connections it closed to end.
const CLOSING: Duration = Duration::from_secs(5);

/// How a [`Broker::restart_with`] goes: how long the broker stays down,
/// and whether queued messages survive it.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Restart};
///
/// let broker = Broker::start()?;
/// broker.publish("/queue/a", "gone after the restart");
/// broker.restart_with(Restart::default().down_for(Duration::from_millis(10)).wiping_queues())?;
/// assert!(broker.queue("/queue/a").waiting.is_empty());
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct Restart {
    down_for: Duration,
    wipe_queues: bool,
}

impl Restart {
    /// Stays down (ports closed: connecting is refused) for `duration`
    /// before listening again.
    ///
    /// # Examples
    /// See [`Restart`].
    pub fn down_for(mut self, duration: Duration) -> Restart {
        self.down_for = duration;
        self
    }

    /// Drops every queued message, as a broker without persistence would
    /// (by default they are kept, as a persistent broker keeps them).
    ///
    /// # Examples
    /// See [`Restart`].
    pub fn wiping_queues(mut self) -> Restart {
        self.wipe_queues = true;
        self
    }
}

impl Broker {
    /// Stops accepting connections: every port closes, so connecting is
    /// refused, as to a broker that is down; open connections go on.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.pause_accepting();
    /// assert!(std::net::TcpStream::connect(broker.addr()).is_err());
    /// broker.resume_accepting()?;
    /// assert!(std::net::TcpStream::connect(broker.addr()).is_ok());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn pause_accepting(&self) {
        for listener in self.listeners.lock().iter_mut() {
            listener.stop();
        }
    }

    /// Listens again, on the same ports, after [`Broker::pause_accepting`]
    /// (nothing to do if it was not paused).
    ///
    /// # Errors
    /// [`Error::Io`] if a port has been taken meanwhile.
    ///
    /// # Examples
    /// See [`Broker::pause_accepting`].
    pub fn resume_accepting(&self) -> Result<(), Error> {
        for listener in self.listeners.lock().iter_mut() {
            listener.resume(&self.state, &self.threads)?;
        }
        Ok(())
    }

    /// Restarts the broker: stops listening, closes every connection (their
    /// transactions roll back, unacknowledged messages go back to their
    /// queues), and listens again on the same ports, queues kept. Clients
    /// reconnect to the same address; the journal, kept, marks the restart
    /// ([`Journal::restarts`](crate::journal::Journal::restarts)) and each
    /// connection closed by it ([`CloseReason::Restart`]).
    ///
    /// # Errors
    /// [`Error::Io`] if a port was taken while the broker was down.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{AckMode, Broker, Client};
    ///
    /// let broker = Broker::start()?;
    /// let mut consumer = Client::connect(broker.addr())?;
    /// consumer.subscribe("/queue/a", AckMode::Client)?;
    /// broker.publish("/queue/a", "unacked");
    /// consumer.recv_timeout(Duration::from_secs(5))?;
    /// broker.restart()?;
    /// let mut again = Client::connect(broker.addr())?;
    /// again.subscribe("/queue/a", AckMode::Client)?;
    /// assert!(again.recv_timeout(Duration::from_secs(5))?.redelivered());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn restart(&self) -> Result<(), Error> {
        self.restart_with(Restart::default())
    }

    /// Like [`Broker::restart`], down (connecting refused) for `duration`
    /// first: what a client's reconnect loop meets. Returns once it listens
    /// again.
    ///
    /// # Errors
    /// As [`Broker::restart`].
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    ///
    /// let broker = stompbox::Broker::start()?;
    /// let started = Instant::now();
    /// broker.restart_after(Duration::from_millis(20))?;
    /// assert!(started.elapsed() >= Duration::from_millis(20));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn restart_after(&self, duration: Duration) -> Result<(), Error> {
        self.restart_with(Restart::default().down_for(duration))
    }

    /// A restart as `restart` says (see [`Broker::restart`]).
    ///
    /// # Errors
    /// As [`Broker::restart`].
    ///
    /// # Examples
    /// See [`Restart`].
    pub fn restart_with(&self, restart: Restart) -> Result<(), Error> {
        let mut listeners = self.listeners.lock();
        for listener in listeners.iter_mut() {
            listener.stop();
        }
        self.state
            .update(|j| j.live.close_all(&CloseReason::Restart));
        self.state.faults.wake_all();
        self.state
            .wait(CLOSING, Watch::Anything, |j| j.live.connection_count() == 0);
        self.state.update(|j| {
            if restart.wipe_queues {
                j.live.clear_queues();
            }
            j.history.restarted(!restart.wipe_queues);
        });
        if !restart.down_for.is_zero() {
            std::thread::sleep(restart.down_for);
        }
        for listener in listeners.iter_mut() {
            listener.resume(&self.state, &self.threads)?;
        }
        Ok(())
    }
}
