//! Read a connection's transcript: every frame in and out, in order.
//!
//! `cargo run --example transcript`

use std::time::Duration;

use stompbox::frame::Command;
use stompbox::journal::Direction;
use stompbox::{AckMode, Broker, Client};

fn main() -> Result<(), stompbox::Error> {
    let broker = Broker::start()?;
    let mut app = Client::builder()
        .login("svc", "secret")
        .heart_beat(0, 1000)
        .connect(broker.addr())?;
    app.subscribe("/topic/prices", AckMode::Auto)?;
    app.send("/topic/prices", "EUR 1.08")?;
    app.recv_timeout(Duration::from_secs(1))?;
    app.disconnect()?;

    let connection = broker.connections()[0].id;
    let frames = broker
        .frames(connection)
        .expect("recording is on by default");
    for entry in &frames {
        println!("{entry}");
    }
    // What the client sent, in order:
    let sent: Vec<Command> = frames
        .iter()
        .filter(|e| e.direction == Direction::In)
        .filter_map(|e| e.frame.as_ref().map(|f| f.command().clone()))
        .collect();
    assert_eq!(
        sent,
        [
            Command::Connect,
            Command::Subscribe,
            Command::Send,
            Command::Disconnect
        ]
    );
    let connect = frames[0].frame.as_ref().expect("a frame");
    assert_eq!(connect.header("login"), Some("svc"));
    Ok(())
}
