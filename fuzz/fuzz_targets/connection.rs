//! Whole connections, several at once, and the HTTP API: arbitrary bytes
//! in; what comes out of each STOMP connection must be well-formed frames, an
//! ERROR (if any) last, and a close; each HTTP request must get a status line;
//! nothing may hang, and no broker thread may panic.
//!
//! The input is a series of chunks `[selector][length][bytes]`: selector % 3
//! says where the bytes go (STOMP connection A, STOMP connection B, or one
//! HTTP request on a connection of its own); the first chunk for A or B
//! picks a prefix (none, or a CONNECT for 1.0, 1.1 or 1.2) from the
//! selector's other bits, so the fuzzer spends its time past the handshake.
//!
//! Without `STOMPBOX_BIN`, STOMP goes to a broker in this process (a panic
//! on any of its threads aborts). The HTTP API lives in the binary: with
//! `STOMPBOX_BIN` set, the target starts it once and sends both STOMP and
//! HTTP there; the binary exiting, or printing a panic on stderr, is a crash.
//! `/wait` is rewritten to `/w4it`: a long-poll is a wait, not a hang. A
//! STOMP connection whose bytes start as an HTTP request gets an HTTP answer
//! (a WebSocket upgrade on the STOMP port), checked as such.
#![no_main]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command as Process, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use stompbox::frame::{Command, Decoded, Decoder, Limits};
use stompbox::{Broker, Version};

const PREFIXES: [&[u8]; 4] = [
    b"",
    b"CONNECT\nhost:h\n\n\0",
    b"CONNECT\naccept-version:1.1\nhost:h\n\n\0",
    b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SUBSCRIBE\nid:0\ndestination:/queue/f\n\n\0",
];

/// Where the input goes: the STOMP address, and the HTTP API's if any.
struct Target {
    stomp: SocketAddr,
    http: Option<SocketAddr>,
    child: Option<Mutex<Child>>,
}

/// A panic the binary printed on stderr.
static PANICKED: Mutex<Option<String>> = Mutex::new(None);

fn target() -> &'static Target {
    static TARGET: OnceLock<Target> = OnceLock::new();
    TARGET.get_or_init(|| {
        // A panic on any broker thread is a crash the fuzzer must see.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            default(info);
            std::process::abort();
        }));
        match std::env::var("STOMPBOX_BIN") {
            Ok(bin) => binary(&bin),
            Err(_) => in_process(),
        }
    })
}

fn in_process() -> Target {
    let broker = Broker::builder()
        .recording(false)
        .limits(Limits {
            max_frame_size: 4096,
            max_headers: 16,
            max_header_line: 256,
        })
        .start()
        .expect("broker starts");
    let stomp = broker.addr();
    // Lives as long as the fuzzing process.
    std::mem::forget(broker);
    Target {
        stomp,
        http: None,
        child: None,
    }
}

fn binary(bin: &str) -> Target {
    let mut child = Process::new(bin)
        .args([
            "--port",
            "0",
            "--http-port",
            "0",
            "--ready-json",
            "--log",
            "off",
            "--max-frame-size",
            "4096",
            "--max-headers",
            "16",
            "--max-header-line",
            "256",
            // libFuzzer ends the process with exit(), which runs no
            // destructor: the broker goes when its stdin pipe closes.
            "--stop-on-stdin-close",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the stompbox binary starts");
    let stderr = BufReader::new(child.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if line.contains("panicked at") {
                *PANICKED.lock().unwrap() = Some(line);
            }
        }
    });
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("the ready line");
    let field = |name: &str| -> SocketAddr {
        let start = line
            .find(&format!("\"{name}\":\""))
            .expect("ready line field")
            + name.len()
            + 4;
        let end = start + line[start..].find('"').unwrap();
        line[start..end].parse().expect("an address")
    };
    Target {
        stomp: field("stomp"),
        http: Some(field("http")),
        child: Some(Mutex::new(child)),
    }
}

/// The chunks of the input, by destination: (A, B, HTTP requests).
fn split(data: &[u8]) -> (Vec<u8>, Vec<u8>, Vec<Vec<u8>>) {
    let (mut a, mut b, mut http) = (None::<Vec<u8>>, None::<Vec<u8>>, Vec::new());
    let mut rest = data;
    while let [selector, length, tail @ ..] = rest {
        let take = usize::from(*length).min(tail.len());
        let (bytes, next) = tail.split_at(take);
        rest = next;
        let prefix = || PREFIXES[usize::from(selector / 3) % PREFIXES.len()].to_vec();
        match selector % 3 {
            0 => a.get_or_insert_with(prefix).extend_from_slice(bytes),
            1 => b.get_or_insert_with(prefix).extend_from_slice(bytes),
            _ => http.push(bytes.to_vec()),
        }
    }
    (a.unwrap_or_default(), b.unwrap_or_default(), http)
}

fuzz_target!(|data: &[u8]| {
    let target = target();
    let (a, b, requests) = split(data);
    let (http_a, http_b) = (a.starts_with(b"GET "), b.starts_with(b"GET "));
    let mut a = open(target.stomp, &a);
    let mut b = open(target.stomp, &b);
    if let Some(http) = target.http {
        for request in requests {
            check_http(http, &request);
        }
    }
    check_stomp(&mut a, http_a);
    check_stomp(&mut b, http_b);
    if let Some(child) = &target.child {
        let exited = child.lock().unwrap().try_wait().expect("try_wait");
        assert!(exited.is_none(), "the stompbox binary exited: {exited:?}");
        if let Some(panic) = PANICKED.lock().unwrap().as_ref() {
            panic!("the stompbox binary panicked: {panic}");
        }
    }
});

/// A STOMP connection that has sent `input` and half-closed.
fn open(addr: SocketAddr, input: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The broker may close early (after an ERROR); a failed write is fine.
    let _ = stream.write_all(input);
    let _ = stream.shutdown(Shutdown::Write);
    stream
}

/// What came back: frames, an ERROR last; or, for input that began as an
/// HTTP request (a WebSocket upgrade on the STOMP port), an HTTP answer.
fn check_stomp(stream: &mut TcpStream, http: bool) {
    let mut output = Vec::new();
    match stream.read_to_end(&mut output) {
        Ok(_) => {}
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            panic!("the broker neither answered nor closed within 10 s")
        }
        Err(_) => return, // reset by the broker after an ERROR: nothing more to check
    }
    if http {
        assert!(
            output.is_empty() || output.starts_with(b"HTTP/1.1 "),
            "an HTTP request got {:?}",
            String::from_utf8_lossy(&output[..output.len().min(200)])
        );
        return;
    }
    // Whatever came out parses as frames, and an ERROR is the last one.
    let mut decoder = Decoder::new(Limits {
        max_frame_size: usize::MAX / 2,
        max_headers: usize::MAX / 2,
        max_header_line: usize::MAX / 2,
    });
    // 1.0 rules take any version's escapes literally, so every frame parses.
    decoder.set_version(Some(Version::V1_0));
    decoder.feed(&output);
    let mut saw_error = false;
    while let Some(item) = decoder
        .next_item()
        .expect("the broker's output is well-formed")
    {
        if let Decoded::Frame(frame) = item {
            assert!(!saw_error, "a frame after ERROR: {frame}");
            saw_error = frame.command() == &Command::Error;
        }
    }
    assert_eq!(decoder.buffered(), 0, "the output ends on a frame boundary");
}

/// One HTTP request on a connection of its own: it gets a status line,
/// within the server's request deadline. Endpoints that would block or
/// take the broker away on purpose (a long wait, faults, a pause, a
/// restart, a kick) are renamed out of reach.
fn check_http(addr: SocketAddr, request: &[u8]) {
    let mut request = String::from_utf8_lossy(request).into_owned();
    for (endpoint, renamed) in [
        ("/wait", "/w4it"),
        ("/faults", "/f4ults"),
        ("/pause", "/p4use"),
        ("/restart", "/rest4rt"),
        ("/kick", "/k1ck"),
    ] {
        request = request.replace(endpoint, renamed);
    }
    let request = request.into_bytes();
    let mut stream = TcpStream::connect(addr).expect("connect to the HTTP API");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let _ = stream.write_all(&request);
    let _ = stream.shutdown(Shutdown::Write);
    let mut answer = Vec::new();
    match stream.read_to_end(&mut answer) {
        Ok(_) => {}
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            panic!("the HTTP API neither answered nor closed within 15 s")
        }
        Err(_) => return,
    }
    let status = answer
        .get(..12)
        .map(|s| String::from_utf8_lossy(s).into_owned());
    assert!(
        status.as_deref().is_some_and(
            |s| s.starts_with("HTTP/1.1 ") && s[9..12].bytes().all(|b| b.is_ascii_digit())
        ),
        "no status line: {:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(200)])
    );
}
