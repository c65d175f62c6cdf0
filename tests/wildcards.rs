//! Topic wildcards: ActiveMQ's `*` (one element) and `>` (the rest, even
//! none: `w.a.>` matches `w.a`) by
//! default; RabbitMQ's `*` and `#` (zero or more words) in its profile.
//! ActiveMQ's wildcards apply to queues too: `/queue/a.>` consumes from
//! every queue it matches.

mod support;

use rstest::rstest;
use stompbox::{AckMode, Broker, Client};
use support::{QUIET, Server, server};

fn bodies(client: &mut Client) -> Vec<String> {
    let mut got = Vec::new();
    while let Ok(m) = client.recv_timeout(QUIET) {
        got.push(m.body_text().into_owned());
    }
    got
}

fn publish_all(client: &mut Client, prefix: &str, keys: &[&str]) {
    for key in keys {
        client
            .send(&format!("{prefix}{key}"), key.to_string())
            .unwrap();
    }
    client
        .send_with_receipt(&format!("{prefix}end"), "end")
        .unwrap();
}

#[rstest]
fn star_matches_one_element_and_greater_than_the_rest(server: Server) {
    let mut one = server.client();
    one.subscribe("/topic/w.*", AckMode::Auto).unwrap();
    let mut rest = server.client();
    rest.subscribe("/topic/w.a.>", AckMode::Auto).unwrap();
    let mut producer = server.client();
    publish_all(&mut producer, "/topic/w.", &["a", "a.b", "a.b.c", "b"]);
    assert_eq!(bodies(&mut one), ["a", "b", "end"]);
    assert_eq!(bodies(&mut rest), ["a", "a.b", "a.b.c"]);
}

#[rstest]
fn a_message_matching_two_subscriptions_of_one_client_comes_once_each(server: Server) {
    let mut client = server.client();
    client.subscribe("/topic/both.*", AckMode::Auto).unwrap();
    client.subscribe("/topic/both.x", AckMode::Auto).unwrap();
    let mut producer = server.client();
    producer.send_with_receipt("/topic/both.x", "x").unwrap();
    let subscriptions: Vec<String> = (0..2)
        .map(|_| {
            let m = client.recv_timeout(QUIET * 10).unwrap();
            m.subscription().unwrap().to_owned()
        })
        .collect();
    assert_eq!(subscriptions.len(), 2);
    assert_ne!(subscriptions[0], subscriptions[1]);
}

#[test]
fn the_rabbitmq_profile_uses_star_and_hash() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let connect = || Client::builder().host("/").connect(broker.addr()).unwrap();
    let mut one = connect();
    one.subscribe("/topic/w.*", AckMode::Auto).unwrap();
    let mut any = connect();
    any.subscribe("/topic/w.#", AckMode::Auto).unwrap();
    let mut activemq_style = connect();
    activemq_style
        .subscribe("/topic/w.>", AckMode::Auto)
        .unwrap();
    let mut producer = connect();
    publish_all(&mut producer, "/topic/w.", &["a", "a.b"]);
    assert_eq!(bodies(&mut one), ["a", "end"]);
    assert_eq!(bodies(&mut any), ["a", "a.b", "end"]);
    assert!(
        bodies(&mut activemq_style).is_empty(),
        "'>' is no wildcard on RabbitMQ"
    );
}

#[test]
fn the_journal_lists_a_wildcard_subscription_under_its_pattern() {
    let broker = Broker::start().unwrap();
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe("/topic/prices.>", AckMode::Auto).unwrap();
    assert_eq!(broker.subscriptions()[0].destination, "/topic/prices.>");
    client.send_with_receipt("/topic/prices.eu", "1").unwrap();
    assert_eq!(client.recv_timeout(QUIET * 10).unwrap().body_text(), "1");
    let deliveries = broker.deliveries().unwrap();
    assert_eq!(deliveries.len(), 1);
}

/// Queue wildcards (ActiveMQ): a SUBSCRIBE to `/queue/qw.>` consumes from
/// every queue the pattern matches, those with messages waiting and those
/// made later.
#[rstest]
fn a_queue_wildcard_consumes_from_every_matching_queue(server: Server) {
    let mut producer = server.client();
    producer.send_with_receipt("/queue/qw.old", "old").unwrap();
    let mut consumer = server.client();
    consumer.subscribe("/queue/qw.>", AckMode::Auto).unwrap();
    producer.send("/queue/qw.new.deep", "new").unwrap();
    producer
        .send_with_receipt("/queue/qwx", "not matched")
        .unwrap();
    let mut got: Vec<(String, String)> = (0..2)
        .map(|_| {
            let m = consumer.recv_timeout(QUIET * 10).unwrap();
            let destination = m.header("destination").unwrap_or_default().to_owned();
            (destination, m.body_text().into_owned())
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        [
            ("/queue/qw.new.deep".to_owned(), "new".to_owned()),
            ("/queue/qw.old".to_owned(), "old".to_owned())
        ]
    );
    assert!(
        consumer.recv_timeout(QUIET).is_err(),
        "/queue/qwx is not qw.>"
    );
}

#[test]
fn a_queue_wildcard_consumer_shares_each_queue_with_its_other_consumers() {
    let broker = Broker::start().unwrap();
    let mut exact = Client::connect(broker.addr()).unwrap();
    exact.subscribe("/queue/rr.a", AckMode::Client).unwrap();
    let mut wildcard = Client::connect(broker.addr()).unwrap();
    let id = wildcard.subscribe("/queue/rr.*", AckMode::Client).unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    for body in ["1", "2", "3", "4"] {
        producer.send("/queue/rr.a", body).unwrap();
    }
    producer.send_with_receipt("/queue/rr.b", "b only").unwrap();
    // Round-robin on rr.a; rr.b has the wildcard consumer alone.
    assert_eq!(bodies(&mut exact), ["1", "3"]);
    assert_eq!(bodies(&mut wildcard), ["2", "4", "b only"]);
    assert!(broker.inspect(|j| j.has_subscriber("/queue/rr.later")));
    // Unsubscribed: what it held goes back, to the consumer still there.
    wildcard.unsubscribe(&id).unwrap();
    assert_eq!(bodies(&mut exact), ["2", "4"]);
    assert_eq!(broker.queue("/queue/rr.b").waiting.len(), 1);
    assert!(!broker.inspect(|j| j.has_subscriber("/queue/rr.later")));
}

#[test]
fn the_rabbitmq_profile_has_no_queue_wildcards() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let connect = || Client::builder().host("/").connect(broker.addr()).unwrap();
    let mut consumer = connect();
    consumer.subscribe("/queue/rw.*", AckMode::Auto).unwrap();
    let mut producer = connect();
    producer.send_with_receipt("/queue/rw.a", "a").unwrap();
    assert!(bodies(&mut consumer).is_empty(), "'*' is part of the name");
    assert_eq!(broker.queue("/queue/rw.a").waiting.len(), 1);
}
