//! Slow and stuck clients slow only themselves; nothing is lost.

mod support;

use std::time::Duration;

use stompbox::frame::Command;
use stompbox::{AckMode, Broker, Client, Version};
use support::{Raw, SECOND};

const PATIENCE: Duration = Duration::from_secs(10);

/// A client that subscribes and then never reads its socket.
fn stuck_subscriber(broker: &Broker, destination: &str, ack: &str) -> Raw {
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    raw.send(
        format!("SUBSCRIBE\ndestination:{destination}\nid:1\nack:{ack}\nreceipt:s\n\n\0")
            .as_bytes(),
    );
    assert_eq!(raw.frame().command(), &Command::Receipt);
    raw
}

#[test]
fn a_client_that_stops_reading_a_topic_is_disconnected_and_others_carry_on() {
    let broker = Broker::builder()
        .max_outbound_backlog(1024 * 1024)
        .start()
        .unwrap();
    let mut stuck = stuck_subscriber(&broker, "/topic/firehose", "auto");
    let mut healthy = Client::connect(broker.addr()).unwrap();
    healthy.subscribe("/topic/firehose", AckMode::Auto).unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    let body = vec![b'x'; 16 * 1024];
    // Far more than the stuck client's socket buffers and backlog bound; the
    // healthy subscriber keeps up, batch by batch (8 x 16 KiB behind at most).
    let count = 2000;
    for _ in 0..count / 8 {
        for _ in 0..8 {
            producer.send("/topic/firehose", body.clone()).unwrap();
        }
        for _ in 0..8 {
            assert_eq!(
                healthy.recv_timeout(PATIENCE).unwrap().body().len(),
                body.len()
            );
        }
    }
    producer
        .send_with_receipt("/topic/firehose", "last")
        .unwrap();
    assert_eq!(healthy.recv_timeout(PATIENCE).unwrap().body(), b"last");
    // The stuck client's socket was shut: reading now drains what was
    // buffered, then end of stream.
    stuck.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut sink = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stuck.stream, &mut sink);
    assert!(
        sink.len() < count * body.len(),
        "the broker gave up before sending everything"
    );
}

#[test]
fn a_queue_consumer_that_stops_reading_loses_no_messages() {
    let broker = Broker::builder()
        .max_outbound_backlog(128 * 1024)
        .start()
        .unwrap();
    let stuck = stuck_subscriber(&broker, "/queue/work", "client-individual");
    let mut producer = Client::connect(broker.addr()).unwrap();
    // 24 MiB: more than loopback socket buffers can hold for the stuck client.
    let total = 3000;
    for i in 0..total {
        producer
            .send("/queue/work", format!("{i:05}{}", "y".repeat(8 * 1024)))
            .unwrap();
    }
    producer
        .send_with_receipt("/queue/work-done", "sent")
        .unwrap();
    // The stuck consumer holds some; a second consumer gets the rest now.
    let mut worker = Client::connect(broker.addr()).unwrap();
    worker
        .subscribe("/queue/work", AckMode::ClientIndividual)
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut first_batch = 0;
    while let Ok(m) = worker.recv_timeout(Duration::from_millis(300)) {
        worker.ack(&m).unwrap();
        seen.insert(m.body()[..5].to_vec());
        first_batch += 1;
    }
    assert!(
        first_batch > 0 && first_batch < total,
        "the queue was shared: {first_batch}"
    );
    // The stuck consumer goes away: what it held comes back, redelivered.
    drop(stuck);
    while seen.len() < total {
        let m = worker.recv_timeout(PATIENCE).unwrap();
        worker.ack(&m).unwrap();
        assert!(
            seen.insert(m.body()[..5].to_vec()) || m.redelivered(),
            "duplicate without redelivered flag"
        );
    }
    assert_eq!(seen.len(), total);
}

#[test]
fn an_auto_ack_queue_consumer_that_stops_reading_is_throttled_not_flooded() {
    let broker = Broker::start().unwrap();
    let stuck = stuck_subscriber(&broker, "/queue/auto", "auto");
    let mut producer = Client::connect(broker.addr()).unwrap();
    let total = 3000;
    let body = vec![b'z'; 4096];
    for _ in 0..total {
        producer.send("/queue/auto", body.clone()).unwrap();
    }
    producer.send_with_receipt("/queue/other", "sync").unwrap();
    drop(stuck);
    // Whatever was not written to the stuck socket is still on the queue.
    let mut worker = Client::connect(broker.addr()).unwrap();
    worker.subscribe("/queue/auto", AckMode::Auto).unwrap();
    let mut received = 0;
    while worker.recv_timeout(SECOND).is_ok() {
        received += 1;
    }
    assert!(
        received > total / 2,
        "most messages were kept for the next consumer: {received}"
    );
}
