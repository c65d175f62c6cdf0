//! Failures a test arranges in advance (see [`crate::faults`]).

use super::Broker;

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
        self.state.faults.fail_connects(count, reason);
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
        self.state.faults.fail_send(destination, message);
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
        self.state.faults.fail_upgrades(count, status);
    }
}
