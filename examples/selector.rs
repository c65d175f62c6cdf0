//! A consumer with a JMS selector gets only the messages it selects, as on
//! ActiveMQ; the others wait on the queue for a consumer that takes them.
//!
//! `cargo run --example selector`

use std::time::Duration;

use stompbox::{AckMode, Broker, Client};

fn main() -> Result<(), stompbox::Error> {
    let broker = Broker::start()?;
    let mut eu_orders = Client::connect(broker.addr())?;
    eu_orders.subscribe_with(
        "/queue/orders",
        "eu",
        AckMode::Auto,
        &[("selector", "region = 'eu' AND amount >= 100")],
    )?;

    let mut shop = Client::connect(broker.addr())?;
    shop.send_with_headers(
        "/queue/orders",
        "big eu",
        &[("region", "eu"), ("amount", "250")],
    )?;
    shop.send_with_headers(
        "/queue/orders",
        "small eu",
        &[("region", "eu"), ("amount", "5")],
    )?;
    shop.send_with_headers(
        "/queue/orders",
        "big us",
        &[("region", "us"), ("amount", "900")],
    )?;

    let got = eu_orders.recv_timeout(Duration::from_secs(5))?;
    assert_eq!(got.body_text(), "big eu");
    assert!(eu_orders.recv_timeout(Duration::from_millis(100)).is_err());

    let waiting = broker.queue("/queue/orders");
    let bodies: Vec<String> = waiting
        .waiting
        .iter()
        .map(|m| m.body_text().into_owned())
        .collect();
    assert_eq!(bodies, ["small eu", "big us"]);
    println!("selected: {}; still waiting: {bodies:?}", got.body_text());
    Ok(())
}
