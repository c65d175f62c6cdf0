//! Bounded resources: queue depth, the number of connections, and bounds
//! that cannot be 0.

mod support;

use std::thread;

use stompbox::frame::{Command, Limits};
use stompbox::{AckMode, Broker, Client, Version};
use support::{Raw, SECOND};

#[test]
fn a_full_queue_refuses_the_send_that_would_overflow_it() {
    let broker = Broker::builder().max_queue_depth(2).start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer.send_with_receipt("/queue/q", "1").unwrap();
    producer.send_with_receipt("/queue/q", "2").unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    let error = raw.expect_error(
        b"SEND\ndestination:/queue/q\nreceipt:r3\n\n3\0",
        "queue '/queue/q' is full: at most 2 messages may wait",
    );
    assert_eq!(error.header("receipt-id"), Some("r3"));
    assert_eq!(broker.queue("/queue/q").waiting.len(), 2);
    assert_eq!(
        broker.published().unwrap().len(),
        2,
        "the refused SEND is not recorded as published"
    );

    // A consumer makes room; topics are not limited.
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/q", AckMode::Auto).unwrap();
    consumer.recv_timeout(SECOND).unwrap();
    consumer.recv_timeout(SECOND).unwrap();
    producer.send_with_receipt("/queue/q", "3").unwrap();
    for i in 0..5 {
        producer
            .send_with_receipt("/topic/t", format!("{i}"))
            .unwrap();
    }
}

#[test]
fn a_commit_that_would_overflow_a_queue_applies_nothing() {
    let broker = Broker::builder().max_queue_depth(2).start().unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    raw.send(b"BEGIN\ntransaction:t\n\n\0");
    for i in 0..3 {
        raw.send(format!("SEND\ndestination:/queue/q\ntransaction:t\n\n{i}\0").as_bytes());
    }
    raw.expect_error(
        b"COMMIT\ntransaction:t\nreceipt:c\n\n\0",
        "queue '/queue/q' is full: at most 2 messages may wait",
    );
    assert!(broker.queue("/queue/q").waiting.is_empty());
}

#[test]
fn concurrent_producers_never_overfill_a_queue() {
    const DEPTH: usize = 100;
    let broker = Broker::builder().max_queue_depth(DEPTH).start().unwrap();
    let addr = broker.addr();
    let producers: Vec<_> = (0..4)
        .map(|p| {
            thread::spawn(move || {
                let mut client = Client::connect(addr).unwrap();
                let mut sent = 0;
                for i in 0..DEPTH {
                    match client.send_with_receipt("/queue/bounded", format!("{p}-{i}")) {
                        Ok(()) => sent += 1,
                        Err(stompbox::Error::Refused(frame)) => {
                            assert!(frame.header("message").unwrap().contains("is full"));
                            break;
                        }
                        Err(other) => panic!("{other}"),
                    }
                }
                sent
            })
        })
        .collect();
    let sent: usize = producers.into_iter().map(|p| p.join().unwrap()).sum();
    assert_eq!(sent, DEPTH, "exactly the depth was accepted");
    assert_eq!(broker.queue("/queue/bounded").waiting.len(), DEPTH);
}

#[test]
fn connections_past_the_limit_get_an_error_and_the_others_carry_on() {
    let broker = Broker::builder().max_connections(2).start().unwrap();
    let mut first = Client::connect(broker.addr()).unwrap();
    let second = Client::connect(broker.addr()).unwrap();
    let mut third = Raw::connect(broker.addr());
    let error = third.frame();
    assert_eq!(error.command(), &Command::Error);
    assert_eq!(
        error.header("message"),
        Some("too many connections: at most 2")
    );
    assert!(third.closed_within(SECOND));
    let refused = Client::connect(broker.addr()).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "broker sent ERROR: too many connections: at most 2"
    );

    first.send_with_receipt("/queue/still", "fine").unwrap();
    second.disconnect().unwrap();
    broker
        .wait_until(
            |j| j.connections().filter(|c| c.closed.is_none()).count() == 1,
            SECOND,
        )
        .unwrap();
    Client::connect(broker.addr()).unwrap();
}

#[rstest::rstest]
#[case::no_headers(Broker::builder().limits(Limits { max_headers: 0, ..Limits::default() }), "limits.max_headers is 0")]
#[case::no_header_line(Broker::builder().limits(Limits { max_header_line: 0, ..Limits::default() }), "limits.max_header_line is 0")]
#[case::no_backlog(Broker::builder().max_outbound_backlog(0), "max_outbound_backlog is 0")]
#[case::no_queue_room(Broker::builder().max_queue_depth(0), "max_queue_depth is 0")]
#[case::no_subscriptions(Broker::builder().max_subscriptions_per_connection(0), "max_subscriptions_per_connection is 0")]
#[case::no_time_to_connect(Broker::builder().connect_timeout(std::time::Duration::ZERO), "connect_timeout is 0")]
fn a_zero_bound_that_would_refuse_everything_is_refused_at_start(
    #[case] builder: stompbox::BrokerBuilder,
    #[case] says: &str,
) {
    // Issue 11, item 19: max_headers = 0 used to make every CONNECT fail.
    let err = builder.start().unwrap_err();
    assert!(matches!(err, stompbox::Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains(says), "{err}");
}
