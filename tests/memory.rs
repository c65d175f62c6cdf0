//! The broker holds what it is sent within bounds counted in bytes (issue
//! 11, items 2 and 3): the journal (transcripts and headers included, each
//! message's body once), each queue, each open transaction, and a
//! broker-wide memory budget they all draw from. A producer that would pass
//! a bound gets an ERROR; nothing is lost silently.
//!
//! The tests read this process's resident memory, so they run one at a time
//! (a lock) and in their own test binary. The budget test's scale is
//! `STOMPBOX_MEMORY_BUDGET_MIB` (default 32; `.ci/run` runs it at 256).

mod support;

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use stompbox::frame::{Command, Frame};
use stompbox::journal::JournalLimits;
use stompbox::{Broker, Client, Error};
use support::Raw;

const MIB: usize = 1024 * 1024;

/// One RSS-measuring test at a time.
fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// This process's resident memory, in bytes (Linux).
fn resident_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// A CONNECT with `headers` headers of about 1000 bytes each (within the
/// default frame limits: 1000 headers, 10 KiB a line) and a wrong passcode.
fn heavy_connect(headers: usize) -> Vec<u8> {
    let mut frame = b"CONNECT\naccept-version:1.2\nhost:h\nlogin:u\npasscode:wrong\n".to_vec();
    for i in 0..headers {
        frame.extend_from_slice(format!("x-{i:04}:").as_bytes());
        frame.extend_from_slice(&[b'h'; 990]);
        frame.push(b'\n');
    }
    frame.extend_from_slice(b"\n\0");
    frame
}

/// Sends one heavy CONNECT and waits for the ERROR that refuses it.
fn refused_connect(broker: &Broker, frame: &[u8]) {
    let mut raw = Raw::connect(broker.addr());
    raw.send(frame);
    let error = raw.frame();
    assert_eq!(error.command(), &Command::Error, "{error}");
}

fn journal_bound(bytes: usize) -> JournalLimits {
    JournalLimits {
        bytes,
        ..JournalLimits::default()
    }
}

#[test]
#[cfg(target_os = "linux")]
fn refused_connects_with_huge_headers_stay_within_the_journal_bound() {
    // 275 such CONNECTs took 2.7 GB: transcripts kept every frame, headers
    // uncounted, for 10,000 closed connections.
    let _serial = serial();
    let bound = 8 * MIB;
    let broker = Broker::builder()
        .user("u", "right")
        .journal_limits(journal_bound(bound))
        .start()
        .unwrap();
    let frame = heavy_connect(900);
    let before = resident_bytes();
    for _ in 0..40 {
        refused_connect(&broker, &frame);
    }
    broker
        .wait_until(|j| j.connections().all(|c| c.closed.is_some()), SECONDS)
        .unwrap();
    let memory = broker.memory();
    assert!(memory.journal <= bound, "{memory}");
    let grown = resident_bytes().saturating_sub(before);
    assert!(
        grown < 3 * bound,
        "40 refused CONNECTs of {} KiB each grew the process by {} MiB",
        frame.len() >> 10,
        grown / MIB
    );
    // The small records stay; the oldest transcripts made room, the newest
    // are still there to read.
    assert_eq!(broker.inspect(|j| j.auth_failures().count()), 40);
    assert!(broker.frames(1).is_none(), "the oldest transcript went");
    let newest = broker.frames(40).expect("the newest transcript stays");
    assert_eq!(newest[0].frame.as_ref().unwrap().headers().len(), 904);
}

const SECONDS: Duration = Duration::from_secs(20);

#[test]
#[cfg(target_os = "linux")]
fn a_body_is_kept_once_and_transcripts_let_go_of_it_with_its_message() {
    // SEND bodies were kept in transcripts beyond the body bound.
    let _serial = serial();
    let bound = 8 * MIB;
    let broker = Broker::builder()
        .journal_limits(journal_bound(bound))
        .start()
        .unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer
        .subscribe("/topic/big", stompbox::AckMode::Auto)
        .unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    let before = resident_bytes();
    for i in 0..30u8 {
        producer
            .send_with_receipt("/topic/big", vec![i; MIB])
            .unwrap();
        assert_eq!(consumer.recv().unwrap().body(), &vec![i; MIB][..]);
    }
    let memory = broker.memory();
    assert!(memory.journal <= bound, "{memory}");
    let grown = resident_bytes().saturating_sub(before);
    assert!(
        grown < 3 * bound,
        "30 MiB through the journal grew the process by {} MiB",
        grown / MIB
    );
    // The producer's transcript still shows every SEND: the old ones with
    // their headers and body gone, the newest whole.
    let sends: Vec<_> = broker
        .frames(producer_id(&broker))
        .unwrap()
        .into_iter()
        .filter(|f| {
            f.frame
                .as_ref()
                .is_some_and(|f| f.command() == &Command::Send)
        })
        .collect();
    assert_eq!(sends.len(), 30);
    assert!(sends[0].message_evicted);
    assert_eq!(
        sends[0].frame.as_ref().unwrap().header("destination"),
        Some("/topic/big")
    );
    assert!(sends[0].frame.as_ref().unwrap().body().is_empty());
    let newest = sends.last().unwrap();
    assert!(!newest.message_evicted);
    assert_eq!(newest.frame.as_ref().unwrap().body(), &vec![29u8; MIB][..]);
    assert!(newest.to_string().ends_with("..."), "{newest}");
}

/// The producer of the last test: the second connection.
fn producer_id(broker: &Broker) -> u64 {
    broker.connections()[1].id
}

#[test]
fn a_queue_without_consumers_is_bounded_in_bytes() {
    // 150 messages of 10 MiB to a queue without a consumer reached 2.25 GB.
    let _serial = serial();
    let broker = Broker::builder().max_queue_bytes(8 * MIB).start().unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    let mut accepted = 0;
    let refused = loop {
        match producer.send_with_receipt("/queue/q", vec![b'x'; MIB]) {
            Ok(()) => accepted += 1,
            Err(e) => break e,
        }
        assert!(accepted < 20, "the queue took {accepted} MiB");
    };
    assert_eq!(
        accepted, 7,
        "7 MiB and their headers fit in 8 MiB, 8 do not"
    );
    let text = refused.to_string();
    assert!(
        text.contains("queue '/queue/q' is full: its waiting messages occupy")
            && text.contains("would pass the bound of 8388608"),
        "{text}"
    );
    // Nothing lost silently: what was accepted waits, what was refused is
    // known to its producer, and another producer can still use the broker.
    assert_eq!(broker.queue("/queue/q").waiting.len(), 7);
    let mut other = Client::connect(broker.addr()).unwrap();
    other.send_with_receipt("/queue/other", "fits").unwrap();
    let mut consumer = Client::connect(broker.addr()).unwrap();
    consumer
        .subscribe("/queue/q", stompbox::AckMode::Auto)
        .unwrap();
    for _ in 0..7 {
        consumer.recv().unwrap();
    }
    // Room again once consumed.
    let mut again = Client::connect(broker.addr()).unwrap();
    broker
        .wait_until(|j| j.memory().queued < MIB, SECONDS)
        .unwrap();
    again
        .send_with_receipt("/queue/q", vec![b'y'; MIB])
        .unwrap();
}

#[test]
fn an_open_transaction_is_bounded_in_bytes() {
    let _serial = serial();
    let broker = Broker::builder()
        .max_transaction_bytes(4 * MIB)
        .start()
        .unwrap();
    let mut producer = Client::connect(broker.addr()).unwrap();
    producer.begin("t").unwrap();
    for _ in 0..3 {
        producer.request(send_in("t", "/queue/q", MIB)).unwrap();
    }
    let refused = producer.request(send_in("t", "/queue/q", MIB)).unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("transaction 't' is full: its messages occupy"),
        "{refused}"
    );
    // The transaction rolled back with the connection: nothing reached the
    // queue, and the journal says why.
    assert!(broker.queue("/queue/q").waiting.is_empty());
    broker
        .wait_until(|j| j.transaction_history().count() == 1, SECONDS)
        .unwrap();
    assert_eq!(broker.memory().in_transactions, 0);
}

/// A SEND in transaction `tx` with a body of `size` bytes.
fn send_in(tx: &str, destination: &str, size: usize) -> Frame {
    Frame::new(Command::Send)
        .with_header("destination", destination)
        .with_header("transaction", tx)
        .with_body(vec![b'x'; size])
}

/// The budget test's scale.
fn budget() -> usize {
    std::env::var("STOMPBOX_MEMORY_BUDGET_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(32)
        * MIB
}

#[test]
#[cfg(target_os = "linux")]
fn a_broker_stays_within_its_memory_budget_under_every_attack() {
    let _serial = serial();
    let budget = budget();
    let broker = Broker::builder()
        .user("u", "right")
        .memory_budget(budget)
        .start()
        .unwrap();
    let before = resident_bytes();
    let bystander = Bystander::start(&broker);
    let body = (budget / 32).max(MIB);

    // Attack 1: refused CONNECTs with heavy headers, twice the budget.
    let frame = heavy_connect(1000);
    for _ in 0..(2 * budget / frame.len()) {
        refused_connect(&broker, &frame);
    }
    within_budget(&broker, before, "heavy refused CONNECTs");

    // Attack 2: queues without consumers, twice the budget, spread over
    // queues so no queue bound stops it first.
    let mut producer = Client::builder()
        .login("u", "right")
        .connect(broker.addr())
        .unwrap();
    let mut refusal = None;
    for i in 0..(2 * budget / body) {
        let queue = format!("/queue/q{}", i % 4);
        if let Err(e) = producer.send_with_receipt(&queue, vec![b'q'; body]) {
            refusal = Some(e);
            break;
        }
    }
    let refusal = refusal.expect("the budget refused a SEND");
    assert!(
        refusal
            .to_string()
            .contains("the broker's memory budget is exhausted"),
        "{refusal}"
    );
    within_budget(&broker, before, "messages on queues without consumers");
    broker.clear_queues();

    // Attack 3: one open transaction, twice the budget.
    let mut producer = Client::builder()
        .login("u", "right")
        .connect(broker.addr())
        .unwrap();
    producer.begin("t").unwrap();
    let refused = (0..(2 * budget / body))
        .find_map(|_| producer.request(send_in("t", "/queue/t", body)).err())
        .expect("a bound refused a SEND");
    assert!(matches!(refused, Error::Refused(_)), "{refused}");
    within_budget(&broker, before, "a growing transaction");

    let worst = bystander.stop();
    assert!(
        worst < Duration::from_secs(2),
        "a bystander's round trip took {worst:?} during the attacks"
    );
}

/// The broker's own count is within its budget, and the process's growth
/// within the budget plus a stated overhead (allocator slack, the test's own
/// buffers).
fn within_budget(broker: &Broker, before: usize, attack: &str) {
    let memory = broker.memory();
    assert!(memory.in_use <= memory.budget, "after {attack}: {memory}");
    let grown = resident_bytes().saturating_sub(before);
    let allowed = memory.budget + memory.budget / 2 + 32 * MIB;
    assert!(
        grown < allowed,
        "after {attack} the process grew by {} MiB, more than {} MiB ({memory})",
        grown / MIB,
        allowed / MIB
    );
}

/// A client doing round trips (SUBSCRIBE and UNSUBSCRIBE, each with a
/// receipt: while the budget is exhausted every SEND is refused, as a real
/// broker's memory alarm stops every publisher) while the attacks run,
/// keeping its slowest.
struct Bystander {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Duration>,
}

impl Bystander {
    fn start(broker: &Broker) -> Bystander {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut client = Client::builder()
            .login("u", "right")
            .connect(broker.addr())
            .unwrap();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut worst = Duration::ZERO;
            let mut sent = 0u64;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) && sent < 1_000_000 {
                let started = Instant::now();
                let id = client
                    .subscribe("/topic/bystander", stompbox::AckMode::Auto)
                    .unwrap_or_else(|e| panic!("bystander's SUBSCRIBE: {e}"));
                client
                    .unsubscribe(&id)
                    .unwrap_or_else(|e| panic!("bystander's UNSUBSCRIBE: {e}"));
                worst = worst.max(started.elapsed());
                sent += 1;
            }
            worst
        });
        Bystander { stop, thread }
    }

    fn stop(self) -> Duration {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}
