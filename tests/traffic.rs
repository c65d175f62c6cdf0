//! The traffic observer (`on_traffic`): every frame in and out, seen in the
//! order the connection saw it, with the negotiated version's escaping.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use stompbox::Broker;
use stompbox::frame::Command;
use stompbox::journal::Direction;
use support::Raw;

type Seen = Arc<Mutex<Vec<(Direction, Command, Option<String>)>>>;

/// A broker whose observer keeps each frame's direction, command and `k`
/// header.
fn observed() -> (Broker, Seen) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let broker = Broker::builder()
        .on_traffic(move |t| {
            if let Some(frame) = t.frame {
                let k = frame.header("k").map(str::to_owned);
                log.lock()
                    .unwrap()
                    .push((t.direction, frame.command().clone(), k));
            }
        })
        .start()
        .unwrap();
    (broker, seen)
}

#[test]
fn frames_sent_with_the_connect_are_decoded_with_the_version_it_negotiates() {
    let (broker, seen) = observed();
    let mut raw = Raw::connect(broker.addr());
    // One write: CONNECT for 1.2, then a SEND whose header uses 1.2's `\c`.
    raw.send(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0SEND\ndestination:/queue/e\nk:a\\cb\nreceipt:r\n\nx\0");
    raw.set_version(stompbox::Version::V1_2);
    assert_eq!(raw.frame().command(), &Command::Connected);
    assert_eq!(raw.frame().command(), &Command::Receipt);
    let published = broker
        .wait_for_messages("/queue/e", 1, Duration::from_secs(5))
        .unwrap();
    assert_eq!(published[0].headers.get("k"), Some("a:b"));
    let seen = seen.lock().unwrap().clone();
    let index = |d: Direction, c: Command| {
        seen.iter()
            .position(|(dd, cc, _)| *dd == d && *cc == c)
            .unwrap()
    };
    assert_eq!(seen.len(), 4, "{seen:?}");
    // Each frame before the reply it caused (the replies are written once
    // the frames read together have been handled).
    assert!(index(Direction::In, Command::Connect) < index(Direction::Out, Command::Connected));
    assert!(index(Direction::In, Command::Send) < index(Direction::Out, Command::Receipt));
    let send = index(Direction::In, Command::Send);
    assert_eq!(
        seen[send].2.as_deref(),
        Some("a:b"),
        "the observer sees the unescaped value"
    );
}

#[test]
fn a_run_of_frames_is_seen_in_order_each_before_its_reply() {
    let (broker, seen) = observed();
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(stompbox::Version::V1_2);
    let mut burst = Vec::new();
    for i in 0..200 {
        burst.extend_from_slice(
            format!("SEND\ndestination:/queue/r\nk:{i}\nreceipt:{i}\n\n\0").as_bytes(),
        );
    }
    raw.send(&burst);
    for _ in 0..200 {
        assert_eq!(raw.frame().command(), &Command::Receipt);
    }
    let seen = seen.lock().unwrap().clone();
    let sends: Vec<String> = seen
        .iter()
        .filter(|(d, c, _)| *d == Direction::In && c == &Command::Send)
        .map(|(_, _, k)| k.clone().unwrap())
        .collect();
    let expected: Vec<String> = (0..200).map(|i| i.to_string()).collect();
    assert_eq!(sends, expected, "every SEND, in order");
    // Each SEND is seen before the RECEIPT it caused.
    let position = |d: Direction, c: Command, nth: usize| {
        seen.iter()
            .enumerate()
            .filter(|(_, (dd, cc, _))| *dd == d && *cc == c)
            .nth(nth)
            .map(|(i, _)| i)
            .unwrap()
    };
    for nth in [0, 63, 64, 199] {
        assert!(
            position(Direction::In, Command::Send, nth)
                < position(Direction::Out, Command::Receipt, nth)
        );
    }
}
