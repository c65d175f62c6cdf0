//! A connection's first bytes decide what it is: STOMP straight away, or an
//! HTTP request, which either upgrades the connection to WebSocket (it then
//! speaks STOMP over WebSocket messages) or is answered and closed. Read by
//! the connection's own reader thread, within the CONNECT deadline, so a
//! slow or silent client holds up nobody else.

use std::io::ErrorKind;
use std::time::Instant;

use crate::journal::{CloseReason, ConnectionId};
use crate::protocol::Version;
use crate::session::Session;
use crate::state::BrokerState;
use crate::transport::Transport;
use crate::transport::handshake::{self, Answer, Served};
use crate::transport::websocket::Framing;

/// What the first bytes made of the connection.
pub(super) enum Opening {
    /// STOMP: these bytes are its start.
    Stomp(Vec<u8>),
    /// Upgraded: STOMP follows inside WebSocket messages.
    WebSocket(Upgraded),
    /// An HTTP request answered without an upgrade; the connection closes.
    Answered(CloseReason),
    /// The client closed, or the socket failed.
    Closed,
    /// Nothing (complete) arrived within the CONNECT deadline.
    Silent,
}

/// What the upgrade tells the session.
pub(super) struct Upgraded {
    /// The login and passcode of an HTTP Basic `Authorization` header.
    pub(super) credentials: Option<(String, String)>,
    /// The highest STOMP version the chosen subprotocol allows.
    pub(super) highest: Option<Version>,
}

/// Reads the connection's first bytes and acts on them.
pub(super) fn open(
    state: &BrokerState,
    conn: ConnectionId,
    transport: &dyn Transport,
    session: &Session,
) -> Opening {
    let mut first = Vec::new();
    let mut chunk = [0u8; 2048];
    loop {
        let timeout = session.read_timeout(Instant::now());
        match transport.read(&mut chunk, timeout) {
            Ok(0) => return Opening::Closed,
            Ok(n) => first.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Opening::Silent;
            }
            Err(_) => return Opening::Closed,
        }
        match handshake::looks_like_http(&first) {
            Some(false) if transport.websocket_only() => {
                let _ = transport.write_raw(&handshake::websocket_only_answer());
                transport.close_write();
                return Opening::Answered(CloseReason::HttpAnswered(400));
            }
            Some(false) => return Opening::Stomp(first),
            None => continue,
            Some(true) => {}
        }
        let served = Served {
            path: state.config.websocket_path.as_deref(),
            origins: state.config.websocket_origins.as_deref(),
            refuse_with: None,
        };
        let answer = match handshake::answer(&first, served) {
            // A complete upgrade: only now is an armed refusal used up.
            Answer::Upgrade { .. } => match state.refusals.take_upgrade() {
                Some(status) => handshake::answer(
                    &first,
                    Served {
                        refuse_with: Some(status),
                        ..served
                    },
                ),
                None => handshake::answer(&first, served),
            },
            other => other,
        };
        match answer {
            Answer::Incomplete => continue,
            Answer::Upgrade {
                response,
                info,
                rest,
                credentials,
            } => {
                if transport.write_raw(&response).is_err()
                    || !transport.upgrade_to_websocket(Framing::with_bytes(
                        &rest,
                        state.config.websocket_replies,
                    ))
                {
                    return Opening::Closed;
                }
                let highest = match info.subprotocol.as_deref() {
                    Some("v10.stomp") => Some(Version::V1_0),
                    Some("v11.stomp") => Some(Version::V1_1),
                    _ => None,
                };
                state.update(|j| j.history.upgraded(conn, transport.kind(), info));
                return Opening::WebSocket(Upgraded {
                    credentials,
                    highest,
                });
            }
            Answer::Refuse { status, response } => {
                let _ = transport.write_raw(&response);
                transport.close_write();
                return Opening::Answered(CloseReason::HttpAnswered(status));
            }
        }
    }
}
