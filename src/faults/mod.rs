//! Failures a test arranges on purpose.
//!
//! [`Fault`] rules (what goes wrong, to which frames, when, on which
//! connections), injected with [`Broker::inject`](crate::Broker::inject)
//! and consulted by the connections: the session for frames coming in, the
//! writer for frames going out, both for connection-wide faults (no
//! heart-beats, a black hole). The router never sees them, so a delay on
//! one connection never stalls another. [`refusals`] are the older,
//! simpler kind: refuse the next connections, upgrades or SENDs.

mod armed;
pub(crate) mod refusals;
mod rule;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Awaited, Error, Timeout};

pub use armed::FaultHit;
pub(crate) use armed::{InboundVerdict, Injected, OutboundVerdict, Rng};
pub(crate) use refusals::Refusals;
pub use rule::Fault;
pub(crate) use rule::Identity;

/// An injected [`Fault`]: what it has done so far, and the rule's life.
/// Dropping it (or [`FaultHandle::remove`]) removes the rule.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client, Fault, frame::Command};
///
/// let broker = Broker::start()?;
/// let fault = broker.inject(Fault::drop().inbound(Command::Send).always());
/// let mut client = Client::connect(broker.addr())?;
/// client.send("/queue/a", "lost")?;
/// client.send("/queue/a", "lost too")?;
/// fault.wait_fired(2, Duration::from_secs(5))?;
/// fault.remove();
/// client.send_with_receipt("/queue/a", "kept")?;
/// assert_eq!(broker.published().unwrap().len(), 1);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[must_use = "dropping the handle removes the fault at once: keep it in a variable"]
pub struct FaultHandle {
    injected: Arc<Injected>,
    armed: Arc<armed::Armed>,
}

impl FaultHandle {
    pub(crate) fn new(injected: Arc<Injected>, armed: Arc<armed::Armed>) -> FaultHandle {
        FaultHandle { injected, armed }
    }

    /// Its number (as the HTTP API's `/faults/ID`).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let fault = broker.inject(stompbox::Fault::drop());
    /// assert_eq!(fault.id(), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn id(&self) -> u64 {
        self.armed.id
    }

    /// How many times it acted: frames for the frame kinds, connections for
    /// [`Fault::stop_heart_beats`] and [`Fault::black_hole`].
    ///
    /// # Examples
    /// See [`Fault`].
    pub fn fired(&self) -> usize {
        self.armed.fired()
    }

    /// Waits until it has acted `count` times in all (a fault acts on the
    /// connections' threads, so this is how a test knows it has).
    ///
    /// # Errors
    /// [`Error::Timeout`] after `timeout`, saying how many times it did.
    ///
    /// # Examples
    /// See [`FaultHandle`].
    #[track_caller]
    pub fn wait_fired(&self, count: usize, timeout: Duration) -> Result<(), Error> {
        let fired = self.armed.wait_fired(count, timeout);
        if fired >= count {
            return Ok(());
        }
        Err(Error::Timeout(Box::new(Timeout {
            awaited: Awaited::Fault {
                fault: self.armed.describe(),
                count,
            },
            after: timeout,
            saw: format!(
                "It acted {fired} time(s), on: {:?} (seed {}).",
                self.armed.hits(),
                self.armed.seed
            ),
        })))
    }

    /// What it acted on, oldest first (the latest thousand).
    ///
    /// # Examples
    /// See [`FaultHit`].
    pub fn hits(&self) -> Vec<FaultHit> {
        self.armed.hits()
    }

    /// The seed of its random choices: give it to [`Fault::seed`] to replay
    /// a run.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let fault = broker.inject(stompbox::Fault::drop().seed(7));
    /// assert_eq!(fault.seed(), 7);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn seed(&self) -> u64 {
        self.armed.seed
    }

    /// The rule.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let fault = broker.inject(stompbox::Fault::drop());
    /// assert_eq!(fault.fault().to_string(), "drop, once");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn fault(&self) -> &Fault {
        &self.armed.fault
    }

    /// Removes the rule now (as dropping the handle does); what a black
    /// hole or a delay held goes on.
    ///
    /// # Examples
    /// See [`FaultHandle`].
    pub fn remove(self) {}
}

impl Drop for FaultHandle {
    fn drop(&mut self) {
        self.injected.remove(self.armed.id);
    }
}

impl fmt::Debug for FaultHandle {
    /// `fault 1 (drop outbound RECEIPT, once; seed 42): fired 1 time`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fault {} ({}; seed {}): fired {} time(s)",
            self.armed.id,
            self.armed.fault,
            self.armed.seed,
            self.armed.fired()
        )
    }
}
