//! Many subscriptions on one connection: bounded, and detached in linear
//! time (issue 11, item 6: 80,000 subscriptions to one queue froze every
//! other connection for 17 s when their connection closed).

mod support;

use std::time::{Duration, Instant};

use stompbox::{AckMode, Broker, Client};
use support::{Raw, SECOND};

#[test]
fn one_subscription_past_the_bound_is_an_error_naming_it() {
    let broker = Broker::builder()
        .max_subscriptions_per_connection(3)
        .start()
        .unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.send(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    raw.frame();
    for id in 0..3 {
        raw.send(format!("SUBSCRIBE\nid:{id}\ndestination:/queue/q\n\n\0").as_bytes());
    }
    let error = raw.expect_error(
        b"SUBSCRIBE\nid:again-0\ndestination:/queue/q\nreceipt:r\n\n\0",
        "too many subscriptions on this connection: at most 3",
    );
    assert_eq!(error.header("receipt-id"), Some("r"));
    broker
        .wait_until(|j| j.subscriptions().is_empty(), SECOND)
        .expect("all end with the connection");
}

#[test]
fn a_connection_with_many_subscriptions_to_one_queue_leaves_at_once() {
    const MANY: usize = 20_000;
    let broker = Broker::builder()
        .max_subscriptions_per_connection(MANY)
        .start()
        .unwrap();
    let mut crowd = Raw::connect(broker.addr());
    crowd.send(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0");
    crowd.frame();
    let mut frames = Vec::new();
    for id in 0..MANY {
        frames.extend_from_slice(
            format!("SUBSCRIBE\nid:{id}\ndestination:/queue/crowd\n\n\0").as_bytes(),
        );
    }
    frames.extend_from_slice(b"DISCONNECT\nreceipt:all-in\n\n\0");
    crowd.send(&frames);
    assert_eq!(crowd.frame().header("receipt-id"), Some("all-in"));

    let mut bystander = Client::connect(broker.addr()).unwrap();
    bystander.subscribe("/queue/other", AckMode::Auto).unwrap();
    let started = Instant::now();
    broker
        .wait_until(|j| j.subscriptions().len() == 1, Duration::from_secs(10))
        .unwrap();
    bystander
        .send_with_receipt("/queue/other", "still here")
        .unwrap();
    assert_eq!(
        bystander.recv_timeout(SECOND).unwrap().body_text(),
        "still here"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{MANY} subscriptions took {:?} to leave",
        started.elapsed()
    );
}
