//! The broker's listening sockets (the STOMP port, and the WebSocket-only
//! and TLS ports when asked for), each with its acceptor thread, which can
//! be stopped and started again on the same port (a pause, a restart).

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use crate::connection::Threads;
use crate::connection::acceptor::{self, Wrapping};
use crate::state::BrokerState;

/// One listening port and its acceptor, while it runs.
pub(super) struct Listener {
    pub(super) addr: SocketAddr,
    wrapping: Wrapping,
    running: Option<Running>,
}

struct Running {
    acceptor: JoinHandle<()>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    /// Starts accepting on `listener`.
    pub(super) fn spawn(
        listener: TcpListener,
        wrapping: Wrapping,
        state: &Arc<BrokerState>,
        threads: &Threads,
    ) -> io::Result<Listener> {
        let mut this = Listener {
            addr: listener.local_addr()?,
            wrapping,
            running: None,
        };
        this.run(listener, state, threads)?;
        Ok(this)
    }

    fn run(
        &mut self,
        listener: TcpListener,
        state: &Arc<BrokerState>,
        threads: &Threads,
    ) -> io::Result<()> {
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = acceptor::spawn(
            listener,
            state.clone(),
            threads.clone(),
            self.wrapping.clone(),
            stop.clone(),
        )?;
        self.running = Some(Running { acceptor, stop });
        Ok(())
    }

    /// Stops accepting and closes the port: connecting is refused.
    pub(super) fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop.store(true, Ordering::SeqCst);
            wake(self.addr);
            let _ = running.acceptor.join();
        }
    }

    /// Listens again, on the same port.
    pub(super) fn resume(&mut self, state: &Arc<BrokerState>, threads: &Threads) -> io::Result<()> {
        if self.running.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr)?;
        self.run(listener, state, threads)
    }
}

/// Connects to `addr` (loopback for an unspecified address) so that its
/// acceptor returns from accept().
fn wake(mut addr: SocketAddr) {
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    drop(TcpStream::connect(addr));
}
