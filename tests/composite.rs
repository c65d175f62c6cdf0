//! ActiveMQ's composite destinations (the default and activemq profiles): a
//! SEND to `/queue/a,/queue/b` goes to each part, as ActiveMQ sends it:
//! each MESSAGE's `destination` is its part's, `original-destination` the
//! composite (ActiveMQ writes the later parts as `queue://b`). A SUBSCRIBE
//! to one consumes from each part of its first part's kind, as ActiveMQ
//! does. The tests that take a `server` also run against real ActiveMQ and
//! RabbitMQ (see docs/conformance.md).

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
fn an_empty_part_is_an_error_that_says_so_on_send_and_subscribe() {
    let broker = Broker::start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    let empty = producer.send_with_receipt("/queue/a,", "x").unwrap_err();
    assert!(empty.to_string().contains("has an empty part"), "{empty}");
    let mut consumer = Client::connect(broker.addr()).unwrap();
    let refused = consumer.subscribe(",/queue/b", AckMode::Auto).unwrap_err();
    assert!(
        refused.to_string().contains("has an empty part"),
        "{refused}"
    );
    assert!(broker.subscriptions().is_empty());
}

/// The (destination, body) of the next `count` messages, sorted: a
/// composite consumer's queues are not ordered against each other.
fn received(client: &mut Client, count: usize) -> Vec<(String, String)> {
    let mut got: Vec<(String, String)> = (0..count)
        .map(|_| {
            let message = client.recv_timeout(SECOND).unwrap();
            let destination = message.header("destination").unwrap_or_default();
            (destination.to_owned(), message.body_text().into_owned())
        })
        .collect();
    got.sort();
    got
}

#[rstest]
fn a_subscription_to_a_composite_destination_consumes_from_each_queue(server: Server) {
    let mut consumer = server.client();
    consumer
        .subscribe_with(
            "/queue/cmp-sa,/queue/cmp-sb",
            "both",
            AckMode::ClientIndividual,
            &[],
        )
        .unwrap();
    let mut producer = server.client();
    producer.send("/queue/cmp-sa", "to a").unwrap();
    producer.send_with_receipt("/queue/cmp-sb", "to b").unwrap();
    let mut messages: Vec<_> = (0..2)
        .map(|_| consumer.recv_timeout(SECOND).unwrap())
        .collect();
    messages.sort_by_key(|m| m.header("destination").map(str::to_owned));
    let seen: Vec<(&str, String)> = messages
        .iter()
        .map(|m| (m.header("destination").unwrap(), m.body_text().into_owned()))
        .collect();
    assert_eq!(
        seen,
        [
            ("/queue/cmp-sa", "to a".to_owned()),
            ("/queue/cmp-sb", "to b".to_owned())
        ]
    );
    assert!(messages.iter().all(|m| m.subscription() == Some("both")));
    // The one left unacknowledged goes back to its own queue.
    consumer.ack(&messages[0]).unwrap();
    consumer.unsubscribe("both").unwrap();
    let mut second = server.client();
    second.subscribe("/queue/cmp-sb", AckMode::Auto).unwrap();
    assert_eq!(second.recv_timeout(SECOND).unwrap().body_text(), "to b");
    let mut first = server.client();
    first.subscribe("/queue/cmp-sa", AckMode::Auto).unwrap();
    assert!(first.recv_timeout(QUIET).is_err(), "acknowledged, gone");
}

#[rstest]
fn a_composite_subscription_consumes_only_from_its_first_parts_kind(server: Server) {
    let mut consumer = server.client();
    consumer
        .subscribe("/queue/cmp-kq,/topic/cmp-kt", AckMode::Auto)
        .unwrap();
    let mut producer = server.client();
    producer.send("/topic/cmp-kt", "to the topic").unwrap();
    producer
        .send_with_receipt("/queue/cmp-kq", "to the queue")
        .unwrap();
    assert_eq!(
        received(&mut consumer, 1),
        [("/queue/cmp-kq".to_owned(), "to the queue".to_owned())]
    );
    assert!(consumer.recv_timeout(QUIET).is_err(), "not the topic's");
}

#[test]
fn the_journal_shows_a_composite_subscription_and_warns_of_the_parts_it_ignores() {
    let broker = Broker::start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer.send_with_receipt("/queue/j2", "two").unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer
        .subscribe_with("/queue/j1,/topic/jt,j2", "mine", AckMode::Client, &[])
        .unwrap();
    let subscriptions = broker.subscriptions();
    assert_eq!(subscriptions.len(), 1);
    assert_eq!(subscriptions[0].destination, "/queue/j1,/topic/jt,j2");
    let warnings = broker.protocol_warnings();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].warning.contains("queue parts only")
            && warnings[0].warning.contains("/topic/jt"),
        "{warnings:?}"
    );
    // The one waiting, and one sent after.
    producer.send_with_receipt("/queue/j1", "one").unwrap();
    assert_eq!(
        received(&mut consumer, 2),
        [
            ("/queue/j1".to_owned(), "one".to_owned()),
            ("/queue/j2".to_owned(), "two".to_owned())
        ]
    );
    broker
        .wait_until(|j| j.subscriptions().iter().any(|s| s.unacked == 2), SECOND)
        .unwrap();
    // Each unacknowledged message is shown on its own queue.
    for (queue, body) in [("/queue/j1", "one"), ("/queue/j2", "two")] {
        let unacked = broker.queue(queue).unacked;
        assert_eq!(unacked.len(), 1, "{queue}");
        assert_eq!(unacked[0].body, body.as_bytes());
        assert_eq!(
            unacked[0].held_by,
            Some((subscriptions[0].connection, "mine".into()))
        );
    }
    // Gone with their consumer: each back on its own queue.
    consumer.disconnect().unwrap();
    broker
        .wait_until(|j| j.subscriptions().is_empty(), SECOND)
        .unwrap();
    for queue in ["/queue/j1", "/queue/j2"] {
        let snapshot = broker.queue(queue);
        assert_eq!(snapshot.waiting.len(), 1, "{queue}");
        assert!(snapshot.waiting[0].redelivered);
    }
}

#[test]
fn a_part_named_twice_is_consumed_once_and_a_refused_subscribe_warns_of_nothing() {
    let broker = Broker::start().unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer
        .subscribe_with("/queue/t1,/queue/t1,/topic/tt", "s", AckMode::Auto, &[])
        .unwrap();
    let mut other = Client::connect(broker.addr()).unwrap();
    other.subscribe("/queue/t1", AckMode::Auto).unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    for body in ["1", "2", "3", "4"] {
        producer.send_with_receipt("/queue/t1", body).unwrap();
    }
    // One place in the round-robin, not two.
    let bodies = |client: &mut Client| -> Vec<String> {
        std::iter::from_fn(|| client.recv_timeout(QUIET).ok())
            .map(|m| m.body_text().into_owned())
            .collect()
    };
    assert_eq!(bodies(&mut consumer), ["1", "3"]);
    assert_eq!(bodies(&mut other), ["2", "4"]);
    assert_eq!(broker.protocol_warnings().len(), 1);
    // The same id again: refused, and no second warning.
    let refused = consumer
        .subscribe_with("/queue/t2,/topic/tt", "s", AckMode::Auto, &[])
        .unwrap_err();
    assert!(matches!(refused, Error::Refused(_)), "{refused}");
    assert_eq!(broker.protocol_warnings().len(), 1);
}

#[test]
fn a_nack_from_a_composite_subscription_redelivers_from_the_messages_queue() {
    let broker = Broker::start().unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer
        .subscribe("/queue/n1,/queue/n2", AckMode::ClientIndividual)
        .unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer.send_with_receipt("/queue/n2", "again").unwrap();
    let first = consumer.recv_timeout(SECOND).unwrap();
    consumer.nack(&first).unwrap();
    let again = consumer.recv_timeout(SECOND).unwrap();
    assert_eq!(again.body_text(), "again");
    assert_eq!(again.header("destination"), Some("/queue/n2"));
    assert_eq!(again.header("redelivered"), Some("true"));
    consumer.ack(&again).unwrap();
    consumer.send_with_receipt("/queue/n1", "sync").unwrap();
    assert_eq!(consumer.recv_timeout(SECOND).unwrap().body_text(), "sync");
    assert!(broker.queue("/queue/n2").waiting.is_empty());
    assert!(broker.queue("/queue/n1").waiting.is_empty());
}

#[test]
fn a_durable_subscription_to_a_composite_destination_is_refused() {
    let broker = Broker::start().unwrap();
    let mut consumer = Client::builder()
        .header("client-id", "c1")
        .connect(broker.addr())
        .unwrap();
    let refused = consumer
        .subscribe_with(
            "/topic/d1,/topic/d2",
            "d",
            AckMode::Auto,
            &[("activemq.subscriptionName", "both")],
        )
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("a durable subscription to a composite destination is not supported"),
        "{refused}"
    );
    assert!(broker.durable_subscriptions().is_empty());
}

#[test]
fn the_rabbitmq_profile_has_no_composite_destinations() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let mut client = Client::builder().host("/").connect(broker.addr()).unwrap();
    client.subscribe("/queue/x", AckMode::Auto).unwrap();
    // A '/' in a queue's name is refused, as RabbitMQ 3.10 refuses it.
    let Err(Error::Refused(frame)) = client.send_with_receipt("/queue/x,/queue/y", "x") else {
        panic!("RabbitMQ refuses the name");
    };
    assert_eq!(frame.header("message"), Some("Invalid destination"));
    assert_eq!(
        frame.body_text(),
        "'/x,/queue/y' is not a valid queue destination\n"
    );
    assert!(broker.queue("/queue/x").waiting.is_empty());
    // A comma alone is part of the name.
    let mut other = Client::builder().host("/").connect(broker.addr()).unwrap();
    other.send_with_receipt("/queue/x,y", "literal").unwrap();
    assert_eq!(broker.queue("/queue/x,y").waiting.len(), 1);
    assert!(
        client.recv_timeout(QUIET).is_err(),
        "not split into /queue/x"
    );
}
