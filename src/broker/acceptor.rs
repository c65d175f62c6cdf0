//! The accept loop and the threads it starts for each connection.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parking_lot::Mutex;

use super::outbox::{Outbox, Writer};
use super::session::Session;
use super::shared::Shared;
use crate::{Command, Frame};

/// The reader threads of live and finished connections, to be joined.
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

pub(crate) fn spawn(
    listener: TcpListener,
    shared: Arc<Shared>,
    threads: Threads,
) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("stompbox-accept".into())
        .spawn(move || accept_loop(&listener, &shared, &threads))
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>, threads: &Threads) {
    loop {
        let accepted = listener.accept();
        if shared.is_shutting_down() {
            return;
        }
        match accepted {
            Ok((stream, _)) => {
                if let Some(max) = shared.config.max_connections {
                    if shared.open_connections() >= max {
                        if let Ok(handle) = refuse(stream, max) {
                            threads.add(handle);
                        }
                        continue;
                    }
                }
                if let Ok(reader) = start_connection(shared, stream) {
                    threads.add(reader);
                }
            }
            // Out of file descriptors and the like: back off briefly rather
            // than spin, then try again.
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Answers a connection past the limit with an ERROR and closes it. A
/// short-lived thread waits (at most a second) for the client to close first,
/// so that unread CONNECT bytes do not turn the close into a reset that
/// would lose the ERROR.
fn refuse(mut stream: TcpStream, max: usize) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name("stompbox-refuse".into())
        .spawn(move || {
            let error = Frame::new(Command::Error)
                .with_header("message", format!("too many connections: at most {max}"));
            // No version is negotiated yet: no escaping (as for any ERROR before CONNECTED).
            let _ = stream.write_all(&error.encode(None));
            let _ = stream.shutdown(std::net::Shutdown::Write);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
            let mut sink = [0u8; 4096];
            while matches!(stream.read(&mut sink), Ok(n) if n > 0) {}
        })
}

/// Starts the writer and the reader (session) of a new connection.
fn start_connection(shared: &Arc<Shared>, stream: TcpStream) -> io::Result<JoinHandle<()>> {
    let _ = stream.set_nodelay(true);
    let conn = shared.next_conn_id();
    let peer = stream.peer_addr()?;
    let transcript = shared.journal.update(|j| j.opened(conn, peer));
    let (outbox, rx) = Outbox::new();
    let writer = Writer::new(
        shared.clone(),
        conn,
        stream.try_clone()?,
        &outbox,
        rx,
        transcript.clone(),
    );
    shared.register_stream(conn, stream.try_clone()?);
    shared.router.lock().add_connection(conn, outbox.clone());
    let writer = match thread::Builder::new()
        .name(format!("stompbox-write-{conn}"))
        .spawn(move || writer.run())
    {
        Ok(handle) => handle,
        Err(e) => {
            shared.router.lock().remove_connection(conn);
            shared.forget_stream(conn);
            return Err(e);
        }
    };
    let session = Session::new(shared.clone(), conn, stream, outbox, writer, transcript);
    let reader = thread::Builder::new()
        .name(format!("stompbox-conn-{conn}"))
        .spawn(move || session.run());
    if reader.is_err() {
        // Dropping the router's outbox ends the writer; the socket closes.
        shared.router.lock().remove_connection(conn);
        shared.forget_stream(conn);
    }
    reader
}
