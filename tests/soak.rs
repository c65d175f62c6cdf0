//! Soak: clients that vanish at random points (mid-transaction, with unacked
//! messages, in the middle of writing a frame). At the end every queue
//! message was acked exactly once, no transaction was half-applied, and no
//! thread or socket is left over.
//!
//! A short run is part of the suite; `cargo test --release --test soak --
//! --ignored` runs the long one for `STOMPBOX_SOAK_SECS` seconds (default 60).

mod support;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::{Duration, Instant};

use stompbox::frame::{Command, Frame};
use stompbox::journal::{AckKind, JournalLimits, MessageStatus};
use stompbox::{Broker, Version};
use support::Raw;

const QUEUE: &str = "/queue/soak";
const PATIENCE: Duration = Duration::from_secs(30);

/// A small deterministic random number generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// A raw client, so it can stop anywhere, even inside a frame.
struct Conn {
    raw: Raw,
    /// Frames read while waiting for a RECEIPT.
    early: VecDeque<Frame>,
}

impl Conn {
    fn open(addr: SocketAddr) -> Conn {
        let mut raw = Raw::connect(addr);
        raw.connect_v(Version::V1_2);
        Conn {
            raw,
            early: VecDeque::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.raw.send(bytes);
    }

    /// The next frame within `timeout`; `None` if none came.
    fn frame(&mut self, timeout: Duration) -> Option<Frame> {
        self.early
            .pop_front()
            .or_else(|| self.raw.try_frame(timeout))
    }

    /// Waits for the RECEIPT `id`; MESSAGEs that come first are kept.
    fn receipt(&mut self, id: &str) {
        loop {
            let frame = self.raw.try_frame(PATIENCE).expect("a RECEIPT");
            if frame.command() == &Command::Message {
                self.early.push_back(frame);
                continue;
            }
            assert_eq!(frame.header("receipt-id"), Some(id), "{frame}");
            return;
        }
    }

    /// Ends the connection the way `how` says: 0 clean, 1 abrupt, 2 mid-frame.
    fn end(mut self, how: u64) {
        match how {
            0 => {
                self.write(b"DISCONNECT\nreceipt:bye\n\n\0");
                self.receipt("bye");
            }
            1 => {}
            _ => self.write(b"SEND\ndestination:/queue/soak\ncontent-le"),
        }
        let _ = self.raw.stream.shutdown(Shutdown::Both);
    }
}

/// A producer: a transaction of 1 to 3 messages, committed (with a receipt,
/// so it surely applied), aborted, or abandoned with the connection.
fn produce(addr: SocketAddr, rng: &mut Rng, tag: &str) {
    let mut conn = Conn::open(addr);
    conn.write(format!("BEGIN\ntransaction:{tag}\n\n\0").as_bytes());
    for j in 0..=rng.below(3) {
        conn.write(
            format!("SEND\ndestination:{QUEUE}\ntransaction:{tag}\n\n{tag}-{j}\0").as_bytes(),
        );
    }
    match rng.below(4) {
        0 | 1 => {
            conn.write(format!("COMMIT\ntransaction:{tag}\nreceipt:c\n\n\0").as_bytes());
            conn.receipt("c");
        }
        2 => conn.write(format!("ABORT\ntransaction:{tag}\n\n\0").as_bytes()),
        _ => {} // vanish with the transaction open
    }
    conn.end(rng.below(3));
}

/// A consumer: takes a few messages, acks some, then goes, cleanly or not.
fn consume(addr: SocketAddr, rng: &mut Rng) {
    let mut conn = Conn::open(addr);
    conn.write(
        b"SUBSCRIBE\nid:s\ndestination:/queue/soak\nack:client-individual\nreceipt:sub\n\n\0",
    );
    conn.receipt("sub");
    for _ in 0..rng.below(5) {
        let Some(message) = conn.frame(Duration::from_millis(20)) else {
            break;
        };
        let ack = message.header("ack").expect("an ack header").to_owned();
        match rng.below(4) {
            0 | 1 => conn.write(format!("ACK\nid:{ack}\n\n\0").as_bytes()),
            2 => {
                conn.write(format!("ACK\nid:{ack}").as_bytes()); // cut mid-frame
                return conn.end(1);
            }
            _ => {} // leave it unacked
        }
    }
    conn.end(rng.below(3));
}

fn count(path: &str) -> usize {
    std::fs::read_dir(path).map(|d| d.count()).unwrap_or(0)
}

fn soak(workers: u64, budget: Duration) {
    let threads_before = count("/proc/self/task");
    let fds_before = count("/proc/self/fd");
    // Workers vanish holding messages again and again: no redelivery limit,
    // so every message ends consumed rather than on the dead-letter queue.
    let broker = Broker::builder()
        .max_redeliveries(None)
        .journal_limits(JournalLimits {
            messages: 10_000_000,
            closed: 10_000_000,
            frames_per_connection: 100,
            ..JournalLimits::default()
        })
        .start()
        .unwrap();
    let addr = broker.addr();
    let seed = std::env::var("STOMPBOX_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_u64);
    let deadline = Instant::now() + budget;
    let handles: Vec<_> = (0..workers)
        .map(|w| {
            thread::spawn(move || {
                let mut rng = Rng(seed.wrapping_add(w).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
                let mut round = 0;
                while Instant::now() < deadline {
                    if rng.below(2) == 0 {
                        produce(addr, &mut rng, &format!("w{w}r{round}"));
                    } else {
                        consume(addr, &mut rng);
                    }
                    round += 1;
                }
                round
            })
        })
        .collect();
    let rounds: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    broker
        .wait_until(|j| j.connections().all(|c| c.closed.is_some()), PATIENCE)
        .unwrap();

    // Drain what is left.
    let mut drain = Conn::open(addr);
    drain.write(b"SUBSCRIBE\nid:d\ndestination:/queue/soak\nack:client-individual\n\n\0");
    while !broker.queue(QUEUE).waiting.is_empty() || !broker.queue(QUEUE).unacked.is_empty() {
        if let Some(message) = drain.frame(Duration::from_millis(200)) {
            let ack = message.header("ack").unwrap().to_owned();
            drain.write(format!("ACK\nid:{ack}\n\n\0").as_bytes());
        }
    }
    drain.end(0);

    let (published, acks, history) = broker.inspect(|j| {
        let published: Vec<_> = j.published().chain(j.uncommitted()).collect();
        let mut acks: HashMap<u64, usize> = HashMap::new();
        for a in j.acks().filter(|a| a.kind == AckKind::Ack) {
            *acks.entry(a.seq).or_default() += 1;
        }
        (published, acks, j.transaction_history().count())
    });
    assert!(broker.transactions().is_empty(), "no transaction left open");
    let mut by_transaction: BTreeMap<&str, Vec<MessageStatus>> = BTreeMap::new();
    for m in &published {
        by_transaction
            .entry(m.transaction.as_deref().unwrap_or_default())
            .or_default()
            .push(m.status);
        match m.status {
            MessageStatus::Consumed => {
                assert_eq!(acks.get(&m.seq), Some(&1), "{m}: acked exactly once")
            }
            MessageStatus::Discarded | MessageStatus::RolledBack => {
                assert!(m.deliveries.is_empty(), "{m}: never delivered");
                assert_eq!(acks.get(&m.seq), None);
            }
            other => panic!("{m}: left {other} after the drain"),
        }
    }
    for (tx, statuses) in &by_transaction {
        assert!(
            statuses.windows(2).all(|w| w[0] == w[1]),
            "transaction {tx} half-applied: {statuses:?}"
        );
    }
    let consumed = published
        .iter()
        .filter(|m| m.status == MessageStatus::Consumed)
        .count();
    println!(
        "soak: {rounds} client lifetimes, {} transactions ended, {} messages sent, {consumed} consumed (each acked once), {} discarded or rolled back",
        history,
        published.len(),
        published.len() - consumed
    );

    drop(broker);
    assert_eq!(
        count("/proc/self/task"),
        threads_before,
        "no thread left over"
    );
    assert_eq!(count("/proc/self/fd"), fds_before, "no socket left over");
}

#[test]
fn clients_vanishing_at_random_points_lose_and_duplicate_nothing() {
    soak(4, Duration::from_secs(2));
}

#[test]
#[ignore = "long; run by .ci/run with a budget, or by hand"]
fn long_soak() {
    let secs = std::env::var("STOMPBOX_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    soak(8, Duration::from_secs(secs));
}
