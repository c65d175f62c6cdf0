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
use stompbox::{Broker, Traffic};

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
