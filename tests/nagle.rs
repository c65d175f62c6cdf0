//! No 40 ms stalls (issue 15, item 12): a client that leaves Nagle's
//! algorithm on (stomp.py and most clients do) holds each small frame until
//! the one before it is acknowledged; a BEGIN has no reply, so without an
//! immediate ACK from the broker the SEND after it waited out the delayed
//! ACK, about 40 ms per transaction.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use stompbox::Broker;
use stompbox::frame::{Decoded, Decoder, Limits};
use support::PATIENCE;

/// Reads until the RECEIPT `id` arrives.
fn receipt(stream: &mut TcpStream, decoder: &mut Decoder, id: &str) {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(Decoded::Frame(frame)) = decoder.next_item().unwrap() {
            assert_eq!(
                frame.command(),
                &stompbox::frame::Command::Receipt,
                "{frame}"
            );
            assert_eq!(frame.header("receipt-id"), Some(id), "{frame}");
            return;
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "closed");
        decoder.feed(&chunk[..n]);
    }
}

#[test]
fn transactions_from_a_nagle_client_do_not_wait_for_delayed_acks() {
    let broker = Broker::start().unwrap();
    let mut stream = TcpStream::connect(broker.addr()).unwrap();
    stream.set_nodelay(false).unwrap(); // as stomp.py leaves it
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut decoder = Decoder::new(Limits::default());
    stream
        .write_all(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0")
        .unwrap();
    let mut chunk = [0u8; 4096];
    while decoder.next_item().unwrap().is_none() {
        let n = stream.read(&mut chunk).unwrap();
        decoder.feed(&chunk[..n]);
    }
    let started = Instant::now();
    for n in 0..50 {
        // Three writes, as a client's begin(), send() and commit() make them.
        write!(stream, "BEGIN\ntransaction:t{n}\n\n\0").unwrap();
        write!(
            stream,
            "SEND\ndestination:/queue/tx\ntransaction:t{n}\n\nbody {n}\0"
        )
        .unwrap();
        write!(stream, "COMMIT\ntransaction:t{n}\nreceipt:r{n}\n\n\0").unwrap();
        receipt(&mut stream, &mut decoder, &format!("r{n}"));
    }
    let took = started.elapsed();
    assert_eq!(broker.published().unwrap().len(), 50);
    // With delayed ACKs: over a second (1.1 s measured); now a few ms, with
    // room for a loaded machine.
    assert!(
        took < Duration::from_millis(500),
        "50 transactions took {took:?}"
    );
}
