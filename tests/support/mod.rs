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

#[fixture]
pub fn server() -> Server {
    match std::env::var("STOMPBOX_TEST_ADDR") {
        Ok(addr) => Server {
            addr: addr
                .to_socket_addrs()
                .expect("STOMPBOX_TEST_ADDR is host:port")
                .next()
                .expect("STOMPBOX_TEST_ADDR resolves"),
            _relay: None,
            _broker: None,
        },
        Err(_) => match relay::Carrier::from_env() {
            None => {
                let broker = Broker::start().expect("broker starts");
                Server {
                    addr: broker.addr(),
                    _relay: None,
                    _broker: Some(broker),
                }
            }
            Some(carrier) => relayed(carrier),
        },
    }
}

/// An in-process broker reached over `carrier` through a relay.
fn relayed(carrier: relay::Carrier) -> Server {
    let mut builder = Broker::builder();
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
        _broker: Some(broker),
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
                    return false
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }
}
