//! The shortest useful test: start a broker, send, receive, acknowledge.
//!
//! `cargo run --example quick_start`

use std::time::Duration;

use stompbox::{AckMode, Broker, Client};

fn main() -> Result<(), stompbox::Error> {
    // Arrange: a broker on a free port, and a client subscribed to a queue.
    let broker = Broker::start()?;
    let mut client = Client::connect(broker.addr())?;
    client.subscribe("/queue/orders", AckMode::ClientIndividual)?;

    // Act: the code under test would send; here the client does.
    client.send("/queue/orders", "order #1")?;

    // Assert: the message arrives, and is acknowledged.
    let message = client.recv_timeout(Duration::from_secs(1))?;
    assert_eq!(message.body_text(), "order #1");
    client.ack(&message)?;
    println!("received {:?} from {}", message.body_text(), broker.url());

    client.disconnect()?;
    Ok(()) // dropping `broker` closes its port and joins its threads
}
