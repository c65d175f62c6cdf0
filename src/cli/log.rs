//! The traffic log: one line per frame a person can follow.
//!
//! `12:00:01.234 conn 3 <- SEND destination:/queue/a content-length:5 body(5 bytes)="hello"`

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use stompbox::frame::Command;
use stompbox::journal::Direction;
use stompbox::Traffic;

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

    /// The line for `traffic`, newline included.
    pub(crate) fn line(&self, traffic: &Traffic<'_>) -> String {
        let time = clock();
        if !self.colour {
            return format!("{time} {traffic}\n");
        }
        let colour = match (traffic.frame.map(|f| f.command()), traffic.direction) {
            (Some(Command::Error), _) => RED,
            (None, _) => DIM,
            (_, Direction::In) => CYAN,
            (_, Direction::Out) => GREEN,
        };
        format!("{DIM}{time}{RESET} {colour}{traffic}{RESET}\n")
    }

    pub(crate) fn print(&self, traffic: &Traffic<'_>) {
        if self.shows(traffic) {
            let _ = std::io::stdout()
                .lock()
                .write_all(self.line(traffic).as_bytes());
        }
    }
}

/// `HH:MM:SS.mmm`, UTC.
fn clock() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
    format!("{h:02}:{m:02}:{s:02}.{:03}", now.subsec_millis())
}
