//! Topic wildcards: ActiveMQ's `*` (one element) and `>` (the rest, even
//! none: `w.a.>` matches `w.a`) by
//! default; RabbitMQ's `*` and `#` (zero or more words) in its profile.

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
