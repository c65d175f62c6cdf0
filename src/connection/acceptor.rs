//! The accept loop and the threads it starts for each connection.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parking_lot::Mutex;

use super::reader::Reader;
use super::writer::Writer;
use crate::journal::CloseReason;
use crate::protocol::replies;
use crate::session::Session;
use crate::state::BrokerState;
use crate::state::outbox::Outbox;
use crate::transport::Transport;
use crate::transport::tcp::TcpTransport;
use crate::transport::tls::TlsTransport;

/// The threads of live and finished connections, to be joined.
#[derive(Clone, Default)]
pub(crate) struct Threads(Arc<Mutex<Vec<JoinHandle<()>>>>);

impl Threads {
    fn add(&self, handle: JoinHandle<()>) {
        let mut handles = self.0.lock();
        // Join the ones that have finished so the list stays short.
        let (done, live): (Vec<_>, Vec<_>) = handles.drain(..).partition(|h| h.is_finished());
        *handles = live;
        handles.push(handle);
        drop(handles);
        for handle in done {
            let _ = handle.join();
        }
    }

    pub(crate) fn join_all(&self) {
        let handles = std::mem::take(&mut *self.0.lock());
        for handle in handles {
            let _ = handle.join();
        }
    }
}

/// What an accepted connection travels on.
#[derive(Clone)]
pub(crate) enum Wrapping {
    Tcp,
    /// Plain TCP where only WebSocket upgrades are served.
    WebSocketOnly,
    Tls(Arc<rustls::ServerConfig>),
    /// TLS whose handshake never completes: accepted, then never answered
    /// (see [`TlsProblem::StalledHandshake`](crate::TlsProblem)).
    Stalled,
}

impl Wrapping {
    fn transport(&self, stream: TcpStream) -> io::Result<Arc<dyn Transport>> {
        Ok(match self {
            Wrapping::Tcp => Arc::new(TcpTransport::new(stream)?),
            Wrapping::WebSocketOnly => Arc::new(TcpTransport::websocket_only(stream)?),
            Wrapping::Tls(config) => Arc::new(TlsTransport::new(stream, config.clone())?),
            Wrapping::Stalled => unreachable!("stalled connections get no transport"),
        })
    }
}

/// Starts the thread that accepts on `listener` until the broker stops or
/// `stop` is raised (and the acceptor woken).
pub(crate) fn spawn(
    listener: TcpListener,
    state: Arc<BrokerState>,
    threads: Threads,
    wrapping: Wrapping,
    stop: Arc<AtomicBool>,
) -> io::Result<JoinHandle<()>> {
    let name = match wrapping {
        Wrapping::Tcp => "stompbox-accept",
        Wrapping::WebSocketOnly => "stompbox-accept-ws",
        Wrapping::Tls(_) | Wrapping::Stalled => "stompbox-accept-tls",
    };
    thread::Builder::new()
        .name(name.into())
        .spawn(move || accept_loop(&listener, &state, &threads, &wrapping, &stop))
}

fn accept_loop(
    listener: &TcpListener,
    state: &Arc<BrokerState>,
    threads: &Threads,
    wrapping: &Wrapping,
    stop: &AtomicBool,
) {
    let mut spare = Spare::open();
    // Held open, unanswered, until the broker stops (a stalled handshake).
    let mut stalled: std::collections::VecDeque<TcpStream> = Default::default();
    loop {
        let accepted = listener.accept();
        if state.is_shutting_down() || stop.load(Ordering::SeqCst) {
            return;
        }
        match accepted {
            Ok((stream, _)) if matches!(wrapping, Wrapping::Stalled) => {
                stalled.push_back(stream);
                if stalled.len() > STALLED {
                    stalled.pop_front();
                }
            }
            Ok((stream, _)) => {
                if let Some(max) = state.config.max_connections {
                    if state.read(|j| j.live.connection_count()) >= max {
                        if let Ok(handle) = refuse(stream, max) {
                            threads.add(handle);
                        }
                        continue;
                    }
                }
                if let Ok(reader) = start_connection(state, stream, wrapping) {
                    threads.add(reader);
                }
            }
            // Out of file descriptors: the client waiting would hear nothing
            // until some are free, so the spare one answers it (ERROR, close).
            Err(e) if is_out_of_descriptors(&e) => {
                spare.answer(listener, &e);
                thread::sleep(Duration::from_millis(5));
            }
            // Out of memory and the like: back off briefly rather than
            // spin, then try again.
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// The most connections a stalled TLS port holds unanswered.
const STALLED: usize = 256;

fn is_out_of_descriptors(error: &io::Error) -> bool {
    // EMFILE (this process) and ENFILE (the system), the same on Linux and
    // the BSDs.
    matches!(error.raw_os_error(), Some(23 | 24))
}

/// A file descriptor kept in reserve: at the descriptor limit it is let go
/// for a moment, so that one waiting connection can be accepted and told
/// why it cannot be served, rather than left in silence.
struct Spare(Option<std::fs::File>);

impl Spare {
    fn open() -> Spare {
        Spare(std::fs::File::open("/dev/null").ok())
    }

    fn answer(&mut self, listener: &TcpListener, error: &io::Error) {
        if self.0.take().is_none() {
            *self = Spare::open();
            return;
        }
        // Linux reports the limit before looking for a connection: there may
        // be none waiting, and this accept must not block without the spare.
        if listener.set_nonblocking(true).is_ok() {
            if let Ok((stream, _)) = listener.accept() {
                let message = format!("the broker cannot serve another connection now: {error}");
                refuse_at_once(stream, &message);
            }
            let _ = listener.set_nonblocking(false);
        }
        *self = Spare::open();
    }
}

/// Answers a connection that cannot be served with an ERROR and closes it,
/// without blocking and without a thread: what the client already sent is
/// read first, so the close does not turn into a reset that would lose the
/// ERROR.
fn refuse_at_once(mut stream: TcpStream, message: &str) {
    let _ = stream.set_nonblocking(true);
    let mut sink = [0u8; 4096];
    while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
    let error = replies::error(message, "", None, &[]);
    let _ = stream.write_all(&error.encode(None));
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// Answers a connection past the limit with an ERROR and closes it. A
/// short-lived thread waits (at most a second) for the client to close first,
/// so that unread CONNECT bytes do not turn the close into a reset that
/// would lose the ERROR.
fn refuse(mut stream: TcpStream, max: usize) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("stompbox-refuse".into())
        .spawn(move || {
            let message = format!("too many connections: at most {max}");
            let error = replies::error(message, "", None, &[]);
            // No version is negotiated yet: no escaping (as for any ERROR before CONNECTED).
            let _ = stream.write_all(&error.encode(None));
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        })
}

/// Starts the writer and the reader (session) of a new connection.
fn start_connection(
    state: &Arc<BrokerState>,
    stream: TcpStream,
    wrapping: &Wrapping,
) -> io::Result<JoinHandle<()>> {
    let transport = wrapping.transport(stream)?;
    let conn = state.next_conn_id();
    let (outbox, conduit, backlog) = Outbox::new();
    state.update(|j| {
        j.history.opened(conn, transport.peer(), transport.kind());
        j.live.add_connection(conn, outbox, transport.clone());
    });
    let writer = Writer {
        state: state.clone(),
        conn,
        transport: transport.clone(),
        conduit: conduit.clone(),
        backlog: backlog.clone(),
    };
    let forget = |state: &BrokerState| {
        state.update(|j| {
            j.live.detach_connection(conn, &mut j.history);
            j.live.remove_connection(conn);
            j.history.closed(conn, CloseReason::BrokerShutdown);
        });
    };
    let writer = match thread::Builder::new()
        .name(format!("stompbox-write-{conn}"))
        .spawn(move || writer.run())
    {
        Ok(handle) => handle,
        Err(e) => {
            forget(state);
            return Err(e);
        }
    };
    let reader = Reader {
        state: state.clone(),
        conn,
        transport,
        session: Session::new(state.clone(), conn),
        writer,
        conduit,
        backlog,
    };
    let started = thread::Builder::new()
        .name(format!("stompbox-conn-{conn}"))
        .spawn(move || reader.run());
    if started.is_err() {
        // Detaching ends the writer; the transport closes.
        forget(state);
    }
    started
}
