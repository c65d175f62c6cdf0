//! Assertions on how clients recover (issue 13): reconnects grouped by
//! client, resubscriptions, heart-beat promises kept, no duplicates.

mod support;

use std::time::Duration;

use stompbox::{AckMode, Broker, Client, Error, Expectation};
use support::{PATIENCE, Raw};

fn app(broker: &Broker, client_id: &str) -> Client {
    Client::builder()
        .header("client-id", client_id)
        .connect(broker.addr())
        .unwrap()
}

/// The unmet expectations (what was expected, what was found); then the
/// broker is dropped, and its report (the panic) must say the same.
fn unmet(broker: Broker) -> Vec<(String, String)> {
    let report = broker.check().unwrap_err();
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(broker)));
    let said = dropped.expect_err("the drop reports what is unmet");
    let said = said.downcast_ref::<String>().expect("a text");
    assert_eq!(said, &report.to_string());
    report
        .unmet
        .into_iter()
        .map(|u| (u.expectation, u.found))
        .collect()
}

#[test]
fn reconnects_are_grouped_by_client_and_timed() {
    let broker = Broker::start().unwrap();
    let _orders = app(&broker, "orders");
    let _billing = app(&broker, "billing");
    let _alice = Client::builder()
        .login("alice", "pw")
        .connect(broker.addr())
        .unwrap();
    broker.restart_after(Duration::from_millis(100)).unwrap();
    let _orders_again = app(&broker, "orders");
    let back = broker.wait_for_reconnects("orders", 1, PATIENCE).unwrap();
    assert_eq!(back.connections.len(), 2);
    assert!(
        back.reconnect_gaps[0] >= Duration::from_millis(100),
        "{:?}",
        back.reconnect_gaps
    );
    let clients = broker.inspect(|j| j.clients());
    let names: Vec<&str> = clients.iter().map(|c| c.identity.as_str()).collect();
    assert_eq!(names, ["orders", "billing", "alice@127.0.0.1"]);
    assert_eq!(clients[1].reconnects(), 0, "billing did not come back");
}

#[test]
fn a_client_that_does_not_come_back_is_reported_with_the_clients_seen() {
    let broker = Broker::start().unwrap();
    let _billing = app(&broker, "billing");
    let err = broker
        .wait_for_reconnects("billing", 1, Duration::from_millis(50))
        .unwrap_err();
    assert!(matches!(err, Error::Timeout(_)));
    let text = err.to_string();
    assert!(
        text.starts_with("timed out after 50ms waiting for \"billing\" to reconnect 1 time"),
        "{text}"
    );
    assert!(text.contains("\"billing\": connections [1]"), "{text}");
}

#[test]
fn a_reconnect_that_forgets_a_subscription_or_its_ack_mode_is_unmet() {
    let broker = Broker::start().unwrap();
    broker.expect(Expectation::resubscribed("orders"));
    let mut first = app(&broker, "orders");
    first.subscribe("/queue/orders", AckMode::Client).unwrap();
    first.subscribe("/topic/prices", AckMode::Auto).unwrap();
    broker
        .wait_for_subscription("/topic/prices", PATIENCE)
        .unwrap();
    broker.kick(broker.connections()[0].id, None);
    let mut second = app(&broker, "orders");
    second.subscribe("/queue/orders", AckMode::Auto).unwrap();
    broker
        .wait_until(
            |j| {
                j.connections()
                    .any(|c| c.id == 2 && !c.subscribed.is_empty())
            },
            PATIENCE,
        )
        .unwrap();
    let unmet = unmet(broker);
    assert_eq!(unmet.len(), 1);
    assert_eq!(unmet[0].0, "\"orders\" reconnected and subscribed again");
    assert_eq!(
        unmet[0].1,
        "connection 2 did not subscribe again to /queue/orders (client), /topic/prices (auto) \
         (as connection 1 had)"
    );
}

#[test]
fn a_faithful_reconnect_meets_the_expectation() {
    let broker = Broker::start().unwrap();
    broker.expect(Expectation::resubscribed("orders"));
    let mut first = app(&broker, "orders");
    first
        .subscribe("/queue/orders", AckMode::ClientIndividual)
        .unwrap();
    broker
        .wait_for_subscription("/queue/orders", PATIENCE)
        .unwrap();
    assert_eq!(
        broker.check().unwrap_err().unmet[0].found,
        "\"orders\" never reconnected (connection [1])"
    );
    broker.kick(broker.connections()[0].id, None);
    let mut again = app(&broker, "orders");
    again
        .subscribe("/queue/orders", AckMode::ClientIndividual)
        .unwrap();
    broker
        .wait_until(|j| j.resubscribed("orders").is_ok(), PATIENCE)
        .unwrap();
    broker.verify();
}

#[test]
fn a_key_published_twice_is_a_duplicate() {
    let broker = Broker::start().unwrap();
    broker.expect(Expectation::no_duplicates("order-id"));
    broker.publish_with("/queue/orders", "1", &[("order-id", "A")]);
    broker.publish_with("/queue/orders", "retry", &[("order-id", "A")]);
    broker.publish_with("/queue/orders", "2", &[("order-id", "B")]);
    broker.publish("/queue/orders", "no key: not counted");
    let unmet = unmet(broker);
    assert!(
        unmet[0]
            .1
            .starts_with("published more than once: order-id:A in "),
        "{:?}",
        unmet[0]
    );
}

#[test]
fn heart_beat_promises_are_measured_against_what_arrived() {
    let broker = Broker::start().unwrap();
    broker.expect(Expectation::heart_beats_kept(Duration::from_millis(30)));
    let mut raw = Raw::connect(broker.addr());
    raw.send(b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:100,0\n\n\0");
    raw.frame();
    // Late: 170 ms of silence against a promise of 100 (the broker itself
    // would only close the connection after 200).
    let id = broker.connections()[0].id;
    // The silence under test: time passing, not a wait for an event.
    std::thread::sleep(Duration::from_millis(170));
    raw.send(b"\n");
    raw.send(b"SEND\ndestination:/queue/a\nreceipt:r\n\n\0");
    raw.frame();
    let beats = broker.inspect(|j| j.heart_beats(id)).unwrap();
    assert_eq!(beats.promised, Some(Duration::from_millis(100)));
    assert!(beats.longest_gap >= Duration::from_millis(170), "{beats}");
    assert!(beats.gaps_over_promise >= 1, "{beats}");
    let unmet = unmet(broker);
    assert!(
        unmet[0]
            .1
            .starts_with("connection 1 promised a beat every 100ms"),
        "{unmet:?}"
    );
}

#[test]
fn a_client_that_beats_keeps_its_promise() {
    let broker = Broker::start().unwrap();
    broker.expect(Expectation::heart_beats_kept(Duration::from_millis(500)));
    let mut client = Client::builder()
        .heart_beat(100, 0)
        .connect(broker.addr())
        .unwrap();
    let id = broker.connections()[0].id;
    // Long enough for several beats; the promise is checked on each gap.
    std::thread::sleep(Duration::from_millis(450));
    client.send_with_receipt("/queue/a", "x").unwrap();
    let beats = broker.inspect(|j| j.heart_beats(id)).unwrap();
    assert_eq!(beats.promised, Some(Duration::from_millis(100)));
    assert!(beats.longest_gap < Duration::from_millis(450), "{beats}");
    broker.verify();
}
