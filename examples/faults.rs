//! Testing an application's retry logic with an injected fault: the first
//! RECEIPT is lost, the application times out, reconnects and sends again,
//! with the same idempotency key so that consumers can drop the duplicate.
//!
//! `cargo run --example faults`

use std::time::Duration;

use stompbox::frame::{Command, Frame};
use stompbox::{Broker, Client, Error, Fault};

/// The code under test: sends an order and insists on a RECEIPT, retrying
/// on a new connection (up to three attempts) when none comes in time.
fn place_order(addr: std::net::SocketAddr, order_id: &str) -> Result<usize, Error> {
    let mut last = None;
    for attempt in 1..=3 {
        let mut stomp = Client::builder()
            .header("client-id", "order-service")
            .timeout(Duration::from_millis(200))
            .connect(addr)?;
        let frame = Frame::new(Command::Send)
            .with_header("destination", "/queue/orders")
            .with_header("order-id", order_id)
            .with_body("2 widgets");
        match stomp.request(frame) {
            Ok(_receipt) => return Ok(attempt),
            Err(e @ Error::Timeout(_)) => last = Some(e), // no RECEIPT: try again
            Err(e) => return Err(e),
        }
    }
    Err(last.expect("three attempts"))
}

fn main() -> Result<(), Error> {
    let broker = Broker::start()?;
    // The first RECEIPT the broker sends is lost on the way.
    let lost = broker.inject(Fault::drop().outbound(Command::Receipt));

    let attempts = place_order(broker.addr(), "A-1")?;

    assert_eq!(attempts, 2, "a lost RECEIPT costs one retry");
    assert_eq!(lost.fired(), 1);
    let published = broker.wait_for_messages("/queue/orders", 2, Duration::from_secs(1))?;
    // At-least-once: the broker did publish the first attempt, so the order
    // went out twice, with one key, which consumers must deduplicate
    // (`Expectation::no_duplicates("order-id")` would flag it).
    assert!(
        published
            .iter()
            .all(|m| m.headers.get("order-id") == Some("A-1"))
    );
    println!(
        "{attempts} attempts, {} messages published; the fault fired {} time(s) (seed {})",
        published.len(),
        lost.fired(),
        lost.seed()
    );
    Ok(())
}
