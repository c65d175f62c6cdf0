//! The threads of one connection, written against
//! [`Transport`](crate::transport::Transport): the reader, which decodes
//! frames and drives the connection's [`Session`](crate::session::Session),
//! and the writer, which drains the connection's outbox. Plus the acceptor,
//! which starts both for each TCP connection, and the opening, where the
//! reader tells STOMP from a WebSocket upgrade.

pub(crate) mod acceptor;
mod opening;
mod reader;
mod writer;

pub(crate) use acceptor::Threads;

use crate::journal::ConnectionId;
use crate::state::BrokerState;

/// Holds the calling thread (a connection's reader or writer) while a
/// black-hole fault holds connection `conn`: until the fault goes, the
/// connection closes (a kick, a restart) or the broker stops.
pub(crate) fn wait_out_black_hole(state: &BrokerState, conn: ConnectionId) {
    if !state.faults.acts_on_connections() {
        return;
    }
    state
        .faults
        .wait_out_black_hole(conn, &mut || state.identity(conn), &|| {
            state.is_shutting_down() || state.read(|j| j.live.is_closing(conn))
        });
}
