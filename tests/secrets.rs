//! Passcodes never appear in anything the broker records or shows: the
//! transcripts, the connection records, refusals, reports, the traffic
//! observer (which the binary's log uses). Accepted and refused CONNECTs.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use stompbox::{Broker, Client};

const RIGHT: &str = "Pa55-right-7c1e";
const WRONG: &str = "Pa55-wrong-93fd";

#[test]
fn no_passcode_byte_sequence_appears_in_any_record_or_output() {
    let shown = Arc::new(Mutex::new(String::new()));
    let log = shown.clone();
    let broker = Broker::builder()
        .user("alice", RIGHT)
        .on_traffic(move |traffic| log.lock().push_str(&format!("{traffic}\n")))
        .start()
        .unwrap();
    let mut ok = Client::builder()
        .login("alice", RIGHT)
        .connect(broker.addr())
        .unwrap();
    ok.send_with_receipt("/queue/a", "x").unwrap();
    let refused = Client::builder()
        .login("alice", WRONG)
        .connect(broker.addr());
    assert!(refused.is_err());
    broker
        .wait_until(|j| j.auth_failures().count() == 1, Duration::from_secs(2))
        .unwrap();

    let mut everything = shown.lock().clone();
    for connection in broker.connections() {
        everything.push_str(&format!("{connection:?}\n"));
        let frames = broker.frames(connection.id).expect("recording is on");
        assert!(!frames.is_empty());
        for record in frames {
            everything.push_str(&format!("{record}\n{record:?}\n"));
        }
    }
    everything.push_str(&format!("{:?}\n", broker.auth_failures()));
    everything.push_str(&format!("{:?}\n", broker.errors_sent()));
    let report = broker
        .wait_for_messages("/queue/none", 1, Duration::from_millis(1))
        .unwrap_err();
    everything.push_str(&report.to_string());

    assert!(everything.contains("CONNECT"), "the CONNECTs were seen");
    assert!(everything.contains("[redacted]"), "{everything}");
    for secret in [RIGHT, WRONG] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked:\n{everything}"
        );
    }
}
