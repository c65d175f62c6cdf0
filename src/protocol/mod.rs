//! The STOMP protocol layer both the broker and the client use: versions,
//! frames and their codec ([`frame`], public as `stompbox::frame`),
//! heart-beat negotiation, the MESSAGE frame a broker writes (one encoder,
//! shared by every subscriber), and the broker's other replies (CONNECTED,
//! RECEIPT, ERROR).
//!
//! Inside, `version` is at the bottom, `frame` uses it, and the rest use
//! both. Nothing here knows about sockets, threads or the broker's state.

pub mod frame;
pub(crate) mod heart_beat;
pub(crate) mod message;
pub(crate) mod replies;
pub(crate) mod secrets;
pub(crate) mod version;

pub use version::Version;
