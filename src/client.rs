//! A synchronous STOMP client for tests.
//!
//! It speaks every version, sends the right acknowledgement headers for the
//! one negotiated, and turns an ERROR from the broker into
//! [`Error::Refused`]. Frames that arrive while it waits for something else
//! (a RECEIPT, say) are kept, in order, for the next call that wants them.
//! SUBSCRIBE and UNSUBSCRIBE wait for the broker's RECEIPT, so that once they
//! return the subscription is in place for messages sent by anyone.

use std::collections::VecDeque;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use crossbeam_channel::{RecvTimeoutError, Sender};
use parking_lot::Mutex;

use crate::error::{Awaited, Timeout};
use crate::protocol::frame::{Command, Decoded, Decoder, Frame, Limits};
use crate::protocol::heart_beat;
use crate::{AckMode, Error, Version};

/// How long calls that wait for the broker wait by default.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// A received MESSAGE frame.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{AckMode, Broker, Client};
///
/// let broker = Broker::start()?;
/// let mut client = Client::connect(broker.addr())?;
/// client.subscribe("/topic/news", AckMode::Auto)?;
/// client.send("/topic/news", "extra!")?;
/// let msg = client.recv_timeout(Duration::from_secs(1))?;
/// assert_eq!(msg.destination(), Some("/topic/news"));
/// assert_eq!(msg.body_text(), "extra!");
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    frame: Frame,
}

impl Message {
    /// The `destination` header.
    ///
    /// # Examples
    /// See [`Message`].
    pub fn destination(&self) -> Option<&str> {
        self.frame.header("destination")
    }

    /// The `message-id` header.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", stompbox::AckMode::Auto)?;
    /// client.send("/queue/a", "x")?;
    /// assert!(client.recv_timeout(Duration::from_secs(1))?.message_id().is_some());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn message_id(&self) -> Option<&str> {
        self.frame.header("message-id")
    }

    /// The `subscription` header: the id of the subscription it came through.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// let id = client.subscribe("/queue/a", stompbox::AckMode::Auto)?;
    /// client.send("/queue/a", "x")?;
    /// assert_eq!(client.recv_timeout(Duration::from_secs(1))?.subscription(), Some(id.as_str()));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn subscription(&self) -> Option<&str> {
        self.frame.header("subscription")
    }

    /// The first value of header `name`.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", stompbox::AckMode::Auto)?;
    /// client.send_with_headers("/queue/a", "x", &[("priority", "9")])?;
    /// assert_eq!(client.recv_timeout(Duration::from_secs(1))?.header("priority"), Some("9"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.frame.header(name)
    }

    /// The body bytes.
    ///
    /// # Examples
    /// See [`Message`].
    pub fn body(&self) -> &[u8] {
        self.frame.body()
    }

    /// The body as text (invalid UTF-8 replaced).
    ///
    /// # Examples
    /// See [`Message`].
    pub fn body_text(&self) -> std::borrow::Cow<'_, str> {
        self.frame.body_text()
    }

    /// Whether the broker marked it `redelivered:true`.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", stompbox::AckMode::ClientIndividual)?;
    /// client.send("/queue/a", "x")?;
    /// let first = client.recv_timeout(Duration::from_secs(1))?;
    /// client.nack(&first)?;
    /// let again = client.recv_timeout(Duration::from_secs(1))?;
    /// assert!(!first.redelivered() && again.redelivered());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn redelivered(&self) -> bool {
        self.frame.header("redelivered") == Some("true")
    }

    /// The whole MESSAGE frame.
    ///
    /// # Examples
    /// See [`Message`].
    pub fn frame(&self) -> &Frame {
        &self.frame
    }
}

/// Options for [`Client::builder`].
///
/// # Examples
/// ```
/// use stompbox::{Broker, Client, Version};
///
/// let broker = Broker::start()?;
/// let client = Client::builder()
///     .version(Version::V1_1)
///     .login("guest", "guest")
///     .host("/")
///     .header("client-id", "test-1")
///     .connect(broker.addr())?;
/// assert_eq!(client.version(), Version::V1_1);
/// # Ok::<(), stompbox::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .connect() is called"]
pub struct ClientBuilder {
    versions: Vec<Version>,
    login: Option<(String, String)>,
    host: Option<String>,
    heart_beat: (u32, u32),
    headers: Vec<(String, String)>,
    stomp_command: bool,
    timeout: Duration,
}

impl ClientBuilder {
    /// Offer only this version.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn version(mut self, version: Version) -> Self {
        self.versions = vec![version];
        self
    }

    /// Offer these versions (`accept-version`); an empty list sends no
    /// `accept-version` header, which a broker takes as STOMP 1.0.
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// use stompbox::{Client, Version};
    /// let c = Client::builder().versions(&[Version::V1_0, Version::V1_1]).connect(broker.addr())?;
    /// assert_eq!(c.version(), Version::V1_1);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn versions(mut self, versions: &[Version]) -> Self {
        self.versions = versions.to_vec();
        self
    }

    /// `login` and `passcode` headers.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn login(mut self, login: impl Into<String>, passcode: impl Into<String>) -> Self {
        self.login = Some((login.into(), passcode.into()));
        self
    }

    /// The `host` header (default: the IP address dialled).
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// Heart-beats to ask for, in milliseconds: the client will send one every
    /// `send_ms` (a background thread does it) and wants one every `receive_ms`.
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// let c = stompbox::Client::builder().heart_beat(1000, 0).connect(broker.addr())?;
    /// assert_eq!(c.connected_frame().header("heart-beat"), Some("0,1000"));
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn heart_beat(mut self, send_ms: u32, receive_ms: u32) -> Self {
        self.heart_beat = (send_ms, receive_ms);
        self
    }

    /// An extra CONNECT header, such as `client-id`.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Open with a `STOMP` frame instead of `CONNECT`.
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// let c = stompbox::Client::builder().stomp_command().connect(broker.addr())?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn stomp_command(mut self) -> Self {
        self.stomp_command = true;
        self
    }

    /// How long connecting, receipts and `recv` wait (default 5 s).
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// use std::time::Duration;
    /// let c = stompbox::Client::builder().timeout(Duration::from_secs(1)).connect(broker.addr())?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects, sends CONNECT and waits for CONNECTED.
    ///
    /// # Errors
    /// [`Error::Io`] if the connection fails, [`Error::Refused`] if the broker
    /// answers with ERROR, [`Error::Timeout`] if it does not answer.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn connect(self, addr: impl ToSocketAddrs) -> Result<Client, Error> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        let peer = stream.peer_addr()?;
        let mut client = Client {
            writer: Arc::new(Mutex::new(stream.try_clone()?)),
            stream,
            decoder: Decoder::new(Limits::default()),
            version: Version::V1_0,
            waiting: VecDeque::new(),
            connected: Frame::new(Command::Connected),
            timeout: self.timeout,
            next_id: 1,
            beater: None,
            auto_acked: Default::default(),
            subscribed: Default::default(),
        };
        client.send_frame(&self.connect_frame(peer))?;
        let connected = client.wait_for(self.timeout, "CONNECTED", |f| {
            f.command() == &Command::Connected
        })?;
        client.version = match connected.header("version") {
            Some(v) => v
                .parse()
                .map_err(|_| Error::Protocol(format!("CONNECTED names unknown version {v:?}")))?,
            None => Version::V1_0,
        };
        client.decoder.set_version(Some(client.version));
        client.start_heart_beats(&connected, self.heart_beat.0);
        client.connected = connected;
        Ok(client)
    }

    fn connect_frame(&self, peer: SocketAddr) -> Frame {
        let command = if self.stomp_command {
            Command::Stomp
        } else {
            Command::Connect
        };
        let mut frame = Frame::new(command);
        if !self.versions.is_empty() {
            let versions: Vec<&str> = self.versions.iter().map(|v| v.as_str()).collect();
            frame = frame.with_header("accept-version", versions.join(","));
        }
        let host = self.host.clone().unwrap_or_else(|| peer.ip().to_string());
        frame = frame.with_header("host", host);
        if let Some((login, passcode)) = &self.login {
            frame = frame
                .with_header("login", login.clone())
                .with_header("passcode", passcode.clone());
        }
        let (cx, cy) = self.heart_beat;
        frame = frame.with_header("heart-beat", format!("{cx},{cy}"));
        for (name, value) in &self.headers {
            frame = frame.with_header(name.clone(), value.clone());
        }
        frame
    }
}

/// Sends heart-beats from a background thread until dropped.
struct Beater {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Beater {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A synchronous STOMP client, for tests.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use stompbox::{AckMode, Broker, Client};
///
/// let broker = Broker::start()?;
/// let mut producer = Client::connect(broker.addr())?;
/// let mut consumer = Client::connect(broker.addr())?;
/// consumer.subscribe("/queue/jobs", AckMode::Client)?;
/// producer.send_with_receipt("/queue/jobs", "job 1")?;
/// let job = consumer.recv_timeout(Duration::from_secs(1))?;
/// consumer.ack(&job)?;
/// consumer.disconnect()?;
/// # Ok::<(), stompbox::Error>(())
/// ```
pub struct Client {
    stream: TcpStream,
    writer: Arc<Mutex<TcpStream>>,
    decoder: Decoder,
    version: Version,
    /// Frames received while waiting for something else.
    waiting: VecDeque<Frame>,
    connected: Frame,
    timeout: Duration,
    next_id: u64,
    beater: Option<Beater>,
    /// Subscriptions in the auto ack mode: their messages need no ACK, and
    /// an ACK or NACK of one is refused here.
    auto_acked: std::collections::HashSet<String>,
    /// Every subscription this client holds (id: destination and mode), for
    /// the hint of a MESSAGE that does not come.
    subscribed: std::collections::BTreeMap<String, (String, AckMode)>,
}

impl Client {
    /// Connects with every default (all versions offered, no login).
    ///
    /// # Errors
    /// As [`ClientBuilder::connect`].
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let client = stompbox::Client::connect(broker.addr())?;
    /// assert_eq!(client.version(), stompbox::Version::V1_2);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn connect(addr: impl ToSocketAddrs) -> Result<Client, Error> {
        Client::builder().connect(addr)
    }

    /// A builder for a connection with options.
    ///
    /// # Examples
    /// See [`ClientBuilder`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            versions: Version::ALL.to_vec(),
            login: None,
            host: None,
            heart_beat: (0, 0),
            headers: Vec::new(),
            stomp_command: false,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The negotiated version.
    ///
    /// # Examples
    /// See [`Client::connect`].
    pub fn version(&self) -> Version {
        self.version
    }

    /// The broker's CONNECTED frame (`server`, `session`, `heart-beat`...).
    ///
    /// # Examples
    /// ```
    /// let broker = stompbox::Broker::start()?;
    /// let client = stompbox::Client::connect(broker.addr())?;
    /// assert!(client.connected_frame().header("session").is_some());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn connected_frame(&self) -> &Frame {
        &self.connected
    }

    /// Sends a message (no receipt).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket fails.
    ///
    /// # Examples
    /// See [`Client`].
    pub fn send(&mut self, destination: &str, body: impl Into<Bytes>) -> Result<(), Error> {
        self.send_with_headers(destination, body, &[])
    }

    /// Sends a message with extra headers (`content-type`, custom ones...).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket fails.
    ///
    /// # Examples
    /// See [`Message::header`].
    pub fn send_with_headers(
        &mut self,
        destination: &str,
        body: impl Into<Bytes>,
        headers: &[(&str, &str)],
    ) -> Result<(), Error> {
        let frame = send_frame(destination, body.into(), headers);
        self.send_frame(&frame)
    }

    /// Sends a message and waits for the broker's RECEIPT: once this returns
    /// the message has been routed.
    ///
    /// # Errors
    /// [`Error::Refused`] if the broker refuses it, [`Error::Timeout`].
    ///
    /// # Examples
    /// See [`Client`].
    pub fn send_with_receipt(
        &mut self,
        destination: &str,
        body: impl Into<Bytes>,
    ) -> Result<(), Error> {
        let frame = send_frame(destination, body.into(), &[]);
        self.request(frame).map(drop)
    }

    /// Sends a message inside transaction `tx`.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket fails.
    ///
    /// # Examples
    /// See [`Client::begin`].
    pub fn send_in(
        &mut self,
        tx: &str,
        destination: &str,
        body: impl Into<Bytes>,
    ) -> Result<(), Error> {
        self.send_with_headers(destination, body, &[("transaction", tx)])
    }

    /// Subscribes with a generated id, waits for the broker to confirm, and
    /// returns the id.
    ///
    /// # Errors
    /// [`Error::Refused`] if the broker refuses it, [`Error::Timeout`].
    ///
    /// # Examples
    /// See [`Client`].
    pub fn subscribe(&mut self, destination: &str, ack: AckMode) -> Result<String, Error> {
        let id = format!("sub-{}", self.next_id);
        self.next_id += 1;
        self.subscribe_with(destination, &id, ack, &[])?;
        Ok(id)
    }

    /// Subscribes with the given id and extra headers, and waits for the
    /// broker to confirm.
    ///
    /// # Errors
    /// [`Error::Refused`] if the broker refuses it, [`Error::Timeout`].
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.subscribe_with("/queue/a", "mine", stompbox::AckMode::Client, &[("prefetch-count", "1")])?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn subscribe_with(
        &mut self,
        destination: &str,
        id: &str,
        ack: AckMode,
        headers: &[(&str, &str)],
    ) -> Result<(), Error> {
        let mut frame = Frame::new(Command::Subscribe)
            .with_header("destination", destination)
            .with_header("id", id)
            .with_header("ack", ack.as_str());
        for (name, value) in headers {
            frame = frame.with_header(*name, *value);
        }
        self.request(frame)?;
        if ack == AckMode::Auto {
            self.auto_acked.insert(id.to_owned());
        } else {
            self.auto_acked.remove(id);
        }
        self.subscribed
            .insert(id.to_owned(), (destination.to_owned(), ack));
        Ok(())
    }

    /// Ends a subscription and waits for the broker to confirm.
    ///
    /// # Errors
    /// [`Error::Refused`] if there is no such subscription.
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// let id = client.subscribe("/topic/t", stompbox::AckMode::Auto)?;
    /// client.unsubscribe(&id)?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn unsubscribe(&mut self, id: &str) -> Result<(), Error> {
        self.auto_acked.remove(id);
        self.subscribed.remove(id);
        self.request(Frame::new(Command::Unsubscribe).with_header("id", id))
            .map(drop)
    }

    /// The next MESSAGE, waiting as long as the client's timeout (default 5 s).
    ///
    /// # Errors
    /// [`Error::Timeout`] if none comes, [`Error::Refused`] on an ERROR.
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", stompbox::AckMode::Auto)?;
    /// client.send("/queue/a", "x")?;
    /// assert_eq!(client.recv()?.body(), b"x");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn recv(&mut self) -> Result<Message, Error> {
        self.recv_timeout(self.timeout)
    }

    /// The next MESSAGE, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] if none comes, [`Error::Refused`] on an ERROR.
    ///
    /// # Examples
    /// See [`Client`].
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<Message, Error> {
        let frame = self
            .wait_for(timeout, "a MESSAGE frame", |f| {
                f.command() == &Command::Message
            })
            .map_err(|e| self.with_subscription_hint(e))?;
        Ok(Message { frame })
    }

    /// A timeout waiting for a MESSAGE, saying what this client is
    /// subscribed to (a MESSAGE only ever comes to a subscription).
    fn with_subscription_hint(&self, error: Error) -> Error {
        let Error::Timeout(mut timeout) = error else {
            return error;
        };
        timeout.saw = if self.subscribed.is_empty() {
            "This client has no subscription: a MESSAGE only comes to one (subscribe first)."
                .to_owned()
        } else {
            let held: Vec<String> = self
                .subscribed
                .iter()
                .map(|(id, (destination, ack))| format!("{id:?} to {destination} ({ack})"))
                .collect();
            format!(
                "This client's subscriptions: {}. Nothing arrived on them; the broker's journal says what was published where.",
                held.join(", ")
            )
        };
        Error::Timeout(timeout)
    }

    /// Acknowledges a message, with the headers the negotiated version wants.
    ///
    /// # Errors
    /// [`Error::Protocol`] if the message's subscription is in the auto ack
    /// mode (the broker acknowledged it already); [`Error::Io`] if the
    /// socket fails.
    ///
    /// # Examples
    /// See [`Client`].
    pub fn ack(&mut self, message: &Message) -> Result<(), Error> {
        self.check_ackable(&Command::Ack, message)?;
        let frame = self.ack_frame(Command::Ack, message, None);
        self.send_frame(&frame)
    }

    /// Rejects a message: a queue redelivers it.
    ///
    /// # Errors
    /// [`Error::Protocol`] if the message's subscription is in the auto ack
    /// mode (the broker acknowledged it already); [`Error::Io`] if the
    /// socket fails.
    ///
    /// # Examples
    /// See [`Message::redelivered`].
    pub fn nack(&mut self, message: &Message) -> Result<(), Error> {
        self.check_ackable(&Command::Nack, message)?;
        let frame = self.ack_frame(Command::Nack, message, None);
        self.send_frame(&frame)
    }

    /// Acknowledges a message inside transaction `tx`.
    ///
    /// # Errors
    /// [`Error::Protocol`] if the message's subscription is in the auto ack
    /// mode (the broker acknowledged it already); [`Error::Io`] if the
    /// socket fails.
    ///
    /// # Examples
    /// See [`Client::begin`].
    pub fn ack_in(&mut self, tx: &str, message: &Message) -> Result<(), Error> {
        self.check_ackable(&Command::Ack, message)?;
        let frame = self.ack_frame(Command::Ack, message, Some(tx));
        self.send_frame(&frame)
    }

    /// Rejects a message inside transaction `tx`.
    ///
    /// # Errors
    /// [`Error::Protocol`] if the message's subscription is in the auto ack
    /// mode (the broker acknowledged it already); [`Error::Io`] if the
    /// socket fails.
    ///
    /// # Examples
    /// See [`Client::begin`].
    pub fn nack_in(&mut self, tx: &str, message: &Message) -> Result<(), Error> {
        self.check_ackable(&Command::Nack, message)?;
        let frame = self.ack_frame(Command::Nack, message, Some(tx));
        self.send_frame(&frame)
    }

    /// The ACK or NACK frame for `message` in the negotiated version.
    /// Refuses an ACK or NACK of a message the broker acknowledged itself
    /// (its subscription is in the auto mode), which the broker would
    /// answer with an ERROR and a close.
    fn check_ackable(&self, command: &Command, message: &Message) -> Result<(), Error> {
        match message.subscription() {
            Some(id) if self.auto_acked.contains(id) => Err(Error::Protocol(format!(
                "cannot {command} a message of subscription '{id}': its ack mode is auto, so the broker acknowledged it on delivery (subscribe with AckMode::Client or AckMode::ClientIndividual to acknowledge messages)"
            ))),
            _ => Ok(()),
        }
    }

    fn ack_frame(&self, command: Command, message: &Message, tx: Option<&str>) -> Frame {
        let mut frame = Frame::new(command);
        let header = |name| message.header(name).unwrap_or_default().to_owned();
        frame = match self.version {
            Version::V1_2 => frame.with_header("id", header("ack")),
            Version::V1_1 => frame
                .with_header("message-id", header("message-id"))
                .with_header("subscription", header("subscription")),
            Version::V1_0 => frame.with_header("message-id", header("message-id")),
        };
        match tx {
            Some(tx) => frame.with_header("transaction", tx),
            None => frame,
        }
    }

    /// Opens transaction `tx`.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket fails.
    ///
    /// # Examples
    /// ```
    /// # use std::time::Duration;
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.subscribe("/queue/a", stompbox::AckMode::Auto)?;
    /// client.begin("tx1")?;
    /// client.send_in("tx1", "/queue/a", "later")?;
    /// client.commit("tx1")?;
    /// assert_eq!(client.recv_timeout(Duration::from_secs(1))?.body(), b"later");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn begin(&mut self, tx: &str) -> Result<(), Error> {
        self.send_frame(&Frame::new(Command::Begin).with_header("transaction", tx))
    }

    /// Commits transaction `tx`.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket fails.
    ///
    /// # Examples
    /// See [`Client::begin`].
    pub fn commit(&mut self, tx: &str) -> Result<(), Error> {
        self.send_frame(&Frame::new(Command::Commit).with_header("transaction", tx))
    }

    /// Aborts transaction `tx`.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket fails.
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.begin("tx1")?;
    /// client.abort("tx1")?;
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn abort(&mut self, tx: &str) -> Result<(), Error> {
        self.send_frame(&Frame::new(Command::Abort).with_header("transaction", tx))
    }

    /// Sends DISCONNECT with a receipt, waits for the RECEIPT, and closes.
    ///
    /// # Errors
    /// [`Error::Timeout`] if the broker does not confirm.
    ///
    /// # Examples
    /// See [`Client`].
    pub fn disconnect(mut self) -> Result<(), Error> {
        self.request(Frame::new(Command::Disconnect))?;
        let _ = self.stream.shutdown(Shutdown::Both);
        Ok(())
    }

    /// Sends `frame` with a fresh `receipt` header and waits for its RECEIPT.
    ///
    /// # Errors
    /// [`Error::Refused`] if the broker answers with ERROR, [`Error::Timeout`].
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// let receipt = client.request(Frame::new(Command::Begin).with_header("transaction", "t"))?;
    /// assert_eq!(receipt.command(), &Command::Receipt);
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn request(&mut self, frame: Frame) -> Result<Frame, Error> {
        let receipt = format!("r-{}", self.next_id);
        self.next_id += 1;
        self.send_frame(&frame.with_header("receipt", receipt.clone()))?;
        let what = format!("RECEIPT {receipt}");
        self.wait_for(self.timeout, &what, |f| {
            f.command() == &Command::Receipt && f.header("receipt-id") == Some(receipt.as_str())
        })
    }

    /// Writes a frame exactly as given (encoded for the negotiated version).
    ///
    /// # Errors
    /// [`Error::Io`] if the socket fails.
    ///
    /// # Examples
    /// ```
    /// use stompbox::frame::{Command, Frame};
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.send_frame(&Frame::new(Command::Other("BOGUS".into())))?;
    /// let err = client.recv_frame().unwrap_err();
    /// assert_eq!(err.to_string(), "broker sent ERROR: unknown command 'BOGUS'");
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn send_frame(&mut self, frame: &Frame) -> Result<(), Error> {
        let bytes = frame.encode(Some(self.version));
        self.writer.lock().write_all(&bytes)?;
        Ok(())
    }

    /// Writes raw bytes, for tests of malformed input.
    ///
    /// # Errors
    /// [`Error::Io`] if the socket fails.
    ///
    /// # Examples
    /// ```
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// client.send_bytes(b"\n")?; // a heart-beat
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn send_bytes(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.writer.lock().write_all(bytes)?;
        Ok(())
    }

    /// The next frame of any kind (an ERROR comes back as [`Error::Refused`]),
    /// waiting as long as the client's timeout.
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::Closed`], [`Error::Refused`].
    ///
    /// # Examples
    /// See [`Client::send_frame`].
    pub fn recv_frame(&mut self) -> Result<Frame, Error> {
        self.recv_frame_timeout(self.timeout)
    }

    /// The next frame of any kind, waiting at most `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`], [`Error::Closed`], [`Error::Refused`].
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// # let broker = stompbox::Broker::start()?;
    /// # let mut client = stompbox::Client::connect(broker.addr())?;
    /// assert!(client.recv_frame_timeout(Duration::from_millis(5)).is_err());
    /// # Ok::<(), stompbox::Error>(())
    /// ```
    pub fn recv_frame_timeout(&mut self, timeout: Duration) -> Result<Frame, Error> {
        self.wait_for(timeout, "a frame", |_| true)
    }

    /// The first waiting or arriving frame that `wanted` accepts; others are
    /// kept for later. An ERROR ends the wait as [`Error::Refused`].
    fn wait_for(
        &mut self,
        timeout: Duration,
        what: &str,
        wanted: impl Fn(&Frame) -> bool,
    ) -> Result<Frame, Error> {
        let deadline = Instant::now() + timeout;
        if let Some(index) = self
            .waiting
            .iter()
            .position(|f| f.command() == &Command::Error || wanted(f))
        {
            let frame = self.waiting.remove(index).expect("index is in range");
            return refused_or(frame);
        }
        loop {
            let frame = self.read_frame(deadline, what, timeout)?;
            if frame.command() == &Command::Error || wanted(&frame) {
                return refused_or(frame);
            }
            self.waiting.push_back(frame);
        }
    }

    /// Reads the next frame off the socket, skipping heart-beats.
    fn read_frame(
        &mut self,
        deadline: Instant,
        what: &str,
        waited: Duration,
    ) -> Result<Frame, Error> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.decoder.next_item()? {
                Some(Decoded::Frame(frame)) => return Ok(frame),
                Some(Decoded::HeartBeat) => continue,
                None => {}
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out(what, waited));
            }
            self.stream.set_read_timeout(Some(left))?;
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(Error::Closed),
                Ok(n) => self.decoder.feed(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(timed_out(what, waited));
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Starts the heart-beat thread if the broker expects beats from us.
    fn start_heart_beats(&mut self, connected: &Frame, send_ms: u32) {
        let Some(every) = heart_beat::client_send_interval(connected.header("heart-beat"), send_ms)
        else {
            return;
        };
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let writer = self.writer.clone();
        let thread = std::thread::Builder::new()
            .name("stompbox-client-heart-beat".into())
            .spawn(move || {
                while stopped.recv_timeout(every) == Err(RecvTimeoutError::Timeout) {
                    if writer.lock().write_all(b"\n").is_err() {
                        return;
                    }
                }
            })
            .ok();
        self.beater = Some(Beater {
            stop: Some(stop),
            thread,
        });
    }
}

fn timed_out(what: &str, waited: Duration) -> Error {
    Error::Timeout(Box::new(Timeout {
        awaited: Awaited::Frame(what.to_owned()),
        after: waited,
        saw: String::new(),
    }))
}

fn refused_or(frame: Frame) -> Result<Frame, Error> {
    if frame.command() == &Command::Error {
        Err(Error::Refused(Box::new(frame)))
    } else {
        Ok(frame)
    }
}

fn send_frame(destination: &str, body: Bytes, headers: &[(&str, &str)]) -> Frame {
    let mut frame = Frame::new(Command::Send).with_header("destination", destination);
    for (name, value) in headers {
        frame = frame.with_header(*name, *value);
    }
    frame
        .with_header("content-length", body.len().to_string())
        .with_body(body)
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("peer", &self.stream.peer_addr().ok())
            .field("version", &self.version)
            .field("waiting", &self.waiting.len())
            .finish_non_exhaustive()
    }
}
