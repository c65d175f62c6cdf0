//! BEGIN, COMMIT, ABORT: buffered SEND/ACK/NACK, all or nothing.

mod support;

use rstest::rstest;
use stompbox::frame::{Command, Frame};
use stompbox::{AckMode, Error, Version};
use support::{QUIET, SECOND, Server, server};

fn nothing_arrives(client: &mut stompbox::Client) -> bool {
    matches!(client.recv_timeout(QUIET), Err(Error::Timeout { .. }))
}

#[rstest]
#[case::v1_0(Version::V1_0)]
#[case::v1_1(Version::V1_1)]
#[case::v1_2(Version::V1_2)]
fn sends_in_a_transaction_arrive_at_commit(server: Server, #[case] version: Version) {
    let mut consumer = server.client();
    consumer.subscribe("/queue/tx", AckMode::Auto).unwrap();
    let mut producer = server.client_v(version);
    producer.begin("t1").unwrap();
    producer.send_in("t1", "/queue/tx", "a").unwrap();
    producer.send_in("t1", "/queue/tx", "b").unwrap();
    assert!(nothing_arrives(&mut consumer));
    producer.commit("t1").unwrap();
    assert_eq!(consumer.recv_timeout(SECOND).unwrap().body(), b"a");
    assert_eq!(consumer.recv_timeout(SECOND).unwrap().body(), b"b");
}

#[rstest]
fn abort_discards_the_sends(server: Server) {
    let mut consumer = server.client();
    consumer.subscribe("/queue/abort", AckMode::Auto).unwrap();
    let mut producer = server.client();
    producer.begin("t").unwrap();
    producer.send_in("t", "/queue/abort", "never").unwrap();
    producer
        .request(Frame::new(Command::Abort).with_header("transaction", "t"))
        .unwrap();
    producer.send_with_receipt("/queue/abort", "after").unwrap();
    assert_eq!(consumer.recv_timeout(SECOND).unwrap().body(), b"after");
    assert!(nothing_arrives(&mut consumer));
}

#[rstest]
fn an_ack_in_a_transaction_takes_effect_at_commit(server: Server) {
    let mut producer = server.client();
    producer.send_with_receipt("/queue/txack", "x").unwrap();
    let mut consumer = server.client();
    consumer
        .subscribe("/queue/txack", AckMode::ClientIndividual)
        .unwrap();
    let message = consumer.recv_timeout(SECOND).unwrap();
    consumer.begin("t").unwrap();
    consumer.ack_in("t", &message).unwrap();
    consumer.commit("t").unwrap();
    consumer.disconnect().unwrap();
    let mut next = server.client();
    next.subscribe("/queue/txack", AckMode::Auto).unwrap();
    assert!(nothing_arrives(&mut next), "the commit acked it");
}

#[rstest]
fn an_aborted_ack_leaves_the_message_unacked(server: Server) {
    let mut producer = server.client();
    producer.send_with_receipt("/queue/txabort", "x").unwrap();
    let mut consumer = server.client();
    consumer
        .subscribe("/queue/txabort", AckMode::ClientIndividual)
        .unwrap();
    let message = consumer.recv_timeout(SECOND).unwrap();
    consumer.begin("t").unwrap();
    consumer.ack_in("t", &message).unwrap();
    consumer.abort("t").unwrap();
    consumer.disconnect().unwrap();
    let mut next = server.client();
    next.subscribe("/queue/txabort", AckMode::Auto).unwrap();
    assert!(next.recv_timeout(SECOND).unwrap().redelivered());
}

#[rstest]
fn a_nack_in_a_transaction_redelivers_only_at_commit(server: Server) {
    let mut producer = server.client();
    producer.send_with_receipt("/queue/txnack", "x").unwrap();
    let mut consumer = server.client();
    consumer
        .subscribe("/queue/txnack", AckMode::ClientIndividual)
        .unwrap();
    let message = consumer.recv_timeout(SECOND).unwrap();
    consumer.begin("t").unwrap();
    consumer.nack_in("t", &message).unwrap();
    assert!(nothing_arrives(&mut consumer));
    consumer.commit("t").unwrap();
    assert!(consumer.recv_timeout(SECOND).unwrap().redelivered());
}

#[rstest]
fn a_connection_that_closes_rolls_back_its_open_transaction(server: Server) {
    let mut consumer = server.client();
    consumer
        .subscribe("/queue/rollback", AckMode::Auto)
        .unwrap();
    let mut producer = server.client();
    producer.begin("t").unwrap();
    producer.send_in("t", "/queue/rollback", "lost").unwrap();
    producer
        .request(Frame::new(Command::Begin).with_header("transaction", "other"))
        .unwrap();
    drop(producer);
    assert!(nothing_arrives(&mut consumer));
    // The queue works as before for everyone else.
    let mut other = server.client();
    other.send_with_receipt("/queue/rollback", "fine").unwrap();
    assert_eq!(consumer.recv_timeout(SECOND).unwrap().body(), b"fine");
}

#[rstest]
fn a_receipt_inside_a_transaction_comes_once_buffered(server: Server) {
    let mut consumer = server.client();
    consumer.subscribe("/queue/txr", AckMode::Auto).unwrap();
    let mut producer = server.client();
    producer.begin("t").unwrap();
    let receipt = producer
        .request(
            Frame::new(Command::Send)
                .with_header("destination", "/queue/txr")
                .with_header("transaction", "t")
                .with_body("x"),
        )
        .unwrap();
    assert_eq!(receipt.command(), &Command::Receipt);
    assert!(nothing_arrives(&mut consumer), "buffered, not delivered");
}

#[rstest]
fn a_commit_whose_ack_is_stale_applies_nothing(server: Server) {
    let mut producer = server.client();
    producer.send_with_receipt("/queue/stale", "x").unwrap();
    let mut watcher = server.client();
    watcher
        .subscribe("/queue/stale-out", AckMode::Auto)
        .unwrap();
    let mut consumer = server.client();
    consumer
        .subscribe("/queue/stale", AckMode::ClientIndividual)
        .unwrap();
    let message = consumer.recv_timeout(SECOND).unwrap();
    consumer.begin("t").unwrap();
    consumer
        .send_in("t", "/queue/stale-out", "should not appear")
        .unwrap();
    consumer.ack_in("t", &message).unwrap();
    consumer.ack(&message).unwrap(); // acked outside the transaction first
    let err = consumer
        .request(Frame::new(Command::Commit).with_header("transaction", "t"))
        .unwrap_err();
    let text = err
        .error_frame()
        .and_then(|f| f.header("message"))
        .unwrap()
        .to_owned();
    assert!(text.starts_with("cannot commit transaction 't'"), "{text}");
    assert!(nothing_arrives(&mut watcher));
}

#[rstest]
#[case::send_in_unknown(b"SEND\ndestination:/queue/a\ntransaction:nope\n\nx\0".as_slice(), "unknown transaction 'nope'")]
#[case::commit_unknown(b"COMMIT\ntransaction:nope\n\n\0", "unknown transaction 'nope'")]
#[case::abort_unknown(b"ABORT\ntransaction:nope\n\n\0", "unknown transaction 'nope'")]
#[case::begin_twice(
    b"BEGIN\ntransaction:t\n\n\0BEGIN\ntransaction:t\n\n\0",
    "transaction 't' is already open"
)]
#[case::commit_twice(
    b"BEGIN\ntransaction:t\n\n\0COMMIT\ntransaction:t\n\n\0COMMIT\ntransaction:t\n\n\0",
    "unknown transaction 't'"
)]
#[case::begin_without_id(b"BEGIN\n\n\0", "missing 'transaction' header")]
fn transaction_misuse_is_an_error(server: Server, #[case] bytes: &[u8], #[case] message: &str) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    raw.expect_error(bytes, message);
}
