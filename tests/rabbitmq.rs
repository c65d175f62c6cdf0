//! RabbitMQ's destinations in its profile: `/topic/KEY` is a key on
//! `amq.topic`, `/exchange/NAME[/KEY]` (routed by the exchange's type:
//! topic, direct or fanout), `/amq/queue/NAME` (which must exist), as
//! RabbitMQ 3.10 was seen to route them.

use std::time::Duration;

use stompbox::{AckMode, Broker, Client, Error};

const QUIET: Duration = Duration::from_millis(100);

fn rabbit() -> (Broker, impl Fn() -> Client) {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let addr = broker.addr();
    (broker, move || {
        Client::builder().host("/").connect(addr).unwrap()
    })
}

#[test]
fn a_topic_key_reaches_amq_topic_subscribers_and_the_other_way() {
    let (_broker, connect) = rabbit();
    let mut via_exchange = connect();
    via_exchange
        .subscribe("/exchange/amq.topic/prices.*", AckMode::Auto)
        .unwrap();
    let mut via_topic = connect();
    via_topic
        .subscribe("/topic/prices.eu", AckMode::Auto)
        .unwrap();
    let mut producer = connect();
    producer.send("/topic/prices.eu", "from /topic/").unwrap();
    producer
        .send_with_receipt("/exchange/amq.topic/prices.eu", "from the exchange")
        .unwrap();
    for subscriber in [&mut via_exchange, &mut via_topic] {
        let first = subscriber.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(first.body_text(), "from /topic/");
        assert_eq!(first.header("destination"), Some("/topic/prices.eu"));
        let second = subscriber.recv_timeout(Duration::from_secs(1)).unwrap();
        assert_eq!(second.body_text(), "from the exchange");
    }
}

#[test]
fn a_fanout_exchange_ignores_the_key() {
    let (_broker, connect) = rabbit();
    let mut subscriber = connect();
    subscriber
        .subscribe("/exchange/amq.fanout", AckMode::Auto)
        .unwrap();
    let mut producer = connect();
    producer
        .send_with_receipt("/exchange/amq.fanout/any.key", "fanned")
        .unwrap();
    assert_eq!(
        subscriber
            .recv_timeout(Duration::from_secs(1))
            .unwrap()
            .body_text(),
        "fanned"
    );
}

#[test]
fn a_direct_exchange_matches_the_key_itself_with_no_wildcards() {
    let (_broker, connect) = rabbit();
    let mut exact = connect();
    exact
        .subscribe("/exchange/amq.direct/jobs.resize", AckMode::Auto)
        .unwrap();
    let mut starred = connect();
    starred
        .subscribe("/exchange/amq.direct/jobs.*", AckMode::Auto)
        .unwrap();
    let mut producer = connect();
    producer
        .send_with_receipt("/exchange/amq.direct/jobs.resize", "resize")
        .unwrap();
    producer
        .send_with_receipt("/exchange/amq.direct/jobs.*", "the key jobs.*")
        .unwrap();
    assert_eq!(
        exact
            .recv_timeout(Duration::from_secs(1))
            .unwrap()
            .body_text(),
        "resize"
    );
    assert!(exact.recv_timeout(QUIET).is_err());
    assert_eq!(
        starred
            .recv_timeout(Duration::from_secs(1))
            .unwrap()
            .body_text(),
        "the key jobs.*",
        "'*' is a character of the key"
    );
    assert!(starred.recv_timeout(QUIET).is_err());
}

#[test]
fn declared_exchanges_route_by_their_type() {
    let broker = Broker::builder()
        .rabbitmq()
        .exchange("orders")
        .direct_exchange("jobs")
        .fanout_exchange("events")
        .start()
        .unwrap();
    let connect = || Client::builder().host("/").connect(broker.addr()).unwrap();
    let mut subscriber = connect();
    for destination in [
        "/exchange/orders/eu.*",
        "/exchange/jobs/*",
        "/exchange/jobs/resize",
        "/exchange/events/ignored",
    ] {
        subscriber
            .subscribe_with(destination, destination, AckMode::Auto, &[])
            .unwrap();
    }
    let mut producer = connect();
    for destination in [
        "/exchange/orders/eu.paris",
        "/exchange/jobs/resize",
        "/exchange/events/user.created",
    ] {
        producer.send(destination, destination).unwrap();
    }
    producer
        .send_with_receipt("/exchange/orders/us.nyc", "not eu")
        .unwrap();
    let mut got: Vec<(String, String)> = std::iter::from_fn(|| subscriber.recv_timeout(QUIET).ok())
        .map(|m| {
            let subscription = m.subscription().unwrap_or_default().to_owned();
            (subscription, m.body_text().into_owned())
        })
        .collect();
    got.sort();
    let expected = [
        ("/exchange/events/ignored", "/exchange/events/user.created"),
        ("/exchange/jobs/resize", "/exchange/jobs/resize"),
        ("/exchange/orders/eu.*", "/exchange/orders/eu.paris"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(s, b)| (s.to_string(), b.to_string()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn an_unknown_exchange_is_an_error_as_rabbitmq_words_it() {
    let (_broker, connect) = rabbit();
    let Err(Error::Refused(frame)) = connect().subscribe("/exchange/nope/k", AckMode::Auto) else {
        panic!("expected an ERROR")
    };
    assert_eq!(frame.header("message"), Some("not_found"));
    assert_eq!(
        frame.body_text(),
        "NOT_FOUND - no exchange 'nope' in vhost '/'"
    );
}

#[test]
fn amq_queue_names_a_queue_that_must_exist() {
    let (_broker, connect) = rabbit();
    let Err(Error::Refused(frame)) = connect().subscribe("/amq/queue/jobs", AckMode::Auto) else {
        panic!("expected an ERROR")
    };
    assert_eq!(frame.header("message"), Some("not_found"));
    assert_eq!(
        frame.body_text(),
        "NOT_FOUND - no queue 'jobs' in vhost '/'"
    );
    let mut producer = connect();
    producer
        .send_with_receipt("/queue/jobs", "declared by SEND")
        .unwrap();
    let mut consumer = connect();
    consumer
        .subscribe("/amq/queue/jobs", AckMode::Auto)
        .unwrap();
    assert_eq!(
        consumer
            .recv_timeout(Duration::from_secs(1))
            .unwrap()
            .body_text(),
        "declared by SEND"
    );
    assert!(consumer.recv_timeout(QUIET).is_err());
}
