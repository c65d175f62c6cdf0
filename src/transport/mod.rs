//! The seam between a STOMP connection and the bytes it travels on.
//!
//! The reader and writer threads of a connection are written against
//! [`Transport`]; the session above them never sees it. Plain TCP
//! ([`tcp::TcpTransport`]) is the one implementation; once a connection's
//! first bytes are a WebSocket upgrade ([`handshake`]), it speaks
//! [`websocket`] framing over the same stream. [`tls::TlsTransport`] is the
//! other implementation (TLS, and WebSocket over it), without touching the
//! session or the broker's state.

pub(crate) mod detached;
pub(crate) mod handshake;
pub(crate) mod tcp;
pub(crate) mod tls;
pub(crate) mod websocket;

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// A connected byte stream, shared by a connection's reader thread, its
/// writer thread and the broker (which aborts it at shutdown). Exactly one
/// thread reads and one writes.
pub(crate) trait Transport: Send + Sync + 'static {
    /// Reads into `buf`, waiting at most `timeout` (`None`: for ever).
    /// `Ok(0)` means the peer closed; a timeout is an error of kind
    /// `WouldBlock` or `TimedOut`.
    fn read(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize>;

    /// Writes some of `bytes`; a write that cannot progress returns an
    /// error of kind `WouldBlock` or `TimedOut` after a short while, so the
    /// writer can check whether to give up.
    fn write(&self, bytes: &[u8]) -> io::Result<usize>;

    /// Writes what fits without waiting at all (`Ok(0)` or an error of kind
    /// `WouldBlock` when nothing does). Transports that cannot do this
    /// leave the default, which writes nothing.
    fn try_write(&self, _bytes: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::WouldBlock.into())
    }

    /// No more bytes will be written (the peer reads the end of the stream).
    fn close_write(&self);

    /// Closes both directions now; a blocked read or write returns.
    fn close(&self);

    /// Closes abortively (a reset where the transport has one), so a peer
    /// blocked writing learns at once. Used at shutdown.
    fn abort(&self);

    /// Resets the connection on purpose (an injected fault): no FIN, and
    /// the close, once every handle is gone, a reset where the transport
    /// has one; a blocked read returns. By default, as [`Transport::abort`].
    fn reset(&self) {
        self.abort();
    }

    /// The peer's address.
    fn peer(&self) -> SocketAddr;

    /// What kind of transport this is, for the journal (`"tcp"`, `"ws"`).
    fn kind(&self) -> &'static str;

    /// From now on, speaks WebSocket over this stream, starting with
    /// `framing` (what was read after the handshake); false where the
    /// transport cannot.
    fn upgrade_to_websocket(&self, _framing: websocket::Framing) -> bool {
        false
    }

    /// Writes `bytes` as they are, bypassing any WebSocket framing (the
    /// handshake's HTTP response).
    fn write_raw(&self, bytes: &[u8]) -> io::Result<()>;

    /// Whether only WebSocket is served here (the WebSocket-only listener):
    /// bytes that are not an upgrade are answered 400.
    fn websocket_only(&self) -> bool {
        false
    }

    /// The certificate the peer presented (DER), on a TLS connection that
    /// asked for one.
    fn peer_certificate(&self) -> Option<Vec<u8>> {
        None
    }
}
