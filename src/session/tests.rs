//! The session frame by frame, with no socket (see [`Harness`]).

use std::time::{Duration, Instant};

use proptest::prelude::*;
use rstest::rstest;

use super::Flow;
use super::harness::{Harness, fuzz};
use crate::config::Config;
use crate::journal::{CloseReason, MessageStatus};
use crate::protocol::frame::{Command, Frame};

fn frame(command: Command, headers: &[(&str, &str)]) -> Frame {
    headers
        .iter()
        .fold(Frame::new(command), |f, (n, v)| f.with_header(*n, *v))
}

fn connect(version: &str) -> Frame {
    frame(
        Command::Connect,
        &[("accept-version", version), ("host", "h")],
    )
}

fn subscribe(id: &str, destination: &str, ack: &str) -> Frame {
    frame(
        Command::Subscribe,
        &[("id", id), ("destination", destination), ("ack", ack)],
    )
}

fn send(destination: &str, body: &str) -> Frame {
    frame(Command::Send, &[("destination", destination)]).with_body(body.to_owned())
}

/// A harness with `count` connections, each connected with STOMP 1.2.
fn connected(count: usize) -> Harness {
    let mut harness = Harness::new(Config::default());
    for _ in 0..count {
        let peer = harness.open();
        assert_eq!(harness.send(peer, &connect("1.2")), None);
        let got = harness.received(peer);
        assert_eq!(got[0].command(), &Command::Connected);
    }
    harness
}

fn commands(frames: &[Frame]) -> Vec<Command> {
    frames.iter().map(|f| f.command().clone()).collect()
}

#[rstest]
#[case::highest_common("1.0,1.1,1.2", "1.2")]
#[case::only_1_1("1.1", "1.1")]
#[case::unknown_ones_ignored("2.0,1.1", "1.1")]
fn connect_negotiates_the_highest_common_version(#[case] offered: &str, #[case] agreed: &str) {
    let mut harness = Harness::new(Config::default());
    let peer = harness.open();
    assert_eq!(harness.send(peer, &connect(offered)), None);
    let got = harness.received(peer);
    assert_eq!(commands(&got), [Command::Connected]);
    assert_eq!(got[0].header("version"), Some(agreed));
    assert_eq!(got[0].header("session"), Some("session-1"));
}

#[test]
fn connected_echoes_the_heart_beat_and_the_deadline_becomes_twice_the_clients() {
    let mut harness = Harness::new(Config::default());
    let peer = harness.open();
    harness.send(peer, &connect("1.2").with_header("heart-beat", "100,0"));
    let got = harness.received(peer);
    assert_eq!(got[0].header("heart-beat"), Some("0,100"));
    assert_eq!(harness.read_timeout(peer), Some(Duration::from_millis(200)));
}

#[test]
fn silence_before_connect_is_an_error_naming_the_deadline() {
    let mut harness = Harness::new(Config {
        connect_timeout: Duration::from_millis(50),
        ..Config::default()
    });
    let peer = harness.open();
    let reason = harness.silence(peer);
    assert_eq!(
        reason,
        CloseReason::ErrorSent("no CONNECT frame in time".into())
    );
    let got = harness.received(peer);
    assert_eq!(commands(&got), [Command::Error]);
    assert!(
        got[0].body_text().contains("50ms"),
        "{}",
        got[0].body_text()
    );
}

#[test]
fn silence_past_the_heart_beat_is_a_heart_beat_timeout() {
    let mut harness = Harness::new(Config::default());
    let peer = harness.open();
    harness.send(peer, &connect("1.2").with_header("heart-beat", "100,0"));
    harness.received(peer);
    assert_eq!(harness.silence(peer), CloseReason::HeartBeatTimeout);
    let got = harness.received(peer);
    assert_eq!(got[0].header("message"), Some("heart-beat timeout"));
}

#[test]
fn a_frame_before_connect_gets_an_error_with_its_receipt_id_and_closes() {
    let mut harness = Harness::new(Config::default());
    let peer = harness.open();
    let reason = harness.send(peer, &send("/queue/a", "x").with_header("receipt", "r-1"));
    assert_eq!(
        reason,
        Some(CloseReason::ErrorSent(
            "expected CONNECT or STOMP frame, got SEND".into()
        ))
    );
    let got = harness.received(peer);
    assert_eq!(commands(&got), [Command::Error]);
    assert_eq!(got[0].header("receipt-id"), Some("r-1"));
}

#[rstest]
#[case::send(
    Command::Send,
    "destination",
    "A SEND frame must have a 'destination' header."
)]
#[case::ack(Command::Ack, "id", "An ACK frame must have a 'id' header.")]
#[case::abort(
    Command::Abort,
    "transaction",
    "An ABORT frame must have a 'transaction' header."
)]
fn a_missing_header_is_named_in_plain_english(
    #[case] command: Command,
    #[case] header: &str,
    #[case] detail: &str,
) {
    let mut harness = connected(1);
    let reason = harness.send(0, &Frame::new(command));
    let message = format!("missing '{header}' header");
    assert_eq!(reason, Some(CloseReason::ErrorSent(message.clone())));
    let got = harness.received(0);
    assert_eq!(got[0].header("message"), Some(message.as_str()));
    assert_eq!(got[0].body_text(), detail);
}

#[test]
fn a_queue_message_reaches_one_subscriber_with_the_senders_headers_then_the_receipt() {
    let mut harness = connected(2);
    harness.send(1, &subscribe("s1", "/queue/a", "auto"));
    let sent = send("/queue/a", "hello")
        .with_header("receipt", "r-9")
        .with_header("custom", "a:b");
    assert_eq!(harness.send(0, &sent), None);
    assert_eq!(commands(&harness.received(0)), [Command::Receipt]);
    let got = harness.received(1);
    assert_eq!(commands(&got), [Command::Message]);
    assert_eq!(got[0].header("subscription"), Some("s1"));
    assert_eq!(got[0].header("custom"), Some("a:b"));
    assert_eq!(got[0].header("receipt"), None, "receipt is the SEND's own");
    assert_eq!(got[0].body(), b"hello");
}

#[test]
fn a_transaction_delivers_nothing_until_commit_and_abort_discards() {
    let mut harness = connected(2);
    harness.send(1, &subscribe("s", "/queue/t", "auto"));
    harness.send(0, &frame(Command::Begin, &[("transaction", "tx")]));
    harness.send(
        0,
        &send("/queue/t", "kept").with_header("transaction", "tx"),
    );
    assert!(harness.received(1).is_empty());
    assert_eq!(
        harness.state().read(|j| j.transactions()[0].frames.len()),
        1
    );
    harness.send(0, &frame(Command::Commit, &[("transaction", "tx")]));
    assert_eq!(harness.received(1)[0].body(), b"kept");

    harness.send(0, &frame(Command::Begin, &[("transaction", "tx2")]));
    harness.send(
        0,
        &send("/queue/t", "dropped").with_header("transaction", "tx2"),
    );
    harness.send(0, &frame(Command::Abort, &[("transaction", "tx2")]));
    assert!(harness.received(1).is_empty());
    let (published, uncommitted): (Vec<MessageStatus>, Vec<MessageStatus>) =
        harness.state().read(|j| {
            (
                j.published().map(|m| m.status).collect(),
                j.uncommitted().map(|m| m.status).collect(),
            )
        });
    assert_eq!(published, [MessageStatus::Consumed]);
    assert_eq!(uncommitted, [MessageStatus::Discarded]);
}

#[test]
fn a_nack_returns_the_message_redelivered_to_the_next_consumer() {
    let mut harness = connected(3);
    harness.send(1, &subscribe("a", "/queue/n", "client-individual"));
    harness.send(2, &subscribe("b", "/queue/n", "client-individual"));
    harness.send(0, &send("/queue/n", "job"));
    let first = harness.received(1).remove(0);
    let ack = first.header("ack").unwrap().to_owned();
    harness.send(1, &frame(Command::Nack, &[("id", &ack)]));
    let again = harness.received(2).remove(0);
    assert_eq!(again.body(), b"job");
    assert_eq!(again.header("redelivered"), Some("true"));
}

#[test]
fn unacked_messages_of_a_closed_connection_go_to_another_consumer() {
    let mut harness = connected(3);
    harness.send(1, &subscribe("a", "/queue/u", "client"));
    harness.send(0, &send("/queue/u", "one"));
    assert_eq!(harness.received(1).len(), 1);
    harness.send(2, &subscribe("b", "/queue/u", "client"));
    assert!(harness.received(2).is_empty(), "held by the first consumer");
    harness.hang_up(1);
    assert_eq!(harness.closed(1), Some(&CloseReason::PeerClosed));
    let got = harness.received(2);
    assert_eq!(got[0].body(), b"one");
    assert_eq!(got[0].header("redelivered"), Some("true"));
}

#[test]
fn nothing_follows_an_error_not_even_a_message_routed_before_the_close() {
    // Found by the connection fuzz target: another connection's SEND,
    // routed between the ERROR and the detach, put a MESSAGE after it.
    let mut harness = connected(3);
    harness.send(1, &subscribe("a", "/queue/e", "client"));
    let flow = harness.frame_before_detach(1, frame(Command::Ack, &[("id", "nope")]));
    assert!(matches!(flow, Flow::Close(CloseReason::ErrorSent(_))));
    harness.send(0, &send("/queue/e", "m"));
    let got = harness.received(1);
    assert_eq!(commands(&got), [Command::Error], "{got:?}");
    // The message waits for a consumer that can take it.
    harness.send(2, &subscribe("b", "/queue/e", "auto"));
    assert_eq!(harness.received(2)[0].body(), b"m");
}

#[test]
fn an_ack_names_only_what_this_connection_holds() {
    let mut harness = connected(2);
    harness.send(1, &subscribe("a", "/queue/x", "client-individual"));
    harness.send(0, &send("/queue/x", "m"));
    let ack = harness.received(1)[0].header("ack").unwrap().to_owned();
    // Another connection cannot ACK it, nor can a lookalike id.
    for (peer, id) in [(0, ack.as_str()), (1, "01")] {
        let reason = harness.send(peer, &frame(Command::Ack, &[("id", id)]));
        assert!(
            matches!(&reason, Some(CloseReason::ErrorSent(m)) if m.contains("is not pending")),
            "{reason:?}"
        );
    }
}

#[test]
fn disconnect_closes_after_its_receipt() {
    let mut harness = connected(1);
    let bye = frame(Command::Disconnect, &[("receipt", "bye")]);
    assert_eq!(harness.send(0, &bye), Some(CloseReason::Disconnect));
    let got = harness.received(0);
    assert_eq!(commands(&got), [Command::Receipt]);
    assert_eq!(got[0].header("receipt-id"), Some("bye"));
}

#[test]
fn a_disconnect_ends_its_subscriptions_before_its_receipt_goes_out() {
    let mut harness = connected(2);
    harness.send(0, &subscribe("s", "/queue/q", "client-individual"));
    harness.send(1, &send("/queue/q", "one"));
    let bye = frame(Command::Disconnect, &[("receipt", "bye")]);
    let flow = harness.frame_before_detach(0, bye);
    assert_eq!(flow, Flow::Close(CloseReason::Disconnect));
    // Between this pass and its reader's clean-up, a SEND finds no
    // consumer there; the unacknowledged message is back on its queue.
    harness.send(1, &send("/queue/q", "two"));
    let got = harness.received(0);
    assert_eq!(commands(&got), [Command::Message, Command::Receipt]);
    assert_eq!(got[0].body(), b"one");
    let peer = harness.open();
    harness.send(peer, &connect("1.2"));
    harness.received(peer);
    harness.send(peer, &subscribe("s", "/queue/q", "auto"));
    let bodies: Vec<_> = harness
        .received(peer)
        .iter()
        .map(|f| f.body().to_vec())
        .collect();
    assert_eq!(bodies, [b"one".to_vec(), b"two".to_vec()]);
}

#[test]
fn bytes_that_are_not_a_frame_get_an_error_saying_so_with_the_limits() {
    let mut harness = connected(1);
    let reason = harness.feed(0, b"SEND\nno colon\n\n\0");
    assert!(matches!(reason, Some(CloseReason::ErrorSent(_))));
    let got = harness.received(0);
    assert_eq!(commands(&got), [Command::Error]);
    assert!(got[0].body_text().contains("Limits: frames up to"));
}

#[test]
fn frames_split_anywhere_are_applied_once_whole() {
    let mut harness = connected(2);
    harness.send(1, &subscribe("s", "/queue/split", "auto"));
    let bytes = send("/queue/split", "abc").encode(Some(crate::protocol::Version::V1_2));
    for byte in bytes.chunks(1) {
        assert_eq!(harness.feed(0, byte), None);
    }
    assert_eq!(harness.received(1)[0].body(), b"abc");
}

#[test]
fn a_frame_handed_over_directly_is_handled_like_one_decoded() {
    let mut harness = connected(1);
    let flow = harness.frame(0, frame(Command::Disconnect, &[]));
    assert_eq!(flow, Flow::Close(CloseReason::Disconnect));
    assert_eq!(harness.closed(0), Some(&CloseReason::Disconnect));
}

#[test]
fn the_read_timeout_before_connect_counts_down_from_the_open() {
    let harness_config = Config {
        connect_timeout: Duration::from_secs(10),
        ..Config::default()
    };
    let session = super::Session::new(crate::state::BrokerState::new(harness_config), 1);
    let left = session.read_timeout(Instant::now()).unwrap();
    assert!(left <= Duration::from_secs(10) && left > Duration::from_secs(9));
    let later = session
        .read_timeout(Instant::now() + Duration::from_secs(4))
        .unwrap();
    assert!(later < Duration::from_secs(7), "{later:?}");
}

#[test]
fn the_fuzz_target_holds_on_known_inputs() {
    for input in [
        &b""[..],
        b"\x03SEND\ndestination:/queue/f\n\n\0",
        b"\x07\x41SEND\ndestination:/queue/f\n\nxx\0ACK\nid:1\n\n\0",
        b"\x02\x3fBEGIN\ntransaction:t\n\n\0SEND\ntransaction:t\ndestination:/queue/f\n\n\0",
    ] {
        fuzz(input);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes, on up to three connections at once: well-formed output,
    /// nothing after an ERROR, nothing left behind.
    #[test]
    fn arbitrary_traffic_leaves_the_state_consistent(data in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzz(&data);
    }
}
