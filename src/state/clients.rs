//! Recovery, as the journal shows it: each client across its connections
//! (did it come back, how often, how soon, did it subscribe again), and
//! each connection's heart-beats against what it promised.

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use super::Journal;
use crate::AckMode;
use crate::journal::{ConnectionId, ConnectionInfo, Direction};

/// One client across its connections: those whose CONNECT named the same
/// `client-id`, or, without one, the same `login` from the same address
/// (or, with neither, the same address).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
///
/// let broker = Broker::start()?;
/// let first = Client::builder().header("client-id", "orders").connect(broker.addr())?;
/// let id = broker.connections()[0].id;
/// broker.kick(id, None);
/// let _again = Client::builder().header("client-id", "orders").connect(broker.addr())?;
/// let client = broker.wait_for_reconnects("orders", 1, Duration::from_secs(5))?;
/// assert_eq!(client.reconnects(), 1);
/// assert_eq!(client.connections.len(), 2);
/// # drop(first);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientRecord {
    /// How the client is known: its `client-id`, else `login@address`,
    /// else its address.
    pub identity: String,
    /// Its connections that completed CONNECT, oldest first.
    pub connections: Vec<ConnectionId>,
    /// For each reconnect, how long after the previous connection closed
    /// the next one was accepted.
    pub reconnect_gaps: Vec<Duration>,
}

impl ClientRecord {
    /// How many times it came back: its connections less one.
    ///
    /// # Examples
    /// See [`ClientRecord`].
    pub fn reconnects(&self) -> usize {
        self.connections.len().saturating_sub(1)
    }
}

/// A connection's heart-beats from the client against what it promised:
/// the gaps between any two things it sent (a frame or a heart-beat), from
/// its CONNECT to its close (or now).
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{Broker, Client};
///
/// let broker = Broker::start()?;
/// let mut client = Client::builder().heart_beat(100, 0).connect(broker.addr())?;
/// client.send_with_receipt("/queue/a", "x")?;
/// let id = broker.connections()[0].id;
/// let beats = broker.inspect(|j| j.heart_beats(id)).unwrap();
/// assert_eq!(beats.promised, Some(Duration::from_millis(100)));
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeartBeatRecord {
    /// The connection.
    pub connection: ConnectionId,
    /// How often the client agreed to send something (`None`: never).
    pub promised: Option<Duration>,
    /// How often the broker agreed to send something (`None`: never).
    pub expected_from_broker: Option<Duration>,
    /// The longest silence from the client.
    pub longest_gap: Duration,
    /// Silences longer than the promise.
    pub gaps_over_promise: usize,
}

impl fmt::Display for HeartBeatRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.promised {
            Some(promised) => write!(
                f,
                "connection {} promised a beat every {promised:?}: longest silence {:?}, {} over",
                self.connection, self.longest_gap, self.gaps_over_promise
            ),
            None => write!(f, "connection {} promised no heart-beats", self.connection),
        }
    }
}

/// How a connection's client is known (see [`ClientRecord::identity`]).
pub(crate) fn identity(info: &ConnectionInfo) -> String {
    match (&info.client_id, &info.login) {
        (Some(client_id), _) => client_id.clone(),
        (None, Some(login)) => format!("{login}@{}", info.peer.ip()),
        (None, None) => info.peer.ip().to_string(),
    }
}

impl Journal {
    /// Every client, grouped from the connections that completed CONNECT
    /// (see [`ClientRecord`]), in the order they first connected.
    ///
    /// # Examples
    /// See [`ClientRecord`].
    pub fn clients(&self) -> Vec<ClientRecord> {
        let mut clients: Vec<ClientRecord> = Vec::new();
        let mut last_closed: Vec<Option<Duration>> = Vec::new();
        for info in self.connections().filter(|c| c.version.is_some()) {
            let key = identity(info);
            let at = match clients.iter().position(|c| c.identity == key) {
                Some(at) => at,
                None => {
                    clients.push(ClientRecord {
                        identity: key,
                        connections: Vec::new(),
                        reconnect_gaps: Vec::new(),
                    });
                    last_closed.push(None);
                    clients.len() - 1
                }
            };
            let client = &mut clients[at];
            if !client.connections.is_empty() {
                let gap = last_closed[at].map_or(Duration::ZERO, |closed| {
                    info.opened_at.saturating_sub(closed)
                });
                client.reconnect_gaps.push(gap);
            }
            client.connections.push(info.id);
            last_closed[at] = info.closed.as_ref().map(|(at, _)| *at);
        }
        clients
    }

    /// The client known as `identity` (see [`ClientRecord`]).
    ///
    /// # Examples
    /// See [`ClientRecord`].
    pub fn client(&self, identity: &str) -> Option<ClientRecord> {
        self.clients().into_iter().find(|c| c.identity == identity)
    }

    /// What connection `connection`'s client sent against the heart-beats
    /// it promised; `None` when recording is off or there is no such
    /// connection.
    ///
    /// # Examples
    /// See [`HeartBeatRecord`].
    pub fn heart_beats(&self, connection: ConnectionId) -> Option<HeartBeatRecord> {
        let info = self.connections().find(|c| c.id == connection)?;
        let frames = self.frames(connection)?;
        let every = |ms: u64| (ms > 0).then(|| Duration::from_millis(ms));
        let promised = every(info.heart_beat.1);
        let mut sent = frames
            .iter()
            .filter(|f| f.direction == Direction::In)
            .map(|f| f.at);
        // Timed from CONNECT (the first frame in).
        let mut last = sent.next();
        let end = info.closed.as_ref().map_or(self.now(), |(at, _)| *at);
        let mut longest = Duration::ZERO;
        let mut over = 0;
        let mut gap = |from: Duration, to: Duration| {
            let silence = to.saturating_sub(from);
            longest = longest.max(silence);
            if promised.is_some_and(|p| silence > p) {
                over += 1;
            }
        };
        for at in sent {
            if let Some(from) = last {
                gap(from, at);
            }
            last = Some(at);
        }
        if let Some(from) = last {
            gap(from, end);
        }
        Some(HeartBeatRecord {
            connection,
            promised,
            expected_from_broker: every(info.heart_beat.0),
            longest_gap: longest,
            gaps_over_promise: over,
        })
    }

    /// Whether client `identity` reconnected and each reconnect subscribed
    /// again to what the connection before it had (same destinations, same
    /// ack modes); `Err` names what was missing, and where. The same check
    /// as [`Expectation::resubscribed`](crate::Expectation::resubscribed).
    ///
    /// # Errors
    /// What is missing, as a sentence.
    ///
    /// # Examples
    /// ```
    /// use stompbox::{AckMode, Broker, Client};
    ///
    /// let broker = Broker::start()?;
    /// let app = || Client::builder().header("client-id", "app").connect(broker.addr());
    /// let mut first = app()?;
    /// first.subscribe("/queue/a", AckMode::Client)?;
    /// broker.wait_for_subscription("/queue/a", std::time::Duration::from_secs(5))?;
    /// broker.kick(broker.connections()[0].id, None);
    /// let _again = app()?; // subscribes to nothing this time
    /// broker.wait_for_reconnects("app", 1, std::time::Duration::from_secs(5))?;
    /// assert_eq!(
    ///     broker.inspect(|j| j.resubscribed("app")).unwrap_err(),
    ///     "connection 2 did not subscribe again to /queue/a (client) (as connection 1 had)"
    /// );
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn resubscribed(&self, identity: &str) -> Result<(), String> {
        let Some(client) = self.client(identity) else {
            return Err(format!("no client known as {identity:?}"));
        };
        if client.reconnects() == 0 {
            return Err(format!(
                "{identity:?} never reconnected (connection {:?})",
                client.connections
            ));
        }
        let subscribed = |id: ConnectionId| -> HashSet<(String, AckMode)> {
            self.connections()
                .find(|c| c.id == id)
                .map(|c| c.subscribed.iter().cloned().collect())
                .unwrap_or_default()
        };
        let mut missing = Vec::new();
        for pair in client.connections.windows(2) {
            let (before, after) = (subscribed(pair[0]), subscribed(pair[1]));
            let mut lost: Vec<String> = before
                .difference(&after)
                .map(|(d, ack)| format!("{d} ({ack})"))
                .collect();
            lost.sort();
            if !lost.is_empty() {
                missing.push(format!(
                    "connection {} did not subscribe again to {} (as connection {} had)",
                    pair[1],
                    lost.join(", "),
                    pair[0]
                ));
            }
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(missing.join("; "))
        }
    }
}
