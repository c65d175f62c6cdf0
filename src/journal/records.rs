//! The plain values a test reads back from the broker.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use crate::ack::AckMode;
use crate::journal::Direction;
use crate::permissions::Access;
use crate::protocol::Version;
use crate::protocol::frame::{Command, Frame, Headers};

/// A connection's number within one broker: 1 for the first, and so on.
///
/// # Examples
/// ```
/// let broker = stompbox::Broker::start()?;
/// let _client = stompbox::Client::connect(broker.addr())?;
/// let first: stompbox::journal::ConnectionId = broker.connections()[0].id;
/// assert_eq!(first, 1);
/// # Ok::<(), stompbox::Error>(())
/// ```
pub type ConnectionId = u64;

/// Who published a message.
///
/// # Examples
/// ```
/// use stompbox::journal::Origin;
/// assert_eq!(Origin::Injected.to_string(), "the test (injected)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A client's SEND frame.
    Client {
        /// The connection it came on.
        connection: ConnectionId,
        /// The CONNECT frame's `login`, if any.
        login: Option<String>,
        /// The CONNECT frame's `client-id`, if any.
        client_id: Option<String>,
    },
    /// The test itself, through [`Broker::publish`](crate::Broker::publish).
    Injected,
    /// The broker, moving message `seq` of the journal to the dead-letter
    /// queue (it expired, or failed delivery too often).
    DeadLetter {
        /// The original message's `seq`.
        of: u64,
        /// Why: `"expired"`, `"redelivered N times"` or `"NACKed"`.
        reason: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Client {
                connection,
                login,
                client_id,
            } => {
                write!(f, "connection {connection}")?;
                if let Some(login) = login {
                    write!(f, " (login {login})")?;
                }
                if let Some(id) = client_id {
                    write!(f, " (client-id {id})")?;
                }
                Ok(())
            }
            Origin::Injected => f.write_str("the test (injected)"),
            Origin::DeadLetter { of, reason } => {
                write!(f, "the broker (dead letter of message seq {of}: {reason})")
            }
        }
    }
}

/// What has become of a published message so far.
///
/// # Examples
/// ```
/// assert_eq!(stompbox::journal::MessageStatus::Dropped.to_string(), "dropped (topic had no subscriber)");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MessageStatus {
    /// Sent inside a transaction that is still open.
    InTransaction,
    /// Waiting on a queue for a consumer.
    Queued,
    /// Delivered and waiting for an ACK (`client` or `client-individual`).
    Unacked,
    /// Delivered and acknowledged (or delivered in `auto` mode).
    Consumed,
    /// Published to a topic that had no subscriber: nobody got it.
    Dropped,
    /// Its transaction was aborted.
    Discarded,
    /// Its transaction was rolled back when its connection closed.
    RolledBack,
    /// It expired (its `expires` or `expiration` header) before it was
    /// delivered; see [`Origin::DeadLetter`] for a copy on the dead-letter queue.
    Expired,
    /// Moved to the dead-letter queue: too many redeliveries, or NACKed on
    /// ActiveMQ's terms.
    DeadLettered,
    /// Gone without a dead-letter queue to go to: NACKed with
    /// `requeue:false` (RabbitMQ), or a non-persistent poison message
    /// (ActiveMQ).
    Rejected,
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MessageStatus::InTransaction => "in an open transaction",
            MessageStatus::Queued => "queued",
            MessageStatus::Unacked => "delivered, not yet acked",
            MessageStatus::Consumed => "consumed",
            MessageStatus::Dropped => "dropped (topic had no subscriber)",
            MessageStatus::Discarded => "discarded by ABORT",
            MessageStatus::RolledBack => "rolled back (connection closed)",
            MessageStatus::Expired => "expired before delivery",
            MessageStatus::DeadLettered => "moved to the dead-letter queue",
            MessageStatus::Rejected => "rejected (no dead-letter queue took it)",
        })
    }
}

/// One delivery of a message to one subscription.
///
/// # Examples
/// ```
/// let r = stompbox::journal::Recipient { connection: 2, subscription: "s".into(), redelivered: false };
/// assert_eq!(r.connection, 2);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    /// The subscriber's connection.
    pub connection: ConnectionId,
    /// The subscription's id.
    pub subscription: String,
    /// Whether this delivery was marked `redelivered:true`.
    pub redelivered: bool,
}

/// A message the broker received (a SEND, or one the test injected).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
/// use stompbox::journal::MessageStatus;
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.send_with_headers("/queue/orders", "order 1", &[("priority", "9")])?;
/// let published = broker.wait_for_messages("/queue/orders", 1, Duration::from_secs(1))?;
/// assert_eq!(published[0].body_text(), "order 1");
/// assert_eq!(published[0].header("priority"), Some("9"));
/// assert_eq!(published[0].status, MessageStatus::Queued); // nobody subscribed yet
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublishedMessage {
    /// Its position among everything published to this broker, from 1.
    pub seq: u64,
    /// Its `message-id` (given when the SEND arrives, so a message in an
    /// open transaction has the id it will be delivered with).
    pub message_id: String,
    /// Where it was sent.
    pub destination: String,
    /// The SEND frame's headers, as sent.
    pub headers: Headers,
    /// The body.
    pub body: Bytes,
    /// Who sent it.
    pub origin: Origin,
    /// The transaction it was sent in, if any.
    pub transaction: Option<String>,
    /// When, measured from the broker's start.
    pub at: Duration,
    /// What has become of it.
    pub status: MessageStatus,
    /// Every delivery, redeliveries included, in order.
    pub deliveries: Vec<Recipient>,
}

impl PublishedMessage {
    /// The first value of header `name` on the SEND.
    ///
    /// # Examples
    /// See [`PublishedMessage`].
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body as text (invalid UTF-8 replaced).
    ///
    /// # Examples
    /// See [`PublishedMessage`].
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }

    /// Whether the test injected it rather than a client sending it.
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish("/queue/in", "from the test");
    /// assert!(broker.published().unwrap()[0].is_injected());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn is_injected(&self) -> bool {
        self.origin == Origin::Injected
    }
}

impl fmt::Display for PublishedMessage {
    /// `#3 /queue/a (5 bytes) "hello" from connection 2: queued`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} {} ({} bytes) {} from {}",
            self.seq,
            self.destination,
            self.body.len(),
            preview(&self.body),
            self.origin
        )?;
        if let Some(tx) = &self.transaction {
            write!(f, " in transaction {tx}")?;
        }
        write!(f, ": {}", self.status)
    }
}

/// A body cut to a readable length, quoted.
pub(crate) fn preview(body: &[u8]) -> String {
    const MAX: usize = 64;
    let text = String::from_utf8_lossy(body);
    let cut: String = text.chars().take(MAX).collect();
    if cut.len() < text.len() {
        format!("{cut:?}... (cut to {MAX} characters)")
    } else {
        format!("{cut:?}")
    }
}

/// One MESSAGE frame the broker sent.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{AckMode, Broker, Client};
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.subscribe("/topic/t", AckMode::Auto)?;
/// client.send("/topic/t", "x")?;
/// client.recv_timeout(Duration::from_secs(1))?;
/// let delivery = &broker.deliveries().unwrap()[0];
/// assert_eq!((delivery.destination.as_str(), delivery.delivery_count), ("/topic/t", 1));
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryRecord {
    /// The message's `seq` in [`Broker::published`](crate::Broker::published).
    pub seq: u64,
    /// The MESSAGE's `message-id`.
    pub message_id: String,
    /// Where the message was published.
    pub destination: String,
    /// The subscriber's connection.
    pub connection: ConnectionId,
    /// The subscription's id.
    pub subscription: String,
    /// Whether it was marked `redelivered:true`.
    pub redelivered: bool,
    /// How many times this message has been delivered, this one included.
    pub delivery_count: u32,
    /// When, from the broker's start.
    pub at: Duration,
}

/// ACK or NACK.
///
/// # Examples
/// ```
/// assert_eq!(stompbox::journal::AckKind::Nack.to_string(), "NACK");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AckKind {
    /// Accepted.
    Ack,
    /// Rejected (queues redeliver it).
    Nack,
}

impl fmt::Display for AckKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AckKind::Ack => "ACK",
            AckKind::Nack => "NACK",
        })
    }
}

/// One message settled by an ACK or NACK (a cumulative ACK settles several).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{AckMode, Broker, Client};
/// use stompbox::journal::AckKind;
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.subscribe("/queue/q", AckMode::ClientIndividual)?;
/// client.send("/queue/q", "x")?;
/// let msg = client.recv_timeout(Duration::from_secs(1))?;
/// client.ack(&msg)?;
/// let acks = broker.wait_for_acks(1, Duration::from_secs(1))?;
/// assert_eq!(acks[0].kind, AckKind::Ack);
/// assert_eq!(acks[0].message_id, msg.message_id().unwrap());
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AckRecord {
    /// ACK or NACK.
    pub kind: AckKind,
    /// The message's `seq` in [`Broker::published`](crate::Broker::published).
    pub seq: u64,
    /// The settled message's `message-id`.
    pub message_id: String,
    /// The acknowledging connection.
    pub connection: ConnectionId,
    /// The subscription it was delivered through.
    pub subscription: String,
    /// The transaction the ACK/NACK was committed in, if any.
    pub transaction: Option<String>,
    /// When it took effect, from the broker's start.
    pub at: Duration,
}

/// An active subscription.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{AckMode, Broker, Client};
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.subscribe("/queue/q", AckMode::Client)?;
/// let sub = broker.wait_for_subscription("/queue/q", Duration::from_secs(1))?;
/// assert_eq!((sub.ack, sub.delivered, sub.unacked), (AckMode::Client, 0, 0));
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionInfo {
    /// The subscriber's connection.
    pub connection: ConnectionId,
    /// The subscription's id.
    pub id: String,
    /// What it subscribes to.
    pub destination: String,
    /// Its ack mode.
    pub ack: AckMode,
    /// Its selector, when the broker applies it (not in the RabbitMQ
    /// profile, which ignores selectors as RabbitMQ does).
    pub selector: Option<String>,
    /// The name of the durable subscription it consumes, if it is one.
    pub durable: Option<String>,
    /// The SUBSCRIBE frame's headers.
    pub headers: Headers,
    /// Messages delivered through it.
    pub delivered: u64,
    /// Messages acknowledged.
    pub acked: u64,
    /// Messages rejected with NACK.
    pub nacked: u64,
    /// Messages delivered and not yet settled.
    pub unacked: u64,
}

/// A transaction that is still open.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
/// use stompbox::frame::Command;
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.begin("tx1")?;
/// client.send_in("tx1", "/queue/q", "pending")?;
/// broker.wait_until(|s| s.transactions().iter().any(|t| t.frames.len() == 1), Duration::from_secs(1))?;
/// let open = &broker.transactions()[0];
/// assert_eq!(open.id, "tx1");
/// assert_eq!(open.frames[0].command(), &Command::Send);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionInfo {
    /// The connection that began it.
    pub connection: ConnectionId,
    /// The transaction id.
    pub id: String,
    /// The SEND, ACK and NACK frames buffered in it, in order.
    pub frames: Vec<Frame>,
    /// When BEGIN arrived, from the broker's start.
    pub begun_at: Duration,
}

/// How a transaction ended.
///
/// # Examples
/// ```
/// assert_eq!(stompbox::journal::TransactionOutcome::RolledBack.to_string(), "rolled back");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransactionOutcome {
    /// COMMIT applied it.
    Committed,
    /// ABORT dropped it.
    Aborted,
    /// Its connection closed first.
    RolledBack,
}

impl fmt::Display for TransactionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransactionOutcome::Committed => "committed",
            TransactionOutcome::Aborted => "aborted",
            TransactionOutcome::RolledBack => "rolled back",
        })
    }
}

/// A transaction that has ended.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
/// use stompbox::journal::TransactionOutcome;
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.begin("t")?;
/// client.abort("t")?;
/// broker.wait_until(|s| s.transaction_history().count() == 1, Duration::from_secs(1))?;
/// assert_eq!(broker.transaction_history()[0].outcome, TransactionOutcome::Aborted);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransactionRecord {
    /// The connection that began it.
    pub connection: ConnectionId,
    /// The transaction id.
    pub id: String,
    /// How it ended.
    pub outcome: TransactionOutcome,
    /// The frames it buffered.
    pub frames: Vec<Frame>,
    /// When it ended, from the broker's start.
    pub at: Duration,
}

/// Why a connection closed.
///
/// # Examples
/// ```
/// use stompbox::journal::CloseReason;
/// assert_eq!(CloseReason::ErrorSent("bad".into()).to_string(), "ERROR sent: bad");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent DISCONNECT.
    Disconnect,
    /// The broker sent an ERROR frame with this `message`, then closed.
    ErrorSent(String),
    /// The client was silent past its heart-beat interval.
    HeartBeatTimeout,
    /// The client fell too far behind reading its frames.
    SlowConsumer,
    /// The client closed the socket without DISCONNECT.
    PeerClosed,
    /// The broker was shut down.
    BrokerShutdown,
    /// An HTTP request that did not become a WebSocket connection was
    /// answered with this status (426 for plain HTTP on the STOMP port, 400
    /// for a malformed upgrade, 404 for a path not served), then closed.
    HttpAnswered(u16),
    /// The test kicked it ([`Broker::kick`](crate::Broker::kick)).
    Kicked,
    /// The broker restarted ([`Broker::restart`](crate::Broker::restart)).
    Restart,
    /// An injected fault closed it (this one, described).
    Fault(String),
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseReason::Disconnect => f.write_str("DISCONNECT"),
            CloseReason::ErrorSent(message) => write!(f, "ERROR sent: {message}"),
            CloseReason::HeartBeatTimeout => f.write_str("heart-beat timeout"),
            CloseReason::SlowConsumer => f.write_str("slow consumer (outbound backlog exceeded)"),
            CloseReason::PeerClosed => f.write_str("closed by the client"),
            CloseReason::BrokerShutdown => f.write_str("broker shut down"),
            CloseReason::Kicked => f.write_str("kicked by the test"),
            CloseReason::Restart => f.write_str("broker restarted"),
            CloseReason::Fault(fault) => write!(f, "closed by a fault: {fault}"),
            CloseReason::HttpAnswered(status) => {
                write!(
                    f,
                    "an HTTP request, answered {status} (not a WebSocket upgrade)"
                )
            }
        }
    }
}

/// A connection, open or closed.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client, Version};
///
/// let broker = Broker::start()?;
/// let _client = Client::builder().login("alice", "pw").header("client-id", "svc-1").connect(broker.addr())?;
/// let conns = broker.wait_for_connections(1, Duration::from_secs(1))?;
/// assert_eq!(conns[0].login.as_deref(), Some("alice"));
/// assert_eq!(conns[0].client_id.as_deref(), Some("svc-1"));
/// assert_eq!(conns[0].version, Some(Version::V1_2));
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionInfo {
    /// Its number.
    pub id: ConnectionId,
    /// The client's address.
    pub peer: SocketAddr,
    /// What the connection travels on: `"tcp"` or `"tls"`, or `"ws"` or
    /// `"wss"` once its HTTP request has upgraded it to WebSocket.
    pub transport: &'static str,
    /// The WebSocket handshake, for a `"ws"` connection.
    pub websocket: Option<WebSocketInfo>,
    /// The CONNECT frame's `login`.
    pub login: Option<String>,
    /// The CONNECT frame's `client-id`.
    pub client_id: Option<String>,
    /// Who the authenticator says it is; `None` before CONNECT succeeds.
    pub principal: Option<String>,
    /// The CONNECT frame's headers, `passcode` left out (`instance-id` and
    /// the like are here).
    pub headers: Headers,
    /// The negotiated version; `None` before CONNECT.
    pub version: Option<Version>,
    /// The negotiated heart-beats in milliseconds: (broker sends every,
    /// client must send every); 0 = none.
    pub heart_beat: (u64, u64),
    /// Every SUBSCRIBE it made, in order: destination and ack mode (so a
    /// test can tell whether a client subscribed again after reconnecting).
    pub subscribed: Vec<(String, AckMode)>,
    /// When the socket was accepted, from the broker's start.
    pub opened_at: Duration,
    /// When and why it closed; `None` while open.
    pub closed: Option<(Duration, CloseReason)>,
}

impl ConnectionInfo {
    /// Whether it has completed CONNECT and not closed.
    ///
    /// # Examples
    /// See [`Broker::connections`](crate::Broker::connections).
    pub fn is_connected(&self) -> bool {
        self.version.is_some() && self.closed.is_none()
    }
}

/// The handshake of a STOMP-over-WebSocket connection: its request and
/// what the broker chose.
///
/// # Examples
/// ```
/// let info = stompbox::journal::WebSocketInfo {
///     path: "/ws".into(),
///     subprotocol: Some("v12.stomp".into()),
///     headers: vec![("Origin".into(), "http://localhost".into())],
/// };
/// assert_eq!(info.to_string(), "GET /ws (v12.stomp)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebSocketInfo {
    /// The request's path and query, as sent.
    pub path: String,
    /// The subprotocol the broker chose (`v12.stomp`, `v11.stomp`,
    /// `v10.stomp` or `stomp`); `None` when the client offered none it knows.
    pub subprotocol: Option<String>,
    /// The request's headers, in order; `Cookie` and `Authorization` values
    /// redacted.
    pub headers: Vec<(String, String)>,
}

impl fmt::Display for WebSocketInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GET {}", self.path)?;
        if let Some(subprotocol) = &self.subprotocol {
            write!(f, " ({subprotocol})")?;
        }
        Ok(())
    }
}

/// A CONNECT the broker refused.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
///
/// let broker = Broker::builder().user("alice", "pw").start()?;
/// let _ = Client::builder().login("mallory", "x").connect(broker.addr());
/// broker.wait_until(|j| j.auth_failures().count() == 1, Duration::from_secs(1))?;
/// let failure = &broker.auth_failures()[0];
/// assert_eq!(failure.login.as_deref(), Some("mallory"));
/// assert_eq!(failure.reason, "unknown login 'mallory'");
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthFailure {
    /// The connection.
    pub connection: ConnectionId,
    /// The `login` header.
    pub login: Option<String>,
    /// The `client-id` header.
    pub client_id: Option<String>,
    /// Why (the ERROR frame's `message`).
    pub reason: String,
    /// Whether the test arranged it ([`Broker::fail_next_connections`](crate::Broker::fail_next_connections)).
    pub simulated: bool,
    /// When, from the broker's start.
    pub at: Duration,
}

/// A SEND, SUBSCRIBE or UNSUBSCRIBE refused for lack of permission.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
/// use stompbox::auth::Access;
/// use stompbox::frame::Command;
///
/// let broker = Broker::builder().grant("anonymous", "/queue/in", Access::SUB).start()?;
/// let mut client = Client::connect(broker.addr())?;
/// let _ = client.send_with_receipt("/queue/in", "x");
/// broker.wait_until(|j| j.permission_denials().count() == 1, Duration::from_secs(1))?;
/// let denial = &broker.permission_denials()[0];
/// assert_eq!((denial.command.clone(), denial.needed), (Command::Send, Access::PUB));
/// assert_eq!(denial.principal, "anonymous");
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PermissionDenial {
    /// The connection.
    pub connection: ConnectionId,
    /// Who asked.
    pub principal: String,
    /// SEND, SUBSCRIBE or UNSUBSCRIBE.
    pub command: Command,
    /// The frame's destination.
    pub destination: String,
    /// The destination's topic.
    pub topic: String,
    /// What was needed: PUB or SUB.
    pub needed: Access,
    /// When, from the broker's start.
    pub at: Duration,
}

/// One entry of a connection's transcript: a frame or heart-beat, in or out.
///
/// # Examples
/// ```
/// use stompbox::{Broker, Client};
/// use stompbox::frame::Command;
/// use stompbox::journal::Direction;
///
/// let broker = Broker::start()?;
/// let client = Client::connect(broker.addr())?;
/// client.disconnect()?;
/// let conn = broker.connections()[0].id;
/// let frames = broker.frames(conn).expect("recording is on");
/// assert_eq!(frames[0].direction, Direction::In);
/// assert_eq!(frames[0].frame.as_ref().unwrap().command(), &Command::Connect);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameRecord {
    /// When, from the broker's start.
    pub at: Duration,
    /// In (from the client) or out (to it).
    pub direction: Direction,
    /// The frame; `None` for a heart-beat.
    pub frame: Option<Frame>,
    /// The journal had let go of this SEND's or MESSAGE's message (its byte
    /// bound, [`JournalLimits::bytes`](crate::journal::JournalLimits::bytes)):
    /// the frame shows only the broker's own headers (`destination`, and a
    /// MESSAGE's `message-id`, `subscription`, `ack`, `redelivered`), and no
    /// body.
    pub message_evicted: bool,
}

impl fmt::Display for FrameRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>10.3?} {} ", self.at, self.direction)?;
        match &self.frame {
            Some(frame) => write!(f, "{frame}")?,
            None => f.write_str("heart-beat")?,
        }
        if self.message_evicted {
            f.write_str(" [message evicted from the journal]")?;
        }
        Ok(())
    }
}

/// An ERROR frame the broker sent.
///
/// # Examples
/// See [`Broker::errors_sent`](crate::Broker::errors_sent).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorRecord {
    /// The connection it went to.
    pub connection: ConnectionId,
    /// Its `message` header.
    pub message: String,
    /// Its `receipt-id`, if the failing frame asked for a receipt.
    pub receipt_id: Option<String>,
    /// When, from the broker's start.
    pub at: Duration,
}

/// A durable topic subscription: ActiveMQ's (`activemq.subscriptionName`
/// with a CONNECT `client-id`) or RabbitMQ's (`durable:true`,
/// `auto-delete:false` and an `id`). Messages published to its topic wait
/// for it while its subscriber is away.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{AckMode, Broker, Client};
///
/// let broker = Broker::start()?;
/// let connect = || Client::builder().header("client-id", "reporting").connect(broker.addr());
/// let mut subscriber = connect()?;
/// subscriber.subscribe_with("/topic/sales", "s", AckMode::Auto, &[("activemq.subscriptionName", "daily")])?;
/// subscriber.disconnect()?;
/// Client::connect(broker.addr())?.send_with_receipt("/topic/sales", "while away")?;
/// let durable = &broker.durable_subscriptions()[0];
/// assert_eq!((durable.topic.as_str(), durable.waiting, durable.active), ("/topic/sales", 1, None));
/// let mut back = connect()?;
/// back.subscribe_with("/topic/sales", "s", AckMode::Auto, &[("activemq.subscriptionName", "daily")])?;
/// assert_eq!(back.recv_timeout(Duration::from_secs(5))?.body_text(), "while away");
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DurableSubscription {
    /// Its name in the broker: `durable:CLIENT-ID:NAME` (ActiveMQ) or
    /// `durable:ID` (RabbitMQ).
    pub name: String,
    /// The topic (or wildcard pattern) it takes messages from.
    pub topic: String,
    /// Its selector, if any.
    pub selector: Option<String>,
    /// The connection consuming it now; `None` while its subscriber is away.
    pub active: Option<ConnectionId>,
    /// Messages waiting for it.
    pub waiting: usize,
}

/// Something a client did that STOMP does not allow but the real brokers
/// accept, so stompbox accepts it too (a fake must not be stricter than
/// production) and records it here for a test to assert on.
///
/// # Examples
/// ```
/// use std::io::Write;
/// use std::time::Duration;
/// use stompbox::Broker;
///
/// let broker = Broker::start()?;
/// let mut socket = std::net::TcpStream::connect(broker.addr())?;
/// socket.write_all(b"CONNECT\naccept-version:1.2\n\n\0\n\0SEND\ndestination:/queue/a\n\nhi\0")?;
/// broker.wait_for_messages("/queue/a", 1, Duration::from_secs(5))?;
/// let warnings = broker.protocol_warnings();
/// assert_eq!(warnings[0].warning, "a NUL byte between frames (skipped, as ActiveMQ and RabbitMQ do)");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtocolWarning {
    /// The connection that did it.
    pub connection: ConnectionId,
    /// What it did.
    pub warning: String,
    /// When, from the broker's start.
    pub at: Duration,
}

impl fmt::Display for ProtocolWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "connection {}: {}", self.connection, self.warning)
    }
}

/// What is on a queue right now.
///
/// # Examples
/// ```
/// let broker = stompbox::Broker::start()?;
/// broker.publish("/queue/q", "waiting");
/// let queue = broker.queue("/queue/q");
/// assert_eq!(queue.waiting.len(), 1);
/// assert!(queue.unacked.is_empty());
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueSnapshot {
    /// The queue's name.
    pub destination: String,
    /// Messages waiting for a consumer, in delivery order.
    pub waiting: Vec<QueuedMessage>,
    /// Messages delivered and not yet acknowledged.
    pub unacked: Vec<QueuedMessage>,
}

/// A message on a queue.
///
/// # Examples
/// See [`QueueSnapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueuedMessage {
    /// Its `message-id`.
    pub message_id: String,
    /// Its headers as they will be carried into the MESSAGE.
    pub headers: Headers,
    /// Its body.
    pub body: Bytes,
    /// Whether it has been delivered before.
    pub redelivered: bool,
    /// Who holds it (connection, subscription), for unacked messages.
    pub held_by: Option<(ConnectionId, String)>,
}

impl QueuedMessage {
    /// The first value of header `name`, as [`PublishedMessage::header`].
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// broker.publish_with("/queue/a", "waiting", &[("type", "order")]);
    /// let queued = &broker.queue("/queue/a").waiting[0];
    /// assert_eq!(queued.header("type"), Some("order"));
    /// assert_eq!(queued.body_text(), "waiting");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body as text (invalid UTF-8 replaced), as
    /// [`PublishedMessage::body_text`].
    ///
    /// # Examples
    /// See [`QueuedMessage::header`].
    pub fn body_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.body)
    }
}

/// What the broker holds in memory, against its budget
/// ([`BrokerBuilder::memory_budget`](crate::BrokerBuilder::memory_budget)).
///
/// Bytes are counted as headers plus body plus a small fixed cost per
/// message or record: near enough to bound memory, not an allocator's
/// reading.
///
/// # Examples
/// ```
/// let broker = stompbox::Broker::start()?;
/// broker.publish("/queue/a", "hello");
/// let memory = broker.memory();
/// assert!(memory.queued > 5 && memory.messages >= memory.queued);
/// assert!(memory.in_use <= memory.budget);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryUsage {
    /// What the broker may hold, all told.
    pub budget: usize,
    /// What it holds: `messages` plus the journal's own records and
    /// transcripts.
    pub in_use: usize,
    /// Every message alive, each counted once wherever it is held: on a
    /// queue, in an open transaction, unacked, being written, kept by the
    /// journal.
    pub messages: usize,
    /// Of `messages`: those waiting on queues.
    pub queued: usize,
    /// Of `messages`: those buffered in open transactions.
    pub in_transactions: usize,
    /// What the journal holds, the messages it keeps included (its bound:
    /// [`JournalLimits::bytes`](crate::journal::JournalLimits::bytes)).
    pub journal: usize,
}

impl fmt::Display for MemoryUsage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} bytes in use: messages {} (queued {}, in open transactions {}), journal {}",
            self.in_use,
            self.budget,
            self.messages,
            self.queued,
            self.in_transactions,
            self.journal
        )
    }
}
