//! What the broker records: every item of the journal, read back as plain
//! values.

mod support;

use std::time::Duration;

use rstest::rstest;
use stompbox::fixtures::{broker, broker_with};
use stompbox::frame::Command;
use stompbox::journal::{
    AckKind, CloseReason, Direction, Event, JournalLimits, MessageStatus, Origin,
    TransactionOutcome,
};
use stompbox::{AckMode, Broker, Client, Version};
use support::{PATIENCE, Raw, SECOND};

fn status_of(broker: &Broker, seq: u64) -> MessageStatus {
    broker
        .published()
        .unwrap()
        .into_iter()
        .find(|m| m.seq == seq)
        .expect("message in the journal")
        .status
}

#[rstest]
fn a_send_is_recorded_with_its_headers_body_and_sender(broker: Broker) {
    let mut client = Client::builder()
        .login("alice", "secret")
        .header("client-id", "svc-7")
        .connect(broker.addr())
        .unwrap();
    client
        .send_with_headers("/queue/orders", "order 1", &[("priority", "4")])
        .unwrap();
    let published = broker
        .wait_for_messages("/queue/orders", 1, PATIENCE)
        .unwrap();
    let m = &published[0];
    assert_eq!(m.seq, 1);
    assert_eq!(m.destination, "/queue/orders");
    assert_eq!(m.body_text(), "order 1");
    assert_eq!(m.header("priority"), Some("4"));
    assert_eq!(m.header("destination"), Some("/queue/orders"));
    assert!(m.message_id.starts_with("m-"), "{}", m.message_id);
    assert_eq!(m.transaction, None);
    assert_eq!(
        m.origin,
        Origin::Client {
            connection: 1,
            login: Some("alice".into()),
            client_id: Some("svc-7".into()),
        }
    );
    assert!(!m.is_injected());
    assert_eq!(m.status, MessageStatus::Queued);
    assert!(m.deliveries.is_empty());
}

#[rstest]
fn injected_messages_are_marked(broker: Broker) {
    let id = broker.publish_with("/queue/in", "x", &[("kind", "test")]);
    let m = &broker.published().unwrap()[0];
    assert!(m.is_injected());
    assert_eq!(m.origin, Origin::Injected);
    assert_eq!(m.message_id, id);
    assert_eq!(m.header("kind"), Some("test"));
}

#[rstest]
fn a_message_status_follows_it_from_queue_to_ack(broker: Broker) {
    broker.publish("/queue/q", "x");
    assert_eq!(status_of(&broker, 1), MessageStatus::Queued);
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/q", AckMode::Client).unwrap();
    let msg = consumer.recv_timeout(SECOND).unwrap();
    broker
        .wait_until(|j| j.deliveries().count() == 1, PATIENCE)
        .unwrap();
    assert_eq!(status_of(&broker, 1), MessageStatus::Unacked);
    consumer.ack(&msg).unwrap();
    broker.wait_for_acks(1, PATIENCE).unwrap();
    let m = &broker.published().unwrap()[0];
    assert_eq!(m.status, MessageStatus::Consumed);
    assert_eq!(m.deliveries.len(), 1);
    assert_eq!(m.deliveries[0].connection, 1);
    assert!(!m.deliveries[0].redelivered);
}

#[rstest]
fn a_topic_message_without_subscribers_is_dropped(broker: Broker) {
    broker.publish("/topic/nobody", "lost");
    assert_eq!(status_of(&broker, 1), MessageStatus::Dropped);
}

#[rstest]
fn transactions_mark_their_messages_held_committed_discarded_or_rolled_back(broker: Broker) {
    let mut client = Client::connect(broker.addr()).unwrap();
    client.begin("keep").unwrap();
    client.send_in("keep", "/queue/t", "kept").unwrap();
    client.begin("drop").unwrap();
    client.send_in("drop", "/queue/t", "aborted").unwrap();
    client.begin("lost").unwrap();
    client.send_in("lost", "/queue/t", "rolled back").unwrap();
    broker
        .wait_until(|j| j.uncommitted().count() == 3, PATIENCE)
        .unwrap();
    assert_eq!(
        broker.published(),
        Some(Vec::new()),
        "nothing published yet"
    );
    let held = broker.uncommitted().unwrap();
    assert!(
        held.iter()
            .all(|m| m.status == MessageStatus::InTransaction)
    );
    assert_eq!(held[0].transaction.as_deref(), Some("keep"));
    // Not yet published as far as a wait is concerned either:
    assert!(
        broker
            .wait_for_messages("/queue/t", 1, Duration::from_millis(1))
            .is_err()
    );

    client.commit("keep").unwrap();
    client.abort("drop").unwrap();
    drop(client); // socket closed: "lost" is rolled back
    broker
        .wait_until(|j| j.transaction_history().count() == 3, PATIENCE)
        .unwrap();
    let statuses = |messages: Option<Vec<stompbox::journal::PublishedMessage>>| {
        messages
            .unwrap()
            .iter()
            .map(|m| m.status)
            .collect::<Vec<_>>()
    };
    assert_eq!(statuses(broker.published()), [MessageStatus::Queued]);
    assert_eq!(
        statuses(broker.uncommitted()),
        [MessageStatus::Discarded, MessageStatus::RolledBack]
    );
}

#[rstest]
fn deliveries_and_redeliveries_are_recorded(broker: Broker) {
    broker.publish("/queue/r", "again");
    let mut consumer = Client::connect(broker.addr()).unwrap();
    let sub = consumer
        .subscribe("/queue/r", AckMode::ClientIndividual)
        .unwrap();
    let first = consumer.recv_timeout(SECOND).unwrap();
    consumer.nack(&first).unwrap();
    let second = consumer.recv_timeout(SECOND).unwrap();
    assert!(second.redelivered());
    consumer.ack(&second).unwrap();
    broker.wait_for_acks(1, PATIENCE).unwrap();

    let deliveries = broker.deliveries().unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(
        (deliveries[0].delivery_count, deliveries[0].redelivered),
        (1, false)
    );
    assert_eq!(
        (deliveries[1].delivery_count, deliveries[1].redelivered),
        (2, true)
    );
    assert_eq!(deliveries[1].destination, "/queue/r");
    assert_eq!(deliveries[1].subscription, sub);
    assert_eq!(deliveries[1].seq, 1);
    let kinds: Vec<_> = broker.acks().unwrap().iter().map(|a| a.kind).collect();
    assert_eq!(kinds, [AckKind::Nack, AckKind::Ack]);
    assert_eq!(broker.published().unwrap()[0].deliveries.len(), 2);
}

#[rstest]
fn a_cumulative_ack_settles_every_earlier_message(broker: Broker) {
    for i in 0..3 {
        broker.publish("/queue/c", format!("{i}"));
    }
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/c", AckMode::Client).unwrap();
    let last = (0..3)
        .map(|_| consumer.recv_timeout(SECOND).unwrap())
        .last()
        .unwrap();
    consumer.ack(&last).unwrap();
    let acks = broker.wait_for_acks(3, PATIENCE).unwrap();
    let seqs: Vec<_> = acks.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(acks.iter().all(|a| a.connection == 1));
}

#[rstest]
fn an_ack_in_a_transaction_counts_when_committed(broker: Broker) {
    broker.publish("/queue/a", "x");
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer
        .subscribe("/queue/a", AckMode::ClientIndividual)
        .unwrap();
    let msg = consumer.recv_timeout(SECOND).unwrap();
    consumer.begin("t").unwrap();
    consumer.ack_in("t", &msg).unwrap();
    broker
        .wait_until(
            |j| j.transactions().iter().any(|t| t.frames.len() == 1),
            PATIENCE,
        )
        .unwrap();
    assert!(broker.acks().unwrap().is_empty());
    consumer.commit("t").unwrap();
    let acks = broker.wait_for_acks(1, PATIENCE).unwrap();
    assert_eq!(acks[0].transaction.as_deref(), Some("t"));
}

#[rstest]
fn subscriptions_show_their_counts(broker: Broker) {
    let mut consumer = Client::connect(broker.addr()).unwrap();
    let id = "orders-sub";
    consumer
        .subscribe_with(
            "/queue/s",
            id,
            AckMode::ClientIndividual,
            &[("x-note", "n")],
        )
        .unwrap();
    for i in 0..3 {
        broker.publish("/queue/s", format!("{i}"));
    }
    let got: Vec<_> = (0..3)
        .map(|_| consumer.recv_timeout(SECOND).unwrap())
        .collect();
    consumer.ack(&got[0]).unwrap();
    consumer.nack(&got[1]).unwrap();
    let _redelivered = consumer.recv_timeout(SECOND).unwrap();
    broker
        .wait_until(|j| j.count_acks(AckKind::Nack) == 1, PATIENCE)
        .unwrap();
    let subs = broker.subscriptions();
    assert_eq!(subs.len(), 1);
    let s = &subs[0];
    assert_eq!((s.connection, s.id.as_str()), (1, id));
    assert_eq!(s.destination, "/queue/s");
    assert_eq!(s.ack, AckMode::ClientIndividual);
    assert_eq!(s.headers.get("x-note"), Some("n"));
    assert_eq!((s.delivered, s.acked, s.nacked, s.unacked), (4, 1, 1, 2));

    consumer.unsubscribe(id).unwrap();
    broker
        .wait_until(|j| j.subscriptions().is_empty(), PATIENCE)
        .unwrap();
}

#[rstest]
fn open_transactions_show_their_frames_and_ended_ones_their_outcome(broker: Broker) {
    let mut client = Client::connect(broker.addr()).unwrap();
    client.begin("t1").unwrap();
    client.send_in("t1", "/queue/a", "one").unwrap();
    client.send_in("t1", "/queue/b", "two").unwrap();
    broker
        .wait_until(
            |j| j.transactions().iter().any(|t| t.frames.len() == 2),
            PATIENCE,
        )
        .unwrap();
    let open = broker.transactions();
    assert_eq!((open[0].connection, open[0].id.as_str()), (1, "t1"));
    assert_eq!(open[0].frames[1].header("destination"), Some("/queue/b"));
    assert_eq!(open[0].frames[1].body(), b"two");

    client.commit("t1").unwrap();
    client.begin("t2").unwrap();
    client.abort("t2").unwrap();
    broker
        .wait_until(|j| j.transaction_history().count() == 2, PATIENCE)
        .unwrap();
    assert!(broker.transactions().is_empty());
    let history = broker.transaction_history();
    assert_eq!(history[0].outcome, TransactionOutcome::Committed);
    assert_eq!(history[0].frames.len(), 2);
    assert_eq!(
        (history[1].id.as_str(), history[1].outcome),
        ("t2", TransactionOutcome::Aborted)
    );
}

#[rstest]
fn connections_record_who_and_how(broker: Broker) {
    let client = Client::builder()
        .version(Version::V1_1)
        .login("bob", "pw")
        .header("client-id", "c-1")
        .heart_beat(0, 500)
        .connect(broker.addr())
        .unwrap();
    let conns = broker.wait_for_connections(1, PATIENCE).unwrap();
    let c = &conns[0];
    assert_eq!(c.id, 1);
    assert!(c.peer.ip().is_loopback());
    assert_eq!(c.login.as_deref(), Some("bob"));
    assert_eq!(c.client_id.as_deref(), Some("c-1"));
    assert_eq!(c.version, Some(Version::V1_1));
    assert_eq!(c.heart_beat, (500, 0));
    assert!(c.is_connected());
    client.disconnect().unwrap();
    broker
        .wait_until(|j| j.connections().all(|c| c.closed.is_some()), PATIENCE)
        .unwrap();
    assert_eq!(
        broker.connections()[0].closed.as_ref().unwrap().1,
        CloseReason::Disconnect
    );
}

fn close_reason(broker: &Broker, connection: u64) -> CloseReason {
    broker
        .wait_until(
            |j| {
                j.connections()
                    .any(|c| c.id == connection && c.closed.is_some())
            },
            PATIENCE,
        )
        .unwrap();
    let conns = broker.connections();
    let c = conns.iter().find(|c| c.id == connection).unwrap();
    c.closed.clone().unwrap().1
}

#[rstest]
fn every_close_reason_is_recorded(broker: Broker) {
    // 1: the client closes its socket.
    drop(Client::connect(broker.addr()).unwrap());
    assert_eq!(close_reason(&broker, 1), CloseReason::PeerClosed);
    // 2: the broker sends an ERROR.
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    raw.expect_error(b"BOGUS\n\n\0", "unknown command 'BOGUS'");
    drop(raw); // the broker need not wait for us to read the ERROR
    assert_eq!(
        close_reason(&broker, 2),
        CloseReason::ErrorSent("unknown command 'BOGUS'".into())
    );
    // 3: a client that promised heart-beats falls silent.
    let mut silent = Raw::connect(broker.addr());
    silent.send(b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:20,0\n\n\0");
    assert_eq!(silent.frame().command(), &Command::Connected);
    assert_eq!(silent.frame().header("message"), Some("heart-beat timeout"));
    drop(silent);
    assert_eq!(close_reason(&broker, 3), CloseReason::HeartBeatTimeout);
}

#[test]
fn a_shutdown_is_a_close_reason() {
    let broker = Broker::start().unwrap();
    let events = broker.events();
    let _client = Client::connect(broker.addr()).unwrap();
    broker.wait_for_connections(1, PATIENCE).unwrap();
    drop(broker);
    let reason = events
        .iter()
        .find_map(|e| match e {
            Event::Disconnected { reason, .. } => Some(reason),
            _ => None,
        })
        .expect("a Disconnected event before the channel closed");
    assert_eq!(reason, CloseReason::BrokerShutdown);
}

#[rstest]
fn the_transcript_holds_every_frame_in_and_out(broker: Broker) {
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe("/topic/t", AckMode::Auto).unwrap();
    client.send_with_receipt("/topic/t", "hi").unwrap();
    client.recv_timeout(SECOND).unwrap();
    client.disconnect().unwrap();
    broker
        .wait_until(|j| j.connections().all(|c| c.closed.is_some()), PATIENCE)
        .unwrap();
    let frames = broker.frames(1).unwrap();
    let seen: Vec<(Direction, Command)> = frames
        .iter()
        .map(|f| (f.direction, f.frame.as_ref().unwrap().command().clone()))
        .collect();
    // MESSAGE and RECEIPT go out in either order.
    assert_eq!(
        seen[..5],
        [
            (Direction::In, Command::Connect),
            (Direction::Out, Command::Connected),
            (Direction::In, Command::Subscribe),
            (Direction::Out, Command::Receipt),
            (Direction::In, Command::Send),
        ][..]
    );
    let mut out: Vec<_> = seen[5..7].iter().map(|(_, c)| c.clone()).collect();
    out.sort_by_key(|c| c.to_string());
    assert_eq!(out, [Command::Message, Command::Receipt]);
    assert_eq!(seen[7], (Direction::In, Command::Disconnect));
    let message = frames[5..7]
        .iter()
        .filter_map(|f| f.frame.as_ref())
        .find(|f| f.command() == &Command::Message)
        .unwrap();
    assert_eq!(message.body(), b"hi");
    assert!(frames.windows(2).all(|w| w[0].at <= w[1].at));
    assert_eq!(broker.frames(99), None);
}

#[rstest]
fn heart_beats_are_transcript_entries(broker: Broker) {
    let mut raw = Raw::connect(broker.addr());
    raw.send(b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:0,10\n\n\0");
    raw.frame();
    assert!(raw.wait_heart_beats(2, SECOND));
    raw.send(b"\n");
    broker
        .wait_until(
            |j| {
                let frames = j.frames(1).unwrap_or_default();
                let beats = |d| {
                    frames
                        .iter()
                        .filter(|f| f.frame.is_none() && f.direction == d)
                        .count()
                };
                beats(Direction::Out) >= 2 && beats(Direction::In) == 1
            },
            PATIENCE,
        )
        .unwrap();
}

#[rstest]
fn queue_contents_show_waiting_and_unacked(broker: Broker) {
    broker.publish("/queue/w", "1");
    broker.publish("/queue/w", "2");
    broker.publish("/queue/w", "3");
    let mut consumer = Client::builder()
        .header("x", "y")
        .connect(broker.addr())
        .unwrap();
    consumer
        .subscribe_with(
            "/queue/w",
            "w",
            AckMode::Client,
            &[("activemq.prefetchSize", "1")],
        )
        .unwrap();
    consumer.recv_timeout(SECOND).unwrap();
    broker
        .wait_until(|j| j.deliveries().count() == 1, PATIENCE)
        .unwrap();
    let queue = broker.queue("/queue/w");
    assert_eq!(queue.destination, "/queue/w");
    let body = |m: &stompbox::journal::QueuedMessage| String::from_utf8(m.body.to_vec()).unwrap();
    assert_eq!(queue.unacked.iter().map(body).collect::<Vec<_>>(), ["1"]);
    assert_eq!(
        queue.waiting.iter().map(body).collect::<Vec<_>>(),
        ["2", "3"]
    );
    assert_eq!(broker.queues().len(), 1);
    assert!(broker.queue("/queue/never-used").waiting.is_empty());
}

#[rstest]
fn errors_sent_are_recorded_with_their_receipt(broker: Broker) {
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(Version::V1_2);
    raw.expect_error(b"SEND\nreceipt:r-9\n\n\0", "missing 'destination' header");
    broker
        .wait_until(|j| j.errors_sent().count() == 1, PATIENCE)
        .unwrap();
    let e = &broker.errors_sent()[0];
    assert_eq!(e.connection, 1);
    assert_eq!(e.message, "missing 'destination' header");
    assert_eq!(e.receipt_id.as_deref(), Some("r-9"));
}

#[rstest]
fn the_journal_keeps_only_the_latest_messages(
    #[with(Broker::builder().journal_limits(JournalLimits { messages: 3, frames_per_connection: 4, ..JournalLimits::default() }))]
    broker_with: Broker,
) {
    let broker = broker_with;
    let mut client = Client::connect(broker.addr()).unwrap();
    for i in 1..=10 {
        client.send("/queue/many", format!("{i}")).unwrap();
    }
    client.send_with_receipt("/queue/many", "11").unwrap();
    let kept: Vec<_> = broker.published().unwrap().iter().map(|m| m.seq).collect();
    assert_eq!(kept, [9, 10, 11]);
    assert_eq!(broker.inspect(|j| j.evicted_messages()), 8);
    assert_eq!(broker.frames(1).unwrap().len(), 4);
    // The queue itself still holds all eleven.
    assert_eq!(broker.queue("/queue/many").waiting.len(), 11);
}

/// The transcript bound at its extremes: none kept, or no bound at all;
/// either way the broker goes on serving and records the rest.
#[rstest]
#[case::none_kept(0, 0)]
#[case::unbounded(usize::MAX, 4)]
fn a_transcript_bound_of_zero_or_the_largest_number_works(
    #[case] frames_per_connection: usize,
    #[case] frames: usize,
) {
    let limits = JournalLimits {
        frames_per_connection,
        ..JournalLimits::default()
    };
    let broker = Broker::builder().journal_limits(limits).start().unwrap();
    let mut client = Client::connect(broker.addr()).unwrap();
    client.send_with_receipt("/queue/bound", "x").unwrap();
    // CONNECT, CONNECTED, SEND, RECEIPT.
    assert_eq!(broker.frames(1).unwrap().len(), frames);
    assert_eq!(broker.published().unwrap().len(), 1);
}

#[rstest]
fn with_recording_off_only_the_live_state_is_kept(
    #[with(Broker::builder().recording(false))] broker_with: Broker,
) {
    let broker = broker_with;
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe("/queue/off", AckMode::Auto).unwrap();
    client.send_with_receipt("/queue/off", "x").unwrap();
    client.recv_timeout(SECOND).unwrap();
    assert_eq!(broker.published(), None, "off is not the same as empty");
    assert_eq!(broker.deliveries(), None);
    assert_eq!(broker.acks(), None);
    assert_eq!(broker.frames(1), None);
    assert_eq!(broker.connections().len(), 1);
    assert_eq!(broker.subscriptions()[0].destination, "/queue/off");
    let err = broker
        .wait_for_messages("/queue/off", 1, Duration::from_millis(1))
        .unwrap_err();
    assert!(err.to_string().contains("recording is off"), "{err}");
}

#[rstest]
fn reset_forgets_history_but_keeps_live_state_and_queues(broker: Broker) {
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe("/topic/keep", AckMode::Auto).unwrap();
    client.send_with_receipt("/queue/old", "old").unwrap();
    broker.reset();
    assert!(broker.published().unwrap().is_empty());
    assert!(broker.frames(1).unwrap().is_empty());
    assert_eq!(broker.subscriptions().len(), 1);
    assert_eq!(broker.connections().len(), 1);
    assert_eq!(broker.queue("/queue/old").waiting.len(), 1);
    client.send_with_receipt("/queue/new", "new").unwrap();
    assert_eq!(broker.published().unwrap()[0].body_text(), "new");
    broker.clear_queues();
    assert!(broker.queue("/queue/old").waiting.is_empty());
}
