//! rstest fixtures (feature `rstest`): a fresh broker per test.
//!
//! ```toml
//! [dev-dependencies]
//! rstest = "0.23"
//! stompbox = { path = "../stompbox", features = ["rstest"] } # not on crates.io yet
//! ```
//!
//! Each test gets its own broker on its own port, so tests run in parallel
//! without sharing anything; the broker stops (and checks its expectations)
//! when the test ends.
//!
//! # Examples
//! ```
//! use rstest::rstest;
//! use stompbox::fixtures::{broker, broker_with};
//! use stompbox::{Broker, Client};
//!
//! #[rstest]
//! fn publishes_an_order(broker: Broker) {
//!     let mut client = Client::connect(broker.addr()).unwrap();
//!     client.send("/queue/orders", "1").unwrap();
//!     client.disconnect().unwrap();
//!     assert_eq!(broker.published_to("/queue/orders").unwrap().len(), 1);
//! }
//!
//! #[rstest]
//! fn works_without_recording(
//!     #[with(Broker::builder().recording(false))] broker_with: Broker,
//! ) {
//!     assert!(!broker_with.inspect(|j| j.is_recording()));
//! }
//!
//! // Outside rstest, a fixture is a plain function:
//! let broker = broker();
//! assert!(broker.published().unwrap().is_empty());
//! let quiet = broker_with(Broker::builder().recording(false));
//! assert!(!quiet.inspect(|j| j.is_recording()));
//! ```

// `#[fixture]` generates helper items (`broker::get`...) without docs.
#![allow(missing_docs)]

use rstest::fixture;

use crate::broker::{Broker, BrokerBuilder};

/// A broker with every default, started for one test.
///
/// # Panics
/// If it cannot start (no free port).
///
/// # Examples
/// See the [module](self).
#[fixture]
pub fn broker() -> Broker {
    Broker::start().expect("stompbox: the broker fixture could not start")
}

/// A broker started from a builder, for tests that need options:
/// `#[with(Broker::builder().heart_beat(0, 0))] broker_with: Broker`.
///
/// # Panics
/// If it cannot start.
///
/// # Examples
/// See the [module](self).
#[fixture]
pub fn broker_with(#[default(Broker::builder())] builder: BrokerBuilder) -> Broker {
    builder
        .start()
        .expect("stompbox: the broker_with fixture could not start")
}
