//! RECEIPT for every client frame that asks, and DISCONNECT's ordering.

mod support;

use rstest::rstest;
use stompbox::Version;
use stompbox::frame::Command;
use support::{SECOND, Server, server};

#[rstest]
#[case::send(b"SEND\ndestination:/queue/r\nreceipt:R\n\nx\0".as_slice())]
#[case::subscribe(b"SUBSCRIBE\ndestination:/queue/r\nid:9\nreceipt:R\n\n\0")]
#[case::unsubscribe(
    b"SUBSCRIBE\ndestination:/queue/r\nid:9\n\n\0UNSUBSCRIBE\nid:9\nreceipt:R\n\n\0"
)]
#[case::begin(b"BEGIN\ntransaction:t\nreceipt:R\n\n\0")]
#[case::commit(b"BEGIN\ntransaction:t\n\n\0COMMIT\ntransaction:t\nreceipt:R\n\n\0")]
#[case::abort(b"BEGIN\ntransaction:t\n\n\0ABORT\ntransaction:t\nreceipt:R\n\n\0")]
#[case::ack(
    b"SUBSCRIBE\ndestination:/queue/r\nid:9\nack:client\n\n\0SEND\ndestination:/queue/r\n\nx\0"
)]
fn every_frame_with_a_receipt_gets_one(server: Server, #[case] bytes: &[u8]) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    raw.send(bytes);
    let mut frame = raw.frame();
    if frame.command() == &Command::Message {
        let ack = frame.header("ack").unwrap().to_owned();
        raw.send(format!("ACK\nid:{ack}\nreceipt:R\n\n\0").as_bytes());
        frame = raw.frame();
    }
    assert_eq!(frame.command(), &Command::Receipt, "{frame}");
    assert_eq!(frame.header("receipt-id"), Some("R"));
}

#[rstest]
fn nack_with_a_receipt_gets_one(server: Server) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_1);
    raw.send(b"SUBSCRIBE\ndestination:/topic/n\nid:s\nack:client-individual\nreceipt:S\n\n\0");
    assert_eq!(raw.frame().header("receipt-id"), Some("S"));
    raw.send(b"SEND\ndestination:/topic/n\n\nx\0");
    let message = raw.frame();
    let id = message.header("message-id").unwrap();
    raw.send(format!("NACK\nmessage-id:{id}\nsubscription:s\nreceipt:N\n\n\0").as_bytes());
    assert_eq!(raw.frame().header("receipt-id"), Some("N"));
}

#[rstest]
#[case::v1_0(Version::V1_0)]
#[case::v1_1(Version::V1_1)]
#[case::v1_2(Version::V1_2)]
fn disconnect_sends_its_receipt_then_closes(server: Server, #[case] version: Version) {
    let mut raw = server.raw();
    raw.connect_v(version);
    raw.send(b"DISCONNECT\nreceipt:bye\n\n\0");
    let receipt = raw.frame();
    assert_eq!(
        (receipt.command(), receipt.header("receipt-id")),
        (&Command::Receipt, Some("bye"))
    );
    assert!(raw.closed_within(SECOND));
}

#[rstest]
fn receipts_come_in_frame_order(server: Server) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    let batch: String = (0..50)
        .map(|i| format!("SEND\ndestination:/queue/order\nreceipt:{i}\n\nx\0"))
        .collect();
    raw.send(batch.as_bytes());
    for i in 0..50 {
        assert_eq!(
            raw.frame().header("receipt-id"),
            Some(i.to_string().as_str())
        );
    }
}

#[rstest]
fn a_frame_that_fails_gets_its_receipt_id_on_the_error(server: Server) {
    let mut raw = server.raw();
    raw.connect_v(Version::V1_2);
    raw.send(b"SEND\nreceipt:oops\n\nx\0");
    let error = raw.frame();
    assert_eq!(error.command(), &Command::Error);
    assert_eq!(error.header("receipt-id"), Some("oops"));
    assert_eq!(
        error.header("message"),
        Some("missing 'destination' header")
    );
}
