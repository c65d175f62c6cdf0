//! The settings of one broker, as a [`BrokerBuilder`](crate::BrokerBuilder)
//! collects them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::auth::{AllowAll, Authenticator};
use crate::destination::DestinationRules;
use crate::journal::JournalLimits;
use crate::permissions::Permissions;
use crate::protocol::frame::Limits;
use crate::rules::SessionRules;
use crate::traffic::Observer;

/// The settings a [`BrokerBuilder`](crate::BrokerBuilder) collects.
#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) bind: SocketAddr,
    pub(crate) server_name: String,
    /// `None`: agree to whatever heart-beats the client asks for (as RabbitMQ).
    pub(crate) heart_beat: Option<(u32, u32)>,
    /// No heart-beat interval, either way, is shorter (ms; 0: no floor).
    pub(crate) heart_beat_floor_ms: u32,
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
    /// Where failed waits and unmet expectations also write an HTML report
    /// (`$STOMPBOX_REPORT_DIR` by default).
    pub(crate) report_dir: Option<std::path::PathBuf>,
    pub(crate) journal_limits: JournalLimits,
    pub(crate) authenticator: Arc<dyn Authenticator>,
    /// Users known at start (login or AccessKey, passcode or secret).
    pub(crate) users: Vec<(String, String)>,
    pub(crate) permissions: Permissions,
    pub(crate) rules: SessionRules,
    /// Where this broker behaves as ActiveMQ, RabbitMQ or the RocketMQ gateway.
    pub(crate) semantics: crate::dialect::Semantics,
    /// Most messages that may wait on one queue; a SEND past it is an ERROR.
    pub(crate) max_queue_depth: Option<usize>,
    /// Most bytes of messages that may wait on one queue.
    pub(crate) max_queue_bytes: usize,
    /// Most bytes of messages one open transaction may buffer.
    pub(crate) max_transaction_bytes: usize,
    /// What the broker's messages and journal may occupy, all told.
    pub(crate) memory_budget: usize,
    /// Most open connections; one more is answered with an ERROR and closed.
    pub(crate) max_connections: Option<usize>,
    /// Most subscriptions one connection may hold; one more is an ERROR.
    pub(crate) max_subscriptions: usize,
    /// The one path WebSocket upgrades are served at (`None`: any).
    pub(crate) websocket_path: Option<String>,
    /// The origins a browser's WebSocket upgrade may come from (`None`: any).
    pub(crate) websocket_origins: Option<Vec<String>>,
    /// Which WebSocket message type carries the broker's frames.
    pub(crate) websocket_replies: crate::WebSocketReplies,
    /// A WebSocket-only listener's port (0: a free one); `None`: none.
    pub(crate) ws_port: Option<u16>,
    /// A TLS listener's port (0: a free one); `None`: no TLS.
    pub(crate) tls_port: Option<u16>,
    /// The TLS certificate chain and key, in PEM (`None`: made at start).
    pub(crate) tls_identity: Option<(String, String)>,
    /// Something wrong with the TLS port, on purpose.
    pub(crate) tls_problem: Option<crate::tls::TlsProblem>,
    /// The TLS port requires client certificates the broker's CA issued.
    pub(crate) tls_client_certificates: bool,
    /// The seed of the faults' random choices.
    pub(crate) seed: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            server_name: format!("stompbox/{}", env!("CARGO_PKG_VERSION")),
            heart_beat: None,
            heart_beat_floor_ms: 100,
            limits: Limits::default(),
            destinations: DestinationRules::default(),
            max_backlog: 64 * 1024 * 1024,
            dispatch_watermark: 512 * 1024,
            connect_timeout: Duration::from_secs(10),
            observer: None,
            recording: true,
            report_dir: std::env::var_os("STOMPBOX_REPORT_DIR")
                .filter(|dir| !dir.is_empty())
                .map(Into::into),
            journal_limits: JournalLimits::default(),
            authenticator: Arc::new(AllowAll),
            users: Vec::new(),
            permissions: Permissions::default(),
            rules: SessionRules::default(),
            semantics: crate::dialect::Semantics::default(),
            max_queue_depth: None,
            max_queue_bytes: 128 * 1024 * 1024,
            max_transaction_bytes: 64 * 1024 * 1024,
            memory_budget: 512 * 1024 * 1024,
            max_connections: Some(4_096),
            max_subscriptions: 10_000,
            websocket_path: None,
            websocket_origins: None,
            websocket_replies: crate::WebSocketReplies::Text,
            ws_port: None,
            tls_port: None,
            tls_identity: None,
            tls_problem: None,
            tls_client_certificates: false,
            seed: default_seed(),
        }
    }
}

/// `STOMPBOX_SEED` if set (so a failing run can be replayed), else a fresh
/// one from the clock.
fn default_seed() -> u64 {
    if let Some(seed) = std::env::var("STOMPBOX_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
    {
        return seed;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    // Distinct for brokers started in the same nanosecond, too.
    static STARTED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let nth = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (now.as_nanos() as u64) ^ nth.rotate_left(48) ^ u64::from(std::process::id())
}

impl Config {
    /// Refuses settings under which the broker could not work: a bound of 0
    /// where 0 would refuse everything (every CONNECT, every queued message,
    /// every connection) rather than mean "none".
    pub(crate) fn validate(&self) -> Result<(), String> {
        let zero = |what: &str, why: &str| Err(format!("{what} is 0: {why}"));
        if self.limits.max_headers == 0 {
            return zero("limits.max_headers", "every CONNECT would be refused");
        }
        if self.limits.max_header_line == 0 {
            return zero("limits.max_header_line", "no command line would fit");
        }
        if self.max_backlog == 0 {
            return zero(
                "max_outbound_backlog",
                "every client would be disconnected at its first frame",
            );
        }
        if self.max_queue_depth == Some(0) {
            return zero("max_queue_depth", "every SEND to a queue would be refused");
        }
        if self.max_queue_bytes == 0 {
            return zero("max_queue_bytes", "every SEND to a queue would be refused");
        }
        if self.max_transaction_bytes == 0 {
            return zero(
                "max_transaction_bytes",
                "every SEND in a transaction would be refused",
            );
        }
        if self.memory_budget == 0 {
            return zero("memory_budget", "every SEND would be refused");
        }
        if self.max_connections == Some(0) {
            return zero("max_connections", "every connection would be refused");
        }
        if self.max_subscriptions == 0 {
            return zero(
                "max_subscriptions_per_connection",
                "every SUBSCRIBE would be refused",
            );
        }
        if self.connect_timeout.is_zero() {
            return zero("connect_timeout", "every connection would time out at once");
        }
        Ok(())
    }
}
