//! The `selector` header: ActiveMQ's JMS selectors on queues and topics
//! (RabbitMQ ignores them, as its profile does; see docs/conformance.md).

mod support;

use rstest::rstest;
use stompbox::{AckMode, Broker, Client, Error};
use support::{QUIET, SECOND, Server, server};

fn bodies(client: &mut Client) -> Vec<String> {
    let mut got = Vec::new();
    while let Ok(m) = client.recv_timeout(QUIET) {
        got.push(m.body_text().into_owned());
    }
    got
}

#[rstest]
fn a_queue_subscriber_gets_only_what_its_selector_selects(server: Server) {
    let mut consumer = server.client();
    consumer
        .subscribe_with(
            "/queue/sel",
            "s",
            AckMode::Auto,
            &[("selector", "region = 'eu' AND amount > 10")],
        )
        .unwrap();
    let mut producer = server.client();
    for (region, amount, body) in [
        ("eu", "20", "a"),
        ("us", "20", "b"),
        ("eu", "5", "c"),
        ("eu", "11", "d"),
    ] {
        producer
            .send_with_headers(
                "/queue/sel",
                body,
                &[("region", region), ("amount", amount)],
            )
            .unwrap();
    }
    producer.send_with_receipt("/queue/sel", "e").unwrap();
    assert_eq!(bodies(&mut consumer), ["a", "d"]);
}

#[rstest]
fn a_message_no_selector_selects_waits_while_later_ones_flow(server: Server) {
    let mut picky = server.client();
    picky
        .subscribe_with(
            "/queue/wait",
            "s",
            AckMode::Auto,
            &[("selector", "kind = 'b'")],
        )
        .unwrap();
    let mut producer = server.client();
    producer
        .send_with_headers("/queue/wait", "first", &[("kind", "a")])
        .unwrap();
    producer
        .send_with_headers("/queue/wait", "second", &[("kind", "b")])
        .unwrap();
    assert_eq!(picky.recv_timeout(SECOND).unwrap().body_text(), "second");
    let mut anyone = server.client();
    anyone.subscribe("/queue/wait", AckMode::Auto).unwrap();
    assert_eq!(anyone.recv_timeout(SECOND).unwrap().body_text(), "first");
}

#[rstest]
fn topic_subscribers_each_apply_their_own_selector(server: Server) {
    let mut eu = server.client();
    eu.subscribe_with(
        "/topic/prices",
        "s",
        AckMode::Auto,
        &[("selector", "region IN ('eu')")],
    )
    .unwrap();
    let mut all = server.client();
    all.subscribe("/topic/prices", AckMode::Auto).unwrap();
    let mut producer = server.client();
    producer
        .send_with_headers("/topic/prices", "us-1", &[("region", "us")])
        .unwrap();
    producer
        .send_with_headers("/topic/prices", "eu-1", &[("region", "eu")])
        .unwrap();
    assert_eq!(bodies(&mut eu), ["eu-1"]);
    assert_eq!(bodies(&mut all), ["us-1", "eu-1"]);
}

#[rstest]
fn jms_names_read_the_headers_activemq_maps_to_them(server: Server) {
    let mut consumer = server.client();
    consumer
        .subscribe_with(
            "/queue/jms",
            "s",
            AckMode::Auto,
            &[("selector", "JMSType = 'order' AND JMSPriority >= 4")],
        )
        .unwrap();
    let mut producer = server.client();
    producer
        .send_with_headers("/queue/jms", "typed", &[("type", "order")])
        .unwrap();
    producer
        .send_with_headers("/queue/jms", "other", &[("type", "refund")])
        .unwrap();
    assert_eq!(bodies(&mut consumer), ["typed"]);
}

#[rstest]
fn type_is_not_a_property_on_activemq(server: Server) {
    // ActiveMQ turns a STOMP `type` header into JMSType, so a selector on
    // `type` finds nothing: the mistake a test against stompbox must catch.
    let mut consumer = server.client();
    consumer
        .subscribe_with(
            "/queue/type",
            "s",
            AckMode::Auto,
            &[("selector", "type = 'order'")],
        )
        .unwrap();
    let mut producer = server.client();
    producer
        .send_with_headers("/queue/type", "typed", &[("type", "order")])
        .unwrap();
    assert!(bodies(&mut consumer).is_empty());
}

#[test]
fn a_selector_that_does_not_parse_is_an_error_naming_the_column() {
    let broker = Broker::start().unwrap();
    let mut client = Client::connect(broker.addr()).unwrap();
    let err = client
        .subscribe_with(
            "/queue/q",
            "s",
            AckMode::Auto,
            &[("selector", "a = 'x' AND")],
        )
        .unwrap_err();
    let Error::Refused(frame) = err else {
        panic!("expected an ERROR, got {err:?}")
    };
    assert_eq!(
        frame.header("message"),
        Some("invalid selector 'a = 'x' AND' at column 12: expected a value, found the end")
    );
}

#[test]
fn the_journal_shows_each_subscriptions_selector() {
    let broker = Broker::start().unwrap();
    let mut client = Client::connect(broker.addr()).unwrap();
    client
        .subscribe_with("/queue/q", "s", AckMode::Auto, &[("selector", "a = 'x'")])
        .unwrap();
    let subscriptions = broker.subscriptions();
    assert_eq!(subscriptions[0].selector.as_deref(), Some("a = 'x'"));
}

#[test]
fn the_rabbitmq_profile_ignores_selectors_as_rabbitmq_does() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let mut client = Client::builder().host("/").connect(broker.addr()).unwrap();
    client
        .subscribe_with("/queue/q", "s", AckMode::Auto, &[("selector", "a = 'x'")])
        .unwrap();
    client
        .send_with_headers("/queue/q", "not x", &[("a", "y")])
        .unwrap();
    assert_eq!(client.recv_timeout(SECOND).unwrap().body_text(), "not x");
}
