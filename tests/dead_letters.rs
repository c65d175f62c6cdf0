//! Expiry, the redelivery limit, NACK per dialect, and the dead-letter
//! queue, as ActiveMQ 5.17 and RabbitMQ 3.10 were seen to do them.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rstest::rstest;
use stompbox::journal::{MessageStatus, Origin};
use stompbox::{AckMode, Broker, Client};
use support::{PATIENCE, QUIET, SECOND, Server, server};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[rstest]
fn an_expired_message_is_not_delivered(server: Server) {
    let mut producer = server.client();
    let past = (now_ms() - 1_000).to_string();
    let future = (now_ms() + 600_000).to_string();
    producer
        .send_with_headers("/queue/exp", "stale", &[("expires", &past)])
        .unwrap();
    producer
        .send_with_headers("/queue/exp", "fresh", &[("expires", &future)])
        .unwrap();
    producer.send_with_receipt("/queue/exp", "plain").unwrap();
    let mut consumer = server.client();
    consumer.subscribe("/queue/exp", AckMode::Auto).unwrap();
    let got: Vec<String> = std::iter::from_fn(|| consumer.recv_timeout(QUIET * 3).ok())
        .map(|m| m.body_text().into_owned())
        .collect();
    assert_eq!(got, ["fresh", "plain"]);
}

#[test]
fn a_message_that_expires_while_it_waits_goes_to_the_dead_letter_queue() {
    let broker = Broker::start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    let soon = (now_ms() + 50).to_string();
    producer
        .send_with_headers("/queue/slow", "soon stale", &[("expires", &soon)])
        .unwrap();
    producer.send_with_receipt("/queue/slow", "kept").unwrap();
    // Time passing is what is under test: the message must outlive its 50 ms.
    std::thread::sleep(Duration::from_millis(80));
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/slow", AckMode::Auto).unwrap();
    assert_eq!(consumer.recv_timeout(SECOND).unwrap().body_text(), "kept");
    let dead = broker
        .wait_for_messages("/queue/ActiveMQ.DLQ", 1, PATIENCE)
        .unwrap();
    assert_eq!(dead[0].body_text(), "soon stale");
    assert_eq!(dead[0].header("original-destination"), Some("/queue/slow"));
    assert_eq!(dead[0].header("originalExpiration"), Some(soon.as_str()));
    assert!(matches!(dead[0].origin, Origin::DeadLetter { ref reason, .. } if reason == "expired"));
    let original = &broker.published_to("/queue/slow").unwrap()[0];
    assert_eq!(original.status, MessageStatus::Expired);
}

#[test]
fn after_six_redeliveries_a_message_goes_to_the_dead_letter_queue() {
    let broker = Broker::start().unwrap();
    let mut client = Client::connect(broker.addr()).unwrap();
    client
        .subscribe("/queue/poison", AckMode::ClientIndividual)
        .unwrap();
    client.send("/queue/poison", "poison").unwrap();
    for attempt in 0..7 {
        let message = client.recv_timeout(SECOND).unwrap();
        assert_eq!(message.redelivered(), attempt > 0);
        client.nack(&message).unwrap();
    }
    assert!(client.recv_timeout(QUIET).is_err(), "no eighth delivery");
    let dead = broker
        .wait_for_messages("/queue/ActiveMQ.DLQ", 1, PATIENCE)
        .unwrap();
    assert_eq!(dead[0].body_text(), "poison");
    assert!(
        matches!(dead[0].origin, Origin::DeadLetter { ref reason, .. } if reason == "redelivered 6 times")
    );
    let original = &broker.published_to("/queue/poison").unwrap()[0];
    assert_eq!(original.status, MessageStatus::DeadLettered);
}

#[test]
fn consumers_leaving_unacked_count_as_failed_deliveries() {
    let broker = Broker::builder().max_redeliveries(Some(1)).start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer.send_with_receipt("/queue/left", "job").unwrap();
    for _ in 0..2 {
        let mut worker = Client::connect(broker.addr()).unwrap();
        worker.subscribe("/queue/left", AckMode::Client).unwrap();
        worker.recv_timeout(SECOND).unwrap();
        worker.disconnect().unwrap();
    }
    broker
        .wait_for_messages("/queue/ActiveMQ.DLQ", 1, PATIENCE)
        .unwrap();
}

#[test]
fn on_activemq_terms_a_nack_is_a_poison_ack() {
    let broker = Broker::builder().activemq().start().unwrap();
    let mut client = Client::connect(broker.addr()).unwrap();
    client
        .subscribe("/queue/jobs", AckMode::ClientIndividual)
        .unwrap();
    client
        .send_with_headers("/queue/jobs", "kept", &[("persistent", "true")])
        .unwrap();
    client.send("/queue/jobs", "not kept").unwrap();
    for _ in 0..2 {
        let message = client.recv_timeout(SECOND).unwrap();
        client.nack(&message).unwrap();
    }
    assert!(client.recv_timeout(QUIET).is_err(), "no redelivery");
    let dead = broker
        .wait_for_messages("/queue/ActiveMQ.DLQ", 1, PATIENCE)
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body_text(), "kept");
    let statuses: Vec<MessageStatus> = broker
        .published_to("/queue/jobs")
        .unwrap()
        .iter()
        .map(|m| m.status)
        .collect();
    assert_eq!(
        statuses,
        [MessageStatus::DeadLettered, MessageStatus::Rejected]
    );
}

#[test]
fn on_rabbitmq_terms_a_nack_requeues_unless_it_says_requeue_false() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let mut client = Client::builder().host("/").connect(broker.addr()).unwrap();
    client
        .subscribe("/queue/jobs", AckMode::ClientIndividual)
        .unwrap();
    client.send("/queue/jobs", "retried").unwrap();
    let first = client.recv_timeout(SECOND).unwrap();
    client.nack(&first).unwrap();
    let again = client.recv_timeout(SECOND).unwrap();
    assert!(again.redelivered());
    let ack = again.header("ack").unwrap().to_owned();
    client
        .send_frame(
            &stompbox::frame::Frame::new(stompbox::frame::Command::Nack)
                .with_header("id", ack)
                .with_header("requeue", "false")
                .with_header("receipt", "r"),
        )
        .unwrap();
    assert!(client.recv_timeout(QUIET).is_err(), "gone");
    let message = &broker.published_to("/queue/jobs").unwrap()[0];
    assert_eq!(message.status, MessageStatus::Rejected);
}

#[test]
fn the_rabbitmq_profile_reads_expiration_as_time_to_live() {
    let broker = Broker::builder().rabbitmq().start().unwrap();
    let mut client = Client::builder().host("/").connect(broker.addr()).unwrap();
    client
        .send_with_headers("/queue/ttl", "short", &[("expiration", "20")])
        .unwrap();
    client
        .send_with_headers("/queue/ttl", "long", &[("expiration", "600000")])
        .unwrap();
    client.send_with_receipt("/queue/ttl", "end").unwrap();
    // Time passing is what is under test: 20 ms to live must run out.
    std::thread::sleep(Duration::from_millis(50));
    client.subscribe("/queue/ttl", AckMode::Auto).unwrap();
    assert_eq!(client.recv_timeout(SECOND).unwrap().body_text(), "long");
    assert_eq!(client.recv_timeout(SECOND).unwrap().body_text(), "end");
}
