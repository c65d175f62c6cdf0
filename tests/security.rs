//! Authentication, permissions and the failures a test arranges, asserted
//! on the exact ERROR frames.

mod support;

use std::time::{Duration, Instant};

use rstest::rstest;
use stompbox::auth::Access;
use stompbox::auth::{Passwords, rocketmq_passcode};
use stompbox::frame::{Command, Frame};
use stompbox::journal::Event;
use stompbox::{Broker, Client, Version};
use support::{PATIENCE, Raw, SECOND};

fn connect_frame(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut frame = Frame::new(Command::Connect)
        .with_header("accept-version", "1.2")
        .with_header("host", "h");
    for (name, value) in headers {
        frame = frame.with_header(*name, *value);
    }
    frame.encode(Some(Version::V1_2))
}

/// Connects with `headers` and expects the CONNECT to be refused with `message`.
fn refused(broker: &Broker, headers: &[(&str, &str)], message: &str) -> Frame {
    let mut raw = Raw::connect(broker.addr());
    let started = Instant::now();
    let error = raw.expect_error(&connect_frame(headers), message);
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "refused at once"
    );
    error
}

fn passwords() -> Broker {
    Broker::builder().user("alice", "pw").start().unwrap()
}

#[test]
fn a_static_table_refuses_unknown_logins_and_wrong_passcodes() {
    let broker = passwords();
    refused(
        &broker,
        &[("login", "bob"), ("passcode", "pw")],
        "unknown login 'bob'",
    );
    refused(
        &broker,
        &[("login", "alice"), ("passcode", "PW")],
        "wrong passcode for login 'alice'",
    );
    refused(&broker, &[], "missing login");
    let ok = Client::builder()
        .login("alice", "pw")
        .connect(broker.addr())
        .unwrap();
    assert_eq!(
        broker.connections().last().unwrap().principal.as_deref(),
        Some("alice")
    );
    drop(ok);
}

#[test]
fn a_refusal_carries_the_receipt_id_and_is_recorded() {
    let broker = passwords();
    let events = broker.events();
    let error = refused(
        &broker,
        &[("login", "eve"), ("passcode", "x"), ("receipt", "c-1")],
        "unknown login 'eve'",
    );
    assert_eq!(error.header("receipt-id"), Some("c-1"));
    let failures = broker.auth_failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].login.as_deref(), Some("eve"));
    assert!(!failures[0].simulated);
    let event = events
        .iter()
        .find(|e| matches!(e, Event::AuthenticationFailed(_)))
        .unwrap();
    assert!(matches!(event, Event::AuthenticationFailed(f) if f.reason == "unknown login 'eve'"));
    assert_eq!(broker.errors_sent()[0].message, "unknown login 'eve'");
}

#[test]
fn users_come_and_go_while_the_broker_runs() {
    let broker = Broker::builder().authenticator(Passwords).start().unwrap();
    refused(
        &broker,
        &[("login", "carol"), ("passcode", "1")],
        "unknown login 'carol'",
    );
    broker.add_user("carol", "1");
    let carol = Client::builder()
        .login("carol", "1")
        .connect(broker.addr())
        .unwrap();
    assert!(broker.remove_user("carol"));
    refused(
        &broker,
        &[("login", "carol"), ("passcode", "1")],
        "unknown login 'carol'",
    );
    // Already connected: unaffected.
    carol.disconnect().unwrap();
}

#[rstest]
#[case::v1_0(Version::V1_0)]
#[case::v1_1(Version::V1_1)]
#[case::v1_2(Version::V1_2)]
fn send_without_pub_is_denied_and_has_no_effect(#[case] version: Version) {
    let broker = Broker::builder()
        .grant("anonymous", "/queue/in", Access::SUB)
        .start()
        .unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(version);
    let error = raw.expect_error(
        b"SEND\ndestination:/queue/in\nreceipt:s-1\n\nbody\0",
        "permission denied: SEND on '/queue/in' needs PUB on topic '/queue/in', which principal 'anonymous' lacks",
    );
    assert_eq!(error.header("receipt-id"), Some("s-1"));
    assert!(broker.published().unwrap().is_empty());
    assert!(broker.queue("/queue/in").waiting.is_empty());
    let denial = &broker.permission_denials()[0];
    assert_eq!(
        (denial.command.clone(), denial.topic.as_str(), denial.needed),
        (Command::Send, "/queue/in", Access::PUB)
    );
}

#[test]
fn subscribe_without_sub_is_denied_and_nothing_is_subscribed() {
    let broker = Broker::builder()
        .grant("anonymous", "/topic/*", Access::PUB)
        .start()
        .unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    raw.expect_error(
        b"SUBSCRIBE\nid:1\ndestination:/topic/prices\nreceipt:r\n\n\0",
        "permission denied: SUBSCRIBE on '/topic/prices' needs SUB on topic '/topic/prices', which principal 'anonymous' lacks",
    );
    assert!(broker.subscriptions().is_empty());
}

#[test]
fn a_revoked_permission_refuses_the_next_frame_of_a_connected_client() {
    let broker = Broker::builder()
        .grant("anonymous", "/queue/*", Access::PUB_SUB)
        .start()
        .unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    raw.send(b"SUBSCRIBE\nid:s\ndestination:/queue/a\nreceipt:1\n\n\0");
    assert_eq!(raw.frame().command(), &Command::Receipt);
    broker.revoke("anonymous", "/queue/*", Access::SUB);
    raw.expect_error(
        b"UNSUBSCRIBE\nid:s\nreceipt:2\n\n\0",
        "permission denied: UNSUBSCRIBE on '/queue/a' needs SUB on topic '/queue/a', which principal 'anonymous' lacks",
    );

    // PUB still granted; revoke it and the next SEND is refused.
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer.send_with_receipt("/queue/a", "1").unwrap();
    broker.revoke("anonymous", "/queue/*", Access::PUB);
    let err = producer.send_with_receipt("/queue/a", "2").unwrap_err();
    assert!(err.to_string().contains("needs PUB"), "{err}");
    assert_eq!(broker.published().unwrap().len(), 1);

    // Granting again lets a new connection through.
    broker.grant("anonymous", "/queue/a", Access::PUB);
    let mut again = Client::connect(broker.addr()).unwrap();
    again.send_with_receipt("/queue/a", "3").unwrap();
}

#[test]
fn permissions_are_per_principal() {
    let broker = Broker::builder()
        .user("reader", "r")
        .user("writer", "w")
        .grant("writer", "/queue/jobs", Access::PUB)
        .grant("reader", "/queue/jobs", Access::SUB)
        .start()
        .unwrap();
    let mut reader = Client::builder()
        .login("reader", "r")
        .connect(broker.addr())
        .unwrap();
    let mut writer = Client::builder()
        .login("writer", "w")
        .connect(broker.addr())
        .unwrap();
    reader
        .subscribe("/queue/jobs", stompbox::AckMode::Auto)
        .unwrap();
    writer.send_with_receipt("/queue/jobs", "job").unwrap();
    assert_eq!(reader.recv_timeout(SECOND).unwrap().body_text(), "job");
    let err = reader.send_with_receipt("/queue/jobs", "no").unwrap_err();
    assert!(
        err.to_string().contains("principal 'reader' lacks"),
        "{err}"
    );
}

#[test]
fn the_next_connections_fail_as_arranged() {
    let broker = Broker::start().unwrap();
    broker.fail_next_connections(2, "maintenance");
    refused(&broker, &[], "maintenance");
    refused(&broker, &[], "maintenance");
    Client::connect(broker.addr()).unwrap();
    let failures = broker.auth_failures();
    assert_eq!(failures.len(), 2);
    assert!(failures.iter().all(|f| f.simulated));
}

#[test]
fn the_next_send_to_a_destination_fails_as_arranged() {
    let broker = Broker::start().unwrap();
    broker.fail_next_send("/queue/orders", "queue /queue/orders is full");
    let mut other = Client::connect(broker.addr()).unwrap();
    other
        .send_with_receipt("/queue/other", "unaffected")
        .unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    let error = raw.expect_error(
        b"SEND\ndestination:/queue/orders\nreceipt:9\n\nx\0",
        "queue /queue/orders is full",
    );
    assert_eq!(error.header("receipt-id"), Some("9"));
    let mut next = Client::connect(broker.addr()).unwrap();
    next.send_with_receipt("/queue/orders", "works again")
        .unwrap();
    let bodies: Vec<_> = broker
        .published()
        .unwrap()
        .iter()
        .map(|m| m.body_text().into_owned())
        .collect();
    assert_eq!(bodies, ["unaffected", "works again"]);
}

// ---- the RocketMQ profile ----------------------------------------------

const AK: &str = "AK_test";
const SECRET: &str = "s3cret";

fn rocketmq() -> Broker {
    Broker::builder()
        .rocketmq()
        .user(AK, SECRET)
        .user("AK_reader", "r")
        .grant(AK, "orders", Access::PUB_SUB)
        .grant(AK, "audit", Access::SUB)
        .grant("AK_reader", "orders", Access::SUB)
        .start()
        .unwrap()
}

fn rocketmq_client(broker: &Broker, version: Version, client_id: &str) -> Client {
    Client::builder()
        .version(version)
        .login(AK, rocketmq_passcode(SECRET, client_id))
        .header("client-id", client_id)
        .header("instance-id", "MQ_INST_1")
        .connect(broker.addr())
        .unwrap()
}

/// A raw connection past CONNECT in the RocketMQ profile.
fn rocketmq_raw(broker: &Broker) -> Raw {
    let mut raw = Raw::connect(broker.addr());
    let passcode = rocketmq_passcode(SECRET, "raw_01");
    raw.send(&connect_frame(&[
        ("login", AK),
        ("passcode", &passcode),
        ("client-id", "raw_01"),
    ]));
    assert_eq!(raw.frame().command(), &Command::Connected);
    raw
}

#[test]
fn the_signature_is_checked() {
    let broker = rocketmq();
    let good = rocketmq_passcode(SECRET, "send_01");
    refused(
        &broker,
        &[("login", AK), ("passcode", &good)],
        "missing client-id header",
    );
    refused(
        &broker,
        &[("login", AK), ("passcode", &good), ("client-id", "send_02")],
        "bad signature for login 'AK_test'",
    );
    let wrong_secret = rocketmq_passcode("not-the-secret", "send_01");
    refused(
        &broker,
        &[
            ("login", AK),
            ("passcode", &wrong_secret),
            ("client-id", "send_01"),
        ],
        "bad signature for login 'AK_test'",
    );
    refused(
        &broker,
        &[
            ("login", "AK_nobody"),
            ("passcode", &good),
            ("client-id", "send_01"),
        ],
        "unknown login 'AK_nobody'",
    );
}

#[rstest]
#[case::v1_0(Version::V1_0)]
#[case::v1_1(Version::V1_1)]
#[case::v1_2(Version::V1_2)]
fn signed_clients_of_every_version_exchange_messages(#[case] version: Version) {
    let broker = rocketmq();
    let mut receiver = rocketmq_client(&broker, version, "recv_01");
    let mut sender = rocketmq_client(&broker, version, "send_01");
    receiver
        .subscribe("/orders/eu", stompbox::AckMode::ClientIndividual)
        .unwrap();
    sender.send_with_receipt("/orders/eu", "m_1").unwrap();
    let msg = receiver.recv_timeout(SECOND).unwrap();
    assert_eq!(msg.body_text(), "m_1");
    receiver.ack(&msg).unwrap();
    broker.wait_for_acks(1, PATIENCE).unwrap();
    let conns = broker.connections();
    assert_eq!(conns[0].client_id.as_deref(), Some("recv_01"));
    assert_eq!(conns[0].headers.get("instance-id"), Some("MQ_INST_1"));
    assert_eq!(conns[0].headers.get("passcode"), None, "never recorded");
    assert_eq!(conns[0].principal.as_deref(), Some(AK));
}

#[test]
fn permissions_are_per_first_level_topic() {
    let broker = rocketmq();
    let mut raw = rocketmq_raw(&broker);
    raw.send(b"SUBSCRIBE\nid:1\ndestination:/audit/all\nreceipt:1\n\n\0");
    assert_eq!(raw.frame().command(), &Command::Receipt);
    raw.expect_error(
        b"SEND\ndestination:/audit/x\nreceipt:2\n\nm\0",
        "permission denied: SEND on '/audit/x' needs PUB on topic 'audit', which principal 'AK_test' lacks",
    );
    let mut raw = rocketmq_raw(&broker);
    raw.expect_error(
        b"SUBSCRIBE\nid:1\ndestination:/payments\nreceipt:3\n\n\0",
        "permission denied: SUBSCRIBE on '/payments' needs SUB on topic 'payments', which principal 'AK_test' lacks",
    );
}

#[rstest]
#[case::dot("/orders/eu.1")]
#[case::space("/orders/eu 1")]
#[case::no_leading_slash("orders")]
#[case::empty_level("/orders//eu")]
#[case::trailing_slash("/orders/")]
#[case::wildcard("/orders/*")]
fn destinations_outside_the_naming_rule_are_refused(#[case] destination: &str) {
    let broker = rocketmq();
    let mut raw = rocketmq_raw(&broker);
    let message = format!(
        "invalid destination '{destination}': it must be /<topic>[/<more>], each level made of only letters, digits, '-' and '_'"
    );
    let frame = format!("SEND\ndestination:{destination}\nreceipt:1\n\nx\0");
    raw.expect_error(frame.as_bytes(), &message);
    let mut raw = rocketmq_raw(&broker);
    let frame = format!("SUBSCRIBE\nid:1\ndestination:{destination}\n\n\0");
    raw.expect_error(frame.as_bytes(), &message);
}

#[test]
fn messages_for_absent_subscribers_are_not_kept() {
    let broker = rocketmq();
    let mut sender = rocketmq_client(&broker, Version::V1_2, "send_01");
    sender
        .send_with_receipt("/orders/eu", "nobody listens")
        .unwrap();
    let mut late = rocketmq_client(&broker, Version::V1_2, "recv_01");
    late.subscribe("/orders/eu", stompbox::AckMode::Auto)
        .unwrap();
    sender.send_with_receipt("/orders/eu", "heard").unwrap();
    assert_eq!(late.recv_timeout(SECOND).unwrap().body_text(), "heard");
    let statuses: Vec<_> = broker
        .published()
        .unwrap()
        .iter()
        .map(|m| m.status)
        .collect();
    assert_eq!(
        statuses,
        [
            stompbox::journal::MessageStatus::Dropped,
            stompbox::journal::MessageStatus::Consumed
        ]
    );
}

#[test]
fn one_open_transaction_per_connection() {
    let broker = rocketmq();
    let mut raw = rocketmq_raw(&broker);
    raw.send(b"BEGIN\ntransaction:t1\n\n\0");
    raw.expect_error(
        b"BEGIN\ntransaction:t2\nreceipt:b2\n\n\0",
        "too many open transactions: at most 1 per connection",
    );
    // After COMMIT, a new one may begin.
    let mut raw = rocketmq_raw(&broker);
    raw.send(b"BEGIN\ntransaction:t1\n\n\0COMMIT\ntransaction:t1\n\n\0");
    raw.send(b"BEGIN\ntransaction:t2\nreceipt:ok\n\n\0");
    assert_eq!(raw.frame().header("receipt-id"), Some("ok"));
}

#[test]
fn at_most_three_messages_per_transaction() {
    let broker = rocketmq();
    let mut raw = rocketmq_raw(&broker);
    raw.send(b"BEGIN\ntransaction:t\n\n\0");
    for i in 1..=3 {
        raw.send(format!("SEND\ndestination:/orders/eu\ntransaction:t\n\nm{i}\0").as_bytes());
    }
    raw.expect_error(
        b"SEND\ndestination:/orders/eu\ntransaction:t\nreceipt:4\n\nm4\0",
        "too many messages in transaction 't': at most 3",
    );
    // The connection ended with the transaction open: rolled back.
    broker
        .wait_until(|j| j.transaction_history().count() == 1, PATIENCE)
        .unwrap();
    assert_eq!(
        broker.transaction_history()[0].outcome,
        stompbox::journal::TransactionOutcome::RolledBack
    );
    assert_eq!(broker.published(), Some(Vec::new()));
    let rolled_back = broker.uncommitted().unwrap();
    assert_eq!(rolled_back.len(), 3);
    assert!(
        rolled_back
            .iter()
            .all(|m| m.status == stompbox::journal::MessageStatus::RolledBack)
    );
}

#[test]
fn selectors_are_refused() {
    let broker = rocketmq();
    let mut raw = rocketmq_raw(&broker);
    raw.expect_error(
        b"SUBSCRIBE\nid:1\ndestination:/orders/eu\nselector:region = 'eu'\nreceipt:r\n\n\0",
        "selectors are not supported",
    );
    assert!(broker.subscriptions().is_empty());
}
