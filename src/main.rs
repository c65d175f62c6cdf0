//! `stompbox`: the broker as a standalone program, for test suites in any
//! language.
//!
//! The first line on stdout says where it listens: `stompbox listening on
//! ADDR` (the last word is the address), or with `--ready-json`
//! `{"stomp":"ADDR","http":"ADDR"|null}`. Then the traffic log, one line per
//! frame. SIGINT or SIGTERM stops it cleanly (exit 0); a bad config file or a
//! busy port is a message on stderr naming the file and line or the port, and
//! exit 1.

mod cli;

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use cli::args::{Args, Colour, LogLevel, Serve};
use cli::config::Settings;
use cli::faults::ArmedFaults;
use cli::feed::TrafficFeed;
use cli::http::{HttpApi, Live};
use cli::log::TrafficLog;

fn main() -> ExitCode {
    let serve = Args::parse().serve();
    match run(&serve) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("stompbox: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Serve) -> Result<(), String> {
    let settings = match &args.config {
        Some(path) => Settings::load(path)?,
        None => Settings::default(),
    }
    .merge(args)?;
    for warning in settings.warnings() {
        eprintln!("stompbox: warning: {warning}");
    }
    let stop = stop_signal(args.stop_on_stdin_close)?;
    let log = TrafficLog {
        level: settings.log_level(),
        colour: match args.color {
            Colour::Always => true,
            Colour::Never => false,
            Colour::Auto => std::io::stdout().is_terminal(),
        },
    };
    let mut builder = settings.builder()?;
    // The web view's frame log, fed only when there is an HTTP API to read it.
    let feed = settings.http_port.map(|_| Arc::new(TrafficFeed::new()));
    let printed = match log.level {
        LogLevel::Off => None,
        _ => Some(log.start()?),
    };
    match (printed, feed.clone()) {
        (Some(printed), Some(feed)) => {
            builder = builder.on_traffic(move |t| {
                printed(t);
                feed.record(t);
            });
        }
        (Some(printed), None) => builder = builder.on_traffic(printed),
        (None, Some(feed)) => builder = builder.on_traffic(move |t| feed.record(t)),
        (None, None) => {}
    }
    let stomp_addr = settings.stomp_addr();
    let broker = builder.start().map_err(|e| match e {
        stompbox::Error::Config(_) => e.to_string(),
        e => format!("cannot listen for STOMP on {stomp_addr}: {e}"),
    })?;
    let broker = Arc::new(broker);
    let faults = Arc::new(ArmedFaults::default());
    for rule in &settings.faults {
        faults.arm_fault(&broker, rule.0.clone())?;
    }
    let http = match (settings.http_port, feed) {
        (Some(port), Some(feed)) => {
            let addr = SocketAddr::new(stomp_addr.ip(), port);
            let info = serde_json::json!({
                "version": env!("CARGO_PKG_VERSION"),
                "stomp": broker.addr().to_string(),
                "ws": broker.ws_url(),
                "tls": broker.tls_addr().map(|a| a.to_string()),
                "loopback": addr.ip().is_loopback(),
                "token": settings.http_token.is_some(),
                "dialect": format!("{:?}", broker.dialect()),
            });
            Some(HttpApi::start(
                addr,
                broker.clone(),
                settings.http_token.clone(),
                faults.clone(),
                Live { feed, info },
            )?)
        }
        _ => None,
    };
    let ca_file = match broker.tls_ca_pem() {
        Some(pem) => Some(TempFile::write("ca.pem", pem)?),
        None => None,
    };
    let mut client_files = Vec::new();
    for name in &settings.issue_client_certs {
        let issued = broker.issue_client_cert(name).map_err(|e| e.to_string())?;
        let cert = TempFile::write(&format!("{name}.pem"), &issued.cert_pem)?;
        let key = TempFile::write(&format!("{name}-key.pem"), &issued.key_pem)?;
        client_files.push((name.clone(), cert, key));
    }
    announce(&Ready {
        stomp: broker.addr(),
        http: http.as_ref().map(|h| h.addr),
        ws: broker.ws_url(),
        tls: broker.tls_addr(),
        ca: ca_file.as_ref().map(|f| f.0.display().to_string()),
        client_certs: client_files
            .iter()
            .map(|(name, cert, key)| {
                (
                    name.clone(),
                    cert.0.display().to_string(),
                    key.0.display().to_string(),
                )
            })
            .collect(),
        as_json: args.ready_json,
    });
    let _ = stop.recv();
    if let Some(http) = http {
        http.stop();
    }
    // A long-poll still waiting holds a handle; the process exit ends it.
    if let Ok(broker) = Arc::try_unwrap(broker) {
        broker.shutdown();
    }
    drop(ca_file);
    drop(client_files);
    Ok(())
}

/// A file for clients in other languages (the generated CA, an issued
/// client certificate or key), in the temp directory; removed when the
/// broker stops.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn write(name: &str, pem: &str) -> Result<TempFile, String> {
        // A name is the user's: no separators in the file's name.
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let file = format!("stompbox-{}-{safe}", std::process::id());
        let path = std::env::temp_dir().join(file);
        std::fs::write(&path, pem).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(TempFile(path))
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Where the broker listens, for the ready line.
struct Ready {
    stomp: SocketAddr,
    http: Option<SocketAddr>,
    ws: String,
    tls: Option<SocketAddr>,
    ca: Option<String>,
    /// Issued client certificates: name, certificate file, key file.
    client_certs: Vec<(String, String, String)>,
    as_json: bool,
}

/// The ready line, flushed at once so a fixture reading it is not kept waiting.
fn announce(ready: &Ready) {
    let Ready {
        stomp, http, tls, ..
    } = ready;
    let line = if ready.as_json {
        serde_json::json!({
            "stomp": stomp.to_string(),
            "http": http.map(|a| a.to_string()),
            "ws": ready.ws,
            "tls": tls.map(|a| a.to_string()),
            "ca": ready.ca,
            "client_certs": ready
                .client_certs
                .iter()
                .map(|(name, cert, key)| (name.clone(), serde_json::json!({"cert": cert, "key": key})))
                .collect::<serde_json::Map<_, _>>(),
        })
        .to_string()
    } else {
        // The first line's last word stays the STOMP address.
        let mut line = format!("stompbox listening on {stomp}");
        if let Some(http) = http {
            line.push_str(&format!("\nHTTP API on http://{http}/"));
        }
        if let Some(tls) = tls {
            line.push_str(&format!("\nTLS on {tls}"));
            if let Some(ca) = &ready.ca {
                line.push_str(&format!(" (CA to trust: {ca})"));
            }
        }
        line
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// A channel that receives once SIGINT or SIGTERM arrives (or, with
/// `on_stdin_close`, once standard input ends).
fn stop_signal(on_stdin_close: bool) -> Result<crossbeam_channel::Receiver<()>, String> {
    let (tx, rx) = crossbeam_channel::bounded(1);
    if on_stdin_close {
        let tx = tx.clone();
        // Not joined: it may be blocked reading when a signal stops the
        // broker, and the process's exit ends it.
        std::thread::Builder::new()
            .name("stompbox-stdin".into())
            .spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
                let _ = tx.try_send(());
            })
            .map_err(|e| format!("cannot watch stdin: {e}"))?;
    }
    ctrlc::set_handler(move || {
        let _ = tx.try_send(());
    })
    .map_err(|e| format!("cannot handle SIGINT/SIGTERM: {e}"))?;
    Ok(rx)
}
