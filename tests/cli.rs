//! The `stompbox` binary: address line, traffic log, port errors.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command as Process, Stdio};
use std::time::Duration;

use stompbox::{Ack, Client};

struct Running {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Process::new(env!("CARGO_BIN_EXE_stompbox"))
            .args(args)
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

fn listening_addr(line: &str) -> String {
    assert!(line.starts_with("stompbox listening on "), "{line}");
    line.rsplit(' ').next().unwrap().to_owned()
}

#[test]
fn port_0_prints_a_free_address_first_and_then_the_traffic() {
    let broker = Running::start(&["--port", "0"]);
    let addr = listening_addr(&broker.line());
    let mut client = Client::connect(addr.as_str()).unwrap();
    client.subscribe("/queue/cli", Ack::Auto).unwrap();
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
    assert!(broker
        .lines
        .recv_timeout(Duration::from_millis(200))
        .is_err());
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
        stderr.contains(&format!("cannot listen on 127.0.0.1:{port}")),
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
    assert!(unsigned
        .unwrap_err()
        .to_string()
        .contains("missing client-id header"));
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
