//! Options for starting a [`Broker`].

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::Broker;
use crate::auth::{Authenticator, Passwords, RocketMqSignature};
use crate::config::Config;
use crate::destination::{DestinationKind, DestinationRules};
use crate::dialect::{ExchangeType, Semantics};
use crate::error::Error;
use crate::journal::JournalLimits;
use crate::permissions::{Access, TopicMapping};
use crate::protocol::frame::Limits;
use crate::rules::DestinationSyntax;
use crate::rules::SessionRules;
use crate::tls::TlsProblem;
use crate::traffic::Traffic;

/// Options for a [`Broker`]; every one has a default.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::Broker;
/// use stompbox::destination::DestinationKind;
/// use stompbox::frame::Limits;
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
    /// Whether the authenticator is still the default one.
    default_authenticator: bool,
}

impl BrokerBuilder {
    pub(crate) fn new() -> BrokerBuilder {
        BrokerBuilder {
            config: Config::default(),
            default_authenticator: true,
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
    /// use stompbox::frame::Limits;
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
    /// use stompbox::destination::{DestinationKind, DestinationRules};
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
    /// use stompbox::destination::DestinationKind;
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

    /// The seed of the faults' random choices (probabilities, jitter, split
    /// points), so that a run can be replayed (default: `STOMPBOX_SEED`, or
    /// one from the clock; [`Broker::seed`](crate::Broker::seed) says which).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().seed(7).start()?;
    /// assert_eq!(broker.seed(), 7);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = seed;
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

    /// How long a new connection may take to send its whole CONNECT frame,
    /// counted from the moment it was accepted (default 10 s; a client
    /// trickling one byte at a time does not extend it); after that it gets
    /// an ERROR and is closed. 0 is refused at start.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let broker = stompbox::Broker::builder().connect_timeout(Duration::from_millis(500)).start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// The shortest heart-beat interval the broker agrees to, either way,
    /// in milliseconds (default 100; 0: none). A client asking for beats
    /// every millisecond would otherwise keep a core busy; RabbitMQ and
    /// ActiveMQ bound this too. The CONNECTED frame's `heart-beat` header
    /// shows the raised values, so a client computes the same intervals.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().heart_beat_floor(500).start()?;
    /// let client = stompbox::Client::builder().heart_beat(10, 10).connect(broker.addr())?;
    /// assert_eq!(client.connected_frame().header("heart-beat"), Some("500,500"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn heart_beat_floor(mut self, floor_ms: u32) -> Self {
        self.config.heart_beat_floor_ms = floor_ms;
        self
    }

    /// Calls `observer` for every frame and heart-beat in and out, and for
    /// every connection's close ([`Traffic::closed`](crate::Traffic::closed),
    /// with its reason), from the connection's own threads: keep it quick. The command-line server uses
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
    /// acks, transcripts (default: on). Off, those readers return `None`
    /// (`published`, `published_to`, `deliveries`, `acks`, `frames`) and
    /// `wait_for_messages` cannot succeed; connections, subscriptions, open
    /// transactions, queues, ended transactions and errors are still kept.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().recording(false).start()?;
    /// broker.publish("/queue/a", "x");
    /// assert_eq!(broker.published(), None); // not recorded, not "nothing"
    /// assert_eq!(broker.queue("/queue/a").waiting.len(), 1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn recording(mut self, on: bool) -> Self {
        self.config.recording = on;
        self
    }

    /// Where a failed wait or an unmet expectation also writes its report as
    /// a self-contained HTML file (the report's text and the sequence
    /// diagram of the connections, which opens from disk with no server),
    /// naming the file in its message. `None` writes none. Default: the
    /// directory `$STOMPBOX_REPORT_DIR` names, if it is set.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let dir = std::env::temp_dir().join(format!("stompbox-doc-{}", std::process::id()));
    /// let broker = stompbox::Broker::builder().report_dir(Some(&dir)).start()?;
    /// broker.publish("/queue/typo", "misrouted");
    /// let failure = broker
    ///     .wait_for_messages("/queue/orders", 1, Duration::from_millis(10))
    ///     .unwrap_err()
    ///     .to_string();
    /// let path = failure.rsplit("HTML report: ").next().unwrap().trim();
    /// let html = std::fs::read_to_string(path).unwrap();
    /// assert!(html.contains("/queue/typo: 1") && html.contains("StompboxDiagram"));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn report_dir(mut self, dir: Option<impl Into<std::path::PathBuf>>) -> Self {
        self.config.report_dir = dir.map(Into::into);
        self
    }

    /// How much history the journal keeps (see [`JournalLimits`]).
    ///
    /// # Examples
    /// ```
    /// use stompbox::journal::JournalLimits;
    /// let broker = stompbox::Broker::builder()
    ///     .journal_limits(JournalLimits { messages: 10, ..JournalLimits::default() })
    ///     .start()?;
    /// for i in 0..20 {
    ///     broker.publish("/queue/a", format!("{i}"));
    /// }
    /// assert_eq!(broker.published().unwrap().len(), 10);
    /// assert_eq!(broker.published().unwrap()[0].body_text(), "10");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn journal_limits(mut self, limits: JournalLimits) -> Self {
        self.config.journal_limits = limits;
        self
    }

    /// How CONNECT frames are authenticated (default [`AllowAll`](crate::auth::AllowAll)).
    ///
    /// # Examples
    /// ```
    /// use stompbox::{auth::Passwords, Broker, Client, Error};
    ///
    /// let broker = Broker::builder().authenticator(Passwords).user("alice", "pw").start()?;
    /// assert!(Client::builder().login("alice", "pw").connect(broker.addr()).is_ok());
    /// let refused = Client::builder().login("alice", "nope").connect(broker.addr()).unwrap_err();
    /// assert_eq!(refused.to_string(), "broker sent ERROR: wrong passcode for login 'alice'");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> Self {
        self.config.authenticator = Arc::new(authenticator);
        self.default_authenticator = false;
        self
    }

    /// Adds a user to the table the authenticator checks: a login and its
    /// passcode ([`Passwords`](crate::auth::Passwords)), or an AccessKey and its
    /// secret ([`RocketMqSignature`](crate::auth::RocketMqSignature)). Switches
    /// the default [`AllowAll`](crate::auth::AllowAll) to
    /// [`Passwords`](crate::auth::Passwords).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().user("alice", "pw").start()?;
    /// assert!(stompbox::Client::connect(broker.addr()).is_err()); // no login
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn user(mut self, login: impl Into<String>, passcode: impl Into<String>) -> Self {
        if self.config.users.is_empty() && self.default_authenticator {
            self.config.authenticator = Arc::new(Passwords);
        }
        self.config.users.push((login.into(), passcode.into()));
        self
    }

    /// Grants `principal` `access` (PUB, SUB or both) on every topic matching
    /// `topic_pattern` (`*` matches any run of characters), and turns
    /// permission checks on: from then on, SEND needs PUB and SUBSCRIBE and
    /// UNSUBSCRIBE need SUB on the destination's topic.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client};
    /// use stompbox::auth::Access;
    ///
    /// let broker = Broker::builder()
    ///     .user("app", "pw")
    ///     .grant("app", "/queue/orders.*", Access::PUB)
    ///     .start()?;
    /// let mut app = Client::builder().login("app", "pw").connect(broker.addr())?;
    /// app.send_with_receipt("/queue/orders.eu", "ok")?;
    /// let denied = app.send_with_receipt("/queue/payments", "no").unwrap_err();
    /// assert!(denied.to_string().contains("needs PUB on topic '/queue/payments'"), "{denied}");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn grant(mut self, principal: &str, topic_pattern: &str, access: Access) -> Self {
        self.config.permissions.enforced = true;
        self.config
            .permissions
            .grants
            .grant(principal, topic_pattern, access);
        self
    }

    /// Turns permission checks on (or off) without granting anything: with
    /// no grants, every SEND, SUBSCRIBE and UNSUBSCRIBE is denied.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().enforce_permissions(true).start()?;
    /// let mut client = stompbox::Client::connect(broker.addr())?;
    /// assert!(client.send_with_receipt("/queue/a", "x").is_err());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn enforce_permissions(mut self, on: bool) -> Self {
        self.config.permissions.enforced = on;
        self
    }

    /// How a destination names the topic permissions are granted on
    /// (default: the whole destination).
    ///
    /// # Examples
    /// ```
    /// use stompbox::Broker;
    /// use stompbox::auth::{Access, TopicMapping};
    /// let broker = Broker::builder()
    ///     .topic_mapping(TopicMapping::FirstSegment)
    ///     .grant("anonymous", "orders", Access::PUB_SUB)
    ///     .start()?;
    /// let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.send_with_receipt("/orders/eu", "x")?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn topic_mapping(mut self, mapping: TopicMapping) -> Self {
        self.config.permissions.mapping = mapping;
        self
    }

    /// Which destination names SEND and SUBSCRIBE may use (default: any).
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client};
    /// use stompbox::destination::DestinationSyntax;
    /// let broker = Broker::builder().destination_syntax(DestinationSyntax::Words).start()?;
    /// let mut client = Client::connect(broker.addr())?;
    /// assert!(client.send_with_receipt("/a.b", "x").is_err());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn destination_syntax(mut self, syntax: DestinationSyntax) -> Self {
        self.config.rules.destination_syntax = syntax;
        self
    }

    /// The most transactions one connection may have open at once (default
    /// 1,000); one more BEGIN is an ERROR.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().max_open_transactions(1).start()?;
    /// let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.begin("t1")?;
    /// let begin = stompbox::frame::Frame::new(stompbox::frame::Command::Begin).with_header("transaction", "t2");
    /// let err = client.request(begin).unwrap_err(); // waits for the answer
    /// assert!(err.to_string().contains("too many open transactions: at most 1 per connection"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_open_transactions(mut self, count: usize) -> Self {
        self.config.rules.max_open_transactions = Some(count);
        self
    }

    /// The most messages one transaction may hold (default: no limit); one
    /// more SEND in it is an ERROR.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().max_messages_per_transaction(1).start()?;
    /// let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.begin("t")?;
    /// client.send_in("t", "/queue/a", "1")?;
    /// let second = stompbox::frame::Frame::new(stompbox::frame::Command::Send)
    ///     .with_header("destination", "/queue/a")
    ///     .with_header("transaction", "t");
    /// let err = client.request(second).unwrap_err(); // waits for the answer
    /// assert!(err.to_string().contains("too many messages in transaction 't': at most 1"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_messages_per_transaction(mut self, count: usize) -> Self {
        self.config.rules.max_messages_per_transaction = Some(count);
        self
    }

    /// Refuses SUBSCRIBE frames with a `selector` header (default: a
    /// selector is accepted and ignored).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().refuse_selectors(true).start()?;
    /// let mut client = stompbox::Client::connect(broker.addr())?;
    /// let err = client.subscribe_with("/t/a", "1", stompbox::AckMode::Auto, &[("selector", "x = 1")]).unwrap_err();
    /// assert!(err.to_string().contains("selectors are not supported"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn refuse_selectors(mut self, on: bool) -> Self {
        self.config.rules.refuse_selectors = on;
        self
    }

    /// The most messages that may wait on one queue (default: no limit). A
    /// SEND (or a COMMIT) that would put more there is refused with an ERROR
    /// naming the queue and the limit, and nothing of it takes effect.
    /// Messages the test injects are not limited.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().max_queue_depth(1).start()?;
    /// let mut producer = stompbox::Client::connect(broker.addr())?;
    /// producer.send_with_receipt("/queue/a", "1")?;
    /// let err = producer.send_with_receipt("/queue/a", "2").unwrap_err();
    /// assert_eq!(err.to_string(), "broker sent ERROR: queue '/queue/a' is full: at most 1 message may wait");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_queue_depth(mut self, messages: usize) -> Self {
        self.config.max_queue_depth = Some(messages);
        self
    }

    /// The most bytes of messages (headers and body) that may wait on one
    /// queue (default 128 MiB). A SEND (or a COMMIT) that would put more
    /// there is refused with an ERROR naming the queue and the bound, and
    /// nothing of it takes effect: flow control as ActiveMQ's per-destination
    /// memory limit, answered at once rather than by blocking the producer.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().max_queue_bytes(1_000).start()?;
    /// let mut producer = stompbox::Client::connect(broker.addr())?;
    /// producer.send_with_receipt("/queue/a", "x".repeat(500))?;
    /// let err = producer.send_with_receipt("/queue/a", "x".repeat(500)).unwrap_err();
    /// assert!(err.to_string().contains("queue '/queue/a' is full: its waiting messages occupy"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_queue_bytes(mut self, bytes: usize) -> Self {
        self.config.max_queue_bytes = bytes;
        self
    }

    /// The most bytes of messages one open transaction may buffer (default
    /// 64 MiB). A SEND past it is refused with an ERROR, and the
    /// connection closes (its transactions roll back).
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    ///
    /// let broker = stompbox::Broker::builder().max_transaction_bytes(1_000).start()?;
    /// let mut producer = stompbox::Client::connect(broker.addr())?;
    /// producer.begin("t")?;
    /// let send = || Frame::new(Command::Send)
    ///     .with_header("destination", "/queue/a")
    ///     .with_header("transaction", "t")
    ///     .with_body("x".repeat(500));
    /// producer.request(send())?;
    /// let err = producer.request(send()).unwrap_err();
    /// assert!(err.to_string().contains("transaction 't' is full"), "{err}");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_transaction_bytes(mut self, bytes: usize) -> Self {
        self.config.max_transaction_bytes = bytes;
        self
    }

    /// What the broker may hold in memory, all told (default 512 MiB): every
    /// message alive (waiting on a queue, buffered in a transaction, unacked,
    /// being written, kept by the journal; each counted once) and the
    /// journal's records and transcripts. The journal gives way first: when
    /// a SEND would pass the budget, its oldest records go; if live messages
    /// alone would pass it, the SEND is refused with an ERROR saying what
    /// the broker holds (as RabbitMQ's memory alarm stops publishers), and
    /// nothing is lost silently. [`Broker::memory`](crate::Broker::memory)
    /// shows the figures.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().memory_budget(64 * 1024 * 1024).start()?;
    /// assert_eq!(broker.memory().budget, 64 * 1024 * 1024);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.config.memory_budget = bytes;
        self
    }

    /// Serves STOMP over WebSocket only at `path` (default: at any path,
    /// as Spring apps use their own endpoint paths and RabbitMQ uses
    /// `/ws`). An upgrade to another path is answered `404` and closed.
    ///
    /// WebSocket needs no option: a connection to the STOMP port whose first
    /// bytes are an HTTP `GET` with `Upgrade: websocket` becomes a STOMP over
    /// WebSocket connection (subprotocols `v12.stomp`, `v11.stomp`,
    /// `v10.stomp`, `stomp`); plain HTTP gets `426 Upgrade Required`.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let broker = stompbox::Broker::builder().websocket_path("/ws").start()?;
    /// let mut http = std::net::TcpStream::connect(broker.addr())?;
    /// http.write_all(b"GET /other HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n")?;
    /// let mut answer = String::new();
    /// http.read_to_string(&mut answer)?;
    /// assert!(answer.starts_with("HTTP/1.1 404 Not Found"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn websocket_path(mut self, path: impl Into<String>) -> Self {
        self.config.websocket_path = Some(path.into());
        self
    }

    /// Accepts WebSocket upgrades only from these origins (default: any).
    /// An upgrade whose `Origin` header names another is answered `403`; one
    /// without `Origin` (not from a browser) is accepted.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let broker = stompbox::Broker::builder()
    ///     .websocket_origins(&["http://localhost:3000"])
    ///     .start()?;
    /// let mut http = std::net::TcpStream::connect(broker.addr())?;
    /// http.write_all(b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nOrigin: http://evil.test\r\n\r\n")?;
    /// let mut answer = String::new();
    /// http.read_to_string(&mut answer)?;
    /// assert!(answer.starts_with("HTTP/1.1 403 Forbidden"), "{answer}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn websocket_origins(mut self, origins: &[&str]) -> Self {
        self.config.websocket_origins = Some(origins.iter().map(|o| (*o).to_owned()).collect());
        self
    }

    /// Which WebSocket message type carries the broker's frames: text by
    /// default (binary for bytes that are not UTF-8), always binary, or
    /// mirroring the client's latest message.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, WebSocketReplies};
    ///
    /// // A client that sends binary frames and expects binary back.
    /// let broker = Broker::builder().websocket_replies(WebSocketReplies::Mirror).start()?;
    /// # drop(broker);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn websocket_replies(mut self, replies: crate::WebSocketReplies) -> Self {
        self.config.websocket_replies = replies;
        self
    }

    /// Also listens on `port` (0: a free one) for STOMP over WebSocket only
    /// (as Artemis or RabbitMQ's Web-STOMP serve it on a port of its own):
    /// bytes there that are not an upgrade get `400`. The STOMP port keeps
    /// serving both. [`Broker::ws_addr`](crate::Broker::ws_addr) says where.
    ///
    /// # Examples
    /// ```
    /// use std::io::{Read, Write};
    ///
    /// let broker = stompbox::Broker::builder().ws_port(0).start()?;
    /// let mut stomp = std::net::TcpStream::connect(broker.ws_addr().unwrap())?;
    /// stomp.write_all(b"CONNECT\nhost:h\n\n\0")?;
    /// let mut answer = String::new();
    /// stomp.read_to_string(&mut answer)?;
    /// assert!(answer.starts_with("HTTP/1.1 400 Bad Request"), "{answer}");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ws_port(mut self, port: u16) -> Self {
        self.config.ws_port = Some(port);
        self
    }

    /// Also listens for STOMP over TLS (and WebSocket over TLS, `wss`) on
    /// `port` of the same address (0: a free port;
    /// [`Broker::tls_addr`](crate::Broker::tls_addr) says which). Without
    /// [`tls_identity`](Self::tls_identity), a throwaway CA and a server
    /// certificate for `localhost`, `127.0.0.1` and `::1` are made at start
    /// ([`Broker::tls_ca_pem`](crate::Broker::tls_ca_pem) is the CA to
    /// trust): a few milliseconds, paid only with TLS.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().tls_port(0).start()?;
    /// assert_ne!(broker.tls_addr().unwrap().port(), broker.port());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn tls_port(mut self, port: u16) -> Self {
        self.config.tls_port = Some(port);
        self
    }

    /// The TLS port's certificate chain and private key, in PEM (default:
    /// made at start, see [`tls_port`](Self::tls_port)). A chain or key that
    /// cannot be read makes [`start`](Self::start) fail with
    /// [`Error::Config`](crate::Error::Config).
    ///
    /// # Examples
    /// ```
    /// let err = stompbox::Broker::builder().tls_port(0).tls_identity("", "").start().unwrap_err();
    /// assert!(err.to_string().contains("no certificate"), "{err}");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn tls_identity(
        mut self,
        chain_pem: impl Into<String>,
        key_pem: impl Into<String>,
    ) -> Self {
        self.config.tls_identity = Some((chain_pem.into(), key_pem.into()));
        self
    }

    /// Makes the TLS port go wrong on purpose (default: nothing wrong), to
    /// test how a client copes: an expired certificate, one for another
    /// host name, one signed by a CA other than
    /// [`Broker::tls_ca_pem`](crate::Broker::tls_ca_pem), or a handshake
    /// that never completes. Applies to a certificate made at start.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, TlsProblem};
    ///
    /// let broker = Broker::builder().tls_port(0).tls_problem(TlsProblem::WrongHost).start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn tls_problem(mut self, problem: TlsProblem) -> Self {
        self.config.tls_problem = Some(problem);
        self
    }

    /// Requires a client certificate on the TLS port (mutual TLS), one the
    /// broker's CA issued ([`Broker::issue_client_cert`](crate::Broker::issue_client_cert)):
    /// a client without one fails the handshake; one with it is known by
    /// the name it was issued to (its principal, so grants apply), without
    /// login or passcode. Applies to a certificate made at start.
    ///
    /// # Examples
    /// See [`Broker::issue_client_cert`](crate::Broker::issue_client_cert).
    pub fn tls_client_certificates(mut self, required: bool) -> Self {
        self.config.tls_client_certificates = required;
        self
    }

    /// The most connections open at once (default 4,096; ActiveMQ's
    /// transport connectors default to 1,000). One more is answered with an
    /// ERROR frame (`too many connections: at most N`) and closed, before any
    /// thread is started for it.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().max_connections(1).start()?;
    /// let _first = stompbox::Client::connect(broker.addr())?;
    /// let err = stompbox::Client::connect(broker.addr()).unwrap_err();
    /// assert_eq!(err.to_string(), "broker sent ERROR: too many connections: at most 1");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_connections(mut self, connections: usize) -> Self {
        self.config.max_connections = Some(connections);
        self
    }

    /// The most subscriptions one connection may hold at once (default
    /// 10,000). One more SUBSCRIBE is answered with an ERROR frame (`too many
    /// subscriptions on this connection: at most N`) and the connection
    /// closes.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{AckMode, Broker, Client};
    ///
    /// let broker = Broker::builder().max_subscriptions_per_connection(1).start()?;
    /// let mut client = Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", AckMode::Auto)?;
    /// let err = client.subscribe("/queue/b", AckMode::Auto).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "broker sent ERROR: too many subscriptions on this connection: at most 1"
    /// );
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_subscriptions_per_connection(mut self, subscriptions: usize) -> Self {
        self.config.max_subscriptions = subscriptions;
        self
    }

    /// The RocketMQ STOMP gateway's rules: `login` is an AccessKey and
    /// `passcode` its HMAC-SHA1 signature of the `client-id` header
    /// ([`RocketMqSignature`](crate::auth::RocketMqSignature); add AccessKeys
    /// with [`user`](BrokerBuilder::user)(access_key, secret)); permissions per
    /// topic, the topic being a destination's first level (grant with
    /// [`grant`](BrokerBuilder::grant)); destinations `/<topic>[/<more>]` of
    /// letters, digits, `-` and `_`; every destination a topic (nothing kept
    /// for absent subscribers); one open transaction per connection, three
    /// messages per transaction; selectors refused. STOMP 1.0, 1.1 and 1.2.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{auth::rocketmq_passcode, Broker, Client};
    /// use stompbox::auth::Access;
    ///
    /// let broker = Broker::builder()
    ///     .rocketmq()
    ///     .user("AK1", "secret1")
    ///     .grant("AK1", "orders", Access::PUB | Access::SUB)
    ///     .start()?;
    /// let mut client = Client::builder()
    ///     .login("AK1", rocketmq_passcode("secret1", "svc-1"))
    ///     .header("client-id", "svc-1")
    ///     .header("instance-id", "MQ_INST_1")
    ///     .connect(broker.addr())?;
    /// client.send_with_receipt("/orders/eu", "hello")?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn rocketmq(mut self) -> Self {
        self.config.semantics = Semantics::rocketmq();
        self.config.authenticator = Arc::new(RocketMqSignature);
        self.default_authenticator = false;
        self.config.permissions.enforced = true;
        self.config.permissions.mapping = TopicMapping::FirstSegment;
        self.config.destinations = DestinationRules::all(DestinationKind::Topic);
        self.config.rules = SessionRules {
            destination_syntax: DestinationSyntax::Words,
            max_open_transactions: Some(1),
            max_messages_per_transaction: Some(3),
            refuse_selectors: true,
        };
        self
    }

    /// ActiveMQ 5's behaviour where it differs from the default: a NACK is a
    /// "poison ack" (the message goes to `/queue/ActiveMQ.DLQ` at once when
    /// persistent, and is discarded when not, with no redelivery), and only
    /// persistent messages are dead-lettered (ActiveMQ's
    /// `processNonPersistent=false`). Everything else (selectors, `*` and `>`
    /// wildcards, `expires`, six redeliveries before the dead-letter queue,
    /// `/temp-queue/` replies) the default already does as ActiveMQ.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{AckMode, Broker, Client, Dialect};
    ///
    /// let broker = Broker::builder().activemq().start()?;
    /// let mut client = Client::connect(broker.addr())?;
    /// client.subscribe("/queue/jobs", AckMode::ClientIndividual)?;
    /// client.send_with_headers("/queue/jobs", "job", &[("persistent", "true")])?;
    /// let job = client.recv()?;
    /// client.nack(&job)?;
    /// broker.wait_for_messages("/queue/ActiveMQ.DLQ", 1, std::time::Duration::from_secs(5))?;
    /// assert_eq!(broker.dialect(), Dialect::ActiveMq);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn activemq(mut self) -> Self {
        self.config.semantics = Semantics::activemq();
        self
    }

    /// RabbitMQ's STOMP plugin where it differs from the default: selectors
    /// are ignored; `/topic/` keys take `*` (one word) and `#` (zero or
    /// more); `expiration` (ms to live) instead of `expires`; a NACK
    /// redelivers unless it says `requeue:false` (then the message is gone);
    /// no redelivery limit and no dead-letter queue; the CONNECT `host`
    /// header names a virtual host, of which only `/` exists unless
    /// [`vhost`](BrokerBuilder::vhost) adds more.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client};
    ///
    /// let broker = Broker::builder().rabbitmq().start()?;
    /// let refused = Client::builder().host("localhost").connect(broker.addr()).unwrap_err();
    /// assert_eq!(refused.to_string(), "broker sent ERROR: Bad CONNECT");
    /// Client::builder().host("/").connect(broker.addr())?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn rabbitmq(mut self) -> Self {
        self.config.semantics = Semantics::rabbitmq();
        // Exchanges keep nothing for absent subscribers; `/amq/queue/` and
        // `/reply-queue/` are queues.
        self.config.destinations = DestinationRules::default()
            .with_prefix("/exchange/", DestinationKind::Topic)
            .with_prefix("/amq/queue/", DestinationKind::Queue);
        self
    }

    /// Adds a virtual host a CONNECT may name in `host` (`/` is there
    /// already). The `rabbitmq` profile checks `host` against its virtual
    /// hosts; calling this makes any broker check it.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client};
    /// let broker = Broker::builder().rabbitmq().vhost("localhost").start()?;
    /// Client::builder().host("localhost").connect(broker.addr())?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn vhost(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        let vhosts = self
            .config
            .semantics
            .vhosts
            .get_or_insert_with(|| vec!["/".to_owned()]);
        if !vhosts.contains(&name) {
            vhosts.push(name);
        }
        self
    }

    /// Declares an exchange for the `rabbitmq` profile's
    /// `/exchange/NAME[/KEY]` destinations, routed as a topic exchange (keys
    /// with `*` and `#`); `amq.direct`, `amq.topic`, `amq.fanout` and the
    /// other `amq.*` exchanges are there already. Another name is an ERROR,
    /// as on RabbitMQ.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{AckMode, Broker, Client};
    /// let broker = Broker::builder().rabbitmq().exchange("orders").start()?;
    /// let mut client = Client::builder().host("/").connect(broker.addr())?;
    /// client.subscribe("/exchange/orders/eu.*", AckMode::Auto)?;
    /// client.send("/exchange/orders/eu.paris", "o-1")?;
    /// assert_eq!(client.recv()?.body_text(), "o-1");
    /// assert!(client.subscribe("/exchange/nope/x", AckMode::Auto).is_err());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn exchange(self, name: impl Into<String>) -> Self {
        self.declare_exchange(name.into(), ExchangeType::Topic)
    }

    /// Declares a fanout exchange for the `rabbitmq` profile: a message sent
    /// to `/exchange/NAME/ANY-KEY` reaches every subscription to
    /// `/exchange/NAME[/KEY]`, whatever the keys (as `amq.fanout`).
    ///
    /// # Examples
    /// ```
    /// use stompbox::{AckMode, Broker, Client};
    /// let broker = Broker::builder().rabbitmq().fanout_exchange("events").start()?;
    /// let mut client = Client::builder().host("/").connect(broker.addr())?;
    /// client.subscribe("/exchange/events", AckMode::Auto)?;
    /// client.send("/exchange/events/user.created", "e-1")?;
    /// assert_eq!(client.recv()?.body_text(), "e-1");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn fanout_exchange(self, name: impl Into<String>) -> Self {
        self.declare_exchange(name.into(), ExchangeType::Fanout)
    }

    /// Declares a direct exchange for the `rabbitmq` profile: a message sent
    /// to `/exchange/NAME/KEY` reaches the subscriptions to that very key
    /// (`*` and `#` are characters like any other, as on `amq.direct`).
    ///
    /// # Examples
    /// ```
    /// use stompbox::{AckMode, Broker, Client};
    /// use std::time::Duration;
    /// let broker = Broker::builder().rabbitmq().direct_exchange("jobs").start()?;
    /// let mut client = Client::builder().host("/").connect(broker.addr())?;
    /// client.subscribe("/exchange/jobs/resize", AckMode::Auto)?;
    /// client.subscribe("/exchange/jobs/*", AckMode::Auto)?;
    /// client.send("/exchange/jobs/resize", "j-1")?;
    /// let message = client.recv()?;
    /// assert_eq!(message.header("destination"), Some("/exchange/jobs/resize"));
    /// assert!(client.recv_timeout(Duration::from_millis(50)).is_err(), "'*' is no wildcard");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn direct_exchange(self, name: impl Into<String>) -> Self {
        self.declare_exchange(name.into(), ExchangeType::Direct)
    }

    /// Declares exchange `name` of type `kind` (a later declaration of the
    /// same name wins).
    fn declare_exchange(mut self, name: String, kind: ExchangeType) -> Self {
        let exchanges = &mut self.config.semantics.exchanges;
        exchanges.retain(|(n, _)| *n != name);
        exchanges.push((name, kind));
        self
    }

    /// How many times a queue message may be redelivered (after a NACK, or
    /// left unacknowledged by a consumer that went) before it goes to the
    /// dead-letter queue; `None`: without end. ActiveMQ's default, and
    /// stompbox's, is 6.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{AckMode, Broker, Client};
    /// use std::time::Duration;
    ///
    /// let broker = Broker::builder().max_redeliveries(Some(1)).start()?;
    /// let mut client = Client::connect(broker.addr())?;
    /// client.subscribe("/queue/jobs", AckMode::ClientIndividual)?;
    /// client.send("/queue/jobs", "job")?;
    /// let first = client.recv()?;
    /// client.nack(&first)?;
    /// let again = client.recv()?;
    /// assert!(again.redelivered());
    /// client.nack(&again)?;
    /// let dead = broker.wait_for_messages("/queue/ActiveMQ.DLQ", 1, Duration::from_secs(5))?;
    /// assert_eq!(dead[0].header("original-destination"), Some("/queue/jobs"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn max_redeliveries(mut self, redeliveries: Option<u32>) -> Self {
        self.config.semantics.max_redeliveries = redeliveries;
        self
    }

    /// Where messages given up on go (too many redeliveries, expired, a
    /// poison NACK); `None`: they are dropped (recorded in the journal as
    /// rejected or expired). Default `/queue/ActiveMQ.DLQ`.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::builder().dead_letter_queue(Some("/queue/dead")).start()?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn dead_letter_queue(mut self, destination: Option<&str>) -> Self {
        self.config.semantics.dead_letter_queue = destination.map(Arc::from);
        self
    }

    /// Binds and starts the broker; it accepts connections once this returns.
    ///
    /// # Errors
    /// [`Error::Io`] if the address cannot be bound (for example, the port is
    /// in use) or a thread cannot be started; [`Error::Config`] for a bound
    /// of 0 that would refuse everything.
    ///
    /// # Examples
    /// ```
    /// let first = stompbox::Broker::start()?;
    /// let clash = stompbox::Broker::builder().port(first.port()).start();
    /// assert!(matches!(clash, Err(stompbox::Error::Io(_))));
    /// let zero = stompbox::Broker::builder().max_connections(0).start().unwrap_err();
    /// assert_eq!(
    ///     zero.to_string(),
    ///     "invalid broker settings: max_connections is 0: every connection would be refused"
    /// );
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn start(self) -> Result<Broker, Error> {
        self.config.validate().map_err(Error::Config)?;
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
