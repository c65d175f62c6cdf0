//! CONNECT/STOMP, version negotiation, CONNECTED, and frames before CONNECT.

mod support;

use rstest::rstest;
use stompbox::frame::Command;
use stompbox::{Client, Error, Version};
use support::{SECOND, Server, server};

#[rstest]
#[case::only_1_0("1.0", "1.0")]
#[case::only_1_1("1.1", "1.1")]
#[case::only_1_2("1.2", "1.2")]
#[case::highest_common_wins("1.0,1.1,1.2", "1.2")]
#[case::order_does_not_matter("1.2,1.0", "1.2")]
#[case::unknown_versions_are_skipped("1.1,2.0", "1.1")]
fn negotiates_the_highest_common_version(server: Server, #[case] accept: &str, #[case] want: &str) {
    let mut raw = server.raw();
    raw.send(format!("CONNECT\naccept-version:{accept}\nhost:h\n\n\0").as_bytes());
    let connected = raw.frame();
    assert_eq!(connected.command(), &Command::Connected);
    let version = connected.header("version").unwrap_or("1.0");
    assert_eq!(version, want);
}

#[rstest]
fn no_accept_version_means_1_0(server: Server) {
    let mut raw = server.raw();
    raw.send(b"CONNECT\nlogin:x\npasscode:y\n\n\0");
    let connected = raw.frame();
    assert_eq!(connected.command(), &Command::Connected);
    assert_eq!(connected.header("version").unwrap_or("1.0"), "1.0");
    assert!(connected.header("session").is_some());
}

#[rstest]
fn no_common_version_is_an_error_listing_the_supported_ones(server: Server) {
    let mut raw = server.raw();
    raw.send(b"CONNECT\naccept-version:2.0,3.1\nhost:h\n\n\0");
    let error = raw.frame();
    assert_eq!(error.command(), &Command::Error);
    assert_eq!(error.header("version"), Some("1.0,1.1,1.2"));
    assert!(error.header("message").is_some());
    assert!(raw.closed_within(SECOND));
}

#[rstest]
fn the_stomp_command_connects_too(server: Server) {
    let client = Client::builder()
        .stomp_command()
        .connect(server.addr())
        .unwrap();
    assert_eq!(client.version(), Version::V1_2);
}

#[rstest]
#[case::dialled_address("127.0.0.1")]
#[case::virtual_host("/")]
#[case::some_name("broker.example.com")]
fn any_host_is_accepted(server: Server, #[case] host: &str) {
    let client = Client::builder().host(host).connect(server.addr());
    assert!(client.is_ok(), "{client:?}");
}

#[test]
fn connected_carries_server_session_and_heart_beat() {
    let broker = stompbox::Broker::builder()
        .server_name("unit-test/9")
        .start()
        .unwrap();
    let client = Client::connect(broker.addr()).unwrap();
    let connected = client.connected_frame();
    assert_eq!(connected.header("version"), Some("1.2"));
    assert_eq!(connected.header("server"), Some("unit-test/9"));
    assert_eq!(connected.header("heart-beat"), Some("0,0"));
    let other = Client::connect(broker.addr()).unwrap();
    assert_ne!(
        connected.header("session"),
        other.connected_frame().header("session")
    );
}

#[rstest]
#[case::send(b"SEND\ndestination:/queue/a\n\nx\0".as_slice())]
#[case::subscribe(b"SUBSCRIBE\ndestination:/queue/a\nid:1\n\n\0")]
#[case::disconnect(b"DISCONNECT\n\n\0")]
fn a_frame_before_connect_is_an_error(server: Server, #[case] bytes: &[u8]) {
    let mut raw = server.raw();
    raw.send(bytes);
    let error = raw.frame();
    assert_eq!(error.command(), &Command::Error);
    assert!(
        error
            .header("message")
            .unwrap()
            .contains("expected CONNECT"),
        "{error}"
    );
    assert!(raw.closed_within(SECOND));
}

#[rstest]
fn a_second_connect_is_an_error(server: Server) {
    let mut client = server.client();
    let err = client.request(
        stompbox::frame::Frame::new(Command::Connect).with_header("accept-version", "1.2"),
    );
    assert_eq!(
        err.unwrap_err()
            .error_frame()
            .and_then(|f| f.header("message")),
        Some("already connected")
    );
}

#[rstest]
#[case("1000")]
#[case("a,b")]
#[case("-5,10")]
fn a_malformed_heart_beat_header_is_an_error(server: Server, #[case] value: &str) {
    let mut raw = server.raw();
    raw.send(format!("CONNECT\naccept-version:1.2\nhost:h\nheart-beat:{value}\n\n\0").as_bytes());
    let error = raw.frame();
    assert_eq!(error.header("message"), Some("malformed heart-beat header"));
}

#[test]
fn a_client_that_never_sends_connect_is_closed_with_an_error() {
    let broker = stompbox::Broker::builder()
        .connect_timeout(std::time::Duration::from_millis(50))
        .start()
        .unwrap();
    let mut raw = support::Raw::connect(broker.addr());
    let error = raw.frame();
    assert_eq!(error.header("message"), Some("no CONNECT frame in time"));
    assert!(raw.closed_within(SECOND));
}

#[test]
fn client_errors_hold_the_error_frame() {
    let broker = stompbox::Broker::start().unwrap();
    let result = Client::builder()
        .versions(&[])
        .header("accept-version", "9.9")
        .connect(broker.addr());
    match result {
        Err(Error::Refused(frame)) => assert_eq!(frame.header("version"), Some("1.0,1.1,1.2")),
        other => panic!("expected a refusal, got {other:?}"),
    }
}
