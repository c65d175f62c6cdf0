//! Ack modes, ACK/NACK headers per version, redelivery, prefetch.

mod support;

use rstest::rstest;
use stompbox::frame::{Command, Frame};
use stompbox::{AckMode, Error, Version};
use support::{QUIET, SECOND, Server, server};

fn bodies(client: &mut stompbox::Client, n: usize) -> Vec<stompbox::Message> {
    (0..n)
        .map(|_| client.recv_timeout(SECOND).unwrap())
        .collect()
}

fn texts(messages: &[stompbox::Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| m.body_text().into_owned())
        .collect()
}

fn fill(server: &Server, destination: &str, n: usize) {
    let mut producer = server.client();
    for i in 1..=n {
        producer
            .send_with_receipt(destination, format!("m{i}"))
            .unwrap();
    }
}

#[rstest]
#[case::v1_0(Version::V1_0)]
#[case::v1_1(Version::V1_1)]
#[case::v1_2(Version::V1_2)]
fn client_individual_acks_only_the_named_message(server: Server, #[case] version: Version) {
    fill(&server, "/queue/ci", 3);
    let mut first = server.client_v(version);
    first
        .subscribe("/queue/ci", AckMode::ClientIndividual)
        .unwrap();
    let got = bodies(&mut first, 3);
    first.ack(&got[1]).unwrap();
    first.disconnect().unwrap();
    let mut second = server.client();
    second.subscribe("/queue/ci", AckMode::Auto).unwrap();
    let again = bodies(&mut second, 2);
    assert_eq!(texts(&again), ["m1", "m3"]);
    assert!(again.iter().all(|m| m.redelivered()));
}

#[rstest]
#[case::v1_0(Version::V1_0)]
#[case::v1_1(Version::V1_1)]
#[case::v1_2(Version::V1_2)]
fn client_acks_are_cumulative(server: Server, #[case] version: Version) {
    fill(&server, "/queue/cum", 3);
    let mut first = server.client_v(version);
    first.subscribe("/queue/cum", AckMode::Client).unwrap();
    let got = bodies(&mut first, 3);
    first.ack(&got[1]).unwrap();
    first.disconnect().unwrap();
    let mut second = server.client();
    second.subscribe("/queue/cum", AckMode::Auto).unwrap();
    assert_eq!(texts(&bodies(&mut second, 1)), ["m3"]);
    assert!(matches!(
        second.recv_timeout(QUIET),
        Err(Error::Timeout { .. })
    ));
}

#[rstest]
#[case::v1_1(Version::V1_1)]
#[case::v1_2(Version::V1_2)]
fn a_nack_puts_the_message_back_marked_redelivered(server: Server, #[case] version: Version) {
    fill(&server, "/queue/nack", 1);
    let mut client = server.client_v(version);
    client
        .subscribe("/queue/nack", AckMode::ClientIndividual)
        .unwrap();
    let first = client.recv_timeout(SECOND).unwrap();
    assert!(!first.redelivered());
    client.nack(&first).unwrap();
    let again = client.recv_timeout(SECOND).unwrap();
    assert_eq!(again.body(), b"m1");
    assert!(again.redelivered());
    client.ack(&again).unwrap();
    client.disconnect().unwrap();
}

#[rstest]
fn a_nack_in_client_mode_is_cumulative(server: Server) {
    fill(&server, "/queue/nackcum", 3);
    let mut client = server.client();
    client.subscribe("/queue/nackcum", AckMode::Client).unwrap();
    let got = bodies(&mut client, 3);
    client.nack(&got[1]).unwrap();
    let again = bodies(&mut client, 2);
    assert_eq!(texts(&again), ["m1", "m2"], "both returned in order");
}

#[rstest]
fn unacked_messages_return_to_the_queue_when_the_consumer_leaves(server: Server) {
    fill(&server, "/queue/leave", 2);
    let mut first = server.client();
    first
        .subscribe("/queue/leave", AckMode::ClientIndividual)
        .unwrap();
    bodies(&mut first, 2);
    drop(first); // no DISCONNECT: the socket just closes
    let mut second = server.client();
    second
        .subscribe("/queue/leave", AckMode::ClientIndividual)
        .unwrap();
    let again = bodies(&mut second, 2);
    assert_eq!(texts(&again), ["m1", "m2"]);
    assert!(again.iter().all(|m| m.redelivered()));
}

#[rstest]
fn unsubscribing_returns_unacked_messages(server: Server) {
    fill(&server, "/queue/unsub", 1);
    let mut client = server.client();
    let id = client.subscribe("/queue/unsub", AckMode::Client).unwrap();
    client.recv_timeout(SECOND).unwrap();
    client.unsubscribe(&id).unwrap();
    client.subscribe("/queue/unsub", AckMode::Auto).unwrap();
    let again = client.recv_timeout(SECOND).unwrap();
    assert!(again.redelivered());
}

#[rstest]
fn acking_a_message_twice_is_an_error(server: Server) {
    fill(&server, "/queue/twice", 1);
    let mut client = server.client_v(Version::V1_2);
    client
        .subscribe("/queue/twice", AckMode::ClientIndividual)
        .unwrap();
    let message = client.recv_timeout(SECOND).unwrap();
    client.ack(&message).unwrap();
    client.ack(&message).unwrap();
    let err = client.recv_frame().unwrap_err();
    let tag = message.header("ack").unwrap();
    assert_eq!(
        err.error_frame().and_then(|f| f.header("message")),
        Some(format!("ack id '{tag}' is not pending acknowledgement on this connection").as_str())
    );
}

#[rstest]
fn acking_an_auto_mode_message_is_an_error(server: Server) {
    fill(&server, "/queue/autoack", 1);
    let mut client = server.client_v(Version::V1_1);
    client.subscribe("/queue/autoack", AckMode::Auto).unwrap();
    let message = client.recv_timeout(SECOND).unwrap();
    // The broker refuses it (sent raw: the client itself would refuse it).
    let ack = Frame::new(Command::Ack)
        .with_header("message-id", message.message_id().unwrap())
        .with_header("subscription", message.subscription().unwrap());
    client.send_frame(&ack).unwrap();
    assert!(matches!(client.recv_frame(), Err(Error::Refused(_))));
}

#[rstest]
fn the_client_refuses_to_ack_an_auto_mode_message_itself(server: Server) {
    // Issue 15, item 4: ack() returned Ok, and the next recv failed with the
    // broker's ERROR.
    fill(&server, "/queue/auto-local", 2);
    let mut client = server.client();
    let id = client
        .subscribe("/queue/auto-local", AckMode::Auto)
        .unwrap();
    let message = client.recv_timeout(SECOND).unwrap();
    let refused = client.ack(&message).unwrap_err().to_string();
    assert!(
        refused.contains(&format!(
            "cannot ACK a message of subscription '{id}': its ack mode is auto"
        )),
        "{refused}"
    );
    assert!(client.nack(&message).is_err());
    // Nothing was sent: the connection is fine.
    assert_eq!(client.recv_timeout(SECOND).unwrap().body_text(), "m2");
}

#[rstest]
#[case::v1_2_needs_id(Version::V1_2, b"ACK\nmessage-id:m-1\nsubscription:s\n\n\0".as_slice(), "missing 'id' header")]
#[case::v1_1_needs_message_id(
    Version::V1_1,
    b"ACK\nsubscription:s\n\n\0",
    "missing 'message-id' header"
)]
#[case::v1_1_needs_subscription(
    Version::V1_1,
    b"ACK\nmessage-id:m-1\n\n\0",
    "missing 'subscription' header"
)]
#[case::v1_0_needs_message_id(Version::V1_0, b"ACK\n\n\0", "missing 'message-id' header")]
#[case::v1_0_has_no_nack(Version::V1_0, b"NACK\nmessage-id:m-1\n\n\0", "unknown command 'NACK'")]
fn ack_headers_follow_the_version(
    server: Server,
    #[case] version: Version,
    #[case] bytes: &[u8],
    #[case] message: &str,
) {
    let mut raw = server.raw();
    raw.connect_v(version);
    raw.send(bytes);
    assert_eq!(raw.frame().header("message"), Some(message));
}

#[rstest]
fn prefetch_limits_unacked_messages_per_consumer(server: Server) {
    fill(&server, "/queue/prefetch", 3);
    let mut slow = server.client();
    slow.subscribe_with(
        "/queue/prefetch",
        "slow",
        AckMode::Client,
        &[("prefetch-count", "1")],
    )
    .unwrap();
    let held = slow.recv_timeout(SECOND).unwrap();
    assert_eq!(held.body(), b"m1");
    let mut fast = server.client();
    fast.subscribe("/queue/prefetch", AckMode::Auto).unwrap();
    assert_eq!(texts(&bodies(&mut fast, 2)), ["m2", "m3"]);
    assert!(matches!(
        slow.recv_timeout(QUIET),
        Err(Error::Timeout { .. })
    ));
}

#[rstest]
fn topic_messages_in_client_mode_are_acked_and_never_redelivered(server: Server) {
    let mut client = server.client();
    client
        .subscribe("/topic/ack", AckMode::ClientIndividual)
        .unwrap();
    client.send("/topic/ack", "t").unwrap();
    let message = client.recv_timeout(SECOND).unwrap();
    client.nack(&message).unwrap();
    assert!(matches!(
        client.recv_timeout(QUIET),
        Err(Error::Timeout { .. })
    ));
}

/// A STOMP 1.1 ACK of a message delivered on subscription `a`, naming
/// subscription `b`, on a broker built by `builder`: what came back, and
/// whether the connection stayed open.
fn ack_naming_the_other_subscription(
    builder: stompbox::BrokerBuilder,
) -> (stompbox::Broker, Frame, bool) {
    let broker = builder.vhost("h").start().unwrap();
    let mut raw = support::Raw::connect(broker.addr());
    raw.send(b"CONNECT\naccept-version:1.1\nhost:h\n\n\0");
    raw.set_version(Version::V1_1);
    assert_eq!(raw.frame().command(), &Command::Connected);
    raw.send(b"SUBSCRIBE\ndestination:/queue/a\nid:a\nack:client-individual\n\n\0");
    raw.send(b"SUBSCRIBE\ndestination:/queue/b\nid:b\nack:client-individual\nreceipt:subs\n\n\0");
    assert_eq!(raw.frame().command(), &Command::Receipt);
    raw.send(b"SEND\ndestination:/queue/a\n\njob\0");
    let message = raw.frame();
    let id = message.header("message-id").unwrap().to_owned();
    raw.send(format!("ACK\nmessage-id:{id}\nsubscription:b\nreceipt:ack\n\n\0").as_bytes());
    let reply = raw.frame();
    raw.send(b"SEND\ndestination:/queue/c\nreceipt:still\n\nx\0");
    let open = raw
        .try_frame(SECOND)
        .is_some_and(|f| f.header("receipt-id") == Some("still"));
    (broker, reply, open)
}

#[test]
fn a_1_1_ack_naming_another_subscription_is_an_error_that_closes_by_default() {
    let (_broker, reply, open) = ack_naming_the_other_subscription(stompbox::Broker::builder());
    assert_eq!(reply.command(), &Command::Error, "{reply}");
    assert!(!open);
}

#[test]
fn on_activemq_terms_the_error_leaves_the_connection_open() {
    let (_broker, reply, open) =
        ack_naming_the_other_subscription(stompbox::Broker::builder().activemq());
    assert_eq!(reply.command(), &Command::Error, "{reply}");
    assert!(open, "ActiveMQ keeps the connection after this ERROR");
}

#[test]
fn on_rabbitmq_terms_the_subscription_header_is_ignored_and_noted() {
    let (broker, reply, open) =
        ack_naming_the_other_subscription(stompbox::Broker::builder().rabbitmq());
    assert_eq!(reply.header("receipt-id"), Some("ack"), "{reply}");
    assert!(open);
    assert_eq!(broker.acks().unwrap().len(), 1);
    let warnings = broker.protocol_warnings();
    assert!(
        warnings[0].warning.contains("names subscription 'b'"),
        "{warnings:?}"
    );
}
