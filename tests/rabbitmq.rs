//! RabbitMQ's destinations in its profile: `/topic/KEY` is a key on
//! `amq.topic`, `/exchange/NAME[/KEY]`, `/amq/queue/NAME` (which must
//! exist), as RabbitMQ 3.10 was seen to route them.

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
