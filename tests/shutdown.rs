//! Dropping a broker frees its port and joins every thread it started.
//! (Its own test binary: it counts the process's threads.)

use std::net::TcpStream;
use std::time::{Duration, Instant};

use stompbox::{Ack, Broker, Client, Error};

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
    assert_eq!(thread_count(), baseline, "every thread joined");

    // Connected clients see the connection close, and shutdown is quick.
    let broker = Broker::start().unwrap();
    let addr = broker.addr();
    let mut clients: Vec<Client> = (0..20).map(|_| Client::connect(addr).unwrap()).collect();
    for c in &mut clients {
        c.subscribe("/queue/q", Ack::Client).unwrap();
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
}
