//! The traffic log: one line per frame a person can follow.
//!
//! `12:00:01.234 conn 3 <- SEND destination:/queue/a content-length:5 body(5 bytes)="hello"`
//! `12:00:01.240 conn 3 closed: closed by the client`
//!
//! The broker's threads only queue what they saw (the time, the connection,
//! a copy of the frame: a body is shared, not copied); a thread of the log's
//! own formats the lines and writes them in batches, through a bounded
//! queue: a stdout nobody reads (a fixture that reads only the ready line)
//! never blocks the broker. Entries that find the queue full are counted and
//! dropped, and the log says how many once it can write again.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use stompbox::Traffic;
use stompbox::frame::{Command, Frame};
use stompbox::journal::{CloseReason, ConnectionId, Direction};

use super::args::LogLevel;

const RESET: &str = "\x1b[0m";
const DIM: &str = "\x1b[2m";
const CYAN: &str = "\x1b[36m";
const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31;1m";

/// Prints traffic at a level, with or without colours.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TrafficLog {
    pub(crate) level: LogLevel,
    pub(crate) colour: bool,
}

impl TrafficLog {
    /// Whether `traffic` is shown at this level.
    pub(crate) fn shows(&self, traffic: &Traffic<'_>) -> bool {
        if traffic.closed.is_some() {
            return self.level != LogLevel::Off; // every close, with its reason
        }
        match (self.level, traffic.frame) {
            (LogLevel::Off, _) => false,
            (LogLevel::All, _) => true,
            (LogLevel::Frames, frame) => frame.is_some(),
            (LogLevel::Connections, Some(frame)) => matches!(
                frame.command(),
                Command::Connect
                    | Command::Stomp
                    | Command::Connected
                    | Command::Disconnect
                    | Command::Error
            ),
            (LogLevel::Connections, None) => false,
        }
    }

    /// Appends the line for `traffic` seen at `at`, newline included.
    pub(crate) fn line(&self, traffic: &Traffic<'_>, at: SystemTime, out: &mut String) {
        use std::fmt::Write as _;
        let time = clock(at);
        if !self.colour {
            let _ = writeln!(out, "{time} {traffic}");
            return;
        }
        let colour = match (traffic.frame.map(|f| f.command()), traffic.direction) {
            (Some(Command::Error), _) => RED,
            (None, _) if traffic.closed.is_some() => "",
            (None, _) => DIM,
            (_, Direction::In) => CYAN,
            (_, Direction::Out) => GREEN,
        };
        let _ = writeln!(out, "{DIM}{time}{RESET} {colour}{traffic}{RESET}");
    }

    /// Starts the log's writing thread; the returned observer queues each
    /// line shown and never blocks. The thread is not joined: at exit it
    /// may be blocked on a stdout nobody reads, and the process ends anyway.
    pub(crate) fn start(self) -> Result<impl Fn(&Traffic<'_>) + Send + Sync + 'static, String> {
        let (tx, rx) = crossbeam_channel::bounded::<Seen>(QUEUED_LINES);
        let dropped = Arc::new(AtomicU64::new(0));
        let counted = dropped.clone();
        std::thread::Builder::new()
            .name("stompbox-log".into())
            .spawn(move || self.write_lines(&rx, &counted))
            .map_err(|e| format!("cannot start the log's thread: {e}"))?;
        Ok(move |traffic: &Traffic<'_>| {
            if !self.shows(traffic) {
                return;
            }
            let seen = Seen {
                at: SystemTime::now(),
                connection: traffic.connection,
                direction: traffic.direction,
                frame: traffic.frame.cloned(),
                closed: traffic.closed.cloned(),
            };
            if tx.try_send(seen).is_err() {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        })
    }

    /// The log's thread: formats what was seen and writes it in batches,
    /// saying how many entries were dropped while stdout was not taking them.
    fn write_lines(self, rx: &crossbeam_channel::Receiver<Seen>, dropped: &AtomicU64) {
        let mut batch = String::new();
        while let Ok(first) = rx.recv() {
            batch.clear();
            for seen in std::iter::once(first).chain(rx.try_iter().take(LINES_PER_WRITE)) {
                let traffic = Traffic {
                    connection: seen.connection,
                    direction: seen.direction,
                    frame: seen.frame.as_ref(),
                    closed: seen.closed.as_ref(),
                };
                self.line(&traffic, seen.at, &mut batch);
            }
            let lost = dropped.swap(0, Ordering::Relaxed);
            if lost > 0 {
                batch.push_str(&format!(
                    "... {lost} log line{} dropped: stdout was not read fast enough\n",
                    if lost == 1 { "" } else { "s" }
                ));
            }
            if std::io::stdout()
                .lock()
                .write_all(batch.as_bytes())
                .is_err()
            {
                return; // stdout is gone: nothing more can be shown
            }
        }
    }
}

/// What the broker saw, queued for the log's thread.
struct Seen {
    at: SystemTime,
    connection: ConnectionId,
    direction: Direction,
    frame: Option<Frame>,
    closed: Option<CloseReason>,
}

/// Lines the log holds for stdout before it drops new ones.
const QUEUED_LINES: usize = 10_000;
/// The most lines gathered into one write.
const LINES_PER_WRITE: usize = 512;

/// `HH:MM:SS.mmm`, UTC.
fn clock(at: SystemTime) -> String {
    let now = at.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs();
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}.{:03}", now.subsec_millis())
}
