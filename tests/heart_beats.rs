//! Heart-beating both ways, as negotiated.

mod support;

use std::time::Duration;

use stompbox::frame::Command;
use stompbox::{Broker, Client, Error};
use support::{Raw, SECOND};

fn connect_with_heart_beat(raw: &mut Raw, client_beats: &str) -> stompbox::frame::Frame {
    raw.send(
        format!("CONNECT\naccept-version:1.2\nhost:h\nheart-beat:{client_beats}\n\n\0").as_bytes(),
    );
    raw.frame()
}

#[test]
fn the_broker_agrees_to_what_the_client_asks_by_default() {
    let broker = Broker::builder().heart_beat_floor(0).start().unwrap();
    let mut raw = Raw::connect(broker.addr());
    let connected = connect_with_heart_beat(&mut raw, "3000,40");
    assert_eq!(connected.header("heart-beat"), Some("40,3000"));
}

#[test]
fn the_broker_sends_heart_beats_at_the_agreed_rate() {
    let broker = Broker::start().unwrap();
    let mut raw = Raw::connect(broker.addr());
    connect_with_heart_beat(&mut raw, "0,20");
    let started = std::time::Instant::now();
    assert!(
        raw.wait_heart_beats(5, SECOND),
        "5 heart-beats at 20 ms within a second"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(80),
        "not faster than agreed: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_configured_offer_is_negotiated_with_the_larger_value() {
    let broker = Broker::builder()
        .heart_beat(50, 0)
        .heart_beat_floor(0)
        .start()
        .unwrap();
    let mut raw = Raw::connect(broker.addr());
    let connected = connect_with_heart_beat(&mut raw, "1000,10");
    assert_eq!(connected.header("heart-beat"), Some("50,0"));
    let started = std::time::Instant::now();
    assert!(raw.wait_heart_beats(2, SECOND));
    assert!(
        started.elapsed() >= Duration::from_millis(90),
        "every 50 ms, not 10: {:?}",
        started.elapsed()
    );
}

#[test]
fn no_client_can_ask_for_beats_faster_than_the_floor() {
    // Issue 11, item 13: 200 clients asking for a beat every 1 ms used a core.
    let broker = Broker::start().unwrap();
    let mut raw = Raw::connect(broker.addr());
    let connected = connect_with_heart_beat(&mut raw, "0,1");
    assert_eq!(connected.header("heart-beat"), Some("100,0"));
    let started = std::time::Instant::now();
    assert!(raw.wait_heart_beats(3, SECOND));
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "every 100 ms at most, not every 1: {:?}",
        started.elapsed()
    );
}

#[test]
fn a_silent_client_is_closed_with_an_error() {
    let broker = Broker::start().unwrap();
    let mut raw = Raw::connect(broker.addr());
    connect_with_heart_beat(&mut raw, "30,0");
    let started = std::time::Instant::now();
    let error = raw.frame();
    assert_eq!(error.command(), &Command::Error);
    assert_eq!(error.header("message"), Some("heart-beat timeout"));
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "some grace: {:?}",
        started.elapsed()
    );
    assert!(raw.closed_within(SECOND));
}

#[test]
fn a_client_that_beats_stays_connected() {
    let broker = Broker::start().unwrap();
    let mut client = Client::builder()
        .heart_beat(20, 0)
        .connect(broker.addr())
        .unwrap();
    // Ten times the interval: the broker would have closed a silent client.
    match client.recv_frame_timeout(Duration::from_millis(200)) {
        Err(Error::Timeout { .. }) => {}
        other => panic!("the connection should be quiet and open, got {other:?}"),
    }
    client
        .send_with_receipt("/queue/alive", "still here")
        .unwrap();
}

#[test]
fn stomp_1_0_has_no_heart_beats() {
    let broker = Broker::builder().heart_beat(10, 10).start().unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.send(b"CONNECT\nheart-beat:10,10\n\n\0");
    let connected = raw.frame();
    // 0,0 (none), as ActiveMQ and RabbitMQ tell a 1.0 client.
    assert_eq!(connected.header("heart-beat"), Some("0,0"));
    assert!(!raw.wait_heart_beats(1, Duration::from_millis(100)));
    assert!(raw.try_frame(Duration::from_millis(1)).is_none());
}
