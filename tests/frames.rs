//! The wire format as the broker reads and writes it: line ends, heart-beats,
//! bodies, escaping, split and batched frames, malformed input.

mod support;

use rstest::rstest;
use stompbox::frame::{Command, Limits};
use stompbox::{Broker, Version};
use support::{Raw, SECOND, Server, server};

fn subscribed(server: &Server, version: Version, destination: &str) -> Raw {
    let mut raw = server.raw();
    raw.connect_v(version);
    raw.send(format!("SUBSCRIBE\ndestination:{destination}\nid:s\nreceipt:sub\n\n\0").as_bytes());
    assert_eq!(raw.frame().command(), &Command::Receipt);
    raw
}

#[rstest]
fn crlf_line_ends_are_accepted(server: Server) {
    let mut raw = subscribed(&server, Version::V1_2, "/queue/crlf");
    raw.send(b"SEND\r\ndestination:/queue/crlf\r\n\r\nhi\0");
    let message = raw.frame();
    assert_eq!(
        (message.header("destination"), message.body()),
        (Some("/queue/crlf"), b"hi".as_slice())
    );
}

#[rstest]
fn eols_between_frames_are_accepted(server: Server) {
    let mut raw = subscribed(&server, Version::V1_2, "/queue/eol");
    raw.send(
        b"\n\r\n\nSEND\ndestination:/queue/eol\n\none\0\n\nSEND\ndestination:/queue/eol\n\ntwo\0\n",
    );
    assert_eq!(raw.frame().body(), b"one");
    assert_eq!(raw.frame().body(), b"two");
}

#[rstest]
fn a_content_length_body_may_contain_nul(server: Server) {
    let mut raw = subscribed(&server, Version::V1_2, "/queue/bin");
    raw.send(b"SEND\ndestination:/queue/bin\ncontent-length:5\n\na\0b\0c\0");
    let message = raw.frame();
    assert_eq!(message.body(), b"a\0b\0c");
    assert_eq!(message.header("content-length"), Some("5"));
}

#[rstest]
fn a_body_without_content_length_ends_at_the_first_nul(server: Server) {
    let mut raw = subscribed(&server, Version::V1_2, "/queue/nul");
    raw.send(b"SEND\ndestination:/queue/nul\n\nabc\0");
    let message = raw.frame();
    assert_eq!(message.body(), b"abc");
    assert_eq!(
        message.header("content-length"),
        Some("3"),
        "MESSAGE always carries content-length"
    );
}

#[rstest]
fn a_frame_split_into_single_bytes_is_read_whole(server: Server) {
    let mut raw = subscribed(&server, Version::V1_2, "/queue/split");
    for byte in b"SEND\ndestination:/queue/split\ncontent-length:3\n\nabc\0" {
        raw.send(std::slice::from_ref(byte));
    }
    assert_eq!(raw.frame().body(), b"abc");
}

#[rstest]
fn many_frames_in_one_write_are_all_read(server: Server) {
    let mut raw = subscribed(&server, Version::V1_2, "/queue/batch");
    let batch: Vec<u8> = (0..100)
        .flat_map(|i| format!("SEND\ndestination:/queue/batch\n\n{i}\0").into_bytes())
        .collect();
    raw.send(&batch);
    for i in 0..100 {
        assert_eq!(raw.frame().body_text(), i.to_string());
    }
}

#[rstest]
fn the_first_of_repeated_headers_wins(server: Server) {
    let mut raw = subscribed(&server, Version::V1_2, "/queue/rep");
    raw.send(b"SEND\ndestination:/queue/rep\ndestination:/queue/other\nfoo:1\nfoo:2\n\nx\0");
    let message = raw.frame();
    assert_eq!(message.header("destination"), Some("/queue/rep"));
    assert_eq!(message.header("foo"), Some("1"));
}

#[rstest]
fn header_values_may_contain_colons(server: Server) {
    let mut raw = subscribed(&server, Version::V1_0, "/queue/colon");
    raw.send(b"SEND\ndestination:/queue/colon\nurl:http://x:80/a\n\nx\0");
    assert_eq!(raw.frame().header("url"), Some("http://x:80/a"));
}

#[rstest]
#[case::v1_1(Version::V1_1, b"SEND\ndestination:/queue/esc\nk:a\\cb\\nc\\\\d\n\nx\0".as_slice(), "k:a\\cb\\nc\\\\d\n")]
#[case::v1_2(Version::V1_2, b"SEND\ndestination:/queue/esc\nk:a\\cb\\rc\n\nx\0".as_slice(), "k:a\\cb\\rc\n")]
#[case::v1_0_is_verbatim(Version::V1_0, b"SEND\ndestination:/queue/esc\nk:a\\cb\n\nx\0".as_slice(), "k:a\\cb\n")]
fn escapes_round_trip_per_version(
    server: Server,
    #[case] version: Version,
    #[case] send: &[u8],
    #[case] wire: &str,
) {
    let mut raw = subscribed(&server, version, "/queue/esc");
    raw.send(send);
    // Read the raw bytes of the MESSAGE to see the escaping on the wire.
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + SECOND;
    while !seen.ends_with(b"\0") && std::time::Instant::now() < deadline {
        let mut chunk = [0u8; 1024];
        raw.stream.set_read_timeout(Some(SECOND)).unwrap();
        let n = std::io::Read::read(&mut raw.stream, &mut chunk).unwrap();
        seen.extend_from_slice(&chunk[..n]);
    }
    let text = String::from_utf8(seen).unwrap();
    assert!(text.contains(wire), "{text:?} should contain {wire:?}");
}

#[rstest]
fn an_undefined_escape_is_an_error(server: Server) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    raw.expect_error(
        b"SEND\ndestination:/queue/a\nk:\\t\nreceipt:r1\n\nx\0",
        "undefined escape sequence in a header",
    );
}

#[rstest]
fn connect_headers_are_not_unescaped(server: Server) {
    // A passcode with a backslash would be an undefined escape in any other frame.
    let mut raw = server.raw();
    raw.send(b"CONNECT\naccept-version:1.2\nhost:h\nlogin:me\npasscode:a\\tb\n\n\0");
    assert_eq!(raw.frame().command(), &Command::Connected);
}

#[rstest]
#[case::no_colon(b"SEND\ndestination /queue/a\n\nx\0".as_slice(), "malformed header line (expected name:value)")]
#[case::bad_length(
    b"SEND\ndestination:/queue/a\ncontent-length:abc\n\nx\0",
    "content-length is not a non-negative integer"
)]
#[case::negative_length(
    b"SEND\ndestination:/queue/a\ncontent-length:-3\n\nx\0",
    "content-length is not a non-negative integer"
)]
#[case::no_nul_after_body(
    b"SEND\ndestination:/queue/a\ncontent-length:1\n\nxy",
    "frame body is not terminated by NUL"
)]
#[case::bad_utf8(b"SEND\ndestination:/queue/\xff\n\nx\0", "header is not valid UTF-8")]
fn malformed_frames_get_an_error_and_a_close(
    server: Server,
    #[case] bytes: &[u8],
    #[case] message: &str,
) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    let error = raw.expect_error(bytes, message);
    assert!(!error.body().is_empty(), "the body explains the error");
}

#[rstest]
fn an_unknown_command_gets_an_error_with_its_receipt_id(server: Server) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    let error = raw.expect_error(
        b"PUBLISH\ndestination:/queue/a\nreceipt:77\n\nx\0",
        "unknown command 'PUBLISH'",
    );
    assert_eq!(error.header("receipt-id"), Some("77"));
}

#[rstest]
#[case::message(b"MESSAGE\ndestination:/queue/a\n\n\0".as_slice(), "unknown command 'MESSAGE'")]
#[case::receipt(b"RECEIPT\nreceipt-id:1\n\n\0", "unknown command 'RECEIPT'")]
fn server_frames_from_a_client_are_errors(
    server: Server,
    #[case] bytes: &[u8],
    #[case] message: &str,
) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    raw.send(bytes);
    assert_eq!(raw.frame().header("message"), Some(message));
}

fn small_broker() -> Broker {
    Broker::builder()
        .limits(Limits {
            max_frame_size: 1024,
            max_headers: 8,
            max_header_line: 256,
        })
        .start()
        .unwrap()
}

#[rstest]
#[case::body_too_large(format!("SEND\ndestination:/queue/a\n\n{}\0", "x".repeat(1025)), "frame exceeds the maximum frame size")]
#[case::declared_too_large("SEND\ndestination:/queue/a\ncontent-length:1025\n\n".to_owned(), "frame exceeds the maximum frame size")]
#[case::too_many_headers(format!("SEND\ndestination:/queue/a\n{}\nx\0", (0..9).map(|i| format!("h{i}:v\n")).collect::<String>()), "frame has too many headers")]
#[case::header_too_long(format!("SEND\ndestination:/queue/a\nh:{}\n\nx\0", "v".repeat(300)), "header line exceeds the maximum length")]
fn frames_over_the_limits_get_an_error(#[case] bytes: String, #[case] message: &str) {
    let broker = small_broker();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    raw.expect_error(bytes.as_bytes(), message);
}

#[test]
fn a_body_of_exactly_the_limit_is_delivered() {
    let broker = small_broker();
    let server_addr = broker.addr();
    let mut raw = Raw::connect(server_addr);
    raw.connect_v(Version::V1_2);
    raw.send(b"SUBSCRIBE\ndestination:/queue/a\nid:1\nreceipt:s\n\n\0");
    assert_eq!(raw.frame().command(), &Command::Receipt);
    raw.send(format!("SEND\ndestination:/queue/a\n\n{}\0", "x".repeat(1024)).as_bytes());
    assert_eq!(raw.frame().body().len(), 1024);
}

#[test]
fn an_error_on_one_connection_leaves_the_others_alone() {
    let broker = Broker::start().unwrap();
    let mut good = stompbox::Client::connect(broker.addr()).unwrap();
    good.subscribe("/queue/a", stompbox::AckMode::Auto).unwrap();
    let mut bad = Raw::connect(broker.addr());
    bad.connect_v(Version::V1_2);
    bad.send(b"GARBAGE\x00\x01\x02\n\n\0");
    assert_eq!(bad.frame().command(), &Command::Error);
    good.send("/queue/a", "still here").unwrap();
    assert_eq!(good.recv_timeout(SECOND).unwrap().body(), b"still here");
}

#[rstest]
fn a_nul_between_frames_is_skipped_as_the_real_brokers_do(server: Server) {
    // Not STOMP, but ActiveMQ and RabbitMQ both skip it and deliver.
    let mut raw = subscribed(&server, Version::V1_2, "/queue/nul");
    raw.send(b"\n\0SEND\ndestination:/queue/nul\n\nafter a NUL\0");
    let message = raw.frame();
    assert_eq!(message.command(), &Command::Message, "{message}");
    assert_eq!(message.body(), b"after a NUL");
}

#[test]
fn a_skipped_nul_is_a_protocol_warning() {
    let broker = Broker::start().unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    raw.send(b"\0\0SEND\ndestination:/queue/a\nreceipt:r\n\nx\0");
    assert_eq!(raw.frame().command(), &Command::Receipt);
    let warnings = broker.protocol_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        warnings[0].warning,
        "2 NUL bytes between frames (skipped, as ActiveMQ and RabbitMQ do)"
    );
    assert_eq!(warnings[0].connection, broker.connections()[0].id);
}
