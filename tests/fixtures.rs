//! The rstest fixtures, and many brokers in one test binary sharing nothing.

use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use rstest::rstest;
use stompbox::fixtures::{broker, broker_with};
use stompbox::{AckMode, Broker, Client};

const PATIENCE: Duration = Duration::from_secs(5);

#[rstest]
fn the_fixture_gives_a_fresh_broker(broker: Broker) {
    assert!(broker.published().unwrap().is_empty());
    assert!(broker.connections().is_empty());
}

#[rstest]
#[case::recording(true)]
#[case::not_recording(false)]
fn the_parameterised_fixture_takes_a_builder(
    #[case] recording: bool,
    #[with(Broker::builder().recording(recording).server_name("fixture/1"))] broker_with: Broker,
) {
    let client = Client::connect(broker_with.addr()).unwrap();
    assert_eq!(client.connected_frame().header("server"), Some("fixture/1"));
    assert_eq!(broker_with.inspect(|j| j.is_recording()), recording);
}

/// Runs one small scenario on its own broker; each sees only its traffic.
fn scenario(n: usize, start: &Barrier) {
    let broker = Broker::start().unwrap();
    let destination = format!("/queue/q{n}");
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe(&destination, AckMode::Client).unwrap();
    start.wait(); // every broker runs at the same time
    for i in 0..=n {
        client.send(&destination, format!("{n}-{i}")).unwrap();
    }
    for _ in 0..=n {
        let msg = client.recv_timeout(PATIENCE).unwrap();
        client.ack(&msg).unwrap();
    }
    let published = broker
        .wait_for_messages(&destination, n + 1, PATIENCE)
        .unwrap();
    broker.wait_for_acks(n + 1, PATIENCE).unwrap();
    assert_eq!(published.len(), n + 1, "broker {n} saw only its own");
    assert!(published.iter().all(|m| m.destination == destination));
    assert_eq!(broker.connections().len(), 1);
    assert_eq!(broker.subscriptions()[0].acked, n as u64 + 1);
}

#[test]
fn twenty_brokers_run_in_parallel_without_sharing_state() {
    const BROKERS: usize = 20;
    let start = Barrier::new(BROKERS);
    thread::scope(|s| {
        for n in 0..BROKERS {
            let start = &start;
            s.spawn(move || scenario(n, start));
        }
    });
}

// Plus every test of this binary: each rstest case has its own broker.
#[rstest]
fn parallel_cases_each_have_their_own(broker: Broker, #[values(1, 2, 3, 4, 5, 6, 7, 8)] n: usize) {
    for _ in 0..n {
        broker.publish("/queue/mine", "x");
    }
    assert_eq!(broker.published_to("/queue/mine").unwrap().len(), n);
}
