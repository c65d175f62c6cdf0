//! The command line.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use stompbox::auth::Access;

/// A STOMP 1.0/1.1/1.2 broker for tests: run it, point clients at it, ask
/// it over HTTP what it saw.
#[derive(Debug, Parser)]
#[command(name = "stompbox", version, about, long_about = None)]
pub(crate) struct Args {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
    #[command(flatten)]
    pub(crate) serve: Serve,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Start the broker (what `stompbox` alone does).
    Serve(Serve),
}

/// Options of `stompbox [serve]`; each overrides the config file.
#[derive(Debug, Default, Clone, clap::Args)]
pub(crate) struct Serve {
    /// STOMP port; 0 picks a free one [default: 61613].
    #[arg(long, short)]
    pub(crate) port: Option<u16>,
    /// Address to listen on [default: 127.0.0.1].
    #[arg(long)]
    pub(crate) bind: Option<IpAddr>,
    /// HTTP inspection API port (0 picks a free one); off unless given.
    #[arg(long)]
    pub(crate) http_port: Option<u16>,
    /// A TOML config file: users, grants, destinations, limits, profile.
    #[arg(long, short, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// Rules to follow [default: default].
    #[arg(long, value_enum)]
    pub(crate) profile: Option<Profile>,
    /// A virtual host a CONNECT's `host` may name (`/` is always there);
    /// repeatable. The rabbitmq profile checks `host`; this makes any do.
    #[arg(long = "vhost", value_name = "NAME")]
    pub(crate) vhosts: Vec<String>,
    /// An exchange for the rabbitmq profile's `/exchange/NAME/KEY`: NAME
    /// (a topic exchange) or NAME:TYPE, TYPE topic, direct or fanout (the
    /// amq.* ones are there); repeatable.
    #[arg(long = "exchange", value_name = "NAME[:TYPE]")]
    pub(crate) exchanges: Vec<String>,
    /// Redeliveries before a message goes to the dead-letter queue, or
    /// `none` for no limit [default: 6, as ActiveMQ; rabbitmq profile: none].
    #[arg(long, value_name = "N|none", value_parser = parse_limit)]
    pub(crate) max_redeliveries: Option<Limit>,
    /// Where messages given up on go, or `none` to drop them
    /// [default: /queue/ActiveMQ.DLQ; rabbitmq profile: none].
    #[arg(long, value_name = "DESTINATION|none")]
    pub(crate) dead_letter_queue: Option<String>,
    /// A user, LOGIN:PASSCODE (with `--profile rocketmq`: ACCESS_KEY:SECRET).
    /// Repeatable; any user turns on authentication.
    #[arg(long = "user", value_name = "LOGIN:PASSCODE", value_parser = parse_user)]
    pub(crate) users: Vec<(String, String)>,
    /// A permission, PRINCIPAL:TOPIC:ACCESS with ACCESS one of PUB, SUB,
    /// PUB+SUB; `*` in TOPIC matches anything. Repeatable; any grant turns on
    /// permission checks.
    #[arg(long = "grant", value_name = "PRINCIPAL:TOPIC:ACCESS", value_parser = parse_grant)]
    pub(crate) grants: Vec<(String, String, Access)>,
    /// Heart-beats the broker offers, SEND_MS,RECEIVE_MS (default: agree to
    /// whatever the client asks).
    #[arg(long, value_name = "SEND_MS,RECEIVE_MS", value_parser = parse_heart_beat)]
    pub(crate) heart_beat: Option<(u32, u32)>,
    /// Require `Authorization: Bearer TOKEN` on every HTTP API request
    /// (otherwise 401).
    #[arg(long, value_name = "TOKEN")]
    pub(crate) http_token: Option<String>,
    /// The shortest heart-beat interval agreed to, either way, in ms
    /// [default: 100; 0: none].
    #[arg(long, value_name = "MS")]
    pub(crate) heart_beat_floor: Option<u32>,
    /// Also listen for STOMP over WebSocket only on this port (0: a free one);
    /// the STOMP port serves WebSocket too.
    #[arg(long, value_name = "PORT")]
    pub(crate) ws_port: Option<u16>,
    /// Also listen for STOMP (and WebSocket) over TLS on this port (0: a free
    /// one); without --tls-cert, a throwaway CA and a certificate for
    /// localhost are made, and the CA written to a file the ready line names.
    #[arg(long, value_name = "PORT")]
    pub(crate) tls_port: Option<u16>,
    /// The TLS certificate chain, PEM [default: made at start].
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The TLS private key, PEM.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Require client certificates on the TLS port (mutual TLS): ones the
    /// broker's CA issued (--issue-client-cert); the name is the principal.
    #[arg(long)]
    pub(crate) tls_client_certificates: bool,
    /// Issue a client certificate for NAME at start (repeatable), written to
    /// files the ready line names.
    #[arg(long = "issue-client-cert", value_name = "NAME")]
    pub(crate) issue_client_certs: Vec<String>,
    /// Make the TLS port go wrong on purpose, to test a client's handling.
    #[arg(long, value_name = "PROBLEM")]
    pub(crate) tls_problem: Option<TlsProblemArg>,
    /// Serve STOMP over WebSocket only at this path [default: any path].
    #[arg(long, value_name = "PATH")]
    pub(crate) websocket_path: Option<String>,
    /// Accept WebSocket upgrades from browsers only from this origin
    /// (repeatable) [default: any].
    #[arg(long = "websocket-origin", value_name = "ORIGIN")]
    pub(crate) websocket_origins: Vec<String>,
    /// Which WebSocket message type carries the broker's frames
    /// [default: text].
    #[arg(long, value_name = "TYPE")]
    pub(crate) websocket_replies: Option<WebSocketRepliesArg>,
    /// The most messages that may wait on one queue [default: no bound].
    #[arg(long, value_name = "N")]
    pub(crate) max_queue_depth: Option<usize>,
    /// The most bytes of messages that may wait on one queue
    /// [default: 134217728].
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_queue_bytes: Option<usize>,
    /// The most bytes of messages one open transaction may buffer
    /// [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_transaction_bytes: Option<usize>,
    /// What the broker's messages and journal may occupy, all told
    /// [default: 536870912].
    #[arg(long, value_name = "BYTES")]
    pub(crate) memory_budget: Option<usize>,
    /// The most connections open at once [default: 4096].
    #[arg(long, value_name = "N")]
    pub(crate) max_connections: Option<usize>,
    /// The most subscriptions one connection may hold [default: 10000].
    #[arg(long, value_name = "N")]
    pub(crate) max_subscriptions_per_connection: Option<usize>,
    /// How long a new connection has to send its whole CONNECT frame, in ms
    /// [default: 10000].
    #[arg(long, value_name = "MS")]
    pub(crate) connect_timeout_ms: Option<u64>,
    /// The largest frame body, in bytes [default: 104857600, as ActiveMQ].
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_frame_size: Option<usize>,
    /// The most header lines in a frame [default: 1000].
    #[arg(long, value_name = "N")]
    pub(crate) max_headers: Option<usize>,
    /// The longest command or header line, in bytes [default: 10240].
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_header_line: Option<usize>,
    /// Outbound bytes a client may fall behind before it is disconnected
    /// [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    pub(crate) max_outbound_backlog: Option<usize>,
    /// The most open transactions per connection [default: 1000].
    #[arg(long, value_name = "N")]
    pub(crate) max_open_transactions: Option<usize>,
    /// The most messages in one transaction [default: no bound].
    #[arg(long, value_name = "N")]
    pub(crate) max_messages_per_transaction: Option<usize>,
    /// Published messages, deliveries and acks the journal keeps, each
    /// [default: 100000].
    #[arg(long, value_name = "N")]
    pub(crate) journal_messages: Option<usize>,
    /// Bytes the journal holds, all told: messages, transcripts, records
    /// [default: 268435456].
    #[arg(long, value_name = "BYTES")]
    pub(crate) journal_bytes: Option<usize>,
    /// Transcript entries the journal keeps per connection [default: 10000].
    #[arg(long, value_name = "N")]
    pub(crate) journal_frames_per_connection: Option<usize>,
    /// Closed connections, ended transactions and errors the journal keeps
    /// [default: 10000].
    #[arg(long, value_name = "N")]
    pub(crate) journal_closed: Option<usize>,
    /// What the traffic log shows [default: frames].
    #[arg(long, value_enum)]
    pub(crate) log: Option<LogLevel>,
    /// Same as `--log off`.
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// Colours in the traffic log [default: auto: when stdout is a terminal].
    #[arg(long, value_enum, default_value_t = Colour::Auto, hide_default_value = true)]
    pub(crate) color: Colour,
    /// Print the first line as JSON, {"stomp":"ADDR","http":"ADDR"|null},
    /// for fixtures to parse.
    #[arg(long)]
    pub(crate) ready_json: bool,

    /// Stop (as on SIGTERM) when standard input reaches its end: a fixture
    /// that holds the binary's stdin open gets it stopped when the fixture's
    /// process ends, however it ends (even killed)
    #[arg(long)]
    pub(crate) stop_on_stdin_close: bool,
}

/// Something wrong with the TLS port, on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum TlsProblemArg {
    /// An expired certificate.
    Expired,
    /// A certificate for another host name.
    WrongHost,
    /// A certificate signed by a CA other than the one handed out.
    UnknownCa,
    /// Connections accepted and never answered.
    StalledHandshake,
}

/// Which WebSocket message type carries the broker's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum WebSocketRepliesArg {
    /// Text (binary only for bytes that are not UTF-8).
    Text,
    /// Binary, always.
    Binary,
    /// The type of the client's latest message.
    Mirror,
}

impl From<WebSocketRepliesArg> for stompbox::WebSocketReplies {
    fn from(arg: WebSocketRepliesArg) -> Self {
        match arg {
            WebSocketRepliesArg::Text => stompbox::WebSocketReplies::Text,
            WebSocketRepliesArg::Binary => stompbox::WebSocketReplies::Binary,
            WebSocketRepliesArg::Mirror => stompbox::WebSocketReplies::Mirror,
        }
    }
}

impl From<TlsProblemArg> for stompbox::TlsProblem {
    fn from(arg: TlsProblemArg) -> Self {
        match arg {
            TlsProblemArg::Expired => stompbox::TlsProblem::Expired,
            TlsProblemArg::WrongHost => stompbox::TlsProblem::WrongHost,
            TlsProblemArg::UnknownCa => stompbox::TlsProblem::UnknownCa,
            TlsProblemArg::StalledHandshake => stompbox::TlsProblem::StalledHandshake,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Profile {
    /// Plain STOMP: anyone may connect, send and subscribe.
    Default,
    /// The RocketMQ STOMP gateway's rules.
    Rocketmq,
    /// ActiveMQ 5 where it differs from the default (a NACK is a poison ack).
    Activemq,
    /// RabbitMQ's STOMP plugin: selectors ignored, `*`/`#` wildcards,
    /// `expiration`, virtual hosts, its destination prefixes.
    Rabbitmq,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogLevel {
    /// Nothing after the first line.
    Off,
    /// Connections opening and closing, and ERROR frames.
    Connections,
    /// Every frame in and out (heart-beats left out).
    Frames,
    /// Every frame and every heart-beat.
    All,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum Colour {
    #[default]
    Auto,
    Always,
    Never,
}

impl Args {
    /// The serve options, whether given after `serve` or without it.
    pub(crate) fn serve(self) -> Serve {
        match self.command {
            Some(Command::Serve(serve)) => serve,
            None => self.serve,
        }
    }
}

fn parse_user(text: &str) -> Result<(String, String), String> {
    let (login, passcode) = text
        .split_once(':')
        .ok_or_else(|| format!("expected LOGIN:PASSCODE, got {text:?}"))?;
    Ok((login.to_owned(), passcode.to_owned()))
}

pub(crate) fn parse_grant(text: &str) -> Result<(String, String, Access), String> {
    let malformed = || format!("expected PRINCIPAL:TOPIC:ACCESS, got {text:?}");
    let (principal, rest) = text.split_once(':').ok_or_else(malformed)?;
    let (topic, access) = rest.rsplit_once(':').ok_or_else(malformed)?;
    Ok((
        principal.to_owned(),
        topic.to_owned(),
        parse_access(access)?,
    ))
}

pub(crate) fn parse_access(text: &str) -> Result<Access, String> {
    match text.to_ascii_uppercase().as_str() {
        "PUB" => Ok(Access::PUB),
        "SUB" => Ok(Access::SUB),
        "PUB+SUB" | "SUB+PUB" => Ok(Access::PUB_SUB),
        other => Err(format!("ACCESS must be PUB, SUB or PUB+SUB, got {other:?}")),
    }
}

/// A count, or no limit (`none`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limit(pub(crate) Option<u32>);

fn parse_limit(text: &str) -> Result<Limit, String> {
    if text == "none" {
        return Ok(Limit(None));
    }
    text.parse()
        .map(|n| Limit(Some(n)))
        .map_err(|_| format!("expected a count or none, got {text:?}"))
}

fn parse_heart_beat(text: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected SEND_MS,RECEIVE_MS such as 1000,1000, got {text:?}");
    let (send, receive) = text.split_once(',').ok_or_else(bad)?;
    Ok((
        send.trim().parse().map_err(|_| bad())?,
        receive.trim().parse().map_err(|_| bad())?,
    ))
}
