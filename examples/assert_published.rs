//! Assert on what an application published.
//!
//! `cargo run --example assert_published`

use std::time::Duration;

use stompbox::journal::MessageStatus;
use stompbox::{Broker, Client};

/// The code under test: forwards an order as JSON to the orders queue.
fn place_order(stomp: &mut Client, item: &str) -> Result<(), stompbox::Error> {
    let body = format!(r#"{{"item":"{item}"}}"#);
    stomp.send_with_headers(
        "/queue/orders",
        body,
        &[("content-type", "application/json")],
    )
}

fn main() -> Result<(), stompbox::Error> {
    let broker = Broker::start()?;
    let mut app = Client::connect(broker.addr())?;

    place_order(&mut app, "book")?;

    // Blocks until the message is there (no sleep), at most one second.
    let orders = broker.wait_for_messages("/queue/orders", 1, Duration::from_secs(1))?;
    assert_eq!(orders[0].body_text(), r#"{"item":"book"}"#);
    assert_eq!(orders[0].header("content-type"), Some("application/json"));
    assert_eq!(orders[0].status, MessageStatus::Queued); // nobody consumed it yet
    assert!(broker.published_to("/queue/audit").unwrap().is_empty());
    println!("published: {}", orders[0]);
    Ok(())
}
