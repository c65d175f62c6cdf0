//! STOMP over TCP: straight, or framed as WebSocket once the connection's
//! HTTP request has upgraded it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use super::Transport;
use super::websocket::{self, Framing, RawIo, WebSocketSide};

/// How long a blocked write waits before its caller may check whether to
/// give up.
const WRITE_POLL: Duration = Duration::from_millis(250);
/// TCP keepalive: after this long without traffic the kernel probes the
/// peer, so a client that vanished without heart-beats (cable pulled, VM
/// frozen) is noticed eventually instead of holding its threads for ever.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
/// Between keepalive probes.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// A TCP connection with Nagle's algorithm off.
#[derive(Debug)]
pub(crate) struct TcpTransport {
    stream: TcpStream,
    peer: SocketAddr,
    /// The read timeout last set on the socket, so a read with the same
    /// timeout makes no system call to set it again.
    read_timeout: ReadTimeout,
    /// Set once the connection has upgraded to WebSocket.
    websocket: OnceLock<WebSocketSide>,
    /// Accepted on the WebSocket-only listener.
    websocket_only: bool,
    /// A reset has begun: nothing more is sent, not even a FIN.
    resetting: AtomicBool,
}

/// A socket's read timeout, set only when it changes.
#[derive(Debug, Default)]
pub(crate) struct ReadTimeout(Mutex<Option<Duration>>);

impl ReadTimeout {
    pub(crate) fn set(&self, stream: &TcpStream, timeout: Option<Duration>) -> io::Result<()> {
        // A zero timeout means "for ever" to the socket: make it the shortest
        // real one instead.
        let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
        let mut current = self.0.lock();
        if *current != timeout {
            stream.set_read_timeout(timeout)?;
            *current = timeout;
        }
        Ok(())
    }
}

/// Sets up an accepted socket: Nagle off, writes that give up after
/// [`WRITE_POLL`], keepalive.
pub(crate) fn prepare(stream: &TcpStream) -> io::Result<SocketAddr> {
    let peer = stream.peer_addr()?;
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(WRITE_POLL))?;
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(KEEPALIVE_IDLE)
        .with_interval(KEEPALIVE_INTERVAL);
    socket2::SockRef::from(stream).set_tcp_keepalive(&keepalive)?;
    Ok(peer)
}

/// Acknowledges what was read at once (Linux's `TCP_QUICKACK`, which the
/// kernel clears as it sees fit, so it is set after every read). Without
/// it, a client whose Nagle algorithm holds a frame until its previous small
/// one is acknowledged (a SEND after a BEGIN, which has no reply) waits out
/// the delayed ACK: about 40 ms a time, with stomp.py and most clients.
#[cfg(target_os = "linux")]
pub(crate) fn ack_at_once(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_quickack(true);
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn ack_at_once(_stream: &TcpStream) {}

/// Begins a reset (an injected fault's): SO_LINGER 0 and the read side
/// shut, which wakes a blocked reader and sends nothing; `resetting` then
/// keeps the closes from sending a FIN, so the socket's close, when its last
/// handle goes, is a reset (RST) with nothing before it.
pub(crate) fn begin_reset(stream: &TcpStream, resetting: &AtomicBool) {
    resetting.store(true, Ordering::SeqCst);
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
    let _ = stream.shutdown(Shutdown::Read);
}

/// Closes abortively (SO_LINGER 0): the close is a reset, so a client
/// blocked writing to a stopped broker learns it at once, not after TCP's
/// zero-window probes give up (minutes, seen under load).
pub(crate) fn abort(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
    let _ = stream.shutdown(Shutdown::Both);
}

impl TcpTransport {
    pub(crate) fn new(stream: TcpStream) -> io::Result<TcpTransport> {
        let peer = prepare(&stream)?;
        Ok(TcpTransport {
            stream,
            peer,
            read_timeout: ReadTimeout::default(),
            websocket: OnceLock::new(),
            websocket_only: false,
            resetting: AtomicBool::new(false),
        })
    }

    /// A connection of the WebSocket-only listener.
    pub(crate) fn websocket_only(stream: TcpStream) -> io::Result<TcpTransport> {
        Ok(TcpTransport {
            websocket_only: true,
            ..TcpTransport::new(stream)?
        })
    }
}

impl RawIo for TcpTransport {
    fn read_some(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        self.read_timeout.set(&self.stream, timeout)?;
        let n = (&self.stream).read(buf)?;
        if n > 0 {
            ack_at_once(&self.stream);
        }
        Ok(n)
    }

    fn write_some(&self, bytes: &[u8]) -> io::Result<usize> {
        if self.resetting.load(Ordering::Relaxed) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        (&self.stream).write(bytes)
    }
}

impl Transport for TcpTransport {
    fn read(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        match self.websocket.get() {
            Some(side) => side.read(self, buf, timeout),
            None => self.read_some(buf, timeout),
        }
    }

    fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        match self.websocket.get() {
            Some(side) => side.write(self, bytes),
            None => self.write_some(bytes),
        }
    }

    #[cfg(target_os = "linux")]
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        if self.websocket.get().is_some() || self.resetting.load(Ordering::Relaxed) {
            // A frame cut short could not be finished without waiting.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        /// Linux's MSG_DONTWAIT: this one call does not block.
        const MSG_DONTWAIT: i32 = 0x40;
        socket2::SockRef::from(&self.stream).send_with_flags(bytes, MSG_DONTWAIT)
    }

    fn close_write(&self) {
        if self.resetting.load(Ordering::SeqCst) {
            return;
        }
        if let Some(side) = self.websocket.get() {
            side.send_close(self, websocket::NORMAL);
        }
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    fn close(&self) {
        if !self.resetting.load(Ordering::SeqCst) {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }

    fn abort(&self) {
        abort(&self.stream);
    }

    fn reset(&self) {
        begin_reset(&self.stream, &self.resetting);
    }

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn kind(&self) -> &'static str {
        if self.websocket.get().is_some() {
            "ws"
        } else {
            "tcp"
        }
    }

    fn upgrade_to_websocket(&self, framing: Framing) -> bool {
        self.websocket.set(WebSocketSide::new(framing)).is_ok()
    }

    fn write_raw(&self, bytes: &[u8]) -> io::Result<()> {
        (&self.stream).write_all(bytes)
    }

    fn websocket_only(&self) -> bool {
        self.websocket_only
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;
    use std::net::TcpListener;

    fn pair() -> (TcpTransport, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (TcpTransport::new(server).unwrap(), client)
    }

    #[test]
    fn a_read_times_out_then_reads_what_arrives() {
        let (transport, mut client) = pair();
        let mut buf = [0u8; 8];
        let err = transport
            .read(&mut buf, Some(Duration::from_millis(5)))
            .unwrap_err();
        assert!(matches!(
            err.kind(),
            ErrorKind::WouldBlock | ErrorKind::TimedOut
        ));
        client.write_all(b"hi").unwrap();
        assert_eq!(transport.read(&mut buf, None).unwrap(), 2);
        assert_eq!(&buf[..2], b"hi");
        assert_eq!(transport.kind(), "tcp");
        assert_eq!(transport.peer(), client.local_addr().unwrap());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn try_write_never_waits_for_a_full_socket() {
        let (transport, client) = pair();
        let chunk = vec![b'x'; 64 * 1024];
        // The client never reads: the socket fills, and then nothing fits.
        let mut total = 0;
        loop {
            match transport.try_write(&chunk) {
                Ok(n) if n > 0 => total += n,
                Ok(_) => break,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::WouldBlock);
                    break;
                }
            }
            assert!(total < 256 * 1024 * 1024, "the socket never filled");
        }
        assert!(total > 0);
        drop(client);
    }

    #[test]
    fn accepted_connections_have_tcp_keepalive() {
        // Issue 11, item 12: a peer that vanished without heart-beats.
        let (transport, _client) = pair();
        let socket = socket2::SockRef::from(&transport.stream);
        assert!(socket.keepalive().unwrap());
    }

    #[test]
    fn close_write_ends_the_peers_stream() {
        let (transport, mut client) = pair();
        transport.write(b"bye").unwrap();
        transport.close_write();
        let mut got = Vec::new();
        client.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"bye");
    }
}
