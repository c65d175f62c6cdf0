//! STOMP over TLS (rustls), straight or as WebSocket (`wss`) once the
//! connection's HTTP request has upgraded it.
//!
//! One TLS session is shared by the connection's reader (which drives the
//! handshake as it reads) and its writer. Neither holds the session's lock
//! while it waits on the socket; what the session produces goes out in the
//! order it was produced, through one output buffer whose lock is always
//! taken before the session's.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::Mutex;
use rustls::{ServerConfig, ServerConnection};

use super::Transport;
use super::tcp::{self, ReadTimeout};
use super::websocket::{self, Framing, RawIo, WebSocketSide};

/// The most plaintext handed to the session at once.
const PLAINTEXT_CHUNK: usize = 16 * 1024;

/// How many stalled writes of its own the reader waits out (each a
/// [`tcp`] write poll) before it gives up on a handshake the client does not
/// read.
const READER_WRITE_PATIENCE: usize = 40;

/// A TLS connection.
#[derive(Debug)]
pub(crate) struct TlsTransport {
    stream: TcpStream,
    peer: SocketAddr,
    read_timeout: ReadTimeout,
    session: Mutex<Session>,
    out: Mutex<Output>,
    websocket: OnceLock<WebSocketSide>,
    /// A reset has begun: nothing more is sent, not even a FIN.
    resetting: AtomicBool,
}

#[derive(Debug)]
struct Session {
    tls: ServerConnection,
    /// Ciphertext read but not yet taken by the session.
    unread: Vec<u8>,
}

/// TLS records on their way to the socket.
#[derive(Debug, Default)]
struct Output {
    bytes: Vec<u8>,
    written: usize,
    /// How much of the writer's plaintext `bytes` carries.
    carries: usize,
}

impl TlsTransport {
    pub(crate) fn new(stream: TcpStream, config: Arc<ServerConfig>) -> io::Result<TlsTransport> {
        let peer = tcp::prepare(&stream)?;
        let tls = ServerConnection::new(config).map_err(io::Error::other)?;
        Ok(TlsTransport {
            stream,
            peer,
            read_timeout: ReadTimeout::default(),
            session: Mutex::new(Session {
                tls,
                unread: Vec::new(),
            }),
            out: Mutex::new(Output::default()),
            websocket: OnceLock::new(),
            resetting: AtomicBool::new(false),
        })
    }

    /// Moves what the session wants to send into `out`.
    fn collect(session: &mut Session, out: &mut Output) -> io::Result<()> {
        if out.written == out.bytes.len() {
            out.bytes.clear();
            out.written = 0;
        }
        while session.tls.wants_write() {
            session.tls.write_tls(&mut out.bytes)?;
        }
        Ok(())
    }

    /// Writes what `out` holds; a stalled write is an error of kind
    /// `WouldBlock`/`TimedOut`, the rest kept for the next call.
    fn flush(&self, out: &mut Output) -> io::Result<()> {
        while out.written < out.bytes.len() {
            match (&self.stream).write(&out.bytes[out.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => out.written += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The reader's own output (handshake, alerts, close): sent now,
    /// waiting out a few stalls.
    fn send_session_output(&self) -> io::Result<()> {
        let mut out = self.out.lock();
        Self::collect(&mut self.session.lock(), &mut out)?;
        let mut stalls = 0;
        loop {
            match self.flush(&mut out) {
                Ok(()) => return Ok(()),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    stalls += 1;
                    if stalls == READER_WRITE_PATIENCE {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Hands ciphertext to the session; true if it has output to send.
    fn take_in(&self, ciphertext: &[u8]) -> io::Result<bool> {
        let mut session = self.session.lock();
        session.unread.extend_from_slice(ciphertext);
        loop {
            let Session { tls, unread } = &mut *session;
            let mut rest = &unread[..];
            let taken = tls.read_tls(&mut rest)?;
            unread.drain(..taken);
            if let Err(e) = tls.process_new_packets() {
                drop(session);
                // The alert the session queued tells the client why.
                let _ = self.send_session_output();
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            if taken == 0 || session.unread.is_empty() {
                return Ok(session.tls.wants_write());
            }
        }
    }
}

impl RawIo for TlsTransport {
    /// Plaintext, once the handshake is done; the reader drives it.
    fn read_some(&self, buf: &mut [u8], timeout: Option<Duration>) -> io::Result<usize> {
        loop {
            match self.session.lock().tls.reader().read(buf) {
                Ok(n) => return Ok(n), // 0: the client's close_notify
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            if !self.session.lock().unread.is_empty() {
                // Ciphertext the session had no room for yet.
                if self.take_in(&[])? {
                    self.send_session_output()?;
                }
                continue;
            }
            self.read_timeout.set(&self.stream, timeout)?;
            let mut chunk = [0u8; 16 * 1024];
            let n = (&self.stream).read(&mut chunk)?;
            if n == 0 {
                return Ok(0);
            }
            tcp::ack_at_once(&self.stream);
            if self.take_in(&chunk[..n])? {
                self.send_session_output()?;
            }
        }
    }

    /// Hands plaintext to the session and writes the records; a write that
    /// stalls part-way keeps the rest, which the caller's next call (with
    /// the same bytes) sends before taking any more.
    fn write_some(&self, bytes: &[u8]) -> io::Result<usize> {
        if self.resetting.load(Ordering::Relaxed) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let mut out = self.out.lock();
        loop {
            self.flush(&mut out)?;
            if out.carries > 0 {
                return Ok(std::mem::take(&mut out.carries));
            }
            let mut session = self.session.lock();
            let chunk = &bytes[..bytes.len().min(PLAINTEXT_CHUNK)];
            let taken = session.tls.writer().write(chunk)?;
            Self::collect(&mut session, &mut out)?;
            drop(session);
            if taken == 0 {
                return Ok(0);
            }
            out.carries = taken;
        }
    }
}

impl Transport for TlsTransport {
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

    fn close_write(&self) {
        if self.resetting.load(Ordering::SeqCst) {
            return;
        }
        if let Some(side) = self.websocket.get() {
            side.send_close(self, websocket::NORMAL);
        }
        self.session.lock().tls.send_close_notify();
        let _ = self.send_session_output();
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    fn close(&self) {
        if !self.resetting.load(Ordering::SeqCst) {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }

    fn abort(&self) {
        tcp::abort(&self.stream);
    }

    fn reset(&self) {
        tcp::begin_reset(&self.stream, &self.resetting);
    }

    fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn kind(&self) -> &'static str {
        if self.websocket.get().is_some() {
            "wss"
        } else {
            "tls"
        }
    }

    fn upgrade_to_websocket(&self, framing: Framing) -> bool {
        self.websocket.set(WebSocketSide::new(framing)).is_ok()
    }

    fn peer_certificate(&self) -> Option<Vec<u8>> {
        let session = self.session.lock();
        Some(session.tls.peer_certificates()?.first()?.to_vec())
    }

    fn write_raw(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.write_some(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
