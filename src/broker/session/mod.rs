//! One connection's reader thread: reads frames, applies them, answers.
//!
//! A session starts before CONNECT, negotiates the version and heart-beats,
//! then handles each frame in order. A frame that fails gets an ERROR frame
//! (with `receipt-id` when it asked for a receipt) and the connection closes;
//! on the way out the session rolls back open transactions and hands the
//! connection's pending queue messages back to their queues.

mod commands;
mod connect;

use std::collections::HashMap;
use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::message::Stored;
use super::outbox::{Outbound, Outbox};
use super::router::AckTarget;
use super::shared::{ConnId, Shared};
use super::traffic::Direction;
use crate::journal::{AckKind, CloseReason, Entry, TransactionOutcome, Transcript};
use crate::{Command, Decoded, Decoder, Frame, Version};

/// How long a session keeps reading (and discarding) after an ERROR, so the
/// client's unread bytes do not turn the close into a reset that loses it.
const LINGER: Duration = Duration::from_secs(1);
const READ_CHUNK: usize = 32 * 1024;
/// The read buffer a connection starts with.
const FIRST_READ_CHUNK: usize = 2 * 1024;

/// Why a frame failed: becomes the ERROR frame.
#[derive(Debug)]
pub(crate) struct Failure {
    message: String,
    detail: String,
    receipt: Option<String>,
    extra: Vec<(&'static str, String)>,
}

impl Failure {
    fn new(message: impl Into<String>, detail: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            detail: detail.into(),
            receipt: None,
            extra: Vec::new(),
        }
    }

    fn missing(header: &str, command: &Command) -> Failure {
        Failure::new(
            format!("missing '{header}' header"),
            format!("A {command} frame must have a '{header}' header."),
        )
    }

    fn into_frame(self) -> Frame {
        let mut frame = Frame::new(Command::Error).with_header("message", self.message);
        if let Some(receipt) = self.receipt {
            frame = frame.with_header("receipt-id", receipt);
        }
        for (name, value) in self.extra {
            frame = frame.with_header(name, value);
        }
        let body = Bytes::from(self.detail);
        frame
            .with_header("content-type", "text/plain")
            .with_header("content-length", body.len().to_string())
            .with_body(body)
    }
}

enum Flow {
    Continue,
    Stop(CloseReason),
}

/// One buffered operation of an open transaction.
#[derive(Debug)]
enum TxOp {
    Send(Arc<Stored>),
    Settle(AckTarget, AckKind),
}

pub(crate) struct Session {
    shared: Arc<Shared>,
    conn: ConnId,
    stream: TcpStream,
    outbox: Outbox,
    writer: Option<JoinHandle<()>>,
    /// The connection's transcript, when recording.
    transcript: Option<Arc<Transcript>>,
    decoder: Decoder,
    version: Option<Version>,
    /// Who the authenticator said this connection is.
    principal: Option<String>,
    transactions: HashMap<String, Vec<TxOp>>,
}

impl Session {
    pub(crate) fn new(
        shared: Arc<Shared>,
        conn: ConnId,
        stream: TcpStream,
        outbox: Outbox,
        writer: JoinHandle<()>,
        transcript: Option<Arc<Transcript>>,
    ) -> Session {
        let decoder = Decoder::new(shared.config.limits);
        Session {
            shared,
            conn,
            stream,
            outbox,
            writer: Some(writer),
            transcript,
            decoder,
            version: None,
            principal: None,
            transactions: HashMap::new(),
        }
    }

    /// Serves the connection to its end, then cleans up after it.
    pub(crate) fn run(mut self) {
        let reason = self.serve();
        self.roll_back_transactions();
        self.shared.router.lock().remove_connection(self.conn);
        let _ = self.outbox.push(Outbound::Close);
        if matches!(
            reason,
            CloseReason::ErrorSent(_) | CloseReason::HeartBeatTimeout
        ) {
            self.linger();
        }
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
        // Forgotten first, so that once the journal says "closed" the
        // connection no longer counts against `max_connections`.
        self.shared.forget_stream(self.conn);
        self.shared.journal.update(|j| j.closed(self.conn, reason));
    }

    /// Open transactions die with their connection.
    fn roll_back_transactions(&mut self) {
        if self.transactions.is_empty() {
            return;
        }
        let mut journal = self.shared.journal.lock();
        for (id, _) in self.transactions.drain() {
            journal.ended(self.conn, &id, TransactionOutcome::RolledBack);
        }
    }

    fn serve(&mut self) -> CloseReason {
        let _ = self
            .stream
            .set_read_timeout(Some(self.shared.config.connect_timeout));
        // Small while the client is quiet (an idle connection costs little),
        // doubled up to READ_CHUNK while reads fill it.
        let mut chunk = vec![0u8; FIRST_READ_CHUNK];
        loop {
            match self.decoder.next_item() {
                Ok(Some(Decoded::Frame(frame))) => {
                    self.shared.notify(self.conn, Direction::In, Some(&frame));
                    // SEND frames are recorded with the message they make.
                    if frame.command() != &Command::Send {
                        self.record_in(Some(&frame));
                    }
                    match self.handle(frame) {
                        Ok(Flow::Continue) => {}
                        Ok(Flow::Stop(reason)) => return reason,
                        Err(failure) => return self.fail(failure),
                    }
                }
                Ok(Some(Decoded::HeartBeat)) => {
                    self.shared.notify(self.conn, Direction::In, None);
                    self.record_in(None);
                }
                Ok(None) => match self.stream.read(&mut chunk) {
                    Ok(0) => return self.ended(),
                    Ok(n) => {
                        self.decoder.feed(&chunk[..n]);
                        if n == chunk.len() && n < READ_CHUNK {
                            chunk.resize(n * 2, 0);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                        return self.timed_out();
                    }
                    Err(_) => return self.ended(),
                },
                Err(error) => {
                    let detail = format!(
                        "The broker could not read a frame: {error}. Limits: frames up to {} body bytes, {} headers, header lines up to {} bytes.",
                        self.shared.config.limits.max_frame_size,
                        self.shared.config.limits.max_headers,
                        self.shared.config.limits.max_header_line,
                    );
                    return self.fail(Failure::new(error.to_string(), detail));
                }
            }
        }
    }

    /// The socket closed or failed under us.
    fn ended(&self) -> CloseReason {
        if self.shared.is_shutting_down() {
            CloseReason::BrokerShutdown
        } else {
            CloseReason::PeerClosed
        }
    }

    fn timed_out(&mut self) -> CloseReason {
        if self.shared.is_shutting_down() {
            return CloseReason::BrokerShutdown;
        }
        let heart_beat = self.version.is_some();
        let failure = match self.version {
            None => Failure::new(
                "no CONNECT frame in time",
                format!(
                    "A client must send CONNECT or STOMP within {:?} of opening the connection.",
                    self.shared.config.connect_timeout
                ),
            ),
            Some(_) => Failure::new(
                "heart-beat timeout",
                "The client sent nothing (not even a heart-beat) for twice the negotiated heart-beat interval.",
            ),
        };
        match self.fail(failure) {
            _ if heart_beat => CloseReason::HeartBeatTimeout,
            reason => reason,
        }
    }

    fn fail(&mut self, failure: Failure) -> CloseReason {
        let message = failure.message.clone();
        let error = failure.into_frame();
        self.shared
            .journal
            .update(|j| j.error_sent(self.conn, &error));
        self.outbox.frame(error);
        CloseReason::ErrorSent(message)
    }

    /// Reads and drops input until the client closes or [`LINGER`] passes.
    fn linger(&mut self) {
        let deadline = Instant::now() + LINGER;
        let mut sink = [0u8; 4096];
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            if left.is_zero() || self.stream.set_read_timeout(Some(left)).is_err() {
                break;
            }
            match self.stream.read(&mut sink) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    }

    fn handle(&mut self, frame: Frame) -> Result<Flow, Failure> {
        let receipt = frame.header("receipt").map(str::to_owned);
        let result = match (self.version, frame.command()) {
            (None, Command::Connect | Command::Stomp) => {
                self.connect(&frame).map(|()| Flow::Continue)
            }
            (None, other) => Err(Failure::new(
                format!("expected CONNECT or STOMP frame, got {other}"),
                "The first frame on a connection must be CONNECT or STOMP.",
            )),
            (Some(_), _) => self.handle_connected(frame),
        };
        match result {
            Ok(flow) => {
                self.receipt(receipt);
                Ok(flow)
            }
            Err(mut failure) => {
                failure.receipt = receipt;
                Err(failure)
            }
        }
    }

    fn handle_connected(&mut self, frame: Frame) -> Result<Flow, Failure> {
        match frame.command() {
            Command::Send => self.send(frame)?,
            Command::Subscribe => self.subscribe(&frame)?,
            Command::Unsubscribe => self.unsubscribe(&frame)?,
            Command::Ack => self.acknowledge(&frame, AckKind::Ack)?,
            Command::Nack if self.version == Some(Version::V1_0) => {
                return Err(Failure::new(
                    "unknown command 'NACK'",
                    "NACK is not part of STOMP 1.0; negotiate 1.1 or 1.2 to use it.",
                ))
            }
            Command::Nack => self.acknowledge(&frame, AckKind::Nack)?,
            Command::Begin => self.begin(&frame)?,
            Command::Commit => self.commit(&frame)?,
            Command::Abort => self.abort(&frame)?,
            Command::Disconnect => return Ok(Flow::Stop(CloseReason::Disconnect)),
            Command::Connect | Command::Stomp => {
                return Err(Failure::new(
                    "already connected",
                    "This connection has already sent CONNECT; a session cannot be opened twice.",
                ))
            }
            other => {
                return Err(Failure::new(
                    format!("unknown command '{other}'"),
                    format!(
                        "'{other}' is not a client frame in STOMP {}.",
                        self.version_str()
                    ),
                ))
            }
        }
        Ok(Flow::Continue)
    }

    /// Puts an incoming frame (or heart-beat, `None`) in the transcript.
    fn record_in(&self, frame: Option<&Frame>) {
        if let Some(transcript) = &self.transcript {
            let entry = frame.map_or(Entry::HeartBeat, |f| Entry::Frame(f.clone()));
            transcript.push(Direction::In, [entry]);
        }
    }

    fn version_str(&self) -> &'static str {
        self.version.map_or("(not negotiated)", Version::as_str)
    }

    fn receipt(&self, receipt: Option<String>) {
        if let Some(id) = receipt {
            self.outbox
                .frame(Frame::new(Command::Receipt).with_header("receipt-id", id));
        }
    }
}
