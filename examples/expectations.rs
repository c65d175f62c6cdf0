//! Expectations checked when the broker is dropped, as wiremock does.
//!
//! `cargo run --example expectations`

use std::time::Duration;

use stompbox::{AckMode, Broker, Client, Expectation};

/// The code under test: forwards valid readings, acks everything.
fn relay(stomp: &mut Client, count: usize) -> Result<(), stompbox::Error> {
    for _ in 0..count {
        let reading = stomp.recv_timeout(Duration::from_secs(1))?;
        if reading.body_text().parse::<f64>().is_ok() {
            stomp.send("/topic/readings", reading.body().to_vec())?;
        }
        stomp.ack(&reading)?;
    }
    Ok(())
}

fn main() -> Result<(), stompbox::Error> {
    let broker = Broker::start()?;
    broker.expect(
        Expectation::published("/topic/readings")
            .times(2)
            .named("valid readings are relayed"),
    );
    broker.expect(Expectation::never_published("/queue/alerts"));
    broker.expect(Expectation::all_acked());
    broker.expect(Expectation::no_errors());

    let mut app = Client::connect(broker.addr())?;
    app.subscribe("/queue/raw", AckMode::ClientIndividual)?;
    for body in ["20.5", "garbage", "21.0"] {
        broker.publish("/queue/raw", body);
    }
    relay(&mut app, 3)?;
    app.disconnect()?;

    // A phase of its own: checked when the guard goes out of scope.
    {
        let _quiet = broker.expect_scoped(Expectation::published("/topic/readings").times(0));
    }
    println!("all expectations met");
    Ok(()) // `broker` dropped here: stops, then checks; panics if one is unmet
}
