//! Look inside a transaction the application has not committed yet.
//!
//! `cargo run --example inspect_transaction`

use std::time::Duration;

use stompbox::journal::{MessageStatus, TransactionOutcome};
use stompbox::{Broker, Client};

fn main() -> Result<(), stompbox::Error> {
    let broker = Broker::start()?;
    let mut app = Client::connect(broker.addr())?;

    // The application starts a transfer: two messages in one transaction.
    app.begin("transfer-7")?;
    app.send_in("transfer-7", "/queue/debits", "-100")?;
    app.send_in("transfer-7", "/queue/credits", "+100")?;

    // Mid-way, nothing is published yet, and the transaction holds both.
    broker.wait_until(
        |j| j.transactions().iter().any(|t| t.frames.len() == 2),
        Duration::from_secs(1),
    )?;
    let open = &broker.transactions()[0];
    assert_eq!(open.id, "transfer-7");
    assert_eq!(open.frames[1].header("destination"), Some("/queue/credits"));
    // Nothing is published before COMMIT; the journal holds both messages
    // as uncommitted.
    assert!(broker.published().expect("recording is on").is_empty());
    let held = broker.uncommitted().expect("recording is on");
    assert_eq!(held.len(), 2);
    assert!(
        held.iter()
            .all(|m| m.status == MessageStatus::InTransaction)
    );

    // The application crashes before COMMIT: the broker rolls it back.
    drop(app);
    broker.wait_until(
        |j| j.transaction_history().count() == 1,
        Duration::from_secs(1),
    )?;
    let ended = &broker.transaction_history()[0];
    assert_eq!(ended.outcome, TransactionOutcome::RolledBack);
    assert!(broker.queue("/queue/debits").waiting.is_empty());
    println!(
        "transaction {} {} with {} frames",
        ended.id,
        ended.outcome,
        ended.frames.len()
    );
    Ok(())
}
