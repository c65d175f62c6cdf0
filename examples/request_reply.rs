//! Request/reply over a temporary queue: the requester names
//! `/temp-queue/replies` in `reply-to`, the service answers to whatever
//! `reply-to` it received (stompbox rewrites it, as ActiveMQ does, to a
//! name that routes back), and the reply arrives on the requester's own
//! temporary queue.
//!
//! `cargo run --example request_reply`

use std::time::Duration;

use stompbox::{AckMode, Broker, Client};

/// The service under test: answers each request on `/queue/prices` with
/// a price, sent to the request's `reply-to`.
fn price_service(mut client: Client) {
    let request = client.recv_timeout(Duration::from_secs(5)).unwrap();
    let reply_to = request.header("reply-to").expect("a reply-to").to_owned();
    let price = format!("{} costs 42", request.body_text());
    client
        .send_with_headers(&reply_to, price, &[("correlation-id", "1")])
        .unwrap();
}

fn main() -> Result<(), stompbox::Error> {
    let broker = Broker::start()?;
    let mut service = Client::connect(broker.addr())?;
    service.subscribe("/queue/prices", AckMode::Auto)?;
    let worker = std::thread::spawn(move || price_service(service));

    let mut requester = Client::connect(broker.addr())?;
    requester.subscribe("/temp-queue/replies", AckMode::Auto)?;
    requester.send_with_headers(
        "/queue/prices",
        "apple",
        &[("reply-to", "/temp-queue/replies")],
    )?;
    let reply = requester.recv_timeout(Duration::from_secs(5))?;
    worker.join().unwrap();

    assert_eq!(reply.body_text(), "apple costs 42");
    assert_eq!(reply.header("destination"), Some("/temp-queue/replies"));
    // What the service saw: the reply-to rewritten to the requester's queue.
    let request = &broker
        .published_to("/queue/prices")
        .expect("recording is on")[0];
    println!(
        "request reply-to as sent: {:?}; reply: {}",
        request.header("reply-to"),
        reply.body_text()
    );
    Ok(())
}
