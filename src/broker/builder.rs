//! Options for starting a [`Broker`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::shared::Config;
use super::traffic::Traffic;
use super::Broker;
use crate::{DestinationKind, DestinationRules, Error, JournalLimits, Limits};

/// Options for a [`Broker`]; every one has a default.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, DestinationKind, Limits};
///
/// let broker = Broker::builder()
///     .heart_beat(1000, 1000)
///     .limits(Limits { max_frame_size: 64 * 1024, ..Limits::default() })
///     .destination_prefix("/exchange/", DestinationKind::Topic)
///     .server_name("my-broker/1.0")
///     .connect_timeout(Duration::from_secs(2))
///     .start()?;
/// assert!(broker.port() > 0);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[must_use = "a builder does nothing until .start() is called"]
pub struct BrokerBuilder {
    config: Config,
}

impl BrokerBuilder {
    pub(crate) fn new() -> BrokerBuilder {
        BrokerBuilder {
            config: Config::default(),
        }
    }

    /// The address and port to listen on (default `127.0.0.1:0`, a free port).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().bind(([127, 0, 0, 1], 0).into()).start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.config.bind = addr;
        self
    }

    /// The IP address to listen on, keeping the port.
    ///
    /// # Examples
    /// ```
    /// use std::net::Ipv4Addr;
    /// let broker = stompbox::Broker::builder().ip(Ipv4Addr::LOCALHOST.into()).start()?;
    /// assert!(broker.addr().ip().is_loopback());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.config.bind.set_ip(ip);
        self
    }

    /// The port to listen on; 0 (the default) picks a free one.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().port(0).start()?;
    /// assert_ne!(broker.port(), 0);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn port(mut self, port: u16) -> Self {
        self.config.bind.set_port(port);
        self
    }

    /// The broker's heart-beat offer, in milliseconds: it can send one every
    /// `send_ms` and wants one every `receive_ms` (0 = never).
    ///
    /// Without this the broker agrees to whatever each client asks for, as
    /// RabbitMQ does.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().heart_beat(5000, 0).start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn heart_beat(mut self, send_ms: u32, receive_ms: u32) -> Self {
        self.config.heart_beat = Some((send_ms, receive_ms));
        self
    }

    /// Frame size limits; a frame over them gets an ERROR.
    ///
    /// # Examples
    /// ```
    /// use stompbox::Limits;
    /// let broker = stompbox::Broker::builder()
    ///     .limits(Limits { max_headers: 10, ..Limits::default() })
    ///     .start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn limits(mut self, limits: Limits) -> Self {
        self.config.limits = limits;
        self
    }

    /// The rules that make destinations queues or topics.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{DestinationKind, DestinationRules};
    /// let broker = stompbox::Broker::builder()
    ///     .destinations(DestinationRules::default().with_default(DestinationKind::Topic))
    ///     .start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn destinations(mut self, rules: DestinationRules) -> Self {
        self.config.destinations = rules;
        self
    }

    /// Makes destinations starting with `prefix` behave as `kind`.
    ///
    /// # Examples
    /// ```
    /// use stompbox::DestinationKind;
    /// let broker = stompbox::Broker::builder()
    ///     .destination_prefix("/amq/queue/", DestinationKind::Queue)
    ///     .start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn destination_prefix(mut self, prefix: impl Into<String>, kind: DestinationKind) -> Self {
        self.config.destinations = self.config.destinations.with_prefix(prefix, kind);
        self
    }

    /// The `server` header of CONNECTED (default `stompbox/VERSION`).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().server_name("ActiveMQ/5.18.3").start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.config.server_name = name.into();
        self
    }

    /// How many bytes may wait to be sent to one client before it is judged
    /// too slow and disconnected with an ERROR (default 64 MiB). Its
    /// unacknowledged queue messages go back to their queues.
    ///
    /// Queues stop handing messages to a client that is behind, so this bound
    /// is reached through topics and replies, not by a queue's backlog.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().max_outbound_backlog(1 << 20).start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_outbound_backlog(mut self, bytes: usize) -> Self {
        self.config.max_backlog = bytes;
        self.config.dispatch_watermark = self.config.dispatch_watermark.min(bytes / 2).max(1);
        self
    }

    /// How long a new connection may take to send CONNECT (default 10 s);
    /// after that it gets an ERROR and is closed.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let broker = stompbox::Broker::builder().connect_timeout(Duration::from_millis(500)).start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Calls `observer` for every frame and heart-beat in and out, from the
    /// connection's own threads: keep it quick. The command-line server uses
    /// this to print its traffic.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder()
    ///     .on_traffic(|t| eprintln!("{t}"))
    ///     .start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn on_traffic(mut self, observer: impl Fn(&Traffic<'_>) + Send + Sync + 'static) -> Self {
        self.config.observer = Some(Arc::new(observer));
        self
    }

    /// Whether the journal records history: published messages, deliveries,
    /// acks, transcripts (default: on). Off, those inspection calls return
    /// nothing, `frames` returns `None` and `wait_for_messages` cannot
    /// succeed; connections, subscriptions and open transactions are still
    /// tracked.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().recording(false).start()?;
    /// broker.publish("/queue/a", "x");
    /// assert!(broker.published().is_empty());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn recording(mut self, on: bool) -> Self {
        self.config.recording = on;
        self
    }

    /// How much history the journal keeps (see [`JournalLimits`]).
    ///
    /// # Examples
    /// ```
    /// use stompbox::JournalLimits;
    /// let broker = stompbox::Broker::builder()
    ///     .journal_limits(JournalLimits { messages: 10, ..JournalLimits::default() })
    ///     .start()?;
    /// for i in 0..20 {
    ///     broker.publish("/queue/a", format!("{i}"));
    /// }
    /// assert_eq!(broker.published().len(), 10);
    /// assert_eq!(broker.published()[0].body_text(), "10");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn journal_limits(mut self, limits: JournalLimits) -> Self {
        self.config.journal_limits = limits;
        self
    }

    /// Binds and starts the broker; it accepts connections once this returns.
    ///
    /// # Errors
    /// [`Error::Io`] if the address cannot be bound (for example, the port is
    /// in use) or a thread cannot be started.
    ///
    /// # Examples
    /// ```
    /// let first = stompbox::Broker::start()?;
    /// let clash = stompbox::Broker::builder().port(first.port()).start();
    /// assert!(matches!(clash, Err(stompbox::Error::Io(_))));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn start(self) -> Result<Broker, Error> {
        Broker::launch(self.config)
    }
}

impl fmt::Debug for BrokerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerBuilder")
            .field("bind", &self.config.bind)
            .field("server_name", &self.config.server_name)
            .field("heart_beat", &self.config.heart_beat)
            .field("limits", &self.config.limits)
            .finish_non_exhaustive()
    }
}
