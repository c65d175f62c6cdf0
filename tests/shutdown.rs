//! Dropping a broker frees its port and joins every thread it started.
//! (Its own test binary: it counts the process's threads.)

use std::net::TcpStream;
use std::time::{Duration, Instant};

use stompbox::{AckMode, Broker, Client, Error};

fn thread_count() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("Threads: line")
}

#[test]
fn start_and_stop_leave_no_threads_and_free_the_port() {
    let baseline = thread_count();
    for _ in 0..200 {
        let broker = Broker::start().unwrap();
        let addr = broker.addr();
        let _client = Client::connect(addr).unwrap();
        drop(broker);
        // Port reusable at once: a new broker can bind it.
        let again = Broker::builder()
            .port(addr.port())
            .start()
            .expect("port free");
        drop(again);
    }
    // A joined thread can stay in /proc's count for a moment after the join
    // returns (the kernel wakes the joiner before it has reaped the thread),
    // so the count gets a bounded moment to settle; a thread left running
    // would stay counted and fail.
    let deadline = Instant::now() + Duration::from_secs(1);
    while thread_count() != baseline && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(thread_count(), baseline, "every thread joined");

    // Connected clients see the connection close, and shutdown is quick.
    let broker = Broker::start().unwrap();
    let addr = broker.addr();
    let mut clients: Vec<Client> = (0..20).map(|_| Client::connect(addr).unwrap()).collect();
    for c in &mut clients {
        c.subscribe("/queue/q", AckMode::Client).unwrap();
    }
    let started = Instant::now();
    broker.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "shutdown took {:?}",
        started.elapsed()
    );
    assert!(
        TcpStream::connect(addr).is_err(),
        "nothing listens any more"
    );
    for c in &mut clients {
        assert!(matches!(
            c.recv_frame_timeout(Duration::from_secs(1)),
            Err(Error::Closed | Error::Io(_))
        ));
    }
    drop(clients);
    assert_eq!(thread_count(), baseline);

    shutdown_under_load_joins_every_thread_in_bounded_time(baseline);
}

/// Producers hammering a queue and a topic, subscribers that read and some
/// that do not: the broker still stops within a bound.
fn shutdown_under_load_joins_every_thread_in_bounded_time(baseline: usize) {
    let broker = Broker::start().unwrap();
    let addr = broker.addr();
    let mut idle: Vec<Client> = (0..50).map(|_| Client::connect(addr).unwrap()).collect();
    for (i, c) in idle.iter_mut().enumerate() {
        let destination = if i % 2 == 0 {
            "/topic/load"
        } else {
            "/queue/load"
        };
        c.subscribe(destination, AckMode::Client).unwrap(); // and never read
    }
    let connected = std::sync::Arc::new(std::sync::Barrier::new(21));
    let producers: Vec<_> = (0..20)
        .map(|i| {
            let connected = connected.clone();
            std::thread::spawn(move || {
                let mut client = Client::connect(addr).unwrap();
                connected.wait();
                let destination = if i % 2 == 0 {
                    "/topic/load"
                } else {
                    "/queue/load"
                };
                let mut sent = 0u64;
                // Until the broker goes away (bounded as a safety net).
                while sent < 10_000_000 && client.send(destination, "x".repeat(100)).is_ok() {
                    sent += 1;
                }
                sent
            })
        })
        .collect();
    connected.wait();
    broker
        .wait_for_messages("/queue/load", 1000, Duration::from_secs(10))
        .unwrap();
    let started = Instant::now();
    broker.shutdown();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "shutdown under load took {took:?}"
    );
    let sent: u64 = producers.into_iter().map(|p| p.join().unwrap()).sum();
    let noticed = started.elapsed();
    assert!(
        noticed < Duration::from_secs(5),
        "producers noticed after {noticed:?}"
    );
    assert!(sent >= 1000);
    drop(idle);
    // A joined thread can stay in /proc's count for a moment after the join
    // returns (the kernel wakes the joiner before it has reaped the thread),
    // so the count gets a bounded moment to settle; a thread left running
    // would stay counted and fail.
    let deadline = Instant::now() + Duration::from_secs(1);
    while thread_count() != baseline && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(thread_count(), baseline, "every thread joined");
    println!(
        "shutdown under load ({sent} messages sent by 20 producers): {took:?}; producers noticed within {noticed:?}"
    );
}
