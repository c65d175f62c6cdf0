//! A fault rule as a test writes it: what goes wrong ([`Kind`]), to which
//! frames, when (counts), and on which connections.

use std::fmt;
use std::time::Duration;

use crate::journal::{ConnectionId, Direction};
use crate::protocol::frame::{Command, Frame};

/// What a fault does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Kind {
    /// The frame is lost (in: the broker never sees it; out: never written).
    Drop,
    /// The frame is written this much later (later frames wait behind it).
    Delay(Duration),
    /// The frame is written after a random delay in this range (seeded).
    Jitter(Duration, Duration),
    /// The frame is written twice.
    Duplicate,
    /// An ERROR with this `message` answers the frame (in) or replaces it
    /// (out); then the connection closes.
    Error(String),
    /// After the frame, the connection closes: cleanly, or with a reset.
    Close { abort: bool },
    /// The frame is written in pieces of at most this many bytes, cut at
    /// random points (seeded).
    Split(usize),
    /// The frame is written at this many bytes a second.
    Throttle(u64),
    /// The frame is written with a header line that has no colon.
    Corrupt,
    /// The broker stops sending heart-beats and stops expecting the
    /// client's, the connection otherwise working.
    StopHeartBeats,
    /// The broker stops reading from and writing to the connection, its
    /// socket left open: a half-open peer.
    BlackHole,
}

impl Kind {
    /// Whether it acts on a connection as a whole rather than on frames.
    pub(crate) fn is_connection_wide(&self) -> bool {
        matches!(self, Kind::StopHeartBeats | Kind::BlackHole)
    }

    /// Whether it can act on frames coming in from the client.
    fn acts_inbound(&self) -> bool {
        matches!(self, Kind::Drop | Kind::Error(_) | Kind::Close { .. })
    }

    fn name(&self) -> &'static str {
        match self {
            Kind::Drop => "drop",
            Kind::Delay(_) => "delay",
            Kind::Jitter(..) => "jitter",
            Kind::Duplicate => "duplicate",
            Kind::Error(_) => "error",
            Kind::Close { abort: false } => "close",
            Kind::Close { abort: true } => "reset",
            Kind::Split(_) => "split",
            Kind::Throttle(_) => "throttle",
            Kind::Corrupt => "corrupt",
            Kind::StopHeartBeats => "stop heart-beats",
            Kind::BlackHole => "black hole",
        }
    }
}

/// Who a connection is, for a fault's connection matchers.
#[derive(Clone, Debug, Default)]
pub(crate) struct Identity {
    pub(crate) connection: ConnectionId,
    pub(crate) login: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) principal: Option<String>,
    /// Whether CONNECT has succeeded (before it, only the connection number
    /// is known).
    pub(crate) connected: bool,
}

/// A failure to inject: what goes wrong, to which frames, when, and on
/// which connections. Armed with
/// [`Broker::inject`](crate::Broker::inject), which returns a
/// [`FaultHandle`](crate::FaultHandle) that counts what it did and removes
/// the rule when dropped.
///
/// - **What**: [`Fault::drop`], [`Fault::delay`], [`Fault::jitter`],
///   [`Fault::duplicate`], [`Fault::error`], [`Fault::close`],
///   [`Fault::reset`], [`Fault::split`], [`Fault::throttle`],
///   [`Fault::corrupt`] act on frames; [`Fault::stop_heart_beats`] and
///   [`Fault::black_hole`] on whole connections.
/// - **Which frames**: [`Fault::inbound`] / [`Fault::outbound`] (a direction
///   and command), [`Fault::on_destination`], [`Fault::with_header`],
///   [`Fault::body_contains`]; none: every frame the kind acts on.
/// - **Which connections**: [`Fault::connection`], [`Fault::login`],
///   [`Fault::client_id`], [`Fault::principal`]; none: all.
/// - **When**: [`Fault::after`] `n` matches, [`Fault::times`] `n` (once by
///   default), [`Fault::always`], [`Fault::with_probability`] (seeded: see
///   [`BrokerBuilder::seed`](crate::BrokerBuilder::seed)).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{AckMode, Broker, Client, Fault, frame::Command};
///
/// let broker = Broker::start()?;
/// // The first MESSAGE on /queue/orders never reaches the consumer.
/// let fault = broker.inject(
///     Fault::drop().outbound(Command::Message).on_destination("/queue/orders"),
/// );
/// let mut consumer = Client::connect(broker.addr())?;
/// consumer.subscribe("/queue/orders", AckMode::Auto)?;
/// broker.publish("/queue/orders", "lost");
/// broker.publish("/queue/orders", "kept");
/// assert_eq!(consumer.recv_timeout(Duration::from_secs(5))?.body_text(), "kept");
/// assert_eq!(fault.fired(), 1);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
#[must_use = "a fault does nothing until it is injected: broker.inject(fault)"]
pub struct Fault {
    pub(crate) kind: Kind,
    /// The frames it acts on (direction, command); empty: every frame.
    pub(crate) frames: Vec<(Direction, Option<Command>)>,
    pub(crate) destination: Option<String>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Vec<u8>>,
    pub(crate) connection: Option<ConnectionId>,
    pub(crate) login: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) principal: Option<String>,
    pub(crate) after: usize,
    /// How many times it acts (`None`: always).
    pub(crate) times: Option<usize>,
    pub(crate) probability: Option<f64>,
    pub(crate) seed: Option<u64>,
}

impl Fault {
    fn of(kind: Kind) -> Fault {
        Fault {
            kind,
            frames: Vec::new(),
            destination: None,
            headers: Vec::new(),
            body: None,
            connection: None,
            login: None,
            client_id: None,
            principal: None,
            after: 0,
            times: Some(1),
            probability: None,
            seed: None,
        }
    }

    /// Loses the frame: coming in, the broker never sees it (no receipt, no
    /// effect); going out, it is never written. A client-acknowledged queue
    /// message dropped on the way out stays unacknowledged, so it is
    /// redelivered when the consumer's connection ends, as a real broker
    /// would; an auto-acknowledged one is lost, as it would be there.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{Broker, Client, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let _lost = broker.inject(Fault::drop().outbound(Command::Receipt));
    /// let mut client = Client::builder().timeout(Duration::from_millis(200)).connect(broker.addr())?;
    /// assert!(client.send_with_receipt("/queue/a", "x").is_err(), "no RECEIPT came");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn drop() -> Fault {
        Fault::of(Kind::Drop)
    }

    /// Writes the matching outbound frame `by` later; the connection's later
    /// frames wait behind it, other connections are not slowed.
    ///
    /// # Examples
    /// ```
    /// use std::time::{Duration, Instant};
    /// use stompbox::{Broker, Client, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let _slow = broker.inject(Fault::delay(Duration::from_millis(50)).outbound(Command::Receipt));
    /// let mut client = Client::connect(broker.addr())?;
    /// let started = Instant::now();
    /// client.send_with_receipt("/queue/a", "x")?;
    /// assert!(started.elapsed() >= Duration::from_millis(50));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn delay(by: Duration) -> Fault {
        Fault::of(Kind::Delay(by))
    }

    /// Like [`Fault::delay`], by a random duration from `min` to `max`
    /// (seeded, so a run can be replayed).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{Broker, Fault};
    ///
    /// let broker = Broker::start()?;
    /// let _jitter = broker.inject(Fault::jitter(Duration::ZERO, Duration::from_millis(20)).always());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn jitter(min: Duration, max: Duration) -> Fault {
        Fault::of(Kind::Jitter(min, max.max(min)))
    }

    /// Writes the matching outbound frame twice: the same MESSAGE (same
    /// `message-id`) delivered twice, for testing idempotent consumers.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{AckMode, Broker, Client, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let _twice = broker.inject(Fault::duplicate().outbound(Command::Message));
    /// let mut client = Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", AckMode::Auto)?;
    /// broker.publish("/queue/a", "once");
    /// let first = client.recv_timeout(Duration::from_secs(5))?;
    /// let second = client.recv_timeout(Duration::from_secs(5))?;
    /// assert_eq!(first.message_id(), second.message_id());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn duplicate() -> Fault {
        Fault::of(Kind::Duplicate)
    }

    /// Answers the matching inbound frame with an ERROR whose `message` is
    /// `message` (with `receipt-id` when the frame asked for a receipt), or
    /// sends that ERROR instead of the matching outbound frame; then the
    /// connection closes. The inbound frame has no effect.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let _refused = broker.inject(Fault::error("not now").inbound(Command::Subscribe));
    /// let mut client = Client::connect(broker.addr())?;
    /// let err = client.subscribe("/queue/a", stompbox::AckMode::Auto).and_then(|_| client.recv_frame());
    /// assert_eq!(err.unwrap_err().to_string(), "broker sent ERROR: not now");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn error(message: impl Into<String>) -> Fault {
        Fault::of(Kind::Error(message.into()))
    }

    /// Closes the connection cleanly (FIN) right after the matching frame:
    /// an inbound frame takes effect first (and what it causes, a RECEIPT,
    /// is sent); an outbound one is written first.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let _gone = broker.inject(Fault::close().outbound(Command::Connected));
    /// let mut client = Client::connect(broker.addr())?; // CONNECTED arrives
    /// assert!(client.send_with_receipt("/queue/a", "x").is_err(), "then the close");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn close() -> Fault {
        Fault::of(Kind::Close { abort: false })
    }

    /// Like [`Fault::close`], abortively: nothing more is written (an
    /// inbound frame takes effect, but its RECEIPT is not sent), and the
    /// close is a TCP reset (RST), as a crashed broker or a load balancer's
    /// timeout gives.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let _reset = broker.inject(Fault::reset().inbound(Command::Send));
    /// let mut client = Client::connect(broker.addr())?;
    /// assert!(client.send_with_receipt("/queue/a", "x").is_err());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn reset() -> Fault {
        Fault::of(Kind::Close { abort: true })
    }

    /// Writes the matching outbound frame in pieces of 1 to `max_piece`
    /// bytes, cut at random points (seeded), each its own write: clients'
    /// parsers must put frames together again.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{AckMode, Broker, Client, Fault};
    ///
    /// let broker = Broker::start()?;
    /// let _pieces = broker.inject(Fault::split(3).always());
    /// let mut client = Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", AckMode::Auto)?;
    /// broker.publish("/queue/a", "in pieces");
    /// assert_eq!(client.recv_timeout(Duration::from_secs(5))?.body_text(), "in pieces");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn split(max_piece: usize) -> Fault {
        Fault::of(Kind::Split(max_piece.max(1)))
    }

    /// Writes the matching outbound frames at `bytes_per_second`.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let _slow = broker.inject(Fault::throttle(10_000).outbound(Command::Message).always());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn throttle(bytes_per_second: u64) -> Fault {
        Fault::of(Kind::Throttle(bytes_per_second.max(1)))
    }

    /// Writes the matching outbound frame with a header line that has no
    /// colon, which a client must treat as a malformed frame.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Client, Fault, frame::Command};
    ///
    /// let broker = Broker::start()?;
    /// let _bad = broker.inject(Fault::corrupt().outbound(Command::Receipt));
    /// let mut client = Client::connect(broker.addr())?;
    /// assert!(client.send_with_receipt("/queue/a", "x").is_err());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn corrupt() -> Fault {
        Fault::of(Kind::Corrupt)
    }

    /// The broker stops sending heart-beats to the matching connections,
    /// and stops expecting theirs, while everything else keeps working: a
    /// client's heart-beat check should notice. On connections open when it
    /// is injected, and on those that open later; it ends when removed.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Broker, Fault};
    ///
    /// let broker = Broker::start()?;
    /// let _quiet = broker.inject(Fault::stop_heart_beats().always());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn stop_heart_beats() -> Fault {
        Fault::of(Kind::StopHeartBeats)
    }

    /// The broker stops reading from and writing to the matching
    /// connections, their sockets left open: a half-open peer, which only a
    /// client's heart-beat check or timeout can detect. It ends when removed
    /// (what waited is then read and written).
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// use stompbox::{Broker, Client, Fault};
    ///
    /// let broker = Broker::start()?;
    /// let mut client = Client::builder().timeout(Duration::from_millis(200)).connect(broker.addr())?;
    /// let hole = broker.inject(Fault::black_hole());
    /// assert!(client.send_with_receipt("/queue/a", "x").is_err(), "no answer");
    /// drop(hole);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn black_hole() -> Fault {
        Fault::of(Kind::BlackHole)
    }

    /// Acts on frames of `command` from the client (callable again for
    /// more commands).
    ///
    /// # Examples
    /// See [`Fault::error`].
    pub fn inbound(mut self, command: Command) -> Fault {
        self.frames.push((Direction::In, Some(command)));
        self
    }

    /// Acts on frames of `command` from the broker (callable again for
    /// more commands).
    ///
    /// # Examples
    /// See [`Fault::drop`].
    pub fn outbound(mut self, command: Command) -> Fault {
        self.frames.push((Direction::Out, Some(command)));
        self
    }

    /// Acts on every frame in `direction`.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Fault, journal::Direction};
    ///
    /// let fault = Fault::drop().direction(Direction::In).always();
    /// # drop(fault);
    /// ```
    pub fn direction(mut self, direction: Direction) -> Fault {
        self.frames.push((direction, None));
        self
    }

    /// Only frames whose `destination` header is `destination`.
    ///
    /// # Examples
    /// See [`Fault`].
    pub fn on_destination(mut self, destination: impl Into<String>) -> Fault {
        self.destination = Some(destination.into());
        self
    }

    /// Only frames with header `name` set to `value`.
    ///
    /// # Examples
    /// ```
    /// let fault = stompbox::Fault::drop().with_header("type", "order");
    /// # drop(fault);
    /// ```
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Fault {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Only frames whose body contains `part`.
    ///
    /// # Examples
    /// ```
    /// let fault = stompbox::Fault::drop().body_contains("poison");
    /// # drop(fault);
    /// ```
    pub fn body_contains(mut self, part: impl AsRef<[u8]>) -> Fault {
        self.body = Some(part.as_ref().to_vec());
        self
    }

    /// Only connection `connection` (its number in the journal).
    ///
    /// # Examples
    /// ```
    /// let fault = stompbox::Fault::black_hole().connection(1);
    /// # drop(fault);
    /// ```
    pub fn connection(mut self, connection: ConnectionId) -> Fault {
        self.connection = Some(connection);
        self
    }

    /// Only connections whose CONNECT had `login`.
    ///
    /// # Examples
    /// ```
    /// let fault = stompbox::Fault::stop_heart_beats().login("orders-service");
    /// # drop(fault);
    /// ```
    pub fn login(mut self, login: impl Into<String>) -> Fault {
        self.login = Some(login.into());
        self
    }

    /// Only connections whose CONNECT had `client-id`.
    ///
    /// # Examples
    /// ```
    /// let fault = stompbox::Fault::drop().client_id("svc-1");
    /// # drop(fault);
    /// ```
    pub fn client_id(mut self, client_id: impl Into<String>) -> Fault {
        self.client_id = Some(client_id.into());
        self
    }

    /// Only connections the authenticator knows as `principal`.
    ///
    /// # Examples
    /// ```
    /// let fault = stompbox::Fault::drop().principal("alice");
    /// # drop(fault);
    /// ```
    pub fn principal(mut self, principal: impl Into<String>) -> Fault {
        self.principal = Some(principal.into());
        self
    }

    /// Lets the first `n` matches pass before acting.
    ///
    /// # Examples
    /// ```
    /// // The third MESSAGE is lost.
    /// let fault = stompbox::Fault::drop().outbound(stompbox::frame::Command::Message).after(2);
    /// # drop(fault);
    /// ```
    pub fn after(mut self, n: usize) -> Fault {
        self.after = n;
        self
    }

    /// Acts `n` times (matching frames, or connections for the
    /// connection-wide kinds), then lets everything pass. Once by default.
    ///
    /// # Examples
    /// ```
    /// let fault = stompbox::Fault::drop().times(3);
    /// # drop(fault);
    /// ```
    pub fn times(mut self, n: usize) -> Fault {
        self.times = Some(n);
        self
    }

    /// Acts on every match, until removed.
    ///
    /// # Examples
    /// See [`Fault::split`].
    pub fn always(mut self) -> Fault {
        self.times = None;
        self
    }

    /// Acts on each match with probability `p` (0 to 1), drawn from a
    /// seeded generator: the broker's seed
    /// ([`BrokerBuilder::seed`](crate::BrokerBuilder::seed) or
    /// `STOMPBOX_SEED`), or [`Fault::seed`].
    ///
    /// # Examples
    /// ```
    /// let fault = stompbox::Fault::drop().always().with_probability(0.1).seed(42);
    /// # drop(fault);
    /// ```
    pub fn with_probability(mut self, p: f64) -> Fault {
        self.probability = Some(p.clamp(0.0, 1.0));
        self
    }

    /// The seed of this fault's random choices (probability, jitter, split
    /// points), instead of one derived from the broker's.
    ///
    /// # Examples
    /// See [`Fault::with_probability`].
    pub fn seed(mut self, seed: u64) -> Fault {
        self.seed = Some(seed);
        self
    }

    /// Why this rule cannot act, if it cannot (what
    /// [`Broker::try_inject`](crate::Broker::try_inject) refuses it for): a
    /// kind that acts on outbound frames only given an inbound matcher, or
    /// a connection-wide kind given a frame matcher.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{Fault, frame::Command};
    ///
    /// assert!(Fault::drop().inbound(Command::Send).problem().is_none());
    /// let problem = Fault::black_hole().inbound(Command::Send).problem().unwrap();
    /// assert!(problem.contains("takes no frame matcher"), "{problem}");
    /// ```
    pub fn problem(&self) -> Option<String> {
        let kind = self.kind.name();
        if self.kind.is_connection_wide() {
            let frames = !self.frames.is_empty()
                || self.destination.is_some()
                || !self.headers.is_empty()
                || self.body.is_some();
            return frames.then(|| {
                format!("a {kind} fault acts on whole connections: it takes no frame matcher")
            });
        }
        if !self.kind.acts_inbound() && self.frames.iter().any(|(d, _)| *d == Direction::In) {
            return Some(format!(
                "a {kind} fault acts on frames the broker sends: use outbound(..), not inbound(..)"
            ));
        }
        None
    }

    /// Whether it may act on `frame` going `direction`.
    pub(crate) fn matches_frame(&self, direction: Direction, frame: &Frame) -> bool {
        if direction == Direction::In && !self.kind.acts_inbound() {
            return false;
        }
        let wanted = self.frames.is_empty()
            || self.frames.iter().any(|(d, command)| {
                *d == direction && command.as_ref().is_none_or(|c| c == frame.command())
            });
        wanted
            && self
                .destination
                .as_deref()
                .is_none_or(|d| frame.header("destination") == Some(d))
            && self
                .headers
                .iter()
                .all(|(name, value)| frame.header(name) == Some(value.as_str()))
            && self
                .body
                .as_deref()
                .is_none_or(|part| contains(frame.body(), part))
    }

    /// Whether it picks connections by who the client is (which takes a
    /// look at the journal to tell).
    pub(crate) fn names_someone(&self) -> bool {
        self.login.is_some() || self.client_id.is_some() || self.principal.is_some()
    }

    /// Whether it may act on connection `who`; `None` while that cannot be
    /// told yet (a matcher on who the client is, before its CONNECT).
    pub(crate) fn matches_connection(&self, who: &Identity) -> Option<bool> {
        if self.connection.is_some_and(|c| c != who.connection) {
            return Some(false);
        }
        if self.names_someone() && !who.connected {
            return None;
        }
        let same = |wanted: &Option<String>, got: &Option<String>| {
            wanted.as_ref().is_none_or(|w| got.as_ref() == Some(w))
        };
        Some(
            same(&self.login, &who.login)
                && same(&self.client_id, &who.client_id)
                && same(&self.principal, &who.principal),
        )
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

impl fmt::Display for Fault {
    /// A short description: `drop outbound MESSAGE on /queue/a after 2, 1 time`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        for (direction, command) in &self.frames {
            let way = match direction {
                Direction::In => "inbound",
                Direction::Out => "outbound",
            };
            match command {
                Some(command) => write!(f, " {way} {command}")?,
                None => write!(f, " {way}")?,
            }
        }
        if let Some(destination) = &self.destination {
            write!(f, " on {destination}")?;
        }
        if let Some(connection) = self.connection {
            write!(f, " on connection {connection}")?;
        }
        if self.after > 0 {
            write!(f, " after {}", self.after)?;
        }
        match self.times {
            Some(1) => f.write_str(", once"),
            Some(n) => write!(f, ", {n} times"),
            None => f.write_str(", always"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(destination: &str) -> Frame {
        Frame::new(Command::Send)
            .with_header("destination", destination)
            .with_header("type", "order")
            .with_body("a poison pill")
    }

    #[test]
    fn frames_match_on_direction_command_destination_header_and_body() {
        let frame = send("/queue/a");
        assert!(Fault::drop().matches_frame(Direction::In, &frame));
        assert!(
            Fault::drop()
                .inbound(Command::Send)
                .matches_frame(Direction::In, &frame)
        );
        assert!(
            !Fault::drop()
                .outbound(Command::Send)
                .matches_frame(Direction::In, &frame)
        );
        assert!(
            !Fault::drop()
                .inbound(Command::Subscribe)
                .matches_frame(Direction::In, &frame)
        );
        assert!(
            !Fault::drop()
                .on_destination("/queue/b")
                .matches_frame(Direction::In, &frame)
        );
        assert!(
            Fault::drop()
                .with_header("type", "order")
                .body_contains("poison")
                .matches_frame(Direction::In, &frame)
        );
        assert!(
            !Fault::drop()
                .body_contains("antidote")
                .matches_frame(Direction::In, &frame)
        );
        assert!(
            !Fault::delay(Duration::ZERO).matches_frame(Direction::In, &frame),
            "a delay acts on outbound frames only"
        );
    }

    #[test]
    fn connections_match_on_number_and_names_once_connected() {
        let before = Identity {
            connection: 3,
            ..Identity::default()
        };
        let after = Identity {
            login: Some("alice".into()),
            connected: true,
            ..before.clone()
        };
        assert_eq!(Fault::drop().matches_connection(&before), Some(true));
        assert_eq!(
            Fault::drop().connection(4).matches_connection(&before),
            Some(false)
        );
        assert_eq!(
            Fault::drop().login("alice").matches_connection(&before),
            None
        );
        assert_eq!(
            Fault::drop().login("alice").matches_connection(&after),
            Some(true)
        );
        assert_eq!(
            Fault::drop().login("bob").matches_connection(&after),
            Some(false)
        );
    }

    #[test]
    fn kinds_refuse_matchers_they_cannot_act_on() {
        assert!(Fault::drop().inbound(Command::Send).problem().is_none());
        assert!(
            Fault::delay(Duration::ZERO)
                .inbound(Command::Send)
                .problem()
                .unwrap()
                .contains("outbound")
        );
        assert!(
            Fault::black_hole()
                .on_destination("/q")
                .problem()
                .unwrap()
                .contains("whole connections")
        );
        assert!(Fault::black_hole().login("alice").problem().is_none());
    }

    #[test]
    fn a_fault_describes_itself() {
        let fault = Fault::drop()
            .outbound(Command::Message)
            .on_destination("/queue/a")
            .after(2);
        assert_eq!(
            fault.to_string(),
            "drop outbound MESSAGE on /queue/a after 2, once"
        );
        assert_eq!(
            Fault::black_hole().always().to_string(),
            "black hole, always"
        );
    }
}
