//! Broker benchmarks: `cargo bench --bench broker [-- quick | journal | queue | acked | topic | topic-off | websocket | tls | remote HOST:PORT]`.
//!
//! 1. start + shutdown of a broker (what every test pays);
//! 2. one client's SEND-with-receipt round trip (median, p99);
//! 3. one producer to one consumer on a queue, 100-byte bodies, messages/s,
//!    with the journal recording and without;
//! 4. the same queue with the consumer ACKing every message, messages/s;
//! 5. one producer to 10 topic subscribers, deliveries/s, journal on and off;
//! 6. the queue of 3 with both clients over WebSocket, against TCP;
//! 7. TLS: a start with a TLS port (certificate made), a handshake + CONNECT.
//!
//! Clients here are lean raw sockets (pre-encoded frames, buffered writes, the
//! crate's decoder to read), so the figures are the broker's, not a client's.

use std::io::{BufWriter, ErrorKind, Read, Write};
use std::net::TcpListener;
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use stompbox::frame::{Command, Decoded, Decoder, Frame, Limits};
use stompbox::{Broker, Version};

struct Conn {
    stream: TcpStream,
    decoder: Decoder,
    chunk: Vec<u8>,
    /// Over WebSocket: the server's frames not yet unwrapped.
    websocket: Option<Vec<u8>>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        Conn::open_over(addr, false)
    }

    /// A connection over TCP, or over WebSocket on the same port.
    fn open_over(addr: SocketAddr, websocket: bool) -> Conn {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        if websocket {
            upgrade(&mut stream);
        }
        let mut conn = Conn {
            stream,
            decoder: Decoder::new(Limits::default()),
            chunk: vec![0; 256 * 1024],
            websocket: websocket.then(Vec::new),
        };
        conn.write(b"CONNECT\naccept-version:1.2\nhost:bench\n\n\0");
        assert_eq!(conn.frame().command(), &Command::Connected);
        conn.decoder.set_version(Some(Version::V1_2));
        conn
    }

    fn write(&mut self, bytes: &[u8]) {
        let wrapped;
        let bytes = if self.websocket.is_some() {
            wrapped = ws_message(bytes);
            &wrapped[..]
        } else {
            bytes
        };
        self.stream.write_all(bytes).unwrap();
    }

    /// What was read, unwrapped from WebSocket frames if need be.
    fn feed(&mut self, n: usize) {
        let Some(raw) = &mut self.websocket else {
            self.decoder.feed(&self.chunk[..n]);
            return;
        };
        raw.extend_from_slice(&self.chunk[..n]);
        loop {
            let Some((start, length)) = ws_frame_at(raw) else {
                return;
            };
            self.decoder.feed(&raw[start..start + length]);
            raw.drain(..start + length);
        }
    }

    fn frame(&mut self) -> Frame {
        loop {
            match self.decoder.next_item().unwrap() {
                Some(Decoded::Frame(frame)) => return frame,
                Some(Decoded::HeartBeat) => continue,
                None => match self.stream.read(&mut self.chunk) {
                    Ok(n) => {
                        assert!(n > 0, "broker closed the connection");
                        self.feed(n);
                    }
                    // Busy-polling mode (non-blocking socket): try again.
                    Err(e) if e.kind() == ErrorKind::WouldBlock => std::hint::spin_loop(),
                    Err(e) => panic!("read failed: {e}"),
                },
            }
        }
    }

    fn subscribe(&mut self, destination: &str) {
        self.subscribe_with(destination, "auto");
    }

    fn subscribe_with(&mut self, destination: &str, ack: &str) {
        self.write(
            format!("SUBSCRIBE\ndestination:{destination}\nid:1\nack:{ack}\nreceipt:s\n\n\0")
                .as_bytes(),
        );
        assert_eq!(self.frame().command(), &Command::Receipt);
    }

    /// Reads `count` MESSAGE frames, ACKing each one (client-individual),
    /// the ACKs written through a buffer flushed whenever no frame is ready.
    fn drain_acking(&mut self, count: usize) {
        let mut acks: Vec<u8> = Vec::with_capacity(64 * 1024);
        for _ in 0..count {
            if self.decoder.buffered() == 0 && !acks.is_empty() {
                self.stream.write_all(&acks).unwrap();
                acks.clear();
            }
            let frame = self.frame();
            let id = frame
                .header("ack")
                .expect("client-individual MESSAGE has an ack header");
            acks.extend_from_slice(b"ACK\nid:");
            acks.extend_from_slice(id.as_bytes());
            acks.extend_from_slice(b"\n\n\0");
        }
        self.stream.write_all(&acks).unwrap();
    }

    /// Reads until `count` MESSAGE frames have arrived.
    fn drain(&mut self, count: usize) {
        for _ in 0..count {
            let frame = self.frame();
            debug_assert_eq!(frame.command(), &Command::Message);
        }
    }
}

/// The WebSocket upgrade, read up to the end of the 101 response.
fn upgrade(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /ws HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: v12.stomp\r\n\r\n")
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    assert!(head.starts_with(b"HTTP/1.1 101"));
}

/// A client's WebSocket message holding `payload` (masked with a zero key,
/// which leaves the bytes as they are).
fn ws_message(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x82];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 65535 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(payload);
    out
}

/// Where the payload of the server frame at the start of `raw` is, once
/// it is all there.
fn ws_frame_at(raw: &[u8]) -> Option<(usize, usize)> {
    let second = *raw.get(1)?;
    let (length, start) = match second & 0x7F {
        126 => (
            usize::from(u16::from_be_bytes([*raw.get(2)?, *raw.get(3)?])),
            4,
        ),
        127 => (
            usize::try_from(u64::from_be_bytes(raw.get(2..10)?.try_into().ok()?)).ok()?,
            10,
        ),
        n => (usize::from(n), 2),
    };
    (raw.len() >= start + length).then_some((start, length))
}

fn send_frame(destination: &str, body_len: usize) -> Vec<u8> {
    let body = vec![b'x'; body_len];
    Frame::new(Command::Send)
        .with_header("destination", destination)
        .with_header("content-length", body_len.to_string())
        .with_body(body)
        .encode(Some(Version::V1_2))
}

/// Writes `count` copies of `frame` through a buffer, then flushes.
fn produce(addr: SocketAddr, frame: Vec<u8>, count: usize) -> thread::JoinHandle<()> {
    produce_over(addr, frame, count, false)
}

/// [`produce`], over WebSocket if asked (a message per frame).
fn produce_over(
    addr: SocketAddr,
    frame: Vec<u8>,
    count: usize,
    websocket: bool,
) -> thread::JoinHandle<()> {
    let frame = if websocket { ws_message(&frame) } else { frame };
    thread::spawn(move || {
        let conn = Conn::open_over(addr, websocket);
        let mut out = BufWriter::with_capacity(64 * 1024, &conn.stream);
        for _ in 0..count {
            out.write_all(&frame).unwrap();
        }
        out.flush().unwrap();
        drop(out);
        // Stay connected until the broker has read everything.
        let mut conn = conn;
        conn.write(b"DISCONNECT\nreceipt:done\n\n\0");
        assert_eq!(conn.frame().command(), &Command::Receipt);
    })
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn start_shutdown(iterations: usize) {
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let started = Instant::now();
            Broker::start().unwrap().shutdown();
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "start+shutdown: median {:?}, p99 {:?} ({iterations} runs)",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}

/// Median and p99 of SEND-with-receipt round trips; `busy_poll` makes the
/// client spin on a non-blocking socket instead of sleeping in `read`, which
/// takes the client's own wake-up (about 25 µs on a small VM) out of the figure.
fn round_trip(iterations: usize, busy_poll: bool) {
    let broker = Broker::start().unwrap();
    let mut conn = Conn::open(broker.addr());
    conn.stream.set_nonblocking(busy_poll).unwrap();
    let frame = Frame::new(Command::Send)
        .with_header("destination", "/queue/rtt")
        .with_header("receipt", "r")
        .with_body(vec![b'x'; 100])
        .encode(Some(Version::V1_2));
    // The queue has no consumer: each message is kept, as a real test would.
    let mut times = Vec::with_capacity(iterations);
    for _ in 0..iterations {
        let started = Instant::now();
        conn.write(&frame);
        let receipt = conn.frame();
        times.push(started.elapsed());
        debug_assert_eq!(receipt.command(), &Command::Receipt);
    }
    times.sort();
    let client = if busy_poll {
        "busy-polling"
    } else {
        "blocking"
    };
    println!(
        "SEND+RECEIPT round trip, {client} client: median {:?}, p99 {:?} ({iterations} round trips)",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}

/// The floor for any thread-per-connection server here: a bare TCP echo of
/// 100 bytes between two threads of this process, blocking client.
fn echo_floor(iterations: usize) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        let mut buf = [0u8; 1024];
        loop {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => stream.write_all(&buf[..n]).unwrap(),
            }
        }
    });
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_nodelay(true).unwrap();
    let mut times = Vec::with_capacity(iterations);
    let mut buf = [0u8; 1024];
    for _ in 0..iterations {
        let started = Instant::now();
        client.write_all(&[b'x'; 100]).unwrap();
        let mut got = 0;
        while got < 100 {
            got += client.read(&mut buf).unwrap();
        }
        times.push(started.elapsed());
    }
    drop(client);
    server.join().unwrap();
    times.sort();
    println!(
        "reference: bare TCP echo between two threads: median {:?}, p99 {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}

/// Messages/s through one queue.
fn queue_throughput(count: usize, recording: bool) -> f64 {
    let broker = Broker::builder().recording(recording).start().unwrap();
    let mut consumer = Conn::open(broker.addr());
    consumer.subscribe("/queue/bench");
    let started = Instant::now();
    let producer = produce(broker.addr(), send_frame("/queue/bench", 100), count);
    consumer.drain(count);
    let elapsed = started.elapsed();
    producer.join().unwrap();
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "queue, 1 producer -> 1 consumer, 100-byte bodies, journal {}: {rate:.0} messages/s ({count} in {elapsed:?})",
        if recording { "on" } else { "off" },
    );
    rate
}

/// Messages/s through one queue, both clients over WebSocket or over TCP.
fn queue_throughput_over(count: usize, websocket: bool) -> f64 {
    let broker = Broker::start().unwrap();
    let mut consumer = Conn::open_over(broker.addr(), websocket);
    consumer.subscribe("/queue/bench");
    let started = Instant::now();
    let producer = produce_over(
        broker.addr(),
        send_frame("/queue/bench", 100),
        count,
        websocket,
    );
    consumer.drain(count);
    let elapsed = started.elapsed();
    producer.join().unwrap();
    let rate = count as f64 / elapsed.as_secs_f64();
    let over = if websocket { "WebSocket" } else { "TCP" };
    println!(
        "queue over {over}, 1 producer -> 1 consumer, 100-byte bodies: {rate:.0} messages/s ({count} in {elapsed:?})"
    );
    rate
}

/// WebSocket against TCP, alternating, median of `pairs` runs each.
fn websocket_cost(count: usize, pairs: usize) {
    let (mut tcp, mut ws) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        tcp.push(queue_throughput_over(count, false));
        ws.push(queue_throughput_over(count, true));
    }
    let (tcp, ws) = (median(&mut tcp), median(&mut ws));
    println!(
        "WebSocket cost: median {ws:.0} messages/s over WebSocket vs {tcp:.0} over TCP, ratio {:.2} ({pairs} runs each)",
        ws / tcp
    );
}

/// What TLS costs: a broker's start with a TLS port (the certificate made
/// then) against without, and a TLS handshake plus CONNECT.
fn tls_cost(iterations: usize) {
    let start = |tls: bool| {
        let mut times: Vec<Duration> = (0..iterations / 10)
            .map(|_| {
                let started = Instant::now();
                let builder = Broker::builder();
                let builder = if tls { builder.tls_port(0) } else { builder };
                builder.start().unwrap().shutdown();
                started.elapsed()
            })
            .collect();
        times.sort();
        percentile(&times, 0.5)
    };
    let (plain, tls) = (start(false), start(true));
    println!(
        "start+shutdown with a TLS port (certificate made at start): median {tls:?}, without {plain:?} ({} runs)",
        iterations / 10
    );
    let broker = Broker::builder().tls_port(0).start().unwrap();
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in
        rustls::pki_types::CertificateDer::pem_slice_iter(broker.tls_ca_pem().unwrap().as_bytes())
    {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = std::sync::Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let addr = broker.tls_addr().unwrap();
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let started = Instant::now();
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let connection = rustls::ClientConnection::new(config.clone(), name).unwrap();
            let tcp = TcpStream::connect(addr).unwrap();
            tcp.set_nodelay(true).unwrap();
            let mut stream = rustls::StreamOwned::new(connection, tcp);
            stream
                .write_all(b"CONNECT\naccept-version:1.2\nhost:bench\n\n\0")
                .unwrap();
            let mut answer = [0u8; 9];
            stream.read_exact(&mut answer).unwrap();
            assert_eq!(&answer, b"CONNECTED");
            started.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "TLS connect (TCP + TLS 1.3 handshake + CONNECT/CONNECTED): median {:?}, p99 {:?} ({iterations} connections)",
        percentile(&times, 0.5),
        percentile(&times, 0.99)
    );
}

/// Messages/s through one queue of a broker already running at `addr` (the
/// binary, to measure what its log costs).
fn remote_queue_throughput(addr: SocketAddr, count: usize) -> f64 {
    let mut consumer = Conn::open(addr);
    consumer.subscribe("/queue/bench-remote");
    let started = Instant::now();
    let producer = produce(addr, send_frame("/queue/bench-remote", 100), count);
    consumer.drain(count);
    let elapsed = started.elapsed();
    producer.join().unwrap();
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "queue at {addr}, 1 producer -> 1 consumer, 100-byte bodies: {rate:.0} messages/s ({count} in {elapsed:?})"
    );
    rate
}

/// Messages/s through one queue whose consumer ACKs every message
/// (client-individual), recording on.
fn queue_acked_throughput(count: usize) -> f64 {
    let broker = Broker::start().unwrap();
    let mut consumer = Conn::open(broker.addr());
    consumer.subscribe_with("/queue/bench", "client-individual");
    let started = Instant::now();
    let producer = produce(broker.addr(), send_frame("/queue/bench", 100), count);
    consumer.drain_acking(count);
    let elapsed = started.elapsed();
    producer.join().unwrap();
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "queue, 1 producer -> 1 consumer ACKing each (client-individual), 100-byte bodies: {rate:.0} messages/s ({count} in {elapsed:?})",
    );
    rate
}

/// What recording costs: queue throughput with the journal on and off,
/// alternated `pairs` times so drift in the machine's speed affects both.
fn journal_cost(count: usize, pairs: usize) {
    let mut on = Vec::new();
    let mut off = Vec::new();
    for _ in 0..pairs {
        on.push(queue_throughput(count, true));
        off.push(queue_throughput(count, false));
    }
    let (on, off) = (median(&mut on), median(&mut off));
    println!(
        "journal cost: median {on:.0} messages/s on vs {off:.0} off, ratio {:.2} ({pairs} runs each)",
        on / off
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn topic_fan_out(count: usize, subscribers: usize, recording: bool) {
    let broker = Broker::builder().recording(recording).start().unwrap();
    let addr = broker.addr();
    let mut consumers: Vec<Conn> = (0..subscribers).map(|_| Conn::open(addr)).collect();
    for c in &mut consumers {
        c.subscribe("/topic/bench");
    }
    let started = Instant::now();
    let readers: Vec<_> = consumers
        .into_iter()
        .map(|mut c| thread::spawn(move || c.drain(count)))
        .collect();
    let producer = produce(addr, send_frame("/topic/bench", 100), count);
    for r in readers {
        r.join().unwrap();
    }
    let elapsed = started.elapsed();
    producer.join().unwrap();
    let deliveries = count * subscribers;
    println!(
        "topic, 1 producer -> {subscribers} subscribers, 100-byte bodies, journal {}: {:.0} deliveries/s ({deliveries} in {elapsed:?})",
        if recording { "on" } else { "off" },
        deliveries as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `quick` runs each workload briefly.
    let quick = std::env::args().any(|a| a == "quick");
    // `queue`, `acked`, `topic`: one workload alone (for a profiler).
    if std::env::args().any(|a| a == "queue") {
        queue_throughput(1_000_000, true);
        return;
    }
    if std::env::args().any(|a| a == "acked") {
        queue_acked_throughput(1_000_000);
        return;
    }
    if std::env::args().any(|a| a == "topic") {
        topic_fan_out(200_000, 10, true);
        return;
    }
    if std::env::args().any(|a| a == "topic-off") {
        topic_fan_out(200_000, 10, false);
        return;
    }
    // `remote HOST:PORT`: the queue workload against a running broker.
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "remote") {
        let addr = args[at + 1].parse().expect("remote HOST:PORT");
        remote_queue_throughput(addr, 500_000);
        return;
    }
    if std::env::args().any(|a| a == "tls") {
        tls_cost(1000);
        return;
    }
    if std::env::args().any(|a| a == "websocket") {
        websocket_cost(500_000, 3);
        return;
    }
    if std::env::args().any(|a| a == "journal") {
        journal_cost(1_000_000, 5);
        return;
    }
    let scale = if quick { 10 } else { 1 };
    start_shutdown(5000 / scale);
    echo_floor(50_000 / scale);
    round_trip(50_000 / scale, false);
    round_trip(50_000 / scale, true);
    journal_cost(1_000_000 / scale, 3);
    queue_acked_throughput(1_000_000 / scale);
    topic_fan_out(200_000 / scale, 10, true);
    topic_fan_out(200_000 / scale, 10, false);
    websocket_cost(500_000 / scale, 3);
    tls_cost(1000 / scale);
}
