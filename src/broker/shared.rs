//! What every thread of one broker shares: its configuration, the router,
//! counters and the registry of open sockets.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::faults::Faults;
use super::router::Router;
use super::traffic::{Direction, Observer, Traffic};
use crate::auth::{AllowAll, Authenticator, Users};
use crate::journal::{JournalLimits, Recorder};
use crate::permissions::{LivePermissions, Permissions};
use crate::rules::SessionRules;
use crate::{DestinationRules, Frame, Limits};

/// A connection's number, unique within one broker.
pub(crate) type ConnId = u64;

/// The settings a [`BrokerBuilder`](super::BrokerBuilder) collects.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) bind: SocketAddr,
    pub(crate) server_name: String,
    /// `None`: agree to whatever heart-beats the client asks for (as RabbitMQ).
    pub(crate) heart_beat: Option<(u32, u32)>,
    pub(crate) limits: Limits,
    pub(crate) destinations: DestinationRules,
    /// Outbound bytes a connection may have queued before it is disconnected.
    pub(crate) max_backlog: usize,
    /// Outbound bytes above which queues stop dispatching to a connection.
    pub(crate) dispatch_watermark: usize,
    /// How long a new connection may take to send its CONNECT frame.
    pub(crate) connect_timeout: Duration,
    pub(crate) observer: Option<Observer>,
    /// Whether the journal keeps history (messages, frames...).
    pub(crate) recording: bool,
    pub(crate) journal_limits: JournalLimits,
    pub(crate) authenticator: Arc<dyn Authenticator>,
    /// Users known at start (login or AccessKey, passcode or secret).
    pub(crate) users: Vec<(String, String)>,
    pub(crate) permissions: Permissions,
    pub(crate) rules: SessionRules,
    /// Most messages that may wait on one queue; a SEND past it is an ERROR.
    pub(crate) max_queue_depth: Option<usize>,
    /// Most open connections; one more is answered with an ERROR and closed.
    pub(crate) max_connections: Option<usize>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            server_name: format!("stompbox/{}", env!("CARGO_PKG_VERSION")),
            heart_beat: None,
            limits: Limits::default(),
            destinations: DestinationRules::default(),
            max_backlog: 64 * 1024 * 1024,
            dispatch_watermark: 512 * 1024,
            connect_timeout: Duration::from_secs(10),
            observer: None,
            recording: true,
            journal_limits: JournalLimits::default(),
            authenticator: Arc::new(AllowAll),
            users: Vec::new(),
            permissions: Permissions::default(),
            rules: SessionRules::default(),
            max_queue_depth: None,
            max_connections: None,
        }
    }
}

/// The state of one running broker.
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) router: Mutex<Router>,
    pub(crate) journal: Arc<Recorder>,
    pub(crate) shutting_down: AtomicBool,
    /// Users, editable while the broker runs.
    pub(crate) users: Users,
    /// Grants, editable while the broker runs.
    pub(crate) permissions: LivePermissions,
    /// Failures the test has armed.
    pub(crate) faults: Faults,
    next_conn: AtomicU64,
    next_message: AtomicU64,
    /// A clone of each open connection's socket, so shutdown can close it.
    streams: Mutex<HashMap<ConnId, TcpStream>>,
}

impl Shared {
    pub(crate) fn new(config: Config) -> Arc<Shared> {
        let journal = Recorder::new(config.journal_limits, config.recording);
        let users = Users::default();
        for (login, passcode) in &config.users {
            users.insert(login.clone(), passcode.clone());
        }
        Arc::new(Shared {
            router: Mutex::new(Router::new(&config, journal.clone())),
            journal,
            users,
            permissions: LivePermissions::new(config.permissions.clone()),
            faults: Faults::default(),
            config,
            shutting_down: AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            next_message: AtomicU64::new(1),
            streams: Mutex::new(HashMap::new()),
        })
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutting_down.load(Ordering::Acquire)
    }

    pub(crate) fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// A fresh `message-id`, unique within this broker.
    pub(crate) fn next_message_id(&self) -> String {
        format!("m-{}", self.next_message.fetch_add(1, Ordering::Relaxed))
    }

    pub(crate) fn register_stream(&self, conn: ConnId, stream: TcpStream) {
        self.streams.lock().insert(conn, stream);
    }

    /// How many connections are open.
    pub(crate) fn open_connections(&self) -> usize {
        self.streams.lock().len()
    }

    pub(crate) fn forget_stream(&self, conn: ConnId) {
        self.streams.lock().remove(&conn);
    }

    /// Tells the traffic observer, if there is one, about a frame (or a
    /// heart-beat, `None`) on connection `conn`.
    pub(crate) fn notify(&self, conn: ConnId, direction: Direction, frame: Option<&Frame>) {
        if let Some(observer) = &self.config.observer {
            observer(&Traffic {
                connection: conn,
                direction,
                frame,
            });
        }
    }

    /// Shuts down every open socket, which ends each connection's threads.
    /// The close is abortive (a reset): a client blocked writing to the
    /// stopped broker learns it at once, not after TCP's zero-window probes
    /// give up (minutes, seen under load).
    pub(crate) fn close_all_streams(&self) {
        for stream in self.streams.lock().values() {
            let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}
