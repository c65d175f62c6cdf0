//! # stompbox
//!
//! A real STOMP 1.0/1.1/1.2 message broker that a test starts inside its own
//! process, on a free localhost port, in well under a millisecond. Point the
//! code under test (any STOMP client, in any language) at it, drive traffic,
//! and drop it: the port closes and every thread it started is joined.
//!
//! Changing the code? The [map of the modules](#map-of-the-modules-for-those-who-change-the-code)
//! below says what each one owns and how they depend on each other.
//!
//! ## Quick start
//! ```
//! use std::time::Duration;
//! use stompbox::{AckMode, Broker, Client};
//!
//! let broker = Broker::start()?;                      // 127.0.0.1, free port
//! let mut client = Client::connect(broker.addr())?;   // or broker.url()
//! client.subscribe("/queue/orders", AckMode::ClientIndividual)?;
//! client.send("/queue/orders", "hello")?;
//! let msg = client.recv_timeout(Duration::from_secs(1))?;
//! client.ack(&msg)?;
//! assert_eq!(msg.body_text(), "hello");
//! drop(broker);                                       // port closed, threads joined
//! # Ok::<(), stompbox::Error>(())
//! ```
//!
//! ## What the broker does
//! - **All three versions**, negotiated from `accept-version` (absent: 1.0);
//!   header escaping exactly per version; CONNECT and STOMP; any `host`.
//! - **Queues** (`/queue/...`, and by default any name without a known
//!   prefix, as ActiveMQ): each message to exactly one subscriber, round-robin;
//!   messages wait while there is no subscriber; unacknowledged messages return
//!   to the queue, marked `redelivered:true`, on NACK, UNSUBSCRIBE or
//!   disconnect. **Topics** (`/topic/...`): each message to every current
//!   subscriber, nothing kept. See [`destination::DestinationRules`] to change the mapping.
//! - **Ack modes** `auto`, `client` (cumulative) and `client-individual`, with
//!   each version's ACK/NACK headers; `prefetch-count` or
//!   `activemq.prefetchSize` on SUBSCRIBE limit unacknowledged messages.
//! - **Transactions**: SEND, ACK and NACK take effect at COMMIT, all or
//!   nothing; ABORT or a dropped connection discards them.
//! - **Receipts** after the frame has taken effect (inside a transaction: once
//!   buffered, as ActiveMQ does).
//! - **Heart-beats** both ways; a client silent for twice its promised
//!   interval gets an ERROR and is closed. With no configured offer the broker
//!   agrees to what each client asks for, as RabbitMQ does.
//! - **Errors**: a bad frame, an unknown command, a missing header and the
//!   like get an ERROR frame whose `message` says what was wrong (with
//!   `receipt-id` if the frame asked for a receipt) and the connection closes.
//!   Other connections are not disturbed.
//! - **Back-pressure**: each connection has a reader and a writer thread; a
//!   client that stops reading only ever slows itself. Queues stop handing it
//!   messages; if its backlog still passes [`BrokerBuilder::max_outbound_backlog`]
//!   it is disconnected with an ERROR and its unacknowledged messages requeued.
//!
//! ## Threads and shutdown
//! One acceptor thread, plus a reader and a writer per connection. Dropping
//! the [`Broker`] (or [`Broker::shutdown`]) stops accepting, closes every
//! connection and joins all of them.
//!
//! ## The public API
//! At the root: [`Broker`], [`BrokerBuilder`], [`Client`], [`ClientBuilder`],
//! [`Message`], [`AckMode`], [`Version`], [`Error`], [`Expectation`], [`Times`],
//! [`ExpectationGuard`], [`Traffic`]. In modules: [`journal`] (what the
//! broker saw: the records, [`journal::Journal`], [`journal::Event`]),
//! [`frame`] (frames and the codec), [`auth`] (authenticators, users,
//! permissions), [`destination`] (queue/topic rules, name syntax),
//! [`error`] (typed timeouts), [`expect`] (expectations and their report),
//! and `fixtures` (rstest fixtures, feature `rstest`).
//!
//! ## Map of the modules (for those who change the code)
//! Dependencies run one way, each layer using only those above it:
//!
//! | module | owns |
//! | --- | --- |
//! | `protocol` | the protocol layer: `version`; `frame` ([`frame::Frame`], [`frame::Headers`], decoder, encoder, escaping; public as [`frame`]); heart-beat negotiation; the one MESSAGE encoder; CONNECTED/RECEIPT/ERROR |
//! | `journal` | the public records a test reads, [`journal::JournalLimits`], [`journal::Event`] |
//! | `ack`, `destination`, `rules`, `auth`, `permissions`, `faults`, `traffic`, `config` | ack modes, destination rules, session rules, authentication, grants, armed failures, traffic observers, the settings |
//! | `transport` | the `Transport` trait (read with a timeout, write, close, abort) and its TCP implementation |
//! | `state` | the one broker state behind one lock: `live` (connections, subscriptions, queues, pending acks, open transactions; the only copy), `history` (published, deliveries, acks, transcripts, closed connections; `kept` is what it keeps per record, `transcript` a connection's frames in and out), `outbox` (what each connection's writer is handed, once per pass), the [`journal::Journal`] view, waits |
//! | `session` | one client's STOMP session as a state machine: frames in, state changes and replies out; no socket; `harness` drives sessions in tests and fuzzing |
//! | `connection` | the threads: acceptor, reader (transport → decoder → session), writer (outbox → transport) |
//! | `broker` | the [`Broker`] handle and [`BrokerBuilder`]: start/stop, inspection, waits, expectations, users and grants, armed failures |
//! | `client` | the test [`Client`] |
//! | `expect`, `error`, `fixtures` | expectations and their report, the error type, rstest fixtures |
//!
//! The command-line binary (`src/main.rs`, `src/cli/`) uses only the public API.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod ack;
pub mod auth;
mod broker;
mod client;
mod config;
mod connection;
pub mod destination;
mod dialect;
pub mod error;
pub mod expect;
mod faults;
#[cfg(feature = "rstest")]
#[cfg_attr(docsrs, doc(cfg(feature = "rstest")))]
pub mod fixtures;
pub mod journal;
mod permissions;
mod protocol;
mod rules;
pub mod selector;
mod session;
mod state;
mod tls;
mod traffic;
mod transport;

pub use ack::AckMode;
pub use broker::{Broker, BrokerBuilder, ExpectationGuard, Restart, WaitFuture};
pub use client::{Client, ClientBuilder, Message};
pub use dialect::Dialect;
pub use error::Error;
pub use expect::{Expectation, Times};
pub use faults::{Fault, FaultHandle, FaultHit};
pub use protocol::{Version, frame};
pub use tls::{ClientCertificate, TlsProblem};
pub use traffic::Traffic;
pub use transport::websocket::WebSocketReplies;

/// For the `session` fuzz target (`fuzz/`): not part of the API.
#[doc(hidden)]
pub mod __fuzz {
    /// Drives up to three sessions with `data`; panics on a broken invariant.
    pub fn sessions(data: &[u8]) {
        crate::session::harness::fuzz(data);
    }
}

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
