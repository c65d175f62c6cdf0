//! A small HTTP/1.1 server under the inspection API, thread-based, that
//! neither a careless client nor an exhausted machine can take down:
//!
//! - one thread accepts, and never gives up: at the file-descriptor or
//!   thread limit it backs off (1 ms doubling to 1 s) and tries again, the
//!   listening socket open throughout;
//! - each connection is served on a thread of its own, at most
//!   [`MAX_CONNECTIONS`] at once; one more, or one for which no thread can be
//!   started, gets `503` at once and is closed;
//! - one request per connection (`Connection: close`), its head and body read
//!   within [`REQUEST_DEADLINE`], each write within [`WRITE_TIMEOUT`];
//! - a head over 64 KiB is `431`, a body over 16 MiB `413`, a malformed
//!   request `400`, a chunked request body `411`.
//!
//! A streamed response has no `Content-Length`: its end is the close.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

/// Connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 64;

/// The whole request (head and body) must arrive within this.
const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// Each write of the response must complete within this.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 16 * 1024 * 1024;
const MAX_HEADERS: usize = 64;

/// One request as received.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    /// The path and query, as sent.
    pub(crate) target: String,
    headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What a handler answers.
pub(crate) struct Response {
    status: u16,
    content_type: String,
    body: Body,
}

enum Body {
    Whole(Vec<u8>),
    Stream(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Response")
            .field("status", &self.status)
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

impl Response {
    pub(crate) fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Response {
        Response {
            status,
            content_type: content_type.to_owned(),
            body: Body::Whole(body),
        }
    }

    /// A body produced while it is written (no `Content-Length`).
    pub(crate) fn stream(content_type: &str, body: impl Read + Send + 'static) -> Response {
        Response {
            status: 200,
            content_type: content_type.to_owned(),
            body: Body::Stream(Box::new(body)),
        }
    }

    fn plain(status: u16, text: &str) -> Response {
        Response::bytes(
            status,
            "text/plain; charset=utf-8",
            text.as_bytes().to_vec(),
        )
    }
}

/// Answers one request.
pub(crate) type Handler = Arc<dyn Fn(Request) -> Response + Send + Sync>;

/// A running server; [`Server::stop`] ends its accept thread.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    listener: Arc<TcpListener>,
    stop: Sender<()>,
    stopping: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start(addr: SocketAddr, handler: Handler) -> io::Result<Server> {
        let listener = Arc::new(TcpListener::bind(addr)?);
        let addr = listener.local_addr()?;
        let (stop, stopped) = crossbeam_channel::bounded(1);
        let stopping = Arc::new(AtomicBool::new(false));
        let accepting = Accepting {
            listener: listener.clone(),
            handler,
            stopping: stopping.clone(),
            stopped,
            in_flight: Arc::new(AtomicUsize::new(0)),
        };
        let thread = thread::Builder::new()
            .name("stompbox-http".into())
            .spawn(move || accepting.run())?;
        Ok(Server {
            addr,
            listener,
            stop,
            stopping,
            thread: Some(thread),
        })
    }

    /// Stops accepting and joins the accept thread. Requests being served
    /// finish on their own threads (each bounded by its deadlines).
    pub(crate) fn stop(mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        let _ = self.stop.try_send(());
        // Wakes a blocked accept() (Linux: it returns EINVAL); a connection
        // to ourselves is the fallback elsewhere.
        let _ = socket2::SockRef::from(&*self.listener).shutdown(Shutdown::Read);
        let mut wake = self.addr;
        if wake.ip().is_unspecified() {
            wake.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        drop(TcpStream::connect_timeout(
            &wake,
            Duration::from_millis(100),
        ));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Accepting {
    listener: Arc<TcpListener>,
    handler: Handler,
    stopping: Arc<AtomicBool>,
    stopped: Receiver<()>,
    in_flight: Arc<AtomicUsize>,
}

impl Accepting {
    fn run(self) {
        let mut backoff = Backoff::default();
        loop {
            let accepted = self.listener.accept();
            if self.stopping.load(Ordering::SeqCst) {
                return;
            }
            match accepted {
                Ok((stream, _)) => {
                    backoff.reset();
                    self.dispatch(stream);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => {}
                Err(e) => {
                    // Out of file descriptors, memory or the like: the
                    // listener stays, and accepting resumes when it can.
                    let pause = backoff.next();
                    if backoff.is_first() {
                        eprintln!(
                            "stompbox: the HTTP API cannot accept a connection ({e}); retrying, backing off up to 1 s"
                        );
                    }
                    if self.stopped.recv_timeout(pause).is_ok() {
                        return;
                    }
                }
            }
        }
    }

    /// Serves `stream` on a thread of its own, or answers 503 at once.
    fn dispatch(&self, stream: TcpStream) {
        if self.in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            let busy = format!("{MAX_CONNECTIONS} requests are being served; try again");
            refuse(stream, &busy);
            return;
        }
        let handler = self.handler.clone();
        let in_flight = self.in_flight.clone();
        // The stream goes to the thread, or comes back to be refused.
        let (hand, take) = crossbeam_channel::bounded::<TcpStream>(1);
        let _ = hand.send(stream);
        let taken = take.clone();
        let started = thread::Builder::new()
            .name("stompbox-http-request".into())
            .spawn(move || {
                // Counted out however the request ends, a panic included, so
                // a bug in one answer never uses up the API's slots.
                let _slot = Slot(in_flight);
                if let Ok(stream) = taken.try_recv() {
                    serve(stream, &handler);
                }
            });
        if let Err(e) = started {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            if let Ok(stream) = take.try_recv() {
                refuse(
                    stream,
                    &format!("the broker cannot start a thread for this request ({e}); try again"),
                );
            }
        }
    }
}

/// A request being served, counted in `in_flight` until it is dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Back-off between failed accepts: 1 ms, doubling, at most 1 s.
#[derive(Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        self.failures += 1;
        Duration::from_millis(1 << self.failures.min(11).saturating_sub(1))
            .min(Duration::from_secs(1))
    }

    fn is_first(&self) -> bool {
        self.failures == 1
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

/// Writes a short 503 without blocking the accept thread, and closes.
fn refuse(stream: TcpStream, why: &str) {
    let _ = stream.set_nonblocking(true);
    let mut stream = stream;
    let _ = write_response(&mut stream, Response::plain(503, why));
}

fn serve(mut stream: TcpStream, handler: &Handler) {
    let _ = stream.set_write_timeout(Some(WRITE_TIMEOUT));
    let response = match read_request(&mut stream) {
        Ok(request) => handler(request),
        Err(refusal) => refusal,
    };
    let _ = write_response(&mut stream, response);
    let _ = stream.shutdown(Shutdown::Write);
}

/// Reads one request within [`REQUEST_DEADLINE`]; `Err` is the answer to
/// give instead.
fn read_request(stream: &mut TcpStream) -> Result<Request, Response> {
    let deadline = Instant::now() + REQUEST_DEADLINE;
    let mut buffer = Vec::with_capacity(4096);
    let (mut request, head_len, content_length) = loop {
        if let Some(parsed) = parse_head(&buffer)? {
            break parsed;
        }
        if buffer.len() > MAX_HEAD {
            return Err(Response::plain(431, "the request head is over 64 KiB"));
        }
        read_some(stream, &mut buffer, deadline)?;
    };
    if content_length > MAX_BODY {
        return Err(Response::plain(413, "the request body is over 16 MiB"));
    }
    let mut body = buffer.split_off(head_len);
    while body.len() < content_length {
        read_some(stream, &mut body, deadline)?;
    }
    body.truncate(content_length);
    request.body = body;
    Ok(request)
}

/// Appends what arrives next; `Err` on a closed connection or a passed
/// deadline.
fn read_some(
    stream: &mut TcpStream,
    into: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(), Response> {
    let timeout = || Response::plain(408, "the request did not arrive in time");
    let left = deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or_else(timeout)?;
    let _ = stream.set_read_timeout(Some(left));
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk) {
        Ok(0) => Err(Response::plain(400, "the connection closed mid-request")),
        Ok(n) => {
            into.extend_from_slice(&chunk[..n]);
            Ok(())
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(timeout())
        }
        Err(e) => Err(Response::plain(
            400,
            &format!("reading the request failed: {e}"),
        )),
    }
}

/// The request head, its length and the body's length, once complete.
fn parse_head(buffer: &[u8]) -> Result<Option<(Request, usize, usize)>, Response> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut slots);
    let head_len = match parsed.parse(buffer) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Response::plain(400, &format!("malformed request: {e}"))),
    };
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_owned(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let request = Request {
        method: parsed.method.unwrap_or_default().to_owned(),
        target: parsed.path.unwrap_or("/").to_owned(),
        headers,
        body: Vec::new(),
    };
    if request.header("transfer-encoding").is_some() {
        return Err(Response::plain(
            411,
            "send the request body with a Content-Length",
        ));
    }
    let content_length = match request.header("content-length") {
        None => 0,
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| Response::plain(400, "malformed Content-Length"))?,
    };
    Ok(Some((request, head_len, content_length)))
}

fn write_response(stream: &mut TcpStream, response: Response) -> io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nConnection: close\r\n",
        response.status, response.content_type
    );
    match response.body {
        Body::Whole(body) => {
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            let mut all = head.into_bytes();
            all.extend_from_slice(&body);
            stream.write_all(&all)
        }
        Body::Stream(mut body) => {
            head.push_str("\r\n");
            stream.write_all(head.as_bytes())?;
            let mut out = io::BufWriter::with_capacity(64 * 1024, &mut *stream);
            io::copy(&mut body, &mut out)?;
            out.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Option<(Request, usize, usize)>, Response> {
        parse_head(text.as_bytes())
    }

    #[test]
    fn heads_parse_with_their_body_length() {
        let (request, head_len, length) =
            parse("POST /messages?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
                .unwrap()
                .unwrap();
        assert_eq!(
            (request.method.as_str(), request.target.as_str()),
            ("POST", "/messages?x=1")
        );
        assert_eq!(request.header("HOST"), Some("h"));
        assert_eq!((head_len, length), (59, 5));
        assert!(
            parse("GET / HTTP/1.1\r\nHost").unwrap().is_none(),
            "partial"
        );
        let status = |r: Result<_, Response>| r.err().map(|r| r.status);
        assert_eq!(
            status(parse("GET / HTTP/1.1\r\nbad header\r\n\r\n")),
            Some(400)
        );
        assert_eq!(
            status(parse(
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
            )),
            Some(411)
        );
        assert_eq!(
            status(parse("POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n")),
            Some(400)
        );
    }

    /// One request to `addr`; the status line, or "" if the connection
    /// closed without one.
    fn status(addr: SocketAddr, path: &str) -> String {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: h\r\n\r\n").unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer.lines().next().unwrap_or_default().to_owned()
    }

    #[test]
    fn a_handler_that_panics_uses_up_no_slot() {
        let handler: Handler = Arc::new(|request: Request| {
            assert!(request.target != "/panic", "a bug in one answer");
            Response::plain(200, "fine")
        });
        let server = Server::start(SocketAddr::from(([127, 0, 0, 1], 0)), handler).unwrap();
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        for _ in 0..MAX_CONNECTIONS + 6 {
            assert_eq!(status(server.addr, "/panic"), "");
        }
        std::panic::set_hook(quiet);
        assert_eq!(status(server.addr, "/ok"), "HTTP/1.1 200 OK");
        server.stop();
    }

    #[test]
    fn backoff_doubles_to_a_second_and_resets() {
        let mut backoff = Backoff::default();
        let pauses: Vec<u128> = (0..13).map(|_| backoff.next().as_millis()).collect();
        assert_eq!(&pauses[..4], &[1, 2, 4, 8]);
        assert_eq!(*pauses.last().unwrap(), 1000);
        backoff.reset();
        assert_eq!(backoff.next(), Duration::from_millis(1));
    }
}
