//! The TOML config file, merged with the command line (which wins), and
//! turned into a broker.
//!
//! ```toml
//! profile = "default"            # or "activemq", "rabbitmq", "rocketmq"
//! vhosts = ["localhost"]         # hosts a CONNECT may name besides "/" (checked by rabbitmq)
//! exchanges = ["orders", "events:fanout"]  # the rabbitmq profile's /exchange/NAME, besides amq.*: NAME[:topic|direct|fanout]
//! max_redeliveries = 6           # then the dead-letter queue; "none": no limit
//! dead_letter_queue = "/queue/ActiveMQ.DLQ"  # or "none": messages given up on are dropped
//! bind = "127.0.0.1"
//! port = 61613                   # 0: a free port
//! http_port = 8080               # the HTTP inspection API; off if absent
//! http_token = "s3cret"          # then every request needs Authorization: Bearer s3cret
//! log = "frames"                 # off | connections | frames | all
//! heart_beat = [0, 0]            # the broker's offer, in ms
//! heart_beat_floor = 100         # the shortest interval agreed to, in ms (0: none)
//! ws_port = 15674                # a WebSocket-only port too (0: a free port)
//! tls_port = 61614               # STOMP and WebSocket over TLS too (0: a free port)
//! tls_cert = "server.pem"        # with tls_key; default: a throwaway CA and certificate
//! tls_key = "server-key.pem"
//! tls_problem = "expired"        # or wrong-host, unknown-ca, stalled-handshake: on purpose
//! tls_client_certificates = true # mutual TLS: certificates the broker's CA issued
//! issue_client_certs = ["alice"] # issued at start, files named by the ready line
//! websocket_path = "/ws"         # STOMP over WebSocket only there (default: any path)
//! websocket_origins = ["http://localhost:3000"]  # browsers' origins allowed (default: any)
//! websocket_replies = "binary"   # or text (the default), mirror: the client's latest type
//!
//! [[users]]
//! login = "alice"
//! passcode = "secret"
//!
//! [[faults]]                     # armed at start, as POST /faults takes them
//! kind = "delay"
//! ms = 200
//! command = "RECEIPT"
//! times = "always"
//!
//! [[grants]]
//! principal = "alice"
//! topic = "/queue/orders.*"
//! access = "PUB+SUB"
//!
//! [destinations]
//! default = "queue"              # queue | topic
//! topics = ["/topic/", "/exchange/"]
//! queues = ["/queue/"]
//!
//! [limits]
//! max_frame_size = 1048576
//! max_headers = 1000
//! max_header_line = 10240
//! max_outbound_backlog = 67108864
//! max_open_transactions = 10
//! max_messages_per_transaction = 100
//! max_queue_depth = 10000
//! max_queue_bytes = 134217728
//! max_transaction_bytes = 67108864
//! memory_budget = 536870912
//! max_connections = 1000
//! max_subscriptions_per_connection = 10000
//! connect_timeout_ms = 10000
//! refuse_selectors = false
//!
//! [journal]
//! recording = true
//! messages = 100000
//! bytes = 268435456
//! frames_per_connection = 10000
//! closed = 10000
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::Path;

use serde::Deserialize;
use stompbox::destination::{DestinationKind, DestinationRules};
use stompbox::frame::Limits;
use stompbox::journal::JournalLimits;
use stompbox::{Broker, BrokerBuilder};

use super::args::{LogLevel, Profile, Serve, parse_access};

/// Everything the broker is started with, after merging.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Settings {
    pub(crate) profile: Option<Profile>,
    pub(crate) vhosts: Option<Vec<String>>,
    pub(crate) exchanges: Option<Vec<String>>,
    pub(crate) max_redeliveries: Option<CountOrNone>,
    pub(crate) dead_letter_queue: Option<String>,
    pub(crate) bind: Option<IpAddr>,
    pub(crate) port: Option<u16>,
    pub(crate) http_port: Option<u16>,
    /// Requests to the HTTP API must carry `Authorization: Bearer TOKEN`.
    pub(crate) http_token: Option<String>,
    pub(crate) log: Option<LogLevel>,
    pub(crate) heart_beat: Option<(u32, u32)>,
    pub(crate) heart_beat_floor: Option<u32>,
    pub(crate) websocket_path: Option<String>,
    pub(crate) websocket_origins: Option<Vec<String>>,
    pub(crate) websocket_replies: Option<super::args::WebSocketRepliesArg>,
    pub(crate) ws_port: Option<u16>,
    pub(crate) tls_port: Option<u16>,
    pub(crate) tls_cert: Option<std::path::PathBuf>,
    pub(crate) tls_key: Option<std::path::PathBuf>,
    pub(crate) tls_problem: Option<super::args::TlsProblemArg>,
    pub(crate) tls_client_certificates: Option<bool>,
    #[serde(default)]
    pub(crate) issue_client_certs: Vec<String>,
    /// Faults armed at start, as the HTTP API's `POST /faults` takes them.
    #[serde(default, deserialize_with = "fault_rules")]
    pub(crate) faults: Vec<FaultRule>,
    #[serde(default)]
    users: Vec<User>,
    #[serde(default)]
    grants: Vec<Grant>,
    destinations: Option<Destinations>,
    limits: Option<LimitSettings>,
    journal: Option<JournalSettings>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct User {
    login: String,
    passcode: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Grant {
    principal: String,
    topic: String,
    /// Read as it is deserialized, so a bad one names its line.
    #[serde(deserialize_with = "access")]
    access: stompbox::auth::Access,
}

fn access<'de, D: serde::Deserializer<'de>>(d: D) -> Result<stompbox::auth::Access, D::Error> {
    let text = String::deserialize(d)?;
    parse_access(&text).map_err(serde::de::Error::custom)
}

/// A `[[faults]]` table, read as `POST /faults` reads its JSON.
#[derive(Debug)]
pub(crate) struct FaultRule(pub(crate) stompbox::Fault);

/// The `[[faults]]` tables, read as they are deserialized, so a bad one
/// names the file, its place and which table it is.
fn fault_rules<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<FaultRule>, D::Error> {
    let rules = Vec::<serde_json::Value>::deserialize(d)?;
    let read = |(n, rule): (usize, &serde_json::Value)| {
        let fault = super::faults::parse(rule).and_then(|fault| match fault.problem() {
            Some(problem) => Err(problem),
            None => Ok(FaultRule(fault)),
        });
        fault.map_err(|e| format!("[[faults]] table {}: {e}", n + 1))
    };
    rules
        .iter()
        .enumerate()
        .map(read)
        .collect::<Result<_, _>>()
        .map_err(serde::de::Error::custom)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Destinations {
    default: Option<Kind>,
    #[serde(default)]
    topics: Vec<String>,
    #[serde(default)]
    queues: Vec<String>,
}

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Kind {
    Queue,
    Topic,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitSettings {
    max_frame_size: Option<usize>,
    max_headers: Option<usize>,
    max_header_line: Option<usize>,
    max_outbound_backlog: Option<usize>,
    max_open_transactions: Option<usize>,
    max_messages_per_transaction: Option<usize>,
    refuse_selectors: Option<bool>,
    max_queue_depth: Option<usize>,
    max_queue_bytes: Option<usize>,
    max_transaction_bytes: Option<usize>,
    memory_budget: Option<usize>,
    max_connections: Option<usize>,
    max_subscriptions_per_connection: Option<usize>,
    connect_timeout_ms: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JournalSettings {
    recording: Option<bool>,
    messages: Option<usize>,
    frames_per_connection: Option<usize>,
    bytes: Option<usize>,
    closed: Option<usize>,
}

impl Settings {
    /// Reads `path`; the error names the file and, for bad content, the
    /// line and column.
    pub(crate) fn load(path: &Path) -> Result<Settings, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|span| {
                    let line = text[..span.start].matches('\n').count() + 1;
                    let column =
                        span.start - text[..span.start].rfind('\n').map_or(0, |i| i + 1) + 1;
                    format!(":{line}:{column}")
                })
                .unwrap_or_default();
            format!("bad config file {}{at}: {}", path.display(), e.message())
        })
    }

    /// The command line's options over these.
    pub(crate) fn merge(mut self, args: &Serve) -> Result<Settings, String> {
        self.profile = args.profile.or(self.profile);
        if !args.vhosts.is_empty() {
            self.vhosts = Some(args.vhosts.clone());
        }
        if !args.exchanges.is_empty() {
            self.exchanges = Some(args.exchanges.clone());
        }
        if let Some(limit) = args.max_redeliveries {
            self.max_redeliveries = Some(CountOrNone::from(limit.0));
        }
        self.dead_letter_queue = args.dead_letter_queue.clone().or(self.dead_letter_queue);
        self.bind = args.bind.or(self.bind);
        self.port = args.port.or(self.port);
        self.http_port = args.http_port.or(self.http_port);
        self.http_token = args.http_token.clone().or(self.http_token);
        self.heart_beat = args.heart_beat.or(self.heart_beat);
        self.heart_beat_floor = args.heart_beat_floor.or(self.heart_beat_floor);
        self.websocket_path = args.websocket_path.clone().or(self.websocket_path);
        self.ws_port = args.ws_port.or(self.ws_port);
        self.websocket_replies = args.websocket_replies.or(self.websocket_replies);
        self.tls_port = args.tls_port.or(self.tls_port);
        self.tls_cert = args.tls_cert.clone().or(self.tls_cert);
        self.tls_key = args.tls_key.clone().or(self.tls_key);
        self.tls_problem = args.tls_problem.or(self.tls_problem);
        if args.tls_client_certificates {
            self.tls_client_certificates = Some(true);
        }
        self.issue_client_certs
            .extend(args.issue_client_certs.iter().cloned());
        if !args.websocket_origins.is_empty() {
            self.websocket_origins = Some(args.websocket_origins.clone());
        }
        let limits = self.limits.get_or_insert_with(LimitSettings::default);
        limits.max_queue_depth = args.max_queue_depth.or(limits.max_queue_depth);
        limits.max_queue_bytes = args.max_queue_bytes.or(limits.max_queue_bytes);
        limits.max_transaction_bytes = args.max_transaction_bytes.or(limits.max_transaction_bytes);
        limits.memory_budget = args.memory_budget.or(limits.memory_budget);
        limits.max_connections = args.max_connections.or(limits.max_connections);
        limits.max_subscriptions_per_connection = args
            .max_subscriptions_per_connection
            .or(limits.max_subscriptions_per_connection);
        limits.connect_timeout_ms = args.connect_timeout_ms.or(limits.connect_timeout_ms);
        limits.max_frame_size = args.max_frame_size.or(limits.max_frame_size);
        limits.max_headers = args.max_headers.or(limits.max_headers);
        limits.max_header_line = args.max_header_line.or(limits.max_header_line);
        limits.max_outbound_backlog = args.max_outbound_backlog.or(limits.max_outbound_backlog);
        limits.max_open_transactions = args.max_open_transactions.or(limits.max_open_transactions);
        limits.max_messages_per_transaction = args
            .max_messages_per_transaction
            .or(limits.max_messages_per_transaction);
        let journal_flags = [
            args.journal_messages,
            args.journal_bytes,
            args.journal_frames_per_connection,
            args.journal_closed,
        ];
        if journal_flags.iter().any(Option::is_some) {
            let journal = self.journal.get_or_insert_with(JournalSettings::default);
            journal.messages = args.journal_messages.or(journal.messages);
            journal.bytes = args.journal_bytes.or(journal.bytes);
            journal.frames_per_connection = args
                .journal_frames_per_connection
                .or(journal.frames_per_connection);
            journal.closed = args.journal_closed.or(journal.closed);
        }
        self.log = if args.quiet {
            Some(LogLevel::Off)
        } else {
            args.log.or(self.log)
        };
        for (login, passcode) in &args.users {
            self.users.push(User {
                login: login.clone(),
                passcode: passcode.clone(),
            });
        }
        for (principal, topic, access) in &args.grants {
            self.grants.push(Grant {
                principal: principal.clone(),
                topic: topic.clone(),
                access: *access,
            });
        }
        Ok(self)
    }

    pub(crate) fn stomp_addr(&self) -> SocketAddr {
        SocketAddr::new(
            self.bind.unwrap_or(IpAddr::from([127, 0, 0, 1])),
            self.port.unwrap_or(61613),
        )
    }

    /// What is open that the user may not mean to leave open, one sentence
    /// each, for stderr at start.
    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        let rocketmq = self.profile == Some(Profile::Rocketmq);
        if !self.grants.is_empty() && self.users.is_empty() && !rocketmq {
            warnings.push(
                "grants are set but no user is: any client can claim any login without a \
                 passcode (add --user LOGIN:PASSCODE)"
                    .to_owned(),
            );
        }
        if self.http_port.is_some()
            && !self.stomp_addr().ip().is_loopback()
            && self.http_token.is_none()
        {
            warnings.push(format!(
                "the HTTP API listens on {} beyond loopback with no authentication: anyone who \
                 can reach it can read transcripts, inject messages and reset the journal \
                 (add --http-token TOKEN)",
                self.stomp_addr().ip()
            ));
        }
        warnings
    }

    pub(crate) fn log_level(&self) -> LogLevel {
        self.log.unwrap_or(LogLevel::Frames)
    }

    /// A builder with every setting applied.
    pub(crate) fn builder(&self) -> Result<BrokerBuilder, String> {
        let mut builder = Broker::builder().bind(self.stomp_addr());
        builder = match self.profile {
            Some(Profile::Rocketmq) => builder.rocketmq(),
            Some(Profile::Activemq) => builder.activemq(),
            Some(Profile::Rabbitmq) => builder.rabbitmq(),
            Some(Profile::Default) | None => builder,
        };
        for vhost in self.vhosts.iter().flatten() {
            builder = builder.vhost(vhost.clone());
        }
        for exchange in self.exchanges.iter().flatten() {
            builder = declare_exchange(builder, exchange)?;
        }
        if let Some(limit) = &self.max_redeliveries {
            builder = builder.max_redeliveries(limit.count()?);
        }
        if let Some(queue) = &self.dead_letter_queue {
            builder = builder.dead_letter_queue((queue != "none").then_some(queue.as_str()));
        }
        if let Some(floor) = self.heart_beat_floor {
            builder = builder.heart_beat_floor(floor);
        }
        if let Some(path) = &self.websocket_path {
            builder = builder.websocket_path(path.clone());
        }
        if let Some(port) = self.ws_port {
            builder = builder.ws_port(port);
        }
        if let Some(replies) = self.websocket_replies {
            builder = builder.websocket_replies(replies.into());
        }
        if let Some(port) = self.tls_port {
            builder = builder.tls_port(port);
        }
        if let Some(problem) = self.tls_problem {
            builder = builder.tls_problem(problem.into());
        }
        if let Some(required) = self.tls_client_certificates {
            builder = builder.tls_client_certificates(required);
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                let read = |path: &std::path::Path| {
                    std::fs::read_to_string(path)
                        .map_err(|e| format!("cannot read {}: {e}", path.display()))
                };
                builder = builder.tls_identity(read(cert)?, read(key)?);
            }
            (None, None) => {}
            _ => return Err("tls_cert and tls_key go together".to_owned()),
        }
        if let Some(origins) = &self.websocket_origins {
            let origins: Vec<&str> = origins.iter().map(String::as_str).collect();
            builder = builder.websocket_origins(&origins);
        }
        if let Some((send, receive)) = self.heart_beat {
            builder = builder.heart_beat(send, receive);
        }
        for user in &self.users {
            builder = builder.user(user.login.clone(), user.passcode.clone());
        }
        for grant in &self.grants {
            builder = builder.grant(&grant.principal, &grant.topic, grant.access);
        }
        if let Some(destinations) = &self.destinations {
            builder = builder.destinations(destination_rules(destinations));
        }
        if let Some(limits) = &self.limits {
            builder = apply_limits(builder, limits);
        }
        if let Some(journal) = &self.journal {
            let defaults = JournalLimits::default();
            builder = builder
                .recording(journal.recording.unwrap_or(true))
                .journal_limits(JournalLimits {
                    messages: journal.messages.unwrap_or(defaults.messages),
                    frames_per_connection: journal
                        .frames_per_connection
                        .unwrap_or(defaults.frames_per_connection),
                    bytes: journal.bytes.unwrap_or(defaults.bytes),
                    closed: journal.closed.unwrap_or(defaults.closed),
                });
        }
        Ok(builder)
    }
}

fn destination_rules(settings: &Destinations) -> DestinationRules {
    let kind = |k: Kind| match k {
        Kind::Queue => DestinationKind::Queue,
        Kind::Topic => DestinationKind::Topic,
    };
    let mut rules = DestinationRules::default();
    if let Some(default) = settings.default {
        rules = rules.with_default(kind(default));
    }
    for prefix in &settings.topics {
        rules = rules.with_prefix(prefix.clone(), DestinationKind::Topic);
    }
    for prefix in &settings.queues {
        rules = rules.with_prefix(prefix.clone(), DestinationKind::Queue);
    }
    rules
}

fn apply_limits(mut builder: BrokerBuilder, settings: &LimitSettings) -> BrokerBuilder {
    let defaults = Limits::default();
    builder = builder.limits(Limits {
        max_frame_size: settings.max_frame_size.unwrap_or(defaults.max_frame_size),
        max_headers: settings.max_headers.unwrap_or(defaults.max_headers),
        max_header_line: settings.max_header_line.unwrap_or(defaults.max_header_line),
    });
    if let Some(bytes) = settings.max_outbound_backlog {
        builder = builder.max_outbound_backlog(bytes);
    }
    if let Some(n) = settings.max_open_transactions {
        builder = builder.max_open_transactions(n);
    }
    if let Some(n) = settings.max_messages_per_transaction {
        builder = builder.max_messages_per_transaction(n);
    }
    if let Some(on) = settings.refuse_selectors {
        builder = builder.refuse_selectors(on);
    }
    if let Some(n) = settings.max_queue_depth {
        builder = builder.max_queue_depth(n);
    }
    if let Some(bytes) = settings.max_queue_bytes {
        builder = builder.max_queue_bytes(bytes);
    }
    if let Some(bytes) = settings.max_transaction_bytes {
        builder = builder.max_transaction_bytes(bytes);
    }
    if let Some(bytes) = settings.memory_budget {
        builder = builder.memory_budget(bytes);
    }
    if let Some(n) = settings.max_connections {
        builder = builder.max_connections(n);
    }
    if let Some(n) = settings.max_subscriptions_per_connection {
        builder = builder.max_subscriptions_per_connection(n);
    }
    if let Some(ms) = settings.connect_timeout_ms {
        builder = builder.connect_timeout(std::time::Duration::from_millis(ms));
    }
    builder
}

/// Declares exchange `spec`: `NAME` (a topic exchange) or `NAME:TYPE`, TYPE
/// one of `topic`, `direct`, `fanout`.
fn declare_exchange(builder: BrokerBuilder, spec: &str) -> Result<BrokerBuilder, String> {
    let (name, kind) = match spec.rsplit_once(':') {
        Some((name, kind)) if !name.is_empty() => (name, kind),
        _ => (spec, "topic"),
    };
    match kind {
        "topic" => Ok(builder.exchange(name)),
        "direct" => Ok(builder.direct_exchange(name)),
        "fanout" => Ok(builder.fanout_exchange(name)),
        other => Err(format!(
            "exchanges: '{spec}' has the type '{other}': an exchange is NAME or NAME:TYPE, TYPE one of topic, direct, fanout"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn settings(args: &[&str]) -> Settings {
        let mut argv = vec!["stompbox"];
        argv.extend_from_slice(args);
        let serve = super::super::args::Args::parse_from(argv).serve();
        Settings::default().merge(&serve).unwrap()
    }

    #[test]
    fn an_http_api_beyond_loopback_without_a_token_is_warned_about() {
        // Checked without starting anything: nothing listens beyond loopback.
        let exposed = settings(&["--bind", "0.0.0.0", "--http-port", "0"]).warnings();
        assert_eq!(exposed.len(), 1);
        assert!(exposed[0].contains("0.0.0.0 beyond loopback with no authentication"));
        let tokened = settings(&["--bind", "0.0.0.0", "--http-port", "0", "--http-token", "t"]);
        assert!(tokened.warnings().is_empty());
        assert!(settings(&["--http-port", "0"]).warnings().is_empty());
    }
}

/// A count in the config file, or `"none"` for no limit.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum CountOrNone {
    Count(u32),
    Word(String),
}

impl From<Option<u32>> for CountOrNone {
    fn from(limit: Option<u32>) -> Self {
        limit.map_or_else(|| CountOrNone::Word("none".into()), CountOrNone::Count)
    }
}

impl CountOrNone {
    fn count(&self) -> Result<Option<u32>, String> {
        match self {
            CountOrNone::Count(n) => Ok(Some(*n)),
            CountOrNone::Word(word) if word == "none" => Ok(None),
            CountOrNone::Word(word) => Err(format!(
                "max_redeliveries is a count or \"none\", got {word:?}"
            )),
        }
    }
}
