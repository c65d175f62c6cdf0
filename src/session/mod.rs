//! One client's STOMP session, as a state machine with no socket.
//!
//! A session takes decoded frames, heart-beats and the passing of time, and
//! answers with what happens next: it changes the broker's state (routing,
//! subscriptions, transactions) and queues what to send through the
//! connection's outbox, in the same pass and under the same lock, and says
//! whether the connection goes on ([`Flow`]). It starts before CONNECT,
//! negotiates the version and heart-beats, then handles each frame in
//! order. A frame that fails gets an ERROR frame (with `receipt-id` when it
//! asked for a receipt) and the connection closes.
//!
//! The thread that reads the socket ([`crate::connection`]) drives it;
//! [`harness::Harness`] drives sessions with no socket at all, for the unit
//! tests below and the `session` fuzz target.

mod commands;
mod connect;
pub(crate) mod harness;
mod room;

use std::borrow::Cow;

use crate::protocol::secrets::without_secrets;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::faults::InboundVerdict;
use crate::journal::{CloseReason, ConnectionId, Direction};
use crate::protocol::frame::{Command, Decoded, Decoder, Frame, FrameError};
use crate::protocol::{Version, replies};
use crate::state::{BrokerState, Journal};

/// Why a frame failed: becomes the ERROR frame.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    detail: String,
    receipt: Option<String>,
    extra: Vec<(&'static str, String)>,
    /// The ERROR does not end the connection (as ActiveMQ answers some
    /// mistakes).
    keep_open: bool,
}

impl Failure {
    fn new(message: impl Into<String>, detail: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            detail: detail.into(),
            receipt: None,
            extra: Vec::new(),
            keep_open: false,
        }
    }

    /// The same failure, answered with an ERROR that leaves the connection
    /// open.
    fn keeping_open(mut self) -> Failure {
        self.keep_open = true;
        self
    }

    fn missing(header: &str, command: &Command) -> Failure {
        Failure::new(
            format!("missing '{header}' header"),
            format!(
                "{} {command} frame must have a '{header}' header.",
                article(command)
            ),
        )
    }

    fn into_frame(self) -> Frame {
        let extra: Vec<(&str, &str)> = self.extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
        replies::error(self.message, self.detail, self.receipt, &extra)
    }
}

/// "A" or "An", as the command's name is read aloud.
fn article(command: &Command) -> &'static str {
    match command.as_str().chars().next() {
        Some('A' | 'E' | 'I' | 'O' | 'U') => "An",
        _ => "A",
    }
}

/// What the connection does after a frame.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Close(CloseReason),
}

/// One client's session.
pub(crate) struct Session {
    state: Arc<BrokerState>,
    conn: ConnectionId,
    version: Option<Version>,
    /// Who the authenticator said this connection is.
    principal: Option<String>,
    /// The virtual host its CONNECT named (RabbitMQ's profile).
    vhost: Option<String>,
    /// The whole CONNECT frame must have arrived by then.
    connect_deadline: Instant,
    /// Silence tolerated once connected: twice the client's heart-beat.
    silence_allowed: Option<Duration>,
    /// Login and passcode from the WebSocket upgrade's HTTP Basic
    /// `Authorization`, used when CONNECT has no `login` (as RabbitMQ's
    /// `use_http_auth`).
    http_credentials: Option<(String, String)>,
    /// The highest version CONNECT may agree to: the WebSocket subprotocol's
    /// (`v11.stomp`: 1.1), `None` for any.
    highest_version: Option<Version>,
    /// Who the client certificate says the client is (a certificate the
    /// broker's CA issued), which CONNECT then needs no credentials for.
    certificate_principal: Option<String>,
    /// The frames of the run being handled (see [`Session::take_decoded`]),
    /// kept for the next read's.
    run: Vec<Decoded>,
    /// An injected fault closes the connection with a reset.
    reset: bool,
    /// The destination of the last message it sent (see
    /// `Session::shared_name`).
    last_destination: Option<Arc<str>>,
}

impl Session {
    /// A session for connection `conn`, whose clock starts now.
    pub(crate) fn new(state: Arc<BrokerState>, conn: ConnectionId) -> Session {
        let connect_deadline = Instant::now() + state.config.connect_timeout;
        Session {
            state,
            conn,
            version: None,
            principal: None,
            vhost: None,
            connect_deadline,
            silence_allowed: None,
            http_credentials: None,
            highest_version: None,
            certificate_principal: None,
            run: Vec::new(),
            reset: false,
            last_destination: None,
        }
    }

    /// The name the client's certificate was issued to, if any.
    pub(crate) fn set_certificate_principal(&mut self, name: Option<String>) {
        self.certificate_principal = name;
    }

    /// Caps the version CONNECT may agree to (a WebSocket subprotocol's).
    pub(crate) fn set_highest_version(&mut self, highest: Option<Version>) {
        self.highest_version = highest;
    }

    /// The credentials of the connection's HTTP upgrade, if it had some.
    pub(crate) fn set_http_credentials(&mut self, credentials: Option<(String, String)>) {
        self.http_credentials = credentials;
    }

    /// How long the next read may wait for bytes before
    /// [`Session::on_silence`]: what is left of the CONNECT deadline, then
    /// twice the client's heart-beat interval (`None`: for ever).
    pub(crate) fn read_timeout(&self, now: Instant) -> Option<Duration> {
        match self.version {
            None => Some(self.connect_deadline.saturating_duration_since(now)),
            Some(_) => self.silence_allowed,
        }
    }

    /// Hands every complete frame in `decoder` to the session, under one
    /// hold of the state's lock per run of frames (a traffic observer, called
    /// outside the lock, is told of each run first), switching the decoder
    /// to the negotiated version after CONNECT. `Some` when the connection
    /// is to close.
    pub(crate) fn take_decoded(&mut self, decoder: &mut Decoder) -> Option<CloseReason> {
        // The run's buffer is kept between reads: no allocation per read.
        let mut run = std::mem::take(&mut self.run);
        let closed = self.take_runs(decoder, &mut run);
        run.clear();
        self.run = run;
        closed
    }

    fn take_runs(&mut self, decoder: &mut Decoder, run: &mut Vec<Decoded>) -> Option<CloseReason> {
        let state = self.state.clone();
        let observed = state.observed();
        loop {
            let error = next_run(decoder, observed, run);
            if run.is_empty() && error.is_none() {
                return None;
            }
            if observed {
                for item in run.iter() {
                    match item {
                        Decoded::Frame(frame) => {
                            let shown = without_secrets(frame);
                            state.notify(self.conn, Direction::In, Some(&shown));
                        }
                        Decoded::HeartBeat => state.notify(self.conn, Direction::In, None),
                    }
                }
            }
            let mut journal = state.lock_for(self.conn);
            for item in run.drain(..) {
                match item {
                    Decoded::Frame(frame) => {
                        let before = self.version;
                        if let Flow::Close(reason) = self.on_frame(&mut journal, frame) {
                            return Some(reason);
                        }
                        if self.version != before {
                            decoder.set_version(self.version);
                        }
                    }
                    Decoded::HeartBeat => self.on_heart_beat(&mut journal),
                }
            }
            let nuls = decoder.take_stray_nuls();
            if nuls > 0 {
                let warning = if nuls == 1 {
                    "a NUL byte between frames (skipped, as ActiveMQ and RabbitMQ do)".to_owned()
                } else {
                    format!(
                        "{nuls} NUL bytes between frames (skipped, as ActiveMQ and RabbitMQ do)"
                    )
                };
                journal.history.warn(self.conn, warning);
            }
            if let Some(error) = error {
                return Some(self.on_bad_frame(&mut journal, error));
            }
        }
    }

    /// Whether CONNECT has succeeded.
    pub(crate) fn is_connected(&self) -> bool {
        self.version.is_some()
    }

    /// Whether an injected fault asked for the connection to be reset (an
    /// abortive close) rather than closed.
    pub(crate) fn wants_reset(&self) -> bool {
        self.reset
    }

    /// Handles one frame, unless an injected fault acts on it first.
    pub(crate) fn on_frame(&mut self, journal: &mut Journal, frame: Frame) -> Flow {
        if !self.state.faults.acts_inbound() {
            return self.on_frame_as_sent(journal, frame);
        }
        let conn = self.conn;
        let faults = self.state.faults.clone();
        let verdict = faults.inbound(&frame, conn, &mut || journal.history.identity(conn));
        match verdict {
            InboundVerdict::Pass => self.on_frame_as_sent(journal, frame),
            InboundVerdict::Drop => Flow::Continue,
            InboundVerdict::Error(message) => {
                journal
                    .history
                    .record_in(conn, Some(&without_secrets(&frame)));
                let mut failure = Failure::new(
                    message,
                    "An injected fault answered this frame with an ERROR; the frame had no effect.",
                );
                failure.receipt = frame.header("receipt").map(str::to_owned);
                Flow::Close(self.fail(journal, failure))
            }
            InboundVerdict::CloseAfter { reset, fault } => {
                if let Flow::Close(reason) = self.on_frame_as_sent(journal, frame) {
                    return Flow::Close(reason);
                }
                self.reset = reset;
                Flow::Close(CloseReason::Fault(fault))
            }
        }
    }

    /// Handles one frame.
    fn on_frame_as_sent(&mut self, journal: &mut Journal, frame: Frame) -> Flow {
        // SEND frames are recorded with the message they make; any other
        // takes its place in the transcript now (before the replies it
        // causes) and is moved there once handled, not copied.
        let slot = (frame.command() != &Command::Send)
            .then(|| journal.history.reserve_in(self.conn))
            .flatten();
        let (result, handled) = self.handle(journal, frame);
        if let (Some(slot), Some(frame)) = (slot, handled) {
            let kept = match without_secrets(&frame) {
                Cow::Owned(redacted) => redacted,
                Cow::Borrowed(_) => frame,
            };
            journal.history.fill_in(self.conn, slot, kept);
        }
        match result {
            Ok(flow) => flow,
            Err(failure) if failure.keep_open => {
                let error = failure.into_frame();
                journal.history.error_sent(self.conn, &error);
                journal
                    .live
                    .send_frame(self.conn, error, &mut journal.history);
                Flow::Continue
            }
            Err(failure) => Flow::Close(self.fail(journal, failure)),
        }
    }

    /// A heart-beat arrived.
    pub(crate) fn on_heart_beat(&mut self, journal: &mut Journal) {
        journal.history.record_in(self.conn, None);
    }

    /// The bytes in could not be decoded.
    pub(crate) fn on_bad_frame(&mut self, journal: &mut Journal, error: FrameError) -> CloseReason {
        let limits = self.state.config.limits;
        let detail = format!(
            "The broker could not read a frame: {error}. Limits: frames up to {} body bytes, {} headers, header lines up to {} bytes.",
            limits.max_frame_size, limits.max_headers, limits.max_header_line,
        );
        self.fail(journal, Failure::new(error.to_string(), detail))
    }

    /// Nothing arrived within [`Session::read_timeout`].
    pub(crate) fn on_silence(&mut self, journal: &mut Journal) -> CloseReason {
        if self.state.is_shutting_down() {
            return CloseReason::BrokerShutdown;
        }
        match self.version {
            None => {
                let failure = Failure::new(
                    "no CONNECT frame in time",
                    format!(
                        "A client must send a whole CONNECT or STOMP frame within {:?} of opening the connection.",
                        self.state.config.connect_timeout
                    ),
                );
                self.fail(journal, failure)
            }
            Some(_) => {
                let failure = Failure::new(
                    "heart-beat timeout",
                    "The client sent nothing (not even a heart-beat) for twice the negotiated heart-beat interval.",
                );
                self.fail(journal, failure);
                CloseReason::HeartBeatTimeout
            }
        }
    }

    /// The transport closed or failed under us.
    pub(crate) fn on_closed(&self) -> CloseReason {
        if self.state.is_shutting_down() {
            CloseReason::BrokerShutdown
        } else {
            CloseReason::PeerClosed
        }
    }

    fn fail(&mut self, journal: &mut Journal, failure: Failure) -> CloseReason {
        let message = failure.message.clone();
        let error = failure.into_frame();
        journal.history.error_sent(self.conn, &error);
        journal
            .live
            .send_frame(self.conn, error, &mut journal.history);
        // Nothing may follow an ERROR, not even a MESSAGE another
        // connection's SEND would route here before this one is detached.
        journal.live.stop_delivering(self.conn);
        CloseReason::ErrorSent(message)
    }

    /// Applies `frame`; gives it back unless it was consumed (a SEND).
    fn handle(
        &mut self,
        journal: &mut Journal,
        frame: Frame,
    ) -> (Result<Flow, Failure>, Option<Frame>) {
        let receipt = frame.header("receipt").map(str::to_owned);
        let is_send = frame.command() == &Command::Send;
        let (result, handled) = match self.version {
            Some(_) if is_send => (self.send(journal, frame).map(|()| Flow::Continue), None),
            Some(_) => (self.handle_connected(journal, &frame), Some(frame)),
            None => (self.handle_first(journal, &frame), Some(frame)),
        };
        let result = match result {
            Ok(flow) => {
                if let Some(id) = receipt {
                    let frame = replies::receipt(id);
                    journal
                        .live
                        .send_frame(self.conn, frame, &mut journal.history);
                }
                if flow == Flow::Close(CloseReason::Disconnect) {
                    // The client has left: its subscriptions end in this
                    // pass, so that nothing reaches it after its RECEIPT
                    // (another connection's SEND could route here before
                    // its reader cleans up).
                    journal
                        .live
                        .detach_connection(self.conn, &mut journal.history);
                }
                Ok(flow)
            }
            Err(mut failure) => {
                failure.receipt = receipt;
                Err(failure)
            }
        };
        (result, handled)
    }

    /// The first frame: CONNECT or STOMP.
    fn handle_first(&mut self, journal: &mut Journal, frame: &Frame) -> Result<Flow, Failure> {
        match frame.command() {
            Command::Connect | Command::Stomp => {
                self.connect(journal, frame).map(|()| Flow::Continue)
            }
            other => Err(Failure::new(
                format!("expected CONNECT or STOMP frame, got {other}"),
                "The first frame on a connection must be CONNECT or STOMP.",
            )),
        }
    }

    fn handle_connected(&mut self, journal: &mut Journal, frame: &Frame) -> Result<Flow, Failure> {
        use crate::journal::AckKind;
        // SEND is handled by value in `handle`.
        debug_assert_ne!(frame.command(), &Command::Send);
        match frame.command() {
            Command::Subscribe => self.subscribe(journal, frame)?,
            Command::Unsubscribe => self.unsubscribe(journal, frame)?,
            Command::Ack => self.acknowledge(journal, frame, AckKind::Ack)?,
            Command::Nack if self.version == Some(Version::V1_0) => {
                return Err(Failure::new(
                    "unknown command 'NACK'",
                    "NACK is not part of STOMP 1.0; negotiate 1.1 or 1.2 to use it.",
                ));
            }
            Command::Nack => self.acknowledge(journal, frame, AckKind::Nack)?,
            Command::Begin => self.begin(journal, frame)?,
            Command::Commit => self.commit(journal, frame)?,
            Command::Abort => self.abort(journal, frame)?,
            Command::Disconnect => return Ok(Flow::Close(CloseReason::Disconnect)),
            Command::Connect | Command::Stomp => {
                return Err(Failure::new(
                    "already connected",
                    "This connection has already sent CONNECT; a session cannot be opened twice.",
                ));
            }
            other => {
                return Err(Failure::new(
                    format!("unknown command '{other}'"),
                    format!(
                        "'{other}' is not a client frame in STOMP {}.",
                        self.version.map_or("(not negotiated)", Version::as_str)
                    ),
                ));
            }
        }
        Ok(Flow::Continue)
    }
}

/// The frames to handle in one hold of the lock: every complete one, but a
/// run ends after a CONNECT (the frames after it are decoded with the
/// version it negotiates) and, when an observer must see each first, after
/// [`OBSERVED_RUN`] frames. Put into `run` (empty on entry); the error, if
/// decoding stopped at one.
fn next_run(decoder: &mut Decoder, observed: bool, run: &mut Vec<Decoded>) -> Option<FrameError> {
    loop {
        match decoder.next_item() {
            Ok(Some(item)) => {
                let connect = matches!(
                    &item,
                    Decoded::Frame(f) if matches!(f.command(), Command::Connect | Command::Stomp)
                );
                run.push(item);
                if connect || (observed && run.len() == OBSERVED_RUN) {
                    return None;
                }
            }
            Ok(None) => return None,
            Err(error) => return Some(error),
        }
    }
}

/// The most frames an observer is told of before they are handled.
const OBSERVED_RUN: usize = 64;

#[cfg(test)]
mod tests;
