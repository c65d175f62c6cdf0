//! ActiveMQ's composite destinations (the default and activemq profiles): a
//! SEND to `/queue/a,/queue/b` goes to each part, as ActiveMQ sends it:
//! each MESSAGE's `destination` is its part's, `original-destination` the
//! composite (ActiveMQ writes the later parts as `queue://b`). The tests that take a `server` also run against real ActiveMQ
//! and RabbitMQ (see docs/conformance.md).

mod support;

use rstest::rstest;
use stompbox::{AckMode, Broker, Client, Error};
use support::{QUIET, SECOND, Server, server};

#[rstest]
fn a_send_to_a_composite_destination_reaches_each_queue(server: Server) {
    let mut first = server.client();
    first.subscribe("/queue/cmp-a", AckMode::Auto).unwrap();
    let mut second = server.client();
    second.subscribe("/queue/cmp-b", AckMode::Auto).unwrap();
    let mut producer = server.client();
    producer
        .send_with_receipt("/queue/cmp-a,/queue/cmp-b", "to both")
        .unwrap();
    for (client, part) in [(&mut first, "/queue/cmp-a"), (&mut second, "/queue/cmp-b")] {
        let message = client.recv_timeout(SECOND).unwrap();
        assert_eq!(message.body_text(), "to both");
        assert_eq!(message.header("destination"), Some(part));
        // As ActiveMQ writes it: the later parts in its own notation.
        assert_eq!(
            message.header("original-destination"),
            Some("/queue/cmp-a,queue://cmp-b")
        );
        assert!(client.recv_timeout(QUIET).is_err(), "once each");
    }
}

#[rstest]
fn a_composite_destination_mixes_queues_and_topics(server: Server) {
    let mut queue = server.client();
    queue.subscribe("/queue/cmp-q", AckMode::Auto).unwrap();
    let mut topic = server.client();
    topic.subscribe("/topic/cmp-t", AckMode::Auto).unwrap();
    let mut producer = server.client();
    producer
        .send_with_receipt("/queue/cmp-q,/topic/cmp-t", "both kinds")
        .unwrap();
    assert_eq!(
        queue.recv_timeout(SECOND).unwrap().body_text(),
        "both kinds"
    );
    let from_topic = topic.recv_timeout(SECOND).unwrap();
    assert_eq!(from_topic.header("destination"), Some("/topic/cmp-t"));
}

#[test]
fn the_journal_has_a_message_per_part_and_the_transcript_the_send_once() {
    let broker = Broker::start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer
        .send_with_receipt("/topic/c,b,/queue/a", "fan out")
        .unwrap();
    let published = broker.published().unwrap();
    let destinations: Vec<&str> = published.iter().map(|m| m.destination.as_str()).collect();
    // A part without a prefix is a queue, as in ActiveMQ.
    assert_eq!(destinations, ["/topic/c", "/queue/b", "/queue/a"]);
    assert!(
        published
            .iter()
            .all(|m| m.header("original-destination") == Some("/topic/c,queue://b,queue://a"))
    );
    assert_eq!(broker.queue("/queue/b").waiting.len(), 1);
    let sends = broker
        .commands(broker.connections()[0].id)
        .unwrap()
        .iter()
        .filter(|c| c.starts_with("<- SEND"))
        .count();
    assert_eq!(sends, 1);
}

#[test]
fn a_part_refused_sends_none_of_them() {
    let broker = Broker::builder()
        .user("app", "pw")
        .grant("app", "/queue/open", stompbox::auth::Access::PUB)
        .start()
        .unwrap();
    let mut producer = Client::builder()
        .login("app", "pw")
        .connect(broker.addr())
        .unwrap();
    let refused = producer
        .send_with_receipt("/queue/open,/queue/closed", "x")
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Refused(e) if e.header("message").is_some_and(|m| m.contains("/queue/closed"))),
        "{refused}"
    );
    assert_eq!(broker.published().unwrap().len(), 0);
    assert!(broker.queue("/queue/open").waiting.is_empty());
}

#[test]
fn a_composite_send_in_a_transaction_waits_for_the_commit() {
    let broker = Broker::start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer.begin("tx").unwrap();
    producer
        .send_in("tx", "/queue/t1,/queue/t2", "later")
        .unwrap();
    producer.send_with_receipt("/queue/other", "now").unwrap();
    assert_eq!(broker.uncommitted().unwrap().len(), 2);
    producer.commit("tx").unwrap();
    producer.send_with_receipt("/queue/other", "after").unwrap();
    assert_eq!(broker.queue("/queue/t1").waiting.len(), 1);
    assert_eq!(broker.queue("/queue/t2").waiting.len(), 1);
}

#[test]
fn an_empty_part_or_a_composite_subscription_is_an_error_that_says_so() {
    let broker = Broker::start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    let empty = producer.send_with_receipt("/queue/a,", "x").unwrap_err();
    assert!(empty.to_string().contains("has an empty part"), "{empty}");
    let mut consumer = Client::connect(broker.addr()).unwrap();
    let refused = consumer
        .subscribe_with(
            "/queue/a,/queue/b",
            "both",
            AckMode::Auto,
            &[("receipt", "r")],
        )
        .and_then(|_| consumer.recv_timeout(SECOND).map(|_| ()))
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("composite subscriptions are not supported"),
        "{refused}"
    );
}

#[test]
fn the_rabbitmq_profile_has_no_composite_destinations() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let mut client = Client::builder().host("/").connect(broker.addr()).unwrap();
    client.subscribe("/queue/x", AckMode::Auto).unwrap();
    let _ = client.send_with_receipt("/queue/x,/queue/y", "literal");
    assert!(
        broker.queue("/queue/x").waiting.is_empty() && client.recv_timeout(QUIET).is_err(),
        "not split into /queue/x"
    );
}
