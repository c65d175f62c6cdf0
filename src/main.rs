//! `stompbox`: the broker as a standalone program.
//!
//! Prints `stompbox listening on ADDR` as its first line of stdout (the last
//! word is the address, for fixtures to parse), then one line per frame in and
//! out unless `--quiet`. Runs until killed.

use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Parser;
use stompbox::{Access, Broker, Traffic};

/// A STOMP 1.0/1.1/1.2 broker for tests.
#[derive(Debug, Parser)]
#[command(name = "stompbox", version, about)]
struct Args {
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 61613)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Do not print each frame.
    #[arg(long, short)]
    quiet: bool,
    /// Rules to follow: `default`, or `rocketmq` (the RocketMQ STOMP
    /// gateway's: signed logins, per-topic grants, topic semantics, limits).
    #[arg(long, value_enum, default_value_t = Profile::Default)]
    profile: Profile,
    /// A user, LOGIN:PASSCODE (with `--profile rocketmq`: ACCESS_KEY:SECRET).
    /// Repeatable; any user turns on authentication.
    #[arg(long = "user", value_name = "LOGIN:PASSCODE", value_parser = parse_user)]
    users: Vec<(String, String)>,
    /// A permission, PRINCIPAL:TOPIC:ACCESS with ACCESS one of PUB, SUB,
    /// PUB+SUB; `*` in TOPIC matches anything. Repeatable; any grant turns on
    /// permission checks.
    #[arg(long = "grant", value_name = "PRINCIPAL:TOPIC:ACCESS", value_parser = parse_grant)]
    grants: Vec<(String, String, Access)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Profile {
    /// Plain STOMP: anyone may connect, send and subscribe.
    Default,
    /// The RocketMQ STOMP gateway's rules.
    Rocketmq,
}

fn parse_user(text: &str) -> Result<(String, String), String> {
    let (login, passcode) = text
        .split_once(':')
        .ok_or_else(|| format!("expected LOGIN:PASSCODE, got {text:?}"))?;
    Ok((login.to_owned(), passcode.to_owned()))
}

fn parse_grant(text: &str) -> Result<(String, String, Access), String> {
    let malformed = || format!("expected PRINCIPAL:TOPIC:ACCESS, got {text:?}");
    let (principal, rest) = text.split_once(':').ok_or_else(malformed)?;
    let (topic, access) = rest.rsplit_once(':').ok_or_else(malformed)?;
    let access = match access.to_ascii_uppercase().as_str() {
        "PUB" => Access::PUB,
        "SUB" => Access::SUB,
        "PUB+SUB" | "SUB+PUB" => Access::PUB_SUB,
        other => return Err(format!("ACCESS must be PUB, SUB or PUB+SUB, got {other:?}")),
    };
    Ok((principal.to_owned(), topic.to_owned(), access))
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "stompbox: cannot listen on {}:{}: {e}",
                args.bind, args.port
            );
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), stompbox::Error> {
    let mut builder = Broker::builder().ip(args.bind).port(args.port);
    if args.profile == Profile::Rocketmq {
        builder = builder.rocketmq();
    }
    for (login, passcode) in &args.users {
        builder = builder.user(login.clone(), passcode.clone());
    }
    for (principal, topic, access) in &args.grants {
        builder = builder.grant(principal, topic, *access);
    }
    if !args.quiet {
        builder = builder.on_traffic(print_traffic);
    }
    let broker = builder.start()?;
    println!("stompbox listening on {}", broker.addr());
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

fn print_traffic(traffic: &Traffic<'_>) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    let millis = now.subsec_millis();
    let line = format!("{h:02}:{m:02}:{s:02}.{millis:03} {traffic}\n");
    let _ = std::io::stdout().lock().write_all(line.as_bytes());
}
