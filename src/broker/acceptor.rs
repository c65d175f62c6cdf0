//! The accept loop and the threads it starts for each connection.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use parking_lot::Mutex;

use super::outbox::{Outbox, Writer};
use super::session::Session;
use super::shared::Shared;

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
