//! Expectations verified on drop, by `verify()`, and by scoped guards.

mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};

use rstest::rstest;
use stompbox::fixtures::broker;
use stompbox::{AckMode, Broker, Client, Expectation, Times};
use support::SECOND;

/// The panic message of `f`, which must panic.
fn panic_text(f: impl FnOnce()) -> String {
    let payload = catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }
}

#[rstest]
fn met_expectations_pass_on_drop(broker: Broker) {
    broker.expect(Expectation::published("/queue/orders").times(2));
    broker.expect(Expectation::never_published("/queue/dead"));
    broker.expect(Expectation::no_errors());
    broker.expect(Expectation::all_acked());
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe("/queue/orders", AckMode::Client).unwrap();
    client.send("/queue/orders", "1").unwrap();
    client.send("/queue/orders", "2").unwrap();
    client.recv_timeout(SECOND).unwrap();
    let last = client.recv_timeout(SECOND).unwrap();
    client.ack(&last).unwrap();
    client.disconnect().unwrap(); // waits for its receipt: the ACK is applied
    broker.verify();
}

#[test]
fn an_unmet_expectation_panics_on_drop_listing_what_happened() {
    let text = panic_text(|| {
        let broker = Broker::start().unwrap();
        broker.expect(
            Expectation::published("/queue/orders")
                .times(1)
                .named("the order is forwarded"),
        );
        broker.publish("/queue/order", "typo in the destination");
        drop(broker);
    });
    assert!(
        text.starts_with("1 of 1 stompbox expectation not met:"),
        "{text}"
    );
    assert!(
        text.contains(
            "the order is forwarded: exactly 1 message(s) published to /queue/orders: 0 published"
        ),
        "{text}"
    );
    assert!(text.contains("per destination: /queue/order: 1"), "{text}");
    assert!(text.contains("\"typo in the destination\""), "{text}");
}

#[test]
fn the_broker_is_stopped_before_the_panic() {
    let mut addr = None;
    let _ = panic_text(|| {
        let broker = Broker::start().unwrap();
        addr = Some(broker.addr());
        broker.expect(Expectation::published("/queue/a"));
    });
    assert!(std::net::TcpStream::connect(addr.unwrap()).is_err());
}

#[test]
fn no_second_panic_while_the_test_is_already_failing() {
    let text = panic_text(|| {
        let broker = Broker::start().unwrap();
        broker.expect(Expectation::published("/queue/a"));
        panic!("the test's own assertion failed");
    });
    // A double panic would abort the process; we get the first one intact.
    assert_eq!(text, "the test's own assertion failed");
}

#[rstest]
fn verify_panics_with_every_unmet_expectation(broker: Broker) {
    broker.expect(Expectation::never_published("/queue/a"));
    broker.expect(Expectation::published("/queue/b").times(2..=3));
    broker.expect(Expectation::published("/queue/c"));
    broker.publish("/queue/a", "x");
    broker.publish("/queue/b", "y");
    broker.publish("/queue/c", "z");
    let text = panic_text(|| broker.verify());
    assert!(
        text.starts_with("2 of 3 stompbox expectations not met:"),
        "{text}"
    );
    assert!(
        text.contains("  - nothing published to /queue/a: 1 published"),
        "{text}"
    );
    assert!(
        text.contains("  - between 2 and 3 message(s) published to /queue/b: 1 published"),
        "{text}"
    );
    assert!(
        !text.contains("  - at least 1 message(s) published to /queue/c"),
        "{text}"
    );
    // Two more on /queue/b meet that one; dropping checks them all again.
    broker.publish("/queue/b", "y2");
    broker.expect(Expectation::that("fine", |_| true));
    let text = panic_text(move || drop(broker));
    assert!(text.starts_with("1 of 4"), "{text}");
    assert!(text.contains("/queue/a"), "{text}");
}

#[rstest]
fn unacked_deliveries_fail_all_acked(broker: Broker) {
    let mut client = Client::connect(broker.addr()).unwrap();
    client
        .subscribe_with("/queue/q", "s1", AckMode::ClientIndividual, &[])
        .unwrap();
    broker.publish("/queue/q", "never acked");
    let _msg = client.recv_timeout(SECOND).unwrap();
    let guard = broker.expect_scoped(Expectation::all_acked());
    let text = panic_text(move || drop(guard));
    assert!(
        text.contains(
            "every delivered message acked: 1 unacked on subscription \"s1\" of connection 1"
        ),
        "{text}"
    );

    // The consumer leaves without acking: the message goes back to its
    // queue, and is still "delivered and never acked".
    client.disconnect().unwrap();
    broker
        .wait_until(|j| j.subscriptions().is_empty(), SECOND)
        .unwrap();
    let text = panic_text(|| broker.expect_scoped(Expectation::all_acked()).verify());
    assert!(
        text.contains("delivered and never acked: m-1 (queued)"),
        "{text}"
    );
}

#[rstest]
fn errors_fail_no_errors(broker: Broker) {
    let guard = broker.expect_scoped(Expectation::no_errors());
    let mut client = Client::connect(broker.addr()).unwrap();
    client
        .send_frame(&stompbox::frame::Frame::new(stompbox::frame::Command::Send))
        .unwrap();
    drop(client);
    broker
        .wait_until(|j| j.errors_sent().count() == 1, SECOND)
        .unwrap();
    let text = panic_text(|| guard.verify());
    assert!(
        text.contains(
            "no ERROR frame sent: ERROR sent: \"missing 'destination' header\" to connection 1"
        ),
        "{text}"
    );
    std::mem::forget(guard); // checked above; it borrows `broker`
}

#[rstest]
fn a_scoped_expectation_counts_only_its_own_phase(broker: Broker) {
    broker.publish("/queue/phase", "before");
    {
        let _guard = broker.expect_scoped(Expectation::published("/queue/phase").times(1));
        broker.publish("/queue/phase", "during");
    }
    let text = panic_text(|| {
        let _guard = broker.expect_scoped(Expectation::published("/queue/phase").times(1));
        broker.publish("/queue/elsewhere", "wrong");
    });
    assert!(
        text.contains("exactly 1 message(s) published to /queue/phase: 0 published"),
        "{text}"
    );
}

#[rstest]
fn a_custom_condition_is_reported_by_its_description(broker: Broker) {
    broker.publish("/queue/a", "x");
    let text = panic_text(|| {
        broker
            .expect_scoped(Expectation::that("the queue is drained", |j| {
                j.published()
                    .all(|m| m.status == stompbox::journal::MessageStatus::Consumed)
            }))
            .verify()
    });
    assert!(
        text.contains("  - the queue is drained: the condition does not hold"),
        "{text}"
    );
}

#[test]
fn times_read_naturally() {
    assert_eq!(Times::from(3).to_string(), "exactly 3");
    assert_eq!(Times::from(1..).to_string(), "at least 1");
    assert_eq!(Times::from(..3).to_string(), "at most 2");
    assert_eq!(Times::from(2..5).to_string(), "between 2 and 4");
    assert!(Times::from(0).contains(0) && !Times::from(0).contains(1));
}

#[test]
fn the_report_names_where_each_expectation_was_made() {
    // Issue 15, item 2: the panic pointed into the broker's own source.
    let broker = Broker::start().unwrap();
    let line = line!() + 1;
    broker.expect(Expectation::published("/queue/never").times(1));
    let report = broker.check().unwrap_err();
    let expected_at = format!("tests/expectations.rs:{line}");
    assert_eq!(report.unmet[0].expected_at.as_deref(), Some(&*expected_at));
    let listed = format!("(expected at {expected_at})");
    assert!(report.to_string().contains(&listed), "{report}");
    let guard_line = line!() + 1;
    let guard = broker.expect_scoped(Expectation::no_errors().named("quiet"));
    let text = panic_text(|| {
        let mut client = Client::connect(broker.addr()).unwrap();
        let _ = client.send_with_receipt("", "x");
        drop(guard);
    });
    let scoped = format!("tests/expectations.rs:{guard_line}");
    assert!(text.contains(&scoped), "{text}");
    // The first expectation is still unmet: the broker's drop says so.
    let text = panic_text(|| drop(broker));
    assert!(text.contains(&listed), "{text}");
}
