//! Load: 1,000 concurrent connections, each subscribed and receiving, while
//! producers send to a queue and a topic. Bounded counts; loopback only; it
//! stops by itself. Checks the semantics exactly: every queue message acked
//! exactly once overall; every topic subscriber got every message once, in
//! order per producer. Prints connections held, rates and memory.
//!
//! `cargo test --release --test load -- --nocapture` for the figures.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use stompbox::journal::{AckKind, JournalLimits};
use stompbox::{AckMode, Broker, Client};

const CONNECTIONS: usize = 1000;
const QUEUE_PRODUCERS: usize = 2;
const QUEUE_MESSAGES: usize = 5_000; // per producer
const TOPIC_PRODUCERS: usize = 2;
const TOPIC_MESSAGES: usize = 50; // per producer, to each of 500 subscribers
const PATIENCE: Duration = Duration::from_secs(120);

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// Each consumer returns the bodies it received, in order.
fn consumer(
    broker: std::net::SocketAddr,
    queue: bool,
    ready: Arc<Barrier>,
    done: Arc<AtomicBool>,
) -> Vec<String> {
    let mut client = Client::builder()
        .timeout(PATIENCE)
        .connect(broker)
        .expect("connect");
    if queue {
        client
            .subscribe_with(
                "/queue/load",
                "q",
                AckMode::ClientIndividual,
                &[("prefetch-count", "10")],
            )
            .unwrap();
    } else {
        client.subscribe("/topic/load", AckMode::Auto).unwrap();
    }
    ready.wait();
    let mut got = Vec::new();
    loop {
        match client.recv_timeout(Duration::from_millis(50)) {
            Ok(message) => {
                if queue {
                    client.ack(&message).unwrap();
                }
                got.push(message.body_text().into_owned());
            }
            Err(stompbox::Error::Timeout { .. }) if done.load(Ordering::Acquire) => break,
            Err(stompbox::Error::Timeout { .. }) => {}
            Err(e) => panic!("consumer failed: {e}"),
        }
    }
    got
}

fn producer(broker: std::net::SocketAddr, destination: &'static str, id: usize, count: usize) {
    let mut client = Client::connect(broker).expect("connect");
    for i in 0..count {
        client.send(destination, format!("p{id}-{i}")).unwrap();
    }
    client.disconnect().unwrap(); // its receipt: everything before it was applied
}

#[test]
fn a_thousand_connections_exchange_messages_exactly_as_the_semantics_say() {
    let broker = Broker::builder()
        .journal_limits(JournalLimits {
            messages: 1_000_000,
            ..JournalLimits::default()
        })
        .start()
        .unwrap();
    let addr = broker.addr();
    let rss_before = rss_kib();
    let ready = Arc::new(Barrier::new(CONNECTIONS + 1));
    let done = Arc::new(AtomicBool::new(false));
    let consumers: Vec<_> = (0..CONNECTIONS)
        .map(|n| {
            let (ready, done) = (ready.clone(), done.clone());
            thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || (n % 2 == 0, consumer(addr, n % 2 == 0, ready, done)))
                .unwrap()
        })
        .collect();
    ready.wait();
    let held = broker
        .wait_for_connections(CONNECTIONS, PATIENCE)
        .unwrap()
        .len();
    let rss_connected = rss_kib();

    let started = Instant::now();
    let mut producers = Vec::new();
    for id in 0..QUEUE_PRODUCERS {
        producers.push(thread::spawn(move || {
            producer(addr, "/queue/load", id, QUEUE_MESSAGES)
        }));
    }
    for id in 0..TOPIC_PRODUCERS {
        producers.push(thread::spawn(move || {
            producer(addr, "/topic/load", id, TOPIC_MESSAGES)
        }));
    }
    for p in producers {
        p.join().unwrap();
    }
    let queue_total = QUEUE_PRODUCERS * QUEUE_MESSAGES;
    let topic_subscribers = CONNECTIONS / 2;
    let topic_total = TOPIC_PRODUCERS * TOPIC_MESSAGES * topic_subscribers;
    broker
        .wait_until(
            |j| {
                j.count_acks(AckKind::Ack) == queue_total
                    && j.deliveries().count() == queue_total + topic_total
            },
            PATIENCE,
        )
        .unwrap();
    let elapsed = started.elapsed();
    let rss_peak = rss_kib();
    done.store(true, Ordering::Release);

    let mut queue_bodies: HashMap<String, usize> = HashMap::new();
    for handle in consumers {
        let (is_queue, got) = handle.join().unwrap();
        if is_queue {
            for body in got {
                *queue_bodies.entry(body).or_default() += 1;
            }
        } else {
            // Every message of every topic producer, once, in its order.
            for id in 0..TOPIC_PRODUCERS {
                let prefix = format!("p{id}-");
                let from: Vec<&String> = got.iter().filter(|b| b.starts_with(&prefix)).collect();
                let expected: Vec<String> =
                    (0..TOPIC_MESSAGES).map(|i| format!("p{id}-{i}")).collect();
                assert_eq!(
                    from,
                    expected.iter().collect::<Vec<_>>(),
                    "topic order for producer {id}"
                );
            }
            assert_eq!(got.len(), TOPIC_PRODUCERS * TOPIC_MESSAGES);
        }
    }
    assert_eq!(
        queue_bodies.len(),
        queue_total,
        "every queue message delivered"
    );
    assert!(
        queue_bodies.values().all(|&n| n == 1),
        "and each exactly once"
    );
    assert!(broker.queue("/queue/load").waiting.is_empty());
    assert!(broker.queue("/queue/load").unacked.is_empty());

    let deliveries = queue_total + topic_total;
    println!(
        "load: {held} connections held; {queue_total} queue messages (acked) + {topic_total} topic deliveries in {elapsed:.2?}: {:.0} deliveries/s",
        deliveries as f64 / elapsed.as_secs_f64()
    );
    println!(
        "load: process RSS {} MiB before, {} MiB with {CONNECTIONS} connections (clients in the same process), {} MiB at the end",
        rss_before / 1024,
        rss_connected / 1024,
        rss_peak / 1024
    );
}
