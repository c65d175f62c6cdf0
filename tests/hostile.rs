//! Hostile and broken input at the broker's default limits: each gets an
//! ERROR where a frame can still be written, a closed connection within a
//! bounded time, and a bystander on the same broker carries on unaffected.

mod support;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use rstest::rstest;
use stompbox::frame::Command;
use stompbox::{AckMode, Broker, Client, Version};
use support::{PATIENCE, Raw, SECOND};

/// How long the broker may take to answer and close.
const BOUND: Duration = Duration::from_secs(2);

/// A broker with a subscribed bystander.
struct Scene {
    broker: Broker,
    bystander: Client,
    sent: usize,
}

impl Scene {
    fn new() -> Scene {
        Scene::with(Broker::builder().connect_timeout(Duration::from_millis(200)))
    }

    fn with(builder: stompbox::BrokerBuilder) -> Scene {
        let broker = builder.start().unwrap();
        let mut bystander = Client::connect(broker.addr()).unwrap();
        bystander
            .subscribe("/topic/bystander", AckMode::Auto)
            .unwrap();
        Scene {
            broker,
            bystander,
            sent: 0,
        }
    }

    /// A connection past CONNECT (1.2).
    fn connected(&self) -> Raw {
        let mut raw = Raw::connect(self.broker.addr());
        raw.connect_v(Version::V1_2);
        raw
    }

    /// The bystander still sends and receives.
    fn bystander_carries_on(&mut self) {
        self.sent += 1;
        let body = format!("still here {}", self.sent);
        self.bystander
            .send_with_receipt("/topic/bystander", body.clone())
            .unwrap();
        assert_eq!(
            self.bystander.recv_timeout(SECOND).unwrap().body_text(),
            body
        );
    }
}

/// Sends `bytes`, expects an ERROR whose message starts with `message`,
/// then the close, all within [`BOUND`].
fn expect_error_and_close(raw: &mut Raw, bytes: &[u8], message: &str) {
    let started = Instant::now();
    let _ = raw.stream.write_all(bytes);
    let error = raw.frame();
    assert_eq!(error.command(), &Command::Error, "{error}");
    let text = error.header("message").unwrap_or_default();
    assert!(
        text.starts_with(message),
        "{text:?} should start with {message:?}"
    );
    assert!(raw.closed_within(BOUND), "closed after the ERROR");
    assert!(started.elapsed() < BOUND, "took {:?}", started.elapsed());
}

#[rstest]
#[case::garbage_before_connect(false, b"\x00\xff\xfe garbage \x01\x02\n\n\0".to_vec(), "malformed command line")]
#[case::garbage_after_connect(true, b"\xde\xad\xbe\xef\n\n\0".to_vec(), "malformed command line")]
#[case::nul_in_header(true, b"SEND\ndestination:/queue/a\nk:a\0b\n\nx\0".to_vec(), "")]
#[case::invalid_utf8_header(true, b"SEND\ndestination:/queue/a\nk:\xc3\x28\n\nx\0".to_vec(), "header is not valid UTF-8")]
#[case::content_length_negative(true, b"SEND\ndestination:/queue/a\ncontent-length:-1\n\nx\0".to_vec(), "content-length is not a non-negative integer")]
#[case::content_length_not_a_number(true, b"SEND\ndestination:/queue/a\ncontent-length:ten\n\nx\0".to_vec(), "content-length is not a non-negative integer")]
#[case::content_length_over_the_limit(true, b"SEND\ndestination:/queue/a\ncontent-length:104857601\n\n".to_vec(), "frame exceeds the maximum frame size")]
#[case::content_length_huge(true, b"SEND\ndestination:/queue/a\ncontent-length:99999999999999999999999\n\n".to_vec(), "frame exceeds the maximum frame size")]
fn broken_frames_get_an_error_and_a_close(
    #[case] connect_first: bool,
    #[case] bytes: Vec<u8>,
    #[case] message: &str,
) {
    let mut scene = Scene::new();
    let mut raw = if connect_first {
        scene.connected()
    } else {
        Raw::connect(scene.broker.addr())
    };
    expect_error_and_close(&mut raw, &bytes, message);
    scene.bystander_carries_on();
    assert!(scene.broker.published_to("/queue/a").unwrap().is_empty());
}

#[test]
fn a_header_line_of_1_mib_is_refused_without_reading_it_all() {
    let mut scene = Scene::new();
    let mut raw = scene.connected();
    let mut frame = b"SEND\ndestination:/queue/a\nh:".to_vec();
    frame.extend(std::iter::repeat_n(b'v', 1024 * 1024));
    frame.extend_from_slice(b"\n\nx\0");
    expect_error_and_close(&mut raw, &frame, "header line exceeds the maximum length");
    scene.bystander_carries_on();
}

#[test]
fn one_hundred_thousand_headers_are_refused() {
    let mut scene = Scene::new();
    let mut raw = scene.connected();
    let mut frame = b"SEND\ndestination:/queue/a\n".to_vec();
    for i in 0..100_000 {
        frame.extend_from_slice(format!("h{i}:v\n").as_bytes());
    }
    frame.extend_from_slice(b"\nx\0");
    expect_error_and_close(&mut raw, &frame, "frame has too many headers");
    scene.bystander_carries_on();
}

#[test]
fn a_body_of_exactly_the_frame_limit_is_delivered_and_one_more_byte_is_not() {
    let limit = 64 * 1024;
    let mut scene = Scene::with(Broker::builder().limits(stompbox::frame::Limits {
        max_frame_size: limit,
        ..stompbox::frame::Limits::default()
    }));
    let mut producer = Client::connect(scene.broker.addr()).unwrap();
    producer
        .send_with_receipt("/queue/big", vec![b'x'; limit])
        .unwrap();
    let published = scene
        .broker
        .wait_for_messages("/queue/big", 1, PATIENCE)
        .unwrap();
    assert_eq!(published[0].body.len(), limit);
    let err = producer
        .send_with_receipt("/queue/big", vec![b'x'; limit + 1])
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("frame exceeds the maximum frame size"),
        "{err}"
    );
    scene.bystander_carries_on();
}

#[rstest]
#[case::mid_command(b"SEN".as_slice())]
#[case::mid_headers(b"SEND\ndestination:/queue/a\nk:".as_slice())]
#[case::mid_body(b"SEND\ndestination:/queue/a\ncontent-length:100\n\nonly a part".as_slice())]
fn a_frame_cut_off_then_closed_is_dropped_and_forgotten(#[case] bytes: &[u8]) {
    let mut scene = Scene::new();
    let raw = scene.connected();
    let mut stream: &TcpStream = &raw.stream;
    stream.write_all(bytes).unwrap();
    raw.stream.shutdown(Shutdown::Both).unwrap();
    scene
        .broker
        .wait_until(
            |j| j.connections().filter(|c| c.closed.is_some()).count() == 1,
            BOUND,
        )
        .unwrap();
    assert!(
        scene.broker.published().unwrap().is_empty(),
        "nothing half-read is published"
    );
    scene.bystander_carries_on();
}

#[test]
fn a_client_that_connects_and_sends_nothing_is_closed_in_time() {
    let mut scene = Scene::new(); // connect timeout 200 ms
    let mut raw = Raw::connect(scene.broker.addr());
    let started = Instant::now();
    let error = raw.frame();
    assert_eq!(error.header("message"), Some("no CONNECT frame in time"));
    assert!(raw.closed_within(BOUND));
    assert!(started.elapsed() < BOUND);
    scene.bystander_carries_on();
}

#[test]
fn many_hostile_connections_at_once_leave_the_bystander_alone() {
    let mut scene = Scene::new();
    let addr = scene.broker.addr();
    let attackers: Vec<_> = (0..50)
        .map(|i| {
            std::thread::spawn(move || {
                let mut raw = Raw::connect(addr);
                raw.connect_v(Version::V1_2);
                let junk: Vec<u8> = (0..4096u32).map(|b| (b * 31 + i) as u8).collect();
                let _ = raw.stream.write_all(&junk);
                let _ = raw.stream.write_all(b"\n\n\0");
                raw.closed_within(BOUND)
            })
        })
        .collect();
    scene.bystander_carries_on();
    for attacker in attackers {
        assert!(attacker.join().unwrap(), "each attacker is closed");
    }
    scene.bystander_carries_on();
}
