//! Messages a test injects are held to the rules a received SEND is held to
//! (issue 11, item 16: a header value with NUL reached every subscriber as a
//! truncated MESSAGE plus a forged ERROR frame).

mod support;

use stompbox::frame::{Command, Limits};
use stompbox::{AckMode, Broker, Client, Error};
use support::SECOND;

#[rstest::rstest]
#[case::nul_in_a_value(
    "/queue/i", &[("evil", "x\0ERROR\nmessage:forged\n\n")],
    "malformed header line (expected name:value)"
)]
#[case::nul_in_a_name("/queue/i", &[("ev\0il", "x")], "malformed header line (expected name:value)")]
#[case::empty_name("/queue/i", &[("", "x")], "malformed header line (expected name:value)")]
#[case::no_destination("", &[], "missing 'destination' header")]
fn what_could_not_travel_in_a_frame_is_refused_and_nothing_is_published(
    #[case] destination: &str,
    #[case] headers: &[(&str, &str)],
    #[case] says: &str,
) {
    let broker = Broker::start().unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/i", AckMode::Auto).unwrap();
    let err = broker
        .try_publish_with(destination, "body", headers)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Protocol(what) if what == says),
        "{err:?}"
    );
    assert_eq!(broker.published(), Some(Vec::new()));
    // The next frame the consumer gets is the next real message, whole.
    broker.publish("/queue/i", "the real one");
    let next = consumer.recv_frame_timeout(SECOND).unwrap();
    assert_eq!(next.command(), &Command::Message);
    assert_eq!(next.body(), b"the real one");
}

#[test]
fn a_body_over_the_frame_limit_is_refused() {
    let broker = Broker::builder()
        .limits(Limits {
            max_frame_size: 10,
            ..Limits::default()
        })
        .start()
        .unwrap();
    let err = broker
        .try_publish_with("/queue/big", vec![b'x'; 11], &[])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "protocol error: frame exceeds the maximum frame size"
    );
    assert!(
        broker
            .try_publish_with("/queue/big", vec![b'x'; 10], &[])
            .is_ok()
    );
}

#[test]
#[should_panic(expected = "Broker::publish_with: malformed header line")]
fn publish_with_panics_with_the_reason() {
    let broker = Broker::start().unwrap();
    broker.publish_with("/queue/i", "x", &[("a", "\0")]);
}
