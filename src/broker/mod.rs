//! The broker handle: [`Broker`] (a running instance) and [`BrokerBuilder`].
//!
//! This module is the test's side: starting and stopping, inspection and
//! waits (`inspect.rs`), expectations (`expectations.rs`), users and grants
//! (`access.rs`), armed failures (`failures.rs`). The broker itself is [`crate::state`] (one state behind
//! one lock), [`crate::session`] (the protocol state machine) and
//! [`crate::connection`] (the threads).
//!
//! Shutdown raises a flag, wakes the acceptor by connecting to it, aborts
//! every open connection (which ends its reader and writer), and joins them
//! all.

mod access;
mod builder;
mod expectations;
mod failures;
mod inspect;

use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use builder::BrokerBuilder;
pub use expectations::ExpectationGuard;

use parking_lot::Mutex;

use crate::config::Config;
use crate::connection::{acceptor, Threads};
use crate::error::Error;
use crate::expect::Expectation;
use crate::state::BrokerState;

/// A running STOMP broker.
///
/// It listens until dropped (or [`Broker::shutdown`]); dropping it closes the
/// port and every connection and joins every thread it started.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Ack, Broker, Client};
///
/// // Arrange
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.subscribe("/queue/orders", Ack::ClientIndividual)?;
/// // Act
/// client.send("/queue/orders", "hello")?;
/// let msg = client.recv_timeout(Duration::from_secs(1))?;
/// client.ack(&msg)?;
/// // Assert
/// assert_eq!(msg.body(), b"hello");
/// drop(broker); // port closed, every thread joined
/// # Ok::<(), stompbox::Error>(())
/// ```
pub struct Broker {
    state: Arc<BrokerState>,
    addr: SocketAddr,
    acceptor: Option<JoinHandle<()>>,
    threads: Threads,
    expectations: Mutex<Vec<Expectation>>,
}

impl Broker {
    /// Starts a broker with every default: 127.0.0.1, a free port.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket cannot be bound or the thread not started.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert!(broker.addr().ip().is_loopback());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn start() -> Result<Broker, Error> {
        Broker::builder().start()
    }

    /// A builder for a broker with options.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().server_name("test/1").start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder::new()
    }

    fn launch(config: Config) -> Result<Broker, Error> {
        let listener = TcpListener::bind(config.bind)?;
        let addr = listener.local_addr()?;
        let state = BrokerState::new(config);
        let threads = Threads::default();
        let acceptor = acceptor::spawn(listener, state.clone(), threads.clone())?;
        Ok(Broker {
            state,
            addr,
            acceptor: Some(acceptor),
            threads,
            expectations: Mutex::new(Vec::new()),
        })
    }

    /// The address clients connect to.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert_ne!(broker.addr().port(), 0);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert_eq!(broker.port(), broker.addr().port());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address as a URL, `tcp://127.0.0.1:PORT`, as many clients take it.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert_eq!(broker.url(), format!("tcp://127.0.0.1:{}", broker.port()));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn url(&self) -> String {
        format!("tcp://{}", self.addr)
    }

    /// The WebSocket URL of the same port, `ws://127.0.0.1:PORT/ws`, for
    /// stompjs and other WebSocket clients (any path is served unless
    /// [`BrokerBuilder::websocket_path`](crate::BrokerBuilder::websocket_path)
    /// names one; then it is that path).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// assert_eq!(broker.ws_url(), format!("ws://127.0.0.1:{}/ws", broker.port()));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn ws_url(&self) -> String {
        let path = self.state.config.websocket_path.as_deref().unwrap_or("/ws");
        format!("ws://{}{path}", self.addr)
    }

    /// Stops the broker now: stops accepting, closes every connection, joins
    /// every thread and frees the port. Dropping the broker does the same.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let addr = broker.addr();
    /// broker.shutdown();
    /// assert!(std::net::TcpStream::connect(addr).is_err());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else {
            return;
        };
        self.state.begin_shutdown();
        // Wake the acceptor blocked in accept(); it sees the flag and exits.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        drop(TcpStream::connect(wake));
        let _ = acceptor.join();
        self.state.abort_all();
        self.threads.join_all();
    }
}

impl Drop for Broker {
    /// Checks the expectations (as they stand before the connections are
    /// closed), stops the broker, then panics if any was unmet.
    fn drop(&mut self) {
        let unmet = if std::thread::panicking() {
            None
        } else {
            self.unmet_expectations()
        };
        self.stop();
        if let Some(report) = unmet {
            panic!("{report}");
        }
    }
}

impl fmt::Debug for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broker")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}
