//! The live traffic feed behind `GET /traffic`: the last frames in and out
//! of every connection, and connections closing, each with a sequence
//! number, for the web view's frame log and for any tool that long-polls.
//!
//! The broker's threads only push a copy of what they saw (a body is
//! shared, not copied) into a bounded ring under a short lock; readers wait
//! on a condition variable for entries after the sequence they have seen.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use stompbox::Traffic;
use stompbox::frame::Frame;
use stompbox::journal::{ConnectionId, Direction};

/// Entries the feed keeps; older ones are dropped (and counted).
pub(crate) const CAPACITY: usize = 10_000;

/// One thing seen on a connection.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// 1 for the first entry, and so on.
    pub(crate) seq: u64,
    /// When, since the feed began (about when the broker started).
    pub(crate) at: Duration,
    pub(crate) connection: ConnectionId,
    pub(crate) direction: Direction,
    /// The frame; `None` for a close.
    pub(crate) frame: Option<Frame>,
    /// Why the connection closed, for a close.
    pub(crate) closed: Option<String>,
}

/// Which entries a reader wants.
#[derive(Debug, Default)]
pub(crate) struct Filter {
    pub(crate) connection: Option<ConnectionId>,
    /// Frames with this `destination` header (closes never match).
    pub(crate) destination: Option<String>,
    /// Frames of this command, as STOMP spells it (closes never match).
    pub(crate) command: Option<String>,
}

impl Filter {
    fn admits(&self, entry: &Entry) -> bool {
        if self.connection.is_some_and(|c| c != entry.connection) {
            return false;
        }
        let frame = entry.frame.as_ref();
        if let Some(destination) = &self.destination {
            if frame.and_then(|f| f.header("destination")) != Some(destination.as_str()) {
                return false;
            }
        }
        if let Some(command) = &self.command {
            if frame.map(|f| f.command().as_str()) != Some(command.as_str()) {
                return false;
            }
        }
        true
    }
}

/// What a read found.
#[derive(Debug)]
pub(crate) struct Page {
    pub(crate) entries: Vec<Entry>,
    /// The sequence to ask after next time.
    pub(crate) next: u64,
    /// Entries after the asked-for sequence that were already dropped.
    pub(crate) missed: u64,
}

#[derive(Debug)]
struct Ring {
    entries: VecDeque<Entry>,
    last: u64,
}

/// The feed: filled by the broker's traffic callback, read by HTTP requests.
#[derive(Debug)]
pub(crate) struct TrafficFeed {
    ring: Mutex<Ring>,
    grew: Condvar,
    began: Instant,
}

impl TrafficFeed {
    pub(crate) fn new() -> TrafficFeed {
        TrafficFeed {
            ring: Mutex::new(Ring {
                entries: VecDeque::new(),
                last: 0,
            }),
            grew: Condvar::new(),
            began: Instant::now(),
        }
    }

    /// Keeps what the broker saw (heart-beats are left out).
    pub(crate) fn record(&self, traffic: &Traffic<'_>) {
        if traffic.frame.is_none() && traffic.closed.is_none() {
            return;
        }
        let at = self.began.elapsed();
        let mut ring = self.ring.lock();
        ring.last += 1;
        let entry = Entry {
            seq: ring.last,
            at,
            connection: traffic.connection,
            direction: traffic.direction,
            frame: traffic.frame.cloned(),
            closed: traffic.closed.map(ToString::to_string),
        };
        if ring.entries.len() == CAPACITY {
            ring.entries.pop_front();
        }
        ring.entries.push_back(entry);
        drop(ring);
        self.grew.notify_all();
    }

    /// The entries after `after` that `filter` admits (at most `limit`),
    /// waiting up to `wait` for the first if there is none yet.
    pub(crate) fn read(&self, after: u64, filter: &Filter, limit: usize, wait: Duration) -> Page {
        let deadline = Instant::now() + wait;
        let mut ring = self.ring.lock();
        let mut after = after;
        loop {
            let page = Self::collect(&ring, after, filter, limit);
            if !page.entries.is_empty() || page.missed > 0 {
                return page;
            }
            // Nothing admitted yet: what was looked at need not be again.
            after = page.next;
            if self.grew.wait_until(&mut ring, deadline).timed_out() {
                return Self::collect(&ring, after, filter, limit);
            }
        }
    }

    fn collect(ring: &Ring, after: u64, filter: &Filter, limit: usize) -> Page {
        // A sequence from beyond this feed (another broker's) starts over.
        let after = after.min(ring.last);
        let oldest = ring.entries.front().map_or(ring.last + 1, |e| e.seq);
        let missed = oldest.saturating_sub(after + 1);
        let mut next = after.max(oldest - 1);
        let mut entries = Vec::new();
        for entry in ring.entries.iter().skip_while(|e| e.seq <= after) {
            if entries.len() == limit {
                break;
            }
            next = entry.seq;
            if filter.admits(entry) {
                entries.push(entry.clone());
            }
        }
        Page {
            entries,
            next,
            missed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stompbox::frame::Command;

    fn send(feed: &TrafficFeed, connection: ConnectionId, destination: &str) {
        let frame = Frame::new(Command::Send).with_header("destination", destination);
        feed.record(&Traffic {
            connection,
            direction: Direction::In,
            frame: Some(&frame),
            closed: None,
        });
    }

    #[test]
    fn a_reader_gets_what_came_after_its_sequence_and_filters() {
        let feed = TrafficFeed::new();
        send(&feed, 1, "/queue/a");
        send(&feed, 2, "/queue/b");
        send(&feed, 1, "/queue/b");
        let all = feed.read(0, &Filter::default(), 100, Duration::ZERO);
        assert_eq!(
            all.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        assert_eq!((all.next, all.missed), (3, 0));
        let filter = Filter {
            connection: Some(1),
            destination: Some("/queue/b".into()),
            ..Filter::default()
        };
        let some = feed.read(0, &filter, 100, Duration::ZERO);
        assert_eq!(some.entries.iter().map(|e| e.seq).collect::<Vec<_>>(), [3]);
        let none = feed.read(3, &Filter::default(), 100, Duration::ZERO);
        assert!(none.entries.is_empty());
        assert_eq!(none.next, 3);
    }

    #[test]
    fn a_waiting_reader_wakes_for_the_next_entry() {
        let feed = std::sync::Arc::new(TrafficFeed::new());
        let writer = feed.clone();
        let reader = std::thread::spawn(move || {
            feed.read(0, &Filter::default(), 100, Duration::from_secs(10))
        });
        send(&writer, 7, "/queue/late");
        let page = reader.join().unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].connection, 7);
    }

    #[test]
    fn the_ring_is_bounded_and_says_what_a_slow_reader_missed() {
        let feed = TrafficFeed::new();
        for _ in 0..CAPACITY + 5 {
            send(&feed, 1, "/queue/a");
        }
        let page = feed.read(0, &Filter::default(), 10, Duration::ZERO);
        assert_eq!(page.missed, 5);
        assert_eq!(page.entries[0].seq, 6);
        assert_eq!(page.next, 15);
    }
}
