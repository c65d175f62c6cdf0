//! Faults on demand (issue 13): each kind, each count rule, the connection
//! matchers, and kicking, against real sockets.

mod support;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use stompbox::frame::Command;
use stompbox::journal::{CloseReason, Direction};
use stompbox::{AckMode, Broker, Client, Error, Fault};
use support::{PATIENCE, QUIET, Raw, SECOND};

/// A client with a short patience, for frames that should not come.
fn impatient(broker: &Broker) -> Client {
    Client::builder()
        .timeout(Duration::from_millis(300))
        .connect(broker.addr())
        .unwrap()
}

/// Waits until connection `id` has closed, and returns why.
fn close_reason(broker: &Broker, id: u64) -> CloseReason {
    broker
        .wait_until(
            |j| j.connections().any(|c| c.id == id && c.closed.is_some()),
            PATIENCE,
        )
        .unwrap();
    let info = broker.connections().into_iter().find(|c| c.id == id);
    info.and_then(|c| c.closed)
        .map(|(_, reason)| reason)
        .unwrap()
}

fn last_connection(broker: &Broker) -> u64 {
    broker.connections().last().unwrap().id
}

#[test]
fn a_dropped_client_acked_message_is_redelivered_after_the_consumer_reconnects() {
    let broker = Broker::start().unwrap();
    let lost = broker.inject(Fault::drop().outbound(Command::Message));
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer
        .subscribe("/queue/orders", AckMode::ClientIndividual)
        .unwrap();
    broker.publish("/queue/orders", "order 1");
    lost.wait_fired(1, PATIENCE).unwrap();
    assert!(
        consumer.recv_timeout(QUIET).is_err(),
        "the MESSAGE was lost"
    );
    assert_eq!(lost.hits()[0].destination.as_deref(), Some("/queue/orders"));
    consumer.disconnect().unwrap();

    let mut again = Client::connect(broker.addr()).unwrap();
    again
        .subscribe("/queue/orders", AckMode::ClientIndividual)
        .unwrap();
    let message = again.recv_timeout(PATIENCE).unwrap();
    assert_eq!(message.body_text(), "order 1");
    assert!(message.redelivered(), "{:?}", message.frame());
    assert_eq!(lost.hits()[0].message_id.as_deref(), message.message_id());
}

#[test]
fn a_dropped_inbound_send_is_never_published_nor_receipted() {
    let broker = Broker::start().unwrap();
    let lost = broker.inject(Fault::drop().inbound(Command::Send));
    let mut client = impatient(&broker);
    let err = client.send_with_receipt("/queue/a", "lost").unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    client.send_with_receipt("/queue/a", "kept").unwrap();
    let published = broker.published().unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(&published[0].body[..], b"kept");
    assert_eq!(lost.fired(), 1);
    assert_eq!(lost.hits()[0].direction, Some(Direction::In));
}

#[test]
fn counts_skip_the_first_matches_then_act_the_times_asked() {
    let broker = Broker::start().unwrap();
    let third = broker.inject(
        Fault::drop()
            .outbound(Command::Message)
            .on_destination("/queue/n")
            .after(2)
            .times(1),
    );
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/n", AckMode::Auto).unwrap();
    for n in 1..=5 {
        broker.publish("/queue/n", n.to_string());
    }
    let got: Vec<String> = (0..4)
        .map(|_| {
            consumer
                .recv_timeout(PATIENCE)
                .unwrap()
                .body_text()
                .into_owned()
        })
        .collect();
    assert_eq!(got, ["1", "2", "4", "5"]);
    assert_eq!(third.fired(), 1);
}

#[test]
fn a_fault_ends_when_its_handle_is_dropped() {
    let broker = Broker::start().unwrap();
    let mut client = impatient(&broker);
    let lost = broker.inject(Fault::drop().outbound(Command::Receipt).always());
    assert!(client.send_with_receipt("/queue/a", "1").is_err());
    drop(lost);
    client.send_with_receipt("/queue/a", "2").unwrap();
}

/// Which of 40 MESSAGEs a broker seeded with `seed` drops with p = 0.5.
fn dropped_with_seed(seed: u64) -> Vec<String> {
    let broker = Broker::builder().seed(seed).start().unwrap();
    let fault = broker.inject(
        Fault::drop()
            .outbound(Command::Message)
            .on_destination("/queue/p")
            .always()
            .with_probability(0.5),
    );
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer.subscribe("/queue/p", AckMode::Auto).unwrap();
    consumer.subscribe("/queue/end", AckMode::Auto).unwrap();
    for n in 0..40 {
        broker.publish("/queue/p", n.to_string());
    }
    // Written after the 40 were judged, and never dropped.
    broker.publish("/queue/end", "end");
    let mut received = Vec::new();
    loop {
        let message = consumer.recv_timeout(PATIENCE).unwrap();
        if message.destination() == Some("/queue/end") {
            break;
        }
        received.push(message.body_text().into_owned());
    }
    let dropped: Vec<String> = (0..40)
        .map(|n| n.to_string())
        .filter(|n| !received.contains(n))
        .collect();
    assert_eq!(fault.fired(), dropped.len());
    dropped
}

#[test]
fn a_probability_replays_from_the_brokers_seed() {
    let first = dropped_with_seed(2026);
    assert!(
        (5..35).contains(&first.len()),
        "about half of 40 dropped: {first:?}"
    );
    assert_eq!(first, dropped_with_seed(2026), "same seed, same drops");
    assert_ne!(first, dropped_with_seed(2027));
}

#[test]
fn a_delay_holds_its_connection_only() {
    let broker = Broker::start().unwrap();
    let mut slow = Client::connect(broker.addr()).unwrap();
    let slow_id = last_connection(&broker);
    let mut bystander = Client::connect(broker.addr()).unwrap();
    let by = Duration::from_millis(400);
    let _delay = broker.inject(
        Fault::delay(by)
            .outbound(Command::Receipt)
            .connection(slow_id)
            .always(),
    );
    let waiting = std::thread::spawn(move || {
        let started = Instant::now();
        slow.send_with_receipt("/queue/a", "slow").unwrap();
        started.elapsed()
    });
    // The bystander's round trips while the slow one waits.
    let started = Instant::now();
    for _ in 0..5 {
        bystander.send_with_receipt("/queue/b", "quick").unwrap();
    }
    let bystander_took = started.elapsed();
    let slow_took = waiting.join().unwrap();
    assert!(
        slow_took >= by,
        "the delayed RECEIPT came after {slow_took:?}"
    );
    assert!(
        bystander_took < by / 2,
        "five bystander round trips took {bystander_took:?} while another connection was delayed"
    );
}

#[test]
fn jitter_delays_within_its_range() {
    let broker = Broker::start().unwrap();
    let (min, max) = (Duration::from_millis(30), Duration::from_millis(60));
    let jitter = broker.inject(Fault::jitter(min, max).outbound(Command::Receipt).always());
    let mut client = Client::connect(broker.addr()).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        client.send_with_receipt("/queue/a", "x").unwrap();
        assert!(started.elapsed() >= min, "{:?}", started.elapsed());
    }
    assert_eq!(jitter.fired(), 3);
}

#[test]
fn a_duplicated_message_arrives_twice_with_one_message_id() {
    let broker = Broker::start().unwrap();
    let _twice = broker.inject(Fault::duplicate().outbound(Command::Message));
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe("/queue/d", AckMode::Auto).unwrap();
    broker.publish("/queue/d", "once");
    broker.publish("/queue/d", "next");
    let first = client.recv_timeout(PATIENCE).unwrap();
    let second = client.recv_timeout(PATIENCE).unwrap();
    let third = client.recv_timeout(PATIENCE).unwrap();
    assert_eq!(first.message_id(), second.message_id());
    assert_eq!(second.body_text(), "once");
    assert_eq!(third.body_text(), "next");
}

#[test]
fn an_error_answers_an_inbound_frame_with_its_receipt_id_and_closes() {
    let broker = Broker::start().unwrap();
    let _refuse = broker.inject(Fault::error("try later").inbound(Command::Begin));
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(stompbox::Version::V1_2);
    let error = raw.expect_error(b"BEGIN\ntransaction:t1\nreceipt:r-9\n\n\0", "try later");
    assert_eq!(error.header("receipt-id"), Some("r-9"));
    assert!(broker.transactions().is_empty(), "the BEGIN had no effect");
    let id = last_connection(&broker);
    drop(raw); // or the broker lingers a second for the client to go
    assert_eq!(
        close_reason(&broker, id),
        CloseReason::ErrorSent("try later".into())
    );
}

#[test]
fn an_error_instead_of_a_message_returns_it_to_its_queue() {
    let broker = Broker::start().unwrap();
    let _error = broker.inject(Fault::error("gateway failure").outbound(Command::Message));
    let mut first = Client::connect(broker.addr()).unwrap();
    first.subscribe("/queue/e", AckMode::Client).unwrap();
    broker.publish("/queue/e", "survives");
    let err = first.recv_timeout(PATIENCE).unwrap_err();
    assert_eq!(err.to_string(), "broker sent ERROR: gateway failure");
    let mut second = Client::connect(broker.addr()).unwrap();
    second.subscribe("/queue/e", AckMode::Client).unwrap();
    assert_eq!(
        second.recv_timeout(PATIENCE).unwrap().body_text(),
        "survives"
    );
}

#[test]
fn an_error_instead_of_a_durable_subscribers_message_keeps_it_for_the_subscription() {
    let broker = Broker::start().unwrap();
    let _error = broker.inject(Fault::error("gateway failure").outbound(Command::Message));
    let durable = [("activemq.subscriptionName", "nightly")];
    let connect = || {
        Client::builder()
            .header("client-id", "reports")
            .connect(broker.addr())
            .unwrap()
    };
    let mut first = connect();
    first
        .subscribe_with("/topic/d", "s", AckMode::Auto, &durable)
        .unwrap();
    broker.publish("/topic/d", "kept");
    let err = first.recv_timeout(PATIENCE).unwrap_err();
    assert_eq!(err.to_string(), "broker sent ERROR: gateway failure");
    // Back on the durable subscription's queue, not on one named after the
    // topic. The writer hands the unsent delivery back as it ends, which can
    // be after the subscriber is marked gone: wait for both.
    broker
        .wait_until(
            |j| {
                j.durable_subscriptions()
                    .iter()
                    .all(|d| d.active.is_none() && d.waiting == 1)
            },
            PATIENCE,
        )
        .unwrap();
    let queues = broker.inspect(|j| j.queues());
    assert!(
        !queues.iter().any(|q| q.destination == "/topic/d"),
        "{queues:?}"
    );
    let mut again = connect();
    again
        .subscribe_with("/topic/d", "s", AckMode::Auto, &durable)
        .unwrap();
    assert_eq!(again.recv_timeout(PATIENCE).unwrap().body_text(), "kept");
}

#[test]
fn a_close_after_an_outbound_frame_writes_it_first_then_fins() {
    let broker = Broker::start().unwrap();
    let _close = broker.inject(Fault::close().outbound(Command::Connected));
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(stompbox::Version::V1_2);
    assert!(raw.closed_within(SECOND), "a clean close after CONNECTED");
    let reason = close_reason(&broker, last_connection(&broker));
    assert!(
        matches!(&reason, CloseReason::Fault(f) if f.contains("close outbound CONNECTED")),
        "{reason:?}"
    );
}

#[test]
fn a_reset_after_an_inbound_send_publishes_it_then_resets() {
    use std::io::Read;
    let broker = Broker::start().unwrap();
    let _reset = broker.inject(Fault::reset().inbound(Command::Send));
    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(stompbox::Version::V1_2);
    raw.send(b"SEND\ndestination:/queue/r\n\nbefore the crash\0");
    raw.stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let mut buf = [0u8; 64];
    let err = raw.stream.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    let published = broker.wait_for_messages("/queue/r", 1, PATIENCE).unwrap();
    assert_eq!(&published[0].body[..], b"before the crash");
}

#[test]
fn split_frames_arrive_whole() {
    let broker = Broker::start().unwrap();
    let pieces = broker.inject(Fault::split(2).outbound(Command::Message).always());
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe("/queue/s", AckMode::Auto).unwrap();
    let body = "a body cut into pieces of one or two bytes";
    for _ in 0..3 {
        broker.publish("/queue/s", body);
    }
    for _ in 0..3 {
        assert_eq!(client.recv_timeout(PATIENCE).unwrap().body_text(), body);
    }
    assert_eq!(pieces.fired(), 3);
}

#[test]
fn a_throttle_paces_the_bytes() {
    let broker = Broker::start().unwrap();
    let _slow = broker.inject(Fault::throttle(4_000).outbound(Command::Message));
    let mut client = Client::connect(broker.addr()).unwrap();
    client.subscribe("/queue/t", AckMode::Auto).unwrap();
    let started = Instant::now();
    broker.publish("/queue/t", vec![b'x'; 2_000]);
    assert_eq!(client.recv_timeout(PATIENCE).unwrap().body().len(), 2_000);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(450),
        "2 kB at 4 kB/s took {took:?}"
    );
}

#[test]
fn a_corrupt_frame_is_a_malformed_frame_to_the_client() {
    let broker = Broker::start().unwrap();
    let _bad = broker.inject(Fault::corrupt().outbound(Command::Receipt));
    let mut client = Client::connect(broker.addr()).unwrap();
    let err = client.send_with_receipt("/queue/a", "x").unwrap_err();
    assert!(matches!(err, Error::Frame(_)), "{err:?}");
}

#[test]
fn stopped_heart_beats_go_silent_and_ignore_a_silent_client() {
    let broker = Broker::start().unwrap();
    let mut raw = Raw::connect(broker.addr());
    raw.send(b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:100,100\n\n\0");
    raw.frame();
    assert!(
        raw.wait_heart_beats(1, SECOND),
        "heart-beats before the fault"
    );
    let quiet = broker.inject(Fault::stop_heart_beats());
    quiet.wait_fired(1, PATIENCE).unwrap();
    let before = raw.heart_beats;
    // The client sends nothing for five times its interval: without the
    // fault it would be closed after two, and the broker would beat.
    assert!(raw.try_frame(Duration::from_millis(500)).is_none());
    assert!(
        raw.heart_beats <= before + 1,
        "at most one already on its way"
    );
    assert!(broker.connections()[0].is_connected());
    drop(quiet);
    raw.send(b"\n");
    assert!(
        raw.wait_heart_beats(raw.heart_beats + 1, SECOND),
        "they resume"
    );
}

#[test]
fn a_black_hole_neither_reads_nor_writes_until_removed() {
    let broker = Broker::start().unwrap();
    let mut client = impatient(&broker);
    let hole = broker.inject(Fault::black_hole());
    let err = client.send_with_receipt("/queue/h", "held").unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err}");
    assert_eq!(hole.fired(), 1);
    assert_eq!(broker.published().unwrap().len(), 0, "not read");
    drop(hole);
    broker.wait_for_messages("/queue/h", 1, PATIENCE).unwrap();
    client.send_with_receipt("/queue/h", "after").unwrap();
}

#[test]
fn a_black_hole_lets_go_at_shutdown() {
    let broker = Broker::start().unwrap();
    let mut client = impatient(&broker);
    let _hole = broker.inject(Fault::black_hole().always());
    assert!(client.send_with_receipt("/queue/h", "held").is_err());
    let started = Instant::now();
    drop(broker);
    assert!(
        started.elapsed() < SECOND,
        "shutdown took {:?}",
        started.elapsed()
    );
}

#[test]
fn connection_matchers_pick_clients_by_login_and_client_id() {
    let broker = Broker::start().unwrap();
    let _lost = broker.inject(
        Fault::drop()
            .outbound(Command::Receipt)
            .client_id("flaky")
            .always(),
    );
    let mut flaky = Client::builder()
        .header("client-id", "flaky")
        .timeout(Duration::from_millis(300))
        .connect(broker.addr())
        .unwrap();
    let mut steady = Client::builder()
        .header("client-id", "steady")
        .connect(broker.addr())
        .unwrap();
    assert!(flaky.send_with_receipt("/queue/a", "1").is_err());
    steady.send_with_receipt("/queue/a", "2").unwrap();

    let _quiet = broker.inject(Fault::black_hole().login("bob"));
    let mut alice = Client::builder()
        .login("alice", "pw")
        .connect(broker.addr())
        .unwrap();
    alice.send_with_receipt("/queue/a", "3").unwrap();
}

#[test]
fn a_rule_that_cannot_act_is_refused_saying_why() {
    let broker = Broker::start().unwrap();
    let err = broker
        .try_inject(Fault::black_hole().inbound(Command::Send))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid broker settings: cannot inject 'black hole inbound SEND, once': \
         a black hole fault acts on whole connections: it takes no frame matcher"
    );
}

#[test]
fn a_kick_closes_with_or_without_an_error_and_queue_messages_go_back() {
    let broker = Broker::start().unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    let id = last_connection(&broker);
    consumer.subscribe("/queue/k", AckMode::Client).unwrap();
    broker.publish("/queue/k", "unacked");
    consumer.recv_timeout(PATIENCE).unwrap();
    assert!(broker.kick(id, Some("server maintenance")));
    let err = consumer.recv_timeout(PATIENCE).unwrap_err();
    assert_eq!(err.to_string(), "broker sent ERROR: server maintenance");
    assert_eq!(close_reason(&broker, id), CloseReason::Kicked);
    assert!(!broker.kick(id, None), "no longer open");

    let mut raw = Raw::connect(broker.addr());
    raw.connect_v(stompbox::Version::V1_2);
    let raw_id = last_connection(&broker);
    raw.send(b"SUBSCRIBE\nid:1\ndestination:/queue/k\nack:client\n\n\0");
    assert_eq!(raw.frame().body_text(), "unacked", "returned to its queue");
    assert!(broker.kick(raw_id, None));
    assert!(raw.closed_within(SECOND), "a close without a frame");
    assert_eq!(close_reason(&broker, raw_id), CloseReason::Kicked);
}

#[test]
fn a_paused_broker_refuses_connections_while_open_ones_go_on() {
    let broker = Broker::builder().ws_port(0).start().unwrap();
    let mut open = Client::connect(broker.addr()).unwrap();
    broker.pause_accepting();
    for addr in [broker.addr(), broker.ws_addr().unwrap()] {
        let err = std::net::TcpStream::connect(addr).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{addr}");
    }
    open.send_with_receipt("/queue/a", "still served").unwrap();
    broker.resume_accepting().unwrap();
    Client::connect(broker.addr()).unwrap();
    Client::connect(broker.ws_addr().unwrap()).unwrap_err(); // WebSocket only, but listening
}

#[test]
fn a_restart_closes_every_connection_and_listens_again_on_the_same_port() {
    let broker = Broker::start().unwrap();
    let events = broker.events();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    let consumer_id = last_connection(&broker);
    consumer.subscribe("/queue/r", AckMode::Client).unwrap();
    broker.publish("/queue/r", "unacked");
    broker.publish("/queue/nobody", "waiting");
    assert_eq!(
        consumer.recv_timeout(PATIENCE).unwrap().body_text(),
        "unacked"
    );
    broker.restart().unwrap();
    let closed = consumer.recv_timeout(PATIENCE);
    assert!(
        matches!(closed, Err(Error::Closed | Error::Io(_))),
        "{closed:?}"
    );
    assert_eq!(close_reason(&broker, consumer_id), CloseReason::Restart);
    assert_eq!(broker.inspect(|j| j.restarts().len()), 1);
    assert!(
        events
            .try_iter()
            .any(|e| e == stompbox::journal::Event::Restarted { queues_kept: true })
    );

    let mut again = Client::connect(broker.addr()).unwrap();
    again.subscribe("/queue/r", AckMode::Client).unwrap();
    let first = again.recv_timeout(PATIENCE).unwrap();
    assert_eq!(first.body_text(), "unacked");
    assert!(first.redelivered());
    again.subscribe("/queue/nobody", AckMode::Auto).unwrap();
    assert_eq!(
        again.recv_timeout(PATIENCE).unwrap().body_text(),
        "waiting",
        "queues kept"
    );
}

#[test]
fn a_restart_may_wipe_the_queues() {
    let broker = Broker::start().unwrap();
    broker.publish("/queue/w", "lost in the restart");
    broker
        .restart_with(stompbox::Restart::default().wiping_queues())
        .unwrap();
    assert!(broker.queue("/queue/w").waiting.is_empty());
    assert_eq!(broker.published().unwrap().len(), 1, "the journal keeps it");
}

#[test]
fn while_a_restart_is_down_connecting_is_refused() {
    let broker = std::sync::Arc::new(Broker::start().unwrap());
    let addr = broker.addr();
    let restarting = {
        let broker = broker.clone();
        std::thread::spawn(move || broker.restart_after(Duration::from_millis(300)).unwrap())
    };
    let deadline = Instant::now() + PATIENCE;
    let refused = loop {
        match std::net::TcpStream::connect(addr) {
            Err(e) => break e,
            // Paced, one attempt a millisecond: a tight loop of connections
            // leaves thousands in TIME_WAIT and can use up the ephemeral
            // ports on a loaded machine (then the error is not a refusal).
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(1)),
            Ok(_) => panic!("never refused"),
        }
    };
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    restarting.join().unwrap();
    Client::connect(addr).unwrap().disconnect().unwrap();
}

#[test]
fn failure_reports_name_the_seed_and_what_the_faults_did() {
    let broker = Broker::builder().seed(42).start().unwrap();
    let lost = broker.inject(Fault::drop().inbound(Command::Send));
    let mut client = Client::connect(broker.addr()).unwrap();
    client.send("/queue/orders", "lost").unwrap();
    lost.wait_fired(1, PATIENCE).unwrap();
    drop(lost);
    let err = broker
        .wait_for_messages("/queue/orders", 1, Duration::from_millis(50))
        .unwrap_err();
    let report = err.to_string();
    assert!(report.contains("faults (seed 42):"), "{report}");
    assert!(
        report
            .contains("fault 1 (drop inbound SEND, once): on connection 1: <- SEND /queue/orders"),
        "{report}"
    );
    assert_eq!(broker.fault_hits()[0].fault, 1);
}

#[test]
fn a_kick_ends_a_long_delay_at_once() {
    let broker = Broker::start().unwrap();
    let _slow = broker.inject(Fault::delay(Duration::from_secs(60)).outbound(Command::Receipt));
    let mut client = Client::connect(broker.addr()).unwrap();
    let id = last_connection(&broker);
    client
        .send_frame(
            &stompbox::frame::Frame::new(Command::Send)
                .with_header("destination", "/queue/a")
                .with_header("receipt", "r"),
        )
        .unwrap();
    broker.wait_for_messages("/queue/a", 1, PATIENCE).unwrap();
    let started = Instant::now();
    assert!(broker.kick(id, None));
    assert_eq!(close_reason(&broker, id), CloseReason::Kicked);
    assert!(
        started.elapsed() < SECOND,
        "the kicked connection ended after {:?}",
        started.elapsed()
    );
}
