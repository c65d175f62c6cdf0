//! Durable topic subscriptions: ActiveMQ's `activemq.subscriptionName` with
//! a CONNECT `client-id`; RabbitMQ's `durable:true` + `auto-delete:false` +
//! `id` in its profile. Messages published while the subscriber is away
//! wait for it; UNSUBSCRIBE with the broker's own header removes it.

mod support;

use rstest::rstest;
use stompbox::{AckMode, Broker, Client};
use support::{QUIET, SECOND, Server, server};

const DURABLE: (&str, &str) = ("activemq.subscriptionName", "nightly");

fn as_client(server: &Server, id: &str) -> Client {
    Client::builder()
        .header("client-id", id)
        .connect(server.addr())
        .unwrap()
}

#[rstest]
fn messages_published_while_away_wait_for_a_durable_subscriber(server: Server) {
    let id = format!("reports-{}", std::process::id());
    let mut subscriber = as_client(&server, &id);
    subscriber
        .subscribe_with("/topic/dur", "s", AckMode::Auto, &[DURABLE])
        .unwrap();
    subscriber.disconnect().unwrap();
    let mut producer = server.client();
    producer
        .send_with_receipt("/topic/dur", "while away")
        .unwrap();
    let mut back = as_client(&server, &id);
    back.subscribe_with("/topic/dur", "s", AckMode::Auto, &[DURABLE])
        .unwrap();
    assert_eq!(back.recv_timeout(SECOND).unwrap().body_text(), "while away");
    // Removing it while it is consumed: an ERROR that keeps the connection,
    // as ActiveMQ answers.
    let removal = || {
        stompbox::frame::Frame::new(stompbox::frame::Command::Unsubscribe)
            .with_header("id", "s")
            .with_header(DURABLE.0, DURABLE.1)
    };
    let refused = back.request(removal()).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "broker sent ERROR: Durable consumer is in use"
    );
    back.send_with_receipt("/queue/dur-still-open", "x")
        .unwrap();
    back.disconnect().unwrap();
    // Removing it while nobody consumes it: gone, nothing waits any more.
    let mut remover = as_client(&server, &id);
    remover.request(removal()).unwrap();
    remover.disconnect().unwrap();
    producer
        .send_with_receipt("/topic/dur", "after removal")
        .unwrap();
    let mut again = as_client(&server, &id);
    again
        .subscribe_with("/topic/dur", "s", AckMode::Auto, &[DURABLE])
        .unwrap();
    assert!(
        again.recv_timeout(QUIET).is_err(),
        "a new durable starts empty"
    );
    again.disconnect().unwrap();
    as_client(&server, &id).request(removal()).unwrap();
}

#[test]
fn the_journal_shows_durable_subscriptions_and_what_waits() {
    let broker = Broker::start().unwrap();
    let connect = || {
        Client::builder()
            .header("client-id", "c1")
            .connect(broker.addr())
            .unwrap()
    };
    let mut subscriber = connect();
    subscriber
        .subscribe_with(
            "/topic/t",
            "s",
            AckMode::Client,
            &[DURABLE, ("selector", "k = 'v'")],
        )
        .unwrap();
    assert_eq!(broker.subscriptions()[0].destination, "/topic/t");
    assert_eq!(
        broker.subscriptions()[0].durable.as_deref(),
        Some("durable:c1:nightly")
    );
    subscriber.disconnect().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer
        .send_with_headers("/topic/t", "selected", &[("k", "v")])
        .unwrap();
    producer
        .send_with_headers("/topic/t", "not selected", &[("k", "w")])
        .unwrap();
    producer.send_with_receipt("/topic/t", "end").unwrap();
    let durables = broker.durable_subscriptions();
    assert_eq!(durables.len(), 1);
    assert_eq!(durables[0].name, "durable:c1:nightly");
    assert_eq!(durables[0].selector.as_deref(), Some("k = 'v'"));
    assert_eq!((durables[0].waiting, durables[0].active), (1, None));
}

#[test]
fn a_durable_subscription_needs_a_client_id() {
    let broker = Broker::start().unwrap();
    let mut client = Client::connect(broker.addr()).unwrap();
    let refused = client
        .subscribe_with("/topic/t", "s", AckMode::Auto, &[DURABLE])
        .unwrap_err();
    assert_eq!(
        refused.to_string(),
        "broker sent ERROR: a durable subscription needs a client-id"
    );
}

#[test]
fn on_rabbitmq_terms_durable_true_and_auto_delete_false_keep_it() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let connect = || Client::builder().host("/").connect(broker.addr()).unwrap();
    let headers = [("durable", "true"), ("auto-delete", "false")];
    let mut subscriber = connect();
    subscriber
        .subscribe_with("/topic/t", "my-sub", AckMode::Auto, &headers)
        .unwrap();
    subscriber.disconnect().unwrap();
    connect().send_with_receipt("/topic/t", "kept").unwrap();
    let mut back = connect();
    back.subscribe_with("/topic/t", "my-sub", AckMode::Auto, &headers)
        .unwrap();
    assert_eq!(back.recv_timeout(SECOND).unwrap().body_text(), "kept");
    assert_eq!(broker.durable_subscriptions()[0].name, "durable:my-sub");
}

#[test]
fn an_exclusive_consumer_takes_every_message_while_it_is_there() {
    let broker = Broker::start().unwrap();
    let mut plain = Client::connect(broker.addr()).unwrap();
    plain.subscribe("/queue/x", AckMode::Auto).unwrap();
    let mut exclusive = Client::connect(broker.addr()).unwrap();
    exclusive
        .subscribe_with(
            "/queue/x",
            "e",
            AckMode::Auto,
            &[("activemq.exclusive", "true")],
        )
        .unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    for i in 0..4 {
        producer.send("/queue/x", format!("m{i}")).unwrap();
    }
    producer.send_with_receipt("/queue/x", "m4").unwrap();
    for i in 0..5 {
        assert_eq!(
            exclusive.recv_timeout(SECOND).unwrap().body_text(),
            format!("m{i}")
        );
    }
    assert!(
        plain.recv_timeout(QUIET).is_err(),
        "the other consumer gets none"
    );
    exclusive.disconnect().unwrap();
    producer.send_with_receipt("/queue/x", "after").unwrap();
    assert_eq!(plain.recv_timeout(SECOND).unwrap().body_text(), "after");
}
