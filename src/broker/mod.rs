//! The broker: [`Broker`] (a running instance) and [`BrokerBuilder`].
//!
//! Threads: one acceptor, and per connection a reader (the session, which
//! applies frames) and a writer (which drains the connection's outbox). All
//! routing state sits in one router behind one lock; nothing holds that lock
//! while it touches a socket, so a slow client never stalls another.
//!
//! Shutdown raises a flag, wakes the acceptor by connecting to it, shuts down
//! every open socket (which ends its reader and writer), and joins them all.

mod acceptor;
mod builder;
mod expectations;
mod faults;
mod heart_beat;
mod inspect;
pub(crate) mod message;
mod outbox;
mod router;
mod security;
mod session;
mod shared;
mod traffic;

use std::fmt;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;

pub use builder::BrokerBuilder;
pub use expectations::ExpectationGuard;
pub use traffic::{Direction, Traffic};

use parking_lot::Mutex;

use crate::{Error, Expectation};
use acceptor::Threads;
use shared::{Config, Shared};

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
    shared: Arc<Shared>,
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
        let shared = Shared::new(config);
        let threads = Threads::default();
        let acceptor = acceptor::spawn(listener, shared.clone(), threads.clone())?;
        Ok(Broker {
            shared,
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
        self.shared.shutting_down.store(true, Ordering::Release);
        // Wake the acceptor blocked in accept(); it sees the flag and exits.
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        drop(TcpStream::connect(wake));
        let _ = acceptor.join();
        self.shared.close_all_streams();
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
