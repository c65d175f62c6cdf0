//! The STOMP rules both sides use, above the frame codec ([`crate::frame`])
//! and below the broker and the client: versions, heart-beat negotiation,
//! the MESSAGE frame a broker writes (one encoder, shared by every
//! subscriber), and the broker's other replies (CONNECTED, RECEIPT, ERROR).
//!
//! Nothing here knows about sockets, threads or the broker's state.

pub(crate) mod heart_beat;
pub(crate) mod message;
pub(crate) mod replies;
mod version;

pub use version::Version;
