//! STOMP over TCP: straight, or framed as WebSocket once the connection's
//! HTTP request has upgraded it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use parking_lot::Mutex;

use super::websocket::{self, Event, Framing};
use super::Transport;

/// The most STOMP bytes one WebSocket message carries.
const MAX_MESSAGE: usize = 256 * 1024;

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
    read_timeout: Mutex<Option<Duration>>,
    /// Set once the connection has upgraded to WebSocket.
    websocket: OnceLock<WebSocketSide>,
}

/// A WebSocket connection's framing state, each side under its own lock.
#[derive(Debug)]
struct WebSocketSide {
    /// The client's frames (the reader's).
    incoming: Mutex<Framing>,
    /// The frame being written, whole frames only (the writer's, and the
    /// reader's for pongs and closes).
    outgoing: Mutex<Outgoing>,
    close_sent: AtomicBool,
}

#[derive(Debug, Default)]
struct Outgoing {
    frame: Vec<u8>,
    written: usize,
    /// How many STOMP bytes `frame` carries.
    carries: usize,
}

impl TcpTransport {
    pub(crate) fn new(stream: TcpStream) -> io::Result<TcpTransport> {
        let peer = stream.peer_addr()?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(WRITE_POLL))?;
        let keepalive = socket2::TcpKeepalive::new()
            .with_time(KEEPALIVE_IDLE)
            .with_interval(KEEPALIVE_INTERVAL);
        socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive)?;
        Ok(TcpTransport {
            stream,
            peer,
            read_timeout: Mutex::new(None),
            websocket: OnceLock::new(),
        })
    }

    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        // A zero timeout means "for ever" to the socket: make it the shortest
        // real one instead.
        let timeout = timeout.map(|t| t.max(Duration::from_millis(1)));
        let mut current = self.read_timeout.lock();
        if *current != timeout {
            self.stream.set_read_timeout(timeout)?;
            *current = timeout;
        }
        Ok(())
    }

    /// Reads the STOMP bytes of the client's WebSocket messages, answering
    /// pings and a close on the way.
    fn read_websocket(
        &self,
        side: &WebSocketSide,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> io::Result<usize> {
        let mut incoming = side.incoming.lock();
        loop {
            let n = incoming.take(buf);
            if n > 0 {
                return Ok(n);
            }
            match incoming.parse() {
                Some(Event::Reply(frame)) => {
                    let _ = self.write_frame(side, &frame);
                    continue;
                }
                Some(Event::Violation(code, _)) => {
                    self.send_close(side, code);
                    return Ok(0);
                }
                None if incoming.has_payload() => continue,
                None if incoming.is_closed() => return Ok(0),
                None => {}
            }
            self.set_read_timeout(timeout)?;
            let mut chunk = [0u8; 16 * 1024];
            let n = (&self.stream).read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            incoming.feed(&chunk[..n]);
        }
    }

    /// Writes STOMP bytes as one WebSocket message (at most [`MAX_MESSAGE`]
    /// of them); a write that times out part-way keeps the rest of the
    /// frame, and the caller's next call (with the same bytes) finishes it.
    fn write_websocket(&self, side: &WebSocketSide, bytes: &[u8]) -> io::Result<usize> {
        let mut out = side.outgoing.lock();
        if out.frame.is_empty() {
            let carries = bytes.len().min(MAX_MESSAGE);
            out.frame = websocket::data(&bytes[..carries]);
            out.written = 0;
            out.carries = carries;
        }
        self.finish(&mut out)?;
        Ok(std::mem::take(&mut *out).carries)
    }

    /// Writes the rest of the frame in progress.
    fn finish(&self, out: &mut Outgoing) -> io::Result<()> {
        while out.written < out.frame.len() {
            match (&self.stream).write(&out.frame[out.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => out.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes a whole control frame, after any frame in progress.
    fn write_frame(&self, side: &WebSocketSide, frame: &[u8]) -> io::Result<()> {
        let mut out = side.outgoing.lock();
        // A data frame cut short is finished first (and left in place: the
        // writer's next call returns what it carried).
        self.finish(&mut out)?;
        (&self.stream).write_all(frame)
    }

    /// Sends a close frame with `code`, once.
    fn send_close(&self, side: &WebSocketSide, code: u16) {
        if !side.close_sent.swap(true, Ordering::SeqCst) {
            let _ = self.write_frame(side, &websocket::close_frame(code));
        }
    }
}

impl Transport for TcpTransport {
    fn read(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        if let Some(side) = self.websocket.get() {
            return self.read_websocket(side, buf, timeout);
        }
        self.set_read_timeout(timeout)?;
        (&self.stream).read(buf)
    }

    fn write(&self, bytes: &[u8]) -> io::Result<usize> {
        if let Some(side) = self.websocket.get() {
            return self.write_websocket(side, bytes);
        }
        (&self.stream).write(bytes)
    }

    #[cfg(target_os = "linux")]
    fn try_write(&self, bytes: &[u8]) -> io::Result<usize> {
        if self.websocket.get().is_some() {
            // A frame cut short could not be finished without waiting.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        /// Linux's MSG_DONTWAIT: this one call does not block.
        const MSG_DONTWAIT: i32 = 0x40;
        socket2::SockRef::from(&self.stream).send_with_flags(bytes, MSG_DONTWAIT)
    }

    fn close_write(&self) {
        if let Some(side) = self.websocket.get() {
            self.send_close(side, websocket::NORMAL);
        }
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    fn close(&self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    fn abort(&self) {
        // SO_LINGER 0: the close is a reset, so a client blocked writing to
        // a stopped broker learns it at once, not after TCP's zero-window
        // probes give up (minutes, seen under load).
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
        self.close();
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
        let side = WebSocketSide {
            incoming: Mutex::new(framing),
            outgoing: Mutex::new(Outgoing::default()),
            close_sent: AtomicBool::new(false),
        };
        self.websocket.set(side).is_ok()
    }

    fn write_raw(&self, bytes: &[u8]) -> io::Result<()> {
        (&self.stream).write_all(bytes)
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
