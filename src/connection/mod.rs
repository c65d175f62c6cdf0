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
