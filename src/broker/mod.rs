//! The broker handle: [`Broker`] (a running instance) and [`BrokerBuilder`].
//!
//! This module is the test's side: starting and stopping, inspection and
//! waits (`inspect.rs`), expectations (`expectations.rs`), users and grants
//! (`access.rs`), armed failures (`failures.rs`). The broker itself is [`crate::state`] (one state behind
//! one lock), [`crate::session`] (the protocol state machine) and
//! [`crate::connection`] (the threads).
//!
//! Shutdown raises a flag, stops the listeners (`listeners.rs`: each
//! acceptor woken by connecting to it), aborts every open connection (which
//! ends its reader and writer), and joins them all. A pause or a restart
//! (`lifecycle.rs`) stops the listeners and starts them again on the same
//! ports.

mod access;
mod builder;
mod expectations;
mod failures;
mod inspect;
mod lifecycle;
mod listeners;
mod waiting;

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use builder::BrokerBuilder;
pub use expectations::ExpectationGuard;
pub use lifecycle::Restart;
pub use waiting::WaitFuture;

use parking_lot::Mutex;

use crate::config::Config;
use crate::connection::Threads;
use crate::connection::acceptor::Wrapping;
use crate::error::Error;
use crate::expect::Expectation;
use crate::state::BrokerState;
use crate::tls::{ClientCertificate, TlsIdentity, TlsProblem};
use listeners::Listener;

/// A running STOMP broker.
///
/// It listens until dropped (or [`Broker::shutdown`]); dropping it closes the
/// port and every connection and joins every thread it started.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{AckMode, Broker, Client};
///
/// // Arrange
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.subscribe("/queue/orders", AckMode::ClientIndividual)?;
/// // Act
/// client.send("/queue/orders", "hello")?;
/// let msg = client.recv_timeout(Duration::from_secs(1))?;
/// client.ack(&msg)?;
/// // Assert
/// assert_eq!(msg.body(), b"hello");
/// drop(broker); // port closed, every thread joined
/// # Ok::<(), stompbox::Error>(())
/// ```
#[must_use = "dropping the broker stops it: keep it in a variable for as long as clients use it"]
pub struct Broker {
    state: Arc<BrokerState>,
    addr: SocketAddr,
    /// The WebSocket-only listener's address, if one was asked for.
    ws_addr: Option<SocketAddr>,
    /// The TLS listener's address and identity, if one was asked for.
    tls: Option<(SocketAddr, TlsIdentity)>,
    /// Every listening port (the STOMP port first), stopped and started
    /// again by a pause or a restart.
    listeners: Mutex<Vec<Listener>>,
    threads: Threads,
    expectations: Mutex<Vec<Expectation>>,
    stopped: AtomicBool,
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
        // Made (and bound) before anything starts, so a failure leaves
        // nothing running.
        let tls = match config.tls_port {
            Some(port) => {
                let identity = match &config.tls_identity {
                    Some((chain, key)) => TlsIdentity::from_pem(chain, key),
                    None => {
                        TlsIdentity::generate(config.tls_problem, config.tls_client_certificates)
                    }
                }
                .map_err(Error::Config)?;
                let listener = TcpListener::bind(SocketAddr::new(config.bind.ip(), port))?;
                Some((listener, identity))
            }
            None => None,
        };
        let ws = match config.ws_port {
            Some(port) => Some(TcpListener::bind(SocketAddr::new(config.bind.ip(), port))?),
            None => None,
        };
        let state = BrokerState::new(config);
        let threads = Threads::default();
        let mut listeners = vec![Listener::spawn(listener, Wrapping::Tcp, &state, &threads)?];
        let mut broker = Broker {
            state,
            addr,
            ws_addr: None,
            tls: None,
            listeners: Mutex::new(Vec::new()),
            threads,
            expectations: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
        };
        if let Some(listener) = ws {
            let ws = Listener::spawn(
                listener,
                Wrapping::WebSocketOnly,
                &broker.state,
                &broker.threads,
            );
            let ws = ws.inspect_err(|_| stop_all(&mut listeners))?;
            broker.ws_addr = Some(ws.addr);
            listeners.push(ws);
        }
        if let Some((listener, identity)) = tls {
            let wrapping = match broker.state.config.tls_problem {
                Some(TlsProblem::StalledHandshake) => Wrapping::Stalled,
                _ => Wrapping::Tls(identity.server.clone()),
            };
            let tls = Listener::spawn(listener, wrapping, &broker.state, &broker.threads);
            let tls = tls.inspect_err(|_| stop_all(&mut listeners))?;
            broker.tls = Some((tls.addr, identity));
            listeners.push(tls);
        }
        *broker.listeners.get_mut() = listeners;
        Ok(broker)
    }

    /// The TLS port's address, if the broker has one
    /// ([`BrokerBuilder::tls_port`](crate::BrokerBuilder::tls_port)).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().tls_port(0).start()?;
    /// assert!(broker.tls_addr().unwrap().ip().is_loopback());
    /// assert!(stompbox::Broker::start()?.tls_addr().is_none());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls.as_ref().map(|(addr, _)| *addr)
    }

    /// The CA that signed the TLS port's certificate, in PEM, for a client
    /// to trust: made at start with the certificate (for `localhost`,
    /// `127.0.0.1` and `::1`) when none was given; `None` without TLS or
    /// with a certificate of the test's own.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().tls_port(0).start()?;
    /// assert!(broker.tls_ca_pem().unwrap().starts_with("-----BEGIN CERTIFICATE-----"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn tls_ca_pem(&self) -> Option<&str> {
        self.tls.as_ref()?.1.ca_pem.as_deref()
    }

    /// A client certificate for `name`, signed by the CA the broker made:
    /// with [`BrokerBuilder::tls_client_certificates`](crate::BrokerBuilder::tls_client_certificates)
    /// the TLS port requires one, and a connection presenting it is known as
    /// `name` (its principal, so grants apply, recorded in the journal),
    /// login and passcode not needed.
    ///
    /// # Errors
    /// [`Error::Config`] without a TLS port, or with a certificate of the
    /// test's own (no CA key to sign with).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().tls_port(0).tls_client_certificates(true).start()?;
    /// let alice = broker.issue_client_cert("alice")?;
    /// assert!(alice.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    /// assert!(alice.key_pem.contains("PRIVATE KEY"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn issue_client_cert(&self, name: &str) -> Result<ClientCertificate, Error> {
        let (_, identity) = self
            .tls
            .as_ref()
            .ok_or_else(|| Error::Config("no TLS port: see BrokerBuilder::tls_port".to_owned()))?;
        identity
            .issue(name, &self.state.issued_certificates)
            .map_err(Error::Config)
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

    /// Which broker it imitates where brokers differ (see
    /// [`BrokerBuilder::activemq`], [`BrokerBuilder::rabbitmq`],
    /// [`BrokerBuilder::rocketmq`]).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().activemq().start()?;
    /// assert_eq!(broker.dialect(), stompbox::Dialect::ActiveMq);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn dialect(&self) -> crate::Dialect {
        self.state.config.semantics.dialect
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

    /// The WebSocket URL, `ws://127.0.0.1:PORT/ws`, for stompjs and other
    /// WebSocket clients: the STOMP port's, or the WebSocket-only listener's
    /// if there is one (any path is served unless
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
        let addr = self.ws_addr().unwrap_or(self.addr);
        format!("ws://{addr}{path}")
    }

    /// The WebSocket-only listener's address, if the broker has one
    /// ([`BrokerBuilder::ws_port`](crate::BrokerBuilder::ws_port)).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().ws_port(0).start()?;
    /// let ws = broker.ws_addr().unwrap();
    /// assert_eq!(broker.ws_url(), format!("ws://{ws}/ws"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn ws_addr(&self) -> Option<SocketAddr> {
        self.ws_addr
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
        if self.stopped.swap(true, Ordering::SeqCst) {
            return;
        }
        self.state.begin_shutdown();
        // What a black hole or a delay holds lets go.
        self.state.faults.wake_all();
        stop_all(self.listeners.get_mut());
        self.state.abort_all();
        self.threads.join_all();
    }
}

/// Stops every listener: their ports close, their acceptors are joined.
fn stop_all(listeners: &mut [Listener]) {
    for listener in listeners {
        listener.stop();
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
