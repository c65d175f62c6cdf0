//! A loopback relay that carries plain TCP connections to the broker over
//! another transport (WebSocket, TLS, or WebSocket over TLS), so the
//! behaviour tests, written against a TCP socket, run unchanged over each:
//! `STOMPBOX_TEST_TRANSPORT=ws|tls|wss cargo test --test messaging`.
//!
//! Each connection to the relay gets its own connection to the broker
//! (handshakes done before a byte is relayed) and two threads, one per
//! direction. An end of stream or a WebSocket close on one side ends the
//! other side's writing, so a test sees the broker close as it would over
//! TCP.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use parking_lot::Mutex;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore};

/// What the relay speaks to the broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    WebSocket,
    Tls,
    WebSocketOverTls,
}

impl Carrier {
    /// The carrier `STOMPBOX_TEST_TRANSPORT` names (`tcp` or unset: none).
    pub fn from_env() -> Option<Carrier> {
        match std::env::var("STOMPBOX_TEST_TRANSPORT").as_deref() {
            Err(_) | Ok("") | Ok("tcp") => None,
            Ok("ws") => Some(Carrier::WebSocket),
            Ok("tls") => Some(Carrier::Tls),
            Ok("wss") => Some(Carrier::WebSocketOverTls),
            Ok(other) => panic!("STOMPBOX_TEST_TRANSPORT is tcp, ws, tls or wss, not {other:?}"),
        }
    }

    /// What the broker's journal calls it.
    pub fn name(self) -> &'static str {
        match self {
            Carrier::WebSocket => "ws",
            Carrier::Tls => "tls",
            Carrier::WebSocketOverTls => "wss",
        }
    }

    pub fn uses_tls(self) -> bool {
        self != Carrier::WebSocket
    }

    fn uses_websocket(self) -> bool {
        self != Carrier::Tls
    }
}

/// A listening relay; dropping it stops accepting (open relayed
/// connections end with their sockets).
pub struct Relay {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl Relay {
    /// Relays connections to `target` over `carrier`, trusting `ca_pem`
    /// (for TLS) for the name `localhost`.
    pub fn start(carrier: Carrier, target: SocketAddr, ca_pem: Option<String>) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("the relay binds");
        let addr = listener.local_addr().unwrap();
        let tls = carrier
            .uses_tls()
            .then(|| client_config(&ca_pem.expect("a CA")));
        let stopping = Arc::new(AtomicBool::new(false));
        let stop = stopping.clone();
        let acceptor = std::thread::spawn(move || {
            for local in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(local) = local else { continue };
                let tls = tls.clone();
                std::thread::spawn(move || {
                    if let Err(e) = relay(carrier, target, tls, local) {
                        eprintln!("relay: {e}");
                    }
                });
            }
        });
        Relay {
            addr,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// Where tests connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn client_config(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// One relayed connection, until both directions end.
fn relay(
    carrier: Carrier,
    target: SocketAddr,
    tls: Option<Arc<ClientConfig>>,
    local: TcpStream,
) -> io::Result<()> {
    local.set_nodelay(true)?;
    let socket = TcpStream::connect(target)?;
    socket.set_nodelay(true)?;
    let upstream = Arc::new(Upstream::open(socket, tls)?);
    let mut leftover = Vec::new();
    if carrier.uses_websocket() {
        leftover = upstream.upgrade()?;
    }
    let websocket = carrier.uses_websocket();
    let (up_local, up) = (local.try_clone()?, upstream.clone());
    let to_broker = std::thread::spawn(move || to_broker(up_local, &up, websocket));
    let result = from_broker(local, &upstream, websocket, leftover);
    let _ = to_broker.join();
    result
}

/// The client's bytes, to the broker; at the client's end of stream, a
/// WebSocket close (or the end of the stream).
fn to_broker(mut local: TcpStream, upstream: &Upstream, websocket: bool) {
    let mut chunk = [0u8; 16 * 1024];
    let mut mask = 0x1234_5678u32;
    loop {
        let n = match local.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let bytes = if websocket {
            mask = mask.rotate_left(7) ^ 0x9E37_79B9;
            client_frame(0x1, &chunk[..n], mask.to_be_bytes())
        } else {
            chunk[..n].to_vec()
        };
        if upstream.write_all(&bytes).is_err() {
            break;
        }
    }
    if websocket {
        let _ = upstream.write_all(&client_frame(0x8, &1000u16.to_be_bytes(), [1, 2, 3, 4]));
    }
    upstream.close_write();
}

/// The broker's bytes (the payloads of its WebSocket messages), to the
/// client; at the broker's end of stream or close, the client's stream ends.
fn from_broker(
    mut local: TcpStream,
    upstream: &Upstream,
    websocket: bool,
    mut raw: Vec<u8>,
) -> io::Result<()> {
    let mut chunk = [0u8; 16 * 1024];
    'relaying: loop {
        if websocket {
            while let Some((opcode, payload, used)) = server_frame(&raw)? {
                raw.drain(..used);
                match opcode {
                    0x0..=0x2 => local.write_all(&payload)?,
                    0x8 => break 'relaying,
                    _ => {}
                }
            }
        } else if !raw.is_empty() {
            local.write_all(&raw)?;
            raw.clear();
        }
        match upstream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
    let _ = local.shutdown(Shutdown::Write);
    Ok(())
}

/// A masked client frame (FIN set).
fn client_frame(opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 65535 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

/// One complete (unmasked) server frame: opcode, payload, bytes used.
fn server_frame(raw: &[u8]) -> io::Result<Option<(u8, Vec<u8>, usize)>> {
    let [first, second, ..] = *raw else {
        return Ok(None);
    };
    if second & 0x80 != 0 {
        return Err(io::Error::other("the broker masked a frame"));
    }
    let (length, at) = match second & 0x7F {
        126 => match raw.get(2..4) {
            Some(b) => (usize::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match raw.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().unwrap()) as usize, 10),
            None => return Ok(None),
        },
        n => (usize::from(n), 2),
    };
    Ok(raw
        .get(at..at + length)
        .map(|payload| (first & 0x0F, payload.to_vec(), at + length)))
}

/// The connection to the broker: a socket, with TLS over it or not. The
/// TLS state is shared by both directions under a lock, held only to move
/// bytes in and out of it (never while waiting for the socket to read).
struct Upstream {
    socket: TcpStream,
    tls: Option<Mutex<TlsState>>,
}

struct TlsState {
    connection: ClientConnection,
    /// Bytes read from the socket that rustls has not taken yet (it takes
    /// at most its buffer's worth at a time).
    pending: Vec<u8>,
}

impl TlsState {
    /// Gives rustls what it takes of the pending bytes, and writes what it
    /// answers.
    fn take_pending(&mut self, socket: &TcpStream) -> io::Result<()> {
        let used = self.connection.read_tls(&mut &self.pending[..])?;
        self.pending.drain(..used);
        self.connection
            .process_new_packets()
            .map_err(io::Error::other)?;
        self.flush(socket)
    }

    fn flush(&mut self, mut socket: &TcpStream) -> io::Result<()> {
        while self.connection.wants_write() {
            self.connection.write_tls(&mut socket)?;
        }
        Ok(())
    }
}

impl Upstream {
    fn open(mut socket: TcpStream, config: Option<Arc<ClientConfig>>) -> io::Result<Upstream> {
        let tls = match config {
            None => None,
            Some(config) => {
                let name = ServerName::try_from("localhost").unwrap();
                let mut connection =
                    ClientConnection::new(config, name).map_err(io::Error::other)?;
                while connection.is_handshaking() {
                    connection.complete_io(&mut socket)?;
                }
                Some(Mutex::new(TlsState {
                    connection,
                    pending: Vec::new(),
                }))
            }
        };
        Ok(Upstream { socket, tls })
    }

    /// The WebSocket handshake, offering the STOMP subprotocols as stompjs
    /// does; returns what followed the response.
    fn upgrade(&self) -> io::Result<Vec<u8>> {
        self.write_all(
            b"GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
              Sec-WebSocket-Protocol: v10.stomp, v11.stomp, v12.stomp\r\n\r\n",
        )?;
        let mut response = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
                break end + 4;
            }
            match self.read(&mut chunk)? {
                0 => return Err(io::Error::other("closed during the upgrade")),
                n => response.extend_from_slice(&chunk[..n]),
            }
        };
        if !response.starts_with(b"HTTP/1.1 101") {
            let text = String::from_utf8_lossy(&response[..end]).into_owned();
            return Err(io::Error::other(format!("upgrade refused: {text}")));
        }
        Ok(response.split_off(end))
    }

    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(tls) = &self.tls else {
            return (&self.socket).read(buf);
        };
        let mut encrypted = [0u8; 16 * 1024];
        loop {
            {
                let mut tls = tls.lock();
                match tls.connection.reader().read(buf) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
                if !tls.pending.is_empty() {
                    tls.take_pending(&self.socket)?;
                    continue;
                }
            }
            let n = (&self.socket).read(&mut encrypted)?;
            if n == 0 {
                return Ok(0);
            }
            tls.lock().pending.extend_from_slice(&encrypted[..n]);
        }
    }

    fn write_all(&self, bytes: &[u8]) -> io::Result<()> {
        let Some(tls) = &self.tls else {
            return (&self.socket).write_all(bytes);
        };
        let mut tls = tls.lock();
        tls.connection.writer().write_all(bytes)?;
        tls.flush(&self.socket)
    }

    fn close_write(&self) {
        if let Some(tls) = &self.tls {
            let mut tls = tls.lock();
            tls.connection.send_close_notify();
            let _ = tls.flush(&self.socket);
        }
        let _ = self.socket.shutdown(Shutdown::Write);
    }
}
