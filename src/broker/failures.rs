//! Failures a test arranges (see [`crate::faults`]): refusals, injected
//! faults, and kicking a connection.

use super::Broker;
use crate::error::Error;
use crate::faults::{Fault, FaultHandle};
use crate::journal::{CloseReason, ConnectionId};
use crate::protocol::replies;

impl Broker {
    /// The next `count` connection attempts are refused: their CONNECT gets
    /// an ERROR whose `message` is `reason`, then the connection closes.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client};
    ///
    /// let broker = Broker::start()?;
    /// broker.fail_next_connections(1, "server is restarting");
    /// let err = Client::connect(broker.addr()).unwrap_err();
    /// assert_eq!(err.to_string(), "broker sent ERROR: server is restarting");
    /// assert!(Client::connect(broker.addr()).is_ok()); // the next one works
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn fail_next_connections(&self, count: usize, reason: &str) {
        self.state.refusals.fail_connects(count, reason);
    }

    /// The next SEND to `destination` (from any connection) is refused with
    /// an ERROR whose `message` is `message`, then its connection closes;
    /// the message is not published. Calls add up: two calls fail two SENDs.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client};
    ///
    /// let broker = Broker::start()?;
    /// broker.fail_next_send("/queue/orders", "queue is full");
    /// let mut client = Client::connect(broker.addr())?;
    /// let err = client.send_with_receipt("/queue/orders", "1").unwrap_err();
    /// assert_eq!(err.to_string(), "broker sent ERROR: queue is full");
    /// assert!(broker.published().unwrap().is_empty());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn fail_next_send(&self, destination: &str, message: &str) {
        self.state.refusals.fail_send(destination, message);
    }

    /// The next `count` WebSocket upgrades are refused with HTTP `status`
    /// (401, 403, 503, ...) and a one-line reason, then closed: what a
    /// client's reconnect logic meets when a gateway or load balancer says
    /// no. Plain TCP connections are not affected.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let broker = stompbox::Broker::start()?;
    /// broker.refuse_next_websocket_upgrades(1, 503);
    /// let mut http = std::net::TcpStream::connect(broker.addr())?;
    /// http.write_all(b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
    ///     Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")?;
    /// let mut answer = String::new();
    /// http.read_to_string(&mut answer)?;
    /// assert!(answer.starts_with("HTTP/1.1 503 Service Unavailable"), "{answer}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn refuse_next_websocket_upgrades(&self, count: usize, status: u16) {
        self.state.refusals.fail_upgrades(count, status);
    }

    /// Injects `fault`: from now on, the connections apply it. The handle
    /// counts what it did; dropping it removes the rule.
    ///
    /// # Panics
    /// If the rule cannot act (see [`Broker::try_inject`]): a kind that acts
    /// on outbound frames only given an inbound matcher, or a
    /// connection-wide kind given a frame matcher.
    ///
    /// # Examples
    /// See [`Fault`].
    #[track_caller]
    pub fn inject(&self, fault: Fault) -> FaultHandle {
        match self.try_inject(fault) {
            Ok(handle) => handle,
            Err(e) => panic!("{e}"),
        }
    }

    /// Like [`Broker::inject`], with an error instead of a panic for a rule
    /// that cannot act.
    ///
    /// # Errors
    /// [`Error::Config`] saying why.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{Broker, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let err = broker.try_inject(Fault::delay(Duration::ZERO).inbound(Command::Send)).unwrap_err();
    /// assert!(err.to_string().contains("use outbound(..)"), "{err}");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn try_inject(&self, fault: Fault) -> Result<FaultHandle, Error> {
        if let Some(problem) = fault.problem() {
            return Err(Error::Config(format!("cannot inject '{fault}': {problem}")));
        }
        let armed = self.state.faults.arm(fault);
        Ok(FaultHandle::new(self.state.faults.clone(), armed))
    }

    /// What every fault has done, removed ones too, oldest first (the
    /// latest ten thousand): a MESSAGE dropped, a RECEIPT delayed, a
    /// connection black-holed. Failure reports show them, with the seed.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let fault = broker.inject(Fault::drop().inbound(Command::Send));
    /// let mut client = Client::connect(broker.addr())?;
    /// client.send("/queue/a", "lost")?;
    /// fault.wait_fired(1, std::time::Duration::from_secs(5))?;
    /// drop(fault);
    /// assert_eq!(broker.fault_hits()[0].destination.as_deref(), Some("/queue/a"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn fault_hits(&self) -> Vec<crate::FaultHit> {
        self.state.faults.hits()
    }

    /// The seed the faults' random choices derive from:
    /// [`BrokerBuilder::seed`](crate::BrokerBuilder::seed), or
    /// `STOMPBOX_SEED`, or one from the clock. Failure reports print it;
    /// set it to replay a run.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().seed(42).start()?;
    /// assert_eq!(broker.seed(), 42);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn seed(&self) -> u64 {
        self.state.faults.seed()
    }

    /// Closes connection `connection` now, as a broker that drops a client
    /// does: with `error`, an ERROR frame with that `message` first; without,
    /// just the close. Its unacknowledged messages go back to their queues;
    /// the journal's close reason is [`CloseReason::Kicked`]. False if no
    /// such connection is open.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{Broker, Client, journal::CloseReason};
    ///
    /// let broker = Broker::start()?;
    /// let mut client = Client::connect(broker.addr())?;
    /// let id = broker.connections()[0].id;
    /// assert!(broker.kick(id, Some("maintenance")));
    /// assert_eq!(client.recv_frame().unwrap_err().to_string(), "broker sent ERROR: maintenance");
    /// broker.wait_until(
    ///     |j| j.connections().all(|c| c.closed.as_ref().is_some_and(|(_, r)| r == &CloseReason::Kicked)),
    ///     Duration::from_secs(5),
    /// )?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn kick(&self, connection: ConnectionId, error: Option<&str>) -> bool {
        self.state.update(|j| {
            let Some(transport) = j.live.transport_of(connection) else {
                return false;
            };
            j.live.set_close_reason(connection, CloseReason::Kicked);
            // Closing: a black hole holding it lets go.
            j.live.stop_delivering(connection);
            self.state.faults.wake_all();
            match error {
                None => transport.close(),
                Some(message) => {
                    let detail = "The broker closed this connection (kicked by the test).";
                    let frame = replies::error(message, detail, None, &[]);
                    j.history.error_sent(connection, &frame);
                    j.live.send_frame(connection, frame, &mut j.history);
                    j.live
                        .send_control(connection, crate::state::outbox::Outbound::Hangup);
                }
            }
            true
        })
    }
}
