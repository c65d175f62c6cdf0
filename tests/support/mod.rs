//! Fixtures shared by the behaviour tests.
//!
//! Protocol tests take a [`Server`]: an in-process stompbox broker by default,
//! or, when `STOMPBOX_TEST_ADDR=host:port` is set, an external broker
//! (RabbitMQ, ActiveMQ...) so the same tests can check it behaves alike.
//! Tests that need stompbox's own options start a `Broker` themselves.
//!
//! With `STOMPBOX_TEST_TRANSPORT=ws|tls|wss`, the in-process broker is
//! reached through a [`relay::Relay`] over that transport: the same tests,
//! over WebSocket, TLS or both.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod namespace;
pub mod relay;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use rstest::fixture;
use stompbox::frame::{Decoded, Decoder, Frame, Limits};
use stompbox::{Broker, Client, Version};

/// Long enough for anything that should happen on loopback.
pub const SECOND: Duration = Duration::from_secs(1);
/// Generous bound for waits that should succeed; failures show up as timeouts.
pub const PATIENCE: Duration = Duration::from_secs(5);
/// How long to wait to be confident nothing more arrives.
pub const QUIET: Duration = Duration::from_millis(100);

/// A broker to test against, kept alive as long as this value.
pub struct Server {
    addr: SocketAddr,
    // Dropped first: the relay, then the broker it relays to.
    _relay: Option<relay::Relay>,
    _namespace: Option<namespace::Namespace>,
    _broker: Option<Broker>,
}

impl Drop for Server {
    /// A relayed run checks that its connections did travel over the
    /// transport it names.
    fn drop(&mut self) {
        let (Some(broker), Some(carrier)) = (&self._broker, relay::Carrier::from_env()) else {
            return;
        };
        if std::thread::panicking() {
            return;
        }
        for connection in broker.connections() {
            assert_eq!(connection.transport, carrier.name(), "{connection:?}");
        }
    }
}

impl Server {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A client offering every version.
    pub fn client(&self) -> Client {
        Client::connect(self.addr).expect("connect")
    }

    /// A client that negotiates exactly `version`.
    pub fn client_v(&self, version: Version) -> Client {
        Client::builder()
            .version(version)
            .connect(self.addr)
            .expect("connect")
    }

    /// A raw socket, for exact bytes.
    pub fn raw(&self) -> Raw {
        Raw::connect(self.addr)
    }
}

/// With `STOMPBOX_CONFORMANCE_LOG=file`, the test's name is added to that
/// file, so the conformance run (`tests/real_brokers/run.sh`) knows which
/// tests took a broker address.
fn log_for_conformance() {
    let Ok(log) = std::env::var("STOMPBOX_CONFORMANCE_LOG") else {
        return;
    };
    let binary = std::env::current_exe().expect("the test binary's path");
    let binary = binary.file_stem().unwrap().to_string_lossy();
    let binary = binary.split('-').next().unwrap_or_default().to_owned();
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("open STOMPBOX_CONFORMANCE_LOG");
    // One write of the whole line: tests append at once.
    file.write_all(format!("{binary} {test}\n").as_bytes())
        .expect("write STOMPBOX_CONFORMANCE_LOG");
}

#[fixture]
pub fn server() -> Server {
    log_for_conformance();
    match std::env::var("STOMPBOX_TEST_ADDR") {
        Ok(addr) => external(&addr),
        Err(_) => match relay::Carrier::from_env() {
            None => {
                let broker = profiled().start().expect("broker starts");
                Server {
                    addr: broker.addr(),
                    _relay: None,
                    _namespace: None,
                    _broker: Some(broker),
                }
            }
            Some(carrier) => relayed(carrier),
        },
    }
}

/// A builder for `STOMPBOX_TEST_PROFILE` (unset: the default broker).
/// `rabbitmq` has the virtual hosts the conformance run's RabbitMQ has
/// (`/`, `localhost`, `127.0.0.1`), so the same clients connect to both.
fn profiled() -> stompbox::BrokerBuilder {
    match std::env::var("STOMPBOX_TEST_PROFILE").as_deref() {
        Err(_) | Ok("") | Ok("default") => Broker::builder(),
        Ok("activemq") => Broker::builder().activemq(),
        Ok("rabbitmq") => Broker::builder()
            .rabbitmq()
            .vhost("localhost")
            .vhost("127.0.0.1"),
        Ok(other) => {
            panic!("STOMPBOX_TEST_PROFILE is default, activemq or rabbitmq, not {other:?}")
        }
    }
}

/// An in-process broker reached over `carrier` through a relay.
fn relayed(carrier: relay::Carrier) -> Server {
    let mut builder = profiled();
    if carrier.uses_tls() {
        builder = builder.tls_port(0);
    }
    let broker = builder.start().expect("broker starts");
    let target = broker.tls_addr().unwrap_or(broker.addr());
    let ca = broker.tls_ca_pem().map(str::to_owned);
    let relay = relay::Relay::start(carrier, target, ca);
    Server {
        addr: relay.addr(),
        _relay: Some(relay),
        _namespace: None,
        _broker: Some(broker),
    }
}

/// A real broker at `addr`, reached through a [`namespace::Namespace`] of
/// this test's own.
fn external(addr: &str) -> Server {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let broker = addr
        .to_socket_addrs()
        .expect("STOMPBOX_TEST_ADDR is host:port")
        .next()
        .expect("STOMPBOX_TEST_ADDR resolves");
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let ns = format!("t{}x{n}", std::process::id());
    let namespace = namespace::Namespace::start(broker, &ns);
    Server {
        addr: namespace.addr(),
        _relay: None,
        _namespace: Some(namespace),
        _broker: None,
    }
}

/// A raw TCP connection that decodes what comes back.
pub struct Raw {
    pub stream: TcpStream,
    decoder: Decoder,
    pub heart_beats: usize,
}

impl Raw {
    pub fn connect(addr: impl ToSocketAddrs) -> Raw {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_nodelay(true).unwrap();
        let mut decoder = Decoder::new(Limits::default());
        // Frames from the broker are decoded with 1.2 rules unless told otherwise.
        decoder.set_version(Some(Version::V1_2));
        Raw {
            stream,
            decoder,
            heart_beats: 0,
        }
    }

    pub fn set_version(&mut self, version: Version) {
        self.decoder.set_version(Some(version));
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write");
    }

    /// Sends CONNECT for `version` and returns the CONNECTED frame.
    pub fn connect_v(&mut self, version: Version) -> Frame {
        self.send(format!("CONNECT\naccept-version:{version}\nhost:localhost\n\n\0").as_bytes());
        self.set_version(version);
        let frame = self.frame();
        assert_eq!(
            frame.command(),
            &stompbox::frame::Command::Connected,
            "{frame}"
        );
        frame
    }

    /// Sends `bytes`, expects an ERROR whose `message` is `message`, then the
    /// close; returns the ERROR frame for further checks.
    pub fn expect_error(&mut self, bytes: &[u8], message: &str) -> Frame {
        self.send(bytes);
        let error = self.frame();
        assert_eq!(error.command(), &stompbox::frame::Command::Error, "{error}");
        assert_eq!(error.header("message"), Some(message), "{error}");
        assert!(
            self.closed_within(SECOND),
            "the broker closes after an ERROR"
        );
        error
    }

    /// The next frame, or a panic after [`PATIENCE`].
    pub fn frame(&mut self) -> Frame {
        self.try_frame(PATIENCE)
            .unwrap_or_else(|| panic!("no frame within {PATIENCE:?}"))
    }

    /// The next frame within `timeout`, `None` if none came or the
    /// connection closed. Heart-beats on the way are counted.
    pub fn try_frame(&mut self, timeout: Duration) -> Option<Frame> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.next_item(deadline)? {
                Decoded::Frame(frame) => return Some(frame),
                Decoded::HeartBeat => self.heart_beats += 1,
            }
        }
    }

    /// Waits until `count` heart-beats have arrived in all; panics on a frame.
    pub fn wait_heart_beats(&mut self, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.heart_beats < count {
            match self.next_item(deadline) {
                Some(Decoded::HeartBeat) => self.heart_beats += 1,
                Some(Decoded::Frame(f)) => panic!("expected heart-beats, got {f}"),
                None => return false,
            }
        }
        true
    }

    /// The next item before `deadline`; `None` on timeout or close.
    fn next_item(&mut self, deadline: Instant) -> Option<Decoded> {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(item) = self
                .decoder
                .next_item()
                .expect("the broker sends valid frames")
            {
                return Some(item);
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => return None,
                Ok(n) => self.decoder.feed(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return None,
            }
        }
    }

    /// Waits for the broker to close the connection; false if it stays open.
    pub fn closed_within(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut chunk = [0u8; 8192];
        loop {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                return false;
            };
            self.stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .unwrap();
            match self.stream.read(&mut chunk) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return false;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }
}
