//! Drive a consumer with an injected message and wait for its ACK.
//!
//! `cargo run --example wait_for_ack`

use std::thread;
use std::time::Duration;

use stompbox::{AckMode, Broker, Client};

/// The code under test: takes one job, "processes" it, acknowledges it.
fn worker(mut stomp: Client) -> Result<(), stompbox::Error> {
    stomp.subscribe("/queue/jobs", AckMode::ClientIndividual)?;
    let job = stomp.recv()?;
    let _result = job.body_text().to_uppercase();
    stomp.ack(&job)?;
    stomp.disconnect()
}

fn main() -> Result<(), stompbox::Error> {
    let broker = Broker::start()?;
    let consumer = Client::connect(broker.addr())?;
    let worker = thread::spawn(move || worker(consumer));

    // Publish only once the worker listens, as a producer would.
    broker.wait_for_subscription("/queue/jobs", Duration::from_secs(1))?;
    let id = broker.publish("/queue/jobs", "resize image 42");

    let acks = broker.wait_for_acks(1, Duration::from_secs(1))?;
    assert_eq!(acks[0].message_id, id);
    assert!(broker.queue("/queue/jobs").unacked.is_empty());
    worker.join().expect("worker thread")?;
    println!(
        "acked {} on connection {}",
        acks[0].message_id, acks[0].connection
    );
    Ok(())
}
