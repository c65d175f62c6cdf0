//! The `stompbox` binary: ready line, traffic log, HTTP API, signals,
//! config file and port errors.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use stompbox::{AckMode, Client};

struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        Running::spawn(Process::new(env!("CARGO_BIN_EXE_stompbox")).args(args))
    }

    /// On free ports, with the HTTP API, the ready line in JSON, no log.
    fn with_http() -> Running {
        Running::start(&[
            "--port",
            "0",
            "--http-port",
            "0",
            "--ready-json",
            "--log",
            "off",
        ])
    }

    fn spawn(command: &mut Process) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Running { child, lines }
    }

    /// Runs the binary with at most `descriptors` open files (a shell's
    /// `ulimit -n`, then `exec`).
    fn start_with_fd_limit(descriptors: usize, args: &[&str]) -> Running {
        let script = format!("ulimit -n {descriptors} && exec \"$0\" \"$@\"");
        let mut shell_args = vec!["-c", script.as_str(), env!("CARGO_BIN_EXE_stompbox")];
        shell_args.extend_from_slice(args);
        Running::spawn(Process::new("sh").args(&shell_args))
    }

    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line on stdout")
    }

    /// Lines until one contains `needle`.
    fn line_containing(&self, needle: &str) -> String {
        loop {
            let line = self.line();
            if line.contains(needle) {
                return line;
            }
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends SIGTERM to `child` and returns its exit status, failing the test
/// (after a SIGKILL) if it has not exited within `within`.
fn stop_with_sigterm(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    // The shell's own `kill`: no separate binary needed.
    let signal = |name: &str, pid: u32| {
        Process::new("sh")
            .args(["-c", &format!("kill -{name} {pid}")])
            .status()
            .unwrap()
            .success()
    };
    let pid = child.id();
    assert!(signal("TERM", pid));
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        scope.spawn(move || tx.send(child.wait()));
        match rx.recv_timeout(within) {
            Ok(status) => status.unwrap(),
            Err(_) => {
                signal("KILL", pid);
                panic!("SIGTERM did not stop it within {within:?}");
            }
        }
    })
}

/// Writes a config file for one test, in a folder of this test process.
fn config_file(name: &str, toml: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stompbox-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, toml).unwrap();
    path
}

fn listening_addr(line: &str) -> String {
    assert!(line.starts_with("stompbox listening on "), "{line}");
    line.rsplit(' ').next().unwrap().to_owned()
}

#[test]
fn port_0_prints_a_free_address_first_and_then_the_traffic() {
    let broker = Running::start(&["--port", "0"]);
    let addr = listening_addr(&broker.line());
    let mut client = Client::connect(addr.as_str()).unwrap();
    client.subscribe("/queue/cli", AckMode::Auto).unwrap();
    client.send("/queue/cli", "hello from a test").unwrap();
    client.recv_timeout(Duration::from_secs(5)).unwrap();
    let line = broker.line_containing("<- SEND");
    assert!(line.contains("destination:/queue/cli"), "{line}");
    assert!(line.contains("hello from a test"), "{line}");
    let line = broker.line_containing("-> MESSAGE");
    assert!(line.contains("subscription:"), "{line}");
}

#[test]
fn quiet_prints_only_the_address() {
    let broker = Running::start(&["--port", "0", "--quiet"]);
    let addr = listening_addr(&broker.line());
    Client::connect(addr.as_str())
        .unwrap()
        .disconnect()
        .unwrap();
    assert!(
        broker
            .lines
            .recv_timeout(Duration::from_millis(200))
            .is_err()
    );
}

#[test]
fn a_busy_port_is_a_clear_error_and_a_failure_exit() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let output = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .args(["--port", &port])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen for STOMP on 127.0.0.1:{port}")),
        "{stderr}"
    );
}

#[test]
fn help_and_version_work() {
    let help = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--port"));
    let version = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("stompbox {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_rocketmq_profile_takes_users_and_grants() {
    let broker = Running::start(&[
        "--port",
        "0",
        "--quiet",
        "--profile",
        "rocketmq",
        "--user",
        "AK1:secret",
        "--grant",
        "AK1:orders:PUB+SUB",
    ]);
    let addr = listening_addr(&broker.line());
    let passcode = stompbox::auth::rocketmq_passcode("secret", "c1");
    let mut client = Client::builder()
        .login("AK1", passcode)
        .header("client-id", "c1")
        .connect(addr.as_str())
        .unwrap();
    client.send_with_receipt("/orders/a", "ok").unwrap();
    let err = client.send_with_receipt("/payments/a", "no").unwrap_err();
    assert!(
        err.to_string().contains("needs PUB on topic 'payments'"),
        "{err}"
    );
    let unsigned = Client::builder()
        .login("AK1", "secret")
        .connect(addr.as_str());
    assert!(
        unsigned
            .unwrap_err()
            .to_string()
            .contains("missing client-id header")
    );
}

#[test]
fn a_malformed_grant_is_a_clear_error() {
    let output = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .args(["--grant", "AK1:orders:WRITE"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("ACCESS must be PUB, SUB or PUB+SUB, got \"WRITE\""),
        "{stderr}"
    );
}

/// A one-shot HTTP/1.1 request; returns the status and the JSON body.
fn http(addr: &str, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let (status, _, bytes) = http_bytes(addr, method, path, body);
    let text = String::from_utf8(bytes).unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

/// One request; the status, the response's head, and its body (de-chunked
/// when it was streamed).
fn http_bytes(addr: &str, method: &str, path: &str, body: &str) -> (u16, String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    // An API that does not answer fails the test rather than hanging it.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8(response[..split].to_vec()).unwrap();
    let status = head[9..12].parse().unwrap();
    let mut rest = &response[split + 4..];
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return (status, head, rest.to_vec());
    }
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size_text = std::str::from_utf8(&rest[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            return (status, head, body);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}

fn ready_json(broker: &Running) -> (String, String) {
    let ready: serde_json::Value = serde_json::from_str(&broker.line()).unwrap();
    (
        ready["stomp"].as_str().unwrap().to_owned(),
        ready["http"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn the_http_api_shows_the_journal_and_injects_messages() {
    let broker = Running::with_http();
    let (stomp, http_addr) = ready_json(&broker);
    let mut client = Client::connect(stomp.as_str()).unwrap();
    client
        .subscribe("/queue/jobs", AckMode::ClientIndividual)
        .unwrap();
    client
        .send_with_receipt("/queue/orders", "order 1")
        .unwrap();

    let (status, messages) = http(
        &http_addr,
        "GET",
        "/messages?destination=%2Fqueue%2Forders",
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(messages[0]["body"], "order 1");
    assert_eq!(messages[0]["origin"]["kind"], "client");
    assert_eq!(messages[0]["origin"]["connection"], 1);

    let (status, created) = http(
        &http_addr,
        "POST",
        "/messages",
        r#"{"destination":"/queue/jobs","body":"job","headers":{"kind":"test"}}"#,
    );
    assert_eq!(status, 201);
    let job = client.recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(job.body_text(), "job");
    assert_eq!(job.header("kind"), Some("test"));
    assert_eq!(created["message_id"], job.message_id().unwrap());
    let (_, jobs) = http(
        &http_addr,
        "GET",
        "/messages?destination=%2Fqueue%2Fjobs",
        "",
    );
    assert_eq!(jobs[0]["origin"], serde_json::json!({"kind": "injected"}));

    let (_, subs) = http(&http_addr, "GET", "/subscriptions", "");
    assert_eq!(subs[0]["destination"], "/queue/jobs");
    assert_eq!(subs[0]["unacked"], 1);
    let (_, conns) = http(&http_addr, "GET", "/connections", "");
    assert_eq!(conns[0]["version"], "1.2");
    let (_, frames) = http(&http_addr, "GET", "/connections/1/frames", "");
    assert_eq!(frames[0]["frame"]["command"], "CONNECT");
    assert_eq!(frames[0]["direction"], "in");

    let (status, _) = http(&http_addr, "POST", "/reset", "");
    assert_eq!(status, 200);
    let (_, messages) = http(&http_addr, "GET", "/messages", "");
    assert_eq!(messages, serde_json::json!([]));
}

#[test]
fn the_http_wait_answers_on_arrival_or_with_408() {
    let broker = Running::start(&["--port", "0", "--http-port", "0", "--ready-json", "-q"]);
    let (stomp, http_addr) = ready_json(&broker);
    let (status, body) = http(
        &http_addr,
        "GET",
        "/wait?destination=/queue/w&count=1&timeout_ms=30",
        "",
    );
    assert_eq!(status, 408);
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains("waiting for 1 message published to /queue/w"),
        "{error}"
    );
    assert_eq!(body["arrived"], serde_json::json!([]));

    let waiter = {
        let http_addr = http_addr.clone();
        std::thread::spawn(move || {
            http(
                &http_addr,
                "GET",
                "/wait?destination=/queue/w&count=2&timeout_ms=10000",
                "",
            )
        })
    };
    let mut client = Client::connect(stomp.as_str()).unwrap();
    client.send("/queue/w", "1").unwrap();
    client.send("/queue/w", "2").unwrap();
    let (status, body) = waiter.join().unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["messages"].as_array().unwrap().len(), 2);

    let (status, body) = http(&http_addr, "GET", "/wait?count=1", "");
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("destination (or client) is required"))
    );
    let (status, _) = http(&http_addr, "GET", "/nowhere", "");
    assert_eq!(status, 404);
}

#[test]
fn sigterm_stops_it_cleanly_with_exit_0() {
    let mut broker = Running::start(&["--port", "0", "--http-port", "0", "-q"]);
    let addr = listening_addr(&broker.line());
    let _client = Client::connect(addr.as_str()).unwrap();
    let status = stop_with_sigterm(&mut broker.child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(std::net::TcpStream::connect(addr.as_str()).is_err());
}

#[test]
fn stop_on_stdin_close_stops_it_when_the_parent_lets_go_of_stdin() {
    let mut command = Process::new(env!("CARGO_BIN_EXE_stompbox"));
    command
        .args(["--port", "0", "-q", "--stop-on-stdin-close"])
        .stdin(Stdio::piped());
    let mut broker = Running::spawn(&mut command);
    let addr = listening_addr(&broker.line());
    let _client = Client::connect(addr.as_str()).unwrap();
    let stdin = broker.child.stdin.take().expect("stdin is piped");
    assert!(
        broker.child.try_wait().unwrap().is_none(),
        "it runs while stdin is open"
    );
    drop(stdin);
    let pid = broker.child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| tx.send(broker.child.wait()));
        let Ok(status) = rx.recv_timeout(Duration::from_secs(10)) else {
            let kill = format!("kill -KILL {pid}");
            Process::new("sh").args(["-c", &kill]).status().unwrap();
            panic!("it did not stop within 10 s of stdin closing");
        };
        assert_eq!(status.unwrap().code(), Some(0));
    });
    assert!(std::net::TcpStream::connect(addr.as_str()).is_err());
}

#[test]
fn a_config_file_sets_users_grants_and_limits() {
    let path = config_file(
        "good.toml",
        r#"
port = 0
log = "off"
[[users]]
login = "alice"
passcode = "pw"
[[grants]]
principal = "alice"
topic = "/queue/*"
access = "PUB"
[limits]
max_open_transactions = 1
"#,
    );
    let broker = Running::start(&["--config", path.to_str().unwrap()]);
    let addr = listening_addr(&broker.line());
    assert!(Client::connect(addr.as_str()).is_err(), "login required");
    let mut alice = Client::builder()
        .login("alice", "pw")
        .connect(addr.as_str())
        .unwrap();
    alice.send_with_receipt("/queue/a", "ok").unwrap();
    let err = alice.subscribe("/queue/a", AckMode::Auto).unwrap_err();
    assert!(err.to_string().contains("needs SUB"), "{err}");
}

/// What the binary says on stderr when `serve --config path` fails (it
/// must exit 1).
fn config_error(path: &std::path::Path) -> String {
    let output = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .args(["serve", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_bad_grant_in_a_config_file_names_the_file_line_and_column() {
    let path = config_file(
        "bad-grant.toml",
        "port = 0\n[[users]]\nlogin = \"a\"\npasscode = \"x\"\n[[grants]]\nprincipal = \"a\"\ntopic = \"/queue/*\"\naccess = \"READ\"\n",
    );
    let stderr = config_error(&path);
    let expected = format!(
        "stompbox: bad config file {}:8:10: ACCESS must be PUB, SUB or PUB+SUB, got \"READ\"",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn help_shows_each_default_once() {
    let output = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for line in help.lines() {
        assert!(line.matches("[default:").count() <= 1, "{line}");
    }
    let color = help.split("--color").nth(1).unwrap();
    let color = &color[..color.find("\n      --").unwrap_or(color.len())];
    assert_eq!(color.matches("[default:").count(), 1, "{color}");
}

#[test]
fn a_bad_config_file_names_the_file_and_line() {
    let path = config_file(
        "bad.toml",
        "port = 0\n[[users]]\nlogin = \"a\"\npasscod = \"x\"\n",
    );
    let stderr = config_error(&path);
    let expected = format!(
        "stompbox: bad config file {}:4:1: unknown field `passcod`",
        path.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn the_log_level_connections_shows_only_sessions_and_errors() {
    let broker = Running::start(&["--port", "0", "--log", "connections", "--color", "never"]);
    let addr = listening_addr(&broker.line());
    let mut client = Client::connect(addr.as_str()).unwrap();
    client.send_with_receipt("/queue/x", "not logged").unwrap();
    client.disconnect().unwrap();
    // Had SEND or RECEIPT been logged, they would come before DISCONNECT.
    let commands: Vec<String> = (0..3)
        .map(|_| broker.line().split_whitespace().nth(4).unwrap().to_owned())
        .collect();
    assert_eq!(commands, ["CONNECT", "CONNECTED", "DISCONNECT"]);
}

#[test]
fn passcodes_appear_neither_in_the_log_nor_in_the_http_transcripts() {
    let broker = Running::start(&[
        "--port",
        "0",
        "--http-port",
        "0",
        "--ready-json",
        "--user",
        "alice:Pa55-cli-41a7",
    ]);
    let (stomp, http_addr) = ready_json(&broker);
    let client = Client::builder()
        .login("alice", "Pa55-cli-41a7")
        .connect(stomp.as_str())
        .unwrap();
    assert!(
        Client::builder()
            .login("alice", "Pa55-guess-02b9")
            .connect(stomp.as_str())
            .is_err()
    );
    let connected = broker.line_containing("<- CONNECT");
    let refused = broker.line_containing("<- CONNECT");
    let mut seen = format!("{connected}\n{refused}\n");
    for id in [1, 2] {
        let (status, frames) = http(&http_addr, "GET", &format!("/connections/{id}/frames"), "");
        assert_eq!(status, 200, "{frames}");
        seen.push_str(&frames.to_string());
    }
    let (_, connections) = http(&http_addr, "GET", "/connections", "");
    seen.push_str(&connections.to_string());
    assert!(seen.contains("[redacted]"), "{seen}");
    assert!(!seen.contains("Pa55-cli-41a7"), "{seen}");
    assert!(!seen.contains("Pa55-guess-02b9"), "{seen}");
    drop(client);
}

#[test]
fn the_log_escapes_control_characters_a_client_sends() {
    // Issue 11, item 17: ESC, BEL and CR in a command line changed the
    // terminal title and forged a log line.
    use std::io::{Read, Write};
    let broker = Running::start(&["--port", "0"]);
    let addr = listening_addr(&broker.line());
    let mut raw = std::net::TcpStream::connect(addr.as_str()).unwrap();
    raw.write_all(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
        .unwrap();
    raw.write_all(b"\x1b]0;pwned\x07\rFORGED\nx-\x1b[2J:\x07\n\n\0")
        .unwrap();
    let mut sink = Vec::new();
    let _ = raw.read_to_end(&mut sink);
    let mut seen = String::new();
    let error = loop {
        let line = broker.line();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("-> ERROR") {
            break line;
        }
    };
    for control in ['\x1b', '\x07', '\r'] {
        assert!(
            !seen.contains(control),
            "{control:?} reached the log: {seen:?}"
        );
    }
    assert!(error.contains("\\u{1b}]0;pwned\\u{7}\\rFORGED"), "{error}");
}

#[test]
fn the_config_file_sets_every_documented_bound() {
    // Issue 11, item 5: these were unknown fields.
    let path = config_file(
        "bounds.toml",
        r#"
port = 0
log = "off"
[limits]
max_queue_depth = 1
max_connections = 2
max_subscriptions_per_connection = 1
connect_timeout_ms = 5000
[journal]
bytes = 1000000
closed = 10
"#,
    );
    let broker = Running::start(&["--config", path.to_str().unwrap()]);
    bounds_apply(&listening_addr(&broker.line()));
}

/// At `addr`: a queue holds at most 1 message, a connection at most 1
/// subscription, and at most 2 connections are open.
fn bounds_apply(addr: &str) {
    let mut first = Client::connect(addr).unwrap();
    first.send_with_receipt("/queue/a", "1").unwrap();
    let full = first.send_with_receipt("/queue/a", "2").unwrap_err();
    assert!(
        full.to_string().contains("at most 1 message may wait"),
        "{full}"
    );
    let mut second = Client::connect(addr).unwrap();
    let third = Client::connect(addr).unwrap_err();
    assert!(
        third
            .to_string()
            .contains("too many connections: at most 2"),
        "{third}"
    );
    second.subscribe("/queue/x", AckMode::Auto).unwrap();
    let err = second.subscribe("/queue/y", AckMode::Auto).unwrap_err();
    assert!(
        err.to_string()
            .contains("too many subscriptions on this connection: at most 1"),
        "{err}"
    );
}

#[test]
fn the_bounds_have_flags_too() {
    let broker = Running::start(&[
        "--port",
        "0",
        "--quiet",
        "--max-queue-depth",
        "1",
        "--max-subscriptions-per-connection",
        "1",
        "--connect-timeout-ms",
        "3000",
        "--max-connections",
        "2",
    ]);
    bounds_apply(&listening_addr(&broker.line()));
}

#[test]
fn a_zero_bound_in_the_config_file_is_a_clear_error() {
    let path = config_file("zero.toml", "port = 0\n[limits]\nmax_headers = 0\n");
    let output = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .args(["--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.trim(),
        "stompbox: invalid broker settings: limits.max_headers is 0: every CONNECT would be refused"
    );
}

#[test]
fn the_http_api_refuses_what_could_not_travel_in_a_frame() {
    let broker = Running::with_http();
    let (_, http_addr) = ready_json(&broker);
    for (body, says) in [
        (
            r#"{"destination":"/queue/a","body":"x","headers":{"evil":"a\u0000ERROR"}}"#,
            "malformed header line (expected name:value)",
        ),
        (
            r#"{"destination":"","body":"x"}"#,
            "missing 'destination' header",
        ),
        (
            r#"{"destination":"/queue/a","body":42}"#,
            "\"body\" must be a string",
        ),
    ] {
        let (status, answer) = http(&http_addr, "POST", "/messages", body);
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], says, "{body}");
    }
    let (_, messages) = http(&http_addr, "GET", "/messages", "");
    assert_eq!(messages, serde_json::json!([]));
}

#[test]
fn a_stdout_nobody_reads_never_blocks_the_broker_nor_sigterm() {
    // Issue 11, item 9: a fixture that read only the ready line froze the
    // broker after a few hundred frames, and SIGTERM hung.
    let mut child = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    let addr = listening_addr(ready.trim());
    // From here on stdout is held open and never read: the pipe fills.
    let started = std::time::Instant::now();
    let mut client = Client::connect(addr.as_str()).unwrap();
    for i in 0..2_000 {
        client
            .send_with_receipt(
                "/queue/log",
                format!("message {i} with some padding to fill the log"),
            )
            .unwrap();
    }
    let _another = Client::connect(addr.as_str()).expect("new clients still get CONNECTED");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    let status = stop_with_sigterm(&mut child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    drop(stdout);
}

#[test]
fn a_slow_http_client_holds_up_neither_other_requests_nor_sigterm() {
    // Issue 11, item 10: a POST announcing 100,000 bytes and sending none
    // blocked every later request and the shutdown.
    use std::io::Write;
    let mut broker = Running::start(&["--port", "0", "--http-port", "0", "--ready-json", "-q"]);
    let (_, http_addr) = ready_json(&broker);
    let mut slow = std::net::TcpStream::connect(http_addr.as_str()).unwrap();
    write!(
        slow,
        "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{{\"destination\""
    )
    .unwrap();
    let started = std::time::Instant::now();
    let (status, _) = http(&http_addr, "GET", "/connections", "");
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let status = stop_with_sigterm(&mut broker.child, Duration::from_secs(5));
    assert_eq!(status.code(), Some(0));
    drop(slow);
}

#[test]
fn a_transcript_path_names_exactly_one_connection() {
    // Issue 11, item 19: /connections/1/frames/frames/frames was served as 1.
    let broker = Running::start(&["--port", "0", "--http-port", "0", "--ready-json", "-q"]);
    let (stomp, http_addr) = ready_json(&broker);
    let _client = Client::connect(stomp.as_str()).unwrap();
    assert_eq!(http(&http_addr, "GET", "/connections/1/frames", "").0, 200);
    for path in [
        "/connections/1/frames/frames/frames",
        "/connections//frames",
        "/connections/+1/frames",
    ] {
        let (status, answer) = http(&http_addr, "GET", path, "");
        assert_eq!(status, 400, "{path}: {answer}");
    }
}

/// stderr of the binary started with `args`, once it is listening, then stopped.
fn start_up_warnings(args: &[&str]) -> String {
    use std::io::Read;
    let mut child = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut ready)
        .unwrap();
    let _ = child.kill();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let _ = child.wait();
    stderr
}

#[test]
fn open_doors_are_warned_about_at_start() {
    // Issue 11, item 18.
    let no_user = start_up_warnings(&["--port", "0", "-q", "--grant", "a:/queue/*:PUB"]);
    assert!(
        no_user.contains("any client can claim any login without a passcode"),
        "{no_user}"
    );
    let exposed =
        start_up_warnings(&["--port", "0", "-q", "--bind", "0.0.0.0", "--http-port", "0"]);
    assert!(
        exposed.contains("beyond loopback with no authentication"),
        "{exposed}"
    );
    let tokened = start_up_warnings(&[
        "--port",
        "0",
        "-q",
        "--bind",
        "0.0.0.0",
        "--http-port",
        "0",
        "--http-token",
        "t",
    ]);
    assert!(!tokened.contains("warning"), "{tokened}");
    let fine = start_up_warnings(&[
        "--port",
        "0",
        "-q",
        "--user",
        "a:pw",
        "--grant",
        "a:/queue/*:PUB",
    ]);
    assert!(!fine.contains("warning"), "{fine}");
}

#[test]
fn with_a_token_the_http_api_answers_only_requests_that_carry_it() {
    use std::io::{Read, Write};
    let broker = Running::start(&[
        "--port",
        "0",
        "--http-port",
        "0",
        "--ready-json",
        "-q",
        "--http-token",
        "t0k3n",
    ]);
    let (_, http_addr) = ready_json(&broker);
    let status = |authorization: &str| {
        let mut stream = std::net::TcpStream::connect(http_addr.as_str()).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        write!(
            stream,
            "GET /connections HTTP/1.1\r\nHost: x\r\n{authorization}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response[9..12].to_owned()
    };
    assert_eq!(status(""), "401");
    assert_eq!(status("Authorization: Bearer wrong\r\n"), "401");
    assert_eq!(status("Authorization: Bearer t0k3n\r\n"), "200");
}

#[test]
fn frame_and_journal_bounds_have_flags_too() {
    let broker = Running::start(&[
        "--port",
        "0",
        "--http-port",
        "0",
        "--ready-json",
        "-q",
        "--max-frame-size",
        "10",
        "--journal-messages",
        "1",
    ]);
    let (stomp, http_addr) = ready_json(&broker);
    let mut client = Client::connect(stomp.as_str()).unwrap();
    client.send_with_receipt("/queue/j", "first").unwrap();
    client.send_with_receipt("/queue/j", "second").unwrap();
    let (_, messages) = http(&http_addr, "GET", "/messages", "");
    assert_eq!(messages.as_array().unwrap().len(), 1, "{messages}");
    let err = client
        .send_with_receipt("/queue/j", "eleven byte")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("frame exceeds the maximum frame size"),
        "{err}"
    );
}

#[test]
fn get_messages_is_streamed_in_pages_and_binary_bodies_stay_small() {
    // Issue 11, item 8: one GET copied the whole journal under the broker's
    // lock, and 10 binary bodies of 10 MiB became 629 MB of JSON.
    let broker = Running::with_http();
    let (stomp, http_addr) = ready_json(&broker);
    let mut client = Client::connect(stomp.as_str()).unwrap();
    let binary: Vec<u8> = (0..=255u8).cycle().take(1024 * 1024).collect();
    for _ in 0..5 {
        client
            .send_with_receipt("/queue/bin", binary.clone())
            .unwrap();
    }
    for i in 0..300 {
        client.send("/queue/text", format!("t{i}")).unwrap();
    }
    client.send_with_receipt("/queue/text", "last").unwrap();

    let (status, _, json) = http_bytes(
        &http_addr,
        "GET",
        "/messages?destination=%2Fqueue%2Fbin",
        "",
    );
    assert_eq!(status, 200);
    assert!(
        json.len() < 5 * binary.len() * 3 / 2,
        "5 MiB of binary bodies took {} bytes of JSON",
        json.len()
    );
    let messages: serde_json::Value = serde_json::from_slice(&json).unwrap();
    use base64::Engine as _;
    let first = &messages[0];
    assert_eq!(first["body"], serde_json::Value::Null);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(first["body_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, binary);

    // Pages: `after` the last seq seen, at most `limit`.
    let (_, all) = http(&http_addr, "GET", "/messages", "");
    assert_eq!(
        all.as_array().unwrap().len(),
        306,
        "every message, across pages"
    );
    let (_, page) = http(&http_addr, "GET", "/messages?after=5&limit=2", "");
    let bodies: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["t0", "t1"]);
    let (status, _) = http(&http_addr, "GET", "/messages?limit=ten", "");
    assert_eq!(status, 400);

    // One body, as sent.
    let id = first["message_id"].as_str().unwrap();
    let (status, head, body) = http_bytes(&http_addr, "GET", &format!("/messages/{id}/body"), "");
    assert_eq!(status, 200);
    assert!(head.contains("application/octet-stream"), "{head}");
    assert_eq!(body, binary);
    let (status, missing) = http(&http_addr, "GET", "/messages/m-999999/body", "");
    assert_eq!(status, 404);
    assert_eq!(missing["error"], "no message 'm-999999' in the journal");
}

#[test]
fn http_waits_are_bounded_in_number_and_other_requests_are_still_served() {
    // Issue 11, item 7: 2,000 waits meant 4,000 threads.
    let broker = Running::start(&["--port", "0", "--http-port", "0", "--ready-json", "-q"]);
    let (stomp, http_addr) = ready_json(&broker);
    let wait = "/wait?destination=/queue/w&count=1&timeout_ms=20000";
    let (answered, answers) = std::sync::mpsc::channel();
    let waiters: Vec<_> = (0..40)
        .map(|_| {
            let (http_addr, answered) = (http_addr.clone(), answered.clone());
            std::thread::spawn(move || answered.send(http(&http_addr, "GET", wait, "")).unwrap())
        })
        .collect();
    // 32 block; the 8 past the bound are refused at once.
    for _ in 0..8 {
        let (status, body) = answers.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(status, 503);
        assert_eq!(body["error"], "32 waits are blocked already; try again");
    }
    // Other requests are still served meanwhile.
    let (status, _) = http(&http_addr, "GET", "/connections", "");
    assert_eq!(status, 200);
    // The blocked waits all answer when what they wait for arrives.
    let mut client = Client::connect(stomp.as_str()).unwrap();
    client.send_with_receipt("/queue/w", "here").unwrap();
    for _ in 0..32 {
        let (status, body) = answers.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(status, 200, "{body}");
    }
    for waiter in waiters {
        waiter.join().unwrap();
    }
}

#[test]
#[cfg(target_os = "linux")]
fn at_the_descriptor_limit_clients_are_answered_and_the_http_api_comes_back() {
    // Issue 11, items 11 and 14: at the fd limit extra STOMP clients
    // completed the TCP handshake and then heard nothing, and the HTTP API's
    // accept loop stopped for good at its first accept error.
    use std::io::Write;
    let broker = Running::start_with_fd_limit(
        40,
        &["--port", "0", "--http-port", "0", "--ready-json", "-q"],
    );
    let (stomp, http_addr) = ready_json(&broker);
    let mut clients = Vec::new();
    let mut refused = 0;
    for _ in 0..60 {
        let mut stream = std::net::TcpStream::connect(stomp.as_str()).unwrap();
        stream
            .write_all(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
            .unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut answer = [0u8; 512];
        let n = std::io::Read::read(&mut stream, &mut answer).expect("an answer, not silence");
        let text = String::from_utf8_lossy(&answer[..n]).into_owned();
        if text.starts_with("CONNECTED") {
            clients.push(stream);
        } else {
            assert!(text.starts_with("ERROR"), "{text:?}");
            assert!(
                text.contains("message:the broker cannot serve another connection now"),
                "{text:?}"
            );
            refused += 1;
        }
    }
    assert!(refused > 0, "60 connections fit in 40 descriptors");
    drop(clients);
    Client::connect(stomp.as_str()).unwrap();

    // The HTTP API meets the limit too: idle connections take every
    // descriptor, its accept fails, and it backs off.
    let idle: Vec<_> = (0..50)
        .map(|_| std::net::TcpStream::connect(http_addr.as_str()).unwrap())
        .collect();
    let (to_the_api, answered) = std::sync::mpsc::channel();
    {
        let http_addr = http_addr.clone();
        std::thread::spawn(move || {
            let _ = to_the_api.send(http(&http_addr, "GET", "/connections", ""));
        });
    }
    assert!(
        answered.recv_timeout(Duration::from_millis(300)).is_err(),
        "no descriptor is free to serve it yet"
    );
    // Descriptors free again: the API serves as before.
    drop(idle);
    let (status, _) = answered
        .recv_timeout(Duration::from_secs(10))
        .expect("the waiting request is served once descriptors are free");
    assert_eq!(status, 200);
    let (status, _) = http(&http_addr, "GET", "/connections", "");
    assert_eq!(status, 200);
}

#[test]
fn websocket_options_have_flags_and_the_ready_line_names_the_ws_url() {
    let broker = Running::start(&[
        "--port",
        "0",
        "--ready-json",
        "-q",
        "--websocket-path",
        "/stomp",
        "--websocket-origin",
        "http://app.test",
    ]);
    let ready: serde_json::Value = serde_json::from_str(&broker.line()).unwrap();
    let stomp = ready["stomp"].as_str().unwrap();
    assert_eq!(ready["ws"], format!("ws://{stomp}/stomp"));
    let with_port = Running::start(&["--port", "0", "--ws-port", "0", "--ready-json", "-q"]);
    let other: serde_json::Value = serde_json::from_str(&with_port.line()).unwrap();
    let ws = other["ws"].as_str().unwrap();
    assert!(
        ws.starts_with("ws://127.0.0.1:") && ws.ends_with("/ws"),
        "{ws}"
    );
    assert_ne!(ws, format!("ws://{}/ws", other["stomp"].as_str().unwrap()));
    let status = |path: &str, origin: &str| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(stomp).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nOrigin: {origin}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .unwrap();
        let mut line = [0u8; 12];
        stream.read_exact(&mut line).unwrap();
        String::from_utf8_lossy(&line[9..12]).into_owned()
    };
    assert_eq!(status("/ws", "http://app.test"), "404");
    assert_eq!(status("/stomp", "http://evil.test"), "403");
    assert_eq!(status("/stomp", "http://app.test"), "101");
}

#[test]
fn websocket_replies_can_be_binary() {
    use std::io::{Read, Write};
    let broker = Running::start(&[
        "--port",
        "0",
        "--ready-json",
        "-q",
        "--websocket-replies",
        "binary",
    ]);
    let ready: serde_json::Value = serde_json::from_str(&broker.line()).unwrap();
    let mut stream = std::net::TcpStream::connect(ready["stomp"].as_str().unwrap()).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        response.push(byte[0]);
    }
    // CONNECT in a masked text message (mask 0: the bytes as they are).
    let connect = b"CONNECT\naccept-version:1.2\nhost:h\n\n\0";
    let mut message = vec![0x81, 0x80 | connect.len() as u8, 0, 0, 0, 0];
    message.extend_from_slice(connect);
    stream.write_all(&message).unwrap();
    stream.read_exact(&mut byte).unwrap();
    assert_eq!(byte[0], 0x82, "CONNECTED in a binary message");
}

#[test]
fn a_tls_port_names_its_ca_file_which_a_client_trusts_and_which_goes_with_the_broker() {
    use rustls::pki_types::pem::PemObject;
    use std::io::{Read, Write};
    let mut broker = Running::start(&["--port", "0", "--tls-port", "0", "--ready-json", "-q"]);
    let ready: serde_json::Value = serde_json::from_str(&broker.line()).unwrap();
    let tls = ready["tls"].as_str().unwrap().to_owned();
    let ca_path = std::path::PathBuf::from(ready["ca"].as_str().unwrap());
    let ca = std::fs::read(&ca_path).unwrap();

    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
    let tcp = std::net::TcpStream::connect(tls.as_str()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    stream.write_all(b"CONNECT\nhost:h\n\n\0").unwrap();
    let mut answer = [0u8; 9];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"CONNECTED");

    let status = stop_with_sigterm(&mut broker.child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    assert!(!ca_path.exists(), "the CA file is removed at exit");
}

#[test]
fn a_tls_certificate_file_that_cannot_be_read_is_a_clear_error() {
    let output = Process::new(env!("CARGO_BIN_EXE_stompbox"))
        .args([
            "--port",
            "0",
            "--tls-port",
            "0",
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("cannot read /nonexistent/cert.pem"),
        "{error}"
    );
}

#[test]
fn a_tls_problem_can_be_asked_for_on_the_command_line() {
    use std::io::{Read, Write};
    let broker = Running::start(&[
        "--port",
        "0",
        "--tls-port",
        "0",
        "--tls-problem",
        "stalled-handshake",
        "--ready-json",
        "-q",
    ]);
    let ready: serde_json::Value = serde_json::from_str(&broker.line()).unwrap();
    let mut tcp = std::net::TcpStream::connect(ready["tls"].as_str().unwrap()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    // A ClientHello's first bytes: accepted, never answered.
    tcp.write_all(&[0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0, 0, 1, 0])
        .unwrap();
    let error = tcp.read(&mut [0u8; 1]).unwrap_err();
    assert!(matches!(
        error.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ));
}

#[test]
fn faults_are_armed_listed_and_removed_over_http() {
    let broker = Running::with_http();
    let ready: serde_json::Value = serde_json::from_str(&broker.line()).unwrap();
    let (stomp, api) = (
        ready["stomp"].as_str().unwrap(),
        ready["http"].as_str().unwrap(),
    );
    let rule = r#"{"kind": "drop", "direction": "out", "command": "RECEIPT", "times": 1}"#;
    let (status, armed) = http(api, "POST", "/faults", rule);
    assert_eq!(status, 201, "{armed}");
    assert_eq!(armed["fault"], "drop outbound RECEIPT, once");
    let id = armed["id"].as_u64().unwrap();

    let mut client = Client::builder()
        .timeout(Duration::from_millis(300))
        .connect(stomp)
        .unwrap();
    assert!(
        client.send_with_receipt("/queue/a", "1").is_err(),
        "RECEIPT lost"
    );
    client.send_with_receipt("/queue/a", "2").unwrap();
    let (_, listed) = http(api, "GET", "/faults", "");
    assert_eq!(listed[0]["fired"], 1);
    assert_eq!(listed[0]["hits"][0]["command"], "RECEIPT");

    assert_eq!(http(api, "DELETE", &format!("/faults/{id}"), "").0, 200);
    assert_eq!(http(api, "DELETE", &format!("/faults/{id}"), "").0, 404);
    assert_eq!(http(api, "GET", "/faults", "").1, serde_json::json!([]));

    let (status, refused) = http(api, "POST", "/faults", r#"{"kind": "drop", "whenever": 1}"#);
    assert_eq!(status, 400);
    let says = refused["error"].as_str().unwrap();
    assert!(says.starts_with("unknown key \"whenever\""), "{says}");
    let (status, refused) = http(api, "POST", "/faults", r#"{"kind": "teleport"}"#);
    assert_eq!(status, 400);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("unknown fault kind \"teleport\"")
    );
}

#[test]
fn connections_are_kicked_and_the_broker_restarted_over_http() {
    let broker = Running::with_http();
    let ready: serde_json::Value = serde_json::from_str(&broker.line()).unwrap();
    let (stomp, api) = (
        ready["stomp"].as_str().unwrap(),
        ready["http"].as_str().unwrap(),
    );
    let mut client = Client::connect(stomp).unwrap();
    let (_, connections) = http(api, "GET", "/connections", "");
    let id = connections[0]["id"].as_u64().unwrap();
    let (status, _) = http(
        api,
        "POST",
        &format!("/connections/{id}/kick"),
        r#"{"error": "bye"}"#,
    );
    assert_eq!(status, 200);
    assert_eq!(
        client.recv_frame().unwrap_err().to_string(),
        "broker sent ERROR: bye"
    );
    assert_eq!(
        http(api, "POST", &format!("/connections/{id}/kick"), "").0,
        404
    );

    let (_, clients) = http(api, "GET", "/clients", "");
    assert_eq!(clients[0]["identity"], "127.0.0.1");
    assert_eq!(clients[0]["connections"], serde_json::json!([id]));

    let mut consumer = Client::connect(stomp).unwrap();
    consumer.subscribe("/queue/r", AckMode::Client).unwrap();
    let (_, connections) = http(api, "GET", "/connections", "");
    assert_eq!(
        connections[1]["subscribed"],
        serde_json::json!([{"destination": "/queue/r", "ack": "client"}])
    );
    let (_, clients) = http(api, "GET", "/clients", "");
    assert_eq!(clients[0]["reconnects"], 1);
    let (status, restarted) = http(api, "POST", "/restart?down_ms=50", "");
    assert_eq!(
        (status, &restarted["restarted"]),
        (200, &serde_json::json!(true))
    );
    assert!(consumer.recv_frame().is_err(), "closed by the restart");
    Client::connect(stomp).unwrap().disconnect().unwrap();

    assert_eq!(http(api, "POST", "/pause", "").0, 200);
    assert!(std::net::TcpStream::connect(stomp).is_err());
    assert_eq!(http(api, "POST", "/resume", "").0, 200);
    Client::connect(stomp).unwrap();
}

#[test]
fn a_config_file_arms_faults_at_start_and_names_a_bad_one() {
    let path = config_file(
        "faults.toml",
        r#"
port = 0
log = "off"
[[faults]]
kind = "error"
message = "the gateway is down"
command = "SEND"
times = "always"
"#,
    );
    let broker = Running::start(&["--config", path.to_str().unwrap()]);
    let addr = listening_addr(&broker.line());
    let mut client = Client::connect(addr.as_str()).unwrap();
    let err = client.send_with_receipt("/queue/a", "x").unwrap_err();
    assert_eq!(err.to_string(), "broker sent ERROR: the gateway is down");

    let bad = config_file(
        "bad-fault.toml",
        "port = 0\n[[faults]]\nkind = \"drop\"\n[[faults]]\nkind = \"delay\"\n",
    );
    let stderr = config_error(&bad);
    assert!(
        stderr.contains(&format!(
            "bad config file {}:2:1: [[faults]] table 2: a delay fault needs \"ms\" (milliseconds)",
            bad.display()
        )),
        "{stderr}"
    );
}

#[test]
fn every_close_is_logged_with_its_reason_and_values_without_escapes() {
    let broker = Running::start(&["--port", "0", "--log", "connections", "--color", "never"]);
    let addr = listening_addr(&broker.line());
    let client = Client::connect(addr.as_str()).unwrap();
    drop(client); // no DISCONNECT
    let closed = broker.line_containing("closed");
    assert!(
        closed.ends_with("conn 1 closed: closed by the client"),
        "{closed}"
    );
    let mut bad = Client::connect(addr.as_str()).unwrap();
    bad.send_frame(&stompbox::frame::Frame::new(stompbox::frame::Command::Send))
        .unwrap();
    let error = broker.line_containing("ERROR");
    assert!(
        error.contains("message:missing 'destination' header"),
        "{error}"
    );
    let closed = broker.line_containing("closed");
    assert!(
        closed.ends_with("conn 2 closed: ERROR sent: missing 'destination' header"),
        "{closed}"
    );
}

#[test]
fn messages_of_uncommitted_transactions_are_listed_apart() {
    let broker = Running::with_http();
    let ready: serde_json::Value = serde_json::from_str(&broker.line()).unwrap();
    let (stomp, api) = (
        ready["stomp"].as_str().unwrap(),
        ready["http"].as_str().unwrap(),
    );
    let mut client = Client::connect(stomp).unwrap();
    client.begin("t1").unwrap();
    client.send_in("t1", "/queue/a", "not yet").unwrap();
    client.send_with_receipt("/queue/a", "now").unwrap();
    let (_, published) = http(api, "GET", "/messages", "");
    let bodies: Vec<&str> = published
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["now"]);
    let (status, uncommitted) = http(api, "GET", "/messages/uncommitted", "");
    assert_eq!(status, 200);
    assert_eq!(uncommitted[0]["body"], "not yet");
    assert_eq!(uncommitted[0]["status"], "in-transaction");
    assert_eq!(published[0]["status"], "queued");
}

#[test]
fn profile_rabbitmq_makes_host_a_virtual_host_and_the_api_shows_durables_and_warnings() {
    let broker = Running::start(&[
        "--port",
        "0",
        "--http-port",
        "0",
        "--ready-json",
        "-q",
        "--profile",
        "rabbitmq",
    ]);
    let (stomp, http_addr) = ready_json(&broker);
    let refused = Client::builder()
        .host("localhost")
        .connect(stomp.as_str())
        .unwrap_err();
    assert_eq!(refused.to_string(), "broker sent ERROR: Bad CONNECT");
    let mut client = Client::builder().host("/").connect(stomp.as_str()).unwrap();
    client
        .subscribe_with(
            "/topic/t",
            "kept",
            AckMode::Auto,
            &[("durable", "true"), ("auto-delete", "false")],
        )
        .unwrap();
    let mut raw = std::net::TcpStream::connect(stomp.as_str()).unwrap();
    std::io::Write::write_all(
        &mut raw,
        b"CONNECT\naccept-version:1.2\nhost:/\n\n\0\0SEND\ndestination:/queue/a\nreceipt:r\n\nx\0",
    )
    .unwrap();
    let (_, durables) = http(&http_addr, "GET", "/durable-subscriptions", "");
    assert_eq!(durables[0]["name"], "durable:kept");
    assert_eq!(durables[0]["topic"], "/topic/t");
    let (status, _) = http(
        &http_addr,
        "GET",
        "/wait?destination=%2Fqueue%2Fa&count=1",
        "",
    );
    assert_eq!(status, 200);
    let (_, warnings) = http(&http_addr, "GET", "/protocol-warnings", "");
    assert_eq!(
        warnings[0]["warning"],
        "a NUL byte between frames (skipped, as ActiveMQ and RabbitMQ do)"
    );
}

#[test]
fn report_is_what_the_broker_saw_as_text_with_every_connections_frames() {
    let broker = Running::start(&["--port", "0", "--http-port", "0", "--ready-json", "-q"]);
    let (stomp, http_addr) = ready_json(&broker);
    let mut producer = Client::connect(stomp.as_str()).unwrap();
    producer.send_with_receipt("/queue/jobs", "job 1").unwrap();
    let mut bad = std::net::TcpStream::connect(stomp.as_str()).unwrap();
    std::io::Write::write_all(
        &mut bad,
        b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SEND\n\nx\0",
    )
    .unwrap();
    let mut closed = Vec::new();
    std::io::Read::read_to_end(&mut bad, &mut closed).unwrap();

    let (status, head, body) = http_bytes(&http_addr, "GET", "/report", "");
    let report = String::from_utf8(body).unwrap();
    assert_eq!(status, 200);
    assert!(head.contains("text/plain"), "{head}");
    for expected in [
        "connections (2):",
        "per destination: /queue/jobs: 1",
        "to connection 2: missing 'destination' header",
        "frames of connection 1 (4 in all):",
        "<- SEND destination:/queue/jobs",
        "frames of connection 2 (4 in all):",
        "-> ERROR message:missing 'destination' header",
    ] {
        assert!(report.contains(expected), "{expected:?} not in:\n{report}");
    }
}

#[test]
fn traffic_is_a_long_poll_of_frames_after_a_sequence() {
    let broker = Running::start(&["--port", "0", "--http-port", "0", "--ready-json", "-q"]);
    let (stomp, http_addr) = ready_json(&broker);
    let mut client = Client::builder()
        .header("client-id", "feed")
        .connect(stomp.as_str())
        .unwrap();
    client.send_with_receipt("/queue/a", "one").unwrap();
    let (status, first) = http(&http_addr, "GET", "/traffic", "");
    assert_eq!(status, 200);
    let commands: Vec<&str> = first["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["frame"]["command"].as_str().unwrap())
        .collect();
    assert_eq!(commands, ["CONNECT", "CONNECTED", "SEND", "RECEIPT"]);
    assert_eq!(first["entries"][2]["direction"], "in");
    assert_eq!(first["entries"][2]["frame"]["body"], "one");
    assert_eq!(
        (first["next"].as_u64(), first["missed"].as_u64()),
        (Some(4), Some(0))
    );

    // A long-poll after the last answers when the next frame comes.
    let waiting = {
        let http_addr = http_addr.clone();
        std::thread::spawn(move || {
            http(
                &http_addr,
                "GET",
                "/traffic?after=4&timeout_ms=10000&command=send",
                "",
            )
        })
    };
    client.send_with_receipt("/queue/b", "two").unwrap();
    let (_, later) = waiting.join().unwrap();
    let entries = later["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{later}");
    assert_eq!(entries[0]["frame"]["headers"][0][1], "/queue/b");
    assert_eq!(entries[0]["seq"], 5);
    client.disconnect().unwrap();
    // The close comes a moment after DISCONNECT's receipt: long-poll for it.
    let mut after = 6;
    let mut closed = None;
    for _ in 0..10 {
        let path = format!("/traffic?connection=1&after={after}&timeout_ms=5000");
        let (_, page) = http(&http_addr, "GET", &path, "");
        after = page["next"].as_u64().unwrap();
        closed = page["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find_map(|e| e.get("closed").cloned());
        if closed.is_some() {
            break;
        }
    }
    assert!(closed.is_some(), "no close in the feed");
    let (status, bad) = http(&http_addr, "GET", "/traffic?connection=x", "");
    assert_eq!(
        (status, bad["error"].as_str()),
        (400, Some("connection must be a number, got \"x\""))
    );
}

#[test]
fn the_web_view_is_served_to_a_browser_with_its_assets() {
    let broker = Running::start(&[
        "--port",
        "0",
        "--http-port",
        "0",
        "--ready-json",
        "-q",
        "--http-token",
        "t0k3n",
    ]);
    let (_, http_addr) = ready_json(&broker);
    let browser = |path: &str| {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&http_addr).unwrap();
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: text/html,*/*\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    };
    // No token needed for the page: it holds no data, and asks for the token.
    let page = browser("/");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("text/html") && page.contains("<script src=\"/assets/page.js\""));
    for (asset, needle) in [
        ("/assets/page.js", "/traffic?after="),
        ("/assets/diagram.js", "StompboxDiagram"),
        ("/assets/page.css", "#log"),
    ] {
        let answer = browser(asset);
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.contains(needle),
            "{asset}: {answer}"
        );
    }
    // The data still needs it.
    assert!(browser("/connections").starts_with("HTTP/1.1 401"));
}

#[test]
fn info_says_where_it_listens_and_delete_queues_drops_the_messages() {
    let broker = Running::with_http();
    let (stomp, http_addr) = ready_json(&broker);
    let (_, info) = http(&http_addr, "GET", "/info", "");
    assert_eq!(info["stomp"], stomp.as_str());
    assert_eq!(info["http"], http_addr.as_str());
    assert_eq!(info["loopback"], true);
    assert_eq!(info["token"], false);
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    let (status, _) = http(
        &http_addr,
        "POST",
        "/messages",
        r#"{"destination": "/queue/full", "body": "x"}"#,
    );
    assert_eq!(status, 201);
    let (_, cleared) = http(&http_addr, "DELETE", "/queues", "");
    assert_eq!(cleared["cleared"], true);
    let (_, queues) = http(&http_addr, "GET", "/queues", "");
    assert_eq!(queues, serde_json::json!([]));
    let (_, messages) = http(&http_addr, "GET", "/messages", "");
    assert_eq!(messages.as_array().unwrap().len(), 1, "the journal stays");
}

#[test]
fn redelivery_limit_dead_letter_queue_and_vhosts_are_flags() {
    let broker = Running::start(&[
        "--port",
        "0",
        "--http-port",
        "0",
        "--ready-json",
        "-q",
        "--max-redeliveries",
        "0",
        "--dead-letter-queue",
        "/queue/dead",
        "--vhost",
        "orders",
    ]);
    let (stomp, http_addr) = ready_json(&broker);
    let refused = Client::builder()
        .host("elsewhere")
        .connect(stomp.as_str())
        .unwrap_err();
    assert_eq!(refused.to_string(), "broker sent ERROR: Bad CONNECT");
    let mut client = Client::builder()
        .host("orders")
        .connect(stomp.as_str())
        .unwrap();
    client
        .subscribe("/queue/jobs", AckMode::ClientIndividual)
        .unwrap();
    client.send("/queue/jobs", "poison").unwrap();
    let job = client.recv_timeout(Duration::from_secs(5)).unwrap();
    client.nack(&job).unwrap();
    let (status, dead) = http(
        &http_addr,
        "GET",
        "/wait?destination=%2Fqueue%2Fdead&count=1",
        "",
    );
    assert_eq!(status, 200, "{dead}");
    assert_eq!(dead["messages"][0]["body"], "poison");
    assert_eq!(dead["messages"][0]["origin"]["kind"], "dead-letter");
}

#[test]
fn a_config_file_sets_the_dialect_and_its_limits() {
    let path = config_file(
        "dialect.toml",
        "port = 0\nlog = \"off\"\nprofile = \"rabbitmq\"\nvhosts = [\"shop\"]\nexchanges = [\"orders\", \"events:fanout\"]\nmax_redeliveries = \"none\"\n",
    );
    let broker = Running::start(&["--config", path.to_str().unwrap()]);
    let addr = listening_addr(&broker.line());
    let mut client = Client::builder()
        .host("shop")
        .connect(addr.as_str())
        .unwrap();
    client
        .subscribe("/exchange/orders/eu.*", AckMode::Auto)
        .unwrap();
    client.send("/exchange/orders/eu.paris", "o-1").unwrap();
    assert_eq!(
        client
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .body_text(),
        "o-1"
    );
    client.subscribe("/exchange/events", AckMode::Auto).unwrap();
    client.send("/exchange/events/any.key", "e-1").unwrap();
    assert_eq!(
        client
            .recv_timeout(Duration::from_secs(5))
            .unwrap()
            .body_text(),
        "e-1",
        "events is a fanout exchange"
    );

    let bad = config_file(
        "bad-exchange.toml",
        "port = 0\nexchanges = [\"x:headers\"]\n",
    );
    let stderr = config_error(&bad);
    assert!(
        stderr.contains("exchanges: 'x:headers' has the type 'headers'"),
        "{stderr}"
    );

    let bad = config_file("bad-limit.toml", "port = 0\nmax_redeliveries = \"often\"\n");
    let stderr = config_error(&bad);
    assert!(
        stderr.contains("max_redeliveries is a count or \"none\", got \"often\""),
        "{stderr}"
    );
}
