//! One large message to many topic subscribers that do not read is held once
//! (issue 11, item 1: 200 such subscribers and one 10 MiB SEND took the
//! process from 12 MB to 2 GB, each writer copying the message into its own
//! buffer).

mod support;

use std::time::{Duration, Instant};

use stompbox::Broker;
use support::Raw;

/// This process's resident memory, in bytes (Linux).
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
#[cfg(target_os = "linux")]
fn stuck_subscribers_share_one_copy_of_a_large_message() {
    const SUBSCRIBERS: usize = 50;
    const BODY: usize = 10 * 1024 * 1024;
    let broker = Broker::builder().recording(false).start().unwrap();
    let mut stuck: Vec<Raw> = (0..SUBSCRIBERS)
        .map(|i| {
            let mut raw = Raw::connect(broker.addr());
            raw.send(b"CONNECT\naccept-version:1.2\nhost:h\n\n\0");
            raw.frame();
            raw.send(
                format!("SUBSCRIBE\nid:{i}\ndestination:/topic/big\nreceipt:r\n\n\0").as_bytes(),
            );
            raw.frame();
            raw
        })
        .collect();
    // From here on none of them reads.
    let before = resident_bytes();
    broker.publish("/topic/big", vec![b'x'; BODY]);
    broker
        .wait_until(
            |j| j.subscriptions().iter().all(|s| s.delivered == 1),
            Duration::from_secs(10),
        )
        .unwrap();
    // The writers pick the delivery up and block writing it; sample the
    // memory meanwhile (there is no event for "every writer is blocked").
    let mut peak = 0;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        peak = peak.max(resident_bytes().saturating_sub(before));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        peak < 8 * BODY,
        "{SUBSCRIBERS} stuck subscribers of one {} MiB message grew the process by {} MiB",
        BODY >> 20,
        peak >> 20
    );
    stuck.clear();
}
