//! Queue and topic semantics, and what a MESSAGE frame carries.

mod support;

use std::collections::HashSet;

use rstest::rstest;
use stompbox::destination::DestinationKind;
use stompbox::{AckMode, Broker, Client, Error, Version};
use support::{QUIET, SECOND, Server, server};

#[rstest]
#[case::v1_0(Version::V1_0)]
#[case::v1_1(Version::V1_1)]
#[case::v1_2(Version::V1_2)]
fn a_queue_delivers_what_is_sent(server: Server, #[case] version: Version) {
    let mut client = server.client_v(version);
    client.subscribe("/queue/hello", AckMode::Auto).unwrap();
    client.send("/queue/hello", "hi").unwrap();
    let message = client.recv_timeout(SECOND).unwrap();
    assert_eq!(message.body(), b"hi");
    assert_eq!(message.destination(), Some("/queue/hello"));
}

#[rstest]
fn queue_messages_wait_for_a_subscriber(server: Server) {
    let mut producer = server.client();
    for i in 0..3 {
        producer
            .send_with_receipt("/queue/later", format!("m{i}"))
            .unwrap();
    }
    let mut consumer = server.client();
    consumer.subscribe("/queue/later", AckMode::Auto).unwrap();
    let bodies: Vec<String> = (0..3)
        .map(|_| {
            consumer
                .recv_timeout(SECOND)
                .unwrap()
                .body_text()
                .into_owned()
        })
        .collect();
    assert_eq!(bodies, ["m0", "m1", "m2"]);
}

#[rstest]
fn a_queue_gives_each_message_to_exactly_one_subscriber_round_robin(server: Server) {
    let mut a = server.client();
    let mut b = server.client();
    a.subscribe("/queue/rr", AckMode::Auto).unwrap();
    b.subscribe("/queue/rr", AckMode::Auto).unwrap();
    let mut producer = server.client();
    for i in 0..10 {
        producer.send("/queue/rr", i.to_string()).unwrap();
    }
    let got_a: Vec<String> = (0..5)
        .map(|_| a.recv_timeout(SECOND).unwrap().body_text().into_owned())
        .collect();
    let got_b: Vec<String> = (0..5)
        .map(|_| b.recv_timeout(SECOND).unwrap().body_text().into_owned())
        .collect();
    assert!(matches!(a.recv_timeout(QUIET), Err(Error::Timeout { .. })));
    assert!(matches!(b.recv_timeout(QUIET), Err(Error::Timeout { .. })));
    let all: HashSet<String> = got_a.iter().chain(&got_b).cloned().collect();
    assert_eq!(
        all.len(),
        10,
        "every message exactly once: {got_a:?} {got_b:?}"
    );
    assert_eq!(got_a, ["0", "2", "4", "6", "8"]);
    assert_eq!(got_b, ["1", "3", "5", "7", "9"]);
}

#[rstest]
fn a_topic_gives_each_message_to_every_subscriber(server: Server) {
    let mut subscribers: Vec<Client> = (0..3).map(|_| server.client()).collect();
    for s in &mut subscribers {
        s.subscribe("/topic/news", AckMode::Auto).unwrap();
    }
    let mut producer = server.client();
    producer.send("/topic/news", "one").unwrap();
    producer.send("/topic/news", "two").unwrap();
    for s in &mut subscribers {
        assert_eq!(s.recv_timeout(SECOND).unwrap().body(), b"one");
        assert_eq!(s.recv_timeout(SECOND).unwrap().body(), b"two");
    }
}

#[rstest]
fn a_topic_keeps_nothing_for_absent_subscribers(server: Server) {
    let mut producer = server.client();
    producer.send_with_receipt("/topic/gone", "missed").unwrap();
    let mut late = server.client();
    late.subscribe("/topic/gone", AckMode::Auto).unwrap();
    producer.send_with_receipt("/topic/gone", "seen").unwrap();
    assert_eq!(late.recv_timeout(SECOND).unwrap().body(), b"seen");
    assert!(matches!(
        late.recv_timeout(QUIET),
        Err(Error::Timeout { .. })
    ));
}

#[rstest]
fn unsubscribing_stops_delivery(server: Server) {
    let mut client = server.client();
    let id = client.subscribe("/topic/stop", AckMode::Auto).unwrap();
    client.unsubscribe(&id).unwrap();
    client.send_with_receipt("/topic/stop", "x").unwrap();
    assert!(matches!(
        client.recv_timeout(QUIET),
        Err(Error::Timeout { .. })
    ));
}

#[rstest]
fn a_message_carries_content_type_and_custom_headers(server: Server) {
    let mut client = server.client();
    client.subscribe("/queue/h", AckMode::Auto).unwrap();
    client
        .send_with_headers(
            "/queue/h",
            "{}",
            &[
                ("content-type", "application/json"),
                ("x-trace", "abc"),
                ("persistent", "true"),
            ],
        )
        .unwrap();
    let message = client.recv_timeout(SECOND).unwrap();
    assert_eq!(message.header("content-type"), Some("application/json"));
    assert_eq!(message.header("x-trace"), Some("abc"));
    assert_eq!(message.header("persistent"), Some("true"));
    assert_eq!(message.header("content-length"), Some("2"));
    assert_eq!(
        message.header("receipt"),
        None,
        "SEND-only headers are not carried"
    );
}

#[rstest]
fn message_ids_are_unique_and_subscription_names_the_subscription(server: Server) {
    let mut client = server.client();
    let id = client.subscribe("/queue/ids", AckMode::Auto).unwrap();
    for _ in 0..20 {
        client.send("/queue/ids", "x").unwrap();
    }
    let ids: HashSet<String> = (0..20)
        .map(|_| {
            let m = client.recv_timeout(SECOND).unwrap();
            assert_eq!(m.subscription(), Some(id.as_str()));
            m.message_id().unwrap().to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 20);
}

#[rstest]
#[case::auto(AckMode::Auto, false)]
#[case::client(AckMode::Client, true)]
#[case::client_individual(AckMode::ClientIndividual, true)]
fn stomp_1_2_messages_carry_an_ack_header_in_client_modes(
    server: Server,
    #[case] ack: AckMode,
    #[case] has_ack: bool,
) {
    let mut client = server.client_v(Version::V1_2);
    client.subscribe("/queue/ackhdr", ack).unwrap();
    client.send("/queue/ackhdr", "x").unwrap();
    let message = client.recv_timeout(SECOND).unwrap();
    assert_eq!(message.header("ack").is_some(), has_ack);
}

#[rstest]
fn a_subscriber_to_its_own_queue_gets_its_messages(server: Server) {
    let mut client = server.client();
    client.subscribe("/queue/self", AckMode::Auto).unwrap();
    client.send_with_receipt("/queue/self", "me").unwrap();
    assert_eq!(client.recv_timeout(SECOND).unwrap().body(), b"me");
}

#[test]
fn destinations_without_a_known_prefix_are_queues_by_default() {
    let broker = Broker::start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer.send_with_receipt("orders", "kept").unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("orders", AckMode::Auto).unwrap();
    assert_eq!(consumer.recv_timeout(SECOND).unwrap().body(), b"kept");
}

#[test]
fn the_builder_can_make_a_prefix_a_topic() {
    let broker = Broker::builder()
        .destination_prefix("/exchange/", DestinationKind::Topic)
        .start()
        .unwrap();
    let mut a = Client::connect(broker.addr()).unwrap();
    let mut b = Client::connect(broker.addr()).unwrap();
    a.subscribe("/exchange/fan", AckMode::Auto).unwrap();
    b.subscribe("/exchange/fan", AckMode::Auto).unwrap();
    a.send("/exchange/fan", "both").unwrap();
    assert_eq!(a.recv_timeout(SECOND).unwrap().body(), b"both");
    assert_eq!(b.recv_timeout(SECOND).unwrap().body(), b"both");
}

#[rstest]
#[case::send(b"SEND\n\nx\0".as_slice(), "missing 'destination' header")]
#[case::subscribe_destination(b"SUBSCRIBE\nid:1\n\n\0", "missing 'destination' header")]
#[case::subscribe_id(b"SUBSCRIBE\ndestination:/queue/a\n\n\0", "missing 'id' header")]
#[case::unsubscribe_id(b"UNSUBSCRIBE\n\n\0", "missing 'id' header")]
#[case::bad_ack_mode(
    b"SUBSCRIBE\nid:1\ndestination:/queue/a\nack:sometimes\n\n\0",
    "invalid ack mode 'sometimes'"
)]
#[case::unknown_subscription(
    b"UNSUBSCRIBE\nid:nope\n\n\0",
    "no subscription 'nope' on this connection"
)]
fn missing_or_wrong_headers_are_errors(
    server: Server,
    #[case] bytes: &[u8],
    #[case] message: &str,
) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    raw.expect_error(bytes, message);
}

#[rstest]
fn a_second_subscribe_with_the_same_id_is_an_error(server: Server) {
    let mut client = server.client();
    client
        .subscribe_with("/queue/a", "dup", AckMode::Auto, &[])
        .unwrap();
    let err = client
        .subscribe_with("/queue/b", "dup", AckMode::Auto, &[])
        .unwrap_err();
    let message = err.error_frame().and_then(|f| f.header("message"));
    assert_eq!(
        message,
        Some("subscription id 'dup' is already in use on this connection")
    );
}

#[rstest]
fn stomp_1_0_subscribes_without_id_and_unsubscribes_by_destination(server: Server) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_0);
    raw.send(b"SUBSCRIBE\ndestination:/topic/old\nreceipt:1\n\n\0");
    assert_eq!(raw.frame().header("receipt-id"), Some("1"));
    raw.send(b"SEND\ndestination:/topic/old\n\nfirst\0");
    assert_eq!(raw.frame().body(), b"first");
    raw.send(b"UNSUBSCRIBE\ndestination:/topic/old\nreceipt:2\n\n\0");
    assert_eq!(raw.frame().header("receipt-id"), Some("2"));
    raw.send(b"SEND\ndestination:/topic/old\nreceipt:3\n\nsecond\0");
    assert_eq!(
        raw.frame().header("receipt-id"),
        Some("3"),
        "no MESSAGE came before the receipt"
    );
}
